// SPDX-License-Identifier: GPL-2.0
/*
 * lol arm64: turning the host's view of a guest event into an exit.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/ptrace.h>
#include <linux/uaccess.h>
#include <asm/esr.h>
#include <asm/insn.h>

#include "lol.h"

void lol_arch_syscall_exit(struct pt_regs *r, struct lol_run *run)
{
	struct lol_exit_syscall *s = &run->syscall;
	int i;

	s->nr = r->syscallno;
	s->ip = r->pc - LOL_ARCH_SYSCALL_INSN_LEN;
	s->flags = 0;
	s->pad = 0;
	s->args[0] = r->orig_x0;
	for (i = 1; i < ARRAY_SIZE(s->args); i++)
		s->args[i] = r->regs[i];
	/*
	 * x0 as the guest left it: the syscall path keeps it in orig_x0 and
	 * may have written -ENOSYS over it (x8 == -1).
	 */
	r->regs[0] = r->orig_x0;
}

/*
 * A guest page fault that lol's own fault handler turned into an exit
 * (pt.c): the host's do_page_fault() keeps the ESR to itself, so it is
 * rebuilt from the fault flags -- an abort from EL0, WnR for a write, a
 * level-3 translation fault (no PTE) or permission fault (PTE there).
 */
void lol_arch_fault_exit(const struct vm_fault *vmf, bool present,
			 struct lol_run *run)
{
	struct lol_exit_fault *f = &run->fault;
	unsigned long esr = ESR_ELx_IL;

	if (vmf->flags & FAULT_FLAG_INSTRUCTION) {
		esr |= (unsigned long)ESR_ELx_EC_IABT_LOW << ESR_ELx_EC_SHIFT;
		f->access = LOL_FAULT_EXEC;
	} else {
		esr |= (unsigned long)ESR_ELx_EC_DABT_LOW << ESR_ELx_EC_SHIFT;
		if (vmf->flags & FAULT_FLAG_WRITE) {
			esr |= ESR_ELx_WNR;
			f->access = LOL_FAULT_WRITE;
		} else {
			f->access = LOL_FAULT_READ;
		}
	}
	esr |= present ? ESR_ELx_FSC_PERM | 3 : ESR_ELx_FSC_FAULT | 3;
	f->addr = vmf->real_address;
	f->error_code = esr;
	f->ip = current_pt_regs()->pc;
	f->flags = present ? LOL_FAULT_PRESENT : 0;
}

/*
 * The syndrome of an exception that the host did not record (arm64's
 * debug and FP handlers raise the signal without one), from the signal;
 * for BRK, with its immediate, read from the instruction at pc.
 */
static unsigned long lol_rebuild_esr(int sig, const kernel_siginfo_t *info,
				     struct pt_regs *r)
{
	u32 insn;

	switch (sig) {
	case SIGTRAP:
		if (info->si_code == TRAP_TRACE)
			return (unsigned long)ESR_ELx_EC_SOFTSTP_LOW <<
			       ESR_ELx_EC_SHIFT | ESR_ELx_IL;
		if (get_user(insn, (u32 __user *)r->pc))
			insn = 0;
		return (unsigned long)ESR_ELx_EC_BRK64 << ESR_ELx_EC_SHIFT |
		       ESR_ELx_IL | ((insn >> 5) & 0xffff);
	case SIGFPE:
		return (unsigned long)ESR_ELx_EC_FP_EXC64 << ESR_ELx_EC_SHIFT |
		       ESR_ELx_IL;
	default:
		return 0;	/* EC 0: unknown, an undefined instruction */
	}
}

/*
 * A synchronous signal raised by a guest exception. The host's fault
 * handlers leave the syndrome (ESR) and the address in the thread struct
 * before they force the signal; lol_arch_enter() cleared the syndrome, so
 * a non-zero one is this exception's.
 */
u32 lol_arch_signal_exit(int sig, const kernel_siginfo_t *info,
			 struct lol_run *run)
{
	struct thread_struct *t = &current->thread;
	struct pt_regs *r = current_pt_regs();
	unsigned long esr = t->fault_code;
	unsigned int ec = ESR_ELx_EC(esr);

	t->fault_code = 0;
	if ((sig == SIGSEGV || sig == SIGBUS) &&
	    (ec == ESR_ELx_EC_DABT_LOW || ec == ESR_ELx_EC_IABT_LOW)) {
		struct lol_exit_fault *f = &run->fault;

		f->addr = t->fault_address;
		f->error_code = esr;
		f->ip = r->pc;
		if (ec == ESR_ELx_EC_IABT_LOW)
			f->access = LOL_FAULT_EXEC;
		else if ((esr & ESR_ELx_WNR) && !(esr & ESR_ELx_CM))
			f->access = LOL_FAULT_WRITE;
		else
			f->access = LOL_FAULT_READ;
		/* Mapped but not allowed (SEGV_ACCERR), or beyond the file. */
		f->flags = sig == SIGBUS || info->si_code == SEGV_ACCERR ?
			   LOL_FAULT_PRESENT : 0;
		return LOL_EXIT_FAULT;
	}

	if (!esr)
		esr = lol_rebuild_esr(sig, info, r);
	run->trap.vector = ESR_ELx_EC(esr);
	run->trap.pad = 0;
	run->trap.error_code = esr;
	run->trap.ip = r->pc;
	run->trap.addr = sig == SIGSYS ? 0 : (unsigned long)info->si_addr;
	return LOL_EXIT_TRAP;
}
