/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol-guest-suite: what the runner (lol-guest-suite.c) and the cases
 * (cases_*.c) share.
 *
 * A case is a function that runs in its own forked process (its own
 * process group) and returns CASE_PASS, CASE_FAIL or CASE_SKIP. It reports
 * what went wrong with FAIL()/CHECK(), which print a "# case: file:line:
 * message" diagnostic and hand the message to the runner for the "not ok"
 * line. Processes a case forks may use them too: they reach the runner
 * through the same (inherited) pipe.
 *
 * Nothing in a case may use stdio on stdout: the runner and the cases
 * share fd 1, and a buffered line would be written twice after a fork.
 * diag() and info() write whole lines with one write(2).
 */
#ifndef LOL_GUEST_SUITE_H
#define LOL_GUEST_SUITE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "io.h"

enum {
	CASE_PASS = 0,
	CASE_FAIL = 1,
	CASE_SKIP = 4,
};

struct guest_case {
	const char *name;
	const char *summary;	/* one line, for -l and --help */
	int (*fn)(void);
};

/* The cases, in the order the suite runs them. */
extern const struct guest_case guest_cases[];
extern const size_t guest_case_count;

/* Set by the runner before a case starts. */
extern const char *self_exe;	/* this program, for fork+exec helpers */
extern const char *case_name;	/* the running case */
extern const char *case_tmpdir;	/* an empty directory of its own */
extern double suite_scale;	/* LOL_GUEST_SUITE_SCALE */
extern bool suite_quiet;	/* -q: no info() lines */
extern int case_reason_fd;	/* where FAIL()/skip() messages go */

/*
 * The hidden helper mode the cases exec:
 *	lol-guest-suite --child-exit N
 * exits with status N if the environment holds LOL_GS_EXIT=N (so argv
 * and envp both made it through execve), with 254 otherwise.
 */
#define HELPER_EXIT_ARG	"--child-exit"
#define HELPER_EXIT_ENV	"LOL_GS_EXIT"
int helper_child_exit(int argc, char **argv);

/* Diagnostics: "# " + message + "\n", one write(2) each. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational diagnostics, dropped under -q. */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define FAIL(...)	fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Fail the (sub)test, returning from the calling function. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			return FAIL(__VA_ARGS__);			\
	} while (0)

/* For calls that return -1 and set errno on failure. */
#define CHECK_SYS(expr)							\
	do {								\
		if ((long)(expr) == -1L)				\
			return FAIL("%s: %s", #expr, errno_name(errno)); \
	} while (0)

/* Run a subtest; stop at its first failure or skip. */
#define TRY(expr)							\
	do {								\
		int try_rc_ = (expr);					\
		if (try_rc_ != CASE_PASS)				\
			return try_rc_;					\
	} while (0)

/* "EAGAIN" rather than "Resource temporarily unavailable". */
const char *errno_name(int err);
/* "exited 3", "killed by SIGKILL", ... for a wait status. */
const char *status_str(int status, char *buf, size_t len);
/* Reaps @pid; the case fails unless it exited with status 0. */
int wait_exit0(pid_t pid, const char *who);

/* n * LOL_GUEST_SUITE_SCALE, at least 1. */
long scaled(long n);

/* Milliseconds on CLOCK_MONOTONIC. */
double now_ms(void);

/* Deterministic pseudo-random numbers (xorshift64*), seed != 0. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * waitpid() for at most timeout_ms: returns pid, 0 on timeout (the child
 * is left running) or -1 with errno.
 */
pid_t wait_timeout(pid_t pid, int *status, int timeout_ms);

/*
 * Wait until pid sleeps in the kernel (state S or D in /proc/PID/stat),
 * for at most timeout_ms. Without /proc, sleep a while and hope: returns
 * true if the state was seen, false otherwise.
 */
bool wait_sleeping(pid_t pid, int timeout_ms);

/* Whether touching addr faults (SIGSEGV or SIGBUS), with siglongjmp. */
bool faults_on_read(const volatile void *addr);
bool faults_on_write(volatile void *addr);

/* Pin the calling process to one CPU (best effort). */
void pin_to_cpu(int cpu);

/* The cases. */
int case_fork_exec_wait(void);
int case_pipes(void);
int case_signals(void);
int case_memory(void);
int case_cow(void);
int case_threads(void);
int case_fpu(void);
int case_file_io(void);
int case_tcp_loopback(void);
int case_ptrace(void);
int case_big_memory(void);
int case_kill_mid_syscall(void);

#endif /* LOL_GUEST_SUITE_H */
