// SPDX-License-Identifier: GPL-2.0
/*
 * regress_test: minimal reproducers of bugs found by lol-fuzz
 * (userspace/tools/fuzz/, make fuzz) and by testing lol as an
 * outside monitor author would. One TEST per bug, named after what the
 * guest or the monitor does; the comment says what went wrong.
 * A failing run here usually shows in the kernel log (KASAN, an oops, a
 * WARNING), which the harness judges after the suite.
 *
 * Guest layout (phys page: gva, prot):
 *   0: CODE_GVA   r-x  the stub
 *   1: STACK_GVA  rw-  stack (rsp starts at its top)
 *   2: MARK_GVA   r-x  a stub whose syscalls are always reflected
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	4
#define CODE_GVA	0x400000ULL
#define STACK_GVA	0x7ff000000ULL
#define MARK_GVA	0x500000ULL
#define PHYS_STACK	1
#define PHYS_MARK	2

/*
 * A guest that uses lol itself through NATIVE syscalls on the monitor's
 * /dev/lol fd (rdi): creates a guest, a vcpu and an AS, maps the vcpu's
 * run page into its own AS, selects the AS and calls LOL_RUN on it -- a
 * LOL_RUN from a thread that is already in guest mode. The results go to
 * the reflected syscall 1000 at MARK_GVA: rdi = the nested LOL_RUN's
 * result, rsi = the nested vcpu fd, rdx = the nested guest fd (or errors).
 *
 * Found by reasoning while writing lol-fuzz's "nested" template, which
 * then found it on its own (lol-fuzz --seed 5 --wild 100: case 0, in
 * seconds; before b109846): the nested entry saves the outer guest's registers and FP state as if they
 * were the monitor's (fpu_swap_kvm_fpstate() keeps one __task_fpstate),
 * so leaving the outer guest afterwards restores a NULL fpstate.
 */
LOL_GUEST_ASM(nested_run,
	"mov %rdi, %rbx\n\t"			/* rbx = /dev/lol fd */
	/* g = ioctl(sys, LOL_CREATE_GUEST, 0) */
	"mov %rbx, %rdi\n\t"
	"mov $0xb202, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r12\n\t"
	/* v = ioctl(g, LOL_CREATE_VCPU, 0) */
	"mov %r12, %rdi\n\t"
	"mov $0xb240, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r13\n\t"
	/* ioctl(g, LOL_CREATE_AS, &struct lol_create_as{0} on the stack) */
	"sub $64, %rsp\n\t"
	"movq $0, 0(%rsp)\n\t"
	"movq $0, 8(%rsp)\n\t"
	"movq $0, 16(%rsp)\n\t"
	"movq $0, 24(%rsp)\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xc020b242, %esi\n\t"		/* _IOWR(0xb2, 0x42, 32 bytes) */
	"mov %rsp, %rdx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov 4(%rsp), %r15d\n\t"		/* as_id */
	/* run = mmap(0, 4096, RW, MAP_SHARED, v, 0) */
	"xor %edi, %edi\n\t"
	"mov $4096, %esi\n\t"
	"mov $3, %edx\n\t"
	"mov $1, %r10d\n\t"
	"mov %r13, %r8\n\t"
	"xor %r9d, %r9d\n\t"
	"mov $9, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r14\n\t"
	/* run->as_id = as_id (offset 4), if the mmap worked */
	"cmp $-4095, %rax\n\t"
	"jae 1f\n\t"
	"mov %r15d, 4(%r14)\n"
	"1:\n\t"
	/* r = ioctl(v, LOL_RUN, 0) */
	"mov %r13, %rdi\n\t"
	"mov $0xb280, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	/* report: syscall 1000(rdi = r, rsi = v) from MARK_GVA */
	"mov %rax, %rdi\n\t"
	"mov %r13, %rsi\n\t"
	"mov %r12, %rdx\n\t"
	"movabs $0x500000, %rax\n\t"
	"jmp *%rax\n");

LOL_GUEST_ASM(mark_1000,
	"mov $1000, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

#define PF_KTHREAD_FLAG	0x00200000UL	/* include/linux/sched.h */
#define EXEC_PROBE_ENV	"LOL_REGRESS_TEST_EXEC_PROBE"
#define EXEC_PROBE_RC	42

/* execve("/proc/self/exe") from a sibling lands here. */
__attribute__((constructor)) static void exec_probe(void)
{
	if (getenv(EXEC_PROBE_ENV))
		_exit(EXEC_PROBE_RC);
}

/* for (;;) syscall(1000): a reflected exit each time round. */
LOL_GUEST_ASM(exit_loop,
	"1: mov $1000, %eax\n\t"
	"syscall\n\t"
	"jmp 1b\n");

/* read(rdi, rsi, rdx) NATIVE, then syscall 1000(rdi = result) at MARK_GVA. */
LOL_GUEST_ASM(native_read,
	"xor %eax, %eax\n\t"		/* 2 bytes: syscall at +2 */
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"movabs $0x500000, %r11\n\t"
	"jmp *%r11\n");
#define NATIVE_READ_SYSCALL	(CODE_GVA + 2)


FIXTURE(regress) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
	size_t page;
	bool ready;
};

FIXTURE_SETUP(regress)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);
	long has_ranges = lol_cap(sys, LOL_CAP_SYSCALL_RANGES);

	close(sys);
	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	self->page = sysconf(_SC_PAGESIZE);
	if (!has_run || !has_ranges)
		return;	/* each test SKIPs */

	ASSERT_EQ(0, lol_vm_create(&self->vm, PHYS_PAGES * self->page));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	self->run = self->vcpu.run;
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as_id));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, CODE_GVA, 0,
				self->page, LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, STACK_GVA,
				PHYS_STACK * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, MARK_GVA,
				PHYS_MARK * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, PHYS_MARK * self->page,
				     mark_1000));
	self->ready = true;
}

FIXTURE_TEARDOWN(regress)
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

/*
 * LOL_RUN with a pattern in xmm8 around the syscall itself (xmm registers
 * are caller-saved, so a C variable would not stay in one across a call):
 * *xmm_after is what xmm8 held when the ioctl returned.
 */
static long run_keep_xmm8(int vcpu, __u64 pattern, __u64 *xmm_after)
{
	register long rdi __asm__("rdi") = vcpu;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = 0;
	long ret = SYS_ioctl;
	__u64 out;

	__asm__ volatile("movq %[pat], %%xmm8\n\t"
			 "syscall\n\t"
			 "movq %%xmm8, %[out]"
			 : "+a"(ret), [out] "=r"(out)
			 : "r"(rdi), "r"(rsi), "r"(rdx), [pat] "r"(pattern)
			 : "rcx", "r11", "memory", "xmm8");
	*xmm_after = out;
	return ret;
}

/* Guest syscalls in [CODE_GVA, CODE_GVA + page) NATIVE, the rest REFLECT. */
static int native_code_page(int vcpu, size_t page)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	t.flags = LOL_RANGES_GUEST;
	t.nr_ranges = 1;
	t.default_action = LOL_RANGE_REFLECT;
	t.ranges[0].start = CODE_GVA;
	t.ranges[0].end = CODE_GVA + page;
	t.ranges[0].action = LOL_RANGE_NATIVE;
	return lol_set_syscall_ranges(vcpu, &t);
}

/*
 * LOL_RUN from a thread already in guest mode (a NATIVE guest ioctl on a
 * guest the guest created itself) must be refused, and the outer guest
 * must leave normally with the monitor's FP state intact.
 */
TEST_F(regress, nested_run_from_native_guest_syscall)
{
	const __u64 pat = 0x0123456789abcdefULL;
	struct lol_regs *r;
	__u64 xmm8;
	long ret;
	int sys;

	REQUIRE();
	sys = lol_open_sys();
	ASSERT_EQ(0, native_code_page(self->vcpu.fd, self->page));
	memset(self->vm.phys, 0xcc, self->page);
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, nested_run));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
			   STACK_GVA + self->page);
	r = &self->run->regs;
	r->rdi = sys;

	ret = run_keep_xmm8(self->vcpu.fd, pat, &xmm8);
	ASSERT_EQ(0, ret) TH_LOG("LOL_RUN: %s", strerror(-ret));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	EXPECT_EQ(1000, self->run->syscall.nr);
	/* The monitor's FP state came back. */
	EXPECT_EQ(pat, xmm8);
	/* The nested LOL_RUN must have failed (rdi: its raw result). */
	EXPECT_GT(0, (long long)self->run->syscall.args[0])
		TH_LOG("nested LOL_RUN returned %lld", (long long)self->run->syscall.args[0]);
	/* The guest's fds are the monitor's: close what it made. */
	if ((long long)self->run->syscall.args[1] >= 0)
		close((int)self->run->syscall.args[1]);
	if ((long long)self->run->syscall.args[2] >= 0)
		close((int)self->run->syscall.args[2]);
	close(sys);
}

/* ---- a guest making exits on a thread of its own -------------------- */

struct spinner {
	struct lol_vcpu *vcpu;
	atomic_int stop;
	atomic_int started;
	atomic_long exits;
	atomic_int tid;
	int err;		/* first unexpected errno / exit reason */
};

static void *spin_exits(void *p)
{
	struct spinner *s = p;
	struct lol_run *run = s->vcpu->run;

	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	atomic_store(&s->started, 1);
	while (!atomic_load(&s->stop)) {
		if (lol_run(s->vcpu->fd) < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		if (run->exit_reason != LOL_EXIT_SYSCALL &&
		    run->exit_reason != LOL_EXIT_KICK) {
			s->err = 1000 + run->exit_reason;
			break;
		}
		atomic_fetch_add(&s->exits, 1);
	}
	return NULL;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n;
}

/*
 * One field of /proc/self/task/<tid>/stat: the flags word (field 9,
 * counted after the ")" that ends the command name).
 */
static int task_flags(int tid, unsigned long *flags)
{
	char path[64], buf[1024], *p;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (lol_read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* ") S ppid pgrp session tty tpgid flags": skip 6 fields. */
	for (i = 0; i < 7 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	*flags = strtoul(p + 1, NULL, 10);
	return 0;
}

/*
 * While one thread per CPU makes guest exits, another reads the flags of
 * those threads from /proc: the task must never be PF_KTHREAD. With the
 * old kthread_use_mm() switch, a sibling on another CPU saw it in about a
 * quarter of its reads (and an FPU-using softirq on the switching CPU saw
 * the same thing: the guest's SIMD registers were clobbered).
 */
TEST_F_TIMEOUT(regress, never_seen_as_kernel_thread, 90)
{
	int ncpu = online_cpus(), nspin = ncpu < 2 ? 2 : ncpu;
	struct lol_vm vms[nspin];
	struct lol_vcpu vcpus[nspin];
	struct spinner sp[nspin];
	pthread_t th[nspin];
	long reads = 0, kthread = 0, bad = 0;
	double end, last;
	int i;

	REQUIRE();
	memset(sp, 0, sizeof(sp));
	for (i = 0; i < nspin; i++) {
		__u32 as;

		ASSERT_EQ(0, lol_vm_create(&vms[i], PHYS_PAGES * self->page));
		ASSERT_EQ(0, lol_vm_add_vcpu(&vms[i], 0, &vcpus[i]));
		ASSERT_EQ(0, lol_vm_new_as(&vms[i], &as));
		ASSERT_EQ(0, LOL_VM_LOAD_ASM(&vms[i], 0, exit_loop));
		ASSERT_EQ(0, lol_vm_map(&vms[i], as, CODE_GVA, 0, self->page,
					LOL_PROT_READ | LOL_PROT_EXEC));
		lol_vcpu_set_entry(&vcpus[i], as, CODE_GVA, 0);
		sp[i].vcpu = &vcpus[i];
		ASSERT_EQ(0, pthread_create(&th[i], NULL, spin_exits, &sp[i]));
	}
	for (i = 0; i < nspin; i++)
		while (!atomic_load(&sp[i].tid))
			sched_yield();

	/*
	 * 10 s or 50,000 reads; on a loaded machine (a debug kernel under
	 * TCG beside other VMs) up to 45 s, until the 1,000 reads the
	 * verdict needs.
	 */
	end = lol_now() + 10;
	last = end + 35;
	while (reads < 50000 &&
	       (lol_now() < end || (reads <= 1000 && lol_now() < last))) {
		for (i = 0; i < nspin; i++) {
			unsigned long flags;

			if (task_flags(atomic_load(&sp[i].tid), &flags)) {
				bad++;
				continue;
			}
			reads++;
			if (flags & PF_KTHREAD_FLAG)
				kthread++;
		}
	}
	for (i = 0; i < nspin; i++)
		atomic_store(&sp[i].stop, 1);
	for (i = 0; i < nspin; i++) {
		lol_kick(vcpus[i].fd);
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, sp[i].err) TH_LOG("spinner %d: %d", i, sp[i].err);
		EXPECT_LT(0, atomic_load(&sp[i].exits));
		lol_vcpu_destroy(&vcpus[i]);
		lol_vm_destroy(&vms[i]);
	}
	TH_LOG("%ld reads of %d guest threads' flags, %ld PF_KTHREAD, %ld unreadable",
	       reads, nspin, kthread, bad);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, kthread);
	EXPECT_LT(1000, reads);
}

/* The leader makes exits; a sibling reads /proc/self/exe. */
struct exe_reader {
	atomic_int go, done;
	long calls, fails;
	int first_errno;
};

static void *read_exe(void *p)
{
	struct exe_reader *r = p;
	char want[4096], got[4096];
	ssize_t n, m;
	double end;

	n = readlink("/proc/self/exe", want, sizeof(want));
	while (!atomic_load(&r->go))
		sched_yield();
	end = lol_now() + 60;
	for (r->calls = 0; r->calls < 50000 && lol_now() < end; r->calls++) {
		m = readlink("/proc/self/exe", got, sizeof(got));
		if (m != n || memcmp(want, got, n)) {
			if (!r->fails++)
				r->first_errno = m < 0 ? errno : 0;
		}
	}
	atomic_store(&r->done, 1);
	return NULL;
}

/* Runs the guest in self->vcpu on the calling thread until *done. */
static int lead_exits(struct lol_vcpu *vcpu, atomic_int *go, atomic_int *done,
		      long *exits)
{
	struct lol_run *run = vcpu->run;

	atomic_store(go, 1);
	while (!atomic_load(done)) {
		if (lol_run(vcpu->fd) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (run->exit_reason != LOL_EXIT_SYSCALL)
			return 1000 + run->exit_reason;
		(*exits)++;
	}
	return 0;
}

TEST_F_TIMEOUT(regress, proc_self_exe_from_sibling, 90)
{
	struct exe_reader r = { 0 };
	long exits = 0;
	pthread_t th;

	REQUIRE();
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, exit_loop));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, read_exe, &r));
	EXPECT_EQ(0, lead_exits(&self->vcpu, &r.go, &r.done, &exits));
	atomic_store(&r.done, 1);
	pthread_join(th, NULL);
	TH_LOG("%ld readlink(/proc/self/exe) during %ld exits: %ld failed",
	       r.calls, exits, r.fails);
	EXPECT_EQ(0, r.fails) TH_LOG("first failure: %s",
				     lol_errno_name(r.first_errno));
	EXPECT_LT(0, exits);
}

/*
 * execve("/proc/self/exe") from a sibling while the leader makes guest
 * exits: the new image starts (and exits EXEC_PROBE_RC at once). Each
 * round runs in its own child, since the exec replaces the process.
 */
struct execer {
	atomic_int go, done;
};

static void *exec_self_thread(void *p)
{
	struct execer *e = p;
	char *argv[] = { "regress_test", NULL };
	char *envp[] = { EXEC_PROBE_ENV "=1", NULL };
	int i;

	while (!atomic_load(&e->go))
		sched_yield();
	/* Let the leader make some exits first. */
	for (i = 0; i < 200; i++)
		sched_yield();
	execve("/proc/self/exe", argv, envp);
	/* Failed: report through the exit status. */
	_exit(100 + (errno & 0x7f) % 100);
}

TEST_F_TIMEOUT(regress, execve_proc_self_exe_from_sibling, 120)
{
	int round, ok = 0, rounds = 20;

	REQUIRE();
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, exit_loop));
	for (round = 0; round < rounds; round++) {
		int status;
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* The child's own guest: the parent's is EIO here. */
			struct lol_vm vm;
			struct lol_vcpu vcpu;
			struct execer e = { 0 };
			long exits = 0;
			pthread_t th;
			__u32 as;

			if (lol_vm_create(&vm, PHYS_PAGES * self->page) ||
			    lol_vm_add_vcpu(&vm, 0, &vcpu) ||
			    lol_vm_new_as(&vm, &as) ||
			    LOL_VM_LOAD_ASM(&vm, 0, exit_loop) ||
			    lol_vm_map(&vm, as, CODE_GVA, 0, self->page,
				       LOL_PROT_READ | LOL_PROT_EXEC))
				_exit(2);
			lol_vcpu_set_entry(&vcpu, as, CODE_GVA, 0);
			if (pthread_create(&th, NULL, exec_self_thread, &e))
				_exit(3);
			lead_exits(&vcpu, &e.go, &e.done, &exits);
			_exit(4);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXEC_PROBE_RC)
			ok++;
		else
			TH_LOG("round %d: %s %d", round,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) :
			       WTERMSIG(status));
	}
	EXPECT_EQ(rounds, ok);
}

/* ---- LOL_KICK and a guest blocked in a NATIVE syscall --------------- */

struct blocked_run {
	struct lol_vcpu *vcpu;
	atomic_int returned;
	int ret, err;
};

static void *run_once(void *p)
{
	struct blocked_run *b = p;

	b->ret = lol_run(b->vcpu->fd);
	b->err = b->ret < 0 ? errno : 0;
	atomic_store(&b->returned, 1);
	return NULL;
}

static bool wait_returned(atomic_int *flag, double secs)
{
	double end = lol_now() + secs;

	while (!atomic_load(flag)) {
		if (lol_now() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/*
 * A guest blocked in a NATIVE read() on an empty pipe; LOL_KICK from
 * another thread must end LOL_RUN with LOL_EXIT_KICK within a short time,
 * the read not done and set up to restart (rip on the syscall, rax its
 * number); the next LOL_RUN then reads what was written meanwhile.
 */
TEST_F(regress, kick_ends_blocked_native_syscall)
{
	struct blocked_run b = { .vcpu = &self->vcpu };
	struct lol_regs *r = &self->run->regs;
	unsigned char *buf;
	bool returned;
	int pfd[2];
	double t0;
	pthread_t th;

	REQUIRE();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	ASSERT_SYSCALL(pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(0, native_code_page(self->vcpu.fd, self->page));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, native_read));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
			   STACK_GVA + self->page);
	r->rdi = pfd[0];
	r->rsi = STACK_GVA + self->page - 64;
	r->rdx = 1;
	buf = lol_vm_phys(&self->vm, PHYS_STACK * self->page + self->page - 64,
			  1);
	ASSERT_NE(NULL, buf);
	*buf = 0;

	ASSERT_EQ(0, pthread_create(&th, NULL, run_once, &b));
	usleep(200 * 1000);
	EXPECT_FALSE(atomic_load(&b.returned))
		TH_LOG("LOL_RUN returned before the kick");
	t0 = lol_now();
	ASSERT_EQ(0, lol_kick(self->vcpu.fd));
	returned = wait_returned(&b.returned, 5);
	EXPECT_TRUE(returned) TH_LOG("LOL_RUN still blocked 5 s after LOL_KICK");
	if (!returned) {
		/* Free it so the test can end. */
		ASSERT_EQ(1, write(pfd[1], "y", 1));
		ASSERT_TRUE(wait_returned(&b.returned, 30));
	} else {
		TH_LOG("LOL_RUN returned %.1f ms after LOL_KICK",
		       (lol_now() - t0) * 1e3);
	}
	pthread_join(th, NULL);
	if (!returned)
		goto out;

	ASSERT_EQ(0, b.ret) TH_LOG("LOL_RUN: %s", lol_errno_name(b.err));
	ASSERT_EQ(LOL_EXIT_KICK, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	/* Not done: back on the syscall, to run again. */
	EXPECT_EQ(NATIVE_READ_SYSCALL, r->rip);
	EXPECT_EQ(SYS_read, r->rax);
	EXPECT_EQ(pfd[0], r->rdi);
	EXPECT_EQ(0, *buf);

	/* Now the restarted read finds a byte. */
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	ASSERT_EQ(0, lol_run(self->vcpu.fd));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	EXPECT_EQ(1000, self->run->syscall.nr);
	EXPECT_EQ(1, self->run->syscall.args[0]);
	EXPECT_EQ('x', *buf);
out:
	close(pfd[0]);
	close(pfd[1]);
}

/* The same with a sleeping NATIVE nanosleep (a restart_block syscall). */
LOL_GUEST_ASM(native_sleep,
	"mov $35, %eax\n\t"		/* 5 bytes: syscall at +5 */
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"movabs $0x500000, %r11\n\t"
	"jmp *%r11\n");

TEST_F(regress, kick_ends_native_nanosleep)
{
	struct blocked_run b = { .vcpu = &self->vcpu };
	struct lol_regs *r = &self->run->regs;
	struct timespec *ts;
	bool returned;
	pthread_t th;

	REQUIRE();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	ASSERT_EQ(0, native_code_page(self->vcpu.fd, self->page));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, native_sleep));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
			   STACK_GVA + self->page);
	ts = lol_vm_phys(&self->vm, PHYS_STACK * self->page, sizeof(*ts));
	ASSERT_NE(NULL, ts);
	ts->tv_sec = 30;
	ts->tv_nsec = 0;
	r->rdi = STACK_GVA;
	r->rsi = 0;

	ASSERT_EQ(0, pthread_create(&th, NULL, run_once, &b));
	usleep(200 * 1000);
	ASSERT_EQ(0, lol_kick(self->vcpu.fd));
	returned = wait_returned(&b.returned, 5);
	EXPECT_TRUE(returned) TH_LOG("LOL_RUN still blocked 5 s after LOL_KICK");
	if (!returned)
		ASSERT_TRUE(wait_returned(&b.returned, 60));
	pthread_join(th, NULL);
	if (!returned)
		return;
	ASSERT_EQ(0, b.ret) TH_LOG("LOL_RUN: %s", lol_errno_name(b.err));
	ASSERT_EQ(LOL_EXIT_KICK, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	/* Restarted through restart_syscall, as after a host signal. */
	EXPECT_EQ(CODE_GVA + 5, r->rip);
	EXPECT_EQ(SYS_restart_syscall, r->rax);
}

/* Spins while rax == rbx; ud2 (a TRAP exit) the moment they differ. */
LOL_GUEST_ASM(spin_rax,
	"1: cmp %rbx, %rax\n\t"
	"je 1b\n\t"
	"ud2\n");

/* Not an int: LOL_RUN hands it back to the guest through a task_work. */
#define BIG_RAX		0x1234567890abcdefULL

struct kicker_arg {
	int vcpu;
	atomic_int stop;
	long kicks;
};

static void *kick_loop(void *p)
{
	struct kicker_arg *k = p;

	while (!atomic_load(&k->stop)) {
		if (!lol_kick(k->vcpu))
			k->kicks++;
		if ((k->kicks & 15) == 0)
			sched_yield();
	}
	return NULL;
}

static atomic_long alarms;

static void count_alarm(int sig)
{
	atomic_fetch_add(&alarms, 1);
}

/*
 * Kicks from another thread and a 200 us timer signal, as a guest kernel's
 * monitor gets them, while the guest spins with a 64-bit rax. Two bugs:
 *  - a kick or signal that came after LOL_RUN returned but before the
 *    task_work that writes the guest's rax (a value no ioctl can return)
 *    ran: the exit saved the ioctl's 0 as the guest's rax (UML on lol:
 *    static glibc binaries crashed in _dl_non_dynamic_init, ~0.3% of
 *    execs);
 *  - get_signal() let through in guest mode for TIF_NOTIFY_SIGNAL alone
 *    (a kick's task_work that came late) dequeued a timer signal that
 *    arrived meanwhile and built the monitor's frame in the guest AS:
 *    SIGSEGV, a TRAP exit after a syscall (fpu_stress_test on the debug
 *    kernel, in CI).
 */
TEST_F_TIMEOUT(regress, kicks_and_signals_keep_guest_rax, 60)
{
	struct kicker_arg k = { .vcpu = self->vcpu.fd };
	struct lol_regs *r = &self->run->regs;
	long kicks = 0, eintr = 0, bad_rax = 0, other = 0, runs = 0;
	struct sigaction sa = { .sa_handler = count_alarm };
	struct sigaction old;
	char first[160] = "";
	timer_t timer;
	pthread_t th;
	double end;

	REQUIRE();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, spin_rax));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
			   STACK_GVA + self->page);
	r->rax = r->rbx = BIG_RAX;

	ASSERT_SYSCALL(sigaction(SIGALRM, &sa, &old));
	ASSERT_EQ(0, lol_thread_timer(SIGALRM, 200 * 1000, &timer));
	ASSERT_EQ(0, pthread_create(&th, NULL, kick_loop, &k));

	for (end = lol_now() + 3; lol_now() < end; runs++) {
		int ret = lol_run(self->vcpu.fd), err = errno;

		if (r->rax != BIG_RAX || r->rbx != BIG_RAX) {
			if (!bad_rax++)
				snprintf(first, sizeof(first),
					 "rax %#llx after run %ld",
					 (unsigned long long)r->rax, runs);
			r->rax = r->rbx = BIG_RAX;
		}
		if (ret < 0 && err == EINTR) {
			eintr++;
		} else if (ret == 0 &&
			   self->run->exit_reason == LOL_EXIT_KICK) {
			kicks++;
		} else {
			if (!other++ && !first[0])
				snprintf(first, sizeof(first),
					 "LOL_RUN %d (%s), " LOL_EXIT_FMT, ret,
					 ret < 0 ? strerror(err) : "",
					 LOL_EXIT_ARGS(self->run));
			lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
					   STACK_GVA + self->page);
			r->rax = r->rbx = BIG_RAX;
		}
	}
	atomic_store(&k.stop, 1);
	pthread_join(th, NULL);
	timer_delete(timer);
	sigaction(SIGALRM, &old, NULL);

	TH_LOG("%ld runs: %ld kicks (%ld sent), %ld EINTR, %ld signals; bad rax %ld, other %ld%s%s",
	       runs, kicks, k.kicks, eintr, atomic_load(&alarms), bad_rax,
	       other, first[0] ? ": " : "", first);
	EXPECT_EQ(0, bad_rax);
	EXPECT_EQ(0, other);
	EXPECT_LT(0, kicks);
	EXPECT_LT(0, eintr);
}

/*
 * for (;;) { rax = syscall(1000); if (rax == -ENOSYS) ud2; }: the monitor
 * answers 0, a syscall that ran natively (lol did not find the vcpu of
 * the thread in guest mode) answers -ENOSYS and the guest stops on ud2.
 */
LOL_GUEST_ASM(bound_loop,
	"1: mov $1000, %eax\n\t"
	"syscall\n\t"
	"cmp $-38, %rax\n\t"
	"jne 1b\n\t"
	"ud2\n");

/* One reflected exit of @v; 0, an errno, or 1000 + the exit reason. */
static int bound_exit(struct lol_vcpu *v)
{
	lol_ret(v->run) = 0;
	if (lol_run(v->fd) < 0)
		return errno;
	if (v->run->exit_reason != LOL_EXIT_SYSCALL ||
	    v->run->syscall.nr != 1000)
		return 1000 + v->run->exit_reason;
	return 0;
}

struct bound_runner {
	struct lol_vcpu *vcpu;
	atomic_int stop;
	long exits;
	int err;
};

/* Exits of one vcpu until told to stop (or once, with stop already set). */
static void *bound_runs(void *p)
{
	struct bound_runner *r = p;

	do {
		r->err = bound_exit(r->vcpu);
		r->exits++;
	} while (!r->err && !atomic_load(&r->stop));
	return NULL;
}

static int bound_run_on_thread(struct lol_vcpu *v)
{
	struct bound_runner r = { .vcpu = v, .stop = 1 };
	pthread_t t;

	if (pthread_create(&t, NULL, bound_runs, &r))
		return -1;
	pthread_join(t, NULL);
	return r.err;
}

/*
 * The hooks find a thread's vcpu through a binding kept across runs and
 * replaced when a thread runs another vcpu or a vcpu another thread:
 * every guest syscall must still exit, whatever ran what before, with
 * threads gone (their task_struct reused by the next ones), and while
 * other threads replace their bindings in the same table.
 */
TEST_F_TIMEOUT(regress, bindings_follow_threads_and_vcpus, 120)
{
	struct bound_runner spin[2] = { 0 };
	struct lol_vcpu v[4];
	pthread_t t[2];
	int i, n;

	REQUIRE();
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, bound_loop));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, i + 1, &v[i]));
		lol_vcpu_set_entry(&v[i], self->as_id, CODE_GVA, 0);
	}

	/* One thread, vcpus in turn; then the same vcpu again. */
	for (i = 0; i < 12; i++)
		ASSERT_EQ(0, bound_exit(&v[i % 3])) TH_LOG("round %d", i);
	ASSERT_EQ(0, bound_exit(&v[2]));

	/* Short-lived threads and this one take turns on the vcpus. */
	for (i = 0; i < 60; i++) {
		ASSERT_EQ(0, bound_run_on_thread(&v[i % 3])) TH_LOG("thread %d", i);
		ASSERT_EQ(0, bound_exit(&v[(i + 1) % 3])) TH_LOG("main %d", i);
	}

	/*
	 * Two threads run their own vcpus without pause (on other CPUs
	 * when there are) while short-lived threads re-bind the others.
	 */
	for (i = 0; i < 2; i++) {
		spin[i].vcpu = &v[i];
		ASSERT_EQ(0, pthread_create(&t[i], NULL, bound_runs, &spin[i]));
	}
	for (n = 0; n < 200; n++) {
		int err = bound_run_on_thread(&v[2 + n % 2]);

		if (err) {
			TH_LOG("re-binding thread %d: %d", n, err);
			break;
		}
	}
	for (i = 0; i < 2; i++) {
		atomic_store(&spin[i].stop, 1);
		pthread_join(t[i], NULL);
	}
	EXPECT_EQ(200, n);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, spin[i].err) TH_LOG("runner %d", i);
		EXPECT_LT(0, spin[i].exits);
	}

	/* A vcpu freed while bound to a thread that is gone; others go on. */
	lol_vcpu_destroy(&v[3]);
	ASSERT_EQ(0, bound_run_on_thread(&v[0]));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, bound_exit(&v[i]));
		lol_vcpu_destroy(&v[i]);
	}
}

TEST_HARNESS_MAIN
