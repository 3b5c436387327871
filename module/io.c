// SPDX-License-Identifier: GPL-2.0
/* Synchronous block I/O from kernel memory: invalidation, head write, read-back. */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "io.h"

static int bs_io_wait(struct bio *bio, sector_t *bad)
{
	sector_t sector = bio->bi_iter.bi_sector;
	int ret;

	ret = submit_bio_wait(bio);
	bio_put(bio);
	if (ret)
		*bad = sector;
	return ret;
}

/*
 * Runs [@pos, @pos + @len) as bios of @opf, each waited for: from or into
 * @buf (from kmalloc or vmalloc), or, with @buf NULL, writing zeros.
 */
static int bs_io_run(struct block_device *bdev, blk_opf_t opf, u64 pos, u8 *buf, u64 len,
		     sector_t *bad)
{
	while (len) {
		struct bio *bio = bio_alloc(bdev, BIO_MAX_VECS, opf, GFP_KERNEL);
		int ret;

		bio->bi_iter.bi_sector = pos >> SECTOR_SHIFT;
		while (len) {
			unsigned int off = buf ? offset_in_page(buf) : 0;
			unsigned int n = min_t(u64, len, PAGE_SIZE - off);
			struct page *page = !buf ? ZERO_PAGE(0) :
					    is_vmalloc_addr(buf) ? vmalloc_to_page(buf) :
					    virt_to_page(buf);

			if (bio_add_page(bio, page, n, off) != n)
				break;
			if (buf)
				buf += n;
			pos += n;
			len -= n;
		}
		ret = bs_io_wait(bio, bad);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Writes zeros to [@pos, @pos + @len); both multiples of 512. @flags are
 * added to REQ_OP_WRITE | REQ_SYNC (e.g. REQ_FUA).
 */
int bs_io_zero(struct block_device *bdev, blk_opf_t flags, u64 pos, u64 len, sector_t *bad)
{
	return bs_io_run(bdev, REQ_OP_WRITE | REQ_SYNC | flags, pos, NULL, len, bad);
}

/*
 * Reads or writes [@pos, @pos + @len) from/to @buf, which comes from
 * kmalloc or vmalloc (kvmalloc). @opf carries the operation and flags
 * (e.g. REQ_OP_WRITE | REQ_FUA): every bio gets them.
 */
int bs_io_kbuf(struct block_device *bdev, blk_opf_t opf, u64 pos, void *buf,
	       u64 len, sector_t *bad)
{
	return bs_io_run(bdev, opf, pos, buf, len, bad);
}

/*
 * Reads [@pos, @pos + @len) through @buf (@buf_len bytes, a multiple of
 * 512, from kvmalloc) and checks that every byte is zero. Returns -EIO with
 * the first non-zero 512-byte sector in *@bad, or the read's error.
 */
int bs_io_check_zero(struct block_device *bdev, u64 pos, u64 len, void *buf, u64 buf_len,
		     sector_t *bad)
{
	while (len) {
		u64 n = min(len, buf_len), i;
		int ret;

		ret = bs_io_kbuf(bdev, REQ_OP_READ | REQ_SYNC, pos, buf, n, bad);
		if (ret)
			return ret;
		for (i = 0; i < n; i += SECTOR_SIZE) {
			if (memchr_inv((u8 *)buf + i, 0, SECTOR_SIZE)) {
				*bad = (pos + i) >> SECTOR_SHIFT;
				return -EIO;
			}
		}
		pos += n;
		len -= n;
	}
	return 0;
}

/*
 * Reads [@pos, @pos + @len) back and compares it with @buf. Returns -EIO
 * with the first differing 512-byte sector in *@bad, or the read's error.
 */
int bs_io_verify(struct block_device *bdev, u64 pos, const void *buf, u64 len, sector_t *bad)
{
	u64 chunk = min_t(u64, len, 1U << 20), i;
	const u8 *want = buf;
	u8 *check;
	int ret = 0;

	check = kvmalloc(chunk, GFP_KERNEL_ACCOUNT);
	if (!check)
		return -ENOMEM;
	while (len && !ret) {
		u64 n = min(len, chunk);

		ret = bs_io_kbuf(bdev, REQ_OP_READ | REQ_SYNC, pos, check, n, bad);
		for (i = 0; !ret && i < n; i += SECTOR_SIZE) {
			if (memcmp(check + i, want + i, SECTOR_SIZE)) {
				*bad = (pos + i) >> SECTOR_SHIFT;
				ret = -EIO;
			}
		}
		pos += n;
		want += n;
		len -= n;
	}
	kvfree(check);
	return ret;
}
