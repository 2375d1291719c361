// SPDX-License-Identifier: GPL-2.0
/*
 * reserved_test: every reserved field, padding and unknown flag is rejected
 * with EINVAL, and every argument check returns the documented errno.
 * Ioctls that exist only with a capability are SKIPped without it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	16

static long page_size;

FIXTURE(guest) {
	int sys;
	int guest;
	int memfd;
	size_t phys_size;
};

FIXTURE_SETUP(guest)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->sys = lol_open_sys();
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->phys_size = PHYS_PAGES * page_size;
	self->memfd = ASSERT_SYSCALL(memfd_create("lol-phys", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(self->memfd, self->phys_size));
}

FIXTURE_TEARDOWN(guest)
{
	close(self->memfd);
	close(self->guest);
	close(self->sys);
}

static void phys_init(struct lol_phys_memory *pm, int fd, __u64 size)
{
	memset(pm, 0, sizeof(*pm));
	pm->fd = fd;
	pm->size = size;
}

TEST_F(guest, set_phys_memory)
{
	struct lol_phys_memory pm;
	int other, pipefd[2];
	size_t i;

	/* The ioctl belongs to the guest AS machinery of LOL_CAP_RUN. */
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);

	phys_init(&pm, self->memfd, self->phys_size);
	pm.flags = 1;
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	pm.flags = 1U << 31;
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);

	for (i = 0; i < ARRAY_SIZE(pm.reserved); i++) {
		phys_init(&pm, self->memfd, self->phys_size);
		pm.reserved[i] = 1;
		if (!lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm,
				   EINVAL))
			TH_LOG("reserved[%zu]", i);
	}

	phys_init(&pm, -1, self->phys_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EBADF);
	other = ASSERT_SYSCALL(dup(self->memfd));
	close(other);
	phys_init(&pm, other, self->phys_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EBADF);

	phys_init(&pm, self->memfd, 0);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	phys_init(&pm, self->memfd, 1);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	phys_init(&pm, self->memfd, page_size + 1);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	phys_init(&pm, self->memfd, self->phys_size - 1);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	phys_init(&pm, self->memfd, self->phys_size + page_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	phys_init(&pm, self->memfd, -(__u64)page_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);

	/* Not a file whose pages can be mapped. */
	ASSERT_EQ(0, pipe(pipefd));
	phys_init(&pm, pipefd[0], page_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);

	/* None of that stuck: the first good call works, the next is busy. */
	phys_init(&pm, self->memfd, self->phys_size);
	lol_ioctl_ok(self->guest, LOL_SET_PHYS_MEMORY, &pm);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EBUSY);
	phys_init(&pm, self->memfd, page_size);
	lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm, EBUSY);
}

TEST_F(guest, set_phys_memory_smaller_than_file)
{
	struct lol_phys_memory pm;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	phys_init(&pm, self->memfd, page_size);
	lol_ioctl_ok(self->guest, LOL_SET_PHYS_MEMORY, &pm);
}

TEST_F(guest, create_as)
{
	struct lol_create_as ca;
	size_t i;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);

	memset(&ca, 0, sizeof(ca));
	ca.flags = 1;
	lol_ioctl_err(self->guest, LOL_CREATE_AS, &ca, EINVAL);
	ca.flags = 1U << 31;
	lol_ioctl_err(self->guest, LOL_CREATE_AS, &ca, EINVAL);
	for (i = 0; i < ARRAY_SIZE(ca.reserved); i++) {
		memset(&ca, 0, sizeof(ca));
		ca.reserved[i] = 1;
		if (!lol_ioctl_err(self->guest, LOL_CREATE_AS, &ca, EINVAL))
			TH_LOG("reserved[%zu]", i);
	}
	lol_ioctl_err(self->guest, LOL_CREATE_AS, NULL, EFAULT);

	memset(&ca, 0, sizeof(ca));
	lol_ioctl_ok(self->guest, LOL_CREATE_AS, &ca);
	lol_ioctl_ok(self->guest, LOL_DESTROY_AS, ca.as_id);
}

TEST_F(guest, destroy_as)
{
	__u32 a, b;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);

	ASSERT_EQ(0, lol_create_as(self->guest, &a));
	ASSERT_EQ(0, lol_create_as(self->guest, &b));
	EXPECT_NE(a, b);
	lol_ioctl_err(self->guest, LOL_DESTROY_AS, a + b + 1000, ENOENT);
	lol_ioctl_err(self->guest, LOL_DESTROY_AS, 0xffffffffUL, ENOENT);
	lol_ioctl_ok(self->guest, LOL_DESTROY_AS, a);
	lol_ioctl_err(self->guest, LOL_DESTROY_AS, a, ENOENT);
	lol_ioctl_ok(self->guest, LOL_DESTROY_AS, b);
	lol_ioctl_err(self->guest, LOL_DESTROY_AS, b, ENOENT);
}

/* ---- LOL_AS_OPS --------------------------------------------------------- */

FIXTURE(as) {
	int sys;
	int guest;
	int memfd;
	__u64 phys_size;
	__u32 as_id;
	long batch_max;
};

FIXTURE_SETUP(as)
{
	struct lol_phys_memory pm;

	page_size = sysconf(_SC_PAGESIZE);
	self->sys = lol_open_sys();
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->memfd = -1;
	/* Tests SKIP on their own (6.1's harness runs them after a SKIP here). */
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		return;
	self->batch_max = lol_cap(self->sys, LOL_CAP_AS_BATCH);
	ASSERT_LT(0, self->batch_max);

	self->phys_size = PHYS_PAGES * page_size;
	self->memfd = ASSERT_SYSCALL(memfd_create("lol-phys", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(self->memfd, self->phys_size));
	phys_init(&pm, self->memfd, self->phys_size);
	lol_ioctl_ok(self->guest, LOL_SET_PHYS_MEMORY, &pm);
	ASSERT_EQ(0, lol_create_as(self->guest, &self->as_id));
}

FIXTURE_TEARDOWN(as)
{
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->guest);
	close(self->sys);
}

static void batch_init(struct lol_as_batch *b, __u32 as_id,
		       const struct lol_as_op *ops, __u32 nr)
{
	memset(b, 0, sizeof(*b));
	b->as_id = as_id;
	b->nr_ops = nr;
	b->ops = (unsigned long)ops;
}

static struct lol_as_op good_map(__u64 addr)
{
	struct lol_as_op op = {
		.op = LOL_AS_MAP,
		.prot = LOL_PROT_READ,
		.addr = addr,
		.size = page_size,
		.phys = 0,
	};

	return op;
}

TEST_F(as, batch_fields)
{
	struct lol_as_batch b;
	struct lol_as_op op, *many;
	void *hole;
	long i;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	op = good_map(0x100000);

	batch_init(&b, self->as_id, &op, 1);
	b.flags = 1;
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	batch_init(&b, self->as_id, &op, 1);
	b.flags = 1U << 31;
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	for (i = 0; i < (long)ARRAY_SIZE(b.reserved); i++) {
		batch_init(&b, self->as_id, &op, 1);
		b.reserved[i] = 1;
		if (!lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL))
			TH_LOG("reserved[%ld]", i);
	}

	batch_init(&b, self->as_id, &op, 0);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);

	/* One op too many, all of them valid (unmaps: no mapping limit). */
	many = calloc(self->batch_max + 1, sizeof(*many));
	ASSERT_NE(NULL, many);
	for (i = 0; i <= self->batch_max; i++) {
		many[i].op = LOL_AS_UNMAP;
		many[i].addr = 0x100000 + i * page_size;
		many[i].size = page_size;
	}
	batch_init(&b, self->as_id, many, self->batch_max + 1);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	batch_init(&b, self->as_id, many, 0xffffffff);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	/* Exactly the maximum is fine. */
	batch_init(&b, self->as_id, many, self->batch_max);
	lol_ioctl_ok(self->guest, LOL_AS_OPS, &b);
	EXPECT_EQ(self->batch_max, b.nr_done);
	free(many);

	/* Bad ops pointers. */
	batch_init(&b, self->as_id, NULL, 1);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EFAULT);
	hole = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	batch_init(&b, self->as_id, hole, 1);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EFAULT);
	munmap(hole, page_size);
	batch_init(&b, self->as_id, (void *)0xffff800000000000UL, 1);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EFAULT);
	lol_ioctl_err(self->guest, LOL_AS_OPS, NULL, EFAULT);

	/* Unknown AS. */
	batch_init(&b, self->as_id + 1000, &op, 1);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, ENOENT);
}

TEST_F(as, batch_nr_done)
{
	struct lol_as_op ops[3];
	struct lol_as_batch b;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	ops[0] = good_map(0x100000);
	ops[1] = good_map(0x200000);
	ops[2] = good_map(0x300000);
	batch_init(&b, self->as_id, ops, 3);
	lol_ioctl_ok(self->guest, LOL_AS_OPS, &b);
	EXPECT_EQ(3, b.nr_done);

	/* The failing op's index, wherever it is. */
	ops[2].size = 0;
	batch_init(&b, self->as_id, ops, 3);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	EXPECT_EQ(2, b.nr_done);
	ops[2] = good_map(0x300000);
	ops[0].size = 0;
	batch_init(&b, self->as_id, ops, 3);
	lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL);
	EXPECT_EQ(0, b.nr_done);
}

struct bad_op {
	const char *what;
	struct lol_as_op op;
	bool from_limit;	/* op.addr is relative to the user limit */
};

#define PG		4096ULL
#define PHYS_SIZE	(PHYS_PAGES * PG)
#define MAP(a, s, p, pr) { .op = LOL_AS_MAP, .prot = pr, .addr = a,	\
			   .size = s, .phys = p }
#define R		LOL_PROT_READ

static const struct bad_op bad_ops[] = {
	{ "op 0", { .op = 0, .prot = R, .addr = 0x400000, .size = PG } },
	{ "op 4", { .op = 4, .prot = R, .addr = 0x400000, .size = PG } },
	{ "op ~0", { .op = ~0U, .prot = R, .addr = 0x400000, .size = PG } },
	{ "prot bit 3", MAP(0x400000, PG, 0, R | (1U << 3)) },
	{ "prot bit 31", MAP(0x400000, PG, 0, R | (1U << 31)) },
	{ "protect prot bit 3", { .op = LOL_AS_PROTECT, .prot = 1U << 3,
				  .addr = 0x100000, .size = PG } },
	{ "reserved", { .op = LOL_AS_MAP, .prot = R, .addr = 0x400000,
			.size = PG, .reserved = 1 } },
	{ "unmap reserved", { .op = LOL_AS_UNMAP, .addr = 0x100000,
			      .size = PG, .reserved = 1 } },
	{ "addr unaligned", MAP(0x400001, PG, 0, R) },
	{ "addr unaligned 0x800", MAP(0x400800, PG, 0, R) },
	{ "size unaligned", MAP(0x400000, PG + 1, 0, R) },
	{ "size < page", MAP(0x400000, PG - 1, 0, R) },
	{ "phys unaligned", MAP(0x400000, PG, 1, R) },
	{ "size 0", MAP(0x400000, 0, 0, R) },
	{ "unmap size 0", { .op = LOL_AS_UNMAP, .addr = 0x100000 } },
	{ "protect size 0", { .op = LOL_AS_PROTECT, .prot = R,
			      .addr = 0x100000 } },
	{ "unmap addr unaligned", { .op = LOL_AS_UNMAP, .addr = 0x100001,
				    .size = PG } },
	{ "addr at limit", MAP(0, PG, 0, R), true },
	{ "end above limit", MAP(-PG, 2 * PG, 0, R), true },
	{ "addr above limit", MAP(PG, PG, 0, R), true },
#ifdef __x86_64__
	{ "addr 1 << 47", MAP(1ULL << 47, PG, 0, R) },
#else
	/* The 48-bit limit holds also on hosts with 52-bit addresses. */
	{ "addr 1 << 52", MAP(1ULL << 52, PG, 0, R) },
#endif
	{ "addr 1 << 56", MAP(1ULL << 56, PG, 0, R) },
	{ "addr kernel", MAP(0xffffffff81000000ULL, PG, 0, R) },
	{ "addr wraps", MAP(0xfffffffffffff000ULL, 2 * PG, 0, R) },
	{ "size wraps", MAP(0x400000, 0xfffffffffffff000ULL, 0, R) },
	{ "unmap above limit", { .op = LOL_AS_UNMAP, .addr = 0, .size = PG },
	  true },
	{ "protect above limit", { .op = LOL_AS_PROTECT, .prot = R,
				   .addr = -PG, .size = 2 * PG }, true },
	{ "phys at end", MAP(0x400000, PG, PHYS_SIZE, R) },
	{ "phys end beyond", MAP(0x400000, 2 * PG, PHYS_SIZE - PG, R) },
	{ "size beyond phys", MAP(0x400000, PHYS_SIZE + PG, 0, R) },
	{ "phys wraps", MAP(0x400000, 2 * PG, 0xfffffffffffff000ULL, R) },
	{ "unmap with prot", { .op = LOL_AS_UNMAP, .prot = R,
			       .addr = 0x100000, .size = PG } },
	{ "unmap with phys", { .op = LOL_AS_UNMAP, .addr = 0x100000,
			       .size = PG, .phys = PG } },
	{ "protect with phys", { .op = LOL_AS_PROTECT, .prot = R,
				 .addr = 0x100000, .size = PG, .phys = PG } },
};

static struct lol_as_op bad_op(size_t i)
{
	struct lol_as_op op = bad_ops[i].op;

	if (bad_ops[i].from_limit)
		op.addr += LOL_TEST_USER_LIMIT;
	return op;
}

/* Each bad op second in a batch: EINVAL, and nr_done is 1. */
TEST_F(as, bad_ops)
{
	struct lol_as_op ops[2];
	struct lol_as_batch b;
	size_t i;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	ASSERT_EQ(PG, page_size);
	ASSERT_EQ(PHYS_SIZE, self->phys_size);
	TH_LOG("user address limit %#llx",
	       (unsigned long long)LOL_TEST_USER_LIMIT);

	for (i = 0; i < ARRAY_SIZE(bad_ops); i++) {
		ops[0] = good_map(0x100000);
		ops[1] = bad_op(i);
		batch_init(&b, self->as_id, ops, 2);
		if (!lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EINVAL))
			TH_LOG("bad op: %s", bad_ops[i].what);
		EXPECT_EQ(1, b.nr_done) TH_LOG("bad op: %s", bad_ops[i].what);
	}
}

/* The same ops alone in a batch, through the liblol conveniences too. */
TEST_F(as, bad_single_ops)
{
	struct lol_as_op op;
	__u32 nr_done;
	size_t i;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	ASSERT_EQ(PG, page_size);

	for (i = 0; i < ARRAY_SIZE(bad_ops); i++) {
		op = bad_op(i);
		nr_done = 99;
		if (!EXPECT_ERRNO(EINVAL, lol_as_ops(self->guest,
						     self->as_id, &op, 1,
						     &nr_done)))
			TH_LOG("bad op: %s", bad_ops[i].what);
		EXPECT_EQ(0, nr_done) TH_LOG("bad op: %s", bad_ops[i].what);
	}
	EXPECT_ERRNO(EINVAL, lol_as_map(self->guest, self->as_id, 0x400000,
					PG, 1, R));
	EXPECT_ERRNO(EINVAL, lol_as_unmap(self->guest, self->as_id, 0x400000,
					  0));
	EXPECT_ERRNO(EINVAL, lol_as_protect(self->guest, self->as_id,
					    0x400001, PG, R));
}

TEST_F(as, good_ops)
{
	const __u64 LIMIT = LOL_TEST_USER_LIMIT;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);

	/* Highest page below the limit, all of phys, every prot. */
	EXPECT_EQ(0, lol_as_map(self->guest, self->as_id, LIMIT - PG, PG,
				PHYS_SIZE - PG, R | LOL_PROT_WRITE));
	EXPECT_EQ(0, lol_as_map(self->guest, self->as_id, 0x10000000,
				PHYS_SIZE, 0, R | LOL_PROT_WRITE |
				LOL_PROT_EXEC));
	EXPECT_EQ(0, lol_as_map(self->guest, self->as_id, 0x20000000, PG, 0,
				0));
	EXPECT_EQ(0, lol_as_protect(self->guest, self->as_id, 0x10000000,
				    PG, R));
	EXPECT_EQ(0, lol_as_protect(self->guest, self->as_id, 0x20000000,
				    PG, R | LOL_PROT_WRITE));
	EXPECT_EQ(0, lol_as_unmap(self->guest, self->as_id, 0x10000000,
				  PHYS_SIZE));
	EXPECT_EQ(0, lol_as_unmap(self->guest, self->as_id, LIMIT - PG, PG));
}

/* LOL_CAP_MAX_AS address spaces per guest, then ENOSPC. */
TEST_F(as, as_limit)
{
	long i, n, max;
	__u32 *ids, id;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	max = lol_cap(self->sys, LOL_CAP_MAX_AS);
	ASSERT_LT(0, max);
	if (max > 4096)
		SKIP(return, "LOL_CAP_MAX_AS %ld: too many to create", max);
	ids = calloc(max, sizeof(*ids));
	ASSERT_NE(NULL, ids);
	ids[0] = self->as_id;	/* the fixture's */
	for (n = 1; n < max; n++)
		if (lol_create_as(self->guest, &ids[n]))
			break;
	EXPECT_EQ(max, n) TH_LOG("stopped by %s", lol_errno_name(errno));
	EXPECT_ERRNO(ENOSPC, lol_create_as(self->guest, &id));
	/* A destroyed AS makes room. */
	EXPECT_EQ(0, lol_destroy_as(self->guest, ids[n - 1]));
	EXPECT_EQ(0, lol_create_as(self->guest, &ids[n - 1]));
	for (i = 0; i < n; i++)
		lol_destroy_as(self->guest, ids[i]);
	free(ids);
}

/* LOL_CAP_MAX_MAPPINGS mappings per AS, then ENOSPC with nr_done. */
TEST_F_TIMEOUT(as, mapping_limit, 120)
{
	struct lol_as_op *ops;
	struct lol_as_batch b;
	long max, done = 0, nr, i, saved = -1;
	int ret = 0, err = 0;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	ops = calloc(self->batch_max, sizeof(*ops));
	ASSERT_NE(NULL, ops);
	max = lol_cap(self->sys, LOL_CAP_MAX_MAPPINGS);
	ASSERT_LT(0, max);
	if (max > 65536) {
		/*
		 * The default (a 512 MiB guest process of scattered pages) is
		 * beyond vm.max_map_count: test the limit at 16384, then put
		 * the default back.
		 */
		saved = max;
		if (lol_param_write("max_mappings", 16384)) {
			free(ops);
			SKIP(return, "LOL_CAP_MAX_MAPPINGS %ld: too many, and max_mappings is not writable",
			     max);
		}
		max = lol_cap(self->sys, LOL_CAP_MAX_MAPPINGS);
	}

	/* Pages with holes between them: no two mappings can merge. */
	while (!ret && done <= max) {
		nr = self->batch_max;
		for (i = 0; i < nr; i++)
			ops[i] = good_map(0x10000000 + (done + i) * 2 * PG);
		batch_init(&b, self->as_id, ops, nr);
		ret = ioctl(self->guest, LOL_AS_OPS, &b);
		err = errno;
		done += ret ? b.nr_done : nr;
	}
	free(ops);
	EXPECT_EQ(-1, ret);
	EXPECT_STREQ("ENOSPC", lol_errno_name(err));
	EXPECT_EQ(max, done);

	/* An unmap makes room again. */
	EXPECT_EQ(0, lol_as_unmap(self->guest, self->as_id, 0x10000000, PG));
	EXPECT_EQ(0, lol_as_map(self->guest, self->as_id, 0x10000000, PG, 0,
				LOL_PROT_READ));
	EXPECT_ERRNO(ENOSPC, lol_as_map(self->guest, self->as_id,
					0x10000000 + 2 * max * PG, PG, 0,
					LOL_PROT_READ));
	if (saved > 0)
		EXPECT_EQ(0, lol_param_write("max_mappings", saved));
}

/* MAP before LOL_SET_PHYS_MEMORY has nothing to map. */
TEST_F(guest, map_without_phys)
{
	__u32 as;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	ASSERT_EQ(0, lol_create_as(self->guest, &as));
	EXPECT_ERRNO(ENXIO, lol_as_map(self->guest, as, 0x400000, page_size,
				       0, LOL_PROT_READ));
	/* Unmap and protect need no phys memory. */
	EXPECT_EQ(0, lol_as_unmap(self->guest, as, 0x400000, page_size));
}

/* A read-only phys file cannot be mapped writable. */
TEST_F(guest, read_only_phys)
{
	struct lol_phys_memory pm;
	char path[64];
	int ro;
	__u32 as;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro) TH_LOG("%s: %s", path, strerror(errno));
	phys_init(&pm, ro, self->phys_size);
	lol_ioctl_ok(self->guest, LOL_SET_PHYS_MEMORY, &pm);
	close(ro);
	ASSERT_EQ(0, lol_create_as(self->guest, &as));
	EXPECT_EQ(0, lol_as_map(self->guest, as, 0x400000, page_size, 0,
				LOL_PROT_READ | LOL_PROT_EXEC));
	EXPECT_ERRNO(EACCES, lol_as_map(self->guest, as, 0x500000, page_size,
					0, LOL_PROT_READ | LOL_PROT_WRITE));
}

/* ---- vcpu ioctls -------------------------------------------------------- */

FIXTURE(vcpu) {
	int sys;
	int guest;
	int vcpu;
};

FIXTURE_SETUP(vcpu)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->sys = lol_open_sys();
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
}

FIXTURE_TEARDOWN(vcpu)
{
	close(self->vcpu);
	close(self->guest);
	close(self->sys);
}

static void fpu_init(struct lol_fpu *f, void *buf, __u32 size)
{
	memset(f, 0, sizeof(*f));
	f->addr = (unsigned long)buf;
	f->size = size;
}

static void check_fpu_ioctl(struct __test_metadata *_metadata, int vcpu,
			    unsigned long cmd, void *buf, __u32 size)
{
	struct lol_fpu f;
	size_t i;

	fpu_init(&f, buf, size);
	f.flags = 1;
	lol_ioctl_err(vcpu, cmd, &f, EINVAL);
	fpu_init(&f, buf, size);
	f.flags = 1U << 31;
	lol_ioctl_err(vcpu, cmd, &f, EINVAL);
	for (i = 0; i < ARRAY_SIZE(f.reserved); i++) {
		fpu_init(&f, buf, size);
		f.reserved[i] = 1;
		if (!lol_ioctl_err(vcpu, cmd, &f, EINVAL))
			TH_LOG("%s reserved[%zu]", lol_ioctl_name(cmd), i);
	}
	fpu_init(&f, buf, size - 1);
	lol_ioctl_err(vcpu, cmd, &f, EINVAL);
	fpu_init(&f, buf, 0);
	lol_ioctl_err(vcpu, cmd, &f, EINVAL);
	fpu_init(&f, buf, 512);
	lol_ioctl_err(vcpu, cmd, &f, EINVAL);
	fpu_init(&f, NULL, size);
	lol_ioctl_err(vcpu, cmd, &f, EFAULT);
	lol_ioctl_err(vcpu, cmd, NULL, EFAULT);
}

TEST_F(vcpu, fpu)
{
	long size;
	void *buf;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	size = LOL_REQUIRE_CAP(self->sys, LOL_CAP_FPU);
	/* One spare page: a larger buffer is fine too. */
	buf = aligned_alloc(64, size + page_size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size + page_size);

	check_fpu_ioctl(_metadata, self->vcpu, LOL_GET_FPU, buf, size);
	check_fpu_ioctl(_metadata, self->vcpu, LOL_SET_FPU, buf, size);

	EXPECT_EQ(0, lol_get_fpu(self->vcpu, buf, size));
	EXPECT_EQ(0, lol_set_fpu(self->vcpu, buf, size));
	EXPECT_EQ(0, lol_get_fpu(self->vcpu, buf, size + page_size));
	EXPECT_EQ(0, lol_set_fpu(self->vcpu, buf, size + page_size));
	free(buf);
}

TEST_F(vcpu, run_arg)
{
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	lol_ioctl_err(self->vcpu, LOL_RUN, 1, EINVAL);
	lol_ioctl_err(self->vcpu, LOL_RUN, 1UL << 32, EINVAL);
	lol_ioctl_err(self->vcpu, LOL_RUN, ~0UL, EINVAL);
}

TEST_F(vcpu, kick_arg)
{
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_KICK);
	lol_ioctl_err(self->vcpu, LOL_KICK, 1, EINVAL);
	lol_ioctl_err(self->vcpu, LOL_KICK, 1UL << 32, EINVAL);
	lol_ioctl_err(self->vcpu, LOL_KICK, ~0UL, EINVAL);
}

/* A valid guest table: one NATIVE range, REFLECT elsewhere. */
static void ranges_init(struct lol_syscall_ranges *t)
{
	memset(t, 0, sizeof(*t));
	t->flags = LOL_RANGES_GUEST;
	t->nr_ranges = 1;
	t->default_action = LOL_RANGE_REFLECT;
	t->ranges[0].start = 0x400000;
	t->ranges[0].end = 0x401000;
	t->ranges[0].action = LOL_RANGE_NATIVE;
}

#define RANGES_EINVAL(self, t, what) do {				\
	if (!lol_ioctl_err((self)->vcpu, LOL_SET_SYSCALL_RANGES, t, EINVAL)) \
		TH_LOG("%s", what);					\
} while (0)

TEST_F(vcpu, syscall_ranges)
{
	struct lol_syscall_ranges t;
	char what[64];
	size_t i;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_SYSCALL_RANGES);

	ranges_init(&t);
	t.flags |= 1U << 2;
	RANGES_EINVAL(self, &t, "flags bit 2");
	ranges_init(&t);
	t.flags |= 1U << 31;
	RANGES_EINVAL(self, &t, "flags bit 31");
	ranges_init(&t);
	t.pad = 1;
	RANGES_EINVAL(self, &t, "pad");
	for (i = 0; i < ARRAY_SIZE(t.reserved); i++) {
		ranges_init(&t);
		t.reserved[i] = 1;
		snprintf(what, sizeof(what), "reserved[%zu]", i);
		RANGES_EINVAL(self, &t, what);
	}
	ranges_init(&t);
	t.nr_ranges = LOL_MAX_SYSCALL_RANGES + 1;
	RANGES_EINVAL(self, &t, "nr_ranges > LOL_MAX_SYSCALL_RANGES");
	ranges_init(&t);
	t.nr_ranges = ~0U;
	RANGES_EINVAL(self, &t, "nr_ranges ~0");
	ranges_init(&t);
	t.default_action = 0;
	RANGES_EINVAL(self, &t, "default_action 0");
	ranges_init(&t);
	t.default_action = LOL_RANGE_KILL + 1;
	RANGES_EINVAL(self, &t, "default_action unknown");

	/* Per range. */
	ranges_init(&t);
	t.ranges[0].action = 0;
	RANGES_EINVAL(self, &t, "action 0");
	ranges_init(&t);
	t.ranges[0].action = LOL_RANGE_KILL + 1;
	RANGES_EINVAL(self, &t, "action unknown");
	ranges_init(&t);
	t.ranges[0].flags = 1U << 1;
	RANGES_EINVAL(self, &t, "range flags bit 1");
	ranges_init(&t);
	t.ranges[0].reserved = 1;
	RANGES_EINVAL(self, &t, "range reserved");
	ranges_init(&t);
	t.ranges[0].end = t.ranges[0].start;
	RANGES_EINVAL(self, &t, "empty range");
	ranges_init(&t);
	t.ranges[0].end = t.ranges[0].start - 1;
	RANGES_EINVAL(self, &t, "start > end");
	ranges_init(&t);
	t.ranges[0].end = LOL_TEST_USER_LIMIT + 1;
	RANGES_EINVAL(self, &t, "end above the user limit");
	ranges_init(&t);
	t.ranges[0].start = 0xffffffff81000000ULL;
	t.ranges[0].end = 0xffffffff82000000ULL;
	RANGES_EINVAL(self, &t, "kernel range");
	ranges_init(&t);
	t.nr_ranges = 2;
	t.ranges[1] = t.ranges[0];
	t.ranges[1].start += 0x800;
	t.ranges[1].end += 0x800;
	RANGES_EINVAL(self, &t, "overlapping ranges");
	ranges_init(&t);
	t.nr_ranges = 2;
	t.ranges[1] = t.ranges[0];
	RANGES_EINVAL(self, &t, "duplicate ranges");

	/* entry and stack belong to monitor-mode reflection only. */
	ranges_init(&t);
	t.entry = 0x400000;
	RANGES_EINVAL(self, &t, "entry without LOL_RANGES_MONITOR");
	ranges_init(&t);
	t.stack = 0x800000;
	RANGES_EINVAL(self, &t, "stack without LOL_RANGES_MONITOR");

	/* Removal takes nothing but flags = 0. */
	memset(&t, 0, sizeof(t));
	t.nr_ranges = 1;
	RANGES_EINVAL(self, &t, "removal with nr_ranges");
	memset(&t, 0, sizeof(t));
	t.default_action = LOL_RANGE_REFLECT;
	RANGES_EINVAL(self, &t, "removal with default_action");

	lol_ioctl_err(self->vcpu, LOL_SET_SYSCALL_RANGES, NULL, EFAULT);

	/* The good table goes in, is replaced, and goes away. */
	ranges_init(&t);
	lol_ioctl_ok(self->vcpu, LOL_SET_SYSCALL_RANGES, &t);
	t.nr_ranges = LOL_MAX_SYSCALL_RANGES;
	for (i = 0; i < LOL_MAX_SYSCALL_RANGES; i++) {
		t.ranges[i].start = 0x400000 + i * 0x1000;
		t.ranges[i].end = t.ranges[i].start + 0x1000;
		t.ranges[i].action = LOL_RANGE_NATIVE + i % 4;
		t.ranges[i].flags = i % 2 ? LOL_RANGE_ONESHOT : 0;
	}
	lol_ioctl_ok(self->vcpu, LOL_SET_SYSCALL_RANGES, &t);
	memset(&t, 0, sizeof(t));
	lol_ioctl_ok(self->vcpu, LOL_SET_SYSCALL_RANGES, &t);
	lol_ioctl_ok(self->vcpu, LOL_SET_SYSCALL_RANGES, &t);
}

/*
 * Monitor tables apply to this very thread: every bad one below uses
 * NATIVE, so that a table wrongly accepted changes nothing.
 */
TEST_F(vcpu, monitor_ranges)
{
	static char stack[4096] __attribute__((aligned(16)));
	struct lol_syscall_ranges t;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_SYSCALL_RANGES);
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_REFLECT);

	/* REFLECT in monitor mode needs an entry and a 16-aligned stack. */
	ranges_init(&t);
	t.flags = LOL_RANGES_MONITOR;
	t.ranges[0].start = 0x1000;
	t.ranges[0].end = 0x2000;
	t.ranges[0].action = LOL_RANGE_REFLECT;
	t.default_action = LOL_RANGE_NATIVE;
	RANGES_EINVAL(self, &t, "REFLECT without entry and stack");
	t.entry = 0x1000;
	RANGES_EINVAL(self, &t, "REFLECT without stack");
	t.stack = (unsigned long)stack + sizeof(stack) - 8;
	RANGES_EINVAL(self, &t, "stack not 16-aligned");
	t.stack = (unsigned long)stack + sizeof(stack);
	t.entry = 0;
	RANGES_EINVAL(self, &t, "entry 0");
	t.entry = LOL_TEST_USER_LIMIT;
	RANGES_EINVAL(self, &t, "entry above the user limit");

	lol_ioctl_err(self->vcpu, LOL_RESUME, 0, EINVAL);
}

TEST_F(vcpu, resume)
{
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_RUN);
	LOL_REQUIRE_CAP(self->sys, LOL_CAP_REFLECT);
	lol_ioctl_err(self->vcpu, LOL_RESUME, 1, EINVAL);
	lol_ioctl_err(self->vcpu, LOL_RESUME, ~0UL, EINVAL);
	/* Not in a reflection upcall. */
	lol_ioctl_err(self->vcpu, LOL_RESUME, 0, EINVAL);
}

/* ---- the run page's "in" fields ----------------------------------------- */

#define CODE_GVA	0x400000ULL

/*
 * The guest is lib/'s lol_stub_syscall, which run_reset() makes a getpid()
 * with 42 as its first argument: what runs if a bad field is let through.
 */
#define EXIT_NR		__NR_getpid
#define EXIT_MARKER	42

FIXTURE(run) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as_id;
	bool ready;
};

FIXTURE_SETUP(run)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);

	close(sys);
	page_size = sysconf(_SC_PAGESIZE);
	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	if (!has_run)
		return;

	ASSERT_EQ(0, lol_vm_create(&self->vm, PHYS_PAGES * page_size))
		TH_LOG("lol_vm_create: %s", strerror(errno));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu))
		TH_LOG("lol_vm_add_vcpu: %s", strerror(errno));
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as_id));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, lol_stub_syscall));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, CODE_GVA, 0,
				page_size, LOL_PROT_READ | LOL_PROT_EXEC));
	self->ready = true;
}

FIXTURE_TEARDOWN(run)
{
	if (self->vcpu.fd >= 0)
		lol_vcpu_destroy(&self->vcpu);
	if (self->vm.guest >= 0)
		lol_vm_destroy(&self->vm);
}

static void run_reset(FIXTURE_DATA(run) *self)
{
	struct lol_run *run = self->vcpu.run;

	memset(run, 0, offsetof(struct lol_run, exit_reason));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA, 0);
	lol_nr(run) = EXIT_NR;
	lol_arg0(run) = EXIT_MARKER;
}

/* Sets one byte of the run page at off to 1 and expects EINVAL. */
static void expect_run_einval(struct __test_metadata *_metadata,
			      FIXTURE_DATA(run) *self, size_t off,
			      __u64 val, size_t width, const char *what)
{
	char *page = (char *)self->vcpu.run;

	run_reset(self);
	memcpy(page + off, &val, width);
	if (!lol_ioctl_err(self->vcpu.fd, LOL_RUN, 0, EINVAL))
		TH_LOG("%s = %#llx accepted (%s)", what,
		       (unsigned long long)val,
		       lol_exit_name(self->vcpu.run->exit_reason));
}

#define RUN_FIELD(self, field, val, what)				\
	expect_run_einval(_metadata, self, offsetof(struct lol_run, field), \
			  val, sizeof(((struct lol_run *)0)->field), what)

TEST_F(run, baseline)
{
	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");
	run_reset(self);
	ASSERT_EQ(0, lol_run(self->vcpu.fd)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->vcpu.run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->vcpu.run));
	EXPECT_EQ(EXIT_NR, self->vcpu.run->syscall.nr);
	EXPECT_EQ(EXIT_MARKER, self->vcpu.run->syscall.args[0]);
}

TEST_F(run, padding_and_reserved)
{
	char what[64];
	size_t i;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");

	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "pad0[%zu]", i);
		RUN_FIELD(self, pad0[i], 1, what);
	}
	RUN_FIELD(self, pad1, 1, "pad1");
	RUN_FIELD(self, pad1, 1U << 31, "pad1");
	for (i = 0; i < ARRAY_SIZE(self->vcpu.run->reserved_in); i++) {
		snprintf(what, sizeof(what), "reserved_in[%zu]", i);
		RUN_FIELD(self, reserved_in[i], 1, what);
		RUN_FIELD(self, reserved_in[i], 1ULL << 63, what);
	}
	for (i = 0; i < ARRAY_SIZE(self->vcpu.run->regs.reserved); i++) {
		snprintf(what, sizeof(what), "regs.reserved[%zu]", i);
		RUN_FIELD(self, regs.reserved[i], 1, what);
	}
}

TEST_F(run, flags)
{
	int bit;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");

	for (bit = 1; bit < 32; bit++)
		RUN_FIELD(self, flags, 1U << bit, "flags");
	if (!lol_check_extension(self->vm.sys, LOL_CAP_SINGLESTEP))
		RUN_FIELD(self, flags, LOL_RUN_SINGLESTEP,
			  "flags SINGLESTEP without LOL_CAP_SINGLESTEP");
}

#ifdef __x86_64__
TEST_F(run, rflags)
{
	/* Everything but CF PF AF ZF SF TF IF DF OF AC ID and bit 1. */
	static const int bad_bits[] = {
		3, 5, 12, 13, 14, 15, 16, 17, 19, 20, 22, 31, 32, 63,
	};
	char what[64];
	size_t i;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");

	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		snprintf(what, sizeof(what), "rflags bit %d", bad_bits[i]);
		RUN_FIELD(self, regs.rflags,
			  LOL_GUEST_RFLAGS | 1ULL << bad_bits[i], what);
	}
}
#endif

#ifdef __aarch64__
TEST_F(run, pstate)
{
	/*
	 * Everything but N Z C V (31..28), TCO (25), DIT (24), SSBS (12) and
	 * BTYPE (11..10): the mode (3..0, EL1h and AArch32 among them), the
	 * D A I F masks (9..6), IL (20), SS (21), PAN (22), UAO (23), and
	 * RES0 bits.
	 */
	static const int bad_bits[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 20, 21, 22, 23, 26, 27,
		32, 63,
	};
	char what[64];
	size_t i;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");

	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		snprintf(what, sizeof(what), "pstate bit %d", bad_bits[i]);
		RUN_FIELD(self, regs.pstate, 1ULL << bad_bits[i], what);
		/* Also next to the flags EL0 may set. */
		RUN_FIELD(self, regs.pstate,
			  0xf0000000ULL | 1ULL << bad_bits[i], what);
	}
}
#endif

TEST_F(run, kernel_addresses)
{
	const __u64 bad[] = {
		LOL_TEST_USER_LIMIT, LOL_TEST_USER_LIMIT + 0x1000,
		LOL_TEST_USER_LIMIT + 0xfff, 0xff00000000000000ULL,
		0xffff800000000000ULL, 0xffffffff81000000ULL,
		0x8000000000000000ULL, ~0ULL,
	};
	size_t i;

	if (!self->ready)
		SKIP(return, "LOL_CAP_RUN absent");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
#ifdef __x86_64__
		RUN_FIELD(self, regs.rip, bad[i], "rip");
		RUN_FIELD(self, regs.fs_base, bad[i], "fs_base");
		RUN_FIELD(self, regs.gs_base, bad[i], "gs_base");
#else
		RUN_FIELD(self, regs.pc, bad[i], "pc");
#endif
	}
}

TEST_HARNESS_MAIN
