/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session: one disk being flashed under the ordering contract, either
 * through /dev/bootseal (write.c) or as a staged device-mapper device
 * (stage.c). session.c keeps its state, counters and the list netlink
 * walks; seal.c holds the contract's steps, which both front ends share.
 *
 * Locking:
 *  - s->lock (mutex) serializes the ioctls, the stage's messages and the
 *    release of one session; every state transition except "-> FAILED"
 *    (and a stage's "-> WRITING") happens under it.
 *  - s->slock (irq-safe spinlock) guards state, error and s->inflight,
 *    which bio completions update; completions also wake s->wq under it,
 *    so taking it once after the last completion is enough to free the
 *    session.
 *  - bs_sessions_lock (mutex) guards the list of attached sessions that
 *    netlink GET walks; it nests outside s->slock.
 */
#ifndef BOOTSEAL_SESSION_H
#define BOOTSEAL_SESSION_H

#include <linux/atomic.h>
#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "internal.h"
#include "compat.h"

#define BS_PROGRESS_INTERVAL	(HZ / 10)	/* at most ~10 progress events/s per session */

struct bs_session {
	struct mutex lock;		/* serializes ioctls, messages and release */
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
	/* ioctl: data bytes reserved or in flight; stage: bios being served */
	u64 inflight;
	wait_queue_head_t wq;		/* inflight went down */

	/* Set at attach, constant afterwards (snapshot copies under slock). */
	u32 kind;			/* enum bootseal_kind */
	struct block_device *bdev;	/* the disk; NULL once detached */
	struct bs_bdev bdh;		/* ioctl sessions: our claim on @bdev */
	u64 dev_size;			/* bytes */
	u32 lbs;			/* logical block size, bytes */
	u32 pbs;			/* physical block size, bytes */
	u32 dev;			/* new_encode_dev() */
	char disk_name[BOOTSEAL_DISK_NAME_LEN];
	char staged_name[BOOTSEAL_STAGED_NAME_LEN];	/* stage: the dm device's name */
	u64 head_len;			/* bytes */
	u64 tail_start;			/* bytes: the tail is [tail_start, dev_size) */
	u64 expected;			/* bytes announced by userspace */
	u64 budget;			/* ioctl: in-flight limit, bytes */

	u8 *head_buf;			/* head_len bytes, kvmalloc */
	u8 *tail_buf;			/* stage: the tail's bytes; NULL: written as data */
	atomic64_t submitted;		/* bytes accepted */
	atomic64_t completed;		/* data bytes written (+ head, tail once sealed) */
	unsigned long next_progress;	/* jiffies; under s->lock */
	struct work_struct fail_work;	/* multicasts FAILED after a bio error */
};

/* session.c: lifecycle, state, the session list */
unsigned int bs_max_head_len(void);
bool bs_final(u32 state);
void bs_session_init_common(struct bs_session *s, u32 kind);
int bs_session_attach(struct bs_session *s, struct block_device *bdev, u64 head_len,
		      u64 expected, bool buffer_tail, const char *staged_name);
void bs_session_unlist(struct bs_session *s);
bool bs_set_state(struct bs_session *s, u32 state);
bool __bs_fail(struct bs_session *s, int err, u64 sector);
void bs_emit_failed(struct bs_session *s);
void bs_fail_sync(struct bs_session *s, int err, u64 sector);
void bs_fail_event_if_idle(struct bs_session *s);
int bs_session_error(struct bs_session *s);
void bs_maybe_progress(struct bs_session *s);
int bs_drain(struct bs_session *s, bool killable);

/* seal.c: the ordering contract's steps */
void bs_flush_partitions(struct block_device *whole, bool sync);
void bs_drop_caches(struct bs_session *s);
int bs_invalidate(struct bs_session *s, sector_t *bad);
int bs_seal(struct bs_session *s);

#endif /* BOOTSEAL_SESSION_H */
