// SPDX-License-Identifier: GPL-2.0
/*
 * lol: host mm glue. Everything that depends on how the host kernel
 * manages a task's mm is here, so that a kernel change has one place to
 * look at. See Documentation/design.md, "Address spaces".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/user_namespace.h>

#include "lol.h"

/*
 * mm_alloc() is not exported. It is the one function that gives an empty,
 * fully initialised mm (page tables, context, LDT-free, no vDSO) without
 * exec; the alternative -- a forked holder process whose mm is emptied --
 * inherits the monitor's LDT, pkeys, exe_file and flags. Its address is
 * taken from a kprobe on it, which the kprobe API resolves by name.
 */
static struct mm_struct *(*lol_mm_alloc_fn)(void);

static unsigned long lol_lookup_symbol(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

int lol_mm_init(void)
{
	lol_mm_alloc_fn = (void *)lol_lookup_symbol("mm_alloc");
	if (!lol_mm_alloc_fn) {
		pr_warn("cannot resolve mm_alloc\n");
		return -ENOENT;
	}
	return 0;
}

/*
 * The guest AS names the monitor's executable: while the thread-group
 * leader runs a guest, /proc/<pid>/exe (and so execve("/proc/self/exe")
 * from a sibling) still works. The reference and the write denial are
 * what __mmput() releases, as for an exec'd mm.
 */
static void lol_mm_set_exe(struct mm_struct *mm, struct mm_struct *host)
{
	struct file *exe;

	rcu_read_lock();
	exe = rcu_dereference(host->exe_file);
	if (exe && !get_file_rcu(exe))
		exe = NULL;
	rcu_read_unlock();
	if (!exe)
		return;
	if (deny_write_access(exe)) {
		fput(exe);
		return;
	}
	rcu_assign_pointer(mm->exe_file, exe);
}

/*
 * A fresh mm for a guest AS. Its layout hooks are copied from the monitor
 * (vm_mmap() calls mm->get_unmapped_area even for MAP_FIXED), and its
 * memcg owner is the monitor's thread-group leader, which the guest pins:
 * guest memory is charged to the monitor's cgroup.
 */
struct mm_struct *lol_mm_alloc(struct task_struct *owner)
{
	struct mm_struct *mm, *host = current->mm;

	mm = lol_mm_alloc_fn();
	if (!mm)
		return NULL;
	lol_mm_set_exe(mm, host);
	/* Capability checks against the AS use the monitor's namespace. */
	if (mm->user_ns != host->user_ns) {
		put_user_ns(mm->user_ns);
		mm->user_ns = get_user_ns(host->user_ns);
	}
	mm->get_unmapped_area = host->get_unmapped_area;
	mm->mmap_base = host->mmap_base;
	mm->mmap_legacy_base = host->mmap_legacy_base;
	mm->task_size = host->task_size;
#ifdef CONFIG_MEMCG
	RCU_INIT_POINTER(mm->owner, owner);
#endif
	return mm;
}

/*
 * ptrace and /proc access checks look at the dumpability of a task's mm,
 * which in guest mode is the guest AS: it follows the monitor's, which
 * may change at any time (prctl(PR_SET_DUMPABLE), setuid), so it is
 * copied on every entry.
 */
void lol_mm_sync_dumpable(struct mm_struct *guest, struct mm_struct *host)
{
	int want = get_dumpable(host);
	unsigned long old, new;

	do {
		old = READ_ONCE(guest->flags);
		if ((old & MMF_DUMPABLE_MASK) == want)
			return;
		new = (old & ~MMF_DUMPABLE_MASK) | want;
	} while (cmpxchg(&guest->flags, old, new) != old);
}

/*
 * Make @to the current thread's mm. kthread_{unuse,use}_mm() are the only
 * exported ways to change current->mm and to load a page-table root; they
 * require PF_KTHREAD, which is set for the few instructions of the switch
 * with preemption off (see Documentation/design.md for what other CPUs may
 * observe meanwhile). kthread_unuse_mm() also flushes the task's cached
 * RSS counters into @from, which would otherwise land in the wrong mm.
 *
 * Reference counts: kthread_use_mm() drops the old active_mm, a reference
 * user tasks do not hold, so one is taken on @from first; it takes one on
 * @to, which a user task does not hold either, so it is dropped after.
 * The caller holds mm_users on both.
 */
void lol_mm_switch(struct mm_struct *from, struct mm_struct *to)
{
	struct task_struct *tsk = current;

	mmgrab(from);
	preempt_disable();
	tsk->flags |= PF_KTHREAD;
	kthread_unuse_mm(from);
	kthread_use_mm(to);
	tsk->flags &= ~PF_KTHREAD;
	preempt_enable();
	mmdrop(to);
}
