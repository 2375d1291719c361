// SPDX-License-Identifier: GPL-2.0
/*
 * lolstat: what runs on lol, for the host's admin, in the manner of
 * kvm_stat and "wg show": the guests, their vCPUs' exit counters and lol's
 * events, read from the generic netlink family "lol"
 * (<linux/lol_netlink.h>) with libnl-3 and libnl-genl-3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <linux/lol_netlink.h>

#include "liblol.h"
#include "cli.h"

#define EXIT_USAGE	LOL_EXIT_USAGE

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#define __printf(a, b)	__attribute__((format(printf, a, b)))

static const char *progname = "lolstat";

static const char usage_text[] =
"NAME\n"
"	lolstat - show the guests on lol, their vCPUs' exits and lol's events\n"
"\n"
"SYNOPSIS\n"
"	lolstat [-v] [-i SECS] [--sort FIELD] [--guest ID]\n"
"	lolstat --once [--json] [-v] [--sort FIELD] [--guest ID]\n"
"	lolstat --events [--json] [-n N] [--guest ID]\n"
"	lolstat -h | --help\n"
"\n"
"DESCRIPTION\n"
"	lolstat reads the lol module's generic netlink family \"" LOL_GENL_NAME "\"\n"
"	(<linux/lol_netlink.h>): the guests on this host, their vCPUs with\n"
"	per-vCPU counters, and the \"" LOL_GENL_MCGRP_EVENTS "\" multicast group.\n"
"\n"
"	By default lolstat is a live view, like top: every interval one line\n"
"	per guest and a total line, with the rate per second of each exit\n"
"	reason (syscall, fault, trap, kick, intr), of in-place reflections\n"
"	and of LOL_KICK calls, and how much of the interval the guest's vCPUs\n"
"	spent in guest mode and in the monitor. Busiest guests come first.\n"
"	Rates need two samples, so the first view comes after one interval\n"
"	or one second, whichever is shorter. When standard output is a\n"
"	terminal the view is redrawn in place and q or Ctrl-C quits;\n"
"	otherwise each view is printed after the last, without escape\n"
"	codes, followed by an empty line.\n"
"\n"
"	--once prints one snapshot of the cumulative counters instead, as a\n"
"	table or as JSON; --events prints lol's events as they happen.\n"
"\n"
"	Without CAP_SYS_ADMIN only the guests created under the caller's\n"
"	uid are visible, and the events group cannot be joined. The family\n"
"	exists in the initial network namespace only.\n"
"\n"
"OPTIONS\n"
"	-i, --interval SECS\n"
"		Refresh the live view every SECS seconds, a decimal number\n"
"		from 0.1 to 86400 (default 1).\n"
"\n"
"	--once\n"
"		Print one snapshot and exit. Its counters are cumulative,\n"
"		since each vCPU was created, not rates: a script that wants\n"
"		rates takes two snapshots and divides.\n"
"\n"
"	-v, --vcpus\n"
"		Also print one line per vCPU, below its guest (live view and\n"
"		--once; --json always lists the vCPUs).\n"
"\n"
"	--json\n"
"		With --once: one JSON document instead of the table. With\n"
"		--events: one JSON object per event, one per line.\n"
"\n"
"	--guest ID\n"
"		Only guest ID. The live view and --once fail when no such\n"
"		guest is visible; the live view ends when it goes away.\n"
"		With --events: only the events that name guest ID.\n"
"\n"
"	--sort FIELD\n"
"		Order the guests, and the vCPUs of each guest, by FIELD,\n"
"		largest first: exits (the five exit reasons together),\n"
"		syscall, fault, trap, kick, intr, reflections, kicks, runs,\n"
"		guest (time in guest mode), monitor (time in the monitor);\n"
"		or id, smallest first. The live view sorts by rates and by\n"
"		default by exits; --once sorts by the cumulative counters\n"
"		and by default by id.\n"
"\n"
"	--events\n"
"		Join the \"" LOL_GENL_MCGRP_EVENTS "\" group and print one line per event until\n"
"		Ctrl-C or SIGTERM. Needs CAP_SYS_ADMIN.\n"
"\n"
"	-n, --count N\n"
"		With --events: exit after N events.\n"
"\n"
"	-h, --help\n"
"		Print this help and exit.\n"
"\n"
"OUTPUT\n"
"	Live view: a header line, then columns ID, PID (of the process\n"
"	that created the guest), COMM (its name), VCPUS (vCPU fds open),\n"
"	EXITS/s (the five reasons together), %GUEST and %MON (time in guest\n"
"	mode and out of it, in the monitor, in percent of the interval,\n"
"	summed over the guest's vCPUs: two vCPUs make up to 200),\n"
"	SYSCALL/s, FAULT/s, TRAP/s, KICK/s, INTR/s (exits by reason),\n"
"	REFL/s (syscalls reflected in place), KICKS/s (LOL_KICK calls).\n"
"	On a terminal, lines are cut at its width.\n"
"	With -v each vCPU follows its guest as ID/VCPU, with the thread in\n"
"	LOL_RUN in the PID column (- when none).\n"
"\n"
"	--once: columns ID, PID, UID, COMM, VCPUS, AS (address spaces),\n"
"	MAPPED (bytes mapped in all of them, K/M/G/T = 2^10...), RUNS\n"
"	(entries into guest mode), SYSCALL, FAULT, TRAP, KICK, INTR, REFL,\n"
"	KICKS, GUEST and MONITOR (seconds), then a total line.\n"
"\n"
"	--once --json: one line of compact JSON (no spaces), integers in\n"
"	full, byte sizes in bytes, times in nanoseconds:\n"
"\n"
"	{\"guests\":[{\"id\":1,\"owner_pid\":812,\"owner_uid\":0,\"comm\":\"linux\",\n"
"	  \"nr_vcpus\":1,\"nr_as\":2,\"phys_size\":268435456,\"mapped\":8388608,\n"
"	  \"mappings\":40,\"limits\":{\"max_vcpus\":64,\"max_guests\":64,\n"
"	  \"max_as\":1024,\"max_mappings\":262144},\"vcpus\":[{\"id\":0,\"tid\":813,\n"
"	  \"runs\":N,\"exit_syscall\":N,\"exit_fault\":N,\"exit_trap\":N,\n"
"	  \"exit_kick\":N,\"exit_intr\":N,\"reflections\":N,\"kicks\":N,\n"
"	  \"guest_ns\":N,\"monitor_ns\":N}]}],\"total\":{\"runs\":N,...}}\n"
"\n"
"	\"tid\" is 0 when no thread is in LOL_RUN; \"limits\" has the limits\n"
"	the module reported; \"total\" sums the vCPU counters of the guests\n"
"	listed. Strings are escaped as JSON needs; bytes that are not\n"
"	UTF-8 become U+FFFD.\n"
"\n"
"	--events: the time it was received (local, ISO 8601), the event\n"
"	(guest_create, guest_destroy, vcpu_killed, limit, bad_input) and\n"
"	what it names as KEY=VALUE: guest_id, vcpu_id, pid (the thread,\n"
"	in the initial pid namespace), owner_pid, owner_uid, comm (quoted),\n"
"	limit (max_vcpus, max_guests, max_as, max_mappings), ioctl (its\n"
"	name, or the number in hex), errno (EINVAL or EFAULT). With --json\n"
"	one object per line with \"time\", \"event\" and the same keys,\n"
"	errno as a number and its name in \"error\".\n"
"	A warning on standard error says when the kernel dropped events\n"
"	because lolstat read them too slowly.\n"
"\n"
"	Text output shows only printable ASCII from process names; the\n"
"	rest shows as ? (or \\xNN in --events).\n"
"\n"
"EXIT STATUS\n"
"	0	success, also when the live view or --events ends with q,\n"
"		Ctrl-C, SIGTERM or SIGHUP, and when the guest that --guest\n"
"		names goes away during the live view\n"
"	1	an error: the \"" LOL_GENL_NAME "\" family is missing (lol not loaded),\n"
"		no such guest, no permission to join the events group, or\n"
"		a netlink request failed\n"
"	2	usage error\n"
"\n"
"EXAMPLES\n"
"	Watch the guests, busiest first, every 2 seconds:\n"
"\n"
"		$ lolstat -i 2\n"
"\n"
"	The counters of guest 3 and of each of its vCPUs:\n"
"\n"
"		$ lolstat --once -v --guest 3\n"
"\n"
"	Syscall exits of all guests, from a script:\n"
"\n"
"		$ lolstat --once --json | jq .total.exit_syscall\n"
"\n"
"	Wait for the next event on the host:\n"
"\n"
"		$ sudo lolstat --events -n 1\n"
"		2026-12-02T10:15:02.118340+0100 guest_create guest_id=4 owner_pid=812 owner_uid=1000 comm=\"linux\"\n"
"\n"
"SEE ALSO\n"
"	lolctl(1), kvm_stat(1), Documentation/netlink.md in the lol source\n"
"	tree.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int usage_error(const char *fmt, const char *arg)
{
	return lol_usage_error(progname, fmt, arg);
}

static void __printf(1, 2) errmsg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xrealloc(void *p, size_t n, size_t size)
{
	size_t bytes = n * size;

	if (size && n > SIZE_MAX / size)
		goto oom;
	p = realloc(p, bytes ? bytes : 1);
	if (p)
		return p;
oom:
	errmsg("out of memory");
	exit(EXIT_FAILURE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* -------------------------------------------------------------------------
 * What the family reports, and the names lolstat gives it.
 */

/* The LOL_STAT_* counters, in output order. */
static const struct stat_desc {
	int id;			/* LOL_STAT_* */
	const char *json;	/* key in --json (kept stable for scripts) */
	const char *col;	/* --once column */
} stat_descs[] = {
	{ LOL_STAT_RUNS,		"runs",		"RUNS" },
	{ LOL_STAT_EXIT_SYSCALL,	"exit_syscall",	"SYSCALL" },
	{ LOL_STAT_EXIT_FAULT,		"exit_fault",	"FAULT" },
	{ LOL_STAT_EXIT_TRAP,		"exit_trap",	"TRAP" },
	{ LOL_STAT_EXIT_KICK,		"exit_kick",	"KICK" },
	{ LOL_STAT_EXIT_INTR,		"exit_intr",	"INTR" },
	{ LOL_STAT_REFLECTIONS,		"reflections",	"REFL" },
	{ LOL_STAT_KICKS,		"kicks",	"KICKS" },
	{ LOL_STAT_GUEST_NS,		"guest_ns",	"GUEST" },
	{ LOL_STAT_MONITOR_NS,		"monitor_ns",	"MONITOR" },
};

/* The exit reasons, summed by --sort exits and the EXITS/s column. */
static const int exit_stats[] = {
	LOL_STAT_EXIT_SYSCALL, LOL_STAT_EXIT_FAULT, LOL_STAT_EXIT_TRAP,
	LOL_STAT_EXIT_KICK, LOL_STAT_EXIT_INTR,
};

static bool stat_is_ns(int id)
{
	return id == LOL_STAT_GUEST_NS || id == LOL_STAT_MONITOR_NS;
}

static const char *const limit_names[LOL_LIMIT_MAX + 1] = {
	[LOL_LIMIT_MAX_VCPUS]		= "max_vcpus",
	[LOL_LIMIT_MAX_GUESTS]		= "max_guests",
	[LOL_LIMIT_MAX_AS]		= "max_as",
	[LOL_LIMIT_MAX_MAPPINGS]	= "max_mappings",
};

static const char *const event_names[LOL_EVENT_MAX + 1] = {
	[LOL_EVENT_GUEST_CREATE]	= "guest_create",
	[LOL_EVENT_GUEST_DESTROY]	= "guest_destroy",
	[LOL_EVENT_VCPU_KILLED]		= "vcpu_killed",
	[LOL_EVENT_LIMIT]		= "limit",
	[LOL_EVENT_BAD_INPUT]		= "bad_input",
};

#define KEY_ID		(-1)
#define KEY_EXITS	(-2)

static const struct sort_key {
	const char *name;
	int stat;		/* LOL_STAT_*, KEY_ID or KEY_EXITS */
} sort_keys[] = {
	{ "exits",	 KEY_EXITS },
	{ "syscall",	 LOL_STAT_EXIT_SYSCALL },
	{ "fault",	 LOL_STAT_EXIT_FAULT },
	{ "trap",	 LOL_STAT_EXIT_TRAP },
	{ "kick",	 LOL_STAT_EXIT_KICK },
	{ "intr",	 LOL_STAT_EXIT_INTR },
	{ "reflections", LOL_STAT_REFLECTIONS },
	{ "kicks",	 LOL_STAT_KICKS },
	{ "runs",	 LOL_STAT_RUNS },
	{ "guest",	 LOL_STAT_GUEST_NS },
	{ "monitor",	 LOL_STAT_MONITOR_NS },
	{ "id",		 KEY_ID },
};

/*
 * Only what must hold for the reads below to be right: the netlink core
 * already checks the kernel's side against its strict policy.
 */
static struct nla_policy attr_policy[LOL_A_MAX + 1] = {
	[LOL_A_GUEST_ID]	= { .type = NLA_U32 },
	[LOL_A_OWNER_PID]	= { .type = NLA_U32 },
	[LOL_A_OWNER_UID]	= { .type = NLA_U32 },
	[LOL_A_OWNER_COMM]	= { .type = NLA_STRING },
	[LOL_A_NR_VCPUS]	= { .type = NLA_U32 },
	[LOL_A_NR_AS]		= { .type = NLA_U32 },
	[LOL_A_PHYS_SIZE]	= { .type = NLA_U64 },
	[LOL_A_MAPPED]		= { .type = NLA_U64 },
	[LOL_A_MAPPINGS]	= { .type = NLA_U32 },
	[LOL_A_LIMITS]		= { .type = NLA_NESTED },
	[LOL_A_VCPU_ID]		= { .type = NLA_U32 },
	[LOL_A_VCPU_TID]	= { .type = NLA_U32 },
	[LOL_A_VCPU_STATS]	= { .type = NLA_NESTED },
	[LOL_A_EVENT]		= { .type = NLA_U32 },
	[LOL_A_LIMIT]		= { .type = NLA_U32 },
	[LOL_A_ERRNO]		= { .type = NLA_U32 },
	[LOL_A_IOCTL]		= { .type = NLA_U32 },
	[LOL_A_PID]		= { .type = NLA_U32 },
};

static struct nla_policy limit_policy[LOL_LIMIT_MAX + 1] = {
	[LOL_LIMIT_MAX_VCPUS]		= { .type = NLA_U32 },
	[LOL_LIMIT_MAX_GUESTS]		= { .type = NLA_U32 },
	[LOL_LIMIT_MAX_AS]		= { .type = NLA_U32 },
	[LOL_LIMIT_MAX_MAPPINGS]	= { .type = NLA_U32 },
};

static struct nla_policy stat_policy[LOL_STAT_MAX + 1] = {
	[LOL_STAT_RUNS]		= { .type = NLA_U64 },
	[LOL_STAT_EXIT_SYSCALL]	= { .type = NLA_U64 },
	[LOL_STAT_EXIT_FAULT]	= { .type = NLA_U64 },
	[LOL_STAT_EXIT_TRAP]	= { .type = NLA_U64 },
	[LOL_STAT_EXIT_KICK]	= { .type = NLA_U64 },
	[LOL_STAT_EXIT_INTR]	= { .type = NLA_U64 },
	[LOL_STAT_REFLECTIONS]	= { .type = NLA_U64 },
	[LOL_STAT_KICKS]	= { .type = NLA_U64 },
	[LOL_STAT_GUEST_NS]	= { .type = NLA_U64 },
	[LOL_STAT_MONITOR_NS]	= { .type = NLA_U64 },
};

static uint32_t get_u32(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u32(tb[type]) : 0;
}

struct vcpu {
	uint32_t guest_id;
	uint32_t id;
	uint32_t tid;
	uint64_t c[LOL_STAT_MAX + 1];	/* counters, by LOL_STAT_* */
	double r[LOL_STAT_MAX + 1];	/* live view: per second, or % */
};

struct guest {
	uint32_t id;
	uint32_t pid;
	uint32_t uid;
	char comm[64];
	uint32_t nr_vcpus;
	uint32_t nr_as;
	uint64_t phys_size;
	uint64_t mapped;
	uint32_t mappings;
	uint32_t limits[LOL_LIMIT_MAX + 1];
	bool has_limit[LOL_LIMIT_MAX + 1];
	struct vcpu *vcpus;		/* into snap->v, sorted by id */
	size_t nvcpus;
	uint64_t c[LOL_STAT_MAX + 1];	/* sums over vcpus */
	double r[LOL_STAT_MAX + 1];
};

/* One sample: what two requests (guests, then vCPUs) returned. */
struct snap {
	struct guest *g;
	size_t ng, gcap;
	/*
	 * Every vCPU, by (guest, id), also those of a guest that came up
	 * between the two requests: they have no guest line yet, but the
	 * next sample's rates start from them.
	 */
	struct vcpu *v;
	size_t nv, vcap;
	uint64_t t_ns;		/* CLOCK_MONOTONIC at the vCPU request */
};

static void snap_free(struct snap *s)
{
	if (!s)
		return;
	free(s->g);
	free(s->v);
	free(s);
}

static int parse_guest(struct nlattr **tb, void *arg)
{
	struct nlattr *lim[LOL_LIMIT_MAX + 1];
	struct snap *s = arg;
	struct guest *g;
	int i;

	if (!tb[LOL_A_GUEST_ID])
		return -EBADMSG;
	if (s->ng == s->gcap) {
		s->gcap = s->gcap ? 2 * s->gcap : 16;
		s->g = xrealloc(s->g, s->gcap, sizeof(*s->g));
	}
	g = &s->g[s->ng++];
	memset(g, 0, sizeof(*g));
	g->id = get_u32(tb, LOL_A_GUEST_ID);
	g->pid = get_u32(tb, LOL_A_OWNER_PID);
	g->uid = get_u32(tb, LOL_A_OWNER_UID);
	if (tb[LOL_A_OWNER_COMM])
		nla_strlcpy(g->comm, tb[LOL_A_OWNER_COMM], sizeof(g->comm));
	g->nr_vcpus = get_u32(tb, LOL_A_NR_VCPUS);
	g->nr_as = get_u32(tb, LOL_A_NR_AS);
	if (tb[LOL_A_PHYS_SIZE])
		g->phys_size = nla_get_u64(tb[LOL_A_PHYS_SIZE]);
	if (tb[LOL_A_MAPPED])
		g->mapped = nla_get_u64(tb[LOL_A_MAPPED]);
	g->mappings = get_u32(tb, LOL_A_MAPPINGS);
	if (tb[LOL_A_LIMITS]) {
		if (nla_parse_nested(lim, LOL_LIMIT_MAX, tb[LOL_A_LIMITS],
				     limit_policy) < 0)
			return -EBADMSG;
		for (i = 1; i <= LOL_LIMIT_MAX; i++) {
			if (!lim[i])
				continue;
			g->limits[i] = nla_get_u32(lim[i]);
			g->has_limit[i] = true;
		}
	}
	return 0;
}

static int parse_vcpu(struct nlattr **tb, void *arg)
{
	struct nlattr *st[LOL_STAT_MAX + 1];
	struct snap *s = arg;
	struct vcpu *v;
	int i;

	if (!tb[LOL_A_GUEST_ID] || !tb[LOL_A_VCPU_ID])
		return -EBADMSG;
	if (s->nv == s->vcap) {
		s->vcap = s->vcap ? 2 * s->vcap : 64;
		s->v = xrealloc(s->v, s->vcap, sizeof(*s->v));
	}
	v = &s->v[s->nv++];
	memset(v, 0, sizeof(*v));
	v->guest_id = get_u32(tb, LOL_A_GUEST_ID);
	v->id = get_u32(tb, LOL_A_VCPU_ID);
	v->tid = get_u32(tb, LOL_A_VCPU_TID);
	if (tb[LOL_A_VCPU_STATS]) {
		if (nla_parse_nested(st, LOL_STAT_MAX, tb[LOL_A_VCPU_STATS],
				     stat_policy) < 0)
			return -EBADMSG;
		/* LOL_STAT_PAD is only padding: its slot stays 0. */
		for (i = LOL_STAT_PAD + 1; i <= LOL_STAT_MAX; i++)
			if (st[i])
				v->c[i] = nla_get_u64(st[i]);
	}
	return 0;
}

/* -------------------------------------------------------------------------
 * Requests on the family, with libnl.
 */

struct ctx {
	struct nl_sock *sk;
	int family;
	const char *cmd;	/* the request that failed */
	char why[256];		/* the kernel's extended ACK message */
	int nlerr;		/* the libnl error behind an -EPROTO */
};

/* libnl's errors that are an errno, so that strerror() can say them. */
static const struct {
	int nle;
	int err;
} nle_errnos[] = {
	{ NLE_INTR, EINTR },		{ NLE_BAD_SOCK, EBADF },
	{ NLE_AGAIN, EAGAIN },		{ NLE_NOMEM, ENOMEM },
	{ NLE_EXIST, EEXIST },		{ NLE_INVAL, EINVAL },
	{ NLE_RANGE, ERANGE },		{ NLE_OPNOTSUPP, EOPNOTSUPP },
	{ NLE_AF_NOSUPPORT, EAFNOSUPPORT }, { NLE_OBJ_NOTFOUND, ENOENT },
	{ NLE_NOACCESS, EACCES },	{ NLE_PERM, EPERM },
	{ NLE_BUSY, EBUSY },		{ NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
	{ NLE_NODEV, ENODEV },
};

/* A (negative) libnl error as a negative errno; -EPROTO for the rest. */
static int from_nlerr(struct ctx *c, int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nle_errnos); i++)
		if (nle_errnos[i].nle == -err)
			return -nle_errnos[i].err;
	c->nlerr = err;
	return -EPROTO;
}

/* err: a negative errno, from the kernel, from a reply, or from libnl. */
static const char *errstr(const struct ctx *c, int err)
{
	if (err == -EPROTO && c->nlerr)
		return nl_geterror(c->nlerr);
	return strerror(-err);
}

struct req {
	struct ctx *c;
	int (*parse)(struct nlattr **tb, void *arg);
	void *arg;
	bool done;
	bool intr;		/* NLM_F_DUMP_INTR: the dump may be torn */
	int err;		/* negative errno: the kernel's or a bad reply */
};

/* The string of an extended ACK (NETLINK_EXT_ACK) after off bytes. */
static void extack(struct ctx *c, struct nlmsghdr *nlh, size_t off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(off);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len <= 0)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlmsg_data(nlh) +
					NLMSG_ALIGN(off)), len, NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(c->why, tb[NLMSGERR_ATTR_MSG], sizeof(c->why));
}

static int req_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[LOL_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req *r = arg;
	int err;

	/*
	 * After a bad reply, read the rest without parsing it: the request
	 * must be read to its end for the socket's next one.
	 */
	if (nlh->nlmsg_type != r->c->family || r->err)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, LOL_A_MAX, attr_policy) < 0) {
		r->err = -EBADMSG;
		return NL_SKIP;
	}
	err = r->parse(tb, r->arg);
	if (err)
		r->err = err;
	return NL_OK;
}

/* NLMSG_DONE ends a dump; one that failed part way carries the error. */
static int req_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req *r = arg;
	int e;

	r->done = true;
	if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
		memcpy(&e, nlmsg_data(nlh), sizeof(e));
		if (e < 0 && !r->err) {
			r->err = e;
			extack(r->c, nlh, sizeof(e));
		}
	}
	return NL_STOP;
}

/* The ACK that libnl asks for (NLM_F_ACK) ends a doit request. */
static int req_ack(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	(void)msg;
	r->done = true;
	return NL_STOP;
}

static int req_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	/* libnl hands over the payload: the header is right before it. */
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct req *r = arg;
	size_t off = sizeof(*e);

	(void)nla;
	r->done = true;
	if (!r->err) {
		r->err = e->error;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		extack(r->c, nlh, off);
	}
	return NL_STOP;
}

static int req_intr(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	(void)msg;
	r->intr = true;
	return NL_OK;
}

/*
 * One request, read to its end (NLMSG_DONE, the ACK or an error).
 * guest_id: LOL_A_GUEST_ID when not 0. Returns 0 or a negative errno;
 * c->cmd and c->why say more.
 */
static int request(struct ctx *c, uint8_t cmd, const char *name, bool dump,
		   uint32_t guest_id, int (*parse)(struct nlattr **, void *),
		   void *arg, bool *intr)
{
	struct req r = { .c = c, .parse = parse, .arg = arg };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int err;

	c->cmd = name;
	c->why[0] = '\0';
	c->nlerr = 0;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, LOL_GENL_VERSION) ||
	    (guest_id && nla_put_u32(msg, LOL_A_GUEST_ID, guest_id) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return from_nlerr(c, err);

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, req_valid, &r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, req_finish, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, req_ack, &r);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, req_intr, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, req_error, &r);
	err = 0;
	while (!r.done) {
		err = nl_recvmsgs(c->sk, cb);
		if (err < 0)
			break;
	}
	nl_cb_put(cb);
	if (r.err)
		return r.err;
	if (err < 0)
		return from_nlerr(c, err);
	if (intr)
		*intr = r.intr;
	return 0;
}

static int nl_init(struct ctx *c)
{
	int err, one = 1, fd;

	c->sk = nl_socket_alloc();
	if (!c->sk) {
		errmsg("out of memory");
		return -1;
	}
	err = genl_connect(c->sk);
	if (err < 0) {
		errmsg("cannot open a generic netlink socket: %s",
		       errstr(c, from_nlerr(c, err)));
		return -1;
	}
	/*
	 * The kernel's own words on a refused request, and errors that do
	 * not echo the request. Both are only nicer: old kernels refuse.
	 */
	fd = nl_socket_get_fd(c->sk);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	err = genl_ctrl_resolve(c->sk, LOL_GENL_NAME);
	if (err == -NLE_OBJ_NOTFOUND) {
		errmsg("generic netlink family \"%s\" not found: is the lol module loaded? (modprobe lol)",
		       LOL_GENL_NAME);
		return -1;
	}
	if (err < 0) {
		errmsg("cannot look up the generic netlink family \"%s\": %s",
		       LOL_GENL_NAME, errstr(c, from_nlerr(c, err)));
		return -1;
	}
	c->family = err;
	return 0;
}

static int cmp_guest_id(const void *a, const void *b)
{
	const struct guest *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_vcpu_id(const void *a, const void *b)
{
	const struct vcpu *x = a, *y = b;

	if (x->guest_id != y->guest_id)
		return (x->guest_id > y->guest_id) - (x->guest_id < y->guest_id);
	return (x->id > y->id) - (x->id < y->id);
}

/* Sort by id, give each guest its vCPUs and their sums. */
static void snap_finish(struct snap *s)
{
	size_t i, j = 0;
	int k;

	/* qsort() wants an array even for none. */
	if (s->ng)
		qsort(s->g, s->ng, sizeof(*s->g), cmp_guest_id);
	if (s->nv)
		qsort(s->v, s->nv, sizeof(*s->v), cmp_vcpu_id);
	for (i = 0; i < s->ng; i++) {
		struct guest *g = &s->g[i];

		while (j < s->nv && s->v[j].guest_id < g->id)
			j++;
		g->vcpus = &s->v[j];
		while (j < s->nv && s->v[j].guest_id == g->id) {
			for (k = 0; k <= LOL_STAT_MAX; k++)
				g->c[k] += s->v[j].c[k];
			g->nvcpus++;
			j++;
		}
	}
}

/*
 * One sample: the guests, then their vCPUs. A dump that the kernel marks
 * torn (NLM_F_DUMP_INTR) is taken again, a few times at most.
 */
static int fetch(struct ctx *c, uint32_t guest_id, struct snap **out)
{
	bool intr_g = false, intr_v = false;
	struct snap *s;
	int err, tries;

	for (tries = 0; ; tries++) {
		s = xrealloc(NULL, 1, sizeof(*s));
		memset(s, 0, sizeof(*s));
		err = request(c, LOL_CMD_GET_GUEST, "LOL_CMD_GET_GUEST",
			      !guest_id, guest_id, parse_guest, s, &intr_g);
		if (!err) {
			s->t_ns = now_ns();
			err = request(c, LOL_CMD_GET_VCPU, "LOL_CMD_GET_VCPU",
				      true, guest_id, parse_vcpu, s, &intr_v);
			/* The guest went away after the first request. */
			if (err == -ENOENT && guest_id) {
				s->nv = 0;
				err = 0;
			}
		}
		if (err) {
			snap_free(s);
			return err;
		}
		if ((!intr_g && !intr_v) || tries == 3)
			break;
		snap_free(s);
	}
	snap_finish(s);
	*out = s;
	return 0;
}

static void report(struct ctx *c, int err, uint32_t guest_id)
{
	if (err == -ENOENT && guest_id && !strcmp(c->cmd, "LOL_CMD_GET_GUEST")) {
		errmsg("no guest %" PRIu32 " (or not yours: without CAP_SYS_ADMIN only the guests of your uid are visible)",
		       guest_id);
		return;
	}
	if (err == -EBADMSG) {
		errmsg("malformed %s reply from the kernel%s%s", c->cmd,
		       c->why[0] ? ": " : "", c->why);
		return;
	}
	errmsg("%s failed: %s%s%s%s", c->cmd, errstr(c, err),
	       c->why[0] ? " (" : "", c->why, c->why[0] ? ")" : "");
	if (err == -EOPNOTSUPP)
		errmsg("is the lol module older than this lolstat?");
}

/* -------------------------------------------------------------------------
 * Ordering and rates.
 */

static int sort_stat = KEY_ID;
static bool sort_by_rate;

static double exits_of(const uint64_t *c, const double *r)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exit_stats); i++)
		sum += r ? r[exit_stats[i]] : (double)c[exit_stats[i]];
	return sum;
}

static double sort_value(const uint64_t *c, const double *r)
{
	if (sort_stat == KEY_EXITS)
		return exits_of(c, sort_by_rate ? r : NULL);
	return sort_by_rate ? r[sort_stat] : (double)c[sort_stat];
}

/* Largest first, ties (and --sort id) by id. */
static int cmp_values(double a, double b, uint32_t ida, uint32_t idb)
{
	if (sort_stat != KEY_ID && a != b)
		return a < b ? 1 : -1;
	return (ida > idb) - (ida < idb);
}

static int cmp_guest(const void *a, const void *b)
{
	const struct guest *x = *(const struct guest *const *)a;
	const struct guest *y = *(const struct guest *const *)b;

	if (sort_stat == KEY_ID)
		return cmp_values(0, 0, x->id, y->id);
	return cmp_values(sort_value(x->c, x->r), sort_value(y->c, y->r),
			  x->id, y->id);
}

static int cmp_vcpu(const void *a, const void *b)
{
	const struct vcpu *x = *(const struct vcpu *const *)a;
	const struct vcpu *y = *(const struct vcpu *const *)b;

	if (sort_stat == KEY_ID)
		return cmp_values(0, 0, x->id, y->id);
	return cmp_values(sort_value(x->c, x->r), sort_value(y->c, y->r),
			  x->id, y->id);
}

static struct guest **sorted_guests(struct snap *s)
{
	struct guest **p = xrealloc(NULL, s->ng, sizeof(*p));
	size_t i;

	for (i = 0; i < s->ng; i++)
		p[i] = &s->g[i];
	qsort(p, s->ng, sizeof(*p), cmp_guest);
	return p;
}

static struct vcpu **sorted_vcpus(struct guest *g)
{
	struct vcpu **p = xrealloc(NULL, g->nvcpus, sizeof(*p));
	size_t i;

	for (i = 0; i < g->nvcpus; i++)
		p[i] = &g->vcpus[i];
	qsort(p, g->nvcpus, sizeof(*p), cmp_vcpu);
	return p;
}

/*
 * Rates between two samples, per vCPU, summed per guest: counts per
 * second, times in percent of the interval. A vCPU that is new counts
 * from 0 (it was created in the interval); a counter that went back
 * (it cannot, but) counts 0.
 */
static void compute_rates(struct snap *cur, const struct snap *prev)
{
	double dt = (double)(cur->t_ns - prev->t_ns) / 1e9;
	size_t i, j;
	int k;

	if (dt <= 0)
		dt = 1e-9;
	for (i = 0; i < cur->nv; i++) {
		struct vcpu *v = &cur->v[i];
		const struct vcpu *o = NULL;

		if (prev->nv)
			o = bsearch(v, prev->v, prev->nv, sizeof(*v),
				    cmp_vcpu_id);

		for (k = 0; k <= LOL_STAT_MAX; k++) {
			uint64_t was = o ? o->c[k] : 0;
			double d = v->c[k] >= was ? (double)(v->c[k] - was) : 0;

			v->r[k] = stat_is_ns(k) ? d / (dt * 1e9) * 100 : d / dt;
		}
	}
	for (i = 0; i < cur->ng; i++) {
		struct guest *g = &cur->g[i];

		for (j = 0; j < g->nvcpus; j++)
			for (k = 0; k <= LOL_STAT_MAX; k++)
				g->r[k] += g->vcpus[j].r[k];
	}
}

/* -------------------------------------------------------------------------
 * Text: tables with columns as wide as their widest cell.
 */

#define MAX_COLS	20
#define CELL		32

struct col {
	const char *name;
	bool left;
	int min;		/* width, so the live view does not jitter */
};

struct table {
	const struct col *cols;
	int ncols;
	char (*cells)[CELL];
	size_t nrows, cap;
	int width[MAX_COLS];
};

static size_t table_row(struct table *t)
{
	size_t n = (size_t)t->ncols;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 32;
		t->cells = xrealloc(t->cells, t->cap * n, CELL);
	}
	memset(t->cells[t->nrows * n], 0, n * CELL);
	return t->nrows++;
}

static void __printf(4, 5)
cell(struct table *t, size_t row, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->cells[row * t->ncols + col], CELL, fmt, ap);
	va_end(ap);
}

/* A process name for a terminal: printable ASCII only. */
static void cell_name(struct table *t, size_t row, int col, const char *s)
{
	char *d = t->cells[row * t->ncols + col];
	int i;

	for (i = 0; s[i] && i < CELL - 1; i++)
		d[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	d[i] = '\0';
}

static void table_widths(struct table *t)
{
	size_t r;
	int c, w;

	for (c = 0; c < t->ncols; c++) {
		t->width[c] = strlen(t->cols[c].name);
		if (t->width[c] < t->cols[c].min)
			t->width[c] = t->cols[c].min;
		for (r = 0; r < t->nrows; r++) {
			w = strlen(t->cells[r * t->ncols + c]);
			if (w > t->width[c])
				t->width[c] = w;
		}
	}
}

/* Line row (-1: the header) into buf, without a newline. */
static void table_line(const struct table *t, long row, char *buf, size_t size)
{
	size_t len = 0;
	int c;

	buf[0] = '\0';
	for (c = 0; c < t->ncols && len < size; c++) {
		const char *s = row < 0 ? t->cols[c].name :
				t->cells[row * t->ncols + c];
		bool last = c == t->ncols - 1;

		len += snprintf(buf + len, size - len, "%s%*s", c ? "  " : "",
				t->cols[c].left ? -(last ? 0 : t->width[c]) :
				t->width[c], s);
	}
}

/* A vCPU's line: GUEST/VCPU as its id, the thread in LOL_RUN as its pid. */
static void vcpu_cells(struct table *t, size_t row, int id_col, int pid_col,
		       const struct guest *g, const struct vcpu *v)
{
	cell(t, row, id_col, "%" PRIu32 "/%" PRIu32, g->id, v->id);
	if (v->tid)
		cell(t, row, pid_col, "%" PRIu32, v->tid);
	else
		cell(t, row, pid_col, "-");
}

static void table_free(struct table *t)
{
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* 1023, 1.0K, 64.0M, ...: binary units. */
static void human_bytes(char *buf, size_t size, uint64_t n)
{
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, size, "%" PRIu64, n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", v, units[u]);
}

/* -------------------------------------------------------------------------
 * JSON.
 */

/* The length of a valid UTF-8 sequence at s, 0 if there is none. */
static int utf8_len(const unsigned char *s)
{
	int n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	putchar('"');
	while (*s) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s++);
		} else if (*s < 0x80) {
			putchar(*s++);
		} else {
			n = utf8_len(s);
			if (n) {
				fwrite(s, 1, n, stdout);
				s += n;
			} else {
				fputs("\\ufffd", stdout);
				s++;
			}
		}
	}
	putchar('"');
}

static void json_counters(const uint64_t *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(stat_descs); i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", stat_descs[i].json,
		       c[stat_descs[i].id]);
}

static void print_json(struct snap *s)
{
	uint64_t total[LOL_STAT_MAX + 1] = { 0 };
	struct guest **gs = sorted_guests(s);
	size_t i, j;
	int k;

	fputs("{\"guests\":[", stdout);
	for (i = 0; i < s->ng; i++) {
		struct guest *g = gs[i];
		struct vcpu **vs = sorted_vcpus(g);
		bool first = true;

		printf("%s{\"id\":%" PRIu32 ",\"owner_pid\":%" PRIu32
		       ",\"owner_uid\":%" PRIu32 ",\"comm\":",
		       i ? "," : "", g->id, g->pid, g->uid);
		json_string(g->comm);
		printf(",\"nr_vcpus\":%" PRIu32 ",\"nr_as\":%" PRIu32
		       ",\"phys_size\":%" PRIu64 ",\"mapped\":%" PRIu64
		       ",\"mappings\":%" PRIu32 ",\"limits\":{",
		       g->nr_vcpus, g->nr_as, g->phys_size, g->mapped,
		       g->mappings);
		for (k = 1; k <= LOL_LIMIT_MAX; k++) {
			if (!g->has_limit[k])
				continue;
			printf("%s\"%s\":%" PRIu32, first ? "" : ",",
			       limit_names[k], g->limits[k]);
			first = false;
		}
		fputs("},\"vcpus\":[", stdout);
		for (j = 0; j < g->nvcpus; j++) {
			printf("%s{\"id\":%" PRIu32 ",\"tid\":%" PRIu32 ",",
			       j ? "," : "", vs[j]->id, vs[j]->tid);
			json_counters(vs[j]->c);
			putchar('}');
		}
		fputs("]}", stdout);
		for (k = 0; k <= LOL_STAT_MAX; k++)
			total[k] += g->c[k];
		free(vs);
	}
	fputs("],\"total\":{", stdout);
	json_counters(total);
	fputs("}}\n", stdout);
	free(gs);
}

/* -------------------------------------------------------------------------
 * --once as a table.
 */

enum {
	O_ID, O_PID, O_UID, O_COMM, O_VCPUS, O_AS, O_MAPPED,
	O_STATS,		/* stat_descs[] from here */
	O_NCOLS = O_STATS + ARRAY_SIZE(stat_descs),
};

static void once_counters(struct table *t, size_t row, const uint64_t *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(stat_descs); i++) {
		int id = stat_descs[i].id;

		if (stat_is_ns(id))
			cell(t, row, O_STATS + i, "%" PRIu64 ".%03" PRIu64 "s",
			     c[id] / 1000000000, c[id] / 1000000 % 1000);
		else
			cell(t, row, O_STATS + i, "%" PRIu64, c[id]);
	}
}

static void print_once_table(struct snap *s, bool vcpus)
{
	struct col cols[O_NCOLS] = {
		[O_ID] = { "ID", true, 0 },
		[O_PID] = { "PID", false, 0 },
		[O_UID] = { "UID", false, 0 },
		[O_COMM] = { "COMM", true, 0 },
		[O_VCPUS] = { "VCPUS", false, 0 },
		[O_AS] = { "AS", false, 0 },
		[O_MAPPED] = { "MAPPED", false, 0 },
	};
	uint64_t total[LOL_STAT_MAX + 1] = { 0 };
	uint64_t nr_vcpus = 0, nr_as = 0, mapped = 0;
	struct table t = { .cols = cols, .ncols = O_NCOLS };
	struct guest **gs = sorted_guests(s);
	char line[MAX_COLS * (CELL + 2) + 1];
	struct vcpu **vs;
	size_t i, j, row;
	int k;

	for (i = 0; i < ARRAY_SIZE(stat_descs); i++)
		cols[O_STATS + i] = (struct col){ stat_descs[i].col, false, 0 };

	for (i = 0; i < s->ng; i++) {
		struct guest *g = gs[i];

		row = table_row(&t);
		cell(&t, row, O_ID, "%" PRIu32, g->id);
		cell(&t, row, O_PID, "%" PRIu32, g->pid);
		cell(&t, row, O_UID, "%" PRIu32, g->uid);
		cell_name(&t, row, O_COMM, g->comm);
		cell(&t, row, O_VCPUS, "%" PRIu32, g->nr_vcpus);
		cell(&t, row, O_AS, "%" PRIu32, g->nr_as);
		human_bytes(t.cells[row * t.ncols + O_MAPPED], CELL, g->mapped);
		once_counters(&t, row, g->c);
		nr_vcpus += g->nr_vcpus;
		nr_as += g->nr_as;
		mapped += g->mapped;
		for (k = 0; k <= LOL_STAT_MAX; k++)
			total[k] += g->c[k];
		if (!vcpus)
			continue;
		vs = sorted_vcpus(g);
		for (j = 0; j < g->nvcpus; j++) {
			row = table_row(&t);
			vcpu_cells(&t, row, O_ID, O_PID, g, vs[j]);
			once_counters(&t, row, vs[j]->c);
		}
		free(vs);
	}
	row = table_row(&t);
	cell(&t, row, O_ID, "total");
	cell(&t, row, O_VCPUS, "%" PRIu64, nr_vcpus);
	cell(&t, row, O_AS, "%" PRIu64, nr_as);
	human_bytes(t.cells[row * t.ncols + O_MAPPED], CELL, mapped);
	once_counters(&t, row, total);

	table_widths(&t);
	for (i = 0; i <= t.nrows; i++) {
		table_line(&t, (long)i - 1, line, sizeof(line));
		puts(line);
	}
	table_free(&t);
	free(gs);
}

/* -------------------------------------------------------------------------
 * The live view.
 */

/* Only there to make ppoll() return EINTR. */
static void on_signal(int sig)
{
	(void)sig;
}

/*
 * SIGINT, SIGTERM and SIGHUP are blocked but while waiting in ppoll(), so
 * that they end the loops there, between two reads, and lolstat leaves
 * cleanly (libnl would retry a recvmsg() a signal interrupts). A ppoll()
 * that fails with EINTR means one of them came.
 */
static void block_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static struct termios saved_tio;
static bool tio_saved, cursor_hidden;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	if (cursor_hidden) {
		fputs("\033[?25h", stdout);
		fflush(stdout);
	}
}

/*
 * Keys without Enter, for q; Ctrl-C still sends SIGINT. Not in the
 * background (lolstat >log &), where touching the terminal would stop
 * lolstat with SIGTTOU or SIGTTIN.
 */
static void setup_tty(bool redraw)
{
	struct termios tio;

	if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp() &&
	    !tcgetattr(STDIN_FILENO, &saved_tio)) {
		tio = saved_tio;
		tio.c_lflag &= ~(ICANON | ECHO);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		if (!tcsetattr(STDIN_FILENO, TCSANOW, &tio))
			tio_saved = true;
	}
	if (redraw) {
		fputs("\033[?25l", stdout);
		cursor_hidden = true;
	}
	atexit(restore_tty);
}

/* Sleep until deadline (CLOCK_MONOTONIC ns); true when asked to quit. */
static bool wait_until(uint64_t deadline, const sigset_t *orig)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct timespec ts;
	char buf[64];
	ssize_t n, i;
	uint64_t now;
	int r;

	for (;;) {
		now = now_ns();
		if (now >= deadline)
			return false;
		ts.tv_sec = (deadline - now) / 1000000000;
		ts.tv_nsec = (deadline - now) % 1000000000;
		r = ppoll(&pfd, tio_saved ? 1 : 0, &ts, orig);
		if (r < 0) {
			if (errno != EINTR)
				errmsg("waiting: %s", strerror(errno));
			return true;
		}
		if (!r)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0) {
			/* The terminal went away: only signals and time now. */
			pfd.fd = -1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (buf[i] == 'q' || buf[i] == 'Q')
				return true;
	}
}

/* What matters most comes first: a narrow terminal cuts on the right. */
enum {
	L_ID, L_PID, L_COMM, L_VCPUS, L_EXITS, L_GUEST, L_MON, L_SYSCALL,
	L_FAULT, L_TRAP, L_KICK, L_INTR, L_REFL, L_KICKS, L_NCOLS,
};

static const struct col live_cols[L_NCOLS] = {
	[L_ID]		= { "ID", true, 5 },
	[L_PID]		= { "PID", false, 5 },
	[L_COMM]	= { "COMM", true, 0 },
	[L_VCPUS]	= { "VCPUS", false, 0 },
	[L_EXITS]	= { "EXITS/s", false, 0 },
	[L_GUEST]	= { "%GUEST", false, 0 },
	[L_MON]		= { "%MON", false, 5 },
	[L_SYSCALL]	= { "SYSCALL/s", false, 0 },
	[L_FAULT]	= { "FAULT/s", false, 0 },
	[L_TRAP]	= { "TRAP/s", false, 0 },
	[L_KICK]	= { "KICK/s", false, 0 },
	[L_INTR]	= { "INTR/s", false, 0 },
	[L_REFL]	= { "REFL/s", false, 0 },
	[L_KICKS]	= { "KICKS/s", false, 0 },
};

static void live_rates(struct table *t, size_t row, const double *r)
{
	static const int cols[][2] = {
		{ L_SYSCALL, LOL_STAT_EXIT_SYSCALL },
		{ L_FAULT, LOL_STAT_EXIT_FAULT },
		{ L_TRAP, LOL_STAT_EXIT_TRAP },
		{ L_KICK, LOL_STAT_EXIT_KICK },
		{ L_INTR, LOL_STAT_EXIT_INTR },
		{ L_REFL, LOL_STAT_REFLECTIONS },
		{ L_KICKS, LOL_STAT_KICKS },
	};
	size_t i;

	cell(t, row, L_EXITS, "%.0f", exits_of(NULL, r));
	for (i = 0; i < ARRAY_SIZE(cols); i++)
		cell(t, row, cols[i][0], "%.0f", r[cols[i][1]]);
	cell(t, row, L_GUEST, "%.1f", r[LOL_STAT_GUEST_NS]);
	cell(t, row, L_MON, "%.1f", r[LOL_STAT_MONITOR_NS]);
}

struct screen {
	bool redraw;		/* a terminal: in place, cut to its size */
	int rows, cols;
	int lines;		/* printed in this frame */
};

static void screen_line(struct screen *sc, const char *line)
{
	if (!sc->redraw) {
		puts(line);
		return;
	}
	/* The last row stays empty: a newline there would scroll. */
	if (sc->lines >= sc->rows - 1)
		return;
	printf("%.*s\033[K\n", sc->cols, line);
	sc->lines++;
}

static void draw(struct snap *s, const char *sort_name, double interval,
		 bool vcpus, struct screen *sc, bool first)
{
	struct table t = { .cols = live_cols, .ncols = L_NCOLS };
	double total[LOL_STAT_MAX + 1] = { 0 };
	char line[MAX_COLS * (CELL + 2) + 1];
	struct guest **gs = sorted_guests(s);
	size_t i, j, row, nv = 0;
	struct vcpu **vs;
	uint64_t nr_vcpus = 0;
	struct winsize ws;
	struct tm tm;
	time_t now;
	int k;

	for (i = 0; i < s->ng; i++) {
		struct guest *g = gs[i];

		row = table_row(&t);
		cell(&t, row, L_ID, "%" PRIu32, g->id);
		cell(&t, row, L_PID, "%" PRIu32, g->pid);
		cell_name(&t, row, L_COMM, g->comm);
		cell(&t, row, L_VCPUS, "%" PRIu32, g->nr_vcpus);
		live_rates(&t, row, g->r);
		for (k = 0; k <= LOL_STAT_MAX; k++)
			total[k] += g->r[k];
		nr_vcpus += g->nr_vcpus;
		nv += g->nvcpus;
		if (!vcpus)
			continue;
		vs = sorted_vcpus(g);
		for (j = 0; j < g->nvcpus; j++) {
			row = table_row(&t);
			vcpu_cells(&t, row, L_ID, L_PID, g, vs[j]);
			live_rates(&t, row, vs[j]->r);
		}
		free(vs);
	}
	row = table_row(&t);
	cell(&t, row, L_ID, "total");
	cell(&t, row, L_VCPUS, "%" PRIu64, nr_vcpus);
	live_rates(&t, row, total);
	table_widths(&t);

	sc->lines = 0;
	if (sc->redraw) {
		sc->rows = 24;
		sc->cols = 80;
		if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row &&
		    ws.ws_col) {
			sc->rows = ws.ws_row;
			sc->cols = ws.ws_col;
		}
		fputs(first ? "\033[H\033[2J" : "\033[H", stdout);
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	snprintf(line, sizeof(line),
		 "lolstat %02d:%02d:%02d  %zu guest%s, %zu vCPU%s  every %g s, sorted by %s%s",
		 tm.tm_hour, tm.tm_min, tm.tm_sec, s->ng,
		 s->ng == 1 ? "" : "s", nv, nv == 1 ? "" : "s", interval,
		 sort_name, sc->redraw && tio_saved ? "  (q quits)" : "");
	screen_line(sc, line);
	screen_line(sc, "");
	for (i = 0; i <= t.nrows; i++) {
		table_line(&t, (long)i - 1, line, sizeof(line));
		screen_line(sc, line);
	}
	if (sc->redraw)
		fputs("\033[J", stdout);
	else
		putchar('\n');
	fflush(stdout);
	table_free(&t);
	free(gs);
}

static int run_live(struct ctx *c, uint32_t guest_id, double interval,
		    const char *sort_name, bool vcpus)
{
	struct screen sc = { .redraw = isatty(STDOUT_FILENO) };
	uint64_t step = (uint64_t)(interval * 1e9), deadline, now;
	struct snap *prev, *cur;
	bool first = true;
	sigset_t orig;
	int err, rc = EXIT_SUCCESS;

	block_signals(&orig);
	err = fetch(c, guest_id, &prev);
	if (err) {
		report(c, err, guest_id);
		return EXIT_FAILURE;
	}
	setup_tty(sc.redraw);
	/* The first rates after a second at most, not a blank screen. */
	deadline = prev->t_ns + (step < 1000000000 ? step : 1000000000);
	while (!wait_until(deadline, &orig)) {
		err = fetch(c, guest_id, &cur);
		if (err == -ENOENT && guest_id &&
		    !strcmp(c->cmd, "LOL_CMD_GET_GUEST")) {
			restore_tty();
			tio_saved = cursor_hidden = false;
			if (sc.redraw)
				putchar('\n');
			errmsg("guest %" PRIu32 " went away", guest_id);
			break;
		}
		if (err) {
			report(c, err, guest_id);
			rc = EXIT_FAILURE;
			break;
		}
		compute_rates(cur, prev);
		draw(cur, sort_name, interval, vcpus, &sc, first);
		/* Keep the beat; after a stop (^Z) start a new one. */
		deadline = (first ? cur->t_ns : deadline) + step;
		first = false;
		snap_free(prev);
		prev = cur;
		now = now_ns();
		if (deadline < now)
			deadline = now + step;
	}
	snap_free(prev);
	if (ferror(stdout)) {
		errmsg("write error: %s", strerror(errno));
		rc = EXIT_FAILURE;
	}
	return rc;
}

/* -------------------------------------------------------------------------
 * --events.
 */

/* A string for a KEY=VALUE line: quoted, \" \\ and \xNN escaped. */
static void text_quoted(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s >= 0x7f)
			printf("\\x%02x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* What LOL_EVENT_BAD_INPUT reports (EINVAL or EFAULT), and kin. */
static const char *errno_name(uint32_t e)
{
	switch (e) {
	case EINVAL:	return "EINVAL";
	case EFAULT:	return "EFAULT";
	case EPERM:	return "EPERM";
	case EACCES:	return "EACCES";
	case ENOMEM:	return "ENOMEM";
	case ENOSPC:	return "ENOSPC";
	case EBUSY:	return "EBUSY";
	case ENOTTY:	return "ENOTTY";
	default:	return NULL;
	}
}

/* Print the event; false when --guest filters it out. */
static bool print_event(struct nlattr **tb, uint32_t guest_id, bool json)
{
	static const struct {
		int attr;
		const char *key;
	} nums[] = {
		{ LOL_A_GUEST_ID, "guest_id" },
		{ LOL_A_VCPU_ID, "vcpu_id" },
		{ LOL_A_PID, "pid" },
		{ LOL_A_OWNER_PID, "owner_pid" },
		{ LOL_A_OWNER_UID, "owner_uid" },
	};
	char date[64], when[128], zone[16], name[32], val[32];
	const char *sep = json ? "," : " ";
	const char *eq = json ? "\":" : "=";
	const char *q = json ? "\"" : "";
	uint32_t ev, v;
	struct timespec ts;
	struct tm tm;
	size_t i;

	if (guest_id && get_u32(tb, LOL_A_GUEST_ID) != guest_id)
		return false;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(when, sizeof(when), "%s.%06d%s", date,
		 (int)(ts.tv_nsec / 1000), zone);

	ev = get_u32(tb, LOL_A_EVENT);
	if (ev <= LOL_EVENT_MAX && event_names[ev])
		snprintf(name, sizeof(name), "%s", event_names[ev]);
	else
		snprintf(name, sizeof(name), "event_%" PRIu32, ev);

	if (json)
		printf("{\"time\":\"%s\",\"event\":\"%s\"", when, name);
	else
		printf("%s %s", when, name);
	/* Each key with a q before it: "key": in JSON, key= in text. */
	for (i = 0; i < ARRAY_SIZE(nums); i++)
		if (tb[nums[i].attr])
			printf("%s%s%s%s%" PRIu32, sep, q, nums[i].key, eq,
			       nla_get_u32(tb[nums[i].attr]));
	if (tb[LOL_A_OWNER_COMM]) {
		char comm[64];

		nla_strlcpy(comm, tb[LOL_A_OWNER_COMM], sizeof(comm));
		printf("%s%scomm%s", sep, q, eq);
		if (json)
			json_string(comm);
		else
			text_quoted(comm);
	}
	if (tb[LOL_A_LIMIT]) {
		v = nla_get_u32(tb[LOL_A_LIMIT]);
		if (v <= LOL_LIMIT_MAX && limit_names[v])
			snprintf(val, sizeof(val), "%s", limit_names[v]);
		else
			snprintf(val, sizeof(val), "limit_%" PRIu32, v);
		printf("%s%slimit%s%s%s%s", sep, q, eq, q, val, q);
	}
	if (tb[LOL_A_IOCTL]) {
		v = nla_get_u32(tb[LOL_A_IOCTL]);
		if (strcmp(lol_ioctl_name(v), "unknown"))
			snprintf(val, sizeof(val), "%s", lol_ioctl_name(v));
		else
			snprintf(val, sizeof(val), "0x%08" PRIx32, v);
		printf("%s%sioctl%s%s%s%s", sep, q, eq, q, val, q);
	}
	if (tb[LOL_A_ERRNO]) {
		const char *e;

		v = nla_get_u32(tb[LOL_A_ERRNO]);
		e = errno_name(v);
		if (json) {
			printf(",\"errno\":%" PRIu32, v);
			if (e)
				printf(",\"error\":\"%s\"", e);
		} else if (e) {
			printf(" errno=%s", e);
		} else {
			printf(" errno=%" PRIu32, v);
		}
	}
	puts(json ? "}" : "");
	return true;
}

static int run_events(struct ctx *c, uint32_t guest_id, unsigned long count,
		      bool json)
{
	struct pollfd pfd = { .events = POLLIN };
	static char buf[65536];
	unsigned long seen = 0;
	struct sockaddr_nl sa;
	struct nlmsghdr *nlh;
	socklen_t salen;
	sigset_t orig;
	int grp, n, e;

	grp = genl_ctrl_resolve_grp(c->sk, LOL_GENL_NAME,
				    LOL_GENL_MCGRP_EVENTS);
	if (grp == -NLE_OBJ_NOTFOUND) {
		errmsg("the \"%s\" family has no \"%s\" multicast group: is the lol module older than this lolstat?",
		       LOL_GENL_NAME, LOL_GENL_MCGRP_EVENTS);
		return EXIT_FAILURE;
	}
	if (grp < 0) {
		errmsg("cannot look up the \"%s\" multicast group: %s",
		       LOL_GENL_MCGRP_EVENTS, errstr(c, from_nlerr(c, grp)));
		return EXIT_FAILURE;
	}
	pfd.fd = nl_socket_get_fd(c->sk);
	/* By hand, for the errno: libnl would fold EPERM and EACCES. */
	if (setsockopt(pfd.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp,
		       sizeof(grp)) < 0) {
		e = errno;
		errmsg("cannot join the \"%s\" multicast group: %s%s",
		       LOL_GENL_MCGRP_EVENTS, strerror(e),
		       e == EPERM || e == EACCES ?
		       " (it needs CAP_SYS_ADMIN: run lolstat --events as root)" :
		       "");
		return EXIT_FAILURE;
	}
	/* Room for bursts; ENOBUFS still says when events were lost. */
	nl_socket_set_buffer_size(c->sk, 1 << 20, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	block_signals(&orig);

	while (!count || seen < count) {
		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				break;
			errmsg("waiting for events: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		salen = sizeof(sa);
		n = recvfrom(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&sa, &salen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				errmsg("warning: events were lost (the socket's receive buffer overflowed)");
				continue;
			}
			errmsg("reading events: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		if (sa.nl_pid != 0)	/* only the kernel speaks here */
			continue;
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, n);
		     nlh = nlmsg_next(nlh, &n)) {
			struct nlattr *tb[LOL_A_MAX + 1];
			struct genlmsghdr *gh;

			if (nlh->nlmsg_type != c->family ||
			    !genlmsg_valid_hdr(nlh, 0))
				continue;
			gh = nlmsg_data(nlh);
			if (gh->cmd != LOL_CMD_EVENT)
				continue;
			if (genlmsg_parse(nlh, 0, tb, LOL_A_MAX,
					  attr_policy) < 0) {
				errmsg("warning: a malformed event, skipped");
				continue;
			}
			if (print_event(tb, guest_id, json) && count &&
			    ++seen >= count)
				break;
		}
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errmsg("write error: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* -------------------------------------------------------------------------
 * main
 */

static bool parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_JSON, OPT_GUEST, OPT_SORT, OPT_EVENTS };
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "vcpus", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "guest", required_argument, NULL, OPT_GUEST },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "events", no_argument, NULL, OPT_EVENTS },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool once = false, events = false, json = false, vcpus = false;
	bool have_interval = false;
	const char *sort_name = NULL;
	unsigned long count = 0;
	uint32_t guest_id = 0, n;
	double interval = 1;
	struct ctx c = { 0 };
	char *end;
	size_t i;
	int opt, rc;

	if (argc > 0 && argv[0] && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
	}

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":i:vn:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(interval >= 0.1 && interval <= 86400))
				return usage_error("bad interval '%s' (seconds, 0.1 to 86400)",
						   optarg);
			have_interval = true;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case 'v':
			vcpus = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_GUEST:
			if (!parse_u32(optarg, &guest_id) || !guest_id)
				return usage_error("bad guest id '%s' (a number from 1)",
						   optarg);
			break;
		case OPT_SORT:
			sort_name = optarg;
			break;
		case OPT_EVENTS:
			events = true;
			break;
		case 'n':
			if (!parse_u32(optarg, &n) || !n)
				return usage_error("bad count '%s' (a number from 1)",
						   optarg);
			count = n;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:	/* ':' or '?' */
			return lol_getopt_error(progname, opt, argv);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (once && events)
		return usage_error("%s", "--once and --events exclude each other");
	if (events && (vcpus || sort_name || have_interval))
		return usage_error("%s", "--events takes no -v, --sort or --interval");
	if (count && !events)
		return usage_error("%s", "--count goes with --events");
	if (json && !once && !events)
		return usage_error("%s", "--json goes with --once or --events");
	if (once && have_interval)
		return usage_error("%s", "--once takes no --interval");

	if (!sort_name)
		sort_name = once ? "id" : "exits";
	for (i = 0; i < ARRAY_SIZE(sort_keys); i++)
		if (!strcmp(sort_name, sort_keys[i].name))
			break;
	if (i == ARRAY_SIZE(sort_keys))
		return usage_error("unknown sort field '%s' (see --help)",
				   sort_name);
	sort_stat = sort_keys[i].stat;
	sort_by_rate = !once;

	if (nl_init(&c)) {
		rc = EXIT_FAILURE;
	} else if (events) {
		rc = run_events(&c, guest_id, count, json);
	} else if (once) {
		struct snap *s;
		int err = fetch(&c, guest_id, &s);

		if (err) {
			report(&c, err, guest_id);
			rc = EXIT_FAILURE;
		} else {
			if (json)
				print_json(s);
			else
				print_once_table(s, vcpus);
			snap_free(s);
			rc = EXIT_SUCCESS;
			if (fflush(stdout) == EOF || ferror(stdout)) {
				errmsg("write error: %s", strerror(errno));
				rc = EXIT_FAILURE;
			}
		}
	} else {
		rc = run_live(&c, guest_id, interval, sort_name, vcpus);
	}
	if (c.sk)
		nl_socket_free(c.sk);
	return rc;
}
