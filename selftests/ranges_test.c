// SPDX-License-Identifier: GPL-2.0
/*
 * ranges_test: syscall range tables (LOL_SET_SYSCALL_RANGES) for guest
 * syscalls and for the monitor's own, in-place reflection with LOL_RESUME,
 * and single-step. Needs LOL_CAP_RUN and LOL_CAP_SYSCALL_RANGES; the
 * monitor-mode tests also LOL_CAP_REFLECT, single-step LOL_CAP_SINGLESTEP.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	4
#define CODE_GVA	0x400000ULL

#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH	2	/* si_code of the SIGSYS */
#endif

/*
 * getpid(); rdi = its result; syscall(500, rdi); ud2
 * The first syscall instruction is at +5, the second at +15.
 */
LOL_GUEST_ASM(getpid_then_500,
	"mov $39, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"ud2\n");
#define SC1	(CODE_GVA + 5)
#define SC2	(CODE_GVA + 15)

/* fork() at +5, then syscall(500) at +12 with rdi = fork's result */
LOL_GUEST_ASM(fork_stub,
	"mov $57, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* Three one-byte nops, then syscall(500). */
LOL_GUEST_ASM(nops,
	"nop\n\t"
	"nop\n\t"
	"nop\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

FIXTURE(guest) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
	bool ready;
};

static bool has_caps(struct __test_metadata *_metadata)
{
	int sys = lol_open_sys();
	bool ok = lol_cap(sys, LOL_CAP_RUN) &&
		  lol_cap(sys, LOL_CAP_SYSCALL_RANGES);

	close(sys);
	return ok;
}

/* Sets up vm, one vcpu and one AS with the code page at CODE_GVA. */
static void vm_setup(struct __test_metadata *_metadata,
		     FIXTURE_DATA(guest) *self)
{
	long page = sysconf(_SC_PAGESIZE);

	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	if (!has_caps(_metadata))
		return;
	ASSERT_EQ(0, lol_vm_create(&self->vm, PHYS_PAGES * page))
		TH_LOG("lol_vm_create: %s", strerror(errno));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu))
		TH_LOG("lol_vm_add_vcpu: %s", strerror(errno));
	self->run = self->vcpu.run;
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as_id));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, CODE_GVA, 0, page,
				LOL_PROT_READ | LOL_PROT_EXEC));
	self->ready = true;
}

FIXTURE_SETUP(guest)
{
	vm_setup(_metadata, self);
}

FIXTURE_TEARDOWN(guest)
{
	if (self->vcpu.fd >= 0)
		lol_vcpu_destroy(&self->vcpu);
	if (self->vm.guest >= 0)
		lol_vm_destroy(&self->vm);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent"); \
} while (0)

#define LOAD(stub) do {							\
	memset(self->vm.phys, 0xcc, sysconf(_SC_PAGESIZE));		\
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, stub));		\
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA, 0);	\
} while (0)

#define EXPECT_EXIT(reason) do {					\
	int __r = lol_run(self->vcpu.fd);				\
	int __e = errno;						\
	ASSERT_EQ(0, __r) TH_LOG("LOL_RUN: %s", lol_errno_name(__e));	\
	ASSERT_EQ(reason, self->run->exit_reason) {			\
		TH_LOG("expected %s, got " LOL_EXIT_FMT,		\
		       lol_exit_name(reason), LOL_EXIT_ARGS(self->run)); \
	}								\
} while (0)

/* A guest table with one range [start, end) and a default. */
static int set_ranges(int vcpu, __u32 flags, __u32 def, __u64 start,
		      __u64 end, __u32 action, __u32 rflags)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	t.flags = flags;
	t.default_action = def;
	if (start != end) {
		t.nr_ranges = 1;
		t.ranges[0].start = start;
		t.ranges[0].end = end;
		t.ranges[0].action = action;
		t.ranges[0].flags = rflags;
	}
	return lol_set_syscall_ranges(vcpu, &t);
}

static int clear_ranges(int vcpu)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	return lol_set_syscall_ranges(vcpu, &t);
}

/* ---- guest mode ------------------------------------------------------- */

TEST_F(guest, default_reflects_everything)
{
	REQUIRE();
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(39, self->run->syscall.nr);
	EXPECT_EQ(SC1, self->run->syscall.ip);
}

TEST_F(guest, native_range)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_REFLECT, SC1, SC1 + 2,
				LOL_RANGE_NATIVE, 0));
	LOAD(getpid_then_500);
	/* getpid ran on the host, in the guest: it is this process. */
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
	EXPECT_EQ(SC2, self->run->syscall.ip);
	EXPECT_EQ(getpid(), self->run->syscall.args[0]);
}

TEST_F(guest, reflect_range)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_NATIVE, SC2, SC2 + 2,
				LOL_RANGE_REFLECT, 0));
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
	EXPECT_EQ(getpid(), self->run->syscall.args[0]);
}

/* In guest mode the monitor is the tracer: PTRACE reports like REFLECT. */
TEST_F(guest, ptrace_range)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_NATIVE, SC1, SC1 + 2,
				LOL_RANGE_PTRACE, 0));
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(39, self->run->syscall.nr);
	EXPECT_EQ(SC1, self->run->syscall.ip);
}

TEST_F(guest, oneshot)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_REFLECT, SC1, SC1 + 2,
				LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT));
	/* First hit: NATIVE. */
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(SC2, self->run->syscall.ip);
	/* Disarmed: the default, REFLECT. */
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(SC1, self->run->syscall.ip);
	EXPECT_EQ(39, self->run->syscall.nr);
	/* A new table arms it again. */
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_REFLECT, SC1, SC1 + 2,
				LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT));
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(SC2, self->run->syscall.ip);
}

TEST_F(guest, removed_table_reflects)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_NATIVE, 0, 0, 0, 0));
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(SC1, self->run->syscall.ip);
}

/* A monitor-only table does not apply to guest syscalls. */
TEST_F(guest, monitor_table_not_for_guest)
{
	REQUIRE();
	if (!lol_check_extension(self->vm.sys, LOL_CAP_REFLECT))
		SKIP(return, "LOL_CAP_REFLECT absent");
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_MONITOR,
				LOL_RANGE_NATIVE, 0, 0, 0, 0));
	LOAD(getpid_then_500);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(SC1, self->run->syscall.ip);
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
}

/* Syscalls that would copy or replace the borrowed mm never run natively. */
TEST_F(guest, native_fork_is_reflected)
{
	REQUIRE();
	ASSERT_EQ(0, set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
				LOL_RANGE_NATIVE, 0, 0, 0, 0));
	LOAD(fork_stub);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(57, self->run->syscall.nr);
	EXPECT_EQ(SC1, self->run->syscall.ip);
}

/* KILL: the thread dies with SIGSYS. Run in a child of its own. */
TEST(guest_kill_range)
{
	FIXTURE_DATA(guest) g, *self = &g;
	int status;
	pid_t pid;

	memset(&g, 0, sizeof(g));
	if (!has_caps(_metadata))
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		vm_setup(_metadata, self);
		if (set_ranges(self->vcpu.fd, LOL_RANGES_GUEST,
			       LOL_RANGE_REFLECT, SC1, SC1 + 2,
			       LOL_RANGE_KILL, 0))
			_exit(2);
		LOAD(getpid_then_500);
		lol_run(self->vcpu.fd);
		_exit(3);	/* still alive */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exit %d",
						WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGSYS, WTERMSIG(status));
}

/* ---- single-step -------------------------------------------------------- */

TEST_F(guest, singlestep)
{
	int i;

	REQUIRE();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_SINGLESTEP);
	LOAD(nops);
	self->run->flags = LOL_RUN_SINGLESTEP;
	for (i = 1; i <= 3; i++) {
		EXPECT_EXIT(LOL_EXIT_TRAP);
		EXPECT_EQ(1, self->run->trap.vector);
		EXPECT_EQ(CODE_GVA + i, self->run->regs.rip);
		/* TF was the module's, not the guest's. */
		EXPECT_EQ(0, self->run->regs.rflags & 0x100);
	}
	self->run->flags = 0;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

/* ---- monitor mode: the monitor's own syscalls --------------------------- */

/* long monitor_syscall(long nr, long arg): a raw syscall at a known spot */
__asm__(".pushsection .text.lol_monitor, \"ax\", @progbits\n"
	".globl monitor_syscall\n"
	".type monitor_syscall, @function\n"
	"monitor_syscall:\n\t"
	"mov %rdi, %rax\n\t"
	"mov %rsi, %rdi\n"
	"monitor_syscall_insn:\n\t"
	"syscall\n\t"
	"ret\n"
	".size monitor_syscall, . - monitor_syscall\n"
	".popsection\n");
long monitor_syscall(long nr, long arg);
extern const char monitor_syscall_insn[] __attribute__((visibility("hidden")));

static struct {
	int vcpu;
	struct lol_run *run;
	__u64 nr, arg0, ip;
	int upcalls;
	int resume_errno;
	char stack[64 * 1024] __attribute__((aligned(16)));
} up;

/* The reflection upcall: answer nr + arg0 and resume. */
static void upcall(void)
{
	up.upcalls++;
	up.nr = up.run->syscall.nr;
	up.arg0 = up.run->syscall.args[0];
	up.ip = up.run->syscall.ip;
	up.run->regs.rax = up.nr + up.arg0;
	lol_resume(up.vcpu);
	/* Only on failure. */
	up.resume_errno = errno;
	_exit(4);
}

static int set_monitor_ranges(__u32 action, __u32 rflags, __u32 def)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	t.flags = LOL_RANGES_MONITOR;
	t.default_action = def;
	t.nr_ranges = 1;
	t.ranges[0].start = (unsigned long)monitor_syscall_insn;
	t.ranges[0].end = t.ranges[0].start + 2;
	t.ranges[0].action = action;
	t.ranges[0].flags = rflags;
	if (action == LOL_RANGE_REFLECT || def == LOL_RANGE_REFLECT) {
		t.entry = (unsigned long)upcall;
		t.stack = (unsigned long)up.stack + sizeof(up.stack);
	}
	return lol_set_syscall_ranges(up.vcpu, &t);
}

#define REQUIRE_MONITOR() do {						\
	REQUIRE();							\
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_REFLECT);			\
	up.vcpu = self->vcpu.fd;					\
	up.run = self->run;						\
	up.upcalls = 0;							\
} while (0)

TEST_F(guest, monitor_reflect_resume)
{
	long ret;

	REQUIRE_MONITOR();
	ASSERT_EQ(0, set_monitor_ranges(LOL_RANGE_REFLECT, 0,
					LOL_RANGE_NATIVE));
	/* Outside the range: native. */
	EXPECT_EQ(getpid(), syscall(SYS_getpid));
	ret = monitor_syscall(500, 7);
	EXPECT_EQ(1, up.upcalls);
	EXPECT_EQ(507, ret);
	EXPECT_EQ(500, up.nr);
	EXPECT_EQ(7, up.arg0);
	EXPECT_EQ((unsigned long)monitor_syscall_insn, up.ip);
	EXPECT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason);
	/* Again: reflection is re-armed after LOL_RESUME. */
	ret = monitor_syscall(39, 3);
	EXPECT_EQ(2, up.upcalls);
	EXPECT_EQ(42, ret);
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
	/* Gone: the syscall runs (and fails) on the host. */
	EXPECT_EQ(-ENOSYS, monitor_syscall(500, 7));
	EXPECT_EQ(2, up.upcalls);
}

TEST_F(guest, monitor_oneshot)
{
	REQUIRE_MONITOR();
	ASSERT_EQ(0, set_monitor_ranges(LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT,
					LOL_RANGE_NATIVE));
	EXPECT_EQ(507, monitor_syscall(500, 7));
	EXPECT_EQ(-ENOSYS, monitor_syscall(500, 7));
	EXPECT_EQ(1, up.upcalls);
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
}

/* One monitor thread per vcpu, one vcpu per monitor thread. */
TEST_F(guest, monitor_bind_once)
{
	struct lol_vcpu other;

	REQUIRE_MONITOR();
	ASSERT_EQ(0, set_monitor_ranges(LOL_RANGE_NATIVE, 0,
					LOL_RANGE_NATIVE));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 1, &other));
	up.vcpu = other.fd;
	EXPECT_ERRNO(EBUSY, set_monitor_ranges(LOL_RANGE_NATIVE, 0,
					       LOL_RANGE_NATIVE));
	up.vcpu = self->vcpu.fd;
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
	/* Unbound: the other vcpu may have this thread now. */
	up.vcpu = other.fd;
	EXPECT_EQ(0, set_monitor_ranges(LOL_RANGE_NATIVE, 0,
					LOL_RANGE_NATIVE));
	EXPECT_EQ(0, clear_ranges(other.fd));
	lol_vcpu_destroy(&other);
}

static volatile sig_atomic_t sigsys_nr = -1, sigsys_code;

static void sigsys_handler(int sig, siginfo_t *info, void *uc)
{
	ucontext_t *ctx = uc;

	sigsys_nr = info->si_syscall;
	sigsys_code = info->si_code;
	ctx->uc_mcontext.gregs[REG_RAX] = 77;
}

/* PTRACE in monitor mode: not run, SIGSYS as Syscall User Dispatch does. */
TEST_F(guest, monitor_ptrace_sigsys)
{
	struct sigaction sa = {
		.sa_sigaction = sigsys_handler,
		.sa_flags = SA_SIGINFO,
	};
	long ret;

	REQUIRE_MONITOR();
	ASSERT_EQ(0, sigaction(SIGSYS, &sa, NULL));
	ASSERT_EQ(0, set_monitor_ranges(LOL_RANGE_PTRACE, 0,
					LOL_RANGE_NATIVE));
	ret = monitor_syscall(500, 7);
	ASSERT_EQ(0, clear_ranges(self->vcpu.fd));
	EXPECT_EQ(500, sigsys_nr);
	EXPECT_EQ(SYS_USER_DISPATCH, sigsys_code);
	EXPECT_EQ(77, ret);
}

TEST(monitor_kill_range)
{
	FIXTURE_DATA(guest) g, *self = &g;
	int status;
	pid_t pid;

	memset(&g, 0, sizeof(g));
	if (!has_caps(_metadata))
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		vm_setup(_metadata, self);
		up.vcpu = self->vcpu.fd;
		if (set_monitor_ranges(LOL_RANGE_KILL, 0, LOL_RANGE_NATIVE))
			_exit(2);
		monitor_syscall(39, 0);
		_exit(3);	/* still alive */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exit %d",
						WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGSYS, WTERMSIG(status));
}

TEST_HARNESS_MAIN
