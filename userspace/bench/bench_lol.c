// SPDX-License-Identifier: GPL-2.0
/*
 * The lol rows.  Every row first probes /dev/lol (present, openable) and
 * the lol capability it needs; a missing piece makes the row
 * "n/a (reason)".  The measurements themselves live in the section marked
 * LEAD below and are to be written against liblol; until then they return
 * -ENOSYS, which the core reports as "n/a (not yet implemented)".  No row
 * ever shows a number that was not measured.
 *
 * What each row must measure (so that it compares with its baseline):
 *
 *   lol-runloop    one op = guest getpid -> LOL_RUN returns with a
 *                  SYSCALL exit -> monitor writes the result -> LOL_RUN
 *                  again.  Guest code: a loop of `syscall`, checking
 *                  the result like the baselines do (BENCH_MAGIC_RET).
 *   lol-reflect    one op = guest getpid handled by in-place reflection
 *                  (no return to the monitor's run loop).
 *   lol-fault      one op = guest touches an unmapped page -> FAULT exit
 *                  -> monitor maps it -> re-run -> guest retries; and the
 *                  page is unmapped again (like the baseline's re-protect).
 *   lol-as-switch  one op = one LOL_RUN into guest AS 1 or 2 (alternating),
 *                  the guest exits at once (monitor -> AS -> monitor).
 *   lol-fpu        one op = LOL_GET_FPU + LOL_SET_FPU of the vcpu's whole
 *                  XSAVE image: what a guest kernel pays when another of
 *                  its processes runs next (UML's lazy FP switch).
 *   lol-hosttax    the measured process only loops on getpid (shared
 *                  hosttax_run); a competitor process keeps a lol guest
 *                  busy meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define LOL_DEV "/dev/lol"

struct lol_bench {
	int devfd;		/* /dev/lol */
	int ready_fd;		/* lol-hosttax competitor: status pipe */
	pid_t competitor;	/* lol-hosttax only */
};

static struct lol_bench lol_bench = {
	.devfd = -1, .ready_fd = -1, .competitor = -1,
};

/*
 * The lol measurements, against liblol's mini-guest layer. Guest code is
 * position-independent asm copied into phys page 0 and mapped at
 * LB_CODE in each AS; LB_DATA pages are what the fault row maps and
 * unmaps.
 */
#include <sys/mman.h>
#include "guest.h"

#define LB_PHYS		(16 * 4096)
#define LB_CODE		0x400000ULL
#define LB_DATA_A	0x600000ULL
#define LB_DATA_B	0x601000ULL

#if defined(__x86_64__)
/* getpid in a loop; the monitor's answer is checked like the baselines. */
LOL_GUEST_ASM(lb_getpid_loop,
	"1: mov $39, %eax\n\t"
	"syscall\n\t"
	"cmp $0x10151015, %rax\n\t"
	"je 1b\n\t"
	"ud2\n");

/* Writes page A then page B forever: each fault is one operation. */
LOL_GUEST_ASM(lb_touch_ab,
	"1: movq $1, (%rbx)\n\t"
	"movq $2, (%rbp)\n\t"
	"jmp 1b\n");
#define LB_REG_A(run)	((run)->regs.rbx)
#define LB_REG_B(run)	((run)->regs.rbp)

/* Exits at once, from any AS. */
LOL_GUEST_ASM(lb_exit_now,
	"1: mov $39, %eax\n\t"
	"syscall\n\t"
	"jmp 1b\n");

/* Busy in guest mode, with a syscall exit every few million cycles. */
LOL_GUEST_ASM(lb_busy,
	"1: mov $4000000, %edx\n\t"
	"2: dec %edx\n\t"
	"jnz 2b\n\t"
	"mov $39, %eax\n\t"
	"syscall\n\t"
	"jmp 1b\n");

/* Monitor-mode code whose syscall instruction is reflected in place. */
__asm__(".pushsection .text\n"
	".globl lb_reflected_getpid\n"
	".type lb_reflected_getpid, @function\n"
	"lb_reflected_getpid:\n\t"
	"mov $39, %eax\n"
	".globl lb_reflected_sys\n"
	"lb_reflected_sys:\n\t"
	"syscall\n\t"
	"ret\n"
	".size lb_reflected_getpid, .-lb_reflected_getpid\n"
	".popsection\n");
#define LB_SYSCALL_LEN	2
#else
/* The same stubs in AArch64; getpid is 172 there. */
LOL_GUEST_ASM(lb_getpid_loop,
	"mov x9, #0x1015\n\t"
	"movk x9, #0x1015, lsl #16\n"
	"1: mov x8, #172\n\t"
	"svc #0\n\t"
	"cmp x0, x9\n\t"
	"b.eq 1b\n\t"
	"udf #0\n");

LOL_GUEST_ASM(lb_touch_ab,
	"mov x9, #1\n\t"
	"mov x10, #2\n"
	"1: str x9, [x19]\n\t"
	"str x10, [x20]\n\t"
	"b 1b\n");
#define LB_REG_A(run)	((run)->regs.x[19])
#define LB_REG_B(run)	((run)->regs.x[20])

LOL_GUEST_ASM(lb_exit_now,
	"1: mov x8, #172\n\t"
	"svc #0\n\t"
	"b 1b\n");

LOL_GUEST_ASM(lb_busy,
	"1: mov x9, #0x0900\n\t"
	"movk x9, #0x3d, lsl #16\n"	/* 4000000 */
	"2: subs x9, x9, #1\n\t"
	"b.ne 2b\n\t"
	"mov x8, #172\n\t"
	"svc #0\n\t"
	"b 1b\n");

/*
 * The label is global: a local one, reached through the GOT of a PIE
 * object linked static, would name the start of its section instead.
 */
__asm__(".pushsection .text\n"
	".globl lb_reflected_getpid\n"
	".type lb_reflected_getpid, %function\n"
	"lb_reflected_getpid:\n\t"
	"mov x8, #172\n"
	".globl lb_reflected_sys\n"
	"lb_reflected_sys:\n\t"
	"svc #0\n\t"
	"ret\n"
	".size lb_reflected_getpid, .-lb_reflected_getpid\n"
	".popsection\n");
#define LB_SYSCALL_LEN	4
#endif
/* Global, hidden (bench.h): bench_lol_scale.c runs the same loop. */
__asm__(".globl lb_getpid_loop_start, lb_getpid_loop_end");
long lb_reflected_getpid(void);
extern const char lb_reflected_sys[];

struct lb_guest {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as[2];
	bool up;
};

static struct lb_guest lb_g;
static char lb_upcall_stack[64 * 1024] __attribute__((aligned(16)));

static int lb_fail(struct bench_state *st, const char *what)
{
	return bench_fail(st, errno ? errno : EIO, "%s: %m", what);
}

/* A guest with one vcpu and @nr_as ASs running @code at LB_CODE. */
static int lb_guest_up(struct bench_state *st, const void *code, size_t len,
		       int nr_as)
{
	struct lb_guest *g = &lb_g;
	int i;

	if (lol_vm_create(&g->vm, LB_PHYS))
		return lb_fail(st, "guest");
	g->up = true;
	if (lol_vm_add_vcpu(&g->vm, 0, &g->vcpu))
		return lb_fail(st, "vcpu");
	if (lol_vm_load(&g->vm, 0, code, len))
		return lb_fail(st, "load");
	for (i = 0; i < nr_as; i++) {
		if (lol_vm_new_as(&g->vm, &g->as[i]) ||
		    lol_vm_map(&g->vm, g->as[i], LB_CODE, 0, 4096,
			       LOL_PROT_READ | LOL_PROT_EXEC))
			return lb_fail(st, "address space");
	}
	lol_vcpu_set_entry(&g->vcpu, g->as[0], LB_CODE, 0);
	return 0;
}

static void lb_guest_down(void)
{
	struct lb_guest *g = &lb_g;

	if (!g->up)
		return;
	lol_vcpu_destroy(&g->vcpu);
	lol_vm_destroy(&g->vm);
	g->up = false;
}

/* One LOL_RUN that must end with @reason. */
static int lb_run(struct bench_state *st, __u32 reason)
{
	struct lol_run *run = lb_g.vcpu.run;

	if (lol_run(lb_g.vcpu.fd))
		return lb_fail(st, "LOL_RUN");
	if (run->exit_reason != reason)
		return bench_fail(st, EIO, "unexpected exit %s at %#llx",
				  lol_exit_name(run->exit_reason),
				  (unsigned long long)BENCH_LOL_PC(run));
	return 0;
}

/* Does the module offer @cap (LOL_CHECK_EXTENSION)?  0: yes. */
static int lol_need_cap(struct bench_state *st, struct lol_bench *lb,
			const char *cap)
{
	unsigned long need = strcmp(cap, "in-place reflection") ?
			     LOL_CAP_RUN : LOL_CAP_REFLECT;

	if (lol_check_extension(lb->devfd, need) <= 0)
		return bench_fail(st, ENOTSUP, "%s not supported by this lol.ko",
				  cap);
	return 0;
}

static int lol_runloop_prepare(struct bench_state *st, struct lol_bench *lb)
{
	int rc;

	(void)lb;
	rc = lb_guest_up(st, lb_getpid_loop_start,
			 LOL_GUEST_SIZE(lb_getpid_loop), 1);
	if (rc)
		return rc;
	rc = lb_run(st, LOL_EXIT_SYSCALL);
	if (rc)
		return rc;
	if (lb_g.vcpu.run->syscall.nr != SYS_getpid)
		return bench_fail(st, EIO, "guest syscall %llu, not getpid",
				  (unsigned long long)lb_g.vcpu.run->syscall.nr);
	return 0;
}

static int lol_runloop_measure(struct bench_state *st, struct lol_bench *lb,
			       uint64_t iters)
{
	struct lol_run *run = lb_g.vcpu.run;
	uint64_t i;

	(void)lb;
	for (i = 0; i < iters; i++) {
		BENCH_LOL_RET(run) = BENCH_MAGIC_RET;
		if (lol_run(lb_g.vcpu.fd) || run->exit_reason != LOL_EXIT_SYSCALL)
			return lb_run(st, LOL_EXIT_SYSCALL) ?: -EIO;
	}
	return 0;
}

/* The upcall: emulate getpid and go back without a signal frame. */
static void lb_upcall(void)
{
	BENCH_LOL_RET(lb_g.vcpu.run) = BENCH_MAGIC_RET;
	lol_resume(lb_g.vcpu.fd);
	_exit(99);	/* LOL_RESUME does not return when it works */
}

static int lol_reflect_prepare(struct bench_state *st, struct lol_bench *lb)
{
	struct lol_syscall_ranges t = {
		.flags = LOL_RANGES_MONITOR,
		.nr_ranges = 1,
		.default_action = LOL_RANGE_NATIVE,
		.entry = (unsigned long)lb_upcall,
		.stack = (unsigned long)(lb_upcall_stack +
					 sizeof(lb_upcall_stack)),
	};
	int rc;

	(void)lb;
	rc = lb_guest_up(st, lb_exit_now_start, LOL_GUEST_SIZE(lb_exit_now), 1);
	if (rc)
		return rc;
	t.ranges[0].start = (unsigned long)lb_reflected_sys;
	t.ranges[0].end = t.ranges[0].start + LB_SYSCALL_LEN;
	t.ranges[0].action = LOL_RANGE_REFLECT;
	if (lol_set_syscall_ranges(lb_g.vcpu.fd, &t))
		return lb_fail(st, "LOL_SET_SYSCALL_RANGES");
	if (lb_reflected_getpid() != BENCH_MAGIC_RET)
		return bench_fail(st, EIO, "reflected getpid: wrong result");
	return 0;
}

static int lol_reflect_measure(struct bench_state *st, struct lol_bench *lb,
			       uint64_t iters)
{
	uint64_t i;

	(void)st;
	(void)lb;
	for (i = 0; i < iters; i++)
		if (lb_reflected_getpid() != BENCH_MAGIC_RET)
			return -EIO;
	return 0;
}

static int lol_fault_prepare(struct bench_state *st, struct lol_bench *lb)
{
	struct lol_run *run;
	int rc;

	(void)lb;
	rc = lb_guest_up(st, lb_touch_ab_start, LOL_GUEST_SIZE(lb_touch_ab), 1);
	if (rc)
		return rc;
	run = lb_g.vcpu.run;
	LB_REG_A(run) = LB_DATA_A;
	LB_REG_B(run) = LB_DATA_B;
	rc = lb_run(st, LOL_EXIT_FAULT);
	if (rc)
		return rc;
	if (run->fault.addr != LB_DATA_A)
		return bench_fail(st, EIO, "fault at %#llx, not page A",
				  (unsigned long long)run->fault.addr);
	return 0;
}

/* One op: the faulting page is mapped, the other unmapped, re-run. */
static int lol_fault_measure(struct bench_state *st, struct lol_bench *lb,
			     uint64_t iters)
{
	struct lol_run *run = lb_g.vcpu.run;
	struct lol_as_op ops[2] = {
		{ .op = LOL_AS_MAP, .prot = LOL_PROT_READ | LOL_PROT_WRITE,
		  .size = 4096, .phys = 4096 },
		{ .op = LOL_AS_UNMAP, .size = 4096 },
	};
	uint64_t i;

	(void)lb;
	for (i = 0; i < iters; i++) {
		__u64 hit = run->fault.addr;

		ops[0].addr = hit;
		ops[1].addr = hit == LB_DATA_A ? LB_DATA_B : LB_DATA_A;
		if (lol_as_ops(lb_g.vm.guest, lb_g.as[0], ops, 2, NULL))
			return lb_fail(st, "LOL_AS_OPS");
		if (lol_run(lb_g.vcpu.fd) || run->exit_reason != LOL_EXIT_FAULT ||
		    run->fault.addr != ops[1].addr)
			return bench_fail(st, EIO, "fault exit expected");
	}
	return 0;
}

static int lol_asswitch_prepare(struct bench_state *st, struct lol_bench *lb)
{
	(void)lb;
	return lb_guest_up(st, lb_exit_now_start, LOL_GUEST_SIZE(lb_exit_now),
			   2) ?: lb_run(st, LOL_EXIT_SYSCALL);
}

static int lol_asswitch_measure(struct bench_state *st, struct lol_bench *lb,
				uint64_t iters)
{
	struct lol_run *run = lb_g.vcpu.run;
	uint64_t i;

	(void)st;
	(void)lb;
	for (i = 0; i < iters; i++) {
		run->as_id = lb_g.as[i & 1];
		if (lol_run(lb_g.vcpu.fd) || run->exit_reason != LOL_EXIT_SYSCALL)
			return -EIO;
	}
	return 0;
}

/* LOL_CAP_FPU bytes: the vcpu's XSAVE image, as UML keeps it per process. */
static void *lb_fpu_buf;
static __u32 lb_fpu_size;

static int lol_fpu_prepare(struct bench_state *st, struct lol_bench *lb)
{
	long size = lol_check_extension(lb->devfd, LOL_CAP_FPU);
	int rc;

	if (size <= 0)
		return bench_fail(st, ENOTSUP, "LOL_CAP_FPU not supported by this lol.ko");
	lb_fpu_size = size;
	lb_fpu_buf = malloc(size);
	if (!lb_fpu_buf)
		return bench_fail(st, ENOMEM, "FPU buffer");
	rc = lb_guest_up(st, lb_exit_now_start, LOL_GUEST_SIZE(lb_exit_now), 1);
	if (rc)
		return rc;
	if (lol_get_fpu(lb_g.vcpu.fd, lb_fpu_buf, lb_fpu_size))
		return lb_fail(st, "LOL_GET_FPU");
	return 0;
}

/* What a guest kernel does when another process runs next. */
static int lol_fpu_measure(struct bench_state *st, uint64_t iters)
{
	uint64_t i;

	(void)st;
	for (i = 0; i < iters; i++)
		if (lol_get_fpu(lb_g.vcpu.fd, lb_fpu_buf, lb_fpu_size) ||
		    lol_set_fpu(lb_g.vcpu.fd, lb_fpu_buf, lb_fpu_size))
			return -EIO;
	return 0;
}

/*
 * Runs in the competitor process: a guest that stays in guest mode with
 * a syscall exit now and then, for as long as the benchmark lasts.
 */
static void lol_busy_guest(struct lol_bench *lb, int ready_fd)
{
	struct bench_state st = { 0 };
	int status;

	(void)lb;
	status = lb_guest_up(&st, lb_busy_start, LOL_GUEST_SIZE(lb_busy), 1);
	if (!status && lol_run(lb_g.vcpu.fd))
		status = -errno;
	if (write(ready_fd, &status, sizeof(status)) != sizeof(status))
		_exit(1);
	if (status)
		_exit(0);
	for (;;)
		if (lol_run(lb_g.vcpu.fd) && errno != EINTR)
			_exit(1);
}

/* ================= end of LEAD section ================= */

static int lol_probe(struct bench_state *st, struct lol_bench *lb,
		     const char *cap)
{
	struct stat sb;

	st->priv = lb;
	if (stat(LOL_DEV, &sb)) {
		if (errno == ENOENT)
			return bench_fail(st, ENODEV,
					  LOL_DEV " not found (lol module not loaded)");
		return bench_fail(st, errno, "stat " LOL_DEV ": %m");
	}
	if (!S_ISCHR(sb.st_mode))
		return bench_fail(st, ENODEV, LOL_DEV " is not a character device");
	lb->devfd = open(LOL_DEV, O_RDWR | O_CLOEXEC);
	if (lb->devfd < 0)
		return bench_fail(st, errno, "open " LOL_DEV ": %m");
	return cap ? lol_need_cap(st, lb, cap) : 0;
}

static void lol_teardown(struct bench_state *st)
{
	struct lol_bench *lb = st->priv;

	lb_guest_down();
	free(lb_fpu_buf);
	lb_fpu_buf = NULL;
	bench_kill_peer(&lb->competitor);
	if (lb->devfd >= 0)
		close(lb->devfd);
	lb->devfd = -1;
}

static int lol_runloop_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "run-loop syscall exits");

	return rc ? rc : lol_runloop_prepare(st, &lol_bench);
}

static int lol_runloop_run(struct bench_state *st, uint64_t iters)
{
	return lol_runloop_measure(st, st->priv, iters);
}

static int lol_reflect_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "in-place reflection");

	return rc ? rc : lol_reflect_prepare(st, &lol_bench);
}

static int lol_reflect_run(struct bench_state *st, uint64_t iters)
{
	return lol_reflect_measure(st, st->priv, iters);
}

static int lol_fault_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "fault exits");

	return rc ? rc : lol_fault_prepare(st, &lol_bench);
}

static int lol_fault_run(struct bench_state *st, uint64_t iters)
{
	return lol_fault_measure(st, st->priv, iters);
}

static int lol_asswitch_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, "multiple address spaces");

	return rc ? rc : lol_asswitch_prepare(st, &lol_bench);
}

static int lol_asswitch_run(struct bench_state *st, uint64_t iters)
{
	return lol_asswitch_measure(st, st->priv, iters);
}

static int lol_fpu_setup(struct bench_state *st)
{
	int rc = lol_probe(st, &lol_bench, NULL);

	return rc ? rc : lol_fpu_prepare(st, &lol_bench);
}

static int lol_fpu_run(struct bench_state *st, uint64_t iters)
{
	return lol_fpu_measure(st, iters);
}

static void lol_busy_body(void *arg)
{
	struct lol_bench *lb = arg;

	lol_busy_guest(lb, lb->ready_fd);
}

static int lol_hosttax_setup(struct bench_state *st)
{
	struct lol_bench *lb = &lol_bench;
	int p[2], status = -EIO, rc;
	ssize_t n;

	rc = lol_probe(st, lb, NULL);
	if (rc)
		return rc;
	/* The measured process must not hold lol state of its own. */
	close(lb->devfd);
	lb->devfd = -1;
	if (pipe2(p, O_CLOEXEC))
		return bench_fail(st, errno, "pipe: %m");
	lb->ready_fd = p[1];
	rc = hosttax_spawn(st, &lb->competitor, lol_busy_body, lb);
	lb->ready_fd = -1;
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	do {
		n = read(p[0], &status, sizeof(status));
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != sizeof(status))
		return bench_fail(st, EIO, "lol competitor died before its guest ran");
	if (status == -ENOSYS)
		return -ENOSYS;
	if (status)
		return bench_fail(st, -status, "lol competitor: %s",
				  strerror(-status));
	return 0;
}

const struct bench bench_lol_runloop = {
	.id = "lol-runloop",
	.mech = "lol run-loop exit",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_runloop_setup,
	.run = lol_runloop_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_reflect = {
	.id = "lol-reflect",
	.mech = "lol in-place reflection",
	.op = "guest getpid round trip",
	.group = BG_SYSCALL,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_reflect_setup,
	.run = lol_reflect_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_fault = {
	.id = "lol-fault",
	.mech = "lol LOL_EXIT_FAULT",
	.op = "fault, map, retry, unmap",
	.group = BG_FAULT,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_fault_setup,
	.run = lol_fault_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_asswitch = {
	.id = "lol-as-switch",
	.mech = "lol LOL_RUN, 2 ASs",
	.op = "AS round trip, alternating",
	.group = BG_ASSWITCH,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_asswitch_setup,
	.run = lol_asswitch_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_fpu = {
	.id = "lol-fpu",
	.mech = "lol LOL_GET/SET_FPU",
	.op = "FP state out and back in",
	.group = BG_ASSWITCH,
	.unit = BU_NS,
	.clock = CLOCK_MONOTONIC,
	.setup = lol_fpu_setup,
	.run = lol_fpu_run,
	.teardown = lol_teardown,
};

const struct bench bench_lol_hosttax = {
	.id = "lol-hosttax",
	.mech = "lol guest busy",
	.op = "getpid, unrelated process",
	.group = BG_HOSTTAX,
	.unit = BU_NS,
	.clock = CLOCK_THREAD_CPUTIME_ID,
	.setup = lol_hosttax_setup,
	.run = hosttax_run,
	.teardown = lol_teardown,
};
