// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi layout on ia64, checked at compile time (make check-ia64):
 * Debian 12 has no ia64 C library, so api_test's abi_layout cannot be
 * built there; this file needs only the kernel's uapi headers. The same
 * numbers as api_test on x86_64 and arm64 up to the register tail
 * (Documentation/uapi.md, section 7).
 */
#include <linux/lol.h>

#define LOL_OFF(type, field)	__builtin_offsetof(type, field)
#define LOL_CHECK(cond)		_Static_assert(cond, #cond)

/* The run page: the same offsets on every port, then struct lol_regs. */
LOL_CHECK(LOL_OFF(struct lol_run, immediate_exit) == 0);
LOL_CHECK(LOL_OFF(struct lol_run, as_id) == 4);
LOL_CHECK(LOL_OFF(struct lol_run, flags) == 8);
LOL_CHECK(LOL_OFF(struct lol_run, reserved_in) == 16);
LOL_CHECK(LOL_OFF(struct lol_run, exit_reason) == 64);
LOL_CHECK(LOL_OFF(struct lol_run, nr_exits) == 72);
LOL_CHECK(LOL_OFF(struct lol_run, syscall) == 128);
LOL_CHECK(LOL_OFF(struct lol_run, fault) == 128);
LOL_CHECK(LOL_OFF(struct lol_run, trap) == 128);
LOL_CHECK(LOL_OFF(struct lol_run, regs) == 384);
LOL_CHECK(sizeof(struct lol_run) == 384 + sizeof(struct lol_regs));

/* ia64's registers: 512 bytes, copied in 32-byte steps by LOL_RUN. */
LOL_CHECK(sizeof(struct lol_regs) == 512);
LOL_CHECK(sizeof(struct lol_regs) % 32 == 0);
LOL_CHECK(LOL_OFF(struct lol_regs, nat) == 256);
LOL_CHECK(LOL_OFF(struct lol_regs, ip) == 336);
LOL_CHECK(LOL_OFF(struct lol_regs, reserved) == 448);
LOL_CHECK(sizeof(struct lol_fpu_ia64) == 2048);

/* The arch-neutral structures: the sizes api_test pins elsewhere. */
LOL_CHECK(sizeof(struct lol_exit_syscall) == 72);
LOL_CHECK(sizeof(struct lol_exit_fault) == 32);
LOL_CHECK(sizeof(struct lol_exit_trap) == 32);
LOL_CHECK(sizeof(struct lol_as_op) == 40);
LOL_CHECK(sizeof(struct lol_as_batch) == 40);
LOL_CHECK(sizeof(struct lol_create_as) == 32);
LOL_CHECK(sizeof(struct lol_fpu) == 32);
