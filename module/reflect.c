// SPDX-License-Identifier: GPL-2.0
/*
 * lol: syscall ranges for the monitor's own thread, and in-place
 * reflection (the seed's "fast system calls" for monitors that keep guest
 * code in their own address space).
 *
 * A bound thread is claimed by the syscall entry (lol_entry_claim()), so
 * its syscalls reach the run.c hook; the table decides. REFLECT saves the
 * registers into the run page and continues at the registered entry on
 * the registered stack -- no signal frame, no sigreturn. While the upcall
 * runs, reflection is disarmed (every syscall is NATIVE) until LOL_RESUME,
 * so the handler may use system calls freely and nesting cannot happen.
 */
#include <linux/hashtable.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>

#include "lol.h"

static DEFINE_HASHTABLE(lol_monitors, 6);
static DEFINE_SPINLOCK(lol_monitors_lock);

struct lol_vcpu *lol_current_monitor(void)
{
	struct lol_vcpu *vcpu, *found = NULL;

	if (likely(!lol_entry_armed()))
		return NULL;
	rcu_read_lock();
	hash_for_each_possible_rcu(lol_monitors, vcpu, mnode,
				   (unsigned long)current) {
		/*
		 * A binding made before the thread exec'd is for another
		 * program: ignored here, released with the vcpu.
		 */
		if (READ_ONCE(vcpu->mtask) == current &&
		    vcpu->mtask_mm == current->mm) {
			found = vcpu;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static int lol_monitor_bind(struct lol_vcpu *vcpu)
{
	int ret = 0;

	if (READ_ONCE(vcpu->mtask) == current)
		return 0;
	/* One thread per vcpu, one vcpu per thread, not lol_entry_foreign(). */
	if (lol_current_monitor() || lol_entry_foreign())
		return -EBUSY;
	spin_lock(&lol_monitors_lock);
	if (vcpu->mtask) {
		ret = -EBUSY;
	} else {
		vcpu->mtask = get_task_struct(current);
		/* Held so that a new mm after exec never has its address. */
		vcpu->mtask_mm = current->mm;
		mmgrab(vcpu->mtask_mm);
		vcpu->in_upcall = false;
		hash_add_rcu(lol_monitors, &vcpu->mnode,
			     (unsigned long)current);
	}
	spin_unlock(&lol_monitors_lock);
	if (!ret)
		lol_entry_claim();
	return ret;
}

/*
 * The thread keeps lol's dispatch setting until its next syscall (or the
 * end of guest mode), when lol finds it bound to nothing: it may be
 * another thread, or in guest mode right now.
 */
void lol_monitor_unbind(struct lol_vcpu *vcpu)
{
	struct task_struct *tsk;

	spin_lock(&lol_monitors_lock);
	tsk = vcpu->mtask;
	if (tsk) {
		hash_del_rcu(&vcpu->mnode);
		WRITE_ONCE(vcpu->mtask, NULL);
	}
	spin_unlock(&lol_monitors_lock);
	if (tsk) {
		mmdrop(vcpu->mtask_mm);
		put_task_struct(tsk);
	}
}

int lol_vcpu_set_ranges(struct lol_vcpu *vcpu,
			const struct lol_syscall_ranges __user *u)
{
	struct lol_ranges *t, *old;
	int ret = 0;

	t = lol_ranges_parse(u);
	if (IS_ERR(t))
		return PTR_ERR(t);
	if (t && t->flags & LOL_RANGES_MONITOR) {
		ret = lol_monitor_bind(vcpu);
		if (ret) {
			kfree(t);
			return ret;
		}
	} else if (READ_ONCE(vcpu->mtask) == current) {
		/* Unbinding inside an upcall would leave no LOL_RESUME. */
		if (vcpu->in_upcall) {
			kfree(t);
			return -EBUSY;
		}
		lol_monitor_unbind(vcpu);
	}
	/* Atomic for a thread running on the vcpu: old table or new. */
	old = xchg((struct lol_ranges __force **)&vcpu->ranges, t);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* Called from the syscall hook for a bound thread outside guest mode. */
bool lol_monitor_syscall(struct lol_vcpu *vcpu, struct pt_regs *regs)
{
	u32 action = LOL_RANGE_NATIVE;
	struct lol_ranges *t;
	u64 entry = 0, stack = 0;

	if (vcpu->in_upcall)
		return false;

	rcu_read_lock();
	t = rcu_dereference(vcpu->ranges);
	if (t && t->flags & LOL_RANGES_MONITOR) {
		action = lol_ranges_action(t, lol_entry_syscall_ip(regs));
		entry = t->entry;
		stack = t->stack;
	}
	rcu_read_unlock();

	switch (action) {
	case LOL_RANGE_NATIVE:
		return false;
	case LOL_RANGE_KILL:
		lol_orig_do_exit(SIGSYS);
		return true;
	case LOL_RANGE_PTRACE:
		lol_arch_sigsys(regs);
		return true;
	default:
		lol_arch_syscall_exit(regs, vcpu->run);
		lol_arch_save_regs(regs, &vcpu->run->regs);
		lol_arch_save_thread_regs(&vcpu->run->regs);
		WRITE_ONCE(vcpu->run->exit_reason, LOL_EXIT_SYSCALL);
		vcpu->run->nr_exits++;
		lol_stat_inc(&vcpu->stats.reflections);
		vcpu->in_upcall = true;
		lol_arch_upcall(regs, entry, stack);
		return true;
	}
}

/* LOL_RESUME's return value when it does not fit the ioctl's int. */
static void lol_resume_ax(struct callback_head *work)
{
	struct lol_vcpu *vcpu = container_of(work, struct lol_vcpu,
					     resume_work);

	lol_arch_set_guest_ax(vcpu, vcpu->resume_ax);
	lol_vcpu_work_done(vcpu);
}

long lol_vcpu_resume(struct lol_vcpu *vcpu)
{
	struct lol_regs regs;
	u64 ax;
	int ret;

	if (READ_ONCE(vcpu->mtask) != current || !vcpu->in_upcall)
		return -EINVAL;
	lol_read_regs(&regs, &vcpu->run->regs);
	barrier();
	/* The monitor thread keeps its own thread-struct registers. */
	lol_arch_clear_thread_regs(&regs);
	ret = lol_arch_check_regs(&regs);
	if (ret)
		return ret;
	lol_arch_load_regs(current_pt_regs(), &regs);
	vcpu->in_upcall = false;
	ax = lol_arch_ret_reg(&regs);
	if (lol_arch_ax_fits_ioctl(ax))
		return (s32)ax;
	/*
	 * Not LOL_RUN's fixup_work, which another thread running the vcpu
	 * may have queued right now. Only this thread (vcpu->mtask) queues
	 * resume_work, and it runs it before it is back in user mode.
	 */
	vcpu->resume_ax = ax;
	lol_vcpu_work_add(vcpu, current, &vcpu->resume_work, lol_resume_ax,
			  TWA_RESUME);
	return 0;
}
