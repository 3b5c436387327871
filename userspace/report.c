// SPDX-License-Identifier: GPL-2.0
/*
 * The end of a flash (flash_job.h): the summary of every target, the
 * partitions the kernel sees on each target that is done, and its eject or
 * power-off.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "flash_job.h"
#include "json.h"
#include "scsi.h"
#include "verify.h"

struct part {
	unsigned int no;
	uint64_t start, size; /* 512-byte sectors */
	char name[40];
	bool extended; /* the image's MBR extended partition (a container) */
};

static int read_u64(const char *path, uint64_t *v)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static int part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	return x->no < y->no ? -1 : x->no > y->no;
}

/* Read /sys/class/block/@disk/@part/@attr as a number. */
static int part_attr(const char *disk, const char *part, const char *attr, uint64_t *v)
{
	char path[160];

	if (snprintf(path, sizeof(path), "/sys/class/block/%.32s/%.40s/%s", disk, part, attr) >=
	    (int)sizeof(path))
		return -1;
	return read_u64(path, v);
}

/* The partitions the kernel sees on disk @name, from sysfs. */
static size_t kernel_parts(const char *name, struct part *pa, size_t max)
{
	char path[96];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/block/%.32s", name);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		uint64_t no;

		if (strncmp(de->d_name, name, strlen(name)) ||
		    strlen(de->d_name) >= sizeof(pa[n].name))
			continue;
		if (part_attr(name, de->d_name, "partition", &no) ||
		    part_attr(name, de->d_name, "start", &pa[n].start) ||
		    part_attr(name, de->d_name, "size", &pa[n].size))
			continue;
		pa[n].no = (unsigned int)no;
		memcpy(pa[n].name, de->d_name, strlen(de->d_name) + 1);
		n++;
	}
	closedir(d);
	qsort(pa, n, sizeof(pa[0]), part_cmp);
	return n;
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val));
	close(fd);
	return r < 0 ? -1 : 0;
}

/*
 * Power a USB target off the way udisks does: delete the SCSI disk (the sd
 * driver flushes its cache and stops the unit), then logically disconnect
 * the USB device through its "remove" attribute, which disables the hub
 * port and so cuts power on hubs that switch ports.
 */
static bool power_off(struct flash_target *f)
{
	char path[256];

	if (strcmp(f->drive.transport, "usb") || !f->drive.usb_port[0]) {
		bs_warn("not powering %s off: it is not a USB device", f->drive.path);
		return false;
	}
	snprintf(path, sizeof(path), "/sys/block/%s/device/delete", f->drive.name);
	if (write_sysfs(path, "1"))
		bs_warn("Unable to delete %s before powering it off: %s", f->drive.path,
			strerror(errno));
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/remove", f->drive.usb_port);
	if (write_sysfs(path, "1")) {
		bs_warn("Unable to power %s (usb:%s) off: %s", f->drive.path, f->drive.usb_port,
			strerror(errno));
		return false;
	}
	fprintf(stderr, "%s: %s (usb:%s) is powered off; it can be unplugged\n", bs_prog,
		f->drive.path, f->drive.usb_port);
	return true;
}

/*
 * Eject the medium the way eject(1) does, by default on removable USB
 * targets (--eject: every SCSI target; --no-eject: none), and say when the
 * target is safe to remove. A medium whose partitions were mounted in the
 * meantime (a desktop's automounter) is left alone, and so said.
 */
static void eject(struct flash_job *j, struct flash_target *f, struct bs_json *js)
{
	bool want = !j->o->no_eject &&
		    (j->o->eject || (f->drive.removable && !strcmp(f->drive.transport, "usb")));
	const char *outcome = "not ejected";
	bool mounted = false;
	struct bs_drive d;
	char why[400] = "";
	int fd, r = -1;

	if (want && !bs_drive_probe(f->drive.path, &d, why, sizeof(why)) && d.nr_mounts) {
		snprintf(why, sizeof(why), "%s is mounted on %s", d.mounts[0].source,
			 d.mounts[0].target);
		mounted = true;
		outcome = "not ejected (mounted)";
	} else if (want) {
		fd = open(f->drive.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
		} else {
			r = bs_scsi_eject(fd, why, sizeof(why));
			close(fd);
		}
		if (r == BS_SCSI_NOT_SCSI)
			snprintf(why, sizeof(why), "it does not take SCSI commands");
		outcome = r == 0 ? "ejected" : "not ejected (refused)";
	}
	if (js) {
		bs_json_bool(js, "cache_synchronized", f->synced == 0);
		bs_json_str(js, "eject", outcome);
		return;
	}
	if (r == 0)
		printf("%s: medium ejected; it is safe to remove\n", f->drive.path);
	else if (want && mounted)
		printf("%s: not ejected: %s; unmount it before removing the device\n",
		       f->drive.path, why);
	else if (want && r == BS_SCSI_UNSUPPORTED)
		printf("%s: the device cannot eject its medium%s; it is safe to remove once "
		       "nothing uses it\n",
		       f->drive.path, f->synced == 0 ? " (its write cache is synchronized)" : "");
	else if (want)
		printf("%s: not ejected (%s); it is safe to remove once nothing uses it\n",
		       f->drive.path, why);
	else if (f->synced == 0)
		printf("%s: write cache synchronized; it is safe to remove once nothing uses it\n",
		       f->drive.path);
}

static void after_seal(struct flash_job *j, struct flash_target *f, struct bs_json *js)
{
	struct part pa[64];
	char err[256], sz[32];
	size_t np, i;

	if (bs_drive_reread(f->drive.path, err, sizeof(err)))
		bs_warn("Unable to re-read the partition table of %s: %s", f->drive.path, err);
	np = kernel_parts(f->drive.name, pa, sizeof(pa) / sizeof(pa[0]));
	/* an MBR extended partition is only a container: say so, its size means nothing */
	for (i = 0; i < np; i++) {
		size_t k;

		pa[i].extended = false;
		for (k = 0; j->img_pt && k < j->img_pt->nparts; k++)
			if (j->img_pt->parts[k].num == pa[i].no && j->img_pt->parts[k].extended)
				pa[i].extended = true;
	}
	if (js) {
		bs_json_array_begin(js, "partitions");
		for (i = 0; i < np; i++) {
			bs_json_object_begin(js, NULL);
			bs_json_str(js, "name", pa[i].name);
			bs_json_uint(js, "number", pa[i].no);
			bs_json_uint(js, "start", pa[i].start);
			bs_json_uint(js, "sectors", pa[i].size);
			if (pa[i].extended)
				bs_json_bool(js, "extended", true);
			bs_json_object_end(js);
		}
		bs_json_array_end(js);
	} else {
		printf("%s: the kernel sees %zu partition%s\n", f->drive.path, np,
		       np == 1 ? "" : "s");
		for (i = 0; i < np; i++) {
			bs_human_size(pa[i].size * 512, sz, sizeof(sz));
			printf("  %-10s start %12llu  sectors %12llu  %10s%s\n", pa[i].name,
			       (unsigned long long)pa[i].start, (unsigned long long)pa[i].size,
			       pa[i].extended ? "-" : sz,
			       pa[i].extended ? "  extended (holds the logical partitions)" : "");
		}
	}
	if (j->img_pt && np == 0)
		bs_warn("%s: the image has a partition table but the kernel sees no partitions",
			f->drive.path);
	if (j->o->power_off) {
		bool off = power_off(f);

		/* the same keys as after an eject, for one JSON shape */
		if (js) {
			bs_json_bool(js, "cache_synchronized", f->synced == 0);
			bs_json_str(js, "eject", off ? "powered off" : "not powered off");
		}
	} else {
		eject(j, f, js);
	}
}

static const char *result_name(int status)
{
	if (status > BS_EXIT_SIGNAL)
		return "interrupted";
	switch (status) {
	case BS_EXIT_OK:
		return "ok";
	case BS_EXIT_USAGE:
		return "usage";
	case BS_EXIT_IMAGE:
		return "image";
	case BS_EXIT_DEVICE:
		return "device";
	case BS_EXIT_WRITE:
		return "write";
	case BS_EXIT_VERIFY:
		return "verify";
	default:
		return "failed";
	}
}

int flash_report(struct flash_job *j, uint64_t image_bytes)
{
	struct bs_json js;
	int worst = BS_EXIT_OK;
	size_t i;

	if (j->o->json) {
		bs_json_begin(&js);
		bs_json_str(&js, "type", "summary");
		bs_json_str(&js, "image", j->image);
		bs_json_array_begin(&js, "targets");
	} else {
		printf("%-16s %-8s %10s %10s %10s  %s\n", "TARGET", "RESULT", "WRITTEN", "WRITE",
		       "VERIFY", "DETAIL");
	}
	for (i = 0; i < j->n; i++) {
		struct bs_ptarget *t = &j->pt[i];
		int st = atomic_load(&t->phase) == BS_PH_FAILED ? t->status : BS_EXIT_OK;
		double wr = t->write_secs > 0 ? (double)t->written / t->write_secs : 0;
		double vr = t->verify_secs > 0 ? (double)t->written / t->verify_secs : 0;

		worst = bs_exit_worst(worst, st);
		if (i == 0 && j->o->report) {
			struct bs_flash_report *r = j->o->report;

			r->filled = true;
			r->exit = st;
			r->written = st == BS_EXIT_OK ? t->written : 0;
			r->write_seconds = t->write_secs;
			r->verify_seconds = t->verify_secs;
			r->verified = st == BS_EXIT_OK && !j->o->no_verify && !flash_read_once(j);
			snprintf(r->error, sizeof(r->error), "%s", st ? t->error : "");
		}
		if (j->o->json) {
			bs_json_object_begin(&js, NULL);
			bs_json_str(&js, "target", t->path[0] ? t->path : j->ft[i].spec);
			bs_json_str(&js, "result", result_name(st));
			bs_json_int(&js, "exit", st);
			bs_json_uint(&js, "written", st == BS_EXIT_OK ? t->written : 0);
			bs_json_double(&js, "write_seconds", t->write_secs, 3);
			bs_json_double(&js, "verify_seconds", t->verify_secs, 3);
			bs_json_bool(&js, "verified",
				     st == BS_EXIT_OK && !j->o->no_verify && !flash_read_once(j));
			bs_json_str(&js, "error", st ? t->error : NULL);
			if (st == BS_EXIT_OK)
				after_seal(j, &j->ft[i], &js);
			bs_json_object_end(&js);
		} else {
			char ws[32], wrs[32], vrs[32];

			bs_fmt_bytes(st == BS_EXIT_OK ? t->written : 0, ws, sizeof(ws));
			bs_fmt_rate(wr, wrs, sizeof(wrs));
			bs_fmt_rate(vr, vrs, sizeof(vrs));
			printf("%-16s %-8s %10s %10s %10s  %s\n",
			       t->path[0] ? t->path : j->ft[i].spec, result_name(st),
			       st == BS_EXIT_OK ? ws : "-", st == BS_EXIT_OK ? wrs : "-",
			       st == BS_EXIT_OK && t->verify_secs > 0 ? vrs : "-",
			       st				       ? t->error
			       : j->o->no_verify || flash_read_once(j) ? "sealed (not verified)"
								       : "sealed and verified");
		}
	}
	if (!j->o->json) {
		for (i = 0; i < j->n; i++)
			if (atomic_load(&j->pt[i].phase) == BS_PH_DONE)
				after_seal(j, &j->ft[i], NULL);
	} else {
		bs_json_array_end(&js);
		bs_json_uint(&js, "image_bytes", image_bytes);
		bs_json_int(&js, "exit", worst);
		bs_json_print(&js, stdout);
	}
	fflush(stdout);
	return worst;
}
