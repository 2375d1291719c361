// SPDX-License-Identifier: GPL-2.0
/*
 * ranges_guest_test: syscall range tables applied to guest syscalls
 * (LOL_RANGES_GUEST) and single-step (LOL_RUN_SINGLESTEP).
 *
 * Guest mode: NATIVE runs the syscall on the host in the guest AS (except
 * clone/fork/vfork/execve/execveat, always reflected), REFLECT and PTRACE
 * exit with LOL_EXIT_SYSCALL, KILL kills the thread with SIGSYS; one-shot
 * ranges use their action once, then the default.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "ranges_common.h"

#define GP1	RT_GVA(gp500, gp500_sc1)
#define GP2	RT_GVA(gp500, gp500_sc2)

/* The syscall the test puts in rax, then syscall(500) with rdi = its result. */
LOL_GUEST_ASM(sys500,
	"sys500_a:\n\t"
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $500, %eax\n"
	"sys500_b:\n\t"
	"syscall\n"
	"sys500_ud:\n\t"
	"ud2\n");
RT_DECL(sys500_a);
RT_DECL(sys500_b);
RT_DECL(sys500_ud);
#define SA	RT_GVA(sys500, sys500_a)
#define SB	RT_GVA(sys500, sys500_b)
#define SUD	RT_GVA(sys500, sys500_ud)

/* syscalls 600, 601, 602, 603 from four addresses, then ud2 */
LOL_GUEST_ASM(four,
	"mov $600, %eax\n"
	"four_0:\n\t"
	"syscall\n\t"
	"mov $601, %eax\n"
	"four_1:\n\t"
	"syscall\n\t"
	"mov $602, %eax\n"
	"four_2:\n\t"
	"syscall\n\t"
	"mov $603, %eax\n"
	"four_3:\n\t"
	"syscall\n\t"
	"ud2\n");
RT_DECL(four_0);
RT_DECL(four_1);
RT_DECL(four_2);
RT_DECL(four_3);
#define F0	RT_GVA(four, four_0)
#define F1	RT_GVA(four, four_1)
#define F2	RT_GVA(four, four_2)
#define F3	RT_GVA(four, four_3)

/* getpid() forever */
LOL_GUEST_ASM(loop,
	"1: mov $39, %eax\n"
	"loop_sc:\n\t"
	"syscall\n\t"
	"jmp 1b\n");
RT_DECL(loop_sc);
#define LOOP_SC	RT_GVA(loop, loop_sc)

/* getpid through int $0x80 (ia32 nr 20) */
LOL_GUEST_ASM(int80,
	"mov $20, %eax\n"
	"int80_sc:\n\t"
	"int $0x80\n\t"
	"ud2\n");
RT_DECL(int80_sc);

/* Five instructions of different lengths, then syscall(500). */
LOL_GUEST_ASM(five,
	"five_i1:\n\t"
	"nop\n"
	"five_i2:\n\t"
	"mov $1, %eax\n"
	"five_i3:\n\t"
	"add %rax, %rbx\n"
	"five_i4:\n\t"
	"lea 8(%rsp), %rcx\n"
	"five_i5:\n\t"
	"xor %edx, %edx\n"
	"five_i6:\n\t"
	"mov $500, %eax\n"
	"five_sc:\n\t"
	"syscall\n"
	"five_ud:\n\t"
	"ud2\n");
RT_DECL(five_i1);
RT_DECL(five_i2);
RT_DECL(five_i3);
RT_DECL(five_i4);
RT_DECL(five_i5);
RT_DECL(five_i6);
RT_DECL(five_sc);
RT_DECL(five_ud);

/* rax = *(rdi); nop; syscall(500) */
LOL_GUEST_ASM(load,
	"load_i1:\n\t"
	"mov (%rdi), %rax\n"
	"load_i2:\n\t"
	"nop\n"
	"load_i3:\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"ud2\n");
RT_DECL(load_i1);
RT_DECL(load_i2);
RT_DECL(load_i3);

/* The guest sets TF itself, then runs nops. */
LOL_GUEST_ASM(settf,
	"pushfq\n\t"
	"orq $0x100, (%rsp)\n\t"
	"popfq\n"
	"settf_n1:\n\t"
	"nop\n"
	"settf_n2:\n\t"
	"nop\n"
	"settf_n3:\n\t"
	"nop\n"
	"settf_n4:\n\t"
	"pushfq\n\t"
	"andq $~0x100, (%rsp)\n\t"
	"popfq\n"
	"settf_n5:\n\t"
	"nop\n\t"
	"mov $500, %eax\n"
	"settf_sc:\n\t"
	"syscall\n\t"
	"ud2\n");
RT_DECL(settf_n1);
RT_DECL(settf_n2);
RT_DECL(settf_n3);
RT_DECL(settf_n4);
RT_DECL(settf_n5);
RT_DECL(settf_sc);

FIXTURE(guest) {
	struct rt_vm g;
	unsigned int caps;
	bool ready;
};

FIXTURE_SETUP(guest)
{
	rt_vm_init(&self->g);
	self->caps = rt_caps();
	if (!(self->caps & RT_CAP_RUN) || !(self->caps & RT_CAP_RANGES))
		return;
	ASSERT_EQ(0, rt_vm_create(&self->g))
		TH_LOG("guest setup: %s", strerror(errno));
	self->ready = true;
}

FIXTURE_TEARDOWN(guest)
{
	rt_vm_destroy(&self->g);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent"); \
} while (0)

#define REQUIRE_STEP() do {						\
	REQUIRE();							\
	if (!(self->caps & RT_CAP_STEP))				\
		SKIP(return, "LOL_CAP_SINGLESTEP absent");		\
} while (0)

#define RUN_ (self->g.run)
#define LOAD(stub)	ASSERT_EQ(0, RT_LOAD(&self->g, stub))

#define EXPECT_EXIT(reason) do {					\
	int __r = lol_run(self->g.vcpu.fd);				\
	int __e = errno;						\
	ASSERT_EQ(0, __r) TH_LOG("LOL_RUN: %s", lol_errno_name(__e));	\
	ASSERT_EQ(reason, RUN_->exit_reason) {				\
		TH_LOG("expected %s, got " LOL_EXIT_FMT,		\
		       lol_exit_name(reason), LOL_EXIT_ARGS(RUN_));	\
	}								\
} while (0)

/* Exit with LOL_EXIT_SYSCALL from the syscall instruction at ip. */
#define EXPECT_SYSCALL_AT(nr_, ip_) do {				\
	EXPECT_EXIT(LOL_EXIT_SYSCALL);					\
	EXPECT_EQ((__u64)(nr_), RUN_->syscall.nr);			\
	EXPECT_EQ((__u64)(ip_), RUN_->syscall.ip);			\
	EXPECT_EQ((__u64)(ip_) + 2, lol_pc(RUN_));			\
	EXPECT_EQ((__u64)(nr_), lol_ret(RUN_));			\
} while (0)

static int set1(int fd, __u32 def, __u64 ip, __u32 action, __u32 rflags)
{
	struct lol_syscall_ranges t;

	rt_table(&t, LOL_RANGES_GUEST, def);
	rt_add1(&t, ip, action, rflags);
	return rt_set(fd, &t);
}

/* ---- actions ------------------------------------------------------------- */

TEST_F(guest, no_table_reflects_everything)
{
	REQUIRE();
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
	/* Skip it with a made-up result: the next one exits too. */
	lol_ret(RUN_) = 1234;
	EXPECT_SYSCALL_AT(500, GP2);
	EXPECT_EQ(1234, RUN_->syscall.args[0]);
}

TEST_F(guest, native_range)
{
	REQUIRE();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, GP1,
			  LOL_RANGE_NATIVE, 0));
	LOAD(gp500);
	/* getpid ran on the host: this process's pid. */
	EXPECT_SYSCALL_AT(500, GP2);
	EXPECT_EQ(getpid(), (pid_t)RUN_->syscall.args[0]);
}

/* All six arguments and the registers of a REFLECTed syscall. */
TEST_F(guest, reflect_range)
{
	__u64 nexits;

	REQUIRE();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_NATIVE, SA,
			  LOL_RANGE_REFLECT, 0));
	LOAD(sys500);
	lol_ret(RUN_) = 1000;
	lol_arg0(RUN_) = 11;
	lol_arg1(RUN_) = 22;
	lol_arg2(RUN_) = 33;
	RUN_->regs.r10 = 44;
	RUN_->regs.r8 = 55;
	RUN_->regs.r9 = 66;
	RUN_->regs.r12 = 0x1212;
	nexits = RUN_->nr_exits;
	EXPECT_SYSCALL_AT(1000, SA);
	EXPECT_EQ(nexits + 1, RUN_->nr_exits);
	EXPECT_EQ(0, RUN_->syscall.flags);
	EXPECT_EQ(11, RUN_->syscall.args[0]);
	EXPECT_EQ(22, RUN_->syscall.args[1]);
	EXPECT_EQ(33, RUN_->syscall.args[2]);
	EXPECT_EQ(44, RUN_->syscall.args[3]);
	EXPECT_EQ(55, RUN_->syscall.args[4]);
	EXPECT_EQ(66, RUN_->syscall.args[5]);
	EXPECT_EQ(0x1212, RUN_->regs.r12);
	/* Emulated result 77; syscall 500 is NATIVE (default): -ENOSYS. */
	lol_ret(RUN_) = 77;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(6, RUN_->trap.vector);
	EXPECT_EQ(SUD, lol_pc(RUN_));
	EXPECT_EQ(77, lol_arg0(RUN_));
	EXPECT_EQ(-ENOSYS, (long)lol_ret(RUN_));
}

/* In guest mode the monitor is the tracer: PTRACE exits like REFLECT. */
TEST_F(guest, ptrace_range)
{
	REQUIRE();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_NATIVE, GP1,
			  LOL_RANGE_PTRACE, 0));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
	lol_ret(RUN_) = 4242;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(4242, lol_arg0(RUN_));
}

/* Runs stub under table t in a child; returns the child's wait status. */
static int run_in_child(struct __test_metadata *_metadata,
			const struct lol_syscall_ranges *t,
			const unsigned char *code, size_t len, __u64 rax,
			__u64 rdi)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct rt_vm g;

		setrlimit(RLIMIT_CORE, &no_core);
		if (rt_vm_create(&g))
			_exit(90);
		if (rt_set(g.vcpu.fd, t))
			_exit(91);
		if (rt_load(&g, code, len))
			_exit(92);
		lol_ret(g.run) = rax;
		lol_arg0(g.run) = rdi;
		lol_run(g.vcpu.fd);
		_exit(93);	/* LOL_RUN returned */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

#define EXPECT_SIGNALED(sig, status) do {				\
	EXPECT_TRUE(WIFSIGNALED(status)) {				\
		TH_LOG("child status %#x (exit %d)", status,		\
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);	\
	}								\
	if (WIFSIGNALED(status))					\
		EXPECT_EQ(sig, WTERMSIG(status));			\
} while (0)

#define EXPECT_EXITED(code, status) do {				\
	EXPECT_TRUE(WIFEXITED(status)) {				\
		TH_LOG("child status %#x (signal %d)", status,		\
		       WIFSIGNALED(status) ? WTERMSIG(status) : -1);	\
	}								\
	if (WIFEXITED(status))						\
		EXPECT_EQ(code, WEXITSTATUS(status));			\
} while (0)

TEST_F(guest, kill_range)
{
	struct lol_syscall_ranges t;
	int status;

	REQUIRE();
	/* getpid NATIVE, 500 KILL. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&t, GP1, LOL_RANGE_NATIVE, 0);
	rt_add1(&t, GP2, LOL_RANGE_KILL, 0);
	status = run_in_child(_metadata, &t, gp500_start,
			      LOL_GUEST_SIZE(gp500), 0, 0);
	EXPECT_SIGNALED(SIGSYS, status);
}

TEST_F(guest, kill_default)
{
	struct lol_syscall_ranges t;
	int status;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_KILL);
	status = run_in_child(_metadata, &t, gp500_start,
			      LOL_GUEST_SIZE(gp500), 0, 0);
	EXPECT_SIGNALED(SIGSYS, status);
	/* Control: the same child with default REFLECT lives on. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	status = run_in_child(_metadata, &t, gp500_start,
			      LOL_GUEST_SIZE(gp500), 0, 0);
	EXPECT_EXITED(93, status);
}

/* Default actions: NATIVE for everything, then REFLECT with a NATIVE hole. */
TEST_F(guest, default_action)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(four);
	/* All four ran on the host (-ENOSYS), then ud2. */
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(6, RUN_->trap.vector);
	EXPECT_EQ(-ENOSYS, (long)lol_ret(RUN_));

	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&t, F1, LOL_RANGE_NATIVE, 0);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(four);
	EXPECT_SYSCALL_AT(600, F0);
	EXPECT_SYSCALL_AT(602, F2);
	EXPECT_SYSCALL_AT(603, F3);
}

/* Several ranges, given unsorted, each with its own action. */
TEST_F(guest, several_ranges)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&t, F3, LOL_RANGE_PTRACE, 0);
	rt_add1(&t, F0, LOL_RANGE_NATIVE, 0);
	rt_add(&t, F1 + 1, F2 + 1, LOL_RANGE_NATIVE, 0);	/* F2 only */
	rt_add(&t, 0x10000, 0x20000, LOL_RANGE_KILL, 0);	/* not hit */
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(four);
	EXPECT_SYSCALL_AT(601, F1);	/* default */
	EXPECT_SYSCALL_AT(603, F3);	/* PTRACE */
}

/* A range matches the syscall instruction's address, not the next rip. */
TEST_F(guest, range_matches_instruction_address)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	/* [GP1 + 1, GP1 + 2) holds no syscall instruction's address. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add(&t, GP1 + 1, GP1 + 3, LOL_RANGE_NATIVE, 0);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
	/* [GP1 - 1, GP1 + 1) does. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add(&t, GP1 - 1, GP1 + 1, LOL_RANGE_NATIVE, 0);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(500, GP2);
}

/* ---- one-shot -------------------------------------------------------------- */

TEST_F(guest, oneshot_native_then_reflect)
{
	REQUIRE();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, GP1,
			  LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(500, GP2);		/* first hit: NATIVE */
	EXPECT_EQ(getpid(), (pid_t)RUN_->syscall.args[0]);
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);		/* then the default */
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);		/* and stays so */
	/* A new table is armed again. */
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, GP1,
			  LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(500, GP2);
}

TEST_F(guest, oneshot_reflect_then_native)
{
	REQUIRE();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_NATIVE, GP1,
			  LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
	/* Re-executing the same instruction: now the default, NATIVE. */
	lol_pc(RUN_) = GP1;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(getpid(), (pid_t)lol_arg0(RUN_));
}

/* A one-shot range is disarmed as a whole by its first hit. */
TEST_F(guest, oneshot_whole_range)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	rt_add(&t, F0, F3, LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT); /* F0-F2 */
	rt_add1(&t, F3, LOL_RANGE_REFLECT, LOL_RANGE_ONESHOT);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(four);
	EXPECT_SYSCALL_AT(600, F0);	/* range 1, first hit */
	/* F1, F2: range 1 disarmed, NATIVE; F3: range 2's first hit */
	EXPECT_SYSCALL_AT(603, F3);
	LOAD(four);
	EXPECT_EXIT(LOL_EXIT_TRAP);	/* everything disarmed */
}

/* Default KILL with a one-shot NATIVE hole: the second hit kills. */
TEST_F(guest, oneshot_then_default_kill)
{
	struct lol_syscall_ranges t;
	int status;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_KILL);
	rt_add1(&t, LOOP_SC, LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT);
	status = run_in_child(_metadata, &t, loop_start, LOL_GUEST_SIZE(loop),
			      0, 0);
	EXPECT_SIGNALED(SIGSYS, status);
}

/* ---- NATIVE syscalls that touch the host ----------------------------------- */

/* write(2) of guest memory to a pipe the monitor reads. */
TEST_F(guest, native_write_to_pipe)
{
	static const char msg[] = "hello from the guest";
	char buf[64] = "";
	int p[2];

	REQUIRE();
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, SA,
			  LOL_RANGE_NATIVE, 0));
	LOAD(sys500);
	memcpy(rt_data(&self->g), msg, sizeof(msg));
	lol_ret(RUN_) = SYS_write;
	lol_arg0(RUN_) = p[1];
	lol_arg1(RUN_) = DATA_GVA;
	lol_arg2(RUN_) = sizeof(msg);
	EXPECT_SYSCALL_AT(500, SB);
	EXPECT_EQ(sizeof(msg), RUN_->syscall.args[0]);
	EXPECT_EQ(sizeof(msg), read(p[0], buf, sizeof(buf)));
	EXPECT_STREQ(msg, buf);

	/* A monitor address is not guest memory: EFAULT, nothing written. */
	LOAD(sys500);
	lol_ret(RUN_) = SYS_write;
	lol_arg0(RUN_) = p[1];
	lol_arg1(RUN_) = (__u64)(uintptr_t)msg;
	lol_arg2(RUN_) = sizeof(msg);
	EXPECT_SYSCALL_AT(500, SB);
	EXPECT_EQ(-EFAULT, (long)RUN_->syscall.args[0]);
	EXPECT_ERRNO(EAGAIN, read(p[0], buf, sizeof(buf)));

	/*
	 * Nor is a guest page lol's table does not map, next to one it
	 * does (in the same page-table chunk): the host's own access gets
	 * EFAULT, not a guest fault exit.
	 */
	LOAD(sys500);
	lol_ret(RUN_) = SYS_write;
	lol_arg0(RUN_) = p[1];
	lol_arg1(RUN_) = DATA_GVA + 16 * self->g.page;
	lol_arg2(RUN_) = sizeof(msg);
	EXPECT_SYSCALL_AT(500, SB);
	EXPECT_EQ(-EFAULT, (long)RUN_->syscall.args[0]);
	EXPECT_ERRNO(EAGAIN, read(p[0], buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
}

/* read(2) from a pipe into guest memory. */
TEST_F(guest, native_read_from_pipe)
{
	static const char msg[] = "hello to the guest";
	int p[2];

	REQUIRE();
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(sizeof(msg), write(p[1], msg, sizeof(msg)));
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, SA,
			  LOL_RANGE_NATIVE, 0));
	LOAD(sys500);
	memset(rt_data(&self->g), 0, 64);
	lol_ret(RUN_) = SYS_read;
	lol_arg0(RUN_) = p[0];
	lol_arg1(RUN_) = DATA_GVA + 8;
	lol_arg2(RUN_) = 64;
	EXPECT_SYSCALL_AT(500, SB);
	EXPECT_EQ(sizeof(msg), RUN_->syscall.args[0]);
	EXPECT_STREQ(msg, (char *)rt_data(&self->g) + 8);
	close(p[0]);
	close(p[1]);
}

static void on_alarm(int sig)
{
}

/*
 * A NATIVE read() blocked in the guest, interrupted by a host signal with
 * a handler: LOL_RUN fails with EINTR, and the guest is left to restart
 * the read when it runs again.
 */
TEST_F(guest, native_blocked_read_restarts)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	int p[2], r;

	REQUIRE();
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, SA,
			  LOL_RANGE_NATIVE, 0));
	LOAD(sys500);
	lol_ret(RUN_) = SYS_read;
	lol_arg0(RUN_) = p[0];
	lol_arg1(RUN_) = DATA_GVA;
	lol_arg2(RUN_) = 16;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	r = lol_run(self->g.vcpu.fd);
	EXPECT_EQ(-1, r);
	EXPECT_STREQ("EINTR", lol_errno_name(errno));
	EXPECT_EQ(LOL_EXIT_INTR, RUN_->exit_reason);
	/* Back at the syscall instruction, with the number in rax. */
	EXPECT_EQ(SA, lol_pc(RUN_));
	EXPECT_EQ(SYS_read, lol_ret(RUN_));
	ASSERT_EQ(3, write(p[1], "abc", 3));
	EXPECT_SYSCALL_AT(500, SB);
	EXPECT_EQ(3, RUN_->syscall.args[0]);
	EXPECT_EQ(0, memcmp(rt_data(&self->g), "abc", 3));
	close(p[0]);
	close(p[1]);
}

TEST_F(guest, native_exit_group)
{
	struct lol_syscall_ranges t;
	int status;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&t, SA, LOL_RANGE_NATIVE, 0);
	status = run_in_child(_metadata, &t, sys500_start,
			      LOL_GUEST_SIZE(sys500), SYS_exit_group, 42);
	EXPECT_EXITED(42, status);
	/* exit(2) of the only thread ends the process as well. */
	status = run_in_child(_metadata, &t, sys500_start,
			      LOL_GUEST_SIZE(sys500), SYS_exit, 43);
	EXPECT_EXITED(43, status);
}

/* exit_group from the guest of one thread ends the whole monitor. */
static void *spin_thread(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

TEST_F(guest, native_exit_group_multithreaded)
{
	int status;
	pid_t pid;

	REQUIRE();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct lol_syscall_ranges t;
		struct rt_vm g;
		pthread_t th;

		if (pthread_create(&th, NULL, spin_thread, NULL))
			_exit(90);
		if (rt_vm_create(&g))
			_exit(91);
		rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
		rt_add1(&t, SA, LOL_RANGE_NATIVE, 0);
		if (rt_set(g.vcpu.fd, &t) ||
		    RT_LOAD(&g, sys500))
			_exit(92);
		lol_ret(g.run) = SYS_exit_group;
		lol_arg0(g.run) = 44;
		lol_run(g.vcpu.fd);
		_exit(93);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EXITED(44, status);
}

/* Syscalls that would copy or replace the borrowed mm: always reflected. */
TEST_F(guest, native_forbidden_are_reflected)
{
	static const struct {
		long nr;
		const char *name;
	} forbidden[] = {
		{ SYS_clone, "clone" },
		{ SYS_clone3, "clone3" },
		{ SYS_fork, "fork" },
		{ SYS_vfork, "vfork" },
		{ SYS_execve, "execve" },
		{ SYS_execveat, "execveat" },
	};
	struct lol_syscall_ranges t;
	int i;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	for (i = 0; i < 6; i++) {
		LOAD(sys500);
		lol_ret(RUN_) = forbidden[i].nr;
		lol_arg0(RUN_) = SIGCHLD;	/* clone flags */
		ASSERT_EQ(0, lol_run(self->g.vcpu.fd));
		EXPECT_EQ(LOL_EXIT_SYSCALL, RUN_->exit_reason) {
			TH_LOG("NATIVE %s: " LOL_EXIT_FMT, forbidden[i].name,
			       LOL_EXIT_ARGS(RUN_));
		}
		EXPECT_EQ(forbidden[i].nr, RUN_->syscall.nr)
			TH_LOG("NATIVE %s", forbidden[i].name);
		EXPECT_EQ(SA, RUN_->syscall.ip)
			TH_LOG("NATIVE %s", forbidden[i].name);
		/* No child appeared. */
		EXPECT_ERRNO(ECHILD, waitpid(-1, NULL, WNOHANG));
	}
	/* Control: getpid at the same address runs natively. */
	LOAD(sys500);
	lol_ret(RUN_) = SYS_getpid;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(getpid(), (pid_t)lol_arg0(RUN_));
}

/* int $0x80 is never run natively (compat ABI): reflected, COMPAT flag. */
TEST_F(guest, native_int80_is_reflected)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(int80);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(20, RUN_->syscall.nr);
	EXPECT_EQ(RT_GVA(int80, int80_sc), RUN_->syscall.ip);
	EXPECT_EQ(LOL_SYSCALL_COMPAT, RUN_->syscall.flags);
}

/* ---- tables that are not for the guest ---------------------------------- */

TEST_F(guest, removed_table_reflects)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
}

TEST_F(guest, monitor_table_not_for_guest)
{
	struct lol_syscall_ranges t;

	REQUIRE();
	if (!(self->caps & RT_CAP_REFLECT))
		SKIP(return, "LOL_CAP_REFLECT absent");
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(gp500);
	EXPECT_SYSCALL_AT(39, GP1);
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
}

struct swapper {
	int fd;
	int ret;
};

static void *swap_table(void *arg)
{
	struct swapper *s = arg;
	struct lol_syscall_ranges t;

	usleep(200 * 1000);
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	rt_add1(&t, LOOP_SC, LOL_RANGE_REFLECT, 0);
	s->ret = rt_set(s->fd, &t);
	/* Unstick the guest if the new table is never seen. */
	sleep(5);
	lol_kick(s->fd);
	return NULL;
}

/* A new table applies to a thread already running in the guest. */
TEST_F(guest, replaced_while_running)
{
	struct swapper s = { .fd = self->g.vcpu.fd, .ret = -1 };
	struct lol_syscall_ranges t;
	pthread_t th;

	REQUIRE();
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &t));
	LOAD(loop);
	ASSERT_EQ(0, pthread_create(&th, NULL, swap_table, &s));
	EXPECT_SYSCALL_AT(39, LOOP_SC);
	pthread_cancel(th);
	pthread_join(th, NULL);
	EXPECT_EQ(0, s.ret);
}

/* ---- single-step ----------------------------------------------------------- */

#define EXPECT_STEP_TO(ip_) do {					\
	EXPECT_EXIT(LOL_EXIT_TRAP);					\
	EXPECT_EQ(1, RUN_->trap.vector);				\
	EXPECT_EQ((__u64)(ip_), lol_pc(RUN_));			\
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);			\
} while (0)

TEST_F(guest, singlestep_five_instructions)
{
	__u64 rsp, nexits;

	REQUIRE_STEP();
	LOAD(five);
	rsp = lol_sp(RUN_);
	lol_arg2(RUN_) = 0x55;
	RUN_->flags = LOL_RUN_SINGLESTEP;
	nexits = RUN_->nr_exits;

	EXPECT_STEP_TO(RT_GVA(five, five_i2));		/* nop */
	EXPECT_STEP_TO(RT_GVA(five, five_i3));		/* mov $1, %eax */
	EXPECT_EQ(1, lol_ret(RUN_));
	EXPECT_STEP_TO(RT_GVA(five, five_i4));		/* add %rax, %rbx */
	EXPECT_EQ(1, RUN_->regs.rbx);
	EXPECT_STEP_TO(RT_GVA(five, five_i5));		/* lea 8(%rsp), %rcx */
	EXPECT_EQ(rsp + 8, RUN_->regs.rcx);
	EXPECT_STEP_TO(RT_GVA(five, five_i6));		/* xor %edx, %edx */
	EXPECT_EQ(0, lol_arg2(RUN_));
	EXPECT_EQ(nexits + 5, RUN_->nr_exits);
	EXPECT_EQ(rsp, lol_sp(RUN_));

	/* Without the flag it runs on to the syscall. */
	RUN_->flags = 0;
	EXPECT_SYSCALL_AT(500, RT_GVA(five, five_sc));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
}

/* Stepping a syscall instruction: LOL_EXIT_SYSCALL, not #DB. */
TEST_F(guest, singlestep_syscall)
{
	REQUIRE_STEP();
	LOAD(five);
	lol_pc(RUN_) = RT_GVA(five, five_i6);
	RUN_->flags = LOL_RUN_SINGLESTEP;
	EXPECT_STEP_TO(RT_GVA(five, five_sc));		/* mov $500, %eax */
	EXPECT_SYSCALL_AT(500, RT_GVA(five, five_sc));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
	/* The next step faults (#UD), which is what it reports. */
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(6, RUN_->trap.vector);
	EXPECT_EQ(RT_GVA(five, five_ud), lol_pc(RUN_));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
}

/*
 * Stepping a syscall that a NATIVE range runs on the host: one
 * instruction, so a #DB right after the syscall, with its result.
 */
TEST_F(guest, singlestep_native_syscall)
{
	REQUIRE_STEP();
	ASSERT_EQ(0, set1(self->g.vcpu.fd, LOL_RANGE_REFLECT, GP1,
			  LOL_RANGE_NATIVE, 0));
	LOAD(gp500);
	lol_pc(RUN_) = GP1;
	lol_ret(RUN_) = SYS_getpid;
	RUN_->flags = LOL_RUN_SINGLESTEP;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(1, RUN_->trap.vector);
	EXPECT_EQ(GP1 + 2, lol_pc(RUN_)) {
		TH_LOG("one step ran two instructions: the syscall at %#llx "
		       "and the `mov %%rax, %%rdi` after it (rdi = %llu)",
		       (unsigned long long)GP1,
		       (unsigned long long)lol_arg0(RUN_));
	}
	EXPECT_EQ(getpid(), (pid_t)lol_ret(RUN_));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
}

/* Stepping a faulting load: LOL_EXIT_FAULT, rip not advanced. */
TEST_F(guest, singlestep_fault)
{
	REQUIRE_STEP();
	LOAD(load);
	lol_arg0(RUN_) = UNMAPPED_GVA;
	RUN_->flags = LOL_RUN_SINGLESTEP;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(UNMAPPED_GVA, RUN_->fault.addr);
	EXPECT_EQ(LOL_FAULT_READ, RUN_->fault.access);
	EXPECT_EQ(RT_GVA(load, load_i1), lol_pc(RUN_));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
	/* Map it: the same step now completes. */
	*(__u64 *)((char *)self->g.vm.phys + PHYS_SPARE * self->g.page) =
		0xfeedULL;
	ASSERT_EQ(0, lol_vm_map(&self->g.vm, self->g.as, UNMAPPED_GVA,
				PHYS_SPARE * self->g.page, self->g.page,
				LOL_PROT_READ));
	EXPECT_STEP_TO(RT_GVA(load, load_i2));
	EXPECT_EQ(0xfeed, lol_ret(RUN_));
	EXPECT_STEP_TO(RT_GVA(load, load_i3));
}

/* A guest that sets TF itself gets its own #DB traps, TF visible. */
TEST_F(guest, guest_sets_tf)
{
	REQUIRE_STEP();
	LOAD(settf);
	/* The trap comes after the first instruction run with TF set. */
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(1, RUN_->trap.vector);
	EXPECT_EQ(RT_GVA(settf, settf_n2), lol_pc(RUN_));
	EXPECT_EQ(RFLAGS_TF, lol_flags(RUN_) & RFLAGS_TF);
	/* TF is the guest's: it stays, each run traps again. */
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(RT_GVA(settf, settf_n3), lol_pc(RUN_));
	EXPECT_EQ(RFLAGS_TF, lol_flags(RUN_) & RFLAGS_TF);
	/* LOL_RUN_SINGLESTEP on top changes nothing; TF stays visible. */
	RUN_->flags = LOL_RUN_SINGLESTEP;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(1, RUN_->trap.vector);
	EXPECT_EQ(RT_GVA(settf, settf_n4), lol_pc(RUN_));
	EXPECT_EQ(RFLAGS_TF, lol_flags(RUN_) & RFLAGS_TF);
	RUN_->flags = 0;
	/* The guest clears TF (pushf; and; popf traps once more, after popf). */
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(1, RUN_->trap.vector);
	EXPECT_EQ(RT_GVA(settf, settf_n4) + 1, lol_pc(RUN_));	/* pushfq */
	EXPECT_EXIT(LOL_EXIT_TRAP);	/* andq */
	EXPECT_EXIT(LOL_EXIT_TRAP);	/* popfq: TF was set when it began */
	EXPECT_EQ(RT_GVA(settf, settf_n5), lol_pc(RUN_));
	EXPECT_EQ(0, lol_flags(RUN_) & RFLAGS_TF);
	EXPECT_SYSCALL_AT(500, RT_GVA(settf, settf_sc));
}

/* TF set by the monitor in regs.rflags: the guest's, not the module's. */
TEST_F(guest, monitor_sets_guest_tf)
{
	REQUIRE_STEP();
	LOAD(five);
	lol_flags(RUN_) |= RFLAGS_TF;
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(1, RUN_->trap.vector);
	EXPECT_EQ(RT_GVA(five, five_i2), lol_pc(RUN_));
	EXPECT_EQ(RFLAGS_TF, lol_flags(RUN_) & RFLAGS_TF);
}

TEST_F(guest, singlestep_bad_flags)
{
	REQUIRE_STEP();
	LOAD(five);
	RUN_->flags = LOL_RUN_SINGLESTEP << 1;
	EXPECT_ERRNO(EINVAL, lol_run(self->g.vcpu.fd));
	RUN_->flags = LOL_RUN_SINGLESTEP;
	EXPECT_STEP_TO(RT_GVA(five, five_i2));
}

TEST_HARNESS_MAIN
