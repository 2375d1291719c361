// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-bench: micro and macro benchmarks of what a kernel does for
 * user processes, to run inside a guest Linux (UML on lol, UML on ptrace)
 * and natively, and compare (issue 12). One static program, no helpers
 * but itself: the exec benchmarks exec /proc/self/exe in a helper mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "io.h"

#define EXIT_USAGE	LOL_EXIT_USAGE

#define HELPER_EXIT	"--helper-exit"
#define HELPER_BUILD	"--helper-build"

#define FILE_SIZE	(4 << 20)
#define BUILD_DIRS	10
#define BUILD_FILES	20

static const char *progname = "lol-guest-bench";
static const char *self_exe = "/proc/self/exe";
static double iter_scale = 1.0;
static char workdir[PATH_MAX];	/* made on first use, removed at the end */
static char why[256];		/* why a benchmark failed or was skipped */

enum { BENCH_OK, BENCH_SKIP, BENCH_ERROR };

struct bench {
	const char *name;
	const char *unit;	/* "us" per operation, "MB/s" or "s" in all */
	const char *what;	/* what one operation is */
	const char *count;	/* what the iteration count counts */
	long iters;		/* default, before -n */
	/* One run: n operations; the result in unit. */
	int (*run)(long n, double *result);
	int ops_per_iter;	/* operations in one counted iteration */
};

static const char usage_text[] =
"NAME\n"
"	lol-guest-bench - micro and macro benchmarks of a (guest) Linux\n"
"	kernel for user processes\n"
"\n"
"SYNOPSIS\n"
"	lol-guest-bench [-n ITER_SCALE] [-r RUNS] [--json] [BENCH]...\n"
"	lol-guest-bench -l\n"
"	lol-guest-bench -h | --help\n"
"\n"
"DESCRIPTION\n"
"	lol-guest-bench times system calls, process creation, memory\n"
"	management, inter-process round trips, file rereads and a\n"
"	build-like workload, to compare a User-Mode Linux guest on lol\n"
"	with one on ptrace and with the bare kernel. It runs every\n"
"	benchmark (or the BENCHes named) RUNS times and prints, for each,\n"
"	the median, the smallest and the largest result over the runs:\n"
"\n"
"		null_syscall      median 0.41 us  min 0.40  max 0.45  (getpid, 100000 calls)\n"
"\n"
"	Latencies are microseconds per operation, bandwidths MB/s (10^6\n"
"	bytes per second), build_like the seconds of the whole workload.\n"
"	Times come from CLOCK_MONOTONIC. A benchmark that cannot run here\n"
"	says \"skipped\" and why: tcp_lat without a loopback interface\n"
"	(it brings lo up first when it may, as root).\n"
"\n"
"	Files go to a directory under $TMPDIR (or /tmp), removed at the\n"
"	end. The program must be linked statically and be reachable\n"
"	through /proc/self/exe (fork_exec and build_like exec it).\n"
"\n"
"	In User-Mode Linux on lol, the guest's /proc/lol counts what its\n"
"	backend asked of lol; each result then gets its share per\n"
"	operation (LOL_RUN calls and their exits by kind, LOL_AS_OPS\n"
"	batches and their ops, address spaces created, LOL_GET_FPU and\n"
"	LOL_SET_FPU calls): a second line, or \"lol_per_op\" in JSON.\n"
"	They count the whole guest, the benchmark's setup included.\n"
"\n"
"	The default counts keep a whole run to a few seconds on a\n"
"	native x86_64 machine; a guest under emulation takes 10 to 100\n"
"	times as long.\n"
"\n"
"OPTIONS\n"
"	-n, --scale ITER_SCALE\n"
"		Multiply every iteration count by ITER_SCALE (a number\n"
"		above 0; default 1).\n"
"\n"
"	-r, --runs RUNS\n"
"		Run each benchmark RUNS times (default 5).\n"
"\n"
"	--json\n"
"		Print one JSON object per benchmark, one per line:\n"
"		{\"bench\": NAME, \"unit\": UNIT, \"median\": M, \"min\": A,\n"
"		\"max\": B, \"runs\": R, \"iters\": N, \"what\": TEXT\n"
"		[, \"lol_per_op\": {COUNTER: N, ...}]}, or\n"
"		{\"bench\": NAME, \"skipped\": WHY} / {\"bench\": NAME,\n"
"		\"error\": WHY}.\n"
"\n"
"	-l, --list\n"
"		Print the names of the benchmarks, one a line, and exit.\n"
"\n"
"	-h, --help\n"
"		Print this help and exit.\n"
"\n"
"BENCHMARKS\n"
"	null_syscall	getpid() through syscall(2)\n"
"	fork_exit	fork, the child _exits, waitpid\n"
"	fork_exec	fork, exec of this program doing nothing, waitpid\n"
"	mmap_munmap_1m	mmap and munmap of 1 MiB anonymous memory\n"
"	mmap_touch_1m	the same, touching every page in between\n"
"	page_fault	one first-touch fault on fresh anonymous memory\n"
"	ctxsw_2p	a context switch between 2 processes on one CPU\n"
"			passing a token through pipes (lmbench's 2p/0k,\n"
"			without its overhead correction)\n"
"	pipe_lat	a round trip through two pipes\n"
"	unix_lat	a round trip over an AF_UNIX socketpair\n"
"	tcp_lat		a round trip over TCP on 127.0.0.1\n"
"	file_reread	read(2) of a cached 4 MiB file, 64 KiB at a time\n"
"	mmap_reread	reading a cached 4 MiB file through mmap\n"
"	build_like	fork+exec of a helper that reads a small file and\n"
"			writes another, over a tree of 200 files\n"
"\n"
"EXIT STATUS\n"
"	0	every benchmark ran or was skipped\n"
"	1	a benchmark failed\n"
"	2	usage error\n"
"\n"
"EXAMPLES\n"
"	Everything, as JSON lines, for a results file:\n"
"\n"
"		$ lol-guest-bench --json > bench.jsonl\n"
"\n"
"	Three latencies, ten runs of ten times the default count:\n"
"\n"
"		$ lol-guest-bench -r 10 -n 10 null_syscall pipe_lat unix_lat\n"
"\n"
"SEE ALSO\n"
"	lol-guest-suite(1), userspace/guest/README.md in the lol source\n"
"	tree.\n";

/* --- helpers ----------------------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return BENCH_ERROR;
}

#define SYSERR(what)	error("%s: %s", what, strerror(errno))



/* Reap a helper child; an error unless it exited 0. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return SYSERR("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return error("a child ended with status %#x", status);
	return BENCH_OK;
}

static const char *work_dir(void)
{
	const char *tmp;

	if (workdir[0])
		return workdir;
	tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(workdir, sizeof(workdir), "%s/lol-guest-bench.XXXXXX", tmp);
	if (!mkdtemp(workdir)) {
		error("mkdtemp %s: %s", workdir, strerror(errno));
		workdir[0] = '\0';
		return NULL;
	}
	return workdir;
}


/* --- system calls and processes -------------------------------------------------- */

static int bench_null_syscall(long n, double *res)
{
	double t0 = now_us();
	long i;

	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	*res = (now_us() - t0) / n;
	return BENCH_OK;
}

static int bench_fork_exit(long n, double *res)
{
	double t0 = now_us();
	long i;
	int rc;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return SYSERR("fork");
		if (pid == 0)
			_exit(0);
		rc = reap(pid);
		if (rc)
			return rc;
	}
	*res = (now_us() - t0) / n;
	return BENCH_OK;
}

static int bench_fork_exec(long n, double *res)
{
	char *argv[] = { "lol-guest-bench", HELPER_EXIT, NULL };
	char *envp[] = { NULL };
	double t0 = now_us();
	long i;
	int rc;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return SYSERR("fork");
		if (pid == 0) {
			execve(self_exe, argv, envp);
			_exit(127);
		}
		rc = reap(pid);
		if (rc)
			return rc == BENCH_ERROR && strstr(why, "0x7f00") ?
			       error("execve %s failed", self_exe) : rc;
	}
	*res = (now_us() - t0) / n;
	return BENCH_OK;
}

/* --- memory --------------------------------------------------------------------- */

static int mmap_1m(long n, double *res, bool touch)
{
	long psz = sysconf(_SC_PAGESIZE), i, off;
	double t0 = now_us();

	for (i = 0; i < n; i++) {
		char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return SYSERR("mmap");
		if (touch)
			for (off = 0; off < 1 << 20; off += psz)
				m[off] = 1;
		munmap(m, 1 << 20);
	}
	*res = (now_us() - t0) / n;
	return BENCH_OK;
}

static int bench_mmap_munmap_1m(long n, double *res)
{
	return mmap_1m(n, res, false);
}

static int bench_mmap_touch_1m(long n, double *res)
{
	return mmap_1m(n, res, true);
}

static int bench_page_fault(long n, double *res)
{
	long psz = sysconf(_SC_PAGESIZE), i;
	char *m;
	double t0;

	m = mmap(NULL, n * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return SYSERR("mmap");
	/* Every page its own fault, as in a guest without huge pages. */
	madvise(m, n * psz, MADV_NOHUGEPAGE);
	t0 = now_us();
	for (i = 0; i < n; i++)
		m[i * psz] = 1;
	*res = (now_us() - t0) / n;
	munmap(m, n * psz);
	return BENCH_OK;
}

/* --- round trips ------------------------------------------------------------------- */

/*
 * A child that answers every byte on rd with a byte on wr until EOF; the
 * parent times n round trips after a few untimed ones.
 */
static int round_trips(int prd, int pwr, int crd, int cwr, long n,
		       double *res)
{
	long i, warm = n / 10 + 1;
	pid_t pid;
	double t0 = 0;
	char c = 'x';
	int rc;

	pid = fork();
	if (pid < 0)
		return SYSERR("fork");
	if (pid == 0) {
		close(prd);
		close(pwr);
		while (read(crd, &c, 1) == 1)
			if (write(cwr, &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(crd);
	if (cwr != crd)
		close(cwr);
	for (i = -warm; i < n; i++) {
		if (i == 0)
			t0 = now_us();
		if (write(pwr, &c, 1) != 1 || read(prd, &c, 1) != 1) {
			rc = SYSERR("round trip");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return rc;
		}
	}
	*res = (now_us() - t0) / n;
	close(pwr);
	if (prd != pwr)
		close(prd);
	return reap(pid);
}

static int pipe_round_trips(long n, double *res)
{
	int down[2], up[2];

	if (pipe(down) || pipe(up))
		return SYSERR("pipe");
	return round_trips(up[0], down[1], down[0], up[1], n, res);
}

static int bench_ctxsw_2p(long n, double *res)
{
	cpu_set_t old, one;
	int rc;

	/* Both on one CPU: every round trip is two context switches. */
	if (sched_getaffinity(0, sizeof(old), &old))
		return SYSERR("sched_getaffinity");
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return SYSERR("sched_setaffinity");
	rc = pipe_round_trips(n, res);
	sched_setaffinity(0, sizeof(old), &old);
	*res /= 2;
	return rc;
}

static int bench_pipe_lat(long n, double *res)
{
	return pipe_round_trips(n, res);
}

static int bench_unix_lat(long n, double *res)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return SYSERR("socketpair");
	return round_trips(sv[0], sv[0], sv[1], sv[1], n, res);
}

/* A minimal init may leave lo down: bring it up if we may (root). */
static void loopback_up(void)
{
	struct ifreq ifr;
	int s;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static int bench_tcp_lat(long n, double *res)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int ls, cs, ss, one = 1;

	loopback_up();
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0) {
		snprintf(why, sizeof(why), "socket(AF_INET): %s",
			 strerror(errno));
		return BENCH_SKIP;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, sizeof(why),
			 "no loopback: bind 127.0.0.1: %s (is lo up?)",
			 strerror(errno));
		close(ls);
		return BENCH_SKIP;
	}
	if (listen(ls, 1) || getsockname(ls, (struct sockaddr *)&sa, &len))
		return SYSERR("listen");
	cs = socket(AF_INET, SOCK_STREAM, 0);
	if (cs < 0)
		return SYSERR("socket");
	if (connect(cs, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(cs);
		close(ls);
		if (err != ENETUNREACH) {
			errno = err;
			return SYSERR("connect");
		}
		snprintf(why, sizeof(why),
			 "no loopback: connect 127.0.0.1: %s (is lo up?)",
			 strerror(err));
		return BENCH_SKIP;
	}
	ss = accept(ls, NULL, NULL);
	if (ss < 0)
		return SYSERR("accept");
	close(ls);
	setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(ss, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return round_trips(cs, cs, ss, ss, n, res);
}

/* --- file rereads ------------------------------------------------------------------- */

static char data_file[PATH_MAX + 16];

static int make_data_file(void)
{
	static char buf[65536];
	const char *dir;
	size_t i, off;
	int fd;

	if (data_file[0])
		return BENCH_OK;
	dir = work_dir();
	if (!dir)
		return BENCH_ERROR;
	snprintf(data_file, sizeof(data_file), "%s/data", dir);
	fd = open(data_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return SYSERR("create the data file");
	for (off = 0; off < FILE_SIZE; off += sizeof(buf)) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(off + i * 7);
		if (write_full(fd, buf, sizeof(buf)) != sizeof(buf)) {
			close(fd);
			return SYSERR("write the data file");
		}
	}
	close(fd);
	return BENCH_OK;
}

static int bench_file_reread(long n, double *res)
{
	static char buf[65536];
	double t0;
	ssize_t r;
	long i;
	int fd;

	if (make_data_file())
		return BENCH_ERROR;
	fd = open(data_file, O_RDONLY);
	if (fd < 0)
		return SYSERR("open");
	t0 = now_us();
	for (i = 0; i < n; i++) {
		if (lseek(fd, 0, SEEK_SET))
			return SYSERR("lseek");
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		if (r < 0)
			return SYSERR("read");
	}
	*res = (double)FILE_SIZE * n / (now_us() - t0);
	close(fd);
	return BENCH_OK;
}

static int bench_mmap_reread(long n, double *res)
{
	volatile uint64_t sink;
	const uint64_t *p;
	uint64_t sum = 0;
	double t0;
	size_t w;
	long i;
	int fd;

	if (make_data_file())
		return BENCH_ERROR;
	fd = open(data_file, O_RDONLY);
	if (fd < 0)
		return SYSERR("open");
	/* One mapping per run: its faults count, then n passes over it. */
	t0 = now_us();
	p = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return SYSERR("mmap");
	for (i = 0; i < n; i++)
		for (w = 0; w < FILE_SIZE / sizeof(*p); w++)
			sum += p[w];
	munmap((void *)p, FILE_SIZE);
	*res = (double)FILE_SIZE * n / (now_us() - t0);
	sink = sum;
	(void)sink;
	close(fd);
	return BENCH_OK;
}

/* --- build_like -------------------------------------------------------------------- */

static char build_root[PATH_MAX];

static int make_build_tree(void)
{
	char path[PATH_MAX + 64], line[128];
	const char *dir;
	int d, f, l, fd;

	if (build_root[0])
		return BENCH_OK;
	dir = work_dir();
	if (!dir)
		return BENCH_ERROR;
	snprintf(build_root, sizeof(build_root), "%s/src", dir);
	if (mkdir(build_root, 0755))
		return SYSERR("mkdir");
	for (d = 0; d < BUILD_DIRS; d++) {
		snprintf(path, sizeof(path), "%s/d%02d", build_root, d);
		if (mkdir(path, 0755))
			return SYSERR("mkdir");
		for (f = 0; f < BUILD_FILES; f++) {
			snprintf(path, sizeof(path), "%s/d%02d/f%02d.c",
				 build_root, d, f);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				return SYSERR("create a source file");
			/* 2-4 KiB of lines that look like code. */
			for (l = 0; l < 40 + (d * 7 + f * 3) % 40; l++) {
				int len = snprintf(line, sizeof(line),
					"static int fn_%d_%d_%d(int x) { return x * %d + %d; }\n",
					d, f, l, l + 1, d ^ f);

				if (write_full(fd, line, len) != len) {
					close(fd);
					return SYSERR("write a source file");
				}
			}
			close(fd);
		}
	}
	return BENCH_OK;
}

/* The helper: "compile" IN into OUT (a hash and the text upper-cased). */
static int helper_build(const char *in, const char *out)
{
	static char buf[65536];
	uint32_t hash = 2166136261u;
	char head[32];
	ssize_t n, i;
	int fd;

	fd = open(in, O_RDONLY);
	if (fd < 0)
		return 1;
	n = read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return 1;
	for (i = 0; i < n; i++) {
		hash = (hash ^ (uint8_t)buf[i]) * 16777619u;
		if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] -= 'a' - 'A';
	}
	/*
	 * A new file, as a compiler's output usually is: rewriting one in
	 * place makes ext4 flush it at close (auto_da_alloc).
	 */
	unlink(out);
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return 1;
	i = snprintf(head, sizeof(head), "%08x\n", hash);
	if (write_full(fd, head, i) != i || write_full(fd, buf, n) != n)
		return 1;
	return close(fd) ? 1 : 0;
}

static int bench_build_like(long n, double *res)
{
	char in[PATH_MAX + 64], out[PATH_MAX + 64];
	char *argv[] = { "lol-guest-bench", HELPER_BUILD, in, out, NULL };
	char *envp[] = { NULL };
	double t0;
	long i;
	int rc;

	if (make_build_tree())
		return BENCH_ERROR;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		int d = i / BUILD_FILES % BUILD_DIRS, f = i % BUILD_FILES;
		pid_t pid;

		snprintf(in, sizeof(in), "%s/d%02d/f%02d.c", build_root, d, f);
		snprintf(out, sizeof(out), "%s/d%02d/f%02d.o", build_root, d,
			 f);
		pid = fork();
		if (pid < 0)
			return SYSERR("fork");
		if (pid == 0) {
			execve(self_exe, argv, envp);
			_exit(127);
		}
		rc = reap(pid);
		if (rc)
			return rc;
	}
	*res = (now_us() - t0) / 1e6;
	return BENCH_OK;
}

/* --- the table and the runner ------------------------------------------------------- */

static const struct bench benches[] = {
	{ "null_syscall", "us", "getpid", "calls", 50000, bench_null_syscall,
	  1 },
	{ "fork_exit", "us", "fork+_exit+waitpid", "forks", 50, bench_fork_exit,
	  1 },
	{ "fork_exec", "us", "fork+exec+waitpid", "execs", 20, bench_fork_exec,
	  1 },
	{ "mmap_munmap_1m", "us", "mmap+munmap 1 MiB", "maps", 2000,
	  bench_mmap_munmap_1m, 1 },
	{ "mmap_touch_1m", "us", "mmap+touch+munmap 1 MiB", "maps", 10,
	  bench_mmap_touch_1m, 1 },
	{ "page_fault", "us", "first touch of an anonymous page", "pages",
	  1024, bench_page_fault, 1 },
	{ "ctxsw_2p", "us", "context switch, 2 processes on 1 CPU",
	  "round trips", 2000, bench_ctxsw_2p, 2 },
	{ "pipe_lat", "us", "pipe round trip", "round trips", 2000,
	  bench_pipe_lat, 1 },
	{ "unix_lat", "us", "AF_UNIX round trip", "round trips", 2000,
	  bench_unix_lat, 1 },
	{ "tcp_lat", "us", "TCP 127.0.0.1 round trip", "round trips", 1000,
	  bench_tcp_lat, 1 },
	{ "file_reread", "MB/s", "read() of a 4 MiB file", "passes", 8,
	  bench_file_reread, 1 },
	{ "mmap_reread", "MB/s", "mmap read of a 4 MiB file", "passes", 8,
	  bench_mmap_reread, 1 },
	{ "build_like", "s", "fork+exec, read a file, write a file", "files",
	  BUILD_DIRS * BUILD_FILES, bench_build_like, 1 },
};
#define NBENCH	(sizeof(benches) / sizeof(benches[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Three significant digits or so, without an exponent. */
static const char *num(double v, char *buf, size_t len)
{
	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 0.1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/*
 * UML on lol's own counters (/proc/lol, from guest-patch): what the
 * benchmark cost in lol exits, AS batches and FP state transfers.
 */
static const char *const lol_stat_names[] = {
	"runs", "exit_syscall", "exit_fault", "exit_trap", "exit_kick",
	"exit_intr", "as_batches", "as_ops", "as_created", "fpu_get",
	"fpu_set",
};
#define NSTAT	(sizeof(lol_stat_names) / sizeof(lol_stat_names[0]))

static bool read_lol_stats(double v[NSTAT])
{
	FILE *f = fopen("/proc/lol", "re");
	unsigned long long x;
	char name[32];
	size_t i;

	if (!f)
		return false;
	memset(v, 0, NSTAT * sizeof(*v));
	while (fscanf(f, "%31s %llu", name, &x) == 2)
		for (i = 0; i < NSTAT; i++)
			if (!strcmp(name, lol_stat_names[i]))
				v[i] = x;
	fclose(f);
	return true;
}

/* The counters per operation, after the result line's other fields. */
static void print_lol_stats(const double before[NSTAT],
			    const double after[NSTAT], double ops, bool json)
{
	size_t i;

	printf(json ? ", \"lol_per_op\": {" : "%-16s on lol, per op:", "");
	for (i = 0; i < NSTAT; i++)
		printf(json ? "%s\"%s\": %.4g" : "%s %s %.3g",
		       i && json ? ", " : "", lol_stat_names[i],
		       (after[i] - before[i]) / ops);
	printf(json ? "}" : "\n");
}

static int run_bench(const struct bench *b, int runs, bool json)
{
	double before[NSTAT], after[NSTAT];
	bool stats;
	long n = (long)(b->iters * iter_scale);
	char m[32], lo[32], hi[32];
	double *res;
	int i, rc = BENCH_OK;

	if (n < 1)
		n = 1;
	res = calloc(runs, sizeof(*res));
	if (!res)
		return BENCH_ERROR;
	why[0] = '\0';
	stats = read_lol_stats(before);
	for (i = 0; i < runs && rc == BENCH_OK; i++)
		rc = b->run(n, &res[i]);
	stats = stats && read_lol_stats(after);

	if (rc != BENCH_OK) {
		const char *key = rc == BENCH_SKIP ? "skipped" : "error";

		if (json) {
			printf("{\"bench\": ");
			json_string(b->name);
			printf(", \"%s\": ", key);
			json_string(why);
			printf("}\n");
		} else {
			printf("%-16s %s: %s\n", b->name, key, why);
		}
	} else {
		qsort(res, runs, sizeof(*res), cmp_double);
		if (json) {
			printf("{\"bench\": ");
			json_string(b->name);
			printf(", \"unit\": ");
			json_string(b->unit);
			printf(", \"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"runs\": %d, \"iters\": %ld, \"what\": ",
			       runs % 2 ? res[runs / 2] :
			       (res[runs / 2 - 1] + res[runs / 2]) / 2,
			       res[0], res[runs - 1], runs, n);
			json_string(b->what);
			if (stats)
				print_lol_stats(before, after, (double)runs * n *
						b->ops_per_iter, true);
			printf("}\n");
		} else {
			double med = runs % 2 ? res[runs / 2] :
				     (res[runs / 2 - 1] + res[runs / 2]) / 2;

			printf("%-16s median %s %s  min %s  max %s  (%s, %ld %s)\n",
			       b->name, num(med, m, sizeof(m)), b->unit,
			       num(res[0], lo, sizeof(lo)),
			       num(res[runs - 1], hi, sizeof(hi)), b->what, n,
			       b->count);
			if (stats)
				print_lol_stats(before, after, (double)runs * n *
						b->ops_per_iter, false);
		}
	}
	fflush(stdout);
	free(res);
	return rc;
}

static int usage_error(const char *fmt, const char *arg)
{
	return lol_usage_error(progname, fmt, arg);
}


static const struct bench *find_bench(const char *name)
{
	size_t i;

	for (i = 0; i < NBENCH; i++)
		if (!strcmp(benches[i].name, name))
			return &benches[i];
	return NULL;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "scale", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct bench **run;
	bool json = false, list = false;
	int runs = 5, c, failed = 0;
	size_t nrun = 0, i;
	struct utsname u;
	char *end;
	long v;

	/* The helper modes first, and cheap: they are what is measured. */
	if (argc == 2 && !strcmp(argv[1], HELPER_EXIT))
		_exit(0);
	if (argc == 4 && !strcmp(argv[1], HELPER_BUILD))
		return helper_build(argv[2], argv[3]);

	if (argc > 0 && argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
	}

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:r:lh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			iter_scale = strtod(optarg, &end);
			if (*end || !(iter_scale > 0) || isinf(iter_scale))
				return usage_error("bad ITER_SCALE '%s'",
						   optarg);
			break;
		case 'r':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 1000)
				return usage_error("bad RUNS '%s' (1 to 1000)",
						   optarg);
			runs = v;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:	/* ':' or '?' */
			return lol_getopt_error(progname, c, argv);
		}
	}
	if (list) {
		for (i = 0; i < NBENCH; i++)
			printf("%s\n", benches[i].name);
		return EXIT_SUCCESS;
	}

	run = calloc(argc + NBENCH, sizeof(*run));
	if (!run)
		return EXIT_FAILURE;
	for (; optind < argc; optind++) {
		run[nrun] = find_bench(argv[optind]);
		if (!run[nrun])
			return usage_error("unknown benchmark '%s' (see -l)",
					   argv[optind]);
		nrun++;
	}
	if (!nrun)
		for (; nrun < NBENCH; nrun++)
			run[nrun] = &benches[nrun];
	if (access("/proc/self/exe", X_OK) && strchr(argv[0], '/')) {
		static char path[PATH_MAX];

		if (realpath(argv[0], path))
			self_exe = path;
	}

	if (!json && uname(&u) == 0)
		printf("# lol-guest-bench: %s %s %s, %d runs, scale %g\n",
		       u.sysname, u.release, u.machine, runs, iter_scale);
	fflush(stdout);
	for (i = 0; i < nrun; i++)
		if (run_bench(run[i], runs, json) == BENCH_ERROR)
			failed++;

	if (workdir[0])
		rm_tree(workdir);
	free(run);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
