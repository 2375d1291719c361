// SPDX-License-Identifier: GPL-2.0
/*
 * lol x86_64: guest register state in and out of the thread.
 *
 * While a thread is in guest mode its user register frame (pt_regs) holds
 * the guest registers and the monitor's are kept in the vcpu. The FS/GS
 * bases and PKRU are loaded with preemption off and written both to the
 * CPU and to the thread struct, so that a context switch saves and
 * restores the right values with or without FSGSBASE.
 */
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/thread_info.h>
#include <linux/audit.h>
#include <linux/signal.h>
#include <asm/unistd.h>
#include <linux/ptrace.h>
#include <asm/fsgsbase.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>

#include "lol.h"

/* rflags bits a guest may set; IF and the fixed bit 1 are always on. */
#define LOL_RFLAGS_USER	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_TF | \
			 X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_AC | \
			 X86_EFLAGS_ID)
#define LOL_RFLAGS_ON	(X86_EFLAGS_FIXED | X86_EFLAGS_IF)

int lol_arch_check_regs(const struct lol_regs *regs)
{
	if (lol_any_set(regs->reserved, ARRAY_SIZE(regs->reserved)))
		return -EINVAL;
	if (regs->rflags & ~(LOL_RFLAGS_USER | LOL_RFLAGS_ON))
		return -EINVAL;
	/* Kernel and non-canonical addresses would fault on IRET/WRMSR. */
	if (regs->rip >= LOL_USER_LIMIT || regs->fs_base >= LOL_USER_LIMIT ||
	    regs->gs_base >= LOL_USER_LIMIT)
		return -EINVAL;
	return 0;
}

/*
 * A thread with I/O port permissions would hand them to its guest: such
 * threads cannot run guests.
 */
int lol_arch_can_run(void)
{
	return test_thread_flag(TIF_IO_BITMAP) ? -EPERM : 0;
}

static bool lol_has_pkru(void)
{
	return cpu_feature_enabled(X86_FEATURE_OSPKE);
}

void lol_arch_load_regs(struct pt_regs *r, const struct lol_regs *g)
{
	r->ax = g->rax;
	r->bx = g->rbx;
	r->cx = g->rcx;
	r->dx = g->rdx;
	r->si = g->rsi;
	r->di = g->rdi;
	r->sp = g->rsp;
	r->bp = g->rbp;
	r->r8 = g->r8;
	r->r9 = g->r9;
	r->r10 = g->r10;
	r->r11 = g->r11;
	r->r12 = g->r12;
	r->r13 = g->r13;
	r->r14 = g->r14;
	r->r15 = g->r15;
	r->ip = g->rip;
	r->flags = (g->rflags & LOL_RFLAGS_USER) | LOL_RFLAGS_ON;
	r->cs = __USER_CS;
	r->ss = __USER_DS;
	/* Not a syscall any more: no restart logic on the way out. */
	r->orig_ax = -1;
}

void lol_arch_save_regs(const struct pt_regs *r, struct lol_regs *g)
{
	g->rax = r->ax;
	g->rbx = r->bx;
	g->rcx = r->cx;
	g->rdx = r->dx;
	g->rsi = r->si;
	g->rdi = r->di;
	g->rsp = r->sp;
	g->rbp = r->bp;
	g->r8 = r->r8;
	g->r9 = r->r9;
	g->r10 = r->r10;
	g->r11 = r->r11;
	g->r12 = r->r12;
	g->r13 = r->r13;
	g->r14 = r->r14;
	g->r15 = r->r15;
	g->rip = r->ip;
	g->rflags = r->flags & (LOL_RFLAGS_USER | LOL_RFLAGS_ON);
}

void lol_arch_enter(struct lol_vcpu *vcpu, const struct lol_regs *g,
		    bool singlestep)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = current_pt_regs();
	struct thread_struct *t = &current->thread;

	a->host_regs = *r;
	lol_arch_load_regs(r, g);
	/* Single-step: #DB after one instruction, unless the guest set TF. */
	a->singlestep = singlestep && !(r->flags & X86_EFLAGS_TF);
	if (singlestep)
		r->flags |= X86_EFLAGS_TF;

	preempt_disable();
	/*
	 * FS with RDFSBASE/WRFSBASE where the CPU has them (one instruction
	 * against an MSR access); the inactive GS base needs SWAPGS around
	 * those, so it stays an MSR.
	 */
	a->host_fsbase = x86_fsbase_read_cpu();
	rdmsrl(MSR_KERNEL_GS_BASE, a->host_gsbase);
	savesegment(fs, a->host_fsindex);
	savesegment(gs, a->host_gsindex);
	if (a->host_fsindex)
		loadsegment(fs, 0);
	if (a->host_gsindex)
		load_gs_index(0);
	x86_fsbase_write_cpu(g->fs_base);
	wrmsrl(MSR_KERNEL_GS_BASE, g->gs_base);
	t->fsindex = 0;
	t->gsindex = 0;
	t->fsbase = g->fs_base;
	t->gsbase = g->gs_base;
	if (lol_has_pkru()) {
		a->host_pkru = rdpkru();
		wrpkru(a->guest_pkru);
	}
	preempt_enable();

	fpu_swap_kvm_fpstate(&a->gfpu, true);
}

/*
 * A NATIVE guest syscall interrupted by a host signal: the signal goes to
 * the monitor, not to the guest, so for the guest the syscall restarts.
 */
static void lol_guest_restart(struct pt_regs *r)
{
	if ((long)r->orig_ax < 0)
		return;
	switch (r->ax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->ax = r->orig_ax;
		r->ip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->ax = __NR_restart_syscall;
		r->ip -= 2;
		break;
	}
}

void lol_arch_leave(struct lol_vcpu *vcpu, struct lol_regs *g, long ret)
{
	struct lol_arch_vcpu *a = &vcpu->arch;
	struct pt_regs *r = current_pt_regs();
	struct thread_struct *t = &current->thread;
	u16 sel;

	lol_guest_restart(r);
	lol_arch_save_regs(r, g);
	if (a->singlestep)
		g->rflags &= ~X86_EFLAGS_TF;

	fpu_swap_kvm_fpstate(&a->gfpu, false);

	preempt_disable();
	g->fs_base = x86_fsbase_read_cpu();
	rdmsrl(MSR_KERNEL_GS_BASE, g->gs_base);
	/* The guest may have loaded selectors; the monitor gets its own. */
	savesegment(fs, sel);
	if (sel != a->host_fsindex)
		loadsegment(fs, a->host_fsindex);
	savesegment(gs, sel);
	if (sel != a->host_gsindex)
		load_gs_index(a->host_gsindex);
	if (!a->host_fsindex)
		x86_fsbase_write_cpu(a->host_fsbase);
	if (!a->host_gsindex)
		wrmsrl(MSR_KERNEL_GS_BASE, a->host_gsbase);
	t->fsindex = a->host_fsindex;
	t->gsindex = a->host_gsindex;
	t->fsbase = a->host_fsbase;
	t->gsbase = a->host_gsbase;
	if (lol_has_pkru()) {
		a->guest_pkru = rdpkru();
		wrpkru(a->host_pkru);
	}
	preempt_enable();

	*r = a->host_regs;
	r->ax = ret;
}

/*
 * A NATIVE range may run the syscall in guest mode: the generic list
 * (ranges.c), for 64-bit syscalls only: an ia32 one (int $0x80) is always
 * reflected.
 */
bool lol_arch_native_ok(struct pt_regs *regs)
{
	if (in_ia32_syscall())
		return false;
	return lol_native_nr_ok(regs->orig_ax);
}

/* Continue at @entry on @stack as if called: rsp + 8 is 16-aligned. */
void lol_arch_upcall(struct pt_regs *regs, u64 entry, u64 stack)
{
	regs->ip = entry;
	regs->sp = stack - 8;
	regs->flags &= ~(X86_EFLAGS_DF | X86_EFLAGS_TF);
}

/* PTRACE action: as Syscall User Dispatch does, without its prctl state. */
void lol_arch_sigsys(struct pt_regs *regs)
{
	struct kernel_siginfo info;

	clear_siginfo(&info);
	info.si_signo = SIGSYS;
	info.si_code = SYS_USER_DISPATCH;
	info.si_call_addr = (void __user *)regs->ip;
	info.si_errno = 0;
	info.si_arch = AUDIT_ARCH_X86_64;
	info.si_syscall = regs->orig_ax;
	regs->ax = regs->orig_ax;
	send_sig_info(SIGSYS, &info, current);
}

/*
 * The ioctl return path stores the handler's return value in rax after
 * LOL_RUN has loaded the guest registers, and truncates it to int on the
 * way (ksys_ioctl); a value that survives that is returned directly, any
 * other is written by a task_work just before the return to user mode.
 */
bool lol_arch_ax_fits_ioctl(u64 val)
{
	return (s64)val == (s32)val && (s64)val != -ENOIOCTLCMD;
}

void lol_arch_set_guest_ax(struct lol_vcpu *vcpu, u64 val)
{
	current_pt_regs()->ax = val;
}
