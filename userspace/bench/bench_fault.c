// SPDX-License-Identifier: GPL-2.0
/*
 * Page-fault round trip baseline: what a monitor without lol does to
 * service a fault of code running in its own address space.  One page
 * starts PROT_NONE; the access faults, the SIGSEGV handler "maps" it with
 * mprotect(PROT_READ|PROT_WRITE) and returns, the access is retried and
 * succeeds; then the page is revoked again with mprotect(PROT_NONE) so
 * the next iteration faults too.  One op = fault + signal + handler
 * mprotect + sigreturn + retry + re-protect.  The page stays populated:
 * no allocation is timed.  The lol row does the same cycle with
 * LOL_EXIT_FAULT, a map and a re-run (and its own unmap to repeat).
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

static char *fault_page;
static size_t fault_page_size;
static volatile unsigned long fault_count, fault_bad;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((char *)si->si_addr < fault_page ||
	    (char *)si->si_addr >= fault_page + fault_page_size) {
		/* A real crash: die with the default action. */
		fault_bad++;
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	if (mprotect(fault_page, fault_page_size, PROT_READ | PROT_WRITE)) {
		fault_bad++;
		signal(SIGSEGV, SIG_DFL);
		return;
	}
	fault_count++;
}

static int fault_setup(struct bench_state *st)
{
	struct sigaction sa;

	fault_page_size = (size_t)sysconf(_SC_PAGESIZE);
	fault_page = mmap(NULL, fault_page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fault_page == MAP_FAILED)
		return bench_fail(st, errno, "mmap: %m");
	fault_page[0] = 1;	/* populate it once */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSEGV, &sa, NULL))
		return bench_fail(st, errno, "sigaction(SIGSEGV): %m");
	if (mprotect(fault_page, fault_page_size, PROT_NONE))
		return bench_fail(st, errno, "mprotect: %m");
	bench_note(st, "one op includes the handler's mprotect(RW) and the loop's mprotect(PROT_NONE)");
	return 0;
}

static int fault_run(struct bench_state *st, uint64_t iters)
{
	unsigned long before = fault_count;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		*(volatile char *)fault_page = (char)i;
		if (mprotect(fault_page, fault_page_size, PROT_NONE))
			return bench_fail(st, errno, "mprotect: %m");
	}
	if (fault_count - before != iters)
		return bench_fail(st, EIO, "%lu faults for %llu accesses",
				  fault_count - before,
				  (unsigned long long)iters);
	return 0;
}

static void fault_teardown(struct bench_state *st)
{
	(void)st;
	signal(SIGSEGV, SIG_DFL);
	munmap(fault_page, fault_page_size);
}

const struct bench bench_sigsegv_mprotect = {
	.id = "sigsegv-mprotect",
	.mech = "SIGSEGV + mprotect",
	.op = "fault, map, retry, unmap",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = fault_setup,
	.run = fault_run,
	.teardown = fault_teardown,
};
