// SPDX-License-Identifier: GPL-2.0
/* SHA-1/SHA-256 streaming and hex helpers against known vectors and sha256sum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "sha.h"

static void hex_of(enum bs_hash_alg alg, const void *data, size_t len, char *out)
{
	unsigned char d[BS_HASH_MAX_LEN];

	REQUIRE(bs_hash_buf(alg, data, len, d) == 0);
	bs_hex_format(d, bs_hash_len(alg), out);
}

static void test_vectors(void)
{
	char hex[2 * BS_HASH_MAX_LEN + 1];

	hex_of(BS_HASH_SHA256, "", 0, hex);
	CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of(BS_HASH_SHA256, "abc", 3, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of(BS_HASH_SHA1, "abc", 3, hex);
	CHECK_EQ_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	hex_of(BS_HASH_SHA1, "", 0, hex);
	CHECK_EQ_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	CHECK_EQ_INT(bs_hash_len(BS_HASH_SHA1), 20);
	CHECK_EQ_INT(bs_hash_len(BS_HASH_SHA256), 32);
	CHECK_EQ_INT(bs_hash_len((enum bs_hash_alg)99), 0);
	CHECK(bs_hash_new((enum bs_hash_alg)99) == NULL);
	CHECK_EQ_STR(bs_hash_name(BS_HASH_SHA256), "sha256");
	CHECK_EQ_STR(bs_hash_name(BS_HASH_SHA1), "sha1");
}

/* One million 'a' in odd-sized pieces equals the one-shot digest and the FIPS vector. */
static void test_streaming(void)
{
	size_t len = 1000000, off = 0, step = 1;
	char *buf = malloc(len), hex[65];
	unsigned char one[32], streamed[32];
	struct bs_hash *h = bs_hash_new(BS_HASH_SHA256);

	REQUIRE(buf && h);
	memset(buf, 'a', len);
	while (off < len) {
		size_t n = step < len - off ? step : len - off;

		CHECK(bs_hash_update(h, buf + off, n) == 0);
		off += n;
		step = step * 3 + 1;
	}
	CHECK(bs_hash_update(h, buf, 0) == 0);
	CHECK(bs_hash_final(h, streamed) == 0);
	CHECK(bs_hash_buf(BS_HASH_SHA256, buf, len, one) == 0);
	CHECK(!memcmp(one, streamed, 32));
	bs_hex_format(streamed, 32, hex);
	CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* reset and reuse */
	CHECK(bs_hash_reset(h) == 0);
	CHECK(bs_hash_update(h, "abc", 3) == 0);
	CHECK(bs_hash_final(h, streamed) == 0);
	bs_hex_format(streamed, 32, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	bs_hash_free(h);
	bs_hash_free(NULL);

	/* against sha256sum on the same bytes */
	{
		char path[] = "/tmp/bs-test-sha-XXXXXX", cmd[256], line[128] = "";
		FILE *f, *p;
		int fd = mkstemp(path);

		REQUIRE(fd >= 0);
		f = fdopen(fd, "wb");
		REQUIRE(f && fwrite(buf, 1, 123457, f) == 123457 && fclose(f) == 0);
		snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
		p = popen(cmd, "r");
		REQUIRE(p);
		REQUIRE(fgets(line, sizeof(line), p));
		pclose(p);
		unlink(path);
		hex_of(BS_HASH_SHA256, buf, 123457, hex);
		CHECK(!strncmp(line, hex, 64));
	}
	free(buf);
}

static void test_hex(void)
{
	unsigned char b[4], z[3] = {0x00, 0xab, 0xff};
	char out[7];

	CHECK(bs_hex_parse("DeadBEEF", 8, b, 4) == 0);
	CHECK(b[0] == 0xde && b[1] == 0xad && b[2] == 0xbe && b[3] == 0xef);
	CHECK(bs_hex_parse("deadbee", 7, b, 4) == -1);	   /* odd length */
	CHECK(bs_hex_parse("deadbeef00", 10, b, 4) == -1); /* too long */
	CHECK(bs_hex_parse("deadbeeg", 8, b, 4) == -1);	   /* not hex */
	CHECK(bs_hex_parse(" eadbeef", 8, b, 4) == -1);
	CHECK(bs_hex_parse("", 0, b, 0) == 0);
	bs_hex_format(z, 3, out);
	CHECK_EQ_STR(out, "00abff");
	CHECK(bs_hash_equal(z, z, 3));
	CHECK(!bs_hash_equal(z, (const unsigned char *)"\x00\xab\xfe", 3));
}

int main(void)
{
	test_vectors();
	test_streaming();
	test_hex();
	return unit_done();
}
