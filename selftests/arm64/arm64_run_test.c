// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests, arm64: the run loop of the arm64 port. A syscall round
 * trip with every register checked, faults and traps (BRK, UDF), FP/SIMD
 * state kept exact across exits under load and signals (and SVE dropped
 * without a leak), kicks, host signals during guest user code and during
 * a NATIVE guest syscall, a program's own seccomp filter next to lol's
 * syscall entry, fork with lol's mark, single-step (plain instructions, a
 * fault, NATIVE and REFLECTed svc), monitor-mode reflection (an upcall
 * and LOL_RESUME), and the round trip against a native getpid().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "test_util.h"

#ifndef HWCAP2_SME
#define HWCAP2_SME	(1 << 23)
#endif

#define GUEST_CODE	0x400000ULL
#define GUEST_DATA	0x600000ULL
#define GUEST_RO	0x700000ULL
#define GUEST_STACK	0x800000ULL
#define PAGE		4096ULL

#define PHYS_CODE	0
#define PHYS_DATA	(16 * PAGE)
#define PHYS_RO		(17 * PAGE)
#define PHYS_STACK	(18 * PAGE)

/* Two syscalls; between them x9 takes the result, x10 TPIDR_EL0, x11 NZCV. */
LOL_GUEST_ASM(a64_two_svc,
	      "svc #0\n\t"
	      "mov x9, x0\n\t"
	      "mrs x10, tpidr_el0\n\t"
	      "mrs x11, nzcv\n\t"
	      "svc #0\n\t"
	      "b .\n");
LOL_GUEST_ASM(a64_load, "ldr x1, [x0]\n\tsvc #0\n");
LOL_GUEST_ASM(a64_store, "str x1, [x0]\n\tsvc #0\n");
LOL_GUEST_ASM(a64_brk, "nop\n\tbrk #0x123\n\tsvc #0\n");
LOL_GUEST_ASM(a64_udf, "udf #7\n\tsvc #0\n");
/* v0 ^= v1, then a syscall: the monitor predicts v0 after each exit. */
LOL_GUEST_ASM(a64_fp_loop,
	      "1: eor v0.16b, v0.16b, v1.16b\n\t"
	      "svc #0\n\t"
	      "b 1b\n");
/* SVE: a whole Z register written, then a syscall; then RDVL. */
LOL_GUEST_ASM(a64_sve,
	      ".arch_extension sve\n\t"
	      "dup z1.b, #0x5a\n\t"
	      "svc #0\n\t"
	      "rdvl x2, #1\n\t"
	      "mov z3.d, z1.d\n\t"
	      "svc #0\n");
/* The native round trip: getpid() forever (x8 = 172). */
LOL_GUEST_ASM(a64_getpid_loop,
	      "1: mov x8, #172\n\t"
	      "svc #0\n\t"
	      "b 1b\n");
/* nanosleep(x0, 0), as a NATIVE syscall: x8 = 101. */
LOL_GUEST_ASM(a64_nanosleep,
	      "mov x8, #101\n\t"
	      "svc #0\n\t"
	      "svc #0\n");

FIXTURE(a64)
{
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as;
};

FIXTURE_SETUP(a64)
{
	int sys = lol_open_sys();

	if (!lol_check_extension(sys, LOL_CAP_RUN)) {
		close(sys);
		SKIP(return, "no LOL_CAP_RUN");
	}
	close(sys);
	ASSERT_EQ(0, lol_vm_create(&self->vm, 32 * PAGE));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	self->run = self->vcpu.run;
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, GUEST_CODE, PHYS_CODE,
				4 * PAGE, LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, GUEST_DATA, PHYS_DATA,
				PAGE, LOL_PROT_READ | LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, GUEST_RO, PHYS_RO,
				PAGE, LOL_PROT_READ));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, GUEST_STACK - PAGE,
				PHYS_STACK, PAGE,
				LOL_PROT_READ | LOL_PROT_WRITE));
}

FIXTURE_TEARDOWN(a64)
{
	lol_vcpu_destroy(&self->vcpu);
	lol_vm_destroy(&self->vm);
}

/* Load a stub at GUEST_CODE and reset the registers to run it. */
#define a64_load_stub(self, name) do {					\
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&(self)->vm, PHYS_CODE, name));	\
	lol_vcpu_set_entry(&(self)->vcpu, (self)->as, GUEST_CODE,	\
			   GUEST_STACK);				\
} while (0)

#define a64_run_exit(self, reason) do {					\
	ASSERT_EQ(0, lol_run((self)->vcpu.fd)) {			\
		TH_LOG("LOL_RUN: %s", strerror(errno));			\
	}								\
	ASSERT_EQ(reason, (self)->run->exit_reason) {			\
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS((self)->run));	\
	}								\
} while (0)

/* Every register in, the same out, at both exits; the result lands in x0. */
TEST_F(a64, syscall_exact_regs)
{
	struct lol_regs want;
	unsigned long host_tp, tp_after;
	int i;

	a64_load_stub(self, a64_two_svc);
	for (i = 0; i < 31; i++)
		self->run->regs.x[i] = 0x1111111100000000ULL * (i + 1) + i;
	self->run->regs.x[8] = 0x1234;		/* not a host syscall */
	self->run->regs.sp = GUEST_STACK - 16;
	self->run->regs.pstate = 0x60000000;	/* Z and C */
	self->run->regs.tpidr = 0xabcdef0123456789ULL;
	want = self->run->regs;
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(host_tp));

	a64_run_exit(self, LOL_EXIT_SYSCALL);
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp_after));
	EXPECT_EQ(host_tp, tp_after);
	EXPECT_EQ(0x1234, self->run->syscall.nr);
	EXPECT_EQ(GUEST_CODE, self->run->syscall.ip);
	EXPECT_EQ(want.x[0], self->run->syscall.args[0]);
	EXPECT_EQ(want.x[5], self->run->syscall.args[5]);
	want.pc = GUEST_CODE + 4;
	for (i = 0; i < 31; i++)
		EXPECT_EQ(want.x[i], self->run->regs.x[i]) {
			TH_LOG("x%d", i);
		}
	EXPECT_EQ(want.sp, self->run->regs.sp);
	EXPECT_EQ(want.pc, self->run->regs.pc);
	EXPECT_EQ(want.pstate, self->run->regs.pstate);
	EXPECT_EQ(want.tpidr, self->run->regs.tpidr);

	/* A 64-bit result that does not fit the ioctl's int. */
	self->run->regs.x[0] = 0x8000000000000042ULL;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(GUEST_CODE + 16, self->run->syscall.ip);
	EXPECT_EQ(0x8000000000000042ULL, self->run->regs.x[9]);
	EXPECT_EQ(want.tpidr, self->run->regs.x[10]);
	EXPECT_EQ(0x60000000, self->run->regs.x[11]);
	EXPECT_EQ(want.x[12], self->run->regs.x[12]);
	EXPECT_EQ(want.x[30], self->run->regs.x[30]);
	EXPECT_EQ(2, self->run->nr_exits);
}

/* pstate bits EL0 cannot set, a kernel pc, tpidr2 without SME: -EINVAL. */
TEST_F(a64, bad_regs)
{
	static const __u64 bad_pstate[] = {
		0x3c0,		/* DAIF */
		0x5,		/* EL1h */
		0x10,		/* AArch32 */
		1 << 21,	/* SS */
		1 << 22,	/* PAN */
	};
	int i;

	a64_load_stub(self, a64_two_svc);
	for (i = 0; i < ARRAY_SIZE(bad_pstate); i++) {
		self->run->regs.pstate = bad_pstate[i];
		EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
	}
	self->run->regs.pstate = 0;
	self->run->regs.pc = 0xffff000000001000ULL;
	EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
	self->run->regs.pc = GUEST_CODE;
	self->run->regs.reserved[3] = 1;
	EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
	self->run->regs.reserved[3] = 0;
	if (!(getauxval(AT_HWCAP2) & HWCAP2_SME)) {
		self->run->regs.tpidr2 = 1;
		EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
		self->run->regs.tpidr2 = 0;
	}
	/* A LOL_RUN flag nobody knows (single-step: its own test). */
	self->run->flags = LOL_RUN_SINGLESTEP << 1;
	EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
	self->run->flags = 0;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
}

TEST_F(a64, faults)
{
	a64_load_stub(self, a64_load);
	self->run->regs.x[0] = 0x10000000;
	a64_run_exit(self, LOL_EXIT_FAULT);
	EXPECT_EQ(0x10000000, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_READ, self->run->fault.access);
	EXPECT_EQ(0, self->run->fault.flags);
	EXPECT_EQ(GUEST_CODE, self->run->fault.ip);
	EXPECT_EQ(0x24, self->run->fault.error_code >> 26);	/* DABT_LOW */

	/* Mapped, read-only: a write is refused, with the PTE there. */
	a64_load_stub(self, a64_store);
	self->run->regs.x[0] = GUEST_RO + 8;
	a64_run_exit(self, LOL_EXIT_FAULT);
	EXPECT_EQ(GUEST_RO + 8, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_WRITE, self->run->fault.access);
	EXPECT_EQ(LOL_FAULT_PRESENT, self->run->fault.flags);

	/* The monitor maps it writable and the store goes through. */
	ASSERT_EQ(0, lol_as_protect(self->vm.guest, self->as, GUEST_RO, PAGE,
				    LOL_PROT_READ | LOL_PROT_WRITE));
	self->run->regs.x[1] = 0x5555aaaa5555aaaaULL;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(0x5555aaaa5555aaaaULL,
		  *(__u64 *)lol_vm_phys(&self->vm, PHYS_RO + 8, 8));

	/* Unmapped again: the write faults, not present. */
	ASSERT_EQ(0, lol_as_unmap(self->vm.guest, self->as, GUEST_RO, PAGE));
	lol_vcpu_set_entry(&self->vcpu, self->as, GUEST_CODE, GUEST_STACK);
	self->run->regs.x[0] = GUEST_RO;
	a64_run_exit(self, LOL_EXIT_FAULT);
	EXPECT_EQ(GUEST_RO, self->run->fault.addr);
	EXPECT_EQ(0, self->run->fault.flags);

	/* An instruction fetch from nowhere. */
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, PHYS_CODE, lol_stub_jump));
	lol_vcpu_set_entry(&self->vcpu, self->as, GUEST_CODE, GUEST_STACK);
	lol_arg0(self->run) = 0x20000000;
	a64_run_exit(self, LOL_EXIT_FAULT);
	EXPECT_EQ(0x20000000, self->run->fault.addr);
	EXPECT_EQ(LOL_FAULT_EXEC, self->run->fault.access);
	EXPECT_EQ(0x20000000, lol_pc(self->run));
}

TEST_F(a64, traps)
{
	a64_load_stub(self, a64_brk);
	a64_run_exit(self, LOL_EXIT_TRAP);
	EXPECT_EQ(LOL_ARM64_EC_BRK, self->run->trap.vector);
	EXPECT_EQ(0x123, self->run->trap.error_code & 0xffff);
	EXPECT_EQ(GUEST_CODE + 4, self->run->trap.ip);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));
	/* Past the BRK, the guest goes on. */
	lol_pc(self->run) += 4;
	a64_run_exit(self, LOL_EXIT_SYSCALL);

	a64_load_stub(self, a64_udf);
	a64_run_exit(self, LOL_EXIT_TRAP);
	EXPECT_EQ(LOL_ARM64_EC_UNKNOWN, self->run->trap.vector);
	EXPECT_EQ(GUEST_CODE, self->run->trap.ip);

	/* A misaligned pc. */
	a64_load_stub(self, a64_udf);
	lol_pc(self->run) = GUEST_CODE + 2;
	a64_run_exit(self, LOL_EXIT_TRAP);
	EXPECT_EQ(LOL_ARM64_EC_PC_ALIGN, self->run->trap.vector);
}

/* ---- FP/SIMD ------------------------------------------------------------ */

/*
 * LOL_RUN with the monitor's v0-v31 loaded from @in, and stored to @out
 * right after: the monitor's registers must come back as they were.
 */
static long a64_run_fp(int fd, const void *in, void *out)
{
	register long x0 __asm__("x0") = fd;
	register long x1 __asm__("x1") = LOL_RUN;
	register long x2 __asm__("x2") = 0;
	register long x8 __asm__("x8") = __NR_ioctl;
	const void *i = in;
	void *o = out;

	__asm__ volatile(
		"ld1 {v0.16b-v3.16b}, [%[i]], #64\n\t"
		"ld1 {v4.16b-v7.16b}, [%[i]], #64\n\t"
		"ld1 {v8.16b-v11.16b}, [%[i]], #64\n\t"
		"ld1 {v12.16b-v15.16b}, [%[i]], #64\n\t"
		"ld1 {v16.16b-v19.16b}, [%[i]], #64\n\t"
		"ld1 {v20.16b-v23.16b}, [%[i]], #64\n\t"
		"ld1 {v24.16b-v27.16b}, [%[i]], #64\n\t"
		"ld1 {v28.16b-v31.16b}, [%[i]], #64\n\t"
		"svc #0\n\t"
		"st1 {v0.16b-v3.16b}, [%[o]], #64\n\t"
		"st1 {v4.16b-v7.16b}, [%[o]], #64\n\t"
		"st1 {v8.16b-v11.16b}, [%[o]], #64\n\t"
		"st1 {v12.16b-v15.16b}, [%[o]], #64\n\t"
		"st1 {v16.16b-v19.16b}, [%[o]], #64\n\t"
		"st1 {v20.16b-v23.16b}, [%[o]], #64\n\t"
		"st1 {v24.16b-v27.16b}, [%[o]], #64\n\t"
		"st1 {v28.16b-v31.16b}, [%[o]], #64\n\t"
		: "+r"(x0), [i] "+r"(i), [o] "+r"(o)
		: "r"(x1), "r"(x2), "r"(x8)
		: "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",
		  "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
		  "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
		  "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
	return x0;
}

static volatile int a64_load_stop;

/* Load: FP work on another thread, and timer signals on this one. */
static void *a64_fp_hog(void *arg)
{
	double d = 1.0;

	while (!a64_load_stop) {
		d = d * 1.0000001 + 0.5;
		__asm__ volatile("fmov d0, %d0\n\tfmov d31, %d0\n\t"
				 "dup v7.16b, w0\n\t" : : "w"(d) : "v0", "v7", "v31");
	}
	return NULL;
}

static volatile unsigned long a64_alarms;

static void a64_alarm(int sig)
{
	volatile double d = 3.0;

	/* FP in the handler too: it must not see the guest's. */
	d = d * d;
	a64_alarms += d == 9.0;
}

TEST_F(a64, fpsimd_exact)
{
	struct lol_fpsimd g, got;
	unsigned char hin[512], hout[512];
	__uint128_t v0;
	pthread_t hog;
	timer_t timer;
	int i, n, intr = 0;
	long r;

	ASSERT_EQ(sizeof(g), lol_check_extension(self->vm.sys, LOL_CAP_FPU));
	a64_load_stub(self, a64_fp_loop);
	memset(&g, 0, sizeof(g));
	for (i = 0; i < 32; i++)
		g.vregs[i] = ((__uint128_t)0x0123456789abcdefULL << 64 |
			      0xfedcba9876543210ULL) * (i + 3);
	g.fpcr = 0x03c00000;	/* rounding mode, FZ, DN: a non-zero one */
	ASSERT_EQ(0, lol_set_fpu(self->vcpu.fd, &g, sizeof(g)));
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, &got, sizeof(got)));
	EXPECT_EQ(0, memcmp(&g, &got, sizeof(g)));
	got.reserved[0] = 1;
	EXPECT_ERRNO(EINVAL, lol_set_fpu(self->vcpu.fd, &got, sizeof(got)));

	for (i = 0; i < 512; i++)
		hin[i] = i * 7 + 1;
	signal(SIGALRM, a64_alarm);
	ASSERT_EQ(0, lol_thread_timer(SIGALRM, 200 * 1000, &timer));
	ASSERT_EQ(0, pthread_create(&hog, NULL, a64_fp_hog, NULL));

	v0 = g.vregs[0];
	for (n = 0; n < 3000; ) {
		memset(hout, 0, sizeof(hout));
		r = a64_run_fp(self->vcpu.fd, hin, hout);
		ASSERT_EQ(0, memcmp(hin, hout, sizeof(hin))) {
			TH_LOG("monitor's v registers changed by LOL_RUN %d", n);
		}
		if (r == -EINTR) {
			/* A timer signal during guest mode: no exit taken. */
			EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
			intr++;
			continue;
		}
		ASSERT_EQ(0, r);
		ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason);
		v0 ^= g.vregs[1];
		n++;
		if (n % 100)
			continue;
		ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, &got, sizeof(got)));
		ASSERT_TRUE(got.vregs[0] == v0) {
			TH_LOG("guest v0 wrong after %d exits", n);
		}
		for (i = 1; i < 32; i++)
			ASSERT_TRUE(got.vregs[i] == g.vregs[i]) {
				TH_LOG("guest v%d wrong after %d exits", i, n);
			}
		EXPECT_EQ(g.fpcr, got.fpcr);
	}
	a64_load_stop = 1;
	pthread_join(hog, NULL);
	timer_delete(timer);
	signal(SIGALRM, SIG_DFL);
	TH_LOG("%d exits, %d LOL_RUNs ended by a timer signal, %lu handlers",
	       n, intr, a64_alarms);
}

/*
 * SVE: the guest's Z registers are cut to their V part at every exit,
 * and nothing of the guest's SVE state reaches the monitor or back.
 */
TEST_F(a64, sve_dropped)
{
	struct lol_fpsimd got;
	__uint128_t want;
	int i;

	if (!(getauxval(AT_HWCAP) & HWCAP_SVE))
		SKIP(return, "no SVE");
	a64_load_stub(self, a64_sve);
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, &got, sizeof(got)));
	memset(&want, 0x5a, sizeof(want));
	EXPECT_TRUE(got.vregs[1] == want);
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	/* SVE still works in the guest, with the host's vector length. */
	EXPECT_NE(0, self->run->regs.x[2]);
	EXPECT_EQ(0, self->run->regs.x[2] % 16);
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, &got, sizeof(got)));
	/* z3 = z1 after the exit: the V part survived, the rest is zero. */
	EXPECT_TRUE(got.vregs[3] == want);
	for (i = 0; i < 32; i++)
		if (i != 1 && i != 3)
			EXPECT_TRUE(got.vregs[i] == 0);
}

/* ---- kicks and signals -------------------------------------------------- */

struct a64_poke {
	int fd;
	pthread_t target;
	int sig;
	long delay_ms;
};

static void *a64_poker(void *arg)
{
	struct a64_poke *p = arg;
	struct timespec ts = { 0, p->delay_ms * 1000000 };

	nanosleep(&ts, NULL);
	if (p->sig)
		pthread_kill(p->target, p->sig);
	else
		lol_kick(p->fd);
	return NULL;
}

static volatile int a64_usr1;

static void a64_on_usr1(int sig)
{
	a64_usr1++;
}

TEST_F(a64, kick_and_signals)
{
	struct a64_poke p = { .fd = self->vcpu.fd, .target = pthread_self() };
	struct a64_poke k = { 0 };
	pthread_t t, kt;

	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, PHYS_CODE, lol_stub_spin));
	lol_vcpu_set_entry(&self->vcpu, self->as, GUEST_CODE, GUEST_STACK);

	/* A kick. */
	p.delay_ms = 50;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	a64_run_exit(self, LOL_EXIT_KICK);
	pthread_join(t, NULL);
	EXPECT_EQ(GUEST_CODE, lol_pc(self->run));

	/* A signal with a handler: LOL_RUN fails with EINTR. */
	signal(SIGUSR1, a64_on_usr1);
	p.sig = SIGUSR1;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	EXPECT_ERRNO(EINTR, lol_run(self->vcpu.fd));
	pthread_join(t, NULL);
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(1, a64_usr1);
	EXPECT_EQ(GUEST_CODE, lol_pc(self->run));

	/*
	 * A signal whose default is to be ignored: LOL_RUN restarts, the
	 * guest goes on, and only the kick after it ends the run.
	 */
	p.sig = SIGCONT;
	p.delay_ms = 30;
	k.fd = self->vcpu.fd;
	k.delay_ms = 200;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	ASSERT_EQ(0, pthread_create(&kt, NULL, a64_poker, &k));
	a64_run_exit(self, LOL_EXIT_KICK);
	pthread_join(kt, NULL);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
}

/*
 * The a64_nanosleep stub with its svc NATIVE and a 30 s sleep, x0 the
 * timespec (returned, NULL if the ranges fail): a syscall that blocks
 * until something interrupts it. (a64_load_stub() asserts through
 * _metadata.)
 */
static struct timespec *
a64_native_sleep_setup(struct __test_metadata *_metadata,
		       FIXTURE_DATA(a64) *self)
{
	struct lol_syscall_ranges r = {
		.flags = LOL_RANGES_GUEST,
		.nr_ranges = 1,
		.default_action = LOL_RANGE_REFLECT,
	};
	struct timespec *ts = lol_vm_phys(&self->vm, PHYS_DATA, sizeof(*ts));

	r.ranges[0].start = GUEST_CODE + 4;
	r.ranges[0].end = GUEST_CODE + 8;
	r.ranges[0].action = LOL_RANGE_NATIVE;
	if (lol_set_syscall_ranges(self->vcpu.fd, &r))
		return NULL;
	a64_load_stub(self, a64_nanosleep);
	ts->tv_sec = 30;
	ts->tv_nsec = 0;
	self->run->regs.x[0] = GUEST_DATA;
	return ts;
}

/*
 * A NATIVE guest syscall interrupted by a host signal: the guest's
 * registers are rewound to the svc with x0 as it was (arm64's do_signal()
 * does that before get_signal()), and the monitor gets EINTR.
 */
TEST_F(a64, native_syscall_interrupted)
{
	struct a64_poke p = { .target = pthread_self(), .sig = SIGUSR1,
			      .delay_ms = 100 };
	struct timespec *ts = a64_native_sleep_setup(_metadata, self);
	pthread_t t;

	ASSERT_NE(NULL, ts);
	signal(SIGUSR1, a64_on_usr1);
	a64_usr1 = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	EXPECT_ERRNO(EINTR, lol_run(self->vcpu.fd));
	pthread_join(t, NULL);
	EXPECT_EQ(1, a64_usr1);
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));
	EXPECT_EQ(GUEST_DATA, self->run->regs.x[0]);
	EXPECT_EQ(101, self->run->regs.x[8]);

	/* Again, ended by a kick: the same rewind, LOL_RUN returns 0. */
	p.sig = 0;
	p.fd = self->vcpu.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	a64_run_exit(self, LOL_EXIT_KICK);
	pthread_join(t, NULL);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));
	EXPECT_EQ(GUEST_DATA, self->run->regs.x[0]);

	/* A short sleep runs to its end, then the REFLECTed svc exits. */
	ts->tv_sec = 0;
	ts->tv_nsec = 1000000;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(GUEST_CODE + 8, self->run->syscall.ip);
	EXPECT_EQ(0, self->run->regs.x[0]);
	signal(SIGUSR1, SIG_DFL);
}

/* ---- lol's syscall entry next to seccomp ------------------------------- */

/*
 * In a child: a seccomp filter of the program's own (getppid fails with
 * EPERM), then a guest whose getppid is NATIVE and whose other syscalls
 * are REFLECTed. The filter applies to the NATIVE one; the REFLECTed ones
 * still exit; the monitor's own syscalls go through the filter.
 */
TEST_F(a64, own_seccomp_filter)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K,
				 SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { ARRAY_SIZE(f), f };
		struct lol_syscall_ranges r = {
			.flags = LOL_RANGES_GUEST,
			.nr_ranges = 1,
			.default_action = LOL_RANGE_REFLECT,
		};
		struct lol_vm vm;
		struct lol_vcpu vcpu;
		__u32 as;

		/* A guest of its own: the parent's answers only the parent. */
		if (lol_vm_create(&vm, 4 * PAGE) ||
		    lol_vm_add_vcpu(&vm, 0, &vcpu) || lol_vm_new_as(&vm, &as) ||
		    lol_vm_map(&vm, as, GUEST_CODE, 0, PAGE,
			       LOL_PROT_READ | LOL_PROT_EXEC))
			_exit(9);

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(10);
		if (syscall(__NR_getppid) != -1 || errno != EPERM)
			_exit(11);
		r.ranges[0].start = GUEST_CODE;
		r.ranges[0].end = GUEST_CODE + 8;
		r.ranges[0].action = LOL_RANGE_NATIVE;
		if (lol_set_syscall_ranges(vcpu.fd, &r))
			_exit(12);
		/* svc at +0 (NATIVE getppid: x8 = 173), svc at +8 REFLECT */
		lol_vcpu_set_entry(&vcpu, as, GUEST_CODE,
				   GUEST_STACK);
		{
			static const unsigned int code[] = {
				0xd4000001,	/* svc #0 */
				0xaa0003e9,	/* mov x9, x0 */
				0xd4000001,	/* svc #0 */
			};

			if (lol_vm_load(&vm, 0, code,
					sizeof(code)))
				_exit(13);
		}
		vcpu.run->regs.x[8] = __NR_getppid;
		if (lol_run(vcpu.fd) ||
		    vcpu.run->exit_reason != LOL_EXIT_SYSCALL)
			_exit(14);
		if (vcpu.run->regs.x[9] != (__u64)-EPERM)
			_exit(15);
		if (syscall(__NR_getppid) != -1 || errno != EPERM)
			_exit(16);
		if (getpid() <= 0)
			_exit(17);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Monitor mode keeps lol's mark on the thread between syscalls; a fork
 * child inherits it, and its first syscall lets go of it.
 */
TEST_F(a64, fork_with_mark)
{
	struct lol_syscall_ranges r = {
		.flags = LOL_RANGES_MONITOR,
		.default_action = LOL_RANGE_NATIVE,
	};
	pid_t pid;
	int status;

	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
	pid = fork();
	if (pid == 0)
		_exit(getpid() > 0 && getppid() > 0 ? 0 : 1);
	ASSERT_LE(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
}

/*
 * x8 = -1 (NO_SYSCALL): the host writes -ENOSYS over x0 before the hook;
 * the exit still shows the guest's x0.
 */
TEST_F(a64, syscall_nr_minus_one)
{
	a64_load_stub(self, a64_two_svc);
	self->run->regs.x[0] = 0x77;
	self->run->regs.x[8] = ~0ULL;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(~0ULL, self->run->syscall.nr);
	EXPECT_EQ(0x77, self->run->syscall.args[0]);
	EXPECT_EQ(0x77, self->run->regs.x[0]);
}

/* ---- single-step -------------------------------------------------------- */

/* Offsets: 16 the load, 24 the NATIVE svc, 32 and 36 REFLECTed ones. */
LOL_GUEST_ASM(a64_step,
	      "add x1, x1, #1\n\t"
	      "add x2, x2, #2\n\t"
	      "mov x3, sp\n\t"
	      "subs x4, x1, x1\n\t"
	      "ldr x6, [x7]\n\t"
	      "mov x8, #172\n\t"
	      "svc #0\n\t"
	      "add x5, x0, #1\n\t"
	      "svc #0\n\t"
	      "svc #0\n");

/* The run page's registers are @want, every one of them. */
#define a64_expect_regs(self, want) do {				\
	const struct lol_regs *_g = &(self)->run->regs;			\
	int _i;								\
									\
	for (_i = 0; _i < 31; _i++)					\
		EXPECT_EQ((want).x[_i], _g->x[_i]) {			\
			TH_LOG("x%d", _i);				\
		}							\
	EXPECT_EQ((want).sp, _g->sp);					\
	EXPECT_EQ((want).pc, _g->pc);					\
	EXPECT_EQ((want).pstate, _g->pstate);				\
	EXPECT_EQ((want).tpidr, _g->tpidr);				\
	EXPECT_EQ((want).tpidr2, _g->tpidr2);				\
} while (0)

/* One step: a trap exit with EC 0x32, pc 4 bytes on, @want exact. */
#define a64_step_over(self, want) do {					\
	(want).pc += 4;							\
	a64_run_exit(self, LOL_EXIT_TRAP);				\
	EXPECT_EQ(LOL_ARM64_EC_SOFTSTEP, (self)->run->trap.vector);	\
	EXPECT_EQ(LOL_ARM64_EC_SOFTSTEP,				\
		  (self)->run->trap.error_code >> 26);			\
	EXPECT_EQ((want).pc, (self)->run->trap.ip);			\
	a64_expect_regs(self, want);					\
} while (0)

/*
 * LOL_RUN_SINGLESTEP: one instruction per LOL_RUN, each a trap exit with
 * EC 0x32 (software step) and pc at the next instruction, every register
 * exact. A fault exits as a fault; a NATIVE svc is one instruction (the
 * exit comes as it returns, its result in x0); a REFLECTed one is a
 * syscall exit; without the flag the guest runs on. The monitor never
 * sees a SIGTRAP of its own (it would die of it).
 */
TEST_F(a64, singlestep)
{
	struct lol_syscall_ranges r = {
		.flags = LOL_RANGES_GUEST,
		.nr_ranges = 1,
		.default_action = LOL_RANGE_REFLECT,
	};
	unsigned long long exits;
	struct lol_regs want;
	int i, sys;

	sys = lol_open_sys();
	EXPECT_EQ(1, lol_check_extension(sys, LOL_CAP_SINGLESTEP));
	close(sys);
	r.ranges[0].start = GUEST_CODE + 24;
	r.ranges[0].end = GUEST_CODE + 28;
	r.ranges[0].action = LOL_RANGE_NATIVE;
	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
	a64_load_stub(self, a64_step);
	for (i = 0; i < 31; i++)
		self->run->regs.x[i] = 0x1111111100000000ULL * (i + 1) + i;
	self->run->regs.x[7] = 0x900000;	/* not mapped */
	self->run->regs.sp = GUEST_STACK - 32;
	self->run->regs.tpidr = 0xabcdef0123456789ULL;
	self->run->flags = LOL_RUN_SINGLESTEP;
	want = self->run->regs;
	exits = self->run->nr_exits;

	want.x[1] += 1;
	a64_step_over(self, want);			/* add x1 */
	want.x[2] += 2;
	a64_step_over(self, want);			/* add x2 */
	want.x[3] = want.sp;
	a64_step_over(self, want);			/* mov x3, sp */
	want.x[4] = 0;
	want.pstate = 0x60000000;			/* Z and C */
	a64_step_over(self, want);			/* subs x4 */
	EXPECT_EQ(exits + 4, self->run->nr_exits);

	/* The load faults: a fault exit, pc still at it. */
	a64_run_exit(self, LOL_EXIT_FAULT);
	EXPECT_EQ(0x900000, self->run->fault.addr);
	EXPECT_EQ(GUEST_CODE + 16, self->run->fault.ip);
	a64_expect_regs(self, want);
	self->run->regs.x[7] = GUEST_CODE;
	want.x[7] = GUEST_CODE;
	memcpy(&want.x[6], a64_step_start, 8);
	a64_step_over(self, want);			/* ldr x6, [x7] */
	want.x[8] = 172;
	a64_step_over(self, want);			/* mov x8, #172 */

	/* The NATIVE getpid: one step, its result in x0. */
	want.x[0] = getpid();
	a64_step_over(self, want);			/* svc */
	want.x[5] = want.x[0] + 1;
	a64_step_over(self, want);			/* add x5 */
	EXPECT_EQ(exits + 9, self->run->nr_exits);

	/* A REFLECTed svc exits as a syscall, not as a step. */
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(172, self->run->syscall.nr);
	EXPECT_EQ(GUEST_CODE + 32, self->run->syscall.ip);
	want.pc += 4;
	a64_expect_regs(self, want);

	/* Without the flag the guest runs on to the next svc. */
	self->run->flags = 0;
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	EXPECT_EQ(GUEST_CODE + 36, self->run->syscall.ip);
	EXPECT_EQ(exits + 11, self->run->nr_exits);
	EXPECT_EQ(getpid(), syscall(__NR_getpid));
}

/*
 * Stepping a NATIVE nanosleep that a kick or a host signal interrupts:
 * the kick or signal exit, the svc rewound as without the flag, and no
 * step left behind for the monitor; run to its end, the sleep is one
 * step with its result.
 */
TEST_F(a64, singlestep_native_interrupted)
{
	struct a64_poke p = { .fd = self->vcpu.fd, .target = pthread_self(),
			      .delay_ms = 100 };
	struct timespec *ts = a64_native_sleep_setup(_metadata, self);
	pthread_t t;

	ASSERT_NE(NULL, ts);
	self->run->flags = LOL_RUN_SINGLESTEP;
	a64_run_exit(self, LOL_EXIT_TRAP);		/* mov x8, #101 */
	EXPECT_EQ(LOL_ARM64_EC_SOFTSTEP, self->run->trap.vector);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));

	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	a64_run_exit(self, LOL_EXIT_KICK);
	pthread_join(t, NULL);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));
	EXPECT_EQ(GUEST_DATA, self->run->regs.x[0]);

	signal(SIGUSR1, a64_on_usr1);
	a64_usr1 = 0;
	p.sig = SIGUSR1;
	ASSERT_EQ(0, pthread_create(&t, NULL, a64_poker, &p));
	EXPECT_ERRNO(EINTR, lol_run(self->vcpu.fd));
	pthread_join(t, NULL);
	EXPECT_EQ(1, a64_usr1);
	EXPECT_EQ(LOL_EXIT_INTR, self->run->exit_reason);
	EXPECT_EQ(GUEST_CODE + 4, lol_pc(self->run));
	signal(SIGUSR1, SIG_DFL);
	/* The monitor's own syscalls: no stray step trap. */
	EXPECT_EQ(getpid(), syscall(__NR_getpid));

	ts->tv_sec = 0;
	ts->tv_nsec = 1000000;
	a64_run_exit(self, LOL_EXIT_TRAP);		/* svc: the sleep */
	EXPECT_EQ(LOL_ARM64_EC_SOFTSTEP, self->run->trap.vector);
	EXPECT_EQ(GUEST_CODE + 8, lol_pc(self->run));
	EXPECT_EQ(0, self->run->regs.x[0]);
	a64_run_exit(self, LOL_EXIT_SYSCALL);		/* REFLECTed svc */
	EXPECT_EQ(GUEST_CODE + 8, self->run->syscall.ip);
}

/* ---- monitor mode: in-place reflection ---------------------------------- */

/*
 * long a64_mon_svc(long nr, long arg): svc with x8 = nr, x0 = arg, x9 =
 * 0x99, x10 = the return address, x11 = sp and x12 = 0; returns x0 + x12
 * after it. A native syscall leaves x12 alone, so that is its result; an
 * upcall answers through the run page, x12 included.
 *
 * The label is global and hidden: the tests are compiled as PIE and
 * linked static, and a GOT entry for a local asm label would hold the
 * start of its section, not the label (the range would miss the svc).
 */
long a64_mon_svc(long nr, long arg);
extern const char a64_mon_svc_insn[] __attribute__((visibility("hidden")));
__asm__(".pushsection .text\n"
	".globl a64_mon_svc\n"
	".type a64_mon_svc, %function\n"
	"a64_mon_svc:\n\t"
	"mov x8, x0\n\t"
	"mov x0, x1\n\t"
	"mov x9, #0x99\n\t"
	"mov x10, x30\n\t"
	"mov x11, sp\n\t"
	"mov x12, #0\n"
	".globl a64_mon_svc_insn\n"
	".hidden a64_mon_svc_insn\n"
	"a64_mon_svc_insn:\n\t"
	"svc #0\n\t"
	"add x0, x0, x12\n\t"
	"ret\n"
	".size a64_mon_svc, . - a64_mon_svc\n"
	".popsection\n");

static struct lol_run *a64_mon_run;
static int a64_mon_fd;
static volatile int a64_mon_hits;
/* What the upcall found: the run page, TPIDR_EL0, sp, a getpid(). */
static struct lol_run a64_mon_seen;
static unsigned long a64_mon_tpidr, a64_mon_sp;
static long a64_mon_pid;
static unsigned char a64_mon_stack[65536] __attribute__((aligned(16)));

/*
 * The upcall: the syscall's registers are in the run page. Answer
 * nr + arg in x0 and 0x1200 in x12, and resume (a syscall from the
 * upcall, getpid() here, runs natively).
 */
static void __attribute__((noreturn, used)) a64_upcall(void)
{
	struct lol_run *run = a64_mon_run;
	unsigned long sp;

	__asm__ volatile("mov %0, sp" : "=r" (sp));
	a64_mon_sp = sp;
	__asm__ volatile("mrs %0, tpidr_el0" : "=r" (a64_mon_tpidr));
	a64_mon_seen = *run;
	a64_mon_pid = syscall(__NR_getpid);
	a64_mon_hits++;
	run->regs.x[0] = run->syscall.nr + run->syscall.args[0];
	run->regs.x[12] = 0x1200;
	ioctl(a64_mon_fd, LOL_RESUME, 0);
	abort();
}

/*
 * A REFLECT range on the monitor's own svc: the upcall runs on its
 * stack with the registers of the svc in the run page (pc past it, x0
 * as the caller left it, TPIDR_EL0 the thread's), and LOL_RESUME goes
 * back past the svc with the run page's registers.
 */
TEST_F(a64, monitor_reflect)
{
	struct lol_syscall_ranges r = {
		.flags = LOL_RANGES_MONITOR,
		.nr_ranges = 1,
		.default_action = LOL_RANGE_NATIVE,
		.entry = (unsigned long)a64_upcall,
		.stack = (unsigned long)a64_mon_stack + sizeof(a64_mon_stack),
	};
	const struct lol_regs *g = &a64_mon_seen.regs;
	unsigned long insn = (unsigned long)a64_mon_svc_insn;
	unsigned long tpidr;
	unsigned int i;
	long ret;

	a64_mon_run = self->run;
	a64_mon_fd = self->vcpu.fd;
	r.ranges[0].start = insn;
	r.ranges[0].end = insn + 4;
	r.ranges[0].action = LOL_RANGE_REFLECT;
	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
	/* Outside the range: native (getpid). */
	EXPECT_EQ(getpid(), syscall(__NR_getpid));
	EXPECT_EQ(0, a64_mon_hits);

	ret = a64_mon_svc(4000, 242);
	ASSERT_EQ(1, a64_mon_hits);
	EXPECT_EQ(4000 + 242 + 0x1200, ret);
	EXPECT_EQ(1, self->run->nr_exits);
	EXPECT_EQ(LOL_EXIT_SYSCALL, a64_mon_seen.exit_reason);
	EXPECT_EQ(4000, a64_mon_seen.syscall.nr);
	EXPECT_EQ(insn, a64_mon_seen.syscall.ip);
	EXPECT_EQ(242, a64_mon_seen.syscall.args[0]);
	EXPECT_EQ(242, a64_mon_seen.syscall.args[1]);
	/* The registers at the svc, exactly. */
	EXPECT_EQ(insn + 4, g->pc);
	EXPECT_EQ(242, g->x[0]);
	EXPECT_EQ(242, g->x[1]);
	EXPECT_EQ(4000, g->x[8]);
	EXPECT_EQ(0x99, g->x[9]);
	EXPECT_EQ(g->x[30], g->x[10]);
	EXPECT_EQ(g->sp, g->x[11]);
	EXPECT_EQ(0, g->x[12]);
	__asm__ volatile("mrs %0, tpidr_el0" : "=r" (tpidr));
	EXPECT_EQ(tpidr, g->tpidr);
	EXPECT_EQ(tpidr, a64_mon_tpidr);
	for (i = 0; i < sizeof(g->reserved) / sizeof(g->reserved[0]); i++)
		EXPECT_EQ(0, g->reserved[i]);
	/* On the upcall stack, inside it; a native syscall from there. */
	EXPECT_LT(a64_mon_sp, r.stack);
	EXPECT_GE(a64_mon_sp, (unsigned long)a64_mon_stack);
	EXPECT_EQ(getpid(), a64_mon_pid);

	ret = a64_mon_svc(__NR_getpid, 1);
	EXPECT_EQ(__NR_getpid + 1 + 0x1200, ret);
	EXPECT_EQ(2, a64_mon_hits);
	EXPECT_EQ(2, self->run->nr_exits);
	EXPECT_EQ(__NR_getpid, a64_mon_seen.syscall.nr);

	memset(&r, 0, sizeof(r));
	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
	/* Unbound: the same instruction runs natively. */
	EXPECT_EQ(getpid(), a64_mon_svc(__NR_getpid, 0));
	EXPECT_EQ(2, a64_mon_hits);
	/* Outside an upcall, LOL_RESUME has nothing to return to. */
	EXPECT_EQ(-1, ioctl(self->vcpu.fd, LOL_RESUME, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* ---- the round trip ---------------------------------------------------- */

static double a64_ns(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e9 + (b->tv_nsec - a->tv_nsec);
}

/*
 * A REFLECTed guest syscall and back (LOL_RUN, guest svc, exit) against a
 * native getpid() in the same process, and a NATIVE guest getpid().
 */
TEST_F(a64, round_trip)
{
	struct lol_syscall_ranges r = {
		.flags = LOL_RANGES_GUEST,
		.default_action = LOL_RANGE_NATIVE,
	};
	struct a64_poke k = { .fd = self->vcpu.fd, .delay_ms = 300 };
	unsigned long long before;
	const int n = 20000;
	struct timespec t0, t1;
	pthread_t kt;
	double lol, native;
	int i;

	a64_load_stub(self, a64_getpid_loop);
	a64_run_exit(self, LOL_EXIT_SYSCALL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (lol_run(self->vcpu.fd) ||
		    self->run->exit_reason != LOL_EXIT_SYSCALL)
			break;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(n, i);
	lol = a64_ns(&t0, &t1) / n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		syscall(__NR_getpid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	native = a64_ns(&t0, &t1) / n;

	/* NATIVE getpid in the guest: a kick after a while ends it. */
	ASSERT_EQ(0, lol_set_syscall_ranges(self->vcpu.fd, &r));
	before = self->run->nr_exits;
	ASSERT_EQ(0, pthread_create(&kt, NULL, a64_poker, &k));
	a64_run_exit(self, LOL_EXIT_KICK);
	pthread_join(kt, NULL);
	EXPECT_EQ(before + 1, self->run->nr_exits);
	printf("# arm64 round trip: LOL_RUN + guest svc + exit %.0f ns, native getpid() %.0f ns (%.1fx), %d each\n",
	       lol, native, lol / native, n);
}

TEST_HARNESS_MAIN
