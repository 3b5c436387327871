/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BOOTSEAL_IO_H
#define BOOTSEAL_IO_H

#include <linux/blkdev.h>

/*
 * Synchronous helpers; all may sleep. On an I/O error they return a
 * negative errno and store the first failed 512-byte sector in *@bad.
 */
int bs_io_zero(struct block_device *bdev, blk_opf_t flags, u64 pos, u64 len, sector_t *bad);
int bs_io_kbuf(struct block_device *bdev, blk_opf_t opf, u64 pos, void *buf,
	       u64 len, sector_t *bad);
int bs_io_check_zero(struct block_device *bdev, u64 pos, u64 len, void *buf, u64 buf_len,
		     sector_t *bad);
int bs_io_verify(struct block_device *bdev, u64 pos, const void *buf, u64 len, sector_t *bad);

#endif /* BOOTSEAL_IO_H */
