// SPDX-License-Identifier: GPL-2.0
/*
 * Image sources against the real compressors: every format decodes to the
 * exact bytes at odd sizes and around the 1 MiB buffer size, multi-stream
 * files decode completely, the xz decoder runs threads on multi-block
 * files, and truncated, corrupt or ambiguous inputs are errors, never a
 * short image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "source.h"

#define MiB (1u << 20)

static char dir[] = "/tmp/bs-test-source-XXXXXX";

static char *tmp(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *p = bufs[i++ % 8];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

/* Deterministic image: random runs, zero runs and text, so every codec has work. */
static unsigned char *make_data(size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = seed * 2654435761u + 88172645463325252ull;
	size_t i;

	REQUIRE(p);
	for (i = 0; i < len; i++) {
		size_t region = (i / 65536) % 3;

		if (region == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (unsigned char)x;
		} else if (region == 1) {
			p[i] = 0;
		} else {
			p[i] = "bootseal image "[i % 15];
		}
	}
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	REQUIRE(f);
	REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
	REQUIRE(fclose(f) == 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	REQUIRE(stat(path, &st) == 0);
	return st.st_size;
}

/*
 * Decode @path completely in @chunk-sized reads. Returns 0 with the image
 * in *out, or -1 with the message in @err.
 */
static int decode(const char *path, unsigned int threads, size_t chunk, unsigned char **out,
		  size_t *outlen, char *err, size_t errlen, struct bs_source **keep)
{
	struct bs_source *s = bs_source_open(path, threads, err, errlen);
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	*outlen = 0;
	if (!s) {
		CHECK(err[0] != '\0');
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < chunk) {
			cap = cap * 2 + chunk;
			buf = realloc(buf, cap);
			REQUIRE(buf);
		}
		n = bs_source_read_full(s, buf + len, chunk);
		if (n < 0) {
			snprintf(err, errlen, "%s", bs_source_error(s));
			CHECK(bs_source_read(s, buf, chunk) == -1); /* sticky */
			bs_source_close(s);
			free(buf);
			return -1;
		}
		len += (size_t)n;
		if ((size_t)n < chunk) {
			CHECK(bs_source_read(s, buf + len, chunk) == 0); /* stays at end */
			break;
		}
	}
	*out = buf;
	*outlen = len;
	if (keep)
		*keep = s;
	else
		bs_source_close(s);
	return 0;
}

static void expect_image(const char *path, enum bs_format fmt, const unsigned char *data,
			 size_t len, size_t chunk)
{
	struct bs_source *s = NULL;
	unsigned char *out;
	size_t outlen;
	char err[512] = "";
	int rc = decode(path, 0, chunk, &out, &outlen, err, sizeof(err), &s);

	if (rc) {
		fprintf(stderr, "%s (chunk %zu): unexpected error: %s\n", path, chunk, err);
		CHECK(rc == 0);
		return;
	}
	CHECK_EQ_INT(bs_source_format(s), fmt);
	CHECK_EQ_INT(outlen, len);
	CHECK(outlen == len && (len == 0 || !memcmp(out, data, len)));
	CHECK_EQ_INT(bs_source_out_pos(s), len);
	CHECK_EQ_STR(bs_source_path(s), path);
	if (fmt == BS_FMT_RAW || fmt == BS_FMT_ZIP || fmt == BS_FMT_XZ) /* xz: from its index */
		CHECK_EQ_INT(bs_source_size(s), len);
	else
		CHECK_EQ_INT(bs_source_size(s), -1);
	CHECK_EQ_INT(bs_source_in_size(s), file_size(path));
	if (fmt != BS_FMT_ZIP)
		CHECK_EQ_INT(bs_source_in_pos(s), file_size(path));
	bs_source_close(s);
	free(out);
}

static void expect_error(const char *path, const char *what)
{
	unsigned char *out;
	size_t outlen;
	char err[512] = "";
	int rc = decode(path, 0, MiB, &out, &outlen, err, sizeof(err), NULL);

	CHECK(rc == -1);
	if (rc == 0) {
		fprintf(stderr, "%s: decoded %zu bytes, expected an error containing \"%s\"\n",
			path, outlen, what);
		free(out);
		return;
	}
	if (!strstr(err, what)) {
		fprintf(stderr, "%s: error \"%s\" does not contain \"%s\"\n", path, err, what);
		CHECK(strstr(err, what) != NULL);
	}
	/* every message names the file */
	CHECK(strstr(err, path) != NULL);
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "failed as expected: %s\n", err);
}

/* Decode @file fed through a pipe on standard input. */
static int decode_stdin(const char *file, unsigned char **out, size_t *outlen, char *err,
			size_t errlen, enum bs_format *fmt)
{
	struct bs_source *s = NULL;
	int p[2], saved, rc, status;
	pid_t pid;

	REQUIRE(pipe(p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		static char buf[65536];
		int fd = open(file, O_RDONLY);
		ssize_t n;

		close(p[0]);
		if (fd < 0)
			_exit(1);
		/* a tiny first write: the reader must cope with short peeks */
		n = read(fd, buf, 3);
		while (n > 0 && write(p[1], buf, (size_t)n) == n)
			n = read(fd, buf, sizeof(buf));
		_exit(0);
	}
	close(p[1]);
	saved = dup(STDIN_FILENO);
	REQUIRE(saved >= 0);
	REQUIRE(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
	close(p[0]);
	rc = decode("-", 0, MiB, out, outlen, err, errlen, &s);
	if (s) {
		*fmt = bs_source_format(s);
		CHECK_EQ_STR(bs_source_path(s), "-");
		if (*fmt != BS_FMT_ZIP) /* zip: from the local header */
			CHECK_EQ_INT(bs_source_size(s), -1);
		bs_source_close(s);
	}
	/* close the pipe before waiting: a writer blocked on a full pipe must see EPIPE */
	REQUIRE(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return rc;
}

static void truncate_copy(const char *src, const char *dst, off_t len)
{
	REQUIRE(sh("head -c %lld '%s' > '%s'", (long long)len, src, dst) == 0);
}

static void corrupt_copy(const char *src, const char *dst, off_t off, unsigned char xor)
{
	int fd;
	unsigned char c;

	REQUIRE(sh("cp '%s' '%s'", src, dst) == 0);
	fd = open(dst, O_RDWR);
	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &c, 1, off) == 1);
	c ^= xor;
	REQUIRE(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static const struct {
	const char *ext;
	enum bs_format fmt;
	const char *cmd; /* input file appended; output on stdout */
} tools[] = {
	{"raw", BS_FMT_RAW, "cat"},	    {"xz", BS_FMT_XZ, "xz -T1 -c"},
	{"gz", BS_FMT_GZIP, "gzip -c"},	    {"bz2", BS_FMT_BZIP2, "bzip2 -c"},
	{"zst", BS_FMT_ZSTD, "zstd -q -c"},
};

static void compress(int t, const char *in, const char *out)
{
	REQUIRE(sh("%s '%s' > '%s'", tools[t].cmd, in, out) == 0);
}

static void test_round_trips(void)
{
	static const size_t sizes[] = {
		0, 1, MiB - 1, MiB, MiB + 1, MiB + 1234, 2 * MiB + 4095, 3 * MiB + 17,
	};
	static const size_t chunks[] = {MiB, 65536 + 3, 4 * MiB};
	size_t i, c;
	int t;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *data = make_data(sizes[i], i + 1);
		char *img = tmp("rt.img");

		write_file(img, data, sizes[i]);
		for (t = 0; t < (int)(sizeof(tools) / sizeof(tools[0])); t++) {
			char name[64];
			char *path;

			/* an empty raw file is raw; xz/gz/bz2/zst of nothing still have headers */
			snprintf(name, sizeof(name), "rt.%s", tools[t].ext);
			path = tmp(name);
			compress(t, img, path);
			for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
				expect_image(path, tools[t].fmt, data, sizes[i], chunks[c]);
		}
		/* zip, deflated and stored, member inside a directory */
		REQUIRE(sh("cd '%s' && rm -rf z.zip zs.zip d && mkdir d && cp rt.img d/image.img "
			   "&& "
			   "zip -q -r z.zip d && zip -q -0 zs.zip rt.img",
			   dir) == 0);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			expect_image(tmp("z.zip"), BS_FMT_ZIP, data, sizes[i], chunks[c]);
			expect_image(tmp("zs.zip"), BS_FMT_ZIP, data, sizes[i], chunks[c]);
		}
		free(data);
	}
}

static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	REQUIRE(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void test_xz_multithreaded(void)
{
	size_t len = 12 * MiB + 333;
	unsigned char *data = make_data(len, 77), *buf = malloc(MiB);
	char err[512] = "";
	struct bs_source *s;
	size_t got = 0;
	int before = thread_count(), during = 0;
	char *xz = tmp("mt.img.xz");

	REQUIRE(buf);
	write_file(tmp("mt.img"), data, len);
	REQUIRE(sh("xz -T2 --block-size=1MiB -c '%s' > '%s'", tmp("mt.img"), xz) == 0);
	REQUIRE(sh("xz -l '%s' | awk 'NR==2 { exit !($2 > 1) }'", xz) == 0); /* multi-block */
	s = bs_source_open(xz, 2, err, sizeof(err));
	REQUIRE(s);
	for (;;) {
		ssize_t n = bs_source_read_full(s, buf, MiB);
		int now = thread_count();

		REQUIRE(n >= 0);
		if (now > during)
			during = now;
		if (n == 0)
			break;
		CHECK(!memcmp(buf, data + got, (size_t)n));
		got += (size_t)n;
	}
	CHECK_EQ_INT(got, len);
	/* the decoder runs worker threads besides this one */
	if (during <= before)
		fprintf(stderr, "xz decoder used no threads: %d before, %d during\n", before,
			during);
	CHECK(during >= before + 2);
	bs_source_close(s);

	/* single-threaded decoding of the same file */
	s = bs_source_open(xz, 1, err, sizeof(err));
	REQUIRE(s);
	got = 0;
	for (;;) {
		ssize_t n = bs_source_read_full(s, buf, MiB);

		REQUIRE(n >= 0);
		if (n == 0)
			break;
		CHECK(!memcmp(buf, data + got, (size_t)n));
		got += (size_t)n;
	}
	CHECK_EQ_INT(got, len);
	bs_source_close(s);

	/* a memory limit below what the dictionary needs stops with a clear error */
	{
		struct bs_source_opts o;
		ssize_t n;

		bs_source_opts_default(&o);
		o.threads = 2;
		o.memlimit = 1u << 20;
		s = bs_source_open_opts(xz, &o, err, sizeof(err));
		REQUIRE(s);
		n = bs_source_read_full(s, buf, MiB);
		CHECK(n == -1);
		CHECK(strstr(bs_source_error(s), "xz data needs") != NULL);
		CHECK(strstr(bs_source_error(s), "more than the limit of 1 MiB") != NULL);
		bs_source_close(s);
	}

	/* corrupt a block in the middle of a multi-block file */
	corrupt_copy(xz, tmp("mtbad.img.xz"), file_size(xz) / 2, 0x55);
	expect_error(tmp("mtbad.img.xz"), "xz data is corrupt");
	truncate_copy(xz, tmp("mttrunc.img.xz"), file_size(xz) / 2);
	expect_error(tmp("mttrunc.img.xz"), "xz data is");
	free(buf);
	free(data);
}

static void test_concatenated(void)
{
	size_t la = MiB + 1234, lb = 300001;
	unsigned char *a = make_data(la, 5), *b = make_data(lb, 6);
	unsigned char *ab = malloc(la + lb);
	int t;

	REQUIRE(ab);
	memcpy(ab, a, la);
	memcpy(ab + la, b, lb);
	write_file(tmp("a.img"), a, la);
	write_file(tmp("b.img"), b, lb);
	for (t = 1; t < (int)(sizeof(tools) / sizeof(tools[0])); t++) {
		char name[64];

		compress(t, tmp("a.img"), tmp("a.c"));
		compress(t, tmp("b.img"), tmp("b.c"));
		snprintf(name, sizeof(name), "ab.%s", tools[t].ext);
		REQUIRE(sh("cat '%s' '%s' > '%s'", tmp("a.c"), tmp("b.c"), tmp(name)) == 0);
		expect_image(tmp(name), tools[t].fmt, ab, la + lb, MiB);
		expect_image(tmp(name), tools[t].fmt, ab, la + lb, 4096);
	}
	free(a);
	free(b);
	free(ab);
}

static void test_truncated_and_corrupt(void)
{
	size_t len = MiB + 1234;
	unsigned char *data = make_data(len, 9);
	int t;

	write_file(tmp("tc.img"), data, len);
	for (t = 1; t < (int)(sizeof(tools) / sizeof(tools[0])); t++) {
		char name[64], c[512];
		off_t sz;
		static const off_t cuts[] = {12, 100, -1, -2, -4, -8};
		size_t k;

		snprintf(name, sizeof(name), "tc.%s", tools[t].ext);
		snprintf(c, sizeof(c), "%s", tmp(name));
		compress(t, tmp("tc.img"), c);
		sz = file_size(c);
		for (k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
			off_t at = cuts[k] > 0 ? cuts[k] : sz + cuts[k];

			truncate_copy(c, tmp("cut"), at);
			expect_error(tmp("cut"), tools[t].fmt == BS_FMT_ZSTD   ? "zstd data is"
						 : tools[t].fmt == BS_FMT_XZ   ? "xz data is"
						 : tools[t].fmt == BS_FMT_GZIP ? "gzip data is"
									       : "bzip2 data is");
		}
		truncate_copy(c, tmp("cut"), sz / 2);
		expect_error(tmp("cut"), "truncated");
		corrupt_copy(c, tmp("bad"), sz / 2, 0x01);
		expect_error(tmp("bad"), "corrupt");
		corrupt_copy(c, tmp("bad"), sz / 3, 0x80);
		expect_error(tmp("bad"), "corrupt");
	}
	/* gzip trailer: CRC-32, then the length */
	corrupt_copy(tmp("tc.gz"), tmp("badcrc.gz"), file_size(tmp("tc.gz")) - 8, 0xff);
	expect_error(tmp("badcrc.gz"), "incorrect data check");
	corrupt_copy(tmp("tc.gz"), tmp("badlen.gz"), file_size(tmp("tc.gz")) - 1, 0x10);
	expect_error(tmp("badlen.gz"), "incorrect length check");

	/* trailing data policy */
	REQUIRE(sh("cd '%s' && (cat tc.gz; printf garbage) > tg.gz && (cat tc.gz; head -c 512 "
		   "/dev/zero) > tz.gz"
		   " && (cat tc.bz2; printf garbage) > tg.bz2 && (cat tc.zst; printf garbage) > "
		   "tg.zst"
		   " && (cat tc.xz; printf garbage) > tg.xz && (cat tc.xz; head -c 3 /dev/zero) > "
		   "t3.xz"
		   " && (cat tc.xz; head -c 8 /dev/zero) > t8.xz",
		   dir) == 0);
	expect_error(tmp("tg.gz"), "trailing garbage");
	expect_error(tmp("tz.gz"), "trailing garbage");
	expect_error(tmp("tg.bz2"), "trailing garbage");
	expect_error(tmp("tg.zst"), "zstd data is corrupt");
	expect_error(tmp("tg.xz"), "xz data is");
	expect_error(tmp("t3.xz"), "xz data is");
	expect_image(tmp("t8.xz"), BS_FMT_XZ, data, len, MiB); /* xz stream padding */

	/* zip: truncated archive, corrupt member data, bad CRC */
	REQUIRE(sh("cd '%s' && rm -f tc.zip && zip -q tc.zip tc.img", dir) == 0);
	truncate_copy(tmp("tc.zip"), tmp("cut.zip"), file_size(tmp("tc.zip")) / 2);
	expect_error(tmp("cut.zip"), "zip archive is truncated or damaged");
	truncate_copy(tmp("tc.zip"), tmp("cut.zip"), file_size(tmp("tc.zip")) - 1);
	expect_error(tmp("cut.zip"), "zip archive is truncated or damaged");
	corrupt_copy(tmp("tc.zip"), tmp("bad.zip"), file_size(tmp("tc.zip")) / 2, 0x01);
	expect_error(tmp("bad.zip"), "cannot read zip member tc.img");
	REQUIRE(sh("cd '%s' && rm -f st.zip && zip -q -0 st.zip tc.img", dir) == 0);
	corrupt_copy(tmp("st.zip"), tmp("bad.zip"), file_size(tmp("st.zip")) / 2, 0x01);
	expect_error(tmp("bad.zip"), "CRC");
	free(data);
}

static void test_zip_members(void)
{
	static const unsigned char eocd[22] = {'P', 'K', 5, 6};
	unsigned char *out;
	size_t outlen;
	char err[512];
	enum bs_format fmt;
	unsigned char *data = make_data(MiB + 1234, 3);

	write_file(tmp("first.img"), data, MiB + 1234);
	write_file(tmp("second.img"), data, 1000);
	REQUIRE(sh("cd '%s' && rm -f two.zip && zip -q two.zip first.img second.img", dir) == 0);
	expect_error(tmp("two.zip"), "contains 2 files");
	expect_error(tmp("two.zip"), "first.img, second.img");

	REQUIRE(sh("cd '%s' && rm -f enc.zip && zip -q -P secret enc.zip first.img", dir) == 0);
	expect_error(tmp("enc.zip"), "cannot read zip member first.img");
	expect_error(tmp("enc.zip"), "Passphrase required");

	write_file(tmp("empty.zip"), eocd, sizeof(eocd));
	expect_error(tmp("empty.zip"), "contains no file");
	REQUIRE(sh("cd '%s' && rm -rf dirs.zip e && mkdir -p e/f && zip -q -r dirs.zip e", dir) ==
		0);
	expect_error(tmp("dirs.zip"), "contains no file");

	/* streamed: the first member is read, the second is named at the end */
	memset(err, 0, sizeof(err));
	CHECK(decode_stdin(tmp("two.zip"), &out, &outlen, err, sizeof(err), &fmt) == -1);
	CHECK(strstr(err, "more than one file") != NULL);
	CHECK(strstr(err, "first.img, second.img") != NULL);
	CHECK(strstr(err, "standard input") != NULL);
	memset(err, 0, sizeof(err));
	CHECK(decode_stdin(tmp("empty.zip"), &out, &outlen, err, sizeof(err), &fmt) == -1);
	CHECK(strstr(err, "contains no file") != NULL);

	REQUIRE(sh("cd '%s' && rm -f one.zip && zip -q one.zip first.img", dir) == 0);
	memset(err, 0, sizeof(err));
	if (decode_stdin(tmp("one.zip"), &out, &outlen, err, sizeof(err), &fmt) == 0) {
		CHECK_EQ_INT(fmt, BS_FMT_ZIP);
		CHECK_EQ_INT(outlen, MiB + 1234);
		CHECK(outlen == MiB + 1234 && !memcmp(out, data, outlen));
		free(out);
	} else {
		fprintf(stderr, "zip on stdin: %s\n", err);
		CHECK(0);
	}
	/* streamed and truncated */
	truncate_copy(tmp("one.zip"), tmp("onecut.zip"), file_size(tmp("one.zip")) / 2);
	memset(err, 0, sizeof(err));
	CHECK(decode_stdin(tmp("onecut.zip"), &out, &outlen, err, sizeof(err), &fmt) == -1);
	CHECK(strstr(err, "standard input: cannot read zip member first.img") != NULL);
	{
		struct bs_source *s = bs_source_open(tmp("one.zip"), 0, err, sizeof(err));

		REQUIRE(s);
		CHECK_EQ_STR(bs_source_zip_member(s), "first.img");
		CHECK_EQ_INT(bs_source_size(s), MiB + 1234);
		bs_source_close(s);
	}
	free(data);
}

static void test_stdin(void)
{
	size_t len = MiB + 1234;
	unsigned char *data = make_data(len, 11), *out;
	size_t outlen;
	char err[512];
	enum bs_format fmt;
	int t;

	write_file(tmp("in.img"), data, len);
	for (t = 0; t < (int)(sizeof(tools) / sizeof(tools[0])); t++) {
		compress(t, tmp("in.img"), tmp("in.c"));
		memset(err, 0, sizeof(err));
		fmt = (enum bs_format) - 1;
		if (decode_stdin(tmp("in.c"), &out, &outlen, err, sizeof(err), &fmt)) {
			fprintf(stderr, "%s on stdin: %s\n", tools[t].ext, err);
			CHECK(0);
			continue;
		}
		CHECK_EQ_INT(fmt, tools[t].fmt);
		CHECK_EQ_INT(outlen, len);
		CHECK(outlen == len && !memcmp(out, data, len));
		free(out);
	}
	/* a truncated xz on stdin */
	REQUIRE(sh("xz -T1 -c '%s' > '%s' && head -c -5 '%s' > '%s'", tmp("in.img"), tmp("in.xz"),
		   tmp("in.xz"), tmp("in.cut")) == 0);
	memset(err, 0, sizeof(err));
	CHECK(decode_stdin(tmp("in.cut"), &out, &outlen, err, sizeof(err), &fmt) == -1);
	CHECK(strstr(err, "standard input: xz data is") != NULL);
	/* tiny inputs: shorter than any magic */
	write_file(tmp("tiny"), "BZ", 2);
	memset(err, 0, sizeof(err));
	CHECK(decode_stdin(tmp("tiny"), &out, &outlen, err, sizeof(err), &fmt) == 0);
	CHECK_EQ_INT(fmt, BS_FMT_RAW);
	CHECK_EQ_INT(outlen, 2);
	free(out);
	free(data);
}

static void test_detect_and_errors(void)
{
	/* leading bytes and the format they say */
	static const struct {
		const char *buf;
		size_t len;
		enum bs_format fmt;
	} magics[] = {
		{"\xfd"
		 "7zXZ\0",
		 6, BS_FMT_XZ},
		{"\xfd"
		 "7zXZ",
		 5, BS_FMT_RAW},
		{"\x1f\x8b\x08", 3, BS_FMT_GZIP},
		{"BZh91AY&SY", 10, BS_FMT_BZIP2},
		{"BZh0"
		 "1AY&SY",
		 10, BS_FMT_RAW},
		{"\x28\xb5\x2f\xfd", 4, BS_FMT_ZSTD},
		{"\x50\x2a\x4d\x18", 4, BS_FMT_ZSTD},
		{"PK\3\4", 4, BS_FMT_ZIP},
		{"PK\5\6", 4, BS_FMT_ZIP},
		{"\xeb\x3c\x90mkfs", 7, BS_FMT_RAW},
		{"", 0, BS_FMT_RAW},
	};
	char err[256];
	struct bs_source *s;
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		CHECK_EQ_INT(bs_format_detect(magics[i].buf, magics[i].len), magics[i].fmt);
	CHECK_EQ_STR(bs_format_name(BS_FMT_XZ), "xz");
	CHECK_EQ_STR(bs_format_name(BS_FMT_ZIP), "zip");

	err[0] = '\0';
	s = bs_source_open(tmp("does-not-exist.img"), 0, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "does-not-exist.img: cannot open: No such file or directory") != NULL);
	err[0] = '\0';
	s = bs_source_open(dir, 0, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "is a directory") != NULL);
	/* a short error buffer is truncated, not overrun */
	s = bs_source_open(tmp("does-not-exist.img"), 0, err, 8);
	CHECK(s == NULL);
	CHECK(strlen(err) == 7);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_detect_and_errors();
	test_round_trips();
	test_xz_multithreaded();
	test_concatenated();
	test_truncated_and_corrupt();
	test_zip_members();
	test_stdin();
	sh("rm -rf '%s'", dir);
	return unit_done();
}
