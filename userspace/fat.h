/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-only, bounded FAT12/16/32 reader: the boot sector and the root
 * directory (long file names included) of a FAT file system inside an
 * image, for the boot lint. Cluster chains are walked with a cycle check
 * and a length cap, so a hostile file system ends in findings, never in a
 * hang.
 */
#ifndef BOOTSEAL_FAT_H
#define BOOTSEAL_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptable.h"
#include "reader.h"

#define BS_FAT_MAX_ENTRIES  1024       /* root entries kept */
#define BS_FAT_MAX_DIR	    (2u << 20) /* 65536 entries of 32 bytes */
#define BS_FAT_MAX_FINDINGS 32

#define BS_FAT_ATTR_DIR 0x10

struct bs_fat_dirent {
	char name[256];	     /* long name (UTF-8), else the 8.3 name */
	char short_name[13]; /* "START~1.ELF" */
	uint8_t attr;
	uint32_t size;
	uint32_t cluster;
	bool chain_ok; /* cluster chain matches the size */
};

struct bs_fat {
	unsigned int bits; /* 12, 16 or 32 */
	uint32_t bytes_per_sector;
	uint32_t sectors_per_cluster;
	uint32_t reserved_sectors;
	uint32_t nfats;
	uint32_t fat_sectors;  /* per FAT */
	uint32_t root_entries; /* FAT12/16 fixed root */
	uint32_t root_cluster; /* FAT32 */
	uint64_t total_sectors;
	uint32_t clusters;
	char label[12]; /* volume label, trailing blanks cut */
	size_t nentries;
	bool truncated; /* more than BS_FAT_MAX_ENTRIES */
	struct bs_fat_dirent entries[BS_FAT_MAX_ENTRIES];
	size_t nfindings;
	size_t dropped_findings;
	struct bs_finding findings[BS_FAT_MAX_FINDINGS];
};

/*
 * Read the FAT file system at byte @offset, @size bytes long (0 = unknown),
 * and its root directory. Returns 0 with *@out set (free with free()),
 * 1 when it is not a FAT file system (@err says why), -1 on a read error
 * or lack of memory (@err says why).
 */
int bs_fat_read_root(struct bs_reader *r, uint64_t offset, uint64_t size, struct bs_fat **out,
		     char *err, size_t errlen);

/* The root entry named @name (case-insensitive), or NULL. */
const struct bs_fat_dirent *bs_fat_find(const struct bs_fat *fs, const char *name);

#endif /* BOOTSEAL_FAT_H */
