/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests, arm64: the run page's registers by role (the names of
 * lib/x86/processor.h, see there), and the guest's syscall ABI.
 */
#ifndef _LOL_TEST_PROCESSOR_H
#define _LOL_TEST_PROCESSOR_H

#include <stdbool.h>

#include <linux/lol.h>

/*
 * Lvalues in struct lol_run: the program counter, the stack pointer, the
 * flags (pstate), the register a syscall's result comes back in (x0) and
 * the first three syscall (and function) arguments. The syscall number
 * is in lol_nr() (x8), not in lol_ret() as on x86.
 */
#define lol_pc(run)		((run)->regs.pc)
#define lol_sp(run)		((run)->regs.sp)
#define lol_flags(run)		((run)->regs.pstate)
#define lol_ret(run)		((run)->regs.x[0])
#define lol_nr(run)		((run)->regs.x[8])
#define lol_arg0(run)		((run)->regs.x[0])
#define lol_arg1(run)		((run)->regs.x[1])
#define lol_arg2(run)		((run)->regs.x[2])

/* lol_stub_ret_check (test_util.h): value in x0 and x19, counter x1, nr 7. */
#define lol_stub_ret_check_set(run, val, counter) do {			\
	(run)->regs.x[0] = (val);					\
	(run)->regs.x[19] = (val);					\
	(run)->regs.x[1] = (counter);					\
	(run)->regs.x[8] = 7;						\
} while (0)

/* The syscall instruction (svc #0) is four bytes. */
#define LOL_SYSCALL_INSN_LEN	4

/*
 * A byte whose repetition traps as an instruction (0x00000000 is
 * udf #0), to fill guest code pages around a stub with.
 */
#define LOL_TRAP_FILL		0x00

#endif
