// SPDX-License-Identifier: GPL-2.0
/*
 * run_test: LOL_RUN and its exits, with small guest code stubs run through
 * the liblol mini-guest layer. Everything here needs LOL_CAP_RUN and is
 * SKIPped without it; kick, immediate exit and FPU tests need their own
 * capabilities too.
 *
 * Guest layout (phys page: gva, prot):
 *   0: CODE_GVA  r-x   the stub under test
 *   1: DATA_GVA  rw-   data the stub and the test share
 *   2: RO_GVA    r--   read-only data
 *   3: STACK_GVA rw-   stack (the stack pointer starts at its top)
 *   4: ALT_GVA   rw-   in a second AS only (isolation test)
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#ifdef __x86_64__
#include <sys/io.h>
#endif
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	8
#define CODE_GVA	0x400000ULL
#define DATA_GVA	0x600000ULL
#define RO_GVA		0x700000ULL
#define STACK_GVA	0x7ff000000ULL
#define UNMAPPED_GVA	0x900000ULL
#define PHYS_DATA	1
#define PHYS_RO		2
#define PHYS_STACK	3
#define PHYS_ALT	4

#define PAT1		0x1122334455667788ULL
#define PAT2		0x8877665544332211ULL

/* ---- guest stubs ---------------------------------------------------------- */

/*
 * Per arch, under the same names: the stubs, where two_syscalls' first
 * syscall and store's store sit (TWO_SC1_OFF, STORE_OFF), and the
 * trap.vector of an undefined instruction and of a breakpoint. The x86
 * only stubs (divide_by_zero, segbase, xmm) go with the x86-only tests;
 * arm64/arm64_run_test checks arm64's registers, TLS and FP state.
 */
#ifdef __x86_64__
#define TWO_SC1_OFF	5	/* mov $500, %eax */
#define STORE_OFF	0
#define VECTOR_UD	6	/* #UD */
#define VECTOR_BP	3	/* #BP */

/* syscall(rax = 500, rdi..r9 as set by the test), twice. */
LOL_GUEST_ASM(two_syscalls,
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %rdi\n\t"
	"mov $501, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* *(rdi) = rsi; rdx = *(rdi + 8); syscall(1) */
LOL_GUEST_ASM(store_load,
	"mov %rsi, (%rdi)\n\t"
	"mov 8(%rdi), %rdx\n\t"
	"mov $1, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* rsi = *(rdi); syscall(2) */
LOL_GUEST_ASM(load,
	"mov (%rdi), %rsi\n\t"
	"mov $2, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* *(rdi) = 1; syscall(3) */
LOL_GUEST_ASM(store,
	"movq $1, (%rdi)\n\t"
	"mov $3, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* jmp *rdi: lib's lol_stub_jump; spinning: lol_stub_spin. */

LOL_GUEST_ASM(undefined, "ud2\n");

LOL_GUEST_ASM(breakpoint, "int3\n\tud2\n");

LOL_GUEST_ASM(divide_by_zero,
	"xor %ecx, %ecx\n\t"
	"xor %edx, %edx\n\t"
	"mov $1, %eax\n\t"
	"div %rcx\n\t"
	"ud2\n");

/* push/call/ret on the guest stack, result in rdi, syscall(4) */
LOL_GUEST_ASM(stack,
	"push %rsi\n\t"
	"call 1f\n\t"
	"pop %rdi\n\t"
	"mov $4, %eax\n\t"
	"syscall\n\t"
	"ud2\n"
	"1:\n\t"
	"addq $1, 8(%rsp)\n\t"
	"ret\n");

/* rsi = %fs:0, rdx = %gs:8; syscall(5) */
LOL_GUEST_ASM(segbase,
	"mov %fs:0, %rsi\n\t"
	"mov %gs:8, %rdx\n\t"
	"mov $5, %eax\n\t"
	"syscall\n\t"
	"ud2\n");


/* rdi = xmm0; xmm1 = rsi; syscall(6) */
LOL_GUEST_ASM(xmm,
	"movq %xmm0, %rdi\n\t"
	"movq %rsi, %xmm1\n\t"
	"mov $6, %eax\n\t"
	"syscall\n\t"
	"ud2\n");
#elif defined(__aarch64__)
#define TWO_SC1_OFF	4	/* mov x8, #500 */
#define STORE_OFF	4	/* mov x9, #1 */
#define VECTOR_UD	LOL_ARM64_EC_UNKNOWN
#define VECTOR_BP	LOL_ARM64_EC_BRK

/* syscall(x8 = 500, x0..x5 as set by the test), then 501 with its result. */
LOL_GUEST_ASM(two_syscalls,
	"mov x8, #500\n\t"
	"svc #0\n\t"
	"mov x8, #501\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* *(x0) = x1; x2 = *(x0 + 8); syscall(1) */
LOL_GUEST_ASM(store_load,
	"str x1, [x0]\n\t"
	"ldr x2, [x0, #8]\n\t"
	"mov x8, #1\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* x1 = *(x0); syscall(2) */
LOL_GUEST_ASM(load,
	"ldr x1, [x0]\n\t"
	"mov x8, #2\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* *(x0) = 1; syscall(3) */
LOL_GUEST_ASM(store,
	"mov x9, #1\n\t"
	"str x9, [x0]\n\t"
	"mov x8, #3\n\t"
	"svc #0\n\t"
	"udf #0\n");

/* br x0: lib's lol_stub_jump; spinning: lol_stub_spin. */

LOL_GUEST_ASM(undefined, "udf #0\n");

LOL_GUEST_ASM(breakpoint, "brk #0\n\tudf #0\n");

/* x1 pushed, bl/ret: the callee adds 1 on the stack; x0 = it, syscall(4) */
LOL_GUEST_ASM(stack,
	"str x1, [sp, #-16]!\n\t"
	"bl 1f\n\t"
	"ldr x0, [sp], #16\n\t"
	"mov x8, #4\n\t"
	"svc #0\n\t"
	"udf #0\n"
	"1:\n\t"
	"ldr x9, [sp]\n\t"
	"add x9, x9, #1\n\t"
	"str x9, [sp]\n\t"
	"ret\n");
#else
#error "run_test: no guest code for this arch"
#endif

/* ---- fixture -------------------------------------------------------------- */

FIXTURE(guest) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
	size_t page;
	bool ready;
};

FIXTURE_SETUP(guest)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);

	close(sys);
	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	self->page = sysconf(_SC_PAGESIZE);
	if (!has_run)
		return;	/* each test SKIPs */

	ASSERT_EQ(0, lol_vm_create(&self->vm, PHYS_PAGES * self->page))
		TH_LOG("lol_vm_create: %s", strerror(errno));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu))
		TH_LOG("lol_vm_add_vcpu: %s", strerror(errno));
	self->run = self->vcpu.run;
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as_id));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, CODE_GVA, 0,
				self->page, LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, DATA_GVA,
				PHYS_DATA * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, RO_GVA,
				PHYS_RO * self->page, self->page,
				LOL_PROT_READ));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, STACK_GVA,
				PHYS_STACK * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_WRITE));
	self->ready = true;
}

FIXTURE_TEARDOWN(guest)
{
	if (self->vcpu.fd >= 0)
		lol_vcpu_destroy(&self->vcpu);
	if (self->vm.guest >= 0)
		lol_vm_destroy(&self->vm);
}

#define REQUIRE_RUN() do {						\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN absent");			\
} while (0)

/* Loads a stub at CODE_GVA and points the registers at it. */
#define LOAD(stub) do {							\
	memset(self->vm.phys, LOL_TRAP_FILL, self->page);		\
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, stub));		\
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,		\
			   STACK_GVA + self->page);			\
} while (0)

/* Offset of label-free instruction n bytes into the stub. */
#define STUB_IP(off)	(CODE_GVA + (off))

/* LOL_RUN, which must succeed; evaluates to the exit reason. */
#define RUN() ({							\
	int __r = lol_run(self->vcpu.fd);				\
	int __e = errno;						\
	ASSERT_EQ(0, __r) {						\
		TH_LOG("LOL_RUN: %s (%s), " LOL_EXIT_FMT,		\
		       lol_errno_name(__e), strerror(__e),		\
		       LOL_EXIT_ARGS(self->run));			\
	}								\
	self->run->exit_reason;						\
})

#define EXPECT_EXIT(reason) do {					\
	__u32 __x = RUN();						\
	ASSERT_EQ(reason, __x) {					\
		TH_LOG("expected %s, got " LOL_EXIT_FMT,		\
		       lol_exit_name(reason), LOL_EXIT_ARGS(self->run)); \
	}								\
} while (0)

static __u64 *phys_u64(FIXTURE_DATA(guest) *self, int page, size_t off)
{
	return lol_vm_phys(&self->vm, page * self->page + off, 8);
}

/* ---- syscall exits -------------------------------------------------------- */

/* Every register by name: arm64/arm64_run_test's syscall_exact_regs there. */
#ifdef __x86_64__
TEST_F(guest, syscall_exit)
{
	struct lol_regs *r = &self->run->regs;
	__u64 nr_exits;

	REQUIRE_RUN();
	LOAD(two_syscalls);
	r->rdi = 10;
	r->rsi = 11;
	r->rdx = 12;
	r->r10 = 13;
	r->r8 = 14;
	r->r9 = 15;
	r->rbx = 0xb0b0;
	r->rbp = 0xb9b9;
	r->r12 = 0x1212;
	r->r13 = 0x1313;
	r->r14 = 0x1414;
	r->r15 = 0x1515;
	nr_exits = self->run->nr_exits;

	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
	EXPECT_EQ(10, self->run->syscall.args[0]);
	EXPECT_EQ(11, self->run->syscall.args[1]);
	EXPECT_EQ(12, self->run->syscall.args[2]);
	EXPECT_EQ(13, self->run->syscall.args[3]);
	EXPECT_EQ(14, self->run->syscall.args[4]);
	EXPECT_EQ(15, self->run->syscall.args[5]);
	EXPECT_EQ(0, self->run->syscall.flags);
	/* mov $500, %eax is 5 bytes; syscall is 2 */
	EXPECT_EQ(STUB_IP(5), self->run->syscall.ip);
	EXPECT_EQ(STUB_IP(7), r->rip);
	/* As after PTRACE_SYSEMU: rax holds the number. */
	EXPECT_EQ(500, r->rax);
	EXPECT_EQ(nr_exits + 1, self->run->nr_exits);
	/* Registers the syscall instruction does not touch are kept. */
	EXPECT_EQ(0xb0b0, r->rbx);
	EXPECT_EQ(0xb9b9, r->rbp);
	EXPECT_EQ(0x1212, r->r12);
	EXPECT_EQ(0x1313, r->r13);
	EXPECT_EQ(0x1414, r->r14);
	EXPECT_EQ(0x1515, r->r15);
	EXPECT_EQ(STACK_GVA + self->page, r->rsp);

	/* The monitor answers in rax and resumes after the syscall. */
	r->rax = 0xabcdef;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(501, self->run->syscall.nr);
	EXPECT_EQ(0xabcdef, self->run->syscall.args[0]);
	EXPECT_EQ(nr_exits + 2, self->run->nr_exits);
}
#endif

/* Host syscall numbers mean nothing in the guest: none reaches the host. */
TEST_F(guest, host_syscalls_are_exits)
{
	static const __u64 nrs[] = {
		SYS_getpid, SYS_exit_group, SYS_exit, SYS_kill, SYS_mmap,
		SYS_ioctl, SYS_rt_sigreturn,
#ifdef SYS_fork
		SYS_fork,
#else
		SYS_clone,	/* arm64 has no fork(2) */
#endif
		1000, ~0ULL,
	};
	size_t i;

	REQUIRE_RUN();
	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		LOAD(two_syscalls);
		/* Skip the mov: start at the first syscall, number set. */
		lol_pc(self->run) = STUB_IP(TWO_SC1_OFF);
		lol_nr(self->run) = nrs[i];
		lol_arg0(self->run) = SIGKILL;
		EXPECT_EXIT(LOL_EXIT_SYSCALL);
		EXPECT_EQ(nrs[i], self->run->syscall.nr);
	}
}

/* ---- memory ---------------------------------------------------------------- */

TEST_F(guest, shared_memory)
{
	REQUIRE_RUN();
	LOAD(store_load);
	*phys_u64(self, PHYS_DATA, 8) = PAT2;
	lol_arg0(self->run) = DATA_GVA;
	lol_arg1(self->run) = PAT1;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(1, self->run->syscall.nr);
	EXPECT_EQ(PAT1, *phys_u64(self, PHYS_DATA, 0));
	EXPECT_EQ(PAT2, self->run->syscall.args[2]);
}

TEST_F(guest, stack)
{
	REQUIRE_RUN();
	LOAD(stack);
	lol_arg1(self->run) = 41;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(4, self->run->syscall.nr);
	EXPECT_EQ(42, self->run->syscall.args[0]);
	EXPECT_EQ(STACK_GVA + self->page, lol_sp(self->run));
}

TEST_F(guest, fault_unmapped_read)
{
	REQUIRE_RUN();
	LOAD(load);
	lol_arg0(self->run) = UNMAPPED_GVA + 0x10;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(UNMAPPED_GVA + 0x10, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_READ, self->run->fault.access);
	EXPECT_EQ(0, self->run->fault.flags & LOL_FAULT_PRESENT);
	EXPECT_EQ(STUB_IP(0), self->run->fault.ip);
	EXPECT_EQ(STUB_IP(0), lol_pc(self->run));

	/* Map it, run again: the load is retried and succeeds. */
	*phys_u64(self, PHYS_DATA, 0x10) = PAT1;
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, UNMAPPED_GVA,
				PHYS_DATA * self->page, self->page,
				LOL_PROT_READ));
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(2, self->run->syscall.nr);
	EXPECT_EQ(PAT1, self->run->syscall.args[1]);
}

TEST_F(guest, fault_write_read_only)
{
	REQUIRE_RUN();
	LOAD(store);
	lol_arg0(self->run) = RO_GVA;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(RO_GVA, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_WRITE, self->run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT,
		  self->run->fault.flags & LOL_FAULT_PRESENT);
	EXPECT_EQ(STUB_IP(STORE_OFF), self->run->fault.ip);
	EXPECT_EQ(0, *phys_u64(self, PHYS_RO, 0));

	/* Make it writable: the store goes through. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as_id, RO_GVA,
				    self->page,
				    LOL_PROT_READ | LOL_PROT_WRITE));
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(3, self->run->syscall.nr);
	EXPECT_EQ(1, *phys_u64(self, PHYS_RO, 0));
}

TEST_F(guest, fault_exec)
{
	REQUIRE_RUN();
	LOAD(lol_stub_jump);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(DATA_GVA, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_EXEC, self->run->fault.access);
	EXPECT_EQ(DATA_GVA, self->run->fault.ip);
	EXPECT_EQ(DATA_GVA, lol_pc(self->run));
}

TEST_F(guest, fault_after_unmap)
{
	REQUIRE_RUN();
	LOAD(load);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);

	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as_id, DATA_GVA,
				  self->page));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA, 0);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(DATA_GVA, self->run->fault.addr);
	EXPECT_EQ(0, self->run->fault.flags & LOL_FAULT_PRESENT);
}

/* The same gva in two ASes reaches different phys pages. */
TEST_F(guest, as_isolation)
{
	__u32 as2;

	REQUIRE_RUN();
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &as2));
	ASSERT_EQ(0, lol_vm_map(&self->vm, as2, CODE_GVA, 0, self->page,
				LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, as2, DATA_GVA,
				PHYS_ALT * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_WRITE));
	*phys_u64(self, PHYS_DATA, 0) = PAT1;
	*phys_u64(self, PHYS_ALT, 0) = PAT2;

	LOAD(load);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(PAT1, self->run->syscall.args[1]);

	lol_vcpu_set_entry(&self->vcpu, as2, CODE_GVA, 0);
	lol_arg0(self->run) = DATA_GVA;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(PAT2, self->run->syscall.args[1]);

	/* as2 has no RO_GVA. */
	lol_vcpu_set_entry(&self->vcpu, as2, CODE_GVA, 0);
	lol_arg0(self->run) = RO_GVA;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	EXPECT_EQ(RO_GVA, self->run->fault.addr);
}

/* Nothing of the monitor is visible in a guest AS. */
TEST_F(guest, monitor_not_mapped)
{
	static volatile __u64 monitor_data = PAT1;
	__u64 addrs[] = {
		(unsigned long)&monitor_data,
		(unsigned long)self->run,
		(unsigned long)self->vm.phys,
		(unsigned long)__builtin_frame_address(0),
	};
	size_t i;

	REQUIRE_RUN();
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		LOAD(load);
		lol_arg0(self->run) = addrs[i];
		EXPECT_EXIT(LOL_EXIT_FAULT);
		EXPECT_EQ(addrs[i], self->run->fault.addr);
	}
}

/* ---- traps ----------------------------------------------------------------- */

TEST_F(guest, trap_ud2)
{
	REQUIRE_RUN();
	LOAD(undefined);
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(VECTOR_UD, self->run->trap.vector);
	EXPECT_EQ(STUB_IP(0), self->run->trap.ip);
	EXPECT_EQ(STUB_IP(0), lol_pc(self->run));
}

TEST_F(guest, trap_int3)
{
	REQUIRE_RUN();
	LOAD(breakpoint);
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(VECTOR_BP, self->run->trap.vector);
}

/* An integer division by zero does not trap on arm64. */
#ifdef __x86_64__
TEST_F(guest, trap_divide)
{
	REQUIRE_RUN();
	LOAD(divide_by_zero);
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(0, self->run->trap.vector);
	/* xor, xor, mov: 2 + 2 + 5 bytes */
	EXPECT_EQ(STUB_IP(9), self->run->trap.ip);
}
#endif

/* A fault in one run does not leak into the next. */
TEST_F(guest, trap_then_syscall)
{
	REQUIRE_RUN();
	LOAD(undefined);
	EXPECT_EXIT(LOL_EXIT_TRAP);
	LOAD(two_syscalls);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

/* ---- registers ------------------------------------------------------------- */

/* x86's segment bases and flags; arm64_run_test has TPIDR_EL0 and NZCV. */
#ifdef __x86_64__
TEST_F(guest, fs_gs_base)
{
	static __thread volatile __u64 monitor_tls = PAT2;

	REQUIRE_RUN();
	LOAD(segbase);
	*phys_u64(self, PHYS_DATA, 0) = PAT1;
	*phys_u64(self, PHYS_RO, 8) = PAT2;
	self->run->regs.fs_base = DATA_GVA;
	self->run->regs.gs_base = RO_GVA;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(PAT1, self->run->syscall.args[1]);
	EXPECT_EQ(PAT2, self->run->syscall.args[2]);
	EXPECT_EQ(DATA_GVA, self->run->regs.fs_base);
	EXPECT_EQ(RO_GVA, self->run->regs.gs_base);
	/* The monitor's TLS (%fs) is its own again. */
	EXPECT_EQ(PAT2, monitor_tls);
	errno = 0;
	EXPECT_EQ(0, errno);
}

TEST_F(guest, rflags)
{
	/* CF PF AF ZF SF DF OF AC ID: accepted and kept. */
	const __u64 set = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 |
			  0x40000 | 0x200000;

	REQUIRE_RUN();
	LOAD(two_syscalls);
	lol_pc(self->run) = STUB_IP(5);	/* no flag-changing mov */
	lol_ret(self->run) = 500;
	lol_flags(self->run) = LOL_GUEST_RFLAGS | set;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(set, lol_flags(self->run) & set);
	EXPECT_EQ(0x200, lol_flags(self->run) & 0x200);

	/* IF is always on, even when the monitor leaves it out. */
	LOAD(two_syscalls);
	lol_flags(self->run) = 0x2;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(0x200, lol_flags(self->run) & 0x200);
}
#endif

/* ---- kicks, signals, immediate exit ---------------------------------------- */

TEST_F(guest, kick_pending)
{
	__u64 nr_exits;

	REQUIRE_RUN();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	LOAD(two_syscalls);
	nr_exits = self->run->nr_exits;
	/* Several kicks before a run count as one. */
	ASSERT_EQ(0, lol_kick(self->vcpu.fd));
	ASSERT_EQ(0, lol_kick(self->vcpu.fd));
	EXPECT_EXIT(LOL_EXIT_KICK);
	EXPECT_EQ(CODE_GVA, lol_pc(self->run));
	/* It never entered the guest. */
	EXPECT_EQ(nr_exits, self->run->nr_exits);
	/* The kick is used up. */
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

struct kicker {
	int fd;
	volatile int done;
	int ret, err;
};

static void *kick_thread(void *p)
{
	struct kicker *k = p;

	/* Let the vcpu get into the guest, then kick until it is out. */
	do {
		usleep(20 * 1000);
		k->ret = lol_kick(k->fd);
		k->err = errno;
	} while (!k->ret && !k->done);
	return NULL;
}

TEST_F_TIMEOUT(guest, kick_running, 60)
{
	struct kicker k = { .fd = self->vcpu.fd };
	pthread_t t;
	int ret, err;

	REQUIRE_RUN();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	LOAD(lol_stub_spin);
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_thread, &k));
	ret = lol_run(self->vcpu.fd);
	err = errno;
	k.done = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, ret) TH_LOG("LOL_RUN: %s", lol_errno_name(err));
	EXPECT_EQ(LOL_EXIT_KICK, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	EXPECT_EQ(0, k.ret) TH_LOG("LOL_KICK: %s", lol_errno_name(k.err));
	EXPECT_EQ(CODE_GVA, lol_pc(self->run));
	/* A kick that raced with the exit may be pending: drain it. */
	LOAD(two_syscalls);
	if (RUN() == LOL_EXIT_KICK)
		EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

static volatile sig_atomic_t alarms;

static void alarm_handler(int sig)
{
	alarms++;
}

TEST_F_TIMEOUT(guest, signal_interrupts, 60)
{
	struct sigaction sa = { .sa_handler = alarm_handler };
	struct itimerval it = { .it_value = { .tv_usec = 100 * 1000 } };
	int ret, err;

	REQUIRE_RUN();
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	LOAD(lol_stub_spin);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ret = lol_run(self->vcpu.fd);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_STREQ("EINTR", lol_errno_name(err));
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(1, alarms);
	EXPECT_EQ(CODE_GVA, lol_pc(self->run));

	/* The guest can be entered again. */
	LOAD(two_syscalls);
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

TEST_F(guest, immediate_exit)
{
	__u64 nr_exits;
	int ret, err;

	REQUIRE_RUN();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_IMMEDIATE_EXIT);
	LOAD(two_syscalls);
	nr_exits = self->run->nr_exits;
	self->run->immediate_exit = 1;
	ret = lol_run(self->vcpu.fd);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_STREQ("EINTR", lol_errno_name(err));
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
	/* The guest did not run. */
	EXPECT_EQ(CODE_GVA, lol_pc(self->run));
	EXPECT_EQ(nr_exits, self->run->nr_exits);

	self->run->immediate_exit = 0;
	EXPECT_EXIT(LOL_EXIT_SYSCALL);
	EXPECT_EQ(500, self->run->syscall.nr);
}

/* A SIGSEGV from another thread is the monitor's signal, not a fault. */
static volatile sig_atomic_t segvs;

static void segv_handler(int sig)
{
	segvs++;
}

struct signaller {
	pid_t tid;
};

static void *segv_thread(void *p)
{
	struct signaller *s = p;

	usleep(50 * 1000);
	syscall(SYS_tgkill, getpid(), s->tid, SIGSEGV);
	return NULL;
}

TEST_F_TIMEOUT(guest, user_sigsegv_is_intr, 60)
{
	struct sigaction sa = { .sa_handler = segv_handler };
	struct signaller s = { .tid = gettid() };
	pthread_t t;
	int ret, err;

	REQUIRE_RUN();
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	LOAD(lol_stub_spin);
	ASSERT_EQ(0, pthread_create(&t, NULL, segv_thread, &s));
	ret = lol_run(self->vcpu.fd);
	err = errno;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-1, ret);
	EXPECT_STREQ("EINTR", lol_errno_name(err));
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	EXPECT_EQ(1, segvs);
}

/* Guest faults leave the monitor's SIGSEGV disposition and mask alone. */
TEST_F(guest, monitor_signal_state_kept)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, now;
	sigset_t block, mask;

	REQUIRE_RUN();
	ASSERT_EQ(0, sigaction(SIGSEGV, &ign, NULL));
	sigemptyset(&block);
	sigaddset(&block, SIGILL);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &block, NULL));

	LOAD(load);
	lol_arg0(self->run) = UNMAPPED_GVA;
	EXPECT_EXIT(LOL_EXIT_FAULT);
	LOAD(undefined);
	EXPECT_EXIT(LOL_EXIT_TRAP);
	EXPECT_EQ(VECTOR_UD, self->run->trap.vector);

	ASSERT_EQ(0, sigaction(SIGSEGV, NULL, &now));
	EXPECT_TRUE(now.sa_handler == SIG_IGN);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, NULL, &mask));
	EXPECT_EQ(1, sigismember(&mask, SIGILL));
	EXPECT_EQ(0, sigismember(&mask, SIGSEGV));
}

struct runner {
	int fd;
	struct lol_run *run;
	int ret, err;
};

/*
 * The main thread's LOL_GET_FPU probe holds the vcpu busy for a moment:
 * LOL_RUN then fails EBUSY, so retry (for up to ~10 s).
 */
static void *run_thread(void *p)
{
	struct runner *r = p;
	int i;

	for (i = 0; i < 10000; i++) {
		r->ret = lol_run(r->fd);
		r->err = errno;
		if (r->ret != -1 || r->err != EBUSY)
			break;
		usleep(1000);
	}
	return NULL;
}

/* One thread at a time in a vcpu; its AS outlives LOL_DESTROY_AS. */
TEST_F_TIMEOUT(guest, busy_and_destroyed_as, 60)
{
	struct runner r = { .fd = self->vcpu.fd, .run = self->run };
	unsigned char *buf;
	pthread_t t;
	long fpu;
	int i;

	REQUIRE_RUN();
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_KICK);
	fpu = LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_FPU);
	buf = calloc(1, fpu);
	ASSERT_NE(NULL, buf);
	LOAD(lol_stub_spin);
	ASSERT_EQ(0, pthread_create(&t, NULL, run_thread, &r));
	/*
	 * Wait until the other thread is in the guest, asking with
	 * LOL_GET_FPU (EBUSY then): a LOL_RUN here could win the race and
	 * spin in the guest itself.
	 */
	for (i = 0; i < 500; i++) {
		if (lol_get_fpu(self->vcpu.fd, buf, fpu) && errno == EBUSY)
			break;
		usleep(10 * 1000);
	}
	free(buf);
	ASSERT_GT(500, i) TH_LOG("never EBUSY: the vcpu did not start");
	EXPECT_ERRNO(EBUSY, lol_run(self->vcpu.fd));

	/* The AS goes, the guest spinning in it does not notice. */
	EXPECT_EQ(0, lol_destroy_as(self->vm.guest, self->as_id));
	usleep(50 * 1000);
	EXPECT_EQ(0, lol_kick(self->vcpu.fd));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r.ret) TH_LOG("%s", lol_errno_name(r.err));
	EXPECT_EQ(LOL_EXIT_KICK, self->run->exit_reason);
	EXPECT_EQ(CODE_GVA, lol_pc(self->run));
	/* Now the id is gone. */
	EXPECT_ERRNO(ENOENT, lol_run(self->vcpu.fd));
}

TEST_F(guest, unknown_as)
{
	REQUIRE_RUN();
	LOAD(two_syscalls);
	self->run->as_id = self->as_id + 1000;
	EXPECT_ERRNO(ENOENT, lol_run(self->vcpu.fd));
}

#ifdef __x86_64__
/* A thread with I/O port access would hand it to the guest. */
TEST_F(guest, ioperm_refused)
{
	REQUIRE_RUN();
	if (ioperm(0x80, 1, 1))
		SKIP(return, "ioperm: %s", strerror(errno));
	LOAD(two_syscalls);
	EXPECT_ERRNO(EPERM, lol_run(self->vcpu.fd));
	ASSERT_EQ(0, ioperm(0x80, 1, 0));
}

/* ---- FPU (x86; arm64_run_test's fpsimd_exact on arm64) ------------------- */

#define XSAVE_XMM(n)	(160 + 16 * (n))
#define XSAVE_HDR_BV	512		/* XSTATE_BV, low byte */
#define XFEATURE_FP_SSE	0x3

/* LOL_RUN with the monitor's xmm1 = pat; returns the monitor's xmm1 after. */
static __u64 run_keeping_xmm1(int fd, __u64 pat, long *ret)
{
	register long rax __asm__("rax") = SYS_ioctl;
	register long rdi __asm__("rdi") = fd;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = 0;
	__u64 out;

	__asm__ volatile("movq %[pat], %%xmm1\n\t"
			 "syscall\n\t"
			 "movq %%xmm1, %[out]"
			 : [out] "=r" (out), "+r" (rax)
			 : [pat] "r" (pat), "r" (rdi), "r" (rsi), "r" (rdx)
			 : "rcx", "r11", "xmm1", "memory");
	*ret = rax;
	return out;
}

TEST_F(guest, fpu_state)
{
	unsigned char *buf;
	__u64 monitor_xmm1;
	long size, ret;

	REQUIRE_RUN();
	size = LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_FPU);
	buf = aligned_alloc(64, (size + 63) & ~63L);
	ASSERT_NE(NULL, buf);

	/* The guest's xmm0 comes from LOL_SET_FPU. */
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, buf, size));
	memcpy(buf + XSAVE_XMM(0), &(__u64){ PAT1 }, 8);
	buf[XSAVE_HDR_BV] |= XFEATURE_FP_SSE;	/* SSE state not in init */
	ASSERT_EQ(0, lol_set_fpu(self->vcpu.fd, buf, size));

	LOAD(xmm);
	lol_arg1(self->run) = PAT2;
	monitor_xmm1 = run_keeping_xmm1(self->vcpu.fd, 0x5a5a5a5a5a5a5a5aULL,
					&ret);
	ASSERT_EQ(0, ret) TH_LOG("LOL_RUN: %s", lol_errno_name(-ret));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason);
	EXPECT_EQ(6, self->run->syscall.nr);
	EXPECT_EQ(PAT1, self->run->syscall.args[0]);
	/* The monitor's xmm1 survived the guest's write to its own. */
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, monitor_xmm1);

	/* ... which LOL_GET_FPU shows. */
	memset(buf, 0, size);
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, buf, size));
	EXPECT_EQ(0, memcmp(buf + XSAVE_XMM(1), &(__u64){ PAT2 }, 8));
	EXPECT_EQ(0, memcmp(buf + XSAVE_XMM(0), &(__u64){ PAT1 }, 8));
	free(buf);
}
#endif

TEST_HARNESS_MAIN
