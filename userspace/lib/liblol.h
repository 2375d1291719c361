/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * liblol: thin wrappers around the /dev/lol ioctls.
 *
 * Every function that wraps a system call behaves like libc: it returns the
 * system call's result (>= 0) on success and -1 with errno set on failure.
 * No wrapper retries, prints or changes errno on success. The exception is
 * lol_map_run(), which returns NULL (not MAP_FAILED) with errno set.
 *
 * The structures and constants are those of <linux/lol.h>; see
 * Documentation/uapi.md for what each ioctl does and when it fails.
 */
#ifndef _LIBLOL_H
#define _LIBLOL_H

#include <stddef.h>
#include <linux/lol.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOL_DEVICE		"/dev/lol"

/* Highest LOL_CAP_* this library has a name for (caps are dense from 1). */
#define LOL_CAP_LAST_KNOWN	LOL_CAP_FPTRAP

/* ---- /dev/lol ---------------------------------------------------------- */

/* open(LOL_DEVICE, O_RDWR | O_CLOEXEC) */
int lol_open(void);
/* Same for another device node (tests, containers). */
int lol_open_path(const char *path);
int lol_get_api_version(int sys_fd);
/* Returns 0 when the capability is absent, > 0 when present. */
int lol_check_extension(int sys_fd, unsigned long cap);
/* Returns a new guest fd; type must be 0. */
int lol_create_guest(int sys_fd, unsigned long type);
int lol_get_vcpu_mmap_size(int sys_fd);

/* ---- guest fd ---------------------------------------------------------- */

/* Returns a new vcpu fd. */
int lol_create_vcpu(int guest_fd, unsigned long id);
/* Set the guest physical memory to the first size bytes of file memfd. */
int lol_set_phys_memory(int guest_fd, int memfd, __u64 size);
/* Creates an address space; returns 0 and stores its id in *as_id. */
int lol_create_as(int guest_fd, __u32 *as_id);
int lol_destroy_as(int guest_fd, __u32 as_id);
/*
 * Applies ops[0 .. nr_ops-1] to address space as_id. If nr_done is not
 * NULL it receives the number of ops applied completely, also on failure.
 */
int lol_as_ops(int guest_fd, __u32 as_id, const struct lol_as_op *ops,
	       __u32 nr_ops, __u32 *nr_done);
/* Single-op conveniences for lol_as_ops(). */
int lol_as_map(int guest_fd, __u32 as_id, __u64 addr, __u64 size,
	       __u64 phys, __u32 prot);
int lol_as_unmap(int guest_fd, __u32 as_id, __u64 addr, __u64 size);
int lol_as_protect(int guest_fd, __u32 as_id, __u64 addr, __u64 size,
		   __u32 prot);

/* ---- vcpu fd ----------------------------------------------------------- */

/*
 * mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0): size
 * is the value of lol_get_vcpu_mmap_size(). Returns NULL with errno set on
 * failure; undo with munmap(run, size).
 */
struct lol_run *lol_map_run(int vcpu_fd, size_t size);
/* Returns 0 on an exit (see run->exit_reason), -1 with errno otherwise. */
int lol_run(int vcpu_fd);
int lol_kick(int vcpu_fd);
/* buf holds size bytes of standard-format XSAVE area. */
int lol_get_fpu(int vcpu_fd, void *buf, __u32 size);
int lol_set_fpu(int vcpu_fd, const void *buf, __u32 size);
/* Installs (or, with ranges->flags == 0, removes) a syscall range table. */
int lol_set_syscall_ranges(int vcpu_fd,
			   const struct lol_syscall_ranges *ranges);
/*
 * Ends a reflection upcall: the thread continues where its syscall was
 * reflected, with the run page's registers. Does not return on success.
 */
int lol_resume(int vcpu_fd);

/* ---- names ------------------------------------------------------------- */

/*
 * Names of constants, e.g. "LOL_EXIT_SYSCALL", "LOL_CAP_RUN", "LOL_RUN",
 * "LOL_RANGE_NATIVE". Unknown values give "unknown"; the strings are
 * static.
 */
const char *lol_exit_name(__u32 exit_reason);
const char *lol_cap_name(unsigned long cap);
const char *lol_ioctl_name(unsigned long cmd);
const char *lol_range_action_name(__u32 action);

#ifdef __cplusplus
}
#endif

#endif /* _LIBLOL_H */
