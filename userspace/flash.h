/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bootseal flash: one image to up to BS_MAX_TARGETS targets through the
 * pump (pump.h), one /dev/bootseal session (client.h) and writer thread per
 * target, then read-back verification (verify.h), partition re-read and a
 * summary (report.c). The head length is chosen by headlen.h.
 */
#ifndef BOOTSEAL_FLASH_H
#define BOOTSEAL_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "opts.h"
#include "pump.h"

struct bs_flash_opts {
	const char *bmap;     /* --bmap FILE; NULL: look next to the image */
	bool no_bmap;	      /* --no-bmap */
	const char *sha256;   /* --sha256 HEX, or NULL: IMAGE.sha256 / SHA256SUMS */
	bool no_sha256;	      /* --no-sha256: do not look for one */
	uint64_t head_len;    /* --head SIZE; 0 = automatic */
	bool no_verify;	      /* --no-verify */
	bool allow_fixed;     /* --allow-fixed */
	bool unmount;	      /* --unmount */
	bool yes;	      /* --yes, -y */
	bool quiet;	      /* --quiet, -q: no progress output */
	bool json;	      /* --json */
	bool strict;	      /* --strict: refuse images without a partition table */
	bool force_raw;	      /* --force-raw: write data that does not look like an image */
	bool power_off;	      /* --power-off */
	bool eject;	      /* --eject: eject every SCSI target's medium after success */
	bool no_eject;	      /* --no-eject: never eject (default: removable USB targets) */
	unsigned int threads; /* --threads: decoder threads, 0 = CPUs */
	bool usbboot;	      /* --usbboot: targets are booted Compute Modules */
	bool loop;	      /* --loop: with --usbboot, keep serving new devices */
	const char *firmware; /* --firmware DIR for --usbboot, NULL = default */
	/* --usbboot only: the production line (station.h) */
	const char *port;		/* --port PATH */
	unsigned int timeout;		/* --timeout SEC: seconds per usbboot step, 0 = default */
	struct bs_opt_list ports;	/* usb:PORT targets and --port, validated */
	const char *record;		/* --record FILE: one JSON line per board */
	const char *metrics;		/* --metrics FILE: Prometheus textfile */
	struct bs_opt_list slot;	/* --slot PORT=NAME, repeatable */
	const char *slot_file;		/* --slot-file FILE */
	const char *log_format;		/* --log-format text|journal */
	struct bs_flash_report *report; /* internal: filled for the first target */
};

/* What bs_flash_run() did to its first target (for the per-board record). */
struct bs_flash_report {
	bool filled; /* false when it stopped before the summary */
	int exit;
	uint64_t written;
	double write_seconds, verify_seconds;
	bool verified;
	char error[512];
};

/*
 * --usbboot [--loop]: boot every Compute Module that appears (usbboot.h)
 * and call bs_flash_run() for the block device each becomes (flash_usbboot.c).
 */
int bs_flash_usbboot(const struct bs_flash_opts *o, const char *image);

/* Parse the flash command line (argv[0] = "flash"). Exposed for tests. */
int bs_flash_parse(int argc, char **argv, struct bs_flash_opts *o, char **pos, size_t *npos,
		   size_t maxpos);

/*
 * Flash @image to @targets (paths or usb:BUS-PORT[.PORT]), seal, verify,
 * re-read partitions, report. Prints progress and the summary; returns the
 * most severe enum bs_exit over all targets. Safe to call repeatedly (the
 * usbboot loop calls it once per device).
 */
int bs_flash_run(const struct bs_flash_opts *o, const char *image, char *const *targets, size_t n);

/* ---- confirmation ------------------------------------------------------- */

struct bs_drive;

/* "y", "Y", "yes", "YES" (one word, white space around it allowed). */
bool bs_confirm_answer(const char *line);

/*
 * Name the image (@format, decompressed @image_size and compressed
 * @file_size, -1 unknown) and every drive (path, size, model, transport)
 * on @out, ask, and read one line from @in. true when it says yes.
 */
bool bs_flash_prompt(FILE *in, FILE *out, const char *image, const char *format, int64_t image_size,
		     int64_t file_size, const struct bs_drive *const *drives, size_t n);

/* Parse "4096", "16K", "16KiB", "1M", "1MiB", "2G". 0 or -1. */
int bs_parse_size(const char *s, uint64_t *out);

/* Parse 64 hex digits into 32 bytes. 0 or -1. */
int bs_parse_sha256(const char *hex, unsigned char out[32]);

#endif /* BOOTSEAL_FLASH_H */
