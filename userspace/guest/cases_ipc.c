// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: communication between processes. pipes, tcp_loopback.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suite.h"

/* The byte at offset i of the test streams: no period a bug could hide in. */
static inline uint8_t stream_byte(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ i >> 20);
}

/* --- pipes ----------------------------------------------------------------- */

struct ping {
	uint32_t seq;
	char data[60];
};

static void ping_fill(struct ping *m, uint32_t seq, int delta)
{
	size_t i;

	m->seq = seq;
	for (i = 0; i < sizeof(m->data); i++)
		m->data[i] = (char)(seq + i * 7 + delta);
}

static bool ping_check(const struct ping *m, uint32_t seq, int delta)
{
	struct ping want;

	ping_fill(&want, seq, delta);
	return !memcmp(m, &want, sizeof(want));
}

/* The child answers every message with seq + 1 and its data + 1. */
static void ping_child(int rd, int wr)
{
	struct ping m;
	ssize_t n;

	while ((n = read_full(rd, &m, sizeof(m))) == sizeof(m)) {
		if (!ping_check(&m, m.seq, 0)) {
			FAIL("message %u arrived damaged", m.seq);
			_exit(1);
		}
		ping_fill(&m, m.seq + 1, 1);
		if (write_full(wr, &m, sizeof(m)) != sizeof(m)) {
			FAIL("child write: %s", errno_name(errno));
			_exit(1);
		}
	}
	_exit(n == 0 ? 0 : 1);
}

static int pipe_ping_pong(void)
{
	long n = scaled(1000), i;
	int down[2], up[2];
	struct ping m;
	pid_t pid;

	CHECK_SYS(pipe(down));
	CHECK_SYS(pipe(up));
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		ping_child(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	for (i = 0; i < n; i++) {
		ping_fill(&m, i * 2, 0);
		CHECK(write_full(down[1], &m, sizeof(m)) == sizeof(m),
		      "write message %ld: %s", i, errno_name(errno));
		CHECK(read_full(up[0], &m, sizeof(m)) == sizeof(m),
		      "read answer %ld: short or %s", i, errno_name(errno));
		CHECK(ping_check(&m, i * 2 + 1, 1),
		      "answer %ld: expected seq %ld and its data, got seq %u",
		      i, i * 2 + 1, m.seq);
	}
	close(down[1]);
	close(up[0]);
	TRY(wait_exit0(pid, "ping-pong child"));
	info("%ld pipe round trips", n);
	return CASE_PASS;
}

#define XFER_SIZE	(1 << 20)

/* 1 MiB in chunks of random sizes, read back in other random sizes. */
static int pipe_transfer(void)
{
	uint64_t rs = 0x1234567, off = 0, sum = 0, want = 0;
	static uint8_t buf[65536];
	int p[2];
	pid_t pid;

	CHECK_SYS(pipe(p));
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		uint64_t ws = 0x7654321;

		close(p[0]);
		while (off < XFER_SIZE) {
			size_t len = rng_next(&ws) % 8192 + 1, i;

			if (len > XFER_SIZE - off)
				len = XFER_SIZE - off;
			for (i = 0; i < len; i++)
				buf[i] = stream_byte(off + i);
			if (write_full(p[1], buf, len) != (ssize_t)len) {
				FAIL("writer: %s", errno_name(errno));
				_exit(1);
			}
			off += len;
		}
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		size_t len = rng_next(&rs) % sizeof(buf) + 1, i;
		ssize_t n = read(p[0], buf, len);

		CHECK(n >= 0, "read at offset %llu: %s",
		      (unsigned long long)off, errno_name(errno));
		if (n == 0)
			break;
		for (i = 0; i < (size_t)n; i++) {
			CHECK(buf[i] == stream_byte(off + i),
			      "byte %llu: expected %#x, got %#x",
			      (unsigned long long)(off + i),
			      stream_byte(off + i), buf[i]);
			sum = sum * 31 + buf[i];
		}
		off += n;
	}
	close(p[0]);
	for (off = 0; off < XFER_SIZE; off++)
		want = want * 31 + stream_byte(off);
	CHECK(off == XFER_SIZE && sum == want,
	      "expected %d bytes with checksum %#llx, got checksum %#llx",
	      XFER_SIZE, (unsigned long long)want, (unsigned long long)sum);
	return wait_exit0(pid, "writer child");
}

static int pipe_nonblock(void)
{
	static char buf[4096];
	long filled = 0, drained = 0;
	struct pollfd pfd;
	int p[2], size;
	ssize_t n;

	CHECK_SYS(pipe2(p, O_NONBLOCK | O_CLOEXEC));
	CHECK(read(p[0], buf, 1) == -1 && errno == EAGAIN,
	      "read of an empty O_NONBLOCK pipe: expected EAGAIN, got %s",
	      errno_name(errno));
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	CHECK(poll(&pfd, 1, 0) == 0, "poll of an empty pipe: readable?");

	while ((n = write(p[1], buf, sizeof(buf))) > 0)
		filled += n;
	CHECK(n == -1 && errno == EAGAIN,
	      "write to a full O_NONBLOCK pipe: expected EAGAIN, got %s",
	      errno_name(errno));
	size = fcntl(p[1], F_GETPIPE_SZ);
	CHECK(filled >= 4096 && (size < 0 || filled == size),
	      "the pipe took %ld bytes, F_GETPIPE_SZ says %d", filled, size);
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN),
	      "poll of a full pipe: not readable (revents %#x)", pfd.revents);

	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		drained += n;
	CHECK(n == 0 && drained == filled,
	      "drain after closing the writer: expected %ld bytes then EOF, got %ld then %s",
	      filled, drained, n ? errno_name(errno) : "EOF");
	close(p[0]);
	return CASE_PASS;
}

static int pipe_epipe(void)
{
	int p[2], status;
	char st[64];
	pid_t pid;

	CHECK_SYS(pipe(p));
	close(p[0]);
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (write(p[1], "x", 1) < 0)
			_exit(1);
		_exit(2);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s",
	      errno_name(errno));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
	      "write to a pipe without readers: expected killed by SIGPIPE, got %s",
	      status_str(status, st, sizeof(st)));
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE,
	      "the same with SIGPIPE ignored: expected EPIPE, got %s",
	      errno_name(errno));
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
	return CASE_PASS;
}

int case_pipes(void)
{
	TRY(pipe_ping_pong());
	TRY(pipe_transfer());
	TRY(pipe_nonblock());
	TRY(pipe_epipe());
	return CASE_PASS;
}

/* --- tcp_loopback ------------------------------------------------------------ */

#define TCP_TOTAL	(256 * 1024)
#define TCP_CHUNK	(16 * 1024)

/*
 * A minimal init may leave lo down; bring it up (as root), and Linux gives
 * it 127.0.0.1/8 by itself. Returns NULL or why it could not.
 */
static const char *loopback_up(void)
{
	static char why[128];
	struct ifreq ifr;
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(why, sizeof(why), "socket: %s", errno_name(errno));
		return why;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		snprintf(why, sizeof(why), "SIOCGIFFLAGS lo: %s",
			 errno_name(errno));
		close(s);
		return why;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr)) {
			snprintf(why, sizeof(why),
				 "lo is down and SIOCSIFFLAGS failed: %s%s",
				 errno_name(errno),
				 errno == EPERM ? " (not root)" : "");
			close(s);
			return why;
		}
		info("brought lo up");
	}
	close(s);
	return NULL;
}

/* The client end, in a child: send, read the echo, compare. */
static void tcp_client(int s)
{
	static uint8_t out[TCP_CHUNK], in[TCP_CHUNK];
	size_t off, i;
	int one = 1;
	ssize_t n;

	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Lock step, a chunk at a time: neither side can fill both buffers. */
	for (off = 0; off < TCP_TOTAL; off += TCP_CHUNK) {
		for (i = 0; i < TCP_CHUNK; i++)
			out[i] = stream_byte(off + i);
		if (write_full(s, out, TCP_CHUNK) != TCP_CHUNK) {
			FAIL("client send at %zu: %s", off, errno_name(errno));
			_exit(1);
		}
		n = read_full(s, in, TCP_CHUNK);
		if (n != TCP_CHUNK) {
			FAIL("client receive at %zu: got %zd bytes (%s)", off,
			     n, n < 0 ? errno_name(errno) : "EOF");
			_exit(1);
		}
		for (i = 0; i < TCP_CHUNK; i++) {
			if (in[i] != out[i]) {
				FAIL("echo byte %zu: expected %#x, got %#x",
				     off + i, out[i], in[i]);
				_exit(1);
			}
		}
	}
	if (shutdown(s, SHUT_WR) || read(s, in, 1) != 0) {
		FAIL("client: expected EOF after shutdown: %s",
		     errno_name(errno));
		_exit(1);
	}
	close(s);
	_exit(0);
}

/*
 * Connect and accept here, so that an unusable loopback shows before any
 * child exists; then the child is the client and we echo.
 */
static int tcp_echo(int ls, const char *lo_why)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	static uint8_t buf[65536];
	size_t total = 0, i;
	int s, cs;
	pid_t pid;
	ssize_t n;

	CHECK_SYS(getsockname(ls, (struct sockaddr *)&sa, &len));
	CHECK(sa.sin_port != 0, "getsockname: no port was chosen");
	cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_SYS(cs);
	if (connect(cs, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == ENETUNREACH)
			return skip("connect 127.0.0.1: ENETUNREACH: loopback down%s%s",
				    lo_why ? ": " : "", lo_why ? lo_why : "");
		return FAIL("connect 127.0.0.1:%d: %s", ntohs(sa.sin_port),
			    errno_name(errno));
	}
	len = sizeof(sa);
	s = accept4(ls, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
	CHECK(s >= 0, "accept: %s", errno_name(errno));
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		close(s);
		close(ls);
		tcp_client(cs);
	}
	close(cs);
	CHECK(sa.sin_family == AF_INET &&
	      sa.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      "the peer is not 127.0.0.1 but %s", inet_ntoa(sa.sin_addr));
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			CHECK(buf[i] == stream_byte(total + i),
			      "server: byte %zu: expected %#x, got %#x",
			      total + i, stream_byte(total + i), buf[i]);
		CHECK(write_full(s, buf, n) == n, "server send: %s",
		      errno_name(errno));
		total += n;
	}
	CHECK(n == 0, "server receive: %s", errno_name(errno));
	close(s);
	TRY(wait_exit0(pid, "TCP client"));
	CHECK(total == TCP_TOTAL, "the server echoed %zu bytes, expected %d",
	      total, TCP_TOTAL);
	info("%d KiB echoed over 127.0.0.1:%d", TCP_TOTAL / 1024,
	     ntohs(sa.sin_port));
	return CASE_PASS;
}

static int udp_datagram(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	}, from;
	socklen_t len = sizeof(sa);
	char msg[] = "lol-guest-suite datagram", buf[64];
	ssize_t n;
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_SYS(s);
	CHECK_SYS(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_SYS(getsockname(s, (struct sockaddr *)&sa, &len));
	CHECK(sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&sa,
		     sizeof(sa)) == sizeof(msg),
	      "UDP sendto: %s", errno_name(errno));
	len = sizeof(from);
	n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	CHECK(n == sizeof(msg) && !memcmp(buf, msg, n) &&
	      from.sin_port == sa.sin_port,
	      "UDP: expected our %zu-byte datagram from port %d, got %zd bytes (%s) from port %d",
	      sizeof(msg), ntohs(sa.sin_port), n,
	      n < 0 ? errno_name(errno) : "data", ntohs(from.sin_port));
	close(s);
	return CASE_PASS;
}

int case_tcp_loopback(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	const char *why;
	int ls;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT))
		return skip("socket(AF_INET, SOCK_STREAM): %s: no TCP/IP in this kernel",
			    errno_name(errno));
	CHECK_SYS(ls);
	why = loopback_up();
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(ls);
		if (err == EADDRNOTAVAIL)
			return skip("bind 127.0.0.1: EADDRNOTAVAIL: no loopback address%s%s",
				    why ? ": " : "", why ? why : "");
		return FAIL("bind 127.0.0.1: %s", errno_name(err));
	}
	CHECK_SYS(listen(ls, 4));
	TRY(tcp_echo(ls, why));
	close(ls);
	return udp_datagram();
}
