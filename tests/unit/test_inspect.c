// SPDX-License-Identifier: GPL-2.0
/*
 * bootseal inspect end to end on images built with sfdisk, mkfs.vfat and
 * mtools: --json compared field by field with sfdisk --json of the same
 * image, the boot lint of NOOBS and Raspberry Pi layouts, compressed images,
 * exit codes.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "ptable.h"
#include "unit.h"
#include "noobs.h"

/* The helper objects linked in use it; main.c, which defines it, is not linked. */

static char dir[] = "/tmp/bs-inspect-XXXXXX";

/* Run `inspect ARGS...` in-process with stdout captured in @out. */
static int inspect(const char *out, const char *a1, const char *a2)
{
	char *argv[4] = {"inspect", (char *)a1, (char *)a2, NULL};
	int argc = a2 ? 3 : a1 ? 2 : 1;
	int saved, fd, rc;

	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	rc = cmd_inspect(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

/* jq expression @expr on @json must print "true". */
static bool jq_true(const char *json, const char *expr)
{
	int rc = sh("test \"$(jq -r '%s' %s)\" = true", expr, json);

	if (rc)
		sh("jq -c '%s' %s >&2", expr, json);
	return rc == 0;
}

/*
 * Every field sfdisk --json reports (table and partitions) must be in our
 * JSON with the same value; prints the differing fields. ("grain" is
 * sfdisk's alignment for new partitions, not part of the table.)
 */
static bool same_as_sfdisk(const char *img, const char *ours)
{
	return !sh("sfdisk --json %s > %s.sfdisk && jq -e -n --slurpfile s %s.sfdisk --slurpfile m "
		   "%s '"
		   "($s[0].partitiontable) as $a | ($m[0].partitiontable) as $b | "
		   "([($a | keys[] | select(. != \"partitions\" and . != \"grain\")) as $k | "
		   "select($a[$k] != $b[$k]) | $k] + "
		   "[range($a.partitions | length) as $i | ($a.partitions[$i] | keys[]) as $k | "
		   "select($a.partitions[$i][$k] != $b.partitions[$i][$k]) | \"partition \\($i) "
		   "\\($k)\"] + "
		   "(if ($a.partitions | length) != ($b.partitions | length) then [\"count\"] else "
		   "[] end)) as $d | "
		   "if $d == [] then true else ($d | debug | false) end' >/dev/null",
		   img, ours, ours, ours);
}

static void make_files(const char *names)
{
	REQUIRE(!sh("cd %s && for f in %s; do echo \"$f\" > $f; done", dir, names));
}

static void mcopy(const char *img, unsigned long start, const char *names)
{
	REQUIRE(!sh("cd %s && MTOOLS_SKIP_CHECK=1 mcopy -o -i %s@@%lu %s ::", dir, img, start * 512,
		    names));
}

static void test_noobs(void)
{
	char img[256], out[256], xz[300];

	snprintf(img, sizeof(img), "%s/noobs.img", dir);
	snprintf(out, sizeof(out), "%s/noobs.json", dir);
	make_noobs_table(img);
	REQUIRE(!sh("mkfs.vfat -F 16 -n RECOVERY --offset 2048 %s 16384 >/dev/null 2>&1 && "
		    "mkfs.vfat -F 32 -s 1 -n BOOT --offset 43008 %s 71680 >/dev/null 2>&1",
		    img, img));
	make_files("bootcode.bin recovery.elf recovery.img recovery7.img recovery.cmdline "
		   "bcm2708-rpi-b.dtb start.elf fixup.dat config.txt cmdline.txt kernel.img "
		   "kernel7.img bcm2710-rpi-3-b.dtb");
	mcopy(img, 2048,
	      "bootcode.bin recovery.elf recovery.img recovery7.img recovery.cmdline "
	      "bcm2708-rpi-b.dtb");
	mcopy(img, 43008,
	      "bootcode.bin start.elf fixup.dat config.txt cmdline.txt kernel.img "
	      "kernel7.img bcm2710-rpi-3-b.dtb bcm2708-rpi-b.dtb");

	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(same_as_sfdisk(img, out));
	CHECK(jq_true(
		out, ".ok and .partitiontable.valid and (.partitiontable.findings | length == 0)"));
	CHECK(jq_true(out, "[.partitiontable.partitions[].number] == [1,2,3,5,6,7]"));
	CHECK(jq_true(out, ".partitiontable.partitions[1].extended and "
			   ".partitiontable.partitions[4].logical"));
	CHECK(jq_true(out, ".partitiontable.partitions[0].typename == \"W95 FAT16 (LBA)\""));
	CHECK(jq_true(out, ".bootlint | length == 2"));
	CHECK(jq_true(out, ".bootlint[0] | .partition == 1 and .recovery and .fat_bits == 16 and "
			   ".label == \"RECOVERY\""));
	CHECK(jq_true(out,
		      ".bootlint[1] | .partition == 6 and (.recovery | not) and .fat_bits == 32"));
	CHECK(jq_true(out, ".bootlint[1].families[1] | .ready"));
	CHECK(jq_true(
		out,
		".bootlint[1].families[2] | (.ready | not) and (.missing | test(\"start4.elf\"))"));
	/* NOOBS recovery boots Pi 1-4, never a Pi 5 (its EEPROM does not run recovery.elf) */
	CHECK(jq_true(out, "[.bootlint[0].families[].ready] == [true, true, true, false]"));
	CHECK(jq_true(out, ".bootlint[0].families[3].missing | test(\"kernel_2712.img\") and "
			   "test(\"bcm2712\")"));

	/* xz: the boot partition p6 lies past the reader's cache */
	REQUIRE(!sh("xz -T1 -0 -k -c %s > %s.xz && cp %s %s.orig", img, img, out, out));
	snprintf(xz, sizeof(xz), "%s.xz", img);
	CHECK_EQ_INT(inspect(out, "--json", xz), BS_EXIT_OK);
	CHECK(!sh("F='del(.path, .kind) | .partitiontable |= del(.device) | "
		  ".partitiontable.partitions[] |= del(.node)'; jq -S \"$F\" %s > %s.a && "
		  "jq -S \"$F\" %s.orig > %s.b && diff %s.a %s.b >&2",
		  out, out, out, out, out, out));
	/* standard input: no size, no going back; the table is still read */
	{
		int saved = dup(0), fd = open(xz, O_RDONLY);

		REQUIRE(saved >= 0 && fd >= 0);
		dup2(fd, 0);
		close(fd);
		CHECK_EQ_INT(inspect(out, "--json", "-"), BS_EXIT_OK);
		dup2(saved, 0);
		close(saved);
		CHECK(jq_true(out, ".kind == \"xz\" and [.partitiontable.partitions[].number] == "
				   "[1,2,3,5,6,7]"));
		CHECK(jq_true(out, ".bootlint[0].recovery"));
	}

	/* standard input, as text: the size is unknown, not 0 B */
	{
		int saved = dup(0), fd = open(xz, O_RDONLY);

		REQUIRE(saved >= 0 && fd >= 0);
		dup2(fd, 0);
		close(fd);
		CHECK_EQ_INT(inspect(out, "-", NULL), BS_EXIT_OK);
		dup2(saved, 0);
		close(saved);
		CHECK(!sh("grep -q '^Disk -: size unknown' %s && ! grep -q ': 0 B' %s", out, out));
	}

	/* the text output names logical partitions like fdisk */
	CHECK_EQ_INT(inspect(out, img, NULL), BS_EXIT_OK);
	CHECK(!sh("grep -q '^%s5 ' %s && grep -q 'Disk identifier: 0x4e4f4f42' %s && "
		  "grep -q 'recovery layout' %s",
		  img, out, out, out));

	/* an EBR that loops back to itself: a finding, exit 3, never a hang */
	REQUIRE(!sh(
		"cp %s %s.loop && printf '\\000\\000\\000\\000' | "
		"dd of=%s.loop bs=1 seek=$((34816*512 + 446 + 16 + 8)) conv=notrunc status=none",
		img, img, img));
	snprintf(img + strlen(img), sizeof(img) - strlen(img), ".loop");
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, ".partitiontable.findings | any(.message | test(\"loops back\"))"));
}

static void test_gpt(void)
{
	char img[256], out[256];

	snprintf(img, sizeof(img), "%s/gpt.img", dir);
	snprintf(out, sizeof(out), "%s/gpt.json", dir);
	REQUIRE(!sh(
		"truncate -s 64M %s && sfdisk -q %s >/dev/null <<'EOF'\n"
		"label: gpt\nlabel-id: 11111111-2222-3333-4444-555555555555\n"
		"start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=\"bios\"\n"
		"size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI system "
		"(boot)\", "
		"uuid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\n"
		"size=8192, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\n"
		"type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=\"root\"\nEOF",
		img, img));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(same_as_sfdisk(img, out));
	CHECK(jq_true(out, ".partitiontable.gpt | .header_crc_ok and .array_crc_ok and .backup_ok "
			   "and (.hybrid_mbr | not)"));
	CHECK(jq_true(out,
		      "[.partitiontable.partitions[].typename] == "
		      "[\"BIOS boot\", \"EFI System\", \"Linux swap\", \"Linux root (x86-64)\"]"));
	CHECK(jq_true(out, ".partitiontable.partitions[1].name == \"EFI system (boot)\""));

	/* corrupt the backup header: flagged, still a usable table */
	REQUIRE(!sh("printf 'XX' | dd of=%s bs=1 seek=$((64*1024*1024 - 512 + 60)) conv=notrunc "
		    "status=none",
		    img));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, ".partitiontable.gpt | .backup_checked and (.backup_ok | not)"));

	/* a lost head write (first 1024 bytes zero): no partition table */
	REQUIRE(!sh("dd if=/dev/zero of=%s bs=1024 count=1 conv=notrunc status=none", img));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, "(.ok | not) and .partitiontable.label == \"none\" and "
			   "(.partitiontable.valid | not)"));
}

/*
 * The keys sfdisk --json prints only in some tables: a GPT's "table-length"
 * (when it is not 128) and a partition's "attrs", as sfdisk spells them.
 */
static void test_gpt_sfdisk_keys(void)
{
	static const char *const attrs[] = {
		"RequiredPartition",
		"NoBlockIOProtocol",
		"LegacyBIOSBootable",
		"RequiredPartition,NoBlockIOProtocol,LegacyBIOSBootable",
		"GUID:48",
		"GUID:48,49,50,63",
		"RequiredPartition,GUID:52,60",
	};
	char img[256], out[256], buf[128];
	size_t i;

	snprintf(img, sizeof(img), "%s/gptattrs.img", dir);
	snprintf(out, sizeof(out), "%s/gptattrs.json", dir);
	REQUIRE(!sh("rm -f %s && truncate -s 8M %s && printf 'label: gpt\\ntable-length: 56\\n"
		    "start=2048, size=2048, attrs=\"RequiredPartition\"\\n' | sfdisk -q %s",
		    img, img, img));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(same_as_sfdisk(img, out));
	CHECK(jq_true(out, ".partitiontable[\"table-length\"] == \"56\""));
	CHECK(jq_true(out, ".partitiontable.partitions[0].attrs == \"RequiredPartition\""));
	CHECK(jq_true(out, ".partitiontable.partitions[0].attributes == 1"));
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		REQUIRE(!sh("printf 'label: gpt\\nstart=2048, size=2048, attrs=\"%s\"\\n"
			    "size=2048\\n' | sfdisk -q %s",
			    attrs[i], img));
		CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
		if (!same_as_sfdisk(img, out)) {
			CHECK(!"attrs differ from sfdisk's");
			fprintf(stderr, "attrs=%s\n", attrs[i]);
		}
		/* no attributes: no key, as with sfdisk */
		CHECK(jq_true(out, ".partitiontable.partitions[1] | has(\"attrs\") | not"));
		CHECK(jq_true(out, ".partitiontable | has(\"table-length\") | not"));
	}
	bs_gpt_attrs_str(1ULL << 10, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "");
	bs_gpt_attrs_str(5ULL | 1ULL << 63 | 1ULL << 48, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "RequiredPartition LegacyBIOSBootable GUID:48,63");
}

/* A Raspberry Pi OS style image: FAT32 (0x0c) boot partition + Linux root. */
static void make_pi(const char *img, const char *files)
{
	REQUIRE(!sh("rm -f %s && truncate -s 64M %s && sfdisk -q %s >/dev/null <<'EOF'\n"
		    "label: dos\nlabel-id: 0x3a5c645e\n"
		    "start=8192, size=81920, type=c\nstart=90112, type=83\nEOF",
		    img, img, img));
	REQUIRE(!sh("mkfs.vfat -F 32 -s 1 -n bootfs --offset 8192 %s 40960 >/dev/null 2>&1", img));
	make_files(files);
	mcopy(img, 8192, files);
}

static void test_pi(void)
{
	char img[256], out[256], out2[256], comp[300];

	snprintf(img, sizeof(img), "%s/pi.img", dir);
	snprintf(out, sizeof(out), "%s/pi.json", dir);
	snprintf(out2, sizeof(out2), "%s/pi2.json", dir);
	make_pi(img, "bootcode.bin start.elf fixup.dat config.txt cmdline.txt kernel.img "
		     "kernel7.img kernel8.img bcm2708-rpi-b.dtb bcm2710-rpi-3-b.dtb");
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(same_as_sfdisk(img, out));
	CHECK(jq_true(out, ".bootlint | length == 1"));
	CHECK(jq_true(out, ".bootlint[0] | .raspberry_pi and .type_fat and .fat_bits == 32 and "
			   ".label == \"bootfs\""));
	CHECK(jq_true(out, ".bootlint[0].files | index(\"config.txt\") != null and "
			   "index(\"bootcode.bin\") != null"));
	CHECK(jq_true(out, "[.bootlint[0].families[].ready] == [true, true, false, false]"));
	CHECK(jq_true(
		out,
		".bootlint[0].families[2].missing == \"start4.elf, fixup4.dat, bcm2711-*.dtb\""));
	CHECK(jq_true(out, ".bootlint[0].families[3].missing == \"bcm2712-*.dtb\""));

	/* compressed images give the same answer */
	snprintf(comp, sizeof(comp), "%s.xz", img);
	REQUIRE(!sh("xz -T1 -k -c %s > %s", img, comp));
	CHECK_EQ_INT(inspect(out2, "--json", comp), BS_EXIT_OK);
	CHECK(jq_true(out2, ".kind == \"xz\" and .bytes == 67108864"));
	CHECK(!sh("F='del(.path, .kind) | .partitiontable |= del(.device) | "
		  ".partitiontable.partitions[] |= del(.node)'; jq -S \"$F\" %s > %s.a && "
		  "jq -S \"$F\" %s > %s.b && diff %s.a %s.b >&2",
		  out, out, out2, out, out, out));
	snprintf(comp, sizeof(comp), "%s.zst", img);
	REQUIRE(!sh("zstd -q -c %s > %s", img, comp));
	CHECK_EQ_INT(inspect(out2, "--json", comp), BS_EXIT_OK);
	CHECK(jq_true(out2, ".kind == \"zstd\" and [.bootlint[0].families[].ready] == [true, true, "
			    "false, false]"));

	/* no bootcode.bin: Pi 1-3 miss it, Pi 4 and 5 do not need it */
	REQUIRE(!sh("MTOOLS_SKIP_CHECK=1 mdel -i %s@@%d ::bootcode.bin", img, 8192 * 512));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(jq_true(out, ".bootlint[0].families[0].missing == \"bootcode.bin\""));
	CHECK(jq_true(out, ".bootlint[0].families[1].missing == \"bootcode.bin\""));
	CHECK(jq_true(out, ".bootlint[0].families[2].missing | test(\"bootcode\") | not"));

	/* cmdline.txt's root=PARTUUID= must name this disk and one of its partitions */
	REQUIRE(!sh("cd %s && echo 'console=serial0,115200 root=PARTUUID=3a5c645e-02 rootwait' > "
		    "cmdline.txt && MTOOLS_SKIP_CHECK=1 mcopy -o -i %s@@%d cmdline.txt ::",
		    dir, img, 8192 * 512));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(jq_true(out, ".bootlint[0].findings | all(.message | test(\"PARTUUID\") | not)"));
	REQUIRE(!sh("cd %s && echo 'console=serial0,115200 root=PARTUUID=deadbeef-02 rootwait' > "
		    "cmdline.txt && MTOOLS_SKIP_CHECK=1 mcopy -o -i %s@@%d cmdline.txt ::",
		    dir, img, 8192 * 512));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(
		out,
		".bootlint[0].findings | any(.severity == \"error\" and (.message | "
		"test(\"root=PARTUUID=deadbeef-02, but the disk identifier is 0x3a5c645e\")))"));
	REQUIRE(!sh("cd %s && echo 'root=PARTUUID=3a5c645e-05 rootwait' > cmdline.txt && "
		    "MTOOLS_SKIP_CHECK=1 mcopy -o -i %s@@%d cmdline.txt ::",
		    dir, img, 8192 * 512));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, ".bootlint[0].findings | any(.message | test(\"no partition 5\"))"));

	/* a file that is not an image: its size, not "0 B" */
	REQUIRE(!sh("printf '<html><body>404 Not Found</body></html>\\n' > %s/page.img", dir));
	snprintf(comp, sizeof(comp), "%s/page.img", dir);
	inspect(out, comp, NULL);
	CHECK(!sh("grep -q 'page.img: 40 bytes, less than one 512-byte sector' %s && "
		  "! grep -q ': 0 B' %s",
		  out, out));

	/* a Pi 4 only card */
	make_pi(img,
		"start4.elf fixup4.dat config.txt cmdline.txt kernel8.img bcm2711-rpi-4-b.dtb");
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_OK);
	CHECK(jq_true(out, "[.bootlint[0].families[].ready] == [false, false, true, false]"));
	CHECK(jq_true(
		out, ".bootlint[0].families[0].missing | startswith(\"bootcode.bin, start.elf\")"));

	/* an empty start4.elf (a half-written card) is an error */
	REQUIRE(!sh(
		"cd %s && : > start4.elf && MTOOLS_SKIP_CHECK=1 mcopy -o -i %s@@%d start4.elf ::",
		dir, img, 8192 * 512));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, ".bootlint[0].findings | any(.severity == \"error\" and (.message | "
			   "test(\"start4.elf is empty\")))"));
	CHECK(jq_true(out,
		      ".bootlint[0].families[2] | (.ready | not) and .missing == \"start4.elf\""));

	/* boot partition typed Linux: the firmware will not read it */
	REQUIRE(!sh("sfdisk -q --part-type %s 1 83", img));
	CHECK_EQ_INT(inspect(out, "--json", img), BS_EXIT_IMAGE);
	CHECK(jq_true(out, ".bootlint[0] | (.type_fat | not) and .fat and (.findings[0].message | "
			   "test(\"reads only FAT\"))"));
}

static void test_usage(void)
{
	char out[256], missing[256];

	snprintf(out, sizeof(out), "%s/usage.txt", dir);
	snprintf(missing, sizeof(missing), "%s/does-not-exist.img", dir);
	CHECK_EQ_INT(inspect(out, "--help", NULL), BS_EXIT_OK);
	CHECK(!sh("grep -q '^Usage: .* inspect \\[--json\\] IMAGE|DEVICE' %s", out));
	CHECK_EQ_INT(inspect(out, NULL, NULL), BS_EXIT_USAGE);
	CHECK_EQ_INT(inspect(out, "--bogus", missing), BS_EXIT_USAGE);
	CHECK_EQ_INT(inspect(out, missing, NULL), BS_EXIT_IMAGE);
	CHECK_EQ_INT(inspect(out, "/dev/null", NULL), BS_EXIT_DEVICE);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	test_usage();
	test_noobs();
	test_gpt();
	test_gpt_sfdisk_keys();
	test_pi();
	sh("rm -rf %s", dir);
	return unit_done();
}
