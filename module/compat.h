/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels bootseal builds for lives here.
 *
 * Supported: the 6.1 and 6.12 series, the kernels the VM tests run on
 * (Debian's linux-image-amd64 and linux-image-6.12-amd64, and the debug and
 * PREEMPT_RT 6.12 kernels of `make check-debug`). Between them the API this
 * module uses moved more than once (block-device open by handle, then by
 * file; alloc_pages_bulk_array() renamed after 6.12), so a kernel outside
 * those series is refused at build time rather than built untested.
 */
#ifndef BOOTSEAL_COMPAT_H
#define BOOTSEAL_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/err.h>
#include <net/genetlink.h>

#if !((LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)) || \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)))
#error "bootseal supports the Linux 6.1 and 6.12 series only (see README, Kernels)"
#endif

/*
 * The progress group is for CAP_NET_ADMIN only; the 6.1 series has the flag
 * only from a later stable update on.
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "bootseal needs GENL_MCAST_CAP_NET_ADMIN: update this 6.1 kernel to a later 6.1.y"
#endif

/*
 * 6.8+: while we hold the disk no one else may open it for writing, and
 * the open fails if someone already has -- enforced only when the kernel
 * does not allow writes to claimed devices (CONFIG_BLK_DEV_WRITE_MOUNTED=n
 * or bdev_allow_write_mounted=0); otherwise the flag is accepted and
 * ignored.
 */
#ifdef BLK_OPEN_RESTRICT_WRITES
#define BS_OPEN_RESTRICT_WRITES	BLK_OPEN_RESTRICT_WRITES
#else
#define BS_OPEN_RESTRICT_WRITES	0
#endif

/* The write bit of a device-mapper table's open mode. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define BS_MODE_WRITE	BLK_OPEN_WRITE
#else
#define BS_MODE_WRITE	FMODE_WRITE
#endif

/*
 * How many exclusive claims hold the whole disk @bdev. The block layer
 * counts each claim of a whole disk twice in bd_holders (once as the
 * whole disk, once as the device: bd_finish_claiming(), 6.1 and 6.12
 * alike), and it has no accessor; a read without bdev_lock is a snapshot.
 */
static inline int bs_bdev_claims(struct block_device *bdev)
{
	return READ_ONCE(bdev->bd_holders) / 2;
}

/* An exclusively claimed, writable block device. */
struct bs_bdev {
	struct block_device *bdev;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct file *file;
#else
	void *holder;
#endif
};

/*
 * Opens the block device @dev for reading and writing and claims it for
 * @holder. Returns 0 or a negative errno; a read-only device yields -EROFS
 * (the block layer may report it as -EACCES).
 */
static inline int bs_bdev_open(struct bs_bdev *h, dev_t dev, void *holder)
{
	int ret;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct file *f;

	f = bdev_file_open_by_dev(dev, BLK_OPEN_READ | BLK_OPEN_WRITE | BLK_OPEN_EXCL |
				  BS_OPEN_RESTRICT_WRITES, holder, NULL);
	ret = PTR_ERR_OR_ZERO(f);
	if (!ret) {
		h->file = f;
		h->bdev = file_bdev(f);
	}
#else
	struct block_device *b;

	b = blkdev_get_by_dev(dev, FMODE_READ | FMODE_WRITE | FMODE_EXCL, holder);
	ret = PTR_ERR_OR_ZERO(b);
	if (!ret) {
		h->bdev = b;
		h->holder = holder;
	}
#endif
	return ret == -EACCES ? -EROFS : ret;
}

/*
 * Releases the claim and the open reference taken by bs_bdev_open(). On
 * 6.12 bdev_fput() gives the claim up before it returns (fput() alone
 * would leave that to task work), so userspace can re-read the partition
 * table as soon as COMMIT returns.
 */
static inline void bs_bdev_close(struct bs_bdev *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	bdev_fput(h->file);
	h->file = NULL;
#else
	blkdev_put(h->bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
#endif
	h->bdev = NULL;
}

#endif /* BOOTSEAL_COMPAT_H */
