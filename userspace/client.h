/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A /dev/bootseal session (module/uapi/bootseal.h): one open of the device,
 * one target. The calls return 0, or -1 with the module's errno; reasons
 * for those errnos and the status of a failed session are put in words here
 * for the caller's "Unable to <verb> <object>: <reason>".
 */
#ifndef BOOTSEAL_CLIENT_H
#define BOOTSEAL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "module/uapi/bootseal.h"

/* A new session: its descriptor, or -1 with errno. */
int bs_client_open(void);
/* Close the session (a session not sealed is aborted) and set *@fd to -1. */
void bs_client_close(int *fd);

int bs_client_attach(int fd, struct bootseal_attach *a);
int bs_client_write(int fd, const struct bootseal_write *w);
int bs_client_commit(int fd);
int bs_client_abort(int fd);
/* The session's status; on failure -1 with *@st zeroed (state NONE). */
int bs_client_status(int fd, struct bootseal_status *st);

/* Why opening /dev/bootseal failed with @e ("the bootseal module is not loaded ..."). */
const char *bs_client_open_reason(int e);
/* Why ATTACH failed with @e ("it is a partition, not a whole disk", ...). */
const char *bs_client_attach_reason(int e);
/* "NONE", "ATTACHED", ..., "UNCLEAN"; "?" for a state this build does not know. */
const char *bs_client_state_name(uint64_t state);

/*
 * What the status @st of a session says about its failure: *@err becomes
 * the module's errno when the session failed with one; @where gets " at
 * byte N" for the first failed I/O (else ""); @cleanup gets what happened
 * to a partition table already written ("; the partition table it had
 * written was erased again ...", a warning when that failed too, else "").
 */
void bs_client_failure(const struct bootseal_status *st, int *err, char *where, size_t wherelen,
		       char *cleanup, size_t cleanuplen);

#endif /* BOOTSEAL_CLIENT_H */
