// SPDX-License-Identifier: GPL-2.0
/*
 * lol ia64: guest FP state and the FP trap (LOL_CAP_FPTRAP).
 *
 * f2-f31 are switched with the other registers (regs.c); f32-f127, the
 * high partition, the kernel switches lazily: a task's copy is in
 * thread.fph, psr.dfh makes the first use after a switch fault, and the
 * fault loads thread.fph (disabled_fph_fault()). lol swaps thread.fph
 * between monitor and guest at each entry and exit after
 * ia64_sync_fph() has made it the current copy and given up the CPU's
 * (so psr.dfh is set and the next use loads the swapped-in copy).
 *
 * The FP trap: with LOL_FPTRAP_LOW the guest runs with psr.dfl set, and
 * its first use of f2-f31 raises the Disabled FP-Register fault, which
 * the kernel answers with SIGILL (it never sets dfl itself): an exit.
 * With LOL_FPTRAP_HIGH, the guest's first use of f32-f127 ends in the
 * kernel loading thread.fph with __ia64_load_fpu(), which lol kprobes:
 * for an armed guest it records the trap and raises SIGILL. Either way
 * the faulting instruction has not run, and the bank disarms itself.
 */
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/uaccess.h>

#include "lol.h"

unsigned int lol_arch_fpu_size(void)
{
	return sizeof(struct lol_fpu_ia64);
}

int lol_arch_vcpu_init(struct lol_vcpu *vcpu)
{
	/* The vcpu is zeroed: all FP registers +0.0, nothing armed. */
	return 0;
}

void lol_arch_vcpu_destroy(struct lol_vcpu *vcpu)
{
}

/* Exchange f32-f127 of the side that leaves with the vcpu's copy. */
void lol_ia64_fph_swap(struct lol_vcpu *vcpu)
{
	struct ia64_fpreg *fph = current->thread.fph;
	struct ia64_fpreg t;
	int i;

	lol_ia64.sync_fph(current);
	for (i = 0; i < ARRAY_SIZE(vcpu->arch.fph); i++) {
		t = fph[i];
		fph[i] = vcpu->arch.fph[i];
		vcpu->arch.fph[i] = t;
	}
}

/* The vcpu's FP state while the monitor runs: f2-f31 and fph[]. */
int lol_arch_get_fpu(struct lol_vcpu *vcpu, void __user *ubuf)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct ia64_fpreg __user *u = ubuf;
	static const struct ia64_fpreg zero[2];

	BUILD_BUG_ON(sizeof(struct ia64_fpreg) != 16);
	if (copy_to_user(u, zero, sizeof(zero)) ||
	    copy_to_user(u + 2, a->guest.fr, sizeof(a->guest.fr)) ||
	    copy_to_user(u + 32, a->fph, sizeof(a->fph)))
		return -EFAULT;
	return 0;
}

int lol_arch_set_fpu(struct lol_vcpu *vcpu, const void __user *ubuf)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	const struct ia64_fpreg __user *u = ubuf;

	if (copy_from_user(a->guest.fr, u + 2, sizeof(a->guest.fr)) ||
	    copy_from_user(a->fph, u + 32, sizeof(a->fph)))
		return -EFAULT;
	return 0;
}

u32 lol_arch_fptrap_banks(void)
{
	return LOL_FPTRAP_LOW | LOL_FPTRAP_HIGH;
}

int lol_arch_set_fptrap(struct lol_vcpu *vcpu, u32 banks)
{
	WRITE_ONCE(vcpu->arch.fptrap, banks);
	return 0;
}

/* The ia64 interruption vector of the Disabled FP-Register fault. */
#define LOL_IA64_VEC_DISABLED_FP	25

/*
 * Called with the guest's SIGILL from lol_arch_signal_exit(): was it the
 * FP trap? Fills the trap exit and disarms the bank if so.
 */
bool lol_ia64_fptrap_exit(struct lol_vcpu *vcpu, int sig,
			  const kernel_siginfo_t *info, struct lol_run *run)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = task_pt_regs(current);
	u32 bank = 0;

	if (sig != SIGILL)
		return false;
	if (a->fptrap_hit && info->si_code == ILL_COPROC)
		bank = a->fptrap_hit;
	/* The kernel's answer to a dfl fault: "not supposed to happen". */
	else if (a->fptrap & LOL_FPTRAP_LOW && ia64_psr(r)->dfl &&
		 info->si_code == SI_KERNEL)
		bank = LOL_FPTRAP_LOW;
	if (!bank)
		return false;
	a->fptrap &= ~bank;
	a->fptrap_hit = 0;
	ia64_psr(r)->dfl = 0;
	run->trap.vector = LOL_IA64_VEC_DISABLED_FP;
	run->trap.pad = 0;
	run->trap.error_code = bank;
	run->trap.ip = instruction_pointer(r);
	run->trap.addr = 0;
	return true;
}

/*
 * kprobe on __ia64_load_fpu: the kernel is about to give the current
 * thread's f32-f127 back to it after a Disabled FP-Register fault (or
 * restore them in sigreturn, which a guest-mode thread never runs). The
 * load goes ahead (the state is the guest's own); the SIGILL makes the
 * way back to user mode an exit before the instruction runs again.
 */
static int lol_ia64_fph_kprobe(struct kprobe *p, struct pt_regs *kregs)
{
	struct lol_vcpu *vcpu = lol_guest_vcpu();
	struct lol_arch_vcpu *a;

	if (!vcpu)
		return 0;
	a = &vcpu->arch;
	if (!(READ_ONCE(a->fptrap) & LOL_FPTRAP_HIGH) || a->fptrap_hit)
		return 0;
	a->fptrap_hit = LOL_FPTRAP_HIGH;
	force_sig_fault(SIGILL, ILL_COPROC,
			(void __user *)instruction_pointer(task_pt_regs(current)),
			0, 0, 0);
	return 0;
}

static struct kprobe lol_ia64_fph_kp = {
	.symbol_name = "__ia64_load_fpu",
	.pre_handler = lol_ia64_fph_kprobe,
};

int lol_ia64_fptrap_init(void)
{
	return register_kprobe(&lol_ia64_fph_kp);
}

void lol_ia64_fptrap_fini(void)
{
	unregister_kprobe(&lol_ia64_fph_kp);
}
