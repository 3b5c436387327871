// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: one per open file description of /dev/bootseal, and the write
 * engine: attach + invalidate, asynchronous data bios under a bounded
 * in-flight budget, commit (drain, flush, head with FUA, read-back).
 *
 * Locking:
 *  - s->lock (mutex) serializes the ioctls and the release of one session;
 *    every state transition except "-> FAILED" happens under it.
 *  - s->slock (irq-safe spinlock) guards state, error and in-flight bytes,
 *    which bio completions update; completions also wake s->wq under it, so
 *    taking it once after the last completion is enough to free the session.
 *    A completion puts its bio (back into bs_bioset) before it takes the
 *    lock, so a released session never has a bio on its way back.
 *  - bs_sessions_lock (mutex) guards the list of attached sessions that
 *    netlink GET walks; it nests outside s->slock.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kdev_t.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "bootseal.h"
#include "compat.h"
#include "io.h"

/*
 * Every session holds its head in kernel memory (charged to the caller's
 * memory cgroup), so the parameter is bounded: a multiple of 512 in
 * [512, BS_HEAD_LEN_CAP]. A primary GPT is 17 KiB; 64 MiB is ample.
 */
#define BS_HEAD_LEN_CAP		(64U << 20)

static unsigned int max_head_len = 4 << 20;

static int bs_set_max_head_len(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret) {
		pr_warn_ratelimited("max_head_len: not a number of bytes\n");
		return ret;
	}
	if (v < SECTOR_SIZE || v > BS_HEAD_LEN_CAP || v % SECTOR_SIZE) {
		pr_warn_ratelimited("max_head_len: %u is not a multiple of 512 in [512, %u]\n",
				    v, BS_HEAD_LEN_CAP);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops bs_max_head_len_ops = {
	.set	= bs_set_max_head_len,
	.get	= param_get_uint,
};
module_param_cb(max_head_len, &bs_max_head_len_ops, &max_head_len, 0644);
MODULE_PARM_DESC(max_head_len,
		 "Largest head a session may hold back, bytes: a multiple of 512, at most 64 MiB (default 4 MiB)");

static unsigned int max_inflight_mb = 64;
module_param(max_inflight_mb, uint, 0644);
MODULE_PARM_DESC(max_inflight_mb,
		 "Data bytes a session may have in flight, MiB (default 64, at least 16)");

#define BS_PROGRESS_INTERVAL	(HZ / 10)	/* at most ~10 progress events/s per session */

struct bs_session {
	struct mutex lock;		/* serializes ioctls and release */
	struct list_head node;		/* in bs_sessions once attached */
	bool listed;			/* on bs_sessions; under s->lock */

	spinlock_t slock;		/* the fields below up to @wq */
	u64 id;				/* 0 until attached */
	u32 pid;			/* tgid of the attaching task */
	u32 state;			/* enum bootseal_state */
	int error;			/* positive errno of the first error */
	u64 error_sector;		/* 512-byte sector, or BOOTSEAL_SECTOR_NONE */
	bool fail_event_pending;	/* FAILED/UNCLEAN not multicast yet */
	u32 cleanup;			/* BOOTSEAL_CLEANUP_* after a failed seal */
	int cleanup_error;		/* positive errno of the cleanup, 0 if none */
	u64 cleanup_sector;		/* its 512-byte sector, or BOOTSEAL_SECTOR_NONE */
	u64 inflight;			/* data bytes reserved or in flight */
	wait_queue_head_t wq;		/* inflight went down */

	/* Set at attach, constant afterwards (snapshot copies under slock). */
	struct bs_bdev bdh;		/* bdh.bdev NULL once detached */
	u64 dev_size;			/* bytes */
	u32 lbs;			/* logical block size, bytes */
	u32 pbs;			/* physical block size, bytes */
	u32 dev;			/* new_encode_dev() */
	char disk_name[BOOTSEAL_DISK_NAME_LEN];
	u64 head_len;			/* bytes */
	u64 expected;			/* bytes announced by userspace */
	u64 budget;			/* in-flight limit, bytes */

	u8 *head_buf;			/* head_len bytes, kvmalloc */
	atomic64_t submitted;		/* bytes accepted by WRITE */
	atomic64_t completed;		/* data bytes written (+ head once sealed) */
	unsigned long next_progress;	/* jiffies; under s->lock */
	struct work_struct fail_work;	/* multicasts FAILED after a bio error */
};

/* Every data bio is allocated with this header in front (bioset front_pad). */
struct bs_bio {
	struct bs_session *s;
	sector_t sector;		/* first 512-byte sector */
	u32 bytes;			/* length */
	bool pinned;			/* user pages (unpin) or ours (free) */
	struct bio bio;			/* must be last */
};

static struct bio_set bs_bioset;
static DEFINE_MUTEX(bs_sessions_lock);
static LIST_HEAD(bs_sessions);		/* ordered by id */
static u64 bs_last_id;			/* under bs_sessions_lock */

static bool bs_final(u32 state)
{
	return state == BOOTSEAL_STATE_SEALED || state == BOOTSEAL_STATE_FAILED ||
	       state == BOOTSEAL_STATE_ABORTED || state == BOOTSEAL_STATE_UNCLEAN;
}

void bs_session_snapshot(struct bs_session *s, struct bs_snapshot *snap)
{
	unsigned long flags;

	spin_lock_irqsave(&s->slock, flags);
	snap->id = s->id;
	snap->pid = s->pid;
	snap->state = s->state;
	snap->error = s->error;
	snap->error_sector = s->error ? s->error_sector : BOOTSEAL_SECTOR_NONE;
	snap->cleanup = s->cleanup;
	snap->cleanup_error = s->cleanup_error;
	snap->cleanup_sector = s->cleanup_error ? s->cleanup_sector : BOOTSEAL_SECTOR_NONE;
	snap->bytes_expected = s->expected;
	snap->head_len = s->head_len;
	snap->dev_size = s->dev_size;
	snap->dev = s->dev;
	memcpy(snap->disk_name, s->disk_name, sizeof(snap->disk_name));
	snap->bytes_submitted = atomic64_read(&s->submitted);
	snap->bytes_completed = atomic64_read(&s->completed);
	spin_unlock_irqrestore(&s->slock, flags);
}

/* Process context, s->lock held. Returns false if the session failed meanwhile. */
static bool bs_set_state(struct bs_session *s, u32 state)
{
	bool ok;

	spin_lock_irq(&s->slock);
	ok = !bs_final(s->state) && !s->error;
	if (ok)
		s->state = state;
	spin_unlock_irq(&s->slock);
	if (ok)
		bs_nl_notify(s, BOOTSEAL_EVENT_STATE);
	return ok;
}

/*
 * Records the first error; any context, s->slock held. The session ends
 * FAILED, or UNCLEAN if a failed seal could not be erased (bs_unseal()).
 */
static bool __bs_fail(struct bs_session *s, int err, u64 sector)
{
	if (s->error)
		return false;
	s->error = err;
	s->error_sector = sector;
	if (!bs_final(s->state)) {
		s->state = s->cleanup_error ? BOOTSEAL_STATE_UNCLEAN : BOOTSEAL_STATE_FAILED;
		s->fail_event_pending = true;
	}
	return true;
}

/* Multicasts FAILED/UNCLEAN once; call only when no data bio is in flight. */
static void bs_emit_failed(struct bs_session *s)
{
	bool pending;

	spin_lock_irq(&s->slock);
	pending = s->fail_event_pending;
	s->fail_event_pending = false;
	spin_unlock_irq(&s->slock);
	if (pending)
		bs_nl_notify(s, BOOTSEAL_EVENT_STATE);
}

/* A synchronous step failed (nothing in flight). */
static void bs_fail_sync(struct bs_session *s, int err, u64 sector)
{
	spin_lock_irq(&s->slock);
	__bs_fail(s, err, sector);
	spin_unlock_irq(&s->slock);
	bs_emit_failed(s);
}

static bool bs_idle(struct bs_session *s)
{
	return READ_ONCE(s->inflight) == 0;
}

/* s->lock held. */
static void bs_maybe_progress(struct bs_session *s)
{
	if (time_before(jiffies, s->next_progress) || READ_ONCE(s->error))
		return;
	s->next_progress = jiffies + BS_PROGRESS_INTERVAL;
	bs_nl_notify(s, BOOTSEAL_EVENT_PROGRESS);
}

/*
 * Waits until no data bio is in flight, sending progress meanwhile.
 * Returns -EINTR if @killable and a fatal signal arrived.
 */
static int bs_drain(struct bs_session *s, bool killable)
{
	long ret;

	for (;;) {
		if (killable)
			ret = wait_event_killable_timeout(s->wq, bs_idle(s), BS_PROGRESS_INTERVAL);
		else
			ret = wait_event_timeout(s->wq, bs_idle(s), BS_PROGRESS_INTERVAL);
		if (ret < 0)
			return -EINTR;
		if (ret > 0)
			break;
		bs_maybe_progress(s);
	}
	/* The last completion may still be inside wake_up() under slock. */
	spin_lock_irq(&s->slock);
	spin_unlock_irq(&s->slock);
	return 0;
}

/*
 * Multicasts FAILED after a data bio failed. Queued on the shared system
 * workqueue only once nothing is in flight any more (the counters are
 * final), so it never waits for the device: a write that stalls after
 * another failed must not block a kworker.
 */
static void bs_fail_work(struct work_struct *work)
{
	struct bs_session *s = container_of(work, struct bs_session, fail_work);

	bs_emit_failed(s);
}

/* s->slock held, inflight just went down: the FAILED event may go out now. */
static void bs_fail_event_if_idle(struct bs_session *s)
{
	if (!s->inflight && s->fail_event_pending)
		queue_work(system_wq, &s->fail_work);
}

/* Frees a page of ours, or unpins a page of the caller's (@pinned). */
static void bs_release_page(struct page *page, bool pinned)
{
	if (pinned)
		unpin_user_page(page);
	else
		__free_page(page);
}

static void bs_end_io(struct bio *bio)
{
	struct bs_bio *b = container_of(bio, struct bs_bio, bio);
	struct bs_session *s = b->s;
	int err = blk_status_to_errno(bio->bi_status);
	sector_t sector = b->sector;
	u32 bytes = b->bytes;
	struct bvec_iter_all iter;
	struct bio_vec *bv;
	unsigned long flags;

	bio_for_each_segment_all(bv, bio, iter)
		bs_release_page(bv->bv_page, b->pinned);
	/*
	 * Back to bs_bioset before inflight drops below: once it reaches 0,
	 * release may return and rmmod run bioset_exit(). Nothing of the bio
	 * may be touched after this.
	 */
	bio_put(bio);

	spin_lock_irqsave(&s->slock, flags);
	if (err)
		__bs_fail(s, -err, sector);
	else
		atomic64_add(bytes, &s->completed);
	s->inflight -= bytes;
	bs_fail_event_if_idle(s);
	wake_up(&s->wq);
	spin_unlock_irqrestore(&s->slock, flags);
}

static bool bs_budget_ok(struct bs_session *s, u64 bytes)
{
	u64 inflight = READ_ONCE(s->inflight);

	return READ_ONCE(s->error) || !inflight || inflight + bytes <= s->budget;
}

/* Reserves @bytes of the in-flight budget, waiting (killable) for it. */
static int bs_reserve(struct bs_session *s, u64 bytes)
{
	long ret;

	for (;;) {
		spin_lock_irq(&s->slock);
		if (s->error) {
			ret = -s->error;
			spin_unlock_irq(&s->slock);
			return ret;
		}
		if (!s->inflight || s->inflight + bytes <= s->budget) {
			s->inflight += bytes;
			spin_unlock_irq(&s->slock);
			return 0;
		}
		spin_unlock_irq(&s->slock);
		ret = wait_event_killable_timeout(s->wq, bs_budget_ok(s, bytes),
						  BS_PROGRESS_INTERVAL);
		if (ret < 0)
			return -EINTR;
		bs_maybe_progress(s);
	}
}

static void bs_unreserve(struct bs_session *s, u64 bytes)
{
	spin_lock_irq(&s->slock);
	s->inflight -= bytes;
	bs_fail_event_if_idle(s);
	wake_up(&s->wq);
	spin_unlock_irq(&s->slock);
}

/*
 * Fills the zeroed array @pages with @nr pages, charged to the caller's
 * memory cgroup. The bulk allocator may hand out a single page per call
 * for accounted allocations, so each call only looks at the empty rest.
 */
static int bs_alloc_pages(struct page **pages, unsigned long nr)
{
	unsigned long have = 0;

	while (have < nr) {
		unsigned long got = alloc_pages_bulk_array(GFP_KERNEL_ACCOUNT, nr - have,
							   pages + have);

		if (!got) {
			pages[have] = alloc_page(GFP_KERNEL_ACCOUNT);
			if (!pages[have])
				return -ENOMEM;
			got = 1;
		}
		have += got;
	}
	return 0;
}

/* Frees our pages, or unpins the user's (@pinned); NULL entries are skipped. */
static void bs_release_pages(struct page **pages, unsigned long nr, bool pinned)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		if (pages[i])
			bs_release_page(pages[i], pinned);
}

/*
 * Pins the @nr user pages that hold @len bytes from @uaddr, for reading.
 * On failure nothing stays pinned.
 */
static int bs_pin_pages(unsigned long uaddr, unsigned long nr, struct page **pages)
{
	unsigned long start = uaddr & PAGE_MASK, got = 0;

	while (got < nr) {
		int n = pin_user_pages_fast(start + (got << PAGE_SHIFT),
					    min_t(unsigned long, nr - got, INT_MAX), 0, pages + got);

		if (n <= 0) {
			unpin_user_pages(pages, got);
			memset(pages, 0, got * sizeof(*pages));
			/* 0, -EFAULT, -EOVERFLOW (a wrapping range): unreadable */
			return n == -ENOMEM ? n : -EFAULT;
		}
		got += n;
	}
	return 0;
}

/*
 * Submits [@pos, @pos + @len) whose bytes start at offset @pofs of
 * pages[0]; every page used is handed to a bio (and NULLed here). @pinned:
 * the pages are pinned user pages, released by unpinning.
 */
static void bs_submit_data(struct bs_session *s, struct page **pages, unsigned int pofs,
			   u64 pos, u64 len, bool pinned)
{
	struct blk_plug plug;

	blk_start_plug(&plug);
	while (len) {
		struct bio *bio = bio_alloc_bioset(s->bdh.bdev, BIO_MAX_VECS, REQ_OP_WRITE,
						   GFP_KERNEL, &bs_bioset);
		struct bs_bio *b = container_of(bio, struct bs_bio, bio);

		b->s = s;
		b->sector = pos >> SECTOR_SHIFT;
		b->bytes = 0;
		b->pinned = pinned;
		bio->bi_iter.bi_sector = b->sector;
		bio->bi_end_io = bs_end_io;
		while (len) {
			unsigned int n = min_t(u64, len, PAGE_SIZE - pofs);

			if (bio_add_page(bio, *pages, n, pofs) != n)
				break;
			*pages++ = NULL;
			pofs = 0;
			pos += n;
			len -= n;
			b->bytes += n;
		}
		submit_bio(bio);
	}
	blk_finish_plug(&plug);
}

/* Copies @len bytes from the page array (starting at byte @from) to @dst. */
static void bs_copy_from_pages(u8 *dst, struct page **pages, u64 from, u64 len)
{
	while (len) {
		unsigned int off = offset_in_page(from);
		unsigned int n = min_t(u64, len, PAGE_SIZE - off);

		memcpy(dst, page_address(pages[from >> PAGE_SHIFT]) + off, n);
		dst += n;
		from += n;
		len -= n;
	}
}

static int bs_check_io_state(struct bs_session *s)
{
	int err;
	u32 state;

	spin_lock_irq(&s->slock);
	state = s->state;
	err = s->error;
	spin_unlock_irq(&s->slock);
	if (err)
		return -err;
	if (state != BOOTSEAL_STATE_INVALIDATED && state != BOOTSEAL_STATE_WRITING)
		return -EBADFD;
	return 0;
}

static long bs_write(struct bs_session *s, void __user *uarg)
{
	struct bootseal_write w;
	u64 end, data_pos, data_len;
	unsigned long nr, i;
	struct page **pages;
	const u8 __user *ubuf;
	unsigned int pofs = 0;
	bool pin;
	int ret;

	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if ((w.flags & ~__BOOTSEAL_WRITE_F_ALL) || w.reserved)
		return -EINVAL;
	ret = bs_check_io_state(s);
	if (ret)
		return ret;
	if (!w.length || w.length > BOOTSEAL_WRITE_MAX || ((w.offset | w.length) & (s->lbs - 1)) ||
	    w.offset > s->dev_size || w.length > s->dev_size - w.offset)
		return -EINVAL;
	if ((w.flags & BOOTSEAL_WRITE_F_PIN) && (w.buf & (s->lbs - 1)))
		return -EINVAL;
	/* A range that wraps or leaves user space is unreadable: EFAULT, not EOVERFLOW. */
	if (!access_ok(u64_to_user_ptr(w.buf), w.length))
		return -EFAULT;
	/*
	 * Zero-copy only for pure data writes whose buffer the device can DMA
	 * from directly; the head is always copied into the head buffer.
	 */
	pin = (w.flags & BOOTSEAL_WRITE_F_PIN) && w.offset >= s->head_len &&
	      !(w.buf & bdev_dma_alignment(s->bdh.bdev));
	if (READ_ONCE(s->state) == BOOTSEAL_STATE_INVALIDATED &&
	    !bs_set_state(s, BOOTSEAL_STATE_WRITING))
		return bs_check_io_state(s) ?: -EBADFD;

	end = w.offset + w.length;
	data_pos = max(w.offset, s->head_len);
	data_len = end > data_pos ? end - data_pos : 0;
	if (data_len) {
		ret = bs_reserve(s, data_len);
		if (ret)
			return ret;
	}

	ubuf = u64_to_user_ptr(w.buf);
	if (pin)
		pofs = offset_in_page(w.buf);
	nr = DIV_ROUND_UP(pofs + w.length, PAGE_SIZE);
	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		ret = -ENOMEM;
	else if (pin)
		ret = bs_pin_pages((unsigned long)w.buf, nr, pages);
	else
		ret = bs_alloc_pages(pages, nr);
	for (i = 0; !ret && !pin && i < nr; i++) {
		u64 n = min_t(u64, PAGE_SIZE, w.length - ((u64)i << PAGE_SHIFT));

		if (copy_from_user(page_address(pages[i]), ubuf + ((u64)i << PAGE_SHIFT), n))
			ret = -EFAULT;
	}
	if (!ret) {
		spin_lock_irq(&s->slock);
		ret = -s->error;
		spin_unlock_irq(&s->slock);
	}
	if (ret)
		goto out_unreserve;

	if (w.offset < s->head_len)
		bs_copy_from_pages(s->head_buf + w.offset, pages, 0,
				   min(end, s->head_len) - w.offset);
	atomic64_add(w.length, &s->submitted);
	if (data_len) {
		u64 skip = data_pos - w.offset;

		skip += pofs;
		bs_submit_data(s, pages + (skip >> PAGE_SHIFT), offset_in_page(skip),
			       data_pos, data_len, pin);
	}
	bs_release_pages(pages, nr, pin);
	kvfree(pages);
	bs_maybe_progress(s);
	return 0;

out_unreserve:
	if (pages) {
		bs_release_pages(pages, nr, pin);
		kvfree(pages);
	}
	if (data_len)
		bs_unreserve(s, data_len);
	return ret;
}

/*
 * The partitions of the disk have page caches of their own, which the
 * whole disk's sync_blockdev() and invalidate_bdev() never touch: writes
 * buffered through a partition node before ATTACH would be written back
 * over the image later, and readers of a partition node would see what was
 * there before the flash. Writes them back (@sync) and drops their clean,
 * unmapped pages. A writer that keeps writing through a partition node
 * during the flash is not stopped by the exclusive claim (see
 * BS_OPEN_RESTRICT_WRITES).
 */
static void bs_flush_partitions(struct block_device *whole, bool sync)
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

/* Drops the page caches of the device and releases the claim. s->lock held. */
static void bs_detach(struct bs_session *s)
{
	if (!s->bdh.bdev)
		return;
	invalidate_bdev(s->bdh.bdev);
	bs_flush_partitions(s->bdh.bdev, false);
	bs_bdev_close(&s->bdh);
	kvfree(s->head_buf);
	s->head_buf = NULL;
}

/* Start of the tail region (backup GPT) zeroed besides the head. */
static u64 bs_tail_start(struct bs_session *s)
{
	u64 tail = s->dev_size > BOOTSEAL_TAIL_LEN ? s->dev_size - BOOTSEAL_TAIL_LEN : 0;

	return max(round_down(tail, s->lbs), s->head_len);
}

/* Zeroes the head and the last MiB, then flushes: nothing is in flight. */
static int bs_invalidate(struct bs_session *s, sector_t *bad)
{
	struct block_device *bdev = s->bdh.bdev;
	u64 tail = bs_tail_start(s);
	int ret;

	ret = bs_io_zero(bdev, 0, 0, s->head_len, bad);
	if (!ret && tail < s->dev_size)
		ret = bs_io_zero(bdev, 0, tail, s->dev_size - tail, bad);
	if (ret)
		return ret;
	*bad = BOOTSEAL_SECTOR_NONE;
	return blkdev_issue_flush(bdev);
}

static long bs_attach(struct bs_session *s, void __user *uarg)
{
	struct bootseal_attach a;
	struct block_device *bdev;
	sector_t bad = BOOTSEAL_SECTOR_NONE;
	u8 *head_buf;
	dev_t devt;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~__BOOTSEAL_ATTACH_F_ALL) || a.reserved0 ||
	    memchr_inv(a.reserved, 0, sizeof(a.reserved)) || !memchr(a.path, 0, sizeof(a.path)))
		return -EINVAL;
	if (s->id)
		return -EBADFD;
	if (!a.head_len || a.head_len > READ_ONCE(max_head_len))
		return -EINVAL;

	ret = lookup_bdev(a.path, &devt);
	if (ret)
		return ret;
	ret = bs_bdev_open(&s->bdh, devt, s);
	if (ret)
		return ret;
	bdev = s->bdh.bdev;
	if (bdev_is_partition(bdev))
		ret = -EMEDIUMTYPE;
	else if (bdev_is_zoned(bdev))
		ret = -EOPNOTSUPP;	/* sequential-write zones: no random writes */
	else if (bdev_read_only(bdev))
		ret = -EROFS;
	else if (a.head_len % bdev_logical_block_size(bdev) || a.head_len > bdev_nr_bytes(bdev))
		ret = -EINVAL;
	head_buf = ret ? NULL : kvzalloc(a.head_len, GFP_KERNEL_ACCOUNT);
	if (!ret && !head_buf)
		ret = -ENOMEM;
	if (ret) {
		bs_bdev_close(&s->bdh);
		return ret;
	}

	/* ids are taken under bs_sessions_lock so the list stays ordered by id */
	mutex_lock(&bs_sessions_lock);
	spin_lock_irq(&s->slock);
	s->id = ++bs_last_id;
	s->pid = task_tgid_nr(current);
	s->state = BOOTSEAL_STATE_ATTACHED;
	s->dev_size = bdev_nr_bytes(bdev);
	s->lbs = bdev_logical_block_size(bdev);
	s->pbs = bdev_physical_block_size(bdev);
	s->dev = new_encode_dev(bdev->bd_dev);
	snprintf(s->disk_name, sizeof(s->disk_name), "%pg", bdev);
	s->head_len = a.head_len;
	s->expected = a.total_bytes;
	s->budget = (u64)max(READ_ONCE(max_inflight_mb), BOOTSEAL_WRITE_MAX >> 20) << 20;
	s->head_buf = head_buf;
	spin_unlock_irq(&s->slock);
	list_add_tail(&s->node, &bs_sessions);
	s->listed = true;
	mutex_unlock(&bs_sessions_lock);
	bs_nl_notify(s, BOOTSEAL_EVENT_STATE);

	/* Dirty page cache from earlier writers must not land on top of us. */
	sync_blockdev(bdev);
	invalidate_bdev(bdev);
	bs_flush_partitions(bdev, true);
	ret = bs_invalidate(s, &bad);
	if (ret) {
		bs_fail_sync(s, -ret, bad);
		bs_detach(s);
		return ret;
	}
	if (!bs_set_state(s, BOOTSEAL_STATE_INVALIDATED))
		return -EIO;

	a.session_id = s->id;
	a.dev_size = s->dev_size;
	a.logical_block_size = s->lbs;
	a.physical_block_size = s->pbs;
	a.dev = s->dev;
	a.max_head_len = READ_ONCE(max_head_len);
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

/*
 * Writes the head: everything but the first physical block first, the
 * first physical block (the MBR / protective MBR, and on a 512e disk the
 * GPT header beside it) last and in one write, each with FUA, so no prefix
 * of the device's write history shows a partition table before the data
 * is complete, and a 512e disk never has to read-modify-write a physical
 * block 0 whose other sectors were just written (a torn RMW could lose
 * them). A head shorter than a physical block is one write. Then reads
 * the head back and compares.
 */
static int bs_seal_head(struct bs_session *s, sector_t *bad, bool *issued)
{
	struct block_device *bdev = s->bdh.bdev;
	blk_opf_t opf = REQ_OP_WRITE | REQ_SYNC | REQ_FUA;
	u64 first = min_t(u64, s->pbs, s->head_len);
	u8 *check;
	u64 i;
	int ret = 0;

	/* From here on a failure may leave part of the head on the medium. */
	*issued = true;
	if (s->head_len > first)
		ret = bs_io_kbuf(bdev, opf, first, s->head_buf + first, s->head_len - first, bad);
	if (!ret)
		ret = bs_io_kbuf(bdev, opf, 0, s->head_buf, first, bad);
	if (ret)
		return ret;

	check = kvmalloc(s->head_len, GFP_KERNEL_ACCOUNT);
	if (!check)
		return -ENOMEM;
	ret = bs_io_kbuf(bdev, REQ_OP_READ | REQ_SYNC, 0, check, s->head_len, bad);
	if (!ret) {
		for (i = 0; i < s->head_len; i += SECTOR_SIZE) {
			if (memcmp(check + i, s->head_buf + i, SECTOR_SIZE)) {
				*bad = i >> SECTOR_SHIFT;
				ret = -EIO;
				break;
			}
		}
	}
	kvfree(check);
	return ret;
}

/*
 * Zeroes [@pos, @pos + @len) with FUA and reads it back through the head
 * buffer. Returns 0 if it reads back as zeros; else the errno, with the
 * first failed (or non-zero) 512-byte sector in *@bad.
 */
static int bs_erase(struct bs_session *s, u64 pos, u64 len, sector_t *bad)
{
	int ret;

	ret = bs_io_zero(s->bdh.bdev, REQ_FUA, pos, len, bad);
	if (!ret)
		ret = bs_io_check_zero(s->bdh.bdev, pos, len, s->head_buf, s->head_len, bad);
	return ret;
}

/*
 * A seal failed after its first head write was issued, so LBA 0 may hold
 * the image's MBR / protective MBR over data that is not the image (a
 * device that acknowledged writes and lost them, a failed write that
 * landed partly). Rewrites the head (the first block first) and the tail
 * with zeros, FUA, and reads both back. Records what was erased; if any
 * part of it failed, the session will end UNCLEAN instead of FAILED, and
 * the kernel log says so. Called before the seal's error is recorded, so
 * that the one final event carries the outcome; the head buffer's
 * contents are no longer needed.
 */
static void bs_unseal(struct bs_session *s, int err, sector_t sector)
{
	sector_t bad = BOOTSEAL_SECTOR_NONE, tbad = BOOTSEAL_SECTOR_NONE;
	u64 tail = bs_tail_start(s);
	u32 done = BOOTSEAL_CLEANUP_RAN;
	int ret, tret = 0;

	ret = bs_erase(s, 0, s->head_len, &bad);
	if (!ret)
		done |= BOOTSEAL_CLEANUP_HEAD;
	if (tail < s->dev_size)
		tret = bs_erase(s, tail, s->dev_size - tail, &tbad);
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

static long bs_commit(struct bs_session *s)
{
	sector_t bad = BOOTSEAL_SECTOR_NONE;
	bool issued = false;
	int ret;

	ret = bs_check_io_state(s);
	if (ret == -EBADFD)
		return ret;
	ret = bs_drain(s, true);
	if (ret)
		return ret;
	bs_emit_failed(s);
	ret = bs_check_io_state(s);
	if (ret)
		goto out;

	if (!bs_set_state(s, BOOTSEAL_STATE_FLUSHING))
		goto out_err;
	ret = blkdev_issue_flush(s->bdh.bdev);
	if (ret) {
		bs_fail_sync(s, -ret, BOOTSEAL_SECTOR_NONE);
		goto out;
	}
	if (!bs_set_state(s, BOOTSEAL_STATE_SEALING))
		goto out_err;
	ret = bs_seal_head(s, &bad, &issued);
	if (ret) {
		if (issued)
			bs_unseal(s, ret, bad);
		bs_fail_sync(s, -ret, bad);
		goto out;
	}
	atomic64_add(s->head_len, &s->completed);
	bs_detach(s);
	if (!bs_set_state(s, BOOTSEAL_STATE_SEALED))
		goto out_err;
	return 0;

out_err:
	ret = bs_check_io_state(s) ?: -EIO;
out:
	bs_detach(s);
	return ret;
}

/* Drains, ends the session as ABORTED unless it already ended, detaches. */
static void bs_abort(struct bs_session *s)
{
	bs_drain(s, false);
	flush_work(&s->fail_work);
	bs_emit_failed(s);
	if (!bs_final(READ_ONCE(s->state)))
		bs_set_state(s, BOOTSEAL_STATE_ABORTED);
	bs_detach(s);
}

static long bs_status(struct bs_session *s, void __user *uarg)
{
	struct bootseal_status st;
	struct bs_snapshot snap;

	bs_session_snapshot(s, &snap);
	memset(&st, 0, sizeof(st));
	st.session_id = snap.id;
	st.state = snap.state;
	st.error = snap.error;
	st.error_sector = snap.error_sector;
	st.bytes_expected = snap.bytes_expected;
	st.bytes_submitted = snap.bytes_submitted;
	st.bytes_completed = snap.bytes_completed;
	st.head_len = snap.head_len;
	st.dev_size = snap.dev_size;
	st.dev = snap.dev;
	st.cleanup = snap.cleanup;
	st.cleanup_error = snap.cleanup_error;
	st.cleanup_sector = snap.cleanup_sector;
	memcpy(st.disk_name, snap.disk_name, sizeof(st.disk_name));
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

long bs_session_ioctl(struct bs_session *s, unsigned int cmd, void __user *arg)
{
	long ret;

	switch (cmd) {
	case BOOTSEAL_IOC_STATUS:
		return bs_status(s, arg);
	case BOOTSEAL_IOC_ATTACH:
	case BOOTSEAL_IOC_WRITE:
	case BOOTSEAL_IOC_COMMIT:
	case BOOTSEAL_IOC_ABORT:
		break;
	default:
		return -ENOTTY;
	}

	if (mutex_lock_killable(&s->lock))
		return -EINTR;
	switch (cmd) {
	case BOOTSEAL_IOC_ATTACH:
		ret = bs_attach(s, arg);
		break;
	case BOOTSEAL_IOC_WRITE:
		ret = bs_write(s, arg);
		break;
	case BOOTSEAL_IOC_COMMIT:
		ret = bs_commit(s);
		break;
	default:
		ret = bs_check_io_state(s);
		if (ret != -EBADFD) {
			bs_abort(s);
			ret = 0;
		}
		break;
	}
	mutex_unlock(&s->lock);
	return ret;
}

struct bs_session *bs_session_create(void)
{
	struct bs_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return NULL;
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->node);
	spin_lock_init(&s->slock);
	init_waitqueue_head(&s->wq);
	s->error_sector = BOOTSEAL_SECTOR_NONE;
	atomic64_set(&s->submitted, 0);
	atomic64_set(&s->completed, 0);
	INIT_WORK(&s->fail_work, bs_fail_work);
	return s;
}

void bs_session_release(struct bs_session *s)
{
	mutex_lock(&s->lock);
	if (s->id)
		bs_abort(s);
	if (s->listed) {
		mutex_lock(&bs_sessions_lock);
		list_del(&s->node);
		mutex_unlock(&bs_sessions_lock);
	}
	mutex_unlock(&s->lock);
	cancel_work_sync(&s->fail_work);
	kvfree(s->head_buf);
	mutex_destroy(&s->lock);
	kfree(s);
}

bool bs_session_next(u64 after, struct bs_snapshot *snap)
{
	struct bs_session *s;
	bool found = false;

	mutex_lock(&bs_sessions_lock);
	list_for_each_entry(s, &bs_sessions, node) {
		if (s->id > after) {
			bs_session_snapshot(s, snap);
			found = true;
			break;
		}
	}
	mutex_unlock(&bs_sessions_lock);
	return found;
}

bool bs_session_find(u64 id, struct bs_snapshot *snap)
{
	struct bs_session *s;
	bool found = false;

	mutex_lock(&bs_sessions_lock);
	list_for_each_entry(s, &bs_sessions, node) {
		if (s->id == id) {
			bs_session_snapshot(s, snap);
			found = true;
			break;
		}
	}
	mutex_unlock(&bs_sessions_lock);
	return found;
}

int bs_session_init(void)
{
	return bioset_init(&bs_bioset, BIO_POOL_SIZE, offsetof(struct bs_bio, bio),
			   BIOSET_NEED_BVECS);
}

void bs_session_uninit(void)
{
	bioset_exit(&bs_bioset);
}
