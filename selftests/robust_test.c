// SPDX-License-Identifier: GPL-2.0
/*
 * robust_test: robustness of the run loop, part 1 (Documentation/
 * design.md, "Robustness invariants"): a vcpu thread in guest mode that is
 * SIGKILLed, or whose sibling calls exit_group, execve or fork; the AS
 * destroyed while a vcpu runs in it; two vcpus in one AS racing with
 * UNMAP and PROTECT (stale TLB detection); ptrace and job control of a
 * monitor in guest mode; a guest spinning forever (preemptible,
 * kickable, interrupted by a signal with a handler); a coredump and a
 * pending blocked signal while a vcpu is in guest mode. Part 2 is
 * robust2_test.c; the helpers are in robust_common.h.
 *
 * proc_self_while_leader_in_guest and blocked.* are regression tests for
 * two bugs they found: /proc/self/exe of a leader in guest mode, and a
 * pending blocked synchronous signal that made LOL_RUN spin.
 *
 * Everything needs LOL_CAP_RUN and is SKIPped without it. Processes that
 * are meant to die are forked children (with alarm() and PDEATHSIG), and
 * every wait is bounded, so that a bug fails a test instead of hanging
 * the VM. Leaks are judged by the module's reference count
 * (/sys/module/lol/refcnt: every lol fd and run page mapping pins the
 * module), by Shmem in /proc/meminfo (a leaked AS pins its phys memory)
 * and, at the end of the suite, by rmmod and the kernel log.
 */
#include "robust_common.h"

#define EXIT_ARG	"--lol-robust-exit"

/* ---- exec helper ---- */

/*
 * execve(/proc/self/exe, { argv0, EXIT_ARG, "N" }) exits with N at once,
 * before the harness sees anything (glibc passes argc/argv to ELF
 * constructors, static binaries included).
 */
__attribute__((constructor))
static void robust_exec_exit(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], EXIT_ARG))
		_exit(atoi(argv[2]));
}

/*
 * A forked monitor's guest phys memory is its own (with the ballast, so
 * that a leaked AS shows in Shmem), so the parent learns that the guest
 * runs from this thread, which copies the guest's counter to ctl.
 */
static void *relay_fn(void *p)
{
	struct ctl *ctl = p;
	volatile __u64 *counter = (void *)ctl->relay_src;

	for (;;) {
		if (*counter)
			STORE_REL(&ctl->ready, 1);
		usleep(500);
	}
	return NULL;
}

static void start_relay(struct ctl *ctl, struct rvm *r)
{
	pthread_t t;

	ctl->relay_src = (unsigned long)pu64(r, P_DATA, 0);
	CHILD_CHECK(!pthread_create(&t, NULL, relay_fn, ctl), 7);
}

/* ============================================================================
 * 1. SIGKILL of a vcpu thread in guest mode
 * ==========================================================================*/

FIXTURE(env) {
	struct sphys sp;
	struct ctl *ctl;
	long base, shmem;
};

FIXTURE_SETUP(env)
{
	self->base = lol_refcnt();
	self->shmem = lol_meminfo_kb("Shmem");
	self->sp.memfd = -1;
	ASSERT_EQ(0, sphys_create(&self->sp, NR_PHYS * getpagesize()));
	self->ctl = shared_anon(getpagesize());
	ASSERT_NE(NULL, self->ctl);
}

FIXTURE_TEARDOWN(env)
{
	sphys_destroy(&self->sp);
	if (self->ctl)
		munmap(self->ctl, getpagesize());
}

/* Killed at different points of the spin; nothing of it may remain. */
TEST_F(env, sigkill_in_guest)
{
	struct ctl *ctl = self->ctl;
	int i, status;

	REQUIRE_RUN();
	for (i = 0; i < 4; i++) {
		pid_t pid;

		memset(ctl, 0, sizeof(*ctl));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct rvm r;

			child_init(30);
			CHILD_CHECK(!rvm_init_ballast(&r, 1, NULL, true), 2);
			rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
			lol_arg0(r.vcpu[0].run) = G_DATA;
			start_relay(ctl, &r);
			lol_run(r.vcpu[0].fd);
			_exit(3);	/* the guest never exits by itself */
		}
		/* The guest writes the counter: LOL_RUN is in guest mode. */
		EXPECT_TRUE(WAIT_UNTIL(LOAD_ACQ(&ctl->ready), 10000))
			TH_LOG("the guest never ran");
		usleep(i * 20000);	/* different points of the spin */
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, wait_child(pid, &status, 10000, 0))
			TH_LOG("SIGKILL did not end a vcpu in guest mode");
		EXPECT_KILLED(status, SIGKILL);
	}
	EXPECT_REFCNT(self->base);
	EXPECT_SHMEM(self->shmem);
	EXPECT_SANITY();
}

/* ============================================================================
 * 2. exit_group, execve, fork from a sibling of a vcpu thread in guest mode
 * ==========================================================================*/

FIXTURE(sibling) {
	struct ctl *ctl;
	long base, shmem;
	char exe[256];
};

/* Which thread runs the vcpu; the other one does the deed. */
FIXTURE_VARIANT(sibling) {
	bool vcpu_on_main;
};

FIXTURE_VARIANT_ADD(sibling, vcpu_on_main) { .vcpu_on_main = true };
FIXTURE_VARIANT_ADD(sibling, vcpu_on_thread) { .vcpu_on_main = false };

FIXTURE_SETUP(sibling)
{
	self->base = lol_refcnt();
	self->shmem = lol_meminfo_kb("Shmem");
	self->ctl = shared_anon(getpagesize());
	ASSERT_NE(NULL, self->ctl);
	ASSERT_LT(0, readlink("/proc/self/exe", self->exe,
			      sizeof(self->exe) - 1));
}

FIXTURE_TEARDOWN(sibling)
{
	if (self->ctl)
		munmap(self->ctl, getpagesize());
}

enum deed {
	DEED_EXIT_GROUP, DEED_EXECVE_PROC_SELF, DEED_EXECVE_PATH, DEED_COREDUMP
};

struct deed_ctx {
	struct ctl *ctl;
	enum deed deed;
	const char *exe;
};

static void do_deed(struct deed_ctx *d)
{
	char exe_arg[] = EXIT_ARG, code[] = "77", name[] = "robust_test";
	char *argv[] = { name, exe_arg, code, NULL };
	const char *path = d->deed == DEED_EXECVE_PATH ? d->exe :
			   "/proc/self/exe";
	extern char **environ;

	/* Wait until the vcpu is in guest mode (bounded by alarm()). */
	while (!LOAD_ACQ(&d->ctl->ready))
		usleep(500);
	usleep(10000);
	if (d->deed == DEED_EXIT_GROUP)
		syscall(SYS_exit_group, 42);
	if (d->deed == DEED_COREDUMP)
		abort();
	execve(path, argv, environ);
	fprintf(stderr, "# child %d: execve %s: %s\n", getpid(), path,
		strerror(errno));
	_exit(4);
}

static void *deed_thread(void *p)
{
	do_deed(p);
	return NULL;
}

static void *vcpu_thread(void *p)
{
	struct rvm *r = p;

	lol_run(r->vcpu[0].fd);
	_exit(3);	/* never: the guest spins */
}

/* Forks a monitor whose two threads are a spinning vcpu and the deed. */
static pid_t sibling_child(struct ctl *ctl, const char *exe,
			   bool vcpu_on_main, enum deed deed)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct deed_ctx d = { .ctl = ctl, .deed = deed, .exe = exe };
		struct rvm r;
		pthread_t t;

		child_init(30);
		if (deed == DEED_COREDUMP) {
			struct rlimit core = { 64 << 20, 64 << 20 };

			CHILD_CHECK(!setrlimit(RLIMIT_CORE, &core), 8);
			CHILD_CHECK(!chdir("/tmp"), 8);
		}
		CHILD_CHECK(!rvm_init_ballast(&r, 1, NULL, true), 2);
		rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
		lol_arg0(r.vcpu[0].run) = G_DATA;
		start_relay(ctl, &r);
		if (vcpu_on_main) {
			CHILD_CHECK(!pthread_create(&t, NULL, deed_thread, &d),
				    5);
			vcpu_thread(&r);
		} else {
			CHILD_CHECK(!pthread_create(&t, NULL, vcpu_thread, &r),
				    5);
			do_deed(&d);
		}
		_exit(6);
	}
	return pid;
}

/* After a sibling deed: the guest ran, and lol holds nothing more. */
#define EXPECT_SIBLING_CLEAN() do {					\
	EXPECT_TRUE(self->ctl->ready) TH_LOG("the guest never ran");	\
	EXPECT_REFCNT(self->base);					\
	EXPECT_SHMEM(self->shmem);					\
	EXPECT_SANITY();						\
} while (0)

static void sibling_deed(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sibling) *self, bool vcpu_on_main,
			 enum deed deed, int want)
{
	int status;
	pid_t pid;

	pid = sibling_child(self->ctl, self->exe, vcpu_on_main, deed);
	ASSERT_LE(0, pid);
	ASSERT_EQ(pid, wait_child(pid, &status, 20000, 0))
		TH_LOG("the process did not end / exec with a vcpu in guest "
		       "mode");
	/* 4: execve failed. */
	if (want >= 0) {
		EXPECT_EXITED(status, want);
	} else {
		EXPECT_KILLED(status, -want);
	}
	EXPECT_SIBLING_CLEAN();
}

TEST_F(sibling, exit_group)
{
	REQUIRE_RUN();
	sibling_deed(_metadata, self, variant->vcpu_on_main, DEED_EXIT_GROUP,
		     42);
}

/* execve of the test binary by its path: the new image exits 77. */
TEST_F(sibling, execve)
{
	REQUIRE_RUN();
	sibling_deed(_metadata, self, variant->vcpu_on_main, DEED_EXECVE_PATH,
		     77);
}

/*
 * A coredump (abort() in a sibling): the vcpu thread leaves guest mode
 * before the dump, which is of the monitor's AS; the process dies by
 * SIGABRT with a core where core_pattern is a plain file name.
 */
TEST_F(sibling, coredump)
{
	char pattern[128] = "", core[64];
	int fd, status;
	pid_t pid;

	REQUIRE_RUN();
	fd = open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, pattern, sizeof(pattern) - 1) < 0)
			pattern[0] = 0;
		close(fd);
	}
	pid = sibling_child(self->ctl, self->exe, variant->vcpu_on_main,
			    DEED_COREDUMP);
	ASSERT_LE(0, pid);
	ASSERT_EQ(pid, wait_child(pid, &status, 30000, 0))
		TH_LOG("the coredump did not complete with a vcpu in guest "
		       "mode");
	EXPECT_KILLED(status, SIGABRT);
	if (!strcmp(pattern, "core\n")) {
		EXPECT_TRUE(WCOREDUMP(status)) TH_LOG("no core was dumped");
		snprintf(core, sizeof(core), "/tmp/core");
		unlink(core);
		snprintf(core, sizeof(core), "/tmp/core.%d", pid);
		unlink(core);
	}
	EXPECT_SIBLING_CLEAN();
}

/*
 * The same through /proc/self/exe. Fails while the thread group leader is
 * in guest mode: see proc_self_while_leader_in_guest.
 */
TEST_F(sibling, execve_proc_self_exe)
{
	REQUIRE_RUN();
	sibling_deed(_metadata, self, variant->vcpu_on_main,
		     DEED_EXECVE_PROC_SELF, 77);
}

/* What a sibling thread reads in /proc/self while the leader is a guest. */
struct proc_probe {
	volatile __u64 *counter;
	int fd;			/* vcpu to kick when done */
	char exe[256];
	char cmdline[256];
	int exe_err;
	bool maps_has_exe;
	int done;
};

static void read_proc_self(char *exe, size_t exe_len, char *cmdline,
			   size_t cmd_len, int *exe_err, bool *maps_has_exe)
{
	char buf[4096];
	ssize_t n;
	int fd;

	memset(exe, 0, exe_len);
	memset(cmdline, 0, cmd_len);
	*exe_err = 0;
	if (readlink("/proc/self/exe", exe, exe_len - 1) < 0)
		*exe_err = errno;
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmdline, cmd_len - 1);
		(void)n;
		close(fd);
	}
	*maps_has_exe = false;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			*maps_has_exe = strstr(buf, "robust_test") != NULL;
		}
		close(fd);
	}
}

static void *proc_probe_fn(void *p)
{
	struct proc_probe *pp = p;

	if (WAIT_UNTIL(*pp->counter > 0, 10000)) {
		usleep(10000);
		read_proc_self(pp->exe, sizeof(pp->exe), pp->cmdline,
			       sizeof(pp->cmdline), &pp->exe_err,
			       &pp->maps_has_exe);
	}
	STORE_REL(&pp->done, 1);
	lol_kick(pp->fd);
	return NULL;
}

/*
 * /proc/self read by a sibling thread while the thread-group leader runs a
 * guest: the process-wide views follow the leader's mm, which is the guest
 * AS then (documented in design.md, "Robustness invariants"). The exe link
 * must still name the monitor's executable (the guest AS carries it), which
 * is what execve("/proc/self/exe") from a sibling needs; maps and cmdline
 * describe the guest AS, which holds nothing of the monitor.
 */
TEST(proc_self_while_leader_in_guest)
{
	char exe0[256], cmd0[256];
	struct proc_probe pp = { 0 };
	bool maps0;
	pthread_t t;
	struct rvm r;
	int err0;

	REQUIRE_RUN();
	ASSERT_EQ(getpid(), gettid()) TH_LOG("not the leader");
	read_proc_self(exe0, sizeof(exe0), cmd0, sizeof(cmd0), &err0, &maps0);
	ASSERT_EQ(0, err0);
	ASSERT_TRUE(maps0);
	RVM_INIT(&r, 1, NULL);
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	lol_arg0(r.vcpu[0].run) = G_DATA;
	pp.counter = pu64(&r, P_DATA, 0);
	pp.fd = r.vcpu[0].fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, proc_probe_fn, &pp));
	/* The leader runs the guest until the probe kicks it. */
	while (!LOAD_ACQ(&pp.done))
		ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
	pthread_join(t, NULL);
	EXPECT_EQ(0, pp.exe_err)
		TH_LOG("readlink /proc/self/exe: %s", strerror(pp.exe_err));
	EXPECT_STREQ(exe0, pp.exe);
	/* The guest AS: no monitor image in its maps. */
	EXPECT_FALSE(pp.maps_has_exe)
		TH_LOG("/proc/self/maps shows the monitor's image in guest mode");
	rvm_destroy(&r);
}

/*
 * fork from a sibling: the child exits at once, the vcpu is untouched and
 * keeps running; a kick brings it out with its state intact.
 */
TEST(fork_from_sibling)
{
	volatile __u64 *counter;
	struct runner rn;
	struct rvm r;
	__u64 code, c, c2;
	struct lol_run *run;
	int i, status;

	REQUIRE_RUN();
	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	code = RVM_LOAD(&r, 0, count_loop);
	counter = pu64(&r, P_DATA, 0);
	rvm_entry(&r, 0, code);
	lol_arg0(run) = G_DATA;
	run->regs.rbx = PAT1;
	run->regs.rbp = PAT2;
	run->regs.r13 = PAT3;
	run->regs.r14 = ~PAT1;
	run->regs.r15 = ~PAT2;
	run->regs.fs_base = G_DATA2;

	ASSERT_EQ(0, runner_start(&rn, &r, 0, -1));
	ASSERT_TRUE(WAIT_UNTIL(*counter > 0, 10000)) {
		runner_kick_out(&rn, 2000);
		TH_LOG("the guest never ran");
	}
	for (i = 0; i < 20; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* The guest is not the child's. */
			_exit(lol_kick(r.vcpu[0].fd) == -1 && errno == EIO ?
			      0 : 1);
		}
		ASSERT_EQ(pid, wait_child(pid, &status, 10000, 0));
		EXPECT_EXITED(status, 0);
	}
	/* Still spinning in the guest after all that. */
	c = *counter;
	EXPECT_TRUE(WAIT_UNTIL(*counter > c, 5000))
		TH_LOG("the guest stopped running after fork");
	EXPECT_FALSE(LOAD_ACQ(&rn.done)) TH_LOG("LOL_RUN returned: %s",
						 lol_exit_name(rn.reason));

	ASSERT_TRUE(runner_kick_out(&rn, 10000))
		TH_LOG("LOL_KICK did not bring the vcpu out");
	EXPECT_EQ(0, rn.ret) TH_LOG("LOL_RUN: %s", lol_errno_name(rn.err));
	EXPECT_EQ(LOL_EXIT_KICK, rn.reason);
	EXPECT_TRUE(IN_STUB(lol_pc(run), code, count_loop))
		TH_LOG("rip 0x%llx", (unsigned long long)lol_pc(run));
	c = *counter;
	EXPECT_TRUE(COUNT_CONSISTENT(c, run->regs.r12))
		TH_LOG("counter %llu, r12 %llu", (unsigned long long)c,
		       (unsigned long long)run->regs.r12);
	EXPECT_EQ(G_DATA, lol_arg0(run));
	EXPECT_EQ(PAT1, run->regs.rbx);
	EXPECT_EQ(PAT2, run->regs.rbp);
	EXPECT_EQ(PAT3, run->regs.r13);
	EXPECT_EQ(~PAT1, run->regs.r14);
	EXPECT_EQ(~PAT2, run->regs.r15);
	EXPECT_EQ(G_DATA2, run->regs.fs_base);
	EXPECT_EQ(G_STACK + r.page, lol_sp(run));

	/* It continues from there. */
	ASSERT_EQ(0, runner_start(&rn, &r, 0, -1));
	c2 = *counter;
	EXPECT_TRUE(WAIT_UNTIL(*counter > c2, 5000));
	ASSERT_TRUE(runner_kick_out(&rn, 10000));
	EXPECT_EQ(LOL_EXIT_KICK, rn.reason);
	EXPECT_LT(c, run->regs.r12);
	EXPECT_TRUE(COUNT_CONSISTENT(*counter, run->regs.r12));
	rvm_destroy(&r);
}

/* ============================================================================
 * 3. LOL_DESTROY_AS while a vcpu runs in the AS
 * ==========================================================================*/

TEST(destroy_as_while_running)
{
	long shmem = lol_meminfo_kb("Shmem");
	volatile __u64 *counter;
	struct runner rn;
	struct rvm r;
	__u32 as2;
	__u64 code, c;

	REQUIRE_RUN();
	ASSERT_EQ(0, rvm_init_ballast(&r, 1, NULL, true))
		TH_LOG("guest setup: %s: %s", r.err, strerror(errno));
	code = RVM_LOAD(&r, 0, count_loop);
	counter = pu64(&r, P_DATA, 0);
	rvm_entry(&r, 0, code);
	lol_arg0(r.vcpu[0].run) = G_DATA;
	ASSERT_EQ(0, runner_start(&rn, &r, 0, -1));
	ASSERT_TRUE(WAIT_UNTIL(*counter > 0, 10000)) {
		runner_kick_out(&rn, 2000);
		TH_LOG("the guest never ran");
	}

	EXPECT_EQ(0, lol_destroy_as(r.vm.guest, r.as))
		TH_LOG("LOL_DESTROY_AS: %s", strerror(errno));
	EXPECT_ERRNO(ENOENT, lol_destroy_as(r.vm.guest, r.as));
	EXPECT_ERRNO(ENOENT, lol_as_unmap(r.vm.guest, r.as, G_DATA, r.page));

	/* The running vcpu keeps its AS: still counting, no exit. */
	c = *counter;
	EXPECT_TRUE(WAIT_UNTIL(*counter > c + 1000, 5000))
		TH_LOG("the guest stopped after its AS was destroyed");
	usleep(20000);
	EXPECT_FALSE(LOAD_ACQ(&rn.done)) TH_LOG("LOL_RUN returned: %s",
						 lol_exit_name(rn.reason));

	ASSERT_TRUE(runner_kick_out(&rn, 10000));
	EXPECT_EQ(0, rn.ret) TH_LOG("LOL_RUN: %s", lol_errno_name(rn.err));
	EXPECT_EQ(LOL_EXIT_KICK, rn.reason);
	EXPECT_TRUE(IN_STUB(lol_pc(r.vcpu[0].run), code, count_loop));
	EXPECT_TRUE(COUNT_CONSISTENT(*counter, r.vcpu[0].run->regs.r12));

	/* Gone for good now. */
	EXPECT_ERRNO(ENOENT, lol_run(r.vcpu[0].fd));
	EXPECT_ERRNO(ENOENT, lol_run(r.vcpu[0].fd));

	/* A new AS works, on the same vcpu. */
	ASSERT_EQ(0, lol_vm_new_as(&r.vm, &as2));
	ASSERT_EQ(0, rvm_map_std(&r, as2));
	r.as = as2;
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, sys42));
	EXPECT_EQ(0, lol_run(r.vcpu[0].fd));
	EXPECT_EQ(LOL_EXIT_SYSCALL, r.vcpu[0].run->exit_reason);
	EXPECT_EQ(42, r.vcpu[0].run->syscall.nr);
	rvm_destroy(&r);
	/* The destroyed AS went when its last vcpu left it. */
	EXPECT_SHMEM(shmem);
}

/* ============================================================================
 * 4. Two vcpus in one AS, unmap / protect racing with their accesses
 * ==========================================================================*/

#define RACE_ROUNDS	300
#define ROUNDVAL(n)	(0x1000ULL + (n))
#define POISON		0xdead0000dead0000ULL

struct race {
	struct rvm *r;
	int round;		/* published round, futex */
	int stop;
	bool write;		/* protect race (writers) or unmap race */
};

struct racer {
	struct race *race;
	int idx, cpu;
	pthread_t thr;
	int fault_round;	/* last round this vcpu faulted in */
	int stale_round;	/* round of a stale read, -1: none */
	__u64 stale_val;
	int error;		/* line of an unexpected event */
	__u32 reason, access, flags;
	__u64 addr;
	int ret, err;
	long faults;
};

static void *racer_fn(void *p)
{
	struct racer *rc = p;
	struct race *race = rc->race;
	struct lol_vcpu *v = &race->r->vcpu[rc->idx];
	struct lol_run *run = v->run;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int round;

	pin_to(0, rc->cpu);
	while (!LOAD_ACQ(&race->stop)) {
		rc->ret = lol_run(v->fd);
		rc->err = errno;
		if (rc->ret) {
			rc->error = __LINE__;
			break;
		}
		rc->reason = run->exit_reason;
		if (run->exit_reason == LOL_EXIT_KICK)
			continue;
		if (run->exit_reason == LOL_EXIT_SYSCALL &&
		    run->syscall.nr == 0xbad) {
			rc->stale_round = LOAD_ACQ(&race->round);
			rc->stale_val = *pu64(race->r,
					      rc->idx ? P_DATA2 : P_DATA, 16);
			rc->error = __LINE__;
			break;
		}
		if (run->exit_reason != LOL_EXIT_FAULT) {
			rc->error = __LINE__;
			break;
		}
		rc->addr = run->fault.addr;
		rc->access = run->fault.access;
		rc->flags = run->fault.flags;
		if (run->fault.addr != G_SHARED ||
		    run->fault.access != (race->write ? LOL_FAULT_WRITE :
						       LOL_FAULT_READ) ||
		    !(run->fault.flags & LOL_FAULT_PRESENT) != !race->write) {
			rc->error = __LINE__;
			break;
		}
		rc->faults++;
		round = LOAD_ACQ(&race->round);
		STORE_REL(&rc->fault_round, round);
		/* Wait for the page to come back (the next round). */
		while (LOAD_ACQ(&race->round) == round &&
		       !LOAD_ACQ(&race->stop))
			futex(&race->round, FUTEX_WAIT, round, &ts);
	}
	return NULL;
}

static void race_publish(struct race *race, int round)
{
	STORE_REL(&race->round, round);
	futex(&race->round, FUTEX_WAKE, INT_MAX, NULL);
}

FIXTURE(race) {
	struct rvm r;
	struct race race;
	struct racer rc[2];
	int nr_started;
	int cpus[2], ncpu;
};

FIXTURE_SETUP(race)
{
	self->r.vm.sys = self->r.vm.guest = -1;
	self->r.vcpu[0].fd = self->r.vcpu[1].fd = -1;
	self->ncpu = cpu_list(self->cpus, 2);
}

FIXTURE_TEARDOWN(race)
{
	int i;

	STORE_REL(&self->race.stop, 1);
	futex(&self->race.round, FUTEX_WAKE, INT_MAX, NULL);
	for (i = 0; i < self->nr_started; i++) {
		long long end = now_ms() + 5000;
		struct timespec ts;

		/* Kick until the thread is gone. */
		while (pthread_tryjoin_np(self->rc[i].thr, NULL) &&
		       now_ms() < end) {
			lol_kick(self->r.vcpu[i].fd);
			usleep(2000);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_timedjoin_np(self->rc[i].thr, NULL, &ts);
	}
	if (self->r.page)
		rvm_destroy(&self->r);
}

static void race_start(struct __test_metadata *_metadata,
		       FIXTURE_DATA(race) *self, bool write)
{
	struct rvm *r = &self->r;
	__u64 code;
	int i;

	RVM_INIT(r, 2, NULL);
	self->race.r = r;
	self->race.write = write;
	code = write ? RVM_LOAD(r, 0, race_write) : RVM_LOAD(r, 0, race_read);
	*pu64(r, P_SHARED, 0) = write ? 0 : ROUNDVAL(0);
	for (i = 0; i < 2; i++) {
		struct lol_regs *regs = &r->vcpu[i].run->regs;

		rvm_entry(r, i, code);
		regs->rdi = G_SHARED;
		regs->rsi = i ? G_DATA2 : G_DATA;
		regs->rdx = POISON;
		self->rc[i].race = &self->race;
		self->rc[i].idx = i;
		self->rc[i].cpu = self->ncpu >= 2 ? self->cpus[i] : -1;
		self->rc[i].fault_round = -1;
		self->rc[i].stale_round = -1;
		ASSERT_EQ(0, pthread_create(&self->rc[i].thr, NULL, racer_fn,
					    &self->rc[i]));
		self->nr_started++;
	}
}

static void racer_report(struct __test_metadata *_metadata,
			 struct racer *rc)
{
	EXPECT_EQ(-1, rc->stale_round)
		TH_LOG("vcpu %d read 0x%llx in round %d: a value written "
		       "after LOL_AS_OPS UNMAP returned (stale TLB)", rc->idx,
		       (unsigned long long)rc->stale_val, rc->stale_round);
	EXPECT_EQ(0, rc->error)
		TH_LOG("vcpu %d: unexpected event at line %d: LOL_RUN %d (%s), "
		       "%s, fault addr 0x%llx access %u flags %u", rc->idx,
		       rc->error, rc->ret, lol_errno_name(rc->err),
		       lol_exit_name(rc->reason),
		       (unsigned long long)rc->addr, rc->access, rc->flags);
}

/*
 * After LOL_AS_OPS UNMAP returns, no vcpu can read the page: each one
 * exits with a not-present read fault at it, and none ever sees the
 * poison the monitor writes to the phys page right after the unmap.
 */
TEST_F_TIMEOUT(race, unmap, 120)
{
	struct rvm *r = &self->r;
	volatile __u64 *shared, *last0, *last1;
	long long t0, worst = 0;
	int round, i;

	REQUIRE_RUN();
	race_start(_metadata, self, false);
	shared = pu64(r, P_SHARED, 0);
	last0 = pu64(r, P_DATA, 8);
	last1 = pu64(r, P_DATA2, 8);

	for (round = 0; round < RACE_ROUNDS; round++) {
		/* Both vcpus read this round's value through the TLB. */
		ASSERT_TRUE(WAIT_UNTIL(*last0 == ROUNDVAL(round) &&
				       *last1 == ROUNDVAL(round), 10000))
			TH_LOG("round %d: the vcpus do not read the page "
			       "(%llx %llx)", round,
			       (unsigned long long)*last0,
			       (unsigned long long)*last1);
		ASSERT_EQ(0, lol_as_unmap(r->vm.guest, r->as, G_SHARED,
					  r->page));
		*shared = POISON;
		t0 = now_ms();
		ASSERT_TRUE(WAIT_UNTIL(LOAD_ACQ(&self->rc[0].fault_round) ==
				       round &&
				       LOAD_ACQ(&self->rc[1].fault_round) ==
				       round, 10000)) {
			for (i = 0; i < 2; i++)
				racer_report(_metadata, &self->rc[i]);
			TH_LOG("round %d: a vcpu did not fault within 10 s "
			       "of the unmap (fault rounds %d %d)", round,
			       self->rc[0].fault_round,
			       self->rc[1].fault_round);
		}
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
		for (i = 0; i < 2; i++)
			ASSERT_EQ(-1, self->rc[i].stale_round)
				racer_report(_metadata, &self->rc[i]);
		*shared = ROUNDVAL(round + 1);
		ASSERT_EQ(0, lol_vm_map(&r->vm, r->as, G_SHARED,
					P_SHARED * r->page, r->page,
					LOL_PROT_READ | LOL_PROT_WRITE));
		race_publish(&self->race, round + 1);
	}
	for (i = 0; i < 2; i++) {
		racer_report(_metadata, &self->rc[i]);
		EXPECT_EQ(RACE_ROUNDS, self->rc[i].faults);
	}
	TH_LOG("%d rounds on %d CPUs, slowest fault %lld ms", RACE_ROUNDS,
	       self->ncpu, worst);
}

/*
 * The same with PROTECT read-only racing with writers: after it returns,
 * the page's content no longer changes and both vcpus exit with a write
 * fault on a present page.
 */
TEST_F_TIMEOUT(race, protect, 120)
{
	struct rvm *r = &self->r;
	volatile __u64 *shared, *own0, *own1;
	__u64 v1, v2, c0, c1;
	int round, i;

	REQUIRE_RUN();
	race_start(_metadata, self, true);
	shared = pu64(r, P_SHARED, 0);
	own0 = pu64(r, P_DATA, 0);
	own1 = pu64(r, P_DATA2, 0);

	for (round = 0; round < RACE_ROUNDS; round++) {
		c0 = *own0;
		c1 = *own1;
		/* Both vcpus write through a writable TLB entry. */
		ASSERT_TRUE(WAIT_UNTIL(*own0 > c0 + 1 && *own1 > c1 + 1,
				       10000))
			TH_LOG("round %d: the vcpus do not write", round);
		ASSERT_EQ(0, lol_as_protect(r->vm.guest, r->as, G_SHARED,
					    r->page, LOL_PROT_READ));
		v1 = *shared;
		ASSERT_TRUE(WAIT_UNTIL(LOAD_ACQ(&self->rc[0].fault_round) ==
				       round &&
				       LOAD_ACQ(&self->rc[1].fault_round) ==
				       round, 10000)) {
			for (i = 0; i < 2; i++)
				racer_report(_metadata, &self->rc[i]);
			TH_LOG("round %d: a vcpu did not fault within 10 s "
			       "of PROTECT", round);
		}
		v2 = *shared;
		ASSERT_EQ(v1, v2)
			TH_LOG("round %d: %llu writes landed after LOL_AS_OPS "
			       "PROTECT returned (stale writable TLB)", round,
			       (unsigned long long)(v2 - v1));
		ASSERT_EQ(0, lol_as_protect(r->vm.guest, r->as, G_SHARED,
					    r->page,
					    LOL_PROT_READ | LOL_PROT_WRITE));
		race_publish(&self->race, round + 1);
	}
	for (i = 0; i < 2; i++) {
		racer_report(_metadata, &self->rc[i]);
		EXPECT_EQ(RACE_ROUNDS, self->rc[i].faults);
	}
}

/* ============================================================================
 * 5. ptrace and job control of a monitor in guest mode
 * ==========================================================================*/

/*
 * A tracer steps the monitor with PTRACE_SYSCALL through 100 guest
 * syscall exits: the guest's own syscalls make no stops, LOL_RUN's
 * syscall-exit is seen twice (guest registers and AS, then the monitor's),
 * GETREGS and PEEKDATA work at every stop, the guest's results stay
 * right, and detaching at a stop in guest mode lets it finish.
 */
TEST_F_TIMEOUT(env, ptrace_syscall_stepping, 90)
{
	struct ctl *ctl;
	long entries = 0, guest_exits = 0, monitor_exits = 0;
	long guest_entries = 0, peek_bad = 0, regs_bad = 0, stops = 0;
	bool detached = false;
	long long end;
	int status;
	pid_t pid;

	REQUIRE_RUN();
	ctl = shared_anon(getpagesize());
	ASSERT_NE(NULL, ctl);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rvm r;

		child_init(80);
		CHILD_CHECK(!rvm_init(&r, 1, &self->sp), 2);
		STORE_REL(&ctl->ready, 1);
		while (!LOAD_ACQ(&ctl->go))
			usleep(1000);
		_exit(run_syscall_loop(&r, 100));
	}
	ASSERT_TRUE(WAIT_UNTIL(LOAD_ACQ(&ctl->ready), 20000));
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0,
			    PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
		TH_LOG("PTRACE_SEIZE: %s", strerror(errno));
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, __WALL));
	ASSERT_TRUE(WIFSTOPPED(status));
	STORE_REL(&ctl->go, 1);
	ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, 0, 0));

	end = now_ms() + 60000;
	while (now_ms() < end) {
		struct __ptrace_syscall_info info;
		struct user_regs_struct regs;
		bool in_guest;
		int sig;

		ASSERT_EQ(pid, wait_child(pid, &status, 30000, __WALL));
		if (!WIFSTOPPED(status))
			break;
		stops++;
		sig = WSTOPSIG(status);
		if (sig != (SIGTRAP | 0x80)) {
			/* Interrupt / group stop: go on; a signal: deliver. */
			if (status >> 16 == PTRACE_EVENT_STOP || sig == SIGTRAP)
				sig = 0;
			ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, 0, sig));
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
			regs_bad++;
			ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, 0, 0));
			continue;
		}
		memset(&info, 0, sizeof(info));
		ASSERT_LT(0, ptrace(PTRACE_GET_SYSCALL_INFO, pid,
				    sizeof(info), &info));
		in_guest = regs.rip >= G_CODE && regs.rip < G_CODE + 4096;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			if (in_guest)
				guest_entries++;
			else if (regs.orig_rax == SYS_ioctl &&
				 regs.rsi == LOL_RUN)
				entries++;
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && in_guest) {
			__u64 want, got;

			guest_exits++;
			/* The thread is the guest: its AS, its registers. */
			memcpy(&want, (char *)self->sp.mem +
			       (regs.rip - G_CODE), 8);
			errno = 0;
			got = ptrace(PTRACE_PEEKDATA, pid, regs.rip, 0);
			if (errno || got != want)
				peek_bad++;
			if (regs.rsp != G_STACK + 4096)
				regs_bad++;
			if (entries >= 50 && !detached) {
				/* Detach with the tracee in guest mode. */
				ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
				detached = true;
				break;
			}
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT &&
			   regs.orig_rax == SYS_ioctl && regs.rsi == LOL_RUN) {
			monitor_exits++;
		}
		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, 0, 0));
	}
	if (detached)
		ASSERT_EQ(pid, wait_child(pid, &status, 30000, 0));
	EXPECT_EXITED(status, 0);
	EXPECT_TRUE(detached);
	TH_LOG("%ld stops: %ld LOL_RUN entries, %ld exits in guest mode, "
	       "%ld in the monitor", stops, entries, guest_exits,
	       monitor_exits);
	EXPECT_EQ(50, entries);
	EXPECT_EQ(0, guest_entries)
		TH_LOG("guest syscalls made ptrace stops");
	EXPECT_EQ(entries, guest_exits)
		TH_LOG("LOL_RUN's syscall-exit in guest mode not seen");
	EXPECT_EQ(entries - 1, monitor_exits);
	EXPECT_EQ(0, peek_bad) TH_LOG("PEEKDATA in guest mode: not the guest AS");
	EXPECT_EQ(0, regs_bad) TH_LOG("GETREGS in guest mode: not the guest's");
	munmap(ctl, getpagesize());
	EXPECT_REFCNT(self->base);
}

/* Kicks fd once ctl->finish is set, until done. */
struct end_kicker {
	int fd;
	struct ctl *ctl;
	int done;
	pthread_t thr;
};

static void *end_kicker_fn(void *p)
{
	struct end_kicker *k = p;

	while (!LOAD_ACQ(&k->ctl->finish))
		usleep(2000);
	while (!LOAD_ACQ(&k->done)) {
		lol_kick(k->fd);
		usleep(5000);
	}
	return NULL;
}

/*
 * PTRACE_INTERRUPT and SIGSTOP/SIGCONT of a monitor in guest mode: it
 * stops (in monitor mode: registers of the LOL_RUN ioctl), the guest does
 * not run meanwhile, and after the continue LOL_RUN goes on transparently:
 * the monitor never sees EINTR, only the final kick.
 */
TEST_F_TIMEOUT(env, stop_and_continue, 90)
{
	volatile __u64 *counter;
	struct ctl *ctl;
	__u64 c1, c2;
	int k, status;
	pid_t pid;

	REQUIRE_RUN();
	ctl = shared_anon(getpagesize());
	ASSERT_NE(NULL, ctl);
	counter = (void *)((char *)self->sp.mem + P_DATA * getpagesize());

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct end_kicker k;
		struct rvm r;
		__u64 code;
		int ret;

		child_init(80);
		CHILD_CHECK(!rvm_init(&r, 1, &self->sp), 2);
		code = RVM_LOAD(&r, 0, count_loop);
		rvm_entry(&r, 0, code);
		lol_arg0(r.vcpu[0].run) = G_DATA;
		/* A kicker thread, for the end. */
		k.fd = r.vcpu[0].fd;
		k.ctl = ctl;
		k.done = 0;
		CHILD_CHECK(!pthread_create(&k.thr, NULL, end_kicker_fn, &k), 3);
		ret = lol_run(r.vcpu[0].fd);
		STORE_REL(&k.done, 1);
		CHILD_CHECK(ret == 0, errno == EINTR ? 20 : 21);
		CHILD_CHECK(r.vcpu[0].run->exit_reason == LOL_EXIT_KICK, 22);
		CHILD_CHECK(IN_STUB(lol_pc(r.vcpu[0].run), code, count_loop),
			    23);
		CHILD_CHECK(COUNT_CONSISTENT(*counter,
					     r.vcpu[0].run->regs.r12), 24);
		_exit(0);
	}
	*counter = 0;
	ASSERT_TRUE(WAIT_UNTIL(*counter > 0, 20000)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}

	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL));
	for (k = 0; k < 5; k++) {
		struct user_regs_struct regs;

		ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
		ASSERT_EQ(pid, wait_child(pid, &status, 10000, __WALL))
			TH_LOG("PTRACE_INTERRUPT did not stop the vcpu thread");
		ASSERT_TRUE(WIFSTOPPED(status));
		ASSERT_EQ(PTRACE_EVENT_STOP, status >> 16)
			TH_LOG("stop status 0x%x", status);
		ASSERT_EQ(0, ptrace(PTRACE_GETREGS, pid, 0, &regs));
		/* Stopped as the monitor, inside LOL_RUN. */
		EXPECT_FALSE(regs.rip >= G_CODE && regs.rip < G_CODE + 4096)
			TH_LOG("stopped with guest rip 0x%llx", regs.rip);
		EXPECT_EQ(SYS_ioctl, regs.orig_rax);
		c1 = *counter;
		usleep(50000);
		c2 = *counter;
		EXPECT_EQ(c1, c2) TH_LOG("the guest ran while stopped");
		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
		EXPECT_TRUE(WAIT_UNTIL(*counter > c2, 10000))
			TH_LOG("the guest did not resume after PTRACE_CONT");
	}
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
	ASSERT_EQ(pid, wait_child(pid, &status, 10000, __WALL));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	c1 = *counter;
	EXPECT_TRUE(WAIT_UNTIL(*counter > c1, 10000))
		TH_LOG("the guest did not resume after PTRACE_DETACH");

	/* Job control, no tracer. */
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, kill(pid, SIGSTOP));
		ASSERT_EQ(pid, wait_child(pid, &status, 10000, WUNTRACED))
			TH_LOG("SIGSTOP did not stop the monitor");
		ASSERT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)
			TH_LOG("status 0x%x", status);
		c1 = *counter;
		usleep(50000);
		EXPECT_EQ(c1, *counter) TH_LOG("the guest ran while stopped");
		ASSERT_EQ(0, kill(pid, SIGCONT));
		EXPECT_TRUE(WAIT_UNTIL(*counter > c1, 10000))
			TH_LOG("the guest did not resume after SIGCONT");
	}

	STORE_REL(&ctl->finish, 1);
	ASSERT_EQ(pid, wait_child(pid, &status, 20000, 0));
	/* 20: LOL_RUN failed with EINTR for a stop/continue. */
	EXPECT_EXITED(status, 0);
	munmap(ctl, getpagesize());
	EXPECT_REFCNT(self->base);
}

/* ============================================================================
 * 6. A guest spinning forever: preemptible, kickable, interruptible
 * ==========================================================================*/

struct worker {
	int cpu;
	int stop;
	long iterations;
	pthread_t thr;
};

static void *worker_fn(void *p)
{
	struct worker *w = p;

	pin_to(0, w->cpu);
	while (!LOAD_ACQ(&w->stop))
		__atomic_add_fetch(&w->iterations, 1, __ATOMIC_RELAXED);
	return NULL;
}

static long long thread_cpu_ms(pthread_t t)
{
	struct timespec ts;
	clockid_t clk;

	if (pthread_getcpuclockid(t, &clk) || clock_gettime(clk, &ts))
		return -1;
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Another thread pinned to the guest's CPU gets its share. */
TEST_F_TIMEOUT(env, spin_preemptible, 60)
{
	volatile __u64 *counter;
	long long cpu0, cpu1, w_cpu0, w_cpu1;
	struct worker w = { 0 };
	struct runner rn;
	long it0, it1;
	__u64 g0, g1;
	struct rvm r;
	int cpus[2], n;

	REQUIRE_RUN();
	n = cpu_list(cpus, 2);
	ASSERT_LE(1, n);
	if (n >= 2)
		pin_to(0, cpus[1]);	/* the test itself stays away */

	RVM_INIT(&r, 1, NULL);
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	lol_arg0(r.vcpu[0].run) = G_DATA;
	counter = pu64(&r, P_DATA, 0);
	ASSERT_EQ(0, runner_start(&rn, &r, 0, cpus[0]));
	ASSERT_TRUE(WAIT_UNTIL(*counter > 0, 10000)) {
		runner_kick_out(&rn, 2000);
	}
	w.cpu = cpus[0];
	ASSERT_EQ(0, pthread_create(&w.thr, NULL, worker_fn, &w));
	usleep(100000);

	cpu0 = thread_cpu_ms(rn.thr);
	w_cpu0 = thread_cpu_ms(w.thr);
	it0 = __atomic_load_n(&w.iterations, __ATOMIC_RELAXED);
	g0 = *counter;
	usleep(600000);
	cpu1 = thread_cpu_ms(rn.thr);
	w_cpu1 = thread_cpu_ms(w.thr);
	it1 = __atomic_load_n(&w.iterations, __ATOMIC_RELAXED);
	g1 = *counter;

	STORE_REL(&w.stop, 1);
	pthread_join(w.thr, NULL);
	EXPECT_FALSE(LOAD_ACQ(&rn.done)) TH_LOG("LOL_RUN returned");
	ASSERT_TRUE(runner_kick_out(&rn, 10000));
	EXPECT_EQ(LOL_EXIT_KICK, rn.reason);

	TH_LOG("600 ms on CPU %d: guest %lld ms cpu (+%llu), worker %lld ms "
	       "(+%ld)", cpus[0], cpu1 - cpu0, (unsigned long long)(g1 - g0),
	       w_cpu1 - w_cpu0, it1 - it0);
	EXPECT_LT(it0, it1) TH_LOG("the worker starved next to the guest");
	EXPECT_LE(60, w_cpu1 - w_cpu0)
		TH_LOG("the worker got less than 10%% of the guest's CPU");
	EXPECT_LT(g0, g1) TH_LOG("the guest starved");
	EXPECT_LE(60, cpu1 - cpu0);
	rvm_destroy(&r);
}

/*
 * LOL_KICK from another thread, a kick that is pending before LOL_RUN,
 * and immediate_exit: each gives its exit, with the guest state intact.
 */
TEST(kick_semantics)
{
	volatile __u64 *counter;
	struct lol_run *run;
	struct runner rn;
	struct rvm r;
	__u64 code, sys, c, r12, rip;
	int i, ret;

	REQUIRE_RUN();
	REQUIRE_CAP(LOL_CAP_KICK);
	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	code = RVM_LOAD(&r, 0, count_loop);
	sys = RVM_LOAD(&r, 256, sys42);
	counter = pu64(&r, P_DATA, 0);
	rvm_entry(&r, 0, code);
	lol_arg0(run) = G_DATA;

	/* Kicks from another thread, while the guest spins. */
	for (i = 0; i < 30; i++) {
		c = *counter;
		ASSERT_EQ(0, runner_start(&rn, &r, 0, -1));
		ASSERT_TRUE(WAIT_UNTIL(*counter > c, 10000)) {
			runner_kick_out(&rn, 2000);
		}
		ASSERT_EQ(0, lol_kick(r.vcpu[0].fd));
		ASSERT_TRUE(runner_join(&rn, 10000))
			TH_LOG("iteration %d: one LOL_KICK did not end LOL_RUN",
			       i);
		ASSERT_EQ(0, rn.ret) TH_LOG("LOL_RUN: %s",
					    lol_errno_name(rn.err));
		ASSERT_EQ(LOL_EXIT_KICK, rn.reason);
		ASSERT_TRUE(IN_STUB(lol_pc(run), code, count_loop));
		ASSERT_TRUE(COUNT_CONSISTENT(*counter, run->regs.r12))
			TH_LOG("counter %llu r12 %llu",
			       (unsigned long long)*counter,
			       (unsigned long long)run->regs.r12);
	}

	/* A kick while not running: the next LOL_RUN returns at once. */
	c = *counter;
	r12 = run->regs.r12;
	rip = lol_pc(run);
	ASSERT_EQ(0, lol_kick(r.vcpu[0].fd));
	ASSERT_EQ(0, lol_kick(r.vcpu[0].fd));	/* kicks do not add up */
	ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
	EXPECT_EQ(LOL_EXIT_KICK, run->exit_reason);
	EXPECT_EQ(c, *counter) TH_LOG("the guest ran");
	EXPECT_EQ(r12, run->regs.r12);
	EXPECT_EQ(rip, lol_pc(run));

	/* The kick is used up: the guest really runs now. */
	lol_pc(run) = sys;
	ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
	EXPECT_EQ(LOL_EXIT_SYSCALL, run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
	EXPECT_EQ(42, run->syscall.nr);

	/* immediate_exit: -EINTR, LOL_EXIT_INTR, nothing ran. */
	if (probe_cap(LOL_CAP_IMMEDIATE_EXIT) > 0) {
		lol_pc(run) = code;
		run->immediate_exit = 1;
		c = *counter;
		ret = lol_run(r.vcpu[0].fd);
		EXPECT_EQ(-1, ret);
		EXPECT_STREQ("EINTR", lol_errno_name(errno));
		EXPECT_EQ(LOL_EXIT_INTR, run->exit_reason);
		EXPECT_EQ(code, lol_pc(run));
		EXPECT_EQ(c, *counter);
		run->immediate_exit = 0;
		lol_pc(run) = sys;
		ASSERT_EQ(0, lol_run(r.vcpu[0].fd));
		EXPECT_EQ(LOL_EXIT_SYSCALL, run->exit_reason);
	}
	rvm_destroy(&r);
}

/* What the SIGUSR1 handler saw. */
static struct {
	int count;
	pid_t tid;
	__u64 rip, rsp, local;
	int si_code;
	int tls_ok;
} hs;

static __thread volatile __u64 monitor_tls = PAT3;

static void usr1_handler(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	volatile char local;

	hs.count++;
	hs.tid = gettid();
	hs.rip = uc->uc_mcontext.gregs[REG_RIP];
	hs.rsp = uc->uc_mcontext.gregs[REG_RSP];
	hs.local = (unsigned long)&local;
	hs.si_code = si->si_code;
	hs.tls_ok = monitor_tls == PAT3;
}

/* Kicks fd once *counter moved or after ms; records whether it moved. */
struct late_kicker {
	volatile __u64 *counter;
	int fd, ms;
	bool moved;
	pthread_t thr;
};

static void *late_kicker_fn(void *p)
{
	struct late_kicker *k = p;

	k->moved = WAIT_UNTIL(*k->counter > 1000, k->ms);
	lol_kick(k->fd);
	return NULL;
}

FIXTURE(blocked) {
};

FIXTURE_VARIANT(blocked) {
	int sig;
	bool process;		/* kill() rather than tgkill() */
};

FIXTURE_VARIANT_ADD(blocked, sigtrap_thread) { .sig = SIGTRAP };
FIXTURE_VARIANT_ADD(blocked, sigtrap_process) { .sig = SIGTRAP,
					       .process = true };
FIXTURE_VARIANT_ADD(blocked, sigsegv_thread) { .sig = SIGSEGV };
/* Not a signal lol raises for guest exceptions: the control case. */
FIXTURE_VARIANT_ADD(blocked, sigusr1_thread) { .sig = SIGUSR1 };

FIXTURE_SETUP(blocked)
{
}

FIXTURE_TEARDOWN(blocked)
{
}

/*
 * A signal the monitor blocks and that is pending for it (sent by a user,
 * not raised by a guest exception) has nothing to do with the guest: the
 * guest runs, LOL_RUN returns on the kick, and the signal is still
 * pending and blocked afterwards. lol unblocks the synchronous signals
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) in guest mode, so
 * such a signal wakes the thread at once on every entry.
 */
TEST_F_TIMEOUT(blocked, pending_blocked_signal_in_guest, 30)
{
	struct late_kicker k = { 0 };
	volatile __u64 *counter;
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };
	struct rvm r;
	int ret, err;

	REQUIRE_RUN();
	RVM_INIT(&r, 1, NULL);
	rvm_entry(&r, 0, RVM_LOAD(&r, 0, count_loop));
	lol_arg0(r.vcpu[0].run) = G_DATA;
	counter = pu64(&r, P_DATA, 0);

	/* Blocked in every thread (the kicker inherits the mask). */
	sigemptyset(&set);
	sigaddset(&set, variant->sig);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	if (variant->process) {
		ASSERT_EQ(0, kill(getpid(), variant->sig));
	} else {
		ASSERT_EQ(0, syscall(SYS_tgkill, getpid(), gettid(),
				     variant->sig));
	}
	ASSERT_EQ(0, sigpending(&pending));
	ASSERT_TRUE(sigismember(&pending, variant->sig));

	k.counter = counter;
	k.fd = r.vcpu[0].fd;
	k.ms = 3000;
	ASSERT_EQ(0, pthread_create(&k.thr, NULL, late_kicker_fn, &k));
	ret = lol_run(r.vcpu[0].fd);
	err = errno;
	pthread_join(k.thr, NULL);
	EXPECT_EQ(0, ret) TH_LOG("LOL_RUN: %s", lol_errno_name(err));
	EXPECT_EQ(LOL_EXIT_KICK, r.vcpu[0].run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(r.vcpu[0].run));
	EXPECT_TRUE(k.moved)
		TH_LOG("the guest did not run in 3 s (counter %llu): LOL_RUN "
		       "kept leaving and re-entering for the blocked signal %d",
		       (unsigned long long)*counter, variant->sig);
	/* Still pending, still blocked, delivered to nobody. */
	ASSERT_EQ(0, sigpending(&pending));
	EXPECT_TRUE(sigismember(&pending, variant->sig));
	EXPECT_EQ(variant->sig, sigtimedwait(&set, NULL, &zero));
	rvm_destroy(&r);
}

/*
 * A host signal with a handler (a POSIX timer aimed at the vcpu thread):
 * LOL_RUN fails with EINTR after the handler ran in the monitor (monitor
 * rip, rsp and TLS in its frame, nothing written to the guest stack),
 * and the guest goes on from the run page's state when entered again.
 */
TEST(signal_handler_eintr)
{
	struct sigaction sa = { .sa_sigaction = usr1_handler,
				.sa_flags = SA_SIGINFO };
	volatile __u64 *counter;
	struct lol_run *run;
	struct runner kicker;
	struct rvm r;
	timer_t timer;
	__u64 code, r12;
	int i, ret, err;

	REQUIRE_RUN();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	RVM_INIT(&r, 1, NULL);
	run = r.vcpu[0].run;
	code = RVM_LOAD(&r, 0, count_loop);
	counter = pu64(&r, P_DATA, 0);
	rvm_entry(&r, 0, code);
	lol_arg0(run) = G_DATA;

	ASSERT_EQ(0, lol_thread_timer(SIGUSR1, 0, &timer));

	for (i = 0; i < 5; i++) {
		struct itimerspec its = { .it_value = { 0, 50 * 1000 * 1000 } };

		memset(&hs, 0, sizeof(hs));
		ASSERT_EQ(0, timer_settime(timer, 0, &its, NULL));
		ret = lol_run(r.vcpu[0].fd);
		err = errno;
		ASSERT_EQ(-1, ret) TH_LOG("LOL_RUN returned %d, " LOL_EXIT_FMT,
					  ret, LOL_EXIT_ARGS(run));
		ASSERT_STREQ("EINTR", lol_errno_name(err));
		EXPECT_EQ(LOL_EXIT_INTR, run->exit_reason);
		EXPECT_EQ(1, hs.count);
		EXPECT_EQ(gettid(), hs.tid);
		EXPECT_EQ(SI_TIMER, hs.si_code);
		EXPECT_TRUE(hs.tls_ok) TH_LOG("handler ran with the guest's FS");
		/* The frame was the monitor's: rip and rsp are not the guest's. */
		EXPECT_FALSE(hs.rip >= G_CODE && hs.rip < G_CODE + r.page)
			TH_LOG("handler frame has the guest rip 0x%llx",
			       (unsigned long long)hs.rip);
		EXPECT_FALSE(hs.rsp >= G_STACK && hs.rsp <= G_STACK + r.page)
			TH_LOG("handler frame has the guest rsp");
		EXPECT_TRUE(stack_is_filled(&r, P_STACK, STACK_FILL))
			TH_LOG("a signal frame was written to the guest stack");
		/* The guest state was saved: re-entry continues the loop. */
		ASSERT_TRUE(IN_STUB(lol_pc(run), code, count_loop));
		ASSERT_TRUE(COUNT_CONSISTENT(*counter, run->regs.r12));
		EXPECT_EQ(G_DATA, lol_arg0(run));
		EXPECT_EQ(G_STACK + r.page, lol_sp(run));
	}

	/* Continue once more and kick it out: the count goes on. */
	r12 = run->regs.r12;
	ASSERT_EQ(0, runner_start(&kicker, &r, 0, -1));
	ASSERT_TRUE(WAIT_UNTIL(*counter > r12 + 1000, 10000)) {
		runner_kick_out(&kicker, 2000);
	}
	ASSERT_TRUE(runner_kick_out(&kicker, 10000));
	EXPECT_EQ(LOL_EXIT_KICK, kicker.reason);
	EXPECT_LT(r12, run->regs.r12);
	EXPECT_TRUE(COUNT_CONSISTENT(*counter, run->regs.r12));
	timer_delete(timer);
	rvm_destroy(&r);
}


TEST_HARNESS_MAIN
