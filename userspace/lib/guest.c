// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * liblol mini guests. See guest.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memfd_create */
#endif
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"

/* close() and munmap() without disturbing the errno being returned. */
static void close_keep_errno(int fd)
{
	int saved_errno = errno;

	close(fd);
	errno = saved_errno;
}

static void munmap_keep_errno(void *p, size_t size)
{
	int saved_errno = errno;

	munmap(p, size);
	errno = saved_errno;
}

int lol_vm_create(struct lol_vm *vm, size_t phys_size)
{
	void *phys;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->sys = vm->guest = vm->memfd = -1;

	if (!phys_size) {
		errno = EINVAL;
		return -1;
	}

	vm->sys = lol_open();
	if (vm->sys < 0)
		return -1;

	ret = lol_get_vcpu_mmap_size(vm->sys);
	if (ret < 0)
		goto err_close_sys;
	vm->run_size = ret;

	vm->guest = lol_create_guest(vm->sys, 0);
	if (vm->guest < 0)
		goto err_close_sys;

	vm->memfd = memfd_create("lol-phys", MFD_CLOEXEC);
	if (vm->memfd < 0)
		goto err_close_guest;
	if (ftruncate(vm->memfd, phys_size) < 0)
		goto err_close_memfd;

	phys = mmap(NULL, phys_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vm->memfd, 0);
	if (phys == MAP_FAILED)
		goto err_close_memfd;
	vm->phys = phys;
	vm->phys_size = phys_size;

	if (lol_set_phys_memory(vm->guest, vm->memfd, phys_size) < 0)
		goto err_unmap_phys;
	return 0;

err_unmap_phys:
	munmap_keep_errno(vm->phys, phys_size);
	vm->phys = NULL;
	vm->phys_size = 0;
err_close_memfd:
	close_keep_errno(vm->memfd);
	vm->memfd = -1;
err_close_guest:
	close_keep_errno(vm->guest);
	vm->guest = -1;
err_close_sys:
	close_keep_errno(vm->sys);
	vm->sys = -1;
	return -1;
}

void lol_vm_destroy(struct lol_vm *vm)
{
	if (vm->phys)
		munmap_keep_errno(vm->phys, vm->phys_size);
	if (vm->memfd >= 0)
		close_keep_errno(vm->memfd);
	if (vm->guest >= 0)
		close_keep_errno(vm->guest);
	if (vm->sys >= 0)
		close_keep_errno(vm->sys);
	memset(vm, 0, sizeof(*vm));
	vm->sys = vm->guest = vm->memfd = -1;
}

int lol_vm_add_vcpu(struct lol_vm *vm, unsigned int id,
		    struct lol_vcpu *vcpu)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->id = id;
	vcpu->fd = lol_create_vcpu(vm->guest, id);
	if (vcpu->fd < 0)
		return -1;

	vcpu->run = lol_map_run(vcpu->fd, vm->run_size);
	if (!vcpu->run) {
		close_keep_errno(vcpu->fd);
		vcpu->fd = -1;
		return -1;
	}
	vcpu->run_size = vm->run_size;
	return 0;
}

void lol_vcpu_destroy(struct lol_vcpu *vcpu)
{
	if (vcpu->run)
		munmap_keep_errno(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close_keep_errno(vcpu->fd);
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->fd = -1;
}

void *lol_vm_phys(struct lol_vm *vm, size_t phys_off, size_t len)
{
	if (phys_off > vm->phys_size || len > vm->phys_size - phys_off)
		return NULL;
	return (char *)vm->phys + phys_off;
}

int lol_vm_load(struct lol_vm *vm, size_t phys_off, const void *bytes,
		size_t len)
{
	void *dst = lol_vm_phys(vm, phys_off, len);

	if (!dst) {
		errno = EINVAL;
		return -1;
	}
	memcpy(dst, bytes, len);
#ifdef __aarch64__
	/*
	 * The bytes may be guest code: the guest's instruction fetches go
	 * through the I-cache, which on arm64 the data writes above do not
	 * reach (lol's PTEs get no I-cache sync). The same physical page
	 * here, so cleaning this view suffices, as for a JIT.
	 */
	__builtin___clear_cache((char *)dst, (char *)dst + len);
#endif
	return 0;
}

int lol_vm_new_as(struct lol_vm *vm, __u32 *as_id)
{
	return lol_create_as(vm->guest, as_id);
}

int lol_vm_map(struct lol_vm *vm, __u32 as_id, __u64 gva, __u64 phys_off,
	       __u64 size, __u32 prot)
{
	return lol_as_map(vm->guest, as_id, gva, size, phys_off, prot);
}

void lol_vcpu_set_entry(struct lol_vcpu *vcpu, __u32 as_id, __u64 rip,
			__u64 rsp)
{
	struct lol_run *run = vcpu->run;

	run->as_id = as_id;
	memset(&run->regs, 0, sizeof(run->regs));
#ifdef __aarch64__
	run->regs.pc = rip;
	run->regs.sp = rsp;
#else
	run->regs.rip = rip;
	run->regs.rsp = rsp;
	run->regs.rflags = LOL_GUEST_RFLAGS;
#endif
}
