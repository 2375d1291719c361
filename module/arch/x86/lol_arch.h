/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: the x86_64 half of the run loop. The generic code (run.c) calls
 * these to load and save guest state; everything that knows about
 * pt_regs, segment bases, PKRU, XSAVE and exception vectors is here.
 */
#ifndef _LOL_ARCH_X86_H
#define _LOL_ARCH_X86_H

#include <linux/build_bug.h>
#include <linux/kprobes.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <asm/lol.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/page.h>
#include <asm/processor.h>
#include <asm/ptrace.h>
#include <asm/tsc.h>

/*
 * Guests get the 47-bit user address space that processes get by default,
 * also on 5-level paging hosts (LOL_USER_ADDR_LIMIT in the uapi).
 */
#define LOL_USER_LIMIT	LOL_USER_ADDR_LIMIT
static_assert(LOL_USER_ADDR_LIMIT == DEFAULT_MAP_WINDOW);

/*
 * syscall, sysenter and int $0x80 are two bytes each: the saved rip at
 * the syscall entry is that far past the instruction.
 */
#define LOL_ARCH_SYSCALL_INSN_LEN	2

/* Writes one of lol's special PTEs (pt.c): set_pte_at() on x86. */
#define lol_arch_set_special_pte(mm, addr, ptep, pte)	\
	set_pte_at(mm, addr, ptep, pte)

/* LOL_RUN flags the port supports. */
#define LOL_ARCH_RUN_FLAGS	LOL_RUN_SINGLESTEP

/*
 * x86 selects GENERIC_ENTRY: guest and monitor syscalls reach lol through
 * Syscall User Dispatch (module/entry_sud.c, listed in ./Kbuild).
 */
#include "entry_sud.h"

struct lol_vcpu;
struct lol_run;

/* The register LOL_RUN and LOL_RESUME return to the guest: rax. */
static inline u64 lol_arch_ret_reg(const struct lol_regs *g)
{
	return g->rax;
}

/*
 * Registers kept in the thread struct rather than pt_regs: the FS/GS
 * bases. Saved on a monitor-mode reflection; cleared from what LOL_RESUME
 * loads, as the monitor thread keeps its own.
 */
static inline void lol_arch_save_thread_regs(struct lol_regs *g)
{
	g->fs_base = current->thread.fsbase;
	g->gs_base = current->thread.gsbase;
}

static inline void lol_arch_clear_thread_regs(struct lol_regs *g)
{
	g->fs_base = 0;
	g->gs_base = 0;
}

struct lol_arch_vcpu {
	struct fpu_guest gfpu;		/* guest XSAVE state */
	void *fpu_buf;			/* LOL_GET/SET_FPU bounce buffer */
	struct pt_regs host_regs;	/* monitor's user regs at LOL_RUN */
	unsigned long host_fsbase;
	unsigned long host_gsbase;
	u16 host_fsindex;
	u16 host_gsindex;
	u32 host_pkru;
	u32 guest_pkru;
	bool singlestep;		/* TF set by lol, not by the guest */
};

/*
 * The clock of the admin's time counters (netlink.c): the TSC, a few
 * instructions on the run path, converted to ns only when read.
 * local_clock() costs ~100 ns more per round trip where the host thinks
 * the TSC unstable (as under QEMU), for the same per-CPU accuracy.
 */
static inline u64 lol_arch_clock(void)
{
	return rdtsc();
}

static inline u64 lol_arch_clock_ns(u64 ticks)
{
	return tsc_khz ? mul_u64_u32_div(ticks, NSEC_PER_MSEC, tsc_khz) : 0;
}

/* The x86 port registers nothing of its own to undo at module exit. */
static inline void lol_arch_exit(void)
{
}

/*
 * After get_signal() for a guest that left guest mode in it: nothing on
 * x86, whose syscall-restart decision comes after get_signal().
 */
static inline void lol_arch_signal_done(bool delivered)
{
}

/*
 * FP-trap capability (LOL_CAP_FPTRAP): XFD could trap the first AMX use,
 * but no bank is offered: QEMU TCG, where lol is tested, has no XFD, and
 * AMX stays disabled for guests (fpu.c).
 */
static inline u32 lol_arch_fptrap_banks(void)
{
	return 0;
}

static inline int lol_arch_set_fptrap(struct lol_vcpu *vcpu, u32 banks)
{
	return -EOPNOTSUPP;
}

/*
 * kprobe redirects (run.c): a function's address is its entry point, so
 * a pre-handler continues in @fn by setting the saved rip, and a probed
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

#endif /* _LOL_ARCH_X86_H */
