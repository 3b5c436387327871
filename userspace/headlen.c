// SPDX-License-Identifier: GPL-2.0
/* The automatic head length (headlen.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flash.h"
#include "headlen.h"
#include "ptable.h"
#include "pump.h"

/*
 * The byte offset of the end of the primary GPT entry array described by the
 * header at sector 1 (of @sector bytes) in @buf, or 0 with @why.
 */
static uint64_t gpt_entries_end(const unsigned char *buf, size_t len, uint32_t sector, char *why,
				size_t whylen)
{
	struct bs_gpt_header h;
	uint64_t off, end;

	if (bs_gpt_header_check(buf + sector, len - sector, sector, 1, &h, why, whylen) < 2)
		return 0;
	off = h.entries_lba * sector;
	end = off + bs_gpt_array_bytes(&h);
	if (end <= len && !bs_gpt_array_ok(&h, buf + off)) {
		snprintf(why, whylen, "entry array CRC32 mismatch (header at sector 1)");
		return 0;
	}
	return end;
}

uint64_t bs_head_auto(const void *vbuf, size_t len, uint32_t lbs, uint64_t max_head,
		      enum bs_head_kind *kind, char *note, size_t notelen)
{
	static const uint32_t sectors[] = {512, 4096};
	const unsigned char *buf = vbuf;
	uint64_t head = lbs;
	size_t i;

	if (note && notelen)
		note[0] = '\0';
	*kind = BS_HEAD_NONE;
	if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xAA)
		*kind = BS_HEAD_MBR;
	for (i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		uint32_t sec = sectors[i];
		char why[160];
		uint64_t end;

		if (len < sec + 92 || memcmp(buf + sec, "EFI PART", 8))
			continue;
		end = gpt_entries_end(buf, len, sec, why, sizeof(why));
		if (!end) {
			if (note)
				snprintf(note, notelen,
					 "the GPT header at byte %u is not valid (%s); holding "
					 "back only the first block",
					 sec, why);
			break;
		}
		*kind = BS_HEAD_GPT;
		/* an array at the far end of a 64-bit disk: no rounding past 2^64 */
		head = end > UINT64_MAX - lbs ? UINT64_MAX / lbs * lbs : bs_round_up(end, lbs);
		if (max_head && head > max_head) {
			head = max_head / lbs * lbs;
			if (note)
				snprintf(note, notelen,
					 "the GPT entry array ends at byte %" PRIu64
					 ", beyond the module's max_head_len %" PRIu64
					 "; holding back %" PRIu64 " bytes",
					 end, max_head, head);
		}
		break;
	}
	if (head < lbs)
		head = lbs;
	return head;
}

uint64_t bs_module_max_head(void)
{
	char buf[32] = "";
	uint64_t v = 0;
	ssize_t n;
	int fd;

	fd = open("/sys/module/bootseal/parameters/max_head_len", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (bs_parse_size(buf, &v))
		return 0;
	return v;
}
