/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants that libc headers older than Linux 5.11 lack (Syscall User
 * Dispatch), shared by the selftests and lol-bench.
 */
#ifndef _LOL_COMPAT_H
#define _LOL_COMPAT_H

#include <sys/prctl.h>
#include <signal.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#define SYSCALL_DISPATCH_FILTER_BLOCK	1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH		2	/* si_code of its SIGSYS */
#endif

#endif /* _LOL_COMPAT_H */
