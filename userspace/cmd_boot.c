// SPDX-License-Identifier: GPL-2.0
/* bootseal boot: boot Compute Modules over USB into mass-storage devices. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootseal.h"
#include "usbboot.h"

static volatile int boot_stop;

static void on_signal(int sig)
{
	boot_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s boot [--firmware DIR] [--port PATH] [--loop | --count N] [--json]\n"
		"                    [--timeout SEC] [--verbose]\n"
		"  Boot Raspberry Pi Compute Modules (0a5c:2763/2764/2711/2712) attached with\n"
		"  nRPIBOOT/EMMC_DISABLE set until each is a USB mass-storage device, then\n"
		"  print one line per device: usb PORT -> /dev/sdX (SIZE).\n"
		"\n"
		"  -f, --firmware DIR  firmware set (default %s/blobs, or the source tree's "
		"blobs/)\n"
		"  -p, --port PATH     only the device at this USB port path (e.g. 1-1.3)\n"
		"  -l, --loop          keep booting devices as they appear, until interrupted\n"
		"  -n, --count N       stop after N devices have finished (booted or failed)\n"
		"  -j, --json          one JSON object per device on stdout\n"
		"  -t, --timeout SEC   longest wait for any one step of a device (default %d)\n"
		"  -v, --verbose       log every file the device asks for\n"
		"  -h, --help          show this help\n"
		"\n"
		"Exit status: 0 when every device became mass storage, 2 usage, 7 when any\n"
		"failed.\n",
		bs_prog, BOOTSEAL_DATADIR, BS_USBBOOT_STEP_TIMEOUT);
}

/* Parse a positive integer option value; -1 on garbage. */
static long parse_uint(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return -1;
	return v;
}

int cmd_boot(int argc, char **argv)
{
	static const struct option opts[] = {
		{"firmware", required_argument, NULL, 'f'},
		{"port", required_argument, NULL, 'p'},
		{"loop", no_argument, NULL, 'l'},
		{"count", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bs_usbboot_opts o = {.stop = &boot_stop};
	struct sigaction sa = {.sa_handler = on_signal};
	long v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:p:ln:jt:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.firmware_dir = optarg;
			break;
		case 'p':
			if (strlen(optarg) >= 32 ||
			    strspn(optarg, "0123456789-.") != strlen(optarg) ||
			    !strchr(optarg, '-')) {
				bs_error("Unable to use port '%s': expected BUS-PORT[.PORT...], "
					 "e.g. 1-1.3",
					 optarg);
				return BS_EXIT_USAGE;
			}
			o.port = optarg;
			break;
		case 'l':
			o.loop = true;
			break;
		case 'n':
			v = parse_uint(optarg, 100000);
			if (v < 0) {
				bs_error("Unable to use --count '%s': expected a positive number",
					 optarg);
				return BS_EXIT_USAGE;
			}
			o.count = (unsigned int)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 't':
			v = parse_uint(optarg, 86400);
			if (v < 0) {
				bs_error("Unable to use --timeout '%s': expected seconds (1-86400)",
					 optarg);
				return BS_EXIT_USAGE;
			}
			o.timeout = (unsigned int)v;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return BS_EXIT_OK;
		default:
			return bs_getopt_fail(c, argv, opts);
		}
	}
	if (optind < argc)
		return bs_extra_args(argv);
	if (o.loop && o.count)
		return bs_usage_error("boot",
				      "Unable to parse the command line: --loop and --count "
				      "exclude each other");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return bs_usbboot_run(&o);
}
