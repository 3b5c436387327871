/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The expected SHA-256 of an image: from --sha256, or found next to the
 * image like a .bmap is (IMAGE.sha256, or a line for it in SHA256SUMS).
 * Vendors publish the hash of the download (os.img.xz); some publish the
 * decompressed image's (os.img). Either is accepted: the file's is checked
 * before any device is touched, the image's while it is written.
 */
#ifndef BOOTSEAL_CHECKSUM_H
#define BOOTSEAL_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Look next to @image (a path, not "-") for its expected SHA-256: the
 * first word of IMAGE.sha256, else the line of SHA256SUMS in the same
 * directory that names the file (or the file without its compression
 * suffix). 1 found (@out, and where in @from), 0 none, -1 a file exists
 * but holds no usable hash for the image (@from says which and why).
 */
int bs_sha256_find(const char *image, unsigned char out[32], char *from, size_t fromlen);

/*
 * SHA-256 of the file @path. 0, or -1 with @err. When @stop (may be NULL)
 * becomes non-zero, for instance from a signal handler, it gives up with
 * "interrupted" at the next read.
 */
int bs_sha256_file(const char *path, unsigned char out[32], const _Atomic int *stop, char *err,
		   size_t errlen);

#endif /* BOOTSEAL_CHECKSUM_H */
