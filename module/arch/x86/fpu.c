// SPDX-License-Identifier: GPL-2.0
/*
 * lol x86_64: guest FP/vector state. It uses the host's KVM guest-FPU API:
 * each vcpu has its own struct fpstate, swapped in as the thread's FP state
 * for guest mode, so the monitor and the guest never see each other's
 * x87/SSE/AVX/AVX-512 registers, and a context switch in guest mode saves
 * the guest's.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/fpu/xstate.h>

#include "lol.h"

/* Linux's PKRU for new tasks: key 0 allowed, all others access-disabled. */
#define LOL_INIT_PKRU	0x55555554U

static unsigned int lol_fpu_uabi_size;

int lol_arch_init(void)
{
	struct fpu_guest probe = {};

	if (!fpu_alloc_guest_fpstate(&probe))
		return -ENOMEM;
	lol_fpu_uabi_size = probe.uabi_size;
	fpu_free_guest_fpstate(&probe);
	return 0;
}

unsigned int lol_arch_fpu_size(void)
{
	return lol_fpu_uabi_size;
}

int lol_arch_vcpu_init(struct lol_vcpu *vcpu)
{
	struct lol_arch_vcpu *a = &vcpu->arch;

	if (!fpu_alloc_guest_fpstate(&a->gfpu))
		return -ENOMEM;
	/*
	 * One bounce buffer for the vcpu's life, not one per call: a guest
	 * kernel moves FP state on every switch between its processes. The
	 * FPU ioctls own the vcpu (its running flag) while they use it.
	 */
	a->fpu_buf = kvzalloc(lol_fpu_uabi_size, GFP_KERNEL_ACCOUNT);
	if (!a->fpu_buf) {
		fpu_free_guest_fpstate(&a->gfpu);
		return -ENOMEM;
	}
	/*
	 * Dynamic features (AMX) stay disabled for guests: their state does
	 * not fit the default buffer, and enabling them would reallocate the
	 * thread's FP state under the vcpu.
	 */
	if (cpu_feature_enabled(X86_FEATURE_XFD))
		fpu_update_guest_xfd(&a->gfpu, XFEATURE_MASK_USER_DYNAMIC);
	a->guest_pkru = LOL_INIT_PKRU;
	return 0;
}

void lol_arch_vcpu_destroy(struct lol_vcpu *vcpu)
{
	kvfree(vcpu->arch.fpu_buf);
	fpu_free_guest_fpstate(&vcpu->arch.gfpu);
}

/* The copy writes every byte of the buffer: nothing stale reaches user. */
int lol_arch_get_fpu(struct lol_vcpu *vcpu, void __user *ubuf)
{
	struct lol_arch_vcpu *a = &vcpu->arch;

	fpu_copy_guest_fpstate_to_uabi(&a->gfpu, a->fpu_buf, lol_fpu_uabi_size,
				       a->gfpu.xfeatures & XFEATURE_MASK_USER_SUPPORTED,
				       a->guest_pkru);
	if (copy_to_user(ubuf, a->fpu_buf, lol_fpu_uabi_size))
		return -EFAULT;
	return 0;
}

int lol_arch_set_fpu(struct lol_vcpu *vcpu, const void __user *ubuf)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	u32 pkru = a->guest_pkru;
	int ret;

	if (copy_from_user(a->fpu_buf, ubuf, lol_fpu_uabi_size))
		return -EFAULT;
	ret = fpu_copy_uabi_to_guest_fpstate(&a->gfpu, a->fpu_buf,
					     a->gfpu.xfeatures & XFEATURE_MASK_USER_SUPPORTED,
					     &pkru);
	if (!ret)
		a->guest_pkru = pkru;
	return ret;
}
