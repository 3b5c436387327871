// SPDX-License-Identifier: GPL-2.0
/* bootseal flash IMAGE TARGET... */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootseal.h"
#include "flash.h"
#include "opts.h"
#include "station.h"

#define OPT(name, kind, field, arg, help)                                                          \
	{                                                                                          \
		name, kind, offsetof(struct bs_flash_opts, field), arg, help, 0                    \
	}
#define OPTS(name, sh, kind, field, arg, help)                                                     \
	{                                                                                          \
		name, kind, offsetof(struct bs_flash_opts, field), arg, help, sh                   \
	}

static const struct bs_opt flash_opts[] = {
	OPT("bmap", BS_OPT_STR, bmap, "FILE",
	    "Block map to use, a file or a URL (default: IMAGE.bmap if present)"),
	OPT("no-bmap", BS_OPT_FLAG, no_bmap, NULL, "Write the whole image even if a bmap exists"),
	OPT("sha256", BS_OPT_STR, sha256, "HEX",
	    "Expected SHA-256 of IMAGE or of the decompressed image (default: from "
	    "IMAGE.sha256 or SHA256SUMS if present)"),
	OPT("no-sha256", BS_OPT_FLAG, no_sha256, NULL,
	    "Do not look for IMAGE.sha256 or SHA256SUMS"),
	OPT("head", BS_OPT_SIZE, head_len, "SIZE",
	    "Bytes held back until the seal (default: automatic)"),
	OPT("no-verify", BS_OPT_FLAG, no_verify, NULL,
	    "Do not read the targets back after sealing"),
	OPT("allow-fixed", BS_OPT_FLAG, allow_fixed, NULL, "Allow non-removable disks"),
	OPT("unmount", BS_OPT_FLAG, unmount, NULL, "Unmount the targets' mounted partitions first"),
	OPTS("yes", 'y', BS_OPT_FLAG, yes, NULL, "Do not ask for confirmation"),
	OPTS("quiet", 'q', BS_OPT_FLAG, quiet, NULL,
	     "No progress: only errors, warnings and the summary"),
	OPT("json", BS_OPT_FLAG, json, NULL, "One JSON object per line: events and a summary"),
	OPT("strict", BS_OPT_FLAG, strict, NULL, "Refuse images without a valid partition table"),
	OPT("force-raw", BS_OPT_FLAG, force_raw, NULL,
	    "Write IMAGE even if it does not look like a disk image"),
	OPT("power-off", BS_OPT_FLAG, power_off, NULL,
	    "Power USB targets off after success (SCSI delete, then USB remove)"),
	OPT("eject", BS_OPT_FLAG, eject, NULL,
	    "Eject every SCSI target's medium after success (default: removable USB ones)"),
	OPT("no-eject", BS_OPT_FLAG, no_eject, NULL, "Leave the targets' media loaded"),
	OPT("threads", BS_OPT_UINT, threads, "N", "Decoder threads for xz (default: CPUs)"),
	OPT("usbboot", BS_OPT_FLAG, usbboot, NULL, "Boot Compute Modules over USB and flash each"),
	OPT("loop", BS_OPT_FLAG, loop, NULL, "With --usbboot: keep serving new devices"),
	OPT("firmware", BS_OPT_STR, firmware, "DIR", "With --usbboot: firmware directory"),
	OPT("port", BS_OPT_STR, port, "PATH",
	    "With --usbboot: only the board at this USB port path (like usb:PATH)"),
	OPT("timeout", BS_OPT_STR, timeout_arg, "SEC",
	    "With --usbboot: longest wait for any one boot step (default 60)"),
	OPT("record", BS_OPT_STR, record, "FILE", "With --usbboot: append one JSON line per board"),
	OPT("metrics", BS_OPT_STR, metrics, "FILE",
	    "With --usbboot: keep a Prometheus textfile of the station's counters"),
	OPT("slot", BS_OPT_LIST, slot, "PORT=NAME",
	    "With --usbboot: name a port in every line (repeatable)"),
	OPT("slot-file", BS_OPT_STR, slot_file, "FILE",
	    "With --usbboot: slot names, one PORT NAME per line"),
	OPT("log-format", BS_OPT_STR, log_format, "FMT",
	    "With --usbboot: text, or journal (<N> priority and KEY=value fields; default when "
	    "stderr is the journal)"),
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s flash [options] IMAGE TARGET...\n"
		"       %s flash [options] --usbboot [--loop] IMAGE [usb:PORT...]\n"
		"\n"
		"Write IMAGE (raw, xz, gzip, bzip2, zstd, zip; '-' for standard input; an\n"
		"http:// or https:// URL is streamed, never stored, with its .bmap and\n"
		".sha256 or SHA256SUMS fetched beside it when the server has them) to\n"
		"every TARGET at once (/dev/sdX, or usb:BUS-PORT[.PORT...] for the disk\n"
		"behind a USB port), seal each so that it is either completely written or\n"
		"has no partition table at all, then read it back and compare.\n",
		bs_prog, bs_prog);
	bs_opts_help(f, flash_opts, sizeof(flash_opts) / sizeof(flash_opts[0]));
	fprintf(f, "\nExit status: 0 every target sealed and verified, 1 other failure, 2 usage,\n"
		   "3 image (unreadable, corrupt, not a disk image, bmap or checksum mismatch),\n"
		   "4 device (refused, "
		   "busy, missing, too small), 5 write or seal failed, 6 verification failed,\n"
		   "7 USB boot failed (--usbboot).\n"
		   "With several targets the most severe wins (usage > image > device > write > "
		   "verify).\n"
		   "Interrupted (SIGHUP, SIGINT, SIGTERM): every session is aborted, then 129,\n"
		   "130 or 143. With --usbboot, SIGINT and SIGTERM end the line instead: boards\n"
		   "being flashed are finished, then 0, or a failed board's status.\n");
}

int bs_flash_parse(int argc, char **argv, struct bs_flash_opts *o, char **pos, size_t *npos,
		   size_t maxpos)
{
	int r;

	memset(o, 0, sizeof(*o));
	r = bs_opts_parse(flash_opts, sizeof(flash_opts) / sizeof(flash_opts[0]), o, argc, argv,
			  pos, npos, maxpos);
	if (r)
		return r;
	if (o->sha256 && o->no_sha256) {
		bs_error("Unable to run 'flash': --sha256 and --no-sha256 contradict each other");
		return -1;
	}
	if (o->bmap && o->no_bmap) {
		bs_error("Unable to run 'flash': --bmap and --no-bmap contradict each other");
		return -1;
	}
	if (o->loop && !o->usbboot) {
		bs_error("Unable to run 'flash': --loop needs --usbboot");
		return -1;
	}
	if (!o->usbboot) {
		static const char *const only[] = {"port",	"timeout",   "record",
						   "metrics", "slot-file", "log-format"};
		const char *const set[] = {o->port,    o->timeout_arg, o->record,
					   o->metrics, o->slot_file,   o->log_format};
		size_t k;

		for (k = 0; k < sizeof(only) / sizeof(only[0]); k++)
			if (set[k]) {
				bs_error("Unable to run 'flash': --%s needs --usbboot", only[k]);
				return -1;
			}
		if (o->slot.n) {
			bs_error("Unable to run 'flash': --slot needs --usbboot");
			return -1;
		}
	}
	if (o->timeout_arg) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(o->timeout_arg, &end, 10);
		if (errno || end == o->timeout_arg || *end || *o->timeout_arg < '0' ||
		    *o->timeout_arg > '9' || v < 1 || v > 86400) {
			bs_error("Unable to use --timeout '%s': expected seconds (1-86400)",
				 o->timeout_arg);
			return -1;
		}
		o->timeout = (unsigned int)v;
	}
	if (o->log_format && strcmp(o->log_format, "text") && strcmp(o->log_format, "journal")) {
		bs_error("Unable to use --log-format '%s': expected text or journal", o->log_format);
		return -1;
	}
	if (o->port) {
		if (!bs_port_path_ok(o->port)) {
			bs_error("Unable to use port '%s': expected BUS-PORT[.PORT...], e.g. 1-1.3",
				 o->port);
			return -1;
		}
		o->ports.v[o->ports.n++] = o->port;
	}
	if (o->usbboot) {
		size_t k;

		/* IMAGE, then only usb:PORT targets: the ports to serve. */
		for (k = 1; k < *npos; k++) {
			const char *t = pos[k];

			if (strncmp(t, "usb:", 4) || !bs_port_path_ok(t + 4)) {
				bs_error("Unable to use target '%s' with --usbboot: the targets are "
					 "the boards' USB ports, usb:BUS-PORT[.PORT...] (e.g. "
					 "usb:1-1.3)",
					 t);
				return -1;
			}
			if (o->ports.n == BS_OPT_LIST_MAX) {
				bs_error("Unable to run 'flash --usbboot': more than %d ports",
					 BS_OPT_LIST_MAX);
				return -1;
			}
			o->ports.v[o->ports.n++] = t + 4;
		}
		if (*npos > 1)
			*npos = 1;
	}
	if (o->sha256 && bs_parse_sha256(o->sha256, (unsigned char[32]){0})) {
		bs_error("Unable to use --sha256 %s: expected 64 hexadecimal digits", o->sha256);
		return -1;
	}
	if (o->head_len == 0 && argc > 1) {
		int i;

		for (i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--head") || !strncmp(argv[i], "--head=", 7)) {
				bs_error("Unable to use --head 0: the head is at least one block");
				return -1;
			}
	}
	if (o->usbboot ? *npos != 1 : *npos < 2) {
		bs_error(o->usbboot
				 ? "Unable to run 'flash --usbboot': give one IMAGE (and usb:PORT "
				   "targets, or none)"
				 : "Unable to run 'flash': give an IMAGE and at least one TARGET");
		return -1;
	}
	return 0;
}

int cmd_flash(int argc, char **argv)
{
	struct bs_flash_opts o;
	char *pos[BS_MAX_TARGETS + 1];
	size_t npos = 0;
	int r;

	r = bs_flash_parse(argc, argv, &o, pos, &npos, BS_MAX_TARGETS + 1);
	if (r == BS_OPTS_HELP) {
		usage(stdout);
		return BS_EXIT_OK;
	}
	if (r) {
		bs_try_help("flash");
		return BS_EXIT_USAGE;
	}
	if (o.usbboot)
		return bs_flash_usbboot(&o, pos[0]);
	return bs_flash_run(&o, pos[0], pos + 1, npos - 1);
}
