// SPDX-License-Identifier: GPL-2.0
/*
 * lol-fuzz: a seeded, time-bounded fuzzer for /dev/lol.
 *
 *	lol-fuzz [--seed N] [--seconds N] [--threads N] [--case N] [--verbose]
 *
 * The process you start is the supervisor. It runs "cases" one after
 * another, each in a fresh child process, until --seconds have passed. A
 * case's seed is derived from the run's seed and the case number, so
 * `lol-fuzz --seed S --case N` replays case N: the same operations in the
 * same order on every thread (how the threads interleave is up to the
 * scheduler). The seed is printed first, and again with every failure.
 *
 * A case opens /dev/lol (as root), creates guests with memfd phys memory,
 * vcpus with mapped run pages and address spaces, drops to uid 65534, and
 * starts worker threads that pick random operations: every lol ioctl on
 * every kind of fd with random and semi-valid arguments, AS batches with
 * random ranges, mmap/munmap of vcpu fds, LOL_RUN of generated guest code
 * (random bytes, privileged instructions, traps, syscalls, int $0x80,
 * sysenter, far returns and iret into 32-bit code, segment loads, FS/GS
 * base and PKRU writes, x87/SSE/AVX, wild jumps, endless loops), kicks and
 * kick storms, syscall range tables, FPU state, fds closed and dup'd under
 * other threads, signals and timers at random points, fork, and threads
 * racing LOL_RUN on one vcpu. The supervisor SIGSTOPs/SIGCONTs and now
 * and then SIGKILLs the case at a random moment.
 *
 * Two kinds of case:
 *   safe  guest syscalls are reflected (or killed). The monitor must come
 *         through intact: its death by any signal but SIGKILL, its FS base,
 *         FS/GS selectors, xmm8, MXCSR, x87 control word or PKRU changed
 *         across LOL_RUN, a forked child that can drive the parent's
 *         guest, or a worker that neither kicks nor signals get out of the
 *         kernel fails the run.
 *   wild  also NATIVE guest syscalls (the guest runs host syscalls on the
 *         monitor's thread, lol's ioctls included), monitor-mode ranges
 *         with in-place reflection, ptrace of the monitor and exec with
 *         threads in guest mode. The case may die any way it likes; only
 *         the kernel's health counts.
 * Every case ends killable: a case process SIGKILL cannot reap within 30 s
 * fails the run, and so does a kernel taint that appears during a case.
 *
 * The kernel's own verdict (KASAN, lockdep, WARN, kmemleak...) is in the
 * kernel log, which the harness judges (make fuzz, make check-debug).
 * Before each case the supervisor writes "lol-fuzz: case N seed S" to
 * /dev/kmsg, so a splat in the log follows the case that caused it.
 * See Documentation/hardening.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <cpuid.h>
#include <asm/prctl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>

#include <linux/lol.h>

#define PAGE		4096UL
#define USER_LIMIT	0x00007ffffffff000ULL

#define NSYS		2
#define NGUEST		3
#define NVCPU		6
#define NAS		8
#define MAXTHR		16
#define NMAPS		8
#define CODE_PAGES	2
#define CODE_LEN	(CODE_PAGES * PAGE)
/* Phys layout of every guest: code, data, stack, then the rest. */
#define PHYS_CODE	0
#define PHYS_DATA	(CODE_PAGES * PAGE)
#define PHYS_STACK	(PHYS_DATA + 2 * PAGE)
#define PHYS_MIN	(PHYS_STACK + 2 * PAGE)
/* Private dups of the vcpu fds, for kicking at case end: above the pool. */
#define KICK_FD_BASE	700
#define MAX_KICK_FDS	64
#define POOL_FD_MAX	600

#define LD(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ADD(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

/* ---- options, shared statistics ------------------------------------------ */

static struct {
	uint64_t seed;
	int seconds;
	int threads;
	int verbose;
	long one_case;
	long max_cases;
	int wild_pct;
	int kill_pct;
	bool no_nested;
	int tcg;		/* -1 auto, 0 off, 1 on */
} o = { .tcg = -1, .seconds = 60, .threads = 3, .one_case = -1, .max_cases = -1,
	.wild_pct = 30, .kill_pct = 15 };

/* In a MAP_SHARED page: children add, the supervisor reports. */
struct stats {
	unsigned long ops, ioctls, runs, exits[8], run_err, eintr, ebusy;
	unsigned long odd, upcalls, forks, kicks, asops;
};
static struct stats *st;


/* ---- random numbers --------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct rng *r)
{
	return splitmix(&r->s);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);

	splitmix(&x);
	return splitmix(&x);
}

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000,
	0x1001, 0xffff, 0x10000, 0x200000, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ULL, 0x7ffffffde000ULL, 0x7ffffffff000ULL, 0x7fffffffffffULL,
	0x800000000000ULL, 0xfffffffffffffULL, 0x100000000000000ULL,
	0xff00000000000000ULL, 0xffff800000000000ULL, 0xffffffff81000000ULL,
	0xffffffffff600000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
	(uint64_t)-4095, (uint64_t)-4096, (uint64_t)-2, (uint64_t)-1,
};
#define NINTERESTING (sizeof(interesting) / sizeof(interesting[0]))

static uint64_t rval(struct rng *r)
{
	switch (below(r, 7)) {
	case 0:
	case 1:
		return interesting[below(r, NINTERESTING)];
	case 2:
		return rnd(r);
	case 3:
		return below(r, 4096);
	case 4:
		return below(r, USER_LIMIT / PAGE) * PAGE;
	case 5:
		return interesting[below(r, NINTERESTING)] + below(r, 17) - 8;
	default:
		return rnd(r) & ((1ULL << below(r, 64)) - 1);
	}
}

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
static long run_xmm8(int fd, uint64_t pat, uint64_t *after)
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

/* ---- output -------------------------------------------------------------- */

/* One write per line: children share a pipe with their threads. */
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "lol-fuzz: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0) {
		/* nothing to do */
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- guest code stubs (position independent) ------------------------------ */

#define FZ_ASM(name, body)						\
	extern const unsigned char name##_start[]			\
		__attribute__((visibility("hidden")));			\
	extern const unsigned char name##_end[]				\
		__attribute__((visibility("hidden")));			\
	__asm__(".pushsection .text.lol_fuzz_guest, \"ax\", @progbits\n" \
		#name "_start:\n\t" body "\n" #name "_end:\n"		\
		".popsection\n")

/* iretq into 32-bit code (selector 0x23), which makes a compat syscall. */
FZ_ASM(stub_compat_iret,
	"mov %rsp, %rcx\n\t"
	"pushq $0x2b\n\t"
	"push %rcx\n\t"
	"pushfq\n\t"
	"pushq $0x23\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"iretq\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"mov $20, %eax\n\t"
	"sysenter\n\t"
	"ud2\n"
	".code64\n");

/* lretq into 32-bit code, which far-jumps back to 64-bit code. */
FZ_ASM(stub_compat_lret,
	"pushq $0x23\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"lretq\n"
	".code32\n"
	"1: push $0x33\n\t"
	"call 2f\n"
	"2: addl $(3f - 2b), (%esp)\n\t"
	"lret\n"
	".code64\n"
	"3: mov $1001, %eax\n\t"
	"syscall\n");

/*
 * The same with far jumps only: QEMU's TCG (7.2) does the stack accesses
 * of lret/iret/lcall at CPL 3 as supervisor accesses, which SMAP turns
 * into a kernel oops in any process, lol or not.
 */
FZ_ASM(stub_compat_ljmp,
	"lea 1f(%rip), %rax\n\t"
	"sub $8, %rsp\n\t"
	"movl %eax, (%rsp)\n\t"
	"movw $0x23, 4(%rsp)\n\t"
	"ljmpl *(%rsp)\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"call 2f\n"
	"2: pop %eax\n\t"
	"add $(3f - 2b), %eax\n\t"
	"push $0x33\n\t"
	"push %eax\n\t"
	"ljmpl *(%esp)\n"
	".code64\n"
	"3: mov $1001, %eax\n\t"
	"syscall\n");

/* Clobber vector and x87 state the monitor must not see. */
FZ_ASM(stub_fpu_clobber,
	"pcmpeqb %xmm0, %xmm0\n\t"
	"pcmpeqb %xmm8, %xmm8\n\t"
	"pcmpeqb %xmm15, %xmm15\n\t"
	"fninit\n\t"
	"fld1\n\t"
	"fldz\n\t"
	"push $0x37f\n\t"
	"fldcw (%rsp)\n\t"
	"movl $0x1f80, (%rsp)\n\t"
	"ldmxcsr (%rsp)\n\t"
	"pop %rax\n\t"
	"mov $1002, %eax\n\t"
	"syscall\n");

/* A guest using lol through NATIVE syscalls on the /dev/lol fd in rdi. */
FZ_ASM(stub_nested,
	"mov %rdi, %rbx\n\t"
	"mov %rbx, %rdi\n\t"
	"mov $0xb202, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r12\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xb240, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r13\n\t"
	"sub $64, %rsp\n\t"
	"movq $0, 0(%rsp)\n\t"
	"movq $0, 8(%rsp)\n\t"
	"movq $0, 16(%rsp)\n\t"
	"movq $0, 24(%rsp)\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xc020b242, %esi\n\t"
	"mov %rsp, %rdx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov 4(%rsp), %r15d\n\t"
	"xor %edi, %edi\n\t"
	"mov $4096, %esi\n\t"
	"mov $3, %edx\n\t"
	"mov $1, %r10d\n\t"
	"mov %r13, %r8\n\t"
	"xor %r9d, %r9d\n\t"
	"mov $9, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r14\n\t"
	"cmp $-4095, %rax\n\t"
	"jae 1f\n\t"
	"mov %r15d, 4(%r14)\n"
	"1: mov %r13, %rdi\n\t"
	"mov $0xb280, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov $1003, %eax\n\t"
	"syscall\n");

/* An LDT code segment (NATIVE modify_ldt), then a far jump into it. */
FZ_ASM(stub_ldt,
	"sub $32, %rsp\n\t"
	"movl $0, 0(%rsp)\n\t"		/* entry_number */
	"movl $0, 4(%rsp)\n\t"		/* base */
	"movl $0xfffff, 8(%rsp)\n\t"	/* limit */
	"movl $0x59, 12(%rsp)\n\t"	/* 32bit, code, pages, useable */
	"mov $1, %edi\n\t"
	"mov %rsp, %rsi\n\t"
	"mov $16, %edx\n\t"
	"mov $154, %eax\n\t"
	"syscall\n\t"
	"mov $7, %eax\n\t"
	"mov %eax, %ds\n\t"
	"lea 1f(%rip), %rax\n\t"
	"movl %eax, (%rsp)\n\t"
	"movw $7, 4(%rsp)\n\t"
	"ljmpl *(%rsp)\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"ud2\n"
	".code64\n");

/* NATIVE rt_sigreturn on a frame of whatever is on the stack. */
FZ_ASM(stub_sigreturn,
	"sub $1024, %rsp\n\t"
	"mov $15, %eax\n\t"
	"syscall\n\t"
	"mov $1004, %eax\n\t"
	"syscall\n");

#define STUB(name)	{ #name, name##_start, name##_end }
static const struct stub {
	const char *name;
	const unsigned char *start, *end;
} stubs[] = {
	STUB(stub_compat_ljmp),	/* the only one of these three under TCG */
	STUB(stub_compat_iret),
	STUB(stub_compat_lret),
	STUB(stub_fpu_clobber),
	STUB(stub_nested),	/* wild only */
	STUB(stub_ldt),		/* wild only */
	STUB(stub_sigreturn),	/* wild only */
};
#define SAFE_STUBS	4
#define NSTUBS		(sizeof(stubs) / sizeof(stubs[0]))

/* ---- the state of one case -------------------------------------------------- */

struct gslot {
	int fd;
	int memfd;
	uint8_t *phys;		/* monitor view; stable during the case */
	uint64_t phys_size;
	uint32_t as[NAS];
	uint64_t code_gva, data_gva, stack_gva;
};

struct vslot {
	int fd;
	int g;
	struct lol_run *run;	/* stable: never unmapped during the case */
};

struct thr {
	int idx;
	struct rng r;
	pid_t tid;
	pthread_t pt;
	timer_t timer;
	bool has_timer;
	bool done;
	uint8_t *buf;		/* 2 pages: data, then PROT_NONE */
	void *maps[NMAPS];
	size_t maplen[NMAPS];
	uint8_t *upstack;	/* monitor-mode upcall stack */
	uint64_t tp;		/* thread pointer at start */
	const char *op;
	volatile int run_fd;	/* the fd of the LOL_RUN in progress, or -1 */
};

static struct {
	int sys[NSYS];
	struct gslot g[NGUEST];
	struct vslot v[NVCPU];
	uint32_t fpu_size;
	long max_vcpus;
	size_t run_size;
	bool wild;
	bool has_pku;
	bool tcg;		/* QEMU TCG: no user-mode far ret/call/iret */
	volatile int stop;
	int nthreads;
	struct thr t[MAXTHR];
	int nrecreate;
	int nextra_threads;
	int nkick;		/* kick fds: KICK_FD_BASE .. + nkick */
	uint64_t seed;
	long idx;
} C;

static __thread int up_fd = -1;
static __thread struct lol_run *up_run;

static int kmsg_fd = -1;

/*
 * --trace: what each LOL_RUN is about to run, into the kernel log (the
 * fd to /dev/kmsg stays open after the case drops root), so the last
 * lines before a splat show the guest code that caused it.
 */
static void trace(const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	int n;

	if (o.verbose < 2 || kmsg_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "<6>lol-fuzz: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(kmsg_fd, buf, n) < 0) {
		/* nothing to do */
	}
}

static void trace_run(int fd, struct gslot *g, struct lol_run *run)
{
	char hex[200];
	uint64_t rip;
	int n = 0;

	if (o.verbose < 2 || !run)
		return;
	rip = run->regs.rip;
	if (rip >= g->code_gva && rip < g->code_gva + CODE_LEN) {
		const uint8_t *p = g->phys + PHYS_CODE + (rip - g->code_gva);
		uint64_t left = g->code_gva + CODE_LEN - rip;

		for (uint64_t i = 0; i < left && i < 64; i++)
			n += snprintf(hex + n, sizeof(hex) - n, "%02x", p[i]);
	}
	hex[n] = 0;
	trace("run fd %d as %u rip %#llx rsp %#llx rflags %#llx flags %#x code %s",
	      fd, run->as_id, (unsigned long long)rip,
	      (unsigned long long)run->regs.rsp,
	      (unsigned long long)run->regs.rflags, run->flags, hex);
}

static void odd(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	ADD(st->odd, 1);
	if (!o.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("odd (case %ld): %s", C.idx, buf);
}

/* A failure the monitor sees itself: report and end the case with 1. */
static void fail(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FAIL case %ld (%s): %s", C.idx, C.wild ? "wild" : "safe", buf);
	_exit(1);
}

/* Any fd of the pool, a closed or bogus one now and then. */
static int pick_fd(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
	case 1:
		return LD(C.sys[below(r, NSYS)]);
	case 2:
	case 3:
		return LD(C.g[below(r, NGUEST)].fd);
	case 4:
	case 5:
	case 6:
	case 7:
		return LD(C.v[below(r, NVCPU)].fd);
	case 8:
		return LD(C.g[below(r, NGUEST)].memfd);
	default:
		return below(r, 2) ? -1 : 3 + (int)below(r, 60);
	}
}

static struct vslot *pick_vcpu(struct rng *r)
{
	return &C.v[below(r, NVCPU)];
}

static uint32_t pick_as(struct rng *r, struct gslot *g)
{
	if (chance(r, 90))
		return LD(g->as[below(r, chance(r, 60) ? 1 : NAS)]);
	return (uint32_t)rval(r);
}

static uint64_t pick_gva(struct rng *r, struct gslot *g)
{
	switch (below(r, 6)) {
	case 0:
		return g->code_gva + below(r, CODE_LEN);
	case 1:
		return g->data_gva + below(r, 2 * PAGE);
	case 2:
		return g->stack_gva + below(r, 2 * PAGE);
	default:
		return rval(r);
	}
}

/* ---- guest code generation ---------------------------------------------------- */

/*
 * An emitter. Bytes that come from the random generator (immediates,
 * random blocks) are marked untrusted: under TCG they are sanitized (see
 * tcg_sanitize()), the fixed encodings are not.
 */
struct em {
	uint8_t *p, *end, *base;
	uint8_t *untrusted;	/* one flag per byte from base */
};

static void emit(struct em *e, uint8_t b, bool untrusted)
{
	if (e->p < e->end) {
		e->untrusted[e->p - e->base] = untrusted;
		*e->p++ = b;
	}
}

static void e8(struct em *e, uint8_t b)
{
	emit(e, b, false);
}

/* A byte from the random generator. */
static void e8u(struct em *e, uint8_t b)
{
	emit(e, b, true);
}

static void eb(struct em *e, const char *bytes, int n)
{
	while (n--)
		e8(e, (uint8_t)*bytes++);
}

/* Immediates: untrusted. */
static void e32(struct em *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		e8u(e, v >> (8 * i));
}

static void e64(struct em *e, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		e8u(e, v >> (8 * i));
}

/* movabs $v, %reg (reg: 0 rax 1 rcx 2 rdx 3 rbx 4 rsp 5 rbp 6 rsi 7 rdi 8-15) */
static void movabs(struct em *e, int reg, uint64_t v)
{
	e8(e, 0x48 | (reg >= 8));
	e8(e, 0xb8 + (reg & 7));
	e64(e, v);
}

/* Syscall numbers worth trying; NATIVE only runs them in wild cases. */
static const uint16_t sys_interesting[] = {
	0, 1, 2, 3, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 28, 32, 33, 34, 35,
	39, 56, 57, 58, 59, 60, 62, 72, 96, 97, 98, 101, 110, 131, 137, 154,
	157, 158, 186, 200, 202, 205, 211, 218, 228, 230, 231, 234, 273, 274,
	281, 302, 317, 319, 322, 324, 334, 435, 439, 1000,
};

static uint64_t sys_arg(struct rng *r, struct gslot *g)
{
	switch (below(r, 5)) {
	case 0:
		return pick_fd(r);
	case 1:
		return pick_gva(r, g);
	case 2: {
		static const uint64_t cmds[] = {
			LOL_GET_API_VERSION, LOL_CHECK_EXTENSION,
			LOL_CREATE_GUEST, LOL_CREATE_VCPU, LOL_CREATE_AS,
			LOL_AS_OPS, LOL_RUN, LOL_KICK, LOL_SET_SYSCALL_RANGES,
			LOL_RESUME, LOL_SET_FPU, LOL_GET_FPU,
		};
		return cmds[below(r, sizeof(cmds) / sizeof(cmds[0]))];
	}
	default:
		return rval(r);
	}
}

static void t_syscall(struct em *e, struct rng *r, struct gslot *g)
{
	static const int argreg[] = { 7, 6, 2, 10, 8, 9 };
	uint64_t nr;

	for (int i = 0; i < 6; i++)
		if (chance(r, 70))
			movabs(e, argreg[i], sys_arg(r, g));
	switch (below(r, 6)) {
	case 0:
	case 1:
		nr = sys_interesting[below(r, sizeof(sys_interesting) / 2)];
		break;
	case 2:
		nr = below(r, 460);
		break;
	case 3:
		nr = 0x40000000 | below(r, 550);	/* x32 */
		break;
	case 4:
		nr = rval(r);
		break;
	default:
		nr = 1000 + below(r, 100);
		break;
	}
	movabs(e, 0, nr);
	switch (below(r, 10)) {
	case 0:
		eb(e, "\xcd\x80", 2);		/* int $0x80 */
		break;
	case 1:
		eb(e, "\x0f\x34", 2);		/* sysenter */
		break;
	default:
		eb(e, "\x0f\x05", 2);		/* syscall */
		break;
	}
}

static void t_priv(struct em *e, struct rng *r)
{
	/* hlt cli sti wrmsr rdmsr rdpmc in/out mov-cr lgdt clts wbinvd
	 * swapgs sysret sgdt lldt vmmcall vmcall vmrun rsm invd clac stac
	 * serialize; the NUL-free strings are the encodings.
	 */
	static const char *const insns[] = {
		"\xf4", "\xfa", "\xfb", "\x0f\x30", "\x0f\x32", "\x0f\x33",
		"\xec", "\xed", "\xee", "\xef", "\xe4\x80", "\xe6\x80",
		"\x0f\x22\xd8", "\x0f\x20\xc0", "\x0f\x01\x10", "\x0f\x06",
		"\x0f\x09", "\x0f\x01\xf8", "\x48\x0f\x07", "\x0f\x07",
		"\x0f\x01\x04\x24", "\x0f\x01\xd9",
		"\x0f\x01\xc1", "\x0f\x01\xd8", "\x0f\xaa", "\x0f\x08",
		"\x0f\x01\xe8",
		/* the last two (clac, stac) contain lret bytes: not under TCG */
		"\x0f\x01\xca", "\x0f\x01\xcb",
	};
	const char *s = insns[below(r, sizeof(insns) / sizeof(insns[0]) - (C.tcg ? 2 : 0))];

	if (chance(r, 30))
		movabs(e, 0, rval(r));
	if (chance(r, 5)) {
		eb(e, "\x0f", 1);		/* lldt %ax: 0f 00 d0 */
		e8(e, 0);
		e8(e, 0xd0);
		return;
	}
	eb(e, s, strlen(s));
}

static void t_trap(struct em *e, struct rng *r)
{
	switch (below(r, 9)) {
	case 0: e8(e, 0xcc); break;			/* int3 */
	case 1: eb(e, "\x0f\x0b", 2); break;		/* ud2 */
	case 2: e8(e, 0xf1); break;			/* int1 */
	case 3: e8(e, 0xce); break;			/* into: #UD */
	case 4: e8(e, 0xcd); e8u(e, below(r, 256)); break;	/* int $n */
	case 5: eb(e, "\x31\xc9\x31\xd2\xf7\xf1", 6); break;	/* div 0 */
	case 6: eb(e, "\x0f\xb9\xc0", 3); break;	/* ud1 */
	case 7: eb(e, "\xf0\x90", 2); break;		/* lock nop */
	default: eb(e, "\x62\x62", 2); break;		/* bound/EVEX junk */
	}
}

/* push $imm32 (sign-extended) */
static void push_imm(struct em *e, uint32_t v)
{
	e8(e, 0x68);
	e32(e, v);
}

static const uint16_t selectors[] = {
	0, 3, 7, 0x10, 0x18, 0x1b, 0x23, 0x2b, 0x33, 0x3b, 0x43, 0x53, 0xffff,
	0x4, 0xf, 0x80,
};
#define NSEL (sizeof(selectors) / sizeof(selectors[0]))

static uint16_t pick_sel(struct rng *r)
{
	return chance(r, 80) ? selectors[below(r, NSEL)] : (uint16_t)rnd(r);
}

static void t_far(struct em *e, struct rng *r, uint64_t here)
{
	uint64_t target = chance(r, 70) ? here + below(r, 64) : rval(r);

	switch (C.tcg ? 3 : below(r, 4)) {
	case 0:		/* lretq */
		push_imm(e, pick_sel(r));
		movabs(e, 0, target);
		e8(e, 0x50);
		eb(e, "\x48\xcb", 2);
		break;
	case 1:		/* iretq with a random frame */
		push_imm(e, pick_sel(r));			/* ss */
		movabs(e, 0, chance(r, 50) ? here + 0x800 : rval(r));
		e8(e, 0x50);					/* rsp */
		push_imm(e, 0x202 | (rnd(r) & 0x40cd5));	/* rflags */
		push_imm(e, pick_sel(r));			/* cs */
		movabs(e, 0, target);
		e8(e, 0x50);					/* rip */
		eb(e, "\x48\xcf", 2);
		break;
	case 2:		/* lcall through memory: m16:64 */
		movabs(e, 0, target);
		e8(e, 0x50);
		eb(e, "\x66\xc7\x44\x24\x08", 5);		/* movw $sel, 8(%rsp) */
		e8u(e, pick_sel(r));
		e8(e, 0);
		eb(e, "\x48\xff\x1c\x24", 4);			/* lcall *(%rsp) */
		break;
	default:	/* ljmp m16:32 */
		movabs(e, 0, (target & 0xffffffff) | ((uint64_t)pick_sel(r) << 32));
		e8(e, 0x50);
		eb(e, "\xff\x2c\x24", 3);			/* ljmp *(%rsp) */
		break;
	}
}

static void t_seg(struct em *e, struct rng *r)
{
	static const uint8_t modrm[] = { 0xd8, 0xc0, 0xd0, 0xe0, 0xe8 };

	e8(e, 0xb8);
	e32(e, pick_sel(r));			/* mov $sel, %eax */
	e8(e, 0x8e);
	e8(e, modrm[below(r, 5)]);		/* mov %eax, %sreg */
	if (chance(r, 30))
		eb(e, "\x8c\xe0", 2);		/* mov %fs, %eax */
}

static void t_fsgs(struct em *e, struct rng *r)
{
	movabs(e, 0, chance(r, 50) ? rval(r) : 0x10000 + below(r, 1 << 20));
	switch (below(r, 4)) {
	case 0: eb(e, "\xf3\x48\x0f\xae\xd0", 5); break;	/* wrfsbase */
	case 1: eb(e, "\xf3\x48\x0f\xae\xd8", 5); break;	/* wrgsbase */
	case 2: eb(e, "\xf3\x48\x0f\xae\xc0", 5); break;	/* rdfsbase */
	default:						/* mov %fs:(%rax) */
		eb(e, "\x64\x48\x8b\x00", 4);
		break;
	}
}

static void t_pkru(struct em *e, struct rng *r)
{
	eb(e, "\x31\xc9\x31\xd2", 4);		/* ecx = edx = 0 */
	e8(e, 0xb8);
	e32(e, chance(r, 50) ? (uint32_t)rnd(r) : 0x55555554);
	eb(e, chance(r, 80) ? "\x0f\x01\xef" : "\x0f\x01\xee", 3);
}

static void t_fpu(struct em *e, struct rng *r)
{
	static const char *const insns[] = {
		"\xdb\xe3", "\xd9\xe8", "\xd9\xee", "\xd8\xf1", "\xd9\xfa",
		"\xde\xf9", "\x9b", "\xc5\xf8\x77", "\xc5\xfc\x77",
		"\xc5\xfd\xef\xc0", "\xc5\xfe\x6f\x04\x24",
		"\x66\x45\x0f\x74\xc0", "\x66\x45\x0f\x74\xff",
		"\xf3\x0f\x5e\xc1", "\x0f\x57\xc0", "\x0f\xae\x04\x24",
		"\x0f\xae\x0c\x24", "\x48\x0f\xae\x24\x24",
		"\x48\x0f\xae\x2c\x24", "\x0f\xae\x14\x24", "\xd9\x2c\x24",
		"\x0f\x01\xd0", "\x0f\x01\xd1", "\x62\xf1\x7c\x48\x10\x04\x24",
	};
	const char *s;

	if (chance(r, 40)) {
		/* random value at (%rsp) for ldmxcsr/fldcw/xrstor/xsetbv */
		movabs(e, 0, rval(r));
		e8(e, 0x50);
		movabs(e, 2, chance(r, 50) ? 0 : rval(r));
		movabs(e, 0, rval(r));
		if (chance(r, 50))
			eb(e, "\x31\xc9", 2);
	}
	s = insns[below(r, sizeof(insns) / sizeof(insns[0]))];
	eb(e, s, strlen(s));
}

static void t_jump(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 0, pick_gva(r, g));
	switch (below(r, 3)) {
	case 0: eb(e, "\xff\xe0", 2); break;	/* jmp *%rax */
	case 1: eb(e, "\xff\xd0", 2); break;	/* call *%rax */
	default:				/* push; ret */
		eb(e, "\x50\xc3", 2);
		break;
	}
}

static void t_mem(struct em *e, struct rng *r, struct gslot *g)
{
	static const char *const acc[] = {
		"\x48\x8b\x18", "\x48\x89\x18", "\xf0\x48\x0f\xc1\x18",
		"\x0f\x18\x08", "\x0f\xae\x38", "\x48\x8b\x58\x01",
	};

	const char *a = acc[below(r, 6)];

	movabs(e, 0, pick_gva(r, g));
	eb(e, a, strlen(a));
}

static void t_string(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 1, chance(r, 50) ? below(r, 2 * PAGE) : rval(r));
	movabs(e, 6, pick_gva(r, g));
	movabs(e, 7, pick_gva(r, g));
	if (chance(r, 20))
		e8(e, 0xfd);			/* std */
	if (chance(r, 50))
		eb(e, "\xf3\xa4", 2);		/* rep movsb */
	else
		eb(e, "\xf3\x48\xab", 3);	/* rep stosq */
	e8(e, 0xfc);				/* cld */
}

static void t_flags(struct em *e, struct rng *r)
{
	/* pushfq; orq $bits, (%rsp); popfq: TF, AC, DF, NT, IOPL... */
	static const uint32_t bits[] = { 0x100, 0x40000, 0x400, 0x4000, 0x3000, 0x200000 };

	e8(e, 0x9c);
	eb(e, "\x48\x81\x0c\x24", 4);
	e32(e, bits[below(r, 6)]);
	e8(e, 0x9d);
	if (chance(r, 50))
		eb(e, "\x48\x8b\x44\x24\x01", 5);	/* misaligned load */
}

static void t_stack(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 4, chance(r, 60) ? pick_gva(r, g) : rval(r));
	switch (below(r, 3)) {
	case 0: e8(e, 0x50); break;
	case 1: e8(e, 0x58); break;
	default: e8(e, 0xc3); break;
	}
}

static void t_stub(struct em *e, struct rng *r, struct gslot *g, bool wild)
{
	unsigned int n = wild ? NSTUBS : SAFE_STUBS;
	const struct stub *s = &stubs[below(r, n)];

	if (C.tcg && (s->start == stub_compat_iret_start ||
		      s->start == stub_compat_lret_start))
		s = &stubs[0];

	if (s->start == stub_nested_start) {
		if (o.no_nested)
			return;
		movabs(e, 7, LD(C.sys[below(r, NSYS)]));
	}
	for (const unsigned char *p = s->start; p < s->end; p++)
		e8(e, *p);
	(void)g;
}

/*
 * Under QEMU TCG (7.2) two emulator bugs must not be hit, wherever
 * decoding of guest code starts:
 *  - lret (ca, cb), iret (cf), lcall ptr (9a, compat mode) and lcall m
 *    (ff /3) at CPL 3 do their stack accesses as supervisor accesses; with
 *    SMAP that oopses the kernel in any process, lol or not;
 *  - the new AVX decoder asserts on some VEX encodings (vpinsr with
 *    VEX.L=1 aborts QEMU), so VEX prefixes (c4, c5) survive only in the
 *    encodings the generator emits itself.
 * Other instructions take their place.
 */
static bool vex_known(const uint8_t *p, size_t left)
{
	static const uint8_t known[][2] = {
		{ 0xf8, 0x77 }, { 0xfc, 0x77 }, { 0xfd, 0xef }, { 0xfe, 0x6f },
	};

	for (size_t k = 0; left >= 3 && k < sizeof(known) / 2; k++)
		if (p[0] == 0xc5 && p[1] == known[k][0] && p[2] == known[k][1])
			return true;
	return false;
}

static void tcg_sanitize(uint8_t *p, const uint8_t *untrusted, size_t len)
{
	if (!C.tcg)
		return;
	for (size_t i = 0; i < len; i++) {
		if (untrusted && !untrusted[i]) {
			/* a fixed encoding: only make sure no lcall m follows */
			if (p[i] == 0xff && i + 1 < len && untrusted[i + 1] &&
			    ((p[i + 1] >> 3) & 7) == 3)
				p[i + 1] ^= 0x08;
			continue;
		}
		if (p[i] == 0xca || p[i] == 0xcb || p[i] == 0xcf || p[i] == 0x9a ||
		    p[i] == 0xff)
			p[i] = 0x90;
		if ((p[i] == 0xc4 || p[i] == 0xc5) && !vex_known(p + i, len - i))
			p[i] = 0x90;
	}
}

/* Fills the guest's code pages; returns the offset of an entry point. */
static uint64_t gen_code(struct rng *r, struct gslot *g, bool wild)
{
	uint8_t code[CODE_LEN], untrusted[CODE_LEN];
	struct em e = { code, code + CODE_LEN - 16, code, untrusted };
	uint64_t entries[32];
	int nent = 0, nblocks = 1 + below(r, 24);

	memset(code, 0xcc, sizeof(code));
	memset(untrusted, 0, sizeof(untrusted));
	if (chance(r, 10)) {
		for (size_t i = 0; i < sizeof(code); i++)
			code[i] = rnd(r);
		memset(untrusted, 1, sizeof(untrusted));
	}
	for (int i = 0; i < nblocks && e.p < e.end; i++) {
		uint64_t here = g->code_gva + (e.p - code);

		if (nent < 32)
			entries[nent++] = e.p - code;
		switch (below(r, 20)) {
		case 0: {
			int n = 1 + below(r, 16);
			while (n--)
				e8u(&e, rnd(r));
			break;
		}
		case 1: t_priv(&e, r); break;
		case 2: t_trap(&e, r); break;
		case 3:
		case 4:
		case 5: t_syscall(&e, r, g); break;
		case 6: t_far(&e, r, here); break;
		case 7: t_seg(&e, r); break;
		case 8: t_fsgs(&e, r); break;
		case 9: t_pkru(&e, r); break;
		case 10:
		case 11: t_fpu(&e, r); break;
		case 12:
			if (chance(r, 50))
				eb(&e, "\xeb\xfe", 2);		/* jmp . */
			else
				eb(&e, "\xf3\x90\xeb\xfc", 4);	/* pause loop */
			break;
		case 13: t_jump(&e, r, g); break;
		case 14: t_mem(&e, r, g); break;
		case 15: t_string(&e, r, g); break;
		case 16: t_flags(&e, r); break;
		case 17: t_stack(&e, r, g); break;
		default: t_stub(&e, r, g, wild); break;
		}
		if (chance(r, 50)) {
			/* a checkpoint: a reflected (or native) syscall */
			e8(&e, 0xb8);
			e32(&e, 2000 + i);
			eb(&e, "\x0f\x05", 2);
		}
	}
	eb(&e, "\xb8\xe7\x03\x00\x00\x0f\x05\x0f\x0b", 9);	/* syscall 999; ud2 */
	tcg_sanitize(code, untrusted, sizeof(code));
	memcpy(g->phys + PHYS_CODE, code, sizeof(code));
	return entries[below(r, nent)];
}

/* ---- operations ----------------------------------------------------------------- */

static void arm_timer(struct thr *t, long ns)
{
	struct itimerspec its = { .it_value.tv_nsec = ns };

	if (t->has_timer)
		timer_settime(t->timer, 0, &its, NULL);
}

static bool errno_ok(int e)
{
	switch (e) {
	case EINTR: case EBUSY: case EINVAL: case ENOENT: case EIO:
	case EBADF: case ENOTTY: case EFAULT: case EPERM: case ENOMEM:
	case ENOSPC: case EEXIST: case ENXIO: case EACCES: case E2BIG:
	case EOVERFLOW: case EAGAIN: case ENODEV: case EMFILE:
		return true;
	default:
		return false;
	}
}

static long fz_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long ret = ioctl(fd, cmd, arg);

	ADD(st->ioctls, 1);
	if (ret < 0 && !errno_ok(errno))
		odd("ioctl(%d, %#lx) failed with errno %d", fd, cmd, errno);
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

static void mon_save(struct mon_state *m)
{
	m->tp = (uint64_t)__builtin_thread_pointer();
	__asm__ volatile("mov %%fs, %0" : "=r"(m->fs));
	__asm__ volatile("mov %%gs, %0" : "=r"(m->gs));
	__asm__ volatile("stmxcsr %0" : "=m"(m->mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(m->fcw));
	m->pkru = 0;
	if (C.has_pku)
		__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(m->pkru) : "c"(0) : "rdx");
}

static void mon_check(const struct mon_state *b, uint64_t pat, uint64_t xmm8)
{
	struct mon_state a;

	mon_save(&a);
	if (xmm8 != pat)
		fail("monitor xmm8 %#llx after LOL_RUN, was %#llx",
		     (unsigned long long)xmm8, (unsigned long long)pat);
	if (a.tp != b->tp)
		fail("monitor FS base (thread pointer) %#llx after LOL_RUN, was %#llx",
		     (unsigned long long)a.tp, (unsigned long long)b->tp);
	if (a.fs != b->fs || a.gs != b->gs)
		fail("monitor fs/gs selectors %#x/%#x after LOL_RUN, were %#x/%#x",
		     a.fs, a.gs, b->fs, b->gs);
	if (a.mxcsr != b->mxcsr || a.fcw != b->fcw)
		fail("monitor MXCSR/FCW %#x/%#x after LOL_RUN, were %#x/%#x",
		     a.mxcsr, a.fcw, b->mxcsr, b->fcw);
	if (a.pkru != b->pkru)
		fail("monitor PKRU %#x after LOL_RUN, was %#x", a.pkru, b->pkru);
}

static void set_entry(struct rng *r, struct gslot *g, struct lol_run *run,
		      uint64_t entry)
{
	struct lol_regs *x = &run->regs;
	__u64 *gpr = &x->rax;

	for (int i = 0; i < 16; i++)
		gpr[i] = chance(r, 30) ? rval(r) : 0;
	x->rip = chance(r, 90) ? g->code_gva + entry : rval(r);
	x->rsp = chance(r, 90) ? g->stack_gva + 2 * PAGE - 8 * below(r, 32) : rval(r);
	x->rflags = 0x202;
	if (chance(r, 15))
		x->rflags |= rnd(r) & 0x254dd5;
	if (chance(r, 2))
		x->rflags = rnd(r);
	x->fs_base = chance(r, 70) ? 0 : (chance(r, 90) ? pick_gva(r, g) : rval(r));
	x->gs_base = chance(r, 70) ? 0 : (chance(r, 90) ? pick_gva(r, g) : rval(r));
	memset(x->reserved, 0, sizeof(x->reserved));
	if (chance(r, 2))
		x->reserved[below(r, 12)] = rnd(r);
	run->as_id = pick_as(r, g);
	run->flags = chance(r, 10) ? LOL_RUN_SINGLESTEP : 0;
	if (chance(r, 2))
		run->flags = rnd(r);
	run->immediate_exit = chance(r, 3);
	if (chance(r, 2))
		run->pad1 = 1;
	else
		run->pad1 = 0;
	if (chance(r, 2))
		run->reserved_in[below(r, 6)] = 1;
	else
		memset(run->reserved_in, 0, sizeof(run->reserved_in));
	memset(run->pad0, 0, sizeof(run->pad0));
}

static void map_fault(struct rng *r, struct gslot *g, uint32_t as, uint64_t addr)
{
	struct lol_as_op op = {
		.op = LOL_AS_MAP,
		.prot = 1 + below(r, 7),
		.addr = addr & ~(PAGE - 1),
		.size = PAGE,
		.phys = below(r, g->phys_size / PAGE) * PAGE,
	};
	struct lol_as_batch b = {
		.as_id = as, .nr_ops = 1, .ops = (uintptr_t)&op,
	};

	fz_ioctl(LD(g->fd), LOL_AS_OPS, (unsigned long)&b);
}

static void op_run(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct gslot *g = &C.g[v->g];
	struct lol_run *run = LD(v->run);
	int fd = LD(v->fd);
	int loops = 1 + below(r, 40);
	uint64_t entry = 0;

	if (chance(r, 70))
		entry = gen_code(r, g, C.wild);
	if (run && chance(r, 90))
		set_entry(r, g, run, entry);
	/* Wild: often let every guest syscall run on the host. */
	if (C.wild && chance(r, 30)) {
		struct lol_syscall_ranges *x = (void *)t->buf;

		memset(x, 0, sizeof(*x));
		x->flags = LOL_RANGES_GUEST;
		x->default_action = LOL_RANGE_NATIVE;
		fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
	}
	for (int k = 0; k < loops && !C.stop; k++) {
		struct mon_state ms;
		uint64_t pat = rnd(r), xmm8;
		long ret;

		arm_timer(t, 1000000 * (1 + below(r, chance(r, 80) ? 20 : 200)));
		trace_run(fd, g, run);
		mon_save(&ms);
		t->run_fd = fd;
		ret = run_xmm8(fd, pat, &xmm8);
		t->run_fd = -1;
		if (!C.wild)
			mon_check(&ms, pat, xmm8);
		arm_timer(t, 0);
		ADD(st->runs, 1);
		if (ret < 0) {
			if (ret == -EINTR)
				ADD(st->eintr, 1);
			else if (ret == -EBUSY)
				ADD(st->ebusy, 1);
			else
				ADD(st->run_err, 1);
			if (!errno_ok(-ret))
				odd("LOL_RUN returned %ld", ret);
			if (ret != -EINTR || chance(r, 50))
				break;
			continue;
		}
		if (!run)
			break;
		uint32_t why = LD(run->exit_reason);

		trace("exit %u rip %#llx", why, (unsigned long long)run->regs.rip);

		ADD(st->exits[why & 7], 1);
		if (why > LOL_EXIT_INTR || why == LOL_EXIT_NONE)
			odd("exit_reason %u", why);
		switch (why) {
		case LOL_EXIT_SYSCALL:
			if (chance(r, 5))
				run->regs.rip = g->code_gva + gen_code(r, g, C.wild);
			run->regs.rax = chance(r, 50) ? 0 : rval(r);
			break;
		case LOL_EXIT_FAULT:
			if (chance(r, 40))
				map_fault(r, g, run->as_id, run->fault.addr);
			else
				run->regs.rip = g->code_gva + gen_code(r, g, C.wild);
			break;
		case LOL_EXIT_TRAP:
			if (run->trap.vector == 1 && chance(r, 80))
				break;
			if (chance(r, 50))
				run->regs.rip += 1 + below(r, 4);
			else
				run->regs.rip = g->code_gva + gen_code(r, g, C.wild);
			break;
		default:
			break;
		}
		if (chance(r, 3))
			run->flags ^= LOL_RUN_SINGLESTEP;
		if (chance(r, 5))
			run->as_id = pick_as(r, g);
	}
}

/* A semi-valid argument for cmd in t->buf, or a bad pointer. */
static unsigned long make_arg(struct thr *t, unsigned long cmd)
{
	struct rng *r = &t->r;
	uint8_t *b = t->buf;
	struct gslot *g = &C.g[below(r, NGUEST)];

	if (chance(r, 8)) {
		static const unsigned long bad[] = {
			0, 1, 0xffffffffff600000UL, 0xffffffff81000000UL,
			0x800000000000UL, 0xdead000000000000UL,
		};
		return bad[below(r, 6)];
	}
	memset(b, 0, PAGE);
	switch (cmd) {
	case LOL_SET_PHYS_MEMORY: {
		struct lol_phys_memory *p = (void *)b;

		p->fd = chance(r, 70) ? LD(g->memfd) : pick_fd(r);
		p->size = chance(r, 70) ? (1 + below(r, g->phys_size / PAGE)) * PAGE : rval(r);
		break;
	}
	case LOL_AS_OPS: {
		struct lol_as_batch *p = (void *)b;
		struct lol_as_op *ops = (void *)(b + 64);
		unsigned int n = 1 + below(r, 60);

		p->as_id = pick_as(r, g);
		p->nr_ops = chance(r, 90) ? n : rval(r);
		p->ops = (uintptr_t)ops;
		for (unsigned int i = 0; i < n; i++) {
			ops[i].op = 1 + below(r, 3);
			ops[i].prot = below(r, 8);
			ops[i].addr = pick_gva(r, g) & ~(PAGE - 1);
			ops[i].size = (1 + below(r, 16)) * PAGE;
			ops[i].phys = ops[i].op == LOL_AS_MAP ? below(r, g->phys_size / PAGE) * PAGE : 0;
		}
		if (chance(r, 10))	/* ops run into the guard page */
			p->ops = (uintptr_t)(b + PAGE - 8 - 32 * below(r, 2));
		break;
	}
	case LOL_GET_FPU:
	case LOL_SET_FPU: {
		struct lol_fpu *p = (void *)b;

		p->addr = (uintptr_t)(b + (chance(r, 80) ? 0 : PAGE - 64));
		p->size = chance(r, 80) ? C.fpu_size : rval(r);
		break;
	}
	case LOL_SET_SYSCALL_RANGES: {
		struct lol_syscall_ranges *p = (void *)b;

		/*
		 * Safe cases: guest tables of REFLECT and PTRACE (and invalid
		 * actions); a monitor table or NATIVE would let the guest or
		 * the table break the monitor on purpose.
		 */
		static const uint32_t safe_act[] = {
			0, LOL_RANGE_REFLECT, LOL_RANGE_PTRACE, 5,
		};

		p->flags = C.wild ? below(r, 4) : below(r, 2);
		p->nr_ranges = below(r, 17);
		p->default_action = C.wild ? below(r, 6) : safe_act[below(r, 4)];
		for (unsigned int i = 0; i < p->nr_ranges; i++) {
			p->ranges[i].start = pick_gva(r, g);
			p->ranges[i].end = p->ranges[i].start + below(r, 1 << 16);
			p->ranges[i].action = C.wild ? below(r, 6) : safe_act[below(r, 4)];
			p->ranges[i].flags = below(r, 3);
		}
		/* No usable upcall: monitor + REFLECT is refused. */
		break;
	}
	case LOL_CREATE_AS:
		break;
	default:
		if (chance(r, 50))
			return rval(r);
		for (int i = 0; i < 256; i++)
			b[i] = rnd(r);
		break;
	}
	/* Flip a bit: reserved fields, flags, padding (not in safe tables). */
	if (chance(r, 30) && (C.wild || cmd != LOL_SET_SYSCALL_RANGES))
		b[below(r, 256)] ^= 1 << below(r, 8);
	return (unsigned long)b;
}

static const unsigned long all_cmds[] = {
	LOL_GET_API_VERSION, LOL_CHECK_EXTENSION, LOL_CREATE_GUEST,
	LOL_GET_VCPU_MMAP_SIZE, LOL_CREATE_VCPU, LOL_SET_PHYS_MEMORY,
	LOL_CREATE_AS, LOL_DESTROY_AS, LOL_AS_OPS, LOL_RUN, LOL_KICK,
	LOL_GET_FPU, LOL_SET_FPU, LOL_SET_SYSCALL_RANGES, LOL_RESUME,
};
#define NCMDS (sizeof(all_cmds) / sizeof(all_cmds[0]))

static void op_ioctl(struct thr *t)
{
	struct rng *r = &t->r;
	unsigned long cmd, arg;
	int fd = pick_fd(r);
	long ret;

	switch (below(r, 10)) {
	case 0:		/* a random command of the lol type */
		cmd = _IOC(below(r, 4), LOLIO, below(r, 256), below(r, 1 << 14));
		break;
	case 1:
		cmd = (uint32_t)rnd(r);
		break;
	default:
		cmd = all_cmds[below(r, NCMDS)];
		break;
	}
	/* Guests and vcpus made here are closed again (or kept in the pool). */
	if (cmd == LOL_RUN || cmd == LOL_RESUME) {
		arm_timer(t, 2000000);
		arg = chance(r, 90) ? 0 : rval(r);
	} else if (cmd == LOL_CREATE_VCPU) {
		arg = chance(r, 80) ? below(r, C.max_vcpus + 2) : rval(r);
	} else if (cmd == LOL_CHECK_EXTENSION || cmd == LOL_DESTROY_AS ||
		   cmd == LOL_CREATE_GUEST || cmd == LOL_KICK) {
		arg = chance(r, 70) ? below(r, 16) : rval(r);
	} else {
		arg = make_arg(t, cmd);
	}
	ret = fz_ioctl(fd, cmd, arg);
	arm_timer(t, 0);
	if (ret > 2 && (cmd == LOL_CREATE_GUEST || cmd == LOL_CREATE_VCPU)) {
		if (ret < POOL_FD_MAX && chance(r, 30)) {
			/* into the pool, replacing a slot's fd (the old stays open) */
			if (cmd == LOL_CREATE_GUEST)
				ST(C.g[below(r, NGUEST)].fd, (int)ret);
			else
				ST(C.v[below(r, NVCPU)].fd, (int)ret);
		} else {
			close(ret);
		}
	}
}

static void op_as(struct thr *t)
{
	struct rng *r = &t->r;
	struct gslot *g = &C.g[below(r, NGUEST)];
	struct lol_as_op *ops = (void *)t->buf;
	unsigned int n = 1 + below(r, chance(r, 90) ? 16 : 256);
	struct lol_as_batch b = { .as_id = pick_as(r, g), .nr_ops = n,
				  .ops = (uintptr_t)ops };

	if (chance(r, 15)) {
		struct lol_create_as ca = { 0 };

		if (chance(r, 5))
			ca.reserved[below(r, 3)] = 1;
		if (fz_ioctl(LD(g->fd), LOL_CREATE_AS, (unsigned long)&ca) == 0)
			ST(g->as[1 + below(r, NAS - 1)], ca.as_id);
		return;
	}
	if (chance(r, 8)) {
		fz_ioctl(LD(g->fd), LOL_DESTROY_AS, pick_as(r, g));
		return;
	}
	if (n * sizeof(*ops) > PAGE)
		n = PAGE / sizeof(*ops);
	b.nr_ops = n;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t size;

		switch (below(r, 4)) {
		case 0: size = PAGE; break;
		case 1: size = (1 + below(r, 64)) * PAGE; break;
		case 2: size = below(r, 1ULL << below(r, 48)) & ~(PAGE - 1); break;
		default: size = rval(r); break;
		}
		ops[i].op = chance(r, 95) ? 1 + below(r, 3) : rnd(r);
		ops[i].prot = chance(r, 95) ? below(r, 8) : rnd(r);
		ops[i].addr = chance(r, 90) ? pick_gva(r, g) & ~(PAGE - 1) : rval(r);
		if (chance(r, 10))
			ops[i].addr = 0;
		ops[i].size = size;
		ops[i].phys = 0;
		if (ops[i].op == LOL_AS_MAP) {
			ops[i].phys = below(r, g->phys_size / PAGE) * PAGE;
			if (chance(r, 50) && ops[i].phys + size > g->phys_size)
				ops[i].size = (g->phys_size - ops[i].phys) ? : PAGE;
			if (chance(r, 5))
				ops[i].phys = rval(r);
		}
		ops[i].reserved = chance(r, 2) ? rnd(r) : 0;
	}
	if (chance(r, 3))
		b.flags = rnd(r);
	if (chance(r, 3))
		b.reserved[0] = 1;
	ADD(st->asops, 1);
	fz_ioctl(LD(g->fd), LOL_AS_OPS, (unsigned long)&b);
}

static void op_mmap(struct thr *t)
{
	struct rng *r = &t->r;
	int i = below(r, NMAPS);

	if (t->maps[i]) {
		switch (below(r, 4)) {
		case 0:
			mprotect(t->maps[i], t->maplen[i], below(r, 8));
			return;
		case 1:
			madvise(t->maps[i], t->maplen[i], chance(r, 50) ? MADV_DONTNEED : MADV_WILLNEED);
			return;
		case 2: {
			void *p = mremap(t->maps[i], t->maplen[i], t->maplen[i] * 2, MREMAP_MAYMOVE);

			if (p != MAP_FAILED) {
				t->maps[i] = p;
				t->maplen[i] *= 2;
			}
			return;
		}
		default:
			munmap(t->maps[i], t->maplen[i]);
			t->maps[i] = NULL;
			return;
		}
	}
	size_t len = chance(r, 70) ? PAGE : (1 + below(r, 4)) * PAGE;
	int prot = chance(r, 70) ? PROT_READ | PROT_WRITE : below(r, 8);
	int flags = chance(r, 85) ? MAP_SHARED : MAP_PRIVATE;
	off_t off = chance(r, 85) ? 0 : (off_t)(below(r, 4) * PAGE);
	void *p = mmap(NULL, len, prot, flags, pick_fd(r), off);

	if (p == MAP_FAILED)
		return;
	t->maps[i] = p;
	t->maplen[i] = len;
	/* Touch what the protection allows: the run page is shared. */
	if (prot & PROT_READ)
		(void)*(volatile uint8_t *)p;
	if ((prot & PROT_WRITE) && (prot & PROT_READ) && chance(r, 50))
		((volatile uint8_t *)p)[below(r, 16)] = 0;
}

static void op_kick(struct thr *t)
{
	struct rng *r = &t->r;
	int n = chance(r, 20) ? 50 + below(r, 200) : 1;

	while (n-- && !C.stop) {
		fz_ioctl(LD(pick_vcpu(r)->fd), LOL_KICK, chance(r, 95) ? 0 : 1);
		ADD(st->kicks, 1);
	}
}

static void op_fpu(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct lol_fpu f = { .addr = (uintptr_t)t->buf, .size = C.fpu_size };

	if (C.fpu_size > PAGE)
		return;
	if (chance(r, 10))
		f.size = rval(r);
	if (chance(r, 3))
		f.flags = 1;
	if (chance(r, 5))
		f.addr = rval(r);
	if (chance(r, 40)) {
		fz_ioctl(LD(v->fd), LOL_GET_FPU, (unsigned long)&f);
		return;
	}
	if (fz_ioctl(LD(v->fd), LOL_GET_FPU, (unsigned long)&(struct lol_fpu){
			.addr = (uintptr_t)t->buf, .size = C.fpu_size }) == 0 &&
	    chance(r, 70)) {
		int flips = 1 + below(r, 4);

		while (flips--)
			t->buf[below(r, C.fpu_size)] ^= 1 << below(r, 8);
	} else {
		for (uint32_t i = 0; i < C.fpu_size; i++)
			t->buf[i] = chance(r, 10) ? rnd(r) : 0;
	}
	fz_ioctl(LD(v->fd), LOL_SET_FPU, (unsigned long)&f);
}

/* Guest-mode syscall range tables; NATIVE ranges only in wild cases. */
static void op_ranges(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct gslot *g = &C.g[v->g];
	struct lol_syscall_ranges *x = (void *)t->buf;
	uint32_t maxact = C.wild ? LOL_RANGE_KILL : LOL_RANGE_PTRACE;

	memset(x, 0, sizeof(*x));
	if (chance(r, 15)) {		/* remove */
		fz_ioctl(LD(v->fd), LOL_SET_SYSCALL_RANGES, (unsigned long)x);
		return;
	}
	x->flags = LOL_RANGES_GUEST;
	x->nr_ranges = below(r, LOL_MAX_SYSCALL_RANGES + 1);
	x->default_action = LOL_RANGE_REFLECT;
	if (chance(r, 50))
		x->default_action = (C.wild ? LOL_RANGE_NATIVE : LOL_RANGE_REFLECT) + below(r, 2);
	uint64_t at = g->code_gva;
	for (uint32_t i = 0; i < x->nr_ranges; i++) {
		struct lol_syscall_range *s = &x->ranges[i];

		at += below(r, 256);
		s->start = at;
		at += 1 + below(r, chance(r, 80) ? 256 : CODE_LEN);
		s->end = at;
		s->action = LOL_RANGE_REFLECT + below(r, maxact - LOL_RANGE_REFLECT + 1);
		if (C.wild && chance(r, 60))
			s->action = LOL_RANGE_NATIVE;
		/* KILL ends the worker thread: rare, and never in safe cases' only worker */
		if (s->action == LOL_RANGE_KILL && chance(r, 80))
			s->action = LOL_RANGE_REFLECT;
		s->flags = chance(r, 20) ? LOL_RANGE_ONESHOT : 0;
	}
	if (!C.wild && x->default_action == LOL_RANGE_KILL)
		x->default_action = LOL_RANGE_REFLECT;
	if (chance(r, 5)) {		/* invalid on purpose */
		switch (below(r, 5)) {
		case 0: x->pad = 1; break;
		case 1: x->reserved[below(r, 4)] = 1; break;
		case 2: x->nr_ranges = 17 + below(r, 100); break;
		case 3: x->ranges[0].end = x->ranges[0].start; break;
		default: x->flags |= 4; break;
		}
	}
	fz_ioctl(LD(v->fd), LOL_SET_SYSCALL_RANGES, (unsigned long)x);
}

static void op_fd(struct thr *t)
{
	struct rng *r = &t->r;
	int *slot;

	switch (below(r, 3)) {
	case 0: slot = &C.g[below(r, NGUEST)].fd; break;
	case 1: slot = &C.v[below(r, NVCPU)].fd; break;
	default: slot = &C.sys[below(r, NSYS)]; break;
	}
	int fd = LD(*slot);

	switch (below(r, 4)) {
	case 0:		/* close under the other threads */
		if (fd > 2 && fd < POOL_FD_MAX)
			close(fd);
		break;
	case 1: {	/* put another pool fd on that number */
		int src = pick_fd(r);

		if (fd > 2 && fd < POOL_FD_MAX && src > 2 && src < POOL_FD_MAX)
			dup2(src, fd);
		break;
	}
	default: {	/* a duplicate replaces the slot's fd */
		int d = fcntl(fd, F_DUPFD_CLOEXEC, 3 + below(r, 100));

		if (d >= POOL_FD_MAX)
			close(d);
		else if (d > 2)
			ST(*slot, d);
		break;
	}
	}
}

/* Keeps a private dup of every vcpu fd: the end of the case kicks them all. */
static void add_kick_fd(int fd)
{
	int i = ADD(C.nkick, 1);

	if (i < MAX_KICK_FDS)
		fcntl(fd, F_DUPFD_CLOEXEC, KICK_FD_BASE + i);
}

static int new_vcpu(struct rng *r, int g, int *fd, struct lol_run **run)
{
	*fd = ioctl(LD(C.g[g].fd), LOL_CREATE_VCPU, below(r, C.max_vcpus));
	if (*fd < 0)
		return -1;
	if (*fd >= POOL_FD_MAX) {
		close(*fd);
		return -1;
	}
	*run = mmap(NULL, C.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*run == MAP_FAILED)
		*run = NULL;
	add_kick_fd(*fd);
	return 0;
}

/* New vcpus and guests in place of old ones (the old run pages stay mapped). */
static void op_recreate(struct thr *t)
{
	struct rng *r = &t->r;

	if (ADD(C.nrecreate, 1) > 24)
		return;
	if (chance(r, 70)) {
		struct vslot *v = pick_vcpu(r);
		struct lol_run *run;
		int fd;

		if (new_vcpu(r, v->g, &fd, &run) == 0) {
			if (run)
				ST(v->run, run);
			ST(v->fd, fd);
		}
		return;
	}
	struct gslot *g = &C.g[below(r, NGUEST)];
	int fd = ioctl(LD(C.sys[below(r, NSYS)]), LOL_CREATE_GUEST, 0);
	struct lol_phys_memory pm = { .fd = LD(g->memfd), .size = g->phys_size };
	struct lol_create_as ca = { 0 };

	if (fd < 0)
		return;
	if (fd >= POOL_FD_MAX) {
		close(fd);
		return;
	}
	ioctl(fd, LOL_SET_PHYS_MEMORY, &pm);
	if (ioctl(fd, LOL_CREATE_AS, &ca) == 0)
		ST(g->as[0], ca.as_id);
	ST(g->fd, fd);
}

static void op_signal(struct thr *t)
{
	struct rng *r = &t->r;
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGALRM };
	/* SIGUSR1 stays unblocked: the end of the case relies on it. */
	static const int maskable[] = { SIGUSR2, SIGALRM, SIGPIPE };

	switch (below(r, 6)) {
	case 0:
	case 1: {
		int i = below(r, C.nthreads);
		pid_t tid = LD(C.t[i].tid);

		if (tid > 0 && !LD(C.t[i].done))
			syscall(SYS_tgkill, getpid(), tid, sigs[below(r, 3)]);
		break;
	}
	case 2: {
		struct itimerval it = {
			.it_value.tv_usec = 1 + below(r, 20000),
			.it_interval.tv_usec = chance(r, 50) ? 200 + below(r, 5000) : 0,
		};

		setitimer(ITIMER_REAL, &it, NULL);
		break;
	}
	case 3: {
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, maskable[below(r, 3)]);
		if (C.wild && chance(r, 50))
			sigaddset(&s, SIGSEGV);
		pthread_sigmask(chance(r, 50) ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
		break;
	}
	case 4:
		/* a group stop; the supervisor sends SIGCONT */
		if (chance(r, 30))
			kill(getpid(), SIGSTOP);
		break;
	default: {
		/* SIG_IGN for a sync signal: lol must keep it across a run */
		static const int sync[] = { SIGTRAP, SIGFPE, SIGBUS };

		if (C.wild)
			signal(sync[below(r, 3)], chance(r, 50) ? SIG_IGN : SIG_DFL);
		break;
	}
	}
}

static bool is_lol_fd(int fd, const char *kind)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return strstr(link, kind) != NULL;
}

/* A child of the monitor must not drive the parent's guests. */
static void op_fork(struct thr *t)
{
	struct rng *r = &t->r;
	pid_t pid;

	ADD(st->forks, 1);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < NVCPU; i++) {
			int fd = LD(C.v[i].fd);
			struct lol_run *run = LD(C.v[i].run);

			/* The run page is the parent's alone: not inherited. */
			if (run && (msync(run, PAGE, MS_ASYNC) != -1 ||
				    errno != ENOMEM))
				fail("forked child: the parent's run page is mapped");
			if (!is_lol_fd(fd, "lol-vcpu"))
				continue;
			if (ioctl(fd, LOL_KICK, 0) != -1 || errno != EIO)
				fail("forked child: LOL_KICK on the parent's vcpu gave %s",
				     strerror(errno));
			if (ioctl(fd, LOL_RUN, 0) != -1 || errno != EIO)
				fail("forked child: LOL_RUN on the parent's vcpu gave %s",
				     strerror(errno));
			void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);

			if (p != MAP_FAILED)
				fail("forked child: mmap of the parent's vcpu fd worked");
		}
		for (int i = 0; i < NGUEST; i++) {
			int fd = LD(C.g[i].fd);
			struct lol_create_as ca = { 0 };

			if (!is_lol_fd(fd, "lol-guest"))
				continue;
			if (ioctl(fd, LOL_CREATE_AS, &ca) != -1 || errno != EIO)
				fail("forked child: LOL_CREATE_AS on the parent's guest gave %s",
				     strerror(errno));
		}
		_exit(0);
	}
	if (pid < 0)
		return;
	for (int i = 0; i < 500; i++) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* It said FAIL (1), or crashed in a safe case (5). */
			if (WIFEXITED(status) && (WEXITSTATUS(status) == 1 ||
						  WEXITSTATUS(status) == 5))
				_exit(WEXITSTATUS(status));
			return;
		}
		usleep(10000);
		if (C.stop || chance(r, 1))
			kill(pid, SIGKILL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Scribble on a run page while others use it. */
static void op_scribble(struct thr *t)
{
	struct rng *r = &t->r;
	struct lol_run *run = LD(pick_vcpu(r)->run);

	if (!run)
		return;
	switch (below(r, 4)) {
	case 0:
		run->immediate_exit = !run->immediate_exit;
		break;
	case 1:
		run->as_id = (uint32_t)rval(r);
		break;
	case 2:
		(&run->regs.rax)[below(r, 20)] = rval(r);
		break;
	default:
		((uint8_t *)run)[below(r, C.run_size)] = rnd(r);
		break;
	}
}

static void *worker(void *arg);

/* A short-lived thread: runs a few operations and exits. */
static void op_thread(struct thr *t)
{
	pthread_t pt;
	struct thr *n;

	if (ADD(C.nextra_threads, 1) >= 8)
		return;
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->idx = -1;
	n->r.s = rnd(&t->r);
	if (pthread_create(&pt, NULL, worker, n) == 0)
		pthread_detach(pt);
	else
		free(n);
}

/* ---- wild-only operations ---------------------------------------------------- */

/*
 * Monitor-mode reflection upcall: runs the reflected syscall natively (the
 * table is disarmed during the upcall) and resumes.
 */
__attribute__((noreturn, used)) static void upcall_entry(void)
{
	struct lol_run *run = up_run;
	long nr, ret;

	if (!run) {
		raw6(SYS_exit, 0, 0, 0, 0, 0, 0);
		__builtin_unreachable();
	}
	ADD(st->upcalls, 1);
	nr = run->syscall.nr;
	switch (nr) {
	case SYS_rt_sigreturn:
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
		ret = -ENOSYS;
		break;
	default:
		ret = raw6(nr, run->syscall.args[0], run->syscall.args[1],
			   run->syscall.args[2], run->syscall.args[3],
			   run->syscall.args[4], run->syscall.args[5]);
		break;
	}
	run->regs.rax = ret;
	raw6(SYS_ioctl, up_fd, LOL_RESUME, 0, 0, 0, 0);
	raw6(SYS_exit, 0, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

static void op_monitor(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct lol_syscall_ranges *x = (void *)t->buf;
	int fd = LD(v->fd);

	memset(x, 0, sizeof(*x));
	if (chance(r, 20)) {
		fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
		return;
	}
	x->flags = LOL_RANGES_MONITOR | (chance(r, 30) ? LOL_RANGES_GUEST : 0);
	x->default_action = chance(r, 70) ? LOL_RANGE_NATIVE : LOL_RANGE_REFLECT;
	x->nr_ranges = below(r, 4);
	for (uint32_t i = 0; i < x->nr_ranges; i++) {
		uint64_t start = i * (USER_LIMIT / 4) + below(r, USER_LIMIT / 8);

		x->ranges[i].start = start;
		x->ranges[i].end = start + 1 + below(r, USER_LIMIT / 8);
		x->ranges[i].action = LOL_RANGE_REFLECT;
		if (chance(r, 10))
			x->ranges[i].action = LOL_RANGE_PTRACE + below(r, 2);
		x->ranges[i].flags = chance(r, 30) ? LOL_RANGE_ONESHOT : 0;
	}
	x->entry = (uintptr_t)upcall_entry;
	x->stack = ((uintptr_t)t->upstack + 65536) & ~15UL;
	up_fd = fd;
	up_run = LD(v->run);
	fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
	/* A few syscalls of our own through the table. */
	for (int i = below(r, 8); i > 0; i--)
		getppid();
}

static int wait_or_kill(pid_t pid, int ms)
{
	int status = 0;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG | __WALL) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	return status;
}

/* A tracer child pokes at one of our threads. */
static void op_ptrace(struct thr *t)
{
	struct rng *r = &t->r;
	int i = below(r, C.nthreads);
	pid_t tid = LD(C.t[i].tid), pid;
	uint64_t seed = rnd(r);

	if (tid <= 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct rng rr = { seed };
		struct user_regs_struct regs;
		int status;

		alarm(2);
		if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0)
			_exit(0);
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		for (int k = 0; k < 8; k++) {
			if (waitpid(tid, &status, __WALL) < 0)
				break;
			if (ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0 && chance(&rr, 30)) {
				switch (below(&rr, 5)) {
				case 0: regs.rip = rval(&rr); break;
				case 1: regs.cs = pick_sel(&rr); break;
				case 2: regs.eflags ^= 0x100; break;
				case 3: regs.rax = rval(&rr); break;
				default: regs.orig_rax = rval(&rr); break;
				}
				ptrace(PTRACE_SETREGS, tid, 0, &regs);
			}
			switch (below(&rr, 3)) {
			case 0: ptrace(PTRACE_SINGLESTEP, tid, 0, 0); break;
			case 1: ptrace(PTRACE_SYSCALL, tid, 0, 0); break;
			default: ptrace(PTRACE_CONT, tid, 0, 0); break;
			}
		}
		ptrace(PTRACE_DETACH, tid, 0, 0);
		_exit(0);
	}
	if (pid > 0)
		wait_or_kill(pid, 3000);
}

/* exec with sibling threads in guest mode, in a child process. */
static void *spin_guest(void *arg)
{
	int fd = (int)(intptr_t)arg;

	for (;;)
		ioctl(fd, LOL_RUN, 0);
	return NULL;
}

static void op_exec(struct thr *t)
{
	pid_t pid = fork();

	(void)t;
	if (pid == 0) {
		/* our own guest: the parent's fds answer -EIO here */
		int sys = LD(C.sys[0]);
		int g = ioctl(sys, LOL_CREATE_GUEST, 0);
		int memfd = memfd_create("lol-fuzz-exec", 0);
		struct lol_create_as ca = { 0 };
		pthread_t pt;

		if (g < 0 || memfd < 0 || ftruncate(memfd, PAGE))
			_exit(0);
		uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		struct lol_phys_memory pm = { .fd = memfd, .size = PAGE };
		struct lol_as_op op = { .op = LOL_AS_MAP, .prot = LOL_PROT_READ | LOL_PROT_EXEC,
					.addr = 0x400000, .size = PAGE };

		if (p == MAP_FAILED || ioctl(g, LOL_SET_PHYS_MEMORY, &pm) ||
		    ioctl(g, LOL_CREATE_AS, &ca))
			_exit(0);
		struct lol_as_batch b = { .as_id = ca.as_id, .nr_ops = 1, .ops = (uintptr_t)&op };

		p[0] = 0xeb;
		p[1] = 0xfe;		/* jmp . */
		ioctl(g, LOL_AS_OPS, &b);
		for (int i = 0; i < 2; i++) {
			int v = ioctl(g, LOL_CREATE_VCPU, i);
			struct lol_run *run;

			if (v < 0)
				_exit(0);
			run = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v, 0);
			if (run == MAP_FAILED)
				_exit(0);
			run->as_id = ca.as_id;
			run->regs.rip = 0x400000;
			run->regs.rflags = 0x202;
			pthread_create(&pt, NULL, spin_guest, (void *)(intptr_t)v);
		}
		usleep(1000 * (1 + (getpid() % 20)));
		execl("/proc/self/exe", "lol-fuzz", "--exec-noop", (char *)NULL);
		_exit(0);
	}
	if (pid > 0)
		wait_or_kill(pid, 5000);
}

/* ---- workers and the case ------------------------------------------------------- */

static const struct op {
	const char *name;
	void (*fn)(struct thr *t);
	unsigned int weight;
	bool wild_only;
} ops[] = {
	{ "run", op_run, 32, false },
	{ "ioctl", op_ioctl, 14, false },
	{ "as", op_as, 10, false },
	{ "mmap", op_mmap, 5, false },
	{ "kick", op_kick, 6, false },
	{ "fpu", op_fpu, 4, false },
	{ "ranges", op_ranges, 5, false },
	{ "fd", op_fd, 3, false },
	{ "recreate", op_recreate, 2, false },
	{ "signal", op_signal, 4, false },
	{ "fork", op_fork, 1, false },
	{ "scribble", op_scribble, 3, false },
	{ "thread", op_thread, 1, false },
	{ "monitor", op_monitor, 3, true },
	{ "ptrace", op_ptrace, 1, true },
	{ "exec", op_exec, 1, true },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void on_signal(int sig)
{
	(void)sig;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	char buf[200];
	int n;

	if (C.wild)
		_exit(7);
	n = snprintf(buf, sizeof(buf),
		     "lol-fuzz: FAIL case %ld (safe): monitor got signal %d (code %d, addr %p) at rip %#llx\n",
		     C.idx, sig, si->si_code, si->si_addr,
		     (unsigned long long)u->uc_mcontext.gregs[REG_RIP]);
	if (write(2, buf, n) < 0) {
		/* nothing to do */
	}
	_exit(5);
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	(void)sig;
	(void)si;
	u->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

static void *worker(void *arg)
{
	struct thr *t = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGUSR2 };
	unsigned int total = 0;

	t->run_fd = -1;
	t->tid = gettid();
	t->tp = (uint64_t)__builtin_thread_pointer();
	sev._sigev_un._tid = t->tid;
	t->has_timer = timer_create(CLOCK_MONOTONIC, &sev, &t->timer) == 0;
	t->buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t->upstack = mmap(NULL, 65536 + PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->buf == MAP_FAILED || t->upstack == MAP_FAILED)
		goto out;
	mprotect(t->buf + PAGE, PAGE, PROT_NONE);
	for (size_t i = 0; i < NOPS; i++)
		if (C.wild || !ops[i].wild_only)
			total += ops[i].weight;
	for (int n = 0; !C.stop; n++) {
		unsigned int w = below(&t->r, total);
		size_t i;

		for (i = 0; i < NOPS; i++) {
			if (!C.wild && ops[i].wild_only)
				continue;
			if (w < ops[i].weight)
				break;
			w -= ops[i].weight;
		}
		if (i == NOPS)
			i = 0;
		t->op = ops[i].name;
		trace("t%d op %s", t->idx, ops[i].name);
		ops[i].fn(t);
		ADD(st->ops, 1);
		/* short-lived extra threads */
		if (t->idx < 0 && n > 20)
			break;
	}
out:
	t->op = "done";
	if (t->has_timer)
		timer_delete(t->timer);
	ST(t->done, true);
	return NULL;
}

static int setup_case(struct rng *r)
{
	for (int i = 0; i < NSYS; i++) {
		C.sys[i] = open("/dev/lol", O_RDWR | O_CLOEXEC);
		if (C.sys[i] < 0) {
			say("cannot open /dev/lol: %s", strerror(errno));
			return -1;
		}
	}
	if (ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_RUN) <= 0) {
		say("LOL_CAP_RUN is 0: the run loop is unavailable");
		return -1;
	}
	C.fpu_size = ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_FPU);
	C.max_vcpus = ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_MAX_VCPUS);
	C.run_size = ioctl(C.sys[0], LOL_GET_VCPU_MMAP_SIZE, 0);
	if (C.max_vcpus < 2 || C.run_size < sizeof(struct lol_run)) {
		say("odd capabilities: max_vcpus %ld, run size %zu", C.max_vcpus, C.run_size);
		return -1;
	}
	for (int i = 0; i < NGUEST; i++) {
		struct gslot *g = &C.g[i];
		static const uint64_t code_at[] = {
			0x400000, 0x1000, 0x7ffffffd0000ULL, 0x10000000,
		};
		struct lol_phys_memory pm = { 0 };

		g->fd = ioctl(C.sys[i % NSYS], LOL_CREATE_GUEST, 0);
		g->memfd = memfd_create("lol-fuzz", MFD_CLOEXEC);
		if (g->fd < 0 || g->memfd < 0) {
			say("cannot create guest %d: %s", i, strerror(errno));
			return -1;
		}
		g->phys_size = PHYS_MIN + below(r, 56) * PAGE;
		if (chance(r, 5))
			g->phys_size = 256UL << 20;	/* sparse */
		if (ftruncate(g->memfd, g->phys_size))
			return -1;
		g->phys = mmap(NULL, g->phys_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, g->memfd, 0);
		if (g->phys == MAP_FAILED)
			return -1;
		pm.fd = g->memfd;
		pm.size = g->phys_size;
		if (ioctl(g->fd, LOL_SET_PHYS_MEMORY, &pm))
			return -1;
		g->code_gva = chance(r, 80) ? code_at[below(r, 4)]
					   : below(r, USER_LIMIT / PAGE - 8) * PAGE;
		g->data_gva = g->code_gva + 0x100000;
		if (g->data_gva + 0x200000 > USER_LIMIT)
			g->data_gva = 0x600000;
		g->stack_gva = g->data_gva + 0x100000;
		for (int a = 0; a < 3; a++) {
			struct lol_create_as ca = { 0 };
			struct lol_as_op op[3] = {
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_EXEC, g->code_gva, CODE_LEN, PHYS_CODE, 0 },
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_WRITE, g->data_gva, 2 * PAGE, PHYS_DATA, 0 },
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_WRITE, g->stack_gva, 2 * PAGE, PHYS_STACK, 0 },
			};
			struct lol_as_batch b = { .nr_ops = 3, .ops = (uintptr_t)op };

			if (ioctl(g->fd, LOL_CREATE_AS, &ca))
				return -1;
			g->as[a] = ca.as_id;
			b.as_id = ca.as_id;
			if (ioctl(g->fd, LOL_AS_OPS, &b))
				say("setup AS ops: %s", strerror(errno));
		}
		for (uint64_t k = 0; k < PHYS_MIN; k++)
			g->phys[k] = rnd(r);
		tcg_sanitize(g->phys, NULL, PHYS_MIN);
	}
	for (int i = 0; i < NVCPU; i++) {
		struct vslot *v = &C.v[i];

		v->g = i % NGUEST;
		v->fd = ioctl(C.g[v->g].fd, LOL_CREATE_VCPU, i / NGUEST);
		if (v->fd < 0)
			return -1;
		v->run = mmap(NULL, C.run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			return -1;
		/* for kicking at the end, whatever the pool did */
		add_kick_fd(v->fd);
	}
	return 0;
}

static void drop_privileges(void)
{
	if (getuid() != 0)
		return;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		say("cannot drop privileges: %s", strerror(errno));
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
}

/* The case child: never returns. */
static void run_case(uint64_t seed, bool wild, int nthreads, int budget_ms)
{
	struct rng r = { seed };
	struct sigaction sa = { 0 };
	double t0, end;
	int kick_fds = 0;
	bool stuck = false;

	C.seed = seed;
	C.wild = wild;
	C.nthreads = nthreads;
	{
		unsigned int a, b, c, d;

		C.has_pku = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1 << 4));
		C.tcg = o.tcg > 0;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = chance(&r, 50) ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sa.sa_sigaction = on_sigsys;
	sigaction(SIGSYS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup_case(&r))
		_exit(2);
	drop_privileges();

	for (int i = 0; i < nthreads; i++) {
		C.t[i].idx = i;
		C.t[i].r.s = mix(seed, 1000 + i);
		if (pthread_create(&C.t[i].pt, NULL, worker, &C.t[i]))
			_exit(2);
	}
	/* Signals (setitimer, tgkill) cut sleeps short: sleep to a deadline. */
	end = now() + budget_ms / 1000.0;
	while (now() < end)
		usleep(10000);
	C.stop = 1;
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);

	/* Get every worker out: kicks and signals until they are all done. */
	t0 = now();
	end = t0 + 20;
	while (now() < end) {
		bool all = true;

		for (int i = 0; i < nthreads; i++) {
			if (LD(C.t[i].done))
				continue;
			all = false;
			syscall(SYS_tgkill, getpid(), C.t[i].tid, SIGUSR1);
		}
		if (all)
			break;
		for (int i = 0; i < LD(C.nkick) && i < MAX_KICK_FDS; i++)
			if (ioctl(KICK_FD_BASE + i, LOL_KICK, 0) == 0)
				kick_fds++;
		for (int i = 0; i < nthreads; i++) {
			int fd = C.t[i].run_fd;

			if (fd >= 0 && !LD(C.t[i].done))
				ioctl(fd, LOL_KICK, 0);
		}
		usleep(20000);
	}
	for (int i = 0; i < nthreads; i++) {
		if (LD(C.t[i].done))
			continue;
		/* A thread killed by a KILL range never sets done: gone from /proc. */
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/task/%d", C.t[i].tid);
		if (access(path, F_OK))
			continue;
		int fd = C.t[i].run_fd;

		say("STUCK case %ld (%s): worker %d (tid %d) in op %s for %.0f s after the end of the case%s",
		    C.idx, wild ? "wild" : "safe", i, C.t[i].tid,
		    C.t[i].op ? C.t[i].op : "?", now() - t0,
		    fd >= 0 ? ", inside LOL_RUN" : "");
		if (fd >= 0)
			say("STUCK   LOL_RUN on fd %d (%s), kicked on it and signalled with SIGUSR1 every 20 ms",
			    fd, is_lol_fd(fd, "lol-vcpu") ? "a vcpu" : "not a vcpu now");
		stuck = true;
	}
	if (stuck) {
		/* The supervisor dumps our kernel stacks, then kills us. */
		for (;;)
			pause();
	}
	if (o.verbose)
		say("case %ld done (%.2f s to stop, %d kicks)", C.idx, now() - t0, kick_fds);
	_exit(0);
}

/* ---- the supervisor -------------------------------------------------------------- */

static void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (kmsg_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(kmsg_fd, buf, n) < 0) {
		/* rate limited or not root */
	}
}

static unsigned long read_taint(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Prints the kernel stacks of pid's tasks; true if lol's code is on one. */
static bool dump_task_stacks(pid_t pid)
{
	char path[300], line[256];
	struct dirent *de;
	bool lol = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
		line[0] = 0;
		f = fopen(path, "r");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = 0;
			fclose(f);
		}
		line[strcspn(line, "\n")] = 0;
		printf("lol-fuzz:   task %s: %.80s\n", de->d_name, line);
		/* A tracer (a guest's NATIVE ptrace) explains many a zombie. */
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, de->d_name);
		f = fopen(path, "r");
		if (f) {
			while (fgets(line, sizeof(line), f))
				if (!strncmp(line, "TracerPid:", 10) &&
				    atoi(line + 10))
					printf("lol-fuzz:     %s", line);
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			printf("lol-fuzz:     %s", line);
			if (strstr(line, "[lol]") || strstr(line, " lol_"))
				lol = true;
		}
		fclose(f);
	}
	closedir(d);
	fflush(stdout);
	return lol;
}

/*
 * Reaps what has ended among our children and tracees; true once the case
 * process pid has. A wild case's NATIVE PTRACE_TRACEME makes us the
 * tracer of one of its threads: that thread then waits for us when it
 * stops (we detach it, passing its signal on) and when it dies (its
 * zombie holds the whole case's exit until reaped with __WALL).
 */
static bool reap_case(pid_t pid, int *status)
{
	int st;
	pid_t w;

	while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		if (WIFSTOPPED(st)) {
			if (o.verbose)
				printf("lol-fuzz: task %d stopped under our trace (signal %d): detached\n",
				       w, WSTOPSIG(st));
			ptrace(PTRACE_DETACH, w, 0,
			       WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
			continue;
		}
		if (w == pid) {
			*status = st;
			return true;
		}
	}
	return false;
}

/* Our children (subreaper: orphans of cases land here too). */
static void kill_strays(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t me = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		int ppid = 0;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %d", &ppid);
		fclose(f);
		if (ppid == me)
			kill(atoi(de->d_name), SIGKILL);
	}
	closedir(d);
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

/*
 * Forwards the lines of a case that are ours (guest code may write
 * anything to the case's stdout); returns what read() returned.
 */
static ssize_t forward(int fd, char *acc, size_t *len, bool *stuck,
		       bool *said_fail)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (*len < 1023)
			acc[(*len)++] = buf[i];
		if (buf[i] != '\n')
			continue;
		acc[*len] = 0;
		if (!strncmp(acc, "lol-fuzz: ", 10)) {
			fputs(acc, stdout);
			if (strstr(acc, "STUCK"))
				*stuck = true;
			if (!strncmp(acc, "lol-fuzz: FAIL", 14))
				*said_fail = true;
		}
		*len = 0;
	}
	fflush(stdout);
	return n;
}

static int failures;

static void failed(long idx, uint64_t cseed, bool wild, const char *what)
{
	failures++;
	printf("lol-fuzz: FAIL case %ld (%s, case seed %#llx): %s\n", idx,
	       wild ? "wild" : "safe", (unsigned long long)cseed, what);
	printf("lol-fuzz: reproduce: lol-fuzz --seed %#llx --case %ld\n",
	       (unsigned long long)o.seed, idx);
	fflush(stdout);
}

/*
 * Runs case idx; returns false when the run must stop. The case gets its
 * budget plus LATE_S seconds to end; then (or as soon as it says STUCK)
 * its kernel stacks are printed and it is SIGKILLed, and it must be gone
 * DEATH_S seconds later.
 */
#define LATE_S	60
#define DEATH_S	30

static bool supervise(long idx, unsigned long *taint)
{
	uint64_t cseed = mix(o.seed, idx);
	struct rng r = { cseed };
	bool wild = chance(&r, o.wild_pct);
	int nthreads = 1 + below(&r, o.threads);
	int budget = 150 + below(&r, 1350);
	int kill_at = chance(&r, o.kill_pct) ? (int)below(&r, budget) : -1;
	double t0 = now(), last_cont = 0, killed_at = -1;
	bool stuck = false, late = false, in_lol = false, said_fail = false;
	int pipefd[2], status = 0;
	char acc[1024];
	size_t len = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return false;
	kmsg("<6>lol-fuzz: case %ld seed %#llx %s threads %d\n", idx,
	     (unsigned long long)cseed, wild ? "wild" : "safe", nthreads);
	if (o.verbose)
		printf("lol-fuzz: case %ld seed %#llx %s, %d thread(s), %d ms%s\n",
		       idx, (unsigned long long)cseed, wild ? "wild" : "safe",
		       nthreads, budget, kill_at >= 0 ? ", SIGKILL" : "");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (null > 2)
			close(null);
		C.idx = idx;
		run_case(mix(cseed, 7), wild, nthreads, budget);
	}
	setpgid(pid, pid);
	close(pipefd[1]);

	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		double t;

		if (poll(&pfd, 1, 20) > 0)
			forward(pipefd[0], acc, &len, &stuck, &said_fail);
		if (reap_case(pid, &status))
			break;
		t = now() - t0;
		if (t - last_cont > 0.1) {
			kill(-pid, SIGCONT);
			last_cont = t;
		}
		if (kill_at >= 0 && killed_at < 0 && t * 1000 >= kill_at) {
			kill(-pid, SIGKILL);
			killed_at = t;
		}
		if (!late && (stuck || t > budget / 1000.0 + LATE_S)) {
			printf("lol-fuzz: case %ld %s after %.0f s; kernel stacks:\n",
			       idx, stuck ? "is stuck" : "did not end", t);
			in_lol = dump_task_stacks(pid);
			late = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed_at = t;
		}
		if (killed_at >= 0 && t > killed_at + DEATH_S) {
			printf("lol-fuzz: case %ld: SIGKILLed %.0f s ago and still there:\n",
			       idx, t - killed_at);
			dump_task_stacks(pid);
			failed(idx, cseed, wild, "the case process survives SIGKILL (unkillable task)");
			return false;
		}
	}
	/* The case is gone; its children may still hold the pipe. */
	while (poll(&(struct pollfd){ pipefd[0], POLLIN, 0 }, 1, 0) > 0 &&
	       forward(pipefd[0], acc, &len, &stuck, &said_fail) > 0)
		;
	close(pipefd[0]);
	kill(-pid, SIGKILL);
	kill_strays();

	if (o.verbose && !late)
		printf("lol-fuzz: case %ld ended: %s %d%s\n", idx,
		       WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		       said_fail ? ", after a FAIL line" : "");
	if (late) {
		/*
		 * Wild cases may block themselves (a NATIVE guest syscall can
		 * do anything to the thread); only lol's code on a stuck
		 * task's kernel stack counts there.
		 */
		if (!wild || in_lol)
			failed(idx, cseed, wild, stuck ?
			       "a worker never left the kernel (see STUCK and the stacks above)" :
			       "the case did not end in time (see the stacks above)");
	} else if (WIFEXITED(status) && wild && !said_fail) {
		/*
		 * A wild guest's NATIVE exit_group() ends the case with any
		 * status it likes: only a FAIL line from the case counts.
		 */
	} else if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case 0:
			break;
		case 1:
			failed(idx, cseed, wild, "the monitor saw broken state (see FAIL above)");
			break;
		case 2:
			printf("lol-fuzz: case setup failed (module loaded? root?)\n");
			failures++;
			return false;
		case 5:
			failed(idx, cseed, wild, "the monitor crashed (see FAIL above)");
			break;
		default:
			if (!wild)
				failed(idx, cseed, wild, "unexpected exit status");
			break;
		}
	} else if (WIFSIGNALED(status) && !wild && WTERMSIG(status) != SIGKILL) {
		char what[64];

		snprintf(what, sizeof(what), "the monitor died of signal %d",
			 WTERMSIG(status));
		failed(idx, cseed, wild, what);
	}

	unsigned long nt = read_taint();

	if ((nt & ~(*taint | 4096UL | 8192UL)) != 0) {
		char what[80];

		snprintf(what, sizeof(what), "kernel taint %lu -> %lu (see the kernel log)",
			 *taint, nt);
		failed(idx, cseed, wild, what);
		*taint = nt;
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: lol-fuzz [--seed N] [--seconds N] [--threads N] [--case N]\n"
"                [--cases N] [--wild PCT] [--kill PCT] [--no-nested]\n"
"                [--tcg 0|1|auto] [--trace]\n"
"                [--verbose] [--help]\n"
"\n"
"Fuzzes /dev/lol (load lol.ko first; run as root) for --seconds (default\n"
"60) in cases of up to --threads (default 3) worker threads, each case in\n"
"its own process. Prints the seed first; a failure prints FAIL and the\n"
"command that replays its case. Exit status 0 when nothing failed. The\n"
"kernel log is the other half of the verdict: run it under make fuzz or\n"
"make check-debug, or read dmesg afterwards.\n"
"\n"
"  --seed N      run seed (default: from the clock); 0x... accepted\n"
"  --case N      run only case N of the seed (replay)\n"
"  --cases N     stop after N cases\n"
"  --wild PCT    share of wild cases (NATIVE syscalls, monitor mode,\n"
"                ptrace, exec), default 30\n"
"  --kill PCT    share of cases SIGKILLed at a random moment, default 15\n"
"  --no-nested   leave out the guest stub that calls lol from the guest\n"
"  --tcg 0|1|auto  avoid user-mode lret/iret/lcall, which oops any kernel\n"
"                under QEMU 7.2 TCG with SMAP (auto: cpuid says TCG)\n"
"  --verbose     a line per case, odd errnos and exit reasons\n"
"  --trace       also each operation, and each LOL_RUN's registers and\n"
"                code bytes, into the kernel log (for replaying a case)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'c' },
		{ "cases", required_argument, NULL, 'n' },
		{ "wild", required_argument, NULL, 'w' },
		{ "kill", required_argument, NULL, 'k' },
		{ "no-nested", no_argument, NULL, 'N' },
		{ "tcg", required_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "trace", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "exec-noop", no_argument, NULL, 'x' },
		{ 0 }
	};
	bool have_seed = false;
	unsigned long taint;
	double t0, last;
	long idx = 0;
	int c;

	while ((c = getopt_long(argc, argv, "s:t:j:c:n:w:k:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 's': o.seed = strtoull(optarg, NULL, 0); have_seed = true; break;
		case 't': o.seconds = atoi(optarg); break;
		case 'j': o.threads = atoi(optarg); break;
		case 'c': o.one_case = strtol(optarg, NULL, 0); break;
		case 'n': o.max_cases = strtol(optarg, NULL, 0); break;
		case 'w': o.wild_pct = atoi(optarg); break;
		case 'k': o.kill_pct = atoi(optarg); break;
		case 'N': o.no_nested = true; break;
		case 'G': o.tcg = !strcmp(optarg, "auto") ? -1 : atoi(optarg) != 0; break;
		case 'v': o.verbose = o.verbose > 1 ? o.verbose : 1; break;
		case 'T': o.verbose = 2; break;
		case 'x': return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || o.threads < 1 || o.threads > MAXTHR || o.seconds < 0) {
		usage(stderr);
		return 2;
	}
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.seed = mix(ts.tv_sec, ts.tv_nsec ^ getpid());
	}
	if (o.tcg < 0) {
		unsigned int a, b, c, d;
		char sig[13] = { 0 };

		__cpuid(0x40000000, a, b, c, d);
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		o.tcg = !strcmp(sig, "TCGTCGTCGTCG");
		(void)a;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("lol-fuzz: seed=%#llx seconds=%d threads=%d wild=%d%% kill=%d%%%s%s\n",
	       (unsigned long long)o.seed, o.seconds, o.threads, o.wild_pct,
	       o.kill_pct, o.tcg ? " tcg" : "",
	       o.one_case >= 0 ? " (one case)" : "");

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return 2;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	/* Case markers into the kernel log, without /dev/kmsg's rate limit. */
	{
		int f = open("/proc/sys/kernel/printk_devkmsg", O_WRONLY);

		if (f >= 0) {
			if (write(f, "on\n", 3) < 0) {
				/* not root */
			}
			close(f);
		}
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	}
	/*
	 * Wild cases may reset the monitor's SIGSEGV handler (a NATIVE guest
	 * rt_sigaction), and then every guest #GP prints "traps: ...
	 * general protection fault ip:..." -- user-space noise that log
	 * checkers take for a kernel GPF. Quiet it for the run.
	 */
	char etrace[16] = "";
	{
		int f = open("/proc/sys/debug/exception-trace", O_RDWR);

		if (f >= 0) {
			ssize_t n = read(f, etrace, sizeof(etrace) - 1);

			etrace[n > 0 ? n : 0] = 0;
			if (pwrite(f, "0\n", 2, 0) < 0)
				etrace[0] = 0;
			close(f);
		}
	}
	taint = read_taint();
	t0 = last = now();
	kmsg("<6>lol-fuzz: seed %#llx\n", (unsigned long long)o.seed);

	if (o.one_case >= 0) {
		supervise(o.one_case, &taint);
		idx = 1;
	} else {
		while (now() - t0 < o.seconds && (o.max_cases < 0 || idx < o.max_cases)) {
			if (!supervise(idx++, &taint))
				break;
			if (now() - last >= 10) {
				last = now();
				printf("lol-fuzz: %.0f s, %ld cases, %lu ops, %lu runs, %lu ioctls\n",
				       last - t0, idx, st->ops, st->runs, st->ioctls);
			}
		}
	}
	printf("lol-fuzz: %ld case(s) in %.0f s: %lu ops, %lu ioctls, %lu runs "
	       "(exits: syscall %lu, fault %lu, trap %lu, kick %lu, intr %lu; "
	       "EINTR %lu, EBUSY %lu, other errors %lu), %lu AS batches, "
	       "%lu kicks, %lu forks, %lu upcalls, %lu odd\n",
	       idx, now() - t0, st->ops, st->ioctls, st->runs,
	       st->exits[LOL_EXIT_SYSCALL], st->exits[LOL_EXIT_FAULT],
	       st->exits[LOL_EXIT_TRAP], st->exits[LOL_EXIT_KICK],
	       st->exits[LOL_EXIT_INTR], st->eintr, st->ebusy, st->run_err,
	       st->asops, st->kicks, st->forks, st->upcalls, st->odd);
	kmsg("<6>lol-fuzz: done, %d failure(s)\n", failures);
	if (etrace[0]) {
		int f = open("/proc/sys/debug/exception-trace", O_WRONLY);

		if (f >= 0) {
			if (write(f, etrace, strlen(etrace)) < 0) {
				/* leave it */
			}
			close(f);
		}
	}
	printf("lol-fuzz: %s: seed=%#llx, %d failure(s)\n",
	       failures ? "FAIL" : "ok", (unsigned long long)o.seed, failures);
	return failures ? 1 : 0;
}
