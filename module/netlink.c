// SPDX-License-Identifier: GPL-2.0
/* Generic netlink family "bootseal" with the multicast group "progress". */
#include <linux/module.h>
#include <net/genetlink.h>

#include "bootseal.h"

static const struct nla_policy bs_policy[BOOTSEAL_A_MAX + 1] = {
	[BOOTSEAL_A_SESSION_ID] = { .type = NLA_U64 },
};

static int bs_nl_get_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return 0;
}

static const struct genl_small_ops bs_ops[] = {
	{
		.cmd		= BOOTSEAL_CMD_GET,
		.validate	= GENL_DONT_VALIDATE_STRICT,
		.dumpit		= bs_nl_get_dump,
		.flags		= GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group bs_mcgrps[] = {
	{ .name = BOOTSEAL_GENL_MCGRP_PROGRESS },
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
