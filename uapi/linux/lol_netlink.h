/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lol: the generic netlink family "lol", for the host's admin.
 *
 * What runs on the host: the guests (LOL_CMD_GET_GUEST), their vCPUs with
 * per-vCPU counters (LOL_CMD_GET_VCPU), and a multicast group "events".
 * Callers without CAP_SYS_ADMIN see only guests created under their own
 * uid; the events group needs CAP_SYS_ADMIN to join. The family lives in
 * the initial network namespace only. See Documentation/netlink.md.
 *
 * Every attribute is checked by the netlink core against a strict policy:
 * unknown attributes, wrong lengths and set reserved header bits fail with
 * -EINVAL; unknown commands with -EOPNOTSUPP.
 */
#ifndef _UAPI_LINUX_LOL_NETLINK_H
#define _UAPI_LINUX_LOL_NETLINK_H

#define LOL_GENL_NAME		"lol"
#define LOL_GENL_VERSION	1
#define LOL_GENL_MCGRP_EVENTS	"events"

enum lol_nl_cmd {
	LOL_CMD_UNSPEC,
	/*
	 * Request: LOL_A_GUEST_ID for one guest (doit), nothing for all of
	 * them (NLM_F_DUMP). Reply: one message per guest with LOL_A_GUEST_*,
	 * LOL_A_OWNER_*, LOL_A_NR_*, LOL_A_PHYS_SIZE, LOL_A_MAPPED and
	 * LOL_A_LIMITS.
	 */
	LOL_CMD_GET_GUEST,
	/*
	 * Request (NLM_F_DUMP only): LOL_A_GUEST_ID to restrict the dump to
	 * one guest, else every visible guest. Reply: one message per vCPU
	 * with LOL_A_GUEST_ID, LOL_A_VCPU_ID, LOL_A_VCPU_TID and
	 * LOL_A_VCPU_STATS.
	 */
	LOL_CMD_GET_VCPU,
	/* Multicast on "events" only: LOL_A_EVENT and what it names. */
	LOL_CMD_EVENT,

	__LOL_CMD_MAX,
	LOL_CMD_MAX = __LOL_CMD_MAX - 1
};

enum lol_nl_attr {
	LOL_A_UNSPEC,
	LOL_A_PAD,		/* alignment padding for the u64s */
	LOL_A_GUEST_ID,		/* u32: host-wide, from 1, not reused soon */
	LOL_A_OWNER_PID,	/* u32: creating process, in the reader's pid ns */
	LOL_A_OWNER_UID,	/* u32: creating uid, in the reader's user ns */
	LOL_A_OWNER_COMM,	/* string: the creating process's comm */
	LOL_A_NR_VCPUS,		/* u32: vCPU fds open */
	LOL_A_NR_AS,		/* u32: address spaces */
	LOL_A_PHYS_SIZE,	/* u64: bytes of guest physical memory set */
	LOL_A_MAPPED,		/* u64: bytes mapped, summed over all ASs */
	LOL_A_MAPPINGS,		/* u32: pages mapped, summed over all ASs */
	LOL_A_LIMITS,		/* nest: LOL_LIMIT_* as u32 */
	LOL_A_VCPU_ID,		/* u32 */
	LOL_A_VCPU_TID,		/* u32: thread in LOL_RUN now (reader's ns), 0 if none */
	LOL_A_VCPU_STATS,	/* nest: LOL_STAT_* as u64 */
	LOL_A_EVENT,		/* u32: LOL_EVENT_* */
	LOL_A_LIMIT,		/* u32: LOL_LIMIT_* that was hit */
	LOL_A_ERRNO,		/* u32: positive errno of the refused call */
	LOL_A_IOCTL,		/* u32: the refused ioctl's command number */
	LOL_A_PID,		/* u32: the thread an event is about (init pid ns) */

	__LOL_A_MAX,
	LOL_A_MAX = __LOL_A_MAX - 1
};

/* In LOL_A_LIMITS, and LOL_A_LIMIT of a LOL_EVENT_LIMIT. */
enum lol_nl_limit {
	LOL_LIMIT_UNSPEC,
	LOL_LIMIT_MAX_VCPUS,		/* vCPUs per guest */
	LOL_LIMIT_MAX_GUESTS,		/* guests per user */
	LOL_LIMIT_MAX_AS,		/* address spaces per guest */
	LOL_LIMIT_MAX_MAPPINGS,		/* pages mapped per address space */

	__LOL_LIMIT_MAX,
	LOL_LIMIT_MAX = __LOL_LIMIT_MAX - 1
};

/*
 * In LOL_A_VCPU_STATS. Counted by the thread that runs the vCPU: exact
 * for an idle vCPU; while it runs, an entry may lack its exit yet.
 */
enum lol_nl_stat {
	LOL_STAT_UNSPEC,
	LOL_STAT_PAD,
	LOL_STAT_RUNS,		/* entries into guest mode (LOL_RUN) */
	LOL_STAT_EXIT_SYSCALL,	/* exits by reason: LOL_EXIT_SYSCALL ... */
	LOL_STAT_EXIT_FAULT,
	LOL_STAT_EXIT_TRAP,
	LOL_STAT_EXIT_KICK,
	LOL_STAT_EXIT_INTR,
	LOL_STAT_REFLECTIONS,	/* monitor-mode syscalls reflected in place */
	LOL_STAT_KICKS,		/* LOL_KICK calls on the vCPU */
	LOL_STAT_GUEST_NS,	/* time in guest mode */
	LOL_STAT_MONITOR_NS,	/* time since LOL_CREATE_VCPU not in guest mode */

	__LOL_STAT_MAX,
	LOL_STAT_MAX = __LOL_STAT_MAX - 1
};

/* LOL_A_EVENT of a LOL_CMD_EVENT message. */
enum lol_nl_event {
	LOL_EVENT_UNSPEC,
	/* LOL_A_GUEST_ID, LOL_A_OWNER_PID, LOL_A_OWNER_UID, LOL_A_OWNER_COMM */
	LOL_EVENT_GUEST_CREATE,
	/* the same attributes, when the guest's last reference goes */
	LOL_EVENT_GUEST_DESTROY,
	/* LOL_A_GUEST_ID, LOL_A_VCPU_ID, LOL_A_PID: a thread died in guest mode */
	LOL_EVENT_VCPU_KILLED,
	/* LOL_A_LIMIT, LOL_A_PID, and LOL_A_GUEST_ID when there is a guest */
	LOL_EVENT_LIMIT,
	/*
	 * LOL_A_IOCTL, LOL_A_ERRNO (EINVAL or EFAULT), LOL_A_PID, and
	 * LOL_A_GUEST_ID / LOL_A_VCPU_ID for guest and vCPU fds.
	 */
	LOL_EVENT_BAD_INPUT,

	__LOL_EVENT_MAX,
	LOL_EVENT_MAX = __LOL_EVENT_MAX - 1
};

#endif /* _UAPI_LINUX_LOL_NETLINK_H */
