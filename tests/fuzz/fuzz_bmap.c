// SPDX-License-Identifier: GPL-2.0
/*
 * bmap parser on arbitrary bytes: never crashes or leaks, and whatever it
 * accepts satisfies the documented invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_bmap b;
	char err[256];
	uint64_t mapped = 0;
	size_t i;

	err[0] = '\0';
	if (bs_bmap_parse((const char *)data, size, "fuzz.bmap", &b, err, sizeof(err))) {
		if (strncmp(err, "fuzz.bmap: ", 11))
			abort(); /* every message names the file */
		if (b.ranges || b.nr_ranges)
			abort();
		return 0;
	}
	if (!b.block_size || b.block_size % 512)
		abort();
	if (b.blocks_total != b.image_size / b.block_size + (b.image_size % b.block_size != 0))
		abort();
	if ((b.csum_type == BS_BMAP_CSUM_NONE) != (b.csum_len == 0))
		abort();
	for (i = 0; i < b.nr_ranges; i++) {
		const struct bs_bmap_range *r = &b.ranges[i];
		uint64_t off, len;

		if (r->first > r->last || r->last >= b.blocks_total)
			abort();
		if (i && r->first <= b.ranges[i - 1].last)
			abort();
		bs_bmap_range_bytes(&b, r, &off, &len);
		if (!len || off + len > b.image_size)
			abort();
		mapped += r->last - r->first + 1;
	}
	if (mapped != b.blocks_mapped)
		abort();
	bs_bmap_free(&b);
	return 0;
}
