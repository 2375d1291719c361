/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the ranges_*_test.c selftests (LOL_SET_SYSCALL_RANGES, in-place
 * reflection, LOL_RESUME, single-step): a small guest, table builders, and
 * for monitor mode, raw syscall functions whose syscall instruction sits
 * at a known address plus a reflection upcall with its own stack. The
 * guest code, those functions and the upcall's entry are per arch, in
 * lib/<arch>/ranges_arch.h.
 *
 * Include after "kselftest_harness.h" and "test_util.h". Everything here
 * is static: each test binary gets its own copy.
 */
#ifndef _LOL_RANGES_COMMON_H
#define _LOL_RANGES_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "liblol.h"
#include "guest.h"
#include "processor.h"

/* ---- a small guest -------------------------------------------------------- */

/*
 * Guest layout (phys page: gva, prot):
 *   0: CODE_GVA  r-x   the stub under test
 *   1: DATA_GVA  rw-   data shared with the test
 *   2: STACK_GVA rw-   stack (the stack pointer starts at its top)
 *   3: spare (mapped by tests that need it)
 */
#define RT_PHYS_PAGES	4
#define CODE_GVA	0x400000ULL
#define DATA_GVA	0x600000ULL
#define STACK_GVA	0x7ff000000ULL
#define UNMAPPED_GVA	0x900000ULL
#define PHYS_CODE	0
#define PHYS_DATA	1
#define PHYS_STACK	2
#define PHYS_SPARE	3

#define RT_LIMIT	LOL_USER_ADDR_LIMIT
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH	2	/* si_code of a dispatch SIGSYS */
#endif

/* Declares a label defined inside a LOL_GUEST_ASM() stub. */
#define RT_DECL(l)							\
	extern const unsigned char l[] __attribute__((visibility("hidden")))

/*
 * lib/<arch>/ranges_arch.h: the gp500 guest, getpid() at gp500_sc1, then
 * syscall(500, its result) at gp500_sc2, then a trap; RT_SYSCALL_FN()'s
 * RT_SYSCALL_ARGS and RT_SYSCALL_INSN;
 * struct rt_entry_regs and rt_upcall_entry.
 */
#include "ranges_arch.h"

struct rt_vm {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	struct lol_run *run;
	__u32 as;
	size_t page;
};

/* Capabilities, as a bit set. */
#define RT_CAP_RUN	(1U << 0)
#define RT_CAP_RANGES	(1U << 1)
#define RT_CAP_REFLECT	(1U << 2)
#define RT_CAP_STEP	(1U << 3)

static inline unsigned int rt_caps(void)
{
	unsigned int caps = 0;
	int sys = lol_open();

	if (sys < 0)
		return 0;
	if (lol_check_extension(sys, LOL_CAP_RUN) > 0)
		caps |= RT_CAP_RUN;
	if (lol_check_extension(sys, LOL_CAP_SYSCALL_RANGES) > 0)
		caps |= RT_CAP_RANGES;
	if (lol_check_extension(sys, LOL_CAP_REFLECT) > 0)
		caps |= RT_CAP_REFLECT;
	if (lol_check_extension(sys, LOL_CAP_SINGLESTEP) > 0)
		caps |= RT_CAP_STEP;
	close(sys);
	return caps;
}

static inline void rt_vm_init(struct rt_vm *g)
{
	memset(g, 0, sizeof(*g));
	g->vm.sys = g->vm.guest = g->vm.memfd = -1;
	g->vcpu.fd = -1;
}

/* Guest with vcpu 0 and one AS: code, data and stack mapped. 0 or -1. */
static inline int rt_vm_create(struct rt_vm *g)
{
	rt_vm_init(g);
	g->page = sysconf(_SC_PAGESIZE);
	if (lol_vm_create(&g->vm, RT_PHYS_PAGES * g->page))
		return -1;
	if (lol_vm_add_vcpu(&g->vm, 0, &g->vcpu))
		return -1;
	g->run = g->vcpu.run;
	if (lol_vm_new_as(&g->vm, &g->as))
		return -1;
	if (lol_vm_map(&g->vm, g->as, CODE_GVA, PHYS_CODE * g->page, g->page,
		       LOL_PROT_READ | LOL_PROT_EXEC))
		return -1;
	if (lol_vm_map(&g->vm, g->as, DATA_GVA, PHYS_DATA * g->page, g->page,
		       LOL_PROT_READ | LOL_PROT_WRITE))
		return -1;
	if (lol_vm_map(&g->vm, g->as, STACK_GVA, PHYS_STACK * g->page,
		       g->page, LOL_PROT_READ | LOL_PROT_WRITE))
		return -1;
	return 0;
}

static inline void rt_vm_destroy(struct rt_vm *g)
{
	if (g->vcpu.fd >= 0)
		lol_vcpu_destroy(&g->vcpu);
	if (g->vm.guest >= 0)
		lol_vm_destroy(&g->vm);
}

/*
 * Loads len bytes of code at CODE_GVA (the rest LOL_TRAP_FILL) and resets
 * registers.
 */
static inline int rt_load(struct rt_vm *g, const void *code, size_t len)
{
	memset((char *)g->vm.phys + PHYS_CODE * g->page, LOL_TRAP_FILL,
	       g->page);
	if (lol_vm_load(&g->vm, PHYS_CODE * g->page, code, len))
		return -1;
	lol_vcpu_set_entry(&g->vcpu, g->as, CODE_GVA, STACK_GVA + g->page);
	g->run->flags = 0;
	return 0;
}

#define RT_LOAD(g, stub)	rt_load(g, stub##_start, LOL_GUEST_SIZE(stub))
/* Guest address of label `lbl` inside stub `stub` (both from the asm). */
#define RT_GVA(stub, lbl)	(CODE_GVA + (__u64)((lbl) - stub##_start))

static inline void *rt_data(struct rt_vm *g)
{
	return (char *)g->vm.phys + PHYS_DATA * g->page;
}

/* ---- tables ---------------------------------------------------------------- */

static inline void rt_table(struct lol_syscall_ranges *t, __u32 flags,
			    __u32 def)
{
	memset(t, 0, sizeof(*t));
	t->flags = flags;
	t->default_action = def;
}

static inline void rt_add(struct lol_syscall_ranges *t, __u64 start,
			  __u64 end, __u32 action, __u32 rflags)
{
	struct lol_syscall_range *r = &t->ranges[t->nr_ranges++];

	r->start = start;
	r->end = end;
	r->action = action;
	r->flags = rflags;
}

/* One syscall instruction (LOL_SYSCALL_INSN_LEN bytes) at addr. */
static inline void rt_add1(struct lol_syscall_ranges *t, __u64 addr,
			   __u32 action, __u32 rflags)
{
	rt_add(t, addr, addr + LOL_SYSCALL_INSN_LEN, action, rflags);
}

static inline int rt_set(int vcpu, const struct lol_syscall_ranges *t)
{
	return ioctl(vcpu, LOL_SET_SYSCALL_RANGES, t);
}

static inline int rt_clear(int vcpu)
{
	struct lol_syscall_ranges t;

	memset(&t, 0, sizeof(t));
	return ioctl(vcpu, LOL_SET_SYSCALL_RANGES, &t);
}

/* ---- monitor mode: raw syscalls at known addresses ------------------------- */

/*
 * RT_SYSCALL_FN(name) defines
 *	long name(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
 * which issues syscall nr with a0..a5 from one syscall instruction at
 * name##_insn and returns the result register unchanged (-errno on
 * failure). The register moves and the instruction are the arch's
 * (lib/<arch>/ranges_arch.h). The label is global and hidden: a static
 * PIE would otherwise reach it through a GOT entry holding the section's
 * start.
 */
#define RT_SYSCALL_FN(name)						\
	long name(long nr, long a0, long a1, long a2, long a3, long a4,	\
		  long a5);						\
	extern const char name##_insn[]					\
		__attribute__((visibility("hidden")));			\
	__asm__(".pushsection .text.rt_monitor, \"ax\", %progbits\n"	\
		".balign 16\n"						\
		".globl " #name "\n"					\
		".type " #name ", %function\n"				\
		#name ":\n\t"						\
		RT_SYSCALL_ARGS						\
		".globl " #name "_insn\n"				\
		".hidden " #name "_insn\n"				\
		#name "_insn:\n\t"					\
		RT_SYSCALL_INSN "\n\t"					\
		"ret\n"							\
		".size " #name ", . - " #name "\n"			\
		".popsection\n")
#define RT_INSN(name)	((__u64)(uintptr_t)name##_insn)

/* ---- monitor mode: the reflection upcall ----------------------------------- */

#define RT_UPCALL_STACK	(256 * 1024)

/*
 * The upcall's state. emulate() computes the syscall's result from the
 * run page (it may also change run->regs); without it the syscall is run
 * natively (reflection is disarmed during the upcall) with its arguments.
 */
struct rt_upcall {
	int vcpu;
	struct lol_run *run;
	long (*emulate)(struct lol_run *run);
	volatile long count;
	struct lol_exit_syscall last;	/* run->syscall of the last upcall */
	struct lol_regs last_regs;	/* run->regs of the last upcall */
	__u32 last_exit;		/* run->exit_reason of the last upcall */
	__u64 last_nr_exits;
	volatile int resume_errno;	/* a failed LOL_RESUME */
};

static struct rt_upcall up;
/* Both named by rt_upcall_entry's asm (lib/<arch>/ranges_arch.h). */
static struct rt_entry_regs up_entry __attribute__((used));
static char up_stack[RT_UPCALL_STACK] __attribute__((used, aligned(64)));

#define RT_UPCALL_STACK_TOP	((__u64)(uintptr_t)(up_stack + RT_UPCALL_STACK))

static inline bool rt_on_upcall_stack(const void *p)
{
	return (const char *)p >= up_stack &&
	       (const char *)p < up_stack + RT_UPCALL_STACK;
}

/* Records up_entry (struct rt_entry_regs), then jumps to rt_upcall_c(). */
void rt_upcall_entry(void);

static long rt_passthrough(struct lol_run *run)
{
	long r = syscall(run->syscall.nr, run->syscall.args[0],
			 run->syscall.args[1], run->syscall.args[2],
			 run->syscall.args[3], run->syscall.args[4],
			 run->syscall.args[5]);

	return r == -1 ? -errno : r;
}

/* Entered from rt_upcall_entry, on up_stack, as if called. */
void rt_upcall_c(void) __attribute__((used, noreturn, noinline));
void rt_upcall_c(void)
{
	struct lol_run *run = up.run;
	int saved_errno = errno;

	up.last = run->syscall;
	up.last_regs = run->regs;
	up.last_exit = run->exit_reason;
	up.last_nr_exits = run->nr_exits;
	up.count++;
	lol_ret(run) = up.emulate ? up.emulate(run) : rt_passthrough(run);
	errno = saved_errno;
	ioctl(up.vcpu, LOL_RESUME, 0UL);
	/* Only on failure: nowhere to go back to. */
	up.resume_errno = errno;
	_exit(70);
}

/* Monitor table: flags LOL_RANGES_MONITOR, entry/stack when REFLECT used. */
static inline void rt_monitor_table(struct lol_syscall_ranges *t, __u32 def)
{
	rt_table(t, LOL_RANGES_MONITOR, def);
}

static inline void rt_set_upcall(struct lol_syscall_ranges *t)
{
	t->entry = (__u64)(uintptr_t)rt_upcall_entry;
	t->stack = RT_UPCALL_STACK_TOP;
}

static inline void rt_upcall_init(struct rt_vm *g,
				  long (*emulate)(struct lol_run *run))
{
	up.vcpu = g->vcpu.fd;
	up.run = g->run;
	up.emulate = emulate;
	up.count = 0;
	up.resume_errno = 0;
}

#endif /* _LOL_RANGES_COMMON_H */
