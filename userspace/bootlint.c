// SPDX-License-Identifier: GPL-2.0
/* Raspberry Pi boot partition lint. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "bootlint.h"

static const char *const family_names[BS_PI_NFAMILIES] = {
	[BS_PI_1] = "Pi 1 / Zero / CM1",
	[BS_PI_23] = "Pi 2 / Pi 3 / Zero 2 / CM3",
	[BS_PI_4] = "Pi 4 / Pi 400 / CM4",
	[BS_PI_5] = "Pi 5 / Pi 500 / CM5",
};

/* Device tree prefixes per family (the SoC names the firmware picks). */
static const char *const dtb_prefixes[BS_PI_NFAMILIES][4] = {
	[BS_PI_1] = {"bcm2708-", "bcm2835-"},
	[BS_PI_23] = {"bcm2709-", "bcm2710-", "bcm2836-", "bcm2837-"},
	[BS_PI_4] = {"bcm2711-"},
	[BS_PI_5] = {"bcm2712-"},
};

static void finding(struct bs_bootlint *l, enum bs_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct bs_bootlint *l, enum bs_severity sev, const char *fmt, ...)
{
	va_list ap;

	if (l->nfindings >= BS_LINT_MAX_FINDINGS)
		return;
	l->findings[l->nfindings].sev = sev;
	va_start(ap, fmt);
	vsnprintf(l->findings[l->nfindings].msg, sizeof(l->findings[0].msg), fmt, ap);
	va_end(ap);
	l->nfindings++;
}

static bool prefix(const char *s, const char *p)
{
	return !strncasecmp(s, p, strlen(p));
}

static bool suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n >= m && !strcasecmp(s + n - m, sfx);
}

static bool is_boot_file(const char *n)
{
	return !strcasecmp(n, "bootcode.bin") || !strcasecmp(n, "config.txt") ||
	       !strcasecmp(n, "cmdline.txt") || !strcasecmp(n, "recovery.elf") ||
	       !strcasecmp(n, "recovery.cmdline") || (prefix(n, "start") && suffix(n, ".elf")) ||
	       (prefix(n, "fixup") && suffix(n, ".dat")) ||
	       (prefix(n, "kernel") && suffix(n, ".img")) ||
	       (prefix(n, "recovery") && suffix(n, ".img")) || suffix(n, ".dtb");
}

static bool has(const struct bs_fat *fs, const char *name)
{
	const struct bs_fat_dirent *d = bs_fat_find(fs, name);

	return d && !(d->attr & BS_FAT_ATTR_DIR);
}

/* Firmware and kernels count only with content: an empty one is missing. */
static bool has_data(const struct bs_fat *fs, const char *name)
{
	const struct bs_fat_dirent *d = bs_fat_find(fs, name);

	return d && !(d->attr & BS_FAT_ATTR_DIR) && d->size > 0;
}

static bool has_dtb(const struct bs_fat *fs, enum bs_pi_family f)
{
	size_t i, j;

	for (i = 0; i < fs->nentries; i++) {
		const char *n = fs->entries[i].name;

		if (!suffix(n, ".dtb"))
			continue;
		for (j = 0; j < 4 && dtb_prefixes[f][j]; j++)
			if (prefix(n, dtb_prefixes[f][j]))
				return true;
	}
	return false;
}

static bool has_recovery_kernel(const struct bs_fat *fs)
{
	size_t i;

	for (i = 0; i < fs->nentries; i++)
		if (prefix(fs->entries[i].name, "recovery") && suffix(fs->entries[i].name, ".img"))
			return true;
	return false;
}

static void need(struct bs_lint_family *f, bool ok, const char *what)
{
	size_t n = strlen(f->missing);

	if (ok)
		return;
	f->ready = false;
	snprintf(f->missing + n, sizeof(f->missing) - n, "%s%s", n ? ", " : "", what);
}

static void families(struct bs_bootlint *l, const struct bs_fat *fs, bool gpt)
{
	static const char *const kernels[BS_PI_NFAMILIES][2] = {
		[BS_PI_1] = {"kernel.img", NULL},
		[BS_PI_23] = {"kernel7.img", "kernel8.img"},
		[BS_PI_4] = {"kernel7l.img", "kernel8.img"},
		[BS_PI_5] = {"kernel_2712.img", "kernel8.img"},
	};
	static const char *const kernel_text[BS_PI_NFAMILIES] = {
		"kernel.img",
		"kernel7.img or kernel8.img",
		"kernel7l.img or kernel8.img",
		"kernel_2712.img or kernel8.img",
	};
	static const char *const dtb_text[BS_PI_NFAMILIES] = {
		"bcm2708-*.dtb",
		"bcm2709/bcm2710-*.dtb",
		"bcm2711-*.dtb",
		"bcm2712-*.dtb",
	};
	int f;

	for (f = 0; f < BS_PI_NFAMILIES; f++) {
		struct bs_lint_family *fam = &l->fam[f];
		bool kernel = has_data(fs, kernels[f][0]) ||
			      (kernels[f][1] && has_data(fs, kernels[f][1]));

		fam->name = family_names[f];
		fam->ready = true;
		if (gpt && (f == BS_PI_1 || f == BS_PI_23))
			need(fam, false, "an MBR partition table (GPT needs Pi 4 or later)");
		if (f == BS_PI_1 || f == BS_PI_23)
			need(fam, l->has_bootcode, "bootcode.bin");
		if (l->recovery && f != BS_PI_5) {
			need(fam, has_data(fs, "recovery.elf"), "recovery.elf");
			need(fam, has_recovery_kernel(fs), "recovery*.img");
			continue;
		}
		/*
		 * A Pi 5 boots from its EEPROM, which never runs recovery.elf:
		 * NOOBS recovery does not start there; it needs what any Pi 5
		 * boot partition needs (checked below).
		 */
		if (f == BS_PI_1 || f == BS_PI_23) {
			need(fam, has_data(fs, "start.elf"), "start.elf");
			need(fam, has_data(fs, "fixup.dat"), "fixup.dat");
		} else if (f == BS_PI_4) {
			need(fam, has_data(fs, "start4.elf"), "start4.elf");
			need(fam, has_data(fs, "fixup4.dat"), "fixup4.dat");
		}
		need(fam, kernel, kernel_text[f]);
		need(fam, has_dtb(fs, (enum bs_pi_family)f), dtb_text[f]);
	}
}

static void scan_files(struct bs_bootlint *l, const struct bs_fat *fs)
{
	size_t i;

	for (i = 0; i < fs->nentries; i++) {
		const struct bs_fat_dirent *d = &fs->entries[i];

		if ((d->attr & BS_FAT_ATTR_DIR) || !is_boot_file(d->name))
			continue;
		l->pi_files = true;
		if (suffix(d->name, ".dtb"))
			l->ndtbs++;
		if (l->nfiles < BS_LINT_MAX_FILES)
			snprintf(l->files[l->nfiles++], sizeof(l->files[0]), "%s", d->name);
		if (!d->size)
			finding(l, BS_SEV_ERROR, "%s is empty (0 bytes)", d->name);
	}
	l->has_bootcode = has_data(fs, "bootcode.bin");
	l->has_config = has(fs, "config.txt");
	l->has_cmdline = has(fs, "cmdline.txt");
	l->recovery = has(fs, "recovery.elf") || has(fs, "recovery.cmdline");
}

/*
 * cmdline.txt's root=PARTUUID= must name this disk: "XXXXXXXX-NN" (MBR:
 * the disk identifier and a partition number) or a GPT partition's GUID.
 * Only the first cluster is read (a command line is one short line).
 */
static void check_cmdline(struct bs_bootlint *l, struct bs_reader *r, const struct bs_ptable *pt,
			  const struct bs_part *p, const struct bs_fat *fs)
{
	const struct bs_fat_dirent *d = bs_fat_find(fs, "cmdline.txt");
	uint64_t first_data, off, csize = (uint64_t)fs->sectors_per_cluster * fs->bytes_per_sector;
	char buf[4097], *root, want[40], guid[37];
	size_t len, i;
	ssize_t n;

	if (!d || !d->size || d->cluster < 2 || !csize)
		return;
	first_data =
		(uint64_t)fs->reserved_sectors + (uint64_t)fs->nfats * fs->fat_sectors +
		((uint64_t)fs->root_entries * 32 + fs->bytes_per_sector - 1) / fs->bytes_per_sector;
	off = p->start * pt->sector_size +
	      (first_data + (uint64_t)(d->cluster - 2) * fs->sectors_per_cluster) *
		      fs->bytes_per_sector;
	len = d->size < sizeof(buf) - 1 ? d->size : sizeof(buf) - 1;
	if (len > csize)
		len = (size_t)csize;
	n = bs_reader_pread(r, buf, len, off);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (root = buf; (root = strstr(root, "root=PARTUUID=")); root++)
		if (root == buf || isspace((unsigned char)root[-1]))
			break;
	if (!root)
		return;
	root += strlen("root=PARTUUID=");
	len = strcspn(root, " \t\r\n");
	if (len >= sizeof(want))
		len = sizeof(want) - 1;
	memcpy(want, root, len);
	want[len] = '\0';
	if (pt->label == BS_PT_DOS) {
		char id[9];
		unsigned long num;
		char *end;

		snprintf(id, sizeof(id), "%08" PRIx32, pt->mbr_id);
		if (len < 10 || want[8] != '-' || strncasecmp(want, id, 8)) {
			finding(l, BS_SEV_ERROR,
				"cmdline.txt says root=PARTUUID=%s, but the disk identifier is "
				"0x%s: the kernel will not find its root file system",
				want, id);
			return;
		}
		num = strtoul(want + 9, &end, 16);
		for (i = 0; i < pt->nparts; i++)
			if (pt->parts[i].num == num && !pt->parts[i].extended)
				return;
		finding(l, BS_SEV_ERROR,
			"cmdline.txt says root=PARTUUID=%s, but the disk has no partition %lu",
			want, num);
		return;
	}
	for (i = 0; i < pt->nparts; i++) {
		bs_guid_str(pt->parts[i].uuid, guid);
		if (!strcasecmp(guid, want))
			return;
	}
	finding(l, BS_SEV_ERROR,
		"cmdline.txt says root=PARTUUID=%s, but no partition of this disk has that GUID",
		want);
}

static bool fat_type(const struct bs_ptable *pt, const struct bs_part *p)
{
	if (pt->label == BS_PT_GPT) {
		const char *n = bs_gpt_type_name(p->type_guid);

		return !strcmp(n, "EFI System") || !strcmp(n, "Microsoft basic data");
	}
	return p->type == 0x0b || p->type == 0x0c || p->type == 0x0e || p->type == 0x06;
}

int bs_bootlint_part(struct bs_reader *r, const struct bs_ptable *pt, size_t idx,
		     struct bs_bootlint *l, char *err, size_t errlen)
{
	const struct bs_part *p = &pt->parts[idx];
	struct bs_fat *fs = NULL;
	size_t i, type_finding = BS_LINT_MAX_FINDINGS;
	char why[256];
	int rc;

	memset(l, 0, sizeof(*l));
	l->part = p->num;
	l->type_fat = fat_type(pt, p);
	if (pt->label == BS_PT_GPT) {
		snprintf(l->type_name, sizeof(l->type_name), "%s", bs_gpt_type_name(p->type_guid));
	} else {
		l->mbr_type = p->type;
		snprintf(l->type_name, sizeof(l->type_name), "%s", bs_mbr_type_name(p->type));
	}
	if (!l->type_fat) {
		type_finding = l->nfindings;
		if (pt->label == BS_PT_GPT)
			finding(l, BS_SEV_ERROR,
				"partition %u has type %s, not EFI System or Microsoft basic data "
				"(FAT)",
				p->num, l->type_name);
		else
			finding(l, BS_SEV_ERROR,
				"partition %u has type 0x%02x (%s): the Raspberry Pi firmware "
				"reads only FAT partitions (0x0b, 0x0c, 0x0e, 0x06)",
				p->num, p->type, l->type_name);
	}
	rc = bs_fat_read_root(r, p->start * pt->sector_size, p->size * pt->sector_size, &fs, why,
			      sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "Unable to read partition %u: %s", p->num, why);
		return -1;
	}
	if (rc > 0) {
		snprintf(l->fat_error, sizeof(l->fat_error), "%s", why);
		/* unformatted is not broken: only a Raspberry Pi card would be */
		finding(l, l->type_fat ? BS_SEV_WARN : BS_SEV_INFO,
			"partition %u holds no FAT file system: %s", p->num, why);
		/* not a FAT partition at all: not a Raspberry Pi boot partition */
		if (type_finding < l->nfindings)
			l->findings[type_finding].sev = BS_SEV_INFO;
		return 0;
	}
	l->fat_ok = true;
	l->fat_bits = fs->bits;
	l->root_entries = fs->nentries;
	memcpy(l->fat_label, fs->label, sizeof(l->fat_label));
	for (i = 0; i < fs->nfindings; i++)
		finding(l, fs->findings[i].sev, "FAT: %s", fs->findings[i].msg);
	if (fs->truncated)
		finding(l, BS_SEV_WARN,
			"root directory has more than %u entries; the rest is ignored",
			BS_FAT_MAX_ENTRIES);
	scan_files(l, fs);
	if (!l->pi_files) {
		if (type_finding < l->nfindings)
			l->findings[type_finding].sev = BS_SEV_INFO;
		finding(l, BS_SEV_INFO,
			"no Raspberry Pi boot files in the root directory of partition %u", p->num);
	} else {
		families(l, fs, pt->label == BS_PT_GPT);
		if (!l->recovery && !l->has_cmdline)
			finding(l, BS_SEV_WARN,
				"no cmdline.txt: the kernel gets no command line (root=) from the "
				"firmware");
		if (!l->recovery && !l->has_config)
			finding(l, BS_SEV_INFO, "no config.txt: the firmware uses its defaults");
		if (pt->label == BS_PT_DOS || pt->label == BS_PT_GPT)
			check_cmdline(l, r, pt, p, fs);
	}
	free(fs);
	return 0;
}

size_t bs_bootlint_targets(const struct bs_ptable *pt, const struct bs_bootlint *first_lint,
			   size_t *idx, size_t max)
{
	size_t i, n = 0, first = pt->nparts;

	for (i = 0; i < pt->nparts; i++) {
		if (!pt->parts[i].extended && pt->parts[i].size && pt->parts[i].type != 0xee) {
			first = i;
			break;
		}
	}
	if (first == pt->nparts || !max)
		return 0;
	idx[n++] = first;
	if (!first_lint || !first_lint->recovery)
		return n;
	for (i = first + 1; i < pt->nparts && n < max; i++)
		if (!pt->parts[i].extended && pt->parts[i].size && fat_type(pt, &pt->parts[i]))
			idx[n++] = i;
	return n;
}
