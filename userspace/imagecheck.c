// SPDX-License-Identifier: GPL-2.0
/* Refuse what is not a disk image before a device is touched (imagecheck.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imagecheck.h"
#include "le.h"

static const struct {
	const char *suffix;
	enum bs_format fmt;
} compression_suffixes[] = {
	{".xz", BS_FMT_XZ},    {".gz", BS_FMT_GZIP},   {".bz2", BS_FMT_BZIP2},
	{".zst", BS_FMT_ZSTD}, {".zstd", BS_FMT_ZSTD}, {".zip", BS_FMT_ZIP},
};

/* Index of @name's compression suffix in compression_suffixes, or -1. */
static int compression_suffix(const char *name)
{
	size_t n, i;

	if (!name || !strcmp(name, "-"))
		return -1;
	n = strlen(name);
	for (i = 0; i < sizeof(compression_suffixes) / sizeof(compression_suffixes[0]); i++) {
		size_t k = strlen(compression_suffixes[i].suffix);

		if (n > k && !strcasecmp(name + n - k, compression_suffixes[i].suffix))
			return (int)i;
	}
	return -1;
}

enum bs_format bs_format_from_name(const char *name)
{
	int i = compression_suffix(name);

	return i < 0 ? BS_FMT_RAW : compression_suffixes[i].fmt;
}

size_t bs_name_base_len(const char *name)
{
	int i = compression_suffix(name);

	if (!name)
		return 0;
	return strlen(name) - (i < 0 ? 0 : strlen(compression_suffixes[i].suffix));
}

#define TEXT_PROBE 4096 /* bytes looked at to call something text */

bool bs_looks_like_text(const unsigned char *buf, size_t len, bool *html)
{
	static const char *const tags[] = {"<!doctype html", "<html", "<head", "<body",
					   "<?xml",	     "<!--",  "<title"};
	size_t i, n = len < TEXT_PROBE ? len : TEXT_PROBE, start = 0;

	if (html)
		*html = false;
	if (!n)
		return false;
	if (n >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) /* UTF-8 BOM */
		start = 3;
	for (i = start; i < n; i++) {
		unsigned char c = buf[i];

		/* NUL and C0 controls other than white space and ESC are not text */
		if ((c < 0x20 && (!c || !strchr("\t\n\v\f\r\033", c))) || c == 0x7f)
			return false;
	}
	if (html) {
		while (start < n && isspace(buf[start]))
			start++;
		for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
			size_t k = strlen(tags[i]);

			if (n - start >= k && !strncasecmp((const char *)buf + start, tags[i], k))
				*html = true;
		}
	}
	return true;
}

const char *bs_fs_signature(const unsigned char *buf, size_t len)
{
	/* magic bytes at fixed offsets (libblkid knows more; these are what images carry) */
	static const struct {
		size_t off;
		const char *magic;
		size_t len;
		const char *name;
	} sig[] = {
		{0, "hsqs", 4, "squashfs"},
		{0, "sqsh", 4, "squashfs"},
		{0, "XFSB", 4, "xfs"},
		{0, "LUKS\xba\xbe", 6, "LUKS"},
		{3, "NTFS    ", 8, "NTFS"},
		{3, "EXFAT   ", 8, "exFAT"},
		{54, "FAT", 3, "FAT"},
		{82, "FAT32", 5, "FAT32"},
		{512, "LABELONE", 8, "LVM2"},
		{1024 + 56, "\x53\xef", 2, "ext2/3/4"},
		{1024, "\x10\x20\xf5\xf2", 4, "F2FS"},
		{1024, "\xe2\xe1\xf5\xe0", 4, "EROFS"},
		{4086, "SWAPSPACE2", 10, "swap"},
		{32769, "CD001", 5, "ISO 9660"},
		{65536 + 64, "_BHRfS_M", 8, "btrfs"},
	};
	size_t i;

	for (i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) {
		if (len < sig[i].off + sig[i].len ||
		    memcmp(buf + sig[i].off, sig[i].magic, sig[i].len))
			continue;
		/* a FAT/NTFS/exFAT boot sector also ends in 55 AA */
		if (sig[i].off < 100 && sig[i].off >= 3 &&
		    (len < 512 || buf[510] != 0x55 || buf[511] != 0xaa))
			continue;
		/* ext2/3/4: a plausible block-size shift too, not just two bytes */
		if (sig[i].off == 1024 + 56 && bs_le32(buf + 1024 + 24) > 6)
			continue;
		return sig[i].name;
	}
	return NULL;
}

enum bs_image_verdict bs_image_check(const char *name, enum bs_format fmt, const unsigned char *buf,
				     size_t len, bool has_table, char *why, size_t whylen)
{
	enum bs_format want = bs_format_from_name(name);
	bool text, html;

	text = bs_looks_like_text(buf, len, &html);
	if (want != BS_FMT_RAW && fmt == BS_FMT_RAW) {
		snprintf(why, whylen, "it is named like a %s file but its content is not %s data%s",
			 bs_format_name(want), bs_format_name(want),
			 html	? "; it looks like an HTML page (a saved error page?)"
			 : text ? "; it is text"
				: "");
		return BS_IMG_SUFFIX;
	}
	if (has_table)
		return BS_IMG_OK;
	if (text) {
		snprintf(why, whylen, "%s",
			 html ? "it is an HTML page (a saved error page?), not a disk image"
			      : "it is text, not a disk image");
		return BS_IMG_TEXT;
	}
	if (!bs_fs_signature(buf, len)) {
		snprintf(why, whylen,
			 "it has neither a partition table nor a file system signature");
		return BS_IMG_UNKNOWN;
	}
	return BS_IMG_OK;
}
