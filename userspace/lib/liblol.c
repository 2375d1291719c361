// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * liblol: thin wrappers around the /dev/lol ioctls. See liblol.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "liblol.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

int lol_open_path(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

int lol_open(void)
{
	return lol_open_path(LOL_DEVICE);
}

int lol_get_api_version(int sys_fd)
{
	return ioctl(sys_fd, LOL_GET_API_VERSION, 0UL);
}

int lol_check_extension(int sys_fd, unsigned long cap)
{
	return ioctl(sys_fd, LOL_CHECK_EXTENSION, cap);
}

int lol_create_guest(int sys_fd, unsigned long type)
{
	return ioctl(sys_fd, LOL_CREATE_GUEST, type);
}

int lol_get_vcpu_mmap_size(int sys_fd)
{
	return ioctl(sys_fd, LOL_GET_VCPU_MMAP_SIZE, 0UL);
}

int lol_create_vcpu(int guest_fd, unsigned long id)
{
	return ioctl(guest_fd, LOL_CREATE_VCPU, id);
}

int lol_set_phys_memory(int guest_fd, int memfd, __u64 size)
{
	struct lol_phys_memory pm;

	memset(&pm, 0, sizeof(pm));
	pm.fd = memfd;
	pm.size = size;
	return ioctl(guest_fd, LOL_SET_PHYS_MEMORY, &pm);
}

int lol_create_as(int guest_fd, __u32 *as_id)
{
	struct lol_create_as ca;
	int ret;

	memset(&ca, 0, sizeof(ca));
	ret = ioctl(guest_fd, LOL_CREATE_AS, &ca);
	if (ret >= 0 && as_id)
		*as_id = ca.as_id;
	return ret;
}

int lol_destroy_as(int guest_fd, __u32 as_id)
{
	return ioctl(guest_fd, LOL_DESTROY_AS, (unsigned long)as_id);
}

int lol_as_ops(int guest_fd, __u32 as_id, const struct lol_as_op *ops,
	       __u32 nr_ops, __u32 *nr_done)
{
	struct lol_as_batch batch;
	int ret, saved_errno;

	memset(&batch, 0, sizeof(batch));
	batch.as_id = as_id;
	batch.nr_ops = nr_ops;
	batch.ops = (__u64)(unsigned long)ops;
	ret = ioctl(guest_fd, LOL_AS_OPS, &batch);
	if (nr_done) {
		saved_errno = errno;
		*nr_done = batch.nr_done;
		errno = saved_errno;
	}
	return ret;
}

static int lol_as_op1(int guest_fd, __u32 as_id, __u32 op, __u64 addr,
		      __u64 size, __u64 phys, __u32 prot)
{
	struct lol_as_op o;

	memset(&o, 0, sizeof(o));
	o.op = op;
	o.prot = prot;
	o.addr = addr;
	o.size = size;
	o.phys = phys;
	return lol_as_ops(guest_fd, as_id, &o, 1, NULL);
}

int lol_as_map(int guest_fd, __u32 as_id, __u64 addr, __u64 size,
	       __u64 phys, __u32 prot)
{
	return lol_as_op1(guest_fd, as_id, LOL_AS_MAP, addr, size, phys, prot);
}

int lol_as_unmap(int guest_fd, __u32 as_id, __u64 addr, __u64 size)
{
	return lol_as_op1(guest_fd, as_id, LOL_AS_UNMAP, addr, size, 0, 0);
}

int lol_as_protect(int guest_fd, __u32 as_id, __u64 addr, __u64 size,
		   __u32 prot)
{
	return lol_as_op1(guest_fd, as_id, LOL_AS_PROTECT, addr, size, 0,
			  prot);
}

struct lol_run *lol_map_run(int vcpu_fd, size_t size)
{
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	return p;
}

int lol_run(int vcpu_fd)
{
	return ioctl(vcpu_fd, LOL_RUN, 0UL);
}

int lol_kick(int vcpu_fd)
{
	return ioctl(vcpu_fd, LOL_KICK, 0UL);
}

int lol_get_fpu(int vcpu_fd, void *buf, __u32 size)
{
	struct lol_fpu f;

	memset(&f, 0, sizeof(f));
	f.addr = (__u64)(unsigned long)buf;
	f.size = size;
	return ioctl(vcpu_fd, LOL_GET_FPU, &f);
}

int lol_set_fpu(int vcpu_fd, const void *buf, __u32 size)
{
	struct lol_fpu f;

	memset(&f, 0, sizeof(f));
	f.addr = (__u64)(unsigned long)buf;
	f.size = size;
	return ioctl(vcpu_fd, LOL_SET_FPU, &f);
}

int lol_set_syscall_ranges(int vcpu_fd,
			   const struct lol_syscall_ranges *ranges)
{
	return ioctl(vcpu_fd, LOL_SET_SYSCALL_RANGES, ranges);
}

int lol_resume(int vcpu_fd)
{
	return ioctl(vcpu_fd, LOL_RESUME, 0UL);
}

#define NAME(x)	[x] = #x

static const char * const exit_names[] = {
	NAME(LOL_EXIT_NONE),
	NAME(LOL_EXIT_SYSCALL),
	NAME(LOL_EXIT_FAULT),
	NAME(LOL_EXIT_TRAP),
	NAME(LOL_EXIT_KICK),
	NAME(LOL_EXIT_INTR),
};

static const char * const cap_names[] = {
	NAME(LOL_CAP_RUN),
	NAME(LOL_CAP_MAX_VCPUS),
	NAME(LOL_CAP_MAX_GUESTS),
	NAME(LOL_CAP_MAX_AS),
	NAME(LOL_CAP_AS_BATCH),
	NAME(LOL_CAP_MAX_MAPPINGS),
	NAME(LOL_CAP_FPU),
	NAME(LOL_CAP_KICK),
	NAME(LOL_CAP_IMMEDIATE_EXIT),
	NAME(LOL_CAP_SYSCALL_RANGES),
	NAME(LOL_CAP_SINGLESTEP),
	NAME(LOL_CAP_REFLECT),
	NAME(LOL_CAP_FPTRAP),
};

static const char * const range_action_names[] = {
	NAME(LOL_RANGE_NATIVE),
	NAME(LOL_RANGE_REFLECT),
	NAME(LOL_RANGE_PTRACE),
	NAME(LOL_RANGE_KILL),
};

#undef NAME

const char *lol_exit_name(__u32 exit_reason)
{
	if (exit_reason < ARRAY_SIZE(exit_names) && exit_names[exit_reason])
		return exit_names[exit_reason];
	return "unknown";
}

const char *lol_cap_name(unsigned long cap)
{
	if (cap < ARRAY_SIZE(cap_names) && cap_names[cap])
		return cap_names[cap];
	return "unknown";
}

const char *lol_ioctl_name(unsigned long cmd)
{
	static const struct {
		unsigned long cmd;
		const char *name;
	} ioctls[] = {
#define IOCTL(x)	{ x, #x }
		IOCTL(LOL_GET_API_VERSION),
		IOCTL(LOL_CHECK_EXTENSION),
		IOCTL(LOL_CREATE_GUEST),
		IOCTL(LOL_GET_VCPU_MMAP_SIZE),
		IOCTL(LOL_CREATE_VCPU),
		IOCTL(LOL_SET_PHYS_MEMORY),
		IOCTL(LOL_CREATE_AS),
		IOCTL(LOL_DESTROY_AS),
		IOCTL(LOL_AS_OPS),
		IOCTL(LOL_RUN),
		IOCTL(LOL_KICK),
		IOCTL(LOL_GET_FPU),
		IOCTL(LOL_SET_FPU),
		IOCTL(LOL_SET_SYSCALL_RANGES),
		IOCTL(LOL_RESUME),
		IOCTL(LOL_ENABLE_CAP),
#undef IOCTL
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ioctls); i++)
		if (ioctls[i].cmd == cmd)
			return ioctls[i].name;
	return "unknown";
}

const char *lol_range_action_name(__u32 action)
{
	if (action < ARRAY_SIZE(range_action_names) &&
	    range_action_names[action])
		return range_action_names[action];
	return "unknown";
}
