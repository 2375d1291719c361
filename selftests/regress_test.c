// SPDX-License-Identifier: GPL-2.0
/*
 * regress_test: minimal reproducers of kernel bugs found by lol-fuzz
 * (userspace/tools/lol-fuzz.c, make fuzz). One TEST per bug, named after
 * what the guest does; the comment says what went wrong in the kernel.
 * A failing run here usually shows in the kernel log (KASAN, an oops, a
 * WARNING), which the harness judges after the suite.
 *
 * Guest layout (phys page: gva, prot):
 *   0: CODE_GVA   r-x  the stub
 *   1: STACK_GVA  rw-  stack (rsp starts at its top)
 *   2: MARK_GVA   r-x  a stub whose syscalls are always reflected
 */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PHYS_PAGES	4
#define CODE_GVA	0x400000ULL
#define STACK_GVA	0x7ff000000ULL
#define MARK_GVA	0x500000ULL
#define PHYS_STACK	1
#define PHYS_MARK	2

/*
 * A guest that uses lol itself through NATIVE syscalls on the monitor's
 * /dev/lol fd (rdi): creates a guest, a vcpu and an AS, maps the vcpu's
 * run page into its own AS, selects the AS and calls LOL_RUN on it -- a
 * LOL_RUN from a thread that is already in guest mode. The results go to
 * the reflected syscall 1000 at MARK_GVA: rdi = the nested LOL_RUN's
 * result, rsi = the nested vcpu fd, rdx = the nested guest fd (or errors).
 *
 * Found by reasoning while writing lol-fuzz's "nested" template, which
 * then found it on its own (lol-fuzz --seed 5 --wild 100: case 0, in
 * seconds; before b109846): the nested entry saves the outer guest's registers and FP state as if they
 * were the monitor's (fpu_swap_kvm_fpstate() keeps one __task_fpstate),
 * so leaving the outer guest afterwards restores a NULL fpstate.
 */
LOL_GUEST_ASM(nested_run,
	"mov %rdi, %rbx\n\t"			/* rbx = /dev/lol fd */
	/* g = ioctl(sys, LOL_CREATE_GUEST, 0) */
	"mov %rbx, %rdi\n\t"
	"mov $0xb202, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r12\n\t"
	/* v = ioctl(g, LOL_CREATE_VCPU, 0) */
	"mov %r12, %rdi\n\t"
	"mov $0xb240, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r13\n\t"
	/* ioctl(g, LOL_CREATE_AS, &struct lol_create_as{0} on the stack) */
	"sub $64, %rsp\n\t"
	"movq $0, 0(%rsp)\n\t"
	"movq $0, 8(%rsp)\n\t"
	"movq $0, 16(%rsp)\n\t"
	"movq $0, 24(%rsp)\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xc020b242, %esi\n\t"		/* _IOWR(0xb2, 0x42, 32 bytes) */
	"mov %rsp, %rdx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov 4(%rsp), %r15d\n\t"		/* as_id */
	/* run = mmap(0, 4096, RW, MAP_SHARED, v, 0) */
	"xor %edi, %edi\n\t"
	"mov $4096, %esi\n\t"
	"mov $3, %edx\n\t"
	"mov $1, %r10d\n\t"
	"mov %r13, %r8\n\t"
	"xor %r9d, %r9d\n\t"
	"mov $9, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r14\n\t"
	/* run->as_id = as_id (offset 4), if the mmap worked */
	"cmp $-4095, %rax\n\t"
	"jae 1f\n\t"
	"mov %r15d, 4(%r14)\n"
	"1:\n\t"
	/* r = ioctl(v, LOL_RUN, 0) */
	"mov %r13, %rdi\n\t"
	"mov $0xb280, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	/* report: syscall 1000(rdi = r, rsi = v) from MARK_GVA */
	"mov %rax, %rdi\n\t"
	"mov %r13, %rsi\n\t"
	"mov %r12, %rdx\n\t"
	"movabs $0x500000, %rax\n\t"
	"jmp *%rax\n");

LOL_GUEST_ASM(mark_1000,
	"mov $1000, %eax\n\t"
	"syscall\n\t"
	"ud2\n");

FIXTURE(regress) {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as_id;
	size_t page;
	bool ready;
};

FIXTURE_SETUP(regress)
{
	int sys = lol_open_sys();
	long has_run = lol_cap(sys, LOL_CAP_RUN);
	long has_ranges = lol_cap(sys, LOL_CAP_SYSCALL_RANGES);

	close(sys);
	self->vm.sys = self->vm.guest = self->vm.memfd = -1;
	self->vcpu.fd = -1;
	self->page = sysconf(_SC_PAGESIZE);
	if (!has_run || !has_ranges)
		return;	/* each test SKIPs */

	ASSERT_EQ(0, lol_vm_create(&self->vm, PHYS_PAGES * self->page));
	ASSERT_EQ(0, lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	self->run = self->vcpu.run;
	ASSERT_EQ(0, lol_vm_new_as(&self->vm, &self->as_id));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, CODE_GVA, 0,
				self->page, LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, STACK_GVA,
				PHYS_STACK * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_WRITE));
	ASSERT_EQ(0, lol_vm_map(&self->vm, self->as_id, MARK_GVA,
				PHYS_MARK * self->page, self->page,
				LOL_PROT_READ | LOL_PROT_EXEC));
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, PHYS_MARK * self->page,
				     mark_1000));
	self->ready = true;
}

FIXTURE_TEARDOWN(regress)
{
	if (self->vcpu.fd >= 0)
		lol_vcpu_destroy(&self->vcpu);
	if (self->vm.guest >= 0)
		lol_vm_destroy(&self->vm);
}

#define REQUIRE() do {							\
	if (!self->ready)						\
		SKIP(return, "LOL_CAP_RUN or LOL_CAP_SYSCALL_RANGES absent"); \
} while (0)

/*
 * LOL_RUN with a pattern in xmm8 around the syscall itself (xmm registers
 * are caller-saved, so a C variable would not stay in one across a call):
 * *xmm_after is what xmm8 held when the ioctl returned.
 */
static long run_keep_xmm8(int vcpu, __u64 pattern, __u64 *xmm_after)
{
	register long rdi __asm__("rdi") = vcpu;
	register long rsi __asm__("rsi") = LOL_RUN;
	register long rdx __asm__("rdx") = 0;
	long ret = SYS_ioctl;
	__u64 out;

	__asm__ volatile("movq %[pat], %%xmm8\n\t"
			 "syscall\n\t"
			 "movq %%xmm8, %[out]"
			 : "+a"(ret), [out] "=r"(out)
			 : "r"(rdi), "r"(rsi), "r"(rdx), [pat] "r"(pattern)
			 : "rcx", "r11", "memory", "xmm8");
	*xmm_after = out;
	return ret;
}

/* Guest syscalls in [CODE_GVA, CODE_GVA + page) NATIVE, the rest REFLECT. */
static int native_code_page(int vcpu, size_t page)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	t.flags = LOL_RANGES_GUEST;
	t.nr_ranges = 1;
	t.default_action = LOL_RANGE_REFLECT;
	t.ranges[0].start = CODE_GVA;
	t.ranges[0].end = CODE_GVA + page;
	t.ranges[0].action = LOL_RANGE_NATIVE;
	return lol_set_syscall_ranges(vcpu, &t);
}

/*
 * LOL_RUN from a thread already in guest mode (a NATIVE guest ioctl on a
 * guest the guest created itself) must be refused, and the outer guest
 * must leave normally with the monitor's FP state intact.
 */
TEST_F(regress, nested_run_from_native_guest_syscall)
{
	const __u64 pat = 0x0123456789abcdefULL;
	struct lol_regs *r;
	__u64 xmm8;
	long ret;
	int sys;

	REQUIRE();
	sys = lol_open_sys();
	ASSERT_EQ(0, native_code_page(self->vcpu.fd, self->page));
	memset(self->vm.phys, 0xcc, self->page);
	ASSERT_EQ(0, LOL_VM_LOAD_ASM(&self->vm, 0, nested_run));
	lol_vcpu_set_entry(&self->vcpu, self->as_id, CODE_GVA,
			   STACK_GVA + self->page);
	r = &self->run->regs;
	r->rdi = sys;

	ret = run_keep_xmm8(self->vcpu.fd, pat, &xmm8);
	ASSERT_EQ(0, ret) TH_LOG("LOL_RUN: %s", strerror(-ret));
	ASSERT_EQ(LOL_EXIT_SYSCALL, self->run->exit_reason)
		TH_LOG(LOL_EXIT_FMT, LOL_EXIT_ARGS(self->run));
	EXPECT_EQ(1000, self->run->syscall.nr);
	/* The monitor's FP state came back. */
	EXPECT_EQ(pat, xmm8);
	/* The nested LOL_RUN must have failed (rdi: its raw result). */
	EXPECT_GT(0, (long long)self->run->syscall.args[0])
		TH_LOG("nested LOL_RUN returned %lld", (long long)self->run->syscall.args[0]);
	/* The guest's fds are the monitor's: close what it made. */
	if ((long long)self->run->syscall.args[1] >= 0)
		close((int)self->run->syscall.args[1]);
	if ((long long)self->run->syscall.args[2] >= 0)
		close((int)self->run->syscall.args[2]);
	close(sys);
}

TEST_HARNESS_MAIN
