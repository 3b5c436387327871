/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block maps made by bmaptool (formats 1.x and 2.0): which ranges of an
 * image hold data, with a checksum per range. Parsed with libxml2; every
 * field is validated (ranges sorted, non-overlapping, inside the image,
 * checksums of the declared type and length).
 */
#ifndef BOOTSEAL_BMAP_H
#define BOOTSEAL_BMAP_H

#include <stddef.h>
#include <stdint.h>

enum bs_bmap_csum {
	BS_BMAP_CSUM_NONE = 0,
	BS_BMAP_CSUM_SHA1,
	BS_BMAP_CSUM_SHA256,
};

struct bs_bmap_range {
	uint64_t first;		/* first block, inclusive */
	uint64_t last;		/* last block, inclusive */
	unsigned char csum[32]; /* binary checksum of the range's bytes */
};

struct bs_bmap {
	unsigned int major, minor; /* format version */
	uint64_t image_size;	   /* bytes */
	uint32_t block_size;	   /* bytes */
	uint64_t blocks_total;
	uint64_t blocks_mapped;
	enum bs_bmap_csum csum_type; /* NONE when the ranges carry none */
	size_t csum_len;	     /* bytes: 20 or 32 */
	size_t nr_ranges;
	struct bs_bmap_range *ranges;
};

/*
 * Parse a bmap from memory / a file. Returns 0, or -1 with a message in
 * @err ("<file>: <reason>").
 */
int bs_bmap_parse(const char *xml, size_t len, const char *name, struct bs_bmap *out, char *err,
		  size_t errlen);
int bs_bmap_load(const char *path, struct bs_bmap *out, char *err, size_t errlen);
void bs_bmap_free(struct bs_bmap *b);

/*
 * Find the bmap for @image: IMAGE.bmap, then IMAGE with a compression
 * suffix (.xz .gz .bz2 .zst .zip) removed plus .bmap. Returns a malloc'd
 * path or NULL.
 */
char *bs_bmap_find(const char *image);

/*
 * Addition: the bytes range @r covers, [*off, *off + *len), clipped to the
 * image size (the last block of an image may be partial; its checksum
 * covers only the image's own bytes, as bmaptool computes it).
 */
void bs_bmap_range_bytes(const struct bs_bmap *b, const struct bs_bmap_range *r, uint64_t *off,
			 uint64_t *len);

/*
 * Bmaps beside an http:// or https:// image (http.h), fetched into memory:
 * bs_bmap_fetch() loads one URL; bs_bmap_find_url() tries IMAGE.bmap, then
 * IMAGE without its compression suffix plus .bmap (the suffix is taken off
 * before any "?query"). Both return 1 loaded (@used: the bmap's URL,
 * malloc'd), 0 absent (HTTP status 4xx), -1 with @err.
 */
int bs_bmap_fetch(const char *url, struct bs_bmap *out, char *err, size_t errlen);
int bs_bmap_find_url(const char *image, struct bs_bmap *out, char **used, char *err, size_t errlen);
/* @url with @strip (when not NULL) taken off and @suffix added, before any
   ?query or #fragment. malloc'd; NULL when @url does not end in @strip. */
char *bs_url_with_suffix(const char *url, const char *strip, const char *suffix);

#endif /* BOOTSEAL_BMAP_H */
