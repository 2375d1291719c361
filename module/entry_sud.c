// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the syscall entry for ports whose kernel selects GENERIC_ENTRY
 * (x86 in 6.1; a port's Kbuild fragment selects this file and its
 * lol_arch.h includes entry_sud.h). See Documentation/arch.md.
 *
 * How a thread's syscall reaches lol: the per-thread Syscall User
 * Dispatch work bit makes generic entry call syscall_user_dispatch()
 * first in syscall_trace_enter(); a kprobe there (run.c's table, on
 * LOL_ENTRY_SYMBOL) redirects the threads lol wants to lol_entry_hook()
 * below, which has syscall_user_dispatch()'s signature and contract:
 * true skips the syscall, false runs it.
 *
 * lol sets the bit on guest-mode threads and on monitor-mode threads, and
 * must be able to tell its own setting from a program's own use of
 * Syscall User Dispatch (which lol leaves alone) also where it cannot
 * clear the bit at once: on another thread, or in a fork child that
 * inherited it. It marks its setting with a dispatch configuration that
 * prctl(PR_SET_SYSCALL_USER_DISPATCH) can never produce -- offset ~0 with
 * length 0 -- and which dispatches every syscall exactly as an empty
 * configuration would, should the host ever evaluate it.
 */
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/thread_info.h>

#include "lol.h"

#define LOL_SUD_MARK	(~0UL)

/* Does the current thread carry lol's dispatch setting? */
bool lol_entry_marked(void)
{
	struct syscall_user_dispatch *sd = &current->syscall_dispatch;

	return test_syscall_work(SYSCALL_USER_DISPATCH) &&
	       sd->offset == LOL_SUD_MARK && !sd->len && !sd->selector;
}

/* The thread uses Syscall User Dispatch for its own purposes. */
bool lol_entry_foreign(void)
{
	return test_syscall_work(SYSCALL_USER_DISPATCH) && !lol_entry_marked();
}

/* Route the current thread's syscalls to lol (no-op if already so). */
void lol_entry_claim(void)
{
	struct syscall_user_dispatch *sd = &current->syscall_dispatch;

	if (test_syscall_work(SYSCALL_USER_DISPATCH))
		return;
	sd->selector = NULL;
	sd->offset = LOL_SUD_MARK;
	sd->len = 0;
	sd->on_dispatch = false;
	set_task_syscall_work(current, SYSCALL_USER_DISPATCH);
}

/* Undo lol_entry_claim(); a program's own setting is left alone. */
void lol_entry_release(void)
{
	if (!lol_entry_marked())
		return;
	clear_task_syscall_work(current, SYSCALL_USER_DISPATCH);
	current->syscall_dispatch.offset = 0;
}

/*
 * Make the syscall about to run natively end with a single-step trap as
 * it returns (generic entry's SYSCALL_EXIT_TRAP work, what ptrace's
 * PTRACE_SINGLESTEP over a syscall gets). True when lol set it, to be
 * undone with lol_entry_unstep(); false when it was already set.
 */
bool lol_entry_step(struct lol_vcpu *vcpu)
{
	if (test_syscall_work(SYSCALL_EXIT_TRAP))
		return false;
	set_task_syscall_work(current, SYSCALL_EXIT_TRAP);
	return true;
}

void lol_entry_unstep(void)
{
	clear_task_syscall_work(current, SYSCALL_EXIT_TRAP);
}

/*
 * Module exit: nothing for Syscall User Dispatch, whose leftover settings
 * the host handles without the hook (see the top of this file); the
 * seccomp entry needs this step.
 */
void lol_entry_exit(void)
{
}

/* The redirect target: syscall_user_dispatch()'s signature and contract. */
static bool lol_entry_hook(struct pt_regs *regs)
{
	return lol_syscall(regs);
}

/*
 * The kprobe pre-handler on LOL_ENTRY_SYMBOL: redirect the threads lol
 * wants by changing the saved instruction pointer (returning 1 tells
 * kprobes the handler did so); every other thread continues into
 * syscall_user_dispatch() untouched.
 */
int lol_entry_kprobe(struct kprobe *p, struct pt_regs *regs)
{
	if (!lol_syscall_wanted())
		return 0;
	instruction_pointer_set(regs, (unsigned long)lol_entry_hook);
	return 1;
}
