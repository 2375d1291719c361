// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: a test suite that runs inside a guest Linux (UML on lol,
 * UML on ptrace) and natively, with the same pass set, to show that the
 * guest kernel works. This file is the runner: options, one forked
 * process per case with a timeout, TAP output. The cases are in
 * cases_*.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suite.h"
#include "cli.h"

#define EXIT_USAGE	LOL_EXIT_USAGE
#define DEFAULT_TIMEOUT	60

const struct guest_case guest_cases[] = {
	{ "fork_exec_wait", "fork+exec storm, vfork, reparenting to a subreaper",
	  case_fork_exec_wait },
	{ "pipes", "pipe ping-pong, 1 MiB transfer, O_NONBLOCK, EPIPE",
	  case_pipes },
	{ "signals", "siginfo, sigreturn registers, alarm, masks, SA_RESTART, SIGSEGV fix-up",
	  case_signals },
	{ "memory", "mmap anon/file, mprotect, mremap, brk, MAP_SHARED, MADV_DONTNEED",
	  case_memory },
	{ "cow", "copy-on-write of 4 MiB after fork, both directions",
	  case_cow },
	{ "threads", "mutex counter, futex ping-pong, TLS and fs base, pthread_kill",
	  case_threads },
	{ "fpu", "xmm/ymm/x87/MXCSR state across context switches and signal handlers",
	  case_fpu },
	{ "file_io", "a tree of files: write, read, fsync, rename, truncate, pread/pwrite",
	  case_file_io },
	{ "tcp_loopback", "TCP echo of 256 KiB over 127.0.0.1, UDP datagram",
	  case_tcp_loopback },
	{ "ptrace", "PTRACE_SYSCALL stops, GETREGS, PEEKDATA/POKEDATA",
	  case_ptrace },
	{ "big_memory", "touch LOL_GUEST_SUITE_BIG_MB (512) MiB in random page order",
	  case_big_memory },
	{ "kill_mid_syscall", "SIGKILL of children in read, nanosleep, getppid loop, threads",
	  case_kill_mid_syscall },
};
const size_t guest_case_count = sizeof(guest_cases) / sizeof(guest_cases[0]);

static const char *progname = "lol-guest-suite";

static const char usage_text[] =
"NAME\n"
"	lol-guest-suite - check that a (guest) Linux kernel runs user\n"
"	processes correctly\n"
"\n"
"SYNOPSIS\n"
"	lol-guest-suite [-q] [-T SECS] [-t CASE]...\n"
"	lol-guest-suite -l\n"
"	lol-guest-suite -h | --help\n"
"\n"
"DESCRIPTION\n"
"	lol-guest-suite runs small tests of what a kernel does for user\n"
"	processes: fork, exec, wait, pipes, signals, memory management,\n"
"	copy-on-write, threads, FP/vector state, files, TCP loopback,\n"
"	ptrace, a large working set and SIGKILL in the middle of system\n"
"	calls. It is meant to run inside a User-Mode Linux guest on lol,\n"
"	inside one on ptrace, and natively, with the same results.\n"
"\n"
"	Each case runs in a forked process of its own (its own process\n"
"	group) with a timeout, in a fresh directory under $TMPDIR (or\n"
"	/tmp), so a crash or a hang fails that case only. The output is\n"
"	TAP version 13, as in kselftest, ending with the line\n"
"\n"
"		# guest-suite: P passed, F failed, S skipped\n"
"\n"
"	A failing case prints a diagnostic \"# CASE: FILE:LINE: what\" with\n"
"	what was expected and what came instead before its \"not ok\" line.\n"
"\n"
"	The program must be linked statically and be reachable through\n"
"	/proc/self/exe (it execs itself in a helper mode).\n"
"\n"
"OPTIONS\n"
"	-l, --list\n"
"		Print the names of the cases, one a line, and exit.\n"
"\n"
"	-t, --test CASE\n"
"		Run CASE only; repeat to run several, in the order given.\n"
"\n"
"	-T, --timeout SECS\n"
"		Fail a case that runs for more than SECS seconds (default "
	"60).\n"
"\n"
"	-q, --quiet\n"
"		Leave out the informational diagnostics (timings, sizes);\n"
"		failures are always explained.\n"
"\n"
"	-h, --help\n"
"		Print this help and exit.\n"
"\n";

/* Between the two halves of the help, --help prints the CASES section. */
static const char usage_text2[] =
"ENVIRONMENT\n"
"	LOL_GUEST_SUITE_SCALE\n"
"		Multiply the iteration counts by this number (default 1;\n"
"		0.1 for a slow emulated guest, 10 for a longer soak).\n"
"\n"
"	LOL_GUEST_SUITE_BIG_MB\n"
"		How many MiB big_memory touches (default 512). It skips\n"
"		when the memory cannot be had, saying how much it tried.\n"
"\n"
"	TMPDIR\n"
"		Where the cases make their files (default /tmp).\n"
"\n"
"EXIT STATUS\n"
"	0	every case passed or was skipped\n"
"	1	a case failed or timed out\n"
"	2	usage error\n"
"\n"
"EXAMPLES\n"
"	Run everything, with a smaller working set for a small guest:\n"
"\n"
"		$ LOL_GUEST_SUITE_BIG_MB=64 lol-guest-suite\n"
"		TAP version 13\n"
"		1..12\n"
"		ok 1 fork_exec_wait\n"
"		...\n"
"		# guest-suite: 12 passed, 0 failed, 0 skipped\n"
"\n"
"	Run two cases with a 10 s timeout each:\n"
"\n"
"		$ lol-guest-suite -T 10 -t signals -t fpu\n"
"\n"
"SEE ALSO\n"
"	lol-guest-bench(1), userspace/guest/README.md in the lol source\n"
"	tree.\n";

static void usage(void)
{
	size_t i;

	fputs(usage_text, stdout);
	printf("CASES\n");
	for (i = 0; i < guest_case_count; i++)
		printf("	%-18s%s\n", guest_cases[i].name,
		       guest_cases[i].summary);
	printf("\n");
	fputs(usage_text2, stdout);
}

static int usage_error(const char *fmt, const char *arg)
{
	return lol_usage_error(progname, fmt, arg);
}


int helper_child_exit(int argc, char **argv)
{
	const char *env = getenv(HELPER_EXIT_ENV);
	char *end;
	long n;

	if (argc != 3 || !env || strcmp(env, argv[2]))
		return 254;
	n = strtol(argv[2], &end, 10);
	if (*end || n < 0 || n > 253)
		return 254;
	return n;
}

/* The first line the case's processes wrote to the reason pipe. */
static void read_reason(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);
	char *nl;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
}

struct totals {
	int passed, failed, skipped;
};

static void run_case(int num, const struct guest_case *c,
		     const char *tmpbase, int timeout_s, struct totals *t)
{
	char dir[PATH_MAX], reason[512], st[64];
	bool timed_out = false;
	sigset_t chld, empty;
	double t0, elapsed;
	int rp[2], status;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/lol-guest-suite.XXXXXX", tmpbase);
	if (!mkdtemp(dir)) {
		printf("# %s: cannot create a directory in %s: %s\n",
		       c->name, tmpbase, errno_name(errno));
		printf("not ok %d %s # no temporary directory\n", num, c->name);
		fflush(stdout);
		t->failed++;
		return;
	}
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK)) {
		printf("not ok %d %s # pipe2: %s\n", num, c->name,
		       errno_name(errno));
		fflush(stdout);
		rm_tree(dir);
		t->failed++;
		return;
	}

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigemptyset(&empty);
	fflush(stdout);
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		close(rp[0]);
		case_reason_fd = rp[1];
		case_name = c->name;
		case_tmpdir = dir;
		if (chdir(dir))
			_exit(FAIL("chdir %s: %s", dir, errno_name(errno)));
		sigprocmask(SIG_SETMASK, &empty, NULL);
		_exit(c->fn());
	}
	close(rp[1]);
	if (pid < 0) {
		printf("not ok %d %s # fork: %s\n", num, c->name,
		       errno_name(errno));
		fflush(stdout);
		close(rp[0]);
		rm_tree(dir);
		t->failed++;
		return;
	}
	/* Both sides, so that a kill(-pid) can never miss. */
	setpgid(pid, pid);

	for (;;) {
		double left = t0 + timeout_s * 1e3 - now_ms();
		struct timespec ts;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			status = 0xff00;	/* "exited 255" */
			break;
		}
		if (left <= 0) {
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		ts.tv_sec = (time_t)(left / 1e3);
		ts.tv_nsec = (long)((left - ts.tv_sec * 1e3) * 1e6);
		sigtimedwait(&chld, NULL, &ts);
	}
	elapsed = now_ms() - t0;

	/* Whatever the case left running goes now; orphans come to us. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	read_reason(rp[0], reason, sizeof(reason));
	close(rp[0]);
	rm_tree(dir);

	if (!suite_quiet)
		printf("# %s: %.3f s\n", c->name, elapsed / 1e3);
	if (timed_out) {
		printf("# %s: still running after %d s, killed\n", c->name,
		       timeout_s);
		printf("not ok %d %s # timeout\n", num, c->name);
		t->failed++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == CASE_PASS) {
		printf("ok %d %s\n", num, c->name);
		t->passed++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == CASE_SKIP) {
		printf("ok %d %s # SKIP %s\n", num, c->name,
		       reason[0] ? reason : "skipped");
		t->skipped++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == CASE_FAIL) {
		printf("not ok %d %s # %s\n", num, c->name,
		       reason[0] ? reason : "failed");
		t->failed++;
	} else {
		status_str(status, st, sizeof(st));
		printf("# %s: the case process %s%s\n", c->name, st,
		       WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ?
		       " (out of memory?)" : "");
		printf("not ok %d %s # %s%s%s\n", num, c->name, st,
		       reason[0] ? ": " : "", reason);
		t->failed++;
	}
	fflush(stdout);
}

static const struct guest_case *find_case(const char *name)
{
	size_t i;

	for (i = 0; i < guest_case_count; i++)
		if (!strcmp(guest_cases[i].name, name))
			return &guest_cases[i];
	return NULL;
}

static void find_self(const char *argv0)
{
	static char path[PATH_MAX];

	if (access("/proc/self/exe", X_OK) == 0)
		return;
	/* No /proc: fall back to argv[0], which works from a shell. */
	if (strchr(argv0, '/') && realpath(argv0, path))
		self_exe = path;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "test", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct guest_case **run;
	struct totals t = { 0 };
	const char *tmpbase, *env;
	int timeout_s = DEFAULT_TIMEOUT;
	size_t nrun = 0, i;
	struct utsname u;
	bool list = false;
	sigset_t chld;
	char *end;
	int c;

	/* The helper modes come first: they must stay cheap. */
	if (argc >= 2 && !strcmp(argv[1], HELPER_EXIT_ARG))
		return helper_child_exit(argc, argv);

	if (argc > 0 && argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
	}

	run = calloc(argc + guest_case_count, sizeof(*run));
	if (!run)
		return EXIT_FAILURE;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":lt:T:qh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 't':
			run[nrun] = find_case(optarg);
			if (!run[nrun])
				return usage_error("unknown case '%s' (see -l)",
						   optarg);
			nrun++;
			break;
		case 'T':
			errno = 0;
			timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || timeout_s <= 0)
				return usage_error("bad timeout '%s'", optarg);
			break;
		case 'q':
			suite_quiet = true;
			break;
		case 'h':
			usage();
			return EXIT_SUCCESS;
		default:	/* ':' or '?' */
			return lol_getopt_error(progname, c, argv);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	if (list) {
		for (i = 0; i < guest_case_count; i++)
			printf("%s\n", guest_cases[i].name);
		return EXIT_SUCCESS;
	}
	if (!nrun)
		for (; nrun < guest_case_count; nrun++)
			run[nrun] = &guest_cases[nrun];

	env = getenv("LOL_GUEST_SUITE_SCALE");
	if (env && *env) {
		suite_scale = strtod(env, &end);
		if (*end || !(suite_scale > 0)) {
			fprintf(stderr, "%s: bad LOL_GUEST_SUITE_SCALE '%s'\n",
				progname, env);
			return EXIT_USAGE;
		}
	}
	tmpbase = getenv("TMPDIR");
	if (!tmpbase || !*tmpbase)
		tmpbase = "/tmp";
	find_self(argv[0]);

	/*
	 * Processes a case orphans come back to the runner, which reaps
	 * them; SIGCHLD stays blocked so that sigtimedwait() can wait for
	 * the case with a timeout.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	printf("TAP version 13\n");
	printf("1..%zu\n", nrun);
	if (!suite_quiet && uname(&u) == 0)
		printf("# lol-guest-suite: %s %s %s, scale %g, timeout %d s, tmpdir %s\n",
		       u.sysname, u.release, u.machine, suite_scale,
		       timeout_s, tmpbase);
	fflush(stdout);

	for (i = 0; i < nrun; i++)
		run_case(i + 1, run[i], tmpbase, timeout_s, &t);

	printf("# guest-suite: %d passed, %d failed, %d skipped\n",
	       t.passed, t.failed, t.skipped);
	if (fflush(stdout) == EOF)
		return EXIT_FAILURE;
	free(run);
	return t.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
