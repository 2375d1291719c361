// SPDX-License-Identifier: GPL-2.0
/*
 * lol: the generic netlink family "lol", what the host's admin sees
 * (lolstat, Documentation/netlink.md): the guests, their vCPUs' counters,
 * and an event group.
 *
 * Nothing here runs on the run path: the counters are plain per-vCPU
 * fields the running thread bumps (lol_vcpu_stats), read here with
 * READ_ONCE; events are built only when someone listens.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "lol.h"

static struct genl_family lol_genl_family;

enum lol_nl_mcgrp {
	LOL_NL_MCGRP_EVENTS,
};

/* Events name every guest on the host: CAP_SYS_ADMIN only. */
static const struct genl_multicast_group lol_nl_mcgrps[] = {
	[LOL_NL_MCGRP_EVENTS] = {
		.name	= LOL_GENL_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_SYS_ADMIN,
	},
};

/* Requests carry at most a guest id; everything else is refused. */
static const struct nla_policy lol_nl_policy[LOL_A_MAX + 1] = {
	[LOL_A_GUEST_ID]	= NLA_POLICY_MIN(NLA_U32, 1),
};

/* What a dump remembers between its calls (netlink_callback.args). */
enum {
	LOL_NL_ARG_GUEST,	/* next guest id */
	LOL_NL_ARG_VCPU,	/* next vCPU id in it */
	LOL_NL_ARG_ALL,		/* the reader may see every guest */
	LOL_NL_ARG_UID,		/* else only those of this uid */
};

/*
 * Who may see @guest: CAP_SYS_ADMIN sees all, others their own uid's.
 * Decided once per request from the socket's opener and the caller.
 */
static bool lol_nl_all(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

static bool lol_nl_visible(struct lol_guest *guest, bool all, kuid_t uid)
{
	return all || uid_eq(guest->uid, uid);
}

static int lol_nl_put_limits(struct sk_buff *skb)
{
	struct nlattr *nest = nla_nest_start(skb, LOL_A_LIMITS);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, LOL_LIMIT_MAX_VCPUS, lol_max_vcpus) ||
	    nla_put_u32(skb, LOL_LIMIT_MAX_GUESTS,
			READ_ONCE(lol_max_guests_per_user)) ||
	    nla_put_u32(skb, LOL_LIMIT_MAX_AS, READ_ONCE(lol_max_as)) ||
	    nla_put_u32(skb, LOL_LIMIT_MAX_MAPPINGS,
			READ_ONCE(lol_max_mappings))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Owner attributes, pid and uid as the reader's namespaces see them. */
static int lol_nl_put_owner(struct sk_buff *skb, struct lol_guest *guest,
			    struct pid_namespace *pidns,
			    struct user_namespace *userns)
{
	if (nla_put_u32(skb, LOL_A_GUEST_ID, guest->id) ||
	    nla_put_u32(skb, LOL_A_OWNER_PID,
			task_tgid_nr_ns(guest->owner, pidns)) ||
	    nla_put_u32(skb, LOL_A_OWNER_UID,
			from_kuid_munged(userns, guest->uid)) ||
	    nla_put_string(skb, LOL_A_OWNER_COMM, guest->comm))
		return -EMSGSIZE;
	return 0;
}

static int lol_nl_fill_guest(struct sk_buff *skb, struct lol_guest *guest,
			     u32 portid, u32 seq, int flags)
{
	u64 mapped = 0, mappings = 0;
	unsigned int nr_vcpus, nr_as;
	struct lol_as *as;
	unsigned long id;
	u64 phys_size;
	void *hdr;

	mutex_lock(&guest->lock);
	nr_vcpus = guest->nr_vcpus;
	nr_as = guest->nr_as;
	phys_size = guest->phys ? guest->phys_size : 0;
	mutex_unlock(&guest->lock);
	/* lol_as_destroy() erases under this lock before it puts the AS. */
	xa_lock(&guest->as_xa);
	xa_for_each(&guest->as_xa, id, as) {
		mapped += (u64)lol_pt_pages(as->pt) << PAGE_SHIFT;
		mappings += lol_pt_pages(as->pt);
	}
	xa_unlock(&guest->as_xa);

	hdr = genlmsg_put(skb, portid, seq, &lol_genl_family, flags,
			  LOL_CMD_GET_GUEST);
	if (!hdr)
		return -EMSGSIZE;
	if (lol_nl_put_owner(skb, guest, task_active_pid_ns(current),
			     current_user_ns()) ||
	    nla_put_u32(skb, LOL_A_NR_VCPUS, nr_vcpus) ||
	    nla_put_u32(skb, LOL_A_NR_AS, nr_as) ||
	    nla_put_u64_64bit(skb, LOL_A_PHYS_SIZE, phys_size, LOL_A_PAD) ||
	    nla_put_u64_64bit(skb, LOL_A_MAPPED, mapped, LOL_A_PAD) ||
	    nla_put_u32(skb, LOL_A_MAPPINGS, min_t(u64, mappings, U32_MAX)) ||
	    lol_nl_put_limits(skb)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * Entries and the monitor's time are not counted on the run path but
 * derived: every entry ends in exactly one exit, and the vCPU is in the
 * monitor whenever it is not in guest mode. Exact when the vCPU is idle;
 * while it runs, a dump may see an entry without its exit yet.
 */
static int lol_nl_put_stats(struct sk_buff *skb, struct lol_vcpu *vcpu)
{
	const struct lol_vcpu_stats *st = &vcpu->stats;
	u64 exits = 0, runs, now, guest, life, monitor;
	bool running;
	struct nlattr *nest;
	int i;

	running = READ_ONCE(vcpu->task);
	now = lol_arch_clock();
	guest = READ_ONCE(st->guest_ticks);
	if (running)
		guest += now - READ_ONCE(st->enter_ticks);
	life = now - st->created_ticks;
	monitor = life > guest ? life - guest : 0;
	for (i = LOL_EXIT_SYSCALL; i <= LOL_EXIT_INTR; i++)
		exits += READ_ONCE(st->exits[i]);
	runs = exits + running;

	nest = nla_nest_start(skb, LOL_A_VCPU_STATS);
	if (!nest)
		return -EMSGSIZE;
	BUILD_BUG_ON(LOL_STAT_EXIT_INTR - LOL_STAT_EXIT_SYSCALL !=
		     LOL_EXIT_INTR - LOL_EXIT_SYSCALL);
	if (nla_put_u64_64bit(skb, LOL_STAT_RUNS, runs, LOL_STAT_PAD))
		goto cancel;
	for (i = LOL_EXIT_SYSCALL; i <= LOL_EXIT_INTR; i++)
		if (nla_put_u64_64bit(skb, LOL_STAT_EXIT_SYSCALL + i -
				      LOL_EXIT_SYSCALL,
				      READ_ONCE(st->exits[i]), LOL_STAT_PAD))
			goto cancel;
	if (nla_put_u64_64bit(skb, LOL_STAT_REFLECTIONS,
			      READ_ONCE(st->reflections), LOL_STAT_PAD) ||
	    nla_put_u64_64bit(skb, LOL_STAT_KICKS,
			      atomic64_read(&st->kicks), LOL_STAT_PAD) ||
	    nla_put_u64_64bit(skb, LOL_STAT_GUEST_NS,
			      lol_arch_clock_ns(guest), LOL_STAT_PAD) ||
	    nla_put_u64_64bit(skb, LOL_STAT_MONITOR_NS,
			      lol_arch_clock_ns(monitor), LOL_STAT_PAD))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* Under guest->lock, which keeps @vcpu in guest->vcpus[]. */
static int lol_nl_fill_vcpu(struct sk_buff *skb, struct lol_vcpu *vcpu,
			    u32 portid, u32 seq)
{
	struct task_struct *tsk;
	pid_t tid = 0;
	void *hdr;

	rcu_read_lock();
	tsk = READ_ONCE(vcpu->task);
	if (tsk)
		tid = task_pid_nr_ns(tsk, task_active_pid_ns(current));
	rcu_read_unlock();

	hdr = genlmsg_put(skb, portid, seq, &lol_genl_family, NLM_F_MULTI,
			  LOL_CMD_GET_VCPU);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, LOL_A_GUEST_ID, vcpu->guest->id) ||
	    nla_put_u32(skb, LOL_A_VCPU_ID, vcpu->id) ||
	    nla_put_u32(skb, LOL_A_VCPU_TID, tid) ||
	    lol_nl_put_stats(skb, vcpu)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int lol_nl_dump_start(struct netlink_callback *cb)
{
	cb->args[LOL_NL_ARG_GUEST] = 1;
	cb->args[LOL_NL_ARG_VCPU] = 0;
	cb->args[LOL_NL_ARG_ALL] = lol_nl_all(cb->skb);
	cb->args[LOL_NL_ARG_UID] = __kuid_val(current_uid());
	return 0;
}

static bool lol_nl_cb_visible(struct netlink_callback *cb,
			      struct lol_guest *guest)
{
	return lol_nl_visible(guest, cb->args[LOL_NL_ARG_ALL],
			      KUIDT_INIT(cb->args[LOL_NL_ARG_UID]));
}

static int lol_nl_dump_guests(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long id = cb->args[LOL_NL_ARG_GUEST];
	struct lol_guest *guest;
	int ret = 0;

	while (id <= U32_MAX && (guest = lol_guest_next(&id))) {
		if (lol_nl_cb_visible(cb, guest))
			ret = lol_nl_fill_guest(skb, guest,
						NETLINK_CB(cb->skb).portid,
						cb->nlh->nlmsg_seq,
						NLM_F_MULTI);
		lol_guest_put(guest);
		if (ret)
			break;
		id++;
	}
	cb->args[LOL_NL_ARG_GUEST] = id;
	/* A guest that does not fit an empty skb would end the dump. */
	return ret && !skb->len ? ret : skb->len;
}

static int lol_nl_get_guest(struct sk_buff *skb, struct genl_info *info)
{
	unsigned long id;
	struct lol_guest *guest;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, LOL_A_GUEST_ID))
		return -EINVAL;
	id = nla_get_u32(info->attrs[LOL_A_GUEST_ID]);
	guest = lol_guest_next(&id);
	if (guest && (id != nla_get_u32(info->attrs[LOL_A_GUEST_ID]) ||
		      !lol_nl_visible(guest, lol_nl_all(skb), current_uid()))) {
		lol_guest_put(guest);
		guest = NULL;
	}
	if (!guest) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[LOL_A_GUEST_ID],
				    "no such guest");
		return -ENOENT;
	}

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	ret = -ENOMEM;
	if (!msg)
		goto out_put;
	ret = lol_nl_fill_guest(msg, guest, info->snd_portid, info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		goto out_put;
	}
	ret = genlmsg_reply(msg, info);
out_put:
	lol_guest_put(guest);
	return ret;
}

static int lol_nl_dump_vcpus(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *dinfo = genl_dumpit_info(cb);
	unsigned long id = cb->args[LOL_NL_ARG_GUEST];
	unsigned long only = 0;
	struct lol_guest *guest;
	int ret = 0;
	u32 v;

	if (dinfo->attrs[LOL_A_GUEST_ID])
		only = nla_get_u32(dinfo->attrs[LOL_A_GUEST_ID]);
	if (only && id < only)
		id = only;

	while (id <= U32_MAX && (!only || id == only) &&
	       (guest = lol_guest_next(&id))) {
		if ((!only || id == only) && lol_nl_cb_visible(cb, guest)) {
			mutex_lock(&guest->lock);
			for (v = cb->args[LOL_NL_ARG_VCPU]; v < lol_max_vcpus;
			     v++) {
				if (!guest->vcpus[v])
					continue;
				ret = lol_nl_fill_vcpu(skb, guest->vcpus[v],
						       NETLINK_CB(cb->skb).portid,
						       cb->nlh->nlmsg_seq);
				if (ret)
					break;
			}
			mutex_unlock(&guest->lock);
		}
		lol_guest_put(guest);
		if (ret) {
			cb->args[LOL_NL_ARG_VCPU] = v;
			break;
		}
		cb->args[LOL_NL_ARG_VCPU] = 0;
		id++;
	}
	cb->args[LOL_NL_ARG_GUEST] = id;
	return ret && !skb->len ? ret : skb->len;
}

static const struct genl_ops lol_nl_ops[] = {
	{
		.cmd	= LOL_CMD_GET_GUEST,
		.start	= lol_nl_dump_start,
		.doit	= lol_nl_get_guest,
		.dumpit	= lol_nl_dump_guests,
	},
	{
		.cmd	= LOL_CMD_GET_VCPU,
		.start	= lol_nl_dump_start,
		.dumpit	= lol_nl_dump_vcpus,
	},
};

static struct genl_family lol_genl_family __ro_after_init = {
	.name		= LOL_GENL_NAME,
	.version	= LOL_GENL_VERSION,
	.maxattr	= LOL_A_MAX,
	.policy		= lol_nl_policy,
	/* Strict: every command checks the header and its attributes. */
	.resv_start_op	= LOL_CMD_GET_GUEST,
	/* Guests are host-wide, not per network namespace. */
	.netnsok	= false,
	/* Dumps take their own references; no need for genl_mutex. */
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= lol_nl_ops,
	.n_ops		= ARRAY_SIZE(lol_nl_ops),
	.mcgrps		= lol_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(lol_nl_mcgrps),
};

/* ---- events ------------------------------------------------------------ */

static struct sk_buff *lol_nl_event_new(u32 event, void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&lol_genl_family, &init_net,
				LOL_NL_MCGRP_EVENTS))
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &lol_genl_family, 0, LOL_CMD_EVENT);
	if (!*hdr || nla_put_u32(skb, LOL_A_EVENT, event)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

/* Listeners are CAP_SYS_ADMIN in the initial namespaces: init's view. */
static void lol_nl_event_send(struct sk_buff *skb, void *hdr, int err)
{
	if (err) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&lol_genl_family, skb, 0, LOL_NL_MCGRP_EVENTS,
			  GFP_KERNEL);
}

void lol_nl_guest_event(struct lol_guest *guest, u32 event)
{
	struct sk_buff *skb;
	void *hdr;

	skb = lol_nl_event_new(event, &hdr);
	if (skb)
		lol_nl_event_send(skb, hdr,
				  lol_nl_put_owner(skb, guest, &init_pid_ns,
						   &init_user_ns));
}

void lol_nl_vcpu_killed(struct lol_vcpu *vcpu)
{
	struct sk_buff *skb;
	void *hdr;

	skb = lol_nl_event_new(LOL_EVENT_VCPU_KILLED, &hdr);
	if (skb)
		lol_nl_event_send(skb, hdr,
				  nla_put_u32(skb, LOL_A_GUEST_ID,
					      vcpu->guest->id) ||
				  nla_put_u32(skb, LOL_A_VCPU_ID, vcpu->id) ||
				  nla_put_u32(skb, LOL_A_PID,
					      task_pid_nr(current)));
}

void lol_nl_limit(struct lol_guest *guest, u32 limit)
{
	struct sk_buff *skb;
	void *hdr;

	skb = lol_nl_event_new(LOL_EVENT_LIMIT, &hdr);
	if (skb)
		lol_nl_event_send(skb, hdr,
				  nla_put_u32(skb, LOL_A_LIMIT, limit) ||
				  nla_put_u32(skb, LOL_A_PID,
					      task_pid_nr(current)) ||
				  (guest && nla_put_u32(skb, LOL_A_GUEST_ID,
							guest->id)));
}

/* Only the errors that mean "the caller passed something wrong". */
void lol_nl_bad_input(struct lol_guest *guest, struct lol_vcpu *vcpu,
		      unsigned int cmd, long err)
{
	struct sk_buff *skb;
	void *hdr;

	if (err != -EINVAL && err != -EFAULT)
		return;
	skb = lol_nl_event_new(LOL_EVENT_BAD_INPUT, &hdr);
	if (skb)
		lol_nl_event_send(skb, hdr,
				  nla_put_u32(skb, LOL_A_IOCTL, cmd) ||
				  nla_put_u32(skb, LOL_A_ERRNO, -err) ||
				  nla_put_u32(skb, LOL_A_PID,
					      task_pid_nr(current)) ||
				  (guest && nla_put_u32(skb, LOL_A_GUEST_ID,
							guest->id)) ||
				  (vcpu && nla_put_u32(skb, LOL_A_VCPU_ID,
						       vcpu->id)));
}

int lol_nl_init(void)
{
	return genl_register_family(&lol_genl_family);
}

void lol_nl_exit(void)
{
	genl_unregister_family(&lol_genl_family);
}
