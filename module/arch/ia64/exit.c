// SPDX-License-Identifier: GPL-2.0
/*
 * lol ia64: turning the host's view of a guest event into an exit.
 */
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <asm/kregs.h>

#include "lol.h"

/*
 * ia64 interruption vectors (the IVT's numbering, as in ia64_fault()),
 * for the exits whose signal says which one it was.
 */
#define LOL_IA64_VEC_BREAK		11
#define LOL_IA64_VEC_GENERAL		24
#define LOL_IA64_VEC_NAT		26
#define LOL_IA64_VEC_UNALIGNED		30
#define LOL_IA64_VEC_FP_FAULT		32
#define LOL_IA64_VEC_TAKEN_BRANCH	35
#define LOL_IA64_VEC_SINGLE_STEP	36

/*
 * A REFLECTed syscall. The arguments are the first registers of the
 * guest's current frame: syscall_get_arguments() finds them on the
 * kernel's register backing store, where the entry left them (the exit
 * comes from a task_work in notify_resume_user(), which keeps them).
 */
void lol_arch_syscall_exit(struct pt_regs *r, struct lol_run *run)
{
	struct lol_exit_syscall *s = &run->syscall;
	unsigned long args[6];
	int i;

	lol_ia64.get_args(current, r, args);
	s->nr = r->r15;
	for (i = 0; i < 6; i++)
		s->args[i] = args[i];
	s->ip = lol_entry_syscall_ip(r);
	s->flags = 0;
	s->pad = 0;
}

/*
 * A guest page fault that lol's own fault handler turns into an exit
 * without a signal (main's pt.c, issue 13; not called on this branch
 * yet): the ISR's access bits are what the fault flags repeat.
 */
void lol_arch_fault_exit(const struct vm_fault *vmf, bool present,
			 struct lol_run *run)
{
	struct lol_exit_fault *f = &run->fault;

	f->addr = vmf->real_address;
	f->ip = instruction_pointer(task_pt_regs(current));
	if (vmf->flags & FAULT_FLAG_INSTRUCTION) {
		f->access = LOL_FAULT_EXEC;
		f->error_code = IA64_ISR_X;
	} else if (vmf->flags & FAULT_FLAG_WRITE) {
		f->access = LOL_FAULT_WRITE;
		f->error_code = IA64_ISR_W;
	} else {
		f->access = LOL_FAULT_READ;
		f->error_code = IA64_ISR_R;
	}
	f->flags = present ? LOL_FAULT_PRESENT : 0;
}

static u32 lol_ia64_vector(int sig, int code)
{
	switch (sig) {
	case SIGTRAP:
		if (code == TRAP_TRACE)
			return LOL_IA64_VEC_SINGLE_STEP;
		if (code == TRAP_BRANCH)
			return LOL_IA64_VEC_TAKEN_BRANCH;
		return LOL_IA64_VEC_BREAK;
	case SIGFPE:
		return LOL_IA64_VEC_FP_FAULT;
	case SIGBUS:
		return LOL_IA64_VEC_UNALIGNED;
	case SIGSEGV:
		return LOL_IA64_VEC_NAT;
	default:
		return LOL_IA64_VEC_GENERAL;
	}
}

/*
 * A synchronous signal raised by a guest exception. ia64's signals carry
 * the interruption status register (si_isr, where si_flags says it is
 * valid), which tells a page fault's access.
 */
u32 lol_arch_signal_exit(int sig, const kernel_siginfo_t *info,
			 struct lol_run *run)
{
	struct pt_regs *r = task_pt_regs(current);
	struct lol_vcpu *vcpu = lol_guest_vcpu();
	bool isr_valid = info->si_flags & __ISR_VALID;
	unsigned long isr = isr_valid ? info->si_isr : 0;

	if (vcpu && lol_ia64_fptrap_exit(vcpu, sig, info, run))
		return LOL_EXIT_TRAP;

	/* ia64_do_page_fault(): SEGV_MAPERR/ACCERR or SIGBUS, with the ISR. */
	if (isr_valid && ((sig == SIGSEGV && (info->si_code == SEGV_MAPERR ||
					      info->si_code == SEGV_ACCERR)) ||
			  (sig == SIGBUS && info->si_code == BUS_ADRERR))) {
		struct lol_exit_fault *f = &run->fault;

		f->addr = (unsigned long)info->si_addr;
		f->error_code = isr;
		f->ip = instruction_pointer(r);
		if (isr & IA64_ISR_X)
			f->access = LOL_FAULT_EXEC;
		else if (isr & IA64_ISR_W)
			f->access = LOL_FAULT_WRITE;
		else
			f->access = LOL_FAULT_READ;
		f->flags = sig == SIGBUS || info->si_code == SEGV_ACCERR ?
			   LOL_FAULT_PRESENT : 0;
		return LOL_EXIT_FAULT;
	}

	run->trap.vector = lol_ia64_vector(sig, info->si_code);
	run->trap.pad = 0;
	run->trap.error_code = isr;
	run->trap.ip = instruction_pointer(r);
	run->trap.addr = sig == SIGSYS ? 0 : (unsigned long)info->si_addr;
	return LOL_EXIT_TRAP;
}
