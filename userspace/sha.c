// SPDX-License-Identifier: GPL-2.0
/* Streaming SHA-1 / SHA-256 through OpenSSL's EVP interface, hex helpers. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "sha.h"

struct bs_hash {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	enum bs_hash_alg alg;
};

static const EVP_MD *alg_md(enum bs_hash_alg alg)
{
	switch (alg) {
	case BS_HASH_SHA1:
		return EVP_sha1();
	case BS_HASH_SHA256:
		return EVP_sha256();
	}
	return NULL;
}

size_t bs_hash_len(enum bs_hash_alg alg)
{
	switch (alg) {
	case BS_HASH_SHA1:
		return 20;
	case BS_HASH_SHA256:
		return 32;
	}
	return 0;
}

const char *bs_hash_name(enum bs_hash_alg alg)
{
	switch (alg) {
	case BS_HASH_SHA1:
		return "sha1";
	case BS_HASH_SHA256:
		return "sha256";
	}
	return "unknown";
}

struct bs_hash *bs_hash_new(enum bs_hash_alg alg)
{
	struct bs_hash *h;
	const EVP_MD *md = alg_md(alg);

	if (!md)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->md = md;
	h->alg = alg;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || bs_hash_reset(h)) {
		bs_hash_free(h);
		return NULL;
	}
	return h;
}

int bs_hash_reset(struct bs_hash *h)
{
	return EVP_DigestInit_ex(h->ctx, h->md, NULL) == 1 ? 0 : -1;
}

int bs_hash_update(struct bs_hash *h, const void *data, size_t len)
{
	if (!len)
		return 0;
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -1;
}

int bs_hash_final(struct bs_hash *h, unsigned char *out)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != bs_hash_len(h->alg))
		return -1;
	return 0;
}

void bs_hash_free(struct bs_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int bs_hash_buf(enum bs_hash_alg alg, const void *data, size_t len, unsigned char *out)
{
	const EVP_MD *md = alg_md(alg);
	unsigned int n = 0;

	if (!md || EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return -1;
	return n == bs_hash_len(alg) ? 0 : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int bs_hex_parse(const char *hex, size_t hexlen, unsigned char *out, size_t outlen)
{
	size_t i;

	if (hexlen != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void bs_hex_format(const unsigned char *bin, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * len] = '\0';
}

bool bs_hash_equal(const unsigned char *a, const unsigned char *b, size_t len)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
