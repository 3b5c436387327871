// SPDX-License-Identifier: GPL-2.0
/* bootseal flash IMAGE TARGET... */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "flash.h"
#include "opts.h"
#include "station.h"

#define T struct bs_flash_opts

static const struct bs_opt flash_opts[] = {
	BS_OPT_BMAP(T, bmap, "Block map to use, a file or a URL (default: IMAGE.bmap if present)"),
	BS_OPT_NO_BMAP(T, no_bmap, "Write the whole image even if a bmap exists"),
	BS_OPT(T, "sha256", 0, BS_OPT_STR, sha256, "HEX",
	       "Expected SHA-256 of IMAGE or of the decompressed image (default: from "
	       "IMAGE.sha256 or SHA256SUMS if present)"),
	BS_OPT(T, "no-sha256", 0, BS_OPT_FLAG, no_sha256, NULL,
	       "Do not look for IMAGE.sha256 or SHA256SUMS"),
	BS_OPT_HEAD(T, head_len, "Bytes held back until the seal (default: automatic)"),
	BS_OPT(T, "no-verify", 0, BS_OPT_FLAG, no_verify, NULL,
	       "Do not read the targets back after sealing"),
	BS_OPT_ALLOW_FIXED(T, allow_fixed),
	BS_OPT_UNMOUNT(T, unmount, "Unmount the targets' mounted partitions first"),
	BS_OPT_YES(T, yes),
	BS_OPT_QUIET(T, quiet, "No progress: only errors, warnings and the summary"),
	BS_OPT_JSON(T, json, "One JSON object per line: events and a summary"),
	BS_OPT(T, "strict", 0, BS_OPT_FLAG, strict, NULL,
	       "Refuse images without a valid partition table"),
	BS_OPT(T, "force-raw", 0, BS_OPT_FLAG, force_raw, NULL,
	       "Write IMAGE even if it does not look like a disk image"),
	BS_OPT(T, "power-off", 0, BS_OPT_FLAG, power_off, NULL,
	       "Power USB targets off after success (SCSI delete, then USB remove)"),
	BS_OPT(T, "eject", 0, BS_OPT_FLAG, eject, NULL,
	       "Eject every SCSI target's medium after success (default: removable USB ones)"),
	BS_OPT(T, "no-eject", 0, BS_OPT_FLAG, no_eject, NULL, "Leave the targets' media loaded"),
	BS_OPT_THREADS(T, threads),
	BS_OPT(T, "usbboot", 0, BS_OPT_FLAG, usbboot, NULL,
	       "Boot Compute Modules over USB and flash each"),
	BS_OPT_LOOP(T, loop, "With --usbboot: keep serving new devices"),
	BS_OPT_FIRMWARE(T, firmware, "With --usbboot: firmware directory"),
	BS_OPT_PORT(T, port,
		    "With --usbboot: only the board at this USB port path (like usb:PATH)"),
	BS_OPT_TIMEOUT(T, timeout,
		       "With --usbboot: longest wait for any one boot step (default 60)"),
	BS_OPT(T, "record", 0, BS_OPT_STR, record, "FILE",
	       "With --usbboot: append one JSON line per board"),
	BS_OPT(T, "metrics", 0, BS_OPT_STR, metrics, "FILE",
	       "With --usbboot: keep a Prometheus textfile of the station's counters"),
	BS_OPT(T, "slot", 0, BS_OPT_LIST, slot, "PORT=NAME",
	       "With --usbboot: name a port in every line (repeatable)"),
	BS_OPT(T, "slot-file", 0, BS_OPT_STR, slot_file, "FILE",
	       "With --usbboot: slot names, one PORT NAME per line"),
	BS_OPT(T, "log-format", 0, BS_OPT_STR, log_format, "FMT",
	       "With --usbboot: text, or journal (BOOTSEAL_* journal fields; default when "
	       "stderr is the journal)"),
};

#undef T

const struct bs_optset bs_flash_optset = BS_OPTSET("flash", flash_opts);

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
	bs_opts_help(f, &bs_flash_optset);
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
	struct bs_args a = {.pos = pos, .maxpos = maxpos};
	int r;

	memset(o, 0, sizeof(*o));
	r = bs_opts_parse(&bs_flash_optset, o, argc, argv, &a);
	*npos = a.npos;
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
		static const char *const only[] = {"port",	"timeout",    "record", "metrics",
						   "slot-file", "log-format", "slot"};
		size_t k;

		for (k = 0; k < sizeof(only) / sizeof(only[0]); k++)
			if (bs_opts_given(&bs_flash_optset, &a, only[k])) {
				bs_error("Unable to run 'flash': --%s needs --usbboot", only[k]);
				return -1;
			}
	}
	if (o->log_format && strcmp(o->log_format, "text") && strcmp(o->log_format, "journal")) {
		bs_error("Unable to run 'flash': bad value '%s' for --log-format: expected text or "
			 "journal",
			 o->log_format);
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
				bs_error(
					"Unable to use target '%s' with --usbboot: the targets are "
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
		bs_error("Unable to run 'flash': bad value '%s' for --sha256: expected 64 "
			 "hexadecimal digits",
			 o->sha256);
		return -1;
	}
	if (o->head_len == 0 && bs_opts_given(&bs_flash_optset, &a, "head")) {
		bs_error(
			"Unable to run 'flash': bad value '0' for --head: the head is at least one "
			"block");
		return -1;
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
