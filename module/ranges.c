// SPDX-License-Identifier: GPL-2.0
/*
 * lol: syscall range tables (the seed's PT_ADDRANGE and PT_ONESHOT).
 *
 * A table is immutable once published except for its one-shot bits;
 * LOL_SET_SYSCALL_RANGES replaces it as a whole under RCU, so a running
 * thread sees either the old table or the new one, never a mix.
 */
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <asm/unistd.h>

#include "lol.h"

static bool lol_action_ok(u32 action)
{
	return action >= LOL_RANGE_NATIVE && action <= LOL_RANGE_KILL;
}

static int lol_range_cmp(const void *a, const void *b)
{
	const struct lol_syscall_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static bool lol_table_uses(const struct lol_ranges *t, u32 action)
{
	int i;

	if (t->def == action)
		return true;
	for (i = 0; i < t->nr; i++)
		if (t->r[i].action == action)
			return true;
	return false;
}

/* Copies in, validates and sorts a table; NULL with flags == 0. */
struct lol_ranges *lol_ranges_parse(const struct lol_syscall_ranges __user *u)
{
	struct lol_syscall_ranges *in;
	struct lol_ranges *t;
	int i, ret = -EINVAL;

	in = memdup_user(u, sizeof(*in));
	if (IS_ERR(in))
		return ERR_CAST(in);
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t) {
		ret = -ENOMEM;
		goto out_free_in;
	}

	if (in->flags & ~(LOL_RANGES_GUEST | LOL_RANGES_MONITOR) || in->pad)
		goto out_free_t;
	for (i = 0; i < ARRAY_SIZE(in->reserved); i++)
		if (in->reserved[i])
			goto out_free_t;
	if (!in->flags) {
		/* Removal: nothing else may be set. */
		if (in->nr_ranges || in->default_action || in->entry ||
		    in->stack || memchr_inv(in->ranges, 0, sizeof(in->ranges)))
			goto out_free_t;
		kfree(t);
		t = NULL;
		ret = 0;
		goto out_free_in;
	}
	if (in->nr_ranges > LOL_MAX_SYSCALL_RANGES ||
	    !lol_action_ok(in->default_action))
		goto out_free_t;
	for (i = in->nr_ranges; i < LOL_MAX_SYSCALL_RANGES; i++)
		if (memchr_inv(&in->ranges[i], 0, sizeof(in->ranges[i])))
			goto out_free_t;

	t->flags = in->flags;
	t->nr = in->nr_ranges;
	t->def = in->default_action;
	memcpy(t->r, in->ranges, t->nr * sizeof(t->r[0]));
	for (i = 0; i < t->nr; i++) {
		struct lol_syscall_range *r = &t->r[i];

		if (r->reserved || r->flags & ~LOL_RANGE_ONESHOT ||
		    !lol_action_ok(r->action))
			goto out_free_t;
		if (r->start >= r->end || r->end > LOL_USER_LIMIT)
			goto out_free_t;
	}
	sort(t->r, t->nr, sizeof(t->r[0]), lol_range_cmp, NULL);
	for (i = 1; i < t->nr; i++)
		if (t->r[i].start < t->r[i - 1].end)
			goto out_free_t;

	/* In-place reflection needs somewhere to go. */
	if (t->flags & LOL_RANGES_MONITOR &&
	    lol_table_uses(t, LOL_RANGE_REFLECT)) {
		if (!in->entry || in->entry >= LOL_USER_LIMIT ||
		    !in->stack || in->stack > LOL_USER_LIMIT ||
		    !IS_ALIGNED(in->stack, 16))
			goto out_free_t;
	} else if (in->entry || in->stack) {
		goto out_free_t;
	}
	t->entry = in->entry;
	t->stack = in->stack;
	kfree(in);
	return t;

out_free_t:
	kfree(t);
out_free_in:
	kfree(in);
	return ret ? ERR_PTR(ret) : NULL;
}

/* The action for a syscall instruction at @ip; disarms one-shot ranges. */
u32 lol_ranges_action(struct lol_ranges *t, u64 ip)
{
	int i;

	for (i = 0; i < t->nr; i++) {
		const struct lol_syscall_range *r = &t->r[i];

		if (ip < r->start)
			break;
		if (ip >= r->end)
			continue;
		if (!(r->flags & LOL_RANGE_ONESHOT))
			return r->action;
		if (test_and_set_bit(i, &t->disarmed))
			return t->def;
		return r->action;
	}
	return t->def;
}

/*
 * Syscalls a NATIVE range may not run in guest mode, whatever the port:
 * they would copy or replace the thread's mm, which is the guest AS only
 * on loan, or change per-task state that belongs to the monitor (signal
 * handling, rseq, the robust futex list, the clear-tid pointer, seccomp
 * and with it the mark lol's syscall entry relies on, the dispatch and FP
 * permission settings of arch_prctl/prctl). They are reflected instead.
 * The numbers are the host architecture's; a port without a syscall
 * (no fork on arm64 and ia64, no clone3 on ia64) has no case for it.
 */
bool lol_native_nr_ok(unsigned long nr)
{
	switch (nr) {
	case __NR_clone:
#ifdef __NR_clone2
	case __NR_clone2:
#endif
#ifdef __NR_clone3
	case __NR_clone3:
#endif
#ifdef __NR_fork
	case __NR_fork:
#endif
#ifdef __NR_vfork
	case __NR_vfork:
#endif
	case __NR_execve:
	case __NR_execveat:
	case __NR_prctl:
#ifdef __NR_arch_prctl
	case __NR_arch_prctl:
#endif
	case __NR_seccomp:
	case __NR_rseq:
	case __NR_set_tid_address:
	case __NR_set_robust_list:
	case __NR_sigaltstack:
	case __NR_rt_sigaction:
	case __NR_rt_sigprocmask:
	case __NR_rt_sigreturn:
	case __NR_rt_sigsuspend:
	case __NR_io_uring_setup:
	case __NR_personality:
		return false;
	default:
		return true;
	}
}
