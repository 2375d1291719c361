// SPDX-License-Identifier: GPL-2.0
/*
 * lol ia64: the AS switch. ia64's switch_mm() is inline (activate_mm():
 * a context number for the mm, the region registers loaded with it, a
 * deferred TLB flush), and no out-of-line function does it for a task
 * that keeps running, so lol uses the inline one; module/mm.c does the
 * rest (current->mm under task_lock, interrupts off).
 *
 * Its helpers are not exported in 6.1: ia64_ctx and ia64_need_tlb_flush
 * (data) and wrap_mmu_context(). Linking against them compiles, and loading
 * needs a kernel that exports them (Documentation/arch.md, "ia64").
 */
#include <linux/mm_types.h>
#include <linux/mmu_context.h>
#include <linux/sched.h>

#include "lol.h"

void lol_arch_switch_mm(struct mm_struct *from, struct mm_struct *to,
			struct task_struct *tsk)
{
	switch_mm(from, to, tsk);
}
