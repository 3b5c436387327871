/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is this a disk image? Before any device is touched, flash looks at the
 * file's name and the first bytes of the decompressed image and refuses
 * what is almost certainly not one: a file named like a compressed image
 * whose content is not compressed (a saved HTML error page, a partial or
 * random download), text, or data with neither a partition table nor a
 * file system signature. --force-raw writes such data anyway.
 */
#ifndef BOOTSEAL_IMAGECHECK_H
#define BOOTSEAL_IMAGECHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "source.h"

enum bs_image_verdict {
	BS_IMG_OK = 0,
	BS_IMG_SUFFIX,	/* the name says compressed, the content is not */
	BS_IMG_TEXT,	/* the content is text or HTML */
	BS_IMG_UNKNOWN, /* no partition table, no file system signature */
};

/*
 * The compression format a file name promises by its suffix (.xz, .gz,
 * .bz2, .zst, .zstd, .zip; case-insensitive), or BS_FMT_RAW when it names
 * none.
 */
enum bs_format bs_format_from_name(const char *name);

/*
 * The length of @name without that compression suffix ("os.img.xz" -> 6),
 * or strlen(@name) when it has none: where .bmap and checksum files of the
 * decompressed image are looked for.
 */
size_t bs_name_base_len(const char *name);

/* Whether @buf (the first @len bytes of the image) reads as text (HTML included). */
bool bs_looks_like_text(const unsigned char *buf, size_t len, bool *html);

/* The name of a file system whose signature starts @buf, or NULL. */
const char *bs_fs_signature(const unsigned char *buf, size_t len);

/*
 * Judge an image: @name as given ("-" = standard input, no suffix check),
 * @fmt the format detected from the content, @buf/@len the first bytes of
 * the decompressed image, @has_table whether they hold a valid partition
 * table. Returns a verdict; for anything but BS_IMG_OK @why says what was
 * found, as a clause ("it is named like a gzip file but its content is not
 * gzip data; it looks like an HTML page").
 */
enum bs_image_verdict bs_image_check(const char *name, enum bs_format fmt, const unsigned char *buf,
				     size_t len, bool has_table, char *why, size_t whylen);

#endif /* BOOTSEAL_IMAGECHECK_H */
