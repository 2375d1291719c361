// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: processes. fork_exec_wait, ptrace, kill_mid_syscall.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suite.h"

/* --- fork_exec_wait ----------------------------------------------------- */

struct exec_args {
	char code[16];
	char env[48];
	char *argv[4];
	char *envp[2];
};

/* Prepared before fork/vfork: a vfork child must only execve or _exit. */
static void exec_args_init(struct exec_args *a, int code)
{
	snprintf(a->code, sizeof(a->code), "%d", code);
	snprintf(a->env, sizeof(a->env), HELPER_EXIT_ENV "=%d", code);
	a->argv[0] = "lol-guest-suite";
	a->argv[1] = HELPER_EXIT_ARG;
	a->argv[2] = a->code;
	a->argv[3] = NULL;
	a->envp[0] = a->env;
	a->envp[1] = NULL;
}

static int fork_exec_storm(void)
{
	long n = scaled(50), i, reaped;
	struct exec_args args;
	int *codes, status;
	pid_t *pids, pid;
	char st[64];

	pids = calloc(n, sizeof(*pids));
	codes = calloc(n, sizeof(*codes));
	CHECK(pids && codes, "calloc failed");

	/* All of them at once, then reap them in whatever order they end. */
	for (i = 0; i < n; i++) {
		codes[i] = (i * 37 + 1) % 200;
		exec_args_init(&args, codes[i]);
		pid = fork();
		CHECK_SYS(pid);
		if (pid == 0) {
			execve(self_exe, args.argv, args.envp);
			FAIL("execve %s: %s", self_exe, errno_name(errno));
			_exit(255);
		}
		pids[i] = pid;
	}
	for (reaped = 0; reaped < n; reaped++) {
		pid = waitpid(-1, &status, 0);
		CHECK(pid > 0, "waitpid after %ld of %ld children: %s",
		      reaped, n, errno_name(errno));
		for (i = 0; i < n && pids[i] != pid; i++)
			;
		CHECK(i < n, "waitpid returned pid %d, not one of ours",
		      (int)pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == codes[i],
		      "child %ld: expected exited %d, got %s", i, codes[i],
		      status_str(status, st, sizeof(st)));
		pids[i] = 0;
	}
	CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD,
	      "children left after reaping all %ld", n);
	free(pids);
	free(codes);
	info("%ld fork+exec+wait", n);
	return CASE_PASS;
}

static int vfork_exec(void)
{
	struct exec_args args;
	siginfo_t si;
	int status;
	char st[64];
	pid_t pid;

	exec_args_init(&args, 42);
	pid = vfork();
	CHECK_SYS(pid);
	if (pid == 0) {
		execve(self_exe, args.argv, args.envp);
		_exit(255);
	}
	/* WNOWAIT leaves it to be reaped again. */
	memset(&si, 0, sizeof(si));
	CHECK_SYS(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	CHECK(si.si_pid == pid && si.si_code == CLD_EXITED &&
	      si.si_status == 42,
	      "waitid: expected pid %d exited 42, got pid %d code %d status %d",
	      (int)pid, (int)si.si_pid, si.si_code, si.si_status);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid after WNOWAIT: %s",
	      errno_name(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "vfork+exec: expected exited 42, got %s",
	      status_str(status, st, sizeof(st)));
	return CASE_PASS;
}

static int exec_errors(void)
{
	char *argv[] = { "x", NULL };
	char path[] = "not-executable";
	int fd;

	CHECK(execve("/nonexistent/lol-guest-suite", argv, argv + 1) == -1 &&
	      errno == ENOENT, "execve of a missing file: expected ENOENT, got %s",
	      errno_name(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_SYS(fd);
	close(fd);
	CHECK(execve(path, argv, argv + 1) == -1 && errno == EACCES,
	      "execve of a mode 0644 file: expected EACCES, got %s",
	      errno_name(errno));
	unlink(path);
	return CASE_PASS;
}

/* A grandchild whose parent exits is reparented to us, the subreaper. */
static int reparent(void)
{
	pid_t me = getpid(), a, r;
	int status;
	char st[64];

	CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));
	a = fork();
	CHECK_SYS(a);
	if (a == 0) {
		pid_t parent = getpid();

		if (fork() == 0) {
			double deadline = now_ms() + 5000;

			while (getppid() == parent && now_ms() < deadline)
				usleep(1000);
			_exit(getppid() == me ? 33 : 34);
		}
		_exit(11);
	}
	CHECK(waitpid(a, &status, 0) == a && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 11, "middle child: expected exited 11, got %s",
	      status_str(status, st, sizeof(st)));
	r = waitpid(-1, &status, 0);
	CHECK(r > 0 && r != a, "no reparented grandchild to wait for: %s",
	      errno_name(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 33,
	      "grandchild: expected exited 33 (getppid() == subreaper), got %s",
	      status_str(status, st, sizeof(st)));
	return CASE_PASS;
}

int case_fork_exec_wait(void)
{
	TRY(fork_exec_storm());
	TRY(vfork_exec());
	TRY(exec_errors());
	TRY(reparent());
	return CASE_PASS;
}

/* --- ptrace -------------------------------------------------------------- */

#define PTRACE_MAGIC	0x1badc0de5eedL
#define PTRACE_POKED	0x600dcafeL
#define PTRACE_MSG	"lol-guest-suite\n"

/* The child writes these; the tracer reads them with PTRACE_PEEKDATA. */
static volatile long ptrace_magic;
static volatile long ptrace_fd;

#ifdef __x86_64__
static void ptrace_child(void)
{
	int fd;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(2);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		_exit(3);
	ptrace_fd = fd;
	ptrace_magic = PTRACE_MAGIC;
	raise(SIGSTOP);
	syscall(SYS_getpid);
	if (write(fd, PTRACE_MSG, sizeof(PTRACE_MSG) - 1) < 0)
		_exit(4);
	_exit(ptrace_magic == PTRACE_POKED ? 7 : 8);
}

int case_ptrace(void)
{
	long want[] = { SYS_getpid, SYS_write, SYS_exit_group };
	long getpid_ret = 0, write_fd = -1, write_len = -1, write_ret = 0;
	struct user_regs_struct regs;
	int status, nwant = 0, nstops = 0;
	bool in_syscall = false;
	long nr = -1, v, fd;
	char st[64];
	pid_t pid;

	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0)
		ptrace_child();

	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s",
	      errno_name(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		return FAIL("the child cannot open /dev/null");
	CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP,
	      "expected the child stopped by SIGSTOP, got %s",
	      status_str(status, st, sizeof(st)));
	CHECK_SYS(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)));

	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, (void *)&ptrace_magic, NULL);
	CHECK(errno == 0, "PTRACE_PEEKDATA: %s", errno_name(errno));
	CHECK(v == PTRACE_MAGIC && ptrace_magic == 0,
	      "PTRACE_PEEKDATA: expected the child's %#lx (ours is 0), got %#lx (ours %#lx)",
	      PTRACE_MAGIC, v, ptrace_magic);
	errno = 0;
	fd = ptrace(PTRACE_PEEKDATA, pid, (void *)&ptrace_fd, NULL);
	CHECK(errno == 0, "PTRACE_PEEKDATA: %s", errno_name(errno));
	CHECK_SYS(ptrace(PTRACE_POKEDATA, pid, (void *)&ptrace_magic,
			 (void *)PTRACE_POKED));
	CHECK_SYS(ptrace(PTRACE_SYSCALL, pid, NULL, NULL));

	for (;;) {
		int sig = 0;

		CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s",
		      errno_name(errno));
		if (!WIFSTOPPED(status))
			break;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			CHECK_SYS(ptrace(PTRACE_GETREGS, pid, NULL, &regs));
			nstops++;
			in_syscall = !in_syscall;
			if (in_syscall) {
				nr = regs.orig_rax;
				if (nwant < 3 && nr == want[nwant])
					nwant++;
				if (nr == SYS_write) {
					write_fd = regs.rdi;
					write_len = regs.rdx;
				}
			} else if (nr == SYS_getpid) {
				getpid_ret = regs.rax;
			} else if (nr == SYS_write) {
				write_ret = regs.rax;
			}
		} else {
			/* Some other signal: hand it on. */
			sig = WSTOPSIG(status);
		}
		CHECK_SYS(ptrace(PTRACE_SYSCALL, pid, NULL,
				 (void *)(long)sig));
	}

	CHECK(nwant == 3,
	      "syscall-entry stops: saw %d of getpid, write, exit_group in order (%d stops)",
	      nwant, nstops);
	CHECK(getpid_ret == pid, "getpid at its exit stop: expected %d, got %ld",
	      (int)pid, getpid_ret);
	CHECK(write_fd == fd && write_len == sizeof(PTRACE_MSG) - 1 &&
	      write_ret == write_len,
	      "write(%ld, ..., %zu) = %zu expected, saw write(%ld, ..., %ld) = %ld",
	      fd, sizeof(PTRACE_MSG) - 1, sizeof(PTRACE_MSG) - 1, write_fd,
	      write_len, write_ret);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 8)
		return FAIL("the child did not see the PTRACE_POKEDATA value");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	      "expected the child to exit 7, got %s",
	      status_str(status, st, sizeof(st)));
	info("%d syscall stops", nstops);
	return CASE_PASS;
}
#else
int case_ptrace(void)
{
	return skip("the register checks are x86_64 only");
}
#endif

/* --- kill_mid_syscall ------------------------------------------------------ */

static int kill_pipe_rd = -1;

static void *blocked_reader(void *arg)
{
	char c;

	(void)arg;
	if (read(kill_pipe_rd, &c, 1) >= 0)
		return NULL;
	return NULL;
}

static void *busy_getppid(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_getppid);
	return NULL;
}

enum { KILL_READ, KILL_SLEEP, KILL_BUSY, KILL_THREADS, KILL_NR };

static const char *const kill_what[KILL_NR] = {
	"blocked in read() on a pipe",
	"in nanosleep()",
	"in a getppid() loop",
	"with threads in read() and a getppid() loop, main in pause()",
};

static void kill_child(int kind, int pipe_wr, int ready_wr)
{
	struct timespec ts = { 60, 0 };
	pthread_t t;
	char c = 'r';

	close(pipe_wr);
	switch (kind) {
	case KILL_READ:
		if (write(ready_wr, &c, 1) != 1)
			_exit(1);
		if (read(kill_pipe_rd, &c, 1) >= 0)
			_exit(1);
		break;
	case KILL_SLEEP:
		if (write(ready_wr, &c, 1) != 1)
			_exit(1);
		nanosleep(&ts, NULL);
		break;
	case KILL_BUSY:
		if (write(ready_wr, &c, 1) != 1)
			_exit(1);
		busy_getppid(NULL);
		break;
	case KILL_THREADS:
		if (pthread_create(&t, NULL, blocked_reader, NULL) ||
		    pthread_create(&t, NULL, busy_getppid, NULL))
			_exit(1);
		if (write(ready_wr, &c, 1) != 1)
			_exit(1);
		pause();
		break;
	}
	_exit(1);
}

int case_kill_mid_syscall(void)
{
	int p[2], ready[2], status, i;
	pid_t pids[KILL_NR];
	double t0, t;
	char buf[KILL_NR], st[64];

	CHECK_SYS(pipe(p));
	CHECK_SYS(pipe(ready));
	kill_pipe_rd = p[0];
	for (i = 0; i < KILL_NR; i++) {
		pids[i] = fork();
		CHECK_SYS(pids[i]);
		if (pids[i] == 0) {
			close(ready[0]);
			kill_child(i, p[1], ready[1]);
		}
	}
	close(ready[1]);
	/* From here on only the children hold the read end. */
	close(p[0]);
	CHECK(read_full(ready[0], buf, KILL_NR) == KILL_NR,
	      "the children did not all start");
	close(ready[0]);
	wait_sleeping(pids[KILL_READ], 2000);
	wait_sleeping(pids[KILL_SLEEP], 2000);

	for (i = 0; i < KILL_NR; i++) {
		t0 = now_ms();
		CHECK_SYS(kill(pids[i], SIGKILL));
		CHECK(wait_timeout(pids[i], &status, 5000) == pids[i],
		      "a child %s was not gone 5 s after SIGKILL",
		      kill_what[i]);
		t = now_ms() - t0;
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "a child %s: expected killed by SIGKILL, got %s",
		      kill_what[i], status_str(status, st, sizeof(st)));
		info("child %s: reaped %.1f ms after SIGKILL", kill_what[i],
		     t);
	}
	CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD,
	      "waitpid after reaping all: expected ECHILD, got %s",
	      errno_name(errno));
	/* No reader is left anywhere: the pipe says so. */
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE,
	      "write to the pipe whose readers were killed: expected EPIPE, got %s",
	      errno_name(errno));
	close(p[1]);
	return CASE_PASS;
}
