// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the syscall entry for ports whose kernel does not select
 * GENERIC_ENTRY but has seccomp (arm64 in 6.1; a port's Kbuild fragment
 * selects this file and its lol_arch.h includes entry_seccomp.h). See
 * Documentation/arch.md.
 *
 * How a thread's syscall reaches lol: TIF_SECCOMP makes the syscall path
 * call __secure_computing() (arm64: syscall_trace_enter(), after ptrace,
 * before the syscall tracepoint and audit); a kprobe there (run.c's
 * table, on LOL_ENTRY_SYMBOL) redirects the threads lol wants to
 * lol_entry_hook() below, which has __secure_computing()'s signature and
 * contract: -1 skips the syscall (its result is whatever x0 says), 0 runs
 * it.
 *
 * lol's mark is TIF_SECCOMP set with current->seccomp.mode ==
 * SECCOMP_MODE_DISABLED, a state seccomp itself never produces: it sets
 * the flag only together with a mode (seccomp_assign_mode(), and
 * copy_seccomp() at fork), never clears either, and a mode never goes
 * back to DISABLED. So the mark tells lol's setting from a program's own
 * seccomp also on another thread and in a fork child that inherited the
 * flag. __secure_computing() BUG()s on a thread with the mark, so such a
 * thread must never reach it: the pre-handler always redirects it, and
 * lol_entry_exit() clears every mark before the kprobe goes.
 */
#include <linux/kprobes.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/seccomp.h>
#include <linux/thread_info.h>

#include "lol.h"

static bool lol_task_marked(struct task_struct *tsk)
{
	return test_tsk_thread_flag(tsk, TIF_SECCOMP) &&
	       READ_ONCE(tsk->seccomp.mode) == SECCOMP_MODE_DISABLED;
}

/* Does the current thread carry lol's mark? */
bool lol_entry_marked(void)
{
	return lol_task_marked(current);
}

/*
 * Never: a program's own seccomp mode and lol share the flag without
 * getting in each other's way (the hook runs the program's filters for
 * every syscall lol does not take, and lol never clears the flag of a
 * thread with a mode), so a thread with filters may run guests and bind
 * monitor mode.
 */
bool lol_entry_foreign(void)
{
	return false;
}

/*
 * Route the current thread's syscalls to lol (no-op if already so, or if
 * the thread has its own seccomp mode: the flag is set then, and the
 * hook sees its syscalls anyway). Under siglock: seccomp's thread sync
 * (TSYNC) sets another thread's mode and flag under it.
 */
void lol_entry_claim(void)
{
	spin_lock_irq(&current->sighand->siglock);
	if (!test_thread_flag(TIF_SECCOMP))
		set_thread_flag(TIF_SECCOMP);
	spin_unlock_irq(&current->sighand->siglock);
}

/*
 * Undo lol_entry_claim(); a program's own seccomp is left alone: the flag
 * goes only while the mode is still DISABLED, checked under siglock.
 */
void lol_entry_release(void)
{
	if (!lol_entry_marked())
		return;
	spin_lock_irq(&current->sighand->siglock);
	if (lol_entry_marked())
		clear_thread_flag(TIF_SECCOMP);
	spin_unlock_irq(&current->sighand->siglock);
}

/*
 * Single-step over a NATIVE syscall: the port's syscall exit would report
 * a step over the syscall itself, as a SIGTRAP that lol cannot tell from
 * a kill() (arm64: user_single_step_report(), SI_USER), so the port takes
 * the step off for the syscall and has it trap as the thread returns to
 * the guest (lol_arch_step_syscall()). Nothing for lol_entry_unstep().
 */
bool lol_entry_step(struct lol_vcpu *vcpu)
{
	lol_arch_step_syscall(vcpu);
	return false;
}

void lol_entry_unstep(void)
{
}

static int (*lol_orig_secure_computing)(const struct seccomp_data *sd);

/*
 * Call the original __secure_computing(), whose first instruction is
 * lol's kprobe, so that the pre-handler can tell this call from a
 * syscall's by its return address, lol_entry_orig_ret: the thread is
 * still one lol wants, and a redirect would recurse. The call is in asm
 * for an exact return address; the clobbers are what the AAPCS64 lets
 * the callee change (the kernel has no FP in C, and x18 is a temporary
 * without the shadow call stack).
 */
static noinline int lol_entry_orig(const struct seccomp_data *sd)
{
	register unsigned long x0 asm("x0") = (unsigned long)sd;

	asm volatile("blr %[fn]\n"
		     "lol_entry_orig_ret:\n"
		     : "+r" (x0)
		     : [fn] "r" (lol_orig_secure_computing)
		     : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9",
		       "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
#ifndef CONFIG_SHADOW_CALL_STACK
		       "x18",
#endif
		       "x30", "memory", "cc");
	return (int)x0;
}

/*
 * The redirect target: __secure_computing()'s signature and contract. A
 * NATIVE syscall of a thread with its own seccomp mode still goes
 * through its filters; one with only lol's mark must not (the mode is
 * DISABLED, which __secure_computing() treats as a bug).
 */
static int lol_entry_hook(const struct seccomp_data *sd)
{
	if (lol_syscall(current_pt_regs()))
		return -1;
	if (lol_entry_marked() || !test_thread_flag(TIF_SECCOMP))
		return 0;
	return lol_entry_orig(sd);
}

/*
 * The kprobe pre-handler on LOL_ENTRY_SYMBOL: redirect the threads lol
 * wants, and every thread with the mark (returning 1 tells kprobes the
 * handler changed the pc); a thread with only its own seccomp continues
 * into __secure_computing() untouched.
 */
int lol_entry_kprobe(struct kprobe *p, struct pt_regs *regs)
{
	/* lol's own call of the original, for the program's filters. */
	if (procedure_link_pointer(regs) == (unsigned long)lol_entry_orig_ret)
		return 0;
	if (!lol_entry_marked() && !lol_syscall_wanted())
		return 0;
	lol_orig_secure_computing = (void *)p->addr;
	lol_arch_kprobe_redirect(regs, lol_entry_hook);
	return 1;
}

/*
 * At module exit, before the kprobe is unregistered: clear the mark on
 * every thread that still has it (a monitor thread that unbound and made
 * no syscall since, a fork child that inherited the flag), or its next
 * syscall would reach __secure_computing() with the mode DISABLED. No
 * new mark can appear: no vcpu is left. A thread that tested the flag
 * just before is inside the syscall path without a context switch (the
 * kernel is not fully preemptible), and the synchronize_rcu() of the
 * kprobe's unregistration waits for it.
 */
void lol_entry_exit(void)
{
	struct sighand_struct *sh;
	struct task_struct *g, *t;
	unsigned long flags;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		if (!lol_task_marked(t))
			continue;
		/*
		 * What lock_task_sighand() does (not exported): sighand is
		 * freed by RCU, and NULL once the thread is past its last
		 * syscall.
		 */
		sh = rcu_dereference(t->sighand);
		if (!sh)
			continue;
		spin_lock_irqsave(&sh->siglock, flags);
		if (sh == rcu_access_pointer(t->sighand) && lol_task_marked(t))
			clear_tsk_thread_flag(t, TIF_SECCOMP);
		spin_unlock_irqrestore(&sh->siglock, flags);
	}
	rcu_read_unlock();
}
