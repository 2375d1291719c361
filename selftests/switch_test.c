// SPDX-License-Identifier: GPL-2.0
/*
 * switch_test: what other threads and CPUs see of a thread that enters
 * and leaves guest mode, and how a kick reaches it. Each test is the
 * reproducer of a broken promise (Documentation/design.md, "Address
 * spaces" and "The run loop"):
 *
 *  - the switch between the monitor's mm and a guest AS must never show
 *    the task as a kernel thread (PF_KTHREAD in /proc/<tid>/stat): a
 *    softirq that uses the FPU there clobbers the live user FP registers;
 *  - /proc/self/exe and execve("/proc/self/exe") must keep working from a
 *    sibling while the thread-group leader makes guest exits;
 *  - LOL_KICK must get a vcpu out of a guest blocked in a NATIVE syscall,
 *    with the syscall restarted for the guest.
 *
 * Guest layout (phys page: gva, prot):
 *   0: CODE_GVA   r-x  the stub (NATIVE syscalls where a test says so)
 *   1: STACK_GVA  rw-  stack / buffer
 *   2: MARK_GVA   r-x  "syscall; ud2": always reflected
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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

#define PF_KTHREAD_FLAG	0x00200000UL	/* include/linux/sched.h */
#define EXEC_PROBE_ENV	"LOL_SWITCH_TEST_EXEC_PROBE"
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

/* read(rdi, rsp - 64, 1) NATIVE, then syscall 1000(rdi = result). */
LOL_GUEST_ASM(native_read,
	"xor %eax, %eax\n\t"		/* 2 bytes: syscall at +2 */
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $1000, %eax\n\t"
	"movabs $0x500000, %r11\n\t"
	"jmp *%r11\n");
#define NATIVE_READ_SYSCALL	(CODE_GVA + 2)

LOL_GUEST_ASM(mark_stub,
	"syscall\n\t"
	"ud2\n");

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(sw) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
	size_t page;
	bool ready;
};

FIXTURE_SETUP(sw)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);
	long has_ranges = lol_cap(sys, LOL_CAP_SYSCALL_RANGES);
	long has_kick = lol_cap(sys, LOL_CAP_KICK);

	close(sys);
	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	self->page = sysconf(_SC_PAGESIZE);
	if (!has_run || !has_ranges || !has_kick)
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
				     mark_stub));
	self->ready = true;
}

FIXTURE_TEARDOWN(sw)
{
	if (self->vcpu.fd >= 0)
		lol_vcpu_destroy(&self->vcpu);
	if (self->vm.guest >= 0)
		lol_vm_destroy(&self->vm);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN, _SYSCALL_RANGES or _KICK absent"); \
} while (0)

/* Guest syscalls in the code page NATIVE, the rest REFLECT. */
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
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
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
TEST_F(sw, never_seen_as_kernel_thread)
{
	int ncpu = online_cpus(), nspin = ncpu < 2 ? 2 : ncpu;
	struct lol_vm vms[nspin];
	struct lol_vcpu vcpus[nspin];
	struct spinner sp[nspin];
	pthread_t th[nspin];
	long reads = 0, kthread = 0, bad = 0;
	double end;
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

	end = now_s() + 10;
	while (reads < 50000 && now_s() < end) {
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
	end = now_s() + 60;
	for (r->calls = 0; r->calls < 50000 && now_s() < end; r->calls++) {
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

TEST_F(sw, proc_self_exe_from_sibling)
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
	char *argv[] = { "switch_test", NULL };
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

TEST_F(sw, execve_proc_self_exe_from_sibling)
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
	double end = now_s() + secs;

	while (!atomic_load(flag)) {
		if (now_s() > end)
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
TEST_F(sw, kick_ends_blocked_native_syscall)
{
	struct blocked_run b = { .vcpu = &self->vcpu };
	struct lol_regs *r = &self->run->regs;
	unsigned char *buf;
	bool returned;
	int pfd[2];
	double t0;
	pthread_t th;

	REQUIRE();
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
	t0 = now_s();
	ASSERT_EQ(0, lol_kick(self->vcpu.fd));
	returned = wait_returned(&b.returned, 5);
	EXPECT_TRUE(returned) TH_LOG("LOL_RUN still blocked 5 s after LOL_KICK");
	if (!returned) {
		/* Free it so the test can end. */
		ASSERT_EQ(1, write(pfd[1], "y", 1));
		ASSERT_TRUE(wait_returned(&b.returned, 30));
	} else {
		TH_LOG("LOL_RUN returned %.1f ms after LOL_KICK",
		       (now_s() - t0) * 1e3);
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
	"mov $1000, %eax\n\t"
	"movabs $0x500000, %r11\n\t"
	"jmp *%r11\n");

TEST_F(sw, kick_ends_native_nanosleep)
{
	struct blocked_run b = { .vcpu = &self->vcpu };
	struct lol_regs *r = &self->run->regs;
	struct timespec *ts;
	bool returned;
	pthread_t th;

	REQUIRE();
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

TEST_HARNESS_MAIN
