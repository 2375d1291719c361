/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: the IA-64 half of the run loop (Documentation/arch.md, "ia64").
 * Compile-checked only: no ia64 machine or simulator is packaged.
 *
 * A thread's user state on ia64 is spread over four places: pt_regs (the
 * scratch registers and everything an interruption saves), the preserved
 * registers (r4-r7, b1-b5, f2-f5, f12-f31, ar.lc, ar.ec), which stay live
 * in the CPU while the kernel runs and are reached through the unwinder,
 * the register stack engine's dirty partition on the kernel's register
 * backing store (the user's stacked registers not yet written to the
 * user's backing store), and the high FP partition f32-f127 (lazily
 * switched: thread.fph, psr.dfh).
 */
#ifndef _LOL_ARCH_IA64_H
#define _LOL_ARCH_IA64_H

#include <linux/kprobes.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/thread_info.h>
#include <asm/lol.h>
#include <asm/elf.h>
#include <asm/fpu.h>
#include <asm/processor.h>
#include <asm/ptrace.h>
#include <asm/timex.h>

#define LOL_USER_LIMIT	LOL_USER_ADDR_LIMIT

/*
 * Writes one of lol's special PTEs (pt.c): set_pte_at(), which syncs the
 * I-cache for executable pages (guest code the monitor wrote).
 */
#define lol_arch_set_special_pte(mm, addr, ptep, pte)	\
	set_pte_at(mm, addr, ptep, pte)

/* LOL_RUN flags the port supports: single-step through psr.ss. */
#define LOL_ARCH_RUN_FLAGS	LOL_RUN_SINGLESTEP

/*
 * The ia64 syscall entry (entry_audit.c): TIF_SYSCALL_AUDIT sends a
 * thread's syscalls through syscall_trace_enter().
 */
#define LOL_ENTRY_SYMBOL	"syscall_trace_enter"

static inline bool lol_entry_armed(void)
{
	return test_thread_flag(TIF_SYSCALL_AUDIT);
}

/*
 * The slot before the one the saved ip names (instruction_pointer(): the
 * bundle address plus the slot): the `break` (or the br.call to the epc
 * gateway), which the entry has stepped past.
 */
static inline u64 lol_ia64_prev_slot(u64 ip)
{
	return ip & 3 ? ip - 1 : (ip & ~0xfULL) - 16 + 2;
}

static inline u64 lol_entry_syscall_ip(struct pt_regs *regs)
{
	return lol_ia64_prev_slot(instruction_pointer(regs));
}

struct lol_vcpu;
struct lol_run;

/* The register LOL_RUN and LOL_RESUME return to the guest: r8. */
static inline u64 lol_arch_ret_reg(const struct lol_regs *g)
{
	return g->gr[8];
}

/* The thread pointer is r13, in pt_regs: nothing in the thread struct. */
static inline void lol_arch_save_thread_regs(struct lol_regs *g)
{
}

/* LOL_RESUME keeps the monitor thread's own thread pointer. */
static inline void lol_arch_clear_thread_regs(struct lol_regs *g)
{
	g->gr[13] = task_pt_regs(current)->r13;
}

/* The preserved registers, live in the CPU while the kernel runs. */
struct lol_ia64_preserved {
	unsigned long gr[4];		/* r4-r7 */
	char nat[4];
	unsigned long br[5];		/* b1-b5 */
	unsigned long lc, ec;
	struct ia64_fpreg fr[30];	/* f2-f31; f6-f11 are in pt_regs */
};

struct lol_arch_vcpu {
	struct pt_regs host_regs;	/* monitor's user frame at LOL_RUN */
	struct lol_ia64_preserved host;
	struct lol_ia64_preserved guest;	/* while the monitor runs */
	struct ia64_fpreg fph[96];	/* f32-f127 of whoever is not running */
	u32 fptrap;			/* LOL_FPTRAP_* armed */
	u32 fptrap_hit;			/* the bank whose use trapped */
};

static inline u64 lol_arch_clock(void)
{
	return get_cycles();
}

static inline u64 lol_arch_clock_ns(u64 ticks)
{
	unsigned long hz = local_cpu_data->itc_freq;

	return hz ? mul_u64_u64_div_u64(ticks, NSEC_PER_SEC, hz) : 0;
}

/*
 * Kernel code on ia64 is built with -mconstant-gp: after a direct call it
 * assumes r1 still holds the kernel's gp, while a module function leaves
 * the module's there. A kprobe redirect therefore goes through
 * lol_ia64_redirect (redirect.S), which calls the target's descriptor and
 * restores the kernel's gp on the way back; and a probed address becomes
 * callable through a descriptor with the kernel's gp (regs.c).
 */
void lol_ia64_redirect(void);

static inline void lol_arch_kprobe_redirect(struct pt_regs *regs,
					    const void *fn)
{
	const struct fdesc *tramp = (const void *)lol_ia64_redirect;

	regs->r2 = (unsigned long)fn;	/* a descriptor; scratch at entry */
	regs->cr_iip = tramp->addr;
	ia64_psr(regs)->ri = 0;
}

void *lol_arch_kprobe_func(kprobe_opcode_t *addr);

/*
 * ia64 has no out-of-line switch_mm to resolve: the port switches region
 * registers with the kernel's inline activate_mm() (mm.c).
 */
#define LOL_ARCH_SWITCH_MM
void lol_arch_switch_mm(struct mm_struct *from, struct mm_struct *to,
			struct task_struct *tsk);

void lol_arch_exit(void);
u32 lol_arch_fptrap_banks(void);
int lol_arch_set_fptrap(struct lol_vcpu *vcpu, u32 banks);

/*
 * After get_signal() for a guest that left guest mode in it: nothing on
 * ia64, whose ia64_do_signal() decides syscall restarts after get_signal().
 */
static inline void lol_arch_signal_done(bool delivered)
{
}

/* regs.c, for fpu.c, exit.c and the entry */
struct lol_ia64_syms {
	long (*peek)(struct task_struct *child, struct switch_stack *sw,
		     unsigned long user_rbs_end, unsigned long addr,
		     long *val);
	unsigned long (*rbs_end)(struct task_struct *child,
				 struct pt_regs *pt, unsigned long *cfmp);
	void (*sync_fph)(struct task_struct *task);
	void (*get_args)(struct task_struct *task, struct pt_regs *regs,
			 unsigned long *args);
};
extern struct lol_ia64_syms lol_ia64;
void lol_ia64_fph_swap(struct lol_vcpu *vcpu);
void lol_ia64_leave_kernel(void);
int lol_ia64_entry_init(void);
void lol_ia64_entry_exit(void);
void lol_ia64_entry_forget(void);
int lol_ia64_fptrap_init(void);
void lol_ia64_fptrap_fini(void);
bool lol_ia64_fptrap_exit(struct lol_vcpu *vcpu, int sig,
			  const kernel_siginfo_t *info, struct lol_run *run);

#endif /* _LOL_ARCH_IA64_H */
