// SPDX-License-Identifier: GPL-2.0
/*
 * lol arm64: guest register state in and out of the thread.
 *
 * While a thread is in guest mode its user register frame (pt_regs) holds
 * the guest registers and the monitor's are kept in the vcpu. TPIDR_EL0
 * (and TPIDR2_EL0 where the host has SME) live in the CPU while the
 * thread runs and in the thread struct while it is switched out: lol
 * writes both, with preemption off, so that a context switch saves and
 * restores the right values.
 */
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/thread_info.h>
#include <linux/audit.h>
#include <linux/signal.h>
#include <linux/ptrace.h>
#include <linux/compat.h>
#include <asm/cpufeature.h>
#include <asm/debug-monitors.h>
#include <asm/mmu_context.h>
#include <asm/sysreg.h>
#include <asm/unistd.h>

#include "lol.h"

/*
 * The pstate bits EL0 may set itself; the mode is EL0t (0). A u64: the
 * PSR_* constants are unsigned int, and ~ of an unsigned int mask would
 * let bits 63..32 of regs->pstate through lol_arch_check_regs().
 */
#define LOL_PSTATE_USER	((u64)(PSR_N_BIT | PSR_Z_BIT | PSR_C_BIT | \
			       PSR_V_BIT | PSR_BTYPE_MASK | PSR_SSBS_BIT | \
			       PSR_DIT_BIT | PSR_TCO_BIT))

static void (*lol_check_and_switch_context)(struct mm_struct *mm);

/*
 * switch_mm() of arm64, which is inline: the ASID and TTBR0 come from
 * check_and_switch_context() (not exported, resolved by name in
 * lol_arch_init()); the saved TTBR0 matters only with SW_TTBR0_PAN.
 * mm.c calls it with interrupts off, as the scheduler does.
 */
void lol_arch_switch_mm(struct mm_struct *prev, struct mm_struct *next,
			struct task_struct *tsk)
{
	if (prev != next)
		lol_check_and_switch_context(next);
	update_saved_ttbr0(tsk, next);
}

int lol_arch_init(void)
{
	lol_check_and_switch_context =
		(void *)lol_lookup_symbol("check_and_switch_context");
	if (!lol_check_and_switch_context) {
		pr_warn("lol: cannot resolve check_and_switch_context\n");
		return -ENOENT;
	}
	return 0;
}

int lol_arch_check_regs(const struct lol_regs *regs)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(regs->reserved); i++)
		if (regs->reserved[i])
			return -EINVAL;
	if (regs->pstate & ~LOL_PSTATE_USER)
		return -EINVAL;
	if (regs->tpidr2 && !system_supports_tpidr2())
		return -EINVAL;
	/* A kernel pc would fault at once; say so before the run. */
	if (regs->pc >= LOL_USER_LIMIT)
		return -EINVAL;
	return 0;
}

/* A 32-bit (compat) monitor has a pt_regs lol does not translate. */
int lol_arch_can_run(void)
{
	return is_compat_task() ? -EOPNOTSUPP : 0;
}

void lol_arch_load_regs(struct pt_regs *r, const struct lol_regs *g)
{
	BUILD_BUG_ON(sizeof(r->regs) != sizeof(g->x));
	memcpy(r->regs, g->x, sizeof(r->regs));
	r->sp = g->sp;
	r->pc = g->pc;
	r->pstate = (g->pstate & LOL_PSTATE_USER) | PSR_MODE_EL0t;
	/* Not a syscall any more: no restart logic on the way out. */
	forget_syscall(r);
}

void lol_arch_save_regs(const struct pt_regs *r, struct lol_regs *g)
{
	memcpy(g->x, r->regs, sizeof(g->x));
	g->sp = r->sp;
	g->pc = r->pc;
	g->pstate = r->pstate & LOL_PSTATE_USER;
}

/* The TLS registers: into the CPU and the thread struct, preemption off. */
static void lol_tls_swap(u64 *save, u64 *save2, u64 load, u64 load2)
{
	struct thread_struct *t = &current->thread;

	preempt_disable();
	*save = read_sysreg(tpidr_el0);
	write_sysreg(load, tpidr_el0);
	t->uw.tp_value = load;
	if (system_supports_tpidr2()) {
		*save2 = read_sysreg_s(SYS_TPIDR2_EL0);
		write_sysreg_s(load2, SYS_TPIDR2_EL0);
		t->tpidr2_el0 = load2;
	} else {
		*save2 = 0;
	}
	preempt_enable();
}

/*
 * Single-step (LOL_RUN_SINGLESTEP): PSTATE.SS in the guest's saved pstate
 * and TIF_SINGLESTEP, which makes the return to user mode set
 * MDSCR_EL1.SS (ret_to_user); one guest instruction later the step
 * exception is the host's SIGTRAP with TRAP_TRACE, a trap exit with EC
 * 0x32 (exit.c). TIF_SINGLESTEP goes on only from a task_work, after the
 * syscall that is returning (LOL_RUN, or a guest's NATIVE one) is done:
 * arm64's syscall exit reports a thread with the flag as stepping over
 * the syscall, with user_single_step_report()'s SIGTRAP, SI_USER, which
 * run.c would take for a kill() and give to the monitor.
 */
static void lol_step_on(struct callback_head *work)
{
	struct lol_vcpu *vcpu = container_of(work, struct lol_vcpu,
					     arch.step_work);

	/* Unless the thread left guest mode meanwhile (signal, kick). */
	if (READ_ONCE(vcpu->task) == current)
		set_thread_flag(TIF_SINGLESTEP);
	lol_run_work_done(vcpu);
}

static void lol_step_arm(struct lol_vcpu *vcpu)
{
	/* Not queued: the thread is exiting, and the step does not matter. */
	lol_run_work_add(vcpu, &vcpu->arch.step_work, lol_step_on);
}

/*
 * A NATIVE syscall while single-stepping (entry_seccomp.c): the svc is
 * the one instruction. The step is off for the syscall (no SI_USER
 * SIGTRAP at its exit), and comes back on with PSTATE.SS clear: that is
 * the active-pending state, in which the step exception is taken as the
 * thread returns to the guest, before the next instruction, with pc past
 * the svc (what ptrace's PTRACE_SINGLESTEP over a syscall reports).
 */
void lol_arch_step_syscall(struct lol_vcpu *vcpu)
{
	clear_thread_flag(TIF_SINGLESTEP);
	current_pt_regs()->pstate &= ~DBG_SPSR_SS;
	lol_step_arm(vcpu);
}

void lol_arch_enter(struct lol_vcpu *vcpu, const struct lol_regs *g,
		    bool singlestep)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = current_pt_regs();

	a->host_regs = *r;
	lol_arch_load_regs(r, g);
	a->host_step = test_thread_flag(TIF_SINGLESTEP);
	if (singlestep) {
		/* Active-not-pending: one instruction, then the exception. */
		r->pstate |= DBG_SPSR_SS;
		lol_step_arm(vcpu);
	}
	lol_tls_swap(&a->host_tpidr, &a->host_tpidr2, g->tpidr, g->tpidr2);
	lol_arch_fp_swap(&a->hfp, &a->gfp);
	/* The syndrome of the monitor's last fault is not the guest's. */
	current->thread.fault_code = 0;
}

void lol_arch_leave(struct lol_vcpu *vcpu, struct lol_regs *g, long ret)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = current_pt_regs();

	/*
	 * No restart fix-up here, unlike x86: a guest NATIVE syscall that a
	 * signal interrupted was already rewound by arm64's do_signal(),
	 * which does that before get_signal() (lol_arch_signal_done()).
	 */
	lol_arch_save_regs(r, g);
	/* PSTATE.SS went with the guest's pstate (not a user bit). */
	if (vcpu->singlestep)
		update_thread_flag(TIF_SINGLESTEP, a->host_step);
	lol_tls_swap(&g->tpidr, &g->tpidr2, a->host_tpidr, a->host_tpidr2);
	if (!system_supports_tpidr2())
		g->tpidr2 = 0;
	lol_arch_fp_swap(&a->gfp, &a->hfp);

	*r = a->host_regs;
	r->regs[0] = ret;
}

/*
 * After get_signal(), for a guest that left guest mode in it. arm64's
 * do_signal() makes its syscall-restart decision before get_signal(), on
 * the registers it found, which were the guest's; the monitor's LOL_RUN
 * then still holds -ERESTARTNOHAND (lol_guest_signal()). Do for it what
 * do_signal() does: a handler runs, so LOL_RUN fails with -EINTR; no
 * handler (a stop, a task_work alone), so LOL_RUN restarts.
 */
void lol_arch_signal_done(bool delivered)
{
	struct pt_regs *r = current_pt_regs();

	if (r->regs[0] != (u64)-ERESTARTNOHAND || !in_syscall(r))
		return;
	forget_syscall(r);
	if (delivered) {
		r->regs[0] = -EINTR;
	} else {
		r->regs[0] = r->orig_x0;
		r->pc -= LOL_ARCH_SYSCALL_INSN_LEN;
	}
}

/*
 * A NATIVE range may run the syscall in guest mode: the generic list
 * (ranges.c), for AArch64 syscalls only: an AArch32 one is always reflected.
 */
bool lol_arch_native_ok(struct pt_regs *regs)
{
	if (is_compat_task())
		return false;
	return lol_native_nr_ok(regs->syscallno);
}

/*
 * Continue at @entry on @stack as if called (sp 16-aligned, x30 as it
 * was), and not as a syscall: no restart logic on the way out.
 */
void lol_arch_upcall(struct pt_regs *regs, u64 entry, u64 stack)
{
	regs->pc = entry;
	regs->sp = stack;
	regs->pstate &= ~PSR_BTYPE_MASK;
	forget_syscall(regs);
}

/* PTRACE action: as Syscall User Dispatch does on x86, rolled back. */
void lol_arch_sigsys(struct pt_regs *regs)
{
	struct kernel_siginfo info;

	clear_siginfo(&info);
	info.si_signo = SIGSYS;
	info.si_code = SYS_USER_DISPATCH;
	info.si_call_addr = (void __user *)regs->pc;
	info.si_errno = 0;
	info.si_arch = AUDIT_ARCH_AARCH64;
	info.si_syscall = regs->syscallno;
	regs->regs[0] = regs->orig_x0;
	send_sig_info(SIGSYS, &info, current);
}

/*
 * The ioctl return path stores the handler's return value in x0 after
 * LOL_RUN has loaded the guest registers, truncated to int on the way
 * (ksys_ioctl); a value that survives that is returned directly, any
 * other is written by a task_work just before the return to user mode.
 */
bool lol_arch_ax_fits_ioctl(u64 val)
{
	return (s64)val == (s32)val && (s64)val != -ENOIOCTLCMD;
}

void lol_arch_set_guest_ax(struct lol_vcpu *vcpu, u64 val)
{
	current_pt_regs()->regs[0] = val;
}
