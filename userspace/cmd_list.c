// SPDX-License-Identifier: GPL-2.0
/* bootseal list: candidate target drives, and why a drive would be refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "device.h"
#include "busy.h"
#include "json.h"
#include "opts.h"

struct list_opts {
	bool json;
	bool all;
};

static const struct bs_opt list_opts[] = {
	BS_OPT_JSON(struct list_opts, json, "One JSON object per drive and line"),
	BS_OPT(struct list_opts, "all", 'a', BS_OPT_FLAG, all, NULL,
	       "Include loop, RAM, zram, optical, dm and md devices"),
};

const struct bs_optset bs_list_optset = BS_OPTSET("list", list_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s list [--json] [--all]\n"
		"\n"
		"List the whole-disk block devices that could be flashed, with size, model,\n"
		"transport and whether they are removable. A drive that would be refused\n"
		"says why (holds the root filesystem or active swap, not removable, mounted,\n"
		"read-only, in use by device-mapper/RAID).\n",
		bs_prog);
	bs_opts_help(f, &bs_list_optset);
}

/* The reason without the leading "<path> " / "<path> is " for the table. */
static const char *short_reason(const struct bs_drive *d, const char *why)
{
	size_t l = strlen(d->path);

	if (strncmp(why, d->path, l) || why[l] != ' ')
		return why;
	why += l + 1;
	if (!strncmp(why, "is ", 3))
		why += 3;
	return why;
}

static int print_json(const struct bs_drive *d, bool ok, const char *why)
{
	struct bs_json j;
	char hs[32], port[40];
	size_t i;

	bs_human_size(d->size, hs, sizeof(hs));
	bs_json_begin(&j);
	bs_json_str(&j, "device", d->path);
	bs_json_str(&j, "name", d->name);
	bs_json_uint(&j, "size", d->size);
	bs_json_str(&j, "size_human", hs);
	bs_json_uint(&j, "logical_block_size", d->logical_block_size);
	bs_json_str(&j, "model", d->model);
	bs_json_str(&j, "transport", d->transport);
	if (d->usb_port[0]) {
		snprintf(port, sizeof(port), "usb:%s", d->usb_port);
		bs_json_str(&j, "usb_port", port);
	} else {
		bs_json_null(&j, "usb_port");
	}
	bs_json_bool(&j, "removable", d->removable);
	bs_json_bool(&j, "read_only", d->read_only);
	bs_json_bool(&j, "holds_root", d->holds_root);
	bs_json_bool(&j, "holds_swap", d->holds_swap);
	if (d->holders)
		bs_json_str(&j, "holder", d->holder);
	else
		bs_json_null(&j, "holder");
	bs_json_array_begin(&j, "mounts");
	for (i = 0; i < d->nr_mounts; i++) {
		bs_json_object_begin(&j, NULL);
		bs_json_str(&j, "source", d->mounts[i].source);
		bs_json_str(&j, "target", d->mounts[i].target);
		bs_json_object_end(&j);
	}
	bs_json_array_end(&j);
	bs_json_bool(&j, "usable", ok);
	bs_json_str(&j, "reason", ok ? NULL : why);
	return bs_json_print(&j, stdout);
}

struct row {
	char size[32];
	char transport[48];
	const char *reason;
};

static int print_table(struct bs_drive *drives, size_t n, char (*why)[512], const bool *ok)
{
	int wdev = 6, wsize = 4, wmodel = 5, wtr = 9;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	size_t i;

	if (!rows)
		return -1;
	for (i = 0; i < n; i++) {
		struct bs_drive *d = &drives[i];
		struct row *r = &rows[i];

		bs_human_size(d->size, r->size, sizeof(r->size));
		if (d->usb_port[0])
			snprintf(r->transport, sizeof(r->transport), "usb:%s", d->usb_port);
		else
			snprintf(r->transport, sizeof(r->transport), "%s", d->transport);
		r->reason = ok[i] ? "ok" : short_reason(d, why[i]);
		if ((int)strlen(d->path) > wdev)
			wdev = (int)strlen(d->path);
		if ((int)strlen(r->size) > wsize)
			wsize = (int)strlen(r->size);
		if ((int)strlen(d->model) > wmodel)
			wmodel = (int)strlen(d->model);
		if ((int)strlen(r->transport) > wtr)
			wtr = (int)strlen(r->transport);
	}
	printf("%-*s  %*s  %-*s  %-*s  %-9s  %s\n", wdev, "DEVICE", wsize, "SIZE", wmodel, "MODEL",
	       wtr, "TRANSPORT", "REMOVABLE", "STATUS");
	for (i = 0; i < n; i++)
		printf("%-*s  %*s  %-*s  %-*s  %-9s  %s\n", wdev, drives[i].path, wsize,
		       rows[i].size, wmodel, drives[i].model[0] ? drives[i].model : "-", wtr,
		       rows[i].transport, drives[i].removable ? "yes" : "no", rows[i].reason);
	free(rows);
	return fflush(stdout) ? -1 : 0;
}

int cmd_list(int argc, char **argv)
{
	const struct bs_safety safety = {0};
	struct bs_drive *drives = NULL;
	char err[512], (*why)[512] = NULL;
	struct list_opts o = {0};
	struct bs_args a = {0};
	bool *ok = NULL;
	struct bs_event *sessions = NULL;
	size_t nsessions = 0;
	size_t n = 0, i;
	int r, ret = BS_EXIT_OK;

	r = bs_opts_cmd(&bs_list_optset, &o, argc, argv, &a, usage);
	if (r != BS_OPTS_GO)
		return r;

	err[0] = '\0';
	if (bs_drive_list(&drives, &n, o.all, err, sizeof(err))) {
		bs_error("Unable to list block devices: %s", err);
		return BS_EXIT_DEVICE;
	}
	if (!n) {
		if (!o.json)
			fprintf(stderr, "%s: no drives found%s\n", bs_prog,
				o.all ? "" : " (--all includes loop and RAM disks)");
		free(drives);
		return BS_EXIT_OK;
	}
	why = calloc(n, sizeof(*why));
	ok = calloc(n, sizeof(*ok));
	if (!why || !ok) {
		bs_error("Unable to list block devices: out of memory");
		ret = BS_EXIT_FAILURE;
		goto out;
	}
	/* drives being flashed, when the module can be asked (root) */
	if (bs_sessions(&sessions, &nsessions))
		nsessions = 0;
	for (i = 0; i < n; i++) {
		const struct bs_event *s = bs_session_on(sessions, nsessions, drives[i].name);

		ok[i] = bs_drive_check(&drives[i], &safety, why[i], sizeof(why[i])) == 0;
		if (s && s->kind == BOOTSEAL_KIND_STAGED) {
			ok[i] = false;
			snprintf(why[i], sizeof(why[i]),
				 "%s is staged as /dev/mapper/%s (%s; bootseal seal or unstage %s)",
				 drives[i].path, s->staged_name, bs_state_name(s->state),
				 s->staged_name);
		} else if (s) {
			ok[i] = false;
			snprintf(why[i], sizeof(why[i]),
				 "%s is being flashed (bootseal session %llu, %s, pid %u)",
				 drives[i].path, (unsigned long long)s->session_id,
				 bs_state_name(s->state), s->pid);
		}
	}
	if (o.json) {
		for (i = 0; i < n && ret == BS_EXIT_OK; i++)
			if (print_json(&drives[i], ok[i], why[i]))
				ret = BS_EXIT_FAILURE;
	} else if (print_table(drives, n, why, ok)) {
		ret = BS_EXIT_FAILURE;
	}
	if (ret != BS_EXIT_OK)
		bs_error("Unable to write the drive list: output error");
out:
	free(sessions);
	free(why);
	free(ok);
	free(drives);
	return ret;
}
