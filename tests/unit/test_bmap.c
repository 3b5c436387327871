// SPDX-License-Identifier: GPL-2.0
/*
 * bmap parsing: a bmap made by `bmaptool create` from a sparse file of odd
 * length matches the file's own data extents and checksums; format 1.x
 * (SHA-1) and checksum-less bmaps load; every kind of broken bmap is
 * refused with a message naming the file and the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "bmap.h"
#include "sha.h"

#define BS 4096u

/* Test documents are a good bmap with a few fields overridden in place. */
#pragma GCC diagnostic ignored "-Woverride-init"

static char dir[] = "/tmp/bs-test-bmap-XXXXXX";

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void write_at(int fd, off_t off, size_t len, unsigned int seed)
{
	unsigned char *b = malloc(len);
	size_t i;

	REQUIRE(b);
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16) | 1; /* never zero */
	}
	REQUIRE(pwrite(fd, b, len, off) == (ssize_t)len);
	free(b);
}

/* Data extents by SEEK_DATA/SEEK_HOLE, rounded out to blocks, merged. */
static size_t own_ranges(int fd, off_t size, struct bs_bmap_range *r, size_t max)
{
	off_t pos = 0;
	size_t n = 0;

	for (;;) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;
		uint64_t first, last;

		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		REQUIRE(hole > data);
		first = (uint64_t)data / BS;
		last = ((uint64_t)hole + BS - 1) / BS - 1;
		if (n && first <= r[n - 1].last + 1) {
			if (last > r[n - 1].last)
				r[n - 1].last = last;
		} else {
			REQUIRE(n < max);
			r[n].first = first;
			r[n].last = last;
			n++;
		}
		pos = hole;
		if (pos >= size)
			break;
	}
	return n;
}

static void range_digest(int fd, const struct bs_bmap *b, const struct bs_bmap_range *r,
			 enum bs_hash_alg alg, unsigned char *out)
{
	uint64_t off, len;
	unsigned char *buf;

	bs_bmap_range_bytes(b, r, &off, &len);
	buf = malloc(len);
	REQUIRE(buf);
	REQUIRE(pread(fd, buf, len, (off_t)off) == (ssize_t)len);
	REQUIRE(bs_hash_buf(alg, buf, len, out) == 0);
	free(buf);
}

static struct bs_bmap_range want[64];
static size_t nr_want;
static char img[512];
static off_t img_size = 5 * 1024 * 1024 + 1234;

static void test_bmaptool(void)
{
	char bmap_path[512], err[512] = "";
	struct bs_bmap b;
	size_t i;
	int fd;

	path_of(img, sizeof(img), "sparse.img");
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, img_size) == 0);
	write_at(fd, 0, 8192, 1);		     /* blocks 0-1 */
	write_at(fd, 1024 * 1024, BS + 100, 2);	     /* 256-257 */
	write_at(fd, 3 * 1024 * 1024 + 4096, BS, 3); /* 769, a single block */
	write_at(fd, img_size - 1000, 1000, 4);	     /* the partial last block */
	REQUIRE(fsync(fd) == 0);
	nr_want = own_ranges(fd, img_size, want, 64);
	REQUIRE(nr_want >= 3);

	path_of(bmap_path, sizeof(bmap_path), "sparse.img.bmap");
	REQUIRE(sh("bmaptool create -o '%s' '%s' 2>/dev/null", bmap_path, img) == 0);
	if (bs_bmap_load(bmap_path, &b, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		REQUIRE(0);
	}
	CHECK_EQ_INT(b.major, 2);
	CHECK_EQ_INT(b.minor, 0);
	CHECK_EQ_INT(b.image_size, img_size);
	CHECK_EQ_INT(b.block_size, BS);
	CHECK_EQ_INT(b.blocks_total, (img_size + BS - 1) / BS);
	CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_SHA256);
	CHECK_EQ_INT(b.csum_len, 32);
	CHECK_EQ_INT(b.nr_ranges, nr_want);
	for (i = 0; i < b.nr_ranges && i < nr_want; i++) {
		unsigned char d[32];

		CHECK_EQ_INT(b.ranges[i].first, want[i].first);
		CHECK_EQ_INT(b.ranges[i].last, want[i].last);
		range_digest(fd, &b, &b.ranges[i], BS_HASH_SHA256, d);
		CHECK(!memcmp(d, b.ranges[i].csum, 32));
	}
	/* the last range ends in the partial last block */
	{
		uint64_t off, len;

		bs_bmap_range_bytes(&b, &b.ranges[b.nr_ranges - 1], &off, &len);
		CHECK_EQ_INT(off + len, img_size);
	}
	bs_bmap_free(&b);
	CHECK(b.ranges == NULL && b.nr_ranges == 0);

	/* an edit of bmaptool's file without updating its checksum */
	REQUIRE(sh("sed 's/<MappedBlocksCount> *[0-9]*/<MappedBlocksCount> 1/' '%s' > '%s.edit'",
		   bmap_path, bmap_path) == 0);
	strcat(bmap_path, ".edit");
	CHECK(bs_bmap_load(bmap_path, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "BmapFileChecksum mismatch") != NULL);
	CHECK(strstr(err, bmap_path) == err);

	/* --no-checksum: ranges without checksums */
	path_of(bmap_path, sizeof(bmap_path), "nocsum.bmap");
	REQUIRE(sh("bmaptool create --no-checksum -o '%s' '%s' 2>/dev/null", bmap_path, img) == 0);
	if (bs_bmap_load(bmap_path, &b, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		REQUIRE(0);
	}
	CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_NONE);
	CHECK_EQ_INT(b.csum_len, 0);
	CHECK_EQ_INT(b.nr_ranges, nr_want);
	bs_bmap_free(&b);
	close(fd);
}

/*
 * A bmap document. @csum_elem is the file checksum element name or NULL;
 * its value is computed (sealed) unless @bad_seal.
 */
struct doc {
	const char *version;
	const char *image_size, *block_size, *blocks, *mapped;
	const char *csum_type; /* NULL: no ChecksumType element */
	const char *csum_elem; /* NULL: no file checksum */
	enum bs_hash_alg seal_alg;
	const char *body;  /* the BlockMap contents */
	const char *extra; /* more elements in <bmap> */
	bool bad_seal;
};

static char *render(const struct doc *d, size_t *len)
{
	size_t hexlen = d->csum_elem ? 2 * bs_hash_len(d->seal_alg) : 0;
	char ctype[128] = "", fcsum[256] = "", zeros[65];
	char *s = NULL;

	memset(zeros, '0', hexlen);
	zeros[hexlen] = '\0';
	if (d->csum_type)
		snprintf(ctype, sizeof(ctype), "    <ChecksumType> %s </ChecksumType>\n",
			 d->csum_type);
	if (d->csum_elem)
		snprintf(fcsum, sizeof(fcsum), "    <%s> %s </%s>\n", d->csum_elem, zeros,
			 d->csum_elem);
	REQUIRE(asprintf(&s,
			 "<?xml version=\"1.0\" ?>\n<!-- a comment -->\n<bmap version=\"%s\">\n"
			 "    <ImageSize> %s </ImageSize>\n    <BlockSize> %s </BlockSize>\n"
			 "    <BlocksCount> %s </BlocksCount>\n"
			 "    <MappedBlocksCount> %s </MappedBlocksCount>\n"
			 "%s%s%s    <BlockMap>\n%s    </BlockMap>\n</bmap>\n",
			 d->version, d->image_size, d->block_size, d->blocks, d->mapped, ctype,
			 fcsum, d->extra ? d->extra : "", d->body) > 0);
	if (d->csum_elem) {
		char *at = strstr(s, zeros), hex[65];
		unsigned char dig[32];

		REQUIRE(at);
		REQUIRE(bs_hash_buf(d->seal_alg, s, strlen(s), dig) == 0);
		bs_hex_format(dig, hexlen / 2, hex);
		if (d->bad_seal)
			hex[5] = hex[5] == 'a' ? 'b' : 'a';
		memcpy(at, hex, hexlen);
	}
	*len = strlen(s);
	return s;
}

#define SHA256_A "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
/* A <Range> element with checksum @csum over @blocks (string literals). */
#define RANGE(csum, blocks) "<Range chksum=\"" csum "\">" blocks "</Range>"

static const char *sha256_a = SHA256_A;
static const char *sha1_a = "86f7e437faa5a7fce15d1ddcb9eaeb8a90d7f4d5";

/* ImageSize 1048576 + 1234 with 4096-byte blocks: 257 blocks */
#define GOOD_2_0                                                                                   \
	.version = "2.0", .image_size = "1049810", .block_size = "4096", .blocks = "257",          \
	.mapped = "4", .csum_type = "sha256", .csum_elem = "BmapFileChecksum",                     \
	.seal_alg = BS_HASH_SHA256

static int parse_doc(const struct doc *d, struct bs_bmap *b, char *err, size_t errlen)
{
	size_t len;
	char *s = render(d, &len);
	int r = bs_bmap_parse(s, len, "test.bmap", b, err, errlen);

	free(s);
	return r;
}

static void expect_ok(const struct doc *d, struct bs_bmap *b)
{
	char err[512] = "";

	if (parse_doc(d, b, err, sizeof(err))) {
		fprintf(stderr, "unexpected error: %s\n", err);
		CHECK(0);
		memset(b, 0, sizeof(*b));
	}
}

static void expect_reject(int line, const struct doc *d, const char *what)
{
	struct bs_bmap b;
	char err[512] = "";

	if (!parse_doc(d, &b, err, sizeof(err))) {
		fprintf(stderr, "line %d: accepted, expected \"%s\"\n", line, what);
		CHECK(0);
		bs_bmap_free(&b);
		return;
	}
	if (!strstr(err, what) || strncmp(err, "test.bmap: ", 11)) {
		fprintf(stderr, "line %d: error \"%s\" lacks \"%s\"\n", line, err, what);
		CHECK(0);
	} else {
		CHECK(1);
	}
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "rejected as expected: %s\n", err);
	CHECK(b.ranges == NULL && b.nr_ranges == 0);
}

#define REJECT(what, ...)                                                                          \
	do {                                                                                       \
		struct doc _d = {GOOD_2_0, .body = good_body, __VA_ARGS__};                        \
		expect_reject(__LINE__, &_d, what);                                                \
	} while (0)

static char good_body[1024];

static void test_formats(void)
{
	struct bs_bmap b;
	char body[1024];

	snprintf(good_body, sizeof(good_body),
		 "<Range chksum=\"%s\"> 0-1 </Range>\n<Range chksum=\"%s\">5</Range>\n"
		 "<Range chksum=\"%s\">256</Range>\n",
		 sha256_a, sha256_a, sha256_a);
	{
		struct doc d = {GOOD_2_0, .body = good_body};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.nr_ranges, 3);
		if (b.nr_ranges == 3) {
			CHECK_EQ_INT(b.ranges[1].first, 5); /* "5" = 5-5 */
			CHECK_EQ_INT(b.ranges[1].last, 5);
			CHECK_EQ_INT(b.ranges[2].first, 256);
			CHECK_EQ_INT(b.ranges[0].csum[0], 0xca);
			CHECK_EQ_INT(b.ranges[0].csum[31], 0xbb);
		}
		CHECK_EQ_INT(b.blocks_mapped, 4);
		bs_bmap_free(&b);
	}
	/* no file checksum at all: fine */
	{
		struct doc d = {GOOD_2_0, .body = good_body, .csum_elem = NULL};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.nr_ranges, 3);
		bs_bmap_free(&b);
	}
	/* 1.4 = 2.0 */
	{
		struct doc d = {GOOD_2_0, .version = "1.4", .body = good_body};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_SHA256);
		bs_bmap_free(&b);
	}
	/* 1.3: sha1 attributes, BmapFileSHA1 */
	snprintf(body, sizeof(body),
		 "<Range sha1=\"%s\"> 0-1 </Range>\n<Range sha1=\"%s\">7-8</Range>\n", sha1_a,
		 sha1_a);
	{
		struct doc d = {.version = "1.3",
				.image_size = "1049810",
				.block_size = "4096",
				.blocks = "257",
				.mapped = "4",
				.csum_elem = "BmapFileSHA1",
				.seal_alg = BS_HASH_SHA1,
				.body = body};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.major, 1);
		CHECK_EQ_INT(b.minor, 3);
		CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_SHA1);
		CHECK_EQ_INT(b.csum_len, 20);
		CHECK_EQ_INT(b.nr_ranges, 2);
		if (b.nr_ranges == 2)
			CHECK_EQ_INT(b.ranges[1].csum[19], 0xd5);
		bs_bmap_free(&b);
		d.bad_seal = true;
		expect_reject(__LINE__, &d, "BmapFileSHA1 mismatch");
		d.bad_seal = false;
		snprintf(body, sizeof(body), "<Range sha1=\"%s\"> 0-1 </Range>\n", sha256_a);
		d.mapped = "2";
		expect_reject(__LINE__, &d, "sha1 checksum must be 40 hex digits");
	}
	/* 1.2: no checksums; 1.0 single-number ranges */
	{
		struct doc d = {.version = "1.2",
				.image_size = "4096",
				.block_size = "4096",
				.blocks = "1",
				.mapped = "1",
				.body = "<Range> 0 </Range>"};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_NONE);
		CHECK_EQ_INT(b.nr_ranges, 1);
		bs_bmap_free(&b);
		d.version = "1.0";
		expect_ok(&d, &b);
		bs_bmap_free(&b);
	}
	/* sha1 named in a 2.0 bmap */
	snprintf(body, sizeof(body), "<Range chksum=\"%s\"> 0-3 </Range>\n", sha1_a);
	{
		struct doc d = {GOOD_2_0, .csum_type = "sha1", .seal_alg = BS_HASH_SHA1,
				.body = body};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.csum_type, BS_BMAP_CSUM_SHA1);
		bs_bmap_free(&b);
	}
	/* a block size that is a multiple of 512 without being a power of two; empty map */
	{
		struct doc d = {GOOD_2_0, .block_size = "1536", .blocks = "684", .mapped = "0",
				.body = ""};

		expect_ok(&d, &b);
		CHECK_EQ_INT(b.block_size, 1536);
		CHECK_EQ_INT(b.nr_ranges, 0);
		CHECK(b.ranges == NULL);
		bs_bmap_free(&b);
	}
	/* unknown elements are ignored */
	{
		struct doc d = {GOOD_2_0, .body = good_body, .extra = "    <Future> 1 </Future>\n"};

		expect_ok(&d, &b);
		bs_bmap_free(&b);
	}
}

static void test_rejects(void)
{
	char body[1024];

	REJECT("unsupported bmap format version 3.0", .version = "3.0");
	REJECT("unsupported bmap format version 1.5", .version = "1.5");
	REJECT("bad bmap format version", .version = "two");
	REJECT("bad bmap format version", .version = "2");
	REJECT("bad bmap format version", .version = "2.0beta");
	REJECT("overlaps or precedes range 1", .body = RANGE(SHA256_A, "0-2") RANGE(SHA256_A, "2"),
	       .mapped = "4");
	REJECT("overlaps or precedes", .mapped = "2",
	       .body = RANGE(SHA256_A, "10") RANGE(SHA256_A, "3"));
	REJECT("is outside the image (257 blocks)", .mapped = "2",
	       .body = RANGE(SHA256_A, "256-257"));
	REJECT("ends before it starts", .mapped = "2", .body = RANGE(SHA256_A, "5-4"));
	REJECT("is not a block number", .mapped = "2", .body = RANGE(SHA256_A, "1-2-3"));
	REJECT("is not a block number", .mapped = "2", .body = RANGE(SHA256_A, "-2"));
	REJECT("sha256 checksum must be 64 hex digits", .mapped = "1",
	       .body = RANGE("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b",
			     "1"));
	REJECT("sha256 checksum must be 64 hex digits", .mapped = "1",
	       .body = RANGE(SHA256_A "b", "1"));
	REJECT("sha256 checksum must be 64 hex digits", .mapped = "1",
	       .body = RANGE("xa978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
			     "1"));
	REJECT("sha256 checksum must be 64 hex digits", .mapped = "1",
	       .body = RANGE("86f7e437faa5a7fce15d1ddcb9eaeb8a90d7f4d5", "1"));
	snprintf(body, sizeof(body), "<Range chksum=\"%s\">1</Range><Range>3</Range>", sha256_a);
	REJECT("1 of 2 ranges have no checksum", .mapped = "2", .body = body);
	REJECT("BlocksCount is 256 but ImageSize 1049810 / BlockSize 4096 needs 257",
	       .blocks = "256");
	REJECT("MappedBlocksCount is 5 but the ranges hold 4 blocks", .mapped = "5");
	REJECT("MappedBlocksCount 300 exceeds BlocksCount 257", .mapped = "300");
	REJECT("BlockSize 1000 is not a positive multiple of 512", .block_size = "1000");
	REJECT("BlockSize 0 is not a positive multiple of 512", .block_size = "0");
	REJECT("ImageSize \"-5\" is not a non-negative decimal number", .image_size = "-5");
	REJECT("ImageSize \"99999999999999999999\" is not", .image_size = "99999999999999999999");
	REJECT("BlockSize \"4k\" is not", .block_size = "4k");
	REJECT("ImageSize 18446744073709551615 is too large", .image_size = "18446744073709551615");
	REJECT("unsupported checksum type \"md5\"", .csum_type = "md5");
	REJECT("ChecksumType is missing", .csum_type = NULL);
	REJECT("BmapFileChecksum mismatch", .bad_seal = true);
	REJECT("element BlockSize appears more than once", .extra = "<BlockSize>512</BlockSize>\n");
	REJECT("element ImageSize may only contain text", .image_size = "<b>1</b>");
	REJECT("unexpected element Extent in BlockMap", .body = "<Extent>1</Extent>");
	REJECT("unexpected text in BlockMap", .body = "1-3");
}

static void reject_raw(const char *xml, const char *what)
{
	struct bs_bmap b;
	char err[512] = "";

	if (!bs_bmap_parse(xml, strlen(xml), "raw.bmap", &b, err, sizeof(err))) {
		fprintf(stderr, "accepted, expected \"%s\": %s\n", what, xml);
		CHECK(0);
		bs_bmap_free(&b);
		return;
	}
	if (!strstr(err, what) || strncmp(err, "raw.bmap: ", 10)) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, what);
		CHECK(0);
	} else {
		CHECK(1);
	}
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "rejected as expected: %s\n", err);
}

static void test_raw_rejects(void)
{
	char err[512] = "", p[512];
	struct bs_bmap b;
	int fd;

	reject_raw("", "file is empty");
	reject_raw("not xml at all", "not valid XML (line 1)");
	reject_raw("<bmap version=\"2.0\"><ImageSize>1</ImageSize>", "not valid XML");
	reject_raw("<?xml version=\"1.0\"?><map version=\"2.0\"/>", "the root element is <map>");
	reject_raw("<bmap/>", "no version attribute");
	reject_raw("<bmap version=\"2.0\"><ImageSize>1</ImageSize></bmap>", "BlockSize is missing");
	reject_raw("<?xml version=\"1.0\"?>\n<!DOCTYPE bmap [<!ENTITY a \"aaaaaaaaaa\">"
		   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n"
		   "<bmap version=\"2.0\"><ImageSize>&b;</ImageSize></bmap>",
		   "must not contain a DTD");
	/* a file checksum that cannot be found verbatim (character reference) */
	reject_raw(
		"<bmap version=\"2.0\"><ChecksumType>sha256</ChecksumType><BmapFileChecksum>&#x30;"
		"000000000000000000000000000000000000000000000000000000000000000</BmapFileChecksum>"
		"<ImageSize>0</ImageSize><BlockSize>4096</BlockSize><BlocksCount>0</BlocksCount>"
		"<MappedBlocksCount>0</MappedBlocksCount><BlockMap/></bmap>",
		"cannot locate the BmapFileChecksum value");
	reject_raw("<bmap version=\"2.0\"><ChecksumType>sha256</ChecksumType><BmapFileChecksum>1234"
		   "</BmapFileChecksum><ImageSize>0</ImageSize><BlockSize>4096</BlockSize>"
		   "<BlocksCount>0</BlocksCount><MappedBlocksCount>0</MappedBlocksCount><BlockMap/"
		   "></bmap>",
		   "BmapFileChecksum must be 64 hex digits");

	CHECK(bs_bmap_load("/nonexistent/x.bmap", &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "/nonexistent/x.bmap: cannot open: No such file") != NULL);
	CHECK(bs_bmap_load(dir, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	path_of(p, sizeof(p), "big.bmap");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 65 << 20) == 0);
	close(fd);
	CHECK(bs_bmap_load(p, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "too large for a bmap") != NULL);
	unlink(p);
}

/* Makes @bmap in the test folder; bs_bmap_find(@image) must then name it. */
static void check_finds(const char *image, const char *bmap)
{
	char want_path[512], *got;

	REQUIRE(sh("cd '%s' && touch %s", dir, bmap) == 0);
	got = bs_bmap_find(image);
	path_of(want_path, sizeof(want_path), bmap);
	CHECK_EQ_STR(got, want_path);
	free(got);
}

static void test_find(void)
{
	char image[512];

	path_of(image, sizeof(image), "os.img.xz");
	REQUIRE(sh("cd '%s' && touch os.img.xz", dir) == 0);
	CHECK(bs_bmap_find(image) == NULL);
	check_finds(image, "os.img.bmap");
	check_finds(image, "os.img.xz.bmap");
	/* the same suffixes as the format check: .zstd, and in capitals */
	path_of(image, sizeof(image), "up.img.ZSTD");
	check_finds(image, "up.img.bmap");
	/* a directory named like a bmap is not one */
	path_of(image, sizeof(image), "d.img.zst");
	REQUIRE(sh("cd '%s' && mkdir d.img.bmap", dir) == 0);
	CHECK(bs_bmap_find(image) == NULL);
	CHECK(bs_bmap_find("-") == NULL);
	CHECK(bs_bmap_find("") == NULL);
	CHECK(bs_bmap_find(NULL) == NULL);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_bmaptool();
	test_formats();
	test_rejects();
	test_raw_rejects();
	test_find();
	sh("rm -rf '%s'", dir);
	return unit_done();
}
