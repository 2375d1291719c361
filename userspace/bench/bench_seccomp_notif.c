// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp user notification: the guest thread's getpid is turned into a
 * notification (SECCOMP_RET_USER_NOTIF); a supervisor thread in the same
 * process takes it with SECCOMP_IOCTL_NOTIF_RECV and answers with
 * SECCOMP_IOCTL_NOTIF_SEND, value = the emulated result.  The "sync"
 * variant also sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6+), which
 * wakes the peer on the current CPU.  Both threads share the pinned CPU.
 *
 * The supervisor thread exists before the filter is installed, and the
 * filter is installed without TSYNC: only the guest thread is filtered.
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* getpid's (ignored) first argument register in the stop request. */
#define UNOTIFY_STOP 0x5704deadUL

struct unotify_priv {
	pthread_t sup;
	int sup_started;
	volatile int listener;	/* -1 until the filter is installed */
	volatile int stop;	/* setup failed before the listener existed */
	volatile int sup_err;	/* errno of a failed supervisor ioctl */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static struct unotify_priv unotify_priv = {
	.listener = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void *supervisor_main(void *arg)
{
	struct unotify_priv *p = arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int fd;

	pthread_mutex_lock(&p->lock);
	while (p->listener < 0 && !p->stop)
		pthread_cond_wait(&p->cond, &p->lock);
	fd = p->listener;
	pthread_mutex_unlock(&p->lock);
	if (fd < 0)
		return NULL;

	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR)
				continue;
			p->sup_err = errno;
			goto fail;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (req.data.nr == SYS_getpid)
			resp.val = BENCH_MAGIC_RET;
		else
			resp.error = -ENOSYS;
		/* ENOENT: the guest went away (teardown); just go on. */
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) &&
		    errno != ENOENT) {
			p->sup_err = errno;
			goto fail;
		}
		if (req.data.args[0] == UNOTIFY_STOP)
			return NULL;
	}
fail:
	/* Without a listener the guest's getpid fails (ENOSYS), not hangs. */
	close(fd);
	return NULL;
}

static int unotify_setup_common(struct bench_state *st, int sync)
{
	struct unotify_priv *p = &unotify_priv;
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BENCH_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(insns) / sizeof(insns[0]),
		.filter = insns,
	};
	int fd, rc;

	st->priv = p;
	rc = pthread_create(&p->sup, NULL, supervisor_main, p);
	if (rc)
		return bench_fail(st, rc, "pthread_create: %s", strerror(rc));
	p->sup_started = 1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return bench_fail(st, errno, "PR_SET_NO_NEW_PRIVS: %m");
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return bench_fail(st, errno,
				  "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %m");
	if (sync && ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
			  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)) {
		rc = errno;
		/* Unblock the supervisor so the child exits cleanly. */
		p->stop = 1;
		pthread_cond_signal(&p->cond);
		return bench_fail(st, rc,
				  "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: %s (needs Linux 6.6+)",
				  strerror(rc));
	}
	pthread_mutex_lock(&p->lock);
	p->listener = fd;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);

	if (raw_syscall0(SYS_getpid) != BENCH_MAGIC_RET)
		return bench_fail(st, EIO, "getpid not answered by the supervisor (%s)",
				  p->sup_err ? strerror(p->sup_err) : "no error");
	return 0;
}

static int unotify_setup(struct bench_state *st)
{
	return unotify_setup_common(st, 0);
}

static int unotify_sync_setup(struct bench_state *st)
{
	return unotify_setup_common(st, 1);
}

static int unotify_run(struct bench_state *st, uint64_t iters)
{
	struct unotify_priv *p = st->priv;
	uint64_t i;

	for (i = 0; i < iters; i++)
		if (raw_syscall0(SYS_getpid) != BENCH_MAGIC_RET)
			return bench_fail(st, EIO,
					  "emulated getpid result lost (supervisor: %s)",
					  p->sup_err ? strerror(p->sup_err) : "ok");
	return 0;
}

static void unotify_teardown(struct bench_state *st)
{
	struct unotify_priv *p = st->priv;

	if (!p || !p->sup_started)
		return;
	/* The supervisor answers this last getpid, then leaves. */
	if (p->listener >= 0 && !p->sup_err)
		raw_syscall2(SYS_getpid, UNOTIFY_STOP, 0);
	pthread_join(p->sup, NULL);
}

const struct bench bench_seccomp_unotify = {
	.id = "seccomp-unotify",
	.mech = "seccomp user notif",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = unotify_setup,
	.run = unotify_run,
	.teardown = unotify_teardown,
};

const struct bench bench_seccomp_unotify_sync = {
	.id = "seccomp-unotify-sync",
	.mech = "seccomp user notif sync",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = unotify_sync_setup,
	.run = unotify_run,
	.teardown = unotify_teardown,
};
