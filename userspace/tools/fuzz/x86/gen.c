// SPDX-License-Identifier: GPL-2.0
/*
 * lol-fuzz on x86_64: the guest-code generator. Fixed stubs (compat-mode
 * entries, FPU clobbers, a nested lol user, LDT code, sigreturn) and
 * random blocks of privileged instructions, traps, syscalls, far
 * transfers, segment and FS/GS/PKRU writes, x87/SSE/AVX, jumps, memory
 * and string operations, made safe for QEMU's TCG where it must be.
 */
#include "../fuzz.h"

/* ---- guest code stubs (position independent) ------------------------------ */

#define FZ_ASM(name, body)						\
	extern const unsigned char name##_start[]			\
		__attribute__((visibility("hidden")));			\
	extern const unsigned char name##_end[]				\
		__attribute__((visibility("hidden")));			\
	__asm__(".pushsection .text.lol_fuzz_guest, \"ax\", @progbits\n" \
		#name "_start:\n\t" body "\n" #name "_end:\n"		\
		".popsection\n")

/* iretq into 32-bit code (selector 0x23), which makes a compat syscall. */
FZ_ASM(stub_compat_iret,
	"mov %rsp, %rcx\n\t"
	"pushq $0x2b\n\t"
	"push %rcx\n\t"
	"pushfq\n\t"
	"pushq $0x23\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"iretq\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"mov $20, %eax\n\t"
	"sysenter\n\t"
	"ud2\n"
	".code64\n");

/* lretq into 32-bit code, which far-jumps back to 64-bit code. */
FZ_ASM(stub_compat_lret,
	"pushq $0x23\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"lretq\n"
	".code32\n"
	"1: push $0x33\n\t"
	"call 2f\n"
	"2: addl $(3f - 2b), (%esp)\n\t"
	"lret\n"
	".code64\n"
	"3: mov $1001, %eax\n\t"
	"syscall\n");

/*
 * The same with far jumps only: QEMU's TCG (7.2) does the stack accesses
 * of lret/iret/lcall at CPL 3 as supervisor accesses, which SMAP turns
 * into a kernel oops in any process, lol or not.
 */
FZ_ASM(stub_compat_ljmp,
	"lea 1f(%rip), %rax\n\t"
	"sub $8, %rsp\n\t"
	"movl %eax, (%rsp)\n\t"
	"movw $0x23, 4(%rsp)\n\t"
	"ljmpl *(%rsp)\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"call 2f\n"
	"2: pop %eax\n\t"
	"add $(3f - 2b), %eax\n\t"
	"push $0x33\n\t"
	"push %eax\n\t"
	"ljmpl *(%esp)\n"
	".code64\n"
	"3: mov $1001, %eax\n\t"
	"syscall\n");

/* Clobber vector and x87 state the monitor must not see. */
FZ_ASM(stub_fpu_clobber,
	"pcmpeqb %xmm0, %xmm0\n\t"
	"pcmpeqb %xmm8, %xmm8\n\t"
	"pcmpeqb %xmm15, %xmm15\n\t"
	"fninit\n\t"
	"fld1\n\t"
	"fldz\n\t"
	"push $0x37f\n\t"
	"fldcw (%rsp)\n\t"
	"movl $0x1f80, (%rsp)\n\t"
	"ldmxcsr (%rsp)\n\t"
	"pop %rax\n\t"
	"mov $1002, %eax\n\t"
	"syscall\n");

/* A guest using lol through NATIVE syscalls on the /dev/lol fd in rdi. */
FZ_ASM(stub_nested,
	"mov %rdi, %rbx\n\t"
	"mov %rbx, %rdi\n\t"
	"mov $0xb202, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r12\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xb240, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r13\n\t"
	"sub $64, %rsp\n\t"
	"movq $0, 0(%rsp)\n\t"
	"movq $0, 8(%rsp)\n\t"
	"movq $0, 16(%rsp)\n\t"
	"movq $0, 24(%rsp)\n\t"
	"mov %r12, %rdi\n\t"
	"mov $0xc020b242, %esi\n\t"
	"mov %rsp, %rdx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov 4(%rsp), %r15d\n\t"
	"xor %edi, %edi\n\t"
	"mov $4096, %esi\n\t"
	"mov $3, %edx\n\t"
	"mov $1, %r10d\n\t"
	"mov %r13, %r8\n\t"
	"xor %r9d, %r9d\n\t"
	"mov $9, %eax\n\t"
	"syscall\n\t"
	"mov %rax, %r14\n\t"
	"cmp $-4095, %rax\n\t"
	"jae 1f\n\t"
	"mov %r15d, 4(%r14)\n"
	"1: mov %r13, %rdi\n\t"
	"mov $0xb280, %esi\n\t"
	"xor %edx, %edx\n\t"
	"mov $16, %eax\n\t"
	"syscall\n\t"
	"mov $1003, %eax\n\t"
	"syscall\n");

/* An LDT code segment (NATIVE modify_ldt), then a far jump into it. */
FZ_ASM(stub_ldt,
	"sub $32, %rsp\n\t"
	"movl $0, 0(%rsp)\n\t"		/* entry_number */
	"movl $0, 4(%rsp)\n\t"		/* base */
	"movl $0xfffff, 8(%rsp)\n\t"	/* limit */
	"movl $0x59, 12(%rsp)\n\t"	/* 32bit, code, pages, useable */
	"mov $1, %edi\n\t"
	"mov %rsp, %rsi\n\t"
	"mov $16, %edx\n\t"
	"mov $154, %eax\n\t"
	"syscall\n\t"
	"mov $7, %eax\n\t"
	"mov %eax, %ds\n\t"
	"lea 1f(%rip), %rax\n\t"
	"movl %eax, (%rsp)\n\t"
	"movw $7, 4(%rsp)\n\t"
	"ljmpl *(%rsp)\n"
	".code32\n"
	"1: mov $20, %eax\n\t"
	"int $0x80\n\t"
	"ud2\n"
	".code64\n");

/* NATIVE rt_sigreturn on a frame of whatever is on the stack. */
FZ_ASM(stub_sigreturn,
	"sub $1024, %rsp\n\t"
	"mov $15, %eax\n\t"
	"syscall\n\t"
	"mov $1004, %eax\n\t"
	"syscall\n");

#define STUB(name)	{ #name, name##_start, name##_end }
static const struct stub {
	const char *name;
	const unsigned char *start, *end;
} stubs[] = {
	STUB(stub_compat_ljmp),	/* the only one of these three under TCG */
	STUB(stub_compat_iret),
	STUB(stub_compat_lret),
	STUB(stub_fpu_clobber),
	STUB(stub_nested),	/* wild only */
	STUB(stub_ldt),		/* wild only */
	STUB(stub_sigreturn),	/* wild only */
};
#define SAFE_STUBS	4
#define NSTUBS		(sizeof(stubs) / sizeof(stubs[0]))

/* ---- guest code generation ---------------------------------------------------- */

/*
 * An emitter. Bytes that come from the random generator (immediates,
 * random blocks) are marked untrusted: under TCG they are sanitized (see
 * tcg_sanitize()), the fixed encodings are not.
 */
struct em {
	uint8_t *p, *end, *base;
	uint8_t *untrusted;	/* one flag per byte from base */
};

static void emit(struct em *e, uint8_t b, bool untrusted)
{
	if (e->p < e->end) {
		e->untrusted[e->p - e->base] = untrusted;
		*e->p++ = b;
	}
}

static void e8(struct em *e, uint8_t b)
{
	emit(e, b, false);
}

/* A byte from the random generator. */
static void e8u(struct em *e, uint8_t b)
{
	emit(e, b, true);
}

static void eb(struct em *e, const char *bytes, int n)
{
	while (n--)
		e8(e, (uint8_t)*bytes++);
}

/* Immediates: untrusted. */
static void e32(struct em *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		e8u(e, v >> (8 * i));
}

static void e64(struct em *e, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		e8u(e, v >> (8 * i));
}

/* movabs $v, %reg (reg: 0 rax 1 rcx 2 rdx 3 rbx 4 rsp 5 rbp 6 rsi 7 rdi 8-15) */
static void movabs(struct em *e, int reg, uint64_t v)
{
	e8(e, 0x48 | (reg >= 8));
	e8(e, 0xb8 + (reg & 7));
	e64(e, v);
}

/* Syscall numbers worth trying; NATIVE only runs them in wild cases. */
static const uint16_t sys_interesting[] = {
	0, 1, 2, 3, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 28, 32, 33, 34, 35,
	39, 56, 57, 58, 59, 60, 62, 72, 96, 97, 98, 101, 110, 131, 137, 154,
	157, 158, 186, 200, 202, 205, 211, 218, 228, 230, 231, 234, 273, 274,
	281, 302, 317, 319, 322, 324, 334, 435, 439, 1000,
};

static uint64_t sys_arg(struct rng *r, struct gslot *g)
{
	switch (below(r, 5)) {
	case 0:
		return pick_fd(r);
	case 1:
		return pick_gva(r, g);
	case 2: {
		static const uint64_t cmds[] = {
			LOL_GET_API_VERSION, LOL_CHECK_EXTENSION,
			LOL_CREATE_GUEST, LOL_CREATE_VCPU, LOL_CREATE_AS,
			LOL_AS_OPS, LOL_RUN, LOL_KICK, LOL_SET_SYSCALL_RANGES,
			LOL_RESUME, LOL_SET_FPU, LOL_GET_FPU,
		};
		return cmds[below(r, sizeof(cmds) / sizeof(cmds[0]))];
	}
	default:
		return rval(r);
	}
}

static void t_syscall(struct em *e, struct rng *r, struct gslot *g)
{
	static const int argreg[] = { 7, 6, 2, 10, 8, 9 };
	uint64_t nr;

	for (int i = 0; i < 6; i++)
		if (chance(r, 70))
			movabs(e, argreg[i], sys_arg(r, g));
	switch (below(r, 6)) {
	case 0:
	case 1:
		nr = sys_interesting[below(r, sizeof(sys_interesting) / 2)];
		break;
	case 2:
		nr = below(r, 460);
		break;
	case 3:
		nr = 0x40000000 | below(r, 550);	/* x32 */
		break;
	case 4:
		nr = rval(r);
		break;
	default:
		nr = 1000 + below(r, 100);
		break;
	}
	movabs(e, 0, nr);
	switch (below(r, 10)) {
	case 0:
		eb(e, "\xcd\x80", 2);		/* int $0x80 */
		break;
	case 1:
		eb(e, "\x0f\x34", 2);		/* sysenter */
		break;
	default:
		eb(e, "\x0f\x05", 2);		/* syscall */
		break;
	}
}

static void t_priv(struct em *e, struct rng *r)
{
	/* hlt cli sti wrmsr rdmsr rdpmc in/out mov-cr lgdt clts wbinvd
	 * swapgs sysret sgdt lldt vmmcall vmcall vmrun rsm invd clac stac
	 * serialize; the NUL-free strings are the encodings.
	 */
	static const char *const insns[] = {
		"\xf4", "\xfa", "\xfb", "\x0f\x30", "\x0f\x32", "\x0f\x33",
		"\xec", "\xed", "\xee", "\xef", "\xe4\x80", "\xe6\x80",
		"\x0f\x22\xd8", "\x0f\x20\xc0", "\x0f\x01\x10", "\x0f\x06",
		"\x0f\x09", "\x0f\x01\xf8", "\x48\x0f\x07", "\x0f\x07",
		"\x0f\x01\x04\x24", "\x0f\x01\xd9",
		"\x0f\x01\xc1", "\x0f\x01\xd8", "\x0f\xaa", "\x0f\x08",
		"\x0f\x01\xe8",
		/* the last two (clac, stac) contain lret bytes: not under TCG */
		"\x0f\x01\xca", "\x0f\x01\xcb",
	};
	const char *s = insns[below(r, sizeof(insns) / sizeof(insns[0]) - (C.tcg ? 2 : 0))];

	if (chance(r, 30))
		movabs(e, 0, rval(r));
	if (chance(r, 5)) {
		eb(e, "\x0f", 1);		/* lldt %ax: 0f 00 d0 */
		e8(e, 0);
		e8(e, 0xd0);
		return;
	}
	eb(e, s, strlen(s));
}

static void t_trap(struct em *e, struct rng *r)
{
	switch (below(r, 9)) {
	case 0: e8(e, 0xcc); break;			/* int3 */
	case 1: eb(e, "\x0f\x0b", 2); break;		/* ud2 */
	case 2: e8(e, 0xf1); break;			/* int1 */
	case 3: e8(e, 0xce); break;			/* into: #UD */
	case 4: e8(e, 0xcd); e8u(e, below(r, 256)); break;	/* int $n */
	case 5: eb(e, "\x31\xc9\x31\xd2\xf7\xf1", 6); break;	/* div 0 */
	case 6: eb(e, "\x0f\xb9\xc0", 3); break;	/* ud1 */
	case 7: eb(e, "\xf0\x90", 2); break;		/* lock nop */
	default: eb(e, "\x62\x62", 2); break;		/* bound/EVEX junk */
	}
}

/* push $imm32 (sign-extended) */
static void push_imm(struct em *e, uint32_t v)
{
	e8(e, 0x68);
	e32(e, v);
}

static const uint16_t selectors[] = {
	0, 3, 7, 0x10, 0x18, 0x1b, 0x23, 0x2b, 0x33, 0x3b, 0x43, 0x53, 0xffff,
	0x4, 0xf, 0x80,
};
#define NSEL (sizeof(selectors) / sizeof(selectors[0]))

uint16_t pick_sel(struct rng *r)
{
	return chance(r, 80) ? selectors[below(r, NSEL)] : (uint16_t)rnd(r);
}

static void t_far(struct em *e, struct rng *r, uint64_t here)
{
	uint64_t target = chance(r, 70) ? here + below(r, 64) : rval(r);

	switch (C.tcg ? 3 : below(r, 4)) {
	case 0:		/* lretq */
		push_imm(e, pick_sel(r));
		movabs(e, 0, target);
		e8(e, 0x50);
		eb(e, "\x48\xcb", 2);
		break;
	case 1:		/* iretq with a random frame */
		push_imm(e, pick_sel(r));			/* ss */
		movabs(e, 0, chance(r, 50) ? here + 0x800 : rval(r));
		e8(e, 0x50);					/* rsp */
		push_imm(e, 0x202 | (rnd(r) & 0x40cd5));	/* rflags */
		push_imm(e, pick_sel(r));			/* cs */
		movabs(e, 0, target);
		e8(e, 0x50);					/* rip */
		eb(e, "\x48\xcf", 2);
		break;
	case 2:		/* lcall through memory: m16:64 */
		movabs(e, 0, target);
		e8(e, 0x50);
		eb(e, "\x66\xc7\x44\x24\x08", 5);		/* movw $sel, 8(%rsp) */
		e8u(e, pick_sel(r));
		e8(e, 0);
		eb(e, "\x48\xff\x1c\x24", 4);			/* lcall *(%rsp) */
		break;
	default:	/* ljmp m16:32 */
		movabs(e, 0, (target & 0xffffffff) | ((uint64_t)pick_sel(r) << 32));
		e8(e, 0x50);
		eb(e, "\xff\x2c\x24", 3);			/* ljmp *(%rsp) */
		break;
	}
}

static void t_seg(struct em *e, struct rng *r)
{
	static const uint8_t modrm[] = { 0xd8, 0xc0, 0xd0, 0xe0, 0xe8 };

	e8(e, 0xb8);
	e32(e, pick_sel(r));			/* mov $sel, %eax */
	e8(e, 0x8e);
	e8(e, modrm[below(r, 5)]);		/* mov %eax, %sreg */
	if (chance(r, 30))
		eb(e, "\x8c\xe0", 2);		/* mov %fs, %eax */
}

static void t_fsgs(struct em *e, struct rng *r)
{
	movabs(e, 0, chance(r, 50) ? rval(r) : 0x10000 + below(r, 1 << 20));
	switch (below(r, 4)) {
	case 0: eb(e, "\xf3\x48\x0f\xae\xd0", 5); break;	/* wrfsbase */
	case 1: eb(e, "\xf3\x48\x0f\xae\xd8", 5); break;	/* wrgsbase */
	case 2: eb(e, "\xf3\x48\x0f\xae\xc0", 5); break;	/* rdfsbase */
	default:						/* mov %fs:(%rax) */
		eb(e, "\x64\x48\x8b\x00", 4);
		break;
	}
}

static void t_pkru(struct em *e, struct rng *r)
{
	eb(e, "\x31\xc9\x31\xd2", 4);		/* ecx = edx = 0 */
	e8(e, 0xb8);
	e32(e, chance(r, 50) ? (uint32_t)rnd(r) : 0x55555554);
	eb(e, chance(r, 80) ? "\x0f\x01\xef" : "\x0f\x01\xee", 3);
}

static void t_fpu(struct em *e, struct rng *r)
{
	static const char *const insns[] = {
		"\xdb\xe3", "\xd9\xe8", "\xd9\xee", "\xd8\xf1", "\xd9\xfa",
		"\xde\xf9", "\x9b", "\xc5\xf8\x77", "\xc5\xfc\x77",
		"\xc5\xfd\xef\xc0", "\xc5\xfe\x6f\x04\x24",
		"\x66\x45\x0f\x74\xc0", "\x66\x45\x0f\x74\xff",
		"\xf3\x0f\x5e\xc1", "\x0f\x57\xc0", "\x0f\xae\x04\x24",
		"\x0f\xae\x0c\x24", "\x48\x0f\xae\x24\x24",
		"\x48\x0f\xae\x2c\x24", "\x0f\xae\x14\x24", "\xd9\x2c\x24",
		"\x0f\x01\xd0", "\x0f\x01\xd1", "\x62\xf1\x7c\x48\x10\x04\x24",
	};
	const char *s;

	if (chance(r, 40)) {
		/* random value at (%rsp) for ldmxcsr/fldcw/xrstor/xsetbv */
		movabs(e, 0, rval(r));
		e8(e, 0x50);
		movabs(e, 2, chance(r, 50) ? 0 : rval(r));
		movabs(e, 0, rval(r));
		if (chance(r, 50))
			eb(e, "\x31\xc9", 2);
	}
	s = insns[below(r, sizeof(insns) / sizeof(insns[0]))];
	eb(e, s, strlen(s));
}

static void t_jump(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 0, pick_gva(r, g));
	switch (below(r, 3)) {
	case 0: eb(e, "\xff\xe0", 2); break;	/* jmp *%rax */
	case 1: eb(e, "\xff\xd0", 2); break;	/* call *%rax */
	default:				/* push; ret */
		eb(e, "\x50\xc3", 2);
		break;
	}
}

static void t_mem(struct em *e, struct rng *r, struct gslot *g)
{
	static const char *const acc[] = {
		"\x48\x8b\x18", "\x48\x89\x18", "\xf0\x48\x0f\xc1\x18",
		"\x0f\x18\x08", "\x0f\xae\x38", "\x48\x8b\x58\x01",
	};

	const char *a = acc[below(r, 6)];

	movabs(e, 0, pick_gva(r, g));
	eb(e, a, strlen(a));
}

static void t_string(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 1, chance(r, 50) ? below(r, 2 * PAGE) : rval(r));
	movabs(e, 6, pick_gva(r, g));
	movabs(e, 7, pick_gva(r, g));
	if (chance(r, 20))
		e8(e, 0xfd);			/* std */
	if (chance(r, 50))
		eb(e, "\xf3\xa4", 2);		/* rep movsb */
	else
		eb(e, "\xf3\x48\xab", 3);	/* rep stosq */
	e8(e, 0xfc);				/* cld */
}

static void t_flags(struct em *e, struct rng *r)
{
	/* pushfq; orq $bits, (%rsp); popfq: TF, AC, DF, NT, IOPL... */
	static const uint32_t bits[] = { 0x100, 0x40000, 0x400, 0x4000, 0x3000, 0x200000 };

	e8(e, 0x9c);
	eb(e, "\x48\x81\x0c\x24", 4);
	e32(e, bits[below(r, 6)]);
	e8(e, 0x9d);
	if (chance(r, 50))
		eb(e, "\x48\x8b\x44\x24\x01", 5);	/* misaligned load */
}

static void t_stack(struct em *e, struct rng *r, struct gslot *g)
{
	movabs(e, 4, chance(r, 60) ? pick_gva(r, g) : rval(r));
	switch (below(r, 3)) {
	case 0: e8(e, 0x50); break;
	case 1: e8(e, 0x58); break;
	default: e8(e, 0xc3); break;
	}
}

static void t_stub(struct em *e, struct rng *r, struct gslot *g, bool wild)
{
	unsigned int n = wild ? NSTUBS : SAFE_STUBS;
	const struct stub *s = &stubs[below(r, n)];

	if (C.tcg && (s->start == stub_compat_iret_start ||
		      s->start == stub_compat_lret_start))
		s = &stubs[0];

	if (s->start == stub_nested_start) {
		if (o.no_nested)
			return;
		movabs(e, 7, LD(C.sys[below(r, NSYS)]));
	}
	for (const unsigned char *p = s->start; p < s->end; p++)
		e8(e, *p);
	(void)g;
}

/*
 * Under QEMU TCG (7.2) two emulator bugs must not be hit, wherever
 * decoding of guest code starts:
 *  - lret (ca, cb), iret (cf), lcall ptr (9a, compat mode) and lcall m
 *    (ff /3) at CPL 3 do their stack accesses as supervisor accesses; with
 *    SMAP that oopses the kernel in any process, lol or not;
 *  - the new AVX decoder asserts on some VEX encodings (vpinsr with
 *    VEX.L=1 aborts QEMU), so VEX prefixes (c4, c5) survive only in the
 *    encodings the generator emits itself.
 * Other instructions take their place.
 */
static bool vex_known(const uint8_t *p, size_t left)
{
	static const uint8_t known[][2] = {
		{ 0xf8, 0x77 }, { 0xfc, 0x77 }, { 0xfd, 0xef }, { 0xfe, 0x6f },
	};

	for (size_t k = 0; left >= 3 && k < sizeof(known) / 2; k++)
		if (p[0] == 0xc5 && p[1] == known[k][0] && p[2] == known[k][1])
			return true;
	return false;
}

void tcg_sanitize(uint8_t *p, const uint8_t *untrusted, size_t len)
{
	if (!C.tcg)
		return;
	for (size_t i = 0; i < len; i++) {
		if (untrusted && !untrusted[i]) {
			/* a fixed encoding: only make sure no lcall m follows */
			if (p[i] == 0xff && i + 1 < len && untrusted[i + 1] &&
			    ((p[i + 1] >> 3) & 7) == 3)
				p[i + 1] ^= 0x08;
			continue;
		}
		if (p[i] == 0xca || p[i] == 0xcb || p[i] == 0xcf || p[i] == 0x9a ||
		    p[i] == 0xff)
			p[i] = 0x90;
		if ((p[i] == 0xc4 || p[i] == 0xc5) && !vex_known(p + i, len - i))
			p[i] = 0x90;
	}
}

/* Fills the guest's code pages; returns the offset of an entry point. */
uint64_t gen_code(struct rng *r, struct gslot *g, bool wild)
{
	uint8_t code[CODE_LEN], untrusted[CODE_LEN];
	struct em e = { code, code + CODE_LEN - 16, code, untrusted };
	uint64_t entries[32];
	int nent = 0, nblocks = 1 + below(r, 24);

	memset(code, 0xcc, sizeof(code));
	memset(untrusted, 0, sizeof(untrusted));
	if (chance(r, 10)) {
		for (size_t i = 0; i < sizeof(code); i++)
			code[i] = rnd(r);
		memset(untrusted, 1, sizeof(untrusted));
	}
	for (int i = 0; i < nblocks && e.p < e.end; i++) {
		uint64_t here = g->code_gva + (e.p - code);

		if (nent < 32)
			entries[nent++] = e.p - code;
		switch (below(r, 20)) {
		case 0: {
			int n = 1 + below(r, 16);
			while (n--)
				e8u(&e, rnd(r));
			break;
		}
		case 1: t_priv(&e, r); break;
		case 2: t_trap(&e, r); break;
		case 3:
		case 4:
		case 5: t_syscall(&e, r, g); break;
		case 6: t_far(&e, r, here); break;
		case 7: t_seg(&e, r); break;
		case 8: t_fsgs(&e, r); break;
		case 9: t_pkru(&e, r); break;
		case 10:
		case 11: t_fpu(&e, r); break;
		case 12:
			if (chance(r, 50))
				eb(&e, "\xeb\xfe", 2);		/* jmp . */
			else
				eb(&e, "\xf3\x90\xeb\xfc", 4);	/* pause loop */
			break;
		case 13: t_jump(&e, r, g); break;
		case 14: t_mem(&e, r, g); break;
		case 15: t_string(&e, r, g); break;
		case 16: t_flags(&e, r); break;
		case 17: t_stack(&e, r, g); break;
		default: t_stub(&e, r, g, wild); break;
		}
		if (chance(r, 50)) {
			/* a checkpoint: a reflected (or native) syscall */
			e8(&e, 0xb8);
			e32(&e, 2000 + i);
			eb(&e, "\x0f\x05", 2);
		}
	}
	eb(&e, "\xb8\xe7\x03\x00\x00\x0f\x05\x0f\x0b", 9);	/* syscall 999; ud2 */
	tcg_sanitize(code, untrusted, sizeof(code));
	memcpy(g->phys + PHYS_CODE, code, sizeof(code));
	return entries[below(r, nent)];
}

