/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by robust_test.c and robust2_test.c: the robustness tests of the
 * run loop (Documentation/design.md, "The run loop" and "Robustness
 * invariants"). Guest stubs, a mini guest with a fixed layout, bounded
 * waits, forked-child helpers and leak checks.
 *
 * Guest layout (phys page: gva, prot), see rvm_init():
 *   0: G_CODE   r-x   the stub under test
 *   1: G_DATA   rw-   counters and flags shared with the monitor
 *   2: G_DATA2  rw-   a second vcpu's counters
 *   3: G_SHARED rw-   the page the race tests unmap and protect
 *   4: G_STACK  rw-   stack (the stack pointer starts at its top), filled
 *                     with a pattern
 *   5..:              pages the tests map at monitor addresses
 *   ballast (optional): BALLAST_MB of phys memory at G_BIG, touched by the
 *                     monitor, so that a leaked AS (which pins the phys
 *                     file) shows in /proc/meminfo Shmem
 * G_* addresses (0x10000000...) are far from the static monitor's image,
 * heap and mmap area, so "in the guest's code" is unambiguous.
 *
 * Everything here is static inline or a macro: each test binary includes
 * it once. Helpers without harness macros are usable in forked children.
 */
#ifndef _LOL_ROBUST_COMMON_H
#define _LOL_ROBUST_COMMON_H

#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define NR_PHYS		32
#define G_CODE		0x10000000ULL
#define G_DATA		0x10100000ULL
#define G_DATA2		0x10200000ULL
#define G_SHARED	0x10300000ULL
#define G_STACK		0x10400000ULL
#define G_BIG		0x20000000ULL
#define P_CODE		0
#define P_DATA		1
#define P_DATA2		2
#define P_SHARED	3
#define P_STACK		4
#define P_FREE		5	/* first page no standard mapping uses */

#define PAT1		0x1122334455667788ULL
#define PAT2		0x8877665544332211ULL
#define PAT3		0x0badc0ffee0ddf00ULL
#define STACK_FILL	0x5a
#define MIRROR_FILL	0xa5


/*
 * ---- guest stubs ----
 *
 * lib/<arch>/robust_arch.h: count_loop, sys42, load_stub, store_stub,
 * jump_stub, go_then_syscall, syscall_loop (its count in
 * syscall_loop_n(run)) and touch_loop; x86 also has race_read and
 * race_write (robust_test is x86-only so far).
 */
#include "robust_arch.h"

/* ---- small helpers ---- */

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Evaluates cond until true or ms elapsed; returns the last value. */
#define WAIT_UNTIL(cond, ms) ({						\
	long long __end = now_ms() + (ms);				\
	bool __ok;							\
	while (!(__ok = !!(cond)) && now_ms() < __end)			\
		usleep(200);						\
	__ok;								\
})

#define LOAD_ACQ(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline long futex(void *uaddr, int op, int val,
			 const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* LOL_CHECK_EXTENSION on a fresh /dev/lol fd; -1 if it cannot be opened. */
static inline long probe_cap(unsigned long cap)
{
	int sys = lol_open();
	long v;

	if (sys < 0)
		return -1;
	v = lol_check_extension(sys, cap);
	close(sys);
	return v;
}

#define REQUIRE_RUN() do {						\
	long __c = probe_cap(LOL_CAP_RUN);				\
	ASSERT_LE(0, __c) TH_LOG("open %s: %s", LOL_DEVICE,		\
				 strerror(errno));			\
	if (!__c)							\
		SKIP(return, "LOL_CAP_RUN absent");			\
} while (0)

#define REQUIRE_CAP(cap) do {						\
	if (probe_cap(cap) <= 0)					\
		SKIP(return, "%s absent", lol_cap_name(cap));		\
} while (0)

/*
 * Shmem (kB): the phys memory of guests. An AS that is never freed keeps
 * its phys file, and with it the ballast, alive.
 */
#define EXPECT_SHMEM(base_kb) do {					\
	long __s = (base_kb);						\
	if (__s >= 0) {							\
		EXPECT_TRUE(WAIT_UNTIL(lol_meminfo_kb("Shmem") <	\
				       __s + BALLAST_MB * 1024 / 2, 3000)) \
			TH_LOG("Shmem %ld kB, was %ld kB before: guest "	\
			       "phys memory was not freed (a leaked AS?)", \
			       lol_meminfo_kb("Shmem"), __s);		\
	}								\
} while (0)

/* Everything this test created is released (fds, run pages, guests). */
#define EXPECT_REFCNT(base) do {					\
	long __b = (base);						\
	if (__b >= 0) {							\
		EXPECT_TRUE(WAIT_UNTIL(lol_refcnt() == __b, 3000))	\
			TH_LOG("lol refcnt %ld, was %ld before: a lol "	\
			       "file or guest was not released",	\
			       lol_refcnt(), __b);			\
	}								\
} while (0)

static inline int cpu_list(int *cpus, int max)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

static inline int pin_to(pid_t tid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

static inline int raw_getcpu(void)
{
	unsigned int cpu = ~0U;

	syscall(SYS_getcpu, &cpu, NULL, NULL);
	return cpu;
}

/*
 * waitpid with a deadline; on timeout the child is SIGKILLed and reaped.
 * Returns the pid, or -1 if it had to be killed.
 */
static inline pid_t wait_child(pid_t pid, int *status, int ms, int flags)
{
	long long end = now_ms() + ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, flags | WNOHANG);
		if (r != 0)
			return r;
		if (now_ms() >= end)
			break;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, flags);
	return -1;
}

/* Set up a child that must never outlive the test or hang. */
static inline void child_init(int alarm_s)
{
	struct rlimit no_core = { 0, 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setrlimit(RLIMIT_CORE, &no_core);
	alarm(alarm_s);
}

/* A failed check in a forked child: say where, exit with code. */
#define CHILD_CHECK(cond, code) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "# child %d: %s:%d: %s failed (%s)\n",	\
			getpid(), __FILE__, __LINE__, #cond,		\
			strerror(errno));				\
		_exit(code);						\
	}								\
} while (0)

#define STATUS_FMT	"%s %d"
#define STATUS_ARGS(st)							\
	WIFEXITED(st) ? "exit" : WIFSIGNALED(st) ? "signal" : "status", \
	WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : (st)

#define EXPECT_EXITED(st, code)						\
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == (code))		\
		TH_LOG("child: " STATUS_FMT ", expected exit %d",	\
		       STATUS_ARGS(st), (code))

#define EXPECT_KILLED(st, sig)						\
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == (sig))		\
		TH_LOG("child: " STATUS_FMT ", expected signal %d",	\
		       STATUS_ARGS(st), (sig))

/* A MAP_SHARED region the parent and its forked children all see. */
static inline void *shared_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- mini guest ---- */

struct rvm {
	struct lol_vm vm;
	struct lol_vcpu vcpu[2];
	int nr_vcpus;
	__u32 as;
	size_t page;
	bool borrowed;		/* vm.phys belongs to the caller */
	const char *err;	/* what failed in rvm_init */
};

/* Phys memory a parent shares with its children: memfd + mapping. */
struct sphys {
	int memfd;
	void *mem;
	size_t size;
};

static inline int sphys_create(struct sphys *sp, size_t size)
{
	sp->size = size;
	sp->memfd = memfd_create("lol-robust", MFD_CLOEXEC);
	if (sp->memfd < 0)
		return -1;
	if (ftruncate(sp->memfd, size))
		return -1;
	sp->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       sp->memfd, 0);
	return sp->mem == MAP_FAILED ? -1 : 0;
}

static inline void sphys_destroy(struct sphys *sp)
{
	if (sp->mem && sp->mem != MAP_FAILED)
		munmap(sp->mem, sp->size);
	if (sp->memfd >= 0)
		close(sp->memfd);
	memset(sp, 0, sizeof(*sp));
	sp->memfd = -1;
}

static inline int rvm_map_std(struct rvm *r, __u32 as)
{
	static const struct { __u64 gva; int page; __u32 prot; } maps[] = {
		{ G_CODE, P_CODE, LOL_PROT_READ | LOL_PROT_EXEC },
		{ G_DATA, P_DATA, LOL_PROT_READ | LOL_PROT_WRITE },
		{ G_DATA2, P_DATA2, LOL_PROT_READ | LOL_PROT_WRITE },
		{ G_SHARED, P_SHARED, LOL_PROT_READ | LOL_PROT_WRITE },
		{ G_STACK, P_STACK, LOL_PROT_READ | LOL_PROT_WRITE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(maps); i++)
		if (lol_vm_map(&r->vm, as, maps[i].gva, maps[i].page * r->page,
			       r->page, maps[i].prot))
			return -1;
	return 0;
}

/* Phys memory mapped at G_BIG and touched, for Shmem leak checks. */
#define BALLAST_MB	4
#define BALLAST_SIZE	((size_t)BALLAST_MB << 20)

/*
 * A guest with nr_vcpus vcpus and one AS with the standard layout. Phys
 * memory is sp's when sp is given (shared with a parent), else a fresh
 * NR_PHYS-page memfd, plus the ballast if asked. Returns -1 with errno and
 * r->err on failure; usable in forked children (no harness macros).
 */
static inline int rvm_init_ballast(struct rvm *r, int nr_vcpus,
				   struct sphys *sp, bool ballast)
{
	struct lol_vm *vm = &r->vm;
	size_t extra = 0;
	int i, ret;

	memset(r, 0, sizeof(*r));
	r->page = getpagesize();
	vm->sys = vm->guest = vm->memfd = -1;
	r->vcpu[0].fd = r->vcpu[1].fd = -1;

	if (!sp) {
		if (ballast)
			extra = BALLAST_SIZE;
		r->err = "lol_vm_create";
		if (lol_vm_create(vm, NR_PHYS * r->page + extra))
			return -1;
	} else {
		r->borrowed = true;
		r->err = "open /dev/lol";
		vm->sys = lol_open();
		if (vm->sys < 0)
			return -1;
		r->err = "LOL_GET_VCPU_MMAP_SIZE";
		ret = lol_get_vcpu_mmap_size(vm->sys);
		if (ret < 0)
			return -1;
		vm->run_size = ret;
		r->err = "LOL_CREATE_GUEST";
		vm->guest = lol_create_guest(vm->sys, 0);
		if (vm->guest < 0)
			return -1;
		vm->phys = sp->mem;
		vm->phys_size = sp->size;
		r->err = "LOL_SET_PHYS_MEMORY";
		if (lol_set_phys_memory(vm->guest, sp->memfd, sp->size))
			return -1;
	}
	r->err = "LOL_CREATE_VCPU";
	for (i = 0; i < nr_vcpus; i++)
		if (lol_vm_add_vcpu(vm, i, &r->vcpu[i]))
			return -1;
	r->nr_vcpus = nr_vcpus;
	r->err = "LOL_CREATE_AS";
	if (lol_vm_new_as(vm, &r->as))
		return -1;
	r->err = "LOL_AS_OPS map";
	if (rvm_map_std(r, r->as))
		return -1;
	memset(lol_vm_phys(vm, P_STACK * r->page, r->page), STACK_FILL,
	       r->page);
	if (extra) {
		r->err = "LOL_AS_OPS map ballast";
		if (lol_vm_map(vm, r->as, G_BIG, NR_PHYS * r->page, extra,
			       LOL_PROT_READ | LOL_PROT_WRITE))
			return -1;
		memset((char *)vm->phys + NR_PHYS * r->page, 1, extra);
	}
	r->err = NULL;
	return 0;
}

static inline int rvm_init(struct rvm *r, int nr_vcpus, struct sphys *sp)
{
	return rvm_init_ballast(r, nr_vcpus, sp, false);
}

static inline void rvm_destroy(struct rvm *r)
{
	int i;

	for (i = 0; i < 2; i++)
		if (r->vcpu[i].fd >= 0)
			lol_vcpu_destroy(&r->vcpu[i]);
	if (r->borrowed) {
		r->vm.phys = NULL;
		r->vm.phys_size = 0;
	}
	if (r->vm.sys >= 0 || r->vm.guest >= 0)
		lol_vm_destroy(&r->vm);
}

/* Copies a stub to phys page 0 at off; returns its guest address. */
static inline __u64 rvm_load(struct rvm *r, size_t off,
			     const unsigned char *start, size_t len)
{
	if (!off)
		memset(r->vm.phys, LOL_TRAP_FILL, r->page);
	memcpy((char *)r->vm.phys + off, start, len);
	return G_CODE + off;
}

#define RVM_LOAD(r, off, stub)						\
	rvm_load(r, off, stub##_start, LOL_GUEST_SIZE(stub))

static inline volatile __u64 *pu64(struct rvm *r, int page, size_t off)
{
	return lol_vm_phys(&r->vm, page * r->page + off, 8);
}

static inline void rvm_entry(struct rvm *r, int i, __u64 rip)
{
	lol_vcpu_set_entry(&r->vcpu[i], r->as, rip, G_STACK + r->page);
}

#define RVM_INIT(r, n, sp)						\
	ASSERT_EQ(0, rvm_init(r, n, sp))				\
		TH_LOG("guest setup: %s: %s", (r)->err, strerror(errno))

/* The guest pc is inside stub (loaded at base). */
#define IN_STUB(rip, base, stub)					\
	((rip) >= (base) && (rip) < (base) + LOL_GUEST_SIZE(stub))

/* count_loop's counters in memory (c) and in a register agree. */
#define COUNT_CONSISTENT(c, r12)	((c) == (r12) || (c) == (r12) + 1)

/* A fresh guest in this process runs and exits by syscall. */
static inline int sanity_guest(void)
{
	struct rvm r;
	int ret = -1;

	if (rvm_init(&r, 1, NULL))
		goto out;
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, sys42));
	if (lol_run(r.vcpu[0].fd))
		goto out;
	if (r.vcpu[0].run->exit_reason == LOL_EXIT_SYSCALL &&
	    r.vcpu[0].run->syscall.nr == 42)
		ret = 0;
out:
	rvm_destroy(&r);
	return ret;
}

#define EXPECT_SANITY()							\
	EXPECT_EQ(0, sanity_guest()) TH_LOG("a new guest does not run")

/*
 * A thread that runs one LOL_RUN on a vcpu and records the result.
 */
struct runner {
	struct rvm *r;
	int idx;
	int cpu;		/* pin to it first; -1: no */
	pthread_t thr;
	pid_t tid;
	int ret, err;
	__u32 reason;
	int started, done;
};

static inline void *runner_fn(void *p)
{
	struct runner *rn = p;

	rn->tid = gettid();
	pin_to(0, rn->cpu);
	STORE_REL(&rn->started, 1);
	rn->ret = lol_run(rn->r->vcpu[rn->idx].fd);
	rn->err = errno;
	rn->reason = rn->r->vcpu[rn->idx].run->exit_reason;
	STORE_REL(&rn->done, 1);
	return NULL;
}

static inline int runner_start(struct runner *rn, struct rvm *r, int idx,
			       int cpu)
{
	memset(rn, 0, sizeof(*rn));
	rn->r = r;
	rn->idx = idx;
	rn->cpu = cpu;
	return pthread_create(&rn->thr, NULL, runner_fn, rn);
}

/* Joins, kicking for up to ms if needed; false if it never came out. */
static inline bool runner_join(struct runner *rn, int ms)
{
	struct timespec ts;

	if (!WAIT_UNTIL(LOAD_ACQ(&rn->done), ms))
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	return pthread_timedjoin_np(rn->thr, NULL, &ts) == 0;
}

/*
 * One LOL_KICK must bring rn's vcpu out within ms; false if it does not.
 * Only then is it kicked again (to recover the thread), since a kick that
 * arrives after the exit stays pending for the next LOL_RUN.
 */
static inline bool runner_kick_out(struct runner *rn, int ms)
{
	long long end;

	lol_kick(rn->r->vcpu[rn->idx].fd);
	if (WAIT_UNTIL(LOAD_ACQ(&rn->done), ms))
		return runner_join(rn, 1000);
	end = now_ms() + 5000;
	while (!LOAD_ACQ(&rn->done) && now_ms() < end) {
		lol_kick(rn->r->vcpu[rn->idx].fd);
		usleep(2000);
	}
	runner_join(rn, 1000);
	return false;
}

/* Parent <-> forked monitor, in a shared_anon() page. */
struct ctl {
	int ready, go, finish;
	unsigned long relay_src;
	pid_t tid, holder;
	long progress;
	long long peak;
};

static inline __u64 syscall_answer(__u64 i)
{
	return (i & 1) ? (i << 32) | i : 3 * i + 1;
}

/*
 * Runs syscall_loop for n syscalls, answering each; returns 0 when the
 * guest checked every answer and finished, else a code (for children).
 */
static inline int run_syscall_loop(struct rvm *r, __u64 n)
{
	struct lol_run *run = r->vcpu[0].run;
	__u64 expect = 0;

	rvm_entry(r, 0, RVM_LOAD(r, 0, syscall_loop));
	syscall_loop_n(run) = n;
	for (;;) {
		if (lol_run(r->vcpu[0].fd))
			return 10;
		if (run->exit_reason != LOL_EXIT_SYSCALL)
			return 11;
		if (run->syscall.nr == 999)
			return expect == n ? 0 : 12;
		if (run->syscall.nr == 998)
			return 13;	/* the guest saw a wrong answer */
		if (run->syscall.nr != 7 || run->syscall.args[0] != expect)
			return 14;
		lol_ret(run) = syscall_answer(expect++);
		if (expect > n)
			return 15;
	}
}

static inline bool stack_is_filled(struct rvm *r, int page, unsigned char fill)
{
	const unsigned char *p = lol_vm_phys(&r->vm, page * r->page, r->page);
	size_t i;

	for (i = 0; i < r->page; i++)
		if (p[i] != fill)
			return false;
	return true;
}


#endif /* _LOL_ROBUST_COMMON_H */
