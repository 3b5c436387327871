// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/bootseal write path: ATTACH (claim + invalidate), WRITE
 * (asynchronous data bios under a bounded in-flight budget), COMMIT (drain,
 * then the shared seal), ABORT, STATUS. Every data bio is put back into
 * bs_bioset before its completion takes s->slock, so a released session
 * never has a bio on its way back. Locking: see session.h.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "session.h"

static unsigned int max_inflight_mb = 64;
module_param(max_inflight_mb, uint, 0644);
MODULE_PARM_DESC(max_inflight_mb,
		 "Data bytes a session may have in flight, MiB (default 64, at least 16)");

/* Every data bio is allocated with this header in front (bioset front_pad). */
struct bs_bio {
	struct bs_session *s;
	sector_t sector;		/* first 512-byte sector */
	u32 bytes;			/* length */
	bool pinned;			/* user pages (unpin) or ours (free) */
	struct bio bio;			/* must be last */
};

static struct bio_set bs_bioset;
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
		struct bio *bio = bio_alloc_bioset(s->bdev, BIO_MAX_VECS, REQ_OP_WRITE,
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
	      !(w.buf & bdev_dma_alignment(s->bdev));
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
	if (!pages) {
		ret = -ENOMEM;
		goto out_unreserve;
	}
	ret = pin ? bs_pin_pages((unsigned long)w.buf, nr, pages) : bs_alloc_pages(pages, nr);
	if (ret)
		goto out_release;
	for (i = 0; !pin && i < nr; i++) {
		u64 n = min_t(u64, PAGE_SIZE, w.length - ((u64)i << PAGE_SHIFT));

		if (copy_from_user(page_address(pages[i]), ubuf + ((u64)i << PAGE_SHIFT), n)) {
			ret = -EFAULT;
			goto out_release;
		}
	}
	/* the session may have failed while we copied */
	ret = bs_session_error(s);
	if (ret)
		goto out_release;

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
	bs_maybe_progress(s);

out_release:
	/* the pages bs_submit_data() handed to bios are NULL here */
	bs_release_pages(pages, nr, pin);
	kvfree(pages);
out_unreserve:
	if (ret && data_len)
		bs_unreserve(s, data_len);
	return ret;
}

/* Drops the page caches of the device and releases the claim. s->lock held. */
static void bs_detach(struct bs_session *s)
{
	if (!s->bdev)
		return;
	bs_drop_caches(s);
	WRITE_ONCE(s->bdev, NULL);
	bs_bdev_close(&s->bdh);
	kvfree(s->head_buf);
	s->head_buf = NULL;
}

static long bs_attach(struct bs_session *s, void __user *uarg)
{
	struct bootseal_attach a;
	struct block_device *bdev;
	dev_t devt;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~__BOOTSEAL_ATTACH_F_ALL) || a.reserved0 ||
	    memchr_inv(a.reserved, 0, sizeof(a.reserved)) || !memchr(a.path, 0, sizeof(a.path)))
		return -EINVAL;
	if (s->id)
		return -EBADFD;
	if (!a.head_len || a.head_len > bs_max_head_len())
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
	if (!ret) {
		s->budget = (u64)max(READ_ONCE(max_inflight_mb), BOOTSEAL_WRITE_MAX >> 20) << 20;
		ret = bs_session_attach(s, bdev, a.head_len, a.total_bytes, false, NULL);
	}
	if (ret) {
		if (s->bdev)
			bs_detach(s);
		else
			bs_bdev_close(&s->bdh);
		return ret;
	}

	a.session_id = s->id;
	a.dev_size = s->dev_size;
	a.logical_block_size = s->lbs;
	a.physical_block_size = s->pbs;
	a.dev = s->dev;
	a.max_head_len = bs_max_head_len();
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

static long bs_commit(struct bs_session *s)
{
	int ret;

	ret = bs_check_io_state(s);
	if (ret == -EBADFD)
		return ret;
	ret = bs_drain(s, true);
	if (ret)
		return ret;
	bs_emit_failed(s);
	ret = bs_check_io_state(s);
	if (!ret)
		ret = bs_seal(s);
	bs_detach(s);
	if (!ret && !bs_set_state(s, BOOTSEAL_STATE_SEALED))
		ret = bs_check_io_state(s) ?: -EIO;
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

	if (s)
		bs_session_init_common(s, BOOTSEAL_KIND_SESSION);
	return s;
}

void bs_session_release(struct bs_session *s)
{
	mutex_lock(&s->lock);
	if (s->id)
		bs_abort(s);
	bs_session_unlist(s);
	mutex_unlock(&s->lock);
	cancel_work_sync(&s->fail_work);
	kvfree(s->head_buf);
	mutex_destroy(&s->lock);
	kfree(s);
}

int bs_write_init(void)
{
	return bioset_init(&bs_bioset, BIO_POOL_SIZE, offsetof(struct bs_bio, bio),
			   BIOSET_NEED_BVECS);
}

void bs_write_uninit(void)
{
	bioset_exit(&bs_bioset);
}
