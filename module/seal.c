// SPDX-License-Identifier: GPL-2.0
/*
 * The ordering contract, shared by ioctl sessions (write.c) and staged
 * devices (stage.c); DESIGN.md has it in full. Each step and the VM case
 * that proves it:
 *
 *  1. claim the whole disk exclusively (the front ends; 12, 13, 14, 29);
 *  2. invalidate: zero the head and the tail (the last MiB), flush, before
 *     any image byte reaches the disk -- bs_invalidate() (15, 29);
 *  3. hold the head (and, for a stage, the tail) back in kernel memory,
 *     write everything else (the front ends; 10, 17, 29);
 *  4. seal once every data write completed without an error: flush, then
 *     the held-back bytes with FUA, the first physical block last, read
 *     back -- bs_seal() (15, 27, 29); a seal that fails after its first
 *     write is erased again -- bs_unseal() (21, 29);
 *  5. anything else ends with the head zero: abort, close, removal of a
 *     stage (16, 18, 29).
 */
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "io.h"
#include "session.h"

/*
 * The partitions of the disk have page caches of their own, which the
 * whole disk's sync_blockdev() and invalidate_bdev() never touch: writes
 * buffered through a partition node before attaching would be written
 * back over the image later, and readers of a partition node would see
 * what was there before the flash. Writes them back (@sync) and drops
 * their clean, unmapped pages. A writer that keeps writing through a
 * partition node during the flash is not stopped by the exclusive claim
 * (see BS_OPEN_RESTRICT_WRITES).
 */
void bs_flush_partitions(struct block_device *whole, bool sync)
{
	struct gendisk *disk = whole->bd_disk;
	struct block_device *part;
	unsigned long idx;

	/* open_mutex keeps the partition table (and its bdevs) stable */
	mutex_lock(&disk->open_mutex);
	xa_for_each_start(&disk->part_tbl, idx, part, 1) {
		if (sync)
			sync_blockdev(part);
		invalidate_bdev(part);
	}
	mutex_unlock(&disk->open_mutex);
}

/* Drops the page caches of the disk and its partitions: readers see the medium. */
void bs_drop_caches(struct bs_session *s)
{
	invalidate_bdev(s->bdev);
	bs_flush_partitions(s->bdev, false);
}

static u64 bs_tail_len(struct bs_session *s)
{
	return s->dev_size - s->tail_start;
}

/* Zeroes the head and the tail, then flushes: nothing is in flight. */
int bs_invalidate(struct bs_session *s, sector_t *bad)
{
	int ret;

	ret = bs_io_zero(s->bdev, 0, 0, s->head_len, bad);
	if (!ret && bs_tail_len(s))
		ret = bs_io_zero(s->bdev, 0, s->tail_start, bs_tail_len(s), bad);
	if (ret)
		return ret;
	*bad = BOOTSEAL_SECTOR_NONE;
	return blkdev_issue_flush(s->bdev);
}

/*
 * Writes what was held back, each with FUA: the tail if it was buffered
 * (a stage), then the head -- everything but the first physical block
 * first, the first physical block (the MBR / protective MBR, and on a 512e
 * disk the GPT header beside it) last and in one write -- so no prefix of
 * the device's write history shows a partition table before the rest is
 * complete, and a 512e disk never has to read-modify-write a physical
 * block 0 whose other sectors were just written (a torn RMW could lose
 * them). A head shorter than a physical block is one write. Then reads it
 * all back and compares.
 */
static int bs_write_held(struct bs_session *s, sector_t *bad)
{
	blk_opf_t opf = REQ_OP_WRITE | REQ_SYNC | REQ_FUA;
	u64 first = min_t(u64, s->pbs, s->head_len);
	int ret = 0;

	if (s->tail_buf)
		ret = bs_io_kbuf(s->bdev, opf, s->tail_start, s->tail_buf, bs_tail_len(s), bad);
	if (!ret && s->head_len > first)
		ret = bs_io_kbuf(s->bdev, opf, first, s->head_buf + first, s->head_len - first,
				 bad);
	if (!ret)
		ret = bs_io_kbuf(s->bdev, opf, 0, s->head_buf, first, bad);
	if (!ret)
		ret = bs_io_verify(s->bdev, 0, s->head_buf, s->head_len, bad);
	if (!ret && s->tail_buf)
		ret = bs_io_verify(s->bdev, s->tail_start, s->tail_buf, bs_tail_len(s), bad);
	return ret;
}

/*
 * Zeroes [@pos, @pos + @len) with FUA and reads it back, through a scratch
 * buffer of up to 1 MiB (the head buffer, whose contents are no longer
 * needed, if there is no memory for it). Returns 0 if it reads back as
 * zeros; else the errno, with the first failed (or non-zero) 512-byte
 * sector in *@bad.
 */
static int bs_erase(struct bs_session *s, u64 pos, u64 len, sector_t *bad)
{
	u64 n = min_t(u64, len, 1U << 20);
	u8 *buf = kvmalloc(n, GFP_KERNEL_ACCOUNT);
	int ret;

	ret = bs_io_zero(s->bdev, REQ_FUA, pos, len, bad);
	if (!ret)
		ret = buf ? bs_io_check_zero(s->bdev, pos, len, buf, n, bad) :
			    bs_io_check_zero(s->bdev, pos, len, s->head_buf, s->head_len, bad);
	kvfree(buf);
	return ret;
}

/*
 * A seal failed after its first write was issued, so LBA 0 may hold the
 * image's MBR / protective MBR over data that is not the image (a device
 * that acknowledged writes and lost them, a failed write that landed
 * partly). Rewrites the head (the first block first) and the tail with
 * zeros, FUA, and reads both back. Records what was erased; if any part of
 * it failed, the session will end UNCLEAN instead of FAILED, and the
 * kernel log says so. Called before the seal's error is recorded, so that
 * the one final event carries the outcome; the head buffer's contents are
 * no longer needed.
 */
static void bs_unseal(struct bs_session *s, int err, sector_t sector)
{
	sector_t bad = BOOTSEAL_SECTOR_NONE, tbad = BOOTSEAL_SECTOR_NONE;
	u32 done = BOOTSEAL_CLEANUP_RAN;
	int ret, tret = 0;

	ret = bs_erase(s, 0, s->head_len, &bad);
	if (!ret)
		done |= BOOTSEAL_CLEANUP_HEAD;
	if (bs_tail_len(s))
		tret = bs_erase(s, s->tail_start, bs_tail_len(s), &tbad);
	if (!tret)
		done |= BOOTSEAL_CLEANUP_TAIL;
	if (!ret && tret) {
		ret = tret;
		bad = tbad;
	}

	spin_lock_irq(&s->slock);
	s->cleanup = done;
	s->cleanup_error = -ret;
	s->cleanup_sector = bad;
	spin_unlock_irq(&s->slock);

	if (ret)
		pr_err("%s: seal failed (errno %d, sector %lld) and erasing its partition table failed too (errno %d, sector %lld; head %s, tail %s): the device may show a partition table over data that is not the image\n",
		       s->disk_name, -err,
		       sector == BOOTSEAL_SECTOR_NONE ? -1LL : (long long)sector, -ret,
		       bad == BOOTSEAL_SECTOR_NONE ? -1LL : (long long)bad,
		       done & BOOTSEAL_CLEANUP_HEAD ? "erased" : "NOT erased",
		       done & BOOTSEAL_CLEANUP_TAIL ? "erased" : "NOT erased");
	else
		pr_warn("%s: seal failed (errno %d, sector %lld); head and tail rewritten with zeros and read back: no partition table left\n",
			s->disk_name, -err,
			sector == BOOTSEAL_SECTOR_NONE ? -1LL : (long long)sector);
}

/*
 * Steps 4 of the contract, once every data write has completed without an
 * error (nothing in flight, s->lock held): FLUSHING -- the device cache is
 * flushed -- then SEALING -- the held-back bytes are written and read back.
 * Returns 0 when they are durable and verified (the caller detaches and
 * ends the session SEALED); otherwise the errno, the session FAILED or
 * UNCLEAN, a half-written seal erased.
 */
int bs_seal(struct bs_session *s)
{
	sector_t bad = BOOTSEAL_SECTOR_NONE;
	int ret;

	if (!bs_set_state(s, BOOTSEAL_STATE_FLUSHING))
		return bs_session_error(s) ?: -EIO;
	ret = blkdev_issue_flush(s->bdev);
	if (ret) {
		bs_fail_sync(s, -ret, BOOTSEAL_SECTOR_NONE);
		return ret;
	}
	if (!bs_set_state(s, BOOTSEAL_STATE_SEALING))
		return bs_session_error(s) ?: -EIO;
	/* From here on a failure may leave part of the head on the medium. */
	ret = bs_write_held(s, &bad);
	if (ret) {
		bs_unseal(s, ret, bad);
		bs_fail_sync(s, -ret, bad);
		return ret;
	}
	atomic64_add(s->head_len + (s->tail_buf ? bs_tail_len(s) : 0), &s->completed);
	return 0;
}
