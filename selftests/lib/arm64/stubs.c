// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests, arm64: the standard guest stubs (see processor.h), the
 * ones several tests load. Linked into every test from lib/.
 */
#include "guest.h"

LOL_GUEST_ASM(lol_stub_spin, "1: b 1b\n");
LOL_GUEST_ASM(lol_stub_syscall, "svc #0\n1: b 1b\n");
LOL_GUEST_ASM(lol_stub_jump, "br x0\n");
/* A reflected syscall leaves x0 as it was: every exit saves x0 == x19. */
LOL_GUEST_ASM(lol_stub_ret_check,
	"1: cmp x0, x19\n\t"
	"b.ne 2f\n\t"
	"svc #0\n\t"
	"b 1b\n"
	"2: ldr x9, [x1]\n\t"
	"add x9, x9, #1\n\t"
	"str x9, [x1]\n\t"
	"mov x0, x19\n\t"
	"b 1b\n");

/*
 * LOL_GUEST_ASM's labels are local to their object; these are for every
 * test, so make them global (hidden, as processor.h declares them).
 */
__asm__(".globl lol_stub_spin_start, lol_stub_spin_end\n\t"
	".hidden lol_stub_spin_start, lol_stub_spin_end\n\t"
	".globl lol_stub_syscall_start, lol_stub_syscall_end\n\t"
	".hidden lol_stub_syscall_start, lol_stub_syscall_end\n\t"
	".globl lol_stub_jump_start, lol_stub_jump_end\n\t"
	".hidden lol_stub_jump_start, lol_stub_jump_end\n\t"
	".globl lol_stub_ret_check_start, lol_stub_ret_check_end\n\t"
	".hidden lol_stub_ret_check_start, lol_stub_ret_check_end\n");
