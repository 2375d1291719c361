// SPDX-License-Identifier: GPL-2.0
/*
 * fptrap_test: LOL_CAP_FPTRAP and LOL_ENABLE_CAP. The capability reads
 * the FP/vector banks whose first guest use can be made to trap; where it
 * reads 0 (x86: no bank is offered) LOL_ENABLE_CAP fails with EOPNOTSUPP.
 * Malformed requests fail with EINVAL either way, and a bank the port
 * does not offer is refused. Whether an armed bank traps needs guest code
 * for that bank, which only the port's own tests have: where the cap is
 * present, this test checks arming and disarming and says so.
 */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(vcpu) {
	int sys;
	int guest;
	int vcpu;
	long banks;
};

FIXTURE_SETUP(vcpu)
{
	self->sys = lol_open_sys();
	self->guest = lol_ioctl_ok(self->sys, LOL_CREATE_GUEST, 0);
	self->vcpu = lol_ioctl_ok(self->guest, LOL_CREATE_VCPU, 0);
	self->banks = lol_cap(self->sys, LOL_CAP_FPTRAP);
}

FIXTURE_TEARDOWN(vcpu)
{
	close(self->vcpu);
	close(self->guest);
	close(self->sys);
}

static struct lol_enable_cap fptrap(__u64 banks)
{
	struct lol_enable_cap ec;

	memset(&ec, 0, sizeof(ec));
	ec.cap = LOL_CAP_FPTRAP;
	ec.args[0] = banks;
	return ec;
}

/* Only the bits uapi defines, and on x86 none (no XFD bank is offered). */
TEST_F(vcpu, cap_value)
{
	EXPECT_EQ(0, self->banks & ~(long)(LOL_FPTRAP_LOW | LOL_FPTRAP_HIGH));
#if defined(__x86_64__) || defined(__i386__)
	EXPECT_EQ(0, self->banks);
#endif
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		EXPECT_EQ(0, self->banks);
}

TEST_F(vcpu, absent_is_eopnotsupp)
{
	struct lol_enable_cap ec;

	if (self->banks)
		SKIP(return, "LOL_CAP_FPTRAP present (%#lx)", self->banks);
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent: LOL_ENABLE_CAP is ENOTTY");
	ec = fptrap(LOL_FPTRAP_HIGH);
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EOPNOTSUPP);
	ec = fptrap(LOL_FPTRAP_LOW);
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EOPNOTSUPP);
	/* Disarming what cannot be armed is not supported either. */
	ec = fptrap(0);
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EOPNOTSUPP);
}

/* EINVAL comes before EOPNOTSUPP: the request itself is checked first. */
TEST_F(vcpu, malformed_is_einval)
{
	struct lol_enable_cap ec;
	int i;

	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent: LOL_ENABLE_CAP is ENOTTY");
	ec = fptrap(0);
	ec.flags = 1;
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	for (i = 0; i < 4; i++) {
		ec = fptrap(0);
		ec.reserved[i] = 1;
		lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	}
	/* Caps that cannot be enabled, known or not. */
	ec = fptrap(0);
	ec.cap = LOL_CAP_RUN;
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	ec.cap = 0;
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	ec.cap = 9999;
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	/* Not on the other fds. */
	ec = fptrap(0);
	lol_ioctl_err(self->sys, LOL_ENABLE_CAP, &ec, ENOTTY);
	lol_ioctl_err(self->guest, LOL_ENABLE_CAP, &ec, ENOTTY);
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, NULL, EFAULT);
}

/* Where present: each offered bank arms and disarms, others are refused. */
TEST_F(vcpu, present_arms_offered_banks)
{
	struct lol_enable_cap ec;
	int i;

	if (!self->banks)
		SKIP(return, "LOL_CAP_FPTRAP absent");
	ec = fptrap(self->banks);
	lol_ioctl_ok(self->vcpu, LOL_ENABLE_CAP, &ec);
	ec = fptrap(0);
	lol_ioctl_ok(self->vcpu, LOL_ENABLE_CAP, &ec);
	for (i = 0; i < 64; i++) {
		if (self->banks & (1L << i))
			continue;
		ec = fptrap(1ULL << i);
		lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	}
	ec = fptrap(0);
	ec.args[1] = 1;
	lol_ioctl_err(self->vcpu, LOL_ENABLE_CAP, &ec, EINVAL);
	SKIP(return, "the trap itself needs guest code for the banks: the port's tests");
}

TEST_HARNESS_MAIN
