// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the run loop.
 *
 * LOL_RUN turns the calling thread into the guest: guest registers in its
 * user frame, the guest AS as its mm, the guest FP state, and returns to
 * user mode there. Every way out of guest user mode that the monitor must
 * see passes through one of three host functions, each hooked with a
 * kprobe that redirects only threads in guest mode:
 *
 *   LOL_ENTRY_SYMBOL         a guest system call, through the port's
 *                            syscall entry (lol_entry_*, lol.h): on x86
 *                            syscall_user_dispatch(), reached before
 *                            ptrace, seccomp and audit, and only by
 *                            threads lol_entry_claim() marked, so no other
 *                            thread pays anything (entry_sud.c).
 *   get_signal()             a guest exception (the host raised a
 *                            synchronous signal), a host signal, a kick.
 *                            It runs before anything is dequeued or any
 *                            frame is written.
 *   do_exit()                the thread dies in guest mode.
 *
 * Each redirect target restores the monitor (lol_guest_leave) and, for
 * get_signal and do_exit, calls the original function, which then sees
 * an ordinary monitor thread. See Documentation/design.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "lol.h"

/* Signals the host raises for guest exceptions. */
#define LOL_SYNC_SIGNALS (sigmask(SIGSEGV) | sigmask(SIGBUS) | \
			  sigmask(SIGILL) | sigmask(SIGFPE) | \
			  sigmask(SIGTRAP) | sigmask(SIGSYS))

static const int lol_sync_sigs[] = {
	SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS
};

/* current's sighand: it only changes under current itself (exec). */
static struct sighand_struct *lol_sighand(void)
{
	return rcu_dereference_protected(current->sighand, 1);
}

/*
 * Which vcpu a thread in guest mode runs, for the hooks, which only have
 * current. A thread that runs a vcpu is bound to it by a struct
 * lol_binding in lol_bindings, keyed by task, made the first time and kept
 * across runs: LOL_RUN entry and exit only set and clear vcpu->task, and
 * write nothing shared by all guests (the lock is for re-binding, below).
 *
 * Each vcpu has at most one binding and each task at most one: running
 * another vcpu, or a vcpu last run by another thread, replaces them. A
 * binding is never moved or reused: it is unhashed and freed after a
 * grace period, and a new one added, because an hlist_node moved to
 * another chain could divert a reader walking the old one past its own
 * entry, and a guest syscall would then run natively. A binding outlives
 * its thread until the vcpu is run by another thread or freed; its task
 * pointer is only compared, never dereferenced, and a lookup only
 * believes it while the vcpu says the same (vcpu->task == current), so a
 * task_struct address reused by a new thread cannot match a stale one.
 */
struct lol_binding {
	struct hlist_node node;
	struct task_struct *task;
	struct lol_vcpu *vcpu;
	struct rcu_head rcu;
};

/* Enough buckets that a thousand bound vcpus leave the chains short. */
static DEFINE_HASHTABLE(lol_bindings, 10);
static DEFINE_SPINLOCK(lol_bindings_lock);

static struct lol_vcpu *lol_current_vcpu(void)
{
	struct lol_vcpu *vcpu, *found = NULL;
	struct lol_binding *b;

	/* Every guest-mode thread has it; nearly no other thread does. */
	if (likely(!lol_entry_armed()))
		return NULL;
	rcu_read_lock();
	hash_for_each_possible_rcu(lol_bindings, b, node,
				   (unsigned long)current) {
		if (b->task != current)
			continue;
		vcpu = b->vcpu;
		if (READ_ONCE(vcpu->task) == current) {
			found = vcpu;
			break;
		}
	}
	rcu_read_unlock();
	/*
	 * Only this thread clears vcpu->task, and a vcpu is freed only after
	 * that (the run holds its file), so it stays valid.
	 */
	return found;
}

/* Under lol_bindings_lock. */
static void lol_binding_del(struct lol_binding *b)
{
	hash_del_rcu(&b->node);
	RCU_INIT_POINTER(b->vcpu->binding, NULL);
	kfree_rcu(b, rcu);
}

/*
 * Bind current to @vcpu for lol_current_vcpu(). Nothing shared is
 * written when it already is: the common case, a thread that runs the
 * same vcpu again.
 */
static int lol_vcpu_bind(struct lol_vcpu *vcpu)
{
	struct lol_binding *b, *old;
	struct hlist_node *tmp;
	bool bound;

	rcu_read_lock();
	b = rcu_dereference(vcpu->binding);
	bound = b && b->task == current;
	rcu_read_unlock();
	if (likely(bound))
		return 0;

	b = kmalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->task = current;
	b->vcpu = vcpu;
	spin_lock(&lol_bindings_lock);
	old = rcu_dereference_protected(vcpu->binding,
					lockdep_is_held(&lol_bindings_lock));
	if (old)
		lol_binding_del(old);
	/* This thread's binding to another vcpu, or a dead thread's. */
	hash_for_each_possible_safe(lol_bindings, old, tmp, node,
				    (unsigned long)current)
		if (old->task == current)
			lol_binding_del(old);
	hash_add_rcu(lol_bindings, &b->node, (unsigned long)current);
	rcu_assign_pointer(vcpu->binding, b);
	spin_unlock(&lol_bindings_lock);
	return 0;
}

/*
 * When @vcpu is freed, before the vcpu itself is (kfree_rcu: a reader
 * that found the binding may still look at the vcpu).
 */
void lol_vcpu_unbind(struct lol_vcpu *vcpu)
{
	struct lol_binding *b;

	spin_lock(&lol_bindings_lock);
	b = rcu_dereference_protected(vcpu->binding,
				      lockdep_is_held(&lol_bindings_lock));
	if (b)
		lol_binding_del(b);
	spin_unlock(&lol_bindings_lock);
}

/*
 * Is the calling thread in guest mode? Only NATIVE guest syscalls reach
 * lol's ioctls that way; a guest may not drive lol (a nested LOL_RUN
 * would save the outer guest's state as the monitor's).
 */
bool lol_in_guest(void)
{
	return lol_current_vcpu();
}

/* The vcpu the current thread runs in guest mode, or NULL (for ports). */
struct lol_vcpu *lol_guest_vcpu(void)
{
	return lol_current_vcpu();
}

/* Per-task state tied to the monitor's AS or signal setup. */
static void lol_task_enter(struct lol_vcpu *vcpu)
{
	struct task_struct *tsk = current;
	struct sighand_struct *sh = lol_sighand();
	struct k_sigaction *ka = sh->action;
	int i, sig;

#ifdef CONFIG_RSEQ	/* not on ia64 */
	/*
	 * rseq's area is in the monitor's AS; the guest must not see it.
	 * The event mask is sticky (the host clears it only inside a
	 * critical section): keep the monitor's bits aside, so that leaving
	 * asks for an rseq update only after an event in guest mode.
	 */
	vcpu->host_rseq = tsk->rseq;
	tsk->rseq = NULL;
	preempt_disable();
	vcpu->host_rseq_events = tsk->rseq_event_mask;
	tsk->rseq_event_mask = 0;
	preempt_enable();
#endif

	vcpu->host_entry_own = lol_entry_foreign();
	lol_entry_claim();

	/*
	 * force_sig_fault() unblocks a blocked signal and resets an ignored
	 * one to SIG_DFL for good; keep the monitor's settings intact.
	 */
	vcpu->host_ign = 0;
	for (i = 0; i < ARRAY_SIZE(lol_sync_sigs); i++) {
		sig = lol_sync_sigs[i];
		if (ka[sig - 1].sa.sa_handler == SIG_IGN)
			vcpu->host_ign |= sigmask(sig);
	}
	/*
	 * A blocked one that is already pending (sent with kill) stays
	 * blocked: unblocked, it would end every LOL_RUN at once and be
	 * blocked again in the monitor, forever.
	 */
	vcpu->blocked_changed = false;
	if (tsk->blocked.sig[0] & LOL_SYNC_SIGNALS) {
		unsigned long unblock;

		spin_lock_irq(&sh->siglock);
		unblock = tsk->blocked.sig[0] & LOL_SYNC_SIGNALS &
			  ~tsk->pending.signal.sig[0] &
			  ~tsk->signal->shared_pending.signal.sig[0];
		if (unblock) {
			vcpu->host_blocked = tsk->blocked;
			sigdelsetmask(&tsk->blocked, unblock);
			recalc_sigpending();
			vcpu->blocked_changed = true;
		}
		spin_unlock_irq(&sh->siglock);
	}
}

static void lol_task_leave(struct lol_vcpu *vcpu)
{
	struct task_struct *tsk = current;
	struct sighand_struct *sh = lol_sighand();
	unsigned long events __maybe_unused;	/* CONFIG_RSEQ */
	int i, sig;

	if (vcpu->host_ign || vcpu->blocked_changed) {
		spin_lock_irq(&sh->siglock);
		for (i = 0; i < ARRAY_SIZE(lol_sync_sigs); i++) {
			struct k_sigaction *ka;

			sig = lol_sync_sigs[i];
			ka = &sh->action[sig - 1];
			if ((vcpu->host_ign & sigmask(sig)) &&
			    ka->sa.sa_handler == SIG_DFL)
				ka->sa.sa_handler = SIG_IGN;
		}
		if (vcpu->blocked_changed) {
			tsk->blocked = vcpu->host_blocked;
			recalc_sigpending();
		}
		spin_unlock_irq(&sh->siglock);
	}

	/* A monitor-mode binding keeps lol's dispatch setting. */
	if (!vcpu->host_entry_own && !lol_current_monitor())
		lol_entry_release();
	if (vcpu->exit_trap) {
		lol_entry_unstep();
		vcpu->exit_trap = false;
	}

#ifdef CONFIG_RSEQ
	tsk->rseq = vcpu->host_rseq;
	/*
	 * Preemption and migration in guest mode were recorded in the event
	 * mask but not acted on (rseq was NULL): let the monitor's rseq
	 * area be updated on the way out.
	 */
	preempt_disable();
	events = tsk->rseq_event_mask;
	tsk->rseq_event_mask = events | vcpu->host_rseq_events;
	preempt_enable();
	if (events)
		rseq_set_notify_resume(tsk);
#endif
}

/* Writes the guest's rax that lol_return_ax() left to later, if any. */
static void lol_fixup_apply(struct lol_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->fixup_armed)) {
		lol_arch_set_guest_ax(vcpu, vcpu->fixup_ax_val);
		WRITE_ONCE(vcpu->fixup_armed, false);
	}
}

/*
 * The admin's counters (netlink.c): a few plain stores with one writer,
 * everything else is derived when read.
 */
static void lol_stats_enter(struct lol_vcpu_stats *st)
{
	st->enter_ticks = lol_arch_clock();
}

static void lol_stats_leave(struct lol_vcpu_stats *st, u32 reason)
{
	lol_stat_inc(&st->exits[reason]);
	WRITE_ONCE(st->guest_ticks,
		   st->guest_ticks + lol_arch_clock() - st->enter_ticks);
}

/*
 * Back to the monitor: guest state into the run page, the monitor's mm,
 * registers and per-task state back, LOL_RUN returns @ret.
 */
static void lol_guest_leave(struct lol_vcpu *vcpu, u32 reason, long ret)
{
	struct lol_run *run = vcpu->run;
	struct lol_as *as = vcpu->as;

	/*
	 * A signal or kick that comes before the rax task_work has run: the
	 * guest's rax is still the ioctl's truncated result in pt_regs.
	 */
	lol_fixup_apply(vcpu);
	vcpu->fault_pending = false;
	/* While vcpu->task is set, as lol_nl_put_stats() expects. */
	lol_stats_leave(&vcpu->stats, reason);
	/*
	 * Guest state first, while the guest AS is still current: a port
	 * may write some of it to guest memory (ia64: the dirty stacked
	 * registers, to the guest's register backing store).
	 */
	lol_arch_leave(vcpu, &run->regs, ret);
	lol_mm_switch(as->mm, vcpu->host_mm);
	lol_task_leave(vcpu);

	/* The binding stays for the next run; see lol_bindings. */
	WRITE_ONCE(vcpu->task, NULL);
	vcpu->as = NULL;

	WRITE_ONCE(run->exit_reason, reason);
	run->nr_exits++;
	/* Another thread may run it once this run's own task_works ran. */
	lol_vcpu_unbusy(vcpu);

	lol_as_put(as);
	/* Deferred to task_work by the host: never the final free here. */
	fput(vcpu->file);
}

/*
 * Queue a per-vcpu task_work on @tsk. The work holds a vcpu reference and
 * one on the module whose code it runs: it may run after every fd is
 * closed. It ends with lol_vcpu_work_done(). False when @tsk is exiting
 * (nothing queued, nothing held). A callback_head is on one task's list
 * at a time: each kind of work says why it cannot be queued twice.
 */
bool lol_vcpu_work_add(struct lol_vcpu *vcpu, struct task_struct *tsk,
		       struct callback_head *work, task_work_func_t fn,
		       enum task_work_notify_mode mode)
{
	kref_get(&vcpu->ref);
	__module_get(THIS_MODULE);
	init_task_work(work, fn);
	if (!task_work_add(tsk, work, mode))
		return true;
	module_put(THIS_MODULE);
	/* Not the last reference: the caller holds the vcpu. */
	lol_vcpu_put(vcpu);
	return false;
}

void lol_vcpu_work_done(struct lol_vcpu *vcpu)
{
	lol_vcpu_put(vcpu);
	module_put(THIS_MODULE);
}

/*
 * A task_work that LOL_RUN queues on its own thread, to run on the way to
 * guest user mode (the guest's 64-bit rax, arm64's single-step). The
 * thread may leave guest mode on that way out, before the work ran (a
 * kick during the entry: get_signal() runs lol's hook first), so the
 * work holds vcpu->running as well: otherwise another thread could run
 * the vcpu at once and queue the same callback_head on its own list
 * while it is still on this one, and works queued behind it would be
 * lost. Only the running thread queues these, and it runs them before it
 * reaches user mode again, so it never finds its own vcpu busy.
 */
bool lol_run_work_add(struct lol_vcpu *vcpu, struct callback_head *work,
		      task_work_func_t fn)
{
	atomic_inc(&vcpu->running);
	if (lol_vcpu_work_add(vcpu, current, work, fn, TWA_RESUME))
		return true;
	atomic_dec(&vcpu->running);
	return false;
}

void lol_run_work_done(struct lol_vcpu *vcpu)
{
	lol_vcpu_unbusy(vcpu);
	lol_vcpu_work_done(vcpu);
}

static void lol_fixup_ax(struct callback_head *work)
{
	struct lol_vcpu *vcpu = container_of(work, struct lol_vcpu, fixup_work);

	/* Unless the thread already left guest mode (lol_guest_leave). */
	lol_fixup_apply(vcpu);
	lol_run_work_done(vcpu);
}

/*
 * Return @ax to guest user mode from LOL_RUN, whose handler has already
 * loaded the rest of the registers. The ioctl returns an int: a value
 * that does not fit is written by a task_work.
 */
long lol_return_ax(struct lol_vcpu *vcpu, u64 ax)
{
	if (lol_arch_ax_fits_ioctl(ax))
		return (s32)ax;
	vcpu->fixup_ax_val = ax;
	WRITE_ONCE(vcpu->fixup_armed, true);
	/* Exiting: rax no longer matters. */
	if (!lol_run_work_add(vcpu, &vcpu->fixup_work, lol_fixup_ax))
		WRITE_ONCE(vcpu->fixup_armed, false);
	return 0;
}

/*
 * Copy the registers out of the shared run page one whole __u64 at a
 * time: memcpy() may copy bytewise (it is "rep movsb" under KASAN), and a
 * field that userspace rewrites meanwhile would tear into a value it
 * never wrote. Validation happens on the copy.
 */
void lol_read_regs(struct lol_regs *dst, const struct lol_regs *src)
{
	const u64 *s = (const u64 *)src;
	u64 *d = (u64 *)dst;
	int i;

	/* Four at a time: this is on every entry, and the loop is most of it. */
	BUILD_BUG_ON(sizeof(*dst) % (4 * sizeof(u64)));
	for (i = 0; i < sizeof(*dst) / sizeof(u64); i += 4) {
		d[i] = READ_ONCE(s[i]);
		d[i + 1] = READ_ONCE(s[i + 1]);
		d[i + 2] = READ_ONCE(s[i + 2]);
		d[i + 3] = READ_ONCE(s[i + 3]);
	}
}

long lol_vcpu_run(struct lol_vcpu *vcpu)
{
	struct lol_run *run = vcpu->run;
	/* Not on the stack, which would be zeroed first on every entry. */
	struct lol_regs *regs = &vcpu->regs_in;
	struct lol_as *as;
	u32 as_id, flags;
	long ret;

	if (atomic_cmpxchg(&vcpu->running, 0, 1))
		return -EBUSY;

	/* The run page is shared with userspace: read it once. */
	as_id = READ_ONCE(run->as_id);
	flags = READ_ONCE(run->flags);
	lol_read_regs(regs, &run->regs);
	barrier();

	ret = -EINVAL;
	BUILD_BUG_ON(sizeof(run->pad0) != 3);
	if (flags & ~LOL_ARCH_RUN_FLAGS || READ_ONCE(run->pad1) ||
	    lol_any_set(run->reserved_in, ARRAY_SIZE(run->reserved_in)) ||
	    READ_ONCE(run->pad0[0]) || READ_ONCE(run->pad0[1]) ||
	    READ_ONCE(run->pad0[2]))
		goto out_idle;
	ret = lol_arch_check_regs(regs);
	if (ret)
		goto out_idle;

	if (READ_ONCE(run->immediate_exit) || signal_pending(current)) {
		WRITE_ONCE(run->exit_reason, LOL_EXIT_INTR);
		ret = -EINTR;
		goto out_idle;
	}
	if (atomic_xchg(&vcpu->kick, 0)) {
		WRITE_ONCE(run->exit_reason, LOL_EXIT_KICK);
		ret = 0;
		goto out_idle;
	}
	ret = lol_arch_can_run();
	if (ret)
		goto out_idle;
	ret = lol_vcpu_bind(vcpu);
	if (ret)
		goto out_idle;
	as = lol_as_get(vcpu->guest, as_id);
	ret = -ENOENT;
	if (!as)
		goto out_idle;

	/* From here on only lol_guest_leave() undoes it. */
	get_file(vcpu->file);
	vcpu->as = as;
	vcpu->host_mm = current->mm;
	lol_stats_enter(&vcpu->stats);
	/* With the binding above, lol_current_vcpu() finds the vcpu. */
	WRITE_ONCE(vcpu->task, current);

	vcpu->singlestep = flags & LOL_RUN_SINGLESTEP;
	lol_task_enter(vcpu);
	lol_arch_enter(vcpu, regs, vcpu->singlestep);
	lol_mm_sync_dumpable(as->mm, vcpu->host_mm);
	lol_mm_switch(vcpu->host_mm, as->mm);

	/* Pairs with lol_vcpu_kick(): a kick now leaves at once. */
	smp_mb();
	if (atomic_read(&vcpu->kick))
		set_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);

	return lol_return_ax(vcpu, lol_arch_ret_reg(regs));

out_idle:
	lol_vcpu_unbusy(vcpu);
	if (ret == -EINVAL)
		lol_nl_bad_input(vcpu->guest, vcpu, LOL_RUN, ret);
	return ret;
}

/*
 * A kick's task_work, one per kicked thread at a time (vcpu->kicks). Not
 * one per vcpu: the thread in guest mode may change between two kicks
 * (another thread runs the vcpu next) while the work of the first is
 * still queued on the thread before, and the second thread must be
 * kicked too.
 */
struct lol_kick {
	struct callback_head work;
	struct hlist_node node;		/* vcpu->kicks, under kick_lock */
	struct lol_vcpu *vcpu;
	struct task_struct *task;	/* compared only */
};

static void lol_kick_done(struct callback_head *work)
{
	struct lol_kick *k = container_of(work, struct lol_kick, work);
	struct lol_vcpu *vcpu = k->vcpu;

	spin_lock(&vcpu->kick_lock);
	hlist_del(&k->node);
	spin_unlock(&vcpu->kick_lock);
	kfree(k);
	lol_vcpu_work_done(vcpu);
}

/*
 * Force the thread in guest mode out. A TWA_SIGNAL task_work is how a
 * module can do what a signal does without sending one: it sets
 * TIF_NOTIFY_SIGNAL and wakes the task from an interruptible sleep (a
 * guest blocked in a NATIVE read) or IPIs it when it runs. The blocked
 * syscall then returns -ERESTARTSYS; get_signal() sees the pending kick
 * and leaves the guest with the syscall set up to restart, as for a host
 * signal. The work itself does nothing but drop its references. A thread
 * with a kick's work still queued is not given another: it runs the work
 * (and so leaves guest mode) before it can enter guest mode again.
 */
int lol_vcpu_kick(struct lol_vcpu *vcpu)
{
	struct lol_kick *k, *new;
	struct task_struct *tsk;

	atomic64_inc(&vcpu->stats.kicks);
	atomic_set(&vcpu->kick, 1);
	/* Pairs with the barrier in lol_vcpu_run(). */
	smp_mb();
	/* Nobody in guest mode: the next entry sees the kick. */
	if (!READ_ONCE(vcpu->task))
		return 0;
	new = kmalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	spin_lock(&vcpu->kick_lock);
	rcu_read_lock();
	tsk = READ_ONCE(vcpu->task);
	/* Exiting: it leaves guest mode on its own. */
	if (!tsk || tsk == current)
		goto out;
	hlist_for_each_entry(k, &vcpu->kicks, node)
		if (k->task == tsk)
			goto out;
	new->vcpu = vcpu;
	new->task = tsk;
	if (lol_vcpu_work_add(vcpu, tsk, &new->work, lol_kick_done,
			      TWA_SIGNAL)) {
		/* lol_kick_done() waits for kick_lock to unlink it. */
		hlist_add_head(&new->node, &vcpu->kicks);
		new = NULL;
	}
out:
	rcu_read_unlock();
	spin_unlock(&vcpu->kick_lock);
	kfree(new);
	return 0;
}

/* ---- the hooks ---------------------------------------------------------- */

static bool (*lol_orig_get_signal)(struct ksignal *ksig);
void (*lol_orig_do_exit)(long code);

static bool lol_guest_syscall(struct lol_vcpu *vcpu, struct pt_regs *regs)
{
	u32 action = LOL_RANGE_REFLECT;
	struct lol_ranges *t;

	rcu_read_lock();
	t = rcu_dereference(vcpu->ranges);
	if (t && t->flags & LOL_RANGES_GUEST)
		action = lol_ranges_action(t, lol_entry_syscall_ip(regs));
	rcu_read_unlock();

	switch (action) {
	case LOL_RANGE_NATIVE:
		if (!lol_arch_native_ok(regs))
			break;
		/*
		 * Single-stepping: the syscall is the one instruction, so
		 * exit with #DB as it returns (what ptrace does for
		 * PTRACE_SINGLESTEP over a syscall), not one later.
		 */
		if (vcpu->singlestep && lol_entry_step(vcpu))
			vcpu->exit_trap = true;
		return false;
	case LOL_RANGE_KILL:
		lol_nl_vcpu_killed(vcpu);
		lol_guest_leave(vcpu, LOL_EXIT_INTR, -EINTR);
		lol_orig_do_exit(SIGSYS);
		return true;
	}
	/* REFLECT, and PTRACE: in guest mode the monitor is the tracer. */
	lol_arch_syscall_exit(regs, vcpu->run);
	lol_guest_leave(vcpu, LOL_EXIT_SYSCALL, 0);
	return true;
}

/*
 * Does the syscall entry hand the current thread's syscall to
 * lol_syscall()? For the kprobe pre-handler (lol_entry_kprobe()).
 */
bool lol_syscall_wanted(void)
{
	return lol_current_vcpu() || lol_current_monitor() ||
	       lol_entry_marked();
}

/*
 * A syscall of a thread lol_syscall_wanted(), from the syscall entry's
 * hook. Returns true to skip the syscall (the entry makes it return what
 * the registers now say), false to run it natively.
 */
bool lol_syscall(struct pt_regs *regs)
{
	struct lol_vcpu *vcpu;

	vcpu = lol_current_vcpu();
	if (vcpu)
		return lol_guest_syscall(vcpu, regs);
	vcpu = lol_current_monitor();
	if (vcpu)
		return lol_monitor_syscall(vcpu, regs);
	/* A setting lol left behind (unbound thread, fork child). */
	lol_entry_release();
	return false;
}

/*
 * The guest touched AS memory its table does not allow (pt.c): leave on
 * the way back to user mode, as a kick does (get_signal() runs for
 * TIF_NOTIFY_SIGNAL), instead of through a SIGSEGV or SIGBUS the host
 * would queue and lol dequeue again. Only for the guest's own user-mode
 * access on this thread: the host's accesses to guest memory (a NATIVE
 * syscall's copy_from_user(), ptrace) keep @sig_ret, whose signal the
 * kernel turns into -EFAULT there.
 */
vm_fault_t lol_guest_fault(struct vm_fault *vmf, bool present,
			   vm_fault_t sig_ret)
{
	struct lol_vcpu *vcpu;

	if (!(vmf->flags & FAULT_FLAG_USER))
		return sig_ret;
	vcpu = lol_current_vcpu();
	if (!vcpu || vcpu->as->mm != vmf->vma->vm_mm)
		return sig_ret;
	lol_arch_fault_exit(vmf, present, vcpu->run);
	vcpu->fault_pending = true;
	set_tsk_thread_flag(current, TIF_NOTIFY_SIGNAL);
	/* No PTE: the access repeats when the guest runs again. */
	return VM_FAULT_NOPAGE;
}

/* Which exit a pending signal, or its absence, means. */
static void lol_guest_signal(struct lol_vcpu *vcpu)
{
	struct task_struct *tsk = current;
	kernel_siginfo_t info;
	enum pid_type type;
	sigset_t mask;
	u32 reason;
	int sig = 0;
	long ret;

	/* The guest's own fault comes first, as a synchronous signal would. */
	if (vcpu->fault_pending) {
		lol_guest_leave(vcpu, LOL_EXIT_FAULT, 0);
		return;
	}
	if (tsk->pending.signal.sig[0] & LOL_SYNC_SIGNALS) {
		siginitsetinv(&mask, LOL_SYNC_SIGNALS);
		spin_lock_irq(&lol_sighand()->siglock);
		sig = dequeue_signal(tsk, &mask, &info, &type);
		spin_unlock_irq(&lol_sighand()->siglock);
	}

	if (sig > 0 && info.si_code > 0) {
		/* Raised by the kernel for a guest exception. */
		reason = lol_arch_signal_exit(sig, &info, vcpu->run);
		ret = 0;
	} else if (atomic_xchg(&vcpu->kick, 0)) {
		reason = LOL_EXIT_KICK;
		ret = 0;
	} else {
		/*
		 * A host signal: the monitor's handler runs and LOL_RUN
		 * fails with -EINTR; with no handler (stop, ptrace), or with
		 * no signal at all (TIF_NOTIFY_SIGNAL for a task_work),
		 * LOL_RUN restarts and the guest goes on.
		 */
		reason = LOL_EXIT_INTR;
		ret = -ERESTARTNOHAND;
		/*
		 * SIGKILL, or a signal whose default action kills, which
		 * complete_signal() turned into SIGKILL for every thread:
		 * the thread dies here, in guest mode as far as the admin
		 * is concerned.
		 */
		if (fatal_signal_pending(tsk))
			lol_nl_vcpu_killed(vcpu);
	}
	lol_guest_leave(vcpu, reason, ret);

	/* A user-sent signal of the sync kind: give it back. */
	if (sig > 0 && info.si_code <= 0)
		send_sig_info(sig, &info, tsk);
}

static bool lol_hook_get_signal(struct ksignal *ksig)
{
	struct lol_vcpu *vcpu = lol_current_vcpu();
	bool delivered;

	if (!vcpu)
		return lol_orig_get_signal(ksig);
	lol_guest_signal(vcpu);
	delivered = lol_orig_get_signal(ksig);
	/* The vcpu may be gone: get_signal() ran the deferred fput. */
	lol_arch_signal_done(delivered);
	return delivered;
}

static void lol_hook_do_exit(long code)
{
	struct lol_vcpu *vcpu = lol_current_vcpu();

	if (vcpu) {
		lol_nl_vcpu_killed(vcpu);
		lol_guest_leave(vcpu, LOL_EXIT_INTR, -EINTR);
	}
	vcpu = lol_current_monitor();
	if (vcpu)
		lol_monitor_unbind(vcpu);
	lol_orig_do_exit(code);
}

/*
 * kprobe pre-handlers: redirect guest-mode threads to the hooks above by
 * changing the saved instruction pointer (returning 1 tells kprobes the
 * handler did so; lol_arch_kprobe_redirect() is how, per port); everyone
 * else continues into the original function.
 */
static int lol_kp_get_signal(struct kprobe *p, struct pt_regs *regs)
{
	struct lol_vcpu *vcpu = lol_current_vcpu();

	/*
	 * Always, even for TIF_NOTIFY_SIGNAL alone (a task_work): a signal
	 * may arrive while get_signal() runs, and must never be dequeued,
	 * let alone get a frame, with the guest loaded.
	 */
	if (!vcpu)
		return 0;
	lol_arch_kprobe_redirect(regs, lol_hook_get_signal);
	return 1;
}

static int lol_kp_do_exit(struct kprobe *p, struct pt_regs *regs)
{
	if (!lol_current_vcpu() && !lol_current_monitor())
		return 0;
	lol_arch_kprobe_redirect(regs, lol_hook_do_exit);
	return 1;
}

static struct kprobe lol_kprobes[] = {
	/* The syscall entry's pre-handler is the entry's own. */
	{ .symbol_name = LOL_ENTRY_SYMBOL, .pre_handler = lol_entry_kprobe },
	{ .symbol_name = "get_signal", .pre_handler = lol_kp_get_signal },
	{ .symbol_name = "do_exit", .pre_handler = lol_kp_do_exit },
};

static struct kprobe *lol_kprobe_ptrs[ARRAY_SIZE(lol_kprobes)];

int lol_run_init(void)
{
	int i, ret;

	ret = lol_arch_init();
	if (ret)
		return ret;
	ret = lol_mm_init();
	if (ret)
		goto out_arch;
	for (i = 0; i < ARRAY_SIZE(lol_kprobes); i++)
		lol_kprobe_ptrs[i] = &lol_kprobes[i];
	ret = register_kprobes(lol_kprobe_ptrs, ARRAY_SIZE(lol_kprobes));
	if (ret) {
		pr_warn("cannot hook %s: %d\n", lol_kprobes[0].symbol_name, ret);
		goto out_arch;
	}
	lol_orig_get_signal = lol_arch_kprobe_func(lol_kprobes[1].addr);
	lol_orig_do_exit = lol_arch_kprobe_func(lol_kprobes[2].addr);
	return 0;

out_arch:
	lol_arch_exit();
	return ret;
}

void lol_run_exit(void)
{
	/* No thread may keep lol's setting past the hook (entry_seccomp.c). */
	lol_entry_exit();
	unregister_kprobes(lol_kprobe_ptrs, ARRAY_SIZE(lol_kprobes));
	lol_arch_exit();
	/* Every vcpu, and so every binding, went with its file's module ref. */
	WARN_ON(!hash_empty(lol_bindings));
}
