// SPDX-License-Identifier: GPL-2.0
/*
 * lol-fuzz on x86_64: a guest's entry registers, the monitor state
 * LOL_RUN must leave alone, and what the CPU tells about PKU and TCG.
 */
#include "../fuzz.h"

void trace_run(int fd, struct gslot *g, struct lol_run *run)
{
	char hex[200];
	uint64_t rip;
	int n = 0;

	if (o.verbose < 2 || !run)
		return;
	rip = run->regs.rip;
	if (rip >= g->code_gva && rip < g->code_gva + CODE_LEN) {
		const uint8_t *p = g->phys + PHYS_CODE + (rip - g->code_gva);
		uint64_t left = g->code_gva + CODE_LEN - rip;

		for (uint64_t i = 0; i < left && i < 64; i++)
			n += snprintf(hex + n, sizeof(hex) - n, "%02x", p[i]);
	}
	hex[n] = 0;
	trace("run fd %d as %u rip %#llx rsp %#llx rflags %#llx flags %#x code %s",
	      fd, run->as_id, (unsigned long long)rip,
	      (unsigned long long)run->regs.rsp,
	      (unsigned long long)run->regs.rflags, run->flags, hex);
}

void mon_save(struct mon_state *m)
{
	m->tp = (uint64_t)__builtin_thread_pointer();
	__asm__ volatile("mov %%fs, %0" : "=r"(m->fs));
	__asm__ volatile("mov %%gs, %0" : "=r"(m->gs));
	__asm__ volatile("stmxcsr %0" : "=m"(m->mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(m->fcw));
	m->pkru = 0;
	if (C.has_pku)
		__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(m->pkru) : "c"(0) : "rdx");
}

void mon_check(const struct mon_state *b, uint64_t pat, uint64_t xmm8)
{
	struct mon_state a;

	mon_save(&a);
	if (xmm8 != pat)
		fail("monitor xmm8 %#llx after LOL_RUN, was %#llx",
		     (unsigned long long)xmm8, (unsigned long long)pat);
	if (a.tp != b->tp)
		fail("monitor FS base (thread pointer) %#llx after LOL_RUN, was %#llx",
		     (unsigned long long)a.tp, (unsigned long long)b->tp);
	if (a.fs != b->fs || a.gs != b->gs)
		fail("monitor fs/gs selectors %#x/%#x after LOL_RUN, were %#x/%#x",
		     a.fs, a.gs, b->fs, b->gs);
	if (a.mxcsr != b->mxcsr || a.fcw != b->fcw)
		fail("monitor MXCSR/FCW %#x/%#x after LOL_RUN, were %#x/%#x",
		     a.mxcsr, a.fcw, b->mxcsr, b->fcw);
	if (a.pkru != b->pkru)
		fail("monitor PKRU %#x after LOL_RUN, was %#x", a.pkru, b->pkru);
}

void set_entry(struct rng *r, struct gslot *g, struct lol_run *run,
		      uint64_t entry)
{
	struct lol_regs *x = &run->regs;
	__u64 *gpr = &x->rax;

	for (int i = 0; i < 16; i++)
		gpr[i] = chance(r, 30) ? rval(r) : 0;
	x->rip = chance(r, 90) ? g->code_gva + entry : rval(r);
	x->rsp = chance(r, 90) ? g->stack_gva + 2 * PAGE - 8 * below(r, 32) : rval(r);
	x->rflags = 0x202;
	if (chance(r, 15))
		x->rflags |= rnd(r) & 0x254dd5;
	if (chance(r, 2))
		x->rflags = rnd(r);
	x->fs_base = chance(r, 70) ? 0 : (chance(r, 90) ? pick_gva(r, g) : rval(r));
	x->gs_base = chance(r, 70) ? 0 : (chance(r, 90) ? pick_gva(r, g) : rval(r));
	memset(x->reserved, 0, sizeof(x->reserved));
	if (chance(r, 2))
		x->reserved[below(r, 12)] = rnd(r);
	run->as_id = pick_as(r, g);
	run->flags = chance(r, 10) ? LOL_RUN_SINGLESTEP : 0;
	if (chance(r, 2))
		run->flags = rnd(r);
	run->immediate_exit = chance(r, 3);
	if (chance(r, 2))
		run->pad1 = 1;
	else
		run->pad1 = 0;
	if (chance(r, 2))
		run->reserved_in[below(r, 6)] = 1;
	else
		memset(run->reserved_in, 0, sizeof(run->reserved_in));
	memset(run->pad0, 0, sizeof(run->pad0));
}

/* Now and then a random register of a ptrace-stopped thread. */
void ptrace_poke(pid_t tid, struct rng *rr)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0 && chance(rr, 30)) {
		switch (below(rr, 5)) {
		case 0:
			regs.rip = rval(rr);
			break;
		case 1:
			regs.cs = pick_sel(rr);
			break;
		case 2:
			regs.eflags ^= 0x100;
			break;
		case 3:
			regs.rax = rval(rr);
			break;
		default:
			regs.orig_rax = rval(rr);
			break;
		}
		ptrace(PTRACE_SETREGS, tid, 0, &regs);
	}
}

bool fz_has_pku(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1 << 4));
}

/* QEMU's TCG says so in the hypervisor cpuid leaf. */
bool fz_under_tcg(void)
{
	unsigned int a, b, c, d;
	char sig[13] = { 0 };

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	(void)a;
	return !strcmp(sig, "TCGTCGTCGTCG");
}
