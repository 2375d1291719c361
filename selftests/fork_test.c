// SPDX-License-Identifier: GPL-2.0
/*
 * fork_test: a guest belongs to the process that created it. A forked
 * child inherits the fds but gets EIO from every guest and vcpu ioctl and
 * from mmap of a vcpu fd; /dev/lol itself works in the child (KVM's
 * rules).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(forked) {
	int sys;
	int guest;
	int vcpu;
	int memfd;
	size_t run_size;
	struct lol_run *run;
	long has_run, has_kick, fpu_size;
	__u32 as_id;
};

FIXTURE_SETUP(forked)
{
	struct lol_phys_memory pm;

	self->sys = lol_open_sys();
	self->run_size = lol_ioctl_ok(self->sys, LOL_GET_VCPU_MMAP_SIZE, 0);
	self->has_run = lol_cap(self->sys, LOL_CAP_RUN);
	self->has_kick = lol_cap(self->sys, LOL_CAP_KICK);
	self->fpu_size = lol_cap(self->sys, LOL_CAP_FPU);
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	self->run = lol_map_run(self->vcpu, self->run_size);
	ASSERT_NE(NULL, self->run);
	self->memfd = ASSERT_SYSCALL(memfd_create("lol-phys", MFD_CLOEXEC));
	ASSERT_SYSCALL(ftruncate(self->memfd, 4 * self->run_size));
	if (self->has_run) {
		memset(&pm, 0, sizeof(pm));
		pm.fd = self->memfd;
		pm.size = 2 * self->run_size;
		lol_ioctl_ok(self->guest, LOL_SET_PHYS_MEMORY, &pm);
		ASSERT_EQ(0, lol_create_as(self->guest, &self->as_id));
	}
}

FIXTURE_TEARDOWN(forked)
{
	munmap(self->run, self->run_size);
	close(self->memfd);
	close(self->vcpu);
	close(self->guest);
	close(self->sys);
}

/*
 * Runs body in a child and fails the test unless it exits 0. The child
 * reports with EXPECT_*; an ASSERT_* in it aborts it.
 */
#define IN_CHILD(...) do {						\
	pid_t __pid = fork();						\
	int __status;							\
									\
	ASSERT_LE(0, __pid);						\
	if (__pid == 0) {						\
		__VA_ARGS__;						\
		_exit(lol_test_failed(_metadata) ? 1 : 0);			\
	}								\
	ASSERT_EQ(__pid, waitpid(__pid, &__status, 0));			\
	EXPECT_TRUE(WIFEXITED(__status) && WEXITSTATUS(__status) == 0)	\
		TH_LOG("child: %s %d", WIFEXITED(__status) ?		\
		       "exit" : "signal", WIFEXITED(__status) ?		\
		       WEXITSTATUS(__status) : WTERMSIG(__status));	\
} while (0)

TEST_F(forked, guest_ioctls_eio)
{
	IN_CHILD({
		struct lol_phys_memory pm;
		struct lol_create_as ca;
		struct lol_as_batch b;
		struct lol_as_op op;

		/* Valid arguments: only the caller is wrong. */
		lol_ioctl_err(self->guest, LOL_CREATE_VCPU, 1, EIO);
		lol_ioctl_err(self->guest, LOL_CREATE_VCPU, 0, EIO);
		if (self->has_run) {
			memset(&pm, 0, sizeof(pm));
			pm.fd = self->memfd;
			pm.size = self->run_size;
			lol_ioctl_err(self->guest, LOL_SET_PHYS_MEMORY, &pm,
				      EIO);
			memset(&ca, 0, sizeof(ca));
			lol_ioctl_err(self->guest, LOL_CREATE_AS, &ca, EIO);

			memset(&op, 0, sizeof(op));
			op.op = LOL_AS_MAP;
			op.prot = LOL_PROT_READ;
			op.addr = 0x400000;
			op.size = self->run_size;
			memset(&b, 0, sizeof(b));
			b.as_id = self->as_id;
			b.nr_ops = 1;
			b.ops = (unsigned long)&op;
			lol_ioctl_err(self->guest, LOL_AS_OPS, &b, EIO);
			lol_ioctl_err(self->guest, LOL_DESTROY_AS,
				      self->as_id, EIO);
		}
		/* Unknown ioctls too: the guest is not the child's. */
		lol_ioctl_err(self->guest, _IO(LOLIO, 0x7f), 0, EIO);
	});

	/* The parent's guest is untouched. */
	close(lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 1));
	if (self->has_run)
		lol_ioctl_ok(self->guest, LOL_DESTROY_AS, self->as_id);
}

TEST_F(forked, vcpu_ioctls_eio)
{
	IN_CHILD({
		struct lol_fpu f;
		void *buf = NULL;

		if (self->has_run) {
			lol_ioctl_err(self->vcpu, LOL_RUN, 0, EIO);
			if (self->has_kick)
				lol_ioctl_err(self->vcpu, LOL_KICK, 0, EIO);
		}
		if (self->has_run && self->fpu_size) {
			buf = calloc(1, self->fpu_size);
			memset(&f, 0, sizeof(f));
			f.addr = (unsigned long)buf;
			f.size = self->fpu_size;
			lol_ioctl_err(self->vcpu, LOL_GET_FPU, &f, EIO);
			lol_ioctl_err(self->vcpu, LOL_SET_FPU, &f, EIO);
			free(buf);
		}
		lol_ioctl_err(self->vcpu, _IO(LOLIO, 0xff), 0, EIO);
	});
}

/*
 * The run page is not inherited: a child that still had the parent's
 * mapping could rewrite the registers of the parent's next LOL_RUN.
 * MADV_DOFORK cannot bring it back either.
 */
TEST_F(forked, run_page_not_inherited)
{
	const __u64 rip = 0x400000;

	lol_pc(self->run) = rip;
	EXPECT_ERRNO(EINVAL, madvise(self->run, self->run_size, MADV_DOFORK));
	IN_CHILD({
		/* msync() fails with ENOMEM on an unmapped range. */
		EXPECT_ERRNO(ENOMEM, msync(self->run, self->run_size,
					   MS_ASYNC));
		if (msync(self->run, self->run_size, MS_ASYNC) == 0)
			lol_pc(self->run) = 0xdead000;
	});
	EXPECT_EQ(rip, lol_pc(self->run));
	/* The parent's own mapping is untouched. */
	EXPECT_EQ(0, msync(self->run, self->run_size, MS_ASYNC));
}

TEST_F(forked, vcpu_mmap_eio)
{
	IN_CHILD({
		void *p;

		p = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpu, 0);
		if (!EXPECT_ERRNO(EIO, p) && p != MAP_FAILED)
			munmap(p, self->run_size);
	});
}

TEST_F(forked, sys_fd_works_in_child)
{
	IN_CHILD({
		struct lol_run *run;
		int guest, vcpu;

		EXPECT_EQ(LOL_API_VERSION,
			  lol_ioctl_ok(self->sys, LOL_GET_API_VERSION, 0));
		EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_MAX_VCPUS));
		/* A guest the child creates is the child's. */
		guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
		vcpu = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);
		run = lol_map_run(vcpu, self->run_size);
		EXPECT_NE(NULL, run);
		if (run)
			munmap(run, self->run_size);
		close(vcpu);
		close(guest);
	});
}

/* A child's own guest is in turn refused to the grandchild. */
TEST_F(forked, grandchild)
{
	IN_CHILD({
		int guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);

		IN_CHILD({
			lol_ioctl_err(guest, LOL_CREATE_VCPU, 0, EIO);
			lol_ioctl_err(self->guest, LOL_CREATE_VCPU, 2, EIO);
		});
		close(lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0));
		close(guest);
	});
}

struct thread_arg {
	int guest;
	int vcpu;
	int err;
};

static void *create_vcpu_thread(void *p)
{
	struct thread_arg *a = p;

	a->vcpu = lol_create_vcpu(a->guest, 3);
	a->err = a->vcpu < 0 ? errno : 0;
	return NULL;
}

/* Other threads of the creating process are the creating process. */
TEST_F(forked, other_thread_works)
{
	struct thread_arg a = { .guest = self->guest };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, create_vcpu_thread, &a));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_LE(0, a.vcpu) TH_LOG("%s", lol_errno_name(a.err));
	if (a.vcpu >= 0)
		close(a.vcpu);
}

TEST_HARNESS_MAIN
