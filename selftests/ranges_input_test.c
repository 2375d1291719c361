// SPDX-License-Identifier: GPL-2.0
/*
 * ranges_input_test: what LOL_SET_SYSCALL_RANGES and LOL_RESUME refuse
 * (EINVAL, EBUSY, EFAULT, EIO), that the boundary values next to each
 * refusal are accepted, and that a refused table leaves the previous one
 * in force -- for guest syscalls, for monitor-mode reflection, and for the
 * disarmed state of one-shot ranges.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "ranges_common.h"

#define SC1	RT_GVA(gp500, gp500_sc1)
#define SC2	RT_GVA(gp500, gp500_sc2)

RT_SYSCALL_FN(r_sys);

FIXTURE(tbl) {
	struct rt_vm g;
	struct lol_vcpu vcpu1;
	unsigned int caps;
	bool ready;
};

FIXTURE_SETUP(tbl)
{
	rt_vm_init(&self->g);
	self->vcpu1.fd = -1;
	self->caps = rt_caps();
	if (!(self->caps & RT_CAP_RUN) || !(self->caps & RT_CAP_RANGES))
		return;
	ASSERT_EQ(0, rt_vm_create(&self->g))
		TH_LOG("guest setup: %s", strerror(errno));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->g.vm, 1, &self->vcpu1))
		TH_LOG("vcpu 1: %s", strerror(errno));
	self->ready = true;
}

FIXTURE_TEARDOWN(tbl)
{
	if (self->vcpu1.fd >= 0)
		lol_vcpu_destroy(&self->vcpu1);
	rt_vm_destroy(&self->g);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent"); \
} while (0)

#define REQUIRE_REFLECT() do {						\
	REQUIRE();							\
	if (!(self->caps & RT_CAP_REFLECT))				\
		SKIP(return, "LOL_CAP_REFLECT absent");			\
} while (0)

/* The ioctl must fail with err; a wrongly accepted table is removed. */
#define EXPECT_REJECT(fd, arg, err, what) ({				\
	long __r = ioctl(fd, LOL_SET_SYSCALL_RANGES, arg);		\
	int __e = errno;						\
	EXPECT_STREQ(lol_errno_name(err),				\
		     __r == -1 ? lol_errno_name(__e) : "success") {	\
		TH_LOG("case: %s", what);				\
	}								\
	if (__r == 0)							\
		rt_clear(fd);						\
	__r == -1 && __e == (err);					\
})

#define EXPECT_ACCEPT(fd, t, what) do {					\
	long __r = rt_set(fd, t);					\
	int __e = errno;						\
	EXPECT_EQ(0, __r) {						\
		TH_LOG("case: %s: %s", what, lol_errno_name(__e));	\
	}								\
} while (0)

/*
 * Invalid table number i (from a valid GUEST table with two ranges and
 * default NATIVE); false past the last one.
 */
static bool bad_case(int i, struct lol_syscall_ranges *t, const char **what)
{
	rt_table(t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	rt_add(t, 0x1000, 0x1010, LOL_RANGE_NATIVE, 0);
	rt_add(t, 0x2000, 0x2010, LOL_RANGE_REFLECT, 0);

#define CASE(n, desc, stmt) case n: *what = desc; stmt; return true
	switch (i) {
	CASE(0, "unknown flag 1<<2", t->flags |= 1U << 2);
	CASE(1, "unknown flag 1<<31", t->flags |= 1U << 31);
	CASE(2, "pad != 0", t->pad = 1);
	CASE(3, "reserved[0] != 0", t->reserved[0] = 1);
	CASE(4, "reserved[1] != 0", t->reserved[1] = 1ULL << 63);
	CASE(5, "reserved[2] != 0", t->reserved[2] = 1);
	CASE(6, "reserved[3] != 0", t->reserved[3] = 1);
	CASE(7, "nr_ranges 17", t->nr_ranges = 17);
	CASE(8, "nr_ranges 0xffffffff", t->nr_ranges = 0xffffffff);
	CASE(9, "unused ranges[2].start", t->ranges[2].start = 0x3000);
	CASE(10, "unused ranges[15].end", t->ranges[15].end = 1);
	CASE(11, "unused ranges[5].action", t->ranges[5].action = 1);
	CASE(12, "unused ranges[2].flags",
	     t->ranges[2].flags = LOL_RANGE_ONESHOT);
	CASE(13, "unused ranges[3].reserved", t->ranges[3].reserved = 1);
	CASE(14, "range action 0", t->ranges[0].action = 0);
	CASE(15, "range action 5", t->ranges[0].action = 5);
	CASE(16, "range action 0xffffffff", t->ranges[1].action = ~0U);
	CASE(17, "default action 0", t->default_action = 0);
	CASE(18, "default action 5", t->default_action = 5);
	CASE(19, "range flag 1<<1", t->ranges[0].flags = 1U << 1);
	CASE(20, "range flag 1<<31", t->ranges[1].flags = 1U << 31);
	CASE(21, "range reserved", t->ranges[0].reserved = 1);
	CASE(22, "start == end", t->ranges[0].end = t->ranges[0].start);
	CASE(23, "start > end", t->ranges[1].end = t->ranges[1].start - 1);
	CASE(24, "end = limit + 1", t->ranges[1].end = RT_LIMIT + 1);
	CASE(25, "range beyond limit",
	     (t->ranges[1].start = RT_LIMIT, t->ranges[1].end = RT_LIMIT + 2));
	CASE(26, "end = ~0", t->ranges[1].end = ~0ULL);
	CASE(27, "overlap", t->ranges[1].start = 0x100f);
	CASE(28, "duplicate range", t->ranges[1] = t->ranges[0]);
	CASE(29, "contained range",
	     (t->ranges[1].start = 0x1004, t->ranges[1].end = 0x1008));
	CASE(30, "overlap, given in reverse order",
	     (t->ranges[0].start = 0x2008, t->ranges[0].end = 0x3000));
	CASE(31, "guest table with entry", t->entry = 0x401000);
	CASE(32, "guest table with stack", t->stack = RT_UPCALL_STACK_TOP);
	CASE(33, "guest table with entry and stack",
	     (t->entry = 0x401000, t->stack = RT_UPCALL_STACK_TOP));
	CASE(34, "monitor REFLECT range without entry/stack",
	     t->flags = LOL_RANGES_MONITOR);
	CASE(35, "monitor REFLECT, entry only",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = 0x401000));
	CASE(36, "monitor REFLECT, stack only",
	     (t->flags = LOL_RANGES_MONITOR,
	      t->stack = RT_UPCALL_STACK_TOP));
	CASE(37, "monitor REFLECT, entry = limit",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = RT_LIMIT,
	      t->stack = RT_UPCALL_STACK_TOP));
	CASE(38, "monitor REFLECT, entry = ~0",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = ~0ULL,
	      t->stack = RT_UPCALL_STACK_TOP));
	CASE(39, "monitor REFLECT, stack = limit + 16",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = 0x401000,
	      t->stack = RT_LIMIT + 16));
	CASE(40, "monitor REFLECT, stack 8-aligned",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = 0x401000,
	      t->stack = RT_UPCALL_STACK_TOP - 8));
	CASE(41, "monitor REFLECT, stack odd",
	     (t->flags = LOL_RANGES_MONITOR, t->entry = 0x401000,
	      t->stack = RT_UPCALL_STACK_TOP - 1));
	CASE(42, "monitor default REFLECT without entry/stack",
	     (t->flags = LOL_RANGES_MONITOR,
	      t->ranges[1].action = LOL_RANGE_NATIVE,
	      t->default_action = LOL_RANGE_REFLECT));
	CASE(43, "monitor without REFLECT, entry and stack given",
	     (t->flags = LOL_RANGES_MONITOR,
	      t->ranges[1].action = LOL_RANGE_PTRACE, t->entry = 0x401000,
	      t->stack = RT_UPCALL_STACK_TOP));
	CASE(44, "guest|monitor REFLECT without entry/stack",
	     t->flags = LOL_RANGES_GUEST | LOL_RANGES_MONITOR);
	CASE(45, "removal with nr_ranges 1",
	     (t->flags = 0, t->default_action = 0, t->nr_ranges = 1,
	      memset(&t->ranges[1], 0, sizeof(t->ranges[1]))));
	CASE(46, "removal with a default action",
	     (memset(t, 0, sizeof(*t)), t->default_action = 1));
	CASE(47, "removal with entry",
	     (memset(t, 0, sizeof(*t)), t->entry = 0x401000));
	CASE(48, "removal with stack",
	     (memset(t, 0, sizeof(*t)), t->stack = RT_UPCALL_STACK_TOP));
	CASE(49, "removal with pad", (memset(t, 0, sizeof(*t)), t->pad = 1));
	CASE(50, "removal with reserved[3]",
	     (memset(t, 0, sizeof(*t)), t->reserved[3] = 1));
	default:
		return false;
	}
#undef CASE
}

TEST_F(tbl, cap_value)
{
	REQUIRE();
	EXPECT_EQ(LOL_MAX_SYSCALL_RANGES,
		  lol_check_extension(self->g.vm.sys, LOL_CAP_SYSCALL_RANGES));
}

/* Every bad table is refused with EINVAL (on vcpu 1, no table before). */
TEST_F(tbl, einval)
{
	struct lol_syscall_ranges t;
	const char *what;
	int i;

	REQUIRE();
	for (i = 0; bad_case(i, &t, &what); i++)
		EXPECT_REJECT(self->vcpu1.fd, &t, EINVAL, what);
	EXPECT_EQ(51, i);
}

/* The values next to each refusal are fine (so the refusals mean something). */
TEST_F(tbl, boundaries_accepted)
{
	struct lol_syscall_ranges t, *ro;
	int fd = self->vcpu1.fd, i;
	const char *what;
	__u32 a;

	REQUIRE();
	bad_case(999, &t, &what);
	EXPECT_ACCEPT(fd, &t, "the base table");

	for (a = LOL_RANGE_NATIVE; a <= LOL_RANGE_KILL; a++) {
		rt_table(&t, LOL_RANGES_GUEST, a);
		rt_add(&t, 0x1000, 0x1002, a, LOL_RANGE_ONESHOT);
		EXPECT_ACCEPT(fd, &t, lol_range_action_name(a));
	}

	/* 16 ranges, adjacent, unsorted, from 0 to the limit. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	for (i = 15; i >= 0; i--)
		rt_add(&t, i * 0x1000ULL, (i + 1) * 0x1000ULL,
		       1 + i % 4, i % 2 ? LOL_RANGE_ONESHOT : 0);
	t.ranges[0].end = RT_LIMIT;	/* ranges[0] is [0xf000, limit) */
	EXPECT_ACCEPT(fd, &t, "16 adjacent ranges up to the limit");
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add(&t, RT_LIMIT - 2, RT_LIMIT, LOL_RANGE_NATIVE, 0);
	rt_add(&t, 0, 2, LOL_RANGE_NATIVE, 0);
	EXPECT_ACCEPT(fd, &t, "a range ending at the limit, one at 0");

	/* An empty table: every syscall gets the default. */
	rt_table(&t, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	EXPECT_ACCEPT(fd, &t, "no ranges");

	/* Removal, also twice in a row. */
	EXPECT_EQ(0, rt_clear(fd));
	EXPECT_EQ(0, rt_clear(fd));

	/* A table in read-only memory (the ioctl only reads it). */
	ro = mmap(NULL, sizeof(*ro), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	rt_table(ro, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	ASSERT_EQ(0, mprotect(ro, sizeof(*ro), PROT_READ));
	EXPECT_ACCEPT(fd, ro, "read-only table");
	munmap(ro, sizeof(*ro));
	EXPECT_EQ(0, rt_clear(fd));
}

/* Monitor boundary values: entry just below the limit, stack at it. */
TEST_F(tbl, monitor_boundaries_accepted)
{
	struct lol_syscall_ranges t;
	int fd = self->vcpu1.fd;

	REQUIRE_REFLECT();
	/* REFLECT only where this thread never makes a syscall. */
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add(&t, 0x1000, 0x1002, LOL_RANGE_REFLECT, 0);
	t.entry = RT_LIMIT - 1;
	t.stack = RT_LIMIT;
	EXPECT_ACCEPT(fd, &t, "entry = limit - 1, stack = limit");
	t.entry = 1;
	t.stack = 16;
	EXPECT_ACCEPT(fd, &t, "entry = 1, stack = 16");
	/* PTRACE and KILL need no entry. */
	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	rt_add(&t, 0x1000, 0x1002, LOL_RANGE_PTRACE, 0);
	rt_add(&t, 0x2000, 0x2002, LOL_RANGE_KILL, 0);
	EXPECT_ACCEPT(fd, &t, "monitor PTRACE/KILL without entry");
	/* Both flags: one table for guest and monitor. */
	rt_table(&t, LOL_RANGES_GUEST | LOL_RANGES_MONITOR, LOL_RANGE_NATIVE);
	rt_add(&t, 0x1000, 0x1002, LOL_RANGE_REFLECT, 0);
	rt_set_upcall(&t);
	EXPECT_ACCEPT(fd, &t, "guest|monitor with entry");
	EXPECT_EQ(0, rt_clear(fd));
}

TEST_F(tbl, efault)
{
	struct lol_syscall_ranges *t;
	long page = sysconf(_SC_PAGESIZE);
	char *p;

	REQUIRE();
	EXPECT_REJECT(self->vcpu1.fd, NULL, EFAULT, "NULL");
	EXPECT_REJECT(self->vcpu1.fd, (void *)1, EFAULT, "address 1");
	EXPECT_REJECT(self->vcpu1.fd, (void *)0xffffffff81000000ULL, EFAULT,
		      "kernel address");
	/* The last bytes of the struct on a PROT_NONE page. */
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	t = (void *)(p + page - sizeof(*t) + 8);
	memset(t, 0, sizeof(*t) - 8);
	ASSERT_EQ(0, mprotect(p + page, page, PROT_NONE));
	EXPECT_REJECT(self->vcpu1.fd, t, EFAULT, "straddles PROT_NONE");
	munmap(p, 2 * page);
}

/* Runs gp500 on vcpu 0: the exit's syscall ip, or 0 with a bad exit. */
static __u64 run_gp500(struct rt_vm *g)
{
	if (RT_LOAD(g, gp500) || lol_run(g->vcpu.fd))
		return 0;
	if (g->run->exit_reason != LOL_EXIT_SYSCALL)
		return 0;
	/* A NATIVE getpid() leaves the real pid as syscall 500's arg 0. */
	if (g->run->syscall.ip == SC2 &&
	    g->run->syscall.args[0] != (__u64)getpid())
		return 1;
	return g->run->syscall.ip;
}

/*
 * Table A: getpid NATIVE, the rest REFLECTed. Every refused table leaves
 * it in force.
 */
TEST_F(tbl, refused_keeps_guest_table)
{
	struct lol_syscall_ranges a, t;
	const char *what;
	int i;

	REQUIRE();
	rt_table(&a, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&a, SC1, LOL_RANGE_NATIVE, 0);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
	ASSERT_EQ(SC2, run_gp500(&self->g));

	for (i = 0; bad_case(i, &t, &what); i++) {
		if (!EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL, what)) {
			ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
			continue;
		}
		EXPECT_EQ(SC2, run_gp500(&self->g)) TH_LOG("after: %s", what);
	}
	EXPECT_REJECT(self->g.vcpu.fd, NULL, EFAULT, "NULL");
	EXPECT_EQ(SC2, run_gp500(&self->g)) TH_LOG("after EFAULT");

	/* Control: removal does change it. */
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(SC1, run_gp500(&self->g));
}

/*
 * A removal (flags 0) must have everything else zero, ranges[] included:
 * all 16 entries are unused then, and unused entries must be zero. The
 * refused removal leaves the table in force.
 */
TEST_F(tbl, removal_with_junk_ranges)
{
	struct lol_syscall_ranges a, t;

	REQUIRE();
	rt_table(&a, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&a, SC1, LOL_RANGE_NATIVE, 0);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));

	memset(&t, 0, sizeof(t));
	t.ranges[0].start = 0x1000;
	t.ranges[0].end = 0x1002;
	t.ranges[0].action = LOL_RANGE_NATIVE;
	EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL,
		      "removal with unused ranges[0] set");
	EXPECT_EQ(SC2, run_gp500(&self->g)) TH_LOG("table A was removed");

	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
	memset(&t, 0, sizeof(t));
	t.ranges[15].reserved = 1;
	EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL,
		      "removal with unused ranges[15].reserved");
	EXPECT_EQ(SC2, run_gp500(&self->g)) TH_LOG("table A was removed");
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
}

/* A refused table neither re-arms nor disarms one-shot ranges. */
TEST_F(tbl, refused_keeps_oneshot_state)
{
	struct lol_syscall_ranges a, t;
	const char *what;

	REQUIRE();
	rt_table(&a, LOL_RANGES_GUEST, LOL_RANGE_REFLECT);
	rt_add1(&a, SC1, LOL_RANGE_NATIVE, LOL_RANGE_ONESHOT);
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
	EXPECT_EQ(SC2, run_gp500(&self->g));	/* first hit: NATIVE */
	EXPECT_EQ(SC1, run_gp500(&self->g));	/* disarmed: REFLECT */
	bad_case(27, &t, &what);
	EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL, what);
	EXPECT_EQ(SC1, run_gp500(&self->g)) TH_LOG("re-armed by a refusal");
	/* Control: the same table again is a new table, armed. */
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
	EXPECT_EQ(SC2, run_gp500(&self->g));

	/* Not yet hit: a refusal does not disarm it either. */
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &a));
	EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL, what);
	EXPECT_EQ(SC2, run_gp500(&self->g)) TH_LOG("disarmed by a refusal");
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
}

static long emulate_plus(struct lol_run *run)
{
	return run->syscall.nr * 1000 + run->syscall.args[0];
}

#define R(nr, a0)	r_sys(nr, a0, 0, 0, 0, 0, 0)

/* Binds this thread with monitor table m: r_sys REFLECTed to emulate_plus. */
static int bind_plus(struct rt_vm *g, struct lol_syscall_ranges *m)
{
	rt_upcall_init(g, emulate_plus);
	rt_monitor_table(m, LOL_RANGE_NATIVE);
	rt_add1(m, RT_INSN(r_sys), LOL_RANGE_REFLECT, 0);
	rt_set_upcall(m);
	return rt_set(g->vcpu.fd, m);
}

/* Monitor table M: r_sys REFLECTed. Refused tables leave it in force. */
TEST_F(tbl, refused_keeps_monitor_table)
{
	struct lol_syscall_ranges m, t;
	const char *what;
	long n = 0;
	int i;

	REQUIRE_REFLECT();
	ASSERT_EQ(0, bind_plus(&self->g, &m));
	ASSERT_EQ(1000007, R(1000, 7));
	ASSERT_EQ(++n, up.count);

	for (i = 0; bad_case(i, &t, &what); i++) {
		if (!EXPECT_REJECT(self->g.vcpu.fd, &t, EINVAL, what)) {
			ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &m));
			continue;
		}
		EXPECT_EQ(1000000 + i, R(1000, i)) TH_LOG("after: %s", what);
		EXPECT_EQ(++n, up.count);
	}
	EXPECT_REJECT(self->g.vcpu.fd, NULL, EFAULT, "NULL");
	EXPECT_EQ(1000001, R(1000, 1));
	/* Control: removed, the syscall runs natively. */
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(-ENOSYS, R(1000, 1));
	EXPECT_EQ(n + 1, up.count);
}

static int set_monitor_native(int fd)
{
	struct lol_syscall_ranges t;

	rt_monitor_table(&t, LOL_RANGE_NATIVE);
	return rt_set(fd, &t);
}

/* One vcpu per thread: a bound thread cannot bind another vcpu. */
TEST_F(tbl, ebusy_thread_already_bound)
{
	struct lol_syscall_ranges m, gt;

	REQUIRE_REFLECT();
	ASSERT_EQ(0, bind_plus(&self->g, &m));
	/* Binding the same vcpu again is a replacement. */
	ASSERT_EQ(0, rt_set(self->g.vcpu.fd, &m));

	EXPECT_REJECT(self->vcpu1.fd, &m, EBUSY, "monitor on vcpu 1");
	EXPECT_ERRNO(EBUSY, set_monitor_native(self->vcpu1.fd));
	/* The previous table and binding are intact. */
	EXPECT_EQ(1000003, R(1000, 3));
	EXPECT_EQ(1, up.count);
	/* A guest-only table binds nothing: fine on vcpu 1. */
	rt_table(&gt, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	EXPECT_EQ(0, rt_set(self->vcpu1.fd, &gt));
	EXPECT_EQ(1000004, R(1000, 4));

	/* Unbound (table removed), vcpu 1 may have the thread. */
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(0, set_monitor_native(self->vcpu1.fd));
	EXPECT_ERRNO(EBUSY, set_monitor_native(self->g.vcpu.fd));
	/* A guest-only table on vcpu 1 unbinds it again. */
	EXPECT_EQ(0, rt_set(self->vcpu1.fd, &gt));
	EXPECT_EQ(0, set_monitor_native(self->g.vcpu.fd));
	EXPECT_EQ(0, rt_clear(self->g.vcpu.fd));
	EXPECT_EQ(0, rt_clear(self->vcpu1.fd));
	EXPECT_EQ(-ENOSYS, R(1000, 5));
	EXPECT_EQ(2, up.count);
}

struct other_thread {
	int fd;
	int bind_ret, bind_errno;
	long r;
};

static void *try_bind(void *arg)
{
	struct other_thread *o = arg;

	o->bind_ret = set_monitor_native(o->fd);
	o->bind_errno = errno;
	/* Not bound: its r_sys is native. */
	o->r = R(1000, 0);
	if (o->bind_ret == 0)
		rt_clear(o->fd);
	return NULL;
}

/* One thread per vcpu: another thread cannot bind a bound vcpu. */
TEST_F(tbl, ebusy_vcpu_bound_to_other_thread)
{
	struct lol_syscall_ranges m;
	struct other_thread o = { .fd = self->g.vcpu.fd };
	pthread_t th;

	REQUIRE_REFLECT();
	ASSERT_EQ(0, bind_plus(&self->g, &m));

	ASSERT_EQ(0, pthread_create(&th, NULL, try_bind, &o));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(-1, o.bind_ret);
	EXPECT_STREQ("EBUSY", lol_errno_name(o.bind_errno));
	EXPECT_EQ(-ENOSYS, o.r);
	/* Still this thread's, with its table. */
	EXPECT_EQ(1000009, R(1000, 9));
	EXPECT_EQ(1, up.count);

	/* Unbound: the other thread may bind it. */
	ASSERT_EQ(0, rt_clear(self->g.vcpu.fd));
	ASSERT_EQ(0, pthread_create(&th, NULL, try_bind, &o));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, o.bind_ret) TH_LOG("%s", lol_errno_name(o.bind_errno));
}

static void *bind_and_exit(void *arg)
{
	struct other_thread *o = arg;

	o->bind_ret = set_monitor_native(o->fd);
	o->bind_errno = errno;
	return NULL;	/* exits bound */
}

/* A bound thread that exits releases its vcpu. */
TEST_F(tbl, exited_thread_releases_vcpu)
{
	struct other_thread o = { .fd = self->g.vcpu.fd };
	pthread_t th;

	REQUIRE_REFLECT();
	ASSERT_EQ(0, pthread_create(&th, NULL, bind_and_exit, &o));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, o.bind_ret) TH_LOG("%s", lol_errno_name(o.bind_errno));
	EXPECT_EQ(0, set_monitor_native(self->g.vcpu.fd));
	EXPECT_EQ(0, rt_clear(self->g.vcpu.fd));
}

/* A thread with Syscall User Dispatch of its own cannot be bound. */
TEST_F(tbl, ebusy_sud_thread)
{
	struct lol_syscall_ranges gt;
	static volatile char selector = SYSCALL_DISPATCH_FILTER_ALLOW;

	REQUIRE_REFLECT();
#ifndef __x86_64__
	/* SUD needs the generic entry code: arm64 has none in 6.1. */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0) &&
	    errno == EINVAL)
		SKIP(return, "no Syscall User Dispatch on this arch");
#endif
	ASSERT_EQ(0, prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			   0, 0, &selector))
		TH_LOG("SUD: %s", strerror(errno));
	EXPECT_ERRNO(EBUSY, set_monitor_native(self->g.vcpu.fd));
	/* Guest tables do not bind the thread. */
	rt_table(&gt, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	EXPECT_EQ(0, rt_set(self->g.vcpu.fd, &gt));
	ASSERT_EQ(0, prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF,
			   0, 0, 0));
	/* SUD off: bindable; the guest table was still there, replaced. */
	EXPECT_EQ(0, set_monitor_native(self->g.vcpu.fd));
	EXPECT_EQ(0, rt_clear(self->g.vcpu.fd));
}

TEST_F(tbl, resume_einval)
{
	REQUIRE_REFLECT();
	/* Unbound vcpu. */
	EXPECT_ERRNO(EINVAL, ioctl(self->g.vcpu.fd, LOL_RESUME, 0));
	/* Bound, not in an upcall. */
	ASSERT_EQ(0, set_monitor_native(self->g.vcpu.fd));
	EXPECT_ERRNO(EINVAL, ioctl(self->g.vcpu.fd, LOL_RESUME, 0));
	EXPECT_ERRNO(EINVAL, ioctl(self->g.vcpu.fd, LOL_RESUME, 1));
	EXPECT_ERRNO(EINVAL, ioctl(self->vcpu1.fd, LOL_RESUME, 0));
	EXPECT_EQ(0, rt_clear(self->g.vcpu.fd));
	/* After an unbind. */
	EXPECT_ERRNO(EINVAL, ioctl(self->g.vcpu.fd, LOL_RESUME, 0));
}

/* Another process cannot set a table on the vcpu (the usual EIO). */
TEST_F(tbl, other_process_eio)
{
	struct lol_syscall_ranges gt;
	int status;
	pid_t pid;

	REQUIRE();
	rt_table(&gt, LOL_RANGES_GUEST, LOL_RANGE_NATIVE);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (rt_set(self->g.vcpu.fd, &gt) != -1 || errno != EIO)
			_exit(1);
		if (set_monitor_native(self->g.vcpu.fd) != -1 ||
		    errno != EIO)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
