// SPDX-License-Identifier: GPL-2.0
/*
 * load_test: many guests and vcpus at once for a bounded time, while
 * other guests are created and killed, then a check that nothing leaked.
 *
 *   G worker processes, one guest each, V vcpu threads each. Every vcpu
 *   loops: 16 syscall exits (the monitor answers 3n+1, the guest checks
 *   it), then one pass over its 16-page window, which the monitor maps
 *   page by page on faults and unmaps as a whole after the pass. Each
 *   pass must fault exactly 16 times (a stale TLB entry after the unmap
 *   would make it fault less) and leave the pass number in each page.
 *   Each guest also holds a bulk region, touched once, so that the
 *   guests together hold about half of the VM's available memory.
 *
 *   A churn process meanwhile forks monitors that create a guest with two
 *   vcpus (running) and an AS being mapped and unmapped, and SIGKILLs each
 *   after 5-100 ms; and creates and closes guests itself.
 *
 * At the end: "# held: G guests x V vcpus, E exits/s", every worker saw
 * correct results, the module's reference count is back to where it was,
 * and MemAvailable and unreclaimable slab are back within tolerance.
 *
 * Knobs: LOL_LOAD_SECONDS (default 20, at most 200), LOL_LOAD_GUESTS
 * (default: up to 16, as memory allows), LOL_LOAD_VCPUS (default 4). In
 * the `make check` VM, where the environment is fixed, put KEY=VALUE
 * lines in $BUILD/selftests/load_test.env instead.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PAGE		4096UL
#define MIB		(1UL << 20)
#define CODE_GVA	0x400000ULL
#define WIN_GVA		0x10000000ULL	/* vcpu i: WIN_GVA + i * WIN_STRIDE */
#define WIN_STRIDE	0x100000ULL
#define WIN_PAGES	16
#define BULK_GVA	0x100000000ULL
#define PHYS_WIN	1		/* vcpu i: pages 1 + i * WIN_PAGES .. */

#define MAX_GUESTS	64
#define MAX_VCPUS	16

#ifdef __x86_64__
/*
 * rbx: syscall counter, r14: pass, r12/r13: window start/end.
 * 16 x syscall(500, rbx) expecting 3 * rbx + 1, then write the pass
 * number to every window page, syscall(501, pass), again.
 */
#define win_start(run)	((run)->regs.r12)
#define win_end(run)	((run)->regs.r13)
LOL_GUEST_ASM(load_loop,
	"0: mov $16, %r15d\n\t"
	"1: mov %rbx, %rdi\n\t"
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"lea 1(%rbx,%rbx,2), %rcx\n\t"
	"cmp %rcx, %rax\n\t"
	"jne 9f\n\t"
	"inc %rbx\n\t"
	"dec %r15d\n\t"
	"jnz 1b\n\t"
	"inc %r14\n\t"
	"mov %r12, %rdi\n\t"
	"2: mov %r14, (%rdi)\n\t"
	"add $4096, %rdi\n\t"
	"cmp %r13, %rdi\n\t"
	"jb 2b\n\t"
	"mov %r14, %rdi\n\t"
	"mov $501, %eax\n\t"
	"syscall\n\t"
	"jmp 0b\n\t"
	"9: ud2\n");

/* Writes one word every rdx bytes of [rdi, rsi); syscall(502). */
LOL_GUEST_ASM(load_touch,
	"1: mov %rdi, (%rdi)\n\t"
	"add %rdx, %rdi\n\t"
	"cmp %rsi, %rdi\n\t"
	"jb 1b\n\t"
	"mov $502, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* The churn guests: syscall exits forever. */
LOL_GUEST_ASM(load_spin, "1: mov $500, %eax\n\tsyscall\n\tjmp 1b\n");
#elif defined(__aarch64__)
/*
 * x19: syscall counter, x22: pass, x20/x21: window start/end.
 * 16 x syscall(500, x19) expecting 3 * x19 + 1, then write the pass
 * number to every window page, syscall(501, pass), again.
 */
#define win_start(run)	((run)->regs.x[20])
#define win_end(run)	((run)->regs.x[21])
LOL_GUEST_ASM(load_loop,
	"0: mov x23, #16\n"
	"1: mov x0, x19\n\t"
	"mov x8, #500\n\t"
	"svc #0\n\t"
	"add x9, x19, x19, lsl #1\n\t"
	"add x9, x9, #1\n\t"
	"cmp x9, x0\n\t"
	"b.ne 9f\n\t"
	"add x19, x19, #1\n\t"
	"subs x23, x23, #1\n\t"
	"b.ne 1b\n\t"
	"add x22, x22, #1\n\t"
	"mov x10, x20\n"
	"2: str x22, [x10]\n\t"
	"add x10, x10, #4096\n\t"
	"cmp x10, x21\n\t"
	"b.lo 2b\n\t"
	"mov x0, x22\n\t"
	"mov x8, #501\n\t"
	"svc #0\n\t"
	"b 0b\n"
	"9: udf #0\n");

/* Writes one word every x2 bytes of [x0, x1); syscall(502). */
LOL_GUEST_ASM(load_touch,
	"1: str x0, [x0]\n\t"
	"add x0, x0, x2\n\t"
	"cmp x0, x1\n\t"
	"b.lo 1b\n\t"
	"mov x8, #502\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* The churn guests: syscall exits forever. */
LOL_GUEST_ASM(load_spin, "1: mov x8, #500\n\tsvc #0\n\tb 1b\n");
#else
#error "load_test: no guest code for this arch"
#endif

struct vcpu_stats {
	unsigned long exits, syscalls, faults, passes;
	double start;		/* when its loop began */
	int error;
	char msg[160];
};

struct stats {
	struct vcpu_stats v[MAX_GUESTS][MAX_VCPUS];
	int ready;		/* workers set up */
	double deadline;	/* set by the test once all are ready */
	unsigned long churn_cycles, churn_guests;
	int churn_error;
	char churn_msg[160];
};

struct config {
	int seconds, guests, vcpus;
	unsigned long bulk;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* KEY from the environment, else from ./load_test.env, else def. */
static long knob(const char *key, long def)
{
	const char *v = getenv(key);
	char line[128];
	long val = def;
	FILE *f;

	if (v && *v)
		return atol(v);
	f = fopen("load_test.env", "re");
	if (!f)
		return def;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == '=')
			val = atol(line + strlen(key) + 1);
	fclose(f);
	return val;
}

/* ---- worker: one guest, V vcpu threads ------------------------------------ */

struct worker {
	struct lol_vm vm;
	struct lol_vcpu vcpu[MAX_VCPUS];
	__u32 as;
	volatile double deadline;
	struct stats *st;
	int w;
};

struct vcpu_arg {
	struct worker *wk;
	int i;
};

#define VFAIL(s, ...) do {						\
	snprintf((s)->msg, sizeof((s)->msg), __VA_ARGS__);		\
	(s)->error = 1;							\
	return NULL;							\
} while (0)

static void *vcpu_thread(void *p)
{
	struct vcpu_arg *a = p;
	struct worker *wk = a->wk;
	struct lol_vcpu *vcpu = &wk->vcpu[a->i];
	struct lol_run *run = vcpu->run;
	struct vcpu_stats *s = &wk->st->v[wk->w][a->i];
	const __u64 win = WIN_GVA + a->i * WIN_STRIDE;
	const size_t win_phys = (PHYS_WIN + a->i * WIN_PAGES) * PAGE;
	unsigned long counter = 0, pass = 0, mapped = 0;
	int faults = 0, pg;

	lol_vcpu_set_entry(vcpu, wk->as, CODE_GVA, 0);
	win_start(run) = win;
	win_end(run) = win + WIN_PAGES * PAGE;
	s->start = now();

	while (now() < wk->deadline) {
		if (lol_run(vcpu->fd))
			VFAIL(s, "LOL_RUN: %s", lol_errno_name(errno));
		s->exits++;
		switch (run->exit_reason) {
		case LOL_EXIT_SYSCALL:
			if (run->syscall.nr == 500) {
				if (run->syscall.args[0] != counter)
					VFAIL(s, "syscall %lu: guest counter %llu",
					      counter,
					      (unsigned long long)run->syscall.args[0]);
				lol_ret(run) = 3 * counter + 1;
				counter++;
				s->syscalls++;
				break;
			}
			if (run->syscall.nr != 501)
				VFAIL(s, "unexpected syscall %llu",
				      (unsigned long long)run->syscall.nr);
			pass++;
			if (run->syscall.args[0] != pass)
				VFAIL(s, "pass %lu: guest says %llu", pass,
				      (unsigned long long)run->syscall.args[0]);
			if (faults != WIN_PAGES)
				VFAIL(s, "pass %lu: %d faults for %d unmapped pages",
				      pass, faults, WIN_PAGES);
			for (pg = 0; pg < WIN_PAGES; pg++) {
				__u64 *v = lol_vm_phys(&wk->vm, win_phys + pg * PAGE, 8);

				if (*v != pass)
					VFAIL(s, "pass %lu: page %d holds %llu",
					      pass, pg, (unsigned long long)*v);
			}
			if (lol_as_unmap(wk->vm.guest, wk->as, win,
					 WIN_PAGES * PAGE))
				VFAIL(s, "unmap: %s", lol_errno_name(errno));
			faults = 0;
			mapped = 0;
			s->passes++;
			break;
		case LOL_EXIT_FAULT:
			if (run->fault.addr < win ||
			    run->fault.addr >= win + WIN_PAGES * PAGE)
				VFAIL(s, "fault at 0x%llx ip 0x%llx",
				      (unsigned long long)run->fault.addr,
				      (unsigned long long)run->fault.ip);
			pg = (run->fault.addr - win) / PAGE;
			if (mapped & (1UL << pg))
				VFAIL(s, "fault on mapped page %d (pass %lu)", pg,
				      pass);
			if (lol_as_map(wk->vm.guest, wk->as, win + pg * PAGE, PAGE,
				       win_phys + pg * PAGE,
				       LOL_PROT_READ | LOL_PROT_WRITE))
				VFAIL(s, "map: %s", lol_errno_name(errno));
			mapped |= 1UL << pg;
			faults++;
			s->faults++;
			break;
		default:
			VFAIL(s, "exit %s at 0x%llx (vector %u)",
			      lol_exit_name(run->exit_reason),
			      (unsigned long long)lol_pc(run), run->trap.vector);
		}
	}
	return NULL;
}

/* Until the test says go (all workers are set up): the deadline. */
static double wait_go(struct stats *st)
{
	volatile double *d = &st->deadline;

	while (!*d)
		usleep(10 * 1000);
	return *d;
}

static int worker_main(struct stats *st, int w, const struct config *c)
{
	size_t phys = (PHYS_WIN + c->vcpus * WIN_PAGES) * PAGE + c->bulk;
	struct vcpu_arg args[MAX_VCPUS];
	pthread_t t[MAX_VCPUS];
	struct worker wk;
	struct lol_run *run;
	int i;

	memset(&wk, 0, sizeof(wk));
	wk.st = st;
	wk.w = w;
#define WFAIL(...) do {							\
	snprintf(st->v[w][0].msg, sizeof(st->v[w][0].msg), __VA_ARGS__); \
	st->v[w][0].error = 1;						\
	return 1;							\
} while (0)
	if (lol_vm_create(&wk.vm, phys))
		WFAIL("guest: %s", lol_errno_name(errno));
	if (lol_vm_new_as(&wk.vm, &wk.as) ||
	    lol_vm_map(&wk.vm, wk.as, CODE_GVA, 0, PAGE,
		       LOL_PROT_READ | LOL_PROT_EXEC))
		WFAIL("AS: %s", lol_errno_name(errno));
	for (i = 0; i < c->vcpus; i++)
		if (lol_vm_add_vcpu(&wk.vm, i, &wk.vcpu[i]))
			WFAIL("vcpu %d: %s", i, lol_errno_name(errno));

	/*
	 * The bulk region: allocated (fallocate: TCG page faults are slow),
	 * mapped, touched by the guest every 64 KiB, then just held.
	 */
	if (c->bulk) {
		size_t off = (PHYS_WIN + c->vcpus * WIN_PAGES) * PAGE;

		if (fallocate(wk.vm.memfd, 0, off, c->bulk))
			WFAIL("fallocate: %s", lol_errno_name(errno));
		if (lol_vm_map(&wk.vm, wk.as, BULK_GVA, off, c->bulk,
			       LOL_PROT_READ | LOL_PROT_WRITE))
			WFAIL("bulk map: %s", lol_errno_name(errno));
		LOL_VM_LOAD_ASM(&wk.vm, 0, load_touch);
		run = wk.vcpu[0].run;
		lol_vcpu_set_entry(&wk.vcpu[0], wk.as, CODE_GVA, 0);
		lol_arg0(run) = BULK_GVA;
		lol_arg1(run) = BULK_GVA + c->bulk;
		lol_arg2(run) = 16 * PAGE;
		if (lol_run(wk.vcpu[0].fd) || run->exit_reason != LOL_EXIT_SYSCALL ||
		    run->syscall.nr != 502)
			WFAIL("bulk touch: %s, exit %s", lol_errno_name(errno),
			      lol_exit_name(run->exit_reason));
		/* The monitor never touches it: only the guest AS maps it. */
		madvise((char *)wk.vm.phys + off, c->bulk, MADV_DONTNEED);
	}
	memset(wk.vm.phys, LOL_TRAP_FILL, PAGE);
	LOL_VM_LOAD_ASM(&wk.vm, 0, load_loop);
	__atomic_fetch_add(&st->ready, 1, __ATOMIC_SEQ_CST);
	wk.deadline = wait_go(st);

	for (i = 0; i < c->vcpus; i++) {
		args[i].wk = &wk;
		args[i].i = i;
		if (pthread_create(&t[i], NULL, vcpu_thread, &args[i]))
			WFAIL("pthread_create");
	}
	for (i = 0; i < c->vcpus; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < c->vcpus; i++) {
		if (st->v[w][i].error)
			return 1;
		lol_vcpu_destroy(&wk.vcpu[i]);
	}
	lol_vm_destroy(&wk.vm);
	return 0;
#undef WFAIL
}

/* ---- churn: guests created and SIGKILLed -------------------------------- */

struct churn_vcpu {
	struct lol_vm *vm;
	struct lol_vcpu vcpu;
	__u32 as;
};

static void *churn_thread(void *p)
{
	struct churn_vcpu *c = p;

	lol_vcpu_set_entry(&c->vcpu, c->as, CODE_GVA, 0);
	for (;;)
		if (lol_run(c->vcpu.fd))
			break;
	return NULL;
}

/* A monitor that runs until it is killed: two vcpus and AS churn. */
static void churn_victim(unsigned int seed)
{
	struct churn_vcpu c[2];
	struct lol_vm vm;
	pthread_t t;
	__u32 as;
	int i;

	if (lol_vm_create(&vm, 64 * PAGE) || lol_vm_new_as(&vm, &as) ||
	    lol_vm_map(&vm, as, CODE_GVA, 0, PAGE,
		       LOL_PROT_READ | LOL_PROT_EXEC))
		_exit(1);
	LOL_VM_LOAD_ASM(&vm, 0, load_spin);
	for (i = 0; i < 2; i++) {
		c[i].vm = &vm;
		c[i].as = as;
		if (lol_vm_add_vcpu(&vm, i, &c[i].vcpu) ||
		    pthread_create(&t, NULL, churn_thread, &c[i]))
			_exit(1);
	}
	/* Map, unmap and make ASs until killed. */
	for (i = 0;; i++) {
		__u32 as2;

		lol_vm_map(&vm, as, WIN_GVA + (i % 32) * PAGE, (i % 63 + 1) * PAGE,
			   PAGE, LOL_PROT_READ | LOL_PROT_WRITE);
		if (i % 32 == 31)
			lol_as_unmap(vm.guest, as, WIN_GVA, 32 * PAGE);
		if ((i + seed) % 16 == 0 && !lol_vm_new_as(&vm, &as2)) {
			lol_vm_map(&vm, as2, CODE_GVA, 0, PAGE, LOL_PROT_READ);
			if (i % 3)
				lol_destroy_as(vm.guest, as2);
		}
	}
}

static int churn_main(struct stats *st)
{
	unsigned int seed = getpid();
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	double deadline = wait_go(st);
	int status;
	pid_t pid;

	while (now() < deadline) {
		pid = fork();
		if (pid < 0) {
			snprintf(st->churn_msg, sizeof(st->churn_msg), "fork: %m");
			st->churn_error = 1;
			return 1;
		}
		if (pid == 0)
			churn_victim(seed);
		usleep(5000 + rand_r(&seed) % 95000);
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) != pid ||
		    !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			snprintf(st->churn_msg, sizeof(st->churn_msg),
				 "victim %d ended with status 0x%x", pid, status);
			st->churn_error = 1;
			return 1;
		}
		st->churn_cycles++;

		/* A guest made and closed in this process. */
		if (!lol_vm_create(&vm, 16 * PAGE)) {
			if (!lol_vm_add_vcpu(&vm, 0, &vcpu))
				lol_vcpu_destroy(&vcpu);
			lol_vm_destroy(&vm);
			st->churn_guests++;
		}
	}
	return 0;
}

/* ---- the test -------------------------------------------------------------- */

struct mem {
	long avail, sunreclaim, pagetables, shmem, refcnt;
};

static void mem_sample(struct mem *m)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "3\n", 2);
		close(fd);
	}
	usleep(1000 * 1000);	/* RCU-deferred frees */
	m->avail = lol_meminfo_kb("MemAvailable");
	m->sunreclaim = lol_meminfo_kb("SUnreclaim");
	m->pagetables = lol_meminfo_kb("PageTables");
	m->shmem = lol_meminfo_kb("Shmem");
	fd = open("/sys/module/lol/refcnt", O_RDONLY | O_CLOEXEC);
	m->refcnt = -1;
	if (fd >= 0) {
		char buf[32] = "";

		if (read(fd, buf, sizeof(buf) - 1) > 0)
			m->refcnt = atol(buf);
		close(fd);
	}
}

FIXTURE(load) {
	int sys;
};

FIXTURE_SETUP(load)
{
	self->sys = lol_open_sys();
}

FIXTURE_TEARDOWN(load)
{
	close(self->sys);
}

TEST_F_TIMEOUT(load, guests_vcpus_churn, 290)
{
	struct config c;
	struct mem before, after;
	struct stats *st;
	pid_t pids[MAX_GUESTS + 1];
	unsigned long exits = 0, syscalls = 0, faults = 0, passes = 0;
	unsigned long min_exits = 0;
	long avail, max_guests;
	double start, deadline, took, loop_time = 0;
	int nr_loops = 0;
	int i, v, status, bad = 0;

	if (!lol_cap(self->sys, LOL_CAP_RUN))
		SKIP(return, "LOL_CAP_RUN absent");
	c.seconds = knob("LOL_LOAD_SECONDS", 20);
	if (c.seconds < 1)
		c.seconds = 1;
	if (c.seconds > 200)
		c.seconds = 200;
	c.vcpus = knob("LOL_LOAD_VCPUS", 4);
	if (c.vcpus < 1)
		c.vcpus = 1;
	if (c.vcpus > MAX_VCPUS)
		c.vcpus = MAX_VCPUS;
	if (c.vcpus > lol_cap(self->sys, LOL_CAP_MAX_VCPUS))
		c.vcpus = lol_cap(self->sys, LOL_CAP_MAX_VCPUS);
	/* Leave room for the churn guests under the per-user limit. */
	max_guests = lol_cap(self->sys, LOL_CAP_MAX_GUESTS) - 4;
	avail = lol_meminfo_kb("MemAvailable") * 1024L;
	c.guests = knob("LOL_LOAD_GUESTS", 0);
	if (c.guests <= 0) {
		/* About 24 MiB a guest (bulk, page tables, threads). */
		c.guests = avail / 2 / (24 * MIB);
		if (c.guests > 16)
			c.guests = 16;
	}
	if (c.guests > MAX_GUESTS)
		c.guests = MAX_GUESTS;
	if (c.guests > max_guests)
		c.guests = max_guests;
	ASSERT_LT(0, c.guests) TH_LOG("MemAvailable %ld MiB", avail >> 20);
	/* The guests hold about half of what is available, in bulk. */
	c.bulk = (avail / 2 / c.guests) & ~(MIB - 1);
	if (c.bulk > 4 * MIB)
		c.bulk -= 4 * MIB;
	if (c.bulk > 256 * MIB)
		c.bulk = 256 * MIB;
	ASSERT_EQ(0, lol_raise_nofile(256));

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	mem_sample(&before);
	TH_LOG("%d guests x %d vcpus for %d s, %lu MiB held per guest, "
	       "MemAvailable %ld MiB", c.guests, c.vcpus, c.seconds,
	       c.bulk >> 20, before.avail >> 10);

	start = now();
	for (i = 0; i <= c.guests; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			close(self->sys);
			if (i < c.guests)
				_exit(worker_main(st, i, &c));
			_exit(churn_main(st));
		}
	}
	/* Go when every worker is set up (or one gave up). */
	for (i = 0; i < 1200; i++) {
		int done = 0;

		if (__atomic_load_n(&st->ready, __ATOMIC_SEQ_CST) >= c.guests)
			break;
		for (v = 0; v < c.guests; v++) {
			siginfo_t si = { .si_pid = 0 };

			/* WNOWAIT: reaped and judged below. */
			waitid(P_PID, pids[v], &si, WEXITED | WNOHANG | WNOWAIT);
			done += si.si_pid != 0;
		}
		if (done) {
			TH_LOG("a worker ended during setup");
			break;
		}
		usleep(100 * 1000);
	}
	TH_LOG("setup took %.1f s", now() - start);
	deadline = now() + c.seconds;
	__sync_synchronize();
	*(volatile double *)&st->deadline = deadline;
	for (i = 0; i <= c.guests; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			bad++;
			TH_LOG("%s %d: %s %d", i < c.guests ? "worker" : "churn", i,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) :
			       WTERMSIG(status));
		}
	}
	took = now() - start;

	for (i = 0; i < c.guests; i++) {
		for (v = 0; v < c.vcpus; v++) {
			struct vcpu_stats *s = &st->v[i][v];

			exits += s->exits;
			syscalls += s->syscalls;
			faults += s->faults;
			passes += s->passes;
			if (s->error) {
				bad++;
				TH_LOG("guest %d vcpu %d: %s", i, v, s->msg);
			}
			/* Every vcpu ran (64 threads on 2 TCG CPUs: slowly). */
			if (!s->error && !s->exits) {
				bad++;
				TH_LOG("guest %d vcpu %d: no exit in %d s", i, v,
				       c.seconds);
			}
			if (s->start > 0 && s->start < deadline) {
				loop_time += deadline - s->start;
				nr_loops++;
			}
			if (!min_exits || s->exits < min_exits)
				min_exits = s->exits;
		}
	}
	if (st->churn_error) {
		bad++;
		TH_LOG("churn: %s", st->churn_msg);
	}
	/* Rate over the loop phase (after each guest touched its bulk). */
	loop_time = nr_loops ? loop_time / nr_loops : c.seconds;
	if (loop_time < 1)
		loop_time = 1;
	printf("# held: %d guests x %d vcpus, %.0f exits/s "
	       "(%lu syscall exits, %lu fault exits, %lu window passes in %.1f s of "
	       "loop, %.1f s in all; fewest exits of a vcpu %lu; %lu MiB guest memory)\n",
	       c.guests, c.vcpus, exits / loop_time, syscalls, faults, passes,
	       loop_time, took, min_exits, (c.guests * c.bulk) >> 20);
	printf("# churn: %lu monitors SIGKILLed while running, %lu guests created and closed\n",
	       st->churn_cycles, st->churn_guests);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, passes);
	EXPECT_LT(0, st->churn_cycles);

	mem_sample(&after);
	printf("# after: MemAvailable %+ld KiB, Shmem %+ld KiB, SUnreclaim %+ld KiB, "
	       "PageTables %+ld KiB, module refcnt %ld -> %ld\n",
	       after.avail - before.avail, after.shmem - before.shmem,
	       after.sunreclaim - before.sunreclaim,
	       after.pagetables - before.pagetables, before.refcnt, after.refcnt);
	EXPECT_EQ(before.refcnt, after.refcnt);
	/* Guest memory is shmem (memfd): all of it given back. */
	EXPECT_GE(4 * 1024, after.shmem - before.shmem);
	/*
	 * Everything the guests held is back. MemAvailable moves by about
	 * +-20 MiB between runs (per-cpu page lists, caches); Shmem above is
	 * the precise check for guest memory.
	 */
	EXPECT_GE(48 * 1024, before.avail - after.avail);
	EXPECT_GE(8 * 1024, after.sunreclaim - before.sunreclaim);
	EXPECT_GE(1024, after.pagetables - before.pagetables);
	munmap(st, sizeof(*st));
}

TEST_HARNESS_MAIN
