/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * liblol mini guests: just enough of a monitor to run small guest code
 * stubs in tests, benchmarks and examples (the idea of KVM selftests'
 * kvm_util, scaled down).
 *
 *	struct lol_vm vm;
 *	struct lol_vcpu vcpu;
 *	__u32 as;
 *
 *	LOL_GUEST_ASM(getpid_stub, "mov $39, %eax\n\tsyscall\n\tud2\n");
 *
 *	lol_vm_create(&vm, 1 << 20);
 *	lol_vm_add_vcpu(&vm, 0, &vcpu);
 *	lol_vm_new_as(&vm, &as);
 *	LOL_VM_LOAD_ASM(&vm, 0, getpid_stub);
 *	lol_vm_map(&vm, as, 0x400000, 0, 4096, LOL_PROT_READ | LOL_PROT_EXEC);
 *	lol_vcpu_set_entry(&vcpu, as, 0x400000, 0);
 *	lol_run(vcpu.fd);	   // vcpu.run->exit_reason == LOL_EXIT_SYSCALL
 *
 * All functions return 0 (or a documented value) on success and -1 with
 * errno set on failure, and undo what they did on failure.
 */
#ifndef _LIBLOL_GUEST_H
#define _LIBLOL_GUEST_H

#include <stddef.h>
#include "liblol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fresh x86 user RFLAGS: IF and the always-one bit 1. */
#define LOL_GUEST_RFLAGS	0x202ULL

struct lol_vm {
	int sys;		/* /dev/lol */
	int guest;		/* guest fd */
	int memfd;		/* backing file of the guest phys memory */
	void *phys;		/* phys memory, mapped shared into the monitor */
	size_t phys_size;
	size_t run_size;	/* LOL_GET_VCPU_MMAP_SIZE */
};

struct lol_vcpu {
	int fd;
	unsigned int id;
	struct lol_run *run;	/* run->regs, run->exit_reason ... */
	size_t run_size;
};

/*
 * Opens /dev/lol, creates a guest, and gives it phys_size bytes (a multiple
 * of the page size) of memfd-backed phys memory, also mapped at vm->phys.
 */
int lol_vm_create(struct lol_vm *vm, size_t phys_size);
/* Closes and unmaps everything; vcpus must be destroyed before or after. */
void lol_vm_destroy(struct lol_vm *vm);

/* Creates vcpu id and maps its run page. */
int lol_vm_add_vcpu(struct lol_vm *vm, unsigned int id,
		    struct lol_vcpu *vcpu);
void lol_vcpu_destroy(struct lol_vcpu *vcpu);

/*
 * Copies len bytes to phys memory at phys_off (on arm64 also cleaning the
 * caches for them, as guest code needs).
 */
int lol_vm_load(struct lol_vm *vm, size_t phys_off, const void *bytes,
		size_t len);
/* Pointer into the monitor's view of phys memory, NULL if out of range. */
void *lol_vm_phys(struct lol_vm *vm, size_t phys_off, size_t len);

int lol_vm_new_as(struct lol_vm *vm, __u32 *as_id);
/* Maps phys [phys_off, phys_off + size) at gva in as_id. */
int lol_vm_map(struct lol_vm *vm, __u32 as_id, __u64 gva, __u64 phys_off,
	       __u64 size, __u32 prot);

/*
 * Resets the run page's registers: all zero but rip, rsp and
 * rflags = LOL_GUEST_RFLAGS (arm64: pc and sp; pstate 0, EL0t with no
 * flags), and selects as_id for the next LOL_RUN.
 */
void lol_vcpu_set_entry(struct lol_vcpu *vcpu, __u32 as_id, __u64 rip,
			__u64 rsp);

/*
 * LOL_GUEST_ASM(name, "asm") assembles a guest code stub into the
 * .text.lol_guest section of the calling object and declares
 * name##_start[] and name##_end[] around it; LOL_GUEST_SIZE(name) is its
 * length and LOL_VM_LOAD_ASM(vm, phys_off, name) copies it into phys
 * memory. The stub runs at whatever address the test maps it at, so it
 * must be position independent (rip-relative data, relative jumps) and may
 * only touch memory the test maps into the guest AS. Use at file scope.
 */
#define LOL_GUEST_ASM(name, body)					\
	extern const unsigned char name##_start[]			\
		__attribute__((visibility("hidden")));			\
	extern const unsigned char name##_end[]				\
		__attribute__((visibility("hidden")));			\
	__asm__(".pushsection .text.lol_guest, \"ax\", @progbits\n"	\
		".balign 16\n"						\
		".type " #name "_start, @object\n"			\
		#name "_start:\n\t"					\
		body "\n"						\
		#name "_end:\n"						\
		".size " #name "_start, " #name "_end - " #name "_start\n" \
		".popsection\n")

#define LOL_GUEST_SIZE(name)	((size_t)(name##_end - name##_start))

#define LOL_VM_LOAD_ASM(vm, phys_off, name)				\
	lol_vm_load(vm, phys_off, name##_start, LOL_GUEST_SIZE(name))

#ifdef __cplusplus
}
#endif

#endif /* _LIBLOL_GUEST_H */
