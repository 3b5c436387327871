// SPDX-License-Identifier: GPL-2.0
/*
 * The option parser on arbitrary command lines (the input split at NUL
 * bytes into arguments), with every subcommand's table and flash's own
 * checks: positional arguments stay within their room and are arguments,
 * and no value points outside the command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash.h"
#include "opts.h"

#define MAXARGS 32

struct any {
	uint64_t u64[64]; /* room for every table's struct, zeroed */
};

static const struct bs_optset *const sets[] = {
	&bs_boot_optset,  &bs_verify_optset, &bs_inspect_optset,
	&bs_list_optset,  &bs_status_optset, &bs_monitor_optset,
	&bs_stage_optset, &bs_run_optset,    &bs_seal_optset,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/*
	 * The errors are the point of most inputs: keep them out of the log.
	 * Only the stream the helper prints to: libFuzzer keeps the one it
	 * took at start, the sanitizers write to descriptor 2.
	 */
	FILE *null = fopen("/dev/null", "w");

	if (!null)
		abort();
	stderr = null;
	return 0;
}

static bool within(const char *p, char **argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAXARGS + 1], *pos[BS_MAX_TARGETS + 1];
	struct bs_flash_opts fo;
	struct bs_args a;
	struct any dst;
	size_t off = 0, npos, i, k;
	int argc = 1;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "fuzz";
	while (off < size && argc < MAXARGS) {
		argv[argc++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	argv[argc] = NULL;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		memset(&dst, 0, sizeof(dst));
		memset(&a, 0, sizeof(a));
		a.pos = pos;
		a.maxpos = 2;
		if (bs_opts_parse(sets[i], &dst, argc, argv, &a) == 0) {
			if (a.npos > a.maxpos)
				abort();
			for (k = 0; k < a.npos; k++)
				if (!within(pos[k], argv, argc))
					abort();
		}
		if (sets[i]->n < 64 && a.given >> sets[i]->n)
			abort();
	}
	if (bs_flash_parse(argc, argv, &fo, pos, &npos, BS_MAX_TARGETS + 1) == 0) {
		if (npos < 1 || npos > BS_MAX_TARGETS + 1)
			abort();
		if ((fo.bmap && !within(fo.bmap, argv, argc)) ||
		    (fo.sha256 && !within(fo.sha256, argv, argc)) ||
		    (fo.firmware && !within(fo.firmware, argv, argc)) || fo.timeout > 86400 ||
		    fo.threads > 1024 || (fo.loop && !fo.usbboot) || (fo.bmap && fo.no_bmap))
			abort();
		for (k = 0; k < fo.slot.n; k++)
			if (!within(fo.slot.v[k], argv, argc))
				abort();
		if (fo.ports.n > BS_OPT_LIST_MAX)
			abort();
	}
	free(buf);
	return 0;
}
