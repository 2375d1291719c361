// SPDX-License-Identifier: GPL-2.0
/*
 * lol-fuzz: the case logic. A case (one child process of the supervisor)
 * opens /dev/lol, makes guests, vcpus and address spaces, drops root and
 * runs worker threads that pick random operations on them; the guest
 * code and registers come from the arch's generator (<arch>/gen.c).
 */
#include "fuzz.h"

struct fz_case C;

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000,
	0x1001, 0xffff, 0x10000, 0x200000, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ULL, 0x7ffffffde000ULL, 0x7ffffffff000ULL, 0x7fffffffffffULL,
	0x800000000000ULL, 0xfffffffffffffULL, 0x100000000000000ULL,
	0xff00000000000000ULL, 0xffff800000000000ULL, 0xffffffff81000000ULL,
	0xffffffffff600000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
	(uint64_t)-4095, (uint64_t)-4096, (uint64_t)-2, (uint64_t)-1,
};
#define NINTERESTING (sizeof(interesting) / sizeof(interesting[0]))

uint64_t rval(struct rng *r)
{
	switch (below(r, 7)) {
	case 0:
	case 1:
		return interesting[below(r, NINTERESTING)];
	case 2:
		return rnd(r);
	case 3:
		return below(r, 4096);
	case 4:
		return below(r, USER_LIMIT / PAGE) * PAGE;
	case 5:
		return interesting[below(r, NINTERESTING)] + below(r, 17) - 8;
	default:
		return rnd(r) & ((1ULL << below(r, 64)) - 1);
	}
}

static __thread int up_fd = -1;
static __thread struct lol_run *up_run;

/*
 * --trace: what each LOL_RUN is about to run, into the kernel log (the
 * fd to /dev/kmsg stays open after the case drops root), so the last
 * lines before a splat show the guest code that caused it.
 */
void trace(const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	int n;

	if (o.verbose < 2 || kmsg_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "<6>lol-fuzz: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(kmsg_fd, buf, n) < 0) {
		/* nothing to do */
	}
}

void odd(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	ADD(st->odd, 1);
	if (!o.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("odd (case %ld): %s", C.idx, buf);
}

/* A failure the monitor sees itself: report and end the case with 1. */
void fail(const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FAIL case %ld (%s): %s", C.idx, C.wild ? "wild" : "safe", buf);
	_exit(1);
}

/* Any fd of the pool, a closed or bogus one now and then. */
int pick_fd(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
	case 1:
		return LD(C.sys[below(r, NSYS)]);
	case 2:
	case 3:
		return LD(C.g[below(r, NGUEST)].fd);
	case 4:
	case 5:
	case 6:
	case 7:
		return LD(C.v[below(r, NVCPU)].fd);
	case 8:
		return LD(C.g[below(r, NGUEST)].memfd);
	default:
		return below(r, 2) ? -1 : 3 + (int)below(r, 60);
	}
}

static struct vslot *pick_vcpu(struct rng *r)
{
	return &C.v[below(r, NVCPU)];
}

uint32_t pick_as(struct rng *r, struct gslot *g)
{
	if (chance(r, 90))
		return LD(g->as[below(r, chance(r, 60) ? 1 : NAS)]);
	return (uint32_t)rval(r);
}

uint64_t pick_gva(struct rng *r, struct gslot *g)
{
	switch (below(r, 6)) {
	case 0:
		return g->code_gva + below(r, CODE_LEN);
	case 1:
		return g->data_gva + below(r, 2 * PAGE);
	case 2:
		return g->stack_gva + below(r, 2 * PAGE);
	default:
		return rval(r);
	}
}

/* ---- operations ----------------------------------------------------------------- */

static void arm_timer(struct thr *t, long ns)
{
	struct itimerspec its = { .it_value.tv_nsec = ns };

	if (t->has_timer)
		timer_settime(t->timer, 0, &its, NULL);
}

static bool errno_ok(int e)
{
	switch (e) {
	case EINTR: case EBUSY: case EINVAL: case ENOENT: case EIO:
	case EBADF: case ENOTTY: case EFAULT: case EPERM: case ENOMEM:
	case ENOSPC: case EEXIST: case ENXIO: case EACCES: case E2BIG:
	case EOVERFLOW: case EAGAIN: case ENODEV: case EMFILE:
		return true;
	default:
		return false;
	}
}

static long fz_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long ret = ioctl(fd, cmd, arg);

	ADD(st->ioctls, 1);
	if (ret < 0 && !errno_ok(errno))
		odd("ioctl(%d, %#lx) failed with errno %d", fd, cmd, errno);
	return ret;
}

static void map_fault(struct rng *r, struct gslot *g, uint32_t as, uint64_t addr)
{
	struct lol_as_op op = {
		.op = LOL_AS_MAP,
		.prot = 1 + below(r, 7),
		.addr = addr & ~(PAGE - 1),
		.size = PAGE,
		.phys = below(r, g->phys_size / PAGE) * PAGE,
	};
	struct lol_as_batch b = {
		.as_id = as, .nr_ops = 1, .ops = (uintptr_t)&op,
	};

	fz_ioctl(LD(g->fd), LOL_AS_OPS, (unsigned long)&b);
}

static void op_run(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct gslot *g = &C.g[v->g];
	struct lol_run *run = LD(v->run);
	int fd = LD(v->fd);
	int loops = 1 + below(r, 40);
	uint64_t entry = 0;

	if (chance(r, 70))
		entry = gen_code(r, g, C.wild);
	if (run && chance(r, 90))
		set_entry(r, g, run, entry);
	/* Wild: often let every guest syscall run on the host. */
	if (C.wild && chance(r, 30)) {
		struct lol_syscall_ranges *x = (void *)t->buf;

		memset(x, 0, sizeof(*x));
		x->flags = LOL_RANGES_GUEST;
		x->default_action = LOL_RANGE_NATIVE;
		fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
	}
	for (int k = 0; k < loops && !C.stop; k++) {
		struct mon_state ms;
		uint64_t pat = rnd(r), xmm8;
		long ret;

		arm_timer(t, 1000000 * (1 + below(r, chance(r, 80) ? 20 : 200)));
		trace_run(fd, g, run);
		mon_save(&ms);
		t->run_fd = fd;
		ret = run_xmm8(fd, pat, &xmm8);
		t->run_fd = -1;
		if (!C.wild)
			mon_check(&ms, pat, xmm8);
		arm_timer(t, 0);
		ADD(st->runs, 1);
		if (ret < 0) {
			if (ret == -EINTR)
				ADD(st->eintr, 1);
			else if (ret == -EBUSY)
				ADD(st->ebusy, 1);
			else
				ADD(st->run_err, 1);
			if (!errno_ok(-ret))
				odd("LOL_RUN returned %ld", ret);
			if (ret != -EINTR || chance(r, 50))
				break;
			continue;
		}
		if (!run)
			break;
		uint32_t why = LD(run->exit_reason);

		trace("exit %u rip %#llx", why, (unsigned long long)FZ_PC(run));

		ADD(st->exits[why & 7], 1);
		if (why > LOL_EXIT_INTR || why == LOL_EXIT_NONE)
			odd("exit_reason %u", why);
		switch (why) {
		case LOL_EXIT_SYSCALL:
			if (chance(r, 5))
				FZ_PC(run) = g->code_gva + gen_code(r, g, C.wild);
			FZ_RET(run) = chance(r, 50) ? 0 : rval(r);
			break;
		case LOL_EXIT_FAULT:
			if (chance(r, 40))
				map_fault(r, g, run->as_id, run->fault.addr);
			else
				FZ_PC(run) = g->code_gva + gen_code(r, g, C.wild);
			break;
		case LOL_EXIT_TRAP:
			if (run->trap.vector == 1 && chance(r, 80))
				break;
			if (chance(r, 50))
				FZ_PC(run) += 1 + below(r, 4);
			else
				FZ_PC(run) = g->code_gva + gen_code(r, g, C.wild);
			break;
		default:
			break;
		}
		if (chance(r, 3))
			run->flags ^= LOL_RUN_SINGLESTEP;
		if (chance(r, 5))
			run->as_id = pick_as(r, g);
	}
}

/* A semi-valid argument for cmd in t->buf, or a bad pointer. */
static unsigned long make_arg(struct thr *t, unsigned long cmd)
{
	struct rng *r = &t->r;
	uint8_t *b = t->buf;
	struct gslot *g = &C.g[below(r, NGUEST)];

	if (chance(r, 8)) {
		static const unsigned long bad[] = {
			0, 1, 0xffffffffff600000UL, 0xffffffff81000000UL,
			0x800000000000UL, 0xdead000000000000UL,
		};
		return bad[below(r, 6)];
	}
	memset(b, 0, PAGE);
	switch (cmd) {
	case LOL_SET_PHYS_MEMORY: {
		struct lol_phys_memory *p = (void *)b;

		p->fd = chance(r, 70) ? LD(g->memfd) : pick_fd(r);
		p->size = chance(r, 70) ? (1 + below(r, g->phys_size / PAGE)) * PAGE : rval(r);
		break;
	}
	case LOL_AS_OPS: {
		struct lol_as_batch *p = (void *)b;
		struct lol_as_op *ops = (void *)(b + 64);
		unsigned int n = 1 + below(r, 60);

		p->as_id = pick_as(r, g);
		p->nr_ops = chance(r, 90) ? n : rval(r);
		p->ops = (uintptr_t)ops;
		for (unsigned int i = 0; i < n; i++) {
			ops[i].op = 1 + below(r, 3);
			ops[i].prot = below(r, 8);
			ops[i].addr = pick_gva(r, g) & ~(PAGE - 1);
			ops[i].size = (1 + below(r, 16)) * PAGE;
			ops[i].phys = ops[i].op == LOL_AS_MAP ? below(r, g->phys_size / PAGE) * PAGE : 0;
		}
		if (chance(r, 10))	/* ops run into the guard page */
			p->ops = (uintptr_t)(b + PAGE - 8 - 32 * below(r, 2));
		break;
	}
	case LOL_GET_FPU:
	case LOL_SET_FPU: {
		struct lol_fpu *p = (void *)b;

		p->addr = (uintptr_t)(b + (chance(r, 80) ? 0 : PAGE - 64));
		p->size = chance(r, 80) ? C.fpu_size : rval(r);
		break;
	}
	case LOL_SET_SYSCALL_RANGES: {
		struct lol_syscall_ranges *p = (void *)b;

		/*
		 * Safe cases: guest tables of REFLECT and PTRACE (and invalid
		 * actions); a monitor table or NATIVE would let the guest or
		 * the table break the monitor on purpose.
		 */
		static const uint32_t safe_act[] = {
			0, LOL_RANGE_REFLECT, LOL_RANGE_PTRACE, 5,
		};

		p->flags = C.wild ? below(r, 4) : below(r, 2);
		p->nr_ranges = below(r, 17);
		p->default_action = C.wild ? below(r, 6) : safe_act[below(r, 4)];
		for (unsigned int i = 0; i < p->nr_ranges; i++) {
			p->ranges[i].start = pick_gva(r, g);
			p->ranges[i].end = p->ranges[i].start + below(r, 1 << 16);
			p->ranges[i].action = C.wild ? below(r, 6) : safe_act[below(r, 4)];
			p->ranges[i].flags = below(r, 3);
		}
		/* No usable upcall: monitor + REFLECT is refused. */
		break;
	}
	case LOL_CREATE_AS:
		break;
	default:
		if (chance(r, 50))
			return rval(r);
		for (int i = 0; i < 256; i++)
			b[i] = rnd(r);
		break;
	}
	/* Flip a bit: reserved fields, flags, padding (not in safe tables). */
	if (chance(r, 30) && (C.wild || cmd != LOL_SET_SYSCALL_RANGES))
		b[below(r, 256)] ^= 1 << below(r, 8);
	return (unsigned long)b;
}

static const unsigned long all_cmds[] = {
	LOL_GET_API_VERSION, LOL_CHECK_EXTENSION, LOL_CREATE_GUEST,
	LOL_GET_VCPU_MMAP_SIZE, LOL_CREATE_VCPU, LOL_SET_PHYS_MEMORY,
	LOL_CREATE_AS, LOL_DESTROY_AS, LOL_AS_OPS, LOL_RUN, LOL_KICK,
	LOL_GET_FPU, LOL_SET_FPU, LOL_SET_SYSCALL_RANGES, LOL_RESUME,
};
#define NCMDS (sizeof(all_cmds) / sizeof(all_cmds[0]))

static void op_ioctl(struct thr *t)
{
	struct rng *r = &t->r;
	unsigned long cmd, arg;
	int fd = pick_fd(r);
	long ret;

	switch (below(r, 10)) {
	case 0:		/* a random command of the lol type */
		cmd = _IOC(below(r, 4), LOLIO, below(r, 256), below(r, 1 << 14));
		break;
	case 1:
		cmd = (uint32_t)rnd(r);
		break;
	default:
		cmd = all_cmds[below(r, NCMDS)];
		break;
	}
	/* Guests and vcpus made here are closed again (or kept in the pool). */
	if (cmd == LOL_RUN || cmd == LOL_RESUME) {
		arm_timer(t, 2000000);
		arg = chance(r, 90) ? 0 : rval(r);
	} else if (cmd == LOL_CREATE_VCPU) {
		arg = chance(r, 80) ? below(r, C.max_vcpus + 2) : rval(r);
	} else if (cmd == LOL_CHECK_EXTENSION || cmd == LOL_DESTROY_AS ||
		   cmd == LOL_CREATE_GUEST || cmd == LOL_KICK) {
		arg = chance(r, 70) ? below(r, 16) : rval(r);
	} else {
		arg = make_arg(t, cmd);
	}
	ret = fz_ioctl(fd, cmd, arg);
	arm_timer(t, 0);
	if (ret > 2 && (cmd == LOL_CREATE_GUEST || cmd == LOL_CREATE_VCPU)) {
		if (ret < POOL_FD_MAX && chance(r, 30)) {
			/* into the pool, replacing a slot's fd (the old stays open) */
			if (cmd == LOL_CREATE_GUEST)
				ST(C.g[below(r, NGUEST)].fd, (int)ret);
			else
				ST(C.v[below(r, NVCPU)].fd, (int)ret);
		} else {
			close(ret);
		}
	}
}

static void op_as(struct thr *t)
{
	struct rng *r = &t->r;
	struct gslot *g = &C.g[below(r, NGUEST)];
	struct lol_as_op *ops = (void *)t->buf;
	unsigned int n = 1 + below(r, chance(r, 90) ? 16 : 256);
	struct lol_as_batch b = { .as_id = pick_as(r, g), .nr_ops = n,
				  .ops = (uintptr_t)ops };

	if (chance(r, 15)) {
		struct lol_create_as ca = { 0 };

		if (chance(r, 5))
			ca.reserved[below(r, 3)] = 1;
		if (fz_ioctl(LD(g->fd), LOL_CREATE_AS, (unsigned long)&ca) == 0)
			ST(g->as[1 + below(r, NAS - 1)], ca.as_id);
		return;
	}
	if (chance(r, 8)) {
		fz_ioctl(LD(g->fd), LOL_DESTROY_AS, pick_as(r, g));
		return;
	}
	if (n * sizeof(*ops) > PAGE)
		n = PAGE / sizeof(*ops);
	b.nr_ops = n;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t size;

		switch (below(r, 4)) {
		case 0: size = PAGE; break;
		case 1: size = (1 + below(r, 64)) * PAGE; break;
		case 2: size = below(r, 1ULL << below(r, 48)) & ~(PAGE - 1); break;
		default: size = rval(r); break;
		}
		ops[i].op = chance(r, 95) ? 1 + below(r, 3) : rnd(r);
		ops[i].prot = chance(r, 95) ? below(r, 8) : rnd(r);
		ops[i].addr = chance(r, 90) ? pick_gva(r, g) & ~(PAGE - 1) : rval(r);
		if (chance(r, 10))
			ops[i].addr = 0;
		ops[i].size = size;
		ops[i].phys = 0;
		if (ops[i].op == LOL_AS_MAP) {
			ops[i].phys = below(r, g->phys_size / PAGE) * PAGE;
			if (chance(r, 50) && ops[i].phys + size > g->phys_size)
				ops[i].size = (g->phys_size - ops[i].phys) ? : PAGE;
			if (chance(r, 5))
				ops[i].phys = rval(r);
		}
		ops[i].reserved = chance(r, 2) ? rnd(r) : 0;
	}
	if (chance(r, 3))
		b.flags = rnd(r);
	if (chance(r, 3))
		b.reserved[0] = 1;
	ADD(st->asops, 1);
	fz_ioctl(LD(g->fd), LOL_AS_OPS, (unsigned long)&b);
}

static void op_mmap(struct thr *t)
{
	struct rng *r = &t->r;
	int i = below(r, NMAPS);

	if (t->maps[i]) {
		switch (below(r, 4)) {
		case 0:
			mprotect(t->maps[i], t->maplen[i], below(r, 8));
			return;
		case 1:
			madvise(t->maps[i], t->maplen[i], chance(r, 50) ? MADV_DONTNEED : MADV_WILLNEED);
			return;
		case 2: {
			void *p = mremap(t->maps[i], t->maplen[i], t->maplen[i] * 2, MREMAP_MAYMOVE);

			if (p != MAP_FAILED) {
				t->maps[i] = p;
				t->maplen[i] *= 2;
			}
			return;
		}
		default:
			munmap(t->maps[i], t->maplen[i]);
			t->maps[i] = NULL;
			return;
		}
	}
	size_t len = chance(r, 70) ? PAGE : (1 + below(r, 4)) * PAGE;
	int prot = chance(r, 70) ? PROT_READ | PROT_WRITE : below(r, 8);
	int flags = chance(r, 85) ? MAP_SHARED : MAP_PRIVATE;
	off_t off = chance(r, 85) ? 0 : (off_t)(below(r, 4) * PAGE);
	void *p = mmap(NULL, len, prot, flags, pick_fd(r), off);

	if (p == MAP_FAILED)
		return;
	t->maps[i] = p;
	t->maplen[i] = len;
	/* Touch what the protection allows: the run page is shared. */
	if (prot & PROT_READ)
		(void)*(volatile uint8_t *)p;
	if ((prot & PROT_WRITE) && (prot & PROT_READ) && chance(r, 50))
		((volatile uint8_t *)p)[below(r, 16)] = 0;
}

static void op_kick(struct thr *t)
{
	struct rng *r = &t->r;
	int n = chance(r, 20) ? 50 + below(r, 200) : 1;

	while (n-- && !C.stop) {
		fz_ioctl(LD(pick_vcpu(r)->fd), LOL_KICK, chance(r, 95) ? 0 : 1);
		ADD(st->kicks, 1);
	}
}

static void op_fpu(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct lol_fpu f = { .addr = (uintptr_t)t->buf, .size = C.fpu_size };

	if (C.fpu_size > PAGE)
		return;
	if (chance(r, 10))
		f.size = rval(r);
	if (chance(r, 3))
		f.flags = 1;
	if (chance(r, 5))
		f.addr = rval(r);
	if (chance(r, 40)) {
		fz_ioctl(LD(v->fd), LOL_GET_FPU, (unsigned long)&f);
		return;
	}
	if (fz_ioctl(LD(v->fd), LOL_GET_FPU, (unsigned long)&(struct lol_fpu){
			.addr = (uintptr_t)t->buf, .size = C.fpu_size }) == 0 &&
	    chance(r, 70)) {
		int flips = 1 + below(r, 4);

		while (flips--)
			t->buf[below(r, C.fpu_size)] ^= 1 << below(r, 8);
	} else {
		for (uint32_t i = 0; i < C.fpu_size; i++)
			t->buf[i] = chance(r, 10) ? rnd(r) : 0;
	}
	fz_ioctl(LD(v->fd), LOL_SET_FPU, (unsigned long)&f);
}

/* Guest-mode syscall range tables; NATIVE ranges only in wild cases. */
static void op_ranges(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct gslot *g = &C.g[v->g];
	struct lol_syscall_ranges *x = (void *)t->buf;
	uint32_t maxact = C.wild ? LOL_RANGE_KILL : LOL_RANGE_PTRACE;

	memset(x, 0, sizeof(*x));
	if (chance(r, 15)) {		/* remove */
		fz_ioctl(LD(v->fd), LOL_SET_SYSCALL_RANGES, (unsigned long)x);
		return;
	}
	x->flags = LOL_RANGES_GUEST;
	x->nr_ranges = below(r, LOL_MAX_SYSCALL_RANGES + 1);
	x->default_action = LOL_RANGE_REFLECT;
	if (chance(r, 50))
		x->default_action = (C.wild ? LOL_RANGE_NATIVE : LOL_RANGE_REFLECT) + below(r, 2);
	uint64_t at = g->code_gva;
	for (uint32_t i = 0; i < x->nr_ranges; i++) {
		struct lol_syscall_range *s = &x->ranges[i];

		at += below(r, 256);
		s->start = at;
		at += 1 + below(r, chance(r, 80) ? 256 : CODE_LEN);
		s->end = at;
		s->action = LOL_RANGE_REFLECT + below(r, maxact - LOL_RANGE_REFLECT + 1);
		if (C.wild && chance(r, 60))
			s->action = LOL_RANGE_NATIVE;
		/* KILL ends the worker thread: rare, and never in safe cases' only worker */
		if (s->action == LOL_RANGE_KILL && chance(r, 80))
			s->action = LOL_RANGE_REFLECT;
		s->flags = chance(r, 20) ? LOL_RANGE_ONESHOT : 0;
	}
	if (!C.wild && x->default_action == LOL_RANGE_KILL)
		x->default_action = LOL_RANGE_REFLECT;
	if (chance(r, 5)) {		/* invalid on purpose */
		switch (below(r, 5)) {
		case 0: x->pad = 1; break;
		case 1: x->reserved[below(r, 4)] = 1; break;
		case 2: x->nr_ranges = 17 + below(r, 100); break;
		case 3: x->ranges[0].end = x->ranges[0].start; break;
		default: x->flags |= 4; break;
		}
	}
	fz_ioctl(LD(v->fd), LOL_SET_SYSCALL_RANGES, (unsigned long)x);
}

static void op_fd(struct thr *t)
{
	struct rng *r = &t->r;
	int *slot;

	switch (below(r, 3)) {
	case 0: slot = &C.g[below(r, NGUEST)].fd; break;
	case 1: slot = &C.v[below(r, NVCPU)].fd; break;
	default: slot = &C.sys[below(r, NSYS)]; break;
	}
	int fd = LD(*slot);

	switch (below(r, 4)) {
	case 0:		/* close under the other threads */
		if (fd > 2 && fd < POOL_FD_MAX)
			close(fd);
		break;
	case 1: {	/* put another pool fd on that number */
		int src = pick_fd(r);

		if (fd > 2 && fd < POOL_FD_MAX && src > 2 && src < POOL_FD_MAX)
			dup2(src, fd);
		break;
	}
	default: {	/* a duplicate replaces the slot's fd */
		int d = fcntl(fd, F_DUPFD_CLOEXEC, 3 + below(r, 100));

		if (d >= POOL_FD_MAX)
			close(d);
		else if (d > 2)
			ST(*slot, d);
		break;
	}
	}
}

/* Keeps a private dup of every vcpu fd: the end of the case kicks them all. */
static void add_kick_fd(int fd)
{
	int i = ADD(C.nkick, 1);

	if (i < MAX_KICK_FDS)
		fcntl(fd, F_DUPFD_CLOEXEC, KICK_FD_BASE + i);
}

static int new_vcpu(struct rng *r, int g, int *fd, struct lol_run **run)
{
	*fd = ioctl(LD(C.g[g].fd), LOL_CREATE_VCPU, below(r, C.max_vcpus));
	if (*fd < 0)
		return -1;
	if (*fd >= POOL_FD_MAX) {
		close(*fd);
		return -1;
	}
	*run = mmap(NULL, C.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*run == MAP_FAILED)
		*run = NULL;
	add_kick_fd(*fd);
	return 0;
}

/* New vcpus and guests in place of old ones (the old run pages stay mapped). */
static void op_recreate(struct thr *t)
{
	struct rng *r = &t->r;

	if (ADD(C.nrecreate, 1) > 24)
		return;
	if (chance(r, 70)) {
		struct vslot *v = pick_vcpu(r);
		struct lol_run *run;
		int fd;

		if (new_vcpu(r, v->g, &fd, &run) == 0) {
			if (run)
				ST(v->run, run);
			ST(v->fd, fd);
		}
		return;
	}
	struct gslot *g = &C.g[below(r, NGUEST)];
	int fd = ioctl(LD(C.sys[below(r, NSYS)]), LOL_CREATE_GUEST, 0);
	struct lol_phys_memory pm = { .fd = LD(g->memfd), .size = g->phys_size };
	struct lol_create_as ca = { 0 };

	if (fd < 0)
		return;
	if (fd >= POOL_FD_MAX) {
		close(fd);
		return;
	}
	ioctl(fd, LOL_SET_PHYS_MEMORY, &pm);
	if (ioctl(fd, LOL_CREATE_AS, &ca) == 0)
		ST(g->as[0], ca.as_id);
	ST(g->fd, fd);
}

static void op_signal(struct thr *t)
{
	struct rng *r = &t->r;
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGALRM };
	/* SIGUSR1 stays unblocked: the end of the case relies on it. */
	static const int maskable[] = { SIGUSR2, SIGALRM, SIGPIPE };

	switch (below(r, 6)) {
	case 0:
	case 1: {
		int i = below(r, C.nthreads);
		pid_t tid = LD(C.t[i].tid);

		if (tid > 0 && !LD(C.t[i].done))
			syscall(SYS_tgkill, getpid(), tid, sigs[below(r, 3)]);
		break;
	}
	case 2: {
		struct itimerval it = {
			.it_value.tv_usec = 1 + below(r, 20000),
			.it_interval.tv_usec = chance(r, 50) ? 200 + below(r, 5000) : 0,
		};

		setitimer(ITIMER_REAL, &it, NULL);
		break;
	}
	case 3: {
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, maskable[below(r, 3)]);
		if (C.wild && chance(r, 50))
			sigaddset(&s, SIGSEGV);
		pthread_sigmask(chance(r, 50) ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
		break;
	}
	case 4:
		/* a group stop; the supervisor sends SIGCONT */
		if (chance(r, 30))
			kill(getpid(), SIGSTOP);
		break;
	default: {
		/* SIG_IGN for a sync signal: lol must keep it across a run */
		static const int sync[] = { SIGTRAP, SIGFPE, SIGBUS };

		if (C.wild)
			signal(sync[below(r, 3)], chance(r, 50) ? SIG_IGN : SIG_DFL);
		break;
	}
	}
}

static bool is_lol_fd(int fd, const char *kind)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return strstr(link, kind) != NULL;
}

/* A child of the monitor must not drive the parent's guests. */
static void op_fork(struct thr *t)
{
	struct rng *r = &t->r;
	pid_t pid;

	ADD(st->forks, 1);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < NVCPU; i++) {
			int fd = LD(C.v[i].fd);
			struct lol_run *run = LD(C.v[i].run);

			/* The run page is the parent's alone: not inherited. */
			if (run && (msync(run, PAGE, MS_ASYNC) != -1 ||
				    errno != ENOMEM))
				fail("forked child: the parent's run page is mapped");
			if (!is_lol_fd(fd, "lol-vcpu"))
				continue;
			if (ioctl(fd, LOL_KICK, 0) != -1 || errno != EIO)
				fail("forked child: LOL_KICK on the parent's vcpu gave %s",
				     strerror(errno));
			if (ioctl(fd, LOL_RUN, 0) != -1 || errno != EIO)
				fail("forked child: LOL_RUN on the parent's vcpu gave %s",
				     strerror(errno));
			void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);

			if (p != MAP_FAILED)
				fail("forked child: mmap of the parent's vcpu fd worked");
		}
		for (int i = 0; i < NGUEST; i++) {
			int fd = LD(C.g[i].fd);
			struct lol_create_as ca = { 0 };

			if (!is_lol_fd(fd, "lol-guest"))
				continue;
			if (ioctl(fd, LOL_CREATE_AS, &ca) != -1 || errno != EIO)
				fail("forked child: LOL_CREATE_AS on the parent's guest gave %s",
				     strerror(errno));
		}
		_exit(0);
	}
	if (pid < 0)
		return;
	for (int i = 0; i < 500; i++) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* It said FAIL (1), or crashed in a safe case (5). */
			if (WIFEXITED(status) && (WEXITSTATUS(status) == 1 ||
						  WEXITSTATUS(status) == 5))
				_exit(WEXITSTATUS(status));
			return;
		}
		usleep(10000);
		if (C.stop || chance(r, 1))
			kill(pid, SIGKILL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Scribble on a run page while others use it. */
static void op_scribble(struct thr *t)
{
	struct rng *r = &t->r;
	struct lol_run *run = LD(pick_vcpu(r)->run);

	if (!run)
		return;
	switch (below(r, 4)) {
	case 0:
		run->immediate_exit = !run->immediate_exit;
		break;
	case 1:
		run->as_id = (uint32_t)rval(r);
		break;
	case 2:
		FZ_REG_WORDS(run)[below(r, FZ_NREG_WORDS)] = rval(r);
		break;
	default:
		((uint8_t *)run)[below(r, C.run_size)] = rnd(r);
		break;
	}
}

static void *worker(void *arg);

/* A short-lived thread: runs a few operations and exits. */
static void op_thread(struct thr *t)
{
	pthread_t pt;
	struct thr *n;

	if (ADD(C.nextra_threads, 1) >= 8)
		return;
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->idx = -1;
	n->r.s = rnd(&t->r);
	if (pthread_create(&pt, NULL, worker, n) == 0)
		pthread_detach(pt);
	else
		free(n);
}

/* ---- wild-only operations ---------------------------------------------------- */

/*
 * Monitor-mode reflection upcall: runs the reflected syscall natively (the
 * table is disarmed during the upcall) and resumes.
 */
__attribute__((noreturn, used)) static void upcall_entry(void)
{
	struct lol_run *run = up_run;
	long nr, ret;

	if (!run) {
		raw6(SYS_exit, 0, 0, 0, 0, 0, 0);
		__builtin_unreachable();
	}
	ADD(st->upcalls, 1);
	nr = run->syscall.nr;
	switch (nr) {
	case SYS_rt_sigreturn:
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
		ret = -ENOSYS;
		break;
	default:
		ret = raw6(nr, run->syscall.args[0], run->syscall.args[1],
			   run->syscall.args[2], run->syscall.args[3],
			   run->syscall.args[4], run->syscall.args[5]);
		break;
	}
	FZ_RET(run) = ret;
	raw6(SYS_ioctl, up_fd, LOL_RESUME, 0, 0, 0, 0);
	raw6(SYS_exit, 0, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

static void op_monitor(struct thr *t)
{
	struct rng *r = &t->r;
	struct vslot *v = pick_vcpu(r);
	struct lol_syscall_ranges *x = (void *)t->buf;
	int fd = LD(v->fd);

	memset(x, 0, sizeof(*x));
	if (chance(r, 20)) {
		fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
		return;
	}
	x->flags = LOL_RANGES_MONITOR | (chance(r, 30) ? LOL_RANGES_GUEST : 0);
	x->default_action = chance(r, 70) ? LOL_RANGE_NATIVE : LOL_RANGE_REFLECT;
	x->nr_ranges = below(r, 4);
	for (uint32_t i = 0; i < x->nr_ranges; i++) {
		uint64_t start = i * (USER_LIMIT / 4) + below(r, USER_LIMIT / 8);

		x->ranges[i].start = start;
		x->ranges[i].end = start + 1 + below(r, USER_LIMIT / 8);
		x->ranges[i].action = LOL_RANGE_REFLECT;
		if (chance(r, 10))
			x->ranges[i].action = LOL_RANGE_PTRACE + below(r, 2);
		x->ranges[i].flags = chance(r, 30) ? LOL_RANGE_ONESHOT : 0;
	}
	x->entry = (uintptr_t)upcall_entry;
	x->stack = ((uintptr_t)t->upstack + 65536) & ~15UL;
	up_fd = fd;
	up_run = LD(v->run);
	fz_ioctl(fd, LOL_SET_SYSCALL_RANGES, (unsigned long)x);
	/* A few syscalls of our own through the table. */
	for (int i = below(r, 8); i > 0; i--)
		getppid();
}

static int wait_or_kill(pid_t pid, int ms)
{
	int status = 0;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG | __WALL) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	return status;
}

/* A tracer child pokes at one of our threads. */
static void op_ptrace(struct thr *t)
{
	struct rng *r = &t->r;
	int i = below(r, C.nthreads);
	pid_t tid = LD(C.t[i].tid), pid;
	uint64_t seed = rnd(r);

	if (tid <= 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct rng rr = { seed };
		int status;

		alarm(2);
		if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0)
			_exit(0);
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		for (int k = 0; k < 8; k++) {
			if (waitpid(tid, &status, __WALL) < 0)
				break;
			ptrace_poke(tid, &rr);
			switch (below(&rr, 3)) {
			case 0: ptrace(PTRACE_SINGLESTEP, tid, 0, 0); break;
			case 1: ptrace(PTRACE_SYSCALL, tid, 0, 0); break;
			default: ptrace(PTRACE_CONT, tid, 0, 0); break;
			}
		}
		ptrace(PTRACE_DETACH, tid, 0, 0);
		_exit(0);
	}
	if (pid > 0)
		wait_or_kill(pid, 3000);
}

/* exec with sibling threads in guest mode, in a child process. */
static void *spin_guest(void *arg)
{
	int fd = (int)(intptr_t)arg;

	for (;;)
		ioctl(fd, LOL_RUN, 0);
	return NULL;
}

static void op_exec(struct thr *t)
{
	pid_t pid = fork();

	(void)t;
	if (pid == 0) {
		/* our own guest: the parent's fds answer -EIO here */
		int sys = LD(C.sys[0]);
		int g = ioctl(sys, LOL_CREATE_GUEST, 0);
		int memfd = memfd_create("lol-fuzz-exec", 0);
		struct lol_create_as ca = { 0 };
		pthread_t pt;

		if (g < 0 || memfd < 0 || ftruncate(memfd, PAGE))
			_exit(0);
		uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		struct lol_phys_memory pm = { .fd = memfd, .size = PAGE };
		struct lol_as_op op = { .op = LOL_AS_MAP, .prot = LOL_PROT_READ | LOL_PROT_EXEC,
					.addr = 0x400000, .size = PAGE };

		if (p == MAP_FAILED || ioctl(g, LOL_SET_PHYS_MEMORY, &pm) ||
		    ioctl(g, LOL_CREATE_AS, &ca))
			_exit(0);
		struct lol_as_batch b = { .as_id = ca.as_id, .nr_ops = 1, .ops = (uintptr_t)&op };

		p[0] = 0xeb;
		p[1] = 0xfe;		/* jmp . */
		ioctl(g, LOL_AS_OPS, &b);
		for (int i = 0; i < 2; i++) {
			int v = ioctl(g, LOL_CREATE_VCPU, i);
			struct lol_run *run;

			if (v < 0)
				_exit(0);
			run = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v, 0);
			if (run == MAP_FAILED)
				_exit(0);
			run->as_id = ca.as_id;
			fz_start(run, 0x400000);
			pthread_create(&pt, NULL, spin_guest, (void *)(intptr_t)v);
		}
		usleep(1000 * (1 + (getpid() % 20)));
		execl("/proc/self/exe", "lol-fuzz", "--exec-noop", (char *)NULL);
		_exit(0);
	}
	if (pid > 0)
		wait_or_kill(pid, 5000);
}

/* ---- workers and the case ------------------------------------------------------- */

static const struct op {
	const char *name;
	void (*fn)(struct thr *t);
	unsigned int weight;
	bool wild_only;
} ops[] = {
	{ "run", op_run, 32, false },
	{ "ioctl", op_ioctl, 14, false },
	{ "as", op_as, 10, false },
	{ "mmap", op_mmap, 5, false },
	{ "kick", op_kick, 6, false },
	{ "fpu", op_fpu, 4, false },
	{ "ranges", op_ranges, 5, false },
	{ "fd", op_fd, 3, false },
	{ "recreate", op_recreate, 2, false },
	{ "signal", op_signal, 4, false },
	{ "fork", op_fork, 1, false },
	{ "scribble", op_scribble, 3, false },
	{ "thread", op_thread, 1, false },
	{ "monitor", op_monitor, 3, true },
	{ "ptrace", op_ptrace, 1, true },
	{ "exec", op_exec, 1, true },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void on_signal(int sig)
{
	(void)sig;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	char buf[200];
	int n;

	if (C.wild)
		_exit(7);
	n = snprintf(buf, sizeof(buf),
		     "lol-fuzz: FAIL case %ld (safe): monitor got signal %d (code %d, addr %p) at rip %#llx\n",
		     C.idx, sig, si->si_code, si->si_addr,
		     (unsigned long long)FZ_UC_PC(u));
	if (write(2, buf, n) < 0) {
		/* nothing to do */
	}
	_exit(5);
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	(void)sig;
	(void)si;
	FZ_UC_RET(u) = -ENOSYS;
}

static void *worker(void *arg)
{
	struct thr *t = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGUSR2 };
	unsigned int total = 0;

	t->run_fd = -1;
	t->tid = gettid();
	t->tp = (uint64_t)__builtin_thread_pointer();
	sev._sigev_un._tid = t->tid;
	t->has_timer = timer_create(CLOCK_MONOTONIC, &sev, &t->timer) == 0;
	t->buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t->upstack = mmap(NULL, 65536 + PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->buf == MAP_FAILED || t->upstack == MAP_FAILED)
		goto out;
	mprotect(t->buf + PAGE, PAGE, PROT_NONE);
	for (size_t i = 0; i < NOPS; i++)
		if (C.wild || !ops[i].wild_only)
			total += ops[i].weight;
	for (int n = 0; !C.stop; n++) {
		unsigned int w = below(&t->r, total);
		size_t i;

		for (i = 0; i < NOPS; i++) {
			if (!C.wild && ops[i].wild_only)
				continue;
			if (w < ops[i].weight)
				break;
			w -= ops[i].weight;
		}
		if (i == NOPS)
			i = 0;
		t->op = ops[i].name;
		trace("t%d op %s", t->idx, ops[i].name);
		ops[i].fn(t);
		ADD(st->ops, 1);
		/* short-lived extra threads */
		if (t->idx < 0 && n > 20)
			break;
	}
out:
	t->op = "done";
	if (t->has_timer)
		timer_delete(t->timer);
	ST(t->done, true);
	return NULL;
}

static int setup_case(struct rng *r)
{
	for (int i = 0; i < NSYS; i++) {
		C.sys[i] = open("/dev/lol", O_RDWR | O_CLOEXEC);
		if (C.sys[i] < 0) {
			say("cannot open /dev/lol: %s", strerror(errno));
			return -1;
		}
	}
	if (ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_RUN) <= 0) {
		say("LOL_CAP_RUN is 0: the run loop is unavailable");
		return -1;
	}
	C.fpu_size = ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_FPU);
	C.max_vcpus = ioctl(C.sys[0], LOL_CHECK_EXTENSION, LOL_CAP_MAX_VCPUS);
	C.run_size = ioctl(C.sys[0], LOL_GET_VCPU_MMAP_SIZE, 0);
	if (C.max_vcpus < 2 || C.run_size < sizeof(struct lol_run)) {
		say("odd capabilities: max_vcpus %ld, run size %zu", C.max_vcpus, C.run_size);
		return -1;
	}
	for (int i = 0; i < NGUEST; i++) {
		struct gslot *g = &C.g[i];
		static const uint64_t code_at[] = {
			0x400000, 0x1000, 0x7ffffffd0000ULL, 0x10000000,
		};
		struct lol_phys_memory pm = { 0 };

		g->fd = ioctl(C.sys[i % NSYS], LOL_CREATE_GUEST, 0);
		g->memfd = memfd_create("lol-fuzz", MFD_CLOEXEC);
		if (g->fd < 0 || g->memfd < 0) {
			say("cannot create guest %d: %s", i, strerror(errno));
			return -1;
		}
		g->phys_size = PHYS_MIN + below(r, 56) * PAGE;
		if (chance(r, 5))
			g->phys_size = 256UL << 20;	/* sparse */
		if (ftruncate(g->memfd, g->phys_size))
			return -1;
		g->phys = mmap(NULL, g->phys_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, g->memfd, 0);
		if (g->phys == MAP_FAILED)
			return -1;
		pm.fd = g->memfd;
		pm.size = g->phys_size;
		if (ioctl(g->fd, LOL_SET_PHYS_MEMORY, &pm))
			return -1;
		g->code_gva = chance(r, 80) ? code_at[below(r, 4)]
					   : below(r, USER_LIMIT / PAGE - 8) * PAGE;
		g->data_gva = g->code_gva + 0x100000;
		if (g->data_gva + 0x200000 > USER_LIMIT)
			g->data_gva = 0x600000;
		g->stack_gva = g->data_gva + 0x100000;
		for (int a = 0; a < 3; a++) {
			struct lol_create_as ca = { 0 };
			struct lol_as_op op[3] = {
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_EXEC, g->code_gva, CODE_LEN, PHYS_CODE, 0 },
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_WRITE, g->data_gva, 2 * PAGE, PHYS_DATA, 0 },
				{ LOL_AS_MAP, LOL_PROT_READ | LOL_PROT_WRITE, g->stack_gva, 2 * PAGE, PHYS_STACK, 0 },
			};
			struct lol_as_batch b = { .nr_ops = 3, .ops = (uintptr_t)op };

			if (ioctl(g->fd, LOL_CREATE_AS, &ca))
				return -1;
			g->as[a] = ca.as_id;
			b.as_id = ca.as_id;
			if (ioctl(g->fd, LOL_AS_OPS, &b))
				say("setup AS ops: %s", strerror(errno));
		}
		for (uint64_t k = 0; k < PHYS_MIN; k++)
			g->phys[k] = rnd(r);
		tcg_sanitize(g->phys, NULL, PHYS_MIN);
	}
	for (int i = 0; i < NVCPU; i++) {
		struct vslot *v = &C.v[i];

		v->g = i % NGUEST;
		v->fd = ioctl(C.g[v->g].fd, LOL_CREATE_VCPU, i / NGUEST);
		if (v->fd < 0)
			return -1;
		v->run = mmap(NULL, C.run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			return -1;
		/* for kicking at the end, whatever the pool did */
		add_kick_fd(v->fd);
	}
	return 0;
}

static void drop_privileges(void)
{
	if (getuid() != 0)
		return;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		say("cannot drop privileges: %s", strerror(errno));
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
}

/* The case child: never returns. */
void run_case(uint64_t seed, bool wild, int nthreads, int budget_ms)
{
	struct rng r = { seed };
	struct sigaction sa = { 0 };
	double t0, end;
	int kick_fds = 0;
	bool stuck = false;

	C.seed = seed;
	C.wild = wild;
	C.nthreads = nthreads;
	C.has_pku = fz_has_pku();
	C.tcg = o.tcg > 0;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = chance(&r, 50) ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sa.sa_sigaction = on_sigsys;
	sigaction(SIGSYS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup_case(&r))
		_exit(2);
	drop_privileges();

	for (int i = 0; i < nthreads; i++) {
		C.t[i].idx = i;
		C.t[i].r.s = mix(seed, 1000 + i);
		if (pthread_create(&C.t[i].pt, NULL, worker, &C.t[i]))
			_exit(2);
	}
	/* Signals (setitimer, tgkill) cut sleeps short: sleep to a deadline. */
	end = now() + budget_ms / 1000.0;
	while (now() < end)
		usleep(10000);
	C.stop = 1;
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);

	/* Get every worker out: kicks and signals until they are all done. */
	t0 = now();
	end = t0 + 20;
	while (now() < end) {
		bool all = true;

		for (int i = 0; i < nthreads; i++) {
			if (LD(C.t[i].done))
				continue;
			all = false;
			syscall(SYS_tgkill, getpid(), C.t[i].tid, SIGUSR1);
		}
		if (all)
			break;
		for (int i = 0; i < LD(C.nkick) && i < MAX_KICK_FDS; i++)
			if (ioctl(KICK_FD_BASE + i, LOL_KICK, 0) == 0)
				kick_fds++;
		for (int i = 0; i < nthreads; i++) {
			int fd = C.t[i].run_fd;

			if (fd >= 0 && !LD(C.t[i].done))
				ioctl(fd, LOL_KICK, 0);
		}
		usleep(20000);
	}
	for (int i = 0; i < nthreads; i++) {
		if (LD(C.t[i].done))
			continue;
		/* A thread killed by a KILL range never sets done: gone from /proc. */
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/task/%d", C.t[i].tid);
		if (access(path, F_OK))
			continue;
		int fd = C.t[i].run_fd;

		say("STUCK case %ld (%s): worker %d (tid %d) in op %s for %.0f s after the end of the case%s",
		    C.idx, wild ? "wild" : "safe", i, C.t[i].tid,
		    C.t[i].op ? C.t[i].op : "?", now() - t0,
		    fd >= 0 ? ", inside LOL_RUN" : "");
		if (fd >= 0)
			say("STUCK   LOL_RUN on fd %d (%s), kicked on it and signalled with SIGUSR1 every 20 ms",
			    fd, is_lol_fd(fd, "lol-vcpu") ? "a vcpu" : "not a vcpu now");
		stuck = true;
	}
	if (stuck) {
		/* The supervisor dumps our kernel stacks, then kills us. */
		for (;;)
			pause();
	}
	if (o.verbose)
		say("case %ld done (%.2f s to stop, %d kicks)", C.idx, now() - t0, kick_fds);
	_exit(0);
}

