/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random-access reading of an image or a block device, for the partition
 * table and FAT parsers. Raw files and block devices are read with pread().
 * Compressed images go through the image sources (source.h): they decode
 * forwards only, so the first few MiB (where partition tables and boot
 * partitions' directories normally live) are cached, reads further on
 * decode forwards (keeping the last 1 MiB block), and a read behind that
 * re-opens the source (impossible for standard input: an error).
 *
 * Errors: functions that can fail return -1 and leave a message in the
 * reader (bs_reader_error()) of the form "<what>: <reason>".
 */
#ifndef BOOTSEAL_READER_H
#define BOOTSEAL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bs_reader;

/* Bytes of a compressed image kept in memory from offset 0. */
#define BS_READER_CACHE (8u << 20)

/*
 * Open @path: a block device, a raw image or a compressed image (format
 * from magic bytes). NULL with a message in @err on failure.
 */
struct bs_reader *bs_reader_open(const char *path, char *err, size_t errlen);

/* A reader over @len bytes of memory (not copied; must outlive the reader). */
struct bs_reader *bs_reader_mem(const void *buf, size_t len, const char *name);

/*
 * Read up to @len bytes at @off. Returns the count (short only at the end
 * of the image or device), 0 at or past the end, -1 on error.
 */
ssize_t bs_reader_pread(struct bs_reader *r, void *buf, size_t len, uint64_t off);

/*
 * Size in bytes; -1 when not known yet (a compressed image whose end has
 * not been decoded). bs_reader_size_full() decodes to the end if needed.
 */
int64_t bs_reader_size(const struct bs_reader *r);
int64_t bs_reader_size_full(struct bs_reader *r);

/* Logical sector size: BLKSSZGET for block devices, else 512. */
uint32_t bs_reader_sector_size(const struct bs_reader *r);
bool bs_reader_is_device(const struct bs_reader *r);
/* "raw", "xz", ..., or "block device". */
const char *bs_reader_kind(const struct bs_reader *r);
const char *bs_reader_name(const struct bs_reader *r);
const char *bs_reader_error(const struct bs_reader *r);
void bs_reader_close(struct bs_reader *r);

#endif /* BOOTSEAL_READER_H */
