/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside bs_flash_run() (flash.h): the job, one image to its targets, shared
 * by the orchestration (flash.c) and the report at its end (report.c).
 */
#ifndef BOOTSEAL_FLASH_JOB_H
#define BOOTSEAL_FLASH_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bmap.h"
#include "device.h"
#include "flash.h"
#include "http.h"
#include "progress.h"
#include "ptable.h"
#include "pump.h"
#include "source.h"

struct flash_target {
	struct bs_ptarget *pt;
	const char *spec; /* as given on the command line */
	struct bs_drive drive;
	int sfd; /* /dev/bootseal session, -1 when closed */
	uint64_t head_len;
	uint64_t dev_size;
	uint32_t lbs;
	unsigned int sink;
	bool active; /* passed the checks, attached */
	bool no_pin; /* the module refused BOOTSEAL_WRITE_F_PIN */
	int synced;  /* bs_scsi_sync_cache() after the seal: 0, BS_SCSI_NOT_SCSI, ... */
	struct bs_pump *pump;
	_Atomic int *running;
};

struct flash_job {
	const struct bs_flash_opts *o;
	const char *image;
	struct bs_source *src;
	unsigned char *peek;
	size_t peek_len;
	int64_t image_size; /* -1 unknown */
	struct bs_bmap bmap;
	bool have_bmap;
	unsigned char sha[32];
	bool sha_pump;		  /* compare sha with the decompressed image while writing */
	char sha_note[2200];	  /* for a mismatch: where the hash came from, the file's own */
	struct bs_ptable *img_pt; /* the image's table (first BS_PUMP_CHUNK bytes), valid */
	struct flash_target *ft;
	struct bs_ptarget *pt;
	size_t n;
	struct bs_progress prog;
	bool stop_said; /* "interrupted by ..." was printed */
};

/* Standard input and URLs are read once: the targets cannot be verified. */
static inline bool flash_read_once(const struct flash_job *j)
{
	return !strcmp(j->image, "-") || bs_url_is_http(j->image);
}

/*
 * The end of a flash: the summary table (or the JSON summary) of every
 * target, then for each target that is done the partitions the kernel sees
 * and its eject or power-off. Fills j->o->report. Returns the most severe
 * exit status over the targets.
 */
int flash_report(struct flash_job *j, uint64_t image_bytes);

#endif /* BOOTSEAL_FLASH_JOB_H */
