// SPDX-License-Identifier: GPL-2.0
/*
 * lol-fuzz: a seeded, time-bounded fuzzer for /dev/lol.
 *
 *	lol-fuzz [--seed N] [--seconds N] [--threads N] [--case N] [--verbose]
 *
 * The process you start is the supervisor. It runs "cases" one after
 * another, each in a fresh child process, until --seconds have passed. A
 * case's seed is derived from the run's seed and the case number, so
 * `lol-fuzz --seed S --case N` replays case N: the same operations in the
 * same order on every thread (how the threads interleave is up to the
 * scheduler). The seed is printed first, and again with every failure.
 *
 * A case opens /dev/lol (as root), creates guests with memfd phys memory,
 * vcpus with mapped run pages and address spaces, drops to uid 65534, and
 * starts worker threads that pick random operations: every lol ioctl on
 * every kind of fd with random and semi-valid arguments, AS batches with
 * random ranges, mmap/munmap of vcpu fds, LOL_RUN of generated guest code
 * (random bytes, privileged instructions, traps, syscalls, int $0x80,
 * sysenter, far returns and iret into 32-bit code, segment loads, FS/GS
 * base and PKRU writes, x87/SSE/AVX, wild jumps, endless loops), kicks and
 * kick storms, syscall range tables, FPU state, fds closed and dup'd under
 * other threads, signals and timers at random points, fork, and threads
 * racing LOL_RUN on one vcpu. The supervisor SIGSTOPs/SIGCONTs and now
 * and then SIGKILLs the case at a random moment.
 *
 * Two kinds of case:
 *   safe  guest syscalls are reflected (or killed). The monitor must come
 *         through intact: its death by any signal but SIGKILL, its FS base,
 *         FS/GS selectors, xmm8, MXCSR, x87 control word or PKRU changed
 *         across LOL_RUN, a forked child that can drive the parent's
 *         guest, or a worker that neither kicks nor signals get out of the
 *         kernel fails the run.
 *   wild  also NATIVE guest syscalls (the guest runs host syscalls on the
 *         monitor's thread, lol's ioctls included), monitor-mode ranges
 *         with in-place reflection, ptrace of the monitor and exec with
 *         threads in guest mode. The case may die any way it likes; only
 *         the kernel's health counts.
 * Every case ends killable: a case process SIGKILL cannot reap within 30 s
 * fails the run, and so does a kernel taint that appears during a case.
 *
 * The kernel's own verdict (KASAN, lockdep, WARN, kmemleak...) is in the
 * kernel log, which the harness judges (make fuzz, make check-debug).
 * Before each case the supervisor writes "lol-fuzz: case N seed S" to
 * /dev/kmsg, so a splat in the log follows the case that caused it.
 * See Documentation/hardening.md. This file is the driver; the case
 * logic and the per-arch guest-code generator are beside it (fuzz.h).
 */
#include "fuzz.h"

struct fz_opts o = { .tcg = -1, .seconds = 60, .threads = 3, .one_case = -1, .max_cases = -1,
	.wild_pct = 30, .kill_pct = 15 };
struct stats *st;
int kmsg_fd = -1;

/* ---- output -------------------------------------------------------------- */

/* One write per line: children share a pipe with their threads. */
void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "lol-fuzz: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0) {
		/* nothing to do */
	}
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the supervisor -------------------------------------------------------------- */

static void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (kmsg_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(kmsg_fd, buf, n) < 0) {
		/* rate limited or not root */
	}
}

static unsigned long read_taint(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Prints the kernel stacks of pid's tasks; true if lol's code is on one. */
static bool dump_task_stacks(pid_t pid)
{
	char path[300], line[256];
	struct dirent *de;
	bool lol = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
		line[0] = 0;
		f = fopen(path, "r");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = 0;
			fclose(f);
		}
		line[strcspn(line, "\n")] = 0;
		printf("lol-fuzz:   task %s: %.80s\n", de->d_name, line);
		/* A tracer (a guest's NATIVE ptrace) explains many a zombie. */
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, de->d_name);
		f = fopen(path, "r");
		if (f) {
			while (fgets(line, sizeof(line), f))
				if (!strncmp(line, "TracerPid:", 10) &&
				    atoi(line + 10))
					printf("lol-fuzz:     %s", line);
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			printf("lol-fuzz:     %s", line);
			if (strstr(line, "[lol]") || strstr(line, " lol_"))
				lol = true;
		}
		fclose(f);
	}
	closedir(d);
	fflush(stdout);
	return lol;
}

/*
 * Reaps what has ended among our children and tracees; true once the case
 * process pid has. A wild case's NATIVE PTRACE_TRACEME makes us the
 * tracer of one of its threads: that thread then waits for us when it
 * stops (we detach it, passing its signal on) and when it dies (its
 * zombie holds the whole case's exit until reaped with __WALL).
 */
static bool reap_case(pid_t pid, int *status)
{
	int st;
	pid_t w;

	while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		if (WIFSTOPPED(st)) {
			if (o.verbose)
				printf("lol-fuzz: task %d stopped under our trace (signal %d): detached\n",
				       w, WSTOPSIG(st));
			ptrace(PTRACE_DETACH, w, 0,
			       WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st));
			continue;
		}
		if (w == pid) {
			*status = st;
			return true;
		}
	}
	return false;
}

/* Our children (subreaper: orphans of cases land here too). */
static void kill_strays(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t me = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		int ppid = 0;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %d", &ppid);
		fclose(f);
		if (ppid == me)
			kill(atoi(de->d_name), SIGKILL);
	}
	closedir(d);
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

/*
 * Forwards the lines of a case that are ours (guest code may write
 * anything to the case's stdout); returns what read() returned.
 */
static ssize_t forward(int fd, char *acc, size_t *len, bool *stuck,
		       bool *said_fail)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (*len < 1023)
			acc[(*len)++] = buf[i];
		if (buf[i] != '\n')
			continue;
		acc[*len] = 0;
		if (!strncmp(acc, "lol-fuzz: ", 10)) {
			fputs(acc, stdout);
			if (strstr(acc, "STUCK"))
				*stuck = true;
			if (!strncmp(acc, "lol-fuzz: FAIL", 14))
				*said_fail = true;
		}
		*len = 0;
	}
	fflush(stdout);
	return n;
}

static int failures;

static void failed(long idx, uint64_t cseed, bool wild, const char *what)
{
	failures++;
	printf("lol-fuzz: FAIL case %ld (%s, case seed %#llx): %s\n", idx,
	       wild ? "wild" : "safe", (unsigned long long)cseed, what);
	printf("lol-fuzz: reproduce: lol-fuzz --seed %#llx --case %ld\n",
	       (unsigned long long)o.seed, idx);
	fflush(stdout);
}

/*
 * Runs case idx; returns false when the run must stop. The case gets its
 * budget plus LATE_S seconds to end; then (or as soon as it says STUCK)
 * its kernel stacks are printed and it is SIGKILLed, and it must be gone
 * DEATH_S seconds later.
 */
#define LATE_S	60
#define DEATH_S	30

static bool supervise(long idx, unsigned long *taint)
{
	uint64_t cseed = mix(o.seed, idx);
	struct rng r = { cseed };
	bool wild = chance(&r, o.wild_pct);
	int nthreads = 1 + below(&r, o.threads);
	int budget = 150 + below(&r, 1350);
	int kill_at = chance(&r, o.kill_pct) ? (int)below(&r, budget) : -1;
	double t0 = now(), last_cont = 0, killed_at = -1;
	bool stuck = false, late = false, in_lol = false, said_fail = false;
	int pipefd[2], status = 0;
	char acc[1024];
	size_t len = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return false;
	kmsg("<6>lol-fuzz: case %ld seed %#llx %s threads %d\n", idx,
	     (unsigned long long)cseed, wild ? "wild" : "safe", nthreads);
	if (o.verbose)
		printf("lol-fuzz: case %ld seed %#llx %s, %d thread(s), %d ms%s\n",
		       idx, (unsigned long long)cseed, wild ? "wild" : "safe",
		       nthreads, budget, kill_at >= 0 ? ", SIGKILL" : "");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (null > 2)
			close(null);
		C.idx = idx;
		run_case(mix(cseed, 7), wild, nthreads, budget);
	}
	setpgid(pid, pid);
	close(pipefd[1]);

	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		double t;

		if (poll(&pfd, 1, 20) > 0)
			forward(pipefd[0], acc, &len, &stuck, &said_fail);
		if (reap_case(pid, &status))
			break;
		t = now() - t0;
		if (t - last_cont > 0.1) {
			kill(-pid, SIGCONT);
			last_cont = t;
		}
		if (kill_at >= 0 && killed_at < 0 && t * 1000 >= kill_at) {
			kill(-pid, SIGKILL);
			killed_at = t;
		}
		if (!late && (stuck || t > budget / 1000.0 + LATE_S)) {
			printf("lol-fuzz: case %ld %s after %.0f s; kernel stacks:\n",
			       idx, stuck ? "is stuck" : "did not end", t);
			in_lol = dump_task_stacks(pid);
			late = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed_at = t;
		}
		if (killed_at >= 0 && t > killed_at + DEATH_S) {
			printf("lol-fuzz: case %ld: SIGKILLed %.0f s ago and still there:\n",
			       idx, t - killed_at);
			dump_task_stacks(pid);
			failed(idx, cseed, wild, "the case process survives SIGKILL (unkillable task)");
			return false;
		}
	}
	/* The case is gone; its children may still hold the pipe. */
	while (poll(&(struct pollfd){ pipefd[0], POLLIN, 0 }, 1, 0) > 0 &&
	       forward(pipefd[0], acc, &len, &stuck, &said_fail) > 0)
		;
	close(pipefd[0]);
	kill(-pid, SIGKILL);
	kill_strays();

	if (o.verbose && !late)
		printf("lol-fuzz: case %ld ended: %s %d%s\n", idx,
		       WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		       said_fail ? ", after a FAIL line" : "");
	if (late) {
		/*
		 * Wild cases may block themselves (a NATIVE guest syscall can
		 * do anything to the thread); only lol's code on a stuck
		 * task's kernel stack counts there.
		 */
		if (!wild || in_lol)
			failed(idx, cseed, wild, stuck ?
			       "a worker never left the kernel (see STUCK and the stacks above)" :
			       "the case did not end in time (see the stacks above)");
	} else if (WIFEXITED(status) && wild && !said_fail) {
		/*
		 * A wild guest's NATIVE exit_group() ends the case with any
		 * status it likes: only a FAIL line from the case counts.
		 */
	} else if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case 0:
			break;
		case 1:
			failed(idx, cseed, wild, "the monitor saw broken state (see FAIL above)");
			break;
		case 2:
			printf("lol-fuzz: case setup failed (module loaded? root?)\n");
			failures++;
			return false;
		case 5:
			failed(idx, cseed, wild, "the monitor crashed (see FAIL above)");
			break;
		default:
			if (!wild)
				failed(idx, cseed, wild, "unexpected exit status");
			break;
		}
	} else if (WIFSIGNALED(status) && !wild && WTERMSIG(status) != SIGKILL) {
		char what[64];

		snprintf(what, sizeof(what), "the monitor died of signal %d",
			 WTERMSIG(status));
		failed(idx, cseed, wild, what);
	}

	unsigned long nt = read_taint();

	if ((nt & ~(*taint | 4096UL | 8192UL)) != 0) {
		char what[80];

		snprintf(what, sizeof(what), "kernel taint %lu -> %lu (see the kernel log)",
			 *taint, nt);
		failed(idx, cseed, wild, what);
		*taint = nt;
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: lol-fuzz [--seed N] [--seconds N] [--threads N] [--case N]\n"
"                [--cases N] [--wild PCT] [--kill PCT] [--no-nested]\n"
"                [--tcg 0|1|auto] [--trace]\n"
"                [--verbose] [--help]\n"
"\n"
"Fuzzes /dev/lol (load lol.ko first; run as root) for --seconds (default\n"
"60) in cases of up to --threads (default 3) worker threads, each case in\n"
"its own process. Prints the seed first; a failure prints FAIL and the\n"
"command that replays its case. Exit status 0 when nothing failed. The\n"
"kernel log is the other half of the verdict: run it under make fuzz or\n"
"make check-debug, or read dmesg afterwards.\n"
"\n"
"  --seed N      run seed (default: from the clock); 0x... accepted\n"
"  --case N      run only case N of the seed (replay)\n"
"  --cases N     stop after N cases\n"
"  --wild PCT    share of wild cases (NATIVE syscalls, monitor mode,\n"
"                ptrace, exec), default 30\n"
"  --kill PCT    share of cases SIGKILLed at a random moment, default 15\n"
"  --no-nested   leave out the guest stub that calls lol from the guest\n"
"  --tcg 0|1|auto  avoid user-mode lret/iret/lcall, which oops any kernel\n"
"                under QEMU 7.2 TCG with SMAP (auto: cpuid says TCG)\n"
"  --verbose     a line per case, odd errnos and exit reasons\n"
"  --trace       also each operation, and each LOL_RUN's registers and\n"
"                code bytes, into the kernel log (for replaying a case)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'c' },
		{ "cases", required_argument, NULL, 'n' },
		{ "wild", required_argument, NULL, 'w' },
		{ "kill", required_argument, NULL, 'k' },
		{ "no-nested", no_argument, NULL, 'N' },
		{ "tcg", required_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "trace", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "exec-noop", no_argument, NULL, 'x' },
		{ 0 }
	};
	bool have_seed = false;
	unsigned long taint;
	double t0, last;
	long idx = 0;
	int c;

	while ((c = getopt_long(argc, argv, "s:t:j:c:n:w:k:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 's': o.seed = strtoull(optarg, NULL, 0); have_seed = true; break;
		case 't': o.seconds = atoi(optarg); break;
		case 'j': o.threads = atoi(optarg); break;
		case 'c': o.one_case = strtol(optarg, NULL, 0); break;
		case 'n': o.max_cases = strtol(optarg, NULL, 0); break;
		case 'w': o.wild_pct = atoi(optarg); break;
		case 'k': o.kill_pct = atoi(optarg); break;
		case 'N': o.no_nested = true; break;
		case 'G': o.tcg = !strcmp(optarg, "auto") ? -1 : atoi(optarg) != 0; break;
		case 'v': o.verbose = o.verbose > 1 ? o.verbose : 1; break;
		case 'T': o.verbose = 2; break;
		case 'x': return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || o.threads < 1 || o.threads > MAXTHR || o.seconds < 0) {
		usage(stderr);
		return 2;
	}
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.seed = mix(ts.tv_sec, ts.tv_nsec ^ getpid());
	}
	if (o.tcg < 0)
		o.tcg = fz_under_tcg();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("lol-fuzz: seed=%#llx seconds=%d threads=%d wild=%d%% kill=%d%%%s%s\n",
	       (unsigned long long)o.seed, o.seconds, o.threads, o.wild_pct,
	       o.kill_pct, o.tcg ? " tcg" : "",
	       o.one_case >= 0 ? " (one case)" : "");

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return 2;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	/* Case markers into the kernel log, without /dev/kmsg's rate limit. */
	{
		int f = open("/proc/sys/kernel/printk_devkmsg", O_WRONLY);

		if (f >= 0) {
			if (write(f, "on\n", 3) < 0) {
				/* not root */
			}
			close(f);
		}
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	}
	/*
	 * Wild cases may reset the monitor's SIGSEGV handler (a NATIVE guest
	 * rt_sigaction), and then every guest #GP prints "traps: ...
	 * general protection fault ip:..." -- user-space noise that log
	 * checkers take for a kernel GPF. Quiet it for the run.
	 */
	char etrace[16] = "";
	{
		int f = open("/proc/sys/debug/exception-trace", O_RDWR);

		if (f >= 0) {
			ssize_t n = read(f, etrace, sizeof(etrace) - 1);

			etrace[n > 0 ? n : 0] = 0;
			if (pwrite(f, "0\n", 2, 0) < 0)
				etrace[0] = 0;
			close(f);
		}
	}
	taint = read_taint();
	t0 = last = now();
	kmsg("<6>lol-fuzz: seed %#llx\n", (unsigned long long)o.seed);

	if (o.one_case >= 0) {
		supervise(o.one_case, &taint);
		idx = 1;
	} else {
		while (now() - t0 < o.seconds && (o.max_cases < 0 || idx < o.max_cases)) {
			if (!supervise(idx++, &taint))
				break;
			if (now() - last >= 10) {
				last = now();
				printf("lol-fuzz: %.0f s, %ld cases, %lu ops, %lu runs, %lu ioctls\n",
				       last - t0, idx, st->ops, st->runs, st->ioctls);
			}
		}
	}
	printf("lol-fuzz: %ld case(s) in %.0f s: %lu ops, %lu ioctls, %lu runs "
	       "(exits: syscall %lu, fault %lu, trap %lu, kick %lu, intr %lu; "
	       "EINTR %lu, EBUSY %lu, other errors %lu), %lu AS batches, "
	       "%lu kicks, %lu forks, %lu upcalls, %lu odd\n",
	       idx, now() - t0, st->ops, st->ioctls, st->runs,
	       st->exits[LOL_EXIT_SYSCALL], st->exits[LOL_EXIT_FAULT],
	       st->exits[LOL_EXIT_TRAP], st->exits[LOL_EXIT_KICK],
	       st->exits[LOL_EXIT_INTR], st->eintr, st->ebusy, st->run_err,
	       st->asops, st->kicks, st->forks, st->upcalls, st->odd);
	kmsg("<6>lol-fuzz: done, %d failure(s)\n", failures);
	if (etrace[0]) {
		int f = open("/proc/sys/debug/exception-trace", O_WRONLY);

		if (f >= 0) {
			if (write(f, etrace, strlen(etrace)) < 0) {
				/* leave it */
			}
			close(f);
		}
	}
	printf("lol-fuzz: %s: seed=%#llx, %d failure(s)\n",
	       failures ? "FAIL" : "ok", (unsigned long long)o.seed, failures);
	return failures ? 1 : 0;
}

