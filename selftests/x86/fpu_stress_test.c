// SPDX-License-Identifier: GPL-2.0
/*
 * fpu_stress_test: guest and monitor FP/vector registers stay exact under
 * load. One guest per online CPU (at least two), each on its own monitor
 * thread, for LOL_FPU_STRESS_SECS seconds (default 30):
 *
 *  - the guest loads xmm0..15 with its own pattern once, then loops on a
 *    reflected syscall whose result the monitor computes, and compares
 *    all sixteen registers with the pattern after every exit; every 256
 *    rounds it touches a page the monitor unmapped (a fault exit, a map,
 *    an LOL_AS_OPS batch);
 *  - each monitor thread keeps its own pattern in xmm0..15 across every
 *    LOL_RUN and checks it when the ioctl returns;
 *  - a per-thread 1 ms timer signal ends LOL_RUN with EINTR, a kicker
 *    thread kicks every vcpu every 2 ms, each monitor thread hops to
 *    another CPU every 64 exits;
 *  - interrupt load: a writer thread keeps a serial port busy (the second
 *    UART the harness gives the VM, /dev/ttyS1, when it is there), so
 *    that interrupts -- and the softirqs that run on their way out, among
 *    them random.c's FPU-using mixer -- land in the run loop's switches.
 *
 * The bug it was written for: lol's mm switch went through
 * kthread_use_mm() with PF_KTHREAD set and interrupts enabled inside; a
 * softirq using the FPU there did not save the live user registers, the
 * guest saw corrupted xmm values and the host warned in
 * fpregs_assert_state_consistent(). regress_test's
 * never_seen_as_kernel_thread sees that window directly.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	4
#define CODE_GVA	0x400000ULL
#define DATA_GVA	0x600000ULL	/* pattern + scratch */
#define FAULT_GVA	(DATA_GVA + 0x1000)	/* mapped and unmapped */
#define PHYS_DATA	1
#define PHYS_FAULT	2

#define NR_GOOD		1000	/* rdi = round, returns rdi + 1 */
#define NR_BADRET	1001	/* rdi = round, rsi = what came back */
#define NR_BADXMM	1002	/* scratch holds what the guest saw */

/*
 * rbx = DATA_GVA: [0, 256) the pattern, [256, 512) scratch.
 * r12 = round. Must be position independent.
 */
LOL_GUEST_ASM(fp_guest,
	"movdqu 0(%rbx), %xmm0\n\t"
	"movdqu 16(%rbx), %xmm1\n\t"
	"movdqu 32(%rbx), %xmm2\n\t"
	"movdqu 48(%rbx), %xmm3\n\t"
	"movdqu 64(%rbx), %xmm4\n\t"
	"movdqu 80(%rbx), %xmm5\n\t"
	"movdqu 96(%rbx), %xmm6\n\t"
	"movdqu 112(%rbx), %xmm7\n\t"
	"movdqu 128(%rbx), %xmm8\n\t"
	"movdqu 144(%rbx), %xmm9\n\t"
	"movdqu 160(%rbx), %xmm10\n\t"
	"movdqu 176(%rbx), %xmm11\n\t"
	"movdqu 192(%rbx), %xmm12\n\t"
	"movdqu 208(%rbx), %xmm13\n\t"
	"movdqu 224(%rbx), %xmm14\n\t"
	"movdqu 240(%rbx), %xmm15\n"
	"1:\n\t"
	"mov $1000, %eax\n\t"
	"mov %r12, %rdi\n\t"
	"syscall\n\t"
	"lea 1(%r12), %rcx\n\t"
	"cmp %rcx, %rax\n\t"
	"jne 8f\n\t"
	"mov %rax, %r12\n\t"
	"movdqu %xmm0, 256(%rbx)\n\t"
	"movdqu %xmm1, 272(%rbx)\n\t"
	"movdqu %xmm2, 288(%rbx)\n\t"
	"movdqu %xmm3, 304(%rbx)\n\t"
	"movdqu %xmm4, 320(%rbx)\n\t"
	"movdqu %xmm5, 336(%rbx)\n\t"
	"movdqu %xmm6, 352(%rbx)\n\t"
	"movdqu %xmm7, 368(%rbx)\n\t"
	"movdqu %xmm8, 384(%rbx)\n\t"
	"movdqu %xmm9, 400(%rbx)\n\t"
	"movdqu %xmm10, 416(%rbx)\n\t"
	"movdqu %xmm11, 432(%rbx)\n\t"
	"movdqu %xmm12, 448(%rbx)\n\t"
	"movdqu %xmm13, 464(%rbx)\n\t"
	"movdqu %xmm14, 480(%rbx)\n\t"
	"movdqu %xmm15, 496(%rbx)\n\t"
	"mov %rbx, %rsi\n\t"
	"lea 256(%rbx), %rdi\n\t"
	"mov $32, %ecx\n\t"
	"cld\n\t"
	"repe cmpsq\n\t"
	"jne 9f\n\t"
	"test $255, %r12\n\t"
	"jnz 1b\n\t"
	"mov 4096(%rbx), %al\n\t"	/* FAULT_GVA */
	"jmp 1b\n"
	"8:\n\t"
	"mov %rax, %rsi\n\t"
	"mov %r12, %rdi\n\t"
	"mov $1001, %eax\n\t"
	"syscall\n\t"
	"ud2\n"
	"9:\n\t"
	"mov %r12, %rdi\n\t"
	"mov $1002, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/*
 * LOL_RUN with the monitor's pattern in xmm0..15 around the syscall
 * itself; *seen gets what the registers held when it returned.
 */
static long run_keep_xmm(int vcpu, const __u64 pat[32], __u64 seen[32])
{
	register long rdi __asm__("rdi") = vcpu;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = 0;
	long ret = SYS_ioctl;

	__asm__ volatile(
		"movdqu 0(%[p]), %%xmm0\n\t"
		"movdqu 16(%[p]), %%xmm1\n\t"
		"movdqu 32(%[p]), %%xmm2\n\t"
		"movdqu 48(%[p]), %%xmm3\n\t"
		"movdqu 64(%[p]), %%xmm4\n\t"
		"movdqu 80(%[p]), %%xmm5\n\t"
		"movdqu 96(%[p]), %%xmm6\n\t"
		"movdqu 112(%[p]), %%xmm7\n\t"
		"movdqu 128(%[p]), %%xmm8\n\t"
		"movdqu 144(%[p]), %%xmm9\n\t"
		"movdqu 160(%[p]), %%xmm10\n\t"
		"movdqu 176(%[p]), %%xmm11\n\t"
		"movdqu 192(%[p]), %%xmm12\n\t"
		"movdqu 208(%[p]), %%xmm13\n\t"
		"movdqu 224(%[p]), %%xmm14\n\t"
		"movdqu 240(%[p]), %%xmm15\n\t"
		"syscall\n\t"
		"movdqu %%xmm0, 0(%[s])\n\t"
		"movdqu %%xmm1, 16(%[s])\n\t"
		"movdqu %%xmm2, 32(%[s])\n\t"
		"movdqu %%xmm3, 48(%[s])\n\t"
		"movdqu %%xmm4, 64(%[s])\n\t"
		"movdqu %%xmm5, 80(%[s])\n\t"
		"movdqu %%xmm6, 96(%[s])\n\t"
		"movdqu %%xmm7, 112(%[s])\n\t"
		"movdqu %%xmm8, 128(%[s])\n\t"
		"movdqu %%xmm9, 144(%[s])\n\t"
		"movdqu %%xmm10, 160(%[s])\n\t"
		"movdqu %%xmm11, 176(%[s])\n\t"
		"movdqu %%xmm12, 192(%[s])\n\t"
		"movdqu %%xmm13, 208(%[s])\n\t"
		"movdqu %%xmm14, 224(%[s])\n\t"
		"movdqu %%xmm15, 240(%[s])"
		: "+a"(ret)
		: "r"(rdi), "r"(rsi), "r"(rdx), [p] "r"(pat), [s] "r"(seen)
		: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3",
		  "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
		  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

static void fill_pattern(__u64 pat[32], __u64 seed)
{
	int i;

	for (i = 0; i < 32; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		pat[i] = seed ^ (seed >> 29);
	}
}

struct stresser {
	int idx, ncpu;
	size_t page;
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as;
	atomic_int ready;
	atomic_int stop;
	/* results */
	long exits, faults, kicks, eintr, hops;
	long guest_bad, monitor_bad, other;
	char first[256];
};

static atomic_int g_stop;

static void on_alarm(int sig)
{
}

static void note(struct stresser *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct stresser *s, const char *fmt, ...)
{
	va_list ap;

	if (s->first[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->first, sizeof(s->first), fmt, ap);
	va_end(ap);
}

static void restart_guest(struct stresser *s)
{
	lol_vcpu_set_entry(&s->vcpu, s->as, CODE_GVA, 0);
	s->vcpu.run->regs.rbx = DATA_GVA;
	s->vcpu.run->regs.r12 = 0;
}

static void *stress(void *p)
{
	struct stresser *s = p;
	struct lol_run *run = s->vcpu.run;
	__u64 mpat[32], seen[32], *gpat, *gseen;
	timer_t timer;
	bool timer_ok;
	int cpu = s->idx % s->ncpu, terr;
	cpu_set_t set;

	fill_pattern(mpat, 0x6d6f6e00 + s->idx);
	gpat = lol_vm_phys(&s->vm, PHYS_DATA * s->page, 256);
	gseen = lol_vm_phys(&s->vm, PHYS_DATA * s->page + 256, 256);

	/* A timer signal to this thread alone, every millisecond. */
	terr = lol_thread_timer(SIGALRM, 1000 * 1000, &timer);
	timer_ok = !terr;
	if (!timer_ok)
		note(s, "timer: %s", strerror(-terr));
	atomic_store(&s->ready, 1);

	while (!atomic_load(&g_stop)) {
		long ret = run_keep_xmm(s->vcpu.fd, mpat, seen);
		int err = errno;

		if (memcmp(mpat, seen, sizeof(seen))) {
			int i;

			for (i = 0; i < 32 && mpat[i] == seen[i]; i++)
				;
			if (!s->monitor_bad++)
				note(s, "monitor xmm%d: %#llx, was %#llx", i / 2,
				     (unsigned long long)seen[i],
				     (unsigned long long)mpat[i]);
		}
		if (ret < 0) {
			if (err != EINTR) {
				s->other++;
				note(s, "LOL_RUN: %s", strerror(err));
				break;
			}
			s->eintr++;
			continue;
		}
		switch (run->exit_reason) {
		case LOL_EXIT_SYSCALL:
			s->exits++;
			if (run->syscall.nr == NR_GOOD) {
				__u64 round = run->syscall.args[0];

				run->regs.rax = round + 1;
				if ((round & 255) == 128 &&
				    lol_as_unmap(s->vm.guest, s->as, FAULT_GVA,
						 s->page)) {
					s->other++;
					note(s, "unmap: %s", strerror(errno));
				}
				break;
			}
			if (run->syscall.nr == NR_BADXMM) {
				int i;

				for (i = 0; i < 32 && gpat[i] == gseen[i]; i++)
					;
				if (!s->guest_bad)
					note(s, "guest xmm%d after round %llu: %#llx, was %#llx",
					     i / 2,
					     (unsigned long long)run->syscall.args[0],
					     (unsigned long long)gseen[i % 32],
					     (unsigned long long)gpat[i % 32]);
				s->guest_bad++;
			} else {
				s->other++;
				note(s, "guest syscall %llu (%#llx, %#llx)",
				     (unsigned long long)run->syscall.nr,
				     (unsigned long long)run->syscall.args[0],
				     (unsigned long long)run->syscall.args[1]);
			}
			restart_guest(s);
			break;
		case LOL_EXIT_FAULT:
			s->faults++;
			if (run->fault.addr != FAULT_GVA ||
			    lol_vm_map(&s->vm, s->as, FAULT_GVA,
				       PHYS_FAULT * s->page, s->page,
				       LOL_PROT_READ)) {
				s->other++;
				note(s, "fault at %#llx ip %#llx",
				     (unsigned long long)run->fault.addr,
				     (unsigned long long)run->fault.ip);
				restart_guest(s);
			}
			break;
		case LOL_EXIT_KICK:
			s->kicks++;
			break;
		case LOL_EXIT_TRAP:
			s->other++;
			note(s, LOL_EXIT_FMT ": vector %u error %#llx addr %#llx",
			     LOL_EXIT_ARGS(run), run->trap.vector,
			     (unsigned long long)run->trap.error_code,
			     (unsigned long long)run->trap.addr);
			restart_guest(s);
			break;
		default:
			s->other++;
			note(s, LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
			restart_guest(s);
			break;
		}
		/* Hop to the next CPU now and then: a migration per hop. */
		if (s->ncpu > 1 && (s->exits & 63) == 0 && s->exits) {
			cpu = (cpu + 1) % s->ncpu;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (!sched_setaffinity(0, sizeof(set), &set))
				s->hops++;
		}
		if (s->other > 100)
			break;
	}
	if (timer_ok)
		timer_delete(timer);
	return NULL;
}

struct kicker {
	struct stresser *s;
	int n;
	long kicks;
};

static void *kick_all(void *p)
{
	struct kicker *k = p;
	int i;

	while (!atomic_load(&g_stop)) {
		for (i = 0; i < k->n; i++)
			if (!lol_kick(k->s[i].vcpu.fd))
				k->kicks++;
		usleep(2000);
	}
	return NULL;
}

/*
 * Keeps a UART busy. One byte a write: each write starts the transmitter,
 * whose "holding register empty" interrupt comes at once and finds the
 * buffer empty again, so every write is a device interrupt (bigger writes
 * are drained many bytes to an interrupt). random.c mixes its per-CPU
 * pool, with the FPU, from a timer softirq after 1024 device interrupts.
 */
struct irq_load {
	int fd;
	long bytes;
};

static void *uart_writer(void *p)
{
	struct irq_load *l = p;
	ssize_t n;

	while (!atomic_load(&g_stop)) {
		n = write(l->fd, "U", 1);
		if (n > 0)
			l->bytes += n;
		else
			usleep(100);
	}
	return NULL;
}

static int open_uart(void)
{
	struct termios t;
	int fd;

	fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t)) {
		close(fd);
		return -1;
	}
	cfmakeraw(&t);
	cfsetospeed(&t, B115200);
	tcsetattr(fd, TCSANOW, &t);
	return fd;
}

static unsigned long count_interrupts(void)
{
	unsigned long total = 0, v;
	char line[4096], *p, *end;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = strchr(line, ':');
		if (!p)
			continue;
		for (p++;; p = end) {
			v = strtoul(p, &end, 10);
			if (end == p)
				break;
			total += v;
		}
	}
	fclose(f);
	return total;
}

/* No per-test state: the fixture exists for TEST_F_TIMEOUT. */
FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, fp_exact_under_interrupt_load, 120)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), n, i;
	const char *env = getenv("LOL_FPU_STRESS_SECS");
	double secs = env ? atof(env) : 30, t0;
	struct stresser *s;
	struct kicker k;
	struct irq_load l = { .fd = -1 };
	pthread_t *th, kth, uth;
	struct sigaction sa;
	unsigned long irq0;
	long exits = 0, guest_bad = 0, monitor_bad = 0, other = 0;
	int sys = lol_open_sys();

	if (!lol_cap(sys, LOL_CAP_RUN) || !lol_cap(sys, LOL_CAP_KICK)) {
		close(sys);
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_KICK absent");
	}
	close(sys);
	if (ncpu < 1)
		ncpu = 1;
	n = ncpu < 2 ? 2 : ncpu;
	s = calloc(n, sizeof(*s));
	th = calloc(n, sizeof(*th));
	ASSERT_TRUE(s && th);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: LOL_RUN ends EINTR */
	ASSERT_SYSCALL(sigaction(SIGALRM, &sa, NULL));

	for (i = 0; i < n; i++) {
		__u64 *gpat;

		s[i].idx = i;
		s[i].ncpu = ncpu;
		s[i].page = sysconf(_SC_PAGESIZE);
		ASSERT_EQ(0, lol_vm_create(&s[i].vm, PHYS_PAGES * s[i].page));
		ASSERT_EQ(0, lol_vm_add_vcpu(&s[i].vm, 0, &s[i].vcpu));
		ASSERT_EQ(0, lol_vm_new_as(&s[i].vm, &s[i].as));
		ASSERT_EQ(0, LOL_VM_LOAD_ASM(&s[i].vm, 0, fp_guest));
		ASSERT_EQ(0, lol_vm_map(&s[i].vm, s[i].as, CODE_GVA, 0,
					s[i].page, LOL_PROT_READ | LOL_PROT_EXEC));
		ASSERT_EQ(0, lol_vm_map(&s[i].vm, s[i].as, DATA_GVA,
					PHYS_DATA * s[i].page, s[i].page,
					LOL_PROT_READ | LOL_PROT_WRITE));
		gpat = lol_vm_phys(&s[i].vm, PHYS_DATA * s[i].page, 256);
		ASSERT_NE(NULL, gpat);
		fill_pattern(gpat, 0x67756500 + i);
		restart_guest(&s[i]);
	}

	irq0 = count_interrupts();
	l.fd = open_uart();
	if (l.fd >= 0) {
		ASSERT_EQ(0, pthread_create(&uth, NULL, uart_writer, &l));
	} else {
		TH_LOG("no /dev/ttyS1: no UART interrupt load");
	}
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress, &s[i]));
	k.s = s;
	k.n = n;
	k.kicks = 0;
	ASSERT_EQ(0, pthread_create(&kth, NULL, kick_all, &k));

	t0 = lol_now();
	while (lol_now() - t0 < secs) {
		usleep(100 * 1000);
		for (i = 0; i < n; i++)
			if (s[i].guest_bad || s[i].monitor_bad)
				break;
		if (i < n)
			break;	/* the first corruption is enough */
	}
	atomic_store(&g_stop, 1);
	pthread_join(kth, NULL);
	for (i = 0; i < n; i++) {
		lol_kick(s[i].vcpu.fd);
		pthread_join(th[i], NULL);
	}
	if (l.fd >= 0) {
		pthread_join(uth, NULL);
		close(l.fd);
	}

	TH_LOG("%d guests, %.1f s, %lu interrupts, %ld UART bytes, %ld kicks sent",
	       n, lol_now() - t0, count_interrupts() - irq0, l.bytes, k.kicks);
	for (i = 0; i < n; i++) {
		TH_LOG("guest %d: %ld syscall exits, %ld faults, %ld kicks, %ld EINTR, %ld CPU hops; bad: guest %ld, monitor %ld, other %ld%s%s",
		       i, s[i].exits, s[i].faults, s[i].kicks, s[i].eintr,
		       s[i].hops, s[i].guest_bad, s[i].monitor_bad,
		       s[i].other, s[i].first[0] ? ": " : "", s[i].first);
		exits += s[i].exits;
		guest_bad += s[i].guest_bad;
		monitor_bad += s[i].monitor_bad;
		other += s[i].other;
		EXPECT_LT(0, s[i].faults);
		lol_vcpu_destroy(&s[i].vcpu);
		lol_vm_destroy(&s[i].vm);
	}
	EXPECT_EQ(0, guest_bad);
	EXPECT_EQ(0, monitor_bad);
	EXPECT_EQ(0, other);
	EXPECT_LT(1000, exits);
	free(s);
	free(th);
}

TEST_HARNESS_MAIN
