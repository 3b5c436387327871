// SPDX-License-Identifier: GPL-2.0
/*
 * BOOTSEAL_CMD_EVENT parsing with the userspace strict policy: the input is
 * the generic netlink payload (genl header + attributes) of one message.
 * Anything accepted must render as plain text and as valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "json.h"
#include "nl.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr *nlh;
	struct bs_event ev;
	struct bs_json j;
	char err[256], line[512];

	if (size > 65536)
		return 0;
	nlh = malloc(NLMSG_HDRLEN + size);
	if (!nlh)
		abort();
	memset(nlh, 0, NLMSG_HDRLEN);
	nlh->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + size);
	nlh->nlmsg_type = 0x20;
	memcpy((char *)nlh + NLMSG_HDRLEN, data, size);
	if (bs_event_parse(nlh, &ev, err, sizeof(err)) == 0) {
		if (!ev.session_id || strlen(ev.dev_name) >= sizeof(ev.dev_name))
			abort();
		bs_event_format(&ev, line, sizeof(line));
		bs_json_begin(&j);
		bs_event_json(&ev, &j);
		if (!bs_json_finish(&j))
			abort();
		bs_json_free(&j);
	} else if (!err[0]) {
		abort(); /* a rejection always says why */
	}
	free(nlh);
	return 0;
}
