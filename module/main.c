// SPDX-License-Identifier: GPL-2.0
/*
 * bootseal: an exclusive, ordered image writer. Module entry: brings the
 * parts up in order and unwinds them in exact reverse.
 */
#include <linux/module.h>

#include "bootseal.h"

static int __init bs_mod_init(void)
{
	int ret;

	ret = bs_session_init();
	if (ret)
		return ret;
	ret = bs_netlink_init();
	if (ret)
		goto err_session;
	ret = bs_chardev_init();
	if (ret)
		goto err_netlink;

	pr_info("version %s loaded\n", BOOTSEAL_VERSION);
	return 0;

err_netlink:
	bs_netlink_uninit();
err_session:
	bs_session_uninit();
	return ret;
}

static void __exit bs_mod_exit(void)
{
	bs_chardev_uninit();
	bs_netlink_uninit();
	bs_session_uninit();
}

module_init(bs_mod_init);
module_exit(bs_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bootseal: exclusive, ordered, sealed disk image writer");
MODULE_VERSION(BOOTSEAL_VERSION);
