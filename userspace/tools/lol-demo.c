// SPDX-License-Identifier: GPL-2.0
/*
 * lol-demo: a tiny monitor. It runs a small guest program in its own
 * address space and plays its kernel: the guest's write(), getpid() and
 * exit() become LOL_EXIT_SYSCALL exits the monitor emulates, and the
 * guest's heap is paged in on demand from LOL_EXIT_FAULT exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#define PHYS_SIZE	(64 * 4096)
#define CODE_GVA	0x400000ULL	/* phys page 0 */
#define STACK_GVA	0x7fff0000ULL	/* phys page 1, rsp at its top */
#define HEAP_GVA	0x10000000ULL	/* demand-paged from phys page 2 on */
#define HEAP_PAGES	16
#define FAKE_PID	1

/*
 * The guest: say hello, sum 1..n over a heap array it fills (each new
 * heap page faults), report the sum with write(), ask for its pid and
 * exit with sum % 256.
 */
LOL_GUEST_ASM(demo_guest,
	"lea hello(%rip), %rsi\n\t"
	"mov $1, %edi\n\t"
	"mov $hello_len, %edx\n\t"
	"mov $1, %eax\n\t"		/* write(1, hello, len) */
	"syscall\n\t"
	"mov $0x10000000, %rbx\n\t"	/* heap */
	"mov $8192, %ecx\n\t"		/* 8192 quadwords: 16 pages */
	"xor %eax, %eax\n"
	"1: inc %rax\n\t"
	"mov %rax, -8(%rbx,%rax,8)\n\t"
	"cmp %rcx, %rax\n\t"
	"jne 1b\n\t"
	"xor %r12, %r12\n\t"		/* sum it back */
	"xor %eax, %eax\n"
	"2: add (%rbx,%rax,8), %r12\n\t"
	"inc %rax\n\t"
	"cmp %rcx, %rax\n\t"
	"jne 2b\n\t"
	"mov %r12, %rdi\n\t"		/* the monitor prints rdi for nr 500 */
	"mov $500, %eax\n\t"
	"syscall\n\t"
	"mov $39, %eax\n\t"		/* getpid */
	"syscall\n\t"
	"mov %rax, %r13\n\t"
	"mov %r12, %rdi\n\t"
	"and $255, %edi\n\t"
	"mov $60, %eax\n\t"		/* exit(sum % 256) */
	"syscall\n\t"
	"ud2\n"
	"hello: .ascii \"hello from a lol guest\\n\"\n"
	".set hello_len, . - hello\n");

static void usage(FILE *f)
{
	fprintf(f,
"NAME\n"
"	lol-demo - run a tiny guest program on lol and play its kernel\n"
"\n"
"SYNOPSIS\n"
"	lol-demo [-r|--repeat N] [-h|--help]\n"
"\n"
"DESCRIPTION\n"
"	Creates a guest with one vcpu and one address space, loads a small\n"
"	guest program, and runs it with LOL_RUN. The guest's system calls\n"
"	(write, getpid, exit and a private one that reports a result) come\n"
"	back as LOL_EXIT_SYSCALL and are emulated here; its heap is mapped\n"
"	page by page on LOL_EXIT_FAULT. At the end it prints the exits seen\n"
"	and checks the guest's result.\n"
"\n"
"OPTIONS\n"
"	-r, --repeat N\n"
"		Run the guest program N times in the same guest (its heap\n"
"		stays mapped after the first run), 0 for until killed: a\n"
"		busy guest to watch with lolstat. The guest's own output is\n"
"		printed for the first run only. Default 1.\n"
"\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 when the guest ran to its exit() with the right result, 1 on any\n"
"	error (with a message naming the failing step), 2 on a usage error.\n"
"\n"
"EXAMPLES\n"
"	lol-demo\n"
"	lol-demo --repeat 0 & lolstat -v\n");
}

static int die(const char *what)
{
	fprintf(stderr, "lol-demo: %s: %s\n", what, strerror(errno));
	if (errno == ENOENT || errno == ENODEV)
		fprintf(stderr, "lol-demo: is the module loaded? (sudo modprobe lol)\n");
	return 1;
}

struct demo {
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as;
	unsigned int heap_next;		/* next free phys page for the heap */
	unsigned long nr_exits[LOL_EXIT_INTR + 1];
	unsigned long long sum;		/* what the guest reported */
};

/*
 * Runs the guest program once from its entry point; its output is
 * printed when @verbose. Returns its exit() code, or -1 after a message.
 */
static int run_program(struct demo *d, int verbose)
{
	struct lol_run *run = d->vcpu.run;
	int exit_code = -1;

	lol_vcpu_set_entry(&d->vcpu, d->as, CODE_GVA, STACK_GVA + 4096);
	while (exit_code < 0) {
		if (lol_run(d->vcpu.fd)) {
			die("LOL_RUN");
			return -1;
		}
		if (run->exit_reason <= LOL_EXIT_INTR)
			d->nr_exits[run->exit_reason]++;

		switch (run->exit_reason) {
		case LOL_EXIT_SYSCALL: {
			struct lol_exit_syscall *s = &run->syscall;

			switch (s->nr) {
			case SYS_write: {
				/* The only buffer the guest writes is in its code page. */
				__u64 off = s->args[1] - CODE_GVA;
				void *p = lol_vm_phys(&d->vm, off, s->args[2]);

				if (s->args[0] != 1 || !p) {
					run->regs.rax = -EFAULT;
					break;
				}
				if (verbose)
					printf("  guest: %.*s", (int)s->args[2],
					       (char *)p);
				run->regs.rax = s->args[2];
				break;
			}
			case SYS_getpid:
				run->regs.rax = FAKE_PID;
				break;
			case SYS_exit:
				exit_code = s->args[0];
				break;
			case 500:
				d->sum = s->args[0];
				if (verbose)
					printf("  guest: sum of 1..8192 = %llu\n",
					       d->sum);
				run->regs.rax = 0;
				break;
			default:
				run->regs.rax = -ENOSYS;
				break;
			}
			break;
		}
		case LOL_EXIT_FAULT: {
			__u64 page = run->fault.addr & ~4095ULL;

			if (page < HEAP_GVA || page >= HEAP_GVA + HEAP_PAGES * 4096 ||
			    d->heap_next * 4096 >= PHYS_SIZE) {
				fprintf(stderr, "lol-demo: guest fault at %#llx (rip %#llx)\n",
					(unsigned long long)run->fault.addr,
					(unsigned long long)run->fault.ip);
				return -1;
			}
			if (lol_vm_map(&d->vm, d->as, page,
				       d->heap_next++ * 4096ULL, 4096,
				       LOL_PROT_READ | LOL_PROT_WRITE)) {
				die("paging in the heap");
				return -1;
			}
			break;
		}
		case LOL_EXIT_TRAP:
			fprintf(stderr, "lol-demo: guest trap %u at %#llx\n",
				run->trap.vector, (unsigned long long)run->trap.ip);
			return -1;
		default:
			break;
		}
	}
	return exit_code;
}

int main(int argc, char **argv)
{
	unsigned long long want = 8192ULL * 8193 / 2;
	unsigned long long repeat = 1, done;
	static struct demo d = { .heap_next = 2 };
	struct lol_run *run;
	int exit_code = -1;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && (!strcmp(argv[1], "-r") ||
			  !strcmp(argv[1], "--repeat"))) {
		char *end;

		errno = 0;
		repeat = strtoull(argv[2], &end, 10);
		if (errno || end == argv[2] || *end || argv[2][0] == '-') {
			fprintf(stderr, "lol-demo: bad --repeat '%s' (a count, 0 for until killed)\n",
				argv[2]);
			return 2;
		}
	} else if (argc > 1) {
		usage(stderr);
		return 2;
	}

	if (lol_vm_create(&d.vm, PHYS_SIZE))
		return die("creating the guest");
	if (lol_vm_add_vcpu(&d.vm, 0, &d.vcpu))
		return die("creating the vcpu");
	if (lol_vm_new_as(&d.vm, &d.as))
		return die("creating the address space");
	if (LOL_VM_LOAD_ASM(&d.vm, 0, demo_guest) ||
	    lol_vm_map(&d.vm, d.as, CODE_GVA, 0, 4096,
		       LOL_PROT_READ | LOL_PROT_EXEC) ||
	    lol_vm_map(&d.vm, d.as, STACK_GVA, 4096, 4096,
		       LOL_PROT_READ | LOL_PROT_WRITE))
		return die("mapping the guest program");
	run = d.vcpu.run;

	for (done = 0; !repeat || done < repeat; done++) {
		exit_code = run_program(&d, !done);
		if (exit_code < 0)
			return 1;
		if (d.sum != want || exit_code != (int)(want & 255) ||
		    run->regs.r13 != FAKE_PID)
			break;
	}

	if (repeat != 1)
		printf("lol-demo: ran the guest program %llu times\n", done);
	printf("lol-demo: guest exited with %d after %llu exits: %lu syscall, %lu fault, %lu trap, %lu other\n",
	       exit_code, (unsigned long long)run->nr_exits,
	       d.nr_exits[LOL_EXIT_SYSCALL], d.nr_exits[LOL_EXIT_FAULT],
	       d.nr_exits[LOL_EXIT_TRAP],
	       d.nr_exits[LOL_EXIT_KICK] + d.nr_exits[LOL_EXIT_INTR]);
	printf("lol-demo: the guest's getpid() saw %llu (the real pid is %d)\n",
	       (unsigned long long)run->regs.r13, getpid());
	if (d.sum != want || exit_code != (int)(want & 255) ||
	    run->regs.r13 != FAKE_PID) {
		fprintf(stderr, "lol-demo: wrong guest result (sum %llu, want %llu)\n",
			d.sum, want);
		return 1;
	}
	lol_vcpu_destroy(&d.vcpu);
	lol_vm_destroy(&d.vm);
	printf("lol-demo: ok\n");
	return 0;
}
