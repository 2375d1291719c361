/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: x86_64 guest register state (included by <linux/lol.h>).
 */
#ifndef _UAPI_ASM_X86_LOL_H
#define _UAPI_ASM_X86_LOL_H

#include <linux/types.h>

/*
 * 64-bit user mode only: CS/SS are the host's 64-bit user selectors and
 * DS/ES/FS/GS selectors are 0. rflags accepts the arithmetic flags, TF,
 * DF, AC and ID; IF is always set and the rest is rejected with -EINVAL.
 */
struct lol_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
	__u64 fs_base, gs_base;
	__u64 reserved[12];	/* must be 0; room for more state */
};

#endif /* _UAPI_ASM_X86_LOL_H */
