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
#include <stdbool.h>
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
const char *bs_format_name(enum bs_format fmt); /* "raw", "xz", ... */

/*
 * Open @path ("-" = standard input). @threads: decoder threads for xz
 * (0 = number of CPUs). On failure returns NULL and writes a message into
 * @err (NUL-terminated, at most @errlen bytes).
 */
struct bs_source *bs_source_open(const char *path, unsigned int threads, char *err, size_t errlen);

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
/*
 * For a raw image in a regular file, its descriptor (owned by the source),
 * so that the image can be mapped or read at any offset with pread(); the
 * source's own read position is neither used nor moved. -1 otherwise.
 */
int bs_source_raw_fd(const struct bs_source *s);
void bs_source_close(struct bs_source *s);

/*
 * Decoder options and the accessors that go with them.
 *
 * Trailing data: after the last complete stream only another complete
 * stream of the same format may follow (gzip members, bzip2 streams, zstd
 * frames, xz streams and xz stream padding); anything else, zero bytes
 * included, is an error. A zip archive must hold exactly one regular file
 * (directories are ignored); from standard input the archive cannot be
 * listed first, so a second file is reported after the first one's data.
 * bs_source_size() is also known for seekable .xz files (from the index,
 * which is read at open, so a truncated file fails to open).
 *
 * Memory: the threaded xz decoder holds, per worker thread, a whole block
 * of output plus the dictionary (xz -6: 8 MiB dictionary; `xz -T` makes
 * 24 MiB blocks unless --block-size says otherwise). xz_memlimit_threading
 * caps that: above it fewer workers run (at least one). The default,
 * 40 MiB, keeps the helper's peak RSS within the 64 MiB target and still
 * runs two workers for blocks up to 8 MiB with an 8 MiB dictionary
 * (e.g. `xz -T2 --block-size=8MiB`). memlimit stops decoding with an
 * error when even one thread (or a zstd window) would need more.
 */
#define BS_SOURCE_XZ_MT_MEMLIMIT (UINT64_C(40) << 20)

struct bs_source_opts {
	unsigned int threads;		/* xz decoder threads, 0 = number of CPUs */
	uint64_t memlimit;		/* bytes, 0 = half the RAM */
	uint64_t xz_memlimit_threading; /* bytes, 0 = BS_SOURCE_XZ_MT_MEMLIMIT
					   (at most a quarter of the RAM) */
	bool lease;			/* an image file under a read lease
					   (bs_source_changed()) */
};

void bs_source_opts_default(struct bs_source_opts *o); /* all defaults */
/* bs_source_open with options (NULL = defaults). */
struct bs_source *bs_source_open_opts(const char *path, const struct bs_source_opts *opts,
				      char *err, size_t errlen);
/* Decompressed bytes returned so far. */
uint64_t bs_source_out_pos(const struct bs_source *s);
/* The image member's name for a zip source, else NULL. */
const char *bs_source_zip_member(const struct bs_source *s);

/*
 * URLs: a @path of the form http://... or https://... is fetched with
 * libcurl (http.h) and streamed once; the format still comes from the
 * first bytes. bs_source_in_size() is the server's Content-Length (-1 when
 * none was announced). Any other "scheme://" is refused at open.
 */
bool bs_source_is_url(const struct bs_source *s);

/*
 * With opts.lease, an image file is read under a read lease: opening it fails while another
 * process has it open for writing, and this turns true once a process
 * opens it for writing (or truncates it) afterwards -- the bytes on the
 * device may then not be the image's. Always false for other sources and
 * on file systems without leases.
 */
bool bs_source_changed(const struct bs_source *s);
/*
 * For a URL whose body was read completely and matched its announced
 * length: the SHA-256 of the downloaded (still compressed) bytes. 0 or -1.
 */
int bs_source_download_sha256(const struct bs_source *s, unsigned char out[32]);

#endif /* BOOTSEAL_SOURCE_H */
