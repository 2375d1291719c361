// SPDX-License-Identifier: GPL-2.0
/*
 * ranges_monitor_test: syscall range tables for the monitor's own thread
 * (LOL_RANGES_MONITOR) and in-place reflection.
 *
 * The syscalls under test come from small asm functions whose `syscall`
 * instruction is at a known address (ranges_common.h): r_sys is put in
 * REFLECT ranges, p_sys in PTRACE ranges, k_sys in KILL ranges, n_sys in
 * NATIVE ranges. The upcall (rt_upcall_entry) records what it sees, lets
 * the test's emulate() compute the result, and calls LOL_RESUME.
 *
 * Also: PTRACE under a real tracer, reflection under a timer signal storm,
 * signals during the upcall, the same program under Syscall User Dispatch
 * and under lol reflection, what happens to bindings at thread exit,
 * table removal, fork and exec, and LOL_RESUME while other threads run
 * the same vcpu.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "ranges_common.h"

#define ARCH_GET_FS_	0x1003
#define ENOIOCTLCMD_	515
#define ERESTARTSYS_	512
#define ERESTARTNOINTR_	513
#define ERESTARTNOHAND_	514
#define ERESTART_RESTARTBLOCK_	516

RT_SYSCALL_FN(r_sys);	/* REFLECT */
RT_SYSCALL_FN(r2_sys);	/* REFLECT, a second range */
RT_SYSCALL_FN(p_sys);	/* PTRACE */
RT_SYSCALL_FN(k_sys);	/* KILL */
RT_SYSCALL_FN(n_sys);	/* NATIVE */

#define R(nr, a0)	r_sys(nr, a0, 0, 0, 0, 0, 0)
#define P(nr, a0)	p_sys(nr, a0, 0, 0, 0, 0, 0)
#define K(nr, a0)	k_sys(nr, a0, 0, 0, 0, 0, 0)
#define N(nr, a0, a1, a2) n_sys(nr, a0, a1, a2, 0, 0, 0)

/*
 * long r_regs(long nr, long a0, __u64 after[8]): loads patterns into the
 * callee-saved registers and rdx, sets DF, makes syscall nr(a0) from
 * r_regs_insn, and stores rbx rbp r12 r13 r14 r15 rdx rflags as they are
 * right after the syscall into after[].
 */
#define PAT_RBX	0x1111111111111111ULL
#define PAT_RBP	0x2222222222222222ULL
#define PAT_R12	0x1212121212121212ULL
#define PAT_R13	0x1313131313131313ULL
#define PAT_R14	0x1414141414141414ULL
#define PAT_R15	0x1515151515151515ULL
#define PAT_RDX	0x4444444444444444ULL
long r_regs(long nr, long a0, __u64 *after);
extern const char r_regs_insn[] __attribute__((visibility("hidden")));
__asm__(".pushsection .text.rt_monitor, \"ax\", @progbits\n"
	".balign 16\n"
	".globl r_regs\n"
	".type r_regs, @function\n"
	"r_regs:\n\t"
	"push %rbx\n\t"
	"push %rbp\n\t"
	"push %r12\n\t"
	"push %r13\n\t"
	"push %r14\n\t"
	"push %r15\n\t"
	"push %rdx\n\t"
	"movabs $0x1111111111111111, %rbx\n\t"
	"movabs $0x2222222222222222, %rbp\n\t"
	"movabs $0x1212121212121212, %r12\n\t"
	"movabs $0x1313131313131313, %r13\n\t"
	"movabs $0x1414141414141414, %r14\n\t"
	"movabs $0x1515151515151515, %r15\n\t"
	"movabs $0x4444444444444444, %rdx\n\t"
	"mov %rdi, %rax\n\t"
	"mov %rsi, %rdi\n\t"
	"std\n"
	"r_regs_insn:\n\t"
	"syscall\n\t"
	"pushfq\n\t"
	"cld\n\t"
	"mov 8(%rsp), %rcx\n\t"
	"popq 56(%rcx)\n\t"
	"mov %rbx, 0(%rcx)\n\t"
	"mov %rbp, 8(%rcx)\n\t"
	"mov %r12, 16(%rcx)\n\t"
	"mov %r13, 24(%rcx)\n\t"
	"mov %r14, 32(%rcx)\n\t"
	"mov %r15, 40(%rcx)\n\t"
	"mov %rdx, 48(%rcx)\n\t"
	"add $8, %rsp\n\t"
	"pop %r15\n\t"
	"pop %r14\n\t"
	"pop %r13\n\t"
	"pop %r12\n\t"
	"pop %rbp\n\t"
	"pop %rbx\n\t"
	"ret\n"
	".size r_regs, . - r_regs\n"
	".popsection\n");

FIXTURE(mon) {
	struct rt_vm g;
	unsigned int caps;
	bool ready;
};

FIXTURE_SETUP(mon)
{
	rt_vm_init(&self->g);
	self->caps = rt_caps();
	if (!(self->caps & RT_CAP_RUN) || !(self->caps & RT_CAP_RANGES) ||
	    !(self->caps & RT_CAP_REFLECT))
		return;
	ASSERT_EQ(0, rt_vm_create(&self->g))
		TH_LOG("guest setup: %s", strerror(errno));
	self->ready = true;
}

FIXTURE_TEARDOWN(mon)
{
	if (self->g.vcpu.fd >= 0)
		rt_clear(self->g.vcpu.fd);
	rt_vm_destroy(&self->g);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN, _SYSCALL_RANGES or _REFLECT absent"); \
} while (0)

/*
 * Monitor table: r_sys and r2_sys REFLECT, p_sys PTRACE, k_sys KILL,
 * n_sys NATIVE, default def; with the upcall.
 */
static void std_table(struct lol_syscall_ranges *t, __u32 def)
{
	rt_monitor_table(t, def);
	rt_add1(t, RT_INSN(r_sys), LOL_RANGE_REFLECT, 0);
	rt_add1(t, RT_INSN(r2_sys), LOL_RANGE_REFLECT, 0);
	rt_add1(t, RT_INSN(p_sys), LOL_RANGE_PTRACE, 0);
	rt_add1(t, RT_INSN(k_sys), LOL_RANGE_KILL, 0);
	rt_add1(t, RT_INSN(n_sys), LOL_RANGE_NATIVE, 0);
	rt_add1(t, (__u64)(uintptr_t)r_regs_insn, LOL_RANGE_REFLECT, 0);
	rt_set_upcall(t);
}

static int set_std(struct rt_vm *g, __u32 def,
		   long (*emulate)(struct lol_run *run))
{
	struct lol_syscall_ranges t;

	rt_upcall_init(g, emulate);
	std_table(&t, def);
	return rt_set(g->vcpu.fd, &t);
}

/* Removes the table from a NATIVE range (works under default REFLECT). */
static long clear_native(struct rt_vm *g)
{
	static struct lol_syscall_ranges none;

	return N(SYS_ioctl, g->vcpu.fd, LOL_SET_SYSCALL_RANGES,
		 (long)&none);
}

/* ---- REFLECT ----------------------------------------------------------- */

static const long results[] = {
	0, 1, -1, -EPERM, 0x7fffffff, -0x80000000L, 0x80000000L,
	0x123456789abcdefL, -ENOIOCTLCMD_, -ERESTARTSYS_, -ERESTARTNOHAND_,
	-ERESTART_RESTARTBLOCK_, -4095, (long)0x8000000000000000ULL,
};
#define NR_RESULTS	(sizeof(results) / sizeof(results[0]))

/* syscall 1000: results[a0]; syscall 1001: a0 * 7; others: -ENOSYS */
static long emulate_table(struct lol_run *run)
{
	if (run->syscall.nr == 1000 && run->syscall.args[0] < NR_RESULTS)
		return results[run->syscall.args[0]];
	if (run->syscall.nr == 1001)
		return run->syscall.args[0] * 7;
	return -ENOSYS;
}

TEST_F(mon, reflect_round_trip)
{
	__u64 exits, fs = 0;
	unsigned int i;
	long r;

	REQUIRE();
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS_, &fs));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	exits = self->g.run->nr_exits;
	for (i = 0; i < NR_RESULTS; i++) {
		r = r_sys(1000, i, i + 1, i + 2, i + 3, i + 4, i + 5);
		EXPECT_EQ(results[i], r) TH_LOG("result %u", i);
		EXPECT_EQ(i + 1, up.count);
		EXPECT_EQ(LOL_EXIT_SYSCALL, up.last_exit);
		EXPECT_EQ(exits + i + 1, up.last_nr_exits);
		EXPECT_EQ(1000, up.last.nr);
		EXPECT_EQ(i, up.last.args[0]);
		EXPECT_EQ(i + 1, up.last.args[1]);
		EXPECT_EQ(i + 2, up.last.args[2]);
		EXPECT_EQ(i + 3, up.last.args[3]);
		EXPECT_EQ(i + 4, up.last.args[4]);
		EXPECT_EQ(i + 5, up.last.args[5]);
		EXPECT_EQ(RT_INSN(r_sys), up.last.ip);
		EXPECT_EQ(0, up.last.flags);
		EXPECT_EQ(1000, up.last_regs.rax);
		EXPECT_EQ(i, up.last_regs.rdi);
		EXPECT_EQ(i + 3, up.last_regs.r10);
		EXPECT_EQ(RT_INSN(r_sys) + 2, up.last_regs.rip);
		EXPECT_EQ(fs, up.last_regs.fs_base);
		EXPECT_FALSE(rt_on_upcall_stack((void *)up.last_regs.rsp));
	}
	/* A second REFLECT range, and the NATIVE default in between. */
	EXPECT_EQ(21, r2_sys(1001, 3, 0, 0, 0, 0, 0));
	EXPECT_EQ(RT_INSN(r2_sys), up.last.ip);
	EXPECT_EQ(getpid(), syscall(SYS_getpid));
	EXPECT_EQ(-ENOSYS, N(1000, 0, 0, 0));
	EXPECT_EQ(NR_RESULTS + 1, up.count);
	EXPECT_EQ(0, up.resume_errno);

	/* Removed: the same instruction runs the syscall on the host. */
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(-ENOSYS, R(1000, 0));
	EXPECT_EQ(getpid(), R(SYS_getpid, 0));
	EXPECT_EQ(NR_RESULTS + 1, up.count);
}

static __u64 regs_after[8];

/* Checks nothing itself: changes r12, rdx and fs_base in the run page. */
static long emulate_regs(struct lol_run *run)
{
	run->regs.r12 = 0xabcabcULL;
	lol_arg2(run) = 0xdddULL;
	run->regs.fs_base = 0x1000;	/* must be ignored */
	return 4321;
}

/*
 * The upcall starts on the registered stack as if called, with the
 * other registers as the syscall left them and DF clear; LOL_RESUME
 * restores the (edited) run page registers, DF included.
 */
TEST_F(mon, reflect_registers)
{
	__u64 fs = 0, fs_after = 0;

	REQUIRE();
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS_, &fs));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_regs));
	EXPECT_EQ(4321, r_regs(1000, 5, regs_after));
	ASSERT_EQ(1, up.count);

	/* At the entry. */
	EXPECT_EQ(RT_UPCALL_STACK_TOP - 8, up_entry.rsp);
	EXPECT_EQ(PAT_RBX, up_entry.rbx);
	EXPECT_EQ(PAT_RBP, up_entry.rbp);
	EXPECT_EQ(PAT_R12, up_entry.r12);
	EXPECT_EQ(PAT_R13, up_entry.r13);
	EXPECT_EQ(PAT_R14, up_entry.r14);
	EXPECT_EQ(PAT_R15, up_entry.r15);
	EXPECT_EQ(0, up_entry.rflags & RFLAGS_DF);
	EXPECT_EQ(0, up_entry.rflags & RFLAGS_TF);

	/* In the run page. */
	EXPECT_EQ(1000, up.last_regs.rax);
	EXPECT_EQ(5, up.last_regs.rdi);
	EXPECT_EQ(PAT_RDX, up.last_regs.rdx);
	EXPECT_EQ(PAT_RBX, up.last_regs.rbx);
	EXPECT_EQ(PAT_RBP, up.last_regs.rbp);
	EXPECT_EQ(PAT_R12, up.last_regs.r12);
	EXPECT_EQ(PAT_R15, up.last_regs.r15);
	EXPECT_EQ(RFLAGS_DF, up.last_regs.rflags & RFLAGS_DF);
	EXPECT_EQ((__u64)(uintptr_t)r_regs_insn + 2, up.last_regs.rip);
	EXPECT_EQ((__u64)(uintptr_t)r_regs_insn, up.last.ip);

	/* After LOL_RESUME. */
	EXPECT_EQ(PAT_RBX, regs_after[0]);
	EXPECT_EQ(PAT_RBP, regs_after[1]);
	EXPECT_EQ(0xabcabcULL, regs_after[2]);	/* r12, edited */
	EXPECT_EQ(PAT_R13, regs_after[3]);
	EXPECT_EQ(PAT_R14, regs_after[4]);
	EXPECT_EQ(PAT_R15, regs_after[5]);
	EXPECT_EQ(0xdddULL, regs_after[6]);	/* rdx, edited */
	EXPECT_EQ(RFLAGS_DF, regs_after[7] & RFLAGS_DF);
	/* The thread keeps its own FS base (TLS works: errno). */
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS_, &fs_after));
	EXPECT_EQ(fs, fs_after);
	errno = 0;
	EXPECT_EQ(-1, close(-1));
	EXPECT_EQ(EBADF, errno);
}

/* One-shot REFLECT: the first call is reflected, later ones run natively. */
TEST_F(mon, reflect_oneshot)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_upcall_init(&self->g, emulate_table);
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add1(&t, RT_INSN(r_sys), LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT);
	rt_add1(&t, RT_INSN(r2_sys), LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT);
	rt_set_upcall(&t);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	EXPECT_EQ(1, R(1000, 1));
	EXPECT_EQ(-ENOSYS, R(1000, 1));
	EXPECT_EQ(-ENOSYS, R(1000, 1));
	EXPECT_EQ(1, up.count);
	/* Default REFLECT, one-shot NATIVE: native once, then reflected. */
	rt_table(&t, LOL_RANGES_MONITOR, LOL_RANGE_REFLECT);
	rt_add1(&t, RT_INSN(r_sys), LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT);
	rt_add1(&t, RT_INSN(n_sys), LOL_RANGE_NATIVE, 0);
	rt_set_upcall(&t);
	ASSERT_EQ(0, N(SYS_ioctl, self->g.vcpu.fd, LOL_SET_SYSCALL_RANGES,
		       (long)&t));
	up.count = 0;
	EXPECT_EQ(-ENOSYS, R(1000, 2));
	EXPECT_EQ(0, up.count);
	EXPECT_EQ(-EPERM, R(1000, 3));
	EXPECT_EQ(1, up.count);
	EXPECT_EQ(0, clear_native(&self->g));
}

/*
 * Default REFLECT: every syscall of the thread goes to the upcall, which
 * runs it natively (passthrough), except for the NATIVE range.
 */
TEST_F(mon, reflect_default)
{
	long ppid, pid, n;
	char buf[4];
	int p[2];

	REQUIRE();
	ASSERT_EQ(0, pipe(p));
	ppid = getppid();
	pid = getpid();
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_REFLECT, NULL));
	n = up.count;
	EXPECT_EQ(ppid, syscall(SYS_getppid));
	EXPECT_EQ(n + 1, up.count);
	EXPECT_EQ(SYS_getppid, up.last.nr);
	EXPECT_EQ(pid, syscall(SYS_getpid));
	EXPECT_EQ(3, write(p[1], "xyz", 3));
	EXPECT_EQ(3, read(p[0], buf, 3));
	EXPECT_EQ(0, memcmp(buf, "xyz", 3));
	EXPECT_EQ(n + 4, up.count);
	/* The NATIVE range does not reach the upcall. */
	EXPECT_EQ(pid, N(SYS_getpid, 0, 0, 0));
	EXPECT_EQ(n + 4, up.count);
	EXPECT_EQ(0, clear_native(&self->g));
	EXPECT_EQ(ppid, syscall(SYS_getppid));
	EXPECT_EQ(n + 4, up.count);
	close(p[0]);
	close(p[1]);
}

/* ---- the upcall's own syscalls ----------------------------------------- */

static long nested[4];

static long emulate_nested(struct lol_run *run)
{
	/* Every action is NATIVE while the upcall runs. */
	nested[0] = R(SYS_getpid, 0);
	nested[1] = R(1000, 1);
	nested[2] = P(SYS_getpid, 0);
	nested[3] = K(SYS_getpid, 0);
	return 99;
}

static volatile int sigsys_seen;

static void count_sigsys(int sig, siginfo_t *si, void *ctx)
{
	sigsys_seen++;
}

TEST_F(mon, upcall_syscalls_are_native)
{
	struct sigaction sa = {
		.sa_sigaction = count_sigsys,
		.sa_flags = SA_SIGINFO,
	};

	REQUIRE();
	ASSERT_EQ(0, sigaction(SIGSYS, &sa, NULL));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_nested));
	EXPECT_EQ(99, R(1000, 0));
	EXPECT_EQ(1, up.count);
	EXPECT_EQ(getpid(), nested[0]);
	EXPECT_EQ(-ENOSYS, nested[1]);
	EXPECT_EQ(getpid(), nested[2]);
	EXPECT_EQ(getpid(), nested[3]);
	EXPECT_EQ(0, sigsys_seen);
	/* Re-armed after LOL_RESUME. */
	EXPECT_EQ(99, R(1000, 0));
	EXPECT_EQ(2, up.count);
}

struct resume_try {
	int fd;
	int ret, err;
};

static void *try_resume(void *arg)
{
	struct resume_try *t = arg;

	t->ret = ioctl(t->fd, LOL_RESUME, 0);
	t->err = errno;
	return NULL;
}

static struct resume_try other_resume;
static int bad_resume[4], bad_resume_errno[4];

/* LOL_RESUME from another thread, with arg != 0, with bad registers. */
static long emulate_bad_resumes(struct lol_run *run)
{
	struct lol_regs saved = run->regs;
	pthread_t th;

	other_resume.fd = up.vcpu;
	if (!pthread_create(&th, NULL, try_resume, &other_resume))
		pthread_join(th, NULL);

	bad_resume[0] = ioctl(up.vcpu, LOL_RESUME, 1);
	bad_resume_errno[0] = errno;
	lol_flags(run) |= 1ULL << 14;		/* NT */
	bad_resume[1] = ioctl(up.vcpu, LOL_RESUME, 0);
	bad_resume_errno[1] = errno;
	run->regs = saved;
	lol_pc(run) = RT_LIMIT;
	bad_resume[2] = ioctl(up.vcpu, LOL_RESUME, 0);
	bad_resume_errno[2] = errno;
	run->regs = saved;
	run->regs.reserved[11] = 1;
	bad_resume[3] = ioctl(up.vcpu, LOL_RESUME, 0);
	bad_resume_errno[3] = errno;
	run->regs = saved;
	return 55;
}

TEST_F(mon, resume_refused_in_upcall)
{
	int i;

	REQUIRE();
	other_resume.ret = 0;
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE,
			     emulate_bad_resumes));
	/* Each refusal left the upcall in place: the good one works. */
	EXPECT_EQ(55, R(1000, 0));
	EXPECT_EQ(1, up.count);
	EXPECT_EQ(-1, other_resume.ret);
	EXPECT_STREQ("EINVAL", lol_errno_name(other_resume.err));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(-1, bad_resume[i]) TH_LOG("bad resume %d", i);
		EXPECT_STREQ("EINVAL", lol_errno_name(bad_resume_errno[i]));
	}
	/* Outside the upcall again. */
	EXPECT_ERRNO(EINVAL, ioctl(self->g.vcpu.fd, LOL_RESUME, 0));
}

/* ---- PTRACE -------------------------------------------------------------- */

static volatile struct {
	int n, code, nr;
	unsigned int arch;
	__u64 call_addr, rip, rax;
	int on_upcall_stack;
} ps;

static void ptrace_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	ps.n++;
	ps.code = si->si_code;
	ps.nr = si->si_syscall;
	ps.arch = si->si_arch;
	ps.call_addr = (__u64)(uintptr_t)si->si_call_addr;
	ps.rip = uc->uc_mcontext.gregs[REG_RIP];
	ps.rax = uc->uc_mcontext.gregs[REG_RAX];
	uc->uc_mcontext.gregs[REG_RAX] = 77;
}

/* PTRACE: not run, SIGSYS with the Syscall User Dispatch siginfo. */
TEST_F(mon, ptrace_sigsys_handler)
{
	struct sigaction sa = {
		.sa_sigaction = ptrace_sigsys,
		.sa_flags = SA_SIGINFO,
	};
	char c;
	int p[2];

	REQUIRE();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, sigaction(SIGSYS, &sa, NULL));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	EXPECT_EQ(77, p_sys(SYS_write, p[1], (long)"x", 1, 0, 0, 0));
	EXPECT_EQ(1, ps.n);
	EXPECT_EQ(SYS_USER_DISPATCH, ps.code);
	EXPECT_EQ(SYS_write, ps.nr);
	EXPECT_EQ(AUDIT_ARCH_X86_64, ps.arch);
	EXPECT_EQ(RT_INSN(p_sys) + 2, ps.call_addr);
	EXPECT_EQ(RT_INSN(p_sys) + 2, ps.rip);
	EXPECT_EQ(SYS_write, ps.rax);	/* rolled back: rax = the number */
	/* Not executed. */
	EXPECT_ERRNO(EAGAIN, read(p[0], &c, 1));
	EXPECT_EQ(0, up.count);
	EXPECT_EQ(77, P(1000, 0));
	EXPECT_EQ(2, ps.n);
	EXPECT_EQ(1000, ps.nr);
	close(p[0]);
	close(p[1]);
}

/*
 * PTRACE with a real tracer: the child binds its own thread with p_sys
 * in a PTRACE range; the parent traces it, sees the SIGSYS
 * signal-delivery stop, emulates the result in rax and suppresses the
 * signal.
 */
TEST_F(mon, ptrace_real_tracer)
{
	struct user_regs_struct regs;
	int status, stops = 0, p[2];
	siginfo_t si;
	pid_t pid;
	char c;

	REQUIRE();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct lol_syscall_ranges t;
		struct rt_vm g;
		long r1, r2;

		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(10);
		raise(SIGSTOP);
		if (rt_vm_create(&g))
			_exit(11);
		rt_monitor_table(&t, LOL_RANGE_NATIVE);
		rt_add1(&t, RT_INSN(p_sys), LOL_RANGE_PTRACE, 0);
		if (rt_set(g.vcpu.fd, &t))
			_exit(12);
		r1 = p_sys(SYS_write, p[1], (long)"x", 1, 0, 0, 0);
		r2 = P(SYS_getpid, 0);
		if (rt_clear(g.vcpu.fd))
			_exit(13);
		if (r1 != 1234)
			_exit(14);
		if (r2 != 4242)
			_exit(15);
		/* No longer filtered. */
		if (P(SYS_getpid, 0) != getpid())
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(SIGSTOP, WSTOPSIG(status));
	ASSERT_EQ(0, ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL));
	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
	for (;;) {
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFSTOPPED(status))
			break;
		if (WSTOPSIG(status) != SIGSYS) {
			TH_LOG("stop with signal %d", WSTOPSIG(status));
			ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0,
					    WSTOPSIG(status)));
			continue;
		}
		stops++;
		ASSERT_EQ(0, ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
		EXPECT_EQ(SIGSYS, si.si_signo);
		EXPECT_EQ(SYS_USER_DISPATCH, si.si_code);
		EXPECT_EQ(AUDIT_ARCH_X86_64, si.si_arch);
		EXPECT_EQ(RT_INSN(p_sys) + 2,
			  (__u64)(uintptr_t)si.si_call_addr);
		ASSERT_EQ(0, ptrace(PTRACE_GETREGS, pid, 0, &regs));
		EXPECT_EQ(RT_INSN(p_sys) + 2, regs.rip);
		EXPECT_EQ(si.si_syscall, (long)regs.rax);
		if (stops == 1) {
			EXPECT_EQ(SYS_write, si.si_syscall);
			EXPECT_EQ(p[1], (int)regs.rdi);
			regs.rax = 1234;
		} else {
			EXPECT_EQ(SYS_getpid, si.si_syscall);
			regs.rax = 4242;
		}
		ASSERT_EQ(0, ptrace(PTRACE_SETREGS, pid, 0, &regs));
		/* Signal 0: suppressed, the handler never runs. */
		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
	}
	EXPECT_EQ(2, stops);
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The write was never executed. */
	EXPECT_ERRNO(EAGAIN, read(p[0], &c, 1));
	close(p[0]);
	close(p[1]);
}

/* ---- KILL ----------------------------------------------------------------- */

TEST_F(mon, kill_range)
{
	int status;
	pid_t pid;

	REQUIRE();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct rt_vm g;

		setrlimit(RLIMIT_CORE, &no_core);
		if (rt_vm_create(&g) || set_std(&g, LOL_RANGE_NATIVE, NULL))
			_exit(10);
		if (R(1000, 0) != -ENOSYS)	/* passthrough upcall */
			_exit(11);
		K(SYS_getpid, 0);
		_exit(12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("exit %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGSYS, WTERMSIG(status));
}

struct killed {
	int fd;
	volatile int bound, survived;
};

static void *kill_thread(void *arg)
{
	struct killed *k = arg;
	struct lol_syscall_ranges t;

	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add1(&t, RT_INSN(k_sys), LOL_RANGE_KILL, 0);
	if (rt_set(k->fd, &t))
		return NULL;
	k->bound = 1;
	K(SYS_getpid, 0);
	k->survived = 1;
	return NULL;
}

/*
 * KILL ends the thread, not the process; the vcpu it was bound to is
 * free again.
 */
TEST_F(mon, kill_range_thread)
{
	int status;
	pid_t pid;

	REQUIRE();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct lol_syscall_ranges t;
		struct killed k;
		struct rt_vm g;
		pthread_t th;

		setrlimit(RLIMIT_CORE, &no_core);
		if (rt_vm_create(&g))
			_exit(10);
		k.fd = g.vcpu.fd;
		k.bound = k.survived = 0;
		if (pthread_create(&th, NULL, kill_thread, &k) ||
		    pthread_join(th, NULL))
			_exit(11);
		if (!k.bound)
			_exit(12);
		if (k.survived)
			_exit(13);
		/* This thread is not bound: its k_sys is native. */
		if (K(SYS_getpid, 0) != getpid())
			_exit(14);
		rt_monitor_table(&t, LOL_RANGE_NATIVE);
		if (rt_set(g.vcpu.fd, &t))
			_exit(errno == EBUSY ? 15 : 16);
		if (rt_clear(g.vcpu.fd))
			_exit(17);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("signal %d", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("15: the dead thread still holds the vcpu");
	}
}

/* ---- signals --------------------------------------------------------------- */

/* syscall 1000: f(a0) (results that look like restart codes included) */
static long storm_f(long i)
{
	switch (i % 6) {
	case 0:
		return i * 3 + 1;
	case 1:
		return -ERESTARTSYS_;
	case 2:
		return -ERESTARTNOINTR_;
	case 3:
		return -ERESTARTNOHAND_;
	case 4:
		return -ERESTART_RESTARTBLOCK_;
	default:
		return 0x7fffffff00000000L | i;
	}
}

static long emulate_storm(struct lol_run *run)
{
	if (run->syscall.nr == 1000)
		return storm_f(run->syscall.args[0]);
	if (run->syscall.nr == 1001)
		return run->syscall.args[0] * 7;
	return -ENOSYS;
}

static volatile long storm_alarms, storm_native, storm_reflected, storm_bad;

/*
 * The handler makes a syscall from a REFLECT range too: reflected when it
 * interrupted ordinary code, native when it interrupted the upcall (it
 * then runs on the upcall stack).
 */
static void storm_handler(int sig)
{
	int saved_errno = errno;
	long n = ++storm_alarms;
	long r = R(1001, n);
	int local;

	if (rt_on_upcall_stack(&local)) {
		storm_native++;
		if (r != -ENOSYS)
			storm_bad++;
	} else {
		storm_reflected++;
		if (r != n * 7)
			storm_bad++;
	}
	errno = saved_errno;
}

#define STORM_CALLS	100000
#define STORM_SECONDS	20
#define STORM_MIN_CALLS	1000

TEST_F_TIMEOUT(mon, reflect_timer_storm, 120)
{
	struct sigaction sa = { .sa_handler = storm_handler };
	struct itimerval it = {
		.it_interval = { .tv_usec = 50 },
		.it_value = { .tv_usec = 50 },
	};
	struct itimerval off = { };
	long i, r, calls, bad = 0, first_bad = -1, first_val = 0;
	struct timespec t0, t1;

	REQUIRE();
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_storm));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	/*
	 * Bounded by time as well as calls: a debug kernel under TCG does
	 * a few hundred storm calls a second, Debian's kernel ~600,000.
	 */
	for (i = 0; i < STORM_CALLS; i++) {
		r = R(1000, i);
		if (r != storm_f(i) && !bad++) {
			first_bad = i;
			first_val = r;
		}
		if (!(i % 256)) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec >= STORM_SECONDS)
				break;
		}
	}
	calls = i < STORM_CALLS ? i + 1 : STORM_CALLS;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_EQ(0, bad) {
		TH_LOG("%ld wrong results, first: call %ld returned %#lx, not %#lx",
		       bad, first_bad, first_val, storm_f(first_bad));
	}
	EXPECT_EQ(0, storm_bad);
	EXPECT_LT(0, storm_alarms);
	EXPECT_LE(STORM_MIN_CALLS, calls);
	EXPECT_EQ(calls + storm_reflected, up.count);
	EXPECT_EQ(0, up.resume_errno);
	ksft_print_msg("storm: %ld reflected calls in %.2f s, %ld SIGALRM "
		       "(%ld reflected from the handler, %ld during an upcall)\n",
		       calls, (t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9, (long)storm_alarms,
		       (long)storm_reflected, (long)storm_native);
}

static volatile long in_upcall_sig_r;
static volatile int in_upcall_sig_n, in_upcall_sig_on_stack;

static void upcall_sig(int sig)
{
	int local;

	in_upcall_sig_n++;
	in_upcall_sig_on_stack = rt_on_upcall_stack(&local);
	in_upcall_sig_r = R(1000, 1);	/* native: we are in the upcall */
}

static long emulate_raise(struct lol_run *run)
{
	if (up.count > 1)
		return emulate_table(run);
	raise(SIGUSR1);
	return 31;
}

/* A signal during the upcall: its handler runs there, natively. */
TEST_F(mon, signal_during_upcall)
{
	struct sigaction sa = { .sa_handler = upcall_sig };

	REQUIRE();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_raise));
	EXPECT_EQ(31, R(1000, 0));
	EXPECT_EQ(1, in_upcall_sig_n);
	EXPECT_TRUE(in_upcall_sig_on_stack);
	EXPECT_EQ(-ENOSYS, in_upcall_sig_r);
	EXPECT_EQ(1, up.count);
	/* Outside the upcall the same handler's call is reflected. */
	raise(SIGUSR1);
	EXPECT_EQ(2, in_upcall_sig_n);
	EXPECT_FALSE(in_upcall_sig_on_stack);
	EXPECT_EQ(1, in_upcall_sig_r);	/* results[1] */
	EXPECT_EQ(2, up.count);
}

static int block_pipe[2];
static volatile long block_read_ret;

static volatile int block_ready;

static long emulate_blocking_read(struct lol_run *run)
{
	char c = 0;
	long r;

	block_ready = 1;
	r = read(block_pipe[0], &c, 1);

	block_read_ret = r < 0 ? -errno : r;
	return c;
}

struct poker {
	pthread_t target;
	pid_t tid;
	int fd;
};

/* Whether thread tid sleeps (state S in /proc). */
static bool sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void *poke(void *arg)
{
	struct poker *p = arg;
	int i;

	/* Wait until the upcall is blocked in its read. */
	while (!block_ready)
		usleep(1000);
	for (i = 0; i < 2000 && !sleeping(p->tid); i++)
		usleep(1000);
	usleep(20 * 1000);
	pthread_kill(p->target, SIGUSR1);
	usleep(100 * 1000);
	if (write(p->fd, "z", 1) != 1)
		return (void *)1;
	return NULL;
}

static void nop_handler(int sig)
{
	in_upcall_sig_n++;
}

/*
 * A blocking syscall in the upcall interrupted by a signal: restarted
 * with SA_RESTART (native semantics), EINTR without.
 */
TEST_F(mon, signal_interrupts_upcall_syscall)
{
	struct sigaction sa = {
		.sa_handler = nop_handler,
		.sa_flags = SA_RESTART,
	};
	struct poker pk;
	pthread_t th;

	REQUIRE();
	ASSERT_EQ(0, pipe(block_pipe));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE,
			     emulate_blocking_read));
	pk.target = pthread_self();
	pk.tid = syscall(SYS_gettid);
	pk.fd = block_pipe[1];
	ASSERT_EQ(0, pthread_create(&th, NULL, poke, &pk));
	EXPECT_EQ('z', R(1000, 0));
	pthread_join(th, NULL);
	EXPECT_EQ(1, block_read_ret);
	EXPECT_EQ(1, in_upcall_sig_n);

	sa.sa_flags = 0;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	block_ready = 0;
	ASSERT_EQ(0, pthread_create(&th, NULL, poke, &pk));
	EXPECT_EQ(0, R(1000, 0));
	EXPECT_EQ(-EINTR, block_read_ret);
	pthread_join(th, NULL);
	EXPECT_EQ(2, in_upcall_sig_n);
	EXPECT_EQ(2, up.count);
	/* The 'z' is still in the pipe, for a reflected read this time. */
	EXPECT_EQ('z', R(1000, 0));
	EXPECT_EQ(3, up.count);
}

/* ---- same program under Syscall User Dispatch and under lol ------------ */

/*
 * prog(fd, out): getpid, write(fd, "abc", 3), syscall 1000(5), getppid,
 * from four syscall instructions; results in out[0..3].
 */
void prog(long fd, long *out);
extern const char prog_end[], prog_s1[], prog_s4[]
	__attribute__((visibility("hidden")));
__asm__(".pushsection .text.rt_monitor, \"ax\", @progbits\n"
	".balign 16\n"
	".globl prog\n"
	".type prog, @function\n"
	"prog:\n\t"
	"push %rbx\n\t"
	"push %r12\n\t"
	"mov %rdi, %r12\n\t"
	"mov %rsi, %rbx\n\t"
	"mov $39, %eax\n"
	"prog_s1:\n\t"
	"syscall\n\t"
	"mov %rax, 0(%rbx)\n\t"
	"mov $1, %eax\n\t"
	"mov %r12, %rdi\n\t"
	"lea prog_msg(%rip), %rsi\n\t"
	"mov $3, %edx\n"
	"prog_s2:\n\t"
	"syscall\n\t"
	"mov %rax, 8(%rbx)\n\t"
	"mov $1000, %eax\n\t"
	"mov $5, %edi\n"
	"prog_s3:\n\t"
	"syscall\n\t"
	"mov %rax, 16(%rbx)\n\t"
	"mov $110, %eax\n"
	"prog_s4:\n\t"
	"syscall\n\t"
	"mov %rax, 24(%rbx)\n\t"
	"pop %r12\n\t"
	"pop %rbx\n\t"
	"ret\n"
	"prog_msg:\n\t"
	".ascii \"abc\"\n"
	"prog_end:\n"
	".size prog, . - prog\n"
	/* rt_sigreturn restorer for the SUD handler, in the allowed region */
	".balign 16\n"
	".globl sud_restorer\n"
	"sud_restorer:\n\t"
	"mov $15, %eax\n\t"
	"syscall\n\t"
	"ud2\n"
	"sud_restorer_end:\n"
	".popsection\n");
extern const char sud_restorer[], sud_restorer_end[]
	__attribute__((visibility("hidden")));

/* For timing: one more raw syscall function. */
RT_SYSCALL_FN(bench_sys);

struct trace {
	long nr;
	__u64 ip;
};

static struct trace sud_trace[8], lol_trace[8];
static int sud_n, lol_n;
static volatile char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
static bool tracing;

static long emulate_common(long nr, const __u64 *a)
{
	long r;

	if (nr == SYS_getpid)
		return 4242;
	if (nr == 1000)
		return 7;
	r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	return r == -1 ? -errno : r;
}

static void sud_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	__u64 a[6] = { g[REG_RDI], g[REG_RSI], g[REG_RDX],
		       g[REG_R10], g[REG_R8], g[REG_R9] };
	int saved_errno = errno;

	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (tracing && sud_n < 8) {
		sud_trace[sud_n].nr = si->si_syscall;
		sud_trace[sud_n].ip = (__u64)(uintptr_t)si->si_call_addr - 2;
		sud_n++;
	}
	g[REG_RAX] = emulate_common(si->si_syscall, a);
	errno = saved_errno;
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
}

static long emulate_lol(struct lol_run *run)
{
	if (tracing && lol_n < 8) {
		lol_trace[lol_n].nr = run->syscall.nr;
		lol_trace[lol_n].ip = run->syscall.ip;
		lol_n++;
	}
	return emulate_common(run->syscall.nr, run->syscall.args);
}

struct k_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};
#define SA_RESTORER_	0x04000000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BENCH_CALLS	20000

TEST_F_TIMEOUT(mon, same_as_syscall_user_dispatch, 120)
{
	struct k_sigaction ksa = {
		.handler = sud_handler,
		.flags = SA_SIGINFO | SA_RESTORER_,
		.restorer = (void *)sud_restorer,
	};
	struct lol_syscall_ranges t;
	long out_sud[4], out_lol[4];
	double t0, sud_ns, lol_ns;
	char buf[8] = "";
	int p[2], i;

	REQUIRE();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));

	/* Syscall User Dispatch: only the restorer's syscall is allowed. */
	ASSERT_EQ(0, syscall(SYS_rt_sigaction, SIGSYS, &ksa, NULL, 8));
	ASSERT_EQ(0, prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			   (unsigned long)sud_restorer,
			   (unsigned long)(sud_restorer_end - sud_restorer),
			   &sud_selector)) TH_LOG("SUD: %s", strerror(errno));
	tracing = true;
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	prog(p[1], out_sud);
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	tracing = false;
	t0 = now();
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	for (i = 0; i < BENCH_CALLS; i++)
		bench_sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sud_ns = (now() - t0) * 1e9 / BENCH_CALLS;
	ASSERT_EQ(0, prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF,
			   0, 0, 0));
	EXPECT_EQ(3, read(p[0], buf, sizeof(buf)));
	EXPECT_STREQ("abc", buf);

	/* lol: the program's syscalls REFLECTed, the rest NATIVE. */
	rt_upcall_init(&self->g, emulate_lol);
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add(&t, (uintptr_t)prog, (uintptr_t)prog_end, LOL_RANGE_REFLECT, 0);
	rt_add1(&t, RT_INSN(bench_sys), LOL_RANGE_REFLECT, 0);
	rt_set_upcall(&t);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	tracing = true;
	prog(p[1], out_lol);
	tracing = false;
	t0 = now();
	for (i = 0; i < BENCH_CALLS; i++)
		bench_sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	lol_ns = (now() - t0) * 1e9 / BENCH_CALLS;
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, read(p[0], buf, sizeof(buf)));
	EXPECT_STREQ("abc", buf);

	/* Identical results, from the same syscalls at the same places. */
	EXPECT_EQ(4242, out_sud[0]);
	EXPECT_EQ(3, out_sud[1]);
	EXPECT_EQ(7, out_sud[2]);
	EXPECT_EQ(getppid(), out_sud[3]);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(out_sud[i], out_lol[i]) TH_LOG("result %d", i);
	EXPECT_EQ(4, sud_n);
	EXPECT_EQ(4, lol_n);
	for (i = 0; i < 4 && i < sud_n && i < lol_n; i++) {
		EXPECT_EQ(sud_trace[i].nr, lol_trace[i].nr);
		EXPECT_EQ(sud_trace[i].ip, lol_trace[i].ip);
	}
	EXPECT_EQ((uintptr_t)prog_s1, sud_trace[0].ip);
	EXPECT_EQ((uintptr_t)prog_s4, sud_trace[3].ip);
	EXPECT_EQ(BENCH_CALLS + 4, up.count);
	ksft_print_msg("getpid emulation: SUD + SIGSYS handler %.0f ns/call, "
		       "lol in-place reflection %.0f ns/call (%.2fx)\n",
		       sud_ns, lol_ns, sud_ns / lol_ns);
	close(p[0]);
	close(p[1]);
}

/* ---- bindings: removal, thread exit, fork, exec, guest mode ------------ */

struct bound_thread {
	struct rt_vm *g;
	long r_bound, r_unbound;
	int bind_ret;
};

static void *bind_reflect_exit(void *arg)
{
	struct bound_thread *b = arg;

	b->bind_ret = set_std(b->g, LOL_RANGE_NATIVE, emulate_table);
	b->r_bound = R(1000, 7);	/* results[7] */
	return NULL;	/* exits bound */
}

static void *plain_thread(void *arg)
{
	struct bound_thread *b = arg;

	b->r_unbound = R(1000, 7);
	return NULL;
}

/* After a bound thread exits, threads old and new make normal syscalls. */
TEST_F(mon, bound_thread_exit)
{
	struct bound_thread b = { .g = &self->g };
	pthread_t th;

	REQUIRE();
	ASSERT_EQ(0, pthread_create(&th, NULL, bind_reflect_exit, &b));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, b.bind_ret);
	EXPECT_EQ(results[7], b.r_bound);
	EXPECT_EQ(1, up.count);
	EXPECT_EQ(-ENOSYS, R(1000, 7));
	ASSERT_EQ(0, pthread_create(&th, NULL, plain_thread, &b));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(-ENOSYS, b.r_unbound);
	EXPECT_EQ(1, up.count);
	/* The vcpu is free: this thread can have it. */
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	EXPECT_EQ(results[7], R(1000, 7));
	EXPECT_EQ(1, up.count);
}

/* A forked child of a bound thread makes normal syscalls. */
TEST_F(mon, fork_child_is_not_bound)
{
	int status;
	pid_t pid;

	REQUIRE();
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	EXPECT_EQ(1, R(1000, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct rt_vm g;

		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSYS, SIG_DFL);
		if (syscall(SYS_getpid) != getpid() || getpid() <= 0)
			_exit(10);
		if (R(SYS_getpid, 0) != getpid())
			_exit(11);
		if (R(1000, 1) != -ENOSYS)
			_exit(12);
		if (P(SYS_getpid, 0) != getpid())	/* no SIGSYS */
			_exit(13);
		if (K(SYS_getpid, 0) != getpid())	/* not killed */
			_exit(14);
		/* Free to bind a vcpu of its own. */
		if (rt_vm_create(&g))
			_exit(15);
		if (set_std(&g, LOL_RANGE_NATIVE, emulate_table))
			_exit(errno == EBUSY ? 16 : 17);
		if (R(1000, 1) != 1)
			_exit(18);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("signal %d", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The parent is still bound. */
	EXPECT_EQ(1, R(1000, 1));
	EXPECT_EQ(2, up.count);
}

#define EXEC_ENV	"LOL_RANGES_EXEC_CHILD"

/* In the exec'd image: r_sys must run natively. */
static void __attribute__((constructor)) exec_child(void)
{
	if (!getenv(EXEC_ENV))
		return;
	_exit(R(1000, 1) == -ENOSYS ? 0 : 1);
}

/*
 * Forks a child that, when `bound`, binds its thread to a fresh vcpu
 * (the fd kept open across the exec, so that the binding does not simply
 * go away with it), then execs this test with env ("NAME=1"). Returns the
 * child's wait status; 20-24 are setup failures; -1 if fork/wait failed.
 */
static int exec_self(const char *env, bool bound)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		char *argv[] = { "ranges_monitor_test", NULL };
		char *envp[] = { (char *)env, NULL };
		struct rt_vm g;

		if (bound) {
			if (rt_vm_create(&g))
				_exit(20);
			if (set_std(&g, LOL_RANGE_NATIVE, emulate_table))
				_exit(21);
			if (R(1000, 1) != 1)
				_exit(22);
			if (fcntl(g.vcpu.fd, F_SETFD, 0))
				_exit(23);
		}
		execve("/proc/self/exe", argv, envp);
		_exit(24);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/*
 * A bound thread that execs (same binary, same addresses) is unbound:
 * the table was for the old program. The vcpu fd stays open across the
 * exec so that the binding does not simply go away with the fd.
 */
TEST_F(mon, exec_unbinds)
{
	int status;

	REQUIRE();
	status = exec_self(EXEC_ENV "=1", true);
	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("signal %d", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Closing the vcpu (fd and run page) unbinds the thread. */
TEST_F(mon, vcpu_close_unbinds)
{
	REQUIRE();
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	EXPECT_EQ(1, R(1000, 1));
	lol_vcpu_destroy(&self->g.vcpu);
	EXPECT_EQ(-ENOSYS, R(1000, 1));
	EXPECT_EQ(getpid(), P(SYS_getpid, 0));
	EXPECT_EQ(1, up.count);
	/* A new vcpu may bind this thread. */
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->g.vm, 1, &self->g.vcpu));
	self->g.run = self->g.vcpu.run;
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	EXPECT_EQ(1, R(1000, 1));
	EXPECT_EQ(1, up.count);
}

static long emulate_replace(struct lol_run *run)
{
	struct lol_syscall_ranges t;

	if (up.count > 1)
		return 5678;
	/* From the upcall: a new table (r_sys one-shot) for the next calls. */
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add1(&t, RT_INSN(r_sys), LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT);
	rt_set_upcall(&t);
	if (rt_set(up.vcpu, &t))
		return -errno;
	return 1234;
}

/* The bound thread may replace its table during the upcall, and resume. */
TEST_F(mon, table_replaced_in_upcall)
{
	REQUIRE();
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_replace));
	EXPECT_EQ(1234, R(1000, 0));
	EXPECT_EQ(5678, R(1000, 0));	/* the new table's one-shot */
	EXPECT_EQ(-ENOSYS, R(1000, 0));	/* its default */
	EXPECT_EQ(2, up.count);
}

/* ---- two bound threads, two vcpus, one upcall with per-thread state ---- */

struct mt_state {
	int vcpu;
	struct lol_run *run;
	long tag, count, bad, wrong;
	int bind_errno;
	char *stack;
};

static __thread struct mt_state *mt;

void mt_upcall_entry(void);
void mt_upcall_c(void) __attribute__((used, noreturn, noinline));
void mt_upcall_c(void)
{
	struct mt_state *s = mt;
	struct lol_run *run = s->run;

	s->count++;
	if (run->syscall.nr != 1002 || run->syscall.ip != RT_INSN(r_sys))
		s->bad++;
	lol_ret(run) = run->syscall.args[0] * 4 + s->tag;
	ioctl(s->vcpu, LOL_RESUME, 0);
	_exit(71);
}
__asm__(".pushsection .text.rt_monitor, \"ax\", @progbits\n"
	".globl mt_upcall_entry\n"
	"mt_upcall_entry:\n\t"
	"jmp mt_upcall_c\n"
	".popsection\n");

#define MT_CALLS	20000
#define MT_STACK	(64 * 1024)

static void *mt_thread(void *arg)
{
	struct mt_state *s = arg;
	struct lol_syscall_ranges t;
	long i;

	mt = s;
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add1(&t, RT_INSN(r_sys), LOL_RANGE_REFLECT, 0);
	t.entry = (__u64)(uintptr_t)mt_upcall_entry;
	t.stack = (__u64)(uintptr_t)(s->stack + MT_STACK);
	if (rt_set(s->vcpu, &t)) {
		s->bind_errno = errno;
		return NULL;
	}
	for (i = 0; i < MT_CALLS; i++)
		if (R(1002, i) != i * 4 + s->tag)
			s->wrong++;
	rt_clear(s->vcpu);
	return NULL;
}

TEST_F_TIMEOUT(mon, two_threads_two_vcpus, 120)
{
	struct mt_state st[2];
	struct lol_vcpu v1;
	pthread_t th[2];
	int i;

	REQUIRE();
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->g.vm, 1, &v1));
	memset(st, 0, sizeof(st));
	for (i = 0; i < 2; i++) {
		st[i].vcpu = i ? v1.fd : self->g.vcpu.fd;
		st[i].run = i ? v1.run : self->g.run;
		st[i].tag = i + 1;
		st[i].stack = aligned_alloc(64, MT_STACK);
		ASSERT_NE(NULL, st[i].stack);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, mt_thread, &st[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, st[i].bind_errno) TH_LOG("thread %d", i);
		EXPECT_EQ(MT_CALLS, st[i].count) TH_LOG("thread %d", i);
		EXPECT_EQ(0, st[i].bad) TH_LOG("thread %d", i);
		EXPECT_EQ(0, st[i].wrong) TH_LOG("thread %d", i);
		free(st[i].stack);
	}
	lol_vcpu_destroy(&v1);
}

#define EXEC_SUD_ENV	"LOL_RANGES_EXEC_SUD"

/*
 * In the exec'd image: Syscall User Dispatch of its own, selector BLOCK;
 * the first syscall must reach the SIGSYS handler (1000 -> 7).
 */
static void __attribute__((constructor)) exec_sud_child(void)
{
	struct k_sigaction ksa = {
		.handler = sud_handler,
		.flags = SA_SIGINFO | SA_RESTORER_,
		.restorer = (void *)sud_restorer,
	};
	long r;

	if (!getenv(EXEC_SUD_ENV))
		return;
	if (syscall(SYS_rt_sigaction, SIGSYS, &ksa, NULL, 8))
		_exit(10);
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
		  (unsigned long)sud_restorer,
		  (unsigned long)(sud_restorer_end - sud_restorer),
		  &sud_selector))
		_exit(11);
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	r = R(1000, 1);
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	_exit(r == 7 ? 0 : r == -ENOSYS ? 2 : 3);
}

/*
 * A program exec'd by a bound thread (its vcpu file still open) that
 * uses Syscall User Dispatch itself gets every dispatch, the first one
 * included: the stale binding to the old image must not swallow it.
 */
TEST_F(mon, exec_then_own_sud)
{
	int status;

	REQUIRE();
	/* Control: without lol the program's first syscall is dispatched. */
	status = exec_self(EXEC_SUD_ENV "=1", false);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status));

	status = exec_self(EXEC_SUD_ENV "=1", true);
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("signal %d", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		if (WEXITSTATUS(status) == 2)
			TH_LOG("the first SUD-blocked syscall ran natively");
	}
}

/*
 * One table for both: the bound thread runs a guest on its vcpu; guest
 * syscalls follow the table's guest side, the thread's own syscalls the
 * monitor side, before and after LOL_RUN.
 */
TEST_F(mon, guest_and_monitor_table)
{
	struct lol_syscall_ranges t;
	struct lol_run *run = self->g.run;

	REQUIRE();
	rt_upcall_init(&self->g, emulate_table);
	rt_table(&t, LOL_RANGES_GUEST | LOL_RANGES_MONITOR, LOL_RANGE_NATIVE);
	rt_add1(&t, RT_INSN(r_sys), LOL_RANGE_REFLECT, 0);
	rt_add1(&t, RT_GVA(gp500, gp500_sc1), LOL_RANGE_REFLECT, 0);
	rt_set_upcall(&t);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	EXPECT_EQ(results[2], R(1000, 2));

	ASSERT_EQ(0, RT_LOAD(&self->g, gp500));
	ASSERT_EQ(0, lol_run(self->g.vcpu.fd));
	EXPECT_EQ(LOL_EXIT_SYSCALL, run->exit_reason);
	EXPECT_EQ(39, run->syscall.nr);
	EXPECT_EQ(RT_GVA(gp500, gp500_sc1), run->syscall.ip);
	EXPECT_EQ(1, up.count);	/* not an upcall */
	lol_ret(run) = 4242;
	/* syscall 500 is NATIVE (default) in the guest: -ENOSYS, then ud2. */
	ASSERT_EQ(0, lol_run(self->g.vcpu.fd));
	EXPECT_EQ(LOL_EXIT_TRAP, run->exit_reason);
	EXPECT_EQ(4242, lol_arg0(run));
	EXPECT_EQ(-ENOSYS, (long)lol_ret(run));

	/* Still bound, still reflecting. */
	EXPECT_EQ(results[3], R(1000, 3));
	EXPECT_EQ(2, up.count);
	EXPECT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(-ENOSYS, R(1000, 3));
}

/* A monitor-only table: guest syscalls are all reflected to LOL_RUN. */
TEST_F(mon, monitor_table_while_running_guest)
{
	struct lol_run *run = self->g.run;

	REQUIRE();
	ASSERT_EQ(0, set_std(&self->g, LOL_RANGE_NATIVE, emulate_table));
	ASSERT_EQ(0, RT_LOAD(&self->g, gp500));
	ASSERT_EQ(0, lol_run(self->g.vcpu.fd));
	EXPECT_EQ(LOL_EXIT_SYSCALL, run->exit_reason);
	EXPECT_EQ(RT_GVA(gp500, gp500_sc1), run->syscall.ip);
	EXPECT_EQ(0, up.count);
	EXPECT_EQ(1, R(1000, 1));
	EXPECT_EQ(1, up.count);
}

/*
 * LOL_RESUME while other threads run the same vcpu in guest mode, with
 * kicks. Both give back a 64-bit value that the ioctl's int cannot carry
 * through a task_work; they once shared the vcpu's one callback_head,
 * and a thread preempted on its way out of LOL_RESUME still had it
 * queued when another queued it again: works behind it were lost with
 * their references, or ran twice (a use-after-free; found by lol-fuzz).
 *
 * The threads share one run page, so the monitor's LOL_RESUME may load a
 * guest exit's registers and the monitor dies of it: the scenario runs
 * in children, again and again, and only the kernel side is judged --
 * no splat, and no reference left once they are gone.
 */
#define RACE_RET	0x5a5a5a5a00001234L
#define RACE_RUNNERS	3

static long emulate_race(struct lol_run *run)
{
	/* The monitor's own registers, in case a guest exit wrote its own. */
	run->regs = up.last_regs;
	return run->syscall.nr == 1002 ? RACE_RET : -ENOSYS;
}

struct race_thread {
	int fd;
	bool kicker;
};

static void *race_fn(void *p)
{
	struct race_thread *rt = p;

	for (;;)
		ioctl(rt->fd, rt->kicker ? LOL_KICK : LOL_RUN, 0);
	return NULL;
}

/* A forked child: the race for ms, then exit_group with the guests in. */
static void race_child(volatile long *calls, int ms)
{
	struct race_thread rt[RACE_RUNNERS + 1];
	struct rt_vm g;
	pthread_t t;
	double end;
	int i;

	alarm(20);
	if (rt_vm_create(&g) || set_std(&g, LOL_RANGE_NATIVE, emulate_race) ||
	    RT_LOAD(&g, lol_stub_ret_check))
		_exit(2);
	lol_stub_ret_check_set(g.run, RACE_RET, DATA_GVA);
	for (i = 0; i <= RACE_RUNNERS; i++) {
		rt[i].fd = g.vcpu.fd;
		rt[i].kicker = i == RACE_RUNNERS;
		if (pthread_create(&t, NULL, race_fn, &rt[i]))
			_exit(3);
	}
	end = lol_now() + ms / 1000.0;
	while (lol_now() < end) {
		R(1002, 0);
		__atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

TEST_F_TIMEOUT(mon, resume_while_others_run, 60)
{
	volatile long *calls;
	int children = 0, segv = 0, status;
	double end;
	long base;

	REQUIRE();
	calls = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, calls);
	base = lol_refcnt();
	end = lol_now() + 4;
	while (lol_now() < end) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0)
			race_child(calls, 500);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		children++;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
			segv++;
			continue;
		}
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("child: status %#x", status);
	}
	TH_LOG("%d children (%d died of a guest's registers), %ld reflected "
	       "calls", children, segv, *calls);
	EXPECT_LT(0, *calls);
	/* Only the fixture's fds hold the module: no work left behind. */
	EXPECT_EQ(base, lol_refcnt());
	munmap((void *)calls, getpagesize());
}

TEST_HARNESS_MAIN
