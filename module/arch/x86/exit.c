// SPDX-License-Identifier: GPL-2.0
/*
 * lol x86_64: turning the host's view of a guest event into an exit.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <linux/ptrace.h>
#include <asm/syscall.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include "lol.h"

void lol_arch_syscall_exit(struct pt_regs *r, struct lol_run *run)
{
	struct lol_exit_syscall *s = &run->syscall;

	s->nr = r->orig_ax;
	s->ip = r->ip - 2;	/* syscall and int $0x80 are two bytes */
	s->pad = 0;
	if (in_ia32_syscall()) {
		s->flags = LOL_SYSCALL_COMPAT;
		s->args[0] = (u32)r->bx;
		s->args[1] = (u32)r->cx;
		s->args[2] = (u32)r->dx;
		s->args[3] = (u32)r->si;
		s->args[4] = (u32)r->di;
		s->args[5] = (u32)r->bp;
	} else {
		s->flags = 0;
		s->args[0] = r->di;
		s->args[1] = r->si;
		s->args[2] = r->dx;
		s->args[3] = r->r10;
		s->args[4] = r->r8;
		s->args[5] = r->r9;
	}
	/* As after PTRACE_SYSEMU: rax holds the number, rcx/r11 are lost. */
	r->ax = r->orig_ax;
}

static void lol_fault_fill(struct lol_exit_fault *f, u64 addr, u64 error_code,
			   u64 ip, bool present)
{
	f->addr = addr;
	f->error_code = error_code;
	f->ip = ip;
	if (error_code & X86_PF_INSTR)
		f->access = LOL_FAULT_EXEC;
	else if (error_code & X86_PF_WRITE)
		f->access = LOL_FAULT_WRITE;
	else
		f->access = LOL_FAULT_READ;
	f->flags = present ? LOL_FAULT_PRESENT : 0;
}

/*
 * A guest #PF that lol's own fault handler turned into an exit (pt.c):
 * the PTE was not present, so the hardware error code was the user bit
 * plus the write and fetch bits the fault flags repeat (the entry code
 * does not keep it: pt_regs' orig_ax holds -1 by now).
 */
void lol_arch_fault_exit(const struct vm_fault *vmf, bool present,
			 struct lol_run *run)
{
	u64 error_code = X86_PF_USER;

	if (vmf->flags & FAULT_FLAG_WRITE)
		error_code |= X86_PF_WRITE;
	if (vmf->flags & FAULT_FLAG_INSTRUCTION)
		error_code |= X86_PF_INSTR;
	lol_fault_fill(&run->fault, vmf->real_address, error_code,
		       current_pt_regs()->ip, present);
}

/*
 * A synchronous signal raised by a guest exception. The host's trap
 * handlers leave the vector, error code and (for #PF) the address in the
 * thread struct before they force the signal.
 */
u32 lol_arch_signal_exit(int sig, const kernel_siginfo_t *info,
			 struct lol_run *run)
{
	struct thread_struct *t = &current->thread;
	struct pt_regs *r = current_pt_regs();

	if (t->trap_nr == X86_TRAP_PF && (sig == SIGSEGV || sig == SIGBUS)) {
		/* Mapped but not allowed (SEGV_ACCERR), or beyond the file. */
		lol_fault_fill(&run->fault, t->cr2, t->error_code, r->ip,
			       sig == SIGBUS || info->si_code == SEGV_ACCERR ||
			       info->si_code == SEGV_PKUERR);
		return LOL_EXIT_FAULT;
	}

	run->trap.vector = t->trap_nr;
	run->trap.pad = 0;
	run->trap.error_code = t->error_code;
	run->trap.ip = r->ip;
	run->trap.addr = sig == SIGSYS ? 0 : (unsigned long)info->si_addr;
	return LOL_EXIT_TRAP;
}
