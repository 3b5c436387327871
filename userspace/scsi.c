// SPDX-License-Identifier: GPL-2.0
/* SCSI commands through SG_IO: SYNCHRONIZE CACHE and eject. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <scsi/sg.h>

#include "scsi.h"

#define SYNC_TIMEOUT_MS	 120000 /* a full card cache behind a slow bridge */
#define EJECT_TIMEOUT_MS 30000

static const char *const sense_keys[16] = {
	"NO SENSE",	  "RECOVERED ERROR", "NOT READY",      "MEDIUM ERROR",
	"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
	"BLANK CHECK",	  "VENDOR SPECIFIC", "COPY ABORTED",   "ABORTED COMMAND",
	"EQUAL",	  "VOLUME OVERFLOW", "MISCOMPARE",     "COMPLETED",
};

int bs_scsi_outcome(unsigned int status, unsigned int host, unsigned int driver,
		    const unsigned char *sense, size_t sense_len, char *why, size_t whylen)
{
	unsigned int key = 0, asc = 0, ascq = 0;
	bool have_sense = false;

	if (sense_len >= 14 && ((sense[0] & 0x7f) == 0x70 || (sense[0] & 0x7f) == 0x71)) {
		key = sense[2] & 0x0f;
		asc = sense[12];
		ascq = sense[13];
		have_sense = true;
	} else if (sense_len >= 4 && ((sense[0] & 0x7f) == 0x72 || (sense[0] & 0x7f) == 0x73)) {
		key = sense[1] & 0x0f;
		asc = sense[2];
		ascq = sense[3];
		have_sense = true;
	}
	/*
	 * Success: GOOD status, or CHECK CONDITION whose sense is NO SENSE or
	 * RECOVERED ERROR (the command completed; the SCSI mid-layer treats it
	 * so too). Of the driver status only the low three bits are errors
	 * (busy ... hard); 0x08 just says that sense data came back.
	 */
	if (!host && !(driver & 0x07) &&
	    ((!status && (!have_sense || key <= 0x1)) ||
	     (status == 0x02 && have_sense && key <= 0x1)))
		return 0;
	if (have_sense && key == 0x5) {
		snprintf(why, whylen,
			 "the device rejected the command (ILLEGAL REQUEST, "
			 "ASC/ASCQ %02x/%02x)",
			 asc, ascq);
		return BS_SCSI_UNSUPPORTED;
	}
	if (have_sense)
		snprintf(why, whylen, "%s, ASC/ASCQ %02x/%02x (SCSI status 0x%02x)",
			 sense_keys[key], asc, ascq, status);
	else if (host)
		snprintf(why, whylen, "transport error (host status 0x%02x)", host);
	else if (driver & 0x07)
		snprintf(why, whylen, "%s (driver status 0x%02x)",
			 (driver & 0x07) == 0x06 ? "timed out" : "driver error", driver);
	else
		snprintf(why, whylen, "SCSI status 0x%02x", status);
	return -1;
}

/* One command without data. */
static int scsi_cmd(int fd, unsigned char *cdb, unsigned char len, unsigned int timeout_ms,
		    char *why, size_t whylen)
{
	unsigned char sense[64] = {0};
	struct sg_io_hdr h;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmd_len = len;
	h.cmdp = cdb;
	h.dxfer_direction = SG_DXFER_NONE;
	h.sbp = sense;
	h.mx_sb_len = sizeof(sense);
	h.timeout = timeout_ms;
	if (ioctl(fd, SG_IO, &h)) {
		/* Block devices of other kinds do not know SG_IO at all. */
		if (errno == ENOTTY || errno == EINVAL)
			return BS_SCSI_NOT_SCSI;
		snprintf(why, whylen, "SG_IO: %s", strerror(errno));
		return -1;
	}
	return bs_scsi_outcome(h.status, h.host_status, h.driver_status, sense, h.sb_len_wr, why,
			       whylen);
}

int bs_scsi_sync_cache(int fd, char *why, size_t whylen)
{
	/* LBA 0, 0 blocks: the whole medium; IMMED clear: return when done. */
	unsigned char cdb[10] = {0x35};

	return scsi_cmd(fd, cdb, sizeof(cdb), SYNC_TIMEOUT_MS, why, whylen);
}

int bs_scsi_eject(int fd, char *why, size_t whylen)
{
	unsigned char allow[6] = {0x1e, 0, 0, 0, 0x00, 0};
	unsigned char stop[6] = {0x1b, 0, 0, 0, 0x02, 0};
	int r;

	r = scsi_cmd(fd, allow, sizeof(allow), EJECT_TIMEOUT_MS, why, whylen);
	/* A device without a lock rejects PREVENT ALLOW MEDIUM REMOVAL: fine. */
	if (r < 0 || r == BS_SCSI_NOT_SCSI)
		return r;
	return scsi_cmd(fd, stop, sizeof(stop), EJECT_TIMEOUT_MS, why, whylen);
}
