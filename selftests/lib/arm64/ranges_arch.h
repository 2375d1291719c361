/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, arm64: the arch pieces of ../../ranges_common.h, which
 * includes this (only there, after RT_DECL()): the gp500 guest, the
 * monitor's raw syscall functions and the reflection upcall's entry,
 * under the names of lib/x86/ranges_arch.h.
 */
#ifndef _LOL_TEST_RANGES_ARCH_H
#define _LOL_TEST_RANGES_ARCH_H

/* getpid(); x0 (its result) stays; syscall(500, x0); udf */
LOL_GUEST_ASM(gp500,
	"mov x8, #172\n"
	"gp500_sc1:\n\t"
	"svc #0\n\t"
	"mov x8, #500\n"
	"gp500_sc2:\n\t"
	"svc #0\n\t"
	"udf #0\n");
RT_DECL(gp500_sc1);
RT_DECL(gp500_sc2);

/*
 * RT_SYSCALL_FN(name) (ranges_common.h): the moves from the C calling
 * convention (nr in x0, arguments in x1..x6) to the syscall's (nr in x8,
 * arguments in x0..x5), and the syscall instruction.
 */
#define RT_SYSCALL_ARGS							\
	"mov x8, x0\n\t"						\
	"mov x0, x1\n\t"						\
	"mov x1, x2\n\t"						\
	"mov x2, x3\n\t"						\
	"mov x3, x4\n\t"						\
	"mov x4, x5\n\t"						\
	"mov x5, x6\n"
#define RT_SYSCALL_INSN		"svc #0"

/*
 * What the upcall saw at its entry (before any C code ran): sp, the
 * callee-saved registers x19..x29, the link register and the condition
 * flags (NZCV).
 */
struct rt_entry_regs {
	__u64 sp, x19_x29[11], lr, nzcv;
};

/* Records up_entry, then on to rt_upcall_c() on the same stack. */
__asm__(".pushsection .text.rt_monitor, \"ax\", %progbits\n"
	".balign 16\n"
	".globl rt_upcall_entry\n"
	".type rt_upcall_entry, %function\n"
	"rt_upcall_entry:\n\t"
	"adrp x16, up_entry\n\t"
	"add x16, x16, :lo12:up_entry\n\t"
	"mov x17, sp\n\t"
	"str x17, [x16, #0]\n\t"
	"stp x19, x20, [x16, #8]\n\t"
	"stp x21, x22, [x16, #24]\n\t"
	"stp x23, x24, [x16, #40]\n\t"
	"stp x25, x26, [x16, #56]\n\t"
	"stp x27, x28, [x16, #72]\n\t"
	"stp x29, x30, [x16, #88]\n\t"
	"mrs x17, nzcv\n\t"
	"str x17, [x16, #104]\n\t"
	"b rt_upcall_c\n"
	".size rt_upcall_entry, . - rt_upcall_entry\n"
	".popsection\n");

#endif
