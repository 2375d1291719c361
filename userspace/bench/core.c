// SPDX-License-Identifier: GPL-2.0
/*
 * lol-bench core: CPU pinning, one child process per benchmark,
 * time-targeted calibration, warm-up, N runs x M iterations and the
 * per-op min/median/max.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "bench.h"

double bench_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int bench_fail(struct bench_state *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err < 0 ? err : -EIO);
}

void bench_note(struct bench_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->note, sizeof(st->note), fmt, ap);
	va_end(ap);
}

/*
 * Latency benchmarks run on one CPU: the last CPU we may use (CPU 0
 * usually takes more interrupts); every peer process or thread inherits
 * it.  @other_cpu is a second allowed CPU for a competitor, -1 if none.
 */
int bench_pick_cpus(int *cpu, int *other_cpu)
{
	cpu_set_t set;
	int i, first = -1, last = -1;

	*cpu = -1;
	*other_cpu = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (first < 0)
			first = i;
		last = i;
	}
	*cpu = last;
	if (first != last)
		*other_cpu = first;
	return 0;
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * Fork a helper process (tracee, ping-pong peer, spinner).  It dies with
 * the benchmark process that forked it, and it is in that process's
 * process group, which the parent kills after every benchmark anyway.
 */
pid_t bench_fork_peer(void)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
	}
	return pid;
}

void bench_kill_peer(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
}

void bench_untimed(struct bench_state *st, double ns)
{
	st->untimed_ns += ns;
}

/* The two marker pages of --profile: a "ret" each, called around runs. */
static int prof_markers(void (**on)(void), void (**off)(void))
{
	unsigned char *p;

	p = mmap((void *)BENCH_PROF_ON, 2 * 4096,
		 PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
#if defined(__x86_64__)
	p[0] = 0xc3;
	p[BENCH_PROF_OFF - BENCH_PROF_ON] = 0xc3;
#elif defined(__aarch64__)
	*(uint32_t *)p = 0xd65f03c0;
	*(uint32_t *)(p + (BENCH_PROF_OFF - BENCH_PROF_ON)) = 0xd65f03c0;
	__builtin___clear_cache((char *)p, (char *)p + 2 * 4096);
#else
	munmap(p, 2 * 4096);
	return -EOPNOTSUPP;
#endif
	*on = (void (*)(void))p;
	*off = (void (*)(void))(p + (BENCH_PROF_OFF - BENCH_PROF_ON));
	return 0;
}

static int timed_run(struct bench_state *st, uint64_t iters, double *ns)
{
	clockid_t clk = st->b->clock;
	double t0, t1;
	int rc;

	st->untimed_ns = 0;
	t0 = bench_now_ns(clk);
	rc = st->b->run(st, iters);
	t1 = bench_now_ns(clk);
	*ns = t1 - t0 - st->untimed_ns;
	return rc;
}

/* Iterations that make one run last about @target_ns. */
static int calibrate(struct bench_state *st, int (*fn)(struct bench_state *,
		     uint64_t), clockid_t clk, double target_ns, uint64_t *out)
{
	uint64_t n = 1;
	double t = 0, t0;
	int rc;

	for (;;) {
		t0 = bench_now_ns(clk);
		rc = fn(st, n);
		t = bench_now_ns(clk) - t0;
		if (rc)
			return rc;
		if (t >= target_ns / 10 || n >= (1ULL << 36))
			break;
		if (t <= 0) {
			n *= 16;
		} else {
			double f = target_ns / 10 / t * 1.5;

			n = (uint64_t)((double)n * (f < 2 ? 2 : f > 64 ? 64 : f));
		}
	}
	t = (double)n * target_ns / (t > 0 ? t : 1);
	*out = t < 1 ? 1 : (uint64_t)t;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(const double *v, unsigned int n)
{
	double s[BENCH_MAX_RUNS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/*
 * Small helper for setup-time reference measurements (e.g. the pipe
 * overhead the context-switch benchmark subtracts): median ns per op of
 * 5 runs of ~5 ms (~2 ms with --quick) each, CLOCK_MONOTONIC.
 */
double bench_quick_median_ns(struct bench_state *st,
			     int (*fn)(struct bench_state *, uint64_t))
{
	double target = st->quick ? 2e6 : 5e6, v[5], t0;
	uint64_t n;
	int i;

	if (calibrate(st, fn, CLOCK_MONOTONIC, target, &n))
		return -1;
	for (i = 0; i < 5; i++) {
		t0 = bench_now_ns(CLOCK_MONOTONIC);
		if (fn(st, n))
			return -1;
		v[i] = (bench_now_ns(CLOCK_MONOTONIC) - t0) / (double)n;
	}
	return median_of(v, 5);
}

/* What the benchmark child sends back; well under PIPE_BUF: one write. */
struct bench_msg {
	int ok;
	int cpu;
	unsigned int runs;
	uint64_t iters;
	uint64_t op_bytes;
	char reason[160];
	char note[160];
	double per_op[BENCH_MAX_RUNS];
};

static void set_reason(struct bench_msg *m, struct bench_state *st, int rc)
{
	if (st->why[0])
		snprintf(m->reason, sizeof(m->reason), "%s", st->why);
	else if (rc == -ENOSYS)
		snprintf(m->reason, sizeof(m->reason), "not yet implemented");
	else
		snprintf(m->reason, sizeof(m->reason), "%s", strerror(-rc));
}

static int measure(struct bench_state *st, const struct bench_opts *o,
		   struct bench_msg *m)
{
	uint64_t iters = o->iters;
	void (*prof_on)(void) = NULL, (*prof_off)(void) = NULL;
	double ns, warm = 0;
	unsigned int i, w;
	int rc;

	/* One untimed op first: first-touch faults, lazy setup. */
	rc = st->b->run(st, 1);
	if (rc)
		return rc;
	if (!iters) {
		rc = calibrate(st, st->b->run, st->b->clock, o->run_ns, &iters);
		if (rc)
			return rc;
	}
	/*
	 * Warm-up (caches, predictors, CPU frequency, page tables) for at
	 * least warmup_ns; while calibrating, it also goes on until a run
	 * lands within 2x of the target, correcting M on the way.
	 */
	for (w = 0; w < 20; w++) {
		rc = timed_run(st, iters, &ns);
		if (rc)
			return rc;
		warm += ns;
		if (!o->iters && ns > 0 &&
		    (ns < o->run_ns / 2 || ns > o->run_ns * 2)) {
			double n = (double)iters * o->run_ns / ns;

			iters = n < 1 ? 1 : (uint64_t)n;
			continue;
		}
		if (warm >= o->warmup_ns)
			break;
	}

	if (o->profile && !strcmp(o->profile, st->b->id)) {
		rc = prof_markers(&prof_on, &prof_off);
		if (rc)
			return rc;
	}
	for (i = 0; i < o->runs; i++) {
		if (prof_on)
			prof_on();
		rc = timed_run(st, iters, &ns);
		if (prof_off)
			prof_off();
		if (rc)
			return rc;
		m->per_op[i] = ns / ((double)iters * st->ops_per_iter) -
			       st->overhead_ns;
	}
	if (prof_on)
		fprintf(stderr, "\nLOL-PROF-OPS %llu\n",
			(unsigned long long)o->runs * iters * st->ops_per_iter);
	m->runs = o->runs;
	m->iters = iters;
	return 0;
}

static void __attribute__((noreturn))
child_main(const struct bench *b, const struct bench_opts *o, int wfd)
{
	static struct bench_msg m;
	struct bench_state st = {
		.b = b, .cpu = -1, .other_cpu = o->other_cpu, .quick = o->quick,
		.ops_per_iter = 1,
	};
	ssize_t w;
	int rc;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (o->cpu >= 0 && !bench_pin(o->cpu))
		st.cpu = o->cpu;
	m.cpu = st.cpu;

	rc = b->setup ? b->setup(&st) : 0;
	if (!rc) {
		rc = measure(&st, o, &m);
		if (b->teardown)
			b->teardown(&st);
	}
	if (rc)
		set_reason(&m, &st, rc);
	m.ok = !rc;
	m.op_bytes = st.op_bytes;
	snprintf(m.note, sizeof(m.note), "%s", st.note);
	do {
		w = write(wfd, &m, sizeof(m));
	} while (w < 0 && errno == EINTR);
	_exit(0);
}

static void reap_group(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	/* We are a child subreaper: orphans of the group come back to us. */
	while (waitpid(-pgid, NULL, 0) > 0 || errno == EINTR)
		;
}

void bench_measure(const struct bench *b, const struct bench_opts *o,
		   struct bench_result *r)
{
	static struct bench_msg m;
	double t0 = bench_now_ns(CLOCK_MONOTONIC);
	struct pollfd pfd;
	size_t got = 0;
	int p[2], status = 0, pr;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	r->b = b;
	r->cpu = -1;
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(r->reason, sizeof(r->reason), "pipe: %s",
			 strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(r->reason, sizeof(r->reason), "fork: %s",
			 strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(b, o, p[1]);
	}
	close(p[1]);
	setpgid(pid, pid);

	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got < sizeof(m)) {
		ssize_t n;

		pr = poll(&pfd, 1, o->timeout_s * 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			snprintf(r->reason, sizeof(r->reason),
				 "timed out after %d s", o->timeout_s);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		n = read(p[0], (char *)&m + got, sizeof(m) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	reap_group(pid);
	r->wall_s = (bench_now_ns(CLOCK_MONOTONIC) - t0) / 1e9;

	if (got != sizeof(m)) {
		if (r->reason[0])
			return;
		if (WIFSIGNALED(status))
			snprintf(r->reason, sizeof(r->reason),
				 "benchmark process killed by signal %d (%s)",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(r->reason, sizeof(r->reason),
				 "benchmark process exited (%d) without a result",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return;
	}
	r->ok = m.ok;
	r->cpu = m.cpu;
	memcpy(r->reason, m.reason, sizeof(r->reason));
	memcpy(r->note, m.note, sizeof(r->note));
	r->reason[sizeof(r->reason) - 1] = '\0';
	r->note[sizeof(r->note) - 1] = '\0';
	if (!r->ok)
		return;
	if (m.runs < 1 || m.runs > BENCH_MAX_RUNS) {
		r->ok = 0;
		snprintf(r->reason, sizeof(r->reason), "bad result message");
		return;
	}
	if (b->unit == BU_MBS && !m.op_bytes) {
		r->ok = 0;
		snprintf(r->reason, sizeof(r->reason), "no byte count per op");
		return;
	}
	r->runs = m.runs;
	r->iters = m.iters;
	r->op_bytes = m.op_bytes;
	memcpy(r->per_op, m.per_op, sizeof(r->per_op));
	r->min = r->max = m.per_op[0];
	for (unsigned int i = 1; i < m.runs; i++) {
		if (m.per_op[i] < r->min)
			r->min = m.per_op[i];
		if (m.per_op[i] > r->max)
			r->max = m.per_op[i];
	}
	r->median = median_of(m.per_op, m.runs);
}
