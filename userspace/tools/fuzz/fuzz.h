/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol-fuzz, shared by its three parts (see main.c for what it does):
 *
 *	main.c		the driver: options, the supervisor that runs,
 *			watches and kills the cases, the summary
 *	cases.c		the case logic: the fds of one case, the workers
 *			and their operations on /dev/lol
 *	<arch>/gen.c	the guest-code generator of the guest architecture
 *	<arch>/regs.c	its registers: a guest's entry state, the monitor
 *			state LOL_RUN must leave alone, the TCG probe
 *	<arch>/arch.h	raw syscalls and register accessors, inline
 *
 * A port of lol-fuzz writes the <arch>/ files; the Makefile picks the
 * directory. Everything here is process-wide state of one program, hence
 * the short names.
 */
#ifndef LOL_FUZZ_H
#define LOL_FUZZ_H

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

struct fz_opts {
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
};

/* In a MAP_SHARED page: children add, the supervisor reports. */
struct stats {
	unsigned long ops, ioctls, runs, exits[8], run_err, eintr, ebusy;
	unsigned long odd, upcalls, forks, kicks, asops;
};

/* The options (main.c) and the statistics page every case adds to. */
extern struct fz_opts o;
extern struct stats *st;

/* ---- random numbers --------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static inline uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rnd(struct rng *r)
{
	return splitmix(&r->s);
}

static inline uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static inline bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);

	splitmix(&x);
	return splitmix(&x);
}

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

struct fz_case {
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
};

/* This process's case (cases.c); set up by run_case() in the child. */
extern struct fz_case C;

/* The /dev/kmsg fd (main.c): case markers and --trace lines. */
extern int kmsg_fd;

#include "arch.h"

/* main.c */
void say(const char *fmt, ...);
double now(void);

/* cases.c */
uint64_t rval(struct rng *r);
void trace(const char *fmt, ...);
void odd(const char *fmt, ...);
void fail(const char *fmt, ...);
int pick_fd(struct rng *r);
uint32_t pick_as(struct rng *r, struct gslot *g);
uint64_t pick_gva(struct rng *r, struct gslot *g);
void run_case(uint64_t seed, bool wild, int nthreads, int budget_ms);

/* <arch>/gen.c: fills the guest's code pages, returns an entry offset. */
uint64_t gen_code(struct rng *r, struct gslot *g, bool wild);
uint16_t pick_sel(struct rng *r);
/* Random bytes made safe to run under QEMU's TCG (untrusted: NULL, all). */
void tcg_sanitize(uint8_t *p, const uint8_t *untrusted, size_t len);

/* <arch>/regs.c */
void trace_run(int fd, struct gslot *g, struct lol_run *run);
void mon_save(struct mon_state *m);
void mon_check(const struct mon_state *b, uint64_t pat, uint64_t xmm8);
void set_entry(struct rng *r, struct gslot *g, struct lol_run *run,
	       uint64_t entry);
void ptrace_poke(pid_t tid, struct rng *rr);
bool fz_has_pku(void);
bool fz_under_tcg(void);

#endif
