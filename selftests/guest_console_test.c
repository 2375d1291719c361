// SPDX-License-Identifier: GPL-2.0
/*
 * guest_console_test: a person at a terminal. lol-run boots User-Mode Linux
 * on lol with the console on a pseudo-terminal; the test waits for the
 * shell prompt, types commands, reads their answers, types poweroff and
 * expects lol-run to end with the guest's status. The guest comes from
 * `make guest` (the harness carries it to /lol/guest); its root is
 * assembled by `guest_test.sh --make-root`.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define GUEST_DIR	"/lol/guest"
#define LOL_RUN_BIN	"/lol/bin/lol-run"
#define ROOT		"/tmp/lol-console-root"

struct term {
	int fd;
	pid_t pid;
	char buf[65536];
	size_t len;
};

/* Reads from the terminal until @want shows up after @from, or @secs. */
static bool expect(struct term *t, size_t from, const char *want, double secs)
{
	double end = lol_now() + secs;
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		t->buf[t->len] = 0;
		if (strstr(t->buf + from, want))
			return true;
		if (lol_now() > end || t->len + 1 >= sizeof(t->buf))
			return false;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		if (n <= 0)
			return false;	/* EIO: the other side is gone */
		t->len += n;
	}
}

static void type(struct term *t, const char *s)
{
	size_t len = strlen(s);

	/* One byte at a time, as a person would (and no lost input). */
	for (size_t i = 0; i < len; i++) {
		if (write(t->fd, s + i, 1) != 1)
			return;
		usleep(2000);
	}
}

static void dump(struct term *t)
{
	char *line, *save = NULL;

	t->buf[t->len] = 0;
	for (line = strtok_r(t->buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "#   | %s\n", line);
}

/*
 * lol-run with UML on lol, its console on a new pseudo-terminal, up to
 * busybox init's shell prompt ("/ # ").
 */
static bool boot(struct term *t)
{
	if (system("/lol/tests/guest_test.sh --make-root " ROOT " >/dev/null"))
		return false;
	t->pid = forkpty(&t->fd, NULL, NULL, NULL);
	if (t->pid < 0)
		return false;
	if (t->pid == 0) {
		execl(LOL_RUN_BIN, "lol-run", "--lol", "on", "-k",
		      GUEST_DIR "/linux", "-m", "128M", "-r", ROOT, "--",
		      "init=/init", (char *)NULL);
		_exit(127);
	}
	return expect(t, 0, "lol: guest processes run on /dev/lol", 120) &&
	       expect(t, 0, "# ", 120);
}

/*
 * lol-run's exit status; -1 if it is still running after @secs, and then
 * it is killed (and reaped).
 */
static int reap(struct term *t, double secs)
{
	double end = lol_now() + secs;
	int status;

	while (lol_now() < end) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			return status;
		/* Keep the terminal drained: a full pty blocks UML. */
		expect(t, t->len, "\x01never", 0.1);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	return -1;
}

static void finish(struct term *t)
{
	close(t->fd);
	if (system("rm -rf " ROOT))
		fprintf(stderr, "# could not remove " ROOT "\n");
	free(t);
}

/* No per-test state: the fixture exists for TEST_F_TIMEOUT. */
FIXTURE(console) {
	int unused;
};

FIXTURE_SETUP(console)
{
}

FIXTURE_TEARDOWN(console)
{
}

TEST_F_TIMEOUT(console, shell_prompt_answers, 400)
{
	struct term *t = calloc(1, sizeof(*t));
	struct stat st;
	size_t mark;
	int status;

	ASSERT_NE(NULL, t);
	if (stat(GUEST_DIR "/linux", &st) || stat(LOL_RUN_BIN, &st))
		SKIP(return, "no guest in " GUEST_DIR " (make guest)");
	ASSERT_TRUE(boot(t)) {
		dump(t);
	}

	mark = t->len;
	type(t, "echo $((6 * 7))-answer\n");
	EXPECT_TRUE(expect(t, mark, "42-answer", 60))
		TH_LOG("the shell did not answer");

	mark = t->len;
	type(t, "uname -sr; grep -c lol= /proc/cmdline\n");
	EXPECT_TRUE(expect(t, mark, "Linux 6.1", 60));

	type(t, "poweroff\n");
	status = reap(t, 120);
	EXPECT_EQ(0, status) TH_LOG("lol-run after poweroff: status %#x", status);
	if (!_metadata->passed)
		dump(t);
	finish(t);
}

/*
 * SIGTERM to lol-run is a clean shutdown: Ctrl-Alt-Del over the mconsole,
 * which the guest's inittab turns into poweroff; lol-run exits 0.
 */
TEST_F_TIMEOUT(console, sigterm_shuts_down, 400)
{
	struct term *t = calloc(1, sizeof(*t));
	struct stat st;
	int status;

	ASSERT_NE(NULL, t);
	if (stat(GUEST_DIR "/linux", &st) || stat(LOL_RUN_BIN, &st))
		SKIP(return, "no guest in " GUEST_DIR " (make guest)");
	ASSERT_TRUE(boot(t)) {
		dump(t);
	}
	ASSERT_EQ(0, kill(t->pid, SIGTERM));
	status = reap(t, 60);
	EXPECT_EQ(0, status) TH_LOG("lol-run after SIGTERM: status %#x", status);
	EXPECT_NE(NULL, strstr(t->buf, "System halted"))
		TH_LOG("the guest did not power off");
	if (!_metadata->passed)
		dump(t);
	finish(t);
}

TEST_HARNESS_MAIN
