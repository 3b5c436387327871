// SPDX-License-Identifier: GPL-2.0
/*
 * Device discovery, the parts that do not need real disks: human sizes,
 * /proc/self/mountinfo and /proc/swaps parsing from sample text, matching
 * mounts and swap to a disk's device numbers, the refusal rules, USB port
 * syntax, and the error paths of probe/lookup on this host.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "busy.h"
#include "device.h"
#include "module/uapi/bootseal.h"
#include "unit.h"

static void check_size(uint64_t bytes, const char *want)
{
	char buf[32];

	bs_human_size(bytes, buf, sizeof(buf));
	CHECK_EQ_STR(buf, want);
}

static void test_human_size(void)
{
	char small[4];

	check_size(0, "0 B");
	check_size(1, "1 B");
	check_size(999, "999 B");
	check_size(1000, "1.0 kB");
	check_size(1024, "1.0 kB");
	check_size(1500, "1.5 kB");
	check_size(999949, "999.9 kB");
	check_size(999950, "1.0 MB"); /* rounds up into the next unit */
	check_size(120500000, "120.5 MB");
	check_size(7800000000ULL, "7.8 GB");
	check_size(7948206080ULL, "7.9 GB"); /* a typical "8 GB" SD card */
	check_size(32017047552ULL, "32.0 GB");
	check_size(2000398934016ULL, "2.0 TB");
	check_size(UINT64_MAX, "18.4 EB");
	bs_human_size(7800000000ULL, small, sizeof(small)); /* truncated, terminated */
	CHECK_EQ_STR(small, "7.8");
}

static const char mountinfo[] =
	"22 1 254:2 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
	"23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
	"30 22 8:1 / /boot rw,relatime shared:30 master:2 - vfat /dev/sda1 rw,fmask=0022\n"
	"41 22 8:17 / /media/my\\040stick rw,nosuid,nodev,relatime shared:40 - vfat /dev/sdb1 rw\n"
	"42 41 8:18 / /media/my\\040stick/inner rw - ext4 /dev/sdb2 rw\n"
	"garbage line without enough fields\n"
	"50 22 8:33 / /mnt/nosep rw shared:5 ext4 /dev/sdc1 rw\n"
	"51 22 x:y / /mnt/baddev rw - ext4 /dev/sdc2 rw\n"
	"\n"
	"60 22 0:45 / /tmp rw - tmpfs tmpfs rw\n"
	"61 22 8:49 / /mnt/last rw - ext4 /dev/sdd1 rw"; /* no final newline */

static void test_parse_mountinfo(void)
{
	struct bs_mountinfo_entry *mi = NULL;
	size_t n = 0;

	REQUIRE(bs_parse_mountinfo(mountinfo, &mi, &n) == 0);
	REQUIRE(n == 7);
	CHECK_EQ_INT(mi[0].major, 254);
	CHECK_EQ_INT(mi[0].minor, 2);
	CHECK_EQ_STR(mi[0].target, "/");
	CHECK_EQ_STR(mi[0].source, "/dev/mapper/vg-root");
	CHECK_EQ_STR(mi[0].fstype, "ext4");
	CHECK_EQ_STR(mi[1].target, "/proc");
	CHECK_EQ_INT(mi[1].major, 0);
	/* two optional fields before the separator */
	CHECK_EQ_STR(mi[2].target, "/boot");
	CHECK_EQ_STR(mi[2].source, "/dev/sda1");
	CHECK_EQ_STR(mi[2].fstype, "vfat");
	/* \040 decodes to a space */
	CHECK_EQ_STR(mi[3].target, "/media/my stick");
	CHECK_EQ_INT(mi[3].major, 8);
	CHECK_EQ_INT(mi[3].minor, 17);
	CHECK_EQ_STR(mi[4].target, "/media/my stick/inner");
	CHECK_EQ_STR(mi[5].target, "/tmp");
	CHECK_EQ_STR(mi[6].target, "/mnt/last");
	CHECK_EQ_STR(mi[6].source, "/dev/sdd1");
	free(mi);

	REQUIRE(bs_parse_mountinfo("", &mi, &n) == 0);
	CHECK_EQ_INT(n, 0);
	free(mi);
}

static void test_parse_mountinfo_long_fields(void)
{
	struct bs_mountinfo_entry *mi = NULL;
	size_t n = 0;
	char *text = malloc(2000);
	char longpath[600];

	REQUIRE(text);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(text, 2000, "1 1 8:1 / %s rw - ext4 /dev/sda1 rw\n", longpath);
	REQUIRE(bs_parse_mountinfo(text, &mi, &n) == 0);
	REQUIRE(n == 1);
	/* truncated to the field size, still terminated */
	CHECK_EQ_INT(strlen(mi[0].target), sizeof(mi[0].target) - 1);
	CHECK_EQ_STR(mi[0].source, "/dev/sda1");
	free(mi);
	free(text);
}

static const char swaps[] =
	"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	"/dev/sda3                               partition\t8388604\t\t0\t\t-2\n"
	"/swap\\040file                          file\t\t1048572\t\t0\t\t-3\n";

static void test_parse_swaps(void)
{
	struct bs_swap_entry *sw = NULL;
	size_t n = 0;

	REQUIRE(bs_parse_swaps(swaps, &sw, &n) == 0);
	REQUIRE(n == 2);
	CHECK_EQ_STR(sw[0].path, "/dev/sda3");
	CHECK_EQ_STR(sw[1].path, "/swap file");
	free(sw);

	REQUIRE(bs_parse_swaps("Filename Type Size Used Priority\n", &sw, &n) == 0);
	CHECK_EQ_INT(n, 0);
	free(sw);
}

static void test_apply_usage(void)
{
	struct bs_mountinfo_entry *mi = NULL;
	struct bs_swap_entry sw[2];
	struct bs_drive d;
	char dir[] = "/tmp/bs-dev-XXXXXX", file[64];
	struct stat st;
	size_t n = 0;
	/* sda, sda1, sda2, and vg-root (254:2) stacked on sda2 */
	dev_t sda[] = {makedev(8, 0), makedev(8, 1), makedev(8, 2), makedev(254, 2)};
	dev_t sdb[] = {makedev(8, 16), makedev(8, 17), makedev(8, 18)};
	dev_t sde[] = {makedev(8, 64)};

	REQUIRE(bs_parse_mountinfo(mountinfo, &mi, &n) == 0);

	memset(&d, 0, sizeof(d));
	bs_drive_apply_usage(&d, sda, 4, mi, n, NULL, 0);
	CHECK(d.holds_root);
	CHECK(!d.holds_swap);
	CHECK_EQ_INT(d.nr_mounts, 2);
	CHECK_EQ_STR(d.mounts[0].target, "/");
	CHECK_EQ_STR(d.mounts[1].source, "/dev/sda1");
	CHECK_EQ_STR(d.mounts[1].target, "/boot");

	memset(&d, 0, sizeof(d));
	bs_drive_apply_usage(&d, sdb, 3, mi, n, NULL, 0);
	CHECK(!d.holds_root);
	CHECK_EQ_INT(d.nr_mounts, 2);
	CHECK_EQ_STR(d.mounts[0].source, "/dev/sdb1");
	CHECK_EQ_STR(d.mounts[0].target, "/media/my stick");
	CHECK_EQ_STR(d.mounts[1].target, "/media/my stick/inner");

	/* a swap file counts for the device whose filesystem holds it */
	REQUIRE(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/swapfile", dir);
	{
		FILE *f = fopen(file, "w");

		REQUIRE(f);
		fclose(f);
	}
	REQUIRE(stat(file, &st) == 0);
	snprintf(sw[0].path, sizeof(sw[0].path), "/nonexistent/bootseal-swap");
	snprintf(sw[1].path, sizeof(sw[1].path), "%s", file);
	memset(&d, 0, sizeof(d));
	sde[0] = st.st_dev;
	bs_drive_apply_usage(&d, sde, 1, mi, n, sw, 2);
	CHECK(d.holds_swap);
	memset(&d, 0, sizeof(d));
	bs_drive_apply_usage(&d, sdb, 3, mi, n, sw, 2);
	CHECK(!d.holds_swap);
	/* stale flags are reset */
	d.holds_root = true;
	d.holds_swap = true;
	bs_drive_apply_usage(&d, sdb, 0, mi, n, sw, 2);
	CHECK(!d.holds_root);
	CHECK(!d.holds_swap);
	CHECK_EQ_INT(d.nr_mounts, 0);
	unlink(file);
	rmdir(dir);
	free(mi);
}

static void base_drive(struct bs_drive *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/dev/sdx");
	snprintf(d->name, sizeof(d->name), "sdx");
	d->size = 1000000000ULL;
	d->logical_block_size = 512;
	d->removable = true;
}

static void test_check(void)
{
	struct bs_safety s = {0};
	struct bs_drive d;
	char why[256], dir[] = "/tmp/bs-mnt-XXXXXX";

	base_drive(&d);
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), 0);

	base_drive(&d);
	d.read_only = true;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK(strstr(why, "/dev/sdx is read-only") == why);

	base_drive(&d);
	d.holds_root = true;
	d.removable = false;
	s.allow_fixed = true; /* never overrides the root check */
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx holds the root filesystem");
	s.allow_fixed = false;

	base_drive(&d);
	d.holds_swap = true;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx holds active swap");

	base_drive(&d);
	d.size = 0;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK(strstr(why, "no medium"));

	base_drive(&d);
	s.image_size = 2000000000ULL;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx is too small: device is 1.0 GB, image is 2.0 GB");
	/* sizes that look equal when rounded are given in bytes */
	s.image_size = 1000000512ULL;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx is too small: device is 1000000000 bytes, "
			  "image is 1000000512 bytes");
	s.image_size = d.size; /* exactly fits */
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), 0);
	s.image_size = 0;

	base_drive(&d);
	d.removable = false;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx is not removable (use --allow-fixed)");
	s.allow_fixed = true;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), 0);
	s.allow_fixed = false;

	base_drive(&d);
	d.holders = true;
	snprintf(d.holder, sizeof(d.holder), "dm-3");
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK(strstr(why, "in use by dm-3"));

	base_drive(&d);
	d.nr_mounts = 1;
	snprintf(d.mounts[0].source, sizeof(d.mounts[0].source), "/dev/sdx1");
	snprintf(d.mounts[0].target, sizeof(d.mounts[0].target), "/media/boot");
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK_EQ_STR(why, "/dev/sdx1 is mounted on /media/boot (use --unmount)");
	CHECK_EQ_INT(d.nr_mounts, 1);

	/*
	 * --unmount on a directory that is not a mount point (someone else
	 * unmounted it already) succeeds and clears the list.
	 */
	REQUIRE(mkdtemp(dir));
	base_drive(&d);
	d.nr_mounts = 1;
	snprintf(d.mounts[0].source, sizeof(d.mounts[0].source), "/dev/sdx1");
	snprintf(d.mounts[0].target, sizeof(d.mounts[0].target), "%s", dir);
	s.unmount = true;
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), 0);
	CHECK_EQ_INT(d.nr_mounts, 0);
	/* a mount point that cannot be unmounted is reported */
	base_drive(&d);
	d.nr_mounts = 1;
	snprintf(d.mounts[0].source, sizeof(d.mounts[0].source), "/dev/sdx1");
	snprintf(d.mounts[0].target, sizeof(d.mounts[0].target), "%s/missing", dir);
	CHECK_EQ_INT(bs_drive_check(&d, &s, why, sizeof(why)), -1);
	CHECK(strstr(why, "cannot unmount /dev/sdx1 from ") == why);
	CHECK_EQ_INT(d.nr_mounts, 1);
	rmdir(dir);
}

static void test_usb_port(void)
{
	char port[32], err[256];

	CHECK_EQ_INT(bs_usb_port_parse("usb:1-1.3", port, sizeof(port), err, sizeof(err)), 0);
	CHECK_EQ_STR(port, "1-1.3");
	CHECK_EQ_INT(bs_usb_port_parse("3-2", port, sizeof(port), err, sizeof(err)), 0);
	CHECK_EQ_STR(port, "3-2");
	CHECK_EQ_INT(bs_usb_port_parse("usb:1-1.2.3.4.5.6", port, sizeof(port), err, sizeof(err)),
		     0);
	CHECK_EQ_INT(bs_usb_port_parse("usb:1-1.2.3.4.5.6.7", port, sizeof(port), err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(bs_usb_port_parse("usb:1", port, sizeof(port), err, sizeof(err)), -1);
	CHECK(strstr(err, "invalid USB port \"usb:1\""));
	CHECK_EQ_INT(bs_usb_port_parse("usb:", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1.", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1.1-1", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1-1", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1..2", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1/../x", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1234", port, sizeof(port), err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usb_port_parse("1-1.3", port, 4, err, sizeof(err)), -1);
}

/* The parts that touch this host: must fail cleanly, never crash. */
static void test_host(void)
{
	struct bs_drive d, *list = NULL;
	char err[256], path[64];
	size_t n = 0, i;

	err[0] = '\0';
	CHECK_EQ_INT(bs_drive_probe("/dev/null", &d, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "not a block device");
	CHECK_EQ_INT(bs_drive_probe("/nonexistent/sdz", &d, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, strerror(ENOENT));

	CHECK_EQ_INT(bs_drive_from_usb_port("usb:9-9.9.9", path, sizeof(path), err, sizeof(err)),
		     -1);
	CHECK_EQ_STR(err, "no block device behind USB port 9-9.9.9");
	CHECK_EQ_INT(bs_drive_from_usb_port("usb:x", path, sizeof(path), err, sizeof(err)), -1);

	CHECK_EQ_INT(bs_drive_reread("/nonexistent/sdz", err, sizeof(err)), -1);

	/* the list works without udevd; every entry is a whole disk with a /dev path */
	REQUIRE(bs_drive_list(&list, &n, true, err, sizeof(err)) == 0);
	for (i = 0; i < n; i++) {
		char path2[80];
		struct stat st;

		CHECK(!strncmp(list[i].path, "/dev/", 5));
		CHECK(list[i].name[0] != '\0');
		CHECK(list[i].transport[0] != '\0');
		CHECK(list[i].logical_block_size >= 512);
		snprintf(path2, sizeof(path2), "/sys/class/block/%s/partition", list[i].name);
		CHECK(stat(path2, &st) != 0);
		/* probing by path gives the same drive */
		if (!stat(list[i].path, &st) && S_ISBLK(st.st_mode)) {
			CHECK_EQ_INT(bs_drive_probe(list[i].path, &d, err, sizeof(err)), 0);
			CHECK_EQ_STR(d.name, list[i].name);
			CHECK_EQ_INT(d.size, list[i].size);
		}
	}
	free(list);
}

/* Who holds a busy drive, in words. */
static void test_busy(void)
{
	struct bs_drive d;
	struct bs_event ev[2];
	char buf[512];

	memset(&d, 0, sizeof(d));
	memset(ev, 0, sizeof(ev));
	snprintf(d.path, sizeof(d.path), "/dev/sdb");
	snprintf(d.name, sizeof(d.name), "sdb");
	ev[0].session_id = 7;
	ev[0].state = BOOTSEAL_STATE_WRITING;
	ev[0].pid = 4242;
	snprintf(ev[0].dev_name, sizeof(ev[0].dev_name), "sdc");
	ev[1] = ev[0];
	ev[1].session_id = 8;
	snprintf(ev[1].dev_name, sizeof(ev[1].dev_name), "sdb");
	CHECK(bs_session_on(ev, 2, "sdb") == &ev[1]);
	CHECK(bs_session_on(ev, 2, "sdd") == NULL);
	bs_busy_describe(&d, &ev[1], "bootseal", NULL, buf, sizeof(buf));
	CHECK_EQ_STR(
		buf,
		"another bootseal flash is writing it: session 8, started by pid 4242 (bootseal)");
	d.nr_mounts = 1;
	snprintf(d.mounts[0].source, sizeof(d.mounts[0].source), "/dev/sdb1");
	snprintf(d.mounts[0].target, sizeof(d.mounts[0].target), "/media/card");
	bs_busy_describe(&d, NULL, NULL, NULL, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "/dev/sdb1 is mounted on /media/card (use --unmount)");
	d.nr_mounts = 0;
	d.holders = true;
	snprintf(d.holder, sizeof(d.holder), "dm-0");
	bs_busy_describe(&d, NULL, NULL, "cryptcard", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "it is held by dm-0 (cryptcard) (device-mapper; see lsblk /dev/sdb)");
	snprintf(d.holder, sizeof(d.holder), "md127");
	bs_busy_describe(&d, NULL, NULL, NULL, buf, sizeof(buf));
	CHECK(strstr(buf, "md127") && strstr(buf, "RAID"));
	d.holders = false;
	bs_busy_describe(&d, NULL, NULL, NULL, buf, sizeof(buf));
	CHECK(strstr(buf, "fuser -v /dev/sdb") != NULL);
}

int main(void)
{
	test_busy();
	test_human_size();
	test_parse_mountinfo();
	test_parse_mountinfo_long_fields();
	test_parse_swaps();
	test_apply_usage();
	test_check();
	test_usb_port();
	test_host();
	return unit_done();
}
