/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: the inline half of the seccomp-flag syscall entry
 * (entry_seccomp.c), for ports whose kernel has no GENERIC_ENTRY (arm64).
 * A port's lol_arch.h includes it, after defining
 * LOL_ARCH_SYSCALL_INSN_LEN; lol.h declares the rest of the interface.
 */
#ifndef _LOL_ENTRY_SECCOMP_H
#define _LOL_ENTRY_SECCOMP_H

#include <linux/thread_info.h>
#include <linux/ptrace.h>

#ifndef CONFIG_SECCOMP
#error "entry_seccomp.c needs CONFIG_SECCOMP: its flag is the entry bit"
#endif

/*
 * The host function whose kprobe catches the syscalls of the threads
 * lol_entry_claim() marked: the architecture's syscall_trace_enter()
 * calls it after ptrace and before the syscall tracepoint and audit, and
 * only for threads with TIF_SECCOMP.
 */
#define LOL_ENTRY_SYMBOL	"__secure_computing"

/*
 * Does the current thread's syscall reach the entry hook at all (lol's
 * mark or the program's own seccomp)? The cheap test in front of every
 * lookup.
 */
static inline bool lol_entry_armed(void)
{
	return test_thread_flag(TIF_SECCOMP);
}

/* The address of the syscall instruction: the saved pc is past it. */
static inline u64 lol_entry_syscall_ip(struct pt_regs *regs)
{
	return instruction_pointer(regs) - LOL_ARCH_SYSCALL_INSN_LEN;
}

/* The return address of lol's own call of the original (entry_seccomp.c). */
extern const char lol_entry_orig_ret[];

#endif /* _LOL_ENTRY_SECCOMP_H */
