/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who holds a drive: a live bootseal session (from the module's netlink
 * dump, with the pid that attached it), a mounted partition, active swap,
 * a device-mapper or RAID holder from sysfs. Used when the module says
 * EBUSY, and by list to show a drive that is being flashed.
 */
#ifndef BOOTSEAL_BUSY_H
#define BOOTSEAL_BUSY_H

#include <stddef.h>

#include "device.h"
#include "nl.h"

/*
 * The live (not final) sessions of the module, from a netlink dump: a
 * malloc'ed array in *@out (free() it). 0, or -1 when they cannot be
 * asked for (module not loaded, no permission).
 */
int bs_sessions(struct bs_event **out, size_t *n);

/*
 * The session of @sessions on disk @name ("sdb"), or NULL. A session names
 * its disk by dev_name.
 */
const struct bs_event *bs_session_on(const struct bs_event *sessions, size_t n, const char *name);

/*
 * Why @d is busy, as a clause after "<path> is busy: ": the bootseal session
 * @s (may be NULL) with its pid and that process's name @comm (may be NULL),
 * a mounted partition, swap, a holder (@holder_name: a dm device's name,
 * may be NULL). Falls back to a hint at who else can hold a disk
 * exclusively.
 */
void bs_busy_describe(const struct bs_drive *d, const struct bs_event *s, const char *comm,
		      const char *holder_name, char *buf, size_t len);

/* bs_busy_describe() with what this machine says now about @path. */
void bs_busy_reason(const char *path, char *buf, size_t len);

#endif /* BOOTSEAL_BUSY_H */
