// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bootseal: root-only misc device; every ioctl needs CAP_SYS_ADMIN.
 * Each open file description is one session (file->private_data).
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/capability.h>

#include "internal.h"

static long bs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return bs_session_ioctl(file->private_data, cmd, (void __user *)arg);
}

static int bs_open(struct inode *inode, struct file *file)
{
	struct bs_session *s;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	s = bs_session_create();
	if (!s)
		return -ENOMEM;
	file->private_data = s;
	return nonseekable_open(inode, file);
}

static int bs_release(struct inode *inode, struct file *file)
{
	bs_session_release(file->private_data);
	return 0;
}

static const struct file_operations bs_fops = {
	.owner		= THIS_MODULE,
	.open		= bs_open,
	.release	= bs_release,
	.unlocked_ioctl	= bs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice bs_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= BOOTSEAL_DEVICE_NAME,
	.fops	= &bs_fops,
	.mode	= 0600,
};

int bs_chardev_init(void)
{
	return misc_register(&bs_misc);
}

void bs_chardev_uninit(void)
{
	misc_deregister(&bs_misc);
}
