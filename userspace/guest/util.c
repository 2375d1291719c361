// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: helpers the cases share (diagnostics, waiting, fault
 * probes).
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suite.h"

const char *self_exe = "/proc/self/exe";
const char *case_name = "suite";
const char *case_tmpdir = "/tmp";
double suite_scale = 1.0;
bool suite_quiet;
int case_reason_fd = -1;

static void vdiag(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "# %s", prefix);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write: lines of concurrent processes do not interleave. */
	if (write(STDOUT_FILENO, buf, n) < 0)
		return;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag("", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	if (suite_quiet)
		return;
	snprintf(prefix, sizeof(prefix), "%s: ", case_name);
	va_start(ap, fmt);
	vdiag(prefix, fmt, ap);
	va_end(ap);
}

/* Hand a message to the runner; the first line it gets is the reason. */
static void report_reason(const char *msg)
{
	char buf[512];
	int n;

	if (case_reason_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%s\n", msg);
	if (n >= (int)sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	/* Under PIPE_BUF, so atomic; the pipe is non-blocking. */
	if (write(case_reason_fd, buf, n) < 0)
		return;
}

int fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag("%s: %s:%d: %s%s", case_name, file, line, msg,
	     getpid() == getpgrp() ? "" : " (in a child process)");
	report_reason(msg);
	return CASE_FAIL;
}

int skip(const char *fmt, ...)
{
	char msg[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag("%s: skipped: %s", case_name, msg);
	report_reason(msg);
	return CASE_SKIP;
}

const char *errno_name(int err)
{
	static char buf[32];
#ifdef __GLIBC__
	const char *name = strerrorname_np(err);

	if (name)
		return name;
#endif
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* "SIGSEGV", "SIGRTMIN+1", ... */
static const char *signal_name(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

const char *status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by %s%s",
			 signal_name(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	} else if (WIFSTOPPED(status)) {
		snprintf(buf, len, "stopped by %s",
			 signal_name(WSTOPSIG(status)));
	} else {
		snprintf(buf, len, "status %#x", status);
	}
	return buf;
}

long scaled(long n)
{
	double v = n * suite_scale;

	return v < 1 ? 1 : (long)v;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}



pid_t wait_timeout(pid_t pid, int *status, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	struct timespec ts = { 0, 1000000 };	/* 1 ms */

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r != 0)
			return r;
		if (now_ms() >= deadline)
			return 0;
		nanosleep(&ts, NULL);
	}
}

/* The state letter in /proc/PID/stat, or 0 without /proc. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

bool wait_sleeping(pid_t pid, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	struct timespec ts = { 0, 1000000 };

	for (;;) {
		char st = proc_state(pid);

		if (st == 'S' || st == 'D')
			return true;
		if (!st) {
			/* No /proc: give it time to get into the call. */
			ts.tv_nsec = 50000000;
			nanosleep(&ts, NULL);
			return false;
		}
		if (now_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

static sigjmp_buf probe_env;

static void probe_handler(int sig)
{
	siglongjmp(probe_env, sig);
}

static bool probe(const volatile void *addr, bool write)
{
	struct sigaction sa = { .sa_handler = probe_handler };
	struct sigaction old_segv, old_bus;
	volatile bool faulted = false;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(probe_env, 1) == 0) {
		if (write)
			*(volatile char *)addr = *(volatile char *)addr;
		else
			(void)*(const volatile char *)addr;
	} else {
		faulted = true;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

bool faults_on_read(const volatile void *addr)
{
	return probe(addr, false);
}

bool faults_on_write(volatile void *addr)
{
	return probe(addr, true);
}

void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Reaps @pid and fails the case unless it exited with status 0. */
int wait_exit0(pid_t pid, const char *who)
{
	int status;
	char st[64];

	CHECK(waitpid(pid, &status, 0) == pid, "waitpid %s: %s", who,
	      errno_name(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "%s: expected exited 0, got %s", who,
	      status_str(status, st, sizeof(st)));
	return CASE_PASS;
}
