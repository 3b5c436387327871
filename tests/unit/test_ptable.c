// SPDX-License-Identifier: GPL-2.0
/*
 * Partition table parsing: hand-built hostile MBR/EBR/GPT layouts in memory,
 * and real layouts built with sfdisk and parted (NOOBS with its EBR chain,
 * GPT), checked against what sfdisk itself reports.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ptable.h"
#include "reader.h"
#include "unit.h"
#include "noobs.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

#define SECTORS 16384 /* 8 MiB in-memory disks */
#define SS	512

static char dir[] = "/tmp/bs-ptable-XXXXXX";

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void entry(unsigned char *sector, int i, uint8_t boot, uint8_t type, uint32_t start,
		  uint32_t size)
{
	unsigned char *e = sector + 446 + 16 * i;

	e[0] = boot;
	e[4] = type;
	put32(e + 8, start);
	put32(e + 12, size);
	sector[510] = 0x55;
	sector[511] = 0xaa;
}

static struct bs_ptable *parse(const unsigned char *disk, size_t len)
{
	char err[256];
	struct bs_reader *r = bs_reader_mem(disk, len, "mem");
	struct bs_ptable *pt;

	REQUIRE(r);
	pt = bs_ptable_read(r, 0, err, sizeof(err));
	bs_reader_close(r);
	if (!pt)
		fprintf(stderr, "parse: %s\n", err);
	REQUIRE(pt);
	return pt;
}

static bool has_finding(const struct bs_ptable *pt, enum bs_severity sev, const char *text)
{
	size_t i;

	for (i = 0; i < pt->nfindings; i++)
		if (pt->findings[i].sev == sev && strstr(pt->findings[i].msg, text))
			return true;
	return false;
}

static void dump(const struct bs_ptable *pt)
{
	bs_ptable_print(pt, "mem", stderr);
}

static void test_primary(void)
{
	unsigned char *d = calloc(SECTORS, SS);
	struct bs_ptable *pt;

	put32(d + 440, 0xdeadbeef);
	entry(d, 0, 0x80, 0x0c, 2048, 4096);
	entry(d, 2, 0x00, 0x83, 8192, 8192);
	pt = parse(d, SECTORS * SS);
	CHECK_EQ_INT(pt->label, BS_PT_DOS);
	CHECK_EQ_INT(pt->mbr_id, 0xdeadbeef);
	CHECK_EQ_INT(pt->disk_sectors, SECTORS);
	REQUIRE(pt->nparts == 2);
	CHECK_EQ_INT(pt->parts[0].num, 1);
	CHECK(pt->parts[0].boot);
	CHECK_EQ_INT(pt->parts[0].type, 0x0c);
	CHECK_EQ_STR(bs_mbr_type_name(pt->parts[0].type), "W95 FAT32 (LBA)");
	CHECK_EQ_INT(pt->parts[1].num, 3);
	CHECK_EQ_INT(pt->parts[1].start, 8192);
	CHECK_EQ_INT(pt->parts[1].size, 8192);
	CHECK_EQ_INT(pt->nfindings, 0);
	CHECK(bs_ptable_valid(pt));
	CHECK(bs_ptable_why_invalid(pt) == NULL);
	free(pt);

	/* overlap and past the end */
	entry(d, 1, 0x00, 0x83, 4000, 100);
	entry(d, 3, 0x00, 0x83, 16000, 1000);
	pt = parse(d, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "partitions 1 and 2 overlap"));
	CHECK(has_finding(pt, BS_SEV_ERROR,
			  "partition 4 (sectors 16000-16999) extends past the end"));
	free(pt);

	/* a bad boot indicator: not an MBR (a FAT boot sector, say) */
	d[446] = 0x12;
	pt = parse(d, SECTORS * SS);
	CHECK_EQ_INT(pt->label, BS_PT_NONE);
	CHECK(!bs_ptable_valid(pt));
	CHECK(has_finding(pt, BS_SEV_ERROR, "not an MBR"));
	free(pt);

	/* zeroed head: what an interrupted or lost head write leaves */
	memset(d, 0, 1024);
	pt = parse(d, SECTORS * SS);
	CHECK_EQ_INT(pt->label, BS_PT_NONE);
	CHECK(!bs_ptable_valid(pt));
	CHECK(has_finding(pt, BS_SEV_ERROR, "all zeros"));
	CHECK_EQ_STR(bs_ptable_why_invalid(pt), "no partition table: sector 0 is all zeros");
	free(pt);

	/* shorter than a sector */
	pt = parse(d, 100);
	CHECK_EQ_INT(pt->label, BS_PT_NONE);
	free(pt);
	free(d);
}

/* Extended partition at 2048..SECTORS-1; EBRs built by the caller. */
static unsigned char *ext_disk(void)
{
	unsigned char *d = calloc(SECTORS, SS);

	entry(d, 0, 0x00, 0x0e, 64, 1984);
	entry(d, 1, 0x00, 0x85, 2048, SECTORS - 2048);
	return d;
}

static void test_ebr(void)
{
	unsigned char *d = ext_disk();
	struct bs_ptable *pt;
	char node[64];

	/* three logicals: EBRs at 2048, 4096, 8192 */
	entry(d + 2048 * SS, 0, 0, 0x83, 1, 1000);
	entry(d + 2048 * SS, 1, 0, 0x05, 4096 - 2048, 4096);
	entry(d + 4096 * SS, 0, 0x80, 0x0c, 1, 4000);
	entry(d + 4096 * SS, 1, 0, 0x05, 8192 - 2048, 100);
	entry(d + 8192 * SS, 0, 0, 0x83, 2048, 2048);
	pt = parse(d, SECTORS * SS);
	if (pt->nparts != 5)
		dump(pt);
	REQUIRE(pt->nparts == 5);
	CHECK_EQ_INT(pt->parts[1].num, 2);
	CHECK(pt->parts[1].extended);
	CHECK_EQ_INT(pt->parts[2].num, 5);
	CHECK(pt->parts[2].logical);
	CHECK_EQ_INT(pt->parts[2].start, 2049);
	CHECK_EQ_INT(pt->parts[3].num, 6);
	CHECK_EQ_INT(pt->parts[3].start, 4097);
	CHECK(pt->parts[3].boot);
	CHECK_EQ_INT(pt->parts[4].num, 7);
	CHECK_EQ_INT(pt->parts[4].start, 10240);
	CHECK_EQ_INT(pt->nfindings, 0);
	free(pt);

	/* a loop: the last EBR links back to the first */
	entry(d + 8192 * SS, 1, 0, 0x05, 0, 100);
	pt = parse(d, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "EBR chain loops back to sector 2048"));
	CHECK_EQ_INT(pt->nparts, 5);
	free(pt);

	/* an EBR without a signature ends the chain */
	d[4096 * SS + 510] = 0;
	pt = parse(d, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "EBR at sector 4096 has no 0x55AA"));
	CHECK_EQ_INT(pt->nparts, 3);
	free(pt);

	/* a link outside the extended partition */
	d[4096 * SS + 510] = 0x55;
	entry(d + 8192 * SS, 1, 0, 0x05, SECTORS, 100);
	pt = parse(d, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "points outside extended partition 2"));
	free(pt);
	free(d);

	bs_part_node("/dev/mmcblk0", 5, node, sizeof(node));
	CHECK_EQ_STR(node, "/dev/mmcblk0p5");
	bs_part_node("/dev/sdb", 5, node, sizeof(node));
	CHECK_EQ_STR(node, "/dev/sdb5");
}

/* An absurdly long chain: one EBR per sector pair, 1000 links. */
static void test_long_chain(void)
{
	unsigned char *d = ext_disk();
	struct bs_ptable *pt;
	uint32_t i;

	for (i = 0; i < 1000; i++) {
		unsigned char *ebr = d + (2048 + 2 * i) * SS;

		entry(ebr, 0, 0, 0x83, 1, 1);
		entry(ebr, 1, 0, 0x05, 2 * (i + 1), 2);
	}
	pt = parse(d, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "more than 128 logical partitions"));
	CHECK_EQ_INT(pt->nparts, 2 + BS_PT_MAX_LOGICAL);
	CHECK_EQ_INT(pt->parts[pt->nparts - 1].num, 4 + BS_PT_MAX_LOGICAL);
	free(pt);
	free(d);
}

/* A minimal GPT: protective MBR, header at 1, array at 2, backup at the end. */
static void gpt_header(unsigned char *h, uint64_t my, uint64_t alt, uint64_t array_lba, uint32_t n,
		       uint32_t esz, uint32_t array_crc)
{
	memset(h, 0, SS);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x00010000);
	put32(h + 12, 92);
	put64(h + 24, my);
	put64(h + 32, alt);
	put64(h + 40, 34);
	put64(h + 48, SECTORS - 34);
	memset(h + 56, 0x42, 16);
	put64(h + 72, array_lba);
	put32(h + 80, n);
	put32(h + 84, esz);
	put32(h + 88, array_crc);
	put32(h + 16, (uint32_t)crc32(0, h, 92));
}

static unsigned char *gpt_disk(void)
{
	static const unsigned char efi[16] = {
		0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
		0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
	};
	unsigned char *d = calloc(SECTORS, SS);
	unsigned char *arr = d + 2 * SS, *e;
	uint32_t crc;

	entry(d, 0, 0, 0xee, 1, SECTORS - 1);
	memcpy(arr, efi, 16);
	memset(arr + 16, 0x11, 16);
	put64(arr + 32, 2048);
	put64(arr + 40, 4095);
	arr[56] = 'b';
	arr[58] = 'o';
	arr[60] = 'o';
	arr[62] = 't';
	e = arr + 128 * 3; /* entry 4: a gap in the numbering */
	e[0] = 0xaf;
	e[16] = 0x22;
	put64(e + 32, 4096);
	put64(e + 40, 8191);
	crc = (uint32_t)crc32(0, arr, 128 * 128);
	memcpy(d + (SECTORS - 33) * SS, arr, 128 * 128);
	gpt_header(d + SS, 1, SECTORS - 1, 2, 128, 128, crc);
	gpt_header(d + (SECTORS - 1) * SS, SECTORS - 1, 1, SECTORS - 33, 128, 128, crc);
	return d;
}

static void test_gpt(void)
{
	unsigned char *d = gpt_disk(), *copy;
	struct bs_ptable *pt, *good;
	char msg[256];

	good = parse(d, SECTORS * SS);
	if (good->nfindings)
		dump(good);
	CHECK_EQ_INT(good->label, BS_PT_GPT);
	REQUIRE(good->nparts == 2);
	CHECK_EQ_INT(good->parts[0].num, 1);
	CHECK_EQ_STR(good->parts[0].name, "boot");
	CHECK_EQ_STR(bs_gpt_type_name(good->parts[0].type_guid), "EFI System");
	CHECK_EQ_INT(good->parts[1].num, 4);
	CHECK_EQ_INT(good->parts[1].size, 4096);
	CHECK(good->gpt.header_crc_ok && good->gpt.array_crc_ok);
	CHECK(good->gpt.backup_checked && good->gpt.backup_ok);
	CHECK(!good->gpt.hybrid);
	CHECK_EQ_INT(good->nfindings, 0);
	CHECK(bs_ptable_valid(good));
	CHECK_EQ_INT(bs_ptable_compare(good, good, msg, sizeof(msg)), 0);

	/* bad array CRC in the primary */
	copy = malloc(SECTORS * SS);
	memcpy(copy, d, SECTORS * SS);
	copy[2 * SS + 100] ^= 1;
	pt = parse(copy, SECTORS * SS);
	CHECK(pt->gpt.used_backup);
	CHECK(!bs_ptable_valid(pt));
	CHECK(has_finding(pt, BS_SEV_ERROR, "entry array CRC32 mismatch"));
	CHECK(strstr(bs_ptable_why_invalid(pt), "entry array CRC32 mismatch") != NULL);
	CHECK(has_finding(pt, BS_SEV_ERROR, "using the backup GPT at sector 16383"));
	CHECK_EQ_INT(pt->nparts, 2);
	CHECK_EQ_INT(bs_ptable_compare(pt, good, msg, sizeof(msg)), 1);
	free(pt);
	/* ... and with the backup's array broken too: the primary's entries, flagged */
	copy[(SECTORS - 33) * SS + 100] ^= 1;
	pt = parse(copy, SECTORS * SS);
	CHECK(!pt->gpt.used_backup && !pt->gpt.array_crc_ok);
	CHECK(!bs_ptable_valid(pt));
	CHECK(has_finding(pt, BS_SEV_ERROR, "backup GPT is not usable either"));
	free(pt);

	/* bad header CRC: the backup is used, and that is flagged */
	memcpy(copy, d, SECTORS * SS);
	copy[SS + 40] ^= 1;
	pt = parse(copy, SECTORS * SS);
	CHECK(pt->gpt.used_backup);
	CHECK(!bs_ptable_valid(pt));
	CHECK(has_finding(pt, BS_SEV_ERROR, "header CRC32 mismatch"));
	CHECK_EQ_INT(pt->nparts, 2);
	free(pt);

	/* backup corrupt */
	memcpy(copy, d, SECTORS * SS);
	copy[(SECTORS - 1) * SS + 60] ^= 1;
	pt = parse(copy, SECTORS * SS);
	CHECK(pt->gpt.backup_checked && !pt->gpt.backup_ok);
	CHECK(has_finding(pt, BS_SEV_ERROR, "backup GPT is invalid"));
	free(pt);

	/* zero entries, and a huge array (both with valid header CRCs) */
	memcpy(copy, d, SECTORS * SS);
	gpt_header(copy + SS, 1, SECTORS - 1, 2, 0, 128, 0);
	pt = parse(copy, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "empty (0 entries)"));
	CHECK(!bs_ptable_valid(pt));
	free(pt);
	gpt_header(copy + SS, 1, SECTORS - 1, 2, 0x7fffffff, 1u << 30, 0);
	pt = parse(copy, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "larger than 4 MiB"));
	free(pt);
	gpt_header(copy + SS, 1, SECTORS - 1, 2, 100, 100, 0);
	pt = parse(copy, SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_ERROR, "not a power of two"));
	free(pt);

	/* hybrid MBR */
	memcpy(copy, d, SECTORS * SS);
	entry(copy, 1, 0x80, 0x0c, 2048, 2048);
	pt = parse(copy, SECTORS * SS);
	CHECK(pt->gpt.hybrid);
	CHECK(has_finding(pt, BS_SEV_WARN, "hybrid MBR"));
	CHECK_EQ_INT(pt->nparts, 2);
	free(pt);

	/* GPT without a protective MBR is ignored, as Linux does */
	memcpy(copy, d, SECTORS * SS);
	memset(copy, 0, SS);
	pt = parse(copy, SECTORS * SS);
	CHECK_EQ_INT(pt->label, BS_PT_NONE);
	CHECK(has_finding(pt, BS_SEV_ERROR, "no protective MBR"));
	CHECK_EQ_INT(bs_ptable_compare(pt, good, msg, sizeof(msg)), 1);
	CHECK(strstr(msg, "none on the device, gpt in the image") != NULL);
	free(pt);

	/* the image on a larger device: backup not at the end, the rest equal */
	copy = realloc(copy, 2 * SECTORS * SS);
	REQUIRE(copy);
	memset(copy + SECTORS * SS, 0, SECTORS * SS);
	pt = parse(copy, SECTORS * SS);
	free(pt);
	memcpy(copy, d, SECTORS * SS);
	pt = parse(copy, 2 * SECTORS * SS);
	CHECK(has_finding(pt, BS_SEV_WARN, "not at the last sector"));
	CHECK(has_finding(pt, BS_SEV_INFO, "protective MBR covers"));
	CHECK_EQ_INT(bs_ptable_compare(pt, good, msg, sizeof(msg)), 0);
	free(pt);

	/* the head-only view a flash has */
	pt = NULL;
	{
		struct bs_reader *r = bs_reader_mem(d, 64 * SS, "head");

		pt = bs_ptable_read(r, BS_PT_NO_SIZE, msg, sizeof(msg));
		bs_reader_close(r);
	}
	REQUIRE(pt);
	CHECK_EQ_INT(pt->nfindings, 0);
	CHECK_EQ_INT(bs_ptable_compare(pt, good, msg, sizeof(msg)), 0);
	free(pt);
	free(good);
	free(copy);
	free(d);
}

static struct bs_ptable *parse_file(const char *path)
{
	char err[256];
	struct bs_reader *r = bs_reader_open(path, err, sizeof(err));
	struct bs_ptable *pt;

	if (!r)
		fprintf(stderr, "%s\n", err);
	REQUIRE(r);
	pt = bs_ptable_read(r, 0, err, sizeof(err));
	if (!pt)
		fprintf(stderr, "%s\n", err);
	REQUIRE(pt);
	bs_reader_close(r);
	return pt;
}

/* A NOOBS layout (recovery FAT, extended, logical settings and OS partitions), made by sfdisk. */
static void test_noobs(void)
{
	static const struct {
		unsigned int num;
		uint64_t start, size;
		uint8_t type;
	} want[] = {
		{1, 2048, 32768, 0x0e}, {2, 34816, 184320, 0x85}, {3, 219136, 43008, 0x83},
		{5, 36864, 4096, 0x83}, {6, 43008, 143360, 0x0c}, {7, 188416, 30720, 0x83},
	};
	struct bs_ptable *pt;
	char path[256];
	size_t i;

	snprintf(path, sizeof(path), "%s/noobs.img", dir);
	make_noobs_table(path);
	pt = parse_file(path);
	CHECK_EQ_INT(pt->label, BS_PT_DOS);
	CHECK_EQ_INT(pt->mbr_id, 0x4e4f4f42);
	if (pt->nfindings)
		dump(pt);
	CHECK_EQ_INT(pt->nfindings, 0);
	REQUIRE(pt->nparts == sizeof(want) / sizeof(want[0]));
	for (i = 0; i < pt->nparts; i++) {
		CHECK_EQ_INT(pt->parts[i].num, want[i].num);
		CHECK_EQ_INT(pt->parts[i].start, want[i].start);
		CHECK_EQ_INT(pt->parts[i].size, want[i].size);
		CHECK_EQ_INT(pt->parts[i].type, want[i].type);
		CHECK_EQ_INT(pt->parts[i].boot, want[i].num == 6);
		CHECK_EQ_INT(pt->parts[i].logical, want[i].num >= 5);
	}
	CHECK(bs_ptable_valid(pt));
	free(pt);
}

/* GPT by parted, and sfdisk with a hybrid-free GPT of its own. */
static void test_parted_gpt(void)
{
	struct bs_ptable *pt;
	char path[256], err[256];

	snprintf(path, sizeof(path), "%s/gpt.img", dir);
	REQUIRE(!sh("truncate -s 64M %s && parted -s %s mklabel gpt mkpart bios 1MiB 2MiB "
		    "set 1 bios_grub on mkpart ESP fat32 2MiB 40MiB set 2 esp on "
		    "mkpart swap linux-swap 40MiB 44MiB mkpart rootfs ext4 44MiB 63MiB",
		    path, path));
	pt = parse_file(path);
	CHECK_EQ_INT(pt->label, BS_PT_GPT);
	REQUIRE(pt->nparts == 4);
	CHECK_EQ_STR(bs_gpt_type_name(pt->parts[0].type_guid), "BIOS boot");
	CHECK_EQ_STR(bs_gpt_type_name(pt->parts[1].type_guid), "EFI System");
	CHECK_EQ_STR(bs_gpt_type_name(pt->parts[2].type_guid), "Linux swap");
	CHECK_EQ_STR(bs_gpt_type_name(pt->parts[3].type_guid), "Linux filesystem");
	CHECK_EQ_STR(pt->parts[3].name, "rootfs");
	CHECK_EQ_INT(pt->parts[1].start, 4096);
	CHECK_EQ_INT(pt->parts[1].size, 77824);
	CHECK(pt->gpt.backup_ok);
	CHECK_EQ_INT(pt->nfindings, 0);
	free(pt);

	/* zeroing the first 1024 bytes, as a lost head write does */
	REQUIRE(!sh("dd if=/dev/zero of=%s bs=1024 count=1 conv=notrunc status=none", path));
	pt = parse_file(path);
	CHECK(!bs_ptable_valid(pt));
	free(pt);
	(void)err;
}

static void test_names(void)
{
	char buf[32];

	bs_size_str(64ull << 20, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "64M");
	bs_size_str(3ull << 29, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1.5G");
	bs_size_str(512, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "512B");
	CHECK_EQ_STR(bs_mbr_type_name(0x85), "Linux extended");
	CHECK_EQ_STR(bs_mbr_type_name(0x9f), "unknown");
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_names();
	test_primary();
	test_ebr();
	test_long_chain();
	test_gpt();
	test_noobs();
	test_parted_gpt();
	sh("rm -rf %s", dir);
	return unit_done();
}
