// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: state, errors and counters of one disk being flashed, whether
 * through /dev/bootseal (write.c) or as a staged device (stage.c); the
 * common part of attaching; the list of attached sessions that netlink
 * GET walks. Locking: see session.h.
 */
#include <linux/blkdev.h>
#include <linux/kdev_t.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "session.h"

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

unsigned int bs_max_head_len(void)
{
	return READ_ONCE(max_head_len);
}

static DEFINE_MUTEX(bs_sessions_lock);
static LIST_HEAD(bs_sessions);		/* ordered by id */
static u64 bs_last_id;			/* under bs_sessions_lock */

bool bs_final(u32 state)
{
	return state == BOOTSEAL_STATE_SEALED || state == BOOTSEAL_STATE_FAILED ||
	       state == BOOTSEAL_STATE_ABORTED || state == BOOTSEAL_STATE_UNCLEAN;
}

void bs_session_snapshot(struct bs_session *s, struct bs_snapshot *snap)
{
	unsigned long flags;

	spin_lock_irqsave(&s->slock, flags);
	snap->id = s->id;
	snap->kind = s->kind;
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
	memcpy(snap->staged_name, s->staged_name, sizeof(snap->staged_name));
	snap->bytes_submitted = atomic64_read(&s->submitted);
	snap->bytes_completed = atomic64_read(&s->completed);
	spin_unlock_irqrestore(&s->slock, flags);
}

/* Process context, s->lock held. Returns false if the session failed meanwhile. */
bool bs_set_state(struct bs_session *s, u32 state)
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
bool __bs_fail(struct bs_session *s, int err, u64 sector)
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

/* Multicasts FAILED/UNCLEAN once; call only when nothing is in flight. */
void bs_emit_failed(struct bs_session *s)
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
void bs_fail_sync(struct bs_session *s, int err, u64 sector)
{
	spin_lock_irq(&s->slock);
	__bs_fail(s, err, sector);
	spin_unlock_irq(&s->slock);
	bs_emit_failed(s);
}

/* The negative errno of the session's first error, or 0. */
int bs_session_error(struct bs_session *s)
{
	int err;

	spin_lock_irq(&s->slock);
	err = s->error;
	spin_unlock_irq(&s->slock);
	return -err;
}

static bool bs_idle(struct bs_session *s)
{
	return READ_ONCE(s->inflight) == 0;
}

/* s->lock held. */
void bs_maybe_progress(struct bs_session *s)
{
	if (time_before(jiffies, s->next_progress) || READ_ONCE(s->error))
		return;
	s->next_progress = jiffies + BS_PROGRESS_INTERVAL;
	bs_nl_notify(s, BOOTSEAL_EVENT_PROGRESS);
}

/*
 * Waits until nothing is in flight, sending progress meanwhile. Returns
 * -EINTR if @killable and a fatal signal arrived.
 */
int bs_drain(struct bs_session *s, bool killable)
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
 * Multicasts FAILED after a bio failed. Queued on the shared system
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
void bs_fail_event_if_idle(struct bs_session *s)
{
	if (!s->inflight && s->fail_event_pending)
		queue_work(system_wq, &s->fail_work);
}

void bs_session_init_common(struct bs_session *s, u32 kind)
{
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->node);
	spin_lock_init(&s->slock);
	init_waitqueue_head(&s->wq);
	s->kind = kind;
	s->error_sector = BOOTSEAL_SECTOR_NONE;
	atomic64_set(&s->submitted, 0);
	atomic64_set(&s->completed, 0);
	INIT_WORK(&s->fail_work, bs_fail_work);
}

/* Start of the tail region (backup GPT) besides the head. */
static u64 bs_tail_start(u64 dev_size, u32 lbs, u64 head_len)
{
	u64 tail = dev_size > BOOTSEAL_TAIL_LEN ? dev_size - BOOTSEAL_TAIL_LEN : 0;

	return max(round_down(tail, lbs), head_len);
}

/* bs_sessions_lock held: a live session other than @s holds @dev. */
static bool bs_dev_taken(struct bs_session *s, u32 dev)
{
	struct bs_session *o;

	list_for_each_entry(o, &bs_sessions, node)
		if (o != s && o->dev == dev && READ_ONCE(o->bdev))
			return true;
	return false;
}

/*
 * The common part of attaching @s (s->lock held) to the claimed whole disk
 * @bdev: takes an id, lists the session (ATTACHED), writes back and drops
 * the page caches of the disk and its partitions (dirty pages from earlier
 * writers must not land on top of the image), and invalidates: the head
 * and the tail are zero and durable (INVALIDATED). @buffer_tail: the tail
 * is held in a buffer too (stages), not written as data. Returns 0, or a
 * negative errno with the session FAILED (invalidation) or not attached
 * (EBUSY: another session holds the disk; ENOMEM); the caller releases
 * the disk.
 */
int bs_session_attach(struct bs_session *s, struct block_device *bdev, u64 head_len,
		      u64 expected, bool buffer_tail, const char *staged_name)
{
	u64 dev_size = bdev_nr_bytes(bdev);
	u32 lbs = bdev_logical_block_size(bdev);
	u64 tail_start = bs_tail_start(dev_size, lbs, head_len);
	sector_t bad = BOOTSEAL_SECTOR_NONE;
	u8 *head_buf, *tail_buf = NULL;
	int ret;

	head_buf = kvzalloc(head_len, GFP_KERNEL_ACCOUNT);
	if (head_buf && buffer_tail && tail_start < dev_size)
		tail_buf = kvzalloc(dev_size - tail_start, GFP_KERNEL_ACCOUNT);
	if (!head_buf || (buffer_tail && tail_start < dev_size && !tail_buf)) {
		kvfree(head_buf);
		return -ENOMEM;
	}

	/* ids are taken under bs_sessions_lock so the list stays ordered by id */
	mutex_lock(&bs_sessions_lock);
	if (bs_dev_taken(s, new_encode_dev(bdev->bd_dev))) {
		mutex_unlock(&bs_sessions_lock);
		kvfree(tail_buf);
		kvfree(head_buf);
		return -EBUSY;
	}
	spin_lock_irq(&s->slock);
	s->id = ++bs_last_id;
	s->pid = task_tgid_nr(current);
	s->state = BOOTSEAL_STATE_ATTACHED;
	s->bdev = bdev;
	s->dev_size = dev_size;
	s->lbs = lbs;
	s->pbs = bdev_physical_block_size(bdev);
	s->dev = new_encode_dev(bdev->bd_dev);
	snprintf(s->disk_name, sizeof(s->disk_name), "%pg", bdev);
	if (staged_name)
		strscpy(s->staged_name, staged_name, sizeof(s->staged_name));
	s->head_len = head_len;
	s->tail_start = tail_start;
	s->expected = expected;
	s->head_buf = head_buf;
	s->tail_buf = tail_buf;
	spin_unlock_irq(&s->slock);
	s->next_progress = jiffies;	/* jiffies start near -5 min after boot */
	list_add_tail(&s->node, &bs_sessions);
	s->listed = true;
	mutex_unlock(&bs_sessions_lock);
	bs_nl_notify(s, BOOTSEAL_EVENT_STATE);

	sync_blockdev(bdev);
	invalidate_bdev(bdev);
	bs_flush_partitions(bdev, true);
	ret = bs_invalidate(s, &bad);
	if (ret) {
		bs_fail_sync(s, -ret, bad);
		return ret;
	}
	if (!bs_set_state(s, BOOTSEAL_STATE_INVALIDATED))
		return bs_session_error(s) ?: -EIO;
	return 0;
}

/* Takes @s off the list netlink walks. s->lock held. */
void bs_session_unlist(struct bs_session *s)
{
	if (!s->listed)
		return;
	mutex_lock(&bs_sessions_lock);
	list_del(&s->node);
	mutex_unlock(&bs_sessions_lock);
	s->listed = false;
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
