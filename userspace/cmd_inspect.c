// SPDX-License-Identifier: GPL-2.0
/* bootseal inspect: partition table and Raspberry Pi boot lint of an image or device. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootlint.h"
#include "helper.h"
#include "json.h"
#include "opts.h"
#include "ptable.h"
#include "reader.h"

#define MAX_LINTS 8

struct inspection {
	struct bs_reader *r;
	struct bs_ptable *pt;
	size_t nlints;
	struct bs_bootlint lints[MAX_LINTS];
};

struct inspect_opts {
	bool json;
};

static const struct bs_opt inspect_opts[] = {
	BS_OPT_JSON(struct inspect_opts, json,
		    "One JSON object (partition table keys as sfdisk's)"),
};

const struct bs_optset bs_inspect_optset = BS_OPTSET("inspect", inspect_opts);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s inspect [--json] IMAGE|DEVICE\n"
		"\n"
		"Show the partition table of an image (raw, xz, gzip, bzip2, zstd, zip, or - for\n"
		"standard input) or of a block device: the MBR with its extended/logical chain\n"
		"(logical partitions numbered 5, 6, ... as Linux does) or the GPT with its CRC,\n"
		"protective-MBR and backup-header checks; then lint the Raspberry Pi boot\n"
		"partition (FAT type and file system, boot files, what each board family "
		"misses).\n",
		bs_prog);
	bs_opts_help(f, &bs_inspect_optset);
	fprintf(f, "\nExit status: 0 a valid partition table and no errors found; 3 the image is\n"
		   "unreadable, has no valid partition table or errors were found; 4 the device\n"
		   "cannot be read; 2 usage.\n");
}

/* Errors that make the image unfit to flash. */
static bool has_errors(const struct inspection *in)
{
	size_t i, j;

	if (!bs_ptable_valid(in->pt))
		return true;
	for (i = 0; i < in->pt->nfindings; i++)
		if (in->pt->findings[i].sev == BS_SEV_ERROR)
			return true;
	for (i = 0; i < in->nlints; i++)
		for (j = 0; j < in->lints[i].nfindings; j++)
			if (in->lints[i].findings[j].sev == BS_SEV_ERROR)
				return true;
	return false;
}

static int lint(struct inspection *in, char *err, size_t errlen)
{
	size_t idx[MAX_LINTS], n, i;

	if (in->pt->label == BS_PT_NONE)
		return 0;
	n = bs_bootlint_targets(in->pt, NULL, idx, 1);
	if (!n)
		return 0;
	if (bs_bootlint_part(in->r, in->pt, idx[0], &in->lints[0], err, errlen))
		return -1;
	in->nlints = 1;
	n = bs_bootlint_targets(in->pt, &in->lints[0], idx, MAX_LINTS);
	for (i = 1; i < n; i++) {
		if (bs_bootlint_part(in->r, in->pt, idx[i], &in->lints[i], err, errlen))
			return -1;
		in->nlints++;
	}
	return 0;
}

static void print_checks(const struct bs_ptable *pt)
{
	if (pt->label != BS_PT_GPT)
		return;
	printf("GPT checks: header CRC %s, entry array CRC %s, backup header %s%s%s\n",
	       pt->gpt.header_crc_ok ? "ok" : "BAD", pt->gpt.array_crc_ok ? "ok" : "BAD",
	       !pt->gpt.backup_checked ? "not checked"
	       : pt->gpt.backup_ok     ? "ok"
				       : "BAD",
	       pt->gpt.used_backup ? ", primary unusable (backup used)" : "",
	       pt->gpt.hybrid ? ", hybrid MBR" : "");
}

static void print_lint(const struct bs_bootlint *l)
{
	size_t i;
	int f;

	printf("\nBoot partition %u (%s", l->part, l->type_name);
	if (l->fat_ok) {
		printf(", FAT%u", l->fat_bits);
		if (l->fat_label[0])
			printf(", label \"%s\"", l->fat_label);
		printf(", %zu root entries", l->root_entries);
	}
	printf(")%s\n", l->recovery ? ": recovery layout (NOOBS/PINN)" : "");
	if (l->pi_files) {
		printf("  Boot files:");
		for (i = 0; i < l->nfiles; i++)
			if (!strstr(l->files[i], ".dtb") && !strstr(l->files[i], ".DTB"))
				printf(" %s", l->files[i]);
		if (l->ndtbs)
			printf(" (+ %zu device tree%s)", l->ndtbs, l->ndtbs == 1 ? "" : "s");
		putchar('\n');
		for (f = 0; f < BS_PI_NFAMILIES; f++)
			printf("  %-28s %s%s\n", l->fam[f].name,
			       l->fam[f].ready ? "ready" : "missing ",
			       l->fam[f].ready ? "" : l->fam[f].missing);
	}
	for (i = 0; i < l->nfindings; i++)
		printf("  %s: %s\n", bs_severity_name(l->findings[i].sev), l->findings[i].msg);
}

static void print_text(const struct inspection *in, const char *path)
{
	size_t i;

	if (!bs_reader_is_device(in->r) && strcmp(bs_reader_kind(in->r), "raw")) {
		if (bs_reader_size(in->r) >= 0)
			printf("Image: %s (%s, %" PRId64 " bytes decompressed)\n", path,
			       bs_reader_kind(in->r), bs_reader_size(in->r));
		else
			printf("Image: %s (%s, size unknown)\n", path, bs_reader_kind(in->r));
	}
	bs_ptable_print(in->pt, path, stdout);
	print_checks(in->pt);
	for (i = 0; i < in->nlints; i++)
		print_lint(&in->lints[i]);
}

static void json_findings(struct bs_json *j, const struct bs_finding *f, size_t n)
{
	size_t i;

	bs_json_array_begin(j, "findings");
	for (i = 0; i < n; i++) {
		bs_json_object_begin(j, NULL);
		bs_json_str(j, "severity", bs_severity_name(f[i].sev));
		bs_json_str(j, "message", f[i].msg);
		bs_json_object_end(j);
	}
	bs_json_array_end(j);
}

static void json_part(struct bs_json *j, const struct bs_ptable *pt, const struct bs_part *p,
		      const char *path)
{
	char buf[320];

	bs_json_object_begin(j, NULL);
	bs_part_node(path, p->num, buf, sizeof(buf));
	bs_json_str(j, "node", buf);
	bs_json_uint(j, "start", p->start);
	bs_json_uint(j, "size", p->size);
	if (pt->label == BS_PT_DOS) {
		snprintf(buf, sizeof(buf), "%x", p->type);
		bs_json_str(j, "type", buf);
		if (p->boot)
			bs_json_bool(j, "bootable", true);
		bs_json_str(j, "typename", bs_mbr_type_name(p->type));
		bs_json_uint(j, "number", p->num);
		if (p->extended)
			bs_json_bool(j, "extended", true);
		if (p->logical)
			bs_json_bool(j, "logical", true);
	} else {
		bs_guid_str(p->type_guid, buf);
		bs_json_str(j, "type", buf);
		bs_guid_str(p->uuid, buf);
		bs_json_str(j, "uuid", buf);
		if (p->name[0])
			bs_json_str(j, "name", p->name);
		bs_json_str(j, "typename", bs_gpt_type_name(p->type_guid));
		bs_json_uint(j, "number", p->num);
		if (p->attrs) {
			bs_gpt_attrs_str(p->attrs, buf, sizeof(buf));
			if (buf[0])
				bs_json_str(j, "attrs", buf); /* sfdisk's key and form */
			bs_json_uint(j, "attributes", p->attrs);
		}
	}
	bs_json_object_end(j);
}

static void json_ptable(struct bs_json *j, const struct bs_ptable *pt, const char *path)
{
	char buf[40];
	size_t i;

	bs_json_object_begin(j, "partitiontable");
	bs_json_str(j, "label", bs_label_name(pt->label));
	if (pt->label == BS_PT_DOS) {
		snprintf(buf, sizeof(buf), "0x%08" PRIx32, pt->mbr_id);
		bs_json_str(j, "id", buf);
	} else if (pt->label == BS_PT_GPT) {
		bs_guid_str(pt->disk_guid, buf);
		bs_json_str(j, "id", buf);
	}
	bs_json_str(j, "device", path);
	bs_json_str(j, "unit", "sectors");
	if (pt->label == BS_PT_GPT && pt->gpt.header_crc_ok) {
		bs_json_uint(j, "firstlba", pt->gpt.first_usable);
		bs_json_uint(j, "lastlba", pt->gpt.last_usable);
		/* sfdisk names a non-default entry count, as a string */
		if (pt->gpt.nentries != 128) {
			snprintf(buf, sizeof(buf), "%" PRIu32, pt->gpt.nentries);
			bs_json_str(j, "table-length", buf);
		}
	}
	bs_json_uint(j, "sectorsize", pt->sector_size);
	bs_json_bool(j, "valid", bs_ptable_valid(pt));
	if (pt->label == BS_PT_GPT) {
		bs_json_object_begin(j, "gpt");
		bs_json_bool(j, "header_crc_ok", pt->gpt.header_crc_ok);
		bs_json_bool(j, "array_crc_ok", pt->gpt.array_crc_ok);
		bs_json_bool(j, "used_backup", pt->gpt.used_backup);
		bs_json_bool(j, "backup_checked", pt->gpt.backup_checked);
		bs_json_bool(j, "backup_ok", pt->gpt.backup_ok);
		bs_json_bool(j, "hybrid_mbr", pt->gpt.hybrid);
		bs_json_uint(j, "alternate_lba", pt->gpt.alternate_lba);
		bs_json_uint(j, "entries", pt->gpt.nentries);
		bs_json_object_end(j);
	}
	bs_json_array_begin(j, "partitions");
	for (i = 0; i < pt->nparts; i++)
		json_part(j, pt, &pt->parts[i], path);
	bs_json_array_end(j);
	json_findings(j, pt->findings, pt->nfindings);
	bs_json_object_end(j);
}

static void json_lint(struct bs_json *j, const struct bs_bootlint *l)
{
	size_t i;
	int f;

	bs_json_object_begin(j, NULL);
	bs_json_uint(j, "partition", l->part);
	bs_json_str(j, "typename", l->type_name);
	bs_json_bool(j, "type_fat", l->type_fat);
	bs_json_bool(j, "fat", l->fat_ok);
	if (l->fat_ok) {
		bs_json_uint(j, "fat_bits", l->fat_bits);
		bs_json_str(j, "label", l->fat_label);
	} else {
		bs_json_str(j, "fat_error", l->fat_error);
	}
	bs_json_bool(j, "raspberry_pi", l->pi_files);
	bs_json_bool(j, "recovery", l->recovery);
	bs_json_array_begin(j, "files");
	for (i = 0; i < l->nfiles; i++)
		bs_json_str(j, NULL, l->files[i]);
	bs_json_array_end(j);
	if (l->pi_files) {
		bs_json_array_begin(j, "families");
		for (f = 0; f < BS_PI_NFAMILIES; f++) {
			bs_json_object_begin(j, NULL);
			bs_json_str(j, "family", l->fam[f].name);
			bs_json_bool(j, "ready", l->fam[f].ready);
			bs_json_str(j, "missing", l->fam[f].missing);
			bs_json_object_end(j);
		}
		bs_json_array_end(j);
	}
	json_findings(j, l->findings, l->nfindings);
	bs_json_object_end(j);
}

static int print_json(const struct inspection *in, const char *path, bool ok)
{
	struct bs_json j;
	size_t i;

	bs_json_begin(&j);
	bs_json_str(&j, "path", path);
	bs_json_str(&j, "kind", bs_reader_kind(in->r));
	if (bs_reader_size(in->r) >= 0)
		bs_json_int(&j, "bytes", bs_reader_size(in->r));
	else
		bs_json_null(&j, "bytes"); /* standard input, not read to its end */
	bs_json_bool(&j, "ok", ok);
	json_ptable(&j, in->pt, path);
	bs_json_array_begin(&j, "bootlint");
	for (i = 0; i < in->nlints; i++)
		json_lint(&j, &in->lints[i]);
	bs_json_array_end(&j);
	return bs_json_print(&j, stdout);
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_opts o = {0};
	struct inspection *in;
	char *pos[1], *path, err[512];
	struct bs_args a = {.pos = pos, .maxpos = 1};
	bool stdin_image, ok;
	int ret;

	ret = bs_opts_cmd(&bs_inspect_optset, &o, argc, argv, &a, usage);
	if (ret != BS_OPTS_GO)
		return ret;
	if (a.npos != 1)
		return bs_usage_error("inspect",
				      "Unable to run 'inspect': give one IMAGE or DEVICE");
	path = pos[0];
	stdin_image = !strcmp(path, "-");
	in = calloc(1, sizeof(*in));
	if (!in) {
		bs_error("Unable to inspect %s: out of memory", path);
		return BS_EXIT_FAILURE;
	}
	in->r = bs_reader_open(path, err, sizeof(err));
	if (!in->r) {
		bs_error("%s", err);
		free(in);
		return strncmp(path, "/dev/", 5) ? BS_EXIT_IMAGE : BS_EXIT_DEVICE;
	}
	ret = bs_reader_is_device(in->r) ? BS_EXIT_DEVICE : BS_EXIT_IMAGE;
	/* standard input cannot be read twice: no size, and no going back */
	in->pt = bs_ptable_read(in->r, stdin_image ? BS_PT_NO_SIZE : 0, err, sizeof(err));
	if (!in->pt) {
		bs_error("%s", err);
		goto out;
	}
	if (lint(in, err, sizeof(err))) {
		if (!stdin_image) {
			bs_error("%s", err);
			goto out;
		}
		bs_warn("%s; the boot partition of standard input is not linted", err);
	}
	ok = !has_errors(in);
	if (o.json) {
		if (print_json(in, path, ok)) {
			bs_error("Unable to write the JSON output: out of memory or write error");
			ret = BS_EXIT_FAILURE;
			goto out;
		}
	} else {
		print_text(in, path);
		if (fflush(stdout)) {
			bs_error("Unable to write the output: write error");
			ret = BS_EXIT_FAILURE;
			goto out;
		}
	}
	ret = ok ? BS_EXIT_OK : BS_EXIT_IMAGE;
out:
	free(in->pt);
	bs_reader_close(in->r);
	free(in);
	return ret;
}
