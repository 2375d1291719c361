/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: x86_64 guest register state (included by <linux/lol.h>).
 */
#ifndef _UAPI_ASM_X86_LOL_H
#define _UAPI_ASM_X86_LOL_H

#include <linux/types.h>

/*
 * Guest addresses (AS ops, rip, fs_base, gs_base, syscall ranges) are
 * below this limit: the 47-bit user address space, also on hosts with
 * 5-level paging.
 */
#define LOL_USER_ADDR_LIMIT	0x00007ffffffff000ULL

/*
 * 64-bit user mode only: CS/SS are the host's 64-bit user selectors and
 * DS/ES/FS/GS selectors are 0. rflags accepts the arithmetic flags, TF,
 * DF, AC and ID; IF and bit 1 are forced on (passing them is fine), any
 * other bit is rejected with -EINVAL.
 */
struct lol_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
	__u64 fs_base, gs_base;
	__u64 reserved[12];	/* must be 0; room for more state */
};

#endif /* _UAPI_ASM_X86_LOL_H */
