// SPDX-License-Identifier: GPL-2.0
/*
 * lol-guest-suite: signals. Delivery and siginfo, the registers sigreturn
 * restores, alarm, masks, SA_RESTART, a SIGSEGV handler that repairs the
 * mapping, the alternate signal stack.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "suite.h"

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *),
			int flags)
{
	struct sigaction sa = { .sa_sigaction = fn };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, NULL);
}

static void default_handler(int sig)
{
	signal(sig, SIG_DFL);
}

/* --- siginfo ----------------------------------------------------------------- */

static volatile int got_count;
static volatile int got_signo, got_code, got_value, got_pid;

static void record_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_count++;
	got_signo = sig;
	got_code = si->si_code;
	got_value = si->si_value.sival_int;
	got_pid = si->si_pid;
}

static int siginfo_sigqueue(void)
{
	union sigval v = { .sival_int = 0x1234 };

	got_count = 0;
	set_handler(SIGUSR1, record_handler, 0);
	CHECK_SYS(sigqueue(getpid(), SIGUSR1, v));
	/* A signal to ourselves, unblocked, arrives before sigqueue returns. */
	CHECK(got_count == 1 && got_signo == SIGUSR1 && got_code == SI_QUEUE &&
	      got_value == 0x1234 && got_pid == getpid(),
	      "sigqueue: expected 1 SIGUSR1 (%d) SI_QUEUE (%d) value 0x1234 from %d, got %d signals, signo %d code %d value %#x pid %d",
	      SIGUSR1, SI_QUEUE, (int)getpid(), got_count, got_signo,
	      got_code, got_value, got_pid);
	default_handler(SIGUSR1);
	return CASE_PASS;
}

/* --- sigreturn restores registers --------------------------------------------- */

#ifdef __x86_64__
static volatile int regs_flag;
static uint64_t regs_out[14];
static uint64_t regs_seen[13];

/* rax rbx rdx rsi rdi r8 .. r15, as the asm below loads them. */
static const uint64_t regs_want[13] = {
	0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
	0x4444444444444444, 0x5555555555555555, 0x6666666666666666,
	0x7777777777777777, 0x8888888888888888, 0x9999999999999999,
	0xaaaaaaaaaaaaaaaa, 0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc,
	0xdddddddddddddddd,
};

/* What the handler writes into the frame's r15: sigreturn must load it. */
#define FRAME_R15	0x0f0f0f0f5eed5eedULL

/* The spin loop of sigreturn_regs(), labelled in its asm. */
extern const char sig_spin_start[], sig_spin_end[];

static void regs_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int idx[13] = {
		REG_RAX, REG_RBX, REG_RDX, REG_RSI, REG_RDI, REG_R8, REG_R9,
		REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	};
	struct itimerval again = { .it_value = { 0, 2000 } };
	unsigned long rip = g[REG_RIP];
	int i;

	(void)sig;
	(void)si;
	/*
	 * Only a signal that interrupts the spin loop finds the known
	 * values; one that comes earlier (a slow machine: the timer
	 * expires before the loop starts) re-arms the timer.
	 */
	if (rip < (unsigned long)sig_spin_start ||
	    rip >= (unsigned long)sig_spin_end) {
		setitimer(ITIMER_REAL, &again, NULL);
		return;
	}
	/* The interrupted registers, as the frame holds them. */
	for (i = 0; i < 13; i++)
		regs_seen[i] = g[idx[i]];
	g[REG_R15] = FRAME_R15;
	regs_flag = 1;
	/* Trash what the handler may trash, for good measure. */
	asm volatile("mov $-1, %%rax\n\tmov $-1, %%rcx\n\tmov $-1, %%rdx\n\t"
		     "mov $-1, %%rsi\n\tmov $-1, %%rdi\n\tmov $-1, %%r8\n\t"
		     "mov $-1, %%r9\n\tmov $-1, %%r10\n\tmov $-1, %%r11\n\t"
		     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
		     "r11", "memory");
}

static const char *const reg_names[13] = {
	"rax", "rbx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
	"r13", "r14", "r15",
};

static int sigreturn_regs(void)
{
	struct itimerval it = { .it_value = { 0, 2000 } };
	uint64_t left;
	int i;

	regs_flag = 0;
	set_handler(SIGALRM, regs_handler, 0);
	CHECK_SYS(setitimer(ITIMER_REAL, &it, NULL));
	/*
	 * Known values in every register but rsp, rbp and the loop counter
	 * rcx; spin until SIGALRM interrupts, then save them all.
	 */
	asm volatile(
		"movabs $0x1111111111111111, %%rax\n\t"
		"movabs $0x2222222222222222, %%rbx\n\t"
		"movabs $0x3333333333333333, %%rdx\n\t"
		"movabs $0x4444444444444444, %%rsi\n\t"
		"movabs $0x5555555555555555, %%rdi\n\t"
		"movabs $0x6666666666666666, %%r8\n\t"
		"movabs $0x7777777777777777, %%r9\n\t"
		"movabs $0x8888888888888888, %%r10\n\t"
		"movabs $0x9999999999999999, %%r11\n\t"
		"movabs $0xaaaaaaaaaaaaaaaa, %%r12\n\t"
		"movabs $0xbbbbbbbbbbbbbbbb, %%r13\n\t"
		"movabs $0xcccccccccccccccc, %%r14\n\t"
		"movabs $0xdddddddddddddddd, %%r15\n\t"
		"movabs $0x100000000, %%rcx\n\t"
		".globl sig_spin_start\n"
		"sig_spin_start:\n\t"
		"cmpl $0, %[flag]\n\t"
		"jne 2f\n\t"
		"dec %%rcx\n\t"
		"jnz sig_spin_start\n"
		".globl sig_spin_end\n"
		"sig_spin_end:\n"
		"2:\n\t"
		"mov %%rax, %[out]\n\t"
		"mov %%rbx, 8+%[out]\n\t"
		"mov %%rdx, 16+%[out]\n\t"
		"mov %%rsi, 24+%[out]\n\t"
		"mov %%rdi, 32+%[out]\n\t"
		"mov %%r8, 40+%[out]\n\t"
		"mov %%r9, 48+%[out]\n\t"
		"mov %%r10, 56+%[out]\n\t"
		"mov %%r11, 64+%[out]\n\t"
		"mov %%r12, 72+%[out]\n\t"
		"mov %%r13, 80+%[out]\n\t"
		"mov %%r14, 88+%[out]\n\t"
		"mov %%r15, 96+%[out]\n\t"
		"mov %%rcx, 104+%[out]\n\t"
		: [out] "=m" (regs_out)
		: [flag] "m" (regs_flag)
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
		  "r11", "r12", "r13", "r14", "r15", "memory", "cc");
	left = regs_out[13];
	default_handler(SIGALRM);
	CHECK(regs_flag && left, "no SIGALRM within 2^32 loop iterations");
	for (i = 0; i < 13; i++)
		CHECK(regs_seen[i] == regs_want[i],
		      "the signal frame holds %s = %#llx, expected %#llx",
		      reg_names[i], (unsigned long long)regs_seen[i],
		      (unsigned long long)regs_want[i]);
	for (i = 0; i < 12; i++)
		CHECK(regs_out[i] == regs_want[i],
		      "after sigreturn %s = %#llx, expected %#llx",
		      reg_names[i], (unsigned long long)regs_out[i],
		      (unsigned long long)regs_want[i]);
	CHECK(regs_out[12] == FRAME_R15,
	      "after sigreturn r15 = %#llx, expected the handler's %#llx from the frame",
	      (unsigned long long)regs_out[12], FRAME_R15);
	return CASE_PASS;
}
#else
static int sigreturn_regs(void)
{
	volatile long kept = 0x5eed;

	got_count = 0;
	set_handler(SIGUSR1, record_handler, 0);
	raise(SIGUSR1);
	default_handler(SIGUSR1);
	CHECK(got_count == 1 && kept == 0x5eed, "a local did not survive");
	return CASE_PASS;
}
#endif

/* --- alarm(1) and pause() in a child, while the rest goes on ---------------- */

static volatile int alarm_count;

static void alarm_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	alarm_count++;
}

static pid_t alarm_pause_start(void)
{
	pid_t pid = fork();
	unsigned int left;
	int r;

	if (pid != 0)
		return pid;
	set_handler(SIGALRM, alarm_handler, 0);
	alarm(5);
	left = alarm(1);
	if (left < 4 || left > 5) {
		FAIL("alarm(1) after alarm(5): expected 4 or 5 left, got %u",
		     left);
		_exit(1);
	}
	r = pause();
	if (r != -1 || errno != EINTR || alarm_count != 1) {
		FAIL("pause(): expected -1 EINTR after 1 SIGALRM, got %d %s after %d",
		     r, errno_name(errno), alarm_count);
		_exit(1);
	}
	_exit(0);
}

static int kill_sigterm(void)
{
	int status;
	char st[64];
	pid_t pid;

	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK_SYS(kill(pid, SIGTERM));
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s",
	      errno_name(errno));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	      "kill(SIGTERM): expected killed by SIGTERM, got %s",
	      status_str(status, st, sizeof(st)));
	return CASE_PASS;
}

/* --- masks and pending signals ------------------------------------------------- */

static volatile int rt_values[8];

static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (got_count < 8)
		rt_values[got_count] = si->si_value.sival_int;
	got_count++;
}

static int mask_pending(void)
{
	sigset_t set, old, pend;
	siginfo_t si;
	int i;

	/* Standard signals do not queue: two raises, one delivery. */
	got_count = 0;
	set_handler(SIGUSR2, record_handler, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	CHECK_SYS(sigprocmask(SIG_BLOCK, &set, &old));
	raise(SIGUSR2);
	raise(SIGUSR2);
	CHECK(got_count == 0, "a blocked SIGUSR2 was delivered");
	CHECK_SYS(sigpending(&pend));
	CHECK(sigismember(&pend, SIGUSR2) == 1,
	      "a blocked, raised SIGUSR2 is not pending");
	CHECK_SYS(sigprocmask(SIG_SETMASK, &old, NULL));
	CHECK(got_count == 1, "unblocking SIGUSR2: expected 1 delivery, got %d",
	      got_count);
	CHECK_SYS(sigpending(&pend));
	CHECK(!sigismember(&pend, SIGUSR2), "SIGUSR2 still pending");
	default_handler(SIGUSR2);

	/* Real-time signals queue, in order, with their values. */
	got_count = 0;
	set_handler(SIGRTMIN, rt_handler, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	CHECK_SYS(sigprocmask(SIG_BLOCK, &set, &old));
	for (i = 1; i <= 3; i++)
		CHECK_SYS(sigqueue(getpid(), SIGRTMIN,
				   (union sigval){ .sival_int = i }));
	CHECK(got_count == 0, "a blocked SIGRTMIN was delivered");
	CHECK_SYS(sigprocmask(SIG_SETMASK, &old, NULL));
	CHECK(got_count == 3 && rt_values[0] == 1 && rt_values[1] == 2 &&
	      rt_values[2] == 3,
	      "queued SIGRTMIN: expected values 1 2 3, got %d signals: %d %d %d",
	      got_count, rt_values[0], rt_values[1], rt_values[2]);
	default_handler(SIGRTMIN);

	/* sigwaitinfo() takes a blocked signal without a handler. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK_SYS(sigprocmask(SIG_BLOCK, &set, &old));
	CHECK_SYS(sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 77 }));
	memset(&si, 0, sizeof(si));
	CHECK(sigwaitinfo(&set, &si) == SIGUSR1 && si.si_value.sival_int == 77,
	      "sigwaitinfo: expected SIGUSR1 with value 77, got signo %d value %d (%s)",
	      si.si_signo, si.si_value.sival_int, errno_name(errno));
	CHECK_SYS(sigprocmask(SIG_SETMASK, &old, NULL));
	return CASE_PASS;
}

/* --- SA_RESTART and EINTR on a blocking read ------------------------------------ */

static int notify_wr = -1;

static void notify_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	got_count++;
	if (write(notify_wr, "h", 1) < 0)
		return;
}

/*
 * The child signals the parent once it sleeps (in the read, we hope: we
 * cannot see which call it sleeps in) and waits for the handler to say it
 * ran. With restart, it then writes the data the restarted read gets.
 * Without, it signals again until the parent says its read failed, in
 * case the first signal came before the read.
 */
static void restart_child(bool restart, int notify_rd, int data_wr,
			  int done_rd)
{
	pid_t parent = getppid();
	struct pollfd pfd = { .fd = done_rd, .events = POLLIN };
	char c;
	int i;

	for (i = 0; i < 20; i++) {
		wait_sleeping(parent, 2000);
		if (kill(parent, SIGUSR1) || read(notify_rd, &c, 1) != 1)
			_exit(1);
		if (restart) {
			if (write(data_wr, "d", 1) != 1)
				_exit(1);
			_exit(0);
		}
		if (poll(&pfd, 1, 200) == 1)
			_exit(0);
	}
	_exit(1);
}

static int restart_eintr(bool restart)
{
	int notify[2], data[2], done[2];
	ssize_t n;
	pid_t pid;
	char c = 0;

	CHECK_SYS(pipe(notify));
	CHECK_SYS(pipe(data));
	CHECK_SYS(pipe(done));
	notify_wr = notify[1];
	got_count = 0;
	set_handler(SIGUSR1, notify_handler, restart ? SA_RESTART : 0);
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0)
		restart_child(restart, notify[0], data[1], done[0]);
	n = read(data[0], &c, 1);
	if (restart) {
		CHECK(n == 1 && c == 'd' && got_count == 1,
		      "SA_RESTART read: expected the byte after 1 handler call, got %zd (%s) after %d",
		      n, n < 0 ? errno_name(errno) : "data", got_count);
	} else {
		CHECK(n == -1 && errno == EINTR && got_count >= 1,
		      "read without SA_RESTART: expected EINTR after the handler, got %zd (%s) after %d calls",
		      n, n < 0 ? errno_name(errno) : "data", got_count);
		CHECK_SYS(write(done[1], "x", 1));
	}
	TRY(wait_exit0(pid, "signalling child"));
	default_handler(SIGUSR1);
	close(notify[0]);
	close(notify[1]);
	close(data[0]);
	close(data[1]);
	close(done[0]);
	close(done[1]);
	return CASE_PASS;
}

/* --- a SIGSEGV handler that repairs the mapping ------------------------------- */

static volatile int segv_count, segv_code;
static void *volatile segv_addr;

static void segv_fix_handler(int sig, siginfo_t *si, void *uc)
{
	long page = sysconf(_SC_PAGESIZE);

	(void)sig;
	(void)uc;
	segv_count++;
	segv_addr = si->si_addr;
	segv_code = si->si_code;
	mprotect((void *)((unsigned long)si->si_addr & ~(page - 1)), page,
		 PROT_READ | PROT_WRITE);
}

static int segv_fixup(void)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile int *p;
	char *map;

	map = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED, "mmap: %s", errno_name(errno));
	segv_count = 0;
	set_handler(SIGSEGV, segv_fix_handler, 0);
	p = (volatile int *)(map + 128);
	*p = 42;	/* faults once; the handler opens the page; retried */
	CHECK(*p == 42, "after the handler the retried store left %d, not 42",
	      *p);
	p[1] = 43;
	default_handler(SIGSEGV);
	CHECK(segv_count == 1, "expected 1 SIGSEGV, got %d", segv_count);
	CHECK(segv_addr == (void *)(map + 128) && segv_code == SEGV_ACCERR,
	      "siginfo: expected si_addr %p SEGV_ACCERR (%d), got %p code %d",
	      (void *)(map + 128), SEGV_ACCERR, segv_addr, segv_code);
	munmap(map, page);
	return CASE_PASS;
}

/* --- the alternate signal stack ------------------------------------------------- */

static volatile uintptr_t altstack_local;
static volatile int altstack_flags;

static void altstack_handler(int sig, siginfo_t *si, void *uc)
{
	volatile int local;
	stack_t ss;

	(void)sig;
	(void)si;
	(void)uc;
	altstack_local = (uintptr_t)&local;
	if (sigaltstack(NULL, &ss) == 0)
		altstack_flags = ss.ss_flags;
}

static int altstack(void)
{
	size_t size = 64 * 1024;
	stack_t ss, old;
	char *mem;

	mem = malloc(size);
	CHECK(mem, "malloc failed");
	ss = (stack_t){ .ss_sp = mem, .ss_size = size };
	CHECK_SYS(sigaltstack(&ss, &old));
	altstack_local = 0;
	set_handler(SIGUSR2, altstack_handler, SA_ONSTACK);
	raise(SIGUSR2);
	default_handler(SIGUSR2);
	CHECK_SYS(sigaltstack(&old, NULL));
	CHECK(altstack_local > (uintptr_t)mem &&
	      altstack_local < (uintptr_t)mem + size,
	      "SA_ONSTACK handler ran with a local at %#lx, not on the stack at %p..+%zu",
	      (unsigned long)altstack_local, (void *)mem, size);
	CHECK(altstack_flags & SS_ONSTACK,
	      "sigaltstack() in the handler: SS_ONSTACK not set (flags %#x)",
	      altstack_flags);
	free(mem);
	return CASE_PASS;
}

int case_signals(void)
{
	pid_t alarm_pid;

	/* The alarm takes a second: let it run beside the rest. */
	alarm_pid = alarm_pause_start();
	CHECK_SYS(alarm_pid);
	TRY(siginfo_sigqueue());
	TRY(sigreturn_regs());
	TRY(kill_sigterm());
	TRY(mask_pending());
	TRY(restart_eintr(true));
	TRY(restart_eintr(false));
	TRY(segv_fixup());
	TRY(altstack());
	return wait_exit0(alarm_pid, "alarm(1)+pause() child");
}
