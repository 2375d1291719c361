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
#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/user_namespace.h>

#include "lol.h"

/*
 * Two host functions lol needs are not exported:
 *
 * mm_alloc(): the one function that gives an empty, fully initialised mm
 * (page tables, context, LDT-free, no vDSO) without exec; the alternative
 * -- a forked holder process whose mm is emptied -- inherits the monitor's
 * LDT, pkeys, exe_file and flags.
 *
 * switch_mm_irqs_off(): loads another mm's page tables on this CPU. The
 * exported alternative, kthread_{unuse,use}_mm(), needs PF_KTHREAD and
 * leaves current->mm NULL between the two calls with interrupts enabled:
 * an interrupt's softirq that uses the FPU then takes the thread for a
 * kernel thread and clobbers its live user FP registers, and /proc readers
 * on other CPUs see a task without an mm.
 *
 * Their addresses come from a kprobe on them, which the kprobe API
 * resolves by name (kallsyms_lookup_name() is not exported either).
 * membarrier_update_current_mm() is resolved the same way, optionally: it
 * only keeps the runqueue's membarrier state in step with current->mm.
 * So is security_mmap_file(), required: guest memory is mapped by lol's
 * page tables, not by mmap() of the phys file, and the LSM and IMA checks
 * of such an mmap() must still run (lol_mm_may_map()).
 */
static struct mm_struct *(*lol_mm_alloc_fn)(void);
#ifndef LOL_ARCH_SWITCH_MM
static void (*lol_switch_mm_fn)(struct mm_struct *prev,
				struct mm_struct *next,
				struct task_struct *tsk);
#endif
static void (*lol_membarrier_fn)(struct mm_struct *next);
static int (*lol_security_mmap_file_fn)(struct file *file, unsigned long prot,
					unsigned long flags);

unsigned long lol_lookup_symbol(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	/* Something to call (on ia64, a function descriptor for it). */
	addr = (unsigned long)lol_arch_kprobe_func(kp.addr);
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
#ifndef LOL_ARCH_SWITCH_MM
	lol_switch_mm_fn = (void *)lol_lookup_symbol("switch_mm_irqs_off");
	if (!lol_switch_mm_fn) {
		pr_warn("cannot resolve switch_mm_irqs_off\n");
		return -ENOENT;
	}
#endif
#ifdef CONFIG_SECURITY
	lol_security_mmap_file_fn =
		(void *)lol_lookup_symbol("security_mmap_file");
	if (!lol_security_mmap_file_fn) {
		pr_warn("cannot resolve security_mmap_file\n");
		return -ENOENT;
	}
#endif
	lol_membarrier_fn =
		(void *)lol_lookup_symbol("membarrier_update_current_mm");
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
 * The task's cached RSS counts (SPLIT_RSS_COUNTING) belong to the mm they
 * were counted in: flush them into @mm before current->mm changes, or
 * they land in the other mm (a "Bad rss-counter state" when it goes).
 * sync_mm_rss() is not exported; this is it without its tracepoint.
 */
static void lol_mm_sync_rss(struct mm_struct *mm)
{
#ifdef SPLIT_RSS_COUNTING
	struct task_struct *tsk = current;
	int i, any = 0;

	/* Usually all zero: one test for the lot. */
	for (i = 0; i < NR_MM_COUNTERS; i++)
		any |= tsk->rss_stat.count[i];
	if (!any)
		goto out;
	for (i = 0; i < NR_MM_COUNTERS; i++) {
		if (tsk->rss_stat.count[i]) {
			atomic_long_add(tsk->rss_stat.count[i],
					&mm->rss_stat.count[i]);
			tsk->rss_stat.count[i] = 0;
		}
	}
out:
	tsk->rss_stat.events = 0;
#endif
}

/*
 * Make @to the current thread's mm, as a context switch between two
 * threads of different processes would: the task stays a user task
 * throughout (no PF_KTHREAD, current->mm never NULL), and the pointer
 * change and the page-table switch happen together under task_lock() --
 * which /proc (get_task_mm(), get_task_exe_file()) and every other reader
 * of another task's mm take -- with interrupts off. No interrupt, softirq,
 * NMI or other CPU can see the thread between two states: it has either
 * the old mm loaded and named, or the new one. The thread's FP registers
 * are not involved at all.
 *
 * User tasks hold no separate reference for active_mm (it equals mm), so
 * none changes hands; the caller holds mm_users on both mms for as long
 * as either is current->mm.
 */
void lol_mm_switch(struct mm_struct *from, struct mm_struct *to)
{
	struct task_struct *tsk = current;
	unsigned long flags;

	task_lock(tsk);
	/* membarrier: user accesses in @from before the mm changes. */
	smp_mb__after_spinlock();
	local_irq_save(flags);
	lol_mm_sync_rss(from);
	tsk->mm = to;
	tsk->active_mm = to;
	if (lol_membarrier_fn)
		lol_membarrier_fn(to);
#ifdef LOL_ARCH_SWITCH_MM
	/* A port whose kernel has no out-of-line switch_mm (arm64, ia64). */
	lol_arch_switch_mm(from, to, tsk);
#else
	lol_switch_mm_fn(from, to, tsk);
#endif
	local_irq_restore(flags);
	task_unlock(tsk);
	/* membarrier: the new current->mm before user accesses in @to. */
	smp_mb();
}

/*
 * What the LSMs and IMA say to mmap(MAP_SHARED) of @file with @prot
 * (PROT_*): guest memory is mapped by lol's page tables (pt.c), so the
 * check mmap() would make of the phys file is made here, per op.
 */
int lol_mm_may_map(struct file *file, unsigned long prot)
{
	/* Without CONFIG_SECURITY, mmap() has no such check either. */
	if (!IS_ENABLED(CONFIG_SECURITY))
		return 0;
	if (!lol_security_mmap_file_fn)
		return -EPERM;
	return lol_security_mmap_file_fn(file, prot, MAP_SHARED);
}
