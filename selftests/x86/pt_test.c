// SPDX-License-Identifier: GPL-2.0
/*
 * pt_test: guest memory as lol-managed page tables (Documentation/
 * design.md, "Guest memory"): the phys file truncated under a mapping,
 * MAP/UNMAP/PROTECT from two threads while a vcpu runs in the AS, 1 GiB
 * of scattered single-page maps in one AS, the TLB of the CPU running the
 * AS after UNMAP, protections and fault flags, and /proc/<tid>/mem of a
 * thread in guest mode.
 *
 * Everything needs LOL_CAP_RUN and is SKIPped without it; every wait is
 * bounded.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PG		4096UL
#define NR_PHYS		64		/* phys pages of the fixture */
#define CODE_GVA	0x400000ULL
#define DATA_GVA	0x10000000ULL
#define WIT_GVA		0x20000000ULL
#define PAT(i)		(0x5eed000000000000ULL | (i))

/* rbx: address; reads it into r12, then exits with a syscall. */
LOL_GUEST_ASM(pt_read, "1: mov (%rbx), %r12\n\tsyscall\n\tjmp 1b\n");
/* rbx: address; writes r13 there, then exits with a syscall. */
LOL_GUEST_ASM(pt_write, "1: mov %r13, (%rbx)\n\tsyscall\n\tjmp 1b\n");
/* Copies the qword at rbx to rbp forever, a witness of what it reads. */
LOL_GUEST_ASM(pt_copy, "1: mov (%rbx), %rax\n\tmov %rax, (%rbp)\n\t"
		       "jmp 1b\n");
/* rbx: address; executes it (a page of "ret"-free bytes faults anyway). */
LOL_GUEST_ASM(pt_exec, "jmp *%rbx\n");

FIXTURE(pt) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as;
	int sys;
	bool up;
};

/* Each test starts with it: without the run loop there is nothing here. */
#define REQUIRE_RUN() do {						\
	if (!self->up)							\
		SKIP(return, "LOL_CAP_RUN absent");			\
} while (0)

FIXTURE_SETUP(pt)
{
	__u64 i;

	self->sys = lol_open_sys();
	if (!lol_cap(self->sys, LOL_CAP_RUN))
		return;
	self->up = true;
	ASSERT_EQ(0, lol_vm_create(&self->vm, NR_PHYS * PG));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as));
	/* Page 0: the stubs; every other page starts with its pattern. */
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, pt_read));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 256, pt_write));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 512, pt_copy));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 768, pt_exec));
	for (i = 1; i < NR_PHYS; i++)
		*(__u64 *)lol_vm_phys(&self->vm, i * PG, 8) = PAT(i);
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, CODE_GVA, 0, PG,
				LOL_PROT_READ | LOL_PROT_EXEC));
}

FIXTURE_TEARDOWN(pt)
{
	if (self->up) {
		lol_vcpu_destroy(&self->vcpu);
		lol_vm_destroy(&self->vm);
	}
	if (self->sys >= 0)
		close(self->sys);
}

static __u64 *phys_u64(struct lol_vm *vm, __u64 page)
{
	return lol_vm_phys(vm, page * PG, 8);
}

/* One run of a stub at @off in page 0 with rbx = @addr, r13 = @val. */
static __u32 run_at(struct __test_metadata *_metadata, FIXTURE_DATA(pt) *self,
		    unsigned int off, __u64 addr, __u64 val)
{
	struct lol_run *run = self->vcpu.run;

	lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA + off, 0);
	run->regs.rbx = addr;
	run->regs.r13 = val;
	run->regs.rax = SYS_getpid;
	EXPECT_EQ(0, lol_run(self->vcpu.fd)) TH_LOG("LOL_RUN: %s",
						     strerror(errno));
	return run->exit_reason;
}

#define READ_AT(addr)		run_at(_metadata, self, 0, addr, 0)
#define WRITE_AT(addr, val)	run_at(_metadata, self, 256, addr, val)
#define EXEC_AT(addr)		run_at(_metadata, self, 768, addr, 0)

/* The guest's read of @addr: its value, or ~0 with the fault checked. */
static __u64 guest_read(struct __test_metadata *_metadata,
			FIXTURE_DATA(pt) *self, __u64 addr)
{
	struct lol_run *run = self->vcpu.run;

	if (READ_AT(addr) == LOL_EXIT_SYSCALL)
		return run->regs.r12;
	EXPECT_EQ(LOL_EXIT_FAULT, run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
	EXPECT_EQ(addr, run->fault.addr);
	return ~0ULL;
}

/*
 * Truncating the phys file never frees a page a guest PTE points to: the
 * AS keeps the page it mapped until it unmaps it; a page beyond the file
 * when mapped is a fault with LOL_FAULT_PRESENT until the file grows.
 */
TEST_F(pt, truncate_while_mapped)
{
	struct lol_run *run = self->vcpu.run;

	REQUIRE_RUN();
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, PG, PG,
				LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_EQ(PAT(1), guest_read(_metadata, self, DATA_GVA));

	/* Everything but the code page goes, and with it the data page. */
	ASSERT_SYSCALL(ftruncate(self->vm.memfd, PG));
	EXPECT_EQ(PAT(1), guest_read(_metadata, self, DATA_GVA));
	EXPECT_EQ(LOL_EXIT_SYSCALL, WRITE_AT(DATA_GVA, PAT(0x77)));
	EXPECT_EQ(PAT(0x77), guest_read(_metadata, self, DATA_GVA));

	/* Mapped while beyond the file: a fault that says mapped. */
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA + PG, 2 * PG,
				PG, LOL_PROT_READ));
	EXPECT_EQ(~0ULL, guest_read(_metadata, self, DATA_GVA + PG));
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);

	/* Back to full size: new zero pages for the monitor. */
	ASSERT_SYSCALL(ftruncate(self->vm.memfd, NR_PHYS * PG));
	EXPECT_EQ(0, *phys_u64(&self->vm, 1));
	/* The old page stays the guest's until it is unmapped... */
	EXPECT_EQ(PAT(0x77), guest_read(_metadata, self, DATA_GVA));
	/* ...and a page beyond the file then is looked up on access. */
	*phys_u64(&self->vm, 2) = PAT(0x22);
	EXPECT_EQ(PAT(0x22), guest_read(_metadata, self, DATA_GVA + PG));
	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as, DATA_GVA, PG));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, PG, PG,
				LOL_PROT_READ));
	EXPECT_EQ(0, guest_read(_metadata, self, DATA_GVA));
}

/* Protections and the fault flags that tell mapped from unmapped. */
TEST_F(pt, protections)
{
	struct lol_run *run = self->vcpu.run;
	__u32 x;

	REQUIRE_RUN();
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, PG, PG,
				LOL_PROT_READ));
	EXPECT_EQ(PAT(1), guest_read(_metadata, self, DATA_GVA));

	/* A write to a read-only page (its PTE present). */
	x = WRITE_AT(DATA_GVA, PAT(0x31));
	ASSERT_EQ(LOL_EXIT_FAULT, x) TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
	EXPECT_EQ(LOL_FAULT_WRITE, run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);
	EXPECT_EQ(PAT(1), *phys_u64(&self->vm, 1));

	/* Made writable: the same write goes through. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG,
				    LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_EQ(LOL_EXIT_SYSCALL, WRITE_AT(DATA_GVA, PAT(0x32)));
	EXPECT_EQ(PAT(0x32), *phys_u64(&self->vm, 1));

	/* Back to read-only: the writable PTE is gone. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG,
				    LOL_PROT_READ));
	EXPECT_EQ(LOL_EXIT_FAULT, WRITE_AT(DATA_GVA, PAT(0x33)));
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);
	EXPECT_EQ(PAT(0x32), *phys_u64(&self->vm, 1));

	/* No access at all: a read faults, mapped. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG, 0));
	EXPECT_EQ(~0ULL, guest_read(_metadata, self, DATA_GVA));
	EXPECT_EQ(LOL_FAULT_READ, run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);

	/* Not executable, then executable: the fetch faults, then runs. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG,
				    LOL_PROT_READ));
	EXPECT_EQ(LOL_EXIT_FAULT, EXEC_AT(DATA_GVA));
	EXPECT_EQ(LOL_FAULT_EXEC, run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);
	EXPECT_EQ(DATA_GVA, run->fault.addr);
	ASSERT_EQ(0, lol_vm_load(&self->vm, PG, "\x0f\x05\xeb\xfc", 4));
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG,
				    LOL_PROT_READ | LOL_PROT_EXEC));
	EXPECT_EQ(LOL_EXIT_SYSCALL, EXEC_AT(DATA_GVA));
	EXPECT_EQ(DATA_GVA + 2, run->regs.rip);

	/* PROTECT needs the whole range mapped, as mprotect() does. */
	EXPECT_ERRNO(ENOMEM, lol_as_protect(self->vm.guest, self->as, DATA_GVA,
					    2 * PG, LOL_PROT_READ));
	/* Unmapped: a fault that is not PRESENT. */
	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as, DATA_GVA, PG));
	EXPECT_EQ(~0ULL, guest_read(_metadata, self, DATA_GVA));
	EXPECT_EQ(0, run->fault.flags);
}

/*
 * The fault exit's details, the same whether lol's own fault handler
 * turned the access into the exit (an address in the AS's page-table
 * chunk) or the host raised a signal (an address far from any): the exact
 * address, the #PF error code, the access and the faulting instruction.
 */
TEST_F(pt, fault_exit_details)
{
	static const struct {
		unsigned int stub;	/* offset in page 0 */
		__u64 error_code;	/* x86 #PF: user, write, fetch */
		__u32 access;
	} kinds[] = {
		{ 0, 0x04, LOL_FAULT_READ },
		{ 256, 0x06, LOL_FAULT_WRITE },
		{ 768, 0x14, LOL_FAULT_EXEC },
	};
	/* In the chunk the fixture's CODE_GVA map made, and far from it. */
	static const __u64 where[] = { DATA_GVA + 0x123, 0x500000000123ULL };
	struct lol_run *run = self->vcpu.run;
	unsigned int i, k;

	REQUIRE_RUN();
	for (i = 0; i < ARRAY_SIZE(where); i++) {
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			__u64 addr = where[i];

			ASSERT_EQ(LOL_EXIT_FAULT,
				  run_at(_metadata, self, kinds[k].stub, addr,
					 0))
				TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
			EXPECT_EQ(addr, run->fault.addr);
			EXPECT_EQ(kinds[k].error_code, run->fault.error_code);
			EXPECT_EQ(kinds[k].access, run->fault.access);
			EXPECT_EQ(0, run->fault.flags);
			/* The fetch faults at its target, the others in place. */
			EXPECT_EQ(kinds[k].stub == 768 ? addr :
				  CODE_GVA + kinds[k].stub, run->fault.ip);
			EXPECT_EQ(run->fault.ip, run->regs.rip);
		}
	}

	/* Mapped without access, never touched: PRESENT, same code. */
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, PG, PG, 0));
	ASSERT_EQ(LOL_EXIT_FAULT, WRITE_AT(DATA_GVA + 8, 1));
	EXPECT_EQ(DATA_GVA + 8, run->fault.addr);
	EXPECT_EQ(0x06, run->fault.error_code);
	EXPECT_EQ(LOL_FAULT_PRESENT, run->fault.flags);
	/* The guest goes on from the same instruction once it may. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, DATA_GVA, PG,
				    LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_EQ(LOL_EXIT_SYSCALL, WRITE_AT(DATA_GVA + 8, PAT(0x99)));
	EXPECT_EQ(PAT(0x99), *(__u64 *)lol_vm_phys(&self->vm, PG + 8, 8));
}

/*
 * 1 GiB of single pages, each next to a page of another phys offset so
 * that no two could ever be one host mapping: 262,144 mappings, four
 * times vm.max_map_count, with default settings.
 */
TEST_F_TIMEOUT(pt, scattered_1g, 600)
{
	const __u64 base = 0x100000000ULL, n = (1ULL << 30) / PG;
	long batch = lol_cap(self->sys, LOL_CAP_AS_BATCH);
	struct lol_as_op *ops;
	__u64 i, j, phys;
	double t0;

	REQUIRE_RUN();
	if (lol_cap(self->sys, LOL_CAP_MAX_MAPPINGS) < (long)n + 1)
		SKIP(return, "max_mappings below %llu pages",
		     (unsigned long long)n + 1);
	ops = calloc(batch, sizeof(*ops));
	ASSERT_NE(NULL, ops);
	t0 = lol_now();
	for (i = 0; i < n; i += batch) {
		for (j = 0; j < (__u64)batch; j++) {
			/* Pages 1..63 in an order that never runs on. */
			phys = 1 + ((i + j) * 37) % (NR_PHYS - 1);
			ops[j] = (struct lol_as_op){
				.op = LOL_AS_MAP, .prot = LOL_PROT_READ,
				.addr = base + (i + j) * PG, .size = PG,
				.phys = phys * PG,
			};
		}
		ASSERT_EQ(0, lol_as_ops(self->vm.guest, self->as, ops, batch,
					NULL))
			TH_LOG("batch at page %llu: %s",
			       (unsigned long long)i, strerror(errno));
	}
	TH_LOG("%llu single-page maps in %.2f s", (unsigned long long)n,
	       lol_now() - t0);
	free(ops);

	/* Every 4099th page, and the last, holds its phys page's pattern. */
	for (i = 0; i < n; i = i + 4099 < n || i == n - 1 ? i + 4099 : n - 1) {
		phys = 1 + (i * 37) % (NR_PHYS - 1);
		ASSERT_EQ(PAT(phys), guest_read(_metadata, self, base + i * PG))
			TH_LOG("page %llu", (unsigned long long)i);
	}
	/* One op unmaps it all. */
	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as, base, n * PG));
	EXPECT_EQ(~0ULL, guest_read(_metadata, self, base + 12345 * PG));
	EXPECT_EQ(0, self->vcpu.run->fault.flags);
}

/* ---- concurrency: a vcpu running while other threads change its AS ---- */

struct pt_vcpu_arg {
	struct lol_vcpu *vcpu;
	__u32 as;
	int cpu;
	__u64 entry;
	volatile int ready;
	int ret;
};

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int other_cpu(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : -1;
}

/* Runs pt_copy until it faults (or anything else ends it). */
static void *copy_thread(void *p)
{
	struct pt_vcpu_arg *a = p;

	pin(a->cpu);
	a->ready = gettid();
	a->ret = lol_run(a->vcpu->fd);
	return NULL;
}

/*
 * UNMAP returns only when no CPU can still reach the page: a vcpu that
 * copies the page to a witness page on another CPU stops seeing it, and
 * what the monitor writes to the phys page afterwards never shows up in
 * the witness. While it runs, /proc/<tid>/mem reads guest memory.
 */
TEST_F_TIMEOUT(pt, tlb_after_unmap, 60)
{
	struct lol_run *run = self->vcpu.run;
	struct pt_vcpu_arg a = { .vcpu = &self->vcpu, .cpu = other_cpu() };
	volatile __u64 *wit = phys_u64(&self->vm, 2);
	char path[64];
	pthread_t t;
	__u64 v = 0;
	double t0;
	int fd, i;

	REQUIRE_RUN();
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, PG, PG,
				LOL_PROT_READ));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, WIT_GVA, 2 * PG, PG,
				LOL_PROT_READ | LOL_PROT_WRITE));
	*wit = 0;
	lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA + 512, 0);
	run->regs.rbx = DATA_GVA;
	run->regs.rbp = WIT_GVA;
	pin(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, copy_thread, &a));
	for (t0 = lol_now(); *wit != PAT(1) && lol_now() - t0 < 20;)
		usleep(1000);
	ASSERT_EQ(PAT(1), *wit) {
		pthread_kill(t, SIGKILL);
	}

	/* The vcpu thread is in guest mode: its mem file is the AS. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/mem", a.ready);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_EQ(8, pread(fd, &v, 8, DATA_GVA)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(PAT(1), v);
	close(fd);

	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as, DATA_GVA, PG));
	*phys_u64(&self->vm, 1) = PAT(0xbad);
	for (i = 0; i < 100 && *wit != PAT(0xbad); i++)
		usleep(1000);
	EXPECT_EQ(PAT(1), *wit);
	pthread_join(t, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(LOL_EXIT_FAULT, run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
	EXPECT_EQ(DATA_GVA, run->fault.addr);
}

struct pt_mapper {
	int guest;
	__u32 as;
	unsigned int seed;
	volatile int *stop;
	long ops, errors;
};

#define NR_SLOTS	16

/* Slot k is unmapped, or maps phys page 1 + k or 1 + k + NR_SLOTS. */
static void *mapper_thread(void *p)
{
	struct pt_mapper *m = p;

	while (!*m->stop) {
		unsigned int k = rand_r(&m->seed) % NR_SLOTS;
		__u64 addr = DATA_GVA + k * PG;
		struct lol_as_op op = { .addr = addr, .size = PG };

		switch (rand_r(&m->seed) % 3) {
		case 0:
			op.op = LOL_AS_MAP;
			op.prot = LOL_PROT_READ;
			op.phys = (1 + k + (rand_r(&m->seed) % 2) * NR_SLOTS) *
				  PG;
			break;
		case 1:
			op.op = LOL_AS_UNMAP;
			break;
		default:
			op.op = LOL_AS_PROTECT;
			op.prot = rand_r(&m->seed) % 2 ? LOL_PROT_READ : 0;
			break;
		}
		/* PROTECT of an unmapped slot is ENOMEM; nothing else fails. */
		if (lol_as_ops(m->guest, m->as, &op, 1, NULL) &&
		    !(op.op == LOL_AS_PROTECT && errno == ENOMEM))
			m->errors++;
		m->ops++;
	}
	return NULL;
}

/*
 * Two threads map, unmap and re-protect the pages a running vcpu reads:
 * every read sees one of the two pages its slot can map, or faults at the
 * address it read.
 */
TEST_F_TIMEOUT(pt, concurrent_ops_while_running, 120)
{
	struct lol_run *run = self->vcpu.run;
	struct pt_mapper m[2];
	volatile int stop = 0;
	long reads = 0, faults = 0, bad = 0;
	pthread_t t[2];
	double t0;
	int i;

	REQUIRE_RUN();
	pin(other_cpu());
	for (i = 0; i < 2; i++) {
		m[i] = (struct pt_mapper){ .guest = self->vm.guest,
					   .as = self->as, .seed = 7 + i,
					   .stop = &stop };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mapper_thread, &m[i]));
	}
	for (t0 = lol_now(); lol_now() - t0 < 3; reads++) {
		unsigned int k = reads % NR_SLOTS;
		__u64 addr = DATA_GVA + k * PG;
		__u32 x = READ_AT(addr);

		if (x == LOL_EXIT_SYSCALL) {
			if (run->regs.r12 != PAT(1 + k) &&
			    run->regs.r12 != PAT(1 + k + NR_SLOTS))
				bad++;
		} else if (x == LOL_EXIT_FAULT && run->fault.addr == addr) {
			faults++;
		} else {
			bad++;
			TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(run));
		}
		if (lol_test_failed(_metadata))
			break;
	}
	stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, m[i].errors);
		EXPECT_LT(0, m[i].ops);
	}
	TH_LOG("%ld reads (%ld faults), %ld + %ld ops", reads, faults,
	       m[0].ops, m[1].ops);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, reads - faults);
}

TEST_HARNESS_MAIN
