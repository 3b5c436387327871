/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Streaming SHA-1 / SHA-256 (OpenSSL libcrypto EVP) and hex helpers for
 * image (--sha256) and bmap range checksums.
 */
#ifndef BOOTSEAL_SHA_H
#define BOOTSEAL_SHA_H

#include <stdbool.h>
#include <stddef.h>

/* Values equal enum bs_bmap_csum's SHA1 / SHA256 (bmap.c checks that). */
enum bs_hash_alg {
	BS_HASH_SHA1 = 1,
	BS_HASH_SHA256 = 2,
};

#define BS_HASH_MAX_LEN 32 /* bytes of the longest digest (SHA-256) */

struct bs_hash;

/* Digest length in bytes (20, 32), 0 for an unknown algorithm. */
size_t bs_hash_len(enum bs_hash_alg alg);
const char *bs_hash_name(enum bs_hash_alg alg); /* "sha1", "sha256" */

/* NULL on allocation failure or unknown algorithm. */
struct bs_hash *bs_hash_new(enum bs_hash_alg alg);
/* Start over (after bs_hash_final, or to discard data). 0 or -1. */
int bs_hash_reset(struct bs_hash *h);
int bs_hash_update(struct bs_hash *h, const void *data, size_t len);
/* Writes bs_hash_len() bytes to @out; the hash must be reset before reuse. */
int bs_hash_final(struct bs_hash *h, unsigned char *out);
void bs_hash_free(struct bs_hash *h);

/* One-shot digest of a buffer. 0 or -1. */
int bs_hash_buf(enum bs_hash_alg alg, const void *data, size_t len, unsigned char *out);

/*
 * Parse exactly @hexlen hex digits (either case) into @hexlen / 2 bytes.
 * Fails unless @hexlen == 2 * @outlen and every character is a hex digit.
 */
int bs_hex_parse(const char *hex, size_t hexlen, unsigned char *out, size_t outlen);
/* Lower-case hex of @len bytes into @out (2 * @len + 1 bytes, NUL-terminated). */
void bs_hex_format(const unsigned char *bin, size_t len, char *out);
/* Constant-length comparison of two digests. */
bool bs_hash_equal(const unsigned char *a, const unsigned char *b, size_t len);

#endif /* BOOTSEAL_SHA_H */
