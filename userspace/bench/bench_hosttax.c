// SPDX-License-Identifier: GPL-2.0
/*
 * Host tax: how much slower does an unrelated process's getpid get while
 * a lol guest is running somewhere on the host?  (While a vCPU exists the
 * module may put every thread on the syscall slow path, see the design
 * brief.)  The measured process loops on getpid; a competitor process
 * runs meanwhile: here a plain user-mode spinner ("no lol"), in
 * bench_lol.c a busy lol guest.  Timed with CLOCK_THREAD_CPUTIME_ID, so
 * that on a single CPU the competitor's time slices are not counted.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static pid_t hosttax_peer = -1;

int hosttax_spawn(struct bench_state *st, pid_t *pid,
		  void (*body)(void *arg), void *arg)
{
	*pid = bench_fork_peer();
	if (*pid < 0)
		return bench_fail(st, errno, "fork: %m");
	if (*pid == 0) {
		if (st->other_cpu >= 0)
			bench_pin(st->other_cpu);
		body(arg);
		_exit(0);
	}
	if (st->other_cpu >= 0)
		bench_note(st, "competitor on CPU %d, measured process on CPU %d",
			   st->other_cpu, st->cpu);
	else
		bench_note(st, "competitor shares CPU %d with the measured process",
			   st->cpu);
	return 0;
}

int hosttax_run(struct bench_state *st, uint64_t iters)
{
	long pid = raw_syscall0(SYS_getpid);
	uint64_t i;

	(void)st;
	for (i = 0; i < iters; i++)
		if (raw_syscall0(SYS_getpid) != pid)
			return -EIO;
	return 0;
}

static void spin(void *arg)
{
	(void)arg;
	for (;;)
		asm volatile("" ::: "memory");
}

static int nolol_setup(struct bench_state *st)
{
	return hosttax_spawn(st, &hosttax_peer, spin, NULL);
}

static void nolol_teardown(struct bench_state *st)
{
	(void)st;
	bench_kill_peer(&hosttax_peer);
}

const struct bench bench_hosttax_nolol = {
	.id = "hosttax-nolol",
	.mech = "no lol, busy spinner",
	.op = "getpid, unrelated process",
	.group = BG_HOSTTAX,
	.unit = BU_NS,
	.clock = CLOCK_THREAD_CPUTIME_ID,
	.setup = nolol_setup,
	.run = hosttax_run,
	.teardown = nolol_teardown,
};
