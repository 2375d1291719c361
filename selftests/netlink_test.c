// SPDX-License-Identifier: GPL-2.0
/*
 * netlink_test: the generic netlink family "lol" (Documentation/netlink.md)
 * over a raw NETLINK_GENERIC socket, so that each malformed message is
 * exactly what the test writes.
 *
 *   counters_match_workload   N guest syscalls are N syscall exits, M
 *                             faults M fault exits, K kicks K kicks
 *   guest_attributes          the guest dump's sizes, owner and limits
 *   get_one_guest             the same for one guest id
 *   events                    create, destroy, a vCPU killed in guest
 *                             mode, a limit hit, bad input
 *   unprivileged_sees_own     uid 65534 sees its guest, not root's, and
 *                             may not join the events group
 *   malformed_refused         wrong lengths, unknown attributes and
 *                             commands, reserved bits, oversized messages
 *   lolstat_agrees            `lolstat --once --json` reports the counters
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/genetlink.h>
#include <linux/lol_netlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define NOBODY		65534
#define NL_BUF		(64 * 1024)
#define CODE_GVA	0x400000ULL
#define NR_SYSCALLS	1000
#define NR_FAULTS	300
#define NR_KICKS	7
#define HOLE_GVA	0x10000000ULL

/* getpid forever: one LOL_EXIT_SYSCALL per LOL_RUN. */
#ifdef __aarch64__
LOL_GUEST_ASM(nl_syscall_loop, "1: mov x8, #172\n\tsvc #0\n\tb 1b\n");
#else
LOL_GUEST_ASM(nl_syscall_loop, "1: mov $39, %eax\n\tsyscall\n\tjmp 1b\n");
#endif
/* A load from an unmapped page: one LOL_EXIT_FAULT per LOL_RUN. */
#ifdef __aarch64__
LOL_GUEST_ASM(nl_fault, "mov x0, #0x10000000\n\tldr x0, [x0]\n\tudf #0\n");
#else
LOL_GUEST_ASM(nl_fault, "mov 0x10000000, %rax\n\tud2\n");
#endif
/* Spinning in guest mode until killed: lib's lol_stub_spin. */

/* ---- a minimal generic netlink client ---------------------------------- */

struct nl {
	int fd;
	__u16 family;
	__u32 events_grp;
	__u32 seq;
};

struct nl_msg {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[NL_BUF];
};

/* Attributes of one reply, indexed by type (nested ones by the caller). */
struct nl_attrs {
	const struct nlattr *a[LOL_A_MAX + 1];
};

static void nl_parse(const void *data, int len, const struct nlattr **tb,
		     int max)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static __u32 nla_u32(const struct nlattr *a)
{
	return a ? *(const __u32 *)((const char *)a + NLA_HDRLEN) : 0;
}

static __u64 nla_u64(const struct nlattr *a)
{
	__u64 v = 0;

	if (a)
		memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return v;
}

static const char *nla_str(const struct nlattr *a)
{
	return a ? (const char *)a + NLA_HDRLEN : "";
}

static void *nl_put(struct nl_msg *m, int type, const void *data, int len)
{
	struct nlattr *a = (void *)((char *)m + NLMSG_ALIGN(m->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void nl_init(struct nl_msg *m, __u16 type, __u8 cmd, __u16 flags)
{
	memset(m, 0, sizeof(m->nh) + sizeof(m->gh));
	m->nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nh.nlmsg_type = type;
	m->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	m->gh.cmd = cmd;
	m->gh.version = 1;
}

/* Sends @m; returns 0 or -errno of sendmsg. */
static int nl_send(struct nl *nl, struct nl_msg *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	m->nh.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, m, m->nh.nlmsg_len, 0, (void *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

typedef void (*nl_cb)(const struct nlmsghdr *nh, const struct nl_attrs *at,
		      void *arg);

/*
 * Reads replies to the last request until NLMSG_DONE or an ACK/error:
 * returns 0 or the -errno the kernel answered with.
 */
static int nl_recv(struct nl *nl, nl_cb cb, void *arg)
{
	static char buf[NL_BUF];

	for (;;) {
		int len = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0)
			return -errno;
		for (nh = (void *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			struct nl_attrs at;

			if (nh->nlmsg_seq != nl->seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			nl_parse((char *)NLMSG_DATA(nh) + GENL_HDRLEN,
				 nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
				 at.a, LOL_A_MAX);
			if (cb)
				cb(nh, &at, arg);
			if (!(nh->nlmsg_flags & NLM_F_MULTI))
				return 0;
		}
	}
}

static int nl_request(struct nl *nl, struct nl_msg *m, nl_cb cb, void *arg)
{
	int ret = nl_send(nl, m);

	return ret ? ret : nl_recv(nl, cb, arg);
}

static void nl_resolve_cb(const struct nlmsghdr *nh, const struct nl_attrs *at,
			  void *arg)
{
	const struct nlattr *ctrl[CTRL_ATTR_MAX + 1], *grp[CTRL_ATTR_MCAST_GRP_MAX + 1];
	const struct nlattr *g;
	struct nl *nl = arg;
	int len;

	nl_parse((char *)NLMSG_DATA(nh) + GENL_HDRLEN,
		 nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), ctrl, CTRL_ATTR_MAX);
	nl->family = ctrl[CTRL_ATTR_FAMILY_ID] ?
		     *(const __u16 *)((const char *)ctrl[CTRL_ATTR_FAMILY_ID] +
				      NLA_HDRLEN) : 0;
	if (!ctrl[CTRL_ATTR_MCAST_GROUPS])
		return;
	g = (const void *)((const char *)ctrl[CTRL_ATTR_MCAST_GROUPS] + NLA_HDRLEN);
	len = ctrl[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;
	while (len >= NLA_HDRLEN && g->nla_len <= len) {
		nl_parse((const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN,
			 grp, CTRL_ATTR_MCAST_GRP_MAX);
		if (!strcmp(nla_str(grp[CTRL_ATTR_MCAST_GRP_NAME]),
			    LOL_GENL_MCGRP_EVENTS))
			nl->events_grp = nla_u32(grp[CTRL_ATTR_MCAST_GRP_ID]);
		len -= NLA_ALIGN(g->nla_len);
		g = (const void *)((const char *)g + NLA_ALIGN(g->nla_len));
	}
}

/* Opens a socket and resolves the family: 0 or -errno. */
static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 10 };
	static struct nl_msg m;
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (void *)&sa, sizeof(sa)) ||
	    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		ret = -errno;
		close(nl->fd);
		return ret;
	}
	nl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, LOL_GENL_NAME, sizeof(LOL_GENL_NAME));
	ret = nl_request(nl, &m, nl_resolve_cb, nl);
	if (!ret && !nl->family)
		ret = -ENOENT;
	if (ret)
		close(nl->fd);
	return ret;
}

static int nl_join_events(struct nl *nl)
{
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
		       &nl->events_grp, sizeof(nl->events_grp)))
		return -errno;
	return 0;
}

/* ---- what the tests read back ------------------------------------------ */

struct guest_info {
	__u32 id, owner_pid, owner_uid, nr_vcpus, nr_as, mappings;
	__u64 phys_size, mapped;
	__u32 limits[LOL_LIMIT_MAX + 1];
	char comm[32];
};

struct guests {
	int nr;
	struct guest_info g[64];
};

static void guests_cb(const struct nlmsghdr *nh, const struct nl_attrs *at,
		      void *arg)
{
	const struct nlattr *lim[LOL_LIMIT_MAX + 1];
	struct guests *gs = arg;
	struct guest_info *g;
	int i;

	if (gs->nr == (int)(sizeof(gs->g) / sizeof(gs->g[0])))
		return;
	g = &gs->g[gs->nr++];
	g->id = nla_u32(at->a[LOL_A_GUEST_ID]);
	g->owner_pid = nla_u32(at->a[LOL_A_OWNER_PID]);
	g->owner_uid = nla_u32(at->a[LOL_A_OWNER_UID]);
	g->nr_vcpus = nla_u32(at->a[LOL_A_NR_VCPUS]);
	g->nr_as = nla_u32(at->a[LOL_A_NR_AS]);
	g->mappings = nla_u32(at->a[LOL_A_MAPPINGS]);
	g->phys_size = nla_u64(at->a[LOL_A_PHYS_SIZE]);
	g->mapped = nla_u64(at->a[LOL_A_MAPPED]);
	snprintf(g->comm, sizeof(g->comm), "%s", nla_str(at->a[LOL_A_OWNER_COMM]));
	if (at->a[LOL_A_LIMITS]) {
		nl_parse((const char *)at->a[LOL_A_LIMITS] + NLA_HDRLEN,
			 at->a[LOL_A_LIMITS]->nla_len - NLA_HDRLEN, lim,
			 LOL_LIMIT_MAX);
		for (i = 0; i <= LOL_LIMIT_MAX; i++)
			g->limits[i] = nla_u32(lim[i]);
	}
}

static int dump_guests(struct nl *nl, struct guests *gs)
{
	static struct nl_msg m;

	memset(gs, 0, sizeof(*gs));
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, NLM_F_DUMP);
	return nl_request(nl, &m, guests_cb, gs);
}

/* The newest guest this process created, 0 if none. */
static __u32 my_guest_id(struct nl *nl)
{
	struct guests gs;
	__u32 id = 0;
	int i;

	if (dump_guests(nl, &gs))
		return 0;
	for (i = 0; i < gs.nr; i++)
		if (gs.g[i].owner_pid == (__u32)getpid() && gs.g[i].id > id)
			id = gs.g[i].id;
	return id;
}

struct vcpu_info {
	__u32 guest, id, tid;
	int seen;
	__u64 st[LOL_STAT_MAX + 1];
};

static void vcpu_cb(const struct nlmsghdr *nh, const struct nl_attrs *at,
		    void *arg)
{
	const struct nlattr *st[LOL_STAT_MAX + 1];
	struct vcpu_info *v = arg;
	int i;

	v->seen++;
	v->guest = nla_u32(at->a[LOL_A_GUEST_ID]);
	v->id = nla_u32(at->a[LOL_A_VCPU_ID]);
	v->tid = nla_u32(at->a[LOL_A_VCPU_TID]);
	if (!at->a[LOL_A_VCPU_STATS])
		return;
	nl_parse((const char *)at->a[LOL_A_VCPU_STATS] + NLA_HDRLEN,
		 at->a[LOL_A_VCPU_STATS]->nla_len - NLA_HDRLEN, st,
		 LOL_STAT_MAX);
	for (i = 0; i <= LOL_STAT_MAX; i++)
		v->st[i] = nla_u64(st[i]);
}

/* The vCPU dump of one guest (it has one vCPU in these tests). */
static int dump_vcpu(struct nl *nl, __u32 guest, struct vcpu_info *v)
{
	static struct nl_msg m;

	memset(v, 0, sizeof(*v));
	nl_init(&m, nl->family, LOL_CMD_GET_VCPU, NLM_F_DUMP);
	nl_put(&m, LOL_A_GUEST_ID, &guest, sizeof(guest));
	return nl_request(nl, &m, vcpu_cb, v);
}

struct event {
	__u32 type, guest, vcpu, pid, limit, err, ioctl, owner_pid;
};

/*
 * The next event of @type (others are skipped) within @ms; 0 or -ETIMEDOUT.
 * Events of other processes' guests may come in between.
 */
static int next_event(struct nl *nl, __u32 type, struct event *e, int ms)
{
	static char buf[NL_BUF];
	double end = lol_now() + ms / 1000.0;

	for (;;) {
		struct pollfd p = { .fd = nl->fd, .events = POLLIN };
		int left = (end - lol_now()) * 1000, len;
		struct nlmsghdr *nh;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		len = recv(nl->fd, buf, sizeof(buf), 0);
		if (len < 0)
			return -errno;
		for (nh = (void *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			struct nl_attrs at;

			nl_parse((char *)NLMSG_DATA(nh) + GENL_HDRLEN,
				 nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
				 at.a, LOL_A_MAX);
			if (nh->nlmsg_type != nl->family ||
			    nla_u32(at.a[LOL_A_EVENT]) != type)
				continue;
			*e = (struct event){
				.type = type,
				.guest = nla_u32(at.a[LOL_A_GUEST_ID]),
				.vcpu = nla_u32(at.a[LOL_A_VCPU_ID]),
				.pid = nla_u32(at.a[LOL_A_PID]),
				.limit = nla_u32(at.a[LOL_A_LIMIT]),
				.err = nla_u32(at.a[LOL_A_ERRNO]),
				.ioctl = nla_u32(at.a[LOL_A_IOCTL]),
				.owner_pid = nla_u32(at.a[LOL_A_OWNER_PID]),
			};
			return 0;
		}
	}
}

/* ---- fixture: a netlink socket and a guest with one vCPU ---------------- */

FIXTURE(nl) {
	struct nl nl;
	struct lol_vm vm;
	struct lol_vcpu vcpu;
	__u32 as;
	__u32 id;
};

FIXTURE_SETUP(nl)
{
	int ret = nl_open(&self->nl);

	ASSERT_EQ(0, ret) {
		TH_LOG("family \"%s\": %s%s", LOL_GENL_NAME,
		       strerror(-ret), ret == -ENOENT ? " (module loaded?)" : "");
	}
	ASSERT_NE(0, self->nl.events_grp);
	ASSERT_SYSCALL(lol_vm_create(&self->vm, 4 * 4096));
	ASSERT_SYSCALL(lol_vm_add_vcpu(&self->vm, 0, &self->vcpu));
	ASSERT_SYSCALL(lol_vm_new_as(&self->vm, &self->as));
	self->id = my_guest_id(&self->nl);
	ASSERT_NE(0, self->id);
}

FIXTURE_TEARDOWN(nl)
{
	lol_vcpu_destroy(&self->vcpu);
	lol_vm_destroy(&self->vm);
	close(self->nl.fd);
}

static void load_stub(struct __test_metadata *_metadata, struct lol_vm *vm,
		      struct lol_vcpu *vcpu, __u32 as, const unsigned char *s,
		      size_t len)
{
	ASSERT_SYSCALL(lol_vm_load(vm, 0, s, len));
	ASSERT_SYSCALL(lol_vm_map(vm, as, CODE_GVA, 0, 4096,
				  LOL_PROT_READ | LOL_PROT_EXEC));
	lol_vcpu_set_entry(vcpu, as, CODE_GVA, 0);
}

TEST_F(nl, counters_match_workload)
{
	struct lol_run *run = self->vcpu.run;
	struct vcpu_info v;
	int i;

	load_stub(_metadata, &self->vm, &self->vcpu, self->as,
		  nl_syscall_loop_start, LOL_GUEST_SIZE(nl_syscall_loop));
	for (i = 0; i < NR_SYSCALLS; i++) {
		ASSERT_SYSCALL(lol_run(self->vcpu.fd));
		ASSERT_EQ(LOL_EXIT_SYSCALL, run->exit_reason);
	}
	ASSERT_EQ(0, dump_vcpu(&self->nl, self->id, &v));
	ASSERT_EQ(1, v.seen);
	EXPECT_EQ(self->id, v.guest);
	EXPECT_EQ(0, v.id);
	EXPECT_EQ(0, v.tid);
	EXPECT_EQ(NR_SYSCALLS, v.st[LOL_STAT_RUNS]);
	EXPECT_EQ(NR_SYSCALLS, v.st[LOL_STAT_EXIT_SYSCALL]);
	EXPECT_EQ(0, v.st[LOL_STAT_EXIT_FAULT]);

	/* A second stub in the same page: faults. */
	ASSERT_SYSCALL(LOL_VM_LOAD_ASM(&self->vm, 0, nl_fault));
	for (i = 0; i < NR_FAULTS; i++) {
		lol_vcpu_set_entry(&self->vcpu, self->as, CODE_GVA, 0);
		ASSERT_SYSCALL(lol_run(self->vcpu.fd));
		ASSERT_EQ(LOL_EXIT_FAULT, run->exit_reason);
		ASSERT_EQ(HOLE_GVA, run->fault.addr);
	}
	for (i = 0; i < NR_KICKS; i++)
		ASSERT_SYSCALL(ioctl(self->vcpu.fd, LOL_KICK, 0));

	ASSERT_EQ(0, dump_vcpu(&self->nl, self->id, &v));
	EXPECT_EQ(NR_SYSCALLS + NR_FAULTS, v.st[LOL_STAT_RUNS]);
	EXPECT_EQ(NR_SYSCALLS, v.st[LOL_STAT_EXIT_SYSCALL]);
	EXPECT_EQ(NR_FAULTS, v.st[LOL_STAT_EXIT_FAULT]);
	EXPECT_EQ(0, v.st[LOL_STAT_EXIT_TRAP]);
	EXPECT_EQ(0, v.st[LOL_STAT_EXIT_INTR]);
	EXPECT_EQ(0, v.st[LOL_STAT_EXIT_KICK]);
	EXPECT_EQ(0, v.st[LOL_STAT_REFLECTIONS]);
	EXPECT_EQ(NR_KICKS, v.st[LOL_STAT_KICKS]);
	EXPECT_EQ(run->nr_exits, v.st[LOL_STAT_EXIT_SYSCALL] +
				 v.st[LOL_STAT_EXIT_FAULT]);
	EXPECT_LT(0, v.st[LOL_STAT_GUEST_NS]);
	EXPECT_LT(0, v.st[LOL_STAT_MONITOR_NS]);

	/* The pending kick ends the next LOL_RUN before the guest runs. */
	ASSERT_SYSCALL(lol_run(self->vcpu.fd));
	EXPECT_EQ(LOL_EXIT_KICK, run->exit_reason);
}

TEST_F(nl, guest_attributes)
{
	char buf[64];
	struct guests gs;
	struct guest_info *g = NULL;
	int i;

	load_stub(_metadata, &self->vm, &self->vcpu, self->as,
		  lol_stub_spin_start, LOL_GUEST_SIZE(lol_stub_spin));
	ASSERT_SYSCALL(lol_vm_map(&self->vm, self->as, 0x800000, 4096,
				  2 * 4096, LOL_PROT_READ));
	ASSERT_EQ(0, dump_guests(&self->nl, &gs));
	for (i = 0; i < gs.nr; i++)
		if (gs.g[i].id == self->id)
			g = &gs.g[i];
	ASSERT_NE(NULL, g);
	EXPECT_EQ(getpid(), g->owner_pid);
	EXPECT_EQ(getuid(), g->owner_uid);
	EXPECT_STREQ("netlink_test", g->comm);
	EXPECT_EQ(1, g->nr_vcpus);
	EXPECT_EQ(1, g->nr_as);
	EXPECT_EQ(4 * 4096, g->phys_size);
	EXPECT_EQ(3 * 4096, g->mapped);
	EXPECT_EQ(3, g->mappings);	/* pages */
	ASSERT_LE(0, lol_read_text("/sys/module/lol/parameters/max_as", buf,
				   sizeof(buf)));
	EXPECT_EQ(atoi(buf), g->limits[LOL_LIMIT_MAX_AS]);
	ASSERT_LE(0, lol_read_text("/sys/module/lol/parameters/max_vcpus", buf,
				   sizeof(buf)));
	EXPECT_EQ(atoi(buf), g->limits[LOL_LIMIT_MAX_VCPUS]);
	EXPECT_NE(0, g->limits[LOL_LIMIT_MAX_GUESTS]);
	EXPECT_NE(0, g->limits[LOL_LIMIT_MAX_MAPPINGS]);
}

/* One guest by id (the doit form); an unknown one is -ENOENT. */
TEST_F(nl, get_one_guest)
{
	static struct nl_msg m;
	struct guests one = { 0 };
	__u32 bad = 0x7fffffff;

	load_stub(_metadata, &self->vm, &self->vcpu, self->as,
		  lol_stub_spin_start, LOL_GUEST_SIZE(lol_stub_spin));
	nl_init(&m, self->nl.family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &self->id, sizeof(self->id));
	ASSERT_EQ(0, nl_request(&self->nl, &m, guests_cb, &one));
	ASSERT_EQ(1, one.nr);
	EXPECT_EQ(self->id, one.g[0].id);
	EXPECT_EQ(4096, one.g[0].mapped);
	nl_init(&m, self->nl.family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &bad, sizeof(bad));
	EXPECT_EQ(-ENOENT, nl_request(&self->nl, &m, NULL, NULL));
}

TEST_F(nl, events)
{
	struct nl ev;
	struct event e;
	struct lol_vm vm;
	__u32 id;
	pid_t child;
	int status, sys;

	ASSERT_EQ(0, nl_open(&ev));
	ASSERT_EQ(0, nl_join_events(&ev));

	/* Create and destroy. */
	ASSERT_SYSCALL(lol_vm_create(&vm, 4096));
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_GUEST_CREATE, &e, 5000));
	EXPECT_EQ(getpid(), e.owner_pid);
	id = e.guest;
	EXPECT_LT(self->id, id);
	lol_vm_destroy(&vm);
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_GUEST_DESTROY, &e, 5000));
	EXPECT_EQ(id, e.guest);

	/* A thread killed in guest mode. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct lol_vcpu vcpu;
		__u32 as;

		if (lol_vm_create(&vm, 4096) || lol_vm_add_vcpu(&vm, 0, &vcpu) ||
		    lol_vm_new_as(&vm, &as) ||
		    LOL_VM_LOAD_ASM(&vm, 0, lol_stub_spin) ||
		    lol_vm_map(&vm, as, CODE_GVA, 0, 4096,
			       LOL_PROT_READ | LOL_PROT_EXEC))
			_exit(2);
		lol_vcpu_set_entry(&vcpu, as, CODE_GVA, 0);
		for (;;)
			lol_run(vcpu.fd);
	}
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_GUEST_CREATE, &e, 10000));
	EXPECT_EQ(child, e.owner_pid);
	id = e.guest;
	/* Until the child's thread is in guest mode. */
	for (;;) {
		struct vcpu_info v;

		ASSERT_EQ(0, dump_vcpu(&self->nl, id, &v));
		if (v.seen && v.tid == (__u32)child)
			break;
		ASSERT_EQ(0, waitpid(child, &status, WNOHANG));
		usleep(10000);
	}
	kill(child, SIGKILL);
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_VCPU_KILLED, &e, 10000));
	EXPECT_EQ(id, e.guest);
	EXPECT_EQ(0, e.vcpu);
	EXPECT_EQ(child, e.pid);
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_GUEST_DESTROY, &e, 10000));
	EXPECT_EQ(id, e.guest);
	ASSERT_EQ(child, waitpid(child, &status, 0));

	/* Bad input, and a limit (a vCPU id at max_vcpus). */
	sys = self->vm.sys;
	EXPECT_ERRNO(EINVAL, ioctl(sys, LOL_CREATE_GUEST, 1));
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_BAD_INPUT, &e, 5000));
	EXPECT_EQ(LOL_CREATE_GUEST, e.ioctl);
	EXPECT_EQ(EINVAL, e.err);
	EXPECT_EQ(getpid(), e.pid);
	EXPECT_ERRNO(EINVAL, ioctl(self->vm.guest, LOL_CREATE_VCPU,
				   lol_cap(sys, LOL_CAP_MAX_VCPUS)));
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_LIMIT, &e, 5000));
	EXPECT_EQ(LOL_LIMIT_MAX_VCPUS, e.limit);
	EXPECT_EQ(self->id, e.guest);
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_BAD_INPUT, &e, 5000));
	EXPECT_EQ(LOL_CREATE_VCPU, e.ioctl);
	EXPECT_EQ(self->id, e.guest);
	/* The AS limit, lowered to the one AS the guest has. */
	do {
		char old[32];
		struct lol_create_as ca = { 0 };

		ASSERT_LE(0, lol_read_text("/sys/module/lol/parameters/max_as",
					   old, sizeof(old)));
		ASSERT_EQ(0, lol_param_write("max_as", 1));
		EXPECT_ERRNO(ENOSPC, ioctl(self->vm.guest, LOL_CREATE_AS, &ca));
		ASSERT_EQ(0, lol_param_write("max_as", atol(old)));
		ASSERT_EQ(0, next_event(&ev, LOL_EVENT_LIMIT, &e, 5000));
		EXPECT_EQ(LOL_LIMIT_MAX_AS, e.limit);
		EXPECT_EQ(self->id, e.guest);
	} while (0);
	/* A bad run page: LOL_RUN's own -EINVAL. */
	self->vcpu.run->flags = 0x80000000;
	EXPECT_ERRNO(EINVAL, lol_run(self->vcpu.fd));
	self->vcpu.run->flags = 0;
	ASSERT_EQ(0, next_event(&ev, LOL_EVENT_BAD_INPUT, &e, 5000));
	EXPECT_EQ(LOL_RUN, e.ioctl);
	EXPECT_EQ(0, e.vcpu);
	close(ev.fd);
}

/* Exit status: 0 ok, 10 + step that went wrong. */
static int unprivileged_child(int sys, __u32 root_guest)
{
	struct nl nl;
	struct guests gs;
	struct vcpu_info v;
	static struct nl_msg m;
	int guest, i, mine = 0;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return 10;
	guest = ioctl(sys, LOL_CREATE_GUEST, 0);
	if (guest < 0)
		return 11;
	if (nl_open(&nl))
		return 12;
	if (dump_guests(&nl, &gs))
		return 13;
	for (i = 0; i < gs.nr; i++) {
		if (gs.g[i].owner_uid != NOBODY)
			return 14;	/* someone else's guest */
		if (gs.g[i].owner_pid == (__u32)getpid())
			mine++;
	}
	if (mine != 1)
		return 15;
	nl_init(&m, nl.family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &root_guest, sizeof(root_guest));
	if (nl_request(&nl, &m, NULL, NULL) != -ENOENT)
		return 16;
	if (dump_vcpu(&nl, root_guest, &v) || v.seen)
		return 17;
	if (nl_join_events(&nl) != -EPERM)
		return 18;
	close(guest);
	return 0;
}

TEST_F(nl, unprivileged_sees_own)
{
	struct vcpu_info v;
	int status;
	pid_t child;

	/* Root sees its own vCPU. */
	ASSERT_EQ(0, dump_vcpu(&self->nl, self->id, &v));
	ASSERT_EQ(1, v.seen);

	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(unprivileged_child(self->vm.sys, self->id));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("unprivileged child failed at step %d (see its source)",
		       WEXITSTATUS(status));
	}
}

TEST_F(nl, malformed_refused)
{
	static struct nl_msg m;
	struct nl *nl = &self->nl;
	struct vcpu_info v;
	char big[NL_BUF - 256];
	__u32 id = self->id, zero = 0;
	__u8 byte = 1;
	__u64 wide = self->id;
	int sz = 4096;

	/* A u32 attribute of 1 and 8 bytes. */
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &byte, sizeof(byte));
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &wide, sizeof(wide));
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	/* Guest id 0 is below the policy's minimum: out of range. */
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, 0);
	nl_put(&m, LOL_A_GUEST_ID, &zero, sizeof(zero));
	EXPECT_EQ(-ERANGE, nl_request(nl, &m, NULL, NULL));
	/* No id at all for the doit form. */
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, 0);
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	/* An unknown attribute, and an output-only one, in a request. */
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, NLM_F_DUMP);
	nl_put(&m, LOL_A_MAX + 7, &id, sizeof(id));
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	nl_init(&m, nl->family, LOL_CMD_GET_VCPU, NLM_F_DUMP);
	nl_put(&m, LOL_A_VCPU_STATS, NULL, 0);
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	/* The reserved header field, and an unknown nlmsg flag. */
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, NLM_F_DUMP);
	m.gh.reserved = 1;
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	nl_init(&m, nl->family, LOL_CMD_GET_GUEST, NLM_F_APPEND);
	nl_put(&m, LOL_A_GUEST_ID, &id, sizeof(id));
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	/* Unknown commands, the event command, a dump-only one as doit. */
	nl_init(&m, nl->family, 200, 0);
	EXPECT_EQ(-EOPNOTSUPP, nl_request(nl, &m, NULL, NULL));
	nl_init(&m, nl->family, LOL_CMD_EVENT, 0);
	EXPECT_EQ(-EOPNOTSUPP, nl_request(nl, &m, NULL, NULL));
	nl_init(&m, nl->family, LOL_CMD_GET_VCPU, 0);
	nl_put(&m, LOL_A_GUEST_ID, &id, sizeof(id));
	EXPECT_EQ(-EOPNOTSUPP, nl_request(nl, &m, NULL, NULL));
	/* An oversized attribute: a 63 KiB "u32". */
	memset(big, 0xa5, sizeof(big));
	nl_init(&m, nl->family, LOL_CMD_GET_VCPU, NLM_F_DUMP);
	nl_put(&m, LOL_A_GUEST_ID, big, sizeof(big));
	EXPECT_EQ(-EINVAL, nl_request(nl, &m, NULL, NULL));
	/* A message larger than the socket's send buffer never leaves. */
	ASSERT_SYSCALL(setsockopt(nl->fd, SOL_SOCKET, SO_SNDBUF, &sz,
				  sizeof(sz)));
	nl_init(&m, nl->family, LOL_CMD_GET_VCPU, NLM_F_DUMP);
	nl_put(&m, LOL_A_MAX + 1, big, sizeof(big));
	EXPECT_EQ(-EMSGSIZE, nl_send(nl, &m));

	/* After all that, the socket and the family still answer. */
	ASSERT_EQ(0, dump_vcpu(nl, self->id, &v));
	EXPECT_EQ(1, v.seen);
}

TEST_F(nl, lolstat_agrees)
{
	struct lol_run *run = self->vcpu.run;
	char cmd[128], out[NL_BUF], want[64];
	struct vcpu_info v;
	size_t len = 0;
	FILE *p;
	int i, rc;

#ifdef __aarch64__
	/* userspace/Makefile builds no arm64 lolstat (no arm64 libnl). */
	if (system("command -v lolstat >/dev/null 2>&1"))
		SKIP(return, "no lolstat on this arch");
#endif
	load_stub(_metadata, &self->vm, &self->vcpu, self->as,
		  nl_syscall_loop_start, LOL_GUEST_SIZE(nl_syscall_loop));
	for (i = 0; i < 321; i++) {
		ASSERT_SYSCALL(lol_run(self->vcpu.fd));
		ASSERT_EQ(LOL_EXIT_SYSCALL, run->exit_reason);
	}
	ASSERT_EQ(0, dump_vcpu(&self->nl, self->id, &v));
	ASSERT_EQ(321, v.st[LOL_STAT_EXIT_SYSCALL]);

	snprintf(cmd, sizeof(cmd), "lolstat --once --json --guest %u", self->id);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while (len < sizeof(out) - 1 && !feof(p))
		len += fread(out + len, 1, sizeof(out) - 1 - len, p);
	out[len] = '\0';
	rc = pclose(p);
	ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) {
		TH_LOG("%s: status %#x, output:\n%s", cmd, rc, out);
	}
	EXPECT_EQ('{', out[strspn(out, " \n")]) {
		TH_LOG("not a JSON object:\n%s", out);
	}
	/* Compare without white space: "key": 1 and "key":1 alike. */
	for (i = 0, len = 0; out[i]; i++)
		if (!strchr(" \t\n", out[i]))
			out[len++] = out[i];
	out[len] = '\0';
	snprintf(want, sizeof(want), "\"id\":%u,", self->id);
	EXPECT_NE(NULL, strstr(out, want)) {
		TH_LOG("no %s in %s", want, out);
	}
	snprintf(want, sizeof(want), "\"exit_syscall\":321,");
	EXPECT_NE(NULL, strstr(out, want)) {
		TH_LOG("no %s in %s", want, out);
	}
	snprintf(want, sizeof(want), "\"runs\":321,");
	EXPECT_NE(NULL, strstr(out, want)) {
		TH_LOG("no %s in %s", want, out);
	}
}

TEST_HARNESS_MAIN
