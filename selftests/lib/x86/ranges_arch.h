/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, x86_64: the arch pieces of ../../ranges_common.h, which
 * includes this (only there, after RT_DECL()): the gp500 guest, the
 * monitor's raw syscall functions and the reflection upcall's entry.
 * lib/<arch>/ranges_arch.h of every port has the same names.
 */
#ifndef _LOL_TEST_RANGES_ARCH_H
#define _LOL_TEST_RANGES_ARCH_H

#define RFLAGS_TF	0x100ULL
#define RFLAGS_DF	0x400ULL

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64	0xc000003eU
#endif

/* getpid(); rdi = its result; syscall(500, rdi); ud2 */
LOL_GUEST_ASM(gp500,
	"mov $39, %eax\n"
	"gp500_sc1:\n\t"
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $500, %eax\n"
	"gp500_sc2:\n\t"
	"syscall\n\t"
	"ud2\n");
RT_DECL(gp500_sc1);
RT_DECL(gp500_sc2);

/*
 * RT_SYSCALL_FN(name) (ranges_common.h): the moves from the C calling
 * convention (nr in rdi, arguments in rsi, rdx, rcx, r8, r9 and on the
 * stack) to the syscall's (nr in rax, arguments in rdi, rsi, rdx, r10,
 * r8, r9), and the syscall instruction.
 */
#define RT_SYSCALL_ARGS							\
	"mov %rdi, %rax\n\t"						\
	"mov %rsi, %rdi\n\t"						\
	"mov %rdx, %rsi\n\t"						\
	"mov %rcx, %rdx\n\t"						\
	"mov %r8, %r10\n\t"						\
	"mov %r9, %r8\n\t"						\
	"mov 8(%rsp), %r9\n"
#define RT_SYSCALL_INSN		"syscall"

/*
 * What the upcall saw at its entry (before any C code ran): rsp, the
 * callee-saved registers and rflags.
 */
struct rt_entry_regs {
	__u64 rsp, rbx, rbp, r12, r13, r14, r15, rflags;
};

/* Records up_entry, then on to rt_upcall_c() on the same stack. */
__asm__(".pushsection .text.rt_monitor, \"ax\", @progbits\n"
	".balign 16\n"
	".globl rt_upcall_entry\n"
	".type rt_upcall_entry, @function\n"
	"rt_upcall_entry:\n\t"
	"mov %rsp, up_entry+0(%rip)\n\t"
	"mov %rbx, up_entry+8(%rip)\n\t"
	"mov %rbp, up_entry+16(%rip)\n\t"
	"mov %r12, up_entry+24(%rip)\n\t"
	"mov %r13, up_entry+32(%rip)\n\t"
	"mov %r14, up_entry+40(%rip)\n\t"
	"mov %r15, up_entry+48(%rip)\n\t"
	"pushfq\n\t"
	"popq up_entry+56(%rip)\n\t"
	"jmp rt_upcall_c\n"
	".size rt_upcall_entry, . - rt_upcall_entry\n"
	".popsection\n");

#endif
