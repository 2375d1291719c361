/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: the arm64 half of the run loop. The generic code (run.c) calls
 * these to load and save guest state; everything that knows about
 * pt_regs, TPIDR, FP/SIMD/SVE and exception syndromes is here.
 */
#ifndef _LOL_ARCH_ARM64_H
#define _LOL_ARCH_ARM64_H

#include <linux/build_bug.h>
#include <linux/kprobes.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/timex.h>
#include <asm/lol.h>
#include <asm/arch_timer.h>
#include <asm/fpsimd.h>
#include <asm/processor.h>
#include <asm/ptrace.h>

/*
 * Guests get the 48-bit user address space that processes get by
 * default, also on 52-bit VA hosts (LOL_USER_ADDR_LIMIT in the uapi).
 */
#define LOL_USER_LIMIT	LOL_USER_ADDR_LIMIT
static_assert(LOL_USER_ADDR_LIMIT == DEFAULT_MAP_WINDOW_64);

/* svc is four bytes: the saved pc at the syscall entry is past it. */
#define LOL_ARCH_SYSCALL_INSN_LEN	4

/*
 * Writes one of lol's special PTEs (pt.c). arm64's set_pte_at() calls
 * mte_sync_tags(), not exported, for tagged user pages, and syncs the
 * I-cache for executable ones; neither is ever done for a special PTE, so
 * what is left is the page-table check and set_pte(). (So the I-cache is
 * not synced for guest code either: the monitor cleans it after writing
 * code, as a JIT does; liblol's lol_vm_load() does.)
 */
#define lol_arch_set_special_pte(mm, addr, ptep, pte) do {		\
	page_table_check_pte_set(mm, addr, ptep, pte);			\
	set_pte(ptep, pte);						\
} while (0)

/*
 * LOL_RUN flags the port supports: LOL_RUN_SINGLESTEP, with PSTATE.SS and
 * TIF_SINGLESTEP (regs.c: lol_arch_enter(), lol_arch_step_syscall()).
 */
#define LOL_ARCH_RUN_FLAGS	LOL_RUN_SINGLESTEP

/*
 * No GENERIC_ENTRY on arm64: guest and monitor syscalls reach lol
 * through TIF_SECCOMP and __secure_computing() (module/entry_seccomp.c).
 */
#include "entry_seccomp.h"

/*
 * check_and_switch_context(), arm64's switch_mm() minus its inline part
 * (switch_mm_irqs_off is a macro for the inline switch_mm() there): mm.c
 * switches through lol_arch_switch_mm() below.
 */
#define LOL_ARCH_SWITCH_MM
void lol_arch_switch_mm(struct mm_struct *prev, struct mm_struct *next,
			struct task_struct *tsk);

struct lol_vcpu;
struct lol_run;

/* The register LOL_RUN and LOL_RESUME return to the guest: x0. */
static inline u64 lol_arch_ret_reg(const struct lol_regs *g)
{
	return g->x[0];
}

/*
 * Registers kept in the thread struct rather than pt_regs: TPIDR_EL0 and
 * TPIDR2_EL0, live in the CPU while the thread runs. Saved on a
 * monitor-mode reflection; cleared from what LOL_RESUME loads, as the
 * monitor thread keeps its own.
 */
static inline void lol_arch_save_thread_regs(struct lol_regs *g)
{
	g->tpidr = read_sysreg(tpidr_el0);
	g->tpidr2 = system_supports_tpidr2() ?
		    read_sysreg_s(SYS_TPIDR2_EL0) : 0;
}

static inline void lol_arch_clear_thread_regs(struct lol_regs *g)
{
	g->tpidr = 0;
	g->tpidr2 = 0;
}

struct lol_arch_vcpu {
	struct user_fpsimd_state gfp;	/* guest FP/SIMD state */
	struct user_fpsimd_state hfp;	/* monitor's, while the guest runs */
	struct pt_regs host_regs;	/* monitor's user regs at LOL_RUN */
	u64 host_tpidr;
	u64 host_tpidr2;
	bool host_step;			/* TIF_SINGLESTEP was set at LOL_RUN */
	struct callback_head step_work;	/* sets TIF_SINGLESTEP, regs.c */
};

/*
 * The clock of the admin's time counters (netlink.c): the virtual
 * counter, a few instructions on the run path, converted to ns only when
 * read.
 */
static inline u64 lol_arch_clock(void)
{
	return __arch_counter_get_cntvct();
}

static inline u64 lol_arch_clock_ns(u64 ticks)
{
	/* CNTFRQ_EL0: arch_timer_get_rate() is not exported. */
	u32 hz = arch_timer_get_cntfrq();

	return hz ? mul_u64_u32_div(ticks, NSEC_PER_SEC, hz) : 0;
}

/* The arm64 port registers nothing of its own to undo at module exit. */
static inline void lol_arch_exit(void)
{
}

/*
 * kprobe redirects (run.c): a function's address is its entry point, so
 * a pre-handler continues in @fn by setting the saved pc, and a probed
 * function's address can be called.
 */
static inline void lol_arch_kprobe_redirect(struct pt_regs *regs,
					    const void *fn)
{
	instruction_pointer_set(regs, (unsigned long)fn);
}

static inline void *lol_arch_kprobe_func(kprobe_opcode_t *addr)
{
	return addr;
}

/*
 * FP-trap capability (LOL_CAP_FPTRAP): arm64 could trap FP/SIMD through
 * CPACR_EL1.FPEN, but the kernel owns that bit for its own lazy SVE and
 * SME handling (do_sve_acc()); no bank is offered.
 */
static inline u32 lol_arch_fptrap_banks(void)
{
	return 0;
}

static inline int lol_arch_set_fptrap(struct lol_vcpu *vcpu, u32 banks)
{
	return -EOPNOTSUPP;
}
void lol_arch_fp_swap(struct user_fpsimd_state *save,
		      const struct user_fpsimd_state *load);

void lol_arch_signal_done(bool delivered);
void lol_arch_step_syscall(struct lol_vcpu *vcpu);

#endif /* _LOL_ARCH_ARM64_H */
