// SPDX-License-Identifier: GPL-2.0
/*
 * lol x86_64: turning the host's view of a guest event into an exit.
 */
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
		struct lol_exit_fault *f = &run->fault;

		f->addr = t->cr2;
		f->error_code = t->error_code;
		f->ip = r->ip;
		if (t->error_code & X86_PF_INSTR)
			f->access = LOL_FAULT_EXEC;
		else if (t->error_code & X86_PF_WRITE)
			f->access = LOL_FAULT_WRITE;
		else
			f->access = LOL_FAULT_READ;
		/* Mapped but not allowed (SEGV_ACCERR), or beyond the file. */
		f->flags = sig == SIGBUS || info->si_code == SEGV_ACCERR ||
			   info->si_code == SEGV_PKUERR ? LOL_FAULT_PRESENT : 0;
		return LOL_EXIT_FAULT;
	}

	run->trap.vector = t->trap_nr;
	run->trap.pad = 0;
	run->trap.error_code = t->error_code;
	run->trap.ip = r->ip;
	run->trap.addr = sig == SIGSYS ? 0 : (unsigned long)info->si_addr;
	return LOL_EXIT_TRAP;
}
