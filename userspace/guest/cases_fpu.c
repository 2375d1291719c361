// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: FP and vector state. Two processes on one CPU keep
 * known values in xmm0-15 (ymm0-15 with AVX), MXCSR, the x87 control word
 * and st(0) across many sched_yield()s and system calls; a signal handler
 * that changes all of them must leave the interrupted code's state as it
 * was, except what it changed in its signal frame.
 *
 * The register checks are x86_64 inline assembly: nothing between loading
 * and storing the registers may be compiled code, which could use them.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "suite.h"

/* Bitwise-reproducible sums, with system calls in the middle. */
static double sum_inverse_squares(long n)
{
	double s = 0;
	long k;

	for (k = 1; k <= n; k++) {
		s += 1.0 / ((double)k * k);
		if (k % 256 == 0)
			syscall(SYS_sched_yield);
	}
	return s;
}

static long double sum_harmonic_ld(long n)
{
	long double s = 0;
	long k;

	for (k = 1; k <= n; k++) {
		s += 1.0L / k;
		if (k % 256 == 0)
			syscall(SYS_getppid);
	}
	return s;
}

#ifdef __x86_64__

struct fp_regs {
	uint8_t v[16][32];	/* xmm0-15 (ymm0-15: all 32 bytes) */
	long double st0;
	uint32_t mxcsr;
	uint16_t fcw;
} __attribute__((aligned(64)));

#define ALL16(M)	M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) \
			M(10) M(11) M(12) M(13) M(14) M(15)
#define LD_SSE(n)	"movdqu " #n "*32(%[in]), %%xmm" #n "\n\t"
#define ST_SSE(n)	"movdqu %%xmm" #n ", " #n "*32(%[out])\n\t"
#define LD_AVX(n)	"vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define ST_AVX(n)	"vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"

#define CTL_SAVE	"stmxcsr %[mxs]\n\tfnstcw %[cws]\n\t"
#define CTL_LOAD	"ldmxcsr %c[mx](%[in])\n\tfldcw %c[cw](%[in])\n\t" \
			"fldt %c[st](%[in])\n\t"
#define CTL_STORE	"stmxcsr %c[mx](%[out])\n\tfnstcw %c[cw](%[out])\n\t" \
			"fstpt %c[st](%[out])\n\t"
#define CTL_RESTORE	"ldmxcsr %[mxs]\n\tfldcw %[cws]\n\t"

/* sched_yield() and getppid() n times, by hand: no libc in between. */
#define LOOP_YIELD	"1:\n\tmov %[yield], %%eax\n\tsyscall\n\t"	\
			"mov %[getppid], %%eax\n\tsyscall\n\t"		\
			"dec %[n]\n\tjnz 1b\n\t"
/*
 * Spin until *flag, at most n times; *armed says the test's registers are
 * loaded (the signal handler ignores a signal that comes outside).
 */
#define LOOP_SPIN	"movl $1, %[armed]\n\t"				\
			"1:\n\tcmpl $0, %[flag]\n\tjne 2f\n\t"		\
			"dec %[n]\n\tjnz 1b\n\t2:\n\t"			\
			"movl $0, %[armed]\n\t"

#define XMM_CLOBBERS	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",	\
			"xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
			"xmm12", "xmm13", "xmm14", "xmm15"

#define FP_ASM(body)							\
	asm volatile(CTL_SAVE body CTL_RESTORE				\
		: [n] "+r" (n), [mxs] "+m" (mx_save), [cws] "+m" (cw_save), \
		  [armed] "+m" (fp_armed)				\
		: [in] "r" (in), [out] "r" (out), [flag] "m" (fp_flag),	\
		  [mx] "i" (offsetof(struct fp_regs, mxcsr)),		\
		  [cw] "i" (offsetof(struct fp_regs, fcw)),		\
		  [st] "i" (offsetof(struct fp_regs, st0)),		\
		  [yield] "i" (SYS_sched_yield),			\
		  [getppid] "i" (SYS_getppid)				\
		: "rax", "rcx", "r11", "memory", "cc", XMM_CLOBBERS)

static volatile int fp_flag;
static volatile int fp_armed;
static bool have_avx;

/*
 * Load in, run the loop (yield or spin), store into out. Returns what is
 * left of n: 0 if a spin ran out.
 */
static long fp_run(const struct fp_regs *in, struct fp_regs *out, long n,
		   bool spin)
{
	uint32_t mx_save = 0;
	uint16_t cw_save = 0;

	if (have_avx && spin)
		FP_ASM(ALL16(LD_AVX) CTL_LOAD LOOP_SPIN ALL16(ST_AVX)
		       CTL_STORE "vzeroupper\n\t");
	else if (have_avx)
		FP_ASM(ALL16(LD_AVX) CTL_LOAD LOOP_YIELD ALL16(ST_AVX)
		       CTL_STORE "vzeroupper\n\t");
	else if (spin)
		FP_ASM(ALL16(LD_SSE) CTL_LOAD LOOP_SPIN ALL16(ST_SSE)
		       CTL_STORE);
	else
		FP_ASM(ALL16(LD_SSE) CTL_LOAD LOOP_YIELD ALL16(ST_SSE)
		       CTL_STORE);
	return n;
}

/* Random register contents and a random (valid) MXCSR and x87 mode. */
static void fp_random(struct fp_regs *r, uint64_t *rs)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(r->v); i += 8) {
		uint64_t x = rng_next(rs);

		memcpy(&r->v[0][0] + i, &x, 8);
	}
	if (!have_avx)
		for (i = 0; i < 16; i++)
			memset(&r->v[i][16], 0, 16);
	/* All exceptions masked; rounding mode and flush-to-zero vary. */
	r->mxcsr = 0x1f80 | (rng_next(rs) % 4) << 13 |
		   (rng_next(rs) % 2) << 15;
	r->fcw = 0x007f | (rng_next(rs) % 4) << 8 | (rng_next(rs) % 4) << 10;
	r->fcw |= 0x0200;	/* precision: never the reserved 01 */
	r->st0 = (long double)(rng_next(rs) >> 11) / 3.0L;
}

/* The first difference between want and got, described, or NULL. */
static const char *fp_compare(const struct fp_regs *want,
			      const struct fp_regs *got, char *buf, size_t len)
{
	size_t bytes = have_avx ? 32 : 16;
	int i;

	for (i = 0; i < 16; i++) {
		if (memcmp(want->v[i], got->v[i], bytes)) {
			bool low = !memcmp(want->v[i], got->v[i], 16);
			uint64_t w, g;
			int off = low ? 16 : 0;

			memcpy(&w, want->v[i] + off, 8);
			memcpy(&g, got->v[i] + off, 8);
			snprintf(buf, len,
				 "%s%d %s half: expected %#llx..., got %#llx...",
				 have_avx ? "ymm" : "xmm", i,
				 low ? "upper" : "lower",
				 (unsigned long long)w, (unsigned long long)g);
			return buf;
		}
	}
	if (want->mxcsr != got->mxcsr) {
		snprintf(buf, len, "MXCSR: expected %#x, got %#x", want->mxcsr,
			 got->mxcsr);
		return buf;
	}
	if (want->fcw != got->fcw) {
		snprintf(buf, len, "x87 control word: expected %#x, got %#x",
			 want->fcw, got->fcw);
		return buf;
	}
	if (memcmp(&want->st0, &got->st0, 10)) {
		snprintf(buf, len, "st(0): expected %La, got %La", want->st0,
			 got->st0);
		return buf;
	}
	return NULL;
}

/* One of the two processes: rounds of random state across yields. */
static void fp_yield_child(int idx, double want_d, long double want_ld,
			   long sum_n)
{
	uint64_t rs = 0x1000 + idx * 0x9e3779b9;
	long rounds = scaled(20), i;
	struct fp_regs in, out;
	const char *bad;
	char buf[160];
	double d;
	long double ld;

	pin_to_cpu(0);
	for (i = 0; i < rounds; i++) {
		fp_random(&in, &rs);
		memset(&out, 0, sizeof(out));
		fp_run(&in, &out, 25, false);
		bad = fp_compare(&in, &out, buf, sizeof(buf));
		if (bad) {
			FAIL("process %d, round %ld, after 50 syscalls: %s",
			     idx, i, bad);
			_exit(1);
		}
	}
	d = sum_inverse_squares(sum_n);
	ld = sum_harmonic_ld(sum_n);
	if (memcmp(&d, &want_d, sizeof(d)) || memcmp(&ld, &want_ld, 10)) {
		FAIL("process %d: sums %a and %La, expected %a and %La", idx,
		     d, ld, want_d, want_ld);
		_exit(1);
	}
	_exit(0);
}

static int fp_two_processes(void)
{
	long sum_n = scaled(20000);
	double want_d = sum_inverse_squares(sum_n);
	long double want_ld = sum_harmonic_ld(sum_n);
	int status, i, rc = CASE_PASS;
	pid_t pid[2];
	char st[64];

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		CHECK_SYS(pid[i]);
		if (pid[i] == 0)
			fp_yield_child(i, want_d, want_ld, sum_n);
	}
	for (i = 0; i < 2; i++) {
		CHECK(waitpid(pid[i], &status, 0) == pid[i], "waitpid: %s",
		      errno_name(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = FAIL("FP process %d: %s", i,
				  status_str(status, st, sizeof(st)));
	}
	return rc;
}

/* --- a signal handler that changes FP state -------------------------------- */

static const uint8_t junk[32] = {
	0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
};
/* The handler stores this into the frame's xmm15; sigreturn loads it. */
static const uint8_t frame_xmm15[16] = {
	0x15, 0x15, 0x15, 0x15, 0xf0, 0x0d, 0xf0, 0x0d,
	0x15, 0x15, 0x15, 0x15, 0xf0, 0x0d, 0xf0, 0x0d,
};

static volatile bool frame_seen;
static volatile uint32_t frame_mxcsr;
static volatile uint16_t frame_cwd;
static uint8_t frame_xmm0[16];

#define JUNK_SSE(n)	"movdqu %[junk], %%xmm" #n "\n\t"
#define JUNK_AVX(n)	"vmovdqu %[junk], %%ymm" #n "\n\t"

static void fp_signal_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	fpregset_t fp = uc->uc_mcontext.fpregs;
	uint32_t mx = 0x1f80 | 2 << 13;		/* round up */
	uint16_t cw = 0x007f | 0 << 8 | 1 << 10;	/* single, round down */
	volatile double x = sig;

	(void)si;
	/*
	 * Before fp_run() loaded the registers or after it stored them (a
	 * loaded host can take longer than the timer's period to get
	 * there): not the state under test; the next tick will do.
	 */
	if (!fp_armed)
		return;
	if (fp) {
		frame_seen = true;
		frame_mxcsr = fp->mxcsr;
		frame_cwd = fp->cwd;
		memcpy(frame_xmm0, &fp->_xmm[0], 16);
		memcpy(&fp->_xmm[15], frame_xmm15, 16);
	}
	/* Everything different now, and some arithmetic with it. */
	if (have_avx)
		asm volatile(ALL16(JUNK_AVX) "vzeroupper\n\t"
			     :: [junk] "m" (junk) : XMM_CLOBBERS);
	else
		asm volatile(ALL16(JUNK_SSE) :: [junk] "m" (*(uint8_t (*)[16])junk)
			     : XMM_CLOBBERS);
	asm volatile("ldmxcsr %[mx]\n\tfldcw %[cw]\n\tfldpi\n\tfstp %%st(0)\n\t"
		     :: [mx] "m" (mx), [cw] "m" (cw));
	x = x / 3.0 + 1e-300 * x;
	fp_flag = 1;
}

static int fp_signal(void)
{
	struct itimerval it = { .it_value = { 0, 2000 },
				.it_interval = { 0, 2000 } };
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_sigaction = fp_signal_handler };
	uint64_t rs = 0xfeedbeef;
	struct fp_regs in, out, want;
	const char *bad;
	char buf[160];
	int round;
	long left;

	for (round = 0; round < 4; round++) {
		fp_random(&in, &rs);
		want = in;
		memcpy(want.v[15], frame_xmm15, 16);
		memset(&out, 0, sizeof(out));
		fp_flag = 0;
		frame_seen = false;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGALRM, &sa, NULL);
		CHECK_SYS(setitimer(ITIMER_REAL, &it, NULL));
		left = fp_run(&in, &out, 1L << 32, true);
		/* The timer repeats: stop it before the default comes back. */
		CHECK_SYS(setitimer(ITIMER_REAL, &off, NULL));
		signal(SIGALRM, SIG_DFL);
		CHECK(left && fp_flag, "no SIGALRM within 2^32 loop iterations");

		CHECK(frame_seen, "the signal frame has no FP state");
		CHECK(frame_mxcsr == in.mxcsr && frame_cwd == in.fcw,
		      "the signal frame holds MXCSR %#x and x87 control %#x, expected %#x and %#x",
		      frame_mxcsr, frame_cwd, in.mxcsr, in.fcw);
		CHECK(!memcmp(frame_xmm0, in.v[0], 16),
		      "the signal frame's xmm0 is not the interrupted one");
		bad = fp_compare(&want, &out, buf, sizeof(buf));
		CHECK(!bad, "round %d, after a handler that changed FP state: %s%s",
		      round, bad,
		      bad && !strncmp(bad + 1, "mm15 lower", 10) ?
		      " (the frame's xmm15 was not loaded by sigreturn)" : "");
	}
	return CASE_PASS;
}

int case_fpu(void)
{
	__builtin_cpu_init();
	have_avx = __builtin_cpu_supports("avx");
	info("checking %s, MXCSR, x87 control word and st(0)",
	     have_avx ? "ymm0-15" : "xmm0-15");
	TRY(fp_two_processes());
	TRY(fp_signal());
	return CASE_PASS;
}

#else /* !__x86_64__ */

int case_fpu(void)
{
	long sum_n = scaled(20000);
	double want_d = sum_inverse_squares(sum_n), d;
	pid_t pid = fork();
	int status;

	CHECK_SYS(pid);
	if (pid == 0) {
		d = sum_inverse_squares(sum_n);
		_exit(memcmp(&d, &want_d, sizeof(d)) != 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "a child computed another sum");
	return skip("the register checks are x86_64 only");
}

#endif
