// SPDX-License-Identifier: GPL-2.0
/*
 * lol arm64: guest FP/SIMD state.
 *
 * arm64 keeps a thread's user FP state lazily: live in the CPU, or saved
 * in the thread struct with TIF_FOREIGN_FPSTATE set, and reloaded on the
 * way back to user mode. kernel_neon_begin() is the exported way to get
 * it saved and the CPU's copy forgotten; inside it (preemption off, the
 * FP context owned) lol swaps the thread struct's copy with the vcpu's,
 * and the return to user mode loads the other side's.
 *
 * Only the FP/SIMD registers (v0-v31, fpsr, fpcr) are kept, for the guest
 * and the monitor alike: SVE's wider Z registers, P registers and FFR,
 * and SME's streaming mode and ZA, are dropped at every swap, keeping the
 * V registers they contain (what a syscall does to SVE state already).
 * So no SVE or SME state ever crosses between guest and monitor, and the
 * thread never holds a vector length or layout the other side did not
 * set up: after a swap the thread is in FPSIMD-only state, and SVE traps
 * again on first use, which sets the state up afresh, zeroed.
 */
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/fpsimd.h>
#include <asm/neon.h>
#include <asm/sigcontext.h>

#include "lol.h"

static_assert(sizeof(struct lol_fpsimd) == sizeof(struct user_fpsimd_state));

/*
 * The thread's saved state to FPSIMD-only: the V registers are the low
 * 128 bits of the Z registers (streaming ones in SME's streaming mode).
 * Little-endian only, as the kernel's own conversion is without a swap.
 */
static void lol_fp_flatten(struct thread_struct *t)
{
	unsigned int vq, i;

	BUILD_BUG_ON(IS_ENABLED(CONFIG_CPU_BIG_ENDIAN));
	if (t->fp_type == FP_STATE_SVE) {
		vq = sve_vq_from_vl(thread_get_cur_vl(t));
		for (i = 0; i < ARRAY_SIZE(t->uw.fpsimd_state.vregs); i++)
			memcpy(&t->uw.fpsimd_state.vregs[i],
			       (char *)t->sve_state +
			       SVE_SIG_ZREG_OFFSET(vq, i) - SVE_SIG_REGS_OFFSET,
			       sizeof(t->uw.fpsimd_state.vregs[i]));
		t->fp_type = FP_STATE_FPSIMD;
	}
	clear_thread_flag(TIF_SVE);
	/* Out of streaming mode, ZA off: task_fpsimd_load() writes SVCR. */
	if (system_supports_sme())
		t->svcr = 0;
}

/*
 * Save the thread's FP/SIMD state to @save and make @load its state, as
 * the return to user mode will load it.
 */
void lol_arch_fp_swap(struct user_fpsimd_state *save,
		      const struct user_fpsimd_state *load)
{
	struct thread_struct *t = &current->thread;

	/* Saves the live registers and marks the CPU's copy stale. */
	kernel_neon_begin();
	lol_fp_flatten(t);
	*save = t->uw.fpsimd_state;
	t->uw.fpsimd_state = *load;
	kernel_neon_end();
}

unsigned int lol_arch_fpu_size(void)
{
	return sizeof(struct lol_fpsimd);
}

/* A new guest's FP state is a new process's: all zero (fpcr too). */
int lol_arch_vcpu_init(struct lol_vcpu *vcpu)
{
	memset(&vcpu->arch.gfp, 0, sizeof(vcpu->arch.gfp));
	return 0;
}

void lol_arch_vcpu_destroy(struct lol_vcpu *vcpu)
{
}

int lol_arch_get_fpu(struct lol_vcpu *vcpu, void __user *ubuf)
{
	struct lol_fpsimd buf;

	memset(&buf, 0, sizeof(buf));
	memcpy(buf.vregs, vcpu->arch.gfp.vregs, sizeof(buf.vregs));
	buf.fpsr = vcpu->arch.gfp.fpsr;
	buf.fpcr = vcpu->arch.gfp.fpcr;
	if (copy_to_user(ubuf, &buf, sizeof(buf)))
		return -EFAULT;
	return 0;
}

int lol_arch_set_fpu(struct lol_vcpu *vcpu, const void __user *ubuf)
{
	struct lol_fpsimd buf;

	if (copy_from_user(&buf, ubuf, sizeof(buf)))
		return -EFAULT;
	if (buf.reserved[0] || buf.reserved[1])
		return -EINVAL;
	memcpy(vcpu->arch.gfp.vregs, buf.vregs, sizeof(buf.vregs));
	vcpu->arch.gfp.fpsr = buf.fpsr;
	vcpu->arch.gfp.fpcr = buf.fpcr;
	return 0;
}
