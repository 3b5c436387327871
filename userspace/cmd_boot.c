// SPDX-License-Identifier: GPL-2.0
/* bootseal boot: boot Compute Modules over USB into mass-storage devices. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "opts.h"
#include "usbboot.h"

static volatile int boot_stop;

static void on_signal(int sig)
{
	boot_stop = 1;
}

#define T	struct bs_usbboot_opts
#define STR_(x) #x
#define STR(x)	STR_(x)

static const struct bs_opt boot_opts[] = {
	BS_OPT_FIRMWARE(T, firmware_dir,
			"Firmware set (default " BOOTSEAL_DATADIR "/blobs, or blobs/ in the "
			"source tree)"),
	BS_OPT_PORT(T, port, "Only the device at this USB port path (e.g. 1-1.3)"),
	BS_OPT_LOOP(T, loop, "Keep booting devices as they appear, until interrupted"),
	{"count", 'n', BS_OPT_UINT, offsetof(T, count), "N",
	 "Stop after N devices have finished (booted or failed)", 1, 100000,
	 "a number from 1 to 100000"},
	BS_OPT_JSON(T, json, "One JSON object per device on stdout"),
	BS_OPT_TIMEOUT(T, timeout,
		       "Longest wait for any one step of a device (default " STR(
			       BS_USBBOOT_STEP_TIMEOUT) ")"),
	BS_OPT(T, "verbose", 'v', BS_OPT_FLAG, verbose, NULL, "Log every file the device asks for"),
};

#undef T

const struct bs_optset bs_boot_optset = BS_OPTSET("boot", boot_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s boot [--firmware DIR] [--port PATH] [--loop | --count N] [--json]\n"
		"                     [--timeout SEC] [--verbose]\n"
		"\n"
		"Boot Raspberry Pi Compute Modules (0a5c:2763/2764/2711/2712) attached with\n"
		"nRPIBOOT/EMMC_DISABLE set until each is a USB mass-storage device, then\n"
		"print one line per device: usb PORT -> /dev/sdX (SIZE).\n",
		bs_prog);
	bs_opts_help(f, &bs_boot_optset);
	fprintf(f, "\nExit status: 0 when every device became mass storage, 2 usage, 7 when any\n"
		   "failed.\n");
}

int cmd_boot(int argc, char **argv)
{
	struct bs_usbboot_opts o = {.stop = &boot_stop};
	struct sigaction sa = {.sa_handler = on_signal};
	struct bs_args a = {0};
	int r;

	r = bs_opts_cmd(&bs_boot_optset, &o, argc, argv, &a, usage);
	if (r != BS_OPTS_GO)
		return r;
	if (o.port && (strlen(o.port) >= 32 || strspn(o.port, "0123456789-.") != strlen(o.port) ||
		       !strchr(o.port, '-')))
		return bs_usage_error("boot",
				      "Unable to use port '%s': expected BUS-PORT[.PORT...], e.g. "
				      "1-1.3",
				      o.port);
	if (o.loop && o.count)
		return bs_usage_error(
			"boot", "Unable to run 'boot': --loop and --count exclude each other");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return bs_usbboot_run(&o);
}
