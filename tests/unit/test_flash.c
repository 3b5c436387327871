// SPDX-License-Identifier: GPL-2.0
/*
 * Flash pipeline on the host: option parsing, head-length choice (MBR, GPT
 * made by sfdisk, corrupt GPT, caps), the pump's block arithmetic for odd
 * sizes and sizes around every buffer size (one and several sinks, a sink
 * dropping out, raw and xz), verification of files with the first differing
 * byte named, and progress formatting.
 */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <zlib.h>

#include "bmap.h"
#include "helper.h"
#include "checksum.h"
#include "device.h"
#include "flash.h"
#include "headlen.h"
#include "imagecheck.h"
#include "le.h"
#include "mapguard.h"
#include "opts.h"
#include "progress.h"
#include "ptable.h"
#include "pump.h"
#include "reader.h"
#include "unit.h"
#include "verify.h"

/* main.c (which defines it) is not linked into unit tests */

static char dir[] = "/tmp/bs-test-flash-XXXXXX";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Deterministic, non-repeating bytes. */
static void fill(unsigned char *b, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

static void write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	REQUIRE(f);
	REQUIRE(fwrite(b, 1, n, f) == n);
	fclose(f);
}

/* ---- options -------------------------------------------------------------- */

static int parse(struct bs_flash_opts *o, size_t *npos, char **pos, ...)
{
	char *argv[32];
	va_list ap;
	int argc = 0;
	char *a;

	argv[argc++] = "flash";
	va_start(ap, pos);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return bs_flash_parse(argc, argv, o, pos, npos, 9);
}

static void test_options(void)
{
	struct bs_flash_opts o;
	char *pos[9];
	size_t np;
	uint64_t v;

	CHECK_EQ_INT(parse(&o, &np, pos, "img", "/dev/sdb", NULL), 0);
	CHECK_EQ_INT(np, 2);
	CHECK_EQ_STR(pos[0], "img");
	CHECK(!o.yes && !o.json && o.head_len == 0 && !o.bmap);

	CHECK_EQ_INT(parse(&o, &np, pos, "--yes", "--json", "--head", "16K", "--bmap=x.bmap",
			   "--threads", "3", "--allow-fixed", "--unmount", "--strict",
			   "--power-off", "--no-verify", "--force-raw", "img.xz", "usb:1-1.2",
			   "/dev/sdc", NULL),
		     0);
	CHECK(o.yes && o.json && o.allow_fixed && o.unmount && o.strict && o.power_off &&
	      o.no_verify);
	CHECK(o.force_raw);
	CHECK_EQ_INT(o.head_len, 16384);
	CHECK_EQ_STR(o.bmap, "x.bmap");
	CHECK_EQ_INT(o.threads, 3);
	CHECK_EQ_INT(np, 3);
	CHECK_EQ_STR(pos[1], "usb:1-1.2");
	CHECK_EQ_INT(parse(&o, &np, pos, "-y", "-q", "img", "/dev/sdb", NULL), 0);
	CHECK(o.yes && o.quiet);
	CHECK_EQ_INT(parse(&o, &np, pos, "-yq", "img", "/dev/sdb", NULL), 0);
	CHECK(o.yes && o.quiet && np == 2);
	CHECK_EQ_INT(parse(&o, &np, pos, "--quiet", "img", "/dev/sdb", NULL), 0);
	CHECK(o.quiet && !o.yes);
	CHECK_EQ_INT(parse(&o, &np, pos, "-yx", "img", "/dev/sdb", NULL), -1);
	/* -j as everywhere; getopt-style prefixes; the --usbboot options' letters */
	CHECK_EQ_INT(parse(&o, &np, pos, "-jy", "--no-v", "img", "/dev/sdb", NULL), 0);
	CHECK(o.json && o.yes && o.no_verify);
	CHECK_EQ_INT(parse(&o, &np, pos, "--usbboot", "-l", "-f", "fw", "-t30", "-p", "1-1.3",
			   "img", NULL),
		     0);
	CHECK(o.loop && o.timeout == 30);
	CHECK_EQ_STR(o.firmware, "fw");
	CHECK_EQ_INT(o.ports.n, 1);
	CHECK_EQ_INT(parse(&o, &np, pos, "-t", "30", "img", "/dev/sdb", NULL),
		     -1); /* needs --usbboot */
	CHECK_EQ_INT(parse(&o, &np, pos, "--no-", "img", "/dev/sdb", NULL), -1); /* ambiguous */
	CHECK_EQ_INT(parse(&o, &np, pos, "-h", NULL), BS_OPTS_HELP);
	CHECK_EQ_INT(bs_progress_pick_mode(false, true), BS_PROGRESS_QUIET);
	CHECK_EQ_INT(bs_progress_pick_mode(true, true), BS_PROGRESS_JSON);

	/* "-" is the image on standard input, "--" ends options */
	CHECK_EQ_INT(parse(&o, &np, pos, "--yes", "-", "--", "--weird-name", NULL), 0);
	CHECK_EQ_INT(np, 2);
	CHECK_EQ_STR(pos[0], "-");
	CHECK_EQ_STR(pos[1], "--weird-name");

	CHECK_EQ_INT(parse(&o, &np, pos, "--help", NULL), BS_OPTS_HELP);
	CHECK_EQ_INT(parse(&o, &np, pos, "img", NULL), -1); /* no target */
	CHECK_EQ_INT(parse(&o, &np, pos, "--frobnicate", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--head", "12Q", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--head", "0", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--threads", "-1", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--sha256", "abc", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--bmap", "x", "--no-bmap", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "--yes=1", "a", "b", NULL), -1);
	CHECK_EQ_INT(parse(&o, &np, pos, "a", "b", "--bmap", NULL), -1); /* value missing */
	CHECK_EQ_INT(parse(&o, &np, pos, "--loop", "a", "b", NULL), -1); /* needs --usbboot */
	CHECK_EQ_INT(parse(&o, &np, pos, "--usbboot", "--loop", "img", NULL), 0);
	CHECK_EQ_INT(parse(&o, &np, pos, "a", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL),
		     -1);

	CHECK_EQ_INT(bs_parse_size("4096", &v), 0);
	CHECK_EQ_INT(v, 4096);
	CHECK_EQ_INT(bs_parse_size("1MiB", &v), 0);
	CHECK_EQ_INT(v, 1 << 20);
	CHECK_EQ_INT(bs_parse_size("2g", &v), 0);
	CHECK_EQ_INT(v, 2ULL << 30);
	CHECK_EQ_INT(bs_parse_size("", &v), -1);
	CHECK_EQ_INT(bs_parse_size("1KX", &v), -1);
	CHECK_EQ_INT(bs_parse_size("99999999999999999999", &v), -1);
	CHECK_EQ_INT(bs_parse_size("17179869184G", &v), -1);

	{
		unsigned char d[32];

		CHECK_EQ_INT(
			bs_parse_sha256(
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				d),
			0);
		CHECK_EQ_INT(d[0], 0xe3);
		CHECK_EQ_INT(d[31], 0x55);
		CHECK_EQ_INT(
			bs_parse_sha256(
				"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B85G",
				d),
			-1);
	}
}

/* ---- head length ---------------------------------------------------------- */

static unsigned char *read_head(const char *path, size_t *len)
{
	unsigned char *b = calloc(1, 1 << 20);
	int fd = open(path, O_RDONLY);
	ssize_t r;

	REQUIRE(b && fd >= 0);
	r = read(fd, b, 1 << 20);
	close(fd);
	REQUIRE(r > 0);
	*len = (size_t)r;
	return b;
}

static void test_head(void)
{
	enum bs_head_kind kind;
	char path[256], note[256];
	unsigned char *b;
	size_t len;

	snprintf(path, sizeof(path), "%s/mbr.img", dir);
	REQUIRE(run("truncate -s 8M %s && echo 'start=2048, type=83' | sfdisk -q %s >/dev/null",
		    path, path) == 0);
	b = read_head(path, &len);
	CHECK_EQ_INT(bs_head_auto(b, len, 512, 0, &kind, note, sizeof(note)), 512);
	CHECK_EQ_INT(kind, BS_HEAD_MBR);
	CHECK_EQ_INT(bs_head_auto(b, len, 4096, 0, &kind, note, sizeof(note)), 4096);
	free(b);

	snprintf(path, sizeof(path), "%s/gpt.img", dir);
	REQUIRE(run("truncate -s 8M %s && printf 'label: gpt\\nstart=2048, size=4096\\n' | sfdisk "
		    "-q %s >/dev/null",
		    path, path) == 0);
	b = read_head(path, &len);
	/* 128 entries x 128 bytes from LBA 2: the array ends at byte 17408 */
	CHECK_EQ_INT(bs_head_auto(b, len, 512, 0, &kind, note, sizeof(note)), 17408);
	CHECK_EQ_INT(kind, BS_HEAD_GPT);
	CHECK_EQ_STR(note, "");
	CHECK_EQ_INT(bs_head_auto(b, len, 4096, 0, &kind, note, sizeof(note)), 20480);
	/* capped by the module's maximum, rounded down to the block size */
	CHECK_EQ_INT(bs_head_auto(b, len, 512, 10000, &kind, note, sizeof(note)), 9728);
	CHECK(strstr(note, "max_head_len") != NULL);
	/* only the header in the peek: entries not checked, length still from the header */
	CHECK_EQ_INT(bs_head_auto(b, 1024, 512, 0, &kind, note, sizeof(note)), 17408);
	/* a corrupt header CRC falls back to one block */
	b[512 + 30] ^= 1;
	CHECK_EQ_INT(bs_head_auto(b, len, 512, 0, &kind, note, sizeof(note)), 512);
	CHECK_EQ_INT(kind, BS_HEAD_MBR); /* the protective MBR is still there */
	CHECK(strstr(note, "CRC") != NULL);
	b[512 + 30] ^= 1;
	/* a corrupt entry array too */
	b[1024 + 5] ^= 1;
	CHECK_EQ_INT(bs_head_auto(b, len, 512, 0, &kind, note, sizeof(note)), 512);
	free(b);

	/* no table at all */
	b = calloc(1, 4096);
	REQUIRE(b);
	CHECK_EQ_INT(bs_head_auto(b, 4096, 512, 0, &kind, note, sizeof(note)), 512);
	CHECK_EQ_INT(kind, BS_HEAD_NONE);
	CHECK_EQ_INT(bs_head_auto(b, 10, 512, 0, &kind, NULL, 0), 512);
	free(b);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * Give the primary GPT of the sfdisk image @b (header at byte 512, array
 * at LBA 2) @n entries of @size bytes: sfdisk's first entry, then zeros,
 * with both CRCs made to match.
 */
static void gpt_geometry(unsigned char *b, uint32_t n, uint32_t size, uint64_t lba)
{
	unsigned char first[128], *h = b + 512;
	int i;

	REQUIRE((size_t)n * size <= (1 << 20) - 1024);
	memcpy(first, b + 1024, sizeof(first));
	memset(b + 1024, 0, (size_t)n * size);
	memcpy(b + 1024, first, sizeof(first));
	put_le32(h + 80, n);
	put_le32(h + 84, size);
	put_le32(h + 88, (uint32_t)crc32(0, b + 1024, n * size));
	for (i = 0; i < 8; i++) /* the entry array's first sector */
		h[72 + i] = (unsigned char)(lba >> (8 * i));
	put_le32(h + 16, 0);
	put_le32(h + 16, (uint32_t)crc32(0, h, bs_le32(h + 12)));
}

/*
 * flash's head length and inspect read a GPT header by the same rule
 * (entries of 128 x 2^n bytes). Each geometry here was judged differently
 * by the two parsers they once had: 384-byte entries (a multiple of 128,
 * not a power of two) were held back by flash but invalid for inspect;
 * 8192-byte entries were valid for inspect but not held back by flash.
 */
static void test_head_agrees_with_inspect(void)
{
	static const struct {
		uint32_t n, size;
		uint64_t lba;
		const char *why; /* NULL: valid */
	} geo[] = {
		{128, 128, 2, NULL},
		{64, 256, 2, NULL},
		{128, 384, 2, "is not a power of two >= 128"},
		{4, 8192, 2, NULL},
		{1, 100, 2, "is not a power of two >= 128"},
		{128, 128, 1, "overlaps the MBR or the header"},
		{128, 128, 0, "overlaps the MBR or the header"},
	};
	unsigned char *b = malloc(8 << 20);
	char path[256], src[256], err[256], note[256];
	size_t i;

	REQUIRE(b);
	snprintf(src, sizeof(src), "%s/gpt-geo-src.img", dir);
	REQUIRE(run("truncate -s 8M %s && printf 'label: gpt\nstart=2048, size=4096\n' | sfdisk -q "
		    "%s >/dev/null",
		    src, src) == 0);
	for (i = 0; i < sizeof(geo) / sizeof(geo[0]); i++) {
		enum bs_head_kind kind;
		struct bs_reader *r;
		struct bs_ptable *pt;
		uint64_t head;
		int fd;

		fd = open(src, O_RDONLY);
		REQUIRE(fd >= 0 && read(fd, b, 8 << 20) == 8 << 20);
		close(fd);
		gpt_geometry(b, geo[i].n, geo[i].size, geo[i].lba);
		snprintf(path, sizeof(path), "%s/gpt-geo-%zu.img", dir, i);
		write_file(path, b, 8 << 20);

		/* inspect: the whole image, through its reader */
		r = bs_reader_open(path, err, sizeof(err));
		REQUIRE(r);
		pt = bs_ptable_read(r, 0, err, sizeof(err));
		REQUIRE(pt);
		bs_reader_close(r);
		CHECK_EQ_INT(bs_ptable_valid(pt), geo[i].why == NULL);

		/* flash: the first BS_PUMP_CHUNK bytes */
		head = bs_head_auto(b, BS_PUMP_CHUNK, 512, 0, &kind, note, sizeof(note));
		CHECK_EQ_INT(kind == BS_HEAD_GPT, bs_ptable_valid(pt));
		if (!geo[i].why) {
			CHECK_EQ_INT(head,
				     bs_round_up(1024 + (uint64_t)geo[i].n * geo[i].size, 512));
			CHECK_EQ_STR(note, "");
		} else {
			CHECK_EQ_INT(head, 512);
			CHECK(strstr(note, geo[i].why) != NULL);
			/* and both say why in the same words */
			{
				bool said = false;
				size_t k;

				for (k = 0; k < pt->nfindings; k++)
					said |= strstr(pt->findings[k].msg, geo[i].why) != NULL;
				CHECK(said);
			}
		}
		free(pt);
	}
	free(b);
}

/* ---- the pump --------------------------------------------------------------- */

struct collect {
	struct bs_pump *p;
	unsigned int sink;
	unsigned char *out; /* reassembled device image */
	size_t cap;
	uint64_t end;	   /* highest byte written */
	size_t drop_after; /* drop out after this many chunks (0 = never) */
	int result;
	int bad_align;
	size_t mapped; /* chunks that came as file mappings */
};

static void *collector(void *arg)
{
	struct collect *c = arg;
	struct bs_chunk ch;
	size_t n = 0;
	int r;

	while ((r = bs_pump_next(c->p, c->sink, &ch)) > 0) {
		if (ch.off % 512 || ch.len % 512 || ch.data_len > ch.len ||
		    ch.len - ch.data_len >= 512 || ch.len > BS_PUMP_CHUNK)
			c->bad_align++;
		else if (ch.off + ch.len <= c->cap)
			memcpy(c->out + ch.off, ch.buf, ch.len);
		c->mapped += ch.mapped;
		if (ch.off + ch.len > c->end)
			c->end = ch.off + ch.len;
		bs_pump_release(c->p, c->sink);
		if (c->drop_after && ++n == c->drop_after) {
			bs_pump_drop(c->p, c->sink);
			c->result = 2;
			return NULL;
		}
	}
	c->result = r;
	return NULL;
}

#define PUMP_MAP  1 /* cfg.map: whole chunks of a raw file come as mappings */
#define PUMP_PEEK 2 /* the first bytes were read before the pump (as flash does) */

/*
 * Pump @path (size @size, content @want) to @nsinks collectors; check each
 * saw exactly the image followed by zero padding to the next 512 bytes.
 */
static void pump_case(const char *path, const unsigned char *want, size_t size, unsigned int nsinks,
		      size_t drop_after, int how)
{
	unsigned char peek[5000];
	ssize_t peeked = 0;
	struct collect c[3];
	pthread_t th[3];
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src;
	struct bs_pump *p;
	char err[512];
	uint64_t got = 0;
	unsigned int i;
	size_t padded = (size_t)bs_round_up(size, 512);

	src = bs_source_open(path, 2, err, sizeof(err));
	REQUIRE(src);
	if (how & PUMP_PEEK) {
		peeked = bs_source_read_full(src, peek, sizeof(peek));
		REQUIRE(peeked > 0);
		cfg.peek = peek;
		cfg.peek_len = (size_t)peeked;
	}
	cfg.src = src;
	cfg.align = 512;
	cfg.nsinks = nsinks;
	cfg.map = how & PUMP_MAP;
	p = bs_pump_start(&cfg, err, sizeof(err));
	REQUIRE(p);
	for (i = 0; i < nsinks; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].p = p;
		c[i].sink = i;
		c[i].cap = padded + BS_PUMP_CHUNK;
		c[i].out = malloc(c[i].cap);
		REQUIRE(c[i].out);
		memset(c[i].out, 0xAA, c[i].cap);
		c[i].drop_after = i == 1 ? drop_after : 0;
		REQUIRE(pthread_create(&th[i], NULL, collector, &c[i]) == 0);
	}
	for (i = 0; i < nsinks; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ_INT(bs_pump_join(p, &got), 0);
	CHECK_EQ_INT(got, size);
	for (i = 0; i < nsinks; i++) {
		size_t k;
		bool pad_ok = true;

		if (c[i].result == 2)
			continue;
		CHECK_EQ_INT(c[i].result, 0);
		CHECK_EQ_INT(c[i].bad_align, 0);
		CHECK_EQ_INT(c[i].end, padded);
		CHECK(memcmp(c[i].out, want, size) == 0);
		for (k = size; k < padded; k++)
			pad_ok &= c[i].out[k] == 0;
		CHECK(pad_ok);
		/* mapped: every whole chunk of a raw file, never another */
		if ((how & PUMP_MAP) && bs_source_format(src) == BS_FMT_RAW)
			CHECK_EQ_INT(c[i].mapped, size / BS_PUMP_CHUNK);
		else
			CHECK_EQ_INT(c[i].mapped, 0);
		if (c[i].result || c[i].end != padded)
			fprintf(stderr, "  pump case %s size %zu sinks %u sink %u\n", path, size,
				nsinks, i);
	}
	for (i = 0; i < nsinks; i++)
		free(c[i].out);
	bs_pump_free(p);
	bs_source_close(src);
}

static void test_pump(void)
{
	static const size_t sizes[] = {
		1,
		511,
		512,
		513,
		4095,
		4096,
		4097,
		(1 << 20) + 1234,
		BS_PUMP_CHUNK - 512,
		BS_PUMP_CHUNK - 1,
		BS_PUMP_CHUNK,
		BS_PUMP_CHUNK + 1,
		BS_PUMP_CHUNK + 512,
		2 * BS_PUMP_CHUNK - 1,
		(size_t)BS_PUMP_CHUNK * (BS_PUMP_SLOTS + 1) + 77,
	};
	size_t max = (size_t)BS_PUMP_CHUNK * (BS_PUMP_SLOTS + 1) + 77;
	unsigned char *img = malloc(max);
	char path[256];
	size_t i;

	REQUIRE(img);
	fill(img, max, 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(path, sizeof(path), "%s/p.img", dir);
		write_file(path, img, sizes[i]);
		for (int how = 0; how < 4; how++) {
			pump_case(path, img, sizes[i], 1, 0, how);
			pump_case(path, img, sizes[i], 3, 0, how);
			if (sizes[i] > BS_PUMP_CHUNK) /* sink 1 drops after one chunk */
				pump_case(path, img, sizes[i], 3, 1, how);
		}
	}
	/* compressed: 1 MiB + 1234 and just over two chunks, through xz */
	for (i = 0; i < 2; i++) {
		size_t sz = i ? 2 * (size_t)BS_PUMP_CHUNK + 3 : (1 << 20) + 1234;

		snprintf(path, sizeof(path), "%s/p.img", dir);
		write_file(path, img, sz);
		REQUIRE(run("xz -T2 -1 -f -k %s", path) == 0);
		snprintf(path, sizeof(path), "%s/p.img.xz", dir);
		pump_case(path, img, sz, 2, 0, PUMP_MAP | PUMP_PEEK); /* no mapping: xz */
	}
	free(img);
}

/* A truncated xz image must fail the pump as an image error, never end cleanly. */
static void test_pump_corrupt(void)
{
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src;
	struct bs_pump *p;
	struct bs_chunk ch;
	unsigned char *img = malloc(3 << 20);
	char path[256], err[512];
	int r;

	REQUIRE(img);
	fill(img, 3 << 20, 9);
	snprintf(path, sizeof(path), "%s/c.img", dir);
	write_file(path, img, 3 << 20);
	REQUIRE(run("xz -0 -f %s && truncate -s -100 %s.xz", path, path) == 0);
	snprintf(path, sizeof(path), "%s/c.img.xz", dir);
	src = bs_source_open(path, 1, err, sizeof(err));
	if (!src) {
		/* refusing it up front (the xz index is missing) is as good */
		CHECK(strstr(err, "c.img.xz") != NULL);
		free(img);
		return;
	}
	cfg.src = src;
	cfg.align = 512;
	cfg.nsinks = 1;
	p = bs_pump_start(&cfg, err, sizeof(err));
	REQUIRE(p);
	while ((r = bs_pump_next(p, 0, &ch)) > 0)
		bs_pump_release(p, 0);
	CHECK_EQ_INT(r, -1);
	CHECK_EQ_INT(bs_pump_join(p, NULL), -1);
	CHECK(bs_pump_image_failed(p));
	bs_pump_free(p);
	bs_source_close(src);
	free(img);
}

/* --sha256 mismatch is an image failure; a match passes. */
static void test_pump_sha(void)
{
	static const unsigned char empty_sha[32] = {0xe3, 0xb0, 0xc4, 0x42};
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src;
	struct bs_pump *p;
	struct bs_chunk ch;
	unsigned char sha[32];
	char path[128], err[512], hex[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/s.img", dir);
	REQUIRE(run("head -c 100000 /dev/urandom > %s", path) == 0);
	REQUIRE(run("sha256sum %s | cut -c1-64 > %s.sha", path, path) == 0);
	snprintf(hex, sizeof(hex), "%s.sha", path);
	f = fopen(hex, "r");
	REQUIRE(f && fgets(hex, sizeof(hex), f));
	fclose(f);
	hex[64] = '\0';
	REQUIRE(bs_parse_sha256(hex, sha) == 0);
	for (int pass = 0; pass < 2; pass++) {
		src = bs_source_open(path, 1, err, sizeof(err));
		REQUIRE(src);
		cfg.src = src;
		cfg.align = 4096;
		cfg.nsinks = 1;
		cfg.sha256 = pass ? empty_sha : sha;
		p = bs_pump_start(&cfg, err, sizeof(err));
		REQUIRE(p);
		while (bs_pump_next(p, 0, &ch) > 0) {
			CHECK_EQ_INT(ch.len % 4096, 0);
			bs_pump_release(p, 0);
		}
		CHECK_EQ_INT(bs_pump_join(p, NULL), pass ? -1 : 0);
		if (pass) {
			/* expected and actual, both named */
			CHECK(strstr(bs_pump_error(p), "SHA-256") != NULL);
			CHECK(strstr(bs_pump_error(p), hex) != NULL);
			CHECK(strstr(bs_pump_error(p), "expected e3b0c442000000") != NULL);
		}
		bs_pump_free(p);
		bs_source_close(src);
	}
}

/*
 * bmap: only mapped ranges (rounded out to the alignment) are delivered,
 * each range's checksum is checked as it is read; a changed byte in a
 * mapped range fails the pump as an image error.
 */
static void test_pump_bmap(void)
{
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src;
	struct bs_pump *p;
	struct bs_bmap b;
	struct bs_chunk ch;
	char path[128], bpath[160], err[512];
	uint64_t delivered, mapped_seen;
	size_t nmapped;
	int pass, fd;

	snprintf(path, sizeof(path), "%s/sparse.img", dir);
	snprintf(bpath, sizeof(bpath), "%s/sparse.bmap", dir);
	REQUIRE(run("truncate -s 9M %s && head -c 1234567 /dev/urandom | dd of=%s bs=4096 seek=100 "
		    "conv=notrunc status=none && "
		    "head -c 5000 /dev/urandom | dd of=%s bs=1M seek=7 conv=notrunc status=none && "
		    "printf end >> %s && bmaptool create -o %s %s 2>/dev/null",
		    path, path, path, path, bpath, path) == 0);
	REQUIRE(bs_bmap_load(bpath, &b, err, sizeof(err)) == 0);
	CHECK(b.nr_ranges >= 2);
	CHECK_EQ_INT(b.image_size, 9 * 1024 * 1024 + 3);
	fd = open(path, O_RDWR);
	REQUIRE(fd >= 0);
	/*
	 * 0: checked; 1: checked, a byte of the first range changed; 2: unchecked
	 * (all mapped); 3: checked, the first range restored and a byte of the
	 * second changed (the ranges are checked by two threads, alternately).
	 */
	for (pass = 0; pass < 4; pass++) {
		static unsigned char saved;

		if (pass == 1) {
			REQUIRE(pread(fd, &saved, 1, 100 * 4096 + 777) == 1);
			REQUIRE(pwrite(fd, saved == 'Z' ? "Y" : "Z", 1, 100 * 4096 + 777) == 1);
		}
		if (pass == 3) {
			unsigned char c;

			REQUIRE(pwrite(fd, &saved, 1, 100 * 4096 + 777) == 1);
			REQUIRE(pread(fd, &c, 1, 7 * 1024 * 1024 + 10) == 1);
			c ^= 0x55;
			REQUIRE(pwrite(fd, &c, 1, 7 * 1024 * 1024 + 10) == 1);
		}
		src = bs_source_open(path, 1, err, sizeof(err));
		REQUIRE(src);
		cfg.src = src;
		cfg.bmap = &b;
		cfg.check_bmap = pass != 2;
		cfg.map = true; /* only taken when no checksum reads the bytes */
		cfg.align = 4096;
		cfg.nsinks = 1;
		p = bs_pump_start(&cfg, err, sizeof(err));
		REQUIRE(p);
		CHECK_EQ_INT(bs_pump_total(p), bs_pump_plan_bytes(&b, 0, 4096));
		delivered = mapped_seen = 0;
		nmapped = 0;
		while (bs_pump_next(p, 0, &ch) > 0) {
			size_t i;

			CHECK_EQ_INT(ch.off % 4096, 0);
			CHECK_EQ_INT(ch.len % 4096, 0);
			/* every delivered chunk overlaps a mapped range */
			for (i = 0; i < b.nr_ranges; i++)
				if (ch.off < (b.ranges[i].last + 1) * b.block_size &&
				    ch.off + ch.len > b.ranges[i].first * b.block_size)
					break;
			CHECK(i < b.nr_ranges);
			if (ch.mapped) {
				unsigned char *f = malloc(ch.len);

				REQUIRE(f);
				CHECK_EQ_INT(pread(fd, f, ch.len, (off_t)ch.off), ch.len);
				CHECK(memcmp(f, ch.buf, ch.len) == 0);
				free(f);
				nmapped++;
			}
			delivered += ch.len;
			mapped_seen += ch.data_len;
			bs_pump_release(p, 0);
		}
		if (pass == 0 || pass == 2) {
			CHECK_EQ_INT(bs_pump_join(p, NULL), 0);
			CHECK_EQ_INT(delivered, bs_pump_plan_bytes(&b, 0, 4096));
			CHECK(delivered < b.image_size);
			CHECK(nmapped > 0); /* checksums are taken from the mapping too */
		} else {
			CHECK_EQ_INT(bs_pump_join(p, NULL), -1);
			CHECK(bs_pump_image_failed(p));
			CHECK(strstr(bs_pump_error(p), "bmap checksum mismatch") != NULL);
			/* the range with the changed byte, whichever thread checked it */
			CHECK(strstr(bs_pump_error(p),
				     pass == 1 ? "blocks 100-" : "blocks 1792-") != NULL);
		}
		bs_pump_free(p);
		bs_source_close(src);
	}
	close(fd);
	bs_bmap_free(&b);
}

/*
 * The image file is cut short while the pump maps and hashes it: the pump
 * fails as an image error naming the cause, the process survives SIGBUS.
 */
static void test_pump_shrink(void)
{
	static const unsigned char zero_sha[32];
	size_t size = 6 * (size_t)BS_PUMP_CHUNK;
	unsigned char *img = malloc(size);
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src;
	struct bs_pump *p;
	struct bs_chunk ch;
	char path[128], err[512];
	int r, i;

	REQUIRE(img);
	fill(img, size, 11);
	snprintf(path, sizeof(path), "%s/shrink.img", dir);
	write_file(path, img, size);
	src = bs_source_open(path, 1, err, sizeof(err));
	REQUIRE(src);
	cfg.src = src;
	cfg.align = 4096;
	cfg.nsinks = 1;
	cfg.map = true;
	cfg.sha256 = zero_sha; /* hashed from the mapping; never reached */
	p = bs_pump_start(&cfg, err, sizeof(err));
	REQUIRE(p);
	/* the ring is full (and hashed) before the file shrinks */
	for (i = 0; i < 500 && bs_pump_image_pos(p) < BS_PUMP_SLOTS * (uint64_t)BS_PUMP_CHUNK; i++)
		usleep(10000);
	CHECK_EQ_INT(bs_pump_image_pos(p), BS_PUMP_SLOTS * (uint64_t)BS_PUMP_CHUNK);
	REQUIRE(truncate(path, BS_PUMP_CHUNK) == 0);
	while ((r = bs_pump_next(p, 0, &ch)) > 0)
		bs_pump_release(p, 0);
	CHECK_EQ_INT(r, -1);
	CHECK_EQ_INT(bs_pump_join(p, NULL), -1);
	CHECK(bs_pump_image_failed(p));
	CHECK(strstr(bs_pump_error(p), "shrank while it was read") != NULL);
	bs_pump_free(p);
	bs_source_close(src);
	free(img);
}

/* ---- verify ----------------------------------------------------------------- */

/* A mapping whose file shrank: the compare fails instead of the process. */
static void test_mapguard(void)
{
	unsigned char buf[8192];
	char path[128];
	void *m;
	int fd, res = 1;

	memset(buf, 5, sizeof(buf));
	snprintf(path, sizeof(path), "%s/g.img", dir);
	write_file(path, buf, sizeof(buf));
	fd = open(path, O_RDWR);
	REQUIRE(fd >= 0);
	m = mmap(NULL, sizeof(buf), PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(m != MAP_FAILED);
	CHECK_EQ_INT(bs_map_memcmp(m, buf, sizeof(buf), &res), 0);
	CHECK_EQ_INT(res, 0);
	REQUIRE(ftruncate(fd, 0) == 0);
	CHECK_EQ_INT(bs_map_memcmp(buf, m, sizeof(buf), &res), -1);
	/* and again: the guard is re-armed after a fault */
	CHECK_EQ_INT(bs_map_memcmp(buf, m, sizeof(buf), &res), -1);
	munmap(m, sizeof(buf));
	close(fd);
}

static void test_verify(void)
{
	static const size_t sizes[] = {(1 << 20) + 1234, BS_PUMP_CHUNK + 1};
	struct bs_verify_target vt;
	struct bs_ptarget pt;
	struct bs_progress p;
	unsigned char *img = malloc(BS_PUMP_CHUNK + 1);
	char ipath[64], dpath[64];
	size_t i;
	FILE *f;

	REQUIRE(img);
	fill(img, BS_PUMP_CHUNK + 1, 3);
	snprintf(ipath, sizeof(ipath), "%s/v.img", dir);
	snprintf(dpath, sizeof(dpath), "%s/v.dev", dir);
	for (i = 0; i < 2; i++) {
		size_t bad = sizes[i] - 1; /* the very last image byte */

		write_file(ipath, img, sizes[i]);
		write_file(dpath, img, sizes[i]);
		/* padding after the image on the "device" is not compared */
		REQUIRE(run("printf 'XYZ' >> %s", dpath) == 0);
		memset(&pt, 0, sizeof(pt));
		memset(&vt, 0, sizeof(vt));
		snprintf(pt.path, sizeof(pt.path), "%s", dpath);
		vt.pt = &pt;
		bs_progress_init(&p, BS_PROGRESS_JSON, &pt, 1);
		CHECK_EQ_INT(bs_verify_targets(&p, ipath, 1, NULL, &vt, 1), BS_EXIT_OK);
		CHECK_EQ_INT(vt.mismatch, BS_VERIFY_NONE);
		CHECK_EQ_INT(atomic_load(&pt.done), sizes[i]);

		f = fopen(dpath, "r+b");
		REQUIRE(f);
		fseek(f, (long)bad, SEEK_SET);
		fputc(img[bad] ^ 0x40, f);
		fclose(f);
		memset(&pt, 0, sizeof(pt));
		snprintf(pt.path, sizeof(pt.path), "%s", dpath);
		bs_progress_init(&p, BS_PROGRESS_JSON, &pt, 1);
		CHECK_EQ_INT(bs_verify_targets(&p, ipath, 1, NULL, &vt, 1), BS_EXIT_VERIFY);
		CHECK_EQ_INT(vt.mismatch, bad);
		CHECK(strstr(pt.error, "differs") != NULL);
	}
	/* a "device" shorter than the image */
	REQUIRE(run("truncate -s 4096 %s", dpath) == 0);
	memset(&pt, 0, sizeof(pt));
	snprintf(pt.path, sizeof(pt.path), "%s", dpath);
	vt.pt = &pt;
	bs_progress_init(&p, BS_PROGRESS_JSON, &pt, 1);
	CHECK_EQ_INT(bs_verify_targets(&p, ipath, 1, NULL, &vt, 1), BS_EXIT_VERIFY);
	CHECK_EQ_INT(vt.mismatch, 4096);
	free(img);
}

/* ---- progress formatting and exit codes ---------------------------------------- */

/* @fn(@v) into b[] reads @want. */
#define CHECK_FMT(fn, v, want)                                                                     \
	do {                                                                                       \
		fn(v, b, sizeof(b));                                                               \
		CHECK_EQ_STR(b, want);                                                             \
	} while (0)

static void test_format(void)
{
	char b[256];

	CHECK_FMT(bs_fmt_bytes, 999, "999 B");
	CHECK_FMT(bs_fmt_bytes, 1234567, "1.2 MB");
	CHECK_FMT(bs_fmt_bytes, 64ULL << 30, "68.7 GB");
	CHECK_FMT(bs_fmt_rate, 21300000.0, "21.3 MB/s");
	CHECK_FMT(bs_fmt_rate, -5, "0.0 MB/s");
	CHECK_FMT(bs_fmt_eta, 42, "0:42");
	CHECK_FMT(bs_fmt_eta, 3723, "1:02:03");
	CHECK_FMT(bs_fmt_eta, -1, "--:--");
	CHECK_FMT(bs_fmt_eta, 1e12, "--:--");
	bs_fmt_bar(b, sizeof(b), "/dev/sdb", BS_PH_WRITING, 0.5, 0, 20e6, 30, 10);
	CHECK_EQ_STR(b, "/dev/sdb         writing    50% [#####.....]  20.0 MB/s ETA 0:30");
	bs_fmt_bar(b, sizeof(b), "/dev/sdb", BS_PH_WRITING, 1.7, 0, 0, 0, 4);
	CHECK(strstr(b, "100% [####]") != NULL);
	bs_fmt_bar(b, sizeof(b), "/dev/sdb", BS_PH_DONE, 1, 0, 0, -1, 4);
	CHECK_EQ_STR(b, "/dev/sdb         done      100% [####]");
	bs_fmt_bar(b, sizeof(b), "/dev/sdc", BS_PH_VERIFYING, -1, 5000000, 1e6, -1, 10);
	CHECK_EQ_STR(b, "/dev/sdc         verifying     5.0 MB   1.0 MB/s");
	bs_fmt_bar(b, sizeof(b), "x", BS_PH_WRITING, 0.25, 0, 0, 0, 1000); /* width clamped */
	CHECK(strlen(b) < 120);
	CHECK_EQ_STR(bs_phase_name(BS_PH_SEALING), "sealing");
	CHECK_EQ_STR(bs_phase_name(99), "unknown");

	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_OK, BS_EXIT_VERIFY), BS_EXIT_VERIFY);
	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_WRITE, BS_EXIT_VERIFY), BS_EXIT_WRITE);
	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_WRITE, BS_EXIT_DEVICE), BS_EXIT_DEVICE);
	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_IMAGE, BS_EXIT_DEVICE), BS_EXIT_IMAGE);
	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_IMAGE, BS_EXIT_USAGE), BS_EXIT_USAGE);
	CHECK_EQ_INT(bs_exit_worst(BS_EXIT_FAILURE, BS_EXIT_OK), BS_EXIT_FAILURE);

	CHECK_EQ_INT(bs_pump_plan_bytes(NULL, (1 << 20) + 1234, 512), (1 << 20) + 1536);
	CHECK_EQ_INT(bs_pump_plan_bytes(NULL, (1 << 20) + 1234, 4096), (1 << 20) + 4096);
	CHECK_EQ_INT(bs_pump_plan_bytes(NULL, -1, 512), 0);
}

/* ---- not an image: refused before any device is touched ------------------------ */

/* Run bs_flash_run() with stderr captured into @err. */
static int flash_capture(const struct bs_flash_opts *o, const char *image, const char *target,
			 char *err, size_t errlen)
{
	char path[128];
	char *targets[1] = {(char *)target};
	int fd, se, rc;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	fflush(stderr);
	se = dup(2);
	REQUIRE(se >= 0);
	dup2(fd, 2);
	rc = bs_flash_run(o, image, targets, 1);
	fflush(stderr);
	dup2(se, 2);
	close(se);
	n = pread(fd, err, errlen - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void test_not_an_image(void)
{
	static const char html[] = "<html><body>404 Not Found</body></html>\n";
	unsigned char rnd[3072], *img;
	struct bs_flash_opts o;
	char path[160], why[256], err[4096], target[160];
	bool is_html;

	CHECK_EQ_INT(sizeof(html) - 1, 40);
	fill(rnd, sizeof(rnd), 77);
	CHECK_EQ_INT(bs_format_from_name("os.img.gz"), BS_FMT_GZIP);
	CHECK_EQ_INT(bs_format_from_name("OS.IMG.XZ"), BS_FMT_XZ);
	CHECK_EQ_INT(bs_format_from_name("a.zst"), BS_FMT_ZSTD);
	CHECK_EQ_INT(bs_format_from_name("a.img"), BS_FMT_RAW);
	CHECK_EQ_INT(bs_format_from_name("-"), BS_FMT_RAW);
	CHECK(bs_looks_like_text((const unsigned char *)html, 40, &is_html) && is_html);
	CHECK(!bs_looks_like_text(rnd, sizeof(rnd), &is_html) && !is_html);

	/* the verdicts */
	CHECK_EQ_INT(bs_image_check("os.img.gz", BS_FMT_RAW, (const unsigned char *)html, 40, false,
				    why, sizeof(why)),
		     BS_IMG_SUFFIX);
	CHECK(strstr(why, "named like a gzip file") && strstr(why, "HTML"));
	CHECK_EQ_INT(
		bs_image_check("os.img.gz", BS_FMT_RAW, rnd, sizeof(rnd), false, why, sizeof(why)),
		BS_IMG_SUFFIX);
	CHECK_EQ_INT(
		bs_image_check("os.img", BS_FMT_RAW, rnd, sizeof(rnd), false, why, sizeof(why)),
		BS_IMG_UNKNOWN);
	CHECK(strstr(why, "neither a partition table nor a file system") != NULL);
	CHECK_EQ_INT(bs_image_check("-", BS_FMT_RAW, (const unsigned char *)html, 40, false, why,
				    sizeof(why)),
		     BS_IMG_TEXT);
	CHECK_EQ_INT(bs_image_check("os.img.xz", BS_FMT_XZ, (const unsigned char *)"hello\n", 6,
				    false, why, sizeof(why)),
		     BS_IMG_TEXT);
	CHECK_EQ_INT(bs_image_check("os.img", BS_FMT_RAW, rnd, sizeof(rnd), true, why, sizeof(why)),
		     BS_IMG_OK);
	/* a file system without a partition table is an image */
	img = calloc(1, 1 << 20);
	REQUIRE(img);
	memcpy(img, "\xeb\x58\x90mkfs.fat", 11);
	memcpy(img + 82, "FAT32   ", 8);
	img[510] = 0x55;
	img[511] = 0xaa;
	CHECK_EQ_STR(bs_fs_signature(img, 1 << 20), "FAT32");
	CHECK_EQ_INT(
		bs_image_check("fs.img.gz", BS_FMT_GZIP, img, 1 << 20, false, why, sizeof(why)),
		BS_IMG_OK);
	memset(img, 0, 1 << 20);
	img[1024 + 56] = 0x53;
	img[1024 + 57] = 0xef;
	img[1024 + 24] = 2;
	CHECK_EQ_STR(bs_fs_signature(img, 1 << 20), "ext2/3/4");
	img[1024 + 24] = 200;
	CHECK(bs_fs_signature(img, 1 << 20) == NULL);
	memset(img, 0, 1 << 20);
	memcpy(img + 32769, "CD001", 5);
	CHECK_EQ_STR(bs_fs_signature(img, 1 << 20), "ISO 9660");
	CHECK(bs_fs_signature(img, 4096) == NULL);
	free(img);

	/* bs_flash_run refuses with exit 3 before looking at the target */
	snprintf(target, sizeof(target), "%s/no-such-target", dir);
	snprintf(path, sizeof(path), "%s/os.img.gz", dir);
	write_file(path, html, 40);
	memset(&o, 0, sizeof(o));
	o.yes = true;
	CHECK_EQ_INT(flash_capture(&o, path, target, err, sizeof(err)), BS_EXIT_IMAGE);
	CHECK(strstr(err, "named like a gzip file") && strstr(err, "no device was touched") &&
	      strstr(err, "--force-raw"));
	snprintf(path, sizeof(path), "%s/rnd.img.gz", dir);
	write_file(path, rnd, sizeof(rnd));
	CHECK_EQ_INT(flash_capture(&o, path, target, err, sizeof(err)), BS_EXIT_IMAGE);
	snprintf(path, sizeof(path), "%s/rnd.img", dir);
	write_file(path, rnd, sizeof(rnd));
	CHECK_EQ_INT(flash_capture(&o, path, target, err, sizeof(err)), BS_EXIT_IMAGE);
	CHECK(strstr(err, "neither a partition table") != NULL);
	/* --force-raw: on to the target (which does not exist) */
	o.force_raw = true;
	CHECK_EQ_INT(flash_capture(&o, path, target, err, sizeof(err)), BS_EXIT_DEVICE);
	CHECK(strstr(err, "--force-raw") != NULL);
	snprintf(path, sizeof(path), "%s/os.img.gz", dir);
	CHECK_EQ_INT(flash_capture(&o, path, target, err, sizeof(err)), BS_EXIT_DEVICE);
}

/* ---- the confirmation prompt -------------------------------------------------- */

static void test_prompt(void)
{
	struct bs_drive d1, d2;
	const struct bs_drive *d[2] = {&d1, &d2};
	char outbuf[2048];
	FILE *in, *out;
	bool ok;

	CHECK(bs_confirm_answer("y\n"));
	CHECK(bs_confirm_answer("Y\n"));
	CHECK(bs_confirm_answer("yes\n"));
	CHECK(bs_confirm_answer("  YES \r\n"));
	CHECK(!bs_confirm_answer("\n"));
	CHECK(!bs_confirm_answer("n\n"));
	CHECK(!bs_confirm_answer("no\n"));
	CHECK(!bs_confirm_answer("yes please\n"));
	CHECK(!bs_confirm_answer("yess\n"));

	memset(&d1, 0, sizeof(d1));
	memset(&d2, 0, sizeof(d2));
	snprintf(d1.path, sizeof(d1.path), "/dev/sdb");
	d1.size = 31914983424ULL;
	snprintf(d1.model, sizeof(d1.model), "SanDisk Ultra");
	snprintf(d1.transport, sizeof(d1.transport), "usb");
	snprintf(d2.path, sizeof(d2.path), "/dev/mmcblk0");
	d2.size = 7948206080ULL;

	in = fmemopen((char *)"y\n", 2, "r");
	out = fmemopen(outbuf, sizeof(outbuf), "w");
	REQUIRE(in && out);
	ok = bs_flash_prompt(in, out, "raspios.img.xz", "xz", 2147483648LL, 512000000LL, d, 2);
	fclose(in);
	fclose(out);
	CHECK(ok);
	CHECK(strstr(outbuf, "about to write raspios.img.xz (xz, 2.1 GB, 512.0 MB file)") != NULL);
	CHECK(strstr(outbuf, "/dev/sdb") && strstr(outbuf, "31.9 GB") &&
	      strstr(outbuf, "SanDisk Ultra (usb)"));
	CHECK(strstr(outbuf, "/dev/mmcblk0") && strstr(outbuf, "7.9 GB"));
	CHECK(strstr(outbuf, "Continue? [y/N]") != NULL);

	in = fmemopen((char *)"nope\n", 5, "r");
	out = fmemopen(outbuf, sizeof(outbuf), "w");
	REQUIRE(in && out);
	CHECK(!bs_flash_prompt(in, out, "os.img", "raw", -1, 100, d, 1));
	fclose(in);
	fclose(out);
	CHECK(strstr(outbuf, "(raw, size unknown)") != NULL);
	in = fmemopen((char *)"", 1, "r");
	out = fmemopen(outbuf, sizeof(outbuf), "w");
	REQUIRE(in && out);
	fgetc(in); /* at the end: no answer at all */
	CHECK(!bs_flash_prompt(in, out, "os.img", "raw", 4096, 4096, d, 1));
	fclose(in);
	fclose(out);
}

/* ---- interrupted before anything is written ---------------------------------- */

struct feeder {
	char path[160];
	int sig;
};

/* Open the FIFO, send the signal while the helper waits for the image, then feed it. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	unsigned char img[4096];
	int fd = open(f->path, O_WRONLY);

	if (fd < 0)
		return NULL;
	usleep(200000);
	kill(getpid(), f->sig);
	usleep(100000);
	fill(img, sizeof(img), 5);
	if (write(fd, img, sizeof(img)) != (ssize_t)sizeof(img))
		perror("write");
	close(fd);
	return NULL;
}

static void test_interrupted(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct bs_flash_opts o;
	struct feeder f;
	struct sigaction sa;
	char err[4096], target[160];
	pthread_t th;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.yes = true;
	o.force_raw = true;
	snprintf(target, sizeof(target), "%s/no-such-target", dir);
	snprintf(f.path, sizeof(f.path), "%s/fifo", dir);
	REQUIRE(mkfifo(f.path, 0600) == 0);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		f.sig = sigs[i];
		REQUIRE(pthread_create(&th, NULL, feed, &f) == 0);
		CHECK_EQ_INT(flash_capture(&o, f.path, target, err, sizeof(err)), 128 + sigs[i]);
		pthread_join(th, NULL);
		CHECK(strstr(err, "interrupted by SIG") && strstr(err, "nothing was written"));
		/* the default disposition is back */
		REQUIRE(sigaction(sigs[i], NULL, &sa) == 0);
		CHECK(sa.sa_handler == SIG_DFL);
	}
	unlink(f.path);
}

/* ---- rate, ETA and plain progress lines ----------------------------------------- */

static void test_rate_eta(void)
{
	const double mib = 1024 * 1024;
	struct bs_ptarget t;
	double now, lo = 1e18, hi = 0;
	char b[256];

	/*
	 * A device at a steady 8 MiB/s whose progress arrives in bursts: 4 MiB
	 * every 0.5 s, sampled every 20 ms like the main loop does.
	 */
	memset(&t, 0, sizeof(t));
	bs_progress_phase(&t, BS_PH_WRITING, 400 * (uint64_t)mib);
	atomic_store(&t.verify_next, true);
	t.phase_t0 = 0;
	bs_rate_reset(&t, 0);
	for (now = 0.02; now < 30; now += 0.02) {
		bs_progress_set_done(&t, (uint64_t)(now / 0.5) * 4 * (uint64_t)mib);
		bs_rate_sample(&t, now);
		if (now >= 6) {
			if (t.rate < lo)
				lo = t.rate;
			if (t.rate > hi)
				hi = t.rate;
		}
	}
	CHECK(lo > 7.0 * mib && hi < 9.0 * mib);
	/* the whole job: 160 MiB of writing left, then 400 MiB to verify */
	atomic_store(&t.done, 240 * (uint64_t)mib);
	t.rate = 8 * mib;
	CHECK(fabs(bs_job_eta(&t, BS_PH_WRITING, 0.6, 30) - (160 + 400) / 8.0) < 0.01);
	atomic_store(&t.verify_next, false);
	CHECK(fabs(bs_job_eta(&t, BS_PH_WRITING, 0.6, 30) - 160 / 8.0) < 0.01);
	CHECK(fabs(bs_job_eta(&t, BS_PH_VERIFYING, 0.6, 30) - 160 / 8.0) < 0.01);
	CHECK(bs_job_eta(&t, BS_PH_SEALED, 1, 30) < 0);
	/* unknown total: from the fraction, plus a verify pass as long as the write */
	atomic_store(&t.total, 0);
	atomic_store(&t.verify_next, true);
	t.phase_t0 = 0;
	CHECK(fabs(bs_job_eta(&t, BS_PH_WRITING, 0.25, 10) - (30 + 40)) < 0.01);
	/* a new phase starts the window again */
	bs_progress_phase(&t, BS_PH_VERIFYING, 400 * (uint64_t)mib);
	bs_rate_sample(&t, 31);
	CHECK(t.rate == 0);

	setenv("TZ", "UTC", 1);
	tzset();
	bs_fmt_plain(b, sizeof(b), 3723, "/dev/sdb", BS_PH_WRITING, 0.42, 210000000, 500000000,
		     8.4e6, 35);
	CHECK_EQ_STR(b, "01:02:03 /dev/sdb: writing 42% 210.0 MB of 500.0 MB, 8.4 MB/s, ETA 0:35");
	bs_fmt_plain(b, sizeof(b), 0, "/dev/sdc", BS_PH_VERIFYING, -1, 5000000, 0, 0, -1);
	CHECK_EQ_STR(b, "00:00:00 /dev/sdc: verifying 5.0 MB, -- MB/s, ETA --:--");
}

/* No terminal: a progress line per target at a steady interval, not only phases. */
static void test_plain_lines(void)
{
	struct bs_ptarget t[2];
	struct bs_progress p;
	char *buf = NULL, *s;
	size_t len = 0;
	int n = 0, k;
	double t0;
	FILE *f;

	memset(t, 0, sizeof(t));
	snprintf(t[0].path, sizeof(t[0].path), "/dev/sdb");
	snprintf(t[1].path, sizeof(t[1].path), "/dev/sdc");
	bs_progress_init(&p, BS_PROGRESS_PLAIN, t, 2);
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	p.out = f;
	p.plain_interval = 0.3;
	bs_progress_phase(&t[0], BS_PH_WRITING, 100000000);
	bs_progress_phase(&t[1], BS_PH_WRITING, 100000000);
	t0 = bs_now();
	for (k = 1; bs_now() - t0 < 1.5; k++) {
		bs_progress_set_done(&t[0], (uint64_t)k * 100000);
		bs_progress_set_done(&t[1], (uint64_t)k * 50000);
		bs_progress_tick(&p, 20);
	}
	fclose(f);
	for (s = buf; (s = strstr(s, "/dev/sdb: writing ")); s++)
		n++;
	CHECK(n >= 3 && n <= 6);
	CHECK(strstr(buf, "/dev/sdc: writing ") != NULL);
	CHECK(strstr(buf, "% ") && strstr(buf, " of 100.0 MB, ") && strstr(buf, "ETA "));
	free(buf);
}

/* ---- the SHA-256 people have: the download's or the image's, found next to it ---- */

static void sha_of(const char *path, char hex[65])
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	REQUIRE(p && fgets(hex, 65, p));
	pclose(p);
	hex[64] = '\0';
}

static void test_sha_download(void)
{
	char d[160], img[200], xz[200], hx[65], hi[65], path[300], err[8192], target[200];
	unsigned char *buf, out[32], want[32];
	struct bs_flash_opts o;
	FILE *f;

	snprintf(d, sizeof(d), "%s/shadir", dir);
	REQUIRE(mkdir(d, 0700) == 0);
	snprintf(img, sizeof(img), "%s/os.img", d);
	snprintf(xz, sizeof(xz), "%s/os.img.xz", d);
	snprintf(target, sizeof(target), "%s/no-such-target", dir);
	buf = calloc(1, 1 << 20);
	REQUIRE(buf);
	fill(buf + 4096, 65536, 9);
	buf[446 + 4] = 0x83; /* one Linux partition at 2048, 1024 sectors */
	buf[446 + 8 + 1] = 0x08;
	buf[446 + 12 + 1] = 0x04;
	buf[510] = 0x55;
	buf[511] = 0xaa;
	write_file(img, buf, 1 << 20);
	free(buf);
	REQUIRE(run("xz -T1 -0 -k %s", img) == 0);
	sha_of(img, hi);
	sha_of(xz, hx);

	/* found next to the image: SHA256SUMS names the download, or only the image */
	CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), 0);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", d);
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f, "%s  other.img\n%s *os.img\n", hx, hi);
	fclose(f);
	CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), 1);
	REQUIRE(bs_parse_sha256(hi, want) == 0);
	CHECK(!memcmp(out, want, 32)); /* the image's line, for want of the download's */
	CHECK(strstr(path, "SHA256SUMS") != NULL);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", d);
	f = fopen(path, "a");
	REQUIRE(f);
	fprintf(f, "%s  os.img.xz\n", hx);
	fclose(f);
	CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), 1);
	REQUIRE(bs_parse_sha256(hx, want) == 0);
	CHECK(!memcmp(out, want, 32)); /* the download's line wins */
	snprintf(path, sizeof(path), "%s.sha256", xz);
	write_file(path, "not a hash\n", 11);
	CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), -1);
	/* IMAGE.sha256 whose line names another file: refused, and said so */
	{
		char line[128];
		int n = snprintf(line, sizeof(line), "%s  other.img.xz\n", hx);

		snprintf(path, sizeof(path), "%s.sha256", xz);
		write_file(path, line, (size_t)n);
		CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), -1);
		CHECK(strstr(path, "another file, other.img.xz") != NULL);
		/* its own name, with a directory, is fine */
		n = snprintf(line, sizeof(line), "%s *dl/os.img.xz\n", hx);
		snprintf(path, sizeof(path), "%s.sha256", xz);
		write_file(path, line, (size_t)n);
		CHECK_EQ_INT(bs_sha256_find(xz, out, path, sizeof(path)), 1);
	}
	snprintf(path, sizeof(path), "%s.sha256", xz);
	unlink(path);
	/* hashing a file stops when asked to (a signal during the pre-check) */
	{
		_Atomic int stop = 0;
		char why[64];

		CHECK_EQ_INT(bs_sha256_file(xz, out, &stop, why, sizeof(why)), 0);
		CHECK(!memcmp(out, want, 32));
		stop = 2;
		CHECK_EQ_INT(bs_sha256_file(xz, out, &stop, why, sizeof(why)), -1);
		CHECK_EQ_STR(why, "interrupted");
	}

	/* the download's hash from SHA256SUMS: checked before any device is looked at */
	memset(&o, 0, sizeof(o));
	o.yes = true;
	CHECK_EQ_INT(flash_capture(&o, xz, target, err, sizeof(err)), BS_EXIT_DEVICE);
	CHECK(strstr(err, "SHA-256 of") && strstr(err, "matches") && strstr(err, hx));
	/* --sha256 of the download (what vendors publish) */
	o.sha256 = hx;
	CHECK_EQ_INT(flash_capture(&o, xz, target, err, sizeof(err)), BS_EXIT_DEVICE);
	CHECK(strstr(err, "matches") != NULL);
	/* --sha256 of the image: compared while writing, the file's own is named */
	o.sha256 = hi;
	CHECK_EQ_INT(flash_capture(&o, xz, target, err, sizeof(err)), BS_EXIT_DEVICE);
	CHECK(strstr(err, "comparing the expected") != NULL);
	/* a raw image whose hash is wrong: refused before the device, both named */
	snprintf(path, sizeof(path), "%s.sha256", img);
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f, "%s  os.img\n", hx);
	fclose(f);
	o.sha256 = NULL;
	CHECK_EQ_INT(flash_capture(&o, img, target, err, sizeof(err)), BS_EXIT_IMAGE);
	CHECK(strstr(err, hx) && strstr(err, hi) && strstr(err, "no device was touched"));
	/* --no-sha256: not looked for */
	o.no_sha256 = true;
	CHECK_EQ_INT(flash_capture(&o, img, target, err, sizeof(err)), BS_EXIT_DEVICE);
	run("rm -rf %s", d);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_options();
	test_head();
	test_head_agrees_with_inspect();
	test_format();
	test_pump();
	test_pump_corrupt();
	test_pump_sha();
	test_pump_bmap();
	test_pump_shrink();
	test_mapguard();
	test_verify();
	test_not_an_image();
	test_prompt();
	test_interrupted();
	test_rate_eta();
	test_plain_lines();
	test_sha_download();
	run("rm -rf %s", dir);
	return unit_done();
}
