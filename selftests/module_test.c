// SPDX-License-Identifier: GPL-2.0
/*
 * module_test: every lol fd and run page mapping pins the module; with none
 * left it unloads cleanly and /dev/lol goes away. The test then loads it
 * again from $LOL_KO (with $LOL_MODULE_PARAMS), so that it runs anywhere
 * in a suite; without LOL_KO it is SKIPped. Needs CAP_SYS_MODULE.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define MODULE_NAME	"lol"

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags);
}

static int finit_module(int fd, const char *params, int flags)
{
	return syscall(SYS_finit_module, fd, params, flags);
}

static bool module_loaded(void)
{
	return access("/sys/module/" MODULE_NAME "/initstate", F_OK) == 0;
}

static int load_module(void)
{
	const char *ko = getenv("LOL_KO");
	const char *params = getenv("LOL_MODULE_PARAMS");
	int fd, ret, err;

	if (!ko)
		return -1;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = finit_module(fd, params ? params : "", 0);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

FIXTURE(module) {
	int sys, guest, vcpu;
	size_t run_size;
	struct lol_run *run;
};

FIXTURE_SETUP(module)
{
	self->sys = self->guest = self->vcpu = -1;
	if (!getenv("LOL_KO") || !module_loaded())
		return;	/* the test SKIPs */
	self->sys = lol_open_sys();
	self->run_size = lol_ioctl_ok(self->sys, LOL_GET_VCPU_MMAP_SIZE, 0);
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	self->run = lol_map_run(self->vcpu, self->run_size);
	ASSERT_NE(NULL, self->run);
}

/* Whatever happened, leave the module loaded for the tests after this. */
FIXTURE_TEARDOWN(module)
{
	if (self->run)
		munmap(self->run, self->run_size);
	if (self->vcpu >= 0)
		close(self->vcpu);
	if (self->guest >= 0)
		close(self->guest);
	if (self->sys >= 0)
		close(self->sys);
	if (getenv("LOL_KO") && !module_loaded() && load_module())
		TH_LOG("could not reload %s: %s", getenv("LOL_KO"),
		       strerror(errno));
}

/* delete_module() must refuse: something still holds the module. */
#define EXPECT_PINNED(what) do {					\
	int __r = delete_module(MODULE_NAME, O_NONBLOCK);		\
	int __e = errno;						\
									\
	if (__r == 0) {							\
		TH_LOG("module unloaded while %s was open", what);	\
		EXPECT_EQ(0, load_module());				\
	}								\
	EXPECT_STREQ("EAGAIN", __r ? lol_errno_name(__e) : "success")	\
		TH_LOG("%s held", what);				\
} while (0)

TEST_F_TIMEOUT(module, unload_reload, 120)
{
	struct stat st;
	int sys, tries;

	if (!getenv("LOL_KO"))
		SKIP(return, "LOL_KO not set (path of lol.ko to reload)");
	if (!module_loaded())
		SKIP(return, "module " MODULE_NAME " not loaded as a module");
	if (delete_module("lol_no_such_module", O_NONBLOCK) &&
	    errno == EPERM)
		SKIP(return, "no CAP_SYS_MODULE");

	/* Every holder alone pins the module. */
	EXPECT_PINNED("sys, guest, vcpu fds and the run page");
	close(self->sys);
	self->sys = -1;
	EXPECT_PINNED("the guest fd, the vcpu fd and the run page");
	close(self->guest);
	self->guest = -1;
	EXPECT_PINNED("the vcpu fd and the run page");
	close(self->vcpu);
	self->vcpu = -1;
	EXPECT_PINNED("the run page mapping");
	EXPECT_EQ(0, munmap(self->run, self->run_size));
	self->run = NULL;

	/* A guest fd alone, a vcpu fd alone. */
	sys = lol_open_sys();
	self->guest = lol_ioctl_ok(sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	close(sys);
	close(self->vcpu);
	self->vcpu = -1;
	EXPECT_PINNED("a guest fd");
	sys = lol_open_sys();
	close(self->guest);
	self->guest = lol_ioctl_ok(sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	close(sys);
	close(self->guest);
	self->guest = -1;
	EXPECT_PINNED("a vcpu fd");
	close(self->vcpu);
	self->vcpu = -1;

	/*
	 * Nothing is held now. Deferred releases (RCU, task_work) have all
	 * run when close() returns, so the first try must succeed; retries
	 * only tell a slow release from a leaked reference in the log.
	 */
	for (tries = 1; tries <= 50; tries++) {
		if (!delete_module(MODULE_NAME, O_NONBLOCK) || errno != EAGAIN)
			break;
		usleep(100 * 1000);
	}
	ASSERT_FALSE(module_loaded())
		TH_LOG("delete_module: %s after %d tries", strerror(errno),
		       tries);
	EXPECT_EQ(1, tries)
		TH_LOG("busy after every fd was closed; unloaded after %d tries",
		       tries);
	EXPECT_ERRNO(ENOENT, stat(LOL_DEVICE, &st));
	EXPECT_ERRNO(ENOENT, lol_open());

	/* Back again, and working. */
	ASSERT_EQ(0, load_module()) TH_LOG("finit_module(%s): %s",
					   getenv("LOL_KO"), strerror(errno));
	EXPECT_TRUE(module_loaded());
	sys = lol_open_sys();
	EXPECT_EQ(LOL_API_VERSION, lol_ioctl_ok(sys, LOL_GET_API_VERSION, 0));
	close(lol_ioctl_ok(sys, LOL_CREATE_GUEST, 0));
	close(sys);
}

TEST_HARNESS_MAIN
