// SPDX-License-Identifier: GPL-2.0
/*
 * lol ia64: the syscall entry (Documentation/arch.md, "ia64").
 *
 * ia64 in 6.1 has neither generic entry (no Syscall User Dispatch) nor a
 * seccomp filter. A syscall (`break 0x100000`, or the epc gateway's
 * fallback) goes through ia64_trace_syscall, and so through
 * syscall_trace_enter(), only for a thread with TIF_SYSCALL_TRACE,
 * TIF_SYSCALL_AUDIT or TIF_SINGLESTEP; lol sets TIF_SYSCALL_AUDIT on
 * guest-mode and monitor-mode threads and kprobes syscall_trace_enter.
 *
 * Its mark: TIF_SYSCALL_AUDIT without an audit context. Audit sets the
 * flag only in audit_alloc() at fork, on the child, and only together
 * with a context it allocates (or clears it); nothing else in 6.1 sets
 * or clears it on ia64. So the flag with no context is lol's (also on a
 * fork child that inherited it: lol_syscall() lets go of it there), and
 * with a context it is audit's, which lol shares and never clears: the
 * hook is reached either way.
 *
 * The pre-handler runs in the break fault's kprobe context, where lol's
 * work (which switches mms and may sleep) cannot run, and a redirect
 * would miss syscall_trace_enter()'s own ptrace and audit work. So it
 * turns the syscall into one that does nothing (r15 = -1: the entry runs
 * sys_ni_syscall) and queues a task_work, which runs before the return to
 * user mode in notify_resume_user() with the registers as the entry left
 * them: lol_syscall() there. If lol says NATIVE, the syscall is set up to
 * run again (the ip back on the break, as a signal restart does) and the
 * pre-handler lets that one through once: a NATIVE syscall costs two
 * entries on ia64.
 */
#include <linux/audit.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "lol.h"

/* Below 1024: not a syscall, the entry calls sys_ni_syscall. */
#define LOL_IA64_NO_SYSCALL	(-1UL)

struct lol_ia64_entry {
	struct callback_head work;
	struct hlist_node node;		/* in lol_ia64_pass: NATIVE, once */
	struct task_struct *task;	/* compared, never dereferenced */
	unsigned long nr;
	unsigned long ip;		/* past the syscall instruction */
};

/* Syscalls lol let through natively, to be run again: one per thread. */
static DEFINE_HASHTABLE(lol_ia64_pass, 6);
static DEFINE_SPINLOCK(lol_ia64_pass_lock);

bool lol_entry_marked(void)
{
	return test_thread_flag(TIF_SYSCALL_AUDIT) && !audit_context();
}

/* Audit's use of the flag does not get in lol's way (above). */
bool lol_entry_foreign(void)
{
	return false;
}

void lol_entry_claim(void)
{
	if (!test_thread_flag(TIF_SYSCALL_AUDIT))
		set_thread_flag(TIF_SYSCALL_AUDIT);
}

void lol_entry_release(void)
{
	if (lol_entry_marked())
		clear_thread_flag(TIF_SYSCALL_AUDIT);
}

/*
 * A trap as a NATIVE syscall returns would be TIF_SINGLESTEP, which
 * reports it as a user-sent SIGTRAP (SI_USER) on ia64: not one lol can
 * tell from a kill(). The guest's psr.ss traps one instruction later.
 */
bool lol_entry_step(struct lol_vcpu *vcpu)
{
	return false;
}

void lol_entry_unstep(void)
{
}

/*
 * Module exit: nothing. A thread that keeps lol's mark past the kprobe
 * (its next syscall would have let go of it) only takes the traced entry
 * to syscall_trace_enter(), whose audit_syscall_entry() does nothing
 * without an audit context: no behaviour of the thread changes.
 */
void lol_entry_exit(void)
{
}

/* Take current's pass, if this is the syscall it was for. */
static bool lol_ia64_pass_take(struct pt_regs *regs)
{
	struct lol_ia64_entry *e, *found = NULL;
	struct hlist_node *tmp;
	unsigned long flags;
	bool pass;

	if (hash_empty(lol_ia64_pass))
		return false;
	spin_lock_irqsave(&lol_ia64_pass_lock, flags);
	hash_for_each_possible_safe(lol_ia64_pass, e, tmp, node,
				    (unsigned long)current) {
		if (e->task != current)
			continue;
		hash_del(&e->node);
		found = e;
		break;
	}
	spin_unlock_irqrestore(&lol_ia64_pass_lock, flags);
	if (!found)
		return false;
	/* Anything else (the monitor moved the guest): decide again. */
	pass = found->ip == instruction_pointer(regs) && found->nr == regs->r15;
	kfree(found);
	return pass;
}

static void lol_ia64_pass_add(struct lol_ia64_entry *e)
{
	unsigned long flags;

	spin_lock_irqsave(&lol_ia64_pass_lock, flags);
	hash_add(lol_ia64_pass, &e->node, (unsigned long)e->task);
	spin_unlock_irqrestore(&lol_ia64_pass_lock, flags);
}

/* At a guest exit: a pass not used yet is stale now. */
void lol_ia64_entry_forget(void)
{
	struct lol_ia64_entry *e, *found = NULL;
	struct hlist_node *tmp;
	unsigned long flags;

	if (hash_empty(lol_ia64_pass))
		return;
	spin_lock_irqsave(&lol_ia64_pass_lock, flags);
	hash_for_each_possible_safe(lol_ia64_pass, e, tmp, node,
				    (unsigned long)current) {
		if (e->task == current) {
			hash_del(&e->node);
			found = e;
			break;
		}
	}
	spin_unlock_irqrestore(&lol_ia64_pass_lock, flags);
	kfree(found);
}

static void lol_ia64_entry_work(struct callback_head *work)
{
	struct lol_ia64_entry *e = container_of(work, struct lol_ia64_entry,
						work);
	struct pt_regs *regs = task_pt_regs(current);
	bool guest = lol_in_guest();
	u64 ip;

	regs->r15 = e->nr;
	/*
	 * In guest mode the run holds the vcpu file and so the module; a
	 * KILLed guest syscall does not come back here.
	 */
	if (guest)
		module_put(THIS_MODULE);
	if (lol_syscall(regs)) {
		kfree(e);
	} else {
		ip = lol_ia64_prev_slot(instruction_pointer(regs));
		regs->cr_iip = ip & ~0xfUL;
		ia64_psr(regs)->ri = ip & 3;
		lol_ia64_pass_add(e);
	}
	if (!guest)
		module_put(THIS_MODULE);
}

/*
 * The kprobe pre-handler on syscall_trace_enter (run.c's table). Every
 * thread with a trace, audit or single-step flag gets here; only those
 * lol wants are touched.
 */
int lol_entry_kprobe(struct kprobe *p, struct pt_regs *kregs)
{
	struct pt_regs *regs = task_pt_regs(current);
	struct lol_ia64_entry *e;

	if (!lol_entry_armed() || lol_ia64_pass_take(regs))
		return 0;
	if (!lol_syscall_wanted())
		return 0;
	/* Never native: without the work the syscall fails with ENOSYS. */
	e = kmalloc(sizeof(*e), GFP_ATOMIC);
	if (!e)
		goto out_nosys;
	e->task = current;
	e->nr = regs->r15;
	e->ip = instruction_pointer(regs);
	__module_get(THIS_MODULE);
	init_task_work(&e->work, lol_ia64_entry_work);
	if (task_work_add(current, &e->work, TWA_RESUME))
		goto out_put;
	regs->r15 = LOL_IA64_NO_SYSCALL;
	return 0;

out_put:
	module_put(THIS_MODULE);
	kfree(e);
out_nosys:
	regs->r15 = LOL_IA64_NO_SYSCALL;
	return 0;
}

int lol_ia64_entry_init(void)
{
	return 0;
}

/* After the kprobes are gone: passes nobody will take any more. */
void lol_ia64_entry_exit(void)
{
	struct lol_ia64_entry *e;
	struct hlist_node *tmp;
	int bkt;

	hash_for_each_safe(lol_ia64_pass, bkt, tmp, e, node) {
		hash_del(&e->node);
		kfree(e);
	}
}
