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
	pid_t w;

	ASSERT_NE(NULL, t);
	if (stat(GUEST_DIR "/linux", &st) || stat(LOL_RUN_BIN, &st))
		SKIP(return, "no guest in " GUEST_DIR " (make guest)");
	ASSERT_EQ(0, system("/lol/tests/guest_test.sh --make-root " ROOT
			    " >/dev/null"));

	t->pid = forkpty(&t->fd, NULL, NULL, NULL);
	ASSERT_LE(0, t->pid);
	if (t->pid == 0) {
		execl(LOL_RUN_BIN, "lol-run", "--lol", "on", "-k",
		      GUEST_DIR "/linux", "-m", "128M", "-r", ROOT, "--",
		      "init=/init", (char *)NULL);
		_exit(127);
	}

	/* busybox init's shell on the console: "/ # " */
	EXPECT_TRUE(expect(t, 0, "lol: guest processes run on /dev/lol", 120))
		TH_LOG("UML did not say it runs on lol");
	EXPECT_TRUE(expect(t, 0, "# ", 120)) TH_LOG("no shell prompt");

	mark = t->len;
	type(t, "echo $((6 * 7))-answer\n");
	EXPECT_TRUE(expect(t, mark, "42-answer", 60))
		TH_LOG("the shell did not answer");

	mark = t->len;
	type(t, "uname -sr; grep -c lol= /proc/cmdline\n");
	EXPECT_TRUE(expect(t, mark, "Linux 6.1", 60));

	mark = t->len;
	type(t, "poweroff\n");
	expect(t, mark, "System halted", 120);
	for (int i = 0; i < 600; i++) {
		w = waitpid(t->pid, &status, WNOHANG);
		if (w == t->pid)
			break;
		usleep(100 * 1000);
	}
	if (w != t->pid) {
		kill(t->pid, SIGTERM);
		waitpid(t->pid, &status, 0);
	}
	EXPECT_EQ(t->pid, w) TH_LOG("lol-run still running after poweroff");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("lol-run: status %#x", status);
	if (!_metadata->passed)
		dump(t);
	close(t->fd);
	if (system("rm -rf " ROOT))
		TH_LOG("could not remove " ROOT);
	free(t);
}

TEST_HARNESS_MAIN
