// SPDX-License-Identifier: GPL-2.0
/*
 * The seed's host table, lmbench-style, with our own small programs:
 *
 *   2p/0k ctxsw   two processes pass a 4-byte token through two pipes;
 *                 per switch = round trip / 2 minus the cost of one
 *                 write+read of the token on a pipe inside one process
 *                 (measured first, subtracted, shown as a note)
 *   pipe          1-byte round trip over two pipes
 *   AF_UNIX       1-byte round trip over a SOCK_STREAM socketpair
 *   TCP           1-byte round trip over 127.0.0.1, TCP_NODELAY
 *   file reread   read() a tmpfs file (memfd) in 64 KiB chunks and sum
 *                 its words; MB/s, 1 MB = 2^20 bytes
 *   mmap reread   sum the words of the same file mapped MAP_SHARED
 *
 * All processes on one CPU (the core pins before setup).
 */
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define SEED_FILE_SIZE	(8u << 20)
#define SEED_CHUNK	(64u << 10)

static struct pingpong seed_pp = { .peer = -1 };

/* ---- 2p/0k context switch ---- */

static int token_fds[2] = { -1, -1 };

static int token_overhead_run(struct bench_state *st, uint64_t iters)
{
	int token = 0;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		if (write(token_fds[1], &token, sizeof(token)) != sizeof(token) ||
		    read(token_fds[0], &token, sizeof(token)) != sizeof(token))
			return bench_fail(st, errno, "pipe overhead: %m");
	}
	return 0;
}

static int ctxsw_setup(struct bench_state *st)
{
	double hop;

	if (pipe(token_fds))
		return bench_fail(st, errno, "pipe: %m");
	hop = bench_quick_median_ns(st, token_overhead_run);
	close(token_fds[0]);
	close(token_fds[1]);
	if (hop < 0)
		return bench_fail(st, EIO, "could not measure the pipe overhead");
	st->priv = &seed_pp;
	st->ops_per_iter = 2;
	st->overhead_ns = hop;
	bench_note(st, "per switch = round trip/2 - %.1f ns pipe write+read overhead",
		   hop);
	return pingpong_pipes(st, &seed_pp, sizeof(int));
}

/* ---- pipe, AF_UNIX, TCP latency ---- */

static int lat_pipe_setup(struct bench_state *st)
{
	st->priv = &seed_pp;
	return pingpong_pipes(st, &seed_pp, 1);
}

static int lat_unix_setup(struct bench_state *st)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return bench_fail(st, errno, "socketpair(AF_UNIX): %m");
	st->priv = &seed_pp;
	return pingpong_start(st, &seed_pp, 1, sv[0], sv[0], sv[1], sv[1]);
}

/* A bare initramfs may leave lo down; bring it up if we can. */
static int loopback_up(struct bench_state *st)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return bench_fail(st, errno, "socket(AF_INET): %m");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		rc = bench_fail(st, errno, "no loopback interface: %m");
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			rc = bench_fail(st, errno,
					"loopback interface lo is down and could not be brought up: %m");
		else
			bench_note(st, "lol-bench brought interface lo up");
	}
	close(s);
	return rc;
}

static int lat_tcp_setup(struct bench_state *st)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int ls = -1, cs = -1, as = -1, one = 1, rc;

	rc = loopback_up(st);
	if (rc)
		return rc;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || cs < 0) {
		rc = bench_fail(st, errno, "socket(AF_INET): %m");
		goto out_close;
	}
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl)) {
		rc = bench_fail(st, errno, "listen on 127.0.0.1: %m");
		goto out_close;
	}
	if (connect(cs, (struct sockaddr *)&sin, sizeof(sin))) {
		rc = bench_fail(st, errno, "connect to 127.0.0.1: %m");
		goto out_close;
	}
	as = accept(ls, NULL, NULL);
	if (as < 0) {
		rc = bench_fail(st, errno, "accept: %m");
		goto out_close;
	}
	close(ls);
	setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(as, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	st->priv = &seed_pp;
	return pingpong_start(st, &seed_pp, 1, cs, cs, as, as);

out_close:
	if (ls >= 0)
		close(ls);
	if (cs >= 0)
		close(cs);
	return rc;
}

static int pp_run(struct bench_state *st, uint64_t iters)
{
	return pingpong_run(st, st->priv, iters);
}

static void pp_teardown(struct bench_state *st)
{
	pingpong_stop(st->priv);
}

/* ---- file and mmap reread ---- */

static int seed_fd = -1;
static uint64_t *seed_map;
static uint64_t *seed_buf;
static volatile uint64_t seed_sink;

static uint64_t sum_words(const uint64_t *p, size_t bytes)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < bytes / sizeof(*p); i++)
		s += p[i];
	return s;
}

static int tmpfs_file(struct bench_state *st)
{
	static const char *const dirs[] = { "/dev/shm", "/tmp" };
	size_t i, off;
	ssize_t n;

	seed_fd = memfd_create("lol-bench", MFD_CLOEXEC);
	for (i = 0; seed_fd < 0 && i < 2; i++)
		seed_fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (seed_fd < 0)
		return bench_fail(st, errno, "memfd_create / O_TMPFILE: %m");
	seed_buf = malloc(SEED_CHUNK);
	if (!seed_buf)
		return bench_fail(st, ENOMEM, "malloc");
	for (i = 0; i < SEED_CHUNK / sizeof(*seed_buf); i++)
		seed_buf[i] = i * 0x9e3779b97f4a7c15ull;
	for (off = 0; off < SEED_FILE_SIZE; off += (size_t)n) {
		n = write(seed_fd, seed_buf, SEED_CHUNK);
		if (n <= 0)
			return bench_fail(st, errno, "writing the tmpfs file: %m");
	}
	st->op_bytes = SEED_FILE_SIZE;
	bench_note(st, "%u MiB tmpfs file (memfd), 64 KiB reads",
		   SEED_FILE_SIZE >> 20);
	return 0;
}

static int file_reread_run(struct bench_state *st, uint64_t iters)
{
	uint64_t i, s = 0;
	size_t off;
	ssize_t n;

	for (i = 0; i < iters; i++) {
		for (off = 0; off < SEED_FILE_SIZE; off += (size_t)n) {
			n = pread(seed_fd, seed_buf, SEED_CHUNK, (off_t)off);
			if (n <= 0)
				return bench_fail(st, n ? errno : EIO,
						  "read: %s", n ? strerror(errno) : "short file");
			s += sum_words(seed_buf, (size_t)n);
		}
	}
	seed_sink = s;
	return 0;
}

static int mmap_setup(struct bench_state *st)
{
	int rc = tmpfs_file(st);

	if (rc)
		return rc;
	seed_map = mmap(NULL, SEED_FILE_SIZE, PROT_READ, MAP_SHARED, seed_fd, 0);
	if (seed_map == MAP_FAILED)
		return bench_fail(st, errno, "mmap: %m");
	bench_note(st, "%u MiB tmpfs file (memfd) mapped MAP_SHARED once",
		   SEED_FILE_SIZE >> 20);
	return 0;
}

static int mmap_reread_run(struct bench_state *st, uint64_t iters)
{
	uint64_t i, s = 0;

	(void)st;
	for (i = 0; i < iters; i++)
		s += sum_words(seed_map, SEED_FILE_SIZE);
	seed_sink = s;
	return 0;
}

static void file_teardown(struct bench_state *st)
{
	(void)st;
	if (seed_map && seed_map != MAP_FAILED)
		munmap(seed_map, SEED_FILE_SIZE);
	free(seed_buf);
	close(seed_fd);
}

const struct bench bench_seed_ctxsw = {
	.id = "seed-ctxsw-2p0k",
	.mech = "host",
	.op = "ctxsw 2p/0k (pipe token)",
	.group = BG_SEED, .unit = BU_NS, .clock = CLOCK_MONOTONIC,
	.setup = ctxsw_setup, .run = pp_run, .teardown = pp_teardown,
};

const struct bench bench_seed_lat_pipe = {
	.id = "seed-lat-pipe",
	.mech = "host",
	.op = "pipe latency",
	.group = BG_SEED, .unit = BU_NS, .clock = CLOCK_MONOTONIC,
	.setup = lat_pipe_setup, .run = pp_run, .teardown = pp_teardown,
};

const struct bench bench_seed_lat_unix = {
	.id = "seed-lat-unix",
	.mech = "host",
	.op = "AF_UNIX stream latency",
	.group = BG_SEED, .unit = BU_NS, .clock = CLOCK_MONOTONIC,
	.setup = lat_unix_setup, .run = pp_run, .teardown = pp_teardown,
};

const struct bench bench_seed_lat_tcp = {
	.id = "seed-lat-tcp",
	.mech = "host",
	.op = "TCP latency 127.0.0.1",
	.group = BG_SEED, .unit = BU_NS, .clock = CLOCK_MONOTONIC,
	.setup = lat_tcp_setup, .run = pp_run, .teardown = pp_teardown,
};

const struct bench bench_seed_file_reread = {
	.id = "seed-file-reread",
	.mech = "host",
	.op = "file reread (read)",
	.group = BG_SEED, .unit = BU_MBS, .clock = CLOCK_MONOTONIC,
	.setup = tmpfs_file, .run = file_reread_run, .teardown = file_teardown,
};

const struct bench bench_seed_mmap_reread = {
	.id = "seed-mmap-reread",
	.mech = "host",
	.op = "mmap reread",
	.group = BG_SEED, .unit = BU_MBS, .clock = CLOCK_MONOTONIC,
	.setup = mmap_setup, .run = mmap_reread_run, .teardown = file_teardown,
};
