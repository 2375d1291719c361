// SPDX-License-Identifier: GPL-2.0
/*
 * robust2_test: robustness of the run loop, part 2 (Documentation/
 * design.md, "Robustness invariants"): guest accesses to monitor
 * addresses; per-thread user pointers of the monitor (rseq,
 * clear_child_tid, the robust futex list, sigaltstack) that must never be
 * used in the guest AS, also when the thread dies in guest mode; every fd
 * closed while a vcpu runs; 100,000 syscall exits without memory growth;
 * guest memory charged to the monitor's memory cgroup; threads racing
 * LOL_RUN on one vcpu, with kicks. Part 1 is
 * robust_test.c; the helpers are in robust_common.h.
 *
 * Everything needs LOL_CAP_RUN and is SKIPped without it; every wait is
 * bounded.
 */
#include "robust_common.h"

static __thread volatile __u64 monitor_tls = PAT3;

FIXTURE(env) {
	struct sphys sp;
	long base, shmem;
};

FIXTURE_SETUP(env)
{
	self->base = lol_refcnt();
	self->shmem = lol_meminfo_kb("Shmem");
	self->sp.memfd = -1;
	ASSERT_EQ(0, sphys_create(&self->sp, NR_PHYS * getpagesize()));
}

FIXTURE_TEARDOWN(env)
{
	sphys_destroy(&self->sp);
}

/* ============================================================================
 * 7. Guest accesses to monitor addresses
 * ==========================================================================*/

static volatile __u64 monitor_global = PAT1;

static __attribute__((noinline)) int monitor_function(int x)
{
	return x + 1;
}

TEST(monitor_memory_unreachable)
{
	volatile __u64 stack_var = PAT2;
	volatile __u64 *heap_var;
	struct lol_run *run;
	struct rvm r;
	__u64 load, store, jump;
	size_t i;

	REQUIRE_RUN();
	heap_var = malloc(64);
	ASSERT_NE(NULL, heap_var);
	*heap_var = PAT3;
	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	load = RVM_LOAD(&r, 0, load_stub);
	store = RVM_LOAD(&r, 128, store_stub);
	jump = RVM_LOAD(&r, 256, jump_stub);
	{
		__u64 addrs[] = {
			(unsigned long)&monitor_global,
			(unsigned long)&stack_var,
			(unsigned long)heap_var,
			(unsigned long)&monitor_tls,
			(unsigned long)run,
			(unsigned long)r.vm.phys + P_DATA * r.page,
		};

		for (i = 0; i < ARRAY_SIZE(addrs); i++) {
			rvm_entry(&r, 0, load);
			lol_arg0(run) = addrs[i];
			ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
			EXPECT_EQ(LOL_EXIT_FAULT, run->exit_reason)
				TH_LOG("load from monitor address %zu: "
				       LOL_EXIT_FMT, i, LOL_EXIT_ARGS(run));
			EXPECT_EQ(addrs[i], run->fault.addr);
			EXPECT_EQ(LOL_FAULT_READ, run->fault.access);
			EXPECT_EQ(0, run->fault.flags & LOL_FAULT_PRESENT);
			EXPECT_EQ(load, run->fault.ip);

			rvm_entry(&r, 0, store);
			lol_arg0(run) = addrs[i];
			lol_arg1(run) = 0xbadbadbadbadbadULL;
			ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
			EXPECT_EQ(LOL_EXIT_FAULT, run->exit_reason)
				TH_LOG("store to monitor address %zu: "
				       LOL_EXIT_FMT, i, LOL_EXIT_ARGS(run));
			EXPECT_EQ(addrs[i], run->fault.addr);
			EXPECT_EQ(LOL_FAULT_WRITE, run->fault.access);
			EXPECT_EQ(0, run->fault.flags & LOL_FAULT_PRESENT);
		}
	}
	/* Executing monitor code. */
	rvm_entry(&r, 0, jump);
	lol_arg0(run) = (unsigned long)monitor_function;
	ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
	EXPECT_EQ(LOL_EXIT_FAULT, run->exit_reason);
	EXPECT_EQ((unsigned long)monitor_function, run->fault.addr);
	EXPECT_EQ(LOL_FAULT_EXEC, run->fault.access);

	/* The monitor's memory is untouched. */
	EXPECT_EQ(PAT1, monitor_global);
	EXPECT_EQ(PAT2, stack_var);
	EXPECT_EQ(PAT3, *heap_var);
	EXPECT_EQ(PAT3, monitor_tls);
	EXPECT_EQ(2, monitor_function(1));
	EXPECT_EQ(0, *pu64(&r, P_DATA, 0));
	free((void *)heap_var);
	rvm_destroy(&r);
}

/* ============================================================================
 * 8. Per-thread user pointers are never used in the guest AS
 * ==========================================================================*/

/* Maps phys page at the page of monitor address addr, filled with fill. */
static int mirror_page(struct rvm *r, int page, const void *addr, int fill)
{
	__u64 gva = (unsigned long)addr & ~(__u64)(r->page - 1);

	memset(lol_vm_phys(&r->vm, page * r->page, r->page), fill, r->page);
	return lol_vm_map(&r->vm, r->as, gva, page * r->page, r->page,
			  LOL_PROT_READ | LOL_PROT_WRITE);
}

struct migrator {
	struct rvm *r;
	pid_t vcpu_tid;
	int cpus[2], ncpu;
	int gen;		/* iteration the vcpu is in; -1: quit */
	int acted;		/* last iteration handled */
	int move_to;		/* CPU to move the vcpu to in guest mode, or -1 */
	int error;
	pthread_t thr;
};

/*
 * For each iteration: wait for the guest to run, move the vcpu thread to
 * another CPU if asked (it is in guest mode then), let it run there,
 * yield, kick.
 */
static void *migrator_fn(void *p)
{
	struct migrator *m = p;
	volatile __u64 *counter = pu64(m->r, P_DATA, 0);
	int gen, done = -2;
	__u64 c;

	for (;;) {
		gen = LOAD_ACQ(&m->gen);
		if (gen == -1)
			break;
		if (gen == done || gen < 0) {
			usleep(100);
			continue;
		}
		c = *counter;
		if (!WAIT_UNTIL(*counter != c, 10000)) {
			m->error = __LINE__;
			break;
		}
		if (m->move_to >= 0) {
			if (pin_to(m->vcpu_tid, m->move_to)) {
				m->error = __LINE__;
				break;
			}
			c = *counter;
			WAIT_UNTIL(*counter != c, 1000);
		}
		sched_yield();
		lol_kick(m->r->vcpu[0].fd);
		done = gen;
		STORE_REL(&m->acted, gen);
	}
	return NULL;
}

/*
 * The monitor thread's rseq area is in its own AS only: a guest page at
 * the same address keeps its content through preemption, migration (in
 * monitor mode before LOL_RUN, and in guest mode) and kicks, and the
 * monitor's rseq cpu_id is right after every LOL_RUN.
 */
TEST_F_TIMEOUT(env, rseq_not_in_guest, 90)
{
	static __thread struct rseq own_rseq __attribute__((aligned(32)));
	struct migrator m = { 0 };
	volatile struct rseq *rs;
	struct lol_run *run;
	struct rvm r;
	int i, cur, bad_pattern = 0, bad_cpu = 0, iters = 200;
	int first_bad = -1;

	REQUIRE_RUN();
	if (__rseq_size > 0) {
		rs = (void *)((char *)__builtin_thread_pointer() +
			      __rseq_offset);
	} else {
		if (syscall(SYS_rseq, &own_rseq, sizeof(own_rseq), 0,
			    0x53053053))
			SKIP(return, "no rseq: %s", strerror(errno));
		rs = &own_rseq;
	}
	ASSERT_LE(0, (int)rs->cpu_id) TH_LOG("rseq cpu_id %d", rs->cpu_id);

	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	ASSERT_EQ(0, mirror_page(&r, P_FREE, (const void *)rs, MIRROR_FILL));
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	lol_arg0(run) = G_DATA;

	m.r = &r;
	m.vcpu_tid = gettid();
	m.ncpu = cpu_list(m.cpus, 2);
	m.acted = -1;
	m.gen = -2;
	cur = m.cpus[0];
	ASSERT_EQ(0, pin_to(0, cur));
	ASSERT_EQ(0, pthread_create(&m.thr, NULL, migrator_fn, &m));
	for (i = 0; i < iters; i++) {
		int other = m.ncpu >= 2 && cur == m.cpus[0] ? m.cpus[1] :
			    m.cpus[0];

		m.move_to = -1;
		if (!(i & 1)) {
			/* Moved in monitor mode, before LOL_RUN. */
			cur = other;
			ASSERT_EQ(0, pin_to(0, cur));
		} else if (i % 4 == 1) {
			/* Moved in guest mode, by the migrator. */
			m.move_to = cur = other;
		}
		STORE_REL(&m.gen, i);
		ASSERT_EQ(0, lol_run(r.vcpu[0].fd))
			TH_LOG("LOL_RUN: %s", strerror(errno));
		ASSERT_TRUE(WAIT_UNTIL(LOAD_ACQ(&m.acted) == i, 10000))
			TH_LOG("migrator error line %d", m.error);
		ASSERT_EQ(LOL_EXIT_KICK, run->exit_reason)
			TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
		if (!stack_is_filled(&r, P_FREE, MIRROR_FILL))
			bad_pattern++;
		/* Pinned: the CPU is known, and rseq must say so already. */
		if ((int)rs->cpu_id != cur || (int)rs->cpu_id_start != cur ||
		    raw_getcpu() != cur) {
			if (first_bad < 0)
				TH_LOG("run %d: on CPU %d (getcpu %d), rseq "
				       "cpu_id %d cpu_id_start %d", i, cur,
				       raw_getcpu(), (int)rs->cpu_id,
				       (int)rs->cpu_id_start);
			first_bad = i;
			bad_cpu++;
		}
	}
	STORE_REL(&m.gen, -1);
	pthread_join(m.thr, NULL);
	EXPECT_EQ(0, m.error);
	EXPECT_EQ(0, bad_pattern)
		TH_LOG("the guest page at the monitor's rseq area (%p) was "
		       "written", (void *)rs);
	EXPECT_EQ(0, bad_cpu)
		TH_LOG("the monitor's rseq cpu_id was stale after LOL_RUN");
	TH_LOG("%d runs on %d CPUs, rseq area %p", iters, m.ncpu, (void *)rs);
	rvm_destroy(&r);
}

static struct { int count; __u64 local; } alt_hs;

static void alt_handler(int sig)
{
	volatile char local;

	alt_hs.count++;
	alt_hs.local = (unsigned long)&local;
}

/* Sends sig to target once *counter moved from start (or after 10 s). */
struct signaller {
	volatile __u64 *counter;
	__u64 start;
	pthread_t target, thr;
	int sig;
};

static void *signaller_fn(void *p)
{
	struct signaller *sg = p;

	WAIT_UNTIL(*sg->counter != sg->start, 10000);
	pthread_kill(sg->target, sg->sig);
	return NULL;
}

/*
 * sigaltstack: a signal with an SA_ONSTACK handler that arrives in guest
 * mode builds its frame on the monitor's alternate stack, not on guest
 * pages at the same address, nor on the guest's stack.
 */
TEST(sigaltstack_not_in_guest)
{
	struct sigaction sa = { .sa_handler = alt_handler,
				.sa_flags = SA_ONSTACK };
	size_t alt_size = 4 * getpagesize();
	struct signaller sg;
	stack_t ss = { 0 };
	struct rvm r;
	char *alt;
	int i, ret, err;

	REQUIRE_RUN();
	alt = mmap(NULL, alt_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, alt);
	ss.ss_sp = alt;
	ss.ss_size = alt_size;
	ASSERT_EQ(0, sigaltstack(&ss, NULL));
	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));

	RVM_INIT(&r, 1, NULL);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mirror_page(&r, P_FREE + i, alt + i * r.page,
					 MIRROR_FILL));
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	lol_arg0(r.vcpu[0].run) = G_DATA;
	/* The guest's own stack pointer is in the mirrored region. */
	lol_sp(r.vcpu[0].run) = (unsigned long)alt + alt_size - 256;

	for (i = 0; i < 3; i++) {
		volatile __u64 *counter = pu64(&r, P_DATA, 0);
		__u64 c = *counter;

		memset(&alt_hs, 0, sizeof(alt_hs));
		/* A helper signals this thread once the guest runs. */
		sg.counter = counter;
		sg.start = c;
		sg.target = pthread_self();
		sg.sig = SIGUSR2;
		ASSERT_EQ(0, pthread_create(&sg.thr, NULL, signaller_fn, &sg));
		ret = lol_run(r.vcpu[0].fd);
		err = errno;
		pthread_join(sg.thr, NULL);
		EXPECT_EQ(-1, ret);
		EXPECT_STREQ("EINTR", lol_errno_name(err));
		EXPECT_NE(c, *counter) TH_LOG("the guest did not run");
		EXPECT_EQ(1, alt_hs.count);
		EXPECT_TRUE(alt_hs.local >= (unsigned long)alt &&
			    alt_hs.local < (unsigned long)alt + alt_size)
			TH_LOG("handler ran at %llx, not on the alt stack",
			       (unsigned long long)alt_hs.local);
	}
	for (i = 0; i < 4; i++)
		EXPECT_TRUE(stack_is_filled(&r, P_FREE + i, MIRROR_FILL))
			TH_LOG("guest page %d at the monitor's sigaltstack "
			       "was written", i);
	EXPECT_TRUE(stack_is_filled(&r, P_STACK, STACK_FILL));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	rvm_destroy(&r);
	munmap(alt, alt_size);
}

/*
 * clear_child_tid and the robust futex list of a thread that dies in
 * guest mode are those of the monitor's AS. The monitor's page at X holds
 * a robust list whose futex is owned by the thread and the clear_child_tid
 * word; the guest AS has a page at X with the very same content. After the
 * death, the monitor's futex has FUTEX_OWNER_DIED, its tid word is 0 (and
 * woken), and the guest's page is unchanged.
 */
#define TA_HEAD		0x000
#define TA_ENTRY	0x100
#define TA_FUTEX_OFF	0x40
#define TA_FUTEX	(TA_ENTRY + TA_FUTEX_OFF)
#define TA_CTID		0x200

enum death { DEATH_SIGKILL, DEATH_EXIT_GROUP, DEATH_RANGE_KILL };

struct tid_ctx {
	struct rvm *r;
	char *ta;		/* the monitor's page X */
	struct ctl *ctl;
	enum death death;
	unsigned char *snapshot;	/* the guest page as set up */
};

static void tid_setup(struct tid_ctx *t)
{
	struct robust_list_head *head = (void *)(t->ta + TA_HEAD);
	struct robust_list *entry = (void *)(t->ta + TA_ENTRY);
	pid_t tid = gettid();

	memset(t->ta, MIRROR_FILL, t->r->page);
	head->list.next = entry;
	head->futex_offset = TA_FUTEX_OFF;
	head->list_op_pending = NULL;
	entry->next = &head->list;
	*(__u32 *)(t->ta + TA_FUTEX) = tid;
	*(__u32 *)(t->ta + TA_CTID) = tid;
	t->ctl->tid = tid;
	syscall(SYS_set_robust_list, head, sizeof(*head));
	syscall(SYS_set_tid_address, t->ta + TA_CTID);
}

static void *tid_vcpu_fn(void *p)
{
	struct tid_ctx *t = p;
	struct rvm *r = t->r;

	tid_setup(t);
	/* The guest's page at X: the same bytes. */
	memcpy(lol_vm_phys(&r->vm, P_FREE * r->page, r->page), t->ta, r->page);
	if (lol_vm_map(&r->vm, r->as, (unsigned long)t->ta, P_FREE * r->page,
		       r->page, LOL_PROT_READ | LOL_PROT_WRITE))
		_exit(30);
	memcpy(t->snapshot, t->ta, r->page);
	STORE_REL(&t->ctl->ready, 1);
	lol_run(r->vcpu[0].fd);
	/* Only a syscall can end it; KILL must not come back. */
	_exit(31);
}

static int holder_fn(void *arg)
{
	/* pause(2) as a raw syscall; arm64 has only ppoll(2) for it. */
	for (;;)
#ifdef SYS_pause
		syscall(SYS_pause);
#else
		syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
#endif
	return 0;
}

static pid_t tid_child(struct sphys *sp, char *ta, struct ctl *ctl,
		       enum death death, unsigned char *snapshot)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct tid_ctx t = { .ta = ta, .ctl = ctl, .death = death,
				     .snapshot = snapshot };
		volatile __u64 *counter;
		struct rvm r;
		pthread_t thr;
		static char holder_stack[16384] __attribute__((aligned(16)));

		child_init(30);
		if (death != DEATH_RANGE_KILL) {
			/*
			 * Holds the mm, so that the tid word is cleared
			 * (mm_release() skips it for the last user). Made
			 * first: it must not hold copies of the lol fds.
			 */
			ctl->holder = clone(holder_fn, holder_stack +
					    sizeof(holder_stack),
					    CLONE_VM | SIGCHLD, NULL);
			CHILD_CHECK(ctl->holder > 0, 4);
		}
		CHILD_CHECK(!rvm_init(&r, 1, sp), 2);
		t.r = &r;
		counter = pu64(&r, P_DATA, 0);
		*counter = 0;
		*pu64(&r, P_DATA, 8) = 0;
		if (death == DEATH_RANGE_KILL) {
			struct lol_syscall_ranges rg;

			memset(&rg, 0, sizeof(rg));
			rg.flags = LOL_RANGES_GUEST;
			rg.default_action = LOL_RANGE_KILL;
			CHILD_CHECK(!lol_set_syscall_ranges(r.vcpu[0].fd, &rg),
				    3);
			rvm_entry(&r, 0, RVM_LOAD(&r, 0, go_then_syscall));
		} else {
			rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
		}
		lol_arg0(r.vcpu[0].run) = G_DATA;
		CHILD_CHECK(!pthread_create(&thr, NULL, tid_vcpu_fn, &t), 5);
		while (!*counter)
			usleep(500);
		usleep(10000);
		if (death == DEATH_EXIT_GROUP)
			syscall(SYS_exit_group, 0);
		if (death == DEATH_SIGKILL) {
			pause();
			_exit(6);
		}
		/* DEATH_RANGE_KILL: let the guest syscall, wait for the end. */
		{
			struct timespec ts = { 10, 0 };
			__u32 *ctid = (__u32 *)(ta + TA_CTID);
			long ret;

			*pu64(&r, P_DATA, 8) = 1;
			ret = futex(ctid, FUTEX_WAIT, ctl->tid, &ts);
			CHILD_CHECK(ret == 0 || errno == EAGAIN, 7);
			CHILD_CHECK(*ctid == 0, 8);
		}
		_exit(0);
	}
	return pid;
}

FIXTURE(tidptr) {
	struct sphys sp;
	struct ctl *ctl;
	char *ta;
	unsigned char *snapshot;
	long base;
};

FIXTURE_VARIANT(tidptr) {
	enum death death;
};

FIXTURE_VARIANT_ADD(tidptr, sigkill) { .death = DEATH_SIGKILL };
FIXTURE_VARIANT_ADD(tidptr, exit_group) { .death = DEATH_EXIT_GROUP };
FIXTURE_VARIANT_ADD(tidptr, range_kill) { .death = DEATH_RANGE_KILL };

FIXTURE_SETUP(tidptr)
{
	self->base = lol_refcnt();
	self->sp.memfd = -1;
	ASSERT_EQ(0, sphys_create(&self->sp, NR_PHYS * getpagesize()));
	self->ctl = shared_anon(getpagesize());
	self->ta = shared_anon(getpagesize());
	self->snapshot = shared_anon(getpagesize());
	ASSERT_NE(NULL, self->ctl);
	ASSERT_NE(NULL, self->ta);
	ASSERT_NE(NULL, self->snapshot);
	/* The orphaned CLONE_VM holder comes back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

FIXTURE_TEARDOWN(tidptr)
{
	sphys_destroy(&self->sp);
}

TEST_F(tidptr, robust_list_and_clear_child_tid)
{
	unsigned char *guest_page;
	__u32 tid, futex_word, ctid;
	int status;
	pid_t pid;

	REQUIRE_RUN();
	if (variant->death == DEATH_RANGE_KILL)
		REQUIRE_CAP(LOL_CAP_SYSCALL_RANGES);
	guest_page = (unsigned char *)self->sp.mem + P_FREE * getpagesize();
	pid = tid_child(&self->sp, self->ta, self->ctl, variant->death,
			self->snapshot);
	ASSERT_LE(0, pid);
	if (variant->death == DEATH_SIGKILL) {
		ASSERT_TRUE(WAIT_UNTIL(LOAD_ACQ(&self->ctl->ready), 10000));
		ASSERT_TRUE(WAIT_UNTIL(*(volatile __u64 *)((char *)self->sp.mem +
			    P_DATA * getpagesize()) > 0, 10000));
		usleep(20000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
	}
	ASSERT_EQ(pid, wait_child(pid, &status, 20000, 0));
	if (self->ctl->holder > 0) {
		kill(self->ctl->holder, SIGKILL);
		wait_child(self->ctl->holder, NULL, 5000, 0);
	}
	switch (variant->death) {
	case DEATH_SIGKILL:
		EXPECT_KILLED(status, SIGKILL);
		break;
	case DEATH_EXIT_GROUP:
		EXPECT_EXITED(status, 0);
		break;
	case DEATH_RANGE_KILL:
		/* 7, 8: the tid word was not cleared (or not woken). */
		EXPECT_EXITED(status, 0);
		break;
	}
	ASSERT_TRUE(self->ctl->ready) TH_LOG("the vcpu thread never ran");
	tid = self->ctl->tid;
	futex_word = *(volatile __u32 *)(self->ta + TA_FUTEX);
	ctid = *(volatile __u32 *)(self->ta + TA_CTID);
	/* handle_futex_death(): the tid is cleared, OWNER_DIED set. */
	EXPECT_EQ(FUTEX_OWNER_DIED, futex_word)
		TH_LOG("the monitor's robust futex (tid %u) was not released",
		       tid);
	EXPECT_EQ(0, ctid)
		TH_LOG("the monitor's clear_child_tid word was not cleared");
	EXPECT_EQ(0, memcmp(guest_page, self->snapshot, getpagesize()))
		TH_LOG("the guest page at the monitor's robust list / tid "
		       "address was written (futex %#x, tid word %#x)",
		       *(__u32 *)(guest_page + TA_FUTEX),
		       *(__u32 *)(guest_page + TA_CTID));
	EXPECT_REFCNT(self->base);
	EXPECT_SANITY();
}

/* ============================================================================
 * 9. Closing every fd while a vcpu runs
 * ==========================================================================*/

struct closer_run {
	int fd;
	int ret, err, ret2, err2;
	int done;
};

static volatile sig_atomic_t usr1_count;

static void count_handler(int sig)
{
	usr1_count++;
}

static void *close_vcpu_fn(void *p)
{
	struct closer_run *c = p;

	c->ret = lol_run(c->fd);
	c->err = errno;
	/* The fd is gone now. */
	c->ret2 = lol_run(c->fd);
	c->err2 = errno;
	STORE_REL(&c->done, 1);
	return NULL;
}

/*
 * Another thread closes the vcpu, guest, /dev/lol fds and the memfd and
 * unmaps the run page and phys memory, in various orders, while the vcpu
 * spins: the guest keeps running, a signal with a handler brings the
 * thread back (EINTR), and then everything is released.
 */
TEST_F_TIMEOUT(env, close_all_while_running, 60)
{
	struct sigaction sa = { .sa_handler = count_handler };
	int order;

	REQUIRE_RUN();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	for (order = 0; order < 3; order++) {
		struct closer_run c = { 0 };
		volatile __u64 *counter;
		struct timespec ts;
		struct rvm r;
		void *watch;
		long base, shmem;
		pthread_t t;
		__u64 v;

		base = lol_refcnt();
		shmem = lol_meminfo_kb("Shmem");
		ASSERT_EQ(0, rvm_init_ballast(&r, 1, NULL, true))
			TH_LOG("guest setup: %s: %s", r.err, strerror(errno));
		/* A second view of phys memory that outlives the guest. */
		watch = mmap(NULL, r.vm.phys_size, PROT_READ, MAP_SHARED,
			     r.vm.memfd, 0);
		ASSERT_NE(MAP_FAILED, watch);
		counter = (void *)((char *)watch + P_DATA * r.page);
		rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
		lol_arg0(r.vcpu[0].run) = G_DATA;
		c.fd = r.vcpu[0].fd;
		usr1_count = 0;
		ASSERT_EQ(0, pthread_create(&t, NULL, close_vcpu_fn, &c));
		ASSERT_TRUE(WAIT_UNTIL(*counter > 0, 10000));

		switch (order) {
		case 0:
			close(r.vcpu[0].fd);
			close(r.vm.guest);
			close(r.vm.sys);
			close(r.vm.memfd);
			munmap(r.vcpu[0].run, r.vcpu[0].run_size);
			munmap(r.vm.phys, r.vm.phys_size);
			break;
		case 1:
			munmap(r.vcpu[0].run, r.vcpu[0].run_size);
			close(r.vm.sys);
			munmap(r.vm.phys, r.vm.phys_size);
			close(r.vm.guest);
			close(r.vm.memfd);
			close(r.vcpu[0].fd);
			break;
		default:
			close(r.vm.guest);
			munmap(r.vm.phys, r.vm.phys_size);
			close(r.vcpu[0].fd);
			munmap(r.vcpu[0].run, r.vcpu[0].run_size);
			close(r.vm.memfd);
			close(r.vm.sys);
			break;
		}
		/* Still running, on nothing but its own references. */
		v = *counter;
		EXPECT_TRUE(WAIT_UNTIL(*counter > v + 1000, 5000))
			TH_LOG("order %d: the guest stopped", order);
		EXPECT_FALSE(LOAD_ACQ(&c.done));

		ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
		EXPECT_TRUE(WAIT_UNTIL(LOAD_ACQ(&c.done), 10000))
			TH_LOG("order %d: a signal did not end LOL_RUN", order);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		ASSERT_EQ(0, pthread_timedjoin_np(t, NULL, &ts));
		EXPECT_EQ(-1, c.ret);
		EXPECT_STREQ("EINTR", lol_errno_name(c.err));
		EXPECT_EQ(1, usr1_count);
		EXPECT_EQ(-1, c.ret2);
		EXPECT_STREQ("EBADF", lol_errno_name(c.err2));
		v = *counter;
		usleep(20000);
		EXPECT_EQ(v, *counter) TH_LOG("the guest runs after LOL_RUN "
					      "returned");
		munmap(watch, r.vm.phys_size);
		EXPECT_REFCNT(base);
		EXPECT_SHMEM(shmem);
	}
	EXPECT_SANITY();
}

/* ============================================================================
 * 10. 100,000 syscall exits without memory growth
 * ==========================================================================*/

TEST_F_TIMEOUT(env, syscall_exits_no_growth, 120)
{
	long avail0, avail1, slab0, slab1;
	long long sb0, sb1, t0, t1;
	__u64 exits0, exits1;
	struct rvm r;
	int ret;

	REQUIRE_RUN();
	RVM_INIT(&r, 1, NULL);
	/* Warm up: caches, task_work, per-cpu lists. */
	ret = run_syscall_loop(&r, 20000);
	ASSERT_EQ(0, ret) TH_LOG("warm-up: code %d (13: the guest got a "
				 "wrong answer)", ret);
	usleep(100000);
	avail0 = lol_meminfo_kb("MemAvailable");
	slab0 = lol_meminfo_kb("Slab");
	sb0 = lol_slabinfo_bytes();
	exits0 = r.vcpu[0].run->nr_exits;
	t0 = now_ms();
	ret = run_syscall_loop(&r, 100000);
	t1 = now_ms();
	ASSERT_EQ(0, ret) TH_LOG("code %d (13: the guest got a wrong answer)",
				 ret);
	exits1 = r.vcpu[0].run->nr_exits;
	usleep(100000);
	avail1 = lol_meminfo_kb("MemAvailable");
	slab1 = lol_meminfo_kb("Slab");
	sb1 = lol_slabinfo_bytes();
	TH_LOG("100001 exits in %lld ms; MemAvailable %+ld kB, Slab %+ld kB, "
	       "slabinfo %+lld kB", t1 - t0, avail1 - avail0, slab1 - slab0,
	       sb0 >= 0 && sb1 >= 0 ? (sb1 - sb0) / 1024 : 0);
	EXPECT_EQ(100001, exits1 - exits0);
	/* A leak of 8 bytes per exit would be ~800 kB. */
	EXPECT_GT(512, slab1 - slab0) TH_LOG("Slab grew");
	if (sb0 >= 0 && sb1 >= 0)
		EXPECT_GT(512 * 1024, sb1 - sb0) TH_LOG("slabinfo grew");
	EXPECT_GT(4096, avail0 - avail1) TH_LOG("MemAvailable shrank");
	rvm_destroy(&r);
}

/* ============================================================================
 * 11. Guest memory is charged to the monitor's memory cgroup
 * ==========================================================================*/

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_LIMIT_MB	16
#define CG_TOUCH_MB	64

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static long long read_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strstr(buf, word);
}

TEST_F_TIMEOUT(env, memcg_charged, 90)
{
	char cg[128], path[192], buf[32];
	bool mounted = false;
	long long initial, events_oom = -1;
	struct ctl *ctl;
	int status;
	pid_t pid;

	REQUIRE_RUN();
	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		mkdir(CG_ROOT, 0755);
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "cannot mount cgroup2: %s",
			     strerror(errno));
		mounted = true;
	}
	if (!file_has_word(CG_ROOT "/cgroup.controllers", "memory")) {
		if (mounted)
			umount(CG_ROOT);
		SKIP(return, "no memory controller in cgroup2");
	}
	write_str(CG_ROOT "/cgroup.subtree_control", "+memory");
	snprintf(cg, sizeof(cg), CG_ROOT "/lol-robust-%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755)) TH_LOG("mkdir %s: %s", cg,
					     strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	snprintf(buf, sizeof(buf), "%dM", CG_LIMIT_MB);
	if (write_str(path, buf)) {
		rmdir(cg);
		SKIP(return, "cannot set memory.max: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
	write_str(path, "0");

	ctl = shared_anon(getpagesize());
	ASSERT_NE(NULL, ctl);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t big = CG_TOUCH_MB << 20, page = getpagesize();
		char cur[192];
		struct lol_run *run;
		struct lol_vm vm;
		struct lol_vcpu v;
		__u32 as;

		child_init(80);
		while (!LOAD_ACQ(&ctl->go))
			usleep(1000);
		snprintf(cur, sizeof(cur), "%s/memory.current", cg);
		CHILD_CHECK(!lol_vm_create(&vm, page + big), 2);
		CHILD_CHECK(!lol_vm_add_vcpu(&vm, 0, &v), 2);
		CHILD_CHECK(!lol_vm_new_as(&vm, &as), 2);
		CHILD_CHECK(!lol_vm_map(&vm, as, G_CODE, 0, page,
					LOL_PROT_READ | LOL_PROT_EXEC), 2);
		CHILD_CHECK(!lol_vm_map(&vm, as, G_BIG, page, big,
					LOL_PROT_READ | LOL_PROT_WRITE), 2);
		memcpy(vm.phys, touch_loop_start, LOL_GUEST_SIZE(touch_loop));
		lol_vcpu_set_entry(&v, as, G_CODE, 0);
		run = v.run;
		lol_arg0(run) = G_BIG;
		lol_arg1(run) = G_BIG + big;
		STORE_REL(&ctl->ready, 1);
		for (;;) {
			long long c;

			CHILD_CHECK(!lol_run(v.fd), 10);
			if (run->exit_reason == LOL_EXIT_FAULT)
				_exit(11);	/* the touch failed: fine */
			CHILD_CHECK(run->exit_reason == LOL_EXIT_SYSCALL, 12);
			if (run->syscall.nr == 6)
				_exit(13);	/* everything fit: wrong */
			CHILD_CHECK(run->syscall.nr == 5, 14);
			ctl->progress = lol_arg0(run) - G_BIG;
			c = read_ll(cur);
			if (c > ctl->peak)
				ctl->peak = c;
		}
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(buf, sizeof(buf), "%d", pid);
	if (write_str(path, buf)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		rmdir(cg);
		SKIP(return, "cannot move a process into %s: %s", cg,
		     strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	initial = read_ll(path);
	STORE_REL(&ctl->go, 1);
	ASSERT_EQ(pid, wait_child(pid, &status, 60000, 0))
		TH_LOG("the monitor hung at %ld MiB", ctl->progress >> 20);

	snprintf(path, sizeof(path), "%s/memory.events", cg);
	{
		char ev[512] = "";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char *p;

		if (fd >= 0) {
			if (read(fd, ev, sizeof(ev) - 1) > 0) {
				p = strstr(ev, "oom_kill ");
				if (p)
					events_oom = atoll(p + 9);
			}
			close(fd);
		}
	}
	TH_LOG("memory.max %d MiB: touched %ld MiB, memory.current %lld -> "
	       "peak %lld kB, oom_kill %lld, child " STATUS_FMT, CG_LIMIT_MB,
	       ctl->progress >> 20, initial / 1024, ctl->peak / 1024,
	       events_oom, STATUS_ARGS(status));
	/* 13: all of it fit: guest memory is not charged to the cgroup. */
	EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
		    (WIFEXITED(status) && WEXITSTATUS(status) == 11))
		TH_LOG("child " STATUS_FMT ", expected an OOM kill or a "
		       "failed touch", STATUS_ARGS(status));
	EXPECT_GT(CG_TOUCH_MB << 20, ctl->progress);
	EXPECT_LE(initial + (4LL << 20), ctl->peak)
		TH_LOG("memory.current did not rise while the guest touched "
		       "memory");
	EXPECT_TRUE(LOAD_ACQ(&ctl->ready));

	EXPECT_TRUE(WAIT_UNTIL(!rmdir(cg) || errno != EBUSY, 5000))
		TH_LOG("rmdir %s: %s", cg, strerror(errno));
	if (mounted)
		umount(CG_ROOT);
	munmap(ctl, getpagesize());
	EXPECT_REFCNT(self->base);
}

/* ============================================================================
 * 12. One vcpu, two threads racing LOL_RUN on it, and kicks
 * ==========================================================================*/

/* Does not fit the ioctl's int return: every entry needs its fixup. */
#define RACE_RET	0x5a5a5a5a00001234ULL
/* More threads than CPUs: some are preempted inside the windows. */
#define RACERS		4

struct racer {
	int fd;
	int cpu;
	const int *stop;
	struct lol_run *run;
	long runs, busy, intr, odd;
	long odd_ret;
	int odd_err;
	__u32 odd_reason;
};

static void *racer_fn(void *p)
{
	struct racer *rc = p;

	pin_to(0, rc->cpu);
	while (!LOAD_ACQ(rc->stop)) {
		long ret = ioctl(rc->fd, LOL_RUN, 0);
		__u32 reason = LOAD_ACQ(&rc->run->exit_reason);

		if (ret == -1 && errno == EBUSY) {
			rc->busy++;
			continue;
		}
		if (ret == -1 && errno == EINTR) {
			rc->intr++;
			continue;
		}
		/* Any thread's exit: a syscall, a kick, or an interruption. */
		if (ret == 0 && (reason == LOL_EXIT_SYSCALL ||
				 reason == LOL_EXIT_KICK ||
				 reason == LOL_EXIT_INTR)) {
			rc->runs++;
			continue;
		}
		rc->odd++;
		rc->odd_ret = ret;
		rc->odd_err = ret == -1 ? errno : 0;
		rc->odd_reason = reason;
	}
	return NULL;
}

static void *kicker_fn(void *p)
{
	struct racer *rc = p;

	while (!LOAD_ACQ(rc->stop))
		ioctl(rc->fd, LOL_KICK, 0);
	return NULL;
}

/*
 * A thread may leave guest mode on its way out of LOL_RUN (a kick that
 * came during the entry), before the task_work that writes the guest's
 * 64-bit return register has run; another thread may then run the same
 * vcpu at once. The fuzzer found that both queued the vcpu's one
 * callback on their own task_work lists: a kick's work fell off one
 * list, and its vcpu and module references leaked. Every entry here
 * needs that fixup (RACE_RET), and a kicker keeps the exits coming: the
 * guest must always see its value, LOL_RUN must never return it, and
 * nothing may stay referenced or stuck (a lost kick work leaves kicks
 * disabled for the vcpu).
 */
TEST_F_TIMEOUT(env, shared_vcpu_run_race, 60)
{
	struct racer rc[RACERS + 1] = { 0 };
	pthread_t t[RACERS + 1];
	struct runner rn;
	struct lol_run *run;
	int cpus[2], ncpus, stop = 0, i;
	volatile __u64 *bad, *spin;
	long long end;
	struct rvm r;

	REQUIRE_RUN();
	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, lol_stub_ret_check));
	lol_stub_ret_check_set(run, RACE_RET, G_DATA);
	bad = pu64(&r, P_DATA, 0);
	*bad = 0;

	ncpus = cpu_list(cpus, 2);
	for (i = 0; i <= RACERS; i++) {
		rc[i].fd = r.vcpu[0].fd;
		rc[i].run = run;
		rc[i].stop = &stop;
		rc[i].cpu = ncpus > 0 ? cpus[i % ncpus] : -1;
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i < RACERS ? racer_fn : kicker_fn,
					    &rc[i]));
	}
	end = now_ms() + 3000;
	while (now_ms() < end)
		usleep(10000);
	STORE_REL(&stop, 1);
	/* The guest exits on every syscall: the racers see stop soon. */
	for (i = 0; i <= RACERS; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		ASSERT_EQ(0, pthread_timedjoin_np(t[i], NULL, &ts))
			TH_LOG("thread %d never came back", i);
	}
	for (i = 0; i < RACERS; i++) {
		TH_LOG("racer %d: %ld exits, %ld EBUSY, %ld EINTR", i,
		       rc[i].runs, rc[i].busy, rc[i].intr);
		EXPECT_LT(0, rc[i].runs) TH_LOG("racer %d never ran", i);
		EXPECT_EQ(0, rc[i].odd)
			TH_LOG("racer %d: LOL_RUN gave %ld (%s), exit %u", i,
			       rc[i].odd_ret, lol_errno_name(rc[i].odd_err),
			       rc[i].odd_reason);
	}
	EXPECT_EQ(0, *bad)
		TH_LOG("the guest saw another return value %llu times",
		       (unsigned long long)*bad);

	/* Kicks still work: one brings a spinning guest out. */
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	spin = pu64(&r, P_DATA2, 0);
	*spin = 0;
	lol_arg0(run) = G_DATA2;
	ASSERT_EQ(0, runner_start(&rn, &r, 0, -1));
	EXPECT_TRUE(WAIT_UNTIL(*spin > 0, 10000)) TH_LOG("the guest never ran");
	EXPECT_TRUE(runner_kick_out(&rn, 5000))
		TH_LOG("LOL_KICK no longer brings the vcpu out");
	EXPECT_EQ(0, rn.ret);
	EXPECT_EQ(LOL_EXIT_KICK, rn.reason);

	rvm_destroy(&r);
	EXPECT_REFCNT(self->base);
	EXPECT_SHMEM(self->shmem);
}

TEST_HARNESS_MAIN
