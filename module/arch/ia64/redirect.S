/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol ia64: the way into a module function from a kprobe redirect.
 *
 * A kprobe pre-handler that redirects a thread (run.c: get_signal(),
 * do_exit()) sets the interrupted ip to lol_ia64_redirect and r2 to the
 * module function's descriptor; the thread is at the first instruction
 * of the probed kernel function, with its caller's return address in b0
 * and the arguments in the output registers. This calls the module
 * function with the same eight argument registers and returns to the
 * kernel caller with the kernel's gp in r1. It is assembly because C
 * cannot say that: the kernel is built with -mconstant-gp and never
 * reloads gp after a direct call, while module code, called through a
 * descriptor, runs on its own gp and leaves it in r1.
 */
#include <linux/linkage.h>
#include <asm/asmmacro.h>

GLOBAL_ENTRY(lol_ia64_redirect)
	.prologue ASM_UNW_PRLG_RP|ASM_UNW_PRLG_PFS, ASM_UNW_PRLG_GRSAVE(8)
	alloc loc1=ar.pfs,8,3,8,0
	mov loc0=rp
	mov loc2=gp			// the kernel's: the probed function's
	.body
	ld8 r3=[r2],8			// the descriptor: code address
	;;
	ld8 gp=[r2]			// and the module's gp
	mov b6=r3
	mov out0=in0
	mov out1=in1
	mov out2=in2
	mov out3=in3
	mov out4=in4
	mov out5=in5
	mov out6=in6
	mov out7=in7
	br.call.sptk.many rp=b6
	mov gp=loc2
	mov rp=loc0
	mov ar.pfs=loc1
	br.ret.sptk.many rp
END(lol_ia64_redirect)
