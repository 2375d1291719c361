/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, arm64: the guest stubs of ../../robust_common.h, which
 * includes this (only there), under the names of lib/x86/robust_arch.h.
 * x0 and x1 are the first two arguments as rdi and rsi are on x86; the
 * syscall number goes in x8. race_read and race_write, which only the
 * x86-only robust_test loads, are not here yet.
 */
#ifndef _LOL_TEST_ROBUST_ARCH_H
#define _LOL_TEST_ROBUST_ARCH_H

/* for (;;) { (*x0)++; x12++; } */
LOL_GUEST_ASM(count_loop,
	"1: ldr x9, [x0]\n\t"
	"add x9, x9, #1\n\t"
	"str x9, [x0]\n\t"
	"add x12, x12, #1\n\t"
	"b 1b\n");

LOL_GUEST_ASM(sys42,
	"mov x8, #42\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* x1 = *(x0); syscall(2) */
LOL_GUEST_ASM(load_stub,
	"ldr x1, [x0]\n\t"
	"mov x8, #2\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* *(x0) = x1; syscall(3) */
LOL_GUEST_ASM(store_stub,
	"str x1, [x0]\n\t"
	"mov x8, #3\n\t"
	"svc #0\n\t"
	"udf #0\n");

LOL_GUEST_ASM(jump_stub, "br x0\n");

/*
 * x19 syscalls(7, i) for i = 0 .. x19-1; the monitor must answer 3i+1 for
 * even i and (i << 32) | i for odd i (which does not fit the ioctl's int
 * return). A wrong answer: syscall(998, i, got); done: syscall(999).
 */
LOL_GUEST_ASM(syscall_loop,
	"mov x20, #0\n"
	"1: mov x8, #7\n\t"
	"mov x0, x20\n\t"
	"svc #0\n\t"
	"lsl x9, x20, #32\n\t"
	"orr x9, x9, x20\n\t"
	"tbnz x20, #0, 2f\n\t"
	"add x9, x20, x20, lsl #1\n\t"
	"add x9, x9, #1\n"
	"2: cmp x0, x9\n\t"
	"b.ne 3f\n\t"
	"add x20, x20, #1\n\t"
	"cmp x20, x19\n\t"
	"b.lo 1b\n\t"
	"mov x8, #999\n\t"
	"svc #0\n\t"
	"udf #0\n"
	"3: mov x1, x0\n\t"
	"mov x0, x20\n\t"
	"mov x8, #998\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* (*x0)++ until 8(x0) != 0, then syscall(60) */
LOL_GUEST_ASM(go_then_syscall,
	"1: ldr x9, [x0]\n\t"
	"add x9, x9, #1\n\t"
	"str x9, [x0]\n\t"
	"ldr x10, [x0, #8]\n\t"
	"cbz x10, 1b\n\t"
	"mov x8, #60\n\t"
	"svc #0\n\t"
	"udf #0\n");

/*
 * Writes one word per page from x0 up to x1; syscall(5) at every MiB
 * boundary (x0: the address reached), syscall(6) when done. The address
 * is kept in x19: x0 is also where a syscall's result comes back.
 */
LOL_GUEST_ASM(touch_loop,
	"mov x19, x0\n\t"
	"mov x20, x1\n\t"
	"mov x21, #1\n"
	"1: str x21, [x19]\n\t"
	"add x19, x19, #4096\n\t"
	"tst x19, #0xfffff\n\t"
	"b.ne 2f\n\t"
	"mov x0, x19\n\t"
	"mov x8, #5\n\t"
	"svc #0\n"
	"2: cmp x19, x20\n\t"
	"b.lo 1b\n\t"
	"mov x8, #6\n\t"
	"svc #0\n\t"
	"udf #0\n");

#define syscall_loop_n(run)	((run)->regs.x[19])

#endif
