/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: Linux-on-Linux hypervisor assist.
 *
 * The fd hierarchy is the one /dev/kvm made familiar:
 *
 *   /dev/lol --LOL_CREATE_GUEST--> guest fd --LOL_CREATE_VCPU--> vcpu fd
 *                                           --LOL_CREATE_AS--> address space id
 *
 * A vcpu fd is mmap'd at offset 0 for its struct lol_run; LOL_RUN on the
 * vcpu fd runs the guest registers of that page in a guest address space
 * on the calling thread and returns on the next guest exit.
 *
 * Rules every ioctl follows: unknown flags and non-zero reserved or padding
 * fields fail with -EINVAL; fields are read once; ioctls on a guest or vcpu
 * fd from a process other than the one that created the guest fail with
 * -EIO. See Documentation/uapi.md.
 */
#ifndef _UAPI_LINUX_LOL_H
#define _UAPI_LINUX_LOL_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <asm/lol.h>

/* 2: struct lol_run's regs moved to its end (one layout on every arch). */
#define LOL_API_VERSION		2

/* ioctl type; 0xB2 is unused in Documentation/userspace-api/ioctl. */
#define LOLIO			0xB2

/*
 * Capabilities for LOL_CHECK_EXTENSION: the ioctl returns 0 when the
 * capability is absent and a positive value (often a limit) when present.
 */
#define LOL_CAP_RUN		1	/* LOL_RUN and guest address spaces */
#define LOL_CAP_MAX_VCPUS	2	/* returns the vCPU limit per guest */
#define LOL_CAP_MAX_GUESTS	3	/* returns the guest limit per user */
#define LOL_CAP_MAX_AS		4	/* returns the AS limit per guest */
#define LOL_CAP_AS_BATCH	5	/* returns the max ops per AS batch */
#define LOL_CAP_MAX_MAPPINGS	6	/* returns the mapped-page limit per AS */
#define LOL_CAP_FPU		7	/* returns the LOL_GET/SET_FPU buffer size */
#define LOL_CAP_KICK		8	/* LOL_KICK and LOL_EXIT_KICK */
#define LOL_CAP_IMMEDIATE_EXIT	9	/* lol_run.immediate_exit */
#define LOL_CAP_SYSCALL_RANGES	10	/* returns max ranges (LOL_SET_SYSCALL_RANGES) */
#define LOL_CAP_SINGLESTEP	11	/* LOL_RUN_SINGLESTEP */
#define LOL_CAP_REFLECT		12	/* in-place reflection, LOL_RESUME */
#define LOL_CAP_FPTRAP		13	/* returns the LOL_FPTRAP_* banks it can arm */

/* ---- ioctls on /dev/lol ------------------------------------------------ */

/* Returns LOL_API_VERSION. arg must be 0. */
#define LOL_GET_API_VERSION	_IO(LOLIO, 0x00)
/* arg is a LOL_CAP_*; returns 0 (absent) or a positive value. */
#define LOL_CHECK_EXTENSION	_IO(LOLIO, 0x01)
/* arg is the guest type, must be 0; returns a new guest fd (O_CLOEXEC). */
#define LOL_CREATE_GUEST	_IO(LOLIO, 0x02)
/* Returns the size to mmap on a vcpu fd. arg must be 0. */
#define LOL_GET_VCPU_MMAP_SIZE	_IO(LOLIO, 0x03)

/* ---- ioctls on a guest fd ---------------------------------------------- */

/* arg is the vcpu id (0 .. LOL_CAP_MAX_VCPUS-1); returns a new vcpu fd. */
#define LOL_CREATE_VCPU		_IO(LOLIO, 0x40)

/*
 * Guest "physical" memory: a file (memfd or other shmem file) whose pages
 * LOL_AS_MAP maps into guest address spaces. Set once per guest.
 */
struct lol_phys_memory {
	__s32 fd;
	__u32 flags;		/* must be 0 */
	__u64 size;		/* bytes, page aligned, <= file size */
	__u64 reserved[4];
};
#define LOL_SET_PHYS_MEMORY	_IOW(LOLIO, 0x41, struct lol_phys_memory)

/*
 * Creates an empty guest address space; its id is written to as_id. Ids
 * are not reused soon after LOL_DESTROY_AS (they are allocated cyclically).
 */
struct lol_create_as {
	__u32 flags;		/* must be 0 */
	__u32 as_id;		/* out; must be 0 on input */
	__u64 reserved[3];
};
#define LOL_CREATE_AS		_IOWR(LOLIO, 0x42, struct lol_create_as)
/* arg is the as_id; the AS dies when no vcpu runs in it any more. */
#define LOL_DESTROY_AS		_IO(LOLIO, 0x43)

/* One operation of a LOL_AS_OPS batch. */
#define LOL_AS_MAP		1	/* map phys [phys, phys+size) at addr */
#define LOL_AS_UNMAP		2	/* unmap [addr, addr+size) */
#define LOL_AS_PROTECT		3	/* change protection of [addr, addr+size) */

#define LOL_PROT_READ		(1U << 0)
#define LOL_PROT_WRITE		(1U << 1)
#define LOL_PROT_EXEC		(1U << 2)

struct lol_as_op {
	__u32 op;		/* LOL_AS_MAP / LOL_AS_UNMAP / LOL_AS_PROTECT */
	__u32 prot;		/* LOL_PROT_*; 0 for UNMAP */
	__u64 addr;		/* guest virtual, page aligned */
	__u64 size;		/* bytes, page aligned, > 0 */
	__u64 phys;		/* offset in phys memory (MAP only, else 0) */
	__u64 reserved;
};

/*
 * Batch of AS operations, applied in order. Every op is checked before
 * the first is applied: an invalid op fails the ioctl with -EINVAL (or
 * -ENXIO without phys memory) with nothing applied and nr_done = its
 * index. An error while applying (-ENOMEM, -ENOSPC, -EACCES, ...) leaves
 * ops[0 .. nr_done) applied and ops[nr_done] possibly half done (as after
 * a failed mmap(MAP_FIXED) or mprotect), later ops untouched. Addresses
 * are guest virtual, below LOL_USER_ADDR_LIMIT.
 */
struct lol_as_batch {
	__u32 as_id;
	__u32 nr_ops;		/* 1 .. LOL_CAP_AS_BATCH */
	__u64 ops;		/* user pointer to struct lol_as_op[nr_ops] */
	__u32 flags;		/* must be 0 */
	__u32 nr_done;		/* out; must be 0 on input */
	__u64 reserved[2];
};
#define LOL_AS_OPS		_IOWR(LOLIO, 0x44, struct lol_as_batch)

/* ---- ioctls on a vcpu fd ----------------------------------------------- */

/* Run the guest until the next exit. arg must be 0. */
#define LOL_RUN			_IO(LOLIO, 0x80)
/*
 * Force a vcpu out of the guest, from any thread of the creating process.
 * A kick that finds the vcpu outside LOL_RUN is remembered: the next
 * LOL_RUN returns LOL_EXIT_KICK at once. arg must be 0.
 */
#define LOL_KICK		_IO(LOLIO, 0x81)

/* Guest FP/vector state in the standard (non-compacted) XSAVE layout. */
struct lol_fpu {
	__u64 addr;		/* user pointer to the buffer */
	__u32 size;		/* buffer size, >= LOL_CAP_FPU value */
	__u32 flags;		/* must be 0 */
	__u64 reserved[2];
};
#define LOL_GET_FPU		_IOW(LOLIO, 0x82, struct lol_fpu)
#define LOL_SET_FPU		_IOW(LOLIO, 0x83, struct lol_fpu)

/*
 * Syscall filtering by the address of the syscall instruction (the seed's
 * PT_ADDRANGE). A table has up to LOL_MAX_SYSCALL_RANGES non-overlapping
 * ranges, each with an action, and a default action for the rest.
 *
 * LOL_RANGES_GUEST applies it to guest syscalls during LOL_RUN (without a
 * table every guest syscall is REFLECTed). LOL_RANGES_MONITOR applies it
 * to the calling thread's own syscalls outside LOL_RUN, with REFLECT done
 * in place: the registers go to the run page and the thread continues at
 * @entry on @stack, without a signal frame, until LOL_RESUME.
 */
#define LOL_RANGE_NATIVE	1	/* the host executes the syscall */
#define LOL_RANGE_REFLECT	2	/* handed to the monitor, not executed */
#define LOL_RANGE_PTRACE	3	/* rolled back, SIGSYS (monitor mode) */
#define LOL_RANGE_KILL		4	/* the thread dies with SIGSYS */

#define LOL_RANGE_ONESHOT	(1U << 0)	/* disarm after the first hit */

#define LOL_MAX_SYSCALL_RANGES	16

struct lol_syscall_range {
	__u64 start;		/* first syscall instruction address */
	__u64 end;		/* exclusive */
	__u32 action;		/* LOL_RANGE_* */
	__u32 flags;		/* LOL_RANGE_ONESHOT */
	__u64 reserved;
};

#define LOL_RANGES_GUEST	(1U << 0)
#define LOL_RANGES_MONITOR	(1U << 1)

struct lol_syscall_ranges {
	__u32 flags;		/* LOL_RANGES_*; 0 removes the table */
	__u32 nr_ranges;	/* 0 .. LOL_MAX_SYSCALL_RANGES */
	__u32 default_action;	/* LOL_RANGE_* outside every range */
	__u32 pad;
	__u64 entry;		/* MONITOR + REFLECT: upcall entry point */
	__u64 stack;		/* MONITOR + REFLECT: upcall stack top, 16-aligned */
	__u64 reserved[4];
	struct lol_syscall_range ranges[LOL_MAX_SYSCALL_RANGES];
};
#define LOL_SET_SYSCALL_RANGES	_IOW(LOLIO, 0x84, struct lol_syscall_ranges)
/*
 * Monitor mode: return from a reflection upcall to the interrupted code,
 * with the registers of the run page (rax: the syscall's result). arg
 * must be 0.
 */
#define LOL_RESUME		_IO(LOLIO, 0x85)

/*
 * Turn a per-vcpu capability on (or off): cap is a LOL_CAP_* that says it
 * can be enabled, args[] are the cap's, unused ones 0. Fails with
 * -EOPNOTSUPP where the cap reads 0. Only LOL_CAP_FPTRAP can be today.
 */
struct lol_enable_cap {
	__u32 cap;
	__u32 flags;		/* must be 0 */
	__u64 args[4];
	__u64 reserved[4];	/* must be 0 */
};
#define LOL_ENABLE_CAP		_IOW(LOLIO, 0x86, struct lol_enable_cap)

/*
 * LOL_CAP_FPTRAP: args[0] is the set of FP/vector register banks whose
 * next use by the guest ends LOL_RUN with LOL_EXIT_TRAP (0 disarms them
 * all). A bank disarms itself when it traps; the faulting instruction has
 * not run, and runs when the guest is resumed. ia64: LOW is f2-f31
 * (psr.dfl), HIGH is f32-f127 (psr.dfh); the trap's vector is 25
 * (Disabled FP-Register), its error_code the bank.
 */
#define LOL_FPTRAP_LOW		(1U << 0)
#define LOL_FPTRAP_HIGH		(1U << 1)

/* ---- the run page ------------------------------------------------------ */

/* lol_run.exit_reason */
#define LOL_EXIT_NONE		0
/*
 * LOL_EXIT_SYSCALL: regs.rax holds the syscall number, regs.rip points past
 * the instruction; after `syscall` rcx/r11 hold what the instruction put
 * there, after `int $0x80` (LOL_SYSCALL_COMPAT) they keep the guest's
 * values. Set regs.rax to the result and LOL_RUN again.
 */
#define LOL_EXIT_SYSCALL	1	/* guest executed a system call */
#define LOL_EXIT_FAULT		2	/* guest page fault not served by a map */
#define LOL_EXIT_TRAP		3	/* guest exception (vector in trap) */
#define LOL_EXIT_KICK		4	/* LOL_KICK */
#define LOL_EXIT_INTR		5	/* host signal; LOL_RUN returned -EINTR */

/* lol_run.flags (in) */
#define LOL_RUN_SINGLESTEP	(1U << 0)	/* exit with #DB after one instruction */

/* lol_run.fault.access */
#define LOL_FAULT_READ		(1U << 0)
#define LOL_FAULT_WRITE		(1U << 1)
#define LOL_FAULT_EXEC		(1U << 2)
/* lol_run.fault.flags */
/*
 * The address is mapped in the AS and the access denied (or beyond the
 * phys file). Use this, not error_code's P bit: that one tells whether
 * the host had a PTE yet, which lol fills lazily.
 */
#define LOL_FAULT_PRESENT	(1U << 0)

/* lol_exit_syscall.flags */
#define LOL_SYSCALL_COMPAT	(1U << 0)	/* 32-bit ABI (int $0x80) */

struct lol_exit_syscall {
	__u64 nr;
	__u64 args[6];		/* in ABI order (x86_64: rdi rsi rdx r10 r8 r9) */
	__u64 ip;		/* address of the syscall instruction */
	__u32 flags;		/* LOL_SYSCALL_* */
	__u32 pad;
};

struct lol_exit_fault {
	__u64 addr;
	__u32 access;		/* LOL_FAULT_* */
	__u32 flags;		/* LOL_FAULT_PRESENT */
	__u64 error_code;	/* architectural error code */
	__u64 ip;
};

struct lol_exit_trap {
	__u32 vector;		/* architectural vector (x86: 0 #DE, 6 #UD ...) */
	__u32 pad;
	__u64 error_code;
	__u64 ip;
	__u64 addr;		/* address if the trap has one, else 0 */
};

/*
 * mmap'd at offset 0 of a vcpu fd (LOL_GET_VCPU_MMAP_SIZE bytes). "in"
 * fields are read once by LOL_RUN, "out" fields are written before it
 * returns; regs are both.
 *
 * One layout on every architecture: everything up to `regs` (offsets
 * 0-383) is the same everywhere; `regs`, the architecture's struct
 * lol_regs, is the tail (as kvm_run keeps s.regs last), so a port adds
 * nothing before it and the page grows only at its end.
 */
struct lol_run {
	/* in */
	__u8 immediate_exit;	/* LOL_RUN returns -EINTR before entering */
	__u8 pad0[3];
	__u32 as_id;		/* address space to run in */
	__u32 flags;		/* LOL_RUN_* */
	__u32 pad1;
	__u64 reserved_in[6];

	/* out */
	__u32 exit_reason;	/* LOL_EXIT_* */
	__u32 pad2;
	__u64 nr_exits;		/* exits since the vcpu was created */
	__u64 reserved_out[6];

	/* out: details of exit_reason */
	union {
		struct lol_exit_syscall syscall;
		struct lol_exit_fault fault;
		struct lol_exit_trap trap;
		__u8 padding[256];
	};

	/* in/out: guest register state, the per-architecture tail */
	struct lol_regs regs;
};

#endif /* _UAPI_LINUX_LOL_H */
