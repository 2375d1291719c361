// SPDX-License-Identifier: GPL-2.0
/*
 * lol ia64: guest register state in and out of the thread.
 *
 * While a thread is in guest mode, its user state is the guest's in all
 * four places the kernel keeps it (lol_arch.h): pt_regs, the preserved
 * registers (written through the unwinder, as ptrace does), the register
 * stack, and f32-f127 (fpu.c). The monitor's are kept in the vcpu.
 *
 * The register stack is not copied: at each switch the outgoing side's
 * dirty partition -- its stacked registers still on the kernel's register
 * backing store -- is written to its own backing store in user memory
 * (the current mm is still its own), and its pt_regs say "bspstore at the
 * end, nothing to reload" (loadrs 0), with the current frame in cr_ifs.
 * That is what ptrace does when a debugger writes ar.bsp; on the way back
 * to user mode the RSE loads the current frame from the user's backing
 * store. So nothing of one side's stacked registers ever reaches the
 * other, and the guest's are in guest memory whenever the monitor runs.
 *
 * Such a frame must return through ia64_leave_kernel (which restores all
 * of pt_regs and the frame from cr_ifs), not ia64_leave_syscall (which
 * clears the scratch registers). Every guest entry and exit is finished
 * in notify_resume_user() (the entry in the task_work that sets r8 and
 * r10, the exits in the syscall entry's task_work or the get_signal()
 * hook), and there lol switches the way out as ptrace's
 * convert_to_non_syscall() does: by clearing the "leave from syscall"
 * predicate in notify_resume_user's frame.
 */
#include <linux/audit.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/uaccess.h>
#include <asm/rse.h>
#include <asm/unistd.h>
#include <asm/unwind.h>

#include "lol.h"

/*
 * Predicates the kernel's exit path tests, from arch/ia64/kernel/entry.h
 * (private to the kernel, same values since 2.6).
 */
#define LOL_PRED_LEAVE_SYSCALL	1
#define LOL_PRED_USER_STACK	3
#define LOL_PRED_SYSCALL	4
#define LOL_PRED_NON_SYSCALL	5

#define LOL_CFM_MASK	((1UL << 38) - 1)
#define LOL_IFS_VALID	(1UL << 63)

/* ar.rsc: mode and be are the guest's; pl is always user, loadrs 0. */
#define LOL_RSC_MODE	0x3UL
#define LOL_RSC_PL_USER	(3UL << 2)
#define LOL_RSC_BE	(1UL << 4)
/* ar.pfs: pfm, pec and ppl are defined, the rest reserved. */
#define LOL_PFS_DEFINED	(LOL_CFM_MASK | (0x3fUL << 52) | (3UL << 62))
/* ar.fpsr bits 58-63 are reserved. */
#define LOL_FPSR_DEFINED	((1UL << 58) - 1)

struct lol_ia64_syms lol_ia64;

/*
 * Descriptors for probed kernel functions, so that C can call them: the
 * code address and the kernel's gp. Filled at module init only.
 */
static struct fdesc lol_ia64_fdesc[16];
static unsigned int lol_ia64_nr_fdesc;

void *lol_arch_kprobe_func(kprobe_opcode_t *addr)
{
	/*
	 * An exported kernel function's address, taken in a module, is the
	 * kernel's own descriptor (the module loader copies only the
	 * module's): its gp is the kernel's.
	 */
	const struct fdesc *kernel = (const void *)schedule;
	struct fdesc *f;

	if (!addr || WARN_ON(lol_ia64_nr_fdesc >= ARRAY_SIZE(lol_ia64_fdesc)))
		return NULL;
	f = &lol_ia64_fdesc[lol_ia64_nr_fdesc++];
	f->addr = (unsigned long)addr;
	f->gp = kernel->gp;
	return f;
}

static void *lol_ia64_resolve(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	void *fn;

	if (register_kprobe(&kp) < 0) {
		pr_warn("lol: cannot resolve %s\n", name);
		return NULL;
	}
	fn = lol_arch_kprobe_func(kp.addr);
	unregister_kprobe(&kp);
	return fn;
}

int lol_arch_init(void)
{
	int ret;

	/* ptrace's helpers for the register stack, not exported. */
	lol_ia64.peek = lol_ia64_resolve("ia64_peek");
	lol_ia64.rbs_end = lol_ia64_resolve("ia64_get_user_rbs_end");
	lol_ia64.sync_fph = lol_ia64_resolve("ia64_sync_fph");
	lol_ia64.get_args = lol_ia64_resolve("syscall_get_arguments");
	if (!lol_ia64.peek || !lol_ia64.rbs_end || !lol_ia64.sync_fph ||
	    !lol_ia64.get_args)
		return -ENOENT;
	ret = lol_ia64_entry_init();
	if (ret)
		return ret;
	ret = lol_ia64_fptrap_init();
	if (ret) {
		pr_warn("lol: cannot hook __ia64_load_fpu: %d\n", ret);
		goto out_entry;
	}
	return 0;

out_entry:
	lol_ia64_entry_exit();
	return ret;
}

void lol_arch_exit(void)
{
	lol_ia64_fptrap_fini();
	lol_ia64_entry_exit();
}

int lol_arch_can_run(void)
{
	return 0;
}

static bool lol_ia64_in_syscall(const struct pt_regs *pt)
{
	return (long)pt->cr_ifs >= 0;
}

int lol_arch_check_regs(const struct lol_regs *g)
{
	unsigned long sof, sol, sor;
	int i;

	for (i = 0; i < ARRAY_SIZE(g->reserved); i++)
		if (g->reserved[i])
			return -EINVAL;
	if (g->gr[0] || g->nat & ~0xf0UL)
		return -EINVAL;
	/* A bundle address and a slot 0-2 in user space. */
	if (g->ip >= LOL_USER_LIMIT || (g->ip & 0xf) > 2)
		return -EINVAL;
	if (g->psr & ~LOL_PSR_USER)
		return -EINVAL;
	/* A frame the RSE can hold; rfi faults on reserved CFM fields. */
	if (g->cfm & ~LOL_CFM_MASK)
		return -EINVAL;
	sof = g->cfm & 0x7f;
	sol = (g->cfm >> 7) & 0x7f;
	sor = (g->cfm >> 14) & 0xf;
	if (sof > 96 || sol > sof || sor * 8 > sof)
		return -EINVAL;
	if (((g->cfm >> 18) & 0x7f) >= (sor ? sor * 8 : 1) ||
	    ((g->cfm >> 25) & 0x7f) >= 96 || ((g->cfm >> 32) & 0x3f) >= 48)
		return -EINVAL;
	if (g->ar_pfs & ~LOL_PFS_DEFINED)
		return -EINVAL;
	if (g->ar_rsc & ~(LOL_RSC_MODE | LOL_RSC_PL_USER | LOL_RSC_BE))
		return -EINVAL;
	if (g->ar_bsp >= LOL_USER_LIMIT || g->ar_bsp & 7)
		return -EINVAL;
	if (g->ar_fpsr & ~LOL_FPSR_DEFINED || g->ar_ec & ~0x3fUL)
		return -EINVAL;
	return 0;
}

/* The registers pt_regs holds (the preserved ones: lol_ia64_switch_cb). */
void lol_arch_load_regs(struct pt_regs *r, const struct lol_regs *g)
{
	struct ia64_psr *psr = ia64_psr(r);

	r->r1 = g->gr[1];
	r->r2 = g->gr[2];
	r->r3 = g->gr[3];
	r->r8 = g->gr[8];
	r->r9 = g->gr[9];
	r->r10 = g->gr[10];
	r->r11 = g->gr[11];
	r->r12 = g->gr[12];
	r->r13 = g->gr[13];
	r->r14 = g->gr[14];
	r->r15 = g->gr[15];
	memcpy(&r->r16, &g->gr[16], 16 * sizeof(u64));
	r->b0 = g->br[0];
	r->b6 = g->br[6];
	r->b7 = g->br[7];
	r->pr = g->pr | 1;
	r->cr_iip = g->ip & ~0xfUL;
	r->cr_ipsr = (r->cr_ipsr & ~(u64)LOL_PSR_USER) | g->psr;
	psr->ri = g->ip & 3;
	/* Never the kernel's or IA-32 mode, whatever r held before. */
	psr->cpl = 3;
	psr->is = 0;
	psr->ss = 0;
	psr->tb = 0;
	psr->lp = 0;
	psr->db = 0;
	r->cr_ifs = LOL_IFS_VALID | g->cfm;
	r->ar_pfs = g->ar_pfs;
	r->ar_unat = g->ar_unat;
	r->ar_rsc = (g->ar_rsc & (LOL_RSC_MODE | LOL_RSC_BE)) | LOL_RSC_PL_USER;
	r->ar_bspstore = g->ar_bsp;
	r->ar_rnat = g->ar_rnat;
	r->loadrs = 0;
	r->ar_ccv = g->ar_ccv;
	r->ar_fpsr = g->ar_fpsr;
	r->ar_csd = g->ar_csd;
	r->ar_ssd = g->ar_ssd;
}

/*
 * After lol_ia64_flush_rbs(), bspstore is the end of the backing store.
 * In monitor mode (reflect.c: the syscall's frame, not flushed) ar_bsp is
 * where the dirty partition starts, and the stacked registers stay live.
 */
void lol_arch_save_regs(const struct pt_regs *r, struct lol_regs *g)
{
	const struct ia64_psr *psr = ia64_psr(r);

	g->gr[0] = 0;
	g->gr[1] = r->r1;
	g->gr[2] = r->r2;
	g->gr[3] = r->r3;
	g->gr[8] = r->r8;
	g->gr[9] = r->r9;
	g->gr[10] = r->r10;
	g->gr[11] = r->r11;
	g->gr[12] = r->r12;
	g->gr[13] = r->r13;
	g->gr[14] = r->r14;
	g->gr[15] = r->r15;
	memcpy(&g->gr[16], &r->r16, 16 * sizeof(u64));
	g->br[0] = r->b0;
	g->br[6] = r->b6;
	g->br[7] = r->b7;
	g->pr = r->pr;
	g->ip = r->cr_iip + psr->ri;
	g->psr = r->cr_ipsr & LOL_PSR_USER;
	/* cover put the frame in cr.ifs also for a syscall (ifs.v clear). */
	g->cfm = r->cr_ifs & LOL_CFM_MASK;
	g->ar_pfs = r->ar_pfs;
	g->ar_unat = r->ar_unat;
	g->ar_rsc = r->ar_rsc & (LOL_RSC_MODE | LOL_RSC_PL_USER | LOL_RSC_BE);
	g->ar_bsp = r->ar_bspstore;
	g->ar_rnat = r->ar_rnat;
	g->ar_ccv = r->ar_ccv;
	g->ar_fpsr = r->ar_fpsr;
	g->ar_csd = r->ar_csd;
	g->ar_ssd = r->ar_ssd;
}

/* What one pass of the unwinder over current does at a switch. */
struct lol_ia64_switch {
	struct lol_ia64_preserved *save;	/* outgoing preserved registers */
	const struct lol_ia64_preserved *load;	/* incoming, or NULL */
	bool flush;			/* outgoing register stack to memory */
	bool leave_kernel;		/* return through ia64_leave_kernel */
	int err;
};

/*
 * Write the dirty partition to the backing store it belongs to, in the
 * current mm, and record that in pt_regs. Word by word through
 * ia64_peek(), which also computes the NaT collection words, as
 * ia64_sync_user_rbs() does (which writes through access_process_vm(),
 * and so cannot reach lol's guest memory: VM_PFNMAP).
 */
static int lol_ia64_flush_rbs(struct unw_frame_info *info,
			      struct pt_regs *pt)
{
	unsigned long cfm, end, addr, *rnat_addr;
	long val, ret;

	end = lol_ia64.rbs_end(current, pt, &cfm);
	for (addr = pt->ar_bspstore; addr < end; addr += 8) {
		ret = lol_ia64.peek(current, info->sw, end, addr, &val);
		if (ret < 0)
			return ret;
		if (put_user(val, (unsigned long __user *)addr))
			return -EFAULT;
	}
	/* The NaT bits of the partial collection at the end: ar.rnat. */
	rnat_addr = ia64_rse_rnat_addr((unsigned long *)end);
	ret = lol_ia64.peek(current, info->sw, end, (unsigned long)rnat_addr,
			    &val);
	if (ret < 0)
		return ret;
	pt->ar_rnat = val;
	pt->ar_bspstore = end;
	pt->loadrs = 0;
	pt->cr_ifs = LOL_IFS_VALID | (cfm & LOL_CFM_MASK);
	return 0;
}

/*
 * Make notify_resume_user() return through ia64_leave_kernel: find the
 * frame below the interruption frame that returns to user mode and clear
 * its "syscall" and "leave from syscall" predicates (saved in the
 * switch_stack, restored when unw_init_running() returns).
 */
static void lol_ia64_via_leave_kernel(struct unw_frame_info *info)
{
	struct unw_frame_info prev;
	unsigned long pr;

	for (;;) {
		prev = *info;
		if (unw_unwind(info) < 0 || unw_get_pr(&prev, &pr) < 0) {
			WARN_ONCE(1, "lol: no user interruption frame\n");
			return;
		}
		if (unw_is_intr_frame(info) && pr & (1UL << LOL_PRED_USER_STACK))
			break;
	}
	pr &= ~((1UL << LOL_PRED_SYSCALL) | (1UL << LOL_PRED_LEAVE_SYSCALL));
	pr |= 1UL << LOL_PRED_NON_SYSCALL;
	unw_set_pr(&prev, pr);
}

static void lol_ia64_switch_cb(struct unw_frame_info *info, void *arg)
{
	struct lol_ia64_switch *s = arg;
	struct pt_regs *pt = task_pt_regs(current);
	const struct lol_ia64_preserved *in = s->load;
	struct lol_ia64_preserved *out = s->save;
	struct unw_frame_info walk;
	unsigned long v;
	int i;

	if (s->leave_kernel) {
		walk = *info;
		lol_ia64_via_leave_kernel(&walk);
	}
	if (unw_unwind_to_user(info) < 0) {
		s->err = -EIO;
		return;
	}
	if (s->flush)
		s->err = lol_ia64_flush_rbs(info, pt);
	if (!out)
		return;

	for (i = 0; i < 4; i++) {
		unw_access_gr(info, 4 + i, &out->gr[i], &out->nat[i], 0);
		if (in)
			unw_access_gr(info, 4 + i, (unsigned long *)&in->gr[i],
				      (char *)&in->nat[i], 1);
	}
	for (i = 0; i < 5; i++) {
		unw_access_br(info, 1 + i, &out->br[i], 0);
		if (in)
			unw_access_br(info, 1 + i, (unsigned long *)&in->br[i], 1);
	}
	unw_access_ar(info, UNW_AR_LC, &out->lc, 0);
	unw_access_ar(info, UNW_AR_EC, &out->ec, 0);
	if (in) {
		v = in->lc;
		unw_access_ar(info, UNW_AR_LC, &v, 1);
		v = in->ec;
		unw_access_ar(info, UNW_AR_EC, &v, 1);
	}
	/* f2-f5 and f12-f31 here; f6-f11 are in pt_regs. */
	for (i = 2; i < 32; i++) {
		if (i >= 6 && i <= 11)
			continue;
		unw_access_fr(info, i, &out->fr[i - 2], 0);
		if (in)
			unw_access_fr(info, i,
				      (struct ia64_fpreg *)&in->fr[i - 2], 1);
	}
}

static int lol_ia64_switch(struct lol_ia64_switch *s)
{
	s->err = 0;
	unw_init_running(lol_ia64_switch_cb, s);
	return s->err;
}

/* From notify_resume_user(): this return to user mode restores it all. */
void lol_ia64_leave_kernel(void)
{
	struct lol_ia64_switch s = { .leave_kernel = true };

	lol_ia64_switch(&s);
}

/*
 * Scratch state a syscall entry does not save: whatever is in those
 * pt_regs slots must not reach user mode when the monitor's registers
 * return through ia64_leave_kernel (what convert_to_non_syscall() clears).
 */
static void lol_ia64_scrub(struct pt_regs *r)
{
	r->r2 = 0;
	r->r3 = 0;
	r->r14 = 0;
	memset(&r->r16, 0, 16 * sizeof(u64));
	memset(&r->f6, 0, 6 * sizeof(r->f6));
	r->b7 = 0;
	r->ar_ccv = 0;
	r->ar_csd = 0;
	r->ar_ssd = 0;
}

void lol_arch_enter(struct lol_vcpu *vcpu, const struct lol_regs *g,
		    bool singlestep)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = task_pt_regs(current);
	struct lol_ia64_switch s = {
		.save = &a->host, .load = &a->guest, .flush = true,
	};
	int i;

	/* f32-f127 first: ia64_sync_fph() looks at the monitor's psr.mfh. */
	lol_ia64_fph_swap(vcpu);
	/*
	 * The monitor's stacked registers to its own backing store (its mm
	 * is current), its preserved registers out, the guest's in. A
	 * monitor whose backing store cannot be written gets what any
	 * process gets when the RSE cannot spill: SIGSEGV.
	 */
	if (lol_ia64_switch(&s))
		force_sig(SIGSEGV);
	if (lol_ia64_in_syscall(r))
		lol_ia64_scrub(r);
	a->host_regs = *r;

	lol_arch_load_regs(r, g);
	for (i = 6; i <= 11; i++)
		memcpy(&r->f6 + (i - 6), &a->guest.fr[i - 2], sizeof(r->f6));
	/* The next use of f32-f127 loads the guest's (fpu.c). */
	ia64_psr(r)->dfh = 1;
	ia64_psr(r)->mfh = 0;
	ia64_psr(r)->dfl = !!(a->fptrap & LOL_FPTRAP_LOW);
	a->fptrap_hit = 0;
	/* psr.ss is not the guest's to set: lol's alone (lol_regs.psr). */
	if (singlestep)
		ia64_psr(r)->ss = 1;
}

/*
 * A NATIVE guest syscall interrupted by a host signal: for the guest it
 * restarts (ia64: r10 is -1 and r8 the errno after a failed syscall).
 */
static void lol_guest_restart(struct pt_regs *r)
{
	u64 ip;

	if (!lol_ia64_in_syscall(r) || r->r10 != -1UL)
		return;
	switch (r->r8) {
	case ERESTART_RESTARTBLOCK:
		r->r15 = __NR_restart_syscall;
		fallthrough;
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		ip = lol_ia64_prev_slot(r->cr_iip + ia64_psr(r)->ri);
		r->cr_iip = ip & ~0xfUL;
		ia64_psr(r)->ri = ip & 3;
		break;
	}
}

void lol_arch_leave(struct lol_vcpu *vcpu, struct lol_regs *g, long ret)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = task_pt_regs(current);
	struct lol_ia64_switch s = {
		.save = &a->guest, .load = &a->host, .flush = true,
		.leave_kernel = true,
	};
	bool entered_by_syscall = lol_ia64_in_syscall(r);
	int i;

	lol_ia64_entry_forget();
	lol_guest_restart(r);
	/*
	 * The guest's stacked registers to its backing store, in the guest
	 * AS (run.c leaves before switching the mm). If that fails they are
	 * lost: the guest gets what a process would, SIGSEGV at its next
	 * entry (the monitor sees it as a fault exit then).
	 */
	if (lol_ia64_switch(&s))
		pr_warn_ratelimited("lol: guest register stack not written back\n");
	lol_arch_save_regs(r, g);
	g->nat = 0;
	for (i = 0; i < 4; i++) {
		g->gr[4 + i] = a->guest.gr[i];
		if (a->guest.nat[i])
			g->nat |= 1UL << (4 + i);
	}
	for (i = 0; i < 5; i++)
		g->br[1 + i] = a->guest.br[i];
	g->ar_lc = a->guest.lc;
	g->ar_ec = a->guest.ec;
	for (i = 6; i <= 11; i++)
		memcpy(&a->guest.fr[i - 2], &r->f6 + (i - 6), sizeof(r->f6));
	lol_ia64_fph_swap(vcpu);

	*r = a->host_regs;
	ia64_psr(r)->dfh = 1;
	ia64_psr(r)->mfh = 0;
	/*
	 * The ERESTART codes mean "restart LOL_RUN if no handler runs",
	 * which ia64_do_signal() only works out for an entry by syscall;
	 * after a fault or an interrupt LOL_RUN fails with EINTR instead.
	 */
	if (!entered_by_syscall &&
	    (ret == -ERESTARTNOHAND || ret == -ERESTARTSYS ||
	     ret == -ERESTARTNOINTR))
		ret = -EINTR;
	/* The syscall return convention: r10 -1 and r8 the errno. */
	r->r8 = ret < 0 ? -ret : ret;
	r->r10 = ret < 0 ? -1UL : 0;
}

/*
 * Every return to the guest goes through here, from a task_work in
 * notify_resume_user() (lol_arch_ax_fits_ioctl() says no to all): the
 * syscall exit path would put the ioctl's own r8 and r10 in place and
 * clear the guest's scratch registers.
 */
bool lol_arch_ax_fits_ioctl(u64 val)
{
	return false;
}

void lol_arch_set_guest_ax(struct lol_vcpu *vcpu, u64 val)
{
	struct pt_regs *r = task_pt_regs(current);

	r->r8 = val;
	/*
	 * r10 from the run page LOL_RUN or LOL_RESUME just loaded (a value
	 * the monitor changed since is only its guest's concern).
	 */
	r->r10 = READ_ONCE(vcpu->run->regs.gr[10]);
	lol_ia64_leave_kernel();
}

/*
 * A NATIVE range may run the syscall in guest mode: the generic list
 * (ranges.c) on r15, the syscall number.
 */
bool lol_arch_native_ok(struct pt_regs *regs)
{
	return lol_native_nr_ok(regs->r15);
}

/*
 * Continue at @entry (a code address: the monitor's gp stays in r1) on
 * @stack, in the syscall's own register frame (in0-in5 are its
 * arguments): ia64 keeps a 16-byte scratch area above sp.
 */
void lol_arch_upcall(struct pt_regs *regs, u64 entry, u64 stack)
{
	regs->cr_iip = entry & ~0xfUL;
	ia64_psr(regs)->ri = 0;
	ia64_psr(regs)->ss = 0;
	regs->r12 = stack - 16;
}

/* PTRACE action: SIGSYS as Syscall User Dispatch sends it on x86. */
void lol_arch_sigsys(struct pt_regs *regs)
{
	struct kernel_siginfo info;

	clear_siginfo(&info);
	info.si_signo = SIGSYS;
	info.si_code = SYS_USER_DISPATCH;
	info.si_call_addr = (void __user *)lol_entry_syscall_ip(regs);
	info.si_errno = 0;
	info.si_arch = AUDIT_ARCH_IA64;
	info.si_syscall = regs->r15;
	send_sig_info(SIGSYS, &info, current);
}
