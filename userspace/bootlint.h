/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raspberry Pi boot lint: is the boot partition FAT (MBR types 0x0b, 0x0c,
 * 0x0e, 0x06), does its file system parse, which boot files its root
 * directory holds, and what each board family would miss. bootcode.bin is
 * needed by Pi 1-3, Zero, CM1 and CM3 (boot ROM loads it from the card),
 * not by Pi 4/CM4 and later (second stage in EEPROM). Recovery layouts
 * (NOOBS/PINN: recovery.elf, recovery.cmdline) are recognised.
 */
#ifndef BOOTSEAL_BOOTLINT_H
#define BOOTSEAL_BOOTLINT_H

#include <stdbool.h>
#include <stdint.h>

#include "fat.h"
#include "ptable.h"
#include "reader.h"

enum bs_pi_family {
	BS_PI_1,  /* Pi 1, Zero, CM1 (BCM2835) */
	BS_PI_23, /* Pi 2, Pi 3, Zero 2, CM3 (BCM2836/7) */
	BS_PI_4,  /* Pi 4, Pi 400, CM4 (BCM2711) */
	BS_PI_5,  /* Pi 5, Pi 500, CM5 (BCM2712) */
	BS_PI_NFAMILIES,
};

#define BS_LINT_MAX_FILES    96
#define BS_LINT_MAX_FINDINGS 16

struct bs_lint_family {
	const char *name; /* "Pi 2 / Pi 3 / Zero 2 / CM3" */
	bool ready;
	char missing[160]; /* "bootcode.bin, kernel7.img or kernel8.img" */
};

struct bs_bootlint {
	unsigned int part; /* partition number linted */
	uint8_t mbr_type;  /* 0 for GPT */
	char type_name[48];
	bool type_fat;	     /* partition type says FAT */
	bool fat_ok;	     /* FAT file system parsed */
	char fat_error[256]; /* why not, when !fat_ok */
	unsigned int fat_bits;
	char fat_label[12];
	size_t root_entries;
	bool pi_files; /* any Raspberry Pi boot file present */
	bool recovery; /* recovery.elf / recovery.cmdline */
	bool has_config, has_cmdline, has_bootcode;
	size_t nfiles; /* boot files found, in directory order */
	char files[BS_LINT_MAX_FILES][64];
	size_t ndtbs;
	struct bs_lint_family fam[BS_PI_NFAMILIES];
	size_t nfindings;
	struct bs_finding findings[BS_LINT_MAX_FINDINGS];
};

/*
 * Lint partition @pt->parts[@idx] of @r. Returns 0 (the result is in @out,
 * problems as findings), -1 on a read error or lack of memory (@err).
 */
int bs_bootlint_part(struct bs_reader *r, const struct bs_ptable *pt, size_t idx,
		     struct bs_bootlint *out, char *err, size_t errlen);

/*
 * Which partitions to lint: the first data partition and, when it is a
 * recovery layout, every other FAT partition (NOOBS boot partitions).
 * Fills @idx (at most @max) and returns the count. @first_lint is the
 * result for the first one, or NULL to decide on the first alone.
 */
size_t bs_bootlint_targets(const struct bs_ptable *pt, const struct bs_bootlint *first_lint,
			   size_t *idx, size_t max);

#endif /* BOOTSEAL_BOOTLINT_H */
