/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SCSI commands sent straight to a target through SG_IO, for what the block
 * layer cannot promise: USB bridges and card readers that report no write
 * cache (so the kernel's flush and FUA do nothing) while caching anyway.
 */
#ifndef BOOTSEAL_SCSI_H
#define BOOTSEAL_SCSI_H

#include <stddef.h>

/* Results besides 0 (done) and -1 (failed, reason in @why). */
#define BS_SCSI_NOT_SCSI    1 /* the device does not take SCSI commands (brd, nvme, mmc...) */
#define BS_SCSI_UNSUPPORTED 2 /* the device rejected the command as invalid */

/*
 * SYNCHRONIZE CACHE (10) over the whole medium on the open block device
 * @fd, whatever the device says of its cache. 0, BS_SCSI_NOT_SCSI,
 * BS_SCSI_UNSUPPORTED, or -1 with the sense data decoded in @why.
 */
int bs_scsi_sync_cache(int fd, char *why, size_t whylen);

/*
 * Eject the medium the way eject(1) does: PREVENT ALLOW MEDIUM REMOVAL
 * (allow), then START STOP UNIT with LoEj set and Start clear. Same results.
 */
int bs_scsi_eject(int fd, char *why, size_t whylen);

/*
 * Describe the outcome of one SG_IO command for @why: @status (SCSI
 * status), @host and @driver (transport statuses), and the sense buffer.
 * Returns 0 when it succeeded, BS_SCSI_UNSUPPORTED for ILLEGAL REQUEST,
 * -1 otherwise. Exposed for the unit test.
 */
int bs_scsi_outcome(unsigned int status, unsigned int host, unsigned int driver,
		    const unsigned char *sense, size_t sense_len, char *why, size_t whylen);

#endif /* BOOTSEAL_SCSI_H */
