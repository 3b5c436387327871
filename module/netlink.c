// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "bootseal": GET (one session or a dump of all live
 * sessions) and EVENT multicasts on the group "progress". Messages are built
 * with a size helper, a fill helper and a send helper; nothing is built when
 * nobody listens.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "internal.h"
#include "compat.h"

static const struct nla_policy bs_policy[BOOTSEAL_A_MAX + 1] = {
	[BOOTSEAL_A_SESSION_ID] = { .type = NLA_U64 },
};

static struct genl_family bs_family __ro_after_init;

static size_t bs_nl_size(void)
{
	return nla_total_size_64bit(sizeof(u64)) * 9 +	/* id, sizes, counters, sectors */
	       nla_total_size(sizeof(u32)) * 8 +	/* event, state, dev, errnos, pid, cleanup, kind */
	       nla_total_size(BOOTSEAL_DISK_NAME_LEN) +
	       nla_total_size(BOOTSEAL_STAGED_NAME_LEN);
}

static int bs_nl_fill(struct sk_buff *skb, const struct bs_snapshot *snap, u32 event,
		      u32 portid, u32 seq, int flags)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &bs_family, flags, BOOTSEAL_CMD_EVENT);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, BOOTSEAL_A_SESSION_ID, snap->id, BOOTSEAL_A_PAD) ||
	    nla_put_u32(skb, BOOTSEAL_A_EVENT, event) ||
	    nla_put_u32(skb, BOOTSEAL_A_STATE, snap->state) ||
	    nla_put_string(skb, BOOTSEAL_A_DEV_NAME, snap->disk_name) ||
	    nla_put_u32(skb, BOOTSEAL_A_DEV, snap->dev) ||
	    nla_put_u64_64bit(skb, BOOTSEAL_A_DEV_SIZE, snap->dev_size, BOOTSEAL_A_PAD) ||
	    nla_put_u64_64bit(skb, BOOTSEAL_A_HEAD_LEN, snap->head_len, BOOTSEAL_A_PAD) ||
	    nla_put_u64_64bit(skb, BOOTSEAL_A_BYTES_EXPECTED, snap->bytes_expected,
			      BOOTSEAL_A_PAD) ||
	    nla_put_u64_64bit(skb, BOOTSEAL_A_BYTES_SUBMITTED, snap->bytes_submitted,
			      BOOTSEAL_A_PAD) ||
	    nla_put_u64_64bit(skb, BOOTSEAL_A_BYTES_COMPLETED, snap->bytes_completed,
			      BOOTSEAL_A_PAD) ||
	    nla_put_u32(skb, BOOTSEAL_A_PID, snap->pid) ||
	    nla_put_u32(skb, BOOTSEAL_A_KIND, snap->kind))
		goto cancel;
	if (snap->kind == BOOTSEAL_KIND_STAGED &&
	    nla_put_string(skb, BOOTSEAL_A_STAGED_NAME, snap->staged_name))
		goto cancel;
	if ((snap->state == BOOTSEAL_STATE_FAILED || snap->state == BOOTSEAL_STATE_UNCLEAN) &&
	    (nla_put_u32(skb, BOOTSEAL_A_ERRNO, snap->error) ||
	     nla_put_u64_64bit(skb, BOOTSEAL_A_ERROR_SECTOR, snap->error_sector,
			       BOOTSEAL_A_PAD)))
		goto cancel;
	if (snap->cleanup &&
	    (nla_put_u32(skb, BOOTSEAL_A_CLEANUP, snap->cleanup) ||
	     nla_put_u32(skb, BOOTSEAL_A_CLEANUP_ERRNO, snap->cleanup_error) ||
	     nla_put_u64_64bit(skb, BOOTSEAL_A_CLEANUP_SECTOR, snap->cleanup_sector,
			       BOOTSEAL_A_PAD)))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

void bs_nl_notify(struct bs_session *s, u32 event)
{
	struct bs_snapshot snap;
	struct sk_buff *skb;

	if (!genl_has_listeners(&bs_family, &init_net, 0))
		return;
	skb = genlmsg_new(bs_nl_size(), GFP_KERNEL);
	if (!skb)
		return;
	bs_session_snapshot(s, &snap);
	if (bs_nl_fill(skb, &snap, event, 0, 0, 0)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&bs_family, skb, 0, 0, GFP_KERNEL);
}

static int bs_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[BOOTSEAL_A_SESSION_ID];
	struct bs_snapshot snap;
	struct sk_buff *msg;
	int ret;

	if (!attr) {
		GENL_SET_ERR_MSG(info, "missing session id");
		return -EINVAL;
	}
	if (!bs_session_find(nla_get_u64(attr), &snap)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such session");
		return -ENOENT;
	}
	msg = genlmsg_new(bs_nl_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = bs_nl_fill(msg, &snap, BOOTSEAL_EVENT_DUMP, info->snd_portid, info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: id of the last session put into the dump. */
static int bs_nl_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct bs_snapshot snap;

	while (bs_session_next(cb->args[0], &snap)) {
		if (bs_nl_fill(skb, &snap, BOOTSEAL_EVENT_DUMP, NETLINK_CB(cb->skb).portid,
			       cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = snap.id;
	}
	return skb->len;
}

/* No .validate flags: attributes are parsed strictly, for doit and dump. */
static const struct genl_small_ops bs_ops[] = {
	{
		.cmd		= BOOTSEAL_CMD_GET,
		.doit		= bs_nl_get_doit,
		.dumpit		= bs_nl_get_dumpit,
		.flags		= GENL_ADMIN_PERM,
	},
};

/*
 * Events name every session's process, disk and counters: subscribing
 * needs CAP_NET_ADMIN, like GET (genl_bind() checks the flag).
 */
static const struct genl_multicast_group bs_mcgrps[] = {
	{ .name = BOOTSEAL_GENL_MCGRP_PROGRESS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family bs_family __ro_after_init = {
	.name		= BOOTSEAL_GENL_NAME,
	.version	= BOOTSEAL_GENL_VERSION,
	.maxattr	= BOOTSEAL_A_MAX,
	.policy		= bs_policy,
	.netnsok	= false,
	.module		= THIS_MODULE,
	.small_ops	= bs_ops,
	.n_small_ops	= ARRAY_SIZE(bs_ops),
	.mcgrps		= bs_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(bs_mcgrps),
};

int __init bs_netlink_init(void)
{
	return genl_register_family(&bs_family);
}

void bs_netlink_uninit(void)
{
	genl_unregister_family(&bs_family);
}
