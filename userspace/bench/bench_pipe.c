// SPDX-License-Identifier: GPL-2.0
/*
 * Pipe ping-pong between two processes on one CPU: a guest-syscall
 * mechanism can hardly beat handing the CPU to another process and back,
 * so this is the context-switch floor of the syscall table.
 * One op = one round trip of a 1-byte message.
 */
#include "bench.h"

static struct pingpong pipe_pp = { .peer = -1 };

static int pipe_setup(struct bench_state *st)
{
	st->priv = &pipe_pp;
	return pingpong_pipes(st, &pipe_pp, 1);
}

static int pipe_run(struct bench_state *st, uint64_t iters)
{
	return pingpong_run(st, st->priv, iters);
}

static void pipe_teardown(struct bench_state *st)
{
	pingpong_stop(st->priv);
}

const struct bench bench_pipe_pingpong = {
	.id = "pipe-pingpong",
	.mech = "pipe ping-pong, 2 procs",
	.op = "round trip (ctxsw floor)",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = pipe_setup,
	.run = pipe_run,
	.teardown = pipe_teardown,
};
