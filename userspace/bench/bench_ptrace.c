// SPDX-License-Identifier: GPL-2.0
/*
 * ptrace PTRACE_SYSEMU round trip, the way UML skas0 and gVisor's ptrace
 * platform intercept a guest syscall: the tracee (the "guest") loops on
 * getpid; the tracer (the "monitor") takes the syscall-entry stop, reads
 * the registers, emulates the call by writing the return value, writes the
 * registers back and resumes with PTRACE_SYSEMU, so the host kernel never
 * runs the syscall.  One op = waitpid + GETREGS + SETREGS + SYSEMU.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#endif

/*
 * The registers at the stop: x86's PTRACE_GETREGS/SETREGS (orig_rax the
 * number, rax the result); arm64 has only the regset (x8 the number, x0
 * the result; the number stays in x8 at the entry stop).
 */
#if defined(__x86_64__)
#define PT_NR(r)	((r).orig_rax)
#define PT_RET(r)	((r).rax)
static long pt_getregs(pid_t pid, struct user_regs_struct *r)
{
	return ptrace(PTRACE_GETREGS, pid, NULL, r);
}

static long pt_setregs(pid_t pid, struct user_regs_struct *r)
{
	return ptrace(PTRACE_SETREGS, pid, NULL, r);
}
#else
#include <elf.h>
#include <sys/uio.h>
#define PT_NR(r)	((r).regs[8])
#define PT_RET(r)	((r).regs[0])
static long pt_getregs(pid_t pid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof(*r) };

	return ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov);
}

static long pt_setregs(pid_t pid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof(*r) };

	return ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov);
}
#endif

struct ptrace_priv {
	pid_t tracee;
};

static struct ptrace_priv ptrace_priv = { .tracee = -1 };

static void __attribute__((noreturn)) tracee_main(void)
{
	long pid = raw_syscall0(SYS_getpid);

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(100 + errno);
	/* Raw kill: no libc signal-mask syscalls around the stop. */
	raw_syscall2(SYS_kill, pid, SIGSTOP);
	for (;;) {
		/* Emulated under SYSEMU too: the tracer reports it. */
		if (raw_syscall0(SYS_getpid) != BENCH_MAGIC_RET)
			raw_syscall2(SYS_exit_group, 3, 0);
	}
}

/* Wait for a syscall stop (SIGTRAP | 0x80 with PTRACE_O_TRACESYSGOOD). */
static int wait_sysstop(struct bench_state *st, pid_t pid)
{
	int status;

	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return bench_fail(st, errno, "waitpid: %m");
	if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
		return 0;
	if (WIFEXITED(status))
		return bench_fail(st, EIO, "tracee exited with %d",
				  WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return bench_fail(st, EIO, "tracee killed by signal %d",
				  WTERMSIG(status));
	return bench_fail(st, EIO, "unexpected tracee stop, status 0x%x",
			  status);
}

static int ptrace_setup(struct bench_state *st)
{
	struct ptrace_priv *p = &ptrace_priv;
	struct user_regs_struct regs;
	int status, i, rc;

	st->priv = p;
	p->tracee = bench_fork_peer();
	if (p->tracee < 0)
		return bench_fail(st, errno, "fork: %m");
	if (p->tracee == 0)
		tracee_main();

	while (waitpid(p->tracee, &status, __WALL) < 0)
		if (errno != EINTR)
			return bench_fail(st, errno, "waitpid: %m");
	if (WIFEXITED(status) && WEXITSTATUS(status) > 100)
		return bench_fail(st, WEXITSTATUS(status) - 100,
				  "ptrace(PTRACE_TRACEME): %s",
				  strerror(WEXITSTATUS(status) - 100));
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
		return bench_fail(st, EIO, "tracee did not stop (0x%x)",
				  status);
	if (ptrace(PTRACE_SETOPTIONS, p->tracee, NULL,
		   (void *)(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)))
		return bench_fail(st, errno, "PTRACE_SETOPTIONS: %m");
	if (ptrace(PTRACE_SYSEMU, p->tracee, NULL, NULL))
		return bench_fail(st, errno, "PTRACE_SYSEMU: %m");
	/* Reach the first getpid of the loop. */
	for (i = 0; i < 16; i++) {
		rc = wait_sysstop(st, p->tracee);
		if (rc)
			return rc;
		if (pt_getregs(p->tracee, &regs))
			return bench_fail(st, errno, "PTRACE_GETREGS: %m");
		if (PT_NR(regs) == SYS_getpid)
			return 0;
		PT_RET(regs) = 0;
		if (pt_setregs(p->tracee, &regs) ||
		    ptrace(PTRACE_SYSEMU, p->tracee, NULL, NULL))
			return bench_fail(st, errno, "ptrace: %m");
	}
	return bench_fail(st, EIO, "tracee never reached its getpid loop");
}

/* Entered at a getpid syscall-entry stop; leaves at the next one. */
static int ptrace_run(struct bench_state *st, uint64_t iters)
{
	struct ptrace_priv *p = st->priv;
	struct user_regs_struct regs;
	uint64_t i;
	int rc;

	for (i = 0; i < iters; i++) {
		if (pt_getregs(p->tracee, &regs))
			return bench_fail(st, errno, "PTRACE_GETREGS: %m");
		if (PT_NR(regs) != SYS_getpid)
			return bench_fail(st, EIO,
					  "tracee made syscall %lld, not getpid: emulated result lost",
					  (long long)PT_NR(regs));
		PT_RET(regs) = BENCH_MAGIC_RET;
		if (pt_setregs(p->tracee, &regs))
			return bench_fail(st, errno, "PTRACE_SETREGS: %m");
		if (ptrace(PTRACE_SYSEMU, p->tracee, NULL, NULL))
			return bench_fail(st, errno, "PTRACE_SYSEMU: %m");
		rc = wait_sysstop(st, p->tracee);
		if (rc)
			return rc;
	}
	return 0;
}

static void ptrace_teardown(struct bench_state *st)
{
	struct ptrace_priv *p = st->priv;

	bench_kill_peer(&p->tracee);
}

const struct bench bench_ptrace_sysemu = {
	.id = "ptrace-sysemu",
	.mech = "ptrace PTRACE_SYSEMU",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = ptrace_setup,
	.run = ptrace_run,
	.teardown = ptrace_teardown,
};
