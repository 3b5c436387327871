// SPDX-License-Identifier: GPL-2.0
/* FAT12/16/32 boot sector and root directory parsing. */
#include <stdint.h>
#include <stdlib.h>

#include "fat.h"
#include "reader.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_reader *r = bs_reader_mem(data, size, "fuzz");
	struct bs_fat *fs = NULL;
	char err[256];
	int rc;

	if (!r)
		abort();
	rc = bs_fat_read_root(r, 0, size, &fs, err, sizeof(err));
	if (rc < 0)
		abort(); /* memory readers never fail to read */
	if (rc == 0) {
		if (!fs || fs->nentries > BS_FAT_MAX_ENTRIES)
			abort();
		(void)bs_fat_find(fs, "config.txt");
		free(fs);
	} else if (fs) {
		abort();
	}
	bs_reader_close(r);
	return 0;
}
