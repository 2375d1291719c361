// SPDX-License-Identifier: GPL-2.0
/*
 * api_test: the /dev/lol ioctls, capabilities, unknown ioctls and the
 * binary layout of the uapi structures.
 */
#include <stddef.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(sys) {
	int sys;
};

FIXTURE_SETUP(sys)
{
	self->sys = lol_open_sys();
}

FIXTURE_TEARDOWN(sys)
{
	close(self->sys);
}

TEST_F(sys, api_version)
{
	EXPECT_EQ(LOL_API_VERSION, lol_ioctl_ok(self->sys,
						LOL_GET_API_VERSION, 0));
	EXPECT_EQ(2, LOL_API_VERSION);
	lol_ioctl_err(self->sys, LOL_GET_API_VERSION, 1, EINVAL);
	lol_ioctl_err(self->sys, LOL_GET_API_VERSION, 1UL << 32, EINVAL);
	lol_ioctl_err(self->sys, LOL_GET_API_VERSION, ~0UL, EINVAL);
}

TEST_F(sys, unknown_caps_are_absent)
{
	static const unsigned long unknown[] = {
		0, LOL_CAP_LAST_KNOWN + 1, 9999, 0x7fffffff, 0xffffffff,
		/* a known cap in the low 32 bits must not be mistaken */
		(1UL << 32) | LOL_CAP_RUN, (1UL << 32) | LOL_CAP_MAX_VCPUS,
		~0UL,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		EXPECT_EQ(0, lol_cap(self->sys, unknown[i]))
			TH_LOG("cap %#lx", unknown[i]);
	}
}

TEST_F(sys, caps)
{
	unsigned long cap;
	long val;

	for (cap = 1; cap <= 64; cap++) {
		val = lol_cap(self->sys, cap);
		EXPECT_LE(0, val) TH_LOG("%s (%lu)", lol_cap_name(cap), cap);
		if (cap <= LOL_CAP_LAST_KNOWN)
			TH_LOG("%-24s (%2lu) = %ld", lol_cap_name(cap), cap,
			       val);
	}
	EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_MAX_VCPUS));
	EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_MAX_GUESTS));
}

TEST_F(sys, run_caps_consistent)
{
	long run = lol_cap(self->sys, LOL_CAP_RUN);

	if (!run)
		SKIP(return, "LOL_CAP_RUN absent");
	/* An AS needs room for at least one AS, op and mapping. */
	EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_MAX_AS));
	EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_AS_BATCH));
	EXPECT_LT(0, lol_cap(self->sys, LOL_CAP_MAX_MAPPINGS));
}

TEST_F(sys, fpu_cap_is_xsave_size)
{
	long size;

	LOL_REQUIRE_CAP(self->sys, LOL_CAP_FPU);
	size = lol_cap(self->sys, LOL_CAP_FPU);
#ifdef __aarch64__
	/* arm64: struct lol_fpsimd, v0-v31, fpsr, fpcr */
	EXPECT_EQ(sizeof(struct lol_fpsimd), size);
#else
	/* legacy region (512) + XSAVE header (64) at least */
	EXPECT_LE(576, size) TH_LOG("xsave size %ld", size);
#endif
}

TEST_F(sys, vcpu_mmap_size)
{
	long size = lol_ioctl_ok(self->sys, LOL_GET_VCPU_MMAP_SIZE, 0);

	EXPECT_EQ(sysconf(_SC_PAGESIZE), size);
	EXPECT_LE(sizeof(struct lol_run), (size_t)size);
	lol_ioctl_err(self->sys, LOL_GET_VCPU_MMAP_SIZE, 1, EINVAL);
	lol_ioctl_err(self->sys, LOL_GET_VCPU_MMAP_SIZE, 1UL << 32, EINVAL);
}

TEST_F(sys, create_guest_type)
{
	int guest;

	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 1, EINVAL);
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, 1UL << 32, EINVAL);
	lol_ioctl_err(self->sys, LOL_CREATE_GUEST, ~0UL, EINVAL);
	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	EXPECT_EQ(0, close(guest));
}

/*
 * Numbers no fd type knows: other ioctl types, unused numbers in ours,
 * and real numbers with the wrong direction or size encoded.
 */
static const unsigned long unknown_ioctls[] = {
	_IO(LOLIO, 0x3f),
	_IO(LOLIO, 0x7f),
	_IO(LOLIO, 0xbf),
	_IO(LOLIO, 0xff),
	_IO('Z', 0x00),
	_IO(0xAE, 0x00),		/* KVM_GET_API_VERSION */
	_IOR(LOLIO, 0x00, __u32),	/* LOL_GET_API_VERSION, wrong dir */
	_IOW(LOLIO, 0x41, __u64),	/* LOL_SET_PHYS_MEMORY, wrong size */
	_IOR(LOLIO, 0x41, struct lol_phys_memory),
	_IOW(LOLIO, 0x42, struct lol_create_as),
	_IOWR(LOLIO, 0x44, __u64),	/* LOL_AS_OPS, wrong size */
	_IOW(LOLIO, 0x84, __u64),	/* LOL_SET_SYSCALL_RANGES, wrong size */
	_IOR(LOLIO, 0x85, __u32),	/* LOL_RESUME with a struct */
	_IO(LOLIO, 0x82),		/* LOL_GET_FPU without a struct */
	_IOWR(LOLIO, 0x83, struct lol_fpu),
};

static void expect_unknown_ioctls(struct __test_metadata *_metadata, int fd,
				  const char *what)
{
	char buf[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(unknown_ioctls); i++) {
		memset(buf, 0, sizeof(buf));
		if (!lol_ioctl_err(fd, unknown_ioctls[i], buf, ENOTTY))
			TH_LOG("%s fd, cmd %#lx", what, unknown_ioctls[i]);
	}
}

TEST_F(sys, unknown_ioctls)
{
	int guest, vcpu;

	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	vcpu = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);

	expect_unknown_ioctls(_metadata, self->sys, "/dev/lol");
	expect_unknown_ioctls(_metadata, guest, "guest");
	expect_unknown_ioctls(_metadata, vcpu, "vcpu");

	close(vcpu);
	close(guest);
}

/* An ioctl of one fd type is unknown on the others. */
TEST_F(sys, foreign_ioctls)
{
	struct lol_syscall_ranges ranges;
	struct lol_phys_memory pm;
	struct lol_create_as ca;
	struct lol_as_batch batch;
	struct lol_fpu fpu;
	int guest, vcpu;

	memset(&ranges, 0, sizeof(ranges));
	memset(&pm, 0, sizeof(pm));
	memset(&ca, 0, sizeof(ca));
	memset(&batch, 0, sizeof(batch));
	memset(&fpu, 0, sizeof(fpu));

	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	vcpu = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);

	/* guest and vcpu ioctls on /dev/lol */
	lol_ioctl_err(self->sys, LOL_CREATE_VCPU, 0, ENOTTY);
	lol_ioctl_err(self->sys, LOL_SET_PHYS_MEMORY, &pm, ENOTTY);
	lol_ioctl_err(self->sys, LOL_CREATE_AS, &ca, ENOTTY);
	lol_ioctl_err(self->sys, LOL_DESTROY_AS, 0, ENOTTY);
	lol_ioctl_err(self->sys, LOL_AS_OPS, &batch, ENOTTY);
	lol_ioctl_err(self->sys, LOL_RUN, 0, ENOTTY);
	lol_ioctl_err(self->sys, LOL_KICK, 0, ENOTTY);
	lol_ioctl_err(self->sys, LOL_GET_FPU, &fpu, ENOTTY);
	lol_ioctl_err(self->sys, LOL_SET_FPU, &fpu, ENOTTY);
	lol_ioctl_err(self->sys, LOL_SET_SYSCALL_RANGES, &ranges, ENOTTY);
	lol_ioctl_err(self->sys, LOL_RESUME, 0, ENOTTY);

	/* /dev/lol and vcpu ioctls on a guest */
	lol_ioctl_err(guest, LOL_GET_API_VERSION, 0, ENOTTY);
	lol_ioctl_err(guest, LOL_CHECK_EXTENSION, LOL_CAP_RUN, ENOTTY);
	lol_ioctl_err(guest, LOL_CREATE_GUEST, 0, ENOTTY);
	lol_ioctl_err(guest, LOL_GET_VCPU_MMAP_SIZE, 0, ENOTTY);
	lol_ioctl_err(guest, LOL_RUN, 0, ENOTTY);
	lol_ioctl_err(guest, LOL_KICK, 0, ENOTTY);
	lol_ioctl_err(guest, LOL_GET_FPU, &fpu, ENOTTY);
	lol_ioctl_err(guest, LOL_SET_FPU, &fpu, ENOTTY);
	lol_ioctl_err(guest, LOL_SET_SYSCALL_RANGES, &ranges, ENOTTY);
	lol_ioctl_err(guest, LOL_RESUME, 0, ENOTTY);

	/* /dev/lol and guest ioctls on a vcpu */
	lol_ioctl_err(vcpu, LOL_GET_API_VERSION, 0, ENOTTY);
	lol_ioctl_err(vcpu, LOL_CHECK_EXTENSION, LOL_CAP_RUN, ENOTTY);
	lol_ioctl_err(vcpu, LOL_CREATE_GUEST, 0, ENOTTY);
	lol_ioctl_err(vcpu, LOL_GET_VCPU_MMAP_SIZE, 0, ENOTTY);
	lol_ioctl_err(vcpu, LOL_CREATE_VCPU, 1, ENOTTY);
	lol_ioctl_err(vcpu, LOL_SET_PHYS_MEMORY, &pm, ENOTTY);
	lol_ioctl_err(vcpu, LOL_CREATE_AS, &ca, ENOTTY);
	lol_ioctl_err(vcpu, LOL_DESTROY_AS, 0, ENOTTY);
	lol_ioctl_err(vcpu, LOL_AS_OPS, &batch, ENOTTY);

	close(vcpu);
	close(guest);
}

/* An ioctl whose capability is absent does not exist: ENOTTY. */
TEST_F(sys, absent_caps_have_no_ioctls)
{
	struct lol_syscall_ranges ranges;
	struct lol_phys_memory pm;
	struct lol_create_as ca;
	struct lol_as_batch batch;
	struct lol_fpu fpu;
	int guest, vcpu, checked = 0;

	memset(&ranges, 0, sizeof(ranges));
	memset(&pm, 0, sizeof(pm));
	memset(&ca, 0, sizeof(ca));
	memset(&batch, 0, sizeof(batch));
	memset(&fpu, 0, sizeof(fpu));

	guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	vcpu = lol_ioctl_ok(guest, LOL_CREATE_VCPU, 0);

	if (!lol_cap(self->sys, LOL_CAP_RUN)) {
		lol_ioctl_err(guest, LOL_SET_PHYS_MEMORY, &pm, ENOTTY);
		lol_ioctl_err(guest, LOL_CREATE_AS, &ca, ENOTTY);
		lol_ioctl_err(guest, LOL_DESTROY_AS, 0, ENOTTY);
		lol_ioctl_err(guest, LOL_AS_OPS, &batch, ENOTTY);
		lol_ioctl_err(vcpu, LOL_RUN, 0, ENOTTY);
		checked++;
	}
	if (!lol_cap(self->sys, LOL_CAP_KICK)) {
		lol_ioctl_err(vcpu, LOL_KICK, 0, ENOTTY);
		checked++;
	}
	if (!lol_cap(self->sys, LOL_CAP_FPU)) {
		lol_ioctl_err(vcpu, LOL_GET_FPU, &fpu, ENOTTY);
		lol_ioctl_err(vcpu, LOL_SET_FPU, &fpu, ENOTTY);
		checked++;
	}

	if (!lol_cap(self->sys, LOL_CAP_SYSCALL_RANGES)) {
		lol_ioctl_err(vcpu, LOL_SET_SYSCALL_RANGES, &ranges, ENOTTY);
		checked++;
	}
	if (!lol_cap(self->sys, LOL_CAP_REFLECT)) {
		lol_ioctl_err(vcpu, LOL_RESUME, 0, ENOTTY);
		checked++;
	}

	close(vcpu);
	close(guest);
	if (!checked)
		SKIP(return, "every capability with ioctls is present");
}

TEST_F(sys, sys_fd_is_cloexec)
{
	EXPECT_EQ(1, lol_fd_cloexec(self->sys));
}

/*
 * The binary interface: sizes and offsets a 32/64-bit or compiler
 * change must not move. A failure means the uapi header changed.
 */
TEST(abi_layout)
{
	EXPECT_EQ(0xB2, LOLIO);
	EXPECT_EQ(48, sizeof(struct lol_phys_memory));
	EXPECT_EQ(32, sizeof(struct lol_create_as));
	EXPECT_EQ(40, sizeof(struct lol_as_op));
	EXPECT_EQ(40, sizeof(struct lol_as_batch));
	EXPECT_EQ(32, sizeof(struct lol_fpu));
	EXPECT_EQ(72, sizeof(struct lol_exit_syscall));
	EXPECT_EQ(32, sizeof(struct lol_exit_fault));
	EXPECT_EQ(32, sizeof(struct lol_exit_trap));

	EXPECT_EQ(0, offsetof(struct lol_run, immediate_exit));
	EXPECT_EQ(4, offsetof(struct lol_run, as_id));
	EXPECT_EQ(8, offsetof(struct lol_run, flags));
	EXPECT_EQ(16, offsetof(struct lol_run, reserved_in));
	EXPECT_EQ(64, offsetof(struct lol_run, exit_reason));
	EXPECT_EQ(72, offsetof(struct lol_run, nr_exits));
	/* The rule for every arch: the same offsets up to regs, the tail. */
	EXPECT_EQ(128, offsetof(struct lol_run, syscall));
	EXPECT_EQ(128, offsetof(struct lol_run, fault));
	EXPECT_EQ(128, offsetof(struct lol_run, trap));
	EXPECT_EQ(128, offsetof(struct lol_run, padding));
	EXPECT_EQ(384, offsetof(struct lol_run, regs));
	EXPECT_EQ(384 + sizeof(struct lol_regs), sizeof(struct lol_run));
	/* LOL_RUN copies the registers 32 bytes at a time (run.c). */
	EXPECT_EQ(0, offsetof(struct lol_run, regs) % 32);

#ifdef __aarch64__
	EXPECT_EQ(384, sizeof(struct lol_regs));
	EXPECT_EQ(248, offsetof(struct lol_regs, sp));
	EXPECT_EQ(256, offsetof(struct lol_regs, pc));
	EXPECT_EQ(264, offsetof(struct lol_regs, pstate));
	EXPECT_EQ(272, offsetof(struct lol_regs, tpidr));
	EXPECT_EQ(280, offsetof(struct lol_regs, tpidr2));
	EXPECT_EQ(528, sizeof(struct lol_fpsimd));
#else
	EXPECT_EQ(256, sizeof(struct lol_regs));
	EXPECT_EQ(128, offsetof(struct lol_regs, rip));
	EXPECT_EQ(136, offsetof(struct lol_regs, rflags));
	EXPECT_EQ(144, offsetof(struct lol_regs, fs_base));
	EXPECT_EQ(152, offsetof(struct lol_regs, gs_base));
#endif

	EXPECT_EQ(sizeof(struct lol_phys_memory),
		  _IOC_SIZE(LOL_SET_PHYS_MEMORY));
	EXPECT_EQ(sizeof(struct lol_create_as), _IOC_SIZE(LOL_CREATE_AS));
	EXPECT_EQ(sizeof(struct lol_as_batch), _IOC_SIZE(LOL_AS_OPS));
	EXPECT_EQ(sizeof(struct lol_fpu), _IOC_SIZE(LOL_GET_FPU));
	EXPECT_EQ(sizeof(struct lol_fpu), _IOC_SIZE(LOL_SET_FPU));

	EXPECT_EQ(32, sizeof(struct lol_syscall_range));
	EXPECT_EQ(16, LOL_MAX_SYSCALL_RANGES);
	EXPECT_EQ(64, offsetof(struct lol_syscall_ranges, ranges));
	EXPECT_EQ(64 + 16 * 32, sizeof(struct lol_syscall_ranges));
	EXPECT_EQ(sizeof(struct lol_syscall_ranges),
		  _IOC_SIZE(LOL_SET_SYSCALL_RANGES));
}

TEST_HARNESS_MAIN
