// SPDX-License-Identifier: GPL-2.0
/*
 * bsdev: drives the device library (userspace/device.c) from VM tests.
 *
 *   bsdev usb PORT                 print the block device behind usb:PORT
 *   bsdev probe PATH               print what bs_drive_probe() found, one key=value per line
 *   bsdev check PATH [allow-fixed] [unmount] [image=BYTES]
 *                                  print "ok" or the refusal reason (exit 0 / 1)
 *   bsdev reread PATH              BLKRRPART
 *
 * Errors go to stderr as "bsdev: Unable to ...: reason", exit status 1
 * (2 for usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

static int usage(void)
{
	fprintf(stderr, "Usage: bsdev usb PORT | probe PATH | check PATH [allow-fixed] [unmount] "
			"[image=BYTES] | reread PATH\n");
	return 2;
}

static void print_drive(const struct bs_drive *d)
{
	size_t i;

	printf("path=%s\nname=%s\nsize=%llu\nlogical_block_size=%u\nmodel=%s\ntransport=%s\n"
	       "usb_port=%s\nremovable=%d\nread_only=%d\nholds_root=%d\nholds_swap=%d\n"
	       "holders=%d\nholder=%s\nnr_mounts=%zu\n",
	       d->path, d->name, (unsigned long long)d->size, d->logical_block_size, d->model,
	       d->transport, d->usb_port, d->removable, d->read_only, d->holds_root, d->holds_swap,
	       d->holders, d->holder, d->nr_mounts);
	for (i = 0; i < d->nr_mounts; i++)
		printf("mount=%s %s\n", d->mounts[i].source, d->mounts[i].target);
}

int main(int argc, char **argv)
{
	struct bs_safety s = {0};
	struct bs_drive d;
	char err[512], path[64];
	int i;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "usb")) {
		if (bs_drive_from_usb_port(argv[2], path, sizeof(path), err, sizeof(err))) {
			fprintf(stderr, "bsdev: Unable to find the device behind %s: %s\n", argv[2],
				err);
			return 1;
		}
		printf("%s\n", path);
		return 0;
	}
	if (!strcmp(argv[1], "reread")) {
		if (bs_drive_reread(argv[2], err, sizeof(err))) {
			fprintf(stderr, "bsdev: Unable to re-read the partition table of %s: %s\n",
				argv[2], err);
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "probe") && strcmp(argv[1], "check"))
		return usage();
	if (bs_drive_probe(argv[2], &d, err, sizeof(err))) {
		fprintf(stderr, "bsdev: Unable to probe %s: %s\n", argv[2], err);
		return 1;
	}
	if (!strcmp(argv[1], "probe")) {
		print_drive(&d);
		return 0;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "allow-fixed"))
			s.allow_fixed = true;
		else if (!strcmp(argv[i], "unmount"))
			s.unmount = true;
		else if (!strncmp(argv[i], "image=", 6))
			s.image_size = strtoull(argv[i] + 6, NULL, 0);
		else
			return usage();
	}
	if (bs_drive_check(&d, &s, err, sizeof(err))) {
		printf("%s\n", err);
		return 1;
	}
	printf("ok\n");
	return 0;
}
