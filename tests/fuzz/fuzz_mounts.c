// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/self/mountinfo and /proc/swaps parsing and matching of arbitrary
 * text, and JSON string escaping of arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "device.h"
#include "json.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dev_t devs[] = {makedev(8, 0), makedev(8, 1), makedev(254, 0)};
	struct bs_mountinfo_entry *mi = NULL;
	struct bs_swap_entry *sw = NULL;
	size_t nmi = 0, nsw = 0, i;
	struct bs_drive d;
	char *text, quoted[64];

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (bs_parse_mountinfo(text, &mi, &nmi) || bs_parse_swaps(text, &sw, &nsw))
		abort();
	for (i = 0; i < nmi; i++)
		if (strlen(mi[i].target) >= sizeof(mi[i].target) ||
		    strlen(mi[i].source) >= sizeof(mi[i].source))
			abort();
	memset(&d, 0, sizeof(d));
	bs_drive_apply_usage(&d, devs, 3, mi, nmi, NULL, 0);
	if (d.nr_mounts > sizeof(d.mounts) / sizeof(d.mounts[0]))
		abort();
	if (bs_json_quote(text, quoted, sizeof(quoted)) < 2 || strlen(quoted) >= sizeof(quoted))
		abort();
	free(mi);
	free(sw);
	free(text);
	return 0;
}
