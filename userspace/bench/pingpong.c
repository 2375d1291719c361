// SPDX-License-Identifier: GPL-2.0
/*
 * Two-process ping-pong over a pair of file descriptors: the pipe
 * round-trip floor, the seed's pipe / AF_UNIX / TCP latencies and its
 * 2-process context switch all use it.  One iteration = we write a
 * message, the peer reads it and writes it back, we read it.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"

static int xfer(int fd, char *buf, size_t len, int wr)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = wr ? write(fd, buf + done, len - done)
		       : read(fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0 ? -EPIPE : -errno;
	}
	return 0;
}

static void __attribute__((noreturn)) peer_main(int r, int w, size_t len)
{
	char buf[64];

	for (;;) {
		if (xfer(r, buf, len, 0) || xfer(w, buf, len, 1))
			_exit(0);
	}
}

int pingpong_start(struct bench_state *st, struct pingpong *pp, size_t len,
		   int my_r, int my_w, int peer_r, int peer_w)
{
	pp->fd_r = my_r;
	pp->fd_w = my_w;
	pp->len = len;
	pp->peer = bench_fork_peer();
	if (pp->peer < 0)
		return bench_fail(st, errno, "fork: %m");
	if (pp->peer == 0) {
		close(my_r);
		if (my_w != my_r)
			close(my_w);
		peer_main(peer_r, peer_w, len);
	}
	close(peer_r);
	if (peer_w != peer_r)
		close(peer_w);
	return 0;
}

int pingpong_run(struct bench_state *st, struct pingpong *pp, uint64_t iters)
{
	char buf[64];
	uint64_t i;
	int rc;

	memset(buf, 0x5a, sizeof(buf));
	for (i = 0; i < iters; i++) {
		rc = xfer(pp->fd_w, buf, pp->len, 1);
		if (!rc)
			rc = xfer(pp->fd_r, buf, pp->len, 0);
		if (rc)
			return bench_fail(st, -rc, "ping-pong peer: %s",
					  strerror(-rc));
	}
	return 0;
}

void pingpong_stop(struct pingpong *pp)
{
	close(pp->fd_r);
	if (pp->fd_w != pp->fd_r)
		close(pp->fd_w);
	bench_kill_peer(&pp->peer);
}

/* Two pipes: ours -> peer, peer -> ours. */
int pingpong_pipes(struct bench_state *st, struct pingpong *pp, size_t len)
{
	int to_peer[2], to_us[2];

	if (pipe(to_peer))
		return bench_fail(st, errno, "pipe: %m");
	if (pipe(to_us)) {
		close(to_peer[0]);
		close(to_peer[1]);
		return bench_fail(st, errno, "pipe: %m");
	}
	return pingpong_start(st, pp, len, to_us[0], to_peer[1],
			      to_peer[0], to_us[1]);
}
