/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: IA-64 guest register state (included by <linux/lol.h>).
 *
 * The static registers, the branch, predicate and application registers
 * a user program can see, and where execution stands. The stacked
 * registers (r32 and up) of every frame, the current one included, are
 * not here: at every exit lol writes the guest's dirty partition to its
 * register backing store in guest memory, so they lie below ar_bsp (the
 * current frame's cfm.sof registers, with their NaT collections, just
 * below it), and ar_rnat holds the NaT bits of the partial collection at
 * ar_bsp. A monitor changes them there, and on entry the RSE loads the
 * current frame from there. The backing store must stay mapped and
 * writable for that (as a Linux process's must).
 *
 * f2-f127 are LOL_GET_FPU/LOL_SET_FPU's (struct lol_fpu_ia64).
 */
#ifndef _UAPI_ASM_IA64_LOL_H
#define _UAPI_ASM_IA64_LOL_H

#include <linux/types.h>

/*
 * Guest addresses (AS ops, ip, ar_bsp, syscall ranges) are below this
 * limit: user regions 0-4, as for a process (TASK_SIZE); each region
 * only has the host's implemented virtual address bits.
 */
#define LOL_USER_ADDR_LIMIT	0xa000000000000000ULL

/* lol_regs.psr: the user mask, the only PSR bits a guest controls. */
#define LOL_PSR_BE		(1ULL << 1)
#define LOL_PSR_UP		(1ULL << 2)
#define LOL_PSR_AC		(1ULL << 3)
#define LOL_PSR_MFL		(1ULL << 4)
#define LOL_PSR_MFH		(1ULL << 5)
#define LOL_PSR_USER		(LOL_PSR_BE | LOL_PSR_UP | LOL_PSR_AC | \
				 LOL_PSR_MFL | LOL_PSR_MFH)

/*
 * ip is the bundle address with the slot (0-2) in its low bits, as the
 * kernel's instruction_pointer() has it; a syscall exit's ip is the slot
 * of the `break 0x100000` (or of the br.call to the epc gateway).
 * cfm is the frame marker of the current frame (sof, sol, sor, rrb).
 * ar_rsc: only its mode and be bits are the guest's, pl is always 3.
 * nat: bit n is the NaT bit of gr[n]. gr[0] reads 0 and must be 0.
 * After a syscall exit, gr[15] holds the syscall number and the
 * arguments are in the current frame's first six registers; set gr[8]
 * to the result and gr[10] to 0 (or gr[8] to the errno and gr[10] to -1)
 * and LOL_RUN again.
 */
struct lol_regs {
	__u64 gr[32];
	__u64 nat;
	__u64 br[8];
	__u64 pr;
	__u64 ip;
	__u64 psr;
	__u64 cfm;
	__u64 ar_pfs, ar_unat, ar_rsc, ar_bsp, ar_rnat;
	__u64 ar_ccv, ar_fpsr, ar_lc, ar_ec, ar_csd, ar_ssd;
	__u64 reserved[8];	/* must be 0; room for more state */
};

/* LOL_GET_FPU/LOL_SET_FPU: f[n] is fn as spilled by stf.spill; f0, f1 ignored. */
struct lol_fpu_ia64 {
	struct {
		__u64 lo, hi;
	} f[128];
};

#endif /* _UAPI_ASM_IA64_LOL_H */
