// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle_test: creating and closing guests and vcpus. No leaks over
 * many rounds, any close order, the run page outliving every fd, the vcpu
 * and guest limits, O_CLOEXEC.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define CHURN_ITERS	10000	/* LOL_LIFECYCLE_ITERS overrides */
#define CHURN_WARMUP	500
#define LEAK_TOLERANCE	(2L << 20)	/* bytes */

FIXTURE(sys) {
	int sys;
	size_t run_size;
};

FIXTURE_SETUP(sys)
{
	self->sys = lol_open_sys();
	self->run_size = lol_ioctl_ok(self->sys, LOL_GET_VCPU_MMAP_SIZE, 0);
}

FIXTURE_TEARDOWN(sys)
{
	close(self->sys);
}

/* One guest with one vcpu and its run page, closed in an order picked by i. */
static int churn_once(int sys, size_t run_size, unsigned int i,
		      unsigned int nr_ids)
{
	struct lol_run *run;
	int guest, vcpu;

	guest = lol_create_guest(sys, 0);
	if (guest < 0)
		return -1;
	vcpu = lol_create_vcpu(guest, i % nr_ids);
	if (vcpu < 0) {
		close(guest);
		return -1;
	}
	run = lol_map_run(vcpu, run_size);
	if (!run) {
		close(vcpu);
		close(guest);
		return -1;
	}
	switch (i % 3) {
	case 0:
		munmap(run, run_size);
		close(vcpu);
		close(guest);
		break;
	case 1:
		close(guest);
		munmap(run, run_size);
		close(vcpu);
		break;
	default:
		close(guest);
		close(vcpu);
		munmap(run, run_size);
		break;
	}
	return 0;
}

struct mem_sample {
	long avail_kb;		/* MemAvailable */
	long kernel_kb;		/* SUnreclaim + Percpu + VmallocUsed + ... */
	long long slab_bytes;	/* /proc/slabinfo, -1 if unreadable */
};

static const char * const kernel_fields[] = {
	"SUnreclaim", "Percpu", "VmallocUsed", "KernelStack", "PageTables",
};

static void mem_sample(struct mem_sample *m)
{
	size_t i;
	long v;
	int fd;

	/* Let RCU-deferred frees and reclaimable caches settle first. */
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* A failure only makes the numbers noisier. */
		(void)!write(fd, "2\n", 2);
		close(fd);
	}
	usleep(500 * 1000);

	m->avail_kb = lol_meminfo_kb("MemAvailable");
	m->kernel_kb = 0;
	for (i = 0; i < ARRAY_SIZE(kernel_fields); i++) {
		v = lol_meminfo_kb(kernel_fields[i]);
		if (v > 0)
			m->kernel_kb += v;
	}
	m->slab_bytes = lol_slabinfo_bytes();
}

/* KASAN keeps freed objects in a quarantine of up to 1/32 of memory. */
static bool kernel_has_kasan(void)
{
	char line[256];
	bool found = false;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " kasan_save_stack") ||
			strstr(line, " __asan_load8\n");
	fclose(f);
	return found;
}

TEST_F_TIMEOUT(sys, churn_no_leak, 240)
{
	struct mem_sample before, after;
	unsigned int i, iters = CHURN_ITERS;
	long long tolerance = LEAK_TOLERANCE;
	const char *env = getenv("LOL_LIFECYCLE_ITERS");
	unsigned int nr_ids = lol_cap(self->sys, LOL_CAP_MAX_VCPUS);

	if (env && atoi(env) > 0)
		iters = atoi(env);
	if (nr_ids > 4)
		nr_ids = 4;
	if (kernel_has_kasan()) {
		tolerance += lol_meminfo_kb("MemTotal") * 1024LL / 32;
		TH_LOG("KASAN kernel: tolerance %lld KiB (quarantine)",
		       tolerance >> 10);
	}

	for (i = 0; i < CHURN_WARMUP; i++)
		ASSERT_EQ(0, churn_once(self->sys, self->run_size, i, nr_ids))
			TH_LOG("warm-up round %u: %s", i, strerror(errno));
	mem_sample(&before);

	for (i = 0; i < iters; i++)
		ASSERT_EQ(0, churn_once(self->sys, self->run_size, i, nr_ids))
			TH_LOG("round %u: %s", i, strerror(errno));
	mem_sample(&after);

	TH_LOG("%u rounds: MemAvailable %+ld KiB, kernel %+ld KiB, slab %+lld KiB",
	       iters, after.avail_kb - before.avail_kb,
	       after.kernel_kb - before.kernel_kb,
	       before.slab_bytes < 0 ? 0 :
	       (after.slab_bytes - before.slab_bytes) >> 10);

	EXPECT_LE((after.kernel_kb - before.kernel_kb) * 1024LL, tolerance);
	if (before.slab_bytes >= 0 && after.slab_bytes >= 0)
		EXPECT_LE(after.slab_bytes - before.slab_bytes, tolerance);
	if ((before.avail_kb - after.avail_kb) * 1024LL > 2 * tolerance) {
		/*
		 * MemAvailable is noisy on a busy host (page cache, per-CPU
		 * page lists of a TCG guest): a leak grows with the rounds,
		 * noise does not. The same number of rounds again must not
		 * lose that much once more.
		 */
		struct mem_sample again;

		for (i = 0; i < iters; i++)
			ASSERT_EQ(0, churn_once(self->sys, self->run_size, i,
						nr_ids))
				TH_LOG("round %u: %s", i, strerror(errno));
		mem_sample(&again);
		TH_LOG("%u more rounds: MemAvailable %+ld KiB", iters,
		       again.avail_kb - after.avail_kb);
		before = after;
		after = again;
	}
	EXPECT_LE((before.avail_kb - after.avail_kb) * 1024LL, 2 * tolerance);
}

/* Close orders: every permutation of the /dev/lol, guest and vcpu fds. */
enum { SYS, GUEST, VCPU };

FIXTURE(order) {
	int fd[3];
	int vcpu2;
	size_t run_size;
	struct lol_run *run, *run2;
};

FIXTURE_VARIANT(order) {
	int first, second, third;
};

FIXTURE_VARIANT_ADD(order, sys_guest_vcpu) { SYS, GUEST, VCPU };
FIXTURE_VARIANT_ADD(order, sys_vcpu_guest) { SYS, VCPU, GUEST };
FIXTURE_VARIANT_ADD(order, guest_sys_vcpu) { GUEST, SYS, VCPU };
FIXTURE_VARIANT_ADD(order, guest_vcpu_sys) { GUEST, VCPU, SYS };
FIXTURE_VARIANT_ADD(order, vcpu_sys_guest) { VCPU, SYS, GUEST };
FIXTURE_VARIANT_ADD(order, vcpu_guest_sys) { VCPU, GUEST, SYS };

FIXTURE_SETUP(order)
{
	self->fd[SYS] = lol_open_sys();
	self->run_size = lol_ioctl_ok(self->fd[SYS], LOL_GET_VCPU_MMAP_SIZE,
				      0);
	self->fd[GUEST] = lol_ioctl_ok(self->fd[SYS], LOL_CREATE_GUEST, 0);
	self->fd[VCPU] = lol_ioctl_ok(self->fd[GUEST], LOL_CREATE_VCPU, 0);
	/* vcpu 1 is closed together with vcpu 0 */
	self->vcpu2 = lol_ioctl_ok(self->fd[GUEST], LOL_CREATE_VCPU, 1);
	self->run = lol_map_run(self->fd[VCPU], self->run_size);
	ASSERT_NE(NULL, self->run);
	self->run2 = lol_map_run(self->vcpu2, self->run_size);
	ASSERT_NE(NULL, self->run2);
}

FIXTURE_TEARDOWN(order)
{
}

TEST_F(order, close_then_munmap)
{
	const int order[3] = { variant->first, variant->second,
			       variant->third };
	bool vcpu_open = true;
	struct lol_run *again;
	int i;

	for (i = 0; i < 3; i++) {
		if (order[i] == VCPU) {
			ASSERT_EQ(0, close(self->vcpu2));
			vcpu_open = false;
		}
		ASSERT_EQ(0, close(self->fd[order[i]]));

		/* A vcpu outlives its guest fd: its run page still maps. */
		if (order[i] == GUEST && vcpu_open) {
			again = lol_map_run(self->fd[VCPU], self->run_size);
			ASSERT_NE(NULL, again) TH_LOG("%s", strerror(errno));
			EXPECT_EQ(LOL_EXIT_NONE, again->exit_reason);
			EXPECT_EQ(0, munmap(again, self->run_size));
		}
	}

	/* Every fd is closed; the run pages are still there. */
	EXPECT_EQ(LOL_EXIT_NONE, self->run->exit_reason);
	EXPECT_EQ(0, self->run->nr_exits);
	self->run->immediate_exit = 1;
	EXPECT_EQ(1, self->run->immediate_exit);
	self->run2->as_id = 42;
	EXPECT_EQ(42, self->run2->as_id);
	EXPECT_EQ(0, munmap(self->run, self->run_size));
	EXPECT_EQ(0, munmap(self->run2, self->run_size));
}

TEST_F(sys, vcpu_id_limit)
{
	long max = lol_cap(self->sys, LOL_CAP_MAX_VCPUS);
	int guest, v0, vmax;

	ASSERT_LT(0, max);
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	v0 = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);
	vmax = lol_ioctl_ok(guest, LOL_CREATE_VCPU, max - 1);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, max, EINVAL);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, max + 1, EINVAL);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, 0xffffffffUL, EINVAL);
	/* ids are not truncated to 32 bits */
	lol_ioctl_err(guest, LOL_CREATE_VCPU, 1UL << 32, EINVAL);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, ~0UL, EINVAL);
	close(vmax);
	close(v0);
	close(guest);
}

TEST_F(sys, all_vcpu_ids)
{
	long i, max = lol_cap(self->sys, LOL_CAP_MAX_VCPUS);
	int guest, *fds;

	ASSERT_LT(0, max);
	ASSERT_EQ(0, lol_raise_nofile(max + 64));
	fds = calloc(max, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	for (i = 0; i < max; i++)
		fds[i] = lol_ioctl_ok(guest, LOL_CREATE_VCPU, i);
	for (i = 0; i < max; i++)
		close(fds[i]);
	close(guest);
	free(fds);
}

TEST_F(sys, duplicate_vcpu_id)
{
	int guest, v0, v1;

	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	v0 = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, 0, EEXIST);
	v1 = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 1);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, 1, EEXIST);
	lol_ioctl_err(guest, LOL_CREATE_VCPU, 0, EEXIST);
	close(v1);
	close(v0);
	close(guest);
}

/* Another guest's vcpu ids are its own. */
TEST_F(sys, vcpu_ids_per_guest)
{
	int g1, g2, v1, v2;

	g1 = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	g2 = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	v1 = lol_ioctl_ok(g1, LOL_CREATE_VCPU, 0);
	v2 = lol_ioctl_ok(g2, LOL_CREATE_VCPU, 0);
	close(v2);
	close(v1);
	close(g2);
	close(g1);
}

/* Creates guests until failure; returns how many, fds in fds[]. */
static long fill_guests(int sys, int *fds, long max, int *err)
{
	long n;

	for (n = 0; n < max; n++) {
		fds[n] = lol_create_guest(sys, 0);
		if (fds[n] < 0) {
			*err = errno;
			return n;
		}
	}
	*err = 0;
	return n;
}

TEST_F(sys, guest_limit)
{
	long i, n, max = lol_cap(self->sys, LOL_CAP_MAX_GUESTS);
	int err, *fds;

	ASSERT_LT(0, max);
	if (max > 65536)
		SKIP(return, "LOL_CAP_MAX_GUESTS %ld: too many to open", max);
	ASSERT_EQ(0, lol_raise_nofile(max + 64));
	fds = calloc(max + 1, sizeof(*fds));
	ASSERT_NE(NULL, fds);

	n = fill_guests(self->sys, fds, max + 1, &err);
	EXPECT_EQ(max, n) TH_LOG("stopped by %s", lol_errno_name(err));
	EXPECT_STREQ("ENOSPC", lol_errno_name(err));

	/* The limit counts open guests: closing one makes room. */
	if (n > 0) {
		close(fds[n - 1]);
		fds[n - 1] = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
		lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);

	/* ... and all of them are given back on close. */
	n = fill_guests(self->sys, fds, max, &err);
	EXPECT_EQ(max, n) TH_LOG("after closing: stopped by %s",
				 lol_errno_name(err));
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

/* The guest limit is per user: another uid has its own. */
TEST_F(sys, guest_limit_per_user)
{
	long i, n, max = lol_cap(self->sys, LOL_CAP_MAX_GUESTS);
	int err, status, *fds;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	if (max > 65536)
		SKIP(return, "LOL_CAP_MAX_GUESTS %ld: too many to open", max);
	ASSERT_EQ(0, lol_raise_nofile(max + 64));
	fds = calloc(max, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	n = fill_guests(self->sys, fds, max, &err);
	ASSERT_EQ(max, n) TH_LOG("stopped by %s", lol_errno_name(err));
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 0, ENOSPC);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int guest;

		/* The /dev/lol fd works in any process. */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534,
								65534))
			_exit(2);
		guest = lol_create_guest(self->sys, 0);
		_exit(guest >= 0 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("uid 65534 could not create a guest while root is at its limit");

	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

TEST_F(sys, fds_are_cloexec)
{
	int guest, vcpu;

	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	vcpu = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);
	EXPECT_EQ(1, lol_fd_cloexec(guest));
	EXPECT_EQ(1, lol_fd_cloexec(vcpu));
	close(vcpu);
	close(guest);
}

TEST_HARNESS_MAIN
