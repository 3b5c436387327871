// SPDX-License-Identifier: GPL-2.0
/* bootseal verify IMAGE DEVICE */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmap.h"
#include "helper.h"
#include "http.h"
#include "json.h"
#include "opts.h"
#include "progress.h"
#include "verify.h"

/*
 * The bmap parser is built in parallel; until userspace/bmap.c is part of
 * the build, bmaps are refused with a clear error instead of breaking the link.
 */

struct verify_opts {
	const char *bmap;
	bool no_bmap;
	bool json;
	unsigned int threads;
	bool quiet;
};

#define T struct verify_opts

static const struct bs_opt verify_opts[] = {
	BS_OPT_BMAP(T, bmap, "Compare only the ranges this block map lists"),
	BS_OPT_NO_BMAP(T, no_bmap, "Compare the whole image even if a bmap exists"),
	BS_OPT_JSON(T, json, "One JSON object per line: events and a summary"),
	BS_OPT_THREADS(T, threads),
	BS_OPT_QUIET(T, quiet, "No progress: only errors and the result"),
};

#undef T

const struct bs_optset bs_verify_optset = BS_OPTSET("verify", verify_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s verify [options] IMAGE DEVICE\n"
		"\n"
		"Read DEVICE with O_DIRECT and compare it with IMAGE (raw or compressed);\n"
		"stop at the first differing byte and name its offset. With a bmap\n"
		"(IMAGE.bmap, or --bmap) only mapped ranges are compared.\n",
		bs_prog);
	bs_opts_help(f, &bs_verify_optset);
	fprintf(f, "\nExit status: 0 identical, 2 usage, 3 image unreadable, 4 device unreadable,\n"
		   "6 the device differs from the image.\n");
}

int cmd_verify(int argc, char **argv)
{
	struct verify_opts o = {0};
	struct bs_verify_target vt = {0};
	struct bs_ptarget pt;
	struct bs_progress p;
	struct bs_bmap bmap;
	bool have_bmap = false;
	char *pos[2], *bpath = NULL, err[512];
	struct bs_args a = {.pos = pos, .maxpos = 2};
	int r;

	r = bs_opts_cmd(&bs_verify_optset, &o, argc, argv, &a, usage);
	if (r != BS_OPTS_GO)
		return r;
	if (a.npos != 2 || (o.bmap && o.no_bmap))
		return bs_usage_error(
			"verify", "Unable to run 'verify': give an IMAGE and a DEVICE%s",
			o.bmap && o.no_bmap ? " (and not both --bmap and --no-bmap)" : "");
	if (!o.no_bmap && (o.bmap ? bs_url_is_http(o.bmap) : bs_url_is_http(pos[0]))) {
		/* beside a URL, or --bmap URL: fetched into memory; 4xx = none */
		int got = o.bmap ? bs_bmap_fetch(o.bmap, &bmap, err, sizeof(err))
				 : bs_bmap_find_url(pos[0], &bmap, &bpath, err, sizeof(err));

		free(bpath);
		bpath = NULL;
		if (got < 0 || (!got && o.bmap)) {
			if (!got)
				snprintf(err, sizeof(err), "%s: not found on the server", o.bmap);
			bs_error("Unable to load bmap %s", err);
			return BS_EXIT_IMAGE;
		}
		have_bmap = got > 0;
	} else if (!o.no_bmap) {
		bpath = o.bmap ? strdup(o.bmap) : strcmp(pos[0], "-") ? bs_bmap_find(pos[0]) : NULL;
	}
	if (bpath) {
		if (bs_bmap_load(bpath, &bmap, err, sizeof(err))) {
			bs_error("Unable to load bmap %s", err);
			free(bpath);
			return BS_EXIT_IMAGE;
		}
		have_bmap = true;
		free(bpath);
	}
	memset(&pt, 0, sizeof(pt));
	snprintf(pt.path, sizeof(pt.path), "%s", pos[1]);
	snprintf(pt.label, sizeof(pt.label), "%s", pos[1]);
	vt.pt = &pt;
	bs_progress_init(&p, bs_progress_pick_mode(o.json, o.quiet), &pt, 1);
	r = bs_verify_targets(&p, pos[0], o.threads, have_bmap ? &bmap : NULL, &vt, 1);
	if (o.json) {
		struct bs_json j;

		bs_json_begin(&j);
		bs_json_str(&j, "type", "summary");
		bs_json_str(&j, "image", pos[0]);
		bs_json_str(&j, "device", pos[1]);
		bs_json_str(&j, "result", r ? "failed" : "ok");
		if (vt.mismatch != BS_VERIFY_NONE)
			bs_json_uint(&j, "mismatch_offset", vt.mismatch);
		else
			bs_json_null(&j, "mismatch_offset");
		bs_json_uint(&j, "bytes", atomic_load(&pt.done));
		bs_json_double(&j, "seconds", pt.verify_secs, 3);
		bs_json_str(&j, "error", r ? pt.error : NULL);
		bs_json_int(&j, "exit", r);
		bs_json_print(&j, stdout);
	} else if (!r) {
		char b[32];

		bs_fmt_bytes(atomic_load(&pt.done), b, sizeof(b));
		printf("%s matches %s (%s compared)\n", pos[1], pos[0], b);
	}
	if (have_bmap)
		bs_bmap_free(&bmap);
	return r;
}
