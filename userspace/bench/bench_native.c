// SPDX-License-Identifier: GPL-2.0
/*
 * Native getpid: the reference every ratio in the table is taken
 * against.  A raw `syscall` instruction, no libc wrapper.
 */
#include <sys/syscall.h>

#include "bench.h"

static int native_run(struct bench_state *st, uint64_t iters)
{
	long pid = raw_syscall0(SYS_getpid);
	uint64_t i;

	(void)st;
	for (i = 0; i < iters; i++)
		if (raw_syscall0(SYS_getpid) != pid)
			return -EIO;
	return 0;
}

const struct bench bench_native_getpid = {
	.id = BENCH_REF_ID,
	.mech = "native",
	.op = "getpid syscall",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.run = native_run,
};
