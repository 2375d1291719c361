// SPDX-License-Identifier: GPL-2.0
/*
 * fpu_test: the guest's FP/vector state is kept exact across exits, in
 * every register bank the CPU has (x87, SSE + MXCSR, AVX, AVX-512 opmask
 * and ZMM), while the monitor uses its own FP state freely; the monitor's
 * state survives the guest; LOL_GET_FPU/LOL_SET_FPU read and write the
 * guest's state in the standard XSAVE layout. gVisor once lost SVE state
 * this way (#10900): every bank is checked, not a sample.
 */
#include <cpuid.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_SIZE	(16 * 4096)
#define CODE_GVA	0x400000ULL	/* phys 0 */
#define DATA_GVA	0x600000ULL	/* phys 4096 .. 4096 + 3 * 4096: patterns */
#define OUT_GVA		0x610000ULL	/* phys 4 * 4096 .. : what the guest saw */
#define DATA_PHYS	4096
#define OUT_PHYS	(4 * 4096)
#define BANK_BYTES	(3 * 4096)

/* Layout of the pattern and output pages, shared with the stubs. */
#define OFF_X87		0	/* 8 x 80-bit values as 16-byte slots */
#define OFF_XMM		128	/* 16 x 16 */
#define OFF_YMMH	384	/* 16 x 16: upper halves of ymm0-15 */
#define OFF_K		640	/* 8 x 8 */
#define OFF_ZMMH	704	/* 16 x 32: upper halves of zmm0-15 */
#define OFF_HI16	1216	/* 16 x 64: zmm16-31 */
#define OFF_MXCSR	2240
#define OFF_FCW		2244

#define GUEST_MXCSR	0x7fa0	/* round toward zero, FTZ, all masked */
#define GUEST_FCW	0x0f7f	/* round toward zero, all masked */

static int has_avx, has_avx512;

static void detect(void)
{
	has_avx = lol_x86_has_avx();
	has_avx512 = lol_x86_has_avx512();
}

/*
 * Load every bank from DATA_GVA, then exit with syscall 600 (rdi = how
 * far to go: 0 sse/x87, 1 +avx, 2 +avx512).
 */
LOL_GUEST_ASM(load_banks,
	"mov $0x600000, %rbx\n\t"
	"fninit\n\t"
	"fldcw 2244(%rbx)\n\t"
	"ldmxcsr 2240(%rbx)\n\t"
	"fldt 112(%rbx)\n\t fldt 96(%rbx)\n\t fldt 80(%rbx)\n\t fldt 64(%rbx)\n\t"
	"fldt 48(%rbx)\n\t fldt 32(%rbx)\n\t fldt 16(%rbx)\n\t fldt 0(%rbx)\n\t"
	"movdqu 128(%rbx), %xmm0\n\t movdqu 144(%rbx), %xmm1\n\t"
	"movdqu 160(%rbx), %xmm2\n\t movdqu 176(%rbx), %xmm3\n\t"
	"movdqu 192(%rbx), %xmm4\n\t movdqu 208(%rbx), %xmm5\n\t"
	"movdqu 224(%rbx), %xmm6\n\t movdqu 240(%rbx), %xmm7\n\t"
	"movdqu 256(%rbx), %xmm8\n\t movdqu 272(%rbx), %xmm9\n\t"
	"movdqu 288(%rbx), %xmm10\n\t movdqu 304(%rbx), %xmm11\n\t"
	"movdqu 320(%rbx), %xmm12\n\t movdqu 336(%rbx), %xmm13\n\t"
	"movdqu 352(%rbx), %xmm14\n\t movdqu 368(%rbx), %xmm15\n\t"
	"test %rdi, %rdi\n\t jz 9f\n\t"
	/* vinsertf128 keeps the low half, sets the high half */
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"vinsertf128 $1, 384+16*\\n(%rbx), %ymm\\n, %ymm\\n\n\t"
	".endr\n\t"
	"cmp $2, %rdi\n\t jne 9f\n\t"
	"kmovw 640(%rbx), %k0\n\t kmovw 648(%rbx), %k1\n\t"
	"kmovw 656(%rbx), %k2\n\t kmovw 664(%rbx), %k3\n\t"
	"kmovw 672(%rbx), %k4\n\t kmovw 680(%rbx), %k5\n\t"
	"kmovw 688(%rbx), %k6\n\t kmovw 696(%rbx), %k7\n\t"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"vinserti64x4 $1, 704+32*\\n(%rbx), %zmm\\n, %zmm\\n\n\t"
	".endr\n\t"
	".irp n,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"
	"vmovdqu64 1216+64*(\\n-16)(%rbx), %zmm\\n\n\t"
	".endr\n"
	"9: mov $600, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* Store every bank to OUT_GVA (same layout), then exit with syscall 601. */
LOL_GUEST_ASM(store_banks,
	"mov $0x610000, %rbx\n\t"
	"stmxcsr 2240(%rbx)\n\t"
	"fnstcw 2244(%rbx)\n\t"
	"movdqu %xmm0, 128(%rbx)\n\t movdqu %xmm1, 144(%rbx)\n\t"
	"movdqu %xmm2, 160(%rbx)\n\t movdqu %xmm3, 176(%rbx)\n\t"
	"movdqu %xmm4, 192(%rbx)\n\t movdqu %xmm5, 208(%rbx)\n\t"
	"movdqu %xmm6, 224(%rbx)\n\t movdqu %xmm7, 240(%rbx)\n\t"
	"movdqu %xmm8, 256(%rbx)\n\t movdqu %xmm9, 272(%rbx)\n\t"
	"movdqu %xmm10, 288(%rbx)\n\t movdqu %xmm11, 304(%rbx)\n\t"
	"movdqu %xmm12, 320(%rbx)\n\t movdqu %xmm13, 336(%rbx)\n\t"
	"movdqu %xmm14, 352(%rbx)\n\t movdqu %xmm15, 368(%rbx)\n\t"
	"test %rdi, %rdi\n\t jz 8f\n\t"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"vextractf128 $1, %ymm\\n, 384+16*\\n(%rbx)\n\t"
	".endr\n\t"
	"cmp $2, %rdi\n\t jne 8f\n\t"
	"kmovw %k0, 640(%rbx)\n\t kmovw %k1, 648(%rbx)\n\t"
	"kmovw %k2, 656(%rbx)\n\t kmovw %k3, 664(%rbx)\n\t"
	"kmovw %k4, 672(%rbx)\n\t kmovw %k5, 680(%rbx)\n\t"
	"kmovw %k6, 688(%rbx)\n\t kmovw %k7, 696(%rbx)\n\t"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"vextracti64x4 $1, %zmm\\n, 704+32*\\n(%rbx)\n\t"
	".endr\n\t"
	".irp n,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"
	"vmovdqu64 %zmm\\n, 1216+64*(\\n-16)(%rbx)\n\t"
	".endr\n"
	/* x87 last: fstp pops st0..st7 in order */
	"8: fstpt 0(%rbx)\n\t fstpt 16(%rbx)\n\t fstpt 32(%rbx)\n\t"
	"fstpt 48(%rbx)\n\t fstpt 64(%rbx)\n\t fstpt 80(%rbx)\n\t"
	"fstpt 96(%rbx)\n\t fstpt 112(%rbx)\n\t"
	"mov $601, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

/* Overwrite every bank the guest has with junk (rdi: level), exit 602. */
LOL_GUEST_ASM(clobber_banks,
	"fninit\n\t"
	"fldz\n\t fldz\n\t fldz\n\t fldz\n\t fldz\n\t fldz\n\t fldz\n\t fldz\n\t"
	"pcmpeqb %xmm0, %xmm0\n\t"
	".irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"movdqa %xmm0, %xmm\\n\n\t"
	".endr\n\t"
	"test %rdi, %rdi\n\t jz 7f\n\t"
	"vxorps %ymm0, %ymm0, %ymm0\n\t"
	"vcmpps $15, %ymm0, %ymm0, %ymm0\n\t"
	".irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
	"vmovaps %ymm0, %ymm\\n\n\t"
	".endr\n"
	"7: mov $602, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

FIXTURE(fpu) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as;
	int level;
	unsigned char *data, *out;
};

FIXTURE_SETUP(fpu)
{
	detect();
	self->level = has_avx512 ? 2 : has_avx ? 1 : 0;
	memset(&self->vm, 0, sizeof(self->vm));
	self->vm.guest = -1;
	if (lol_vm_create(&self->vm, PHYS_SIZE))
		return;
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, CODE_GVA, 0, 4096,
				LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, DATA_GVA, DATA_PHYS,
				BANK_BYTES, LOL_PROT_READ));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as, OUT_GVA, OUT_PHYS,
				BANK_BYTES, LOL_PROT_READ | LOL_PROT_WRITE));
	self->data = lol_vm_phys(&self->vm, DATA_PHYS, BANK_BYTES);
	self->out = lol_vm_phys(&self->vm, OUT_PHYS, BANK_BYTES);
	ASSERT_NE(NULL, self->data);
	ASSERT_NE(NULL, self->out);
	TH_LOG("banks: x87 sse%s%s", has_avx ? " avx" : "",
	       has_avx512 ? " avx512" : "");
}

FIXTURE_TEARDOWN(fpu)
{
	if (self->vm.guest < 0)
		return;
	lol_vcpu_destroy(&self->vcpu);
	lol_vm_destroy(&self->vm);
}

/* Distinct, valid values everywhere (x87: finite extended reals). */
static void fill_patterns(unsigned char *p, unsigned int seed)
{
	int i;

	for (i = 0; i < BANK_BYTES; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
	for (i = 0; i < 8; i++) {
		long double v = (long double)(seed + 1) * (i + 3) / 7.0L;

		memset(p + OFF_X87 + 16 * i, 0, 16);
		memcpy(p + OFF_X87 + 16 * i, &v, 10);
	}
	/* kmovw: 16-bit opmasks (AVX512F), zero-extended to 64 bits. */
	for (i = 0; i < 8; i++)
		memset(p + OFF_K + 8 * i + 2, 0, 6);
	*(uint32_t *)(p + OFF_MXCSR) = GUEST_MXCSR;
	*(uint16_t *)(p + OFF_FCW) = GUEST_FCW;
}

/* Only the bytes the stubs store are compared. */
static int compare_banks(struct __test_metadata *_metadata,
			 const unsigned char *want, const unsigned char *got,
			 int level)
{
	int i, bad = 0;

	for (i = 0; i < 8; i++)
		if (memcmp(want + OFF_X87 + 16 * i, got + OFF_X87 + 16 * i, 10)) {
			TH_LOG("st%d differs", i);
			bad++;
		}
	for (i = 0; i < 16; i++)
		if (memcmp(want + OFF_XMM + 16 * i, got + OFF_XMM + 16 * i, 16)) {
			TH_LOG("xmm%d differs", i);
			bad++;
		}
	if (*(uint32_t *)(want + OFF_MXCSR) != *(uint32_t *)(got + OFF_MXCSR)) {
		TH_LOG("mxcsr %#x, want %#x", *(uint32_t *)(got + OFF_MXCSR),
		       *(uint32_t *)(want + OFF_MXCSR));
		bad++;
	}
	if (*(uint16_t *)(want + OFF_FCW) != *(uint16_t *)(got + OFF_FCW)) {
		TH_LOG("fcw differs");
		bad++;
	}
	if (level >= 1)
		for (i = 0; i < 16; i++)
			if (memcmp(want + OFF_YMMH + 16 * i,
				   got + OFF_YMMH + 16 * i, 16)) {
				TH_LOG("ymm%d upper half differs", i);
				bad++;
			}
	if (level >= 2) {
		if (memcmp(want + OFF_K, got + OFF_K, 64)) {
			TH_LOG("opmask registers differ");
			bad++;
		}
		if (memcmp(want + OFF_ZMMH, got + OFF_ZMMH, 16 * 32)) {
			TH_LOG("zmm0-15 upper halves differ");
			bad++;
		}
		if (memcmp(want + OFF_HI16, got + OFF_HI16, 16 * 64)) {
			TH_LOG("zmm16-31 differ");
			bad++;
		}
	}
	return bad;
}

/* The monitor uses its own FP hard: AVX memcpy, x87 and SSE math. */
static volatile double sink;

static void monitor_fp_work(unsigned int seed)
{
	static char a[1 << 16], b[1 << 16];
	double x = seed;
	int i;

	memset(a, seed, sizeof(a));
	memcpy(b, a, sizeof(b));
	for (i = 0; i < 100; i++)
		x = x * 1.0001 + (long double)i / 3.0L;
	sink = x + b[seed % sizeof(b)];
	__asm__ volatile("pcmpeqb %%xmm7, %%xmm7\n\t"
			 "pxor %%xmm15, %%xmm15\n\t"
			 "fninit\n\t fld1\n\t fldpi\n\t fstp %%st(0)\n\t"
			 "fstp %%st(0)\n\t"
			 ::: "xmm7", "xmm15", "st", "memory");
}

static void run_stub(struct __test_metadata *_metadata, FIXTURE_DATA(fpu) *self,
		     const unsigned char *start, size_t len, __u64 nr)
{
	struct lol_run *run = self->vcpu.run;

	ASSERT_EQ(0, lol_vm_load(&self->vm, 0, start, len));
	lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA, 0);
	run->regs.rdi = self->level;
	ASSERT_EQ(0, lol_run(self->vcpu.fd));
	ASSERT_EQ(LOL_EXIT_SYSCALL, run->exit_reason)
		TH_LOG("exit %s at %#llx", lol_exit_name(run->exit_reason),
		       (unsigned long long)run->regs.rip);
	ASSERT_EQ(nr, run->syscall.nr);
}

#define RUN_STUB(name, nr) \
	run_stub(_metadata, self, name##_start, LOL_GUEST_SIZE(name), nr)

/* Guest state survives many exits while the monitor works with FP. */
TEST_F(fpu, survives_exits_and_monitor_fp)
{
	int i;

	if (self->vm.guest < 0)
		SKIP(return, "no lol guest (module or LOL_CAP_RUN missing)");
	LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_FPU);
	fill_patterns(self->data, 1);
	RUN_STUB(load_banks, 600);
	for (i = 0; i < 200; i++) {
		/* An exit with nothing done in the guest, FP work outside. */
		lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA, 0);
		monitor_fp_work(i);
		ASSERT_EQ(0, lol_vm_load(&self->vm, 0, "\x0f\x05", 2));
		self->vcpu.run->regs.rax = 39;
		ASSERT_EQ(0, lol_run(self->vcpu.fd));
		ASSERT_EQ(LOL_EXIT_SYSCALL, self->vcpu.run->exit_reason);
		sched_yield();
	}
	memset(self->out, 0, BANK_BYTES);
	RUN_STUB(store_banks, 601);
	EXPECT_EQ(0, compare_banks(_metadata, self->data, self->out,
				   self->level));
}

/* LOL_GET_FPU shows the guest's registers in XSAVE layout. */
TEST_F(fpu, get_fpu_xsave_layout)
{
	long size;
	unsigned char *x;
	unsigned int a, b, c, d;
	int i;

	if (self->vm.guest < 0)
		SKIP(return, "no lol guest (module or LOL_CAP_RUN missing)");
	size = LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_FPU);
	ASSERT_GE(size, 576);
	x = calloc(1, size);
	ASSERT_NE(NULL, x);
	fill_patterns(self->data, 2);
	RUN_STUB(load_banks, 600);
	monitor_fp_work(2);
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, x, size));

	EXPECT_EQ(GUEST_FCW, *(uint16_t *)(x + 0));
	EXPECT_EQ(GUEST_MXCSR, *(uint32_t *)(x + 24));
	/* FXSAVE keeps st(i) in register-stack order at 32 + 16 * i. */
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, memcmp(x + 32 + 16 * i,
				    self->data + OFF_X87 + 16 * i, 10))
			TH_LOG("st%d", i);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(x + 160 + 16 * i,
				    self->data + OFF_XMM + 16 * i, 16))
			TH_LOG("xmm%d", i);
	if (self->level >= 1) {
		__cpuid_count(0xd, 2, a, b, c, d);
		ASSERT_LE(a + b, (unsigned int)size);
		for (i = 0; i < 16; i++)
			EXPECT_EQ(0, memcmp(x + b + 16 * i,
					    self->data + OFF_YMMH + 16 * i, 16))
				TH_LOG("ymm%d upper half", i);
	}
	if (self->level >= 2) {
		__cpuid_count(0xd, 5, a, b, c, d);
		EXPECT_EQ(0, memcmp(x + b, self->data + OFF_K, 64));
		__cpuid_count(0xd, 6, a, b, c, d);
		EXPECT_EQ(0, memcmp(x + b, self->data + OFF_ZMMH, 16 * 32));
		__cpuid_count(0xd, 7, a, b, c, d);
		EXPECT_EQ(0, memcmp(x + b, self->data + OFF_HI16, 16 * 64));
	}
	free(x);
}

/* LOL_SET_FPU state is what the guest's registers hold next time. */
TEST_F(fpu, set_fpu_reaches_guest)
{
	unsigned char *x, *want;
	long size;

	if (self->vm.guest < 0)
		SKIP(return, "no lol guest (module or LOL_CAP_RUN missing)");
	size = LOL_REQUIRE_CAP(self->vm.sys, LOL_CAP_FPU);
	x = calloc(1, size);
	want = calloc(1, BANK_BYTES);
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, want);

	/* Load pattern 3, read it back as XSAVE, change it, write it. */
	fill_patterns(self->data, 3);
	RUN_STUB(load_banks, 600);
	ASSERT_EQ(0, lol_get_fpu(self->vcpu.fd, x, size));
	fill_patterns(want, 4);
	memcpy(x + 160, want + OFF_XMM, 16 * 16);
	*(uint32_t *)(x + 24) = *(uint32_t *)(want + OFF_MXCSR);
	/* Keep x87, ymm and avx512 as loaded: compare against pattern 3. */
	memcpy(want + OFF_X87, self->data + OFF_X87, OFF_XMM - OFF_X87);
	memcpy(want + OFF_YMMH, self->data + OFF_YMMH, OFF_MXCSR - OFF_YMMH);
	*(uint16_t *)(want + OFF_FCW) = GUEST_FCW;
	ASSERT_EQ(0, lol_set_fpu(self->vcpu.fd, x, size));

	memset(self->out, 0, BANK_BYTES);
	RUN_STUB(store_banks, 601);
	EXPECT_EQ(0, compare_banks(_metadata, want, self->out, self->level));
	free(x);
	free(want);
}

/* The guest clobbering every bank leaves the monitor's registers alone. */
TEST_F(fpu, monitor_state_survives_guest)
{
	uint64_t before[4] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL,
			       0x1111222233334444ULL, 0x5555666677778888ULL };
	uint64_t after[4] = { 0 };
	unsigned int mxcsr_before = 0x1f80 | 0x6000, mxcsr_after = 0;
	long ret;

	if (self->vm.guest < 0)
		SKIP(return, "no lol guest (module or LOL_CAP_RUN missing)");
	ASSERT_EQ(0, lol_vm_load(&self->vm, 0, clobber_banks_start,
				 LOL_GUEST_SIZE(clobber_banks)));
	lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA, 0);
	self->vcpu.run->regs.rdi = self->level >= 1;

	/*
	 * xmm8/xmm9 and MXCSR are set, the ioctl is made from the same asm
	 * block (the kernel preserves user FP across a syscall), and they
	 * are read back: anything the guest left there would show.
	 */
	__asm__ volatile("ldmxcsr %[mb]\n\t"
			 "movdqu 0(%[in]), %%xmm8\n\t"
			 "movdqu 16(%[in]), %%xmm9\n\t"
			 "syscall\n\t"
			 "movdqu %%xmm8, 0(%[out])\n\t"
			 "movdqu %%xmm9, 16(%[out])\n\t"
			 "stmxcsr %[ma]\n\t"
			 "ldmxcsr %[def]\n\t"
			 : "=a"(ret), [ma] "=m"(mxcsr_after)
			 : "a"(SYS_ioctl), "D"(self->vcpu.fd), "S"(LOL_RUN),
			   "d"(0), [in] "r"(before), [out] "r"(after),
			   [mb] "m"(mxcsr_before), [def] "m"((unsigned int){ 0x1f80 })
			 : "rcx", "r11", "xmm8", "xmm9", "memory");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->vcpu.run->exit_reason);
	ASSERT_EQ(602, self->vcpu.run->syscall.nr);
	EXPECT_EQ(0, memcmp(before, after, sizeof(before)));
	EXPECT_EQ(mxcsr_before, mxcsr_after);
}

/* Two vcpus of one guest keep separate FP states. */
TEST_F(fpu, per_vcpu_state)
{
	struct lol_vcpu v2;
	unsigned char *p2;

	if (self->vm.guest < 0)
		SKIP(return, "no lol guest (module or LOL_CAP_RUN missing)");
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 1, &v2));
	p2 = malloc(BANK_BYTES);
	ASSERT_NE(NULL, p2);

	/* vcpu 0 loads pattern 5, vcpu 1 loads pattern 6. */
	fill_patterns(self->data, 5);
	RUN_STUB(load_banks, 600);
	fill_patterns(p2, 6);
	memcpy(self->data, p2, BANK_BYTES);
	lol_vcpu_set_entry(&v2, self->as, CODE_GVA, 0);
	v2.run->regs.rdi = self->level;
	ASSERT_EQ(0, lol_run(v2.fd));
	ASSERT_EQ(600, v2.run->syscall.nr);

	/* vcpu 0 must still have pattern 5. */
	fill_patterns(p2, 5);
	memset(self->out, 0, BANK_BYTES);
	RUN_STUB(store_banks, 601);
	EXPECT_EQ(0, compare_banks(_metadata, p2, self->out, self->level));
	lol_vcpu_destroy(&v2);
	free(p2);
}

TEST_HARNESS_MAIN
