// SPDX-License-Identifier: GPL-2.0
/*
 * lol rows about what guests cost each other (issue 13, item 3: nothing
 * shared by all guests is written on LOL_RUN entry or exit).
 *
 *   lol-exits-1cpu   one op = one guest exit (getpid -> LOL_RUN returns
 *                    -> LOL_RUN again), one guest on one CPU.
 *   lol-exits-2cpu   the same loop in two independent guests at once,
 *                    each in its own process pinned to its own CPU; one
 *                    op = one exit of either, so exits/s of the pair is
 *                    1e9 / (ns per op). Perfect scaling: half the ns of
 *                    lol-exits-1cpu. Needs two CPUs (n/a under -icount).
 *   lol-idle-runloop the lol-runloop round trip with LB_IDLE_GUESTS idle
 *                    guests present, each with a vcpu that ran once on
 *                    its own thread, which stays parked: what a host full
 *                    of idle VMs looks like to lol's lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "bench.h"
#include "guest.h"

#define LS_CODE		0x400000ULL
#define LS_IDLE_GUESTS	1000
#define LS_MAXG_PARAM	"/sys/module/lol/parameters/max_guests_per_user"

struct ls_guest {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	bool up;
};

/* Set by the 2-CPU row: the peer process's half of the work. */
struct ls_shared {
	volatile uint64_t go;		/* run number the peer is to do */
	volatile uint64_t done;		/* last run number the peer did */
	volatile uint64_t iters;
	volatile int failed;
};

static struct ls_guest ls_g;
static struct ls_shared *ls_sh;
static pid_t ls_peer = -1;

/* lol-idle-runloop */
static struct ls_guest *ls_idle;
static unsigned int ls_nr_idle;
static unsigned int ls_old_maxg;
static bool ls_maxg_raised;
static struct rlimit ls_old_nofile;
static bool ls_nofile_raised;

static int ls_fail(struct bench_state *st, const char *what)
{
	return bench_fail(st, errno ? errno : EIO, "%s: %m", what);
}

/* One guest, one vcpu, one AS with the getpid loop; first exit taken. */
static int ls_guest_up(struct bench_state *st, struct ls_guest *g)
{
	__u32 as;

	if (lol_vm_create(&g->vm, 4096))
		return ls_fail(st, "guest");
	g->up = true;
	if (lol_vm_add_vcpu(&g->vm, 0, &g->vcpu))
		return ls_fail(st, "vcpu");
	if (lol_vm_load(&g->vm, 0, lb_getpid_loop_start,
			LOL_GUEST_SIZE(lb_getpid_loop)) ||
	    lol_vm_new_as(&g->vm, &as) ||
	    lol_vm_map(&g->vm, as, LS_CODE, 0, 4096,
		       LOL_PROT_READ | LOL_PROT_EXEC))
		return ls_fail(st, "address space");
	lol_vcpu_set_entry(&g->vcpu, as, LS_CODE, 0);
	if (lol_run(g->vcpu.fd))
		return ls_fail(st, "LOL_RUN");
	if (g->vcpu.run->exit_reason != LOL_EXIT_SYSCALL)
		return bench_fail(st, EIO, "unexpected exit %s",
				  lol_exit_name(g->vcpu.run->exit_reason));
	return 0;
}

static void ls_guest_down(struct ls_guest *g)
{
	if (!g->up)
		return;
	lol_vcpu_destroy(&g->vcpu);
	lol_vm_destroy(&g->vm);
	g->up = false;
}

/* @iters guest getpid round trips; 0 or -EIO. */
static int ls_loop(struct ls_guest *g, uint64_t iters)
{
	struct lol_run *run = g->vcpu.run;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		BENCH_LOL_RET(run) = BENCH_MAGIC_RET;
		if (lol_run(g->vcpu.fd) || run->exit_reason != LOL_EXIT_SYSCALL)
			return -EIO;
	}
	return 0;
}

static int ls_probe(struct bench_state *st)
{
	int fd = open("/dev/lol", O_RDWR | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return bench_fail(st, errno == ENOENT ? ENODEV : errno,
				  "open /dev/lol: %m");
	ok = lol_check_extension(fd, LOL_CAP_RUN) > 0;
	close(fd);
	if (!ok)
		return bench_fail(st, ENOTSUP,
				  "run-loop syscall exits not supported by this lol.ko");
	return 0;
}

static void ls_teardown(struct bench_state *st)
{
	char buf[32];
	int fd, n;

	(void)st;
	bench_kill_peer(&ls_peer);
	ls_guest_down(&ls_g);
	/* The idle guests and their threads go with the process. */
	if (ls_maxg_raised) {
		fd = open(LS_MAXG_PARAM, O_WRONLY | O_CLOEXEC);
		n = snprintf(buf, sizeof(buf), "%u\n", ls_old_maxg);
		if (fd < 0 || write(fd, buf, n) != n)
			fprintf(stderr, "lol-bench: cannot restore %s to %u\n",
				LS_MAXG_PARAM, ls_old_maxg);
		if (fd >= 0)
			close(fd);
		ls_maxg_raised = false;
	}
	if (ls_nofile_raised) {
		setrlimit(RLIMIT_NOFILE, &ls_old_nofile);
		ls_nofile_raised = false;
	}
}

/* ---- lol-exits-1cpu, lol-exits-2cpu ------------------------------------ */

static int ls_exits1_setup(struct bench_state *st)
{
	int rc = ls_probe(st);

	return rc ? rc : ls_guest_up(st, &ls_g);
}

static int ls_exits1_run(struct bench_state *st, uint64_t iters)
{
	(void)st;
	return ls_loop(&ls_g, iters);
}

/*
 * The peer: its own guest (created after the fork, so nothing is shared
 * with the measured process's guest), pinned to the other CPU; it does
 * each run the measured process asks for, spinning in between.
 */
static void __attribute__((noreturn)) ls_peer_main(struct bench_state *st)
{
	struct ls_shared *sh = ls_sh;
	uint64_t seen = 0;

	if (bench_pin(st->other_cpu) || ls_guest_up(st, &ls_g)) {
		sh->failed = 1;
		__atomic_store_n(&sh->done, UINT64_MAX, __ATOMIC_RELEASE);
		_exit(1);
	}
	__atomic_store_n(&sh->done, 0, __ATOMIC_RELEASE);
	for (;;) {
		uint64_t go = __atomic_load_n(&sh->go, __ATOMIC_ACQUIRE);

		if (go == seen) {
			bench_cpu_relax();
			continue;
		}
		if (ls_loop(&ls_g, sh->iters))
			sh->failed = 1;
		seen = go;
		__atomic_store_n(&sh->done, go, __ATOMIC_RELEASE);
	}
}

static int ls_exits2_setup(struct bench_state *st)
{
	int rc = ls_probe(st);

	if (rc)
		return rc;
	if (st->cpu < 0 || st->other_cpu < 0)
		return bench_fail(st, ENOTSUP, "needs two CPUs");
	ls_sh = mmap(NULL, sizeof(*ls_sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ls_sh == MAP_FAILED) {
		ls_sh = NULL;
		return ls_fail(st, "mmap");
	}
	ls_sh->done = UINT64_MAX - 1;
	ls_peer = bench_fork_peer();
	if (ls_peer < 0)
		return ls_fail(st, "fork");
	if (ls_peer == 0)
		ls_peer_main(st);
	while (__atomic_load_n(&ls_sh->done, __ATOMIC_ACQUIRE) == UINT64_MAX - 1)
		sched_yield();
	if (ls_sh->failed)
		return bench_fail(st, EIO, "peer guest failed to start");
	rc = ls_guest_up(st, &ls_g);
	if (rc)
		return rc;
	/* One run() iteration is an exit here and one in the peer. */
	st->ops_per_iter = 2;
	bench_note(st, "two independent guests, pinned to CPUs %d and %d",
		   st->cpu, st->other_cpu);
	return 0;
}

static int ls_exits2_run(struct bench_state *st, uint64_t iters)
{
	struct ls_shared *sh = ls_sh;
	uint64_t go = sh->go + 1;
	int rc;

	(void)st;
	sh->iters = iters;
	__atomic_store_n(&sh->go, go, __ATOMIC_RELEASE);
	rc = ls_loop(&ls_g, iters);
	/* The clock stops when both halves are done. */
	while (__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) != go)
		bench_cpu_relax();
	return rc ? rc : sh->failed ? -EIO : 0;
}

/* ---- lol-idle-runloop --------------------------------------------------- */

struct ls_idle_arg {
	struct ls_guest *g;
	struct bench_state *st;
	int report_fd;
};

/* Runs its guest once, reports, and stays parked: an idle VM's thread. */
static void *ls_idle_thread(void *p)
{
	struct ls_idle_arg *a = p;
	char ok = !ls_guest_up(a->st, a->g);

	if (write(a->report_fd, &ok, 1) != 1)
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

static int ls_raise_limits(struct bench_state *st, unsigned int guests)
{
	struct rlimit nofile;
	char buf[32];
	ssize_t n;
	int fd;

	/* Four fds a guest: /dev/lol, the guest, its memfd, its vcpu. */
	if (getrlimit(RLIMIT_NOFILE, &ls_old_nofile))
		return ls_fail(st, "getrlimit");
	nofile.rlim_cur = nofile.rlim_max = 4 * guests + 256;
	if (ls_old_nofile.rlim_cur < nofile.rlim_cur) {
		if (ls_old_nofile.rlim_max > nofile.rlim_max)
			nofile.rlim_max = ls_old_nofile.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &nofile))
			return ls_fail(st, "setrlimit(RLIMIT_NOFILE)");
		ls_nofile_raised = true;
	}

	fd = open(LS_MAXG_PARAM, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ls_fail(st, "open " LS_MAXG_PARAM);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		close(fd);
		return ls_fail(st, "read " LS_MAXG_PARAM);
	}
	buf[n] = '\0';
	ls_old_maxg = strtoul(buf, NULL, 10);
	n = snprintf(buf, sizeof(buf), "%u\n", ls_old_maxg + guests + 1);
	if (write(fd, buf, n) != n) {
		close(fd);
		return ls_fail(st, "raise " LS_MAXG_PARAM);
	}
	close(fd);
	ls_maxg_raised = true;
	return 0;
}

static int ls_idle_setup_guests(struct bench_state *st)
{
	struct ls_idle_arg arg = { .st = st };
	pthread_attr_t attr;
	pthread_t tid;
	int p[2], rc;
	unsigned int i;
	char ok;

	rc = ls_raise_limits(st, LS_IDLE_GUESTS);
	if (rc)
		return rc;
	ls_idle = calloc(LS_IDLE_GUESTS, sizeof(*ls_idle));
	if (!ls_idle)
		return bench_fail(st, ENOMEM, "idle guests");
	if (pipe2(p, O_CLOEXEC))
		return ls_fail(st, "pipe");
	arg.report_fd = p[1];
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* One at a time: each thread uses @arg before the next starts. */
	for (i = 0; i < LS_IDLE_GUESTS; i++) {
		arg.g = &ls_idle[i];
		rc = pthread_create(&tid, &attr, ls_idle_thread, &arg);
		if (rc) {
			rc = bench_fail(st, rc, "idle thread %u: %s", i,
					strerror(rc));
			break;
		}
		if (read(p[0], &ok, 1) != 1 || !ok) {
			if (!st->why[0])
				bench_fail(st, EIO, "idle guest %u", i);
			rc = -EIO;
			break;
		}
		ls_nr_idle++;
	}
	pthread_attr_destroy(&attr);
	close(p[0]);
	close(p[1]);
	return rc;
}

static int ls_idle_setup(struct bench_state *st)
{
	int rc = ls_probe(st);

	if (!rc)
		rc = ls_idle_setup_guests(st);
	if (!rc)
		rc = ls_guest_up(st, &ls_g);
	if (rc) {
		/* The core calls teardown only after a setup that worked. */
		ls_teardown(st);
		return rc;
	}
	bench_note(st, "%u idle guests, each ran once on its own parked thread",
		   ls_nr_idle);
	return 0;
}

const struct bench bench_lol_exits_1cpu = {
	.id = "lol-exits-1cpu",
	.mech = "lol exits, 1 guest",
	.op = "guest exit, 1 CPU",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = ls_exits1_setup,
	.run = ls_exits1_run,
	.teardown = ls_teardown,
};

const struct bench bench_lol_exits_2cpu = {
	.id = "lol-exits-2cpu",
	.mech = "lol exits, 2 guests",
	.op = "guest exit, 2 CPUs",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = ls_exits2_setup,
	.run = ls_exits2_run,
	.teardown = ls_teardown,
};

const struct bench bench_lol_runloop_idle = {
	.id = "lol-idle-runloop",
	.mech = "lol run-loop, 1000 idle",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = ls_idle_setup,
	.run = ls_exits1_run,
	.teardown = ls_teardown,
};
