// SPDX-License-Identifier: GPL-2.0
/*
 * The lol rows.  Every row first probes /dev/lol (present, openable) and
 * the lol capability it needs; a missing piece makes the row
 * "n/a (reason)".  The measurements themselves live in the section marked
 * LEAD below and are to be written against liblol; until then they return
 * -ENOSYS, which the core reports as "n/a (not yet implemented)".  No row
 * ever shows a number that was not measured.
 *
 * What each row must measure (so that it compares with its baseline):
 *
 *   lol-runloop    one op = guest getpid -> LOL_RUN returns with a
 *                  SYSCALL exit -> monitor writes the result -> LOL_RUN
 *                  again.  Guest code: a loop of `syscall`, checking
 *                  the result like the baselines do (BENCH_MAGIC_RET).
 *   lol-reflect    one op = guest getpid handled by in-place reflection
 *                  (no return to the monitor's run loop).
 *   lol-fault      one op = guest touches an unmapped page -> FAULT exit
 *                  -> monitor maps it -> re-run -> guest retries; and the
 *                  page is unmapped again (like the baseline's re-protect).
 *   lol-as-switch  one op = one LOL_RUN into guest AS 1 or 2 (alternating),
 *                  the guest exits at once (monitor -> AS -> monitor).
 *   lol-hosttax    the measured process only loops on getpid (shared
 *                  hosttax_run); a competitor process keeps a lol guest
 *                  busy meanwhile.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define LOL_DEV "/dev/lol"

struct lol_bench {
	int devfd;		/* /dev/lol */
	int ready_fd;		/* lol-hosttax competitor: status pipe */
	pid_t competitor;	/* lol-hosttax only */
	/* LEAD: guest/vCPU fds, struct lol_run *, AS handles, addresses. */
};

static struct lol_bench lol_bench = {
	.devfd = -1, .ready_fd = -1, .competitor = -1,
};

/* ================================================================
 * LEAD: implement against liblol.  Build with the liblol hook in the
 * Makefile (it defines HAVE_LIBLOL).  Contract:
 *   - *_prepare(): create the guest / vCPU / AS(s), load the guest code,
 *     run it once and check the result; return 0, or a negative errno
 *     with bench_fail(st, err, "what failed: %m") for the reason.
 *   - *_measure(): exactly @iters ops, untimed inside; 0 or -errno.
 *   - -ENOSYS (no reason) shows as "n/a (not yet implemented)".
 * ================================================================
 */
#ifdef HAVE_LIBLOL
/* #include <lol.h>  -- liblol's header */
#endif

/* Does the module offer @cap (LOL_CHECK_EXTENSION)?  0: yes. */
static int lol_need_cap(struct bench_state *st, struct lol_bench *lb,
			const char *cap)
{
	(void)st;
	(void)lb;
	(void)cap;
	return 0;	/* LEAD: query the capability; bench_fail() if absent */
}

static int lol_runloop_prepare(struct bench_state *st, struct lol_bench *lb)
{
	(void)st;
	(void)lb;
	return -ENOSYS;	/* LEAD */
}

static int lol_runloop_measure(struct bench_state *st, struct lol_bench *lb,
			       uint64_t iters)
{
	(void)st;
	(void)lb;
	(void)iters;
	return -ENOSYS;	/* LEAD */
}

static int lol_reflect_prepare(struct bench_state *st, struct lol_bench *lb)
{
	(void)st;
	(void)lb;
	return -ENOSYS;	/* LEAD */
}

static int lol_reflect_measure(struct bench_state *st, struct lol_bench *lb,
			       uint64_t iters)
{
	(void)st;
	(void)lb;
	(void)iters;
	return -ENOSYS;	/* LEAD */
}

static int lol_fault_prepare(struct bench_state *st, struct lol_bench *lb)
{
	(void)st;
	(void)lb;
	return -ENOSYS;	/* LEAD */
}

static int lol_fault_measure(struct bench_state *st, struct lol_bench *lb,
			     uint64_t iters)
{
	(void)st;
	(void)lb;
	(void)iters;
	return -ENOSYS;	/* LEAD */
}

static int lol_asswitch_prepare(struct bench_state *st, struct lol_bench *lb)
{
	(void)st;
	(void)lb;
	return -ENOSYS;	/* LEAD */
}

static int lol_asswitch_measure(struct bench_state *st, struct lol_bench *lb,
				uint64_t iters)
{
	(void)st;
	(void)lb;
	(void)iters;
	return -ENOSYS;	/* LEAD */
}

/*
 * Runs in the competitor process (pinned to another CPU when there is
 * one; /dev/lol is not open in it: open it here): create a guest, then
 * report readiness with the status of that
 * setup (0 or -errno) through @ready_fd BEFORE entering the busy run
 * loop, and never return while it is fine.  The guest should stay busy
 * in guest mode with an exit now and then (e.g. a syscall every so
 * often) so that the run loop is live.
 */
static void lol_busy_guest(struct lol_bench *lb, int ready_fd)
{
	int status = -ENOSYS;	/* LEAD: set up the guest, status = 0 */

	(void)lb;
	if (write(ready_fd, &status, sizeof(status)) != sizeof(status))
		_exit(1);
	if (status)
		_exit(0);
	for (;;)
		;	/* LEAD: the busy LOL_RUN loop */
}

/* ================= end of LEAD section ================= */

static int lol_probe(struct bench_state *st, struct lol_bench *lb,
		     const char *cap)
{
	struct stat sb;

	st->priv = lb;
	if (stat(LOL_DEV, &sb)) {
		if (errno == ENOENT)
			return bench_fail(st, ENODEV,
					  LOL_DEV " not found (lol module not loaded)");
		return bench_fail(st, errno, "stat " LOL_DEV ": %m");
	}
	if (!S_ISCHR(sb.st_mode))
		return bench_fail(st, ENODEV, LOL_DEV " is not a character device");
	lb->devfd = open(LOL_DEV, O_RDWR | O_CLOEXEC);
	if (lb->devfd < 0)
		return bench_fail(st, errno, "open " LOL_DEV ": %m");
	return cap ? lol_need_cap(st, lb, cap) : 0;
}

static void lol_teardown(struct bench_state *st)
{
	struct lol_bench *lb = st->priv;

	/* LEAD: release guest/vCPU/AS objects (or let the child exit). */
	bench_kill_peer(&lb->competitor);
	if (lb->devfd >= 0)
		close(lb->devfd);
	lb->devfd = -1;
}

static int lol_runloop_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "run-loop syscall exits");

	return rc ? rc : lol_runloop_prepare(st, &lol_bench);
}

static int lol_runloop_run(struct bench_state *st, uint64_t iters)
{
	return lol_runloop_measure(st, st->priv, iters);
}

static int lol_reflect_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "in-place reflection");

	return rc ? rc : lol_reflect_prepare(st, &lol_bench);
}

static int lol_reflect_run(struct bench_state *st, uint64_t iters)
{
	return lol_reflect_measure(st, st->priv, iters);
}

static int lol_fault_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "fault exits");

	return rc ? rc : lol_fault_prepare(st, &lol_bench);
}

static int lol_fault_run(struct bench_state *st, uint64_t iters)
{
	return lol_fault_measure(st, st->priv, iters);
}

static int lol_asswitch_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "multiple address spaces");

	return rc ? rc : lol_asswitch_prepare(st, &lol_bench);
}

static int lol_asswitch_run(struct bench_state *st, uint64_t iters)
{
	return lol_asswitch_measure(st, st->priv, iters);
}

static void lol_busy_body(void *arg)
{
	struct lol_bench *lb = arg;

	lol_busy_guest(lb, lb->ready_fd);
}

static int lol_hosttax_setup(struct bench_state *st)
{
	struct lol_bench *lb = &lol_bench;
	int p[2], status = -EIO, rc;
	ssize_t n;

	rc = lol_probe(st, lb, NULL);
	if (rc)
		return rc;
	/* The measured process must not hold lol state of its own. */
	close(lb->devfd);
	lb->devfd = -1;
	if (pipe2(p, O_CLOEXEC))
		return bench_fail(st, errno, "pipe: %m");
	lb->ready_fd = p[1];
	rc = hosttax_spawn(st, &lb->competitor, lol_busy_body, lb);
	lb->ready_fd = -1;
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	do {
		n = read(p[0], &status, sizeof(status));
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != sizeof(status))
		return bench_fail(st, EIO, "lol competitor died before its guest ran");
	if (status == -ENOSYS)
		return -ENOSYS;
	if (status)
		return bench_fail(st, -status, "lol competitor: %s",
				  strerror(-status));
	return 0;
}

const struct bench bench_lol_runloop = {
	.id = "lol-runloop",
	.mech = "lol run-loop exit",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_runloop_setup,
	.run = lol_runloop_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_reflect = {
	.id = "lol-reflect",
	.mech = "lol in-place reflection",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_reflect_setup,
	.run = lol_reflect_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_fault = {
	.id = "lol-fault",
	.mech = "lol LOL_EXIT_FAULT",
	.op = "fault, map, retry, unmap",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_fault_setup,
	.run = lol_fault_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_asswitch = {
	.id = "lol-as-switch",
	.mech = "lol LOL_RUN, 2 ASs",
	.op = "AS round trip, alternating",
	.group = BG_ASSWITCH,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_asswitch_setup,
	.run = lol_asswitch_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_hosttax = {
	.id = "lol-hosttax",
	.mech = "lol guest busy",
	.op = "getpid, unrelated process",
	.group = BG_HOSTTAX,
	.unit = BU_NS,
	.clock = CLOCK_THREAD_CPUTIME_ID,
	.setup = lol_hosttax_setup,
	.run = hosttax_run,
	.teardown = lol_teardown,
};
