// SPDX-License-Identifier: GPL-2.0
/*
 * The device-mapper target "bootseal": a staged disk. Any writer (mkfs,
 * dd, bmaptool, an imaging script) writes to the staged device; the
 * target holds writes to the head and the tail back in kernel buffers and
 * serves reads of those regions from them, so the writer sees its own
 * partition table while the disk's stays zero; everything else goes to
 * the disk. The message "seal" then does what COMMIT does for an ioctl
 * session, through the same code (seal.c). Table, message and status
 * formats: uapi/bootseal.h, "DEVICE-MAPPER TARGET".
 *
 * A staged disk is a session of kind BOOTSEAL_KIND_STAGED: the same
 * states, netlink events and list. s->inflight counts the bios being
 * served (buffer copies and bios remapped to the disk) while staged; the
 * seal sets @quiesce, after which new bios wait in @deferred, and drains
 * s->inflight to zero before it flushes.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "session.h"

#define DM_MSG_PREFIX	"bootseal"

static_assert(BOOTSEAL_STAGED_NAME_LEN == DM_NAME_LEN);

struct bs_stage {
	struct bs_session s;
	struct dm_target *ti;
	struct dm_dev *dev;		/* the disk, claimed through device-mapper */
	sector_t head_sectors;		/* [0, head_sectors) is held back */
	sector_t tail_sector;		/* [tail_sector, end) is held back */
	struct rw_semaphore buf_lock;	/* the contents of s.head_buf and s.tail_buf */

	/* under s.slock */
	bool quiesce;			/* a seal runs: new bios wait in @deferred */
	bool wrote;			/* a write arrived (state WRITING) */
	bool state_event;		/* WRITING not multicast yet */
	unsigned long next_progress;	/* jiffies */
	struct bio_list deferred;
	struct work_struct event_work;	/* WRITING and progress events */
};

/* Per-bio data. */
struct bs_stage_io {
	sector_t sector;		/* first sector, for the error report */
	u32 bytes;
	bool counted;			/* remapped while staged: in s.inflight */
};

enum bs_admit { BS_PASS, BS_KILL, BS_DEFER, BS_SERVE };

static void bs_stage_event_work(struct work_struct *work)
{
	struct bs_stage *st = container_of(work, struct bs_stage, event_work);
	bool state;

	spin_lock_irq(&st->s.slock);
	/* WRITING goes out only while it is the state: FAILED has its own event */
	state = st->state_event && st->s.state == BOOTSEAL_STATE_WRITING;
	st->state_event = false;
	spin_unlock_irq(&st->s.slock);
	if (state || !READ_ONCE(st->s.error))
		bs_nl_notify(&st->s, state ? BOOTSEAL_EVENT_STATE : BOOTSEAL_EVENT_PROGRESS);
}

/*
 * Decides what happens to @bio: SEALED passes everything to the disk; a
 * failed or ended session fails it; during a seal it waits; otherwise it
 * is counted in s.inflight and served (bs_stage_serve()).
 */
static enum bs_admit bs_stage_admit(struct bs_stage *st, struct bio *bio)
{
	struct bs_session *s = &st->s;
	enum bs_admit ret = BS_SERVE;
	unsigned long flags;

	spin_lock_irqsave(&s->slock, flags);
	if (s->state == BOOTSEAL_STATE_SEALED) {
		ret = BS_PASS;
	} else if (bs_final(s->state) || s->error) {
		ret = BS_KILL;
	} else if (st->quiesce) {
		bio_list_add(&st->deferred, bio);
		ret = BS_DEFER;
	} else {
		s->inflight++;
		if (!st->wrote && op_is_write(bio_op(bio)) && bio_sectors(bio)) {
			st->wrote = true;
			s->state = BOOTSEAL_STATE_WRITING;
			st->state_event = true;
			queue_work(system_wq, &st->event_work);
		}
	}
	spin_unlock_irqrestore(&s->slock, flags);
	return ret;
}

/* A bio counted in s.inflight is done. Any context. */
static void bs_stage_put(struct bs_stage *st)
{
	struct bs_session *s = &st->s;
	unsigned long flags;

	spin_lock_irqsave(&s->slock, flags);
	s->inflight--;
	bs_fail_event_if_idle(s);
	if (time_after_eq(jiffies, st->next_progress)) {
		st->next_progress = jiffies + BS_PROGRESS_INTERVAL;
		queue_work(system_wq, &st->event_work);
	}
	wake_up(&s->wq);
	spin_unlock_irqrestore(&s->slock, flags);
}

/* Copies between @bio and the held-back bytes at @buf. */
static void bs_stage_copy(struct bs_stage *st, struct bio *bio, u8 *buf)
{
	bool write = op_is_write(bio_op(bio));
	struct bvec_iter iter;
	struct bio_vec bv;

	/* map may sleep: the target does not take REQ_NOWAIT bios */
	if (write)
		down_write(&st->buf_lock);
	else
		down_read(&st->buf_lock);
	bio_for_each_segment(bv, bio, iter) {
		if (write)
			memcpy_from_bvec((char *)buf, &bv);
		else
			memcpy_to_bvec(&bv, (char *)buf);
		buf += bv.bv_len;
		cond_resched();
	}
	if (write)
		up_write(&st->buf_lock);
	else
		up_read(&st->buf_lock);
}

/*
 * Serves an admitted bio, which lies in one region (bs_stage_map() split
 * it): the head or the tail from the buffers, completing it here, or
 * anything else (and empty flushes) remapped to the disk. Returns the
 * DM_MAPIO_* for it.
 */
static int bs_stage_serve(struct bs_stage *st, struct bio *bio)
{
	struct bs_stage_io *io = dm_per_bio_data(bio, sizeof(*io));
	sector_t sector = bio->bi_iter.bi_sector;
	enum req_op op = bio_op(bio);
	blk_status_t status = BLK_STS_OK;
	u8 *buf;

	if (bio_sectors(bio) && sector < st->head_sectors) {
		buf = st->s.head_buf + ((u64)sector << SECTOR_SHIFT);
	} else if (bio_sectors(bio) && sector >= st->tail_sector) {
		buf = st->s.tail_buf + ((u64)(sector - st->tail_sector) << SECTOR_SHIFT);
	} else {
		io->sector = sector;
		io->bytes = bio->bi_iter.bi_size;
		io->counted = true;
		if (op_is_write(op))
			atomic64_add(io->bytes, &st->s.submitted);
		bio_set_dev(bio, st->dev->bdev);
		return DM_MAPIO_REMAPPED;
	}

	if (op == REQ_OP_READ || op == REQ_OP_WRITE) {
		bs_stage_copy(st, bio, buf);
		if (op == REQ_OP_WRITE)
			atomic64_add(bio->bi_iter.bi_size, &st->s.submitted);
	} else {
		status = BLK_STS_NOTSUPP;	/* no discard, write-zeroes: not advertised */
	}
	bs_stage_put(st);
	bio->bi_status = status;
	bio_endio(bio);
	return DM_MAPIO_SUBMITTED;
}

static int bs_stage_map(struct dm_target *ti, struct bio *bio)
{
	struct bs_stage *st = ti->private;
	struct bs_stage_io *io = dm_per_bio_data(bio, sizeof(*io));
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int n = bio_sectors(bio);

	io->counted = false;
	/* Split at the regions' edges: only the map function may. */
	if (n && sector < st->head_sectors && sector + n > st->head_sectors)
		dm_accept_partial_bio(bio, st->head_sectors - sector);
	else if (n && sector < st->tail_sector && sector + n > st->tail_sector)
		dm_accept_partial_bio(bio, st->tail_sector - sector);

	switch (bs_stage_admit(st, bio)) {
	case BS_PASS:
		bio_set_dev(bio, st->dev->bdev);
		return DM_MAPIO_REMAPPED;
	case BS_KILL:
		return DM_MAPIO_KILL;
	case BS_DEFER:
		return DM_MAPIO_SUBMITTED;
	default:
		return bs_stage_serve(st, bio);
	}
}

static int bs_stage_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct bs_stage *st = ti->private;
	struct bs_stage_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct bs_session *s = &st->s;
	unsigned long flags;

	if (!io->counted)
		return DM_ENDIO_DONE;
	if (op_is_write(bio_op(bio))) {
		spin_lock_irqsave(&s->slock, flags);
		/* a failed write or flush: the disk can no longer be sealed */
		if (*error)
			__bs_fail(s, -blk_status_to_errno(*error),
				  io->bytes ? io->sector : BOOTSEAL_SECTOR_NONE);
		else
			atomic64_add(io->bytes, &s->completed);
		spin_unlock_irqrestore(&s->slock, flags);
	}
	bs_stage_put(st);
	return DM_ENDIO_DONE;
}

/* Ends a seal's quiesce: the bios that waited go their way. s.lock held. */
static void bs_stage_resume(struct bs_stage *st)
{
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&st->s.slock);
	st->quiesce = false;
	bio_list_init(&list);
	bio_list_merge(&list, &st->deferred);
	bio_list_init(&st->deferred);
	spin_unlock_irq(&st->s.slock);

	while ((bio = bio_list_pop(&list))) {
		switch (bs_stage_admit(st, bio)) {
		case BS_PASS:
			bio_set_dev(bio, st->dev->bdev);
			dm_submit_bio_remap(bio, NULL);
			break;
		case BS_SERVE:
			if (bs_stage_serve(st, bio) == DM_MAPIO_REMAPPED)
				dm_submit_bio_remap(bio, NULL);
			break;
		default:	/* BS_KILL; BS_DEFER cannot happen: quiesce is off */
			bio_io_error(bio);
			break;
		}
	}
}

/* "seal": the contract's step 4 for a staged disk. */
/*
 * Writes above the target would not be waited for: dirty pages of the
 * staged device (its page cache is written back at its last close), bios
 * device-mapper holds while it is suspended, file systems on mappings of
 * its partitions. So the seal needs a staged device that nobody has open
 * and that is not suspended: EBUSY otherwise. s->slock held.
 */
static int bs_stage_busy(struct bs_stage *st)
{
	struct mapped_device *md = dm_table_get_md(st->ti->table);

	if (dm_suspended(st->ti)) {
		DMWARN("%s: not sealed: the staged device is suspended", st->s.staged_name);
		return -EBUSY;
	}
	if (atomic_read(&dm_disk(md)->part0->bd_openers)) {
		DMWARN("%s: not sealed: the staged device is open (a file system, a partition mapping, a writer); close it first",
		       st->s.staged_name);
		return -EBUSY;
	}
	return 0;
}

static int bs_stage_seal(struct bs_stage *st)
{
	struct bs_session *s = &st->s;
	unsigned int noio;
	int ret;

	if (mutex_lock_killable(&s->lock))
		return -EINTR;
	spin_lock_irq(&s->slock);
	if (s->error)
		ret = -s->error;
	else if (s->state != BOOTSEAL_STATE_INVALIDATED && s->state != BOOTSEAL_STATE_WRITING)
		ret = -EBADFD;
	else
		ret = bs_stage_busy(st);
	st->quiesce = !ret;
	spin_unlock_irq(&s->slock);
	if (ret)
		goto out;

	/* bios wait in @deferred now: no reclaim may wait for their writeback */
	noio = memalloc_noio_save();
	ret = bs_drain(s, true);
	if (!ret) {
		flush_work(&st->event_work);
		bs_emit_failed(s);
		ret = bs_session_error(s);
		if (!ret && bs_bdev_claims(s->bdev) > 1) {
			DMERR("%s: the disk is held by another device-mapper device too: not sealed",
			      s->disk_name);
			ret = -EBUSY;
		}
		if (!ret)
			ret = bs_seal(s);
		if (!ret) {
			bs_drop_caches(s);
			if (!bs_set_state(s, BOOTSEAL_STATE_SEALED))
				ret = bs_session_error(s) ?: -EIO;
		}
		if (!ret) {
			/* passed through from now on: the buffers are no longer read */
			kvfree(s->head_buf);
			kvfree(s->tail_buf);
			s->head_buf = NULL;
			s->tail_buf = NULL;
		}
	}
	bs_stage_resume(st);
	memalloc_noio_restore(noio);
out:
	mutex_unlock(&s->lock);
	return ret;
}

static int bs_stage_message(struct dm_target *ti, unsigned int argc, char **argv,
			    char *result, unsigned int maxlen)
{
	if (argc == 1 && !strcasecmp(argv[0], "seal"))
		return bs_stage_seal(ti->private);
	DMWARN("unknown message (the only one is \"seal\", without arguments)");
	return -EINVAL;
}

static const char *bs_stage_state_name(u32 state)
{
	switch (state) {
	case BOOTSEAL_STATE_WRITING:
		return "writing";
	case BOOTSEAL_STATE_FLUSHING:
	case BOOTSEAL_STATE_SEALING:
		return "sealing";
	case BOOTSEAL_STATE_SEALED:
		return "sealed";
	case BOOTSEAL_STATE_FAILED:
		return "failed";
	case BOOTSEAL_STATE_UNCLEAN:
		return "unclean";
	case BOOTSEAL_STATE_ABORTED:
		return "aborted";
	default:
		return "staged";
	}
}

static void bs_stage_status(struct dm_target *ti, status_type_t type,
			    unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct bs_stage *st = ti->private;
	struct bs_snapshot snap;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		bs_session_snapshot(&st->s, &snap);
		DMEMIT("%s %llu %llu %llu %u ", bs_stage_state_name(snap.state), snap.id,
		       snap.bytes_submitted, snap.bytes_completed, snap.error);
		if (snap.error_sector == BOOTSEAL_SECTOR_NONE)
			DMEMIT("- ");
		else
			DMEMIT("%llu ", snap.error_sector);
		DMEMIT("%u %u ", snap.cleanup, snap.cleanup_error);
		if (snap.cleanup_sector == BOOTSEAL_SECTOR_NONE)
			DMEMIT("-");
		else
			DMEMIT("%llu", snap.cleanup_sector);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", st->dev->name, (unsigned long long)st->head_sectors);
		break;
	default:
		*result = '\0';
		break;
	}
}

static int bs_stage_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn,
				    void *data)
{
	struct bs_stage *st = ti->private;

	return fn(ti, st->dev, 0, ti->len, data);
}

static void bs_stage_free(struct bs_stage *st)
{
	cancel_work_sync(&st->event_work);
	cancel_work_sync(&st->s.fail_work);
	kvfree(st->s.head_buf);
	kvfree(st->s.tail_buf);
	mutex_destroy(&st->s.lock);
	kfree(st);
}

/* Checks the disk of a new stage; the reason goes to ti->error. */
static int bs_stage_check(struct dm_target *ti, struct block_device *bdev, u64 head)
{
	u64 size = bdev_nr_bytes(bdev);

	if (bdev_is_partition(bdev)) {
		ti->error = "not a whole disk (a partition)";
		return -EMEDIUMTYPE;
	}
	if (bdev_is_zoned(bdev)) {
		ti->error = "a zoned disk cannot be staged";
		return -EOPNOTSUPP;
	}
	if (bdev_read_only(bdev)) {
		ti->error = "the disk is read-only";
		return -EROFS;
	}
	if (ti->len != bdev_nr_sectors(bdev)) {
		DMERR("%pg: the target is %llu sectors long, the disk %llu", bdev,
		      (unsigned long long)ti->len, (unsigned long long)bdev_nr_sectors(bdev));
		ti->error = "the target's length must be the whole disk's size in sectors";
		return -EINVAL;
	}
	if (head > bs_max_head_len()) {
		DMERR("%pg: a head of %llu bytes is more than max_head_len (%u)", bdev, head,
		      bs_max_head_len());
		ti->error = "the head is larger than the module's max_head_len";
		return -EINVAL;
	}
	if (head % bdev_logical_block_size(bdev) || head > size) {
		ti->error = "the head is not a multiple of the logical block size or does not fit the disk";
		return -EINVAL;
	}
	if (bs_bdev_claims(bdev) > 1) {
		ti->error = "the disk is held by another device-mapper device";
		return -EBUSY;
	}
	return 0;
}

/* <whole-disk device> <head sectors> */
static int bs_stage_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	char name[BOOTSEAL_STAGED_NAME_LEN];
	struct bs_stage *st;
	unsigned long long head;
	char dummy;
	int ret;

	if (argc != 2) {
		ti->error = "expected two arguments: <whole-disk device> <head sectors>";
		return -EINVAL;
	}
	if (ti->begin) {
		ti->error = "the target must start at sector 0 and cover the whole disk";
		return -EINVAL;
	}
	if (sscanf(argv[1], "%llu%c", &head, &dummy) != 1 || !head ||
	    head > (U64_MAX >> SECTOR_SHIFT)) {
		ti->error = "head sectors: not a positive number";
		return -EINVAL;
	}
	if (!(dm_table_get_mode(ti->table) & BS_MODE_WRITE)) {
		ti->error = "a staged disk needs a writable table";
		return -EROFS;
	}

	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st) {
		ti->error = "out of memory";
		return -ENOMEM;
	}
	bs_session_init_common(&st->s, BOOTSEAL_KIND_STAGED);
	init_rwsem(&st->buf_lock);
	bio_list_init(&st->deferred);
	INIT_WORK(&st->event_work, bs_stage_event_work);

	ret = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &st->dev);
	if (ret) {
		ti->error = "cannot open the disk";
		goto err_free;
	}
	ret = bs_stage_check(ti, st->dev->bdev, head << SECTOR_SHIFT);
	if (ret)
		goto err_put;

	/* the name it was created with (dm_device_name() is "MAJ:MIN") */
	if (dm_copy_name_and_uuid(dm_table_get_md(ti->table), name, NULL))
		strscpy(name, dm_device_name(dm_table_get_md(ti->table)), sizeof(name));
	mutex_lock(&st->s.lock);
	ret = bs_session_attach(&st->s, st->dev->bdev, head << SECTOR_SHIFT, 0, true, name);
	if (ret) {
		WRITE_ONCE(st->s.bdev, NULL);
		bs_session_unlist(&st->s);
	}
	mutex_unlock(&st->s.lock);
	if (ret) {
		ti->error = ret == -EBUSY ? "the disk is staged already" :
			    ret == -ENOMEM ? "out of memory for the head and the tail" :
			    "zeroing the head and the tail failed";
		goto err_put;
	}
	st->head_sectors = head;
	st->tail_sector = st->s.tail_start >> SECTOR_SHIFT;
	st->next_progress = jiffies;
	st->ti = ti;

	ti->private = st;
	ti->num_flush_bios = 1;
	ti->per_io_data_size = sizeof(struct bs_stage_io);
	/* deferred bios are accounted when they are remapped, once */
	ti->accounts_remapped_io = true;
	/* no discard, write-zeroes or secure-erase bios: those ops stay off */
	return 0;

err_put:
	dm_put_device(ti, st->dev);
err_free:
	bs_stage_free(st);
	return ret;
}

/*
 * Removal: no I/O is in flight (device-mapper suspended the device). Without
 * a seal the session ends ABORTED: the head and the tail stay zero.
 */
static void bs_stage_dtr(struct dm_target *ti)
{
	struct bs_stage *st = ti->private;
	struct bs_session *s = &st->s;

	mutex_lock(&s->lock);
	cancel_work_sync(&st->event_work);
	flush_work(&s->fail_work);
	bs_emit_failed(s);
	if (!bs_final(READ_ONCE(s->state)) && bs_set_state(s, BOOTSEAL_STATE_ABORTED))
		pr_info("%s: staged device %s removed without a seal: the disk is left unflashed\n",
			s->disk_name, s->staged_name);
	bs_drop_caches(s);
	WRITE_ONCE(s->bdev, NULL);
	bs_session_unlist(s);
	mutex_unlock(&s->lock);
	dm_put_device(ti, st->dev);
	bs_stage_free(st);
}

static struct target_type bs_stage_target = {
	.name			= "bootseal",
	.version		= {1, 0, 0},
	.features		= DM_TARGET_SINGLETON | DM_TARGET_IMMUTABLE,
	.module			= THIS_MODULE,
	.ctr			= bs_stage_ctr,
	.dtr			= bs_stage_dtr,
	.map			= bs_stage_map,
	.end_io			= bs_stage_end_io,
	.status			= bs_stage_status,
	.message		= bs_stage_message,
	.iterate_devices	= bs_stage_iterate_devices,
};

int bs_stage_init(void)
{
	return dm_register_target(&bs_stage_target);
}

void bs_stage_uninit(void)
{
	dm_unregister_target(&bs_stage_target);
}

MODULE_ALIAS("dm-bootseal");
