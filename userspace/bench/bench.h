/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol-bench: shared declarations.
 *
 * A benchmark is a struct bench (registry.c lists them in table order).
 * The core (core.c) runs each one in a forked child process, so that a
 * seccomp filter, a SUD selector or a crash stays inside that child:
 *
 *	setup(st)            once; may fork peers, install filters, ...
 *	run(st, iters)       performs exactly @iters operations, untimed
 *	                     inside: the core reads the clock around it
 *	teardown(st)         once; best effort (the child exits anyway)
 *
 * setup/run return 0 or a negative errno.  A non-zero return makes the
 * row "n/a (reason)": the reason is st->why when the callback filled it
 * (use bench_fail()), strerror() otherwise, and "not yet implemented"
 * for -ENOSYS without a reason.  Nothing is ever invented.
 */
#ifndef LOL_BENCH_H
#define LOL_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

/* Value every emulated getpid returns; checked by the looping code. */
#define BENCH_MAGIC_RET	0x10151015L

/*
 * bench_lol.c's guest code, which bench_lol_scale.c runs too: getpid in a
 * loop, the monitor's answer checked like the baselines'.
 */
extern const unsigned char lb_getpid_loop_start[]
	__attribute__((visibility("hidden")));
extern const unsigned char lb_getpid_loop_end[]
	__attribute__((visibility("hidden")));

#define BENCH_MAX_RUNS	100

enum bench_group {
	BG_SYSCALL,	/* guest-syscall round trip */
	BG_FAULT,	/* guest page-fault round trip */
	BG_ASSWITCH,	/* address-space switch */
	BG_HOSTTAX,	/* cost imposed on an unrelated process */
	BG_SEED,	/* the seed's lmbench-style host table */
	BG_NR
};

enum bench_unit {
	BU_NS,		/* latency: ns per operation, lower is better */
	BU_MBS,		/* throughput: MB/s (2^20 bytes), higher is better */
};

struct bench_state;

struct bench {
	const char *id;		/* stable key: --filter, JSON, goals */
	const char *mech;	/* mechanism column */
	const char *op;		/* operation column */
	enum bench_group group;
	enum bench_unit unit;
	clockid_t clock;	/* clock read around run() */
	int (*setup)(struct bench_state *st);
	int (*run)(struct bench_state *st, uint64_t iters);
	void (*teardown)(struct bench_state *st);
};

/* Per-benchmark state, lives in the benchmark's child process only. */
struct bench_state {
	const struct bench *b;
	void *priv;		/* the benchmark's own data */
	int cpu;		/* CPU this process is pinned to, -1: none */
	int other_cpu;		/* another allowed CPU, -1: none */
	int quick;		/* --quick: smaller setup-time measurements */
	uint64_t op_bytes;	/* BU_MBS: bytes moved per operation */
	unsigned int ops_per_iter; /* ops one run() iteration counts as */
	double overhead_ns;	/* subtracted from every per-op figure */
	double untimed_ns;	/* run()'s own untimed work: bench_untimed() */
	char why[160];		/* failure reason (bench_fail) */
	char note[160];		/* shown under the table and in JSON */
};

/* Options shared by main and the core. */
struct bench_opts {
	unsigned int runs;	/* measured runs per benchmark */
	uint64_t iters;		/* iterations per run, 0: calibrate */
	double run_ns;		/* calibration target for one run */
	double warmup_ns;	/* warm-up time before the runs */
	int quick;
	int timeout_s;		/* per benchmark, whole child */
	int cpu;		/* CPU to pin to, -1: none available */
	int other_cpu;
	const char *profile;	/* --profile: bench id to mark for the profiler */
};

/*
 * --profile: the measured runs of one benchmark are bracketed by calls to
 * these two pages (a "ret" each), at fixed guest-virtual addresses the
 * QEMU instruction profiler (scripts/qemu/insnprof.c) watches for.
 */
#define BENCH_PROF_ON	0x7e570000UL
#define BENCH_PROF_OFF	0x7e571000UL

/* Outcome of one benchmark, filled by the core in the parent. */
struct bench_result {
	const struct bench *b;
	int ok;			/* 1: measured, 0: n/a */
	char reason[160];	/* n/a reason */
	char note[160];
	int cpu;
	unsigned int runs;
	uint64_t iters;		/* per run */
	double per_op[BENCH_MAX_RUNS];	/* ns per op, one per run */
	double min, median, max;	/* ns per op */
	uint64_t op_bytes;	/* BU_MBS: bytes per op */
	double wall_s;		/* wall time the whole benchmark took */
};

/* registry.c */
extern const struct bench *const bench_registry[];
extern const size_t bench_registry_len;
#define BENCH_REF_ID	"native-getpid"	/* the ratio column's reference */

struct bench_goal {
	const char *id;
	const char *text;
	const char *subject;	/* bench id measured */
	const char *ref[2];	/* reference bench ids (ref[1] may be NULL) */
	enum { GOAL_RATIO_LE, GOAL_SPEEDUP_GE, GOAL_TAX_LE } kind;
	double target;
};
extern const struct bench_goal bench_goals[];
extern const size_t bench_goals_len;

/* core.c */
int bench_pick_cpus(int *cpu, int *other_cpu);
int bench_pin(int cpu);
void bench_measure(const struct bench *b, const struct bench_opts *o,
		   struct bench_result *r);
double bench_now_ns(clockid_t clk);
/*
 * Leave @ns of what run() just did out of its time: the half of a pair
 * that only resets the state for the next op, timed with st->b->clock.
 */
void bench_untimed(struct bench_state *st, double ns);
int bench_fail(struct bench_state *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bench_note(struct bench_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
pid_t bench_fork_peer(void);
void bench_kill_peer(pid_t *pid);
double bench_quick_median_ns(struct bench_state *st,
			     int (*fn)(struct bench_state *, uint64_t));

/* pingpong.c: two processes bouncing a message over a pair of fds. */
struct pingpong {
	pid_t peer;
	int fd_r, fd_w;		/* our ends */
	size_t len;		/* message bytes, <= 64 */
};
int pingpong_start(struct bench_state *st, struct pingpong *pp, size_t len,
		   int my_r, int my_w, int peer_r, int peer_w);
int pingpong_run(struct bench_state *st, struct pingpong *pp,
		 uint64_t iters);
void pingpong_stop(struct pingpong *pp);
int pingpong_pipes(struct bench_state *st, struct pingpong *pp, size_t len);

/*
 * bench_hosttax.c: the getpid loop of an unrelated process, timed in its
 * own CPU time, while a competitor process runs (a plain spinner for the
 * baseline, a busy lol guest for the lol row).  The competitor is pinned
 * to another CPU when there is one.
 */
int hosttax_spawn(struct bench_state *st, pid_t *pid,
		  void (*body)(void *arg), void *arg);
int hosttax_run(struct bench_state *st, uint64_t iters);

/* report.c */
struct bench_host {
	char kernel[400];
	char cpu_model[128];
	char accel[96];
	char clock[160];
	char date[40];
	int online_cpus;
};
void bench_host_info(struct bench_host *h, const struct bench_opts *o);
void bench_print_header(const struct bench_host *h,
			const struct bench_opts *o);
void bench_print_table(const struct bench_result *res, size_t n);
int bench_write_json(const char *path, const struct bench_host *h,
		     const struct bench_opts *o,
		     const struct bench_result *res, size_t n);
const char *bench_fmt_value(const struct bench_result *r, double ns,
			    char *buf, size_t len);
const char *bench_group_name(enum bench_group g);

/* Goal evaluation (report.c). */
enum goal_verdict { GV_NA, GV_PASS, GV_MISS };
struct goal_eval {
	enum goal_verdict v;
	double value;		/* ratio, speed-up or tax fraction */
	char why[256];		/* n/a reason or the comparison */
};
void bench_eval_goal(const struct bench_goal *g,
		     const struct bench_result *res, size_t n,
		     struct goal_eval *e);
const char *bench_verdict_name(enum goal_verdict v);

/*
 * What differs between the architectures lol-bench runs on: raw system
 * calls (no libc wrapper, no errno, no caching), the register a syscall
 * returns in -- in a lol run page (BENCH_LOL_RET) and in a signal frame
 * (BENCH_UC_RET) -- the guest's pc, and the spin-wait hint.
 */
#if defined(__x86_64__)
static inline long raw_syscall0(long nr)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "0"(nr)
		     : "rcx", "r11", "memory");
	return ret;
}

static inline long raw_syscall2(long nr, long a0, long a1)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a0), "S"(a1)
		     : "rcx", "r11", "memory");
	return ret;
}

#define BENCH_LOL_RET(run)	((run)->regs.rax)
#define BENCH_LOL_PC(run)	((run)->regs.rip)
#define BENCH_UC_RET(uc)	((uc)->uc_mcontext.gregs[REG_RAX])
#define BENCH_AUDIT_ARCH	AUDIT_ARCH_X86_64
#define bench_cpu_relax()	__builtin_ia32_pause()
#elif defined(__aarch64__)
static inline long raw_syscall0(long nr)
{
	register long x8 asm("x8") = nr;
	register long x0 asm("x0");

	asm volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
	return x0;
}

static inline long raw_syscall2(long nr, long a0, long a1)
{
	register long x8 asm("x8") = nr;
	register long x0 asm("x0") = a0;
	register long x1 asm("x1") = a1;

	asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
	return x0;
}

#define BENCH_LOL_RET(run)	((run)->regs.x[0])
#define BENCH_LOL_PC(run)	((run)->regs.pc)
#define BENCH_UC_RET(uc)	((uc)->uc_mcontext.regs[0])
#define BENCH_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#define bench_cpu_relax()	asm volatile("yield" ::: "memory")
#else
#error "lol-bench: x86_64 or aarch64"
#endif

#endif /* LOL_BENCH_H */
