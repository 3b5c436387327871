// SPDX-License-Identifier: GPL-2.0
/*
 * bootseal: an exclusive, ordered image writer. Module entry: brings the
 * parts up in order and unwinds them in exact reverse.
 */
#include <linux/module.h>

#include "internal.h"

static int __init bs_mod_init(void)
{
	int ret;

	ret = bs_write_init();
	if (ret)
		return ret;
	ret = bs_netlink_init();
	if (ret)
		goto err_write;
	ret = bs_chardev_init();
	if (ret)
		goto err_netlink;
	ret = bs_stage_init();
	if (ret)
		goto err_chardev;

	pr_info("version %s loaded\n", BOOTSEAL_VERSION);
	return 0;

err_chardev:
	bs_chardev_uninit();
err_netlink:
	bs_netlink_uninit();
err_write:
	bs_write_uninit();
	return ret;
}

static void __exit bs_mod_exit(void)
{
	bs_stage_uninit();
	bs_chardev_uninit();
	bs_netlink_uninit();
	bs_write_uninit();
}

module_init(bs_mod_init);
module_exit(bs_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bootseal: exclusive, ordered, sealed disk image writer");
MODULE_VERSION(BOOTSEAL_VERSION);
