/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, x86_64: the guest stubs of ../../robust_common.h, which
 * includes this (only there). lib/<arch>/robust_arch.h of every port has
 * the same names; syscall_loop_n(run) is the register syscall_loop takes
 * its count in.
 */
#ifndef _LOL_TEST_ROBUST_ARCH_H
#define _LOL_TEST_ROBUST_ARCH_H

/* for (;;) { (*rdi)++; r12++; } */
LOL_GUEST_ASM(count_loop,
	"1: incq (%rdi)\n\t"
	"inc %r12\n\t"
	"jmp 1b\n");

LOL_GUEST_ASM(sys42,
	"mov $42, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* rsi = *(rdi); syscall(2) */
LOL_GUEST_ASM(load_stub,
	"mov (%rdi), %rsi\n\t"
	"mov $2, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* *(rdi) = rsi; syscall(3) */
LOL_GUEST_ASM(store_stub,
	"mov %rsi, (%rdi)\n\t"
	"mov $3, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

LOL_GUEST_ASM(jump_stub, "jmp *%rdi\n");

/*
 * Unmap race reader: rdi = shared page, rsi = own page, rdx = poison.
 * Loops reading *rdi; stores the last value at 8(rsi) and counts at
 * 0(rsi); a poison value (written only after the unmap returned) means a
 * stale TLB entry: syscall(0xbad).
 */
LOL_GUEST_ASM(race_read,
	"1: mov (%rdi), %rax\n\t"
	"cmp %rdx, %rax\n\t"
	"je 2f\n\t"
	"mov %rax, 8(%rsi)\n\t"
	"incq (%rsi)\n\t"
	"jmp 1b\n"
	"2: mov %rax, 16(%rsi)\n\t"
	"mov $0xbad, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* Protect race writer: for (;;) { (*rdi)++; (*rsi)++; } */
LOL_GUEST_ASM(race_write,
	"1: incq (%rdi)\n\t"
	"incq (%rsi)\n\t"
	"jmp 1b\n");

/*
 * rbx syscalls(7, i) for i = 0 .. rbx-1; the monitor must answer 3i+1 for
 * even i and (i << 32) | i for odd i (which does not fit the ioctl's int
 * return). A wrong answer: syscall(998, i, got); done: syscall(999).
 */
LOL_GUEST_ASM(syscall_loop,
	"xor %r12d, %r12d\n"
	"1: mov $7, %eax\n\t"
	"mov %r12, %rdi\n\t"
	"syscall\n\t"
	"mov %r12, %rcx\n\t"
	"shl $32, %rcx\n\t"
	"or %r12, %rcx\n\t"
	"test $1, %r12b\n\t"
	"jnz 2f\n\t"
	"lea 1(%r12,%r12,2), %rcx\n"
	"2: cmp %rcx, %rax\n\t"
	"jne 3f\n\t"
	"inc %r12\n\t"
	"cmp %rbx, %r12\n\t"
	"jb 1b\n\t"
	"mov $999, %eax\n\t"
	"syscall\n\t"
	"ud2\n"
	"3: mov %rax, %rsi\n\t"
	"mov %r12, %rdi\n\t"
	"mov $998, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* (*rdi)++ until 8(rdi) != 0, then syscall(60) */
LOL_GUEST_ASM(go_then_syscall,
	"1: incq (%rdi)\n\t"
	"cmpq $0, 8(%rdi)\n\t"
	"je 1b\n\t"
	"mov $60, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/*
 * Writes one word per page from rdi up to rsi; syscall(5) at every MiB
 * boundary (rdi: the address reached), syscall(6) when done.
 */
LOL_GUEST_ASM(touch_loop,
	"1: movq $1, (%rdi)\n\t"
	"add $4096, %rdi\n\t"
	"test $0xfffff, %edi\n\t"
	"jnz 2f\n\t"
	"mov $5, %eax\n\t"
	"syscall\n"
	"2: cmp %rsi, %rdi\n\t"
	"jb 1b\n\t"
	"mov $6, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

#define syscall_loop_n(run)	((run)->regs.rbx)

#endif
