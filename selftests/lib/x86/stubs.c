// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests, x86_64: the standard guest stubs (see processor.h), the
 * ones several tests load. Linked into every test from lib/.
 */
#include "guest.h"

LOL_GUEST_ASM(lol_stub_spin, "1: jmp 1b\n");
LOL_GUEST_ASM(lol_stub_syscall, "syscall\n1: jmp 1b\n");
LOL_GUEST_ASM(lol_stub_jump, "jmp *%rdi\n");
/* A reflected syscall leaves its number in rax: every exit saves rax == r12. */
LOL_GUEST_ASM(lol_stub_ret_check,
	"1: cmp %r12, %rax\n\t"
	"jne 2f\n\t"
	"syscall\n\t"
	"jmp 1b\n"
	"2: incq (%rdi)\n\t"
	"mov %r12, %rax\n\t"
	"jmp 1b\n");

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
