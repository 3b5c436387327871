// SPDX-License-Identifier: GPL-2.0
/*
 * Staged devices: the target's status and table lines, names, the partition
 * mapping plan from real MBR and GPT tables (made by sfdisk on image files),
 * and the failure sentence of a seal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module/uapi/bootseal.h"
#include "ptable.h"
#include "reader.h"
#include "stage.h"
#include "unit.h"

static void test_status(void)
{
	struct bs_stage_status st;

	REQUIRE(bs_stage_parse_status("staged 7 0 0 0 - 0 0 -", &st) == 0);
	CHECK_EQ_STR(st.state, "staged");
	CHECK_EQ_INT(st.session_id, 7);
	CHECK(st.error_sector == BOOTSEAL_SECTOR_NONE);
	CHECK(st.cleanup_sector == BOOTSEAL_SECTOR_NONE);
	REQUIRE(bs_stage_parse_status("failed 12 4096 2048 5 2048 7 0 -\n", &st) == 0);
	CHECK_EQ_STR(st.state, "failed");
	CHECK_EQ_INT(st.bytes_submitted, 4096);
	CHECK_EQ_INT(st.bytes_completed, 2048);
	CHECK_EQ_INT(st.error, 5);
	CHECK_EQ_INT(st.error_sector, 2048);
	CHECK_EQ_INT(st.cleanup, 7);
	REQUIRE(bs_stage_parse_status("unclean 1 1 1 5 - 1 5 33", &st) == 0);
	CHECK_EQ_INT(st.cleanup_error, 5);
	CHECK_EQ_INT(st.cleanup_sector, 33);
	/* the largest counter */
	REQUIRE(bs_stage_parse_status("sealed 1 18446744073709551615 0 0 - 0 0 -", &st) == 0);
	CHECK(st.bytes_submitted == UINT64_MAX);

	CHECK_EQ_INT(bs_stage_parse_status("", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("sealedx 1 0 0 0 - 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("bogus 1 0 0 0 - 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 0 0 0 - 0 0", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 0 0 0 - 0 0 - extra", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 0 0 0 -- 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 0 0 -5 - 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 0 0 5000 - 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1 18446744073709551616 0 0 - 0 0 -", &st), -1);
	CHECK_EQ_INT(bs_stage_parse_status("staged 1x 0 0 0 - 0 0 -", &st), -1);
}

static void test_table(void)
{
	unsigned int ma, mi;
	uint64_t h;

	REQUIRE(bs_stage_parse_table("8:16 2048", &ma, &mi, &h) == 0);
	CHECK_EQ_INT(ma, 8);
	CHECK_EQ_INT(mi, 16);
	CHECK_EQ_INT(h, 2048);
	REQUIRE(bs_stage_parse_table("259:1048575 1\n", &ma, &mi, &h) == 0);
	CHECK_EQ_INT(mi, 1048575);
	CHECK_EQ_INT(bs_stage_parse_table("8:16 0", &ma, &mi, &h), -1);
	CHECK_EQ_INT(bs_stage_parse_table("8:16", &ma, &mi, &h), -1);
	CHECK_EQ_INT(bs_stage_parse_table("/dev/sdb 2048", &ma, &mi, &h), -1);
	CHECK_EQ_INT(bs_stage_parse_table("8: 2048", &ma, &mi, &h), -1);
	CHECK_EQ_INT(bs_stage_parse_table("8:16 2048 x", &ma, &mi, &h), -1);
	CHECK_EQ_INT(bs_stage_parse_table("4096:16 2048", &ma, &mi, &h), -1);
}

static void test_names(void)
{
	char name[BS_DM_NAME_LEN], err[256], buf[BS_DM_NAME_LEN + 16], longname[200];
	unsigned int num = 0;

	bs_stage_name_for("sdb", name, sizeof(name));
	CHECK_EQ_STR(name, "bootseal-sdb");
	CHECK_EQ_INT(bs_stage_name_arg("bootseal-sdb", name, sizeof(name), err, sizeof(err)), 0);
	CHECK_EQ_STR(name, "bootseal-sdb");
	CHECK_EQ_INT(bs_stage_name_arg("/dev/mapper/bootseal-mmcblk0", name, sizeof(name), err,
				       sizeof(err)),
		     0);
	CHECK_EQ_STR(name, "bootseal-mmcblk0");
	CHECK_EQ_INT(bs_stage_name_arg("/dev/sdb", name, sizeof(name), err, sizeof(err)), -1);
	CHECK(strstr(err, "not a staged device") != NULL);
	CHECK_EQ_INT(bs_stage_name_arg("", name, sizeof(name), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_stage_name_arg("/dev/mapper/", name, sizeof(name), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_stage_name_arg("a b", name, sizeof(name), err, sizeof(err)), -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ_INT(bs_stage_name_arg(longname, name, sizeof(name), err, sizeof(err)), -1);

	bs_stage_part_name("bootseal-sdb", 2, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "bootseal-sdbp2");
	CHECK(bs_stage_is_part_name("bootseal-sdb", "bootseal-sdbp12", &num));
	CHECK_EQ_INT(num, 12);
	CHECK(!bs_stage_is_part_name("bootseal-sdb", "bootseal-sdb", NULL));
	CHECK(!bs_stage_is_part_name("bootseal-sdb", "bootseal-sdbp", NULL));
	CHECK(!bs_stage_is_part_name("bootseal-sdb", "bootseal-sdbp0", NULL));
	CHECK(!bs_stage_is_part_name("bootseal-sdb", "bootseal-sdbp1x", NULL));
	CHECK(!bs_stage_is_part_name("bootseal-sdb", "bootseal-sdbbp1", NULL));
	CHECK(!bs_stage_is_part_name("bootseal-sd", "bootseal-sdbp1", NULL));
}

/* The table sfdisk makes from @script on a fresh image of @mib MiB. */
static struct bs_ptable *table_of(const char *script, unsigned int mib)
{
	char path[] = "/tmp/bs-stage-XXXXXX", err[256];
	struct bs_ptable *pt;
	struct bs_reader *r;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)mib << 20) == 0);
	close(fd);
	REQUIRE(sh("printf '%s' | sfdisk -q --no-reread --no-tell-kernel %s >/dev/null 2>&1",
		   script, path) == 0);
	r = bs_reader_open(path, err, sizeof(err));
	REQUIRE(r);
	pt = bs_ptable_read(r, 0, err, sizeof(err));
	REQUIRE(pt);
	bs_reader_close(r);
	unlink(path);
	return pt;
}

static void test_plan(void)
{
	struct bs_part_map m[BS_PT_MAX_PARTS];
	struct bs_ptable *pt;
	char err[256];
	size_t n = 0;

	/* MBR: FAT32 + Linux */
	pt = table_of("label: dos\\nstart=2048, size=4096, type=c\\nstart=6144, type=83\\n", 8);
	REQUIRE(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)) == 0);
	REQUIRE(n == 2);
	CHECK_EQ_INT(m[0].num, 1);
	CHECK_EQ_INT(m[0].start, 2048);
	CHECK_EQ_INT(m[0].size, 4096);
	CHECK_EQ_INT(m[1].num, 2);
	CHECK_EQ_INT(m[1].start, 6144);
	CHECK_EQ_INT(m[1].size, 16384 - 6144);
	/* the device is smaller than the table says */
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 12000, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "partition 2") && strstr(err, "past the end"));
	CHECK_EQ_INT(n, 0);
	free(pt);

	/* MBR with an extended container: the container is not mapped, logicals are */
	pt = table_of("label: dos\\nstart=2048, size=2048, type=c\\nstart=4096, type=5\\n"
		      "start=6144, size=2048, type=83\\nstart=10240, size=2048, type=83\\n",
		      8);
	REQUIRE(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)) == 0);
	REQUIRE(n == 3);
	CHECK_EQ_INT(m[0].num, 1);
	CHECK_EQ_INT(m[1].num, 5);
	CHECK_EQ_INT(m[2].num, 6);
	CHECK_EQ_INT(m[2].start, 10240);
	free(pt);

	/* GPT, numbered out of order on disk */
	pt = table_of("label: gpt\\n2: start=6144, size=4096\\n1: start=2048, size=4096\\n", 8);
	REQUIRE(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)) == 0);
	REQUIRE(n == 2);
	CHECK_EQ_INT(m[0].num, 1);
	CHECK_EQ_INT(m[0].start, 2048);
	CHECK_EQ_INT(m[1].num, 2);
	CHECK_EQ_INT(m[1].start, 6144);
	free(pt);

	/* overlapping partitions (sfdisk refuses to write them: edit the parsed table) */
	pt = table_of("label: dos\\nstart=2048, size=4096\\nstart=6144, size=4096\\n", 8);
	pt->parts[1].start = 4096;
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "partitions 1 and 2 overlap");
	pt->parts[1].start = 0;
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "sector 0") != NULL);
	pt->parts[1].start = 6144;
	pt->parts[1].size = 0;
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "size 0") != NULL);
	pt->parts[1].size = UINT64_MAX;
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "past the end") != NULL);
	pt->parts[1].size = 4096;
	/* more partitions than room */
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, 1, &n, err, sizeof(err)), -1);
	/* 4096-byte sectors count 8 dm sectors each */
	pt->sector_size = 4096;
	REQUIRE(bs_stage_plan_parts(pt, 16384 * 8, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)) == 0);
	CHECK_EQ_INT(m[1].start, 6144 * 8);
	free(pt);

	/* no table at all */
	pt = calloc(1, sizeof(*pt));
	REQUIRE(pt);
	CHECK_EQ_INT(bs_stage_plan_parts(pt, 16384, m, BS_PT_MAX_PARTS, &n, err, sizeof(err)), -1);
	CHECK(err[0] != '\0');
	free(pt);
}

static void test_failure_text(void)
{
	struct bs_stage_status st;
	char buf[512];

	REQUIRE(bs_stage_parse_status("failed 3 100 100 5 2048 7 0 -", &st) == 0);
	bs_stage_describe_failure(&st, buf, sizeof(buf));
	CHECK(strstr(buf, "state failed") && strstr(buf, "Input/output error at sector 2048"));
	CHECK(strstr(buf, "erased again") && strstr(buf, "no partition table"));
	REQUIRE(bs_stage_parse_status("unclean 3 100 100 5 - 1 5 8", &st) == 0);
	bs_stage_describe_failure(&st, buf, sizeof(buf));
	CHECK(strstr(buf, "ERASING THE PARTITION TABLE FAILED") && strstr(buf, "at sector 8"));
	REQUIRE(bs_stage_parse_status("failed 3 100 100 5 77 0 0 -", &st) == 0);
	bs_stage_describe_failure(&st, buf, sizeof(buf));
	CHECK(strstr(buf, "nothing of the head was written") != NULL);
	/* a short buffer is cut, never overrun */
	bs_stage_describe_failure(&st, buf, 10);
	CHECK_EQ_INT(strlen(buf), 9);
}

int main(void)
{
	test_status();
	test_table();
	test_names();
	test_plan();
	test_failure_text();
	return unit_done();
}
