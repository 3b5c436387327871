/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image pump: one image, many consumers.
 *
 * One reader thread reads (and decompresses) the image once and fills a
 * bounded ring of chunk buffers; every consumer ("sink": a writer thread per
 * target feeding its own /dev/bootseal session, or a verifier thread per
 * target reading its device back) walks the ring in order. A slot is reused
 * only when every live sink has consumed it, so memory is bounded by the
 * ring (BS_PUMP_SLOTS x BS_PUMP_CHUNK) whatever the image size and target
 * count. A sink that fails drops out; the others go on.
 *
 * Chunks carry image offsets aligned to the pump's alignment (the largest
 * logical block size among the targets); the last chunk is padded with
 * zeros to that alignment and says how many of its bytes are the image's
 * own (@data_len), so verification compares only those.
 *
 * With @map set and a raw image in a regular file, full chunks are not
 * copied at all: they point into a read-only mapping of the file window
 * (@mapped), made when the chunk is produced and dropped when its slot is
 * reused. Such a chunk's bytes are the page cache's, so they stay valid for
 * a kernel that pinned them after the mapping is gone.
 */
#ifndef BOOTSEAL_PUMP_H
#define BOOTSEAL_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bmap.h"
#include "source.h"

#define BS_PUMP_CHUNK  (4u << 20) /* bytes per ring slot (one WRITE) */
#define BS_PUMP_SLOTS  4	  /* ring depth */
#define BS_MAX_TARGETS 8

/* Round @v up to a multiple of @a (a power of two or not). */
static inline uint64_t bs_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

struct bs_chunk {
	uint64_t off;	 /* image/device byte offset, aligned */
	size_t len;	 /* bytes to write: a multiple of the alignment */
	size_t data_len; /* image bytes in it (<= len); the rest is zero padding */
	const unsigned char *buf;
	bool mapped; /* @buf is in a mapping of the image file (see above) */
};

struct bs_pump_cfg {
	struct bs_source *src;	   /* owned by the caller */
	const unsigned char *peek; /* bytes already read from @src (may be NULL) */
	size_t peek_len;
	const struct bs_bmap *bmap;  /* NULL: the whole image */
	bool check_bmap;	     /* verify the bmap's range checksums */
	const unsigned char *sha256; /* expected digest of the whole image, or NULL */
	const char *sha256_note;     /* appended to a mismatch message, or NULL */
	uint32_t align;		     /* power of two, <= BS_PUMP_CHUNK */
	unsigned int nsinks;	     /* <= BS_MAX_TARGETS */
	bool map;		     /* chunks may be mappings of the image file */
};

struct bs_pump;

/* Create and start the reader thread. NULL with @err on failure. */
struct bs_pump *bs_pump_start(const struct bs_pump_cfg *cfg, char *err, size_t errlen);

/*
 * Sink @sink's next chunk. Returns 1 with @c filled (call bs_pump_release()
 * when done with it), 0 at the end of a good image, -1 when the image
 * failed (bs_pump_error() says why) or the pump was cancelled.
 */
int bs_pump_next(struct bs_pump *p, unsigned int sink, struct bs_chunk *c);
void bs_pump_release(struct bs_pump *p, unsigned int sink);
/* Sink @sink stops consuming (failed target). Idempotent. */
void bs_pump_drop(struct bs_pump *p, unsigned int sink);
/* Stop reading (e.g. interrupted); sinks then see -1. */
void bs_pump_cancel(struct bs_pump *p);

/* Image bytes read so far, bytes to be delivered to sinks (0 if unknown). */
uint64_t bs_pump_image_pos(const struct bs_pump *p);
uint64_t bs_pump_total(const struct bs_pump *p);

/*
 * Join the reader. Returns 0 when the whole image was read and every check
 * passed, -1 otherwise (message in bs_pump_error()). @image_size gets the
 * number of image bytes read.
 */
int bs_pump_join(struct bs_pump *p, uint64_t *image_size);
const char *bs_pump_error(const struct bs_pump *p);
/* The image's name for messages ("standard input" for "-"). */
const char *bs_pump_image_name(const struct bs_pump *p);
/* True when the failure was the image's (corrupt, truncated, checksum). */
bool bs_pump_image_failed(const struct bs_pump *p);

/* Another process opened the image file for writing (bs_source_changed()). */
bool bs_pump_image_changed(const struct bs_pump *p);
void bs_pump_free(struct bs_pump *p);

/*
 * Bytes the pump will deliver for @bmap (the mapped ranges rounded out to
 * @align), or for a whole image of @image_size bytes (-1: unknown -> 0).
 */
uint64_t bs_pump_plan_bytes(const struct bs_bmap *bmap, int64_t image_size, uint32_t align);

#endif /* BOOTSEAL_PUMP_H */
