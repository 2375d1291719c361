/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol: the inline half of the Syscall User Dispatch syscall entry
 * (entry_sud.c), for ports whose kernel selects GENERIC_ENTRY. A port's
 * lol_arch.h includes it; lol.h declares the rest of the interface.
 */
#ifndef _LOL_ENTRY_SUD_H
#define _LOL_ENTRY_SUD_H

#include <linux/thread_info.h>
#include <linux/ptrace.h>

#ifndef CONFIG_GENERIC_ENTRY
#error "entry_sud.c needs a kernel architecture that selects GENERIC_ENTRY"
#endif

/*
 * The host function whose kprobe catches the syscalls of the threads
 * lol_entry_claim() marked: generic entry calls it first in
 * syscall_trace_enter(), before ptrace, seccomp and audit, and only for
 * threads with the dispatch work bit.
 */
#define LOL_ENTRY_SYMBOL	"syscall_user_dispatch"

/*
 * Does the current thread's syscall reach the entry hook at all (lol's
 * setting or a program's own)? The cheap test in front of every lookup:
 * every guest-mode and monitor-mode thread has it, nearly no other does.
 */
static inline bool lol_entry_armed(void)
{
	return test_syscall_work(SYSCALL_USER_DISPATCH);
}

/*
 * The address of the syscall instruction, at the hook: the saved
 * instruction pointer is past it by the port's instruction length.
 */
static inline u64 lol_entry_syscall_ip(struct pt_regs *regs)
{
	return instruction_pointer(regs) - LOL_ARCH_SYSCALL_INSN_LEN;
}

#endif /* _LOL_ENTRY_SUD_H */
