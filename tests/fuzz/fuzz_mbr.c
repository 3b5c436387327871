// SPDX-License-Identifier: GPL-2.0
/* MBR + EBR chain parsing of an arbitrary disk image held in memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ptable.h"
#include "reader.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_reader *r = bs_reader_mem(data, size, "fuzz");
	struct bs_ptable *pt, *head;
	char err[256], msg[256];
	FILE *devnull = fopen("/dev/null", "w");

	if (!r || !devnull)
		abort();
	pt = bs_ptable_read(r, 0, err, sizeof(err));
	head = bs_ptable_read(r, BS_PT_NO_SIZE, err, sizeof(err));
	if (!pt || !head)
		abort();
	bs_ptable_print(pt, "/dev/mmcblk0", devnull);
	(void)bs_ptable_valid(pt);
	if (bs_ptable_compare(pt, pt, msg, sizeof(msg)))
		abort(); /* a table always equals itself */
	(void)bs_ptable_compare(head, pt, msg, sizeof(msg));
	free(head);
	free(pt);
	fclose(devnull);
	bs_reader_close(r);
	return 0;
}
