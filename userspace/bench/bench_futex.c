// SPDX-License-Identifier: GPL-2.0
/*
 * Address-space switch baseline: two processes (two address spaces) on
 * one CPU hand the CPU to each other through a futex in a shared page.
 * One op = A -> B -> A, i.e. two switches between address spaces, the
 * same as one lol LOL_RUN (monitor -> guest AS -> monitor) in the lol row,
 * which alternates between two guest address spaces.
 */
#include <limits.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

struct futex_priv {
	volatile int *turn;	/* 0: A runs, 1: B runs */
	pid_t peer;
};

static struct futex_priv futex_priv = { .peer = -1 };

static long futex_op(volatile int *uaddr, int op, int val)
{
	/* Shared (not PRIVATE): the word is in a MAP_SHARED page. */
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* Hand the turn to @to and sleep until it comes back to @me. */
static int handoff(volatile int *turn, int me, int to)
{
	__atomic_store_n(turn, to, __ATOMIC_SEQ_CST);
	if (futex_op(turn, FUTEX_WAKE, 1) < 0)
		return -errno;
	while (__atomic_load_n(turn, __ATOMIC_SEQ_CST) != me) {
		if (futex_op(turn, FUTEX_WAIT, to) < 0 &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

static int futex_setup(struct bench_state *st)
{
	struct futex_priv *p = &futex_priv;
	void *m;

	st->priv = p;
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return bench_fail(st, errno, "mmap: %m");
	p->turn = m;
	*p->turn = 0;
	p->peer = bench_fork_peer();
	if (p->peer < 0)
		return bench_fail(st, errno, "fork: %m");
	if (p->peer == 0) {
		/* B: wait for its turn, give it back, forever. */
		while (__atomic_load_n(p->turn, __ATOMIC_SEQ_CST) != 1)
			futex_op(p->turn, FUTEX_WAIT, 0);
		for (;;)
			if (handoff(p->turn, 1, 0))
				_exit(1);
	}
	return 0;
}

static int futex_run(struct bench_state *st, uint64_t iters)
{
	struct futex_priv *p = st->priv;
	uint64_t i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = handoff(p->turn, 0, 1);
		if (rc)
			return bench_fail(st, -rc, "futex: %s", strerror(-rc));
	}
	return 0;
}

static void futex_teardown(struct bench_state *st)
{
	struct futex_priv *p = st->priv;

	bench_kill_peer(&p->peer);
}

const struct bench bench_futex_handoff = {
	.id = "futex-handoff",
	.mech = "futex hand-off, 2 procs",
	.op = "AS round trip A->B->A",
	.group = BG_ASSWITCH,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = futex_setup,
	.run = futex_run,
	.teardown = futex_teardown,
};
