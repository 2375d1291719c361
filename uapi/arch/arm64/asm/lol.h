/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: arm64 guest register state (included by <linux/lol.h>).
 */
#ifndef _UAPI_ASM_ARM64_LOL_H
#define _UAPI_ASM_ARM64_LOL_H

#include <linux/types.h>

/*
 * Guest addresses (AS ops, pc, syscall ranges) are below this limit: the
 * 48-bit user address space that processes get by default, also on hosts
 * with 52-bit virtual addresses.
 */
#define LOL_USER_ADDR_LIMIT	0x0001000000000000ULL

/*
 * AArch64 EL0 only. pstate accepts the condition flags (N, Z, C, V) and
 * the other bits EL0 can change itself: BTYPE, SSBS, DIT and TCO; any
 * other bit (the exception mask bits, AArch32, single-step, the mode) is
 * rejected with -EINVAL. tpidr is TPIDR_EL0; tpidr2 is TPIDR2_EL0 where
 * the host has SME, and must be 0 where it has not. Syscalls: x8 is the
 * number, x0-x5 the arguments, x0 the result.
 */
struct lol_regs {
	__u64 x[31];		/* x0 .. x30 (x30: the link register) */
	__u64 sp;
	__u64 pc;
	__u64 pstate;
	__u64 tpidr;
	__u64 tpidr2;
	__u64 reserved[12];	/* must be 0; room for more state */
};

/*
 * LOL_GET_FPU / LOL_SET_FPU buffer: the FP/SIMD registers, laid out as
 * the kernel's struct user_fpsimd_state (<asm/ptrace.h>). SVE and SME
 * state beyond it is not kept across exits (Documentation/arch.md).
 */
struct lol_fpsimd {
	__uint128_t vregs[32];
	__u32 fpsr;
	__u32 fpcr;
	__u32 reserved[2];	/* must be 0 */
};

/*
 * lol_exit_trap.vector on arm64: the exception class (ESR_ELx.EC) of the
 * exception that ended guest mode. error_code is the ESR where the host
 * recorded one, else the syndrome lol rebuilt (BRK: its immediate).
 */
#define LOL_ARM64_EC_UNKNOWN	0x00	/* undefined instruction */
#define LOL_ARM64_EC_FP_EXC	0x2c	/* trapped floating-point exception */
#define LOL_ARM64_EC_PC_ALIGN	0x22
#define LOL_ARM64_EC_SP_ALIGN	0x26
#define LOL_ARM64_EC_SOFTSTEP	0x32	/* software step (LOL_RUN_SINGLESTEP) */
#define LOL_ARM64_EC_BRK	0x3c	/* BRK #imm */

#endif /* _UAPI_ASM_ARM64_LOL_H */
