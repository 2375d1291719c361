// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_test: the vcpu fd's run page mapping, and the fds that have none.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(vcpu) {
	int sys;
	int guest;
	int vcpu;
	size_t size;
};

FIXTURE_SETUP(vcpu)
{
	self->sys = lol_open_sys();
	self->size = lol_ioctl_ok(self->sys, LOL_GET_VCPU_MMAP_SIZE, 0);
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
}

FIXTURE_TEARDOWN(vcpu)
{
	close(self->vcpu);
	close(self->guest);
	close(self->sys);
}

static void *map(int fd, size_t size, int prot, int flags, off_t off)
{
	return mmap(NULL, size, prot, flags, fd, off);
}

#define RW	(PROT_READ | PROT_WRITE)

TEST_F(vcpu, bad_offset)
{
	EXPECT_ERRNO(EINVAL, map(self->vcpu, self->size, RW, MAP_SHARED,
				 self->size));
	EXPECT_ERRNO(EINVAL, map(self->vcpu, self->size, RW, MAP_SHARED,
				 16 * self->size));
}

TEST_F(vcpu, too_big)
{
	EXPECT_ERRNO(EINVAL, map(self->vcpu, 2 * self->size, RW, MAP_SHARED,
				 0));
	EXPECT_ERRNO(EINVAL, map(self->vcpu, self->size + 1, RW, MAP_SHARED,
				 0));
	EXPECT_ERRNO(EINVAL, map(self->vcpu, 64 * self->size, RW, MAP_SHARED,
				 0));
}

TEST_F(vcpu, private)
{
	EXPECT_ERRNO(EINVAL, map(self->vcpu, self->size, RW, MAP_PRIVATE, 0));
	EXPECT_ERRNO(EINVAL, map(self->vcpu, self->size, PROT_READ,
				 MAP_PRIVATE, 0));
}

TEST_F(vcpu, exec)
{
	EXPECT_ERRNO(EPERM, map(self->vcpu, self->size, RW | PROT_EXEC,
				MAP_SHARED, 0));
	EXPECT_ERRNO(EPERM, map(self->vcpu, self->size, PROT_READ | PROT_EXEC,
				MAP_SHARED, 0));
	EXPECT_ERRNO(EPERM, map(self->vcpu, self->size, PROT_EXEC,
				MAP_SHARED, 0));
}

TEST_F(vcpu, mprotect_exec)
{
	void *p = map(self->vcpu, self->size, RW, MAP_SHARED, 0);

	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s", strerror(errno));
	EXPECT_ERRNO(EACCES, mprotect(p, self->size, RW | PROT_EXEC));
	EXPECT_ERRNO(EACCES, mprotect(p, self->size, PROT_READ | PROT_EXEC));
	/* Dropping and restoring write is fine. */
	EXPECT_EQ(0, mprotect(p, self->size, PROT_READ));
	EXPECT_EQ(0, mprotect(p, self->size, RW));
	EXPECT_EQ(0, munmap(p, self->size));
}

TEST_F(vcpu, zeroed)
{
	static const struct lol_run zero;
	struct lol_run *run;
	unsigned char *bytes;
	size_t i, nonzero = 0;

	run = lol_map_run(self->vcpu, self->size);
	ASSERT_NE(NULL, run) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(LOL_EXIT_NONE, run->exit_reason);
	EXPECT_EQ(0, run->nr_exits);
	EXPECT_EQ(0, memcmp(run, &zero, sizeof(zero)));
	/* The whole page, not only the struct. */
	bytes = (unsigned char *)run;
	for (i = 0; i < self->size; i++)
		nonzero += bytes[i] != 0;
	EXPECT_EQ(0, nonzero);
	EXPECT_EQ(0, munmap(run, self->size));
}

/* Two mappings (and a read-only one) are views of one page. */
TEST_F(vcpu, shared)
{
	struct lol_run *a, *b;
	const struct lol_run *ro;

	a = lol_map_run(self->vcpu, self->size);
	ASSERT_NE(NULL, a);
	b = lol_map_run(self->vcpu, self->size);
	ASSERT_NE(NULL, b);
	ro = map(self->vcpu, self->size, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("%s", strerror(errno));

	a->as_id = 0x1234;
	lol_sp(a) = 0xfeedfacecafebeefULL;
	EXPECT_EQ(0x1234, b->as_id);
	EXPECT_EQ(0xfeedfacecafebeefULL, lol_sp(b));
	EXPECT_EQ(0xfeedfacecafebeefULL, lol_sp(ro));
	memset(b, 0, sizeof(*b));
	EXPECT_EQ(0, a->as_id);

	EXPECT_EQ(0, munmap((void *)ro, self->size));
	EXPECT_EQ(0, munmap(b, self->size));
	EXPECT_EQ(0, munmap(a, self->size));
}

/* Each vcpu has its own page. */
TEST_F(vcpu, per_vcpu)
{
	struct lol_run *a, *b;
	int vcpu2;

	vcpu2 = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 1);
	a = lol_map_run(self->vcpu, self->size);
	ASSERT_NE(NULL, a);
	b = lol_map_run(vcpu2, self->size);
	ASSERT_NE(NULL, b);
	lol_ret(a) = 1;
	lol_ret(b) = 2;
	EXPECT_EQ(1, lol_ret(a));
	EXPECT_EQ(2, lol_ret(b));
	munmap(b, self->size);
	munmap(a, self->size);
	close(vcpu2);
}

static sigjmp_buf mremap_jmp;

static void sigbus_handler(int sig)
{
	siglongjmp(mremap_jmp, sig);
}

/* The mapping cannot grow past the run page. */
TEST_F(vcpu, no_growth)
{
	struct sigaction sa = { .sa_handler = sigbus_handler };
	char *p, *q;
	int sig;

	p = map(self->vcpu, self->size, RW, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(p, self->size, 2 * self->size, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		/* Refused outright: fine. */
		EXPECT_EQ(0, munmap(p, self->size));
		return;
	}
	/* Allowed to grow: the page past the run page must not be there. */
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sig = sigsetjmp(mremap_jmp, 1);
	if (!sig) {
		*(volatile char *)(q + self->size) = 1;
		TH_LOG("a second page appeared after mremap");
		EXPECT_NE(0, sig);
	}
	munmap(q, 2 * self->size);
}

TEST_F(vcpu, no_mmap_on_guest_or_sys)
{
	EXPECT_ERRNO(ENODEV, map(self->guest, self->size, RW, MAP_SHARED, 0));
	EXPECT_ERRNO(ENODEV, map(self->guest, self->size, PROT_READ,
				 MAP_PRIVATE, 0));
	EXPECT_ERRNO(ENODEV, map(self->sys, self->size, RW, MAP_SHARED, 0));
	EXPECT_ERRNO(ENODEV, map(self->sys, self->size, PROT_READ,
				 MAP_PRIVATE, 0));
}

TEST_HARNESS_MAIN
