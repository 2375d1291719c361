// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp SECCOMP_RET_TRAP: the filter turns the guest's getpid into a
 * SIGSYS delivered to the same thread; the handler emulates the call by
 * writing the return value into the ucontext's RAX, and rt_sigreturn
 * resumes after the syscall instruction (gVisor systrap without its
 * syscall patching).  The filter cannot be removed again, which is fine:
 * every benchmark runs in its own child process.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <ucontext.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static volatile unsigned long trap_bad;

static void trap_handler(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	if (si->si_code != SYS_SECCOMP || si->si_syscall != SYS_getpid) {
		trap_bad++;
		BENCH_UC_RET(uc) = -ENOSYS;
		return;
	}
	BENCH_UC_RET(uc) = BENCH_MAGIC_RET;
}

static int trap_setup(struct bench_state *st)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BENCH_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(insns) / sizeof(insns[0]),
		.filter = insns,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL))
		return bench_fail(st, errno, "sigaction(SIGSYS): %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return bench_fail(st, errno, "PR_SET_NO_NEW_PRIVS: %m");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return bench_fail(st, errno, "seccomp(SET_MODE_FILTER): %m");
	if (raw_syscall0(SYS_getpid) != BENCH_MAGIC_RET)
		return bench_fail(st, EIO, "filter installed but getpid not trapped");
	return 0;
}

static int trap_run(struct bench_state *st, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++)
		if (raw_syscall0(SYS_getpid) != BENCH_MAGIC_RET)
			return bench_fail(st, EIO,
					  "emulated getpid result lost (%lu bad SIGSYS)",
					  trap_bad);
	return 0;
}

const struct bench bench_seccomp_trap = {
	.id = "seccomp-trap",
	.mech = "seccomp RET_TRAP SIGSYS",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = trap_setup,
	.run = trap_run,
};
