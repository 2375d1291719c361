// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests, arm64: the standard guest stubs (see processor.h), the
 * ones several tests load. Linked into every test from lib/.
 */
#include "guest.h"

LOL_GUEST_ASM(lol_stub_spin, "1: b 1b\n");
LOL_GUEST_ASM(lol_stub_syscall, "svc #0\n1: b 1b\n");
LOL_GUEST_ASM(lol_stub_jump, "br x0\n");

/*
 * LOL_GUEST_ASM's labels are local to their object; these are for every
 * test, so make them global (hidden, as processor.h declares them).
 */
__asm__(".globl lol_stub_spin_start, lol_stub_spin_end\n\t"
	".hidden lol_stub_spin_start, lol_stub_spin_end\n\t"
	".globl lol_stub_syscall_start, lol_stub_syscall_end\n\t"
	".hidden lol_stub_syscall_start, lol_stub_syscall_end\n\t"
	".globl lol_stub_jump_start, lol_stub_jump_end\n\t"
	".hidden lol_stub_jump_start, lol_stub_jump_end\n");
