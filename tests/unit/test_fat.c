// SPDX-License-Identifier: GPL-2.0
/*
 * FAT12/16/32 root directory reading on file systems made by mkfs.vfat and
 * filled by mcopy (long names included), then damaged: looping chains,
 * bad long-name checksums, garbage boot sectors.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fat.h"
#include "le.h"
#include "reader.h"
#include "unit.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

static char dir[] = "/tmp/bs-fat-XXXXXX";

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	REQUIRE(f);
	REQUIRE(!fseek(f, 0, SEEK_END));
	n = ftell(f);
	REQUIRE(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	REQUIRE(buf);
	REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int read_mem(const unsigned char *buf, size_t len, struct bs_fat **fs, char *err,
		    size_t errlen)
{
	struct bs_reader *r = bs_reader_mem(buf, len, "fat");
	int rc;

	REQUIRE(r);
	rc = bs_fat_read_root(r, 0, len, fs, err, errlen);
	bs_reader_close(r);
	return rc;
}

static bool has_finding(const struct bs_fat *fs, const char *text)
{
	size_t i;

	for (i = 0; i < fs->nfindings; i++)
		if (strstr(fs->findings[i].msg, text))
			return true;
	return false;
}

static void dump(const struct bs_fat *fs)
{
	size_t i;

	for (i = 0; i < fs->nentries; i++)
		fprintf(stderr, "  entry '%s' (%s) size %u cluster %u chain %d\n",
			fs->entries[i].name, fs->entries[i].short_name, fs->entries[i].size,
			fs->entries[i].cluster, fs->entries[i].chain_ok);
	for (i = 0; i < fs->nfindings; i++)
		fprintf(stderr, "  finding: %s\n", fs->findings[i].msg);
}

/* mkfs.vfat + mcopy: config.txt, a long name, a UTF-8 name, a 10 KiB file. */
static void make_fs(const char *img, const char *mkfs_opts, unsigned int kib, int nextra)
{
	int i;

	REQUIRE(!sh("rm -f %s && mkfs.vfat -C -n BOOTFS %s %s %u >/dev/null", img, mkfs_opts, img,
		    kib));
	REQUIRE(!sh("cd %s && printf 'arm_64bit=1\\n' > config.txt && "
		    "head -c 10240 /dev/urandom > big.bin && echo x > 'A very long file name for "
		    "testing.txt' && "
		    "echo y > 'Grüße aus Köln.txt' && : > empty.dat && "
		    "MTOOLS_SKIP_CHECK=1 mcopy -i %s config.txt big.bin 'A very long file name for "
		    "testing.txt' "
		    "'Grüße aus Köln.txt' empty.dat ::",
		    dir, img));
	for (i = 0; i < nextra; i++)
		REQUIRE(!sh("cd %s && MTOOLS_SKIP_CHECK=1 mcopy -i %s config.txt "
			    "::extra-file-number-%03d.txt",
			    dir, img, i));
}

static const struct bs_fat_dirent *check_listing(const struct bs_fat *fs, int nextra)
{
	const struct bs_fat_dirent *d;

	if (fs->nentries != (size_t)(5 + nextra) || fs->nfindings)
		dump(fs);
	CHECK_EQ_INT(fs->nentries, 5 + nextra);
	CHECK_EQ_INT(fs->nfindings, 0);
	d = bs_fat_find(fs, "config.txt");
	CHECK(d && d->size == 12 && d->chain_ok);
	d = bs_fat_find(fs, "A very long file name for testing.txt");
	CHECK(d && d->size == 2 && d->chain_ok);
	CHECK(d && strchr(d->short_name, '~'));
	d = bs_fat_find(fs, "Grüße aus Köln.txt");
	CHECK(d && d->size == 2);
	d = bs_fat_find(fs, "empty.dat");
	CHECK(d && d->size == 0 && d->chain_ok);
	if (nextra)
		CHECK(bs_fat_find(fs, "extra-file-number-000.txt") != NULL);
	d = bs_fat_find(fs, "big.bin");
	CHECK(d && d->size == 10240 && d->chain_ok);
	return d;
}

static void test_type(const char *name, const char *opts, unsigned int kib, unsigned int bits,
		      int nextra)
{
	char img[256], err[256];
	struct bs_fat *fs;
	const struct bs_fat_dirent *big;
	unsigned char *buf;
	size_t len;
	uint32_t fat_off, c;

	fprintf(stderr, "-- %s\n", name);
	snprintf(img, sizeof(img), "%s/%s.img", dir, name);
	make_fs(img, opts, kib, nextra);
	buf = slurp(img, &len);
	REQUIRE(read_mem(buf, len, &fs, err, sizeof(err)) == 0);
	CHECK_EQ_INT(fs->bits, bits);
	CHECK_EQ_STR(fs->label, "BOOTFS");
	big = check_listing(fs, nextra);
	REQUIRE(big);
	c = big->cluster;
	free(fs);

	/* make big.bin's chain loop: its 3rd cluster points back to its 2nd */
	fat_off = bs_le16(buf + 14) * bs_le16(buf + 11);
	if (bits == 32) {
		unsigned char *e = buf + fat_off + 4 * (c + 2);

		e[0] = (unsigned char)(c + 1);
		e[1] = (unsigned char)((c + 1) >> 8);
		e[2] = (unsigned char)((c + 1) >> 16);
		e[3] = 0;
	} else if (bits == 16) {
		unsigned char *e = buf + fat_off + 2 * (c + 2);

		e[0] = (unsigned char)(c + 1);
		e[1] = (unsigned char)((c + 1) >> 8);
	} else {
		/* FAT12: entry n at n*1.5 bytes */
		uint32_t n = c + 2, off = fat_off + n + n / 2, v = c + 1;

		if (n & 1) {
			buf[off] = (unsigned char)((buf[off] & 0x0f) | (v & 0x0f) << 4);
			buf[off + 1] = (unsigned char)(v >> 4);
		} else {
			buf[off] = (unsigned char)v;
			buf[off + 1] = (unsigned char)((buf[off + 1] & 0xf0) | (v >> 8 & 0x0f));
		}
	}
	REQUIRE(read_mem(buf, len, &fs, err, sizeof(err)) == 0);
	CHECK(has_finding(fs, "big.bin: cluster chain"));
	CHECK(!bs_fat_find(fs, "big.bin")->chain_ok);
	free(fs);

	if (bits == 32) {
		/* the root directory's own chain loops on itself */
		uint32_t root = buf[44] | buf[45] << 8;
		unsigned char *e = buf + fat_off + 4 * root;

		e[0] = (unsigned char)root;
		e[1] = (unsigned char)(root >> 8);
		e[2] = 0;
		e[3] = 0;
		REQUIRE(read_mem(buf, len, &fs, err, sizeof(err)) == 0);
		if (!has_finding(fs, "root directory's cluster chain"))
			dump(fs);
		CHECK(has_finding(fs, "root directory's cluster chain (from cluster 2) loops"));
		free(fs);
	}
	free(buf);
}

/* A long name whose checksum does not match its 8.3 entry is not used. */
static void test_bad_lfn(void)
{
	char img[256], err[256];
	struct bs_fat *fs;
	unsigned char *buf, *root;
	size_t len, i;

	snprintf(img, sizeof(img), "%s/fat16.img", dir);
	buf = slurp(img, &len);
	root = buf + (bs_le16(buf + 14) + buf[16] * bs_le16(buf + 22)) * 512;
	for (i = 0; i < 512 * 32; i += 32)
		if (root[i + 11] == 0x0f)
			root[i + 13] ^= 0xff;
	REQUIRE(read_mem(buf, len, &fs, err, sizeof(err)) == 0);
	CHECK(!bs_fat_find(fs, "A very long file name for testing.txt"));
	CHECK(bs_fat_find(fs, "AVERYL~1.TXT") != NULL);
	CHECK(bs_fat_find(fs, "config.txt") != NULL);
	free(fs);

	/* not FAT at all */
	memset(buf, 0, 512);
	CHECK_EQ_INT(read_mem(buf, len, &fs, err, sizeof(err)), 1);
	CHECK(fs == NULL);
	CHECK(strstr(err, "jump") != NULL);
	/* a BPB whose FATs fill the whole file system */
	buf[0] = 0xeb;
	buf[11] = 0;
	buf[12] = 2;
	buf[13] = 1;
	buf[14] = 1;
	buf[16] = 2;
	buf[19] = 100;
	buf[22] = 60;
	CHECK_EQ_INT(read_mem(buf, len, &fs, err, sizeof(err)), 1);
	CHECK(strstr(err, "fill the whole") != NULL);
	/* truncated data: the boot sector only */
	CHECK_EQ_INT(read_mem(buf, 100, &fs, err, sizeof(err)), 1);
	free(buf);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_type("fat12", "-F 12", 1024, 12, 0);
	test_type("fat16", "-F 16", 16384, 16, 40);
	test_type("fat32", "-F 32 -s 1", 40960, 32, 40);
	test_bad_lfn();
	sh("rm -rf %s", dir);
	return unit_done();
}
