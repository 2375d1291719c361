// SPDX-License-Identifier: GPL-2.0
/*
 * lol-bench: command line, benchmark selection, progress, output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "bench.h"

static const char usage_text[] =
"NAME\n"
"    lol-bench - guest-syscall, fault, address-space and host benchmarks for lol\n"
"\n"
"SYNOPSIS\n"
"    lol-bench [--runs N] [--iters N] [--filter SUBSTR] [--json FILE]\n"
"              [--quick] [--list] [--profile ID] [--help]\n"
"\n"
"DESCRIPTION\n"
"    Measures, in one run and side by side, what it costs to intercept a\n"
"    guest's system call with lol and with the mechanisms it replaces:\n"
"\n"
"    guest-syscall round trip (one getpid, emulated by the monitor)\n"
"        native getpid (the reference of the ratio column), lol run-loop\n"
"        exit, lol in-place reflection, lol exits of one guest and of two\n"
"        independent guests on two CPUs at once (needs 2 CPUs), the lol\n"
"        run-loop with 1000 idle guests present (raises the module's\n"
"        max_guests_per_user and RLIMIT_NOFILE for it, then restores\n"
"        them), ptrace PTRACE_SYSEMU with a tracer\n"
"        process (UML skas0 / gVisor ptrace), seccomp SECCOMP_RET_TRAP with\n"
"        an in-thread SIGSYS handler, Syscall User Dispatch SIGSYS, seccomp\n"
"        user notification with a supervisor thread (also with\n"
"        SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), and a pipe ping-pong between\n"
"        two processes (the context-switch floor).\n"
"    guest page-fault round trip\n"
"        lol LOL_EXIT_FAULT, map, re-run against SIGSEGV handler + mprotect.\n"
"    address-space switch\n"
"        lol LOL_RUN into two address spaces alternately against two\n"
"        processes handing off through a futex (per A->B->A round trip).\n"
"    host tax\n"
"        getpid of an unrelated process while a busy lol guest runs,\n"
"        against a busy process that does not use lol; timed in the\n"
"        measured process's CPU time (CLOCK_THREAD_CPUTIME_ID).\n"
"    seed host table (lmbench-style, our own code)\n"
"        2-process context switch 2p/0k, pipe, AF_UNIX stream and TCP\n"
"        127.0.0.1 latency, file reread and mmap reread of a tmpfs file.\n"
"\n"
"    Every benchmark runs in its own child process (a seccomp filter or a\n"
"    crash stays there), pinned with sched_setaffinity to one CPU together\n"
"    with its peer processes and threads.  It is warmed up, then timed with\n"
"    CLOCK_MONOTONIC over several runs of M operations each, M calibrated\n"
"    so that one run lasts a fixed time; the table shows the per-operation\n"
"    median, min and max over the runs.  A benchmark that cannot run\n"
"    (missing /dev/lol, EPERM, old kernel, crash, timeout) is reported as\n"
"    \"n/a (reason)\"; no number is ever made up.\n"
"\n"
"    Goals (column \"goal\" and the list below the table):\n"
"        G1  lol run-loop round trip <= 4x native getpid\n"
"        G2  lol run-loop >= 3x faster than SUD / seccomp SIGSYS (the faster)\n"
"        G3  lol run-loop >= 10x faster than ptrace\n"
"        G4  host tax of a busy lol guest <= 5%\n"
"        G5  2 guests on 2 CPUs >= 1.8x the exits/s of 1\n"
"        G6  lol run-loop with 1000 idle guests <= 1.05x without\n"
"        G7  lol fault round trip <= SIGSEGV + mprotect\n"
"        G8  lol run-loop round trip <= 6x native getpid\n"
"\n"
"OPTIONS\n"
"    --runs N        measured runs per benchmark (default 11, --quick 5;\n"
"                    at most 100)\n"
"    --iters N       operations per run instead of the calibration\n"
"    --filter SUBSTR run only benchmarks whose id, mechanism, operation or\n"
"                    group contains SUBSTR (case-insensitive); native\n"
"                    getpid always runs, as the reference\n"
"    --json FILE     also write the results as JSON to FILE\n"
"    --quick         shorter runs (~20 ms instead of ~100 ms) and fewer of\n"
"                    them: for slow emulators (TCG)\n"
"    --list          list the benchmarks and exit\n"
"    --profile ID    bracket the measured runs of benchmark ID with calls\n"
"                    to two marker pages at 0x7e570000 and 0x7e571000,\n"
"                    for scripts/profile.sh's instruction profiler; prints\n"
"                    \"LOL-PROF-OPS N\" (operations inside the markers)\n"
"    --help          this text\n"
"\n"
"OUTPUT\n"
"    stdout: a header (date, kernel, CPU model, accelerator, clock, CPU\n"
"    pinning, method), the table (mechanism, operation, median, min, max,\n"
"    ratio to native getpid, goal verdict PASS/MISS/n/a), notes and the\n"
"    goals.  stderr: one progress line per benchmark.  The JSON file has\n"
"    the same data: per result id, group, mechanism, operation, unit,\n"
"    clock, status, reason, median, min, max, runs, iters_per_run,\n"
"    ratio_to_native, samples; and accelerator, kernel, cpu_model, clock\n"
"    and goals at the top level.  Throughput rows are in MB/s (2^20 bytes\n"
"    per MB); their min is the slowest run.\n"
"\n"
"ENVIRONMENT\n"
"    LOL_ACCEL   how the machine is run, printed in the header and the\n"
"                JSON (e.g. \"KVM\", \"TCG\", \"TCG -icount shift=0\");\n"
"                \"native\" when unset.  Under TCG absolute times mean\n"
"                little: compare the ratios taken in one run.\n"
"\n"
"EXIT STATUS\n"
"    0 when the benchmarks ran (n/a rows included), 1 on a usage error\n"
"    or when the JSON file could not be written.\n";

static int match(const struct bench *b, const char *f)
{
	return strcasestr(b->id, f) || strcasestr(b->mech, f) ||
	       strcasestr(b->op, f) ||
	       strcasestr(bench_group_name(b->group), f);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' },
		{ "filter", required_argument, NULL, 'f' },
		{ "json", required_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "list", no_argument, NULL, 'l' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .timeout_s = 60 };
	const char *filter = NULL, *json = NULL;
	struct bench_result *res;
	struct bench_host host;
	uint64_t runs = 0, v;
	size_t i, n = 0, total = 0;
	int c, list = 0, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_u64(optarg, &runs) || !runs ||
			    runs > BENCH_MAX_RUNS) {
				fprintf(stderr, "lol-bench: --runs wants 1..%d\n",
					BENCH_MAX_RUNS);
				return 1;
			}
			break;
		case 'i':
			if (parse_u64(optarg, &v) || !v) {
				fprintf(stderr, "lol-bench: --iters wants a positive number\n");
				return 1;
			}
			o.iters = v;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'q':
			o.quick = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'p':
			o.profile = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "usage: lol-bench [--runs N] [--iters N] [--filter SUBSTR] [--json FILE] [--quick] [--list] [--profile ID] [--help]\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lol-bench: unexpected argument '%s'\n",
			argv[optind]);
		return 1;
	}

	if (list) {
		for (i = 0; i < bench_registry_len; i++) {
			const struct bench *b = bench_registry[i];

			if (filter && !match(b, filter))
				continue;
			printf("%-22s %-28s %-26s %s\n", b->id,
			       bench_group_name(b->group), b->mech, b->op);
		}
		return 0;
	}

	if (json) {
		/* Fail now, not after the whole run. */
		FILE *f = fopen(json, "w");

		if (!f) {
			fprintf(stderr, "lol-bench: %s: %s\n", json,
				strerror(errno));
			return 1;
		}
		fclose(f);
	}

	o.runs = runs ? (unsigned int)runs : o.quick ? 5 : 11;
	o.run_ns = o.quick ? 20e6 : 100e6;
	o.warmup_ns = o.run_ns;
	bench_pick_cpus(&o.cpu, &o.other_cpu);
	/*
	 * Pin ourselves too: a benchmark child then never runs anywhere else,
	 * its mm is live on that CPU only, and mprotect()/munmap() need no
	 * TLB-shootdown IPIs to a CPU it merely started on.
	 */
	if (o.cpu >= 0 && bench_pin(o.cpu))
		o.cpu = -1;
	/* Orphaned peers of a finished benchmark come back to us to reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	res = calloc(bench_registry_len, sizeof(*res));
	if (!res) {
		perror("lol-bench: calloc");
		return 1;
	}
	for (i = 0; i < bench_registry_len; i++)
		if (!filter || match(bench_registry[i], filter) ||
		    !strcmp(bench_registry[i]->id, BENCH_REF_ID))
			total++;

	bench_host_info(&host, &o);
	bench_print_header(&host, &o);
	fflush(stdout);

	for (i = 0; i < bench_registry_len; i++) {
		const struct bench *b = bench_registry[i];
		struct bench_result *r = &res[n];
		char med[32];

		if (filter && !match(b, filter) && strcmp(b->id, BENCH_REF_ID))
			continue;
		fprintf(stderr, "lol-bench: [%2zu/%zu] %s: %s ... ", n + 1, total,
			b->mech, b->op);
		bench_measure(b, &o, r);
		if (r->ok)
			fprintf(stderr, "%s (median of %u x %llu, %.1f s)\n",
				bench_fmt_value(r, r->median, med, sizeof(med)),
				r->runs, (unsigned long long)r->iters,
				r->wall_s);
		else
			fprintf(stderr, "n/a (%s)\n", r->reason);
		n++;
	}

	fprintf(stderr, "\n");
	bench_print_table(res, n);
	fflush(stdout);

	if (json) {
		rc = bench_write_json(json, &host, &o, res, n);
		if (rc) {
			fprintf(stderr, "lol-bench: writing %s: %s\n", json,
				strerror(-rc));
			free(res);
			return 1;
		}
		fprintf(stderr, "lol-bench: results written to %s\n", json);
	}
	free(res);
	return 0;
}
