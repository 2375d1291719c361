/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol-fuzz on x86_64: raw syscalls, LOL_RUN with a pattern in a vector
 * register, the monitor state LOL_RUN must leave alone, and the register
 * accessors the case logic uses, so that cases.c names no x86 register.
 */
#ifndef LOL_FUZZ_ARCH_H
#define LOL_FUZZ_ARCH_H

/* The guest's program counter and syscall return register in the run page. */
#define FZ_PC(run)		((run)->regs.rip)
#define FZ_RET(run)		((run)->regs.rax)
/* The run page's register block as words, for scribbling. */
#define FZ_REG_WORDS(run)	(&(run)->regs.rax)
#define FZ_NREG_WORDS		20

/* A plain start at pc: only IF set in rflags, as in any user context. */
static inline void fz_start(struct lol_run *run, uint64_t pc)
{
	run->regs.rip = pc;
	run->regs.rflags = 0x202;
}

/* The same in a signal context. */
#define FZ_UC_PC(u)		((u)->uc_mcontext.gregs[REG_RIP])
#define FZ_UC_RET(u)		((u)->uc_mcontext.gregs[REG_RAX])

/* ---- raw syscalls (no errno, no libc state) -------------------------------- */

static inline long raw6(long nr, long a, long b, long c, long d, long e,
			long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * LOL_RUN with a pattern in xmm8 around the syscall itself (xmm registers
 * are caller-saved: a C variable would not stay in one across a call).
 */
static inline long run_xmm8(int fd, uint64_t pat, uint64_t *after)
{
	register long rdi __asm__("rdi") = fd;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = 0;
	long ret = SYS_ioctl;
	uint64_t out;

	__asm__ volatile("movq %[pat], %%xmm8\n\t"
			 "syscall\n\t"
			 "movq %%xmm8, %[out]"
			 : "+a"(ret), [out] "=r"(out)
			 : "r"(rdi), "r"(rsi), "r"(rdx), [pat] "r"(pat)
			 : "rcx", "r11", "memory", "xmm8");
	*after = out;
	return ret;
}

/* Monitor state LOL_RUN must leave alone. */
struct mon_state {
	uint64_t tp;
	uint16_t fs, gs;
	uint32_t mxcsr;
	uint16_t fcw;
	uint32_t pkru;
};

#endif
