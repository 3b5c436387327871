// SPDX-License-Identifier: GPL-2.0
/*
 * bootseal stage / partitions / seal / unstage / run: a whole disk behind
 * the module's device-mapper target, for imaging scripts and other writers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include "helper.h"
#include "busy.h"
#include "device.h"
#include "flash.h"
#include "headlen.h"
#include "json.h"
#include "module/uapi/bootseal.h"
#include "opts.h"
#include "ptable.h"
#include "reader.h"
#include "stage.h"

struct stage_opts {
	uint64_t head_len; /* --head SIZE; 0 = default */
	bool allow_fixed;  /* --allow-fixed */
	bool unmount;	   /* --unmount */
	bool yes;	   /* --yes */
	bool json;	   /* --json (stage) */
};

#define T struct stage_opts

/* run takes the same options but --json: it is last. */
static const struct bs_opt stage_opts_table[] = {
	BS_OPT_HEAD(T, head_len, "Bytes at the start held back until the seal (default: 1 MiB)"),
	BS_OPT_ALLOW_FIXED(T, allow_fixed),
	BS_OPT_UNMOUNT(T, unmount, "Unmount the disk's mounted partitions first"),
	BS_OPT_YES(T, yes),
	BS_OPT_JSON(T, json, "Print the staged device as one JSON object"),
};

#undef T

#define STAGE_NOPTS (sizeof(stage_opts_table) / sizeof(stage_opts_table[0]))

const struct bs_optset bs_stage_optset = {"stage", stage_opts_table, STAGE_NOPTS};
const struct bs_optset bs_run_optset = {"run", stage_opts_table, STAGE_NOPTS - 1};
/* partitions, seal and unstage take only NAME (and --help) */
const struct bs_optset bs_partitions_optset = {"partitions", NULL, 0};
const struct bs_optset bs_seal_optset = {"seal", NULL, 0};
const struct bs_optset bs_unstage_optset = {"unstage", NULL, 0};

/* A staged device as found by its name. */
struct staged {
	char name[BS_DM_NAME_LEN];
	char path[BS_DM_NAME_LEN + 16]; /* /dev/mapper/NAME */
	char disk[64];			/* /dev/sdb */
	unsigned int major, minor;	/* of the staged device */
	unsigned int dmajor, dminor;	/* of the disk */
	uint64_t head_sectors;
	struct bs_stage_status st;
	bool have_status;
};

/* ---- helpers ---------------------------------------------------------------- */

/* The disk's node from its device number: "/dev/" + the kernel name. */
static void disk_path(unsigned int ma, unsigned int mi, char *buf, size_t len)
{
	char p[64], link[256];
	ssize_t n;
	const char *b;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", ma, mi);
	n = readlink(p, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(buf, len, "%u:%u", ma, mi);
		return;
	}
	link[n] = '\0';
	b = strrchr(link, '/');
	snprintf(buf, len, "/dev/%.58s", b ? b + 1 : link);
}

/*
 * Find the staged device @arg (NAME or /dev/mapper/NAME). 0, or an exit
 * status after saying what is wrong.
 */
static int find_staged(const char *verb, const char *arg, struct staged *s)
{
	struct bs_dm_dev d;
	char err[512];

	memset(s, 0, sizeof(*s));
	if (bs_stage_name_arg(arg, s->name, sizeof(s->name), err, sizeof(err))) {
		bs_error("Unable to %s %s: %s", verb, arg, err);
		return BS_EXIT_USAGE;
	}
	snprintf(s->path, sizeof(s->path), "/dev/mapper/%s", s->name);
	if (bs_dm_get(s->name, &d, err, sizeof(err))) {
		bs_error("Unable to %s %s: %s", verb, s->name, err);
		return BS_EXIT_DEVICE;
	}
	if (!d.exists) {
		bs_error("Unable to %s %s: no such staged device (bootseal status lists them)",
			 verb, s->name);
		return BS_EXIT_DEVICE;
	}
	if (d.ntargets != 1 || strcmp(d.target, BS_STAGE_TARGET)) {
		bs_error("Unable to %s %s: not a staged device (its target is %s, not %s)", verb,
			 s->name, d.ntargets ? d.target : "none", BS_STAGE_TARGET);
		return BS_EXIT_DEVICE;
	}
	if (bs_stage_parse_table(d.table, &s->dmajor, &s->dminor, &s->head_sectors)) {
		bs_error(
			"Unable to %s %s: unexpected table line \"%s\" (helper and module differ?)",
			verb, s->name, d.table);
		return BS_EXIT_FAILURE;
	}
	s->major = d.major;
	s->minor = d.minor;
	s->have_status = !bs_stage_parse_status(d.status, &s->st);
	disk_path(s->dmajor, s->dminor, s->disk, sizeof(s->disk));
	return 0;
}

static void refresh_status(struct staged *s)
{
	struct bs_dm_dev d;
	char err[256];

	if (!bs_dm_get(s->name, &d, err, sizeof(err)) && d.exists)
		s->have_status = !bs_stage_parse_status(d.status, &s->st);
}

/* Where the device @ma:@mi is mounted, into @buf ("" when it is not). */
static void mounted_on(unsigned int ma, unsigned int mi, char *buf, size_t len)
{
	struct bs_mountinfo_entry *e = NULL;
	size_t n = 0, i;
	char *text = NULL;
	size_t cap = 0;
	FILE *f;

	buf[0] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	if (getdelim(&text, &cap, '\0', f) < 0) {
		free(text);
		fclose(f);
		return;
	}
	fclose(f);
	if (!bs_parse_mountinfo(text, &e, &n)) {
		for (i = 0; i < n; i++)
			if (e[i].major == ma && e[i].minor == mi) {
				snprintf(buf, len, "%s", e[i].target);
				break;
			}
		free(e);
	}
	free(text);
}

struct pmap {
	char name[BS_DM_NAME_LEN + 16];
	unsigned int num;
	int open_count;
	unsigned int major, minor;
};

/*
 * The partition mappings of @s (dm devices NAMEpN whose linear table lies on
 * the staged device), at most @max in @out. -1 with @err when dm cannot be
 * asked.
 */
static int list_parts(const struct staged *s, struct pmap *out, size_t max, size_t *n, char *err,
		      size_t errlen)
{
	char **names, prefix[32];
	size_t nn, i;

	*n = 0;
	if (bs_dm_list(&names, &nn, err, errlen))
		return -1;
	snprintf(prefix, sizeof(prefix), "%u:%u ", s->major, s->minor);
	for (i = 0; i < nn && *n < max; i++) {
		struct bs_dm_dev d;
		unsigned int num;

		if (!bs_stage_is_part_name(s->name, names[i], &num))
			continue;
		if (bs_dm_get(names[i], &d, err, errlen) || !d.exists)
			continue;
		if (strcmp(d.target, "linear") || strncmp(d.table, prefix, strlen(prefix)))
			continue;
		snprintf(out[*n].name, sizeof(out[*n].name), "%s", names[i]);
		out[*n].num = num;
		out[*n].open_count = d.open_count;
		out[*n].major = d.major;
		out[*n].minor = d.minor;
		(*n)++;
	}
	bs_dm_list_free(names, nn);
	return 0;
}

/*
 * Remove every partition mapping of @s. Nothing is removed when one is in
 * use: 0, or -1 after saying which one (mounted where) and why.
 */
static int remove_parts(const struct staged *s, const char *verb, bool unmount)
{
	struct pmap *pm = calloc(BS_PT_MAX_PARTS, sizeof(*pm));
	char err[512], mnt[256];
	size_t n = 0, i;
	int r;

	if (!pm) {
		bs_error("Unable to %s %s: out of memory", verb, s->name);
		return -1;
	}
	if (list_parts(s, pm, BS_PT_MAX_PARTS, &n, err, sizeof(err))) {
		bs_error("Unable to %s %s: cannot list its partition mappings: %s", verb, s->name,
			 err);
		free(pm);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!pm[i].open_count)
			continue;
		mounted_on(pm[i].major, pm[i].minor, mnt, sizeof(mnt));
		/* run's own mappings, after a failed command: nothing there is wanted */
		while (unmount && mnt[0]) {
			if (umount2(mnt, 0)) {
				bs_error("Unable to unmount /dev/mapper/%s from %s: %s", pm[i].name,
					 mnt, strerror(errno));
				break;
			}
			fprintf(stderr, "%s: unmounted /dev/mapper/%s from %s\n", bs_prog,
				pm[i].name, mnt);
			mounted_on(pm[i].major, pm[i].minor, mnt, sizeof(mnt));
			if (!mnt[0]) {
				struct bs_dm_dev d;

				if (!bs_dm_get(pm[i].name, &d, err, sizeof(err)) && d.exists)
					pm[i].open_count = d.open_count;
			}
		}
		if (!pm[i].open_count)
			continue;
		if (mnt[0])
			bs_error("Unable to %s %s: partition /dev/mapper/%s is mounted on %s "
				 "(unmount it first)",
				 verb, s->name, pm[i].name, mnt);
		else
			bs_error("Unable to %s %s: partition /dev/mapper/%s is in use (open by a "
				 "program; 'fuser -vm /dev/mapper/%s' names it)",
				 verb, s->name, pm[i].name, pm[i].name);
		free(pm);
		return -1;
	}
	for (i = 0; i < n; i++) {
		r = bs_dm_remove(pm[i].name, err, sizeof(err));
		if (r && r != -ENXIO && r != -ENODEV) {
			bs_error("Unable to %s %s: cannot remove partition mapping %s: %s", verb,
				 s->name, pm[i].name, err);
			free(pm);
			return -1;
		}
	}
	free(pm);
	return 0;
}

/* Write back what is cached for the staged device (a dd without fsync). */
static int sync_staged(const struct staged *s, char *err, size_t errlen)
{
	int fd = open(s->path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", s->path, strerror(errno));
		return -1;
	}
	if (fsync(fd)) {
		snprintf(err, errlen, "cannot write back %s: %s", s->path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Drop the disk's page cache (anything read while it was staged is stale),
 * re-read its table (not for a device-mapper disk: it has no partitions).
 */
static void reread_disk(const struct staged *s)
{
	const char *disk = s->disk;
	char err[256], p[64];
	int fd = open(disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0) {
		if (ioctl(fd, BLKFLSBUF, 0))
			bs_warn("Unable to drop the page cache of %s: %s", disk, strerror(errno));
		close(fd);
	}
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/dm", s->dmajor, s->dminor);
	if (!access(p, F_OK))
		return;
	if (bs_drive_reread(disk, err, sizeof(err)))
		bs_warn("Unable to re-read the partition table of %s: %s (run partprobe %s)", disk,
			err, disk);
}

/* Remove the staged device itself; says why not. 0 or -1. */
static int remove_staged(const struct staged *s, const char *verb)
{
	char err[512];
	int r = bs_dm_remove(s->name, err, sizeof(err));

	if (!r || r == -ENXIO || r == -ENODEV)
		return 0;
	if (r == -EBUSY)
		bs_error(
			"Unable to %s %s: %s is in use (open by a program; 'fuser -v %s' names it)",
			verb, s->name, s->path, s->path);
	else
		bs_error("Unable to %s %s: cannot remove it: %s", verb, s->name, err);
	return -1;
}

/* ---- stage -------------------------------------------------------------------- */

static bool confirm_stage(const struct bs_drive *d)
{
	char sz[32], line[128];

	if (!isatty(STDIN_FILENO)) {
		bs_error(
			"Unable to stage %s: refusing to erase it without confirmation; pass --yes",
			d->path);
		return false;
	}
	bs_human_size(d->size, sz, sizeof(sz));
	fprintf(stderr,
		"%s: about to stage %s (%s, %s%s%s%s): its partition table is erased now and\n"
		"what is written through the staged device replaces everything on it. Continue? "
		"[y/N] ",
		bs_prog, d->path, sz, d->model[0] ? d->model : "(no model)",
		d->transport[0] ? " (" : "", d->transport, d->transport[0] ? ")" : "");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin)) {
		fputc('\n', stderr);
		line[0] = '\0';
	}
	if (bs_confirm_answer(line))
		return true;
	bs_error("Unable to stage %s: not confirmed (answer y or yes to go on); nothing was "
		 "changed",
		 d->path);
	return false;
}

static const char *create_reason(int e)
{
	switch (e) {
	case EINVAL:
		return "the module refused the table (the kernel log has the reason: dmesg | grep "
		       "bootseal)";
	case EROFS:
		return "the disk is read-only";
	case EOPNOTSUPP:
		return "the disk is zoned";
	case EMEDIUMTYPE:
		return "a partition, not a whole disk";
	case EEXIST:
		return "a device-mapper device of that name exists";
	default:
		return strerror(e);
	}
}

/*
 * Stage @device per @o into @s. 0, or an exit status after saying what is
 * wrong (nothing is staged then).
 */
static int do_stage(const struct stage_opts *o, const char *device, struct staged *s)
{
	struct bs_safety safety = {.allow_fixed = o->allow_fixed, .unmount = o->unmount};
	struct bs_drive d;
	struct bs_dm_dev dd;
	struct stat st;
	char err[512], params[64];
	uint64_t head = o->head_len ? o->head_len : BS_STAGE_DEFAULT_HEAD, maxh;
	uint32_t lbs;
	int r;

	memset(s, 0, sizeof(*s));
	if (bs_drive_probe(device, &d, err, sizeof(err))) {
		bs_error("Unable to stage %s: %s", device, err);
		return BS_EXIT_DEVICE;
	}
	bs_stage_name_for(d.name, s->name, sizeof(s->name));
	snprintf(s->path, sizeof(s->path), "/dev/mapper/%s", s->name);
	snprintf(s->disk, sizeof(s->disk), "%s", d.path);
	if (!bs_dm_get(s->name, &dd, err, sizeof(err)) && dd.exists) {
		bs_error("Unable to stage %s: it is staged already as %s ('bootseal seal %s' or "
			 "'bootseal unstage %s')",
			 d.path, s->path, s->name, s->name);
		return BS_EXIT_DEVICE;
	}
	if (bs_drive_check(&d, &safety, err, sizeof(err))) {
		bs_error("Unable to stage %s: %s", d.path, err);
		return BS_EXIT_DEVICE;
	}
	lbs = d.logical_block_size ? d.logical_block_size : 512;
	if (lbs < 512 || lbs > 65536 || (lbs & (lbs - 1)) || d.size % lbs) {
		bs_error("Unable to stage %s: logical block size %u is invalid", d.path, lbs);
		return BS_EXIT_DEVICE;
	}
	if (head % lbs) {
		bs_error("Unable to use --head %" PRIu64 " for %s: not a multiple of its logical "
			 "block size %u",
			 head, d.path, lbs);
		return BS_EXIT_USAGE;
	}
	if (head > d.size) {
		bs_error("Unable to use --head %" PRIu64 " for %s: larger than the disk (%" PRIu64
			 " bytes)",
			 head, d.path, d.size);
		return BS_EXIT_USAGE;
	}
	r = bs_dm_has_target(BS_STAGE_TARGET, err, sizeof(err));
	if (r < 0) {
		bs_error("Unable to stage %s: cannot ask device-mapper: %s", d.path, err);
		return BS_EXIT_FAILURE;
	}
	if (!r) {
		if (access("/sys/module/bootseal", F_OK))
			bs_error("Unable to stage %s: the bootseal module is not loaded (modprobe "
				 "bootseal)",
				 d.path);
		else
			bs_error("Unable to stage %s: the loaded bootseal module has no "
				 "device-mapper "
				 "target (it is older than this helper; load a matching one)",
				 d.path);
		return BS_EXIT_FAILURE;
	}
	maxh = bs_module_max_head();
	if (maxh && head > maxh) {
		bs_error("Unable to use --head %" PRIu64
			 ": above the module's max_head_len (%" PRIu64
			 " bytes, /sys/module/bootseal/parameters/max_head_len)",
			 head, maxh);
		return BS_EXIT_USAGE;
	}
	if (stat(d.path, &st) || !S_ISBLK(st.st_mode)) {
		bs_error("Unable to stage %s: %s", d.path, strerror(errno ? errno : ENOTBLK));
		return BS_EXIT_DEVICE;
	}
	if (!o->yes && !confirm_stage(&d))
		return BS_EXIT_USAGE;
	s->dmajor = major(st.st_rdev);
	s->dminor = minor(st.st_rdev);
	s->head_sectors = head / 512;
	snprintf(params, sizeof(params), "%u:%u %" PRIu64, s->dmajor, s->dminor, s->head_sectors);
	r = bs_dm_create(s->name, BS_STAGE_TARGET, d.size / 512, params, err, sizeof(err));
	if (r == -EBUSY) {
		bs_busy_reason(d.path, err, sizeof(err));
		bs_error("Unable to stage %s: it is busy: %s", d.path, err);
		return BS_EXIT_DEVICE;
	}
	if (r) {
		bs_error("Unable to stage %s: %s", d.path, create_reason(-r));
		return -r == EIO ? BS_EXIT_WRITE : BS_EXIT_DEVICE;
	}
	if (bs_dm_get(s->name, &dd, err, sizeof(err)) || !dd.exists) {
		bs_error("Unable to find %s after creating it: %s", s->name,
			 dd.exists ? err : "it is gone");
		return BS_EXIT_FAILURE;
	}
	s->major = dd.major;
	s->minor = dd.minor;
	s->have_status = !bs_stage_parse_status(dd.status, &s->st);
	if (access(s->path, F_OK))
		bs_warn("%s was created but %s did not appear", s->name, s->path);
	return 0;
}

static void stage_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s stage [options] DEVICE\n"
		"\n"
		"Stage the whole disk DEVICE behind /dev/mapper/bootseal-NAME: its head (the\n"
		"first --head bytes) and its last MiB are zeroed now and held back in the\n"
		"kernel; everything else written through the staged device goes to the disk.\n"
		"'bootseal partitions' maps the partitions of the table written to it,\n"
		"'bootseal seal' makes the result bootable only once all of it is durable,\n"
		"'bootseal unstage' leaves the disk without a partition table. Prints the\n"
		"staged device's path.\n",
		bs_prog);
	bs_opts_help(f, &bs_stage_optset);
	fprintf(f, "\nExit status: 0 staged, 1 other failure, 2 usage, 4 device refused or busy,\n"
		   "5 zeroing the head or the tail failed.\n");
}

int cmd_stage(int argc, char **argv)
{
	struct stage_opts o = {0};
	struct staged s;
	char *pos[1];
	struct bs_args a = {.pos = pos, .maxpos = 1};
	int r;

	r = bs_opts_cmd(&bs_stage_optset, &o, argc, argv, &a, stage_usage);
	if (r != BS_OPTS_GO)
		return r;
	if (a.npos != 1)
		return bs_usage_error("stage", "Unable to run 'stage': give one DEVICE");
	if (o.head_len == 0 && bs_opts_given(&bs_stage_optset, &a, "head"))
		return bs_usage_error("stage",
				      "Unable to run 'stage': bad value '0' for --head: the head "
				      "is at least one block");
	r = do_stage(&o, pos[0], &s);
	if (r)
		return r;
	if (o.json) {
		struct bs_json j;

		bs_json_begin(&j);
		bs_json_str(&j, "name", s.name);
		bs_json_str(&j, "path", s.path);
		bs_json_str(&j, "disk", s.disk);
		bs_json_uint(&j, "head", s.head_sectors * 512);
		if (s.have_status)
			bs_json_uint(&j, "session", s.st.session_id);
		else
			bs_json_null(&j, "session");
		if (bs_json_print(&j, stdout))
			return BS_EXIT_FAILURE;
	} else {
		printf("%s\n", s.path);
	}
	return fflush(stdout) ? BS_EXIT_FAILURE : BS_EXIT_OK;
}

/* ---- partitions ------------------------------------------------------------------ */

static int do_partitions(const struct staged *s, bool print)
{
	struct bs_part_map *plan = calloc(BS_PT_MAX_PARTS, sizeof(*plan));
	struct bs_ptable *pt = NULL;
	struct bs_reader *rd;
	char err[512], pname[BS_DM_NAME_LEN + 16], params[96];
	uint64_t sectors;
	size_t n = 0, i, made = 0;
	int fd, r, ret = BS_EXIT_FAILURE;

	if (!plan) {
		bs_error("Unable to map the partitions of %s: out of memory", s->name);
		return BS_EXIT_FAILURE;
	}
	/* what the writer left in the page cache, and nothing stale */
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &sectors) || ioctl(fd, BLKFLSBUF, 0)) {
		bs_error("Unable to read %s: %s", s->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	sectors /= 512;
	rd = bs_reader_open(s->path, err, sizeof(err));
	if (!rd) {
		bs_error("Unable to read %s: %s", s->path, err);
		goto out;
	}
	pt = bs_ptable_read(rd, 0, err, sizeof(err));
	bs_reader_close(rd);
	if (!pt) {
		bs_error("Unable to read the partition table of %s: %s", s->path, err);
		goto out;
	}
	if (bs_stage_plan_parts(pt, sectors, plan, BS_PT_MAX_PARTS, &n, err, sizeof(err))) {
		bs_error("Unable to map the partitions of %s: %s; no mapping was made or changed",
			 s->path, err);
		goto out;
	}
	if (remove_parts(s, "map the partitions of", false))
		goto out;
	for (i = 0; i < n; i++) {
		bs_stage_part_name(s->name, plan[i].num, pname, sizeof(pname));
		snprintf(params, sizeof(params), "%u:%u %" PRIu64, s->major, s->minor,
			 plan[i].start);
		r = bs_dm_create(pname, "linear", plan[i].size, params, err, sizeof(err));
		if (r) {
			bs_error("Unable to map partition %u of %s as %s: %s", plan[i].num, s->path,
				 pname, err);
			for (; made > 0; made--) {
				bs_stage_part_name(s->name, plan[made - 1].num, pname,
						   sizeof(pname));
				bs_dm_remove(pname, err, sizeof(err));
			}
			goto out;
		}
		made++;
	}
	if (print)
		for (i = 0; i < n; i++) {
			bs_stage_part_name(s->name, plan[i].num, pname, sizeof(pname));
			printf("/dev/mapper/%s\n", pname);
		}
	ret = fflush(stdout) ? BS_EXIT_FAILURE : BS_EXIT_OK;
out:
	free(pt);
	free(plan);
	return ret;
}

static void name_usage(FILE *f, const struct bs_optset *set, const char *text)
{
	fprintf(f, "Usage: %s %s NAME\n\n%s", bs_prog, set->cmd, text);
	bs_opts_help(f, set);
}

/* Parse "CMD NAME" (no options but --help). 0, BS_OPTS_HELP, or an exit status. */
static int parse_name(const struct bs_optset *set, int argc, char **argv, char **name)
{
	char *pos[1];
	struct bs_args a = {.pos = pos, .maxpos = 1};
	int r = bs_opts_parse(set, NULL, argc, argv, &a);

	if (r == BS_OPTS_HELP)
		return r;
	if (r) {
		bs_try_help(argv[0]);
		return BS_EXIT_USAGE;
	}
	if (a.npos != 1)
		return bs_usage_error(argv[0],
				      "Unable to run '%s': give the staged device's NAME "
				      "(bootseal-sdb or /dev/mapper/bootseal-sdb)",
				      argv[0]);
	*name = pos[0];
	return 0;
}

int cmd_partitions(int argc, char **argv)
{
	struct staged s;
	char *name = NULL;
	int r = parse_name(&bs_partitions_optset, argc, argv, &name);

	if (r == BS_OPTS_HELP) {
		name_usage(
			stdout, &bs_partitions_optset,
			"Read the partition table (MBR or GPT) written to the staged device NAME\n"
			"and map each partition as /dev/mapper/NAMEp1, NAMEp2, ... on top of it,\n"
			"replacing earlier mappings; prints one path per line. A table with\n"
			"partitions past the end of the device or overlapping each other is\n"
			"refused and nothing is mapped. Run it after writing the table, e.g. in a\n"
			"script under 'bootseal run': bootseal partitions \"$BOOTSEAL_DEV\".\n");
		return BS_EXIT_OK;
	}
	if (r)
		return r;
	r = find_staged("map the partitions of", name, &s);
	if (r)
		return r;
	return do_partitions(&s, true);
}

/* ---- seal / unstage ---------------------------------------------------------------- */

static int do_unstage(struct staged *s, const char *verb, bool unmount)
{
	if (remove_parts(s, verb, unmount) || remove_staged(s, verb))
		return -1;
	return 0;
}

/* Seal @s: 0 (sealed, removed, re-read), or an exit status after saying what happened. */
static int do_seal(struct staged *s)
{
	char err[512], why[768], sz[32];
	int r, tries;

	if (remove_parts(s, "seal", false))
		return BS_EXIT_DEVICE;
	if (sync_staged(s, err, sizeof(err))) {
		bs_error("Unable to seal %s: %s; it stays staged ('bootseal seal %s' again, or "
			 "'bootseal unstage %s')",
			 s->name, err, s->name, s->name);
		return BS_EXIT_FAILURE;
	}
	/*
	 * The module refuses (EBUSY) while anyone has the staged device open:
	 * udev's probing after the mappings went away holds it for a moment.
	 */
	for (tries = 0;; tries++) {
		struct timespec ts = {0, 200 * 1000 * 1000};

		r = bs_dm_message(s->name, "seal", err, sizeof(err));
		if (r != -EBUSY || tries >= 50)
			break;
		nanosleep(&ts, NULL);
	}
	refresh_status(s);
	if (r == -EBUSY && s->have_status &&
	    (!strcmp(s->st.state, "staged") || !strcmp(s->st.state, "writing"))) {
		bs_error("Unable to seal %s: %s is in use (open by a program, or suspended; 'fuser "
			 "-v %s' names a program); it stays staged: 'bootseal seal %s' again, or "
			 "'bootseal unstage %s'",
			 s->name, s->path, s->path, s->name, s->name);
		return BS_EXIT_DEVICE;
	}
	if (r) {
		int e = -r;

		if (s->have_status)
			bs_stage_describe_failure(&s->st, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "status unknown");
		if (e == EBADFD)
			bs_error("Unable to seal %s (%s): it cannot be sealed any more: %s",
				 s->disk, s->name, why);
		else
			bs_error("Unable to seal %s (%s): %s: %s", s->disk, s->name,
				 e == EINTR ? "interrupted" : strerror(e), why);
		if (!s->have_status || strcmp(s->st.state, "unclean"))
			bs_error("%s is left UNFLASHED", s->disk);
		if (!remove_staged(s, "remove"))
			reread_disk(s);
		return BS_EXIT_FAILURE;
	}
	if (s->have_status && strcmp(s->st.state, "sealed"))
		bs_warn("%s reports state %s after the seal", s->name, s->st.state);
	if (remove_staged(s, "remove"))
		bs_warn("%s is sealed, but %s is still there; remove it with 'bootseal unstage %s' "
			"(the disk stays as sealed)",
			s->disk, s->name, s->name);
	else
		reread_disk(s);
	bs_human_size(s->have_status ? s->st.bytes_completed : 0, sz, sizeof(sz));
	printf("%s sealed: %s written through %s\n", s->disk, sz, s->path);
	return fflush(stdout) ? BS_EXIT_FAILURE : BS_EXIT_OK;
}

int cmd_seal(int argc, char **argv)
{
	struct staged s;
	char *name = NULL;
	int r = parse_name(&bs_seal_optset, argc, argv, &name);

	if (r == BS_OPTS_HELP) {
		name_usage(
			stdout, &bs_seal_optset,
			"Finish the staged device NAME: remove its partition mappings (they must\n"
			"not be mounted), write back what is cached, flush the disk, then write\n"
			"the held-back tail and head and read them back. Then the staged device "
			"is\n"
			"removed and the disk's partition table re-read. If the seal fails, the\n"
			"disk is left without a partition table (the error says so) and 1 is\n"
			"returned.\n");
		fprintf(stdout,
			"\nExit status: 0 sealed, 1 seal failed or other failure, 2 usage,\n"
			"4 not a staged device, or a partition mapping is in use.\n");
		return BS_EXIT_OK;
	}
	if (r)
		return r;
	r = find_staged("seal", name, &s);
	if (r)
		return r;
	return do_seal(&s);
}

int cmd_unstage(int argc, char **argv)
{
	struct staged s;
	char *name = NULL;
	int r = parse_name(&bs_unstage_optset, argc, argv, &name);

	if (r == BS_OPTS_HELP) {
		name_usage(stdout, &bs_unstage_optset,
			   "Remove the partition mappings and the staged device NAME without\n"
			   "sealing: the disk is left unflashed, its head and tail zero (no\n"
			   "partition table).\n");
		return BS_EXIT_OK;
	}
	if (r)
		return r;
	r = find_staged("unstage", name, &s);
	if (r)
		return r;
	if (do_unstage(&s, "unstage", false))
		return BS_EXIT_DEVICE;
	reread_disk(&s);
	printf("%s left unflashed: head and tail are zero, no partition table\n", s.disk);
	return fflush(stdout) ? BS_EXIT_FAILURE : BS_EXIT_OK;
}

/* ---- run ---------------------------------------------------------------------------- */

static atomic_int run_sig;
static volatile pid_t run_child;
static const int run_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void on_run_signal(int sig)
{
	int e = errno;
	pid_t c = run_child;

	if (!atomic_load(&run_sig))
		atomic_store(&run_sig, sig);
	if (c > 0)
		kill(c, sig);
	errno = e;
}

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s run [options] DEVICE -- COMMAND [ARGS...]\n"
		"\n"
		"Stage DEVICE (as 'bootseal stage'), run COMMAND with BOOTSEAL_DEV set to the\n"
		"staged device (/dev/mapper/bootseal-NAME) and BOOTSEAL_DISK to DEVICE, and\n"
		"seal only if it exits 0. A command that needs the partitions of the table it\n"
		"wrote gets them with: bootseal partitions \"$BOOTSEAL_DEV\" (unmount them\n"
		"before exiting; the mappings are removed before the seal). If it exits non-zero\n"
		"or is killed, or bootseal gets SIGINT, SIGTERM or SIGHUP (passed on to it),\n"
		"the disk is unstaged (partitions it left mounted are unmounted) and left\n"
		"unflashed, without a partition table.\n"
		"Example: bootseal run /dev/sdb -- ./make-card.sh\n",
		bs_prog);
	bs_opts_help(f, &bs_run_optset);
	fprintf(f, "\nExit status: 0 the command succeeded and the disk is sealed; the command's\n"
		   "status when it failed (128 + the signal when it was killed, or when bootseal\n"
		   "was interrupted: 129 SIGHUP, 130 SIGINT, 143 SIGTERM); 1 the seal failed or\n"
		   "another failure, 2 usage, 4 device refused or busy, 5 zeroing failed.\n");
}

/* The child: default signals, the environment, exec. */
static void run_exec(const struct staged *s, char **cmd, const sigset_t *oldmask)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	size_t i;

	for (i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
		sigaction(run_signals[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (setenv("BOOTSEAL_DEV", s->path, 1) || setenv("BOOTSEAL_DISK", s->disk, 1)) {
		bs_error("Unable to run %s: %s", cmd[0], strerror(errno));
		_exit(127);
	}
	execvp(cmd[0], cmd);
	bs_error("Unable to run %s: %s", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int cmd_run(int argc, char **argv)
{
	struct stage_opts o = {0};
	struct sigaction sa = {.sa_handler = on_run_signal}, old[3];
	struct staged s;
	sigset_t block, oldmask;
	char *pos[1], **cmd, name[BS_DM_NAME_LEN];
	struct bs_args a = {.pos = pos, .maxpos = 1};
	size_t i;
	int r, sep, status = 0, ret, sig;
	pid_t pid, w;

	for (sep = 1; sep < argc && strcmp(argv[sep], "--"); sep++)
		;
	/* everything after the first "--" is the command's, untouched */
	r = bs_opts_cmd(&bs_run_optset, &o, sep, argv, &a, run_usage);
	if (r != BS_OPTS_GO)
		return r;
	if (a.npos != 1)
		return bs_usage_error("run",
				      "Unable to run 'run': give one DEVICE, then -- and the "
				      "command");
	if (sep >= argc - 1)
		return bs_usage_error("run",
				      "Unable to run 'run': give the command after --, e.g. "
				      "'%s run %s -- ./make-card.sh'",
				      bs_prog, pos[0]);
	if (o.head_len == 0 && bs_opts_given(&bs_run_optset, &a, "head"))
		return bs_usage_error("run",
				      "Unable to run 'run': bad value '0' for --head: the head "
				      "is at least one block");
	cmd = argv + sep + 1;

	/* From here on SIGINT, SIGTERM and SIGHUP never leave the disk staged. */
	for (i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
		sigaction(run_signals[i], &sa, &old[i]);
	ret = do_stage(&o, pos[0], &s);
	if (ret && atomic_load(&run_sig)) {
		/* e.g. Ctrl-C at the prompt: nothing was staged */
		bs_error("interrupted by signal %d (%s); %s was not touched", atomic_load(&run_sig),
			 strsignal(atomic_load(&run_sig)), pos[0]);
		ret = BS_EXIT_SIGNAL + atomic_load(&run_sig);
	}
	if (ret)
		goto restore;
	/* find_staged() starts from a clean struct: keep the name apart */
	snprintf(name, sizeof(name), "%s", s.name);
	fprintf(stderr, "%s: staged %s as %s; running %s\n", bs_prog, s.disk, s.path, cmd[0]);
	if (atomic_load(&run_sig)) {
		status = -1;
		goto unstage;
	}
	/* no signal between fork and run_child = pid goes unforwarded */
	sigemptyset(&block);
	for (i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
		sigaddset(&block, run_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		run_exec(&s, cmd, &oldmask);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		bs_error("Unable to run %s: %s", cmd[0], strerror(errno));
		status = -1;
		ret = BS_EXIT_FAILURE;
		goto unstage;
	}
	run_child = pid;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	do {
		w = waitpid(pid, &status, 0);
	} while (w < 0 && errno == EINTR);
	run_child = 0;
	if (w < 0) {
		bs_error("Unable to wait for %s: %s", cmd[0], strerror(errno));
		status = -1;
		ret = BS_EXIT_FAILURE;
		goto unstage;
	}
	sig = atomic_load(&run_sig);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !sig) {
		r = find_staged("seal", name, &s);
		ret = r ? r : do_seal(&s);
		if (ret == BS_EXIT_DEVICE)
			bs_error("%s stays staged as %s: unmount the partition, then 'bootseal "
				 "seal %s' "
				 "or 'bootseal unstage %s'",
				 s.disk, s.path, s.name, s.name);
		goto restore;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status))
		ret = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		ret = BS_EXIT_SIGNAL + WTERMSIG(status);
	else
		ret = BS_EXIT_SIGNAL + sig;
	if (WIFSIGNALED(status))
		bs_error("%s was killed by signal %d (%s)", cmd[0], WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status))
		bs_error("%s exited with status %d", cmd[0], WEXITSTATUS(status));
	else
		bs_error("interrupted by signal %d (%s)", sig, strsignal(sig));
unstage:
	if (status == -1 && !ret)
		ret = BS_EXIT_SIGNAL + atomic_load(&run_sig);
	r = find_staged("unstage", name, &s);
	if (!r && !do_unstage(&s, "unstage", true)) {
		reread_disk(&s);
		bs_error("%s left UNFLASHED: head and tail are zero, no partition table", s.disk);
	} else if (!r) {
		bs_error("%s stays staged as %s (UNFLASHED): free the partition, then 'bootseal "
			 "unstage %s'",
			 s.disk, s.path, s.name);
	}
restore:
	for (i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
		sigaction(run_signals[i], &old[i], NULL);
	return ret;
}
