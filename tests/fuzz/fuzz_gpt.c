// SPDX-License-Identifier: GPL-2.0
/*
 * GPT parsing. The input is the disk from sector 1 on, behind a fixed
 * protective MBR; its first byte chooses which CRCs are repaired before
 * parsing (bit 0: primary header, bit 1: primary entry array), so the
 * fuzzer reaches the entry and backup checks instead of stopping at CRCs.
 * The flash head length reads the same disk with the same header check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "headlen.h"
#include "le.h"
#include "ptable.h"
#include "reader.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

#define SS 512

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void repair(uint8_t *disk, size_t len, uint8_t flags)
{
	uint8_t *h = disk + SS;
	uint32_t hsize;

	if (len < 2 * SS || memcmp(h, "EFI PART", 8))
		return;
	if (flags & 2) {
		uint64_t lba = bs_le32(h + 72) | (uint64_t)bs_le32(h + 76) << 32;
		uint64_t bytes = (uint64_t)bs_le32(h + 80) * bs_le32(h + 84);

		if (lba < len / SS && bytes <= len - lba * SS)
			put32(h + 88, (uint32_t)crc32(0, disk + lba * SS, (uInt)bytes));
	}
	hsize = bs_le32(h + 12);
	if ((flags & 1) && hsize >= 92 && hsize <= SS) {
		put32(h + 16, 0);
		put32(h + 16, (uint32_t)crc32(0, h, hsize));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_reader *r;
	struct bs_ptable *pt;
	char err[256], msg[256];
	FILE *devnull;
	uint8_t *disk;
	size_t len;

	if (size < 1)
		return 0;
	len = SS + size - 1;
	disk = calloc(1, len);
	if (!disk)
		abort();
	memcpy(disk + SS, data + 1, size - 1);
	disk[446 + 4] = 0xee;
	put32(disk + 446 + 8, 1);
	put32(disk + 446 + 12, (uint32_t)(len / SS - 1));
	disk[510] = 0x55;
	disk[511] = 0xaa;
	repair(disk, len, data[0]);
	r = bs_reader_mem(disk, len, "fuzz");
	devnull = fopen("/dev/null", "w");
	if (!r || !devnull)
		abort();
	pt = bs_ptable_read(r, 0, err, sizeof(err));
	if (!pt)
		abort();
	{
		enum bs_head_kind kind;
		uint64_t head = bs_head_auto(disk, len, 512, 0, &kind, msg, sizeof(msg));

		if (head < 512 || head % 512 || (kind != BS_HEAD_GPT && head != 512))
			abort();
	}
	bs_ptable_print(pt, "fuzz.img", devnull);
	(void)bs_ptable_valid(pt);
	if (bs_ptable_compare(pt, pt, msg, sizeof(msg)))
		abort();
	free(pt);
	fclose(devnull);
	bs_reader_close(r);
	free(disk);
	return 0;
}
