// SPDX-License-Identifier: GPL-2.0
/* The /dev/bootseal session client (client.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"

int bs_client_open(void)
{
	return open(BOOTSEAL_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

void bs_client_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int bs_client_attach(int fd, struct bootseal_attach *a)
{
	return ioctl(fd, BOOTSEAL_IOC_ATTACH, a) ? -1 : 0;
}

int bs_client_write(int fd, const struct bootseal_write *w)
{
	return ioctl(fd, BOOTSEAL_IOC_WRITE, w) ? -1 : 0;
}

int bs_client_commit(int fd)
{
	return ioctl(fd, BOOTSEAL_IOC_COMMIT, 0) ? -1 : 0;
}

int bs_client_abort(int fd)
{
	return ioctl(fd, BOOTSEAL_IOC_ABORT, 0) ? -1 : 0;
}

int bs_client_status(int fd, struct bootseal_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!ioctl(fd, BOOTSEAL_IOC_STATUS, st))
		return 0;
	memset(st, 0, sizeof(*st));
	return -1;
}

const char *bs_client_open_reason(int e)
{
	return e == ENOENT ? "the bootseal module is not loaded (modprobe bootseal)" : strerror(e);
}

const char *bs_client_attach_reason(int e)
{
	switch (e) {
	case ENOENT:
		return "no such device";
	case ENOTBLK:
		return "not a block device";
	case EMEDIUMTYPE:
		return "it is a partition, not a whole disk";
	case EOPNOTSUPP:
		return "it is a zoned device (its sequential-write zones cannot take an image)";
	case EBUSY:
		return "device is busy (a partition is mounted, used as swap, held by dm/md, or "
		       "another flash is running)";
	case EROFS:
		return "device is read-only";
	default:
		return strerror(e);
	}
}

const char *bs_client_state_name(uint64_t state)
{
	static const char *const names[] = {
		[BOOTSEAL_STATE_NONE] = "NONE",
		[BOOTSEAL_STATE_ATTACHED] = "ATTACHED",
		[BOOTSEAL_STATE_INVALIDATED] = "INVALIDATED",
		[BOOTSEAL_STATE_WRITING] = "WRITING",
		[BOOTSEAL_STATE_FLUSHING] = "FLUSHING",
		[BOOTSEAL_STATE_SEALING] = "SEALING",
		[BOOTSEAL_STATE_SEALED] = "SEALED",
		[BOOTSEAL_STATE_FAILED] = "FAILED",
		[BOOTSEAL_STATE_ABORTED] = "ABORTED",
		[BOOTSEAL_STATE_UNCLEAN] = "UNCLEAN",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "?";
}

void bs_client_failure(const struct bootseal_status *st, int *err, char *where, size_t wherelen,
		       char *cleanup, size_t cleanuplen)
{
	bool failed = st->state == BOOTSEAL_STATE_FAILED || st->state == BOOTSEAL_STATE_UNCLEAN;
	char ewhere[64] = "";

	where[0] = cleanup[0] = '\0';
	if (failed && st->error)
		*err = st->error;
	if (failed && st->error_sector != BOOTSEAL_SECTOR_NONE)
		snprintf(where, wherelen, " at byte %llu",
			 (unsigned long long)st->error_sector * 512);
	if (st->cleanup_error && st->cleanup_sector != BOOTSEAL_SECTOR_NONE)
		snprintf(ewhere, sizeof(ewhere), " at byte %llu",
			 (unsigned long long)st->cleanup_sector * 512);
	if (st->state == BOOTSEAL_STATE_UNCLEAN)
		snprintf(cleanup, cleanuplen,
			 "; erasing the partition table again failed too%s: %s (head %s, last MiB "
			 "%s): THE DEVICE MAY SHOW A PARTITION TABLE over data that is not the "
			 "image; do not use it",
			 ewhere, strerror(st->cleanup_error ? st->cleanup_error : EIO),
			 st->cleanup & BOOTSEAL_CLEANUP_HEAD ? "erased" : "NOT erased",
			 st->cleanup & BOOTSEAL_CLEANUP_TAIL ? "erased" : "NOT erased");
	else if (st->cleanup & BOOTSEAL_CLEANUP_RAN)
		snprintf(cleanup, cleanuplen,
			 "; the partition table it had written was erased again (head and last "
			 "MiB read back as zeros)");
}
