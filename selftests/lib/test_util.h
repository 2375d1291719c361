/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lol selftests: asserting wrappers around liblol, in the spirit of KVM
 * selftests' vm_ioctl()/TEST_ASSERT(). The macros use the kselftest
 * harness (ASSERT_*, EXPECT_*, SKIP, TH_LOG): include
 * "kselftest_harness.h" before this header, and use them in a TEST(),
 * TEST_F() or FIXTURE_SETUP() body only.
 *
 * Failures print the ioctl name, the fd and argument expressions and the
 * errno name, e.g.
 *   # reserved_test.c:42:flags:Expected 'EINVAL' == 'success'.
 *   # reserved_test.c:42:flags:LOL_CREATE_AS on self->guest, &ca
 */
#ifndef _LOL_TEST_UTIL_H
#define _LOL_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>

#include "liblol.h"
#include "guest.h"
#include "lol_compat.h"

/*
 * The standard guest stubs (lib/<arch>/stubs.c): every port has them under
 * these names, so that a test that only needs a guest to spin or to go
 * somewhere loads the same stub on every arch (LOL_VM_LOAD_ASM() and
 * LOL_GUEST_SIZE() of guest.h take the name).
 *   lol_stub_spin     an endless loop, until a kick, a signal or a timeout
 *   lol_stub_syscall  one syscall, number lol_nr(), arguments lol_arg0()..,
 *                     then (if run again) an endless loop
 *   lol_stub_jump     jumps to the address in lol_arg0()
 *   lol_stub_ret_check  for (;;) { if (ret != keep) { (*counter)++;
 *                     ret = keep; } syscall with ret unchanged }: set up
 *                     with lol_stub_ret_check_set(run, value, counter);
 *                     every exit saves ret == keep == value to the run
 *                     page, so threads racing LOL_RUN on one vcpu re-enter
 *                     it as set, and only a return value lol lost or gave
 *                     to the wrong thread counts
 */
#define LOL_GUEST_STUB(name)						\
	extern const unsigned char name##_start[]			\
		__attribute__((visibility("hidden")));			\
	extern const unsigned char name##_end[]				\
		__attribute__((visibility("hidden")))
LOL_GUEST_STUB(lol_stub_spin);
LOL_GUEST_STUB(lol_stub_syscall);
LOL_GUEST_STUB(lol_stub_jump);
LOL_GUEST_STUB(lol_stub_ret_check);

/* lib/<arch>/: register accessors and CPU features of the guest's arch. */
#include "processor.h"

/*
 * Guest addresses (AS ops, the pc, x86's fs/gs base, syscall ranges) stay
 * below the uapi's user address limit: 47 bits less a page on x86, also
 * on hosts with 5-level paging; 48 bits on arm64.
 */
#define LOL_TEST_USER_LIMIT	LOL_USER_ADDR_LIMIT

/* "EINVAL" for EINVAL; "E<n>" for errnos without a name here. */
const char *lol_errno_name(int err);

/* CLOCK_MONOTONIC in seconds, for deadlines and reports. */
double lol_now(void);

/*
 * Reads a (small, /proc or /sys) file into buf as a NUL-terminated string;
 * returns its length, or -1 with errno set (an empty file: 0).
 */
ssize_t lol_read_text(const char *path, char *buf, size_t size);

/* Writes all of @text to @path in one write(): 0 or -errno. */
int lol_write_text(const char *path, const char *text);

/* Writes a lol module parameter (/sys/module/lol/parameters/NAME): 0 or -errno. */
int lol_param_write(const char *name, long val);

/*
 * A CLOCK_MONOTONIC timer that sends @signo to the calling thread alone,
 * every @period_ns from now on (0: created disarmed). 0 or -errno.
 */
int lol_thread_timer(int signo, long period_ns, timer_t *timer);

/*
 * The module's reference count (/sys/module/lol/refcnt): one per lol file
 * and run page mapping, and per queued lol task_work. -1 if unreadable.
 */
long lol_refcnt(void);

/* A /proc/meminfo field in KiB, -1 if absent. */
long lol_meminfo_kb(const char *field);
/*
 * Bytes held by all slab caches per /proc/slabinfo (num_objs * objsize),
 * -1 if unreadable (no root, no CONFIG_SLUB_DEBUG...).
 */
long long lol_slabinfo_bytes(void);

/* Raises RLIMIT_NOFILE to at least nr; returns 0 or -1 with errno. */
int lol_raise_nofile(unsigned long nr);

/* Whether fd has FD_CLOEXEC; -1 with errno if fcntl fails. */
int lol_fd_cloexec(int fd);

/*
 * fd = lol_open_sys(): open /dev/lol or fail the test with a hint.
 */
#define lol_open_sys() ({						\
	int __fd = lol_open();						\
	int __e = errno;						\
	ASSERT_LE(0, __fd) {						\
		TH_LOG("open %s: %s (%s)%s", LOL_DEVICE,		\
		       lol_errno_name(__e), strerror(__e),		\
		       __e == ENOENT ? " - is the module loaded?" : ""); \
	}								\
	__fd;								\
})

/*
 * ret = lol_ioctl_ok(fd, cmd, arg): the ioctl must succeed (ASSERT);
 * returns its result.
 */
#define lol_ioctl_ok(fd, cmd, arg) ({					\
	long __r = ioctl(fd, cmd, (unsigned long)(arg));		\
	int __e = errno;						\
	ASSERT_LE(0, __r) {						\
		TH_LOG("%s on %s, %s: %s (%s)", lol_ioctl_name(cmd),	\
		       #fd, #arg, lol_errno_name(__e), strerror(__e));	\
	}								\
	__r;								\
})

/*
 * lol_ioctl_err(fd, cmd, arg, expected_errno): the ioctl must fail with
 * expected_errno. This one is an EXPECT (the test goes on, so that one
 * test can report every wrongly accepted field); it returns whether the
 * expectation held.
 */
#define lol_ioctl_err(fd, cmd, arg, expected) ({			\
	long __r = ioctl(fd, cmd, (unsigned long)(arg));		\
	int __e = errno;						\
	bool __held = __r == -1 && __e == (expected);			\
	EXPECT_STREQ(lol_errno_name(expected),				\
		     __r == -1 ? lol_errno_name(__e) : "success") {	\
		TH_LOG("%s on %s, %s (returned %ld)",			\
		       lol_ioctl_name(cmd), #fd, #arg, __r);		\
	}								\
	__held;								\
})

/* Like lol_ioctl_err(), but the test stops on a mismatch. */
#define lol_ioctl_err_assert(fd, cmd, arg, expected) ({			\
	long __r = ioctl(fd, cmd, (unsigned long)(arg));		\
	int __e = errno;						\
	ASSERT_STREQ(lol_errno_name(expected),				\
		     __r == -1 ? lol_errno_name(__e) : "success") {	\
		TH_LOG("%s on %s, %s (returned %ld)",			\
		       lol_ioctl_name(cmd), #fd, #arg, __r);		\
	}								\
})

/*
 * EXPECT_ERRNO(expected, expr): a libc-style call (-1 or MAP_FAILED on
 * failure) must fail with errno expected. Returns whether it did.
 */
#define EXPECT_ERRNO(expected, expr) ({					\
	long __r = (long)(expr);					\
	int __e = errno;						\
	bool __held = __r == -1 && __e == (expected);			\
	EXPECT_STREQ(lol_errno_name(expected),				\
		     __r == -1 ? lol_errno_name(__e) : "success") {	\
		TH_LOG("%s", #expr);					\
	}								\
	__held;								\
})

/* ret = ASSERT_SYSCALL(expr): a libc-style call must succeed. */
#define ASSERT_SYSCALL(expr) ({						\
	long __r = (long)(expr);					\
	int __e = errno;						\
	ASSERT_NE(-1, __r) {						\
		TH_LOG("%s: %s (%s)", #expr, lol_errno_name(__e),	\
		       strerror(__e));					\
	}								\
	__r;								\
})

/* val = lol_cap(sys, cap): LOL_CHECK_EXTENSION, which must not fail. */
#define lol_cap(sys, cap) lol_ioctl_ok(sys, LOL_CHECK_EXTENSION, cap)

/*
 * LOL_REQUIRE_CAP(sys, cap): SKIP the rest of the test unless the module
 * has cap. Evaluates to the capability's value. Test bodies only (6.1's
 * harness runs the body even after a SKIP() in FIXTURE_SETUP).
 */
#define LOL_REQUIRE_CAP(sys, cap) ({					\
	long __v = lol_cap(sys, cap);					\
	if (__v == 0)							\
		SKIP(return, "%s absent", lol_cap_name(cap));		\
	__v;								\
})

/*
 * Whether an EXPECT_* has failed so far: for forked children, which report
 * through their exit status. (kselftest_harness.h of 6.1 keeps this in
 * ->passed.)
 */
#define lol_test_failed(m)	(!(m)->passed)

/* Exit details for failure messages. */
#define LOL_EXIT_FMT	"exit %s (%u) at pc 0x%llx"
#define LOL_EXIT_ARGS(run)						\
	lol_exit_name((run)->exit_reason), (run)->exit_reason,		\
	(unsigned long long)lol_pc(run)

#endif /* _LOL_TEST_UTIL_H */
