// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: threads. A mutex-protected counter, a raw futex
 * ping-pong, thread-local storage and the fs base, pthread_kill.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __x86_64__
#include <asm/prctl.h>
#endif

#include "suite.h"

#define NTHREADS	8

/* --- mutex counter, TLS, fs base ------------------------------------------- */

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long locked_count;
static long atomic_count;
static long per_thread;

static __thread long tls_id = -1;
static __thread char tls_buf[64];

struct worker {
	pthread_t thread;
	long id;
	void *tls_addr;
	bool tls_bad;
	bool fs_bad;
	unsigned long fs_base;
};

static void *counter_thread(void *arg)
{
	struct worker *w = arg;
	long i;

	if (tls_id != -1 || tls_buf[0])
		w->tls_bad = true;	/* TLS must start from its image */
	tls_id = w->id;
	snprintf(tls_buf, sizeof(tls_buf), "thread %ld", w->id);
	w->tls_addr = &tls_id;
#ifdef __x86_64__
	/* glibc's thread pointer is the fs base, and is pthread_self(). */
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &w->fs_base) ||
	    w->fs_base != (unsigned long)pthread_self())
		w->fs_bad = true;
#endif
	for (i = 0; i < per_thread; i++) {
		pthread_mutex_lock(&count_lock);
		locked_count++;
		pthread_mutex_unlock(&count_lock);
		__atomic_fetch_add(&atomic_count, 1, __ATOMIC_RELAXED);
		/* Switch now and then, and check nobody changed our TLS. */
		if (i % 1024 == 0) {
			sched_yield();
			if (tls_id != w->id)
				w->tls_bad = true;
		}
	}
	if (tls_id != w->id || strtol(tls_buf + 7, NULL, 10) != w->id)
		w->tls_bad = true;
	return (void *)(w->id * 3 + 1);
}

static int mutex_counter(void)
{
	struct worker w[NTHREADS];
	void *ret;
	int i, j, err;

	per_thread = scaled(10000);
	tls_id = 100;
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		err = pthread_create(&w[i].thread, NULL, counter_thread, &w[i]);
		CHECK(!err, "pthread_create %d: %s", i, errno_name(err));
	}
	for (i = 0; i < NTHREADS; i++) {
		err = pthread_join(w[i].thread, &ret);
		CHECK(!err, "pthread_join %d: %s", i, errno_name(err));
		CHECK(ret == (void *)(w[i].id * 3 + 1),
		      "thread %d returned %p, expected %p", i, ret,
		      (void *)(w[i].id * 3 + 1));
	}
	CHECK(locked_count == NTHREADS * per_thread,
	      "mutex-protected counter: expected %ld, got %ld",
	      NTHREADS * per_thread, locked_count);
	CHECK(atomic_count == NTHREADS * per_thread,
	      "atomic counter: expected %ld, got %ld",
	      NTHREADS * per_thread, atomic_count);
	CHECK(tls_id == 100, "the main thread's TLS changed to %ld", tls_id);
	for (i = 0; i < NTHREADS; i++) {
		CHECK(!w[i].tls_bad, "thread %d saw a wrong TLS value", i);
		CHECK(!w[i].fs_bad,
		      "thread %d: the fs base %#lx is not pthread_self()", i,
		      w[i].fs_base);
		CHECK(w[i].tls_addr != &tls_id,
		      "thread %d shares the main thread's TLS", i);
		for (j = 0; j < i; j++)
			CHECK(w[i].tls_addr != w[j].tls_addr,
			      "threads %d and %d share TLS at %p", j, i,
			      w[i].tls_addr);
	}
	info("%d threads x %ld locked increments", NTHREADS, per_thread);
	return CASE_PASS;
}

/* --- futex ping-pong ----------------------------------------------------------- */

static int futex_word;
static long futex_rounds;
static volatile int futex_err;

static long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* Sleep while the word is still old; any other error is a failure. */
static int futex_wait_change(int old)
{
	while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == old) {
		if (futex(&futex_word, FUTEX_WAIT_PRIVATE, old, NULL) &&
		    errno != EAGAIN && errno != EINTR)
			return errno;
	}
	return 0;
}

static void futex_set(int v)
{
	__atomic_store_n(&futex_word, v, __ATOMIC_RELEASE);
	futex(&futex_word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* The partner answers every odd value v with v + 1. */
static void *futex_partner(void *arg)
{
	long i;
	int err;

	(void)arg;
	for (i = 0; i < futex_rounds; i++) {
		err = futex_wait_change(2 * i);
		if (!err &&
		    __atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) != 2 * i + 1)
			err = -1;
		if (err) {
			/* Let the main thread out of its wait. */
			futex_err = err;
			futex_set(-1);
			return NULL;
		}
		futex_set(2 * i + 2);
	}
	return NULL;
}

static int futex_ping_pong(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_t t;
	double t0;
	long i, r;
	int err;

	/* A wait on an unchanged word with a timeout times out. */
	futex_word = 5;
	t0 = now_ms();
	r = futex(&futex_word, FUTEX_WAIT_PRIVATE, 5, &ts);
	CHECK(r == -1 && errno == ETIMEDOUT,
	      "FUTEX_WAIT with a 10 ms timeout: expected ETIMEDOUT, got %ld %s",
	      r, errno_name(errno));
	CHECK(now_ms() - t0 >= 9, "FUTEX_WAIT timed out after %.1f ms, not 10",
	      now_ms() - t0);
	r = futex(&futex_word, FUTEX_WAIT_PRIVATE, 6, &ts);
	CHECK(r == -1 && errno == EAGAIN,
	      "FUTEX_WAIT on a changed word: expected EAGAIN, got %ld %s", r,
	      errno_name(errno));

	futex_word = 0;
	futex_rounds = scaled(1000);
	err = pthread_create(&t, NULL, futex_partner, NULL);
	CHECK(!err, "pthread_create: %s", errno_name(err));
	for (i = 0; i < futex_rounds && !futex_err; i++) {
		futex_set(2 * i + 1);
		err = futex_wait_change(2 * i + 1);
		CHECK(!err, "FUTEX_WAIT: %s", errno_name(err));
		CHECK(futex_word == 2 * i + 2 || futex_err,
		      "round %ld: expected %ld, got %d", i, 2 * i + 2,
		      futex_word);
	}
	pthread_join(t, NULL);
	CHECK(!futex_err, "the partner thread: %s",
	      futex_err < 0 ? "saw a wrong value" : errno_name(futex_err));
	info("%ld futex round trips", futex_rounds);
	return CASE_PASS;
}

/* --- pthread_kill reaches the right thread ---------------------------------------- */

static volatile pid_t target_tid, handler_tid;

static void tid_handler(int sig)
{
	(void)sig;
	handler_tid = syscall(SYS_gettid);
}

static void *kill_target(void *arg)
{
	struct timespec ts = { 0, 1000000 };
	double deadline = now_ms() + 10000;

	(void)arg;
	target_tid = syscall(SYS_gettid);
	while (!handler_tid && now_ms() < deadline)
		nanosleep(&ts, NULL);
	return NULL;
}

static int thread_kill(void)
{
	struct sigaction sa = { .sa_handler = tid_handler };
	pthread_t t;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	err = pthread_create(&t, NULL, kill_target, NULL);
	CHECK(!err, "pthread_create: %s", errno_name(err));
	while (!target_tid)
		sched_yield();
	err = pthread_kill(t, SIGUSR1);
	CHECK(!err, "pthread_kill: %s", errno_name(err));
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	CHECK(handler_tid == target_tid,
	      "the SIGUSR1 for thread %d ran in thread %d", (int)target_tid,
	      (int)handler_tid);
	CHECK(target_tid != getpid(), "the thread has the process's id");
	return CASE_PASS;
}

int case_threads(void)
{
	TRY(mutex_counter());
	TRY(futex_ping_pong());
	TRY(thread_kill());
	return CASE_PASS;
}
