/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink client for the "bootseal" family (libnl-genl-3): the
 * family and the "progress" group are resolved by name; the kernel's
 * extended-ACK text is reported ("kernel reports: ...").
 */
#ifndef BOOTSEAL_NL_H
#define BOOTSEAL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module/uapi/bootseal.h"

/* Room for a device-mapper name (DM_NAME_LEN), NUL included. */
#define BS_STAGED_NAME_LEN BOOTSEAL_STAGED_NAME_LEN

struct bs_event {
	uint64_t session_id;
	uint32_t event; /* enum bootseal_event */
	uint32_t state; /* enum bootseal_state */
	char dev_name[BOOTSEAL_DISK_NAME_LEN];
	uint32_t dev; /* new_encode_dev() layout */
	uint64_t dev_size;
	uint64_t head_len;
	uint64_t bytes_expected;
	uint64_t bytes_submitted;
	uint64_t bytes_completed;
	uint32_t error;	       /* positive errno, 0 if none */
	uint64_t error_sector; /* BOOTSEAL_SECTOR_NONE if none */
	uint32_t pid;
	uint32_t cleanup;		      /* BOOTSEAL_CLEANUP_*, 0 if nothing was erased */
	uint32_t cleanup_error;		      /* positive errno of the erase, 0 if none */
	uint64_t cleanup_sector;	      /* BOOTSEAL_SECTOR_NONE if none */
	uint32_t kind;			      /* enum bootseal_kind: ioctl session or staged disk */
	char staged_name[BS_STAGED_NAME_LEN]; /* dm device name of a staged disk, else "" */
};

typedef void (*bs_event_cb)(const struct bs_event *ev, void *arg);

struct bs_nl;

/*
 * Connect; with @subscribe, join the "progress" multicast group. Returns
 * NULL with a message in @err (e.g. "bootseal module is not loaded").
 */
struct bs_nl *bs_nl_open(bool subscribe, char *err, size_t errlen);
/* File descriptor to poll() for events. */
int bs_nl_fd(const struct bs_nl *nl);
/* Receive and dispatch pending events; non-blocking. 0 or -1 (message in bs_nl_error). */
int bs_nl_recv(struct bs_nl *nl, bs_event_cb cb, void *arg);
/* BOOTSEAL_CMD_GET dump: @cb once per live session. 0 or -1. */
int bs_nl_dump(struct bs_nl *nl, bs_event_cb cb, void *arg);
const char *bs_nl_error(const struct bs_nl *nl);
void bs_nl_close(struct bs_nl *nl);

const char *bs_state_name(uint32_t state); /* "sealed", "writing", ... */
const char *bs_event_name(uint32_t event); /* "state", "progress", "dump" */

/*
 * Additions (optional to use).
 *
 * Error strings in @err / bs_nl_error() are reasons, for the caller's
 * "Unable to <verb> <object>: <reason>".
 */
struct nlmsghdr;
struct bs_json;

/*
 * BOOTSEAL_CMD_GET of one session: @cb once. 0, or -1 with the reason in
 * bs_nl_error() ("No such file or directory; kernel reports: ...").
 */
int bs_nl_get(struct bs_nl *nl, uint64_t session_id, bs_event_cb cb, void *arg);
/* SEALED, FAILED or ABORTED. */
bool bs_state_final(uint32_t state);
/*
 * Multicast overruns seen by bs_nl_recv() (the socket buffer overflowed and
 * events were dropped); re-read the state with BOOTSEAL_IOC_STATUS or a dump.
 */
unsigned long bs_nl_lost(const struct bs_nl *nl);
/*
 * Parse one BOOTSEAL_CMD_EVENT message with the strict policy (exact
 * attribute lengths, NUL-terminated printable device name, required session
 * id/event/state/device name). Attributes newer than this header are
 * ignored. 0, or -1 with a reason in @err.
 */
int bs_event_parse(struct nlmsghdr *nlh, struct bs_event *ev, char *err, size_t errlen);
/* Percent done (completed / expected), or -1 when the total is unknown. */
double bs_event_percent(const struct bs_event *ev);
/* One plain line, no newline: "session 3 sdb writing 42% 120.5 MB of 284.0 MB". */
void bs_event_format(const struct bs_event *ev, char *buf, size_t len);
/* Add the event's members to the open JSON object @j (see json.h). */
void bs_event_json(const struct bs_event *ev, struct bs_json *j);

#endif /* BOOTSEAL_NL_H */
