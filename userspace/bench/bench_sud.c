// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall User Dispatch (Linux 5.11+): with the selector byte set to
 * BLOCK, every syscall outside the allowed range raises SIGSYS in the
 * calling thread.  The handler flips the selector to ALLOW first (so its
 * own syscalls, rt_sigreturn included, run natively), emulates getpid by
 * writing RAX in the ucontext and returns; the guest loop sets BLOCK
 * again before its next syscall, as a SUD-based monitor does on every
 * entry into guest code.
 */
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "lol_compat.h"

static volatile char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
static volatile unsigned long sud_bad;

static void sud_handler(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (si->si_code != SYS_USER_DISPATCH || si->si_syscall != SYS_getpid) {
		sud_bad++;
		BENCH_UC_RET(uc) = -ENOSYS;
		return;
	}
	BENCH_UC_RET(uc) = BENCH_MAGIC_RET;
}

/* Never called: its first byte is the (empty) always-allowed range. */
static void sud_allowed_anchor(void)
{
}

static inline long sud_guest_getpid(void)
{
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return raw_syscall0(SYS_getpid);
}

static int sud_setup(struct bench_state *st)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sud_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL))
		return bench_fail(st, errno, "sigaction(SIGSYS): %m");
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
		  (unsigned long)sud_allowed_anchor, 1UL,
		  (unsigned long)&sud_selector))
		return bench_fail(st, errno,
				  "prctl(PR_SET_SYSCALL_USER_DISPATCH): %m%s",
				  errno != EINVAL ? "" :
#ifdef __x86_64__
				  " (needs Linux 5.11+)");
#else
				  " (needs generic entry, not in arm64 6.1)");
#endif
	if (sud_guest_getpid() != BENCH_MAGIC_RET)
		return bench_fail(st, EIO, "SUD on but getpid not dispatched");
	return 0;
}

static int sud_run(struct bench_state *st, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++)
		if (sud_guest_getpid() != BENCH_MAGIC_RET) {
			sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
			return bench_fail(st, EIO,
					  "emulated getpid result lost (%lu bad SIGSYS)",
					  sud_bad);
		}
	return 0;
}

static void sud_teardown(struct bench_state *st)
{
	(void)st;
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
}

const struct bench bench_sud = {
	.id = "sud",
	.mech = "SUD SIGSYS",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = sud_setup,
	.run = sud_run,
	.teardown = sud_teardown,
};
