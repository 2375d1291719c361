/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: internal definitions shared by the generic module files.
 */
#ifndef _LOL_INTERNAL_H
#define _LOL_INTERNAL_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/sched.h>
#include <linux/task_work.h>
#include <linux/list.h>
#include <linux/lol.h>
#include <linux/lol_netlink.h>

/*
 * The port: module/arch/<arch>/lol_arch.h, found through the include path
 * that Kbuild sets from the kernel build's SRCARCH. It also includes the
 * inline half of the port's syscall entry (entry_sud.h on x86).
 */
#include "lol_arch.h"

/*
 * What every port implements out of line (module/arch/<arch>/), as KVM's
 * kvm_host.h declares its kvm_arch_*() functions; lol_arch.h adds the
 * port's inline helpers and anything only it has. Documentation/arch.md
 * says what each does per port.
 */
struct lol_vcpu;
struct vm_fault;
int lol_arch_init(void);
unsigned int lol_arch_fpu_size(void);
int lol_arch_vcpu_init(struct lol_vcpu *vcpu);
void lol_arch_vcpu_destroy(struct lol_vcpu *vcpu);
int lol_arch_get_fpu(struct lol_vcpu *vcpu, void __user *ubuf);
int lol_arch_set_fpu(struct lol_vcpu *vcpu, const void __user *ubuf);
/* guest registers: checked, loaded on entry, saved on exit */
int lol_arch_check_regs(const struct lol_regs *regs);
int lol_arch_can_run(void);
void lol_arch_enter(struct lol_vcpu *vcpu, const struct lol_regs *regs,
		    bool singlestep);
void lol_arch_leave(struct lol_vcpu *vcpu, struct lol_regs *out, long ret);
void lol_arch_save_regs(const struct pt_regs *r, struct lol_regs *g);
void lol_arch_load_regs(struct pt_regs *r, const struct lol_regs *g);
/* the guest's return value register, through the ioctl's int or not */
void lol_arch_set_guest_ax(struct lol_vcpu *vcpu, u64 val);
bool lol_arch_ax_fits_ioctl(u64 val);
/* monitor mode and NATIVE ranges (reflect.c, run.c) */
bool lol_arch_native_ok(struct pt_regs *regs);
void lol_arch_upcall(struct pt_regs *regs, u64 entry, u64 stack);
void lol_arch_sigsys(struct pt_regs *regs);
/* exit decoding into the run page */
void lol_arch_syscall_exit(struct pt_regs *regs, struct lol_run *run);
u32 lol_arch_signal_exit(int sig, const kernel_siginfo_t *info,
			 struct lol_run *run);
void lol_arch_fault_exit(const struct vm_fault *vmf, bool present,
			 struct lol_run *run);

#define LOL_AS_BATCH_MAX	256

/* Module parameters (main.c). */
extern unsigned int lol_max_vcpus;
extern unsigned int lol_max_guests_per_user;
extern unsigned int lol_max_as;
extern unsigned int lol_max_mappings;

struct lol_guest;
struct lol_binding;

/* A published syscall range table (ranges.c); replaced whole under RCU. */
struct lol_ranges {
	struct rcu_head rcu;
	u32 flags;			/* LOL_RANGES_* */
	u32 nr;
	u32 def;			/* default action */
	u64 entry, stack;		/* monitor-mode upcall */
	unsigned long disarmed;		/* one-shot ranges already hit */
	struct lol_syscall_range r[LOL_MAX_SYSCALL_RANGES];	/* sorted */
};

/* A guest address space: a host mm that holds only what was mapped. */
struct lol_as {
	struct kref ref;
	struct lol_guest *guest;	/* holds a guest reference */
	struct mm_struct *mm;		/* mm_users reference */
	struct file *pt;		/* its table and chunks' file (pt.c) */
	struct mutex lock;		/* serialises AS operations */
	u32 id;
};

struct lol_guest {
	struct kref ref;
	u32 id;				/* host-wide, in lol_guests (netlink) */
	char comm[TASK_COMM_LEN];	/* the creator's, for the admin */
	struct mm_struct *mm;		/* creator's mm (mmgrab); -EIO otherwise */
	struct task_struct *owner;	/* creator's group leader, memcg owner */
	kuid_t uid;
	struct mutex lock;		/* vcpus[], phys, AS creation */
	struct file *phys;		/* guest physical memory, or NULL */
	u64 phys_size;
	struct xarray as_xa;		/* as_id -> struct lol_as */
	unsigned int nr_as;
	u32 next_as_id;
	unsigned int nr_vcpus;
	struct lol_vcpu **vcpus;	/* [lol_max_vcpus] */
};

/*
 * Counters for the admin (netlink.c). Each field has one writer: the
 * thread in LOL_RUN (exits, times) or the monitor thread (reflections);
 * readers on other CPUs use READ_ONCE. No shared atomics on the run path
 * and as little as can be there: entries and the monitor's time are
 * derived when read. Kicks come from any thread, off the run path.
 */
struct lol_vcpu_stats {
	u64 exits[LOL_EXIT_INTR + 1];
	u64 reflections;
	u64 guest_ticks;		/* lol_arch_clock() ticks in guest mode */
	u64 enter_ticks;		/* at the last entry */
	u64 created_ticks;		/* at LOL_CREATE_VCPU */
	atomic64_t kicks;
};

struct lol_vcpu {
	struct kref ref;
	struct lol_guest *guest;	/* holds a guest reference */
	struct file *file;
	struct lol_run *run;		/* the shared run page */
	u32 id;

	/*
	 * Held by a thread inside LOL_RUN (or an FPU ioctl), and once more
	 * for each task_work the run queued on its own thread (run.c,
	 * lol_run_work_add): no other thread runs the vcpu until they ran.
	 */
	atomic_t running;
	atomic_t kick;			/* LOL_KICK pending */
	spinlock_t kick_lock;
	struct hlist_head kicks;	/* queued struct lol_kick, run.c */
	/* Valid while a thread is in guest mode on this vcpu. */
	struct task_struct *task;
	struct lol_as *as;
	struct mm_struct *host_mm;
	/* The thread bound to it (run.c, lol_bindings), or NULL. */
	struct lol_binding __rcu *binding;
	struct rseq __user *host_rseq;
	unsigned long host_rseq_events;	/* the monitor's rseq event mask */
	bool host_entry_own;		/* lol_entry_foreign() at entry */
	bool singlestep;		/* this entry has LOL_RUN_SINGLESTEP */
	bool exit_trap;		/* lol set SYSCALL_WORK_SYSCALL_EXIT_TRAP */
	bool fixup_armed;		/* fixup_work must still set rax */
	bool fault_pending;		/* lol_guest_fault() left an exit */
	u64 fixup_ax_val;
	sigset_t host_blocked;		/* saved if sync signals were blocked */
	bool blocked_changed;
	unsigned long host_ign;		/* sync signals the monitor ignored */
	struct callback_head fixup_work;
	u64 resume_ax;			/* LOL_RESUME's, for resume_work */
	struct callback_head resume_work;

	struct lol_regs regs_in;	/* LOL_RUN's copy of run->regs */

	struct lol_ranges __rcu *ranges;
	/* Monitor mode: the thread whose own syscalls the table filters. */
	struct task_struct *mtask;
	struct mm_struct *mtask_mm;	/* mmgrab'd; another mm: exec'd */
	struct hlist_node mnode;	/* lol_monitors hash */
	bool in_upcall;			/* reflected, LOL_RESUME pending */

	struct rcu_head rcu;		/* lol_bindings lookups are RCU */
	struct lol_vcpu_stats stats;
	struct lol_arch_vcpu arch;
};

/* Is any of @n words that must be zero set? Read once each. */
static inline bool lol_any_set(const u64 *p, unsigned int n)
{
	u64 acc = 0;

	for (; n >= 4; p += 4, n -= 4)
		acc |= READ_ONCE(p[0]) | READ_ONCE(p[1]) | READ_ONCE(p[2]) |
		       READ_ONCE(p[3]);
	for (; n; p++, n--)
		acc |= READ_ONCE(*p);
	return acc;
}

/*
 * Drops one hold on vcpu->running, after every write it covered (the run
 * page, the vcpu's state): the next holder's cmpxchg sees them.
 */
static inline void lol_vcpu_unbusy(struct lol_vcpu *vcpu)
{
	smp_mb__before_atomic();	/* release: pairs with the cmpxchg */
	atomic_dec(&vcpu->running);
}

static inline void lol_stat_inc(u64 *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

/* main.c */
bool lol_run_supported(void);

/* guest.c */
int lol_guest_create(unsigned long type);
void lol_guest_put(struct lol_guest *guest);
bool lol_guest_caller_ok(struct lol_guest *guest);
struct lol_guest *lol_guest_next(unsigned long *id);

/* as.c */
int lol_as_create(struct lol_guest *guest, u32 *id);
int lol_as_destroy(struct lol_guest *guest, u32 id);
int lol_as_ops(struct lol_guest *guest, struct lol_as_batch __user *ubatch);
struct lol_as *lol_as_get(struct lol_guest *guest, u32 id);
void lol_as_put(struct lol_as *as);
void lol_as_destroy_all(struct lol_guest *guest);

/* pt.c: guest memory as lol-managed page tables */
/* LOL_AS_OPS batches up to this many ops need no allocation. */
#define LOL_AS_OPS_ONSTACK	4

struct lol_pt_batch {
	struct mm_struct *mm;		/* the AS's */
	struct file *file;		/* its table's */
	struct file *phys;
	u64 zap_start, zap_end;		/* PTEs still to zap */
	unsigned int nr_put;
	u8 prot_checked;		/* BIT(prot): prot_err[prot] is set */
	int prot_err[8];		/* what the phys file allows */
	unsigned long put[32];		/* entries to let go after the zap */
};
int lol_pt_init(void);
bool lol_pt_phys_ok(struct file *file);
struct file *lol_pt_create(void);
bool lol_pt_vma(struct vm_area_struct *vma, struct file *file);
struct vm_area_struct *lol_pt_chunk(struct file *file, struct mm_struct *mm,
				    unsigned long addr);
void lol_pt_batch_init(struct lol_pt_batch *b, struct mm_struct *mm,
		       struct file *file, struct file *phys);
void lol_pt_batch_check(struct lol_pt_batch *b, const struct lol_as_op *op);
int lol_pt_apply(struct lol_pt_batch *b, const struct lol_as_op *op);
void lol_pt_batch_end(struct lol_pt_batch *b);
unsigned long lol_pt_pages(struct file *file);

/* vcpu.c */
int lol_vcpu_create(struct lol_guest *guest, unsigned long id);
void lol_vcpu_put(struct lol_vcpu *vcpu);

/* run.c */
long lol_vcpu_run(struct lol_vcpu *vcpu);
void lol_vcpu_unbind(struct lol_vcpu *vcpu);
bool lol_in_guest(void);
struct lol_vcpu *lol_guest_vcpu(void);
vm_fault_t lol_guest_fault(struct vm_fault *vmf, bool present,
			   vm_fault_t sig_ret);
int lol_vcpu_kick(struct lol_vcpu *vcpu);
long lol_return_ax(struct lol_vcpu *vcpu, u64 ax);
/* a task_work that holds @vcpu (run.c); its function ends with _done() */
bool lol_vcpu_work_add(struct lol_vcpu *vcpu, struct task_struct *tsk,
		       struct callback_head *work, task_work_func_t fn,
		       enum task_work_notify_mode mode);
void lol_vcpu_work_done(struct lol_vcpu *vcpu);
/* one LOL_RUN queues on its own thread: holds vcpu->running too */
bool lol_run_work_add(struct lol_vcpu *vcpu, struct callback_head *work,
		      task_work_func_t fn);
void lol_run_work_done(struct lol_vcpu *vcpu);
void lol_read_regs(struct lol_regs *dst, const struct lol_regs *src);
int lol_run_init(void);
void lol_run_exit(void);
extern void (*lol_orig_do_exit)(long code);

/* ranges.c */
struct lol_ranges *lol_ranges_parse(const struct lol_syscall_ranges __user *u);
u32 lol_ranges_action(struct lol_ranges *t, u64 ip);
bool lol_native_nr_ok(unsigned long nr);

/* reflect.c: monitor-mode filtering and in-place reflection */
int lol_vcpu_set_ranges(struct lol_vcpu *vcpu,
			const struct lol_syscall_ranges __user *u);
long lol_vcpu_resume(struct lol_vcpu *vcpu);
struct lol_vcpu *lol_current_monitor(void);
bool lol_monitor_syscall(struct lol_vcpu *vcpu, struct pt_regs *regs);
void lol_monitor_unbind(struct lol_vcpu *vcpu);

/* netlink.c: the generic netlink family for the admin */
int lol_nl_init(void);
void lol_nl_exit(void);
void lol_nl_guest_event(struct lol_guest *guest, u32 event);
void lol_nl_vcpu_killed(struct lol_vcpu *vcpu);
void lol_nl_limit(struct lol_guest *guest, u32 limit);
void lol_nl_bad_input(struct lol_guest *guest, struct lol_vcpu *vcpu,
		      unsigned int cmd, long err);

/* run.c: what the syscall entry calls */
bool lol_syscall_wanted(void);
bool lol_syscall(struct pt_regs *regs);

/*
 * The syscall entry: how a guest-mode or monitor-mode thread's syscall
 * reaches lol, one implementation per mechanism, chosen by the port's
 * Kbuild fragment (entry_sud.c: Syscall User Dispatch, for kernels that
 * select GENERIC_ENTRY). Its header, included by lol_arch.h, gives
 * LOL_ENTRY_SYMBOL (the host function run.c kprobes with
 * lol_entry_kprobe()), lol_entry_armed() (the cheap per-thread test in
 * front of every lookup) and lol_entry_syscall_ip() (the address of the
 * syscall instruction, from the registers at the hook). The hook calls
 * lol_syscall() for the threads lol_syscall_wanted(), and skips the
 * syscall when it returns true. Documentation/arch.md.
 */
struct kprobe;
int lol_entry_kprobe(struct kprobe *p, struct pt_regs *regs);
/* lol's own setting on the current thread (also one it left behind) */
bool lol_entry_marked(void);
/* the thread uses the mechanism for its own purposes: lol leaves it be */
bool lol_entry_foreign(void);
/* route the current thread's syscalls to lol; undo that */
void lol_entry_claim(void);
void lol_entry_release(void);
/*
 * single-step trap after the native syscall about to run on @vcpu (which
 * is single-stepping); undo that
 */
bool lol_entry_step(struct lol_vcpu *vcpu);
void lol_entry_unstep(void);
/* at module exit, before the hook goes: lol's setting off every thread */
void lol_entry_exit(void);

/* mm.c: the host-mm glue, the one place that touches mm internals */
int lol_mm_init(void);
unsigned long lol_lookup_symbol(const char *name);
struct mm_struct *lol_mm_alloc(struct task_struct *owner);
void lol_mm_switch(struct mm_struct *from, struct mm_struct *to);
void lol_mm_sync_dumpable(struct mm_struct *guest, struct mm_struct *host);
int lol_mm_may_map(struct file *file, unsigned long prot);

#endif /* _LOL_INTERNAL_H */
