// SPDX-License-Identifier: GPL-2.0
/* usbboot protocol framing: boot message, file requests, name sanitising. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "usbboot.h"

static size_t mkreq(uint8_t *buf, uint32_t cmd, const char *name)
{
	memset(buf, 0, BS_USBBOOT_REQ_LEN);
	buf[0] = cmd & 0xff;
	buf[1] = (cmd >> 8) & 0xff;
	buf[2] = (cmd >> 16) & 0xff;
	buf[3] = cmd >> 24;
	memcpy(buf + 4, name, strlen(name));
	return BS_USBBOOT_REQ_LEN;
}

static void test_boot_message(void)
{
	uint8_t m[BS_USBBOOT_BOOTMSG_LEN];
	static const uint8_t zero[20];

	memset(m, 0xaa, sizeof(m));
	bs_usbboot_boot_message(m, 52116); /* 0x0000cb94 */
	CHECK_EQ_INT(m[0], 0x94);
	CHECK_EQ_INT(m[1], 0xcb);
	CHECK_EQ_INT(m[2], 0);
	CHECK_EQ_INT(m[3], 0);
	CHECK(!memcmp(m + 4, zero, 20));
	bs_usbboot_boot_message(m, 0x12345678);
	CHECK_EQ_INT(m[0], 0x78);
	CHECK_EQ_INT(m[3], 0x12);
	CHECK(!memcmp(m + 4, zero, 20));
}

static void test_requests(void)
{
	uint8_t b[BS_USBBOOT_REQ_LEN + 16];
	struct bs_usbboot_req r;
	char err[128];
	size_t n;

	n = mkreq(b, 0, "config.txt");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.cmd, BS_USBBOOT_GET_FILE_SIZE);
	CHECK_EQ_STR(r.name, "config.txt");

	n = mkreq(b, 1, "overlays/dwc2.dtbo");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.cmd, BS_USBBOOT_READ_FILE);
	CHECK_EQ_STR(r.name, "overlays/dwc2.dtbo");

	/* Done, and an empty name is Done whatever the command says. */
	n = mkreq(b, 2, "");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.cmd, BS_USBBOOT_DONE);
	n = mkreq(b, 0, "");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.cmd, BS_USBBOOT_DONE);
	n = mkreq(b, 0x7fffffff, "");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.cmd, BS_USBBOOT_DONE);

	/* Unknown commands with a name are refused, naming the value. */
	n = mkreq(b, 3, "x");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown command 3") != NULL);
	n = mkreq(b, 0xffffffffu, "x");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "4294967295") != NULL);

	/* Too short for a command. */
	CHECK_EQ_INT(bs_usbboot_parse_request(b, 3, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "3 bytes") != NULL);
	CHECK_EQ_INT(bs_usbboot_parse_request(b, 0, &r, err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_usbboot_parse_request(NULL, 260, &r, err, sizeof(err)), -1);

	/* A name filling all 256 bytes without a NUL is hostile. */
	memset(b, 'A', sizeof(b));
	b[0] = 0;
	b[1] = 0;
	b[2] = 0;
	b[3] = 0;
	CHECK_EQ_INT(bs_usbboot_parse_request(b, BS_USBBOOT_REQ_LEN, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "not NUL-terminated") != NULL);
	/* ... also when the device sends more than 260 bytes. */
	CHECK_EQ_INT(bs_usbboot_parse_request(b, sizeof(b), &r, err, sizeof(err)), -1);
	/* 255 characters and a NUL is the longest legal name. */
	b[4 + 255] = 0;
	CHECK_EQ_INT(bs_usbboot_parse_request(b, BS_USBBOOT_REQ_LEN, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(strlen(r.name), 255);

	/* A short reply (dummy_hcd delivers 255 bytes): the name ends with the data. */
	n = mkreq(b, 1, "kernel7.img");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, 255, &r, err, sizeof(err)), 0);
	CHECK_EQ_STR(r.name, "kernel7.img");
	memset(b + 4, 'B', 251);
	CHECK_EQ_INT(bs_usbboot_parse_request(b, 255, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(strlen(r.name), 251);
	n = mkreq(b, 0, "abc");
	CHECK_EQ_INT(bs_usbboot_parse_request(b, 6, &r, err, sizeof(err)), 0);
	CHECK_EQ_STR(r.name, "ab");

	/* Bytes after the NUL do not leak into the name. */
	n = mkreq(b, 0, "a.txt");
	memcpy(b + 10, "../../etc/shadow", 16);
	CHECK_EQ_INT(bs_usbboot_parse_request(b, n, &r, err, sizeof(err)), 0);
	CHECK_EQ_STR(r.name, "a.txt");
}

static void test_names(void)
{
	static const char *const good[] = {
		"config.txt", "overlays/dwc2.dtbo", "bcm2710-rpi-cm3.dtb", "a.b.c", "x/y/z",
		".hidden",
	};
	static const struct {
		const char *name, *why;
	} bad[] = {
		{"", "empty"},
		{"..", ".."},
		{"../etc/passwd", ".."},
		{"overlays/../../x", ".."},
		{"a/..", ".."},
		{"a..b", ".."},
		{"/etc/passwd", "absolute"},
		{"a//b", "empty path component"},
		{"a/", "empty path component"},
		{"./config.txt", "'.'"},
		{"a/./b", "'.'"},
		{"a\\b", "backslash"},
		{"a\nb", "control"},
		{"caf\xc3\xa9", "non-ASCII"},
		{"*MAC_ADDR*dc:a6:32:00:00:01", "metadata"},
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why[0] = '\0';
		CHECK_EQ_INT(bs_usbboot_name_ok(good[i], why, sizeof(why)), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CHECK_EQ_INT(bs_usbboot_name_ok(bad[i].name, why, sizeof(why)), -1);
		if (!strstr(why, bad[i].why))
			fprintf(stderr, "name '%s': reason '%s' lacks '%s'\n", bad[i].name, why,
				bad[i].why);
		CHECK(strstr(why, bad[i].why) != NULL);
	}
	CHECK_EQ_INT(bs_usbboot_name_ok(NULL, why, sizeof(why)), -1);
}

static void test_chips(void)
{
	CHECK_EQ_STR(bs_usbboot_chip(0x2763), "BCM2835");
	CHECK_EQ_STR(bs_usbboot_chip(0x2764), "BCM2837");
	CHECK_EQ_STR(bs_usbboot_chip(0x2711), "BCM2711");
	CHECK_EQ_STR(bs_usbboot_chip(0x2712), "BCM2712");
	CHECK(bs_usbboot_chip(0x0001) == NULL);
	CHECK(bs_usbboot_chip(0xa4a5) == NULL);
}

/* Metadata records "*KEY*VALUE" from BCM2711 firmware. */
static void test_meta(void)
{
	char k[BS_USBBOOT_META_KEY_LEN], v[BS_USBBOOT_META_VAL_LEN], why[96], big[300];

	CHECK_EQ_INT(bs_usbboot_parse_meta("*MAC_ADDR*d8:3a:dd:5e:4d:3c", k, v, why, sizeof(why)),
		     0);
	CHECK_EQ_STR(k, "MAC_ADDR");
	CHECK_EQ_STR(v, "d8:3a:dd:5e:4d:3c");
	CHECK_EQ_INT(bs_usbboot_parse_meta("*JTAG_LOCKED*", k, v, why, sizeof(why)), 0);
	CHECK_EQ_STR(v, "");
	/* A value may hold '*'; only the first one separates. */
	CHECK_EQ_INT(bs_usbboot_parse_meta("*K*a*b", k, v, why, sizeof(why)), 0);
	CHECK_EQ_STR(v, "a*b");
	CHECK_EQ_INT(bs_usbboot_parse_meta("MAC*x", k, v, why, sizeof(why)), -1);
	CHECK_EQ_INT(bs_usbboot_parse_meta("*MAC_ADDR", k, v, why, sizeof(why)), -1);
	CHECK_EQ_INT(bs_usbboot_parse_meta("**x", k, v, why, sizeof(why)), -1);
	CHECK_EQ_INT(bs_usbboot_parse_meta("*mac*x", k, v, why, sizeof(why)), -1);
	CHECK(strstr(why, "A-Z") != NULL);
	CHECK_EQ_INT(bs_usbboot_parse_meta("*K*a\tb", k, v, why, sizeof(why)), -1);
	CHECK(strstr(why, "printable") != NULL);
	CHECK_EQ_INT(bs_usbboot_parse_meta("*ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456*x", k, v, why,
					   sizeof(why)),
		     -1);
	memset(big, 'v', sizeof(big));
	memcpy(big, "*K*", 3);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(bs_usbboot_parse_meta(big, k, v, why, sizeof(why)), -1);
	CHECK(strstr(why, "value of") != NULL);
}

/* The default firmware directory of a build tree is its blobs/. */
static void test_default_firmware(void)
{
	char buf[4096];
	const char *d = bs_usbboot_default_firmware(buf, sizeof(buf));

	/* build/unit/test_usbboot -> build/unit/../blobs does not exist; the
	 * installed one may. Either NULL or an existing directory. */
	if (d)
		CHECK(strstr(d, "blobs") != NULL);
}

int main(void)
{
	test_boot_message();
	test_requests();
	test_names();
	test_chips();
	test_meta();
	test_default_firmware();
	return unit_done();
}
