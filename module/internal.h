/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the module's parts offer each other: the snapshot a session gives
 * to netlink, and the entry points main.c wires up. The session itself:
 * session.h. The contract with userspace: uapi/bootseal.h.
 */
#ifndef BOOTSEAL_INTERNAL_H
#define BOOTSEAL_INTERNAL_H

#include <linux/types.h>
#include <linux/fs.h>
#include "uapi/bootseal.h"

/* A consistent copy of a session's public state (STATUS ioctl, netlink). */
struct bs_snapshot {
	u64 id;
	u32 kind;			/* enum bootseal_kind */
	u32 state;			/* enum bootseal_state */
	u32 error;			/* positive errno, 0 if none */
	u64 error_sector;		/* 512-byte sector or BOOTSEAL_SECTOR_NONE */
	u32 cleanup;			/* BOOTSEAL_CLEANUP_* */
	u32 cleanup_error;		/* positive errno, 0 if none */
	u64 cleanup_sector;		/* 512-byte sector or BOOTSEAL_SECTOR_NONE */
	u64 bytes_expected;		/* bytes */
	u64 bytes_submitted;		/* bytes */
	u64 bytes_completed;		/* bytes */
	u64 head_len;			/* bytes */
	u64 dev_size;			/* bytes */
	u32 dev;			/* new_encode_dev() */
	u32 pid;			/* tgid of the attaching process */
	char disk_name[BOOTSEAL_DISK_NAME_LEN];
	char staged_name[BOOTSEAL_STAGED_NAME_LEN];	/* stages: the dm device's name */
};

struct bs_session;

int bs_chardev_init(void);
void bs_chardev_uninit(void);

int bs_netlink_init(void);
void bs_netlink_uninit(void);
/* Multicasts one event about @s; may sleep. */
void bs_nl_notify(struct bs_session *s, u32 event);

int bs_write_init(void);
void bs_write_uninit(void);
int bs_stage_init(void);
void bs_stage_uninit(void);
struct bs_session *bs_session_create(void);
/* Called once, when the last reference to the file goes; may sleep long. */
void bs_session_release(struct bs_session *s);
long bs_session_ioctl(struct bs_session *s, unsigned int cmd, void __user *arg);
void bs_session_snapshot(struct bs_session *s, struct bs_snapshot *snap);
/* Snapshot of the live session with the smallest id > @after; false if none. */
bool bs_session_next(u64 after, struct bs_snapshot *snap);
/* Snapshot of the live session @id; false if there is none. */
bool bs_session_find(u64 id, struct bs_snapshot *snap);

#endif /* BOOTSEAL_INTERNAL_H */
