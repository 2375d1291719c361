// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the per-thread Syscall User Dispatch work bit that routes a
 * thread's syscalls to lol's hook.
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
#include <linux/sched.h>
#include <linux/thread_info.h>

#include "lol.h"

#define LOL_SUD_MARK	(~0UL)

/* Does the current thread carry lol's dispatch setting? */
bool lol_sud_marked(void)
{
	struct syscall_user_dispatch *sd = &current->syscall_dispatch;

	return test_syscall_work(SYSCALL_USER_DISPATCH) &&
	       sd->offset == LOL_SUD_MARK && !sd->len && !sd->selector;
}

/* The thread uses Syscall User Dispatch for its own purposes. */
bool lol_sud_foreign(void)
{
	return test_syscall_work(SYSCALL_USER_DISPATCH) && !lol_sud_marked();
}

/* Route the current thread's syscalls to lol (no-op if already so). */
void lol_sud_claim(void)
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

/* Undo lol_sud_claim(); a program's own setting is left alone. */
void lol_sud_release(void)
{
	if (!lol_sud_marked())
		return;
	clear_task_syscall_work(current, SYSCALL_USER_DISPATCH);
	current->syscall_dispatch.offset = 0;
}
