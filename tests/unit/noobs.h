/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The partition table of a NOOBS card (a FAT recovery partition, an extended
 * partition with logical partitions 5 to 7, and a partition after it), shared
 * by the tests that read one.
 */
#ifndef BOOTSEAL_UNIT_NOOBS_H
#define BOOTSEAL_UNIT_NOOBS_H

#include "unit.h"

/* Makes @img a 128 MiB file with the NOOBS partition table. */
static inline void make_noobs_table(const char *img)
{
	REQUIRE(!sh("truncate -s 128M %s && sfdisk -q %s >/dev/null <<'EOF'\n"
		    "label: dos\nlabel-id: 0x4e4f4f42\n"
		    "%s1 : start=2048, size=32768, type=e\n"
		    "%s2 : start=34816, size=184320, type=85\n"
		    "%s3 : start=219136, size=43008, type=83\n"
		    "%s5 : start=36864, size=4096, type=83\n"
		    "%s6 : start=43008, size=143360, type=c, bootable\n"
		    "%s7 : start=188416, size=30720, type=83\nEOF",
		    img, img, img, img, img, img, img, img));
}

#endif /* BOOTSEAL_UNIT_NOOBS_H */
