/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device discovery (libudev + sysfs) and the safety rules for
 * targets: never the disk holding / or active swap; never a device smaller
 * than the image; non-removable disks only with --allow-fixed; mounted
 * partitions are named (and unmounted on request).
 */
#ifndef BOOTSEAL_DEVICE_H
#define BOOTSEAL_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bs_mount {
	char source[64];  /* /dev/sdb1 */
	char target[256]; /* /media/boot */
};

struct bs_drive {
	char path[64]; /* /dev/sdb */
	char name[32]; /* sdb */
	uint64_t size; /* bytes */
	uint32_t logical_block_size;
	char model[64];	    /* vendor + model, may be empty */
	char transport[16]; /* usb, sata, mmc, nvme, virtio, ... */
	char usb_port[32];  /* "1-1.3" for USB drives, else "" */
	bool removable;	    /* removable medium, or on USB / an SD slot */
	bool read_only;
	bool holds_root; /* a partition (or the disk) is mounted on / */
	bool holds_swap; /* active swap on it */
	bool holders;	 /* claimed by dm/md (holders/ not empty) */
	char holder[32]; /* first holder's name, e.g. "dm-0" */
	size_t nr_mounts;
	struct bs_mount mounts[16];
};

struct bs_safety {
	bool allow_fixed;    /* --allow-fixed */
	bool unmount;	     /* --unmount */
	uint64_t image_size; /* 0 = unknown */
};

/* Fill @d for the whole-disk device @path. 0, or -1 with @err. */
int bs_drive_probe(const char *path, struct bs_drive *d, char *err, size_t errlen);

/* All whole-disk drives (no loop/ram/zram unless @all). Caller frees. */
int bs_drive_list(struct bs_drive **out, size_t *n, bool all, char *err, size_t errlen);

/*
 * Why @d must not be flashed under @s: returns 0 when acceptable, else -1
 * with a reason in @why ("/dev/sda holds the root filesystem", "/dev/sdb1
 * is mounted on /media/boot (use --unmount)", "device is 1.0 GB, image is
 * 2.0 GB"). With s->unmount, unmounts the drive's partitions first.
 */
int bs_drive_check(struct bs_drive *d, const struct bs_safety *s, char *why, size_t whylen);

/*
 * Resolve "usb:1-1.3" (or "1-1.3") to the one whole-disk block device behind
 * that port. 0, or -1 with @err (none, or more than one).
 */
int bs_drive_from_usb_port(const char *port, char *path, size_t pathlen, char *err, size_t errlen);
/* The same, with the disk's size in bytes in @size (0: no medium). */
int bs_drive_at_usb_port(const char *port, char *path, size_t pathlen, uint64_t *size, char *err,
			 size_t errlen);
/*
 * The first whole-disk block device behind USB port @port (a plain port path)
 * that has a medium: 1 with @path and @size (bytes) set, 0 none yet. For a
 * booting board, whose disks appear one by one.
 */
int bs_drive_first_at_usb_port(const char *port, char *path, size_t pathlen, uint64_t *size);

/* Ask the kernel to re-read the partition table (BLKRRPART). 0 or -1. */
int bs_drive_reread(const char *path, char *err, size_t errlen);

/* Human size: "7.8 GB" (decimal, as drive vendors label them). */
void bs_human_size(uint64_t bytes, char *buf, size_t len);

/*
 * The tables the safety checks read. Error strings in @err/@why are
 * reasons, for the caller's "Unable to <verb> <object>: <reason>".
 */

/* One line of /proc/self/mountinfo (octal escapes such as \040 decoded). */
struct bs_mountinfo_entry {
	unsigned int major, minor; /* st_dev of the filesystem (0:N for btrfs, tmpfs...) */
	char target[256];	   /* mount point */
	char source[256];	   /* mount source, e.g. /dev/sdb1 */
	char fstype[32];
};

/* One active swap area from /proc/swaps. */
struct bs_swap_entry {
	char path[256]; /* block device or swap file */
};

/* Parse the text of /proc/self/mountinfo; malformed lines are skipped. 0, or -1 (no memory). */
int bs_parse_mountinfo(const char *text, struct bs_mountinfo_entry **out, size_t *n);
/* Parse the text of /proc/swaps; the header line and malformed lines are skipped. 0 or -1. */
int bs_parse_swaps(const char *text, struct bs_swap_entry **out, size_t *n);

/*
 * Set @d's holds_root, holds_swap and mounts[] from the parsed tables, for
 * the device numbers @devs of the disk, its partitions and their holders
 * (dm/md stacked on top). A swap file counts for the device whose
 * filesystem holds it. Mount sources with a 0:N device number (btrfs) are
 * matched by stat()ing the source.
 */
void bs_drive_apply_usage(struct bs_drive *d, const dev_t *devs, size_t ndevs,
			  const struct bs_mountinfo_entry *mi, size_t nmi,
			  const struct bs_swap_entry *sw, size_t nsw);

/* Parse "usb:1-1.3" or "1-1.3" into "1-1.3". 0, or -1 with @err. */
int bs_usb_port_parse(const char *spec, char *port, size_t portlen, char *err, size_t errlen);

#endif /* BOOTSEAL_DEVICE_H */
