/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image sources: one sequential byte stream of the decompressed image, from
 * a raw file, xz (multi-threaded decoder), gzip, bzip2, zstd, a zip archive
 * with exactly one image member, or standard input ("-"). The format is
 * detected from magic bytes, never from the file name.
 *
 * Errors: functions that can fail return -1 and leave a message in the
 * source (or in @err for bs_source_open) of the form "<what>: <reason>",
 * e.g. "image.img.xz: xz data is corrupt at compressed offset 1048576".
 */
#ifndef BOOTSEAL_SOURCE_H
#define BOOTSEAL_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum bs_format {
	BS_FMT_RAW = 0,
	BS_FMT_XZ,
	BS_FMT_GZIP,
	BS_FMT_BZIP2,
	BS_FMT_ZSTD,
	BS_FMT_ZIP,
};

struct bs_source;

/* Detect the format of a buffer holding the first @len bytes of a file. */
enum bs_format bs_format_detect(const void *buf, size_t len);
const char *bs_format_name(enum bs_format fmt);	/* "raw", "xz", ... */

/*
 * Open @path ("-" = standard input). @threads: decoder threads for xz
 * (0 = number of CPUs). On failure returns NULL and writes a message into
 * @err (NUL-terminated, at most @errlen bytes).
 */
struct bs_source *bs_source_open(const char *path, unsigned int threads,
				 char *err, size_t errlen);

/*
 * Read up to @len decompressed bytes. Returns the count (short only at the
 * end of the image), 0 at the end, -1 on error (bs_source_error() says why).
 * Truncated or corrupt input is an error, never a silent end.
 */
ssize_t bs_source_read(struct bs_source *s, void *buf, size_t len);

/* Like bs_source_read, but fills @buf completely unless the image ends. */
ssize_t bs_source_read_full(struct bs_source *s, void *buf, size_t len);

const char *bs_source_error(const struct bs_source *s);
enum bs_format bs_source_format(const struct bs_source *s);
const char *bs_source_path(const struct bs_source *s);
/* Decompressed size when known without reading (raw files, zip), else -1. */
int64_t bs_source_size(const struct bs_source *s);
/* Compressed bytes consumed so far and the compressed file size (-1 if unknown). */
int64_t bs_source_in_pos(const struct bs_source *s);
int64_t bs_source_in_size(const struct bs_source *s);
void bs_source_close(struct bs_source *s);

#endif /* BOOTSEAL_SOURCE_H */
