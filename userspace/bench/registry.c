// SPDX-License-Identifier: GPL-2.0
/*
 * Table order of the benchmarks and the goals they are judged by.
 * A new benchmark: define a const struct bench in its mechanism file,
 * declare it here and put it in bench_registry[] inside its group.
 */
#include "bench.h"

extern const struct bench
	bench_native_getpid, bench_lol_runloop, bench_lol_reflect,
	bench_lol_exits_1cpu, bench_lol_exits_2cpu, bench_lol_runloop_idle,
	bench_ptrace_sysemu, bench_seccomp_trap, bench_sud,
	bench_seccomp_unotify, bench_seccomp_unotify_sync,
	bench_pipe_pingpong,
	bench_lol_fault, bench_sigsegv_mprotect,
	bench_lol_map256, bench_mmap256, bench_lol_unmap256, bench_munmap256,
	bench_lol_asswitch, bench_lol_fpu, bench_futex_handoff,
	bench_lol_hosttax, bench_hosttax_nolol,
	bench_seed_ctxsw, bench_seed_lat_pipe, bench_seed_lat_unix,
	bench_seed_lat_tcp, bench_seed_file_reread, bench_seed_mmap_reread;

const struct bench *const bench_registry[] = {
	/* guest-syscall round trip: one trivial syscall (getpid) */
	&bench_native_getpid,		/* reference: must stay first */
	&bench_lol_runloop,
	&bench_lol_reflect,
	&bench_lol_exits_1cpu,		/* guests on other CPUs, idle guests */
	&bench_lol_exits_2cpu,
	&bench_lol_runloop_idle,
	&bench_ptrace_sysemu,
	&bench_seccomp_trap,
	&bench_sud,
	&bench_seccomp_unotify,
	&bench_seccomp_unotify_sync,
	&bench_pipe_pingpong,
	/* guest page fault round trip */
	&bench_lol_fault,
	&bench_sigsegv_mprotect,
	/* guest memory changes: a batch of 256 single pages */
	&bench_lol_map256,
	&bench_mmap256,
	&bench_lol_unmap256,
	&bench_munmap256,
	/* address-space switch */
	&bench_lol_asswitch,
	&bench_lol_fpu,
	&bench_futex_handoff,
	/* host tax on an unrelated process */
	&bench_lol_hosttax,
	&bench_hosttax_nolol,
	/* the seed's host table */
	&bench_seed_ctxsw,
	&bench_seed_lat_pipe,
	&bench_seed_lat_unix,
	&bench_seed_lat_tcp,
	&bench_seed_file_reread,
	&bench_seed_mmap_reread,
};
const size_t bench_registry_len =
	sizeof(bench_registry) / sizeof(bench_registry[0]);

const struct bench_goal bench_goals[] = {
	{ "G1", "lol run-loop round trip <= 4x native getpid",
	  "lol-runloop", { "native-getpid", NULL }, GOAL_RATIO_LE, 4.0 },
	{ "G2", "lol run-loop >= 3x faster than SUD/seccomp SIGSYS",
	  "lol-runloop", { "sud", "seccomp-trap" }, GOAL_SPEEDUP_GE, 3.0 },
	{ "G3", "lol run-loop >= 10x faster than ptrace",
	  "lol-runloop", { "ptrace-sysemu", NULL }, GOAL_SPEEDUP_GE, 10.0 },
	{ "G4", "host tax of a busy lol guest <= 5%",
	  "lol-hosttax", { "hosttax-nolol", NULL }, GOAL_TAX_LE, 0.05 },
	{ "G5", "2 guests on 2 CPUs >= 1.8x the exits/s of 1",
	  "lol-exits-2cpu", { "lol-exits-1cpu", NULL }, GOAL_SPEEDUP_GE, 1.8 },
	{ "G6", "round trip with 1000 idle guests <= 1.05x without",
	  "lol-idle-runloop", { "lol-runloop", NULL }, GOAL_RATIO_LE, 1.05 },
	{ "G7", "lol fault round trip <= SIGSEGV + mprotect",
	  "lol-fault", { "sigsegv-mprotect", NULL }, GOAL_RATIO_LE, 1.0 },
	{ "G8", "lol run-loop round trip <= 6x native getpid",
	  "lol-runloop", { "native-getpid", NULL }, GOAL_RATIO_LE, 6.0 },
};
const size_t bench_goals_len = sizeof(bench_goals) / sizeof(bench_goals[0]);
