/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, x86_64: the run page's registers by role, and the CPU
 * features the FP tests depend on. A port puts the same names in
 * lib/<arch>/processor.h, so that a test which only moves a guest's
 * program counter or reads its syscall result compiles on every arch;
 * the Makefile puts lib/<arch>/ on the include path. (KVM's selftests
 * split the same way: lib/ and lib/<arch>/processor.h.)
 */
#ifndef _LOL_TEST_PROCESSOR_H
#define _LOL_TEST_PROCESSOR_H

#include <stdbool.h>

#include <linux/lol.h>

/*
 * Lvalues in struct lol_run: the program counter, the stack pointer, the
 * flags, the register a syscall's result comes back in, the one its
 * number goes in (both rax here; x0 and x8 on arm64), and the first
 * three syscall (and function) arguments.
 */
#define lol_pc(run)		((run)->regs.rip)
#define lol_sp(run)		((run)->regs.rsp)
#define lol_flags(run)		((run)->regs.rflags)
#define lol_ret(run)		((run)->regs.rax)
#define lol_nr(run)		((run)->regs.rax)
#define lol_arg0(run)		((run)->regs.rdi)
#define lol_arg1(run)		((run)->regs.rsi)
#define lol_arg2(run)		((run)->regs.rdx)

/* lol_stub_ret_check (test_util.h): value in rax and r12, counter rdi. */
#define lol_stub_ret_check_set(run, val, counter) do {			\
	(run)->regs.rax = (val);					\
	(run)->regs.r12 = (val);					\
	(run)->regs.rdi = (counter);					\
} while (0)

/* The syscall instruction (syscall, 0f 05) is two bytes. */
#define LOL_SYSCALL_INSN_LEN	2

/*
 * A byte whose repetition traps as an instruction (int3), to fill guest
 * code pages around a stub with.
 */
#define LOL_TRAP_FILL		0xcc

/* AVX (and AVX-512) usable in user mode: the CPU has it and XCR0 enables it. */
bool lol_x86_has_avx(void);
bool lol_x86_has_avx512(void);

#endif
