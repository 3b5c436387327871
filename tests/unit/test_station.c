// SPDX-License-Identifier: GPL-2.0
/* The production-line station: slots, board records, journal entries, metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "station.h"
#include "unit.h"

static void test_ports(void)
{
	CHECK(bs_port_path_ok("1-1"));
	CHECK(bs_port_path_ok("3-1.3.2"));
	CHECK(bs_port_path_ok("10-12.4"));
	CHECK(!bs_port_path_ok(""));
	CHECK(!bs_port_path_ok("1"));
	CHECK(!bs_port_path_ok("1-"));
	CHECK(!bs_port_path_ok("1-0"));
	CHECK(!bs_port_path_ok("1-1."));
	CHECK(!bs_port_path_ok("1-1..2"));
	CHECK(!bs_port_path_ok("a-1"));
	CHECK(!bs_port_path_ok("1-1.1.1.1.1.1.1.1"));
	CHECK(!bs_port_path_ok("/dev/sda"));
}

static void test_slots(void)
{
	struct bs_slots *s = calloc(1, sizeof(*s));
	char err[256], path[] = "/tmp/bs-slots-XXXXXX";
	FILE *f;
	int fd;

	REQUIRE(s);
	CHECK_EQ_INT(bs_slot_add(s, "1-1.3=slot3", err, sizeof(err)), 0);
	CHECK_EQ_STR(bs_slot_name(s, "1-1.3"), "slot3");
	CHECK(bs_slot_name(s, "1-1.4") == NULL);
	CHECK_EQ_INT(bs_slot_add(s, "1-1.3=other", err, sizeof(err)), -1);
	CHECK(strstr(err, "already has") != NULL);
	CHECK_EQ_INT(bs_slot_add(s, "1-1.4=slot3", err, sizeof(err)), -1);
	CHECK(strstr(err, "already port 1-1.3's") != NULL);
	CHECK_EQ_INT(bs_slot_add(s, "1-1.4", err, sizeof(err)), -1);
	CHECK(strstr(err, "PORT=NAME") != NULL);
	CHECK_EQ_INT(bs_slot_add(s, "sda=x", err, sizeof(err)), -1);
	CHECK(strstr(err, "BUS-PORT") != NULL);
	CHECK_EQ_INT(bs_slot_add(s, "1-2=a b", err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_slot_add(s, "1-2=", err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_slot_add(s, "1-2=ab\"c", err, sizeof(err)), -1);
	CHECK_EQ_INT(bs_slot_add(s, "1-2=abcdefghijabcdefghijabcdefghijabc", err, sizeof(err)), -1);

	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	f = fdopen(fd, "w");
	REQUIRE(f);
	fputs("# the jig\n\n  2-1 left\n2-2=right  \n", f);
	fclose(f);
	CHECK_EQ_INT(bs_slot_file(s, path, err, sizeof(err)), 0);
	CHECK_EQ_STR(bs_slot_name(s, "2-1"), "left");
	CHECK_EQ_STR(bs_slot_name(s, "2-2"), "right");
	f = fopen(path, "w");
	REQUIRE(f);
	fputs("2-3 ok\n2-4 not ok\n", f);
	fclose(f);
	CHECK_EQ_INT(bs_slot_file(s, path, err, sizeof(err)), -1);
	CHECK(strstr(err, ":2: ") != NULL);
	unlink(path);
	CHECK_EQ_INT(bs_slot_file(s, "/nonexistent/slots", err, sizeof(err)), -1);
	free(s);
}

static const char keys[2][BS_USBBOOT_META_KEY_LEN] = {"MAC_ADDR", "JTAG_LOCKED"};
static const char vals[2][BS_USBBOOT_META_VAL_LEN] = {"d8:3a:dd:00:00:01", "0"};

static void board(struct bs_usbboot_board *b)
{
	memset(b, 0, sizeof(*b));
	b->port = "1-1.3";
	b->chip = "BCM2711";
	b->serial = "5e4d3c2b";
	b->devnode = "/dev/sdb";
	b->size = 8388608;
	b->nmeta = 2;
	b->meta_key = keys;
	b->meta_val = vals;
	b->boot_seconds = 4.5;
}

static void test_record(void)
{
	struct bs_usbboot_board b;
	struct bs_board_result r = {.board = &b};
	char *rec;

	board(&b);
	r.slot = "slot3";
	r.image = "os.img.xz";
	r.image_sha256 = "ab";
	r.exit = BS_EXIT_OK;
	r.result = bs_board_result_name(r.exit);
	r.bytes = 4096;
	r.boot_seconds = 4.5;
	r.write_seconds = 1.25;
	r.verify_seconds = 0.5;
	r.total_seconds = 6.5;
	r.verified = true;
	r.time = 1764496800.25; /* 2025-11-30T10:00:00.250Z */
	rec = bs_board_record(&r);
	REQUIRE(rec);
	CHECK_EQ_STR(rec,
		     "{\"type\":\"board\",\"time\":\"2025-11-30T10:00:00.250Z\",\"port\":\"1-1.3\","
		     "\"slot\":\"slot3\",\"chip\":\"BCM2711\",\"serial\":\"5e4d3c2b\","
		     "\"metadata\":{\"MAC_ADDR\":\"d8:3a:dd:00:00:01\",\"JTAG_LOCKED\":\"0\"},"
		     "\"image\":\"os.img.xz\",\"image_sha256\":\"ab\",\"target\":\"/dev/sdb\","
		     "\"target_size\":8388608,\"result\":\"ok\",\"exit\":0,\"verified\":true,"
		     "\"bytes\":4096,\"seconds\":{\"boot\":4.500,\"write\":1.250,"
		     "\"verify\":0.500,\"total\":6.500},\"error\":null}");
	free(rec);
	CHECK_EQ_STR(bs_board_result_name(BS_EXIT_USB), "boot");
	CHECK_EQ_STR(bs_board_result_name(BS_EXIT_DEVICE), "device");
	CHECK_EQ_STR(bs_board_result_name(BS_EXIT_VERIFY), "verify");
	CHECK_EQ_STR(bs_board_result_name(130), "interrupted");
}

/* The text form of @r's journal entry (what stderr gets without a journal). */
static void board_text(const struct bs_board_result *r, char *line, size_t n)
{
	struct bs_journal_entry e;

	bs_board_journal_entry(r, &e);
	CHECK(!e.incomplete);
	bs_journal_text(&e, line, n);
	bs_journal_free(&e);
}

/*
 * Checks the fields of @e: each a name and its value (NULL: the field is
 * absent), up to a NULL name.
 */
static void check_fields(const struct bs_journal_entry *e, const char *const (*kv)[2])
{
	for (; kv[0][0]; kv++) {
		const char *v = bs_journal_get(e, kv[0][0]), *want = kv[0][1];

		if (want ? !v || strcmp(v, want) : v != NULL)
			fprintf(stderr, "journal field %s:\n", kv[0][0]);
		if (want)
			CHECK_EQ_STR(v, want);
		else
			CHECK(v == NULL);
	}
}

static void test_journal(void)
{
	struct bs_usbboot_board b;
	struct bs_board_result r = {.board = &b};
	struct bs_journal_entry e;
	char line[1024];
	size_t i;

	board(&b);
	r.exit = BS_EXIT_DEVICE;
	r.result = "device";
	r.total_seconds = 7;
	r.error = "too small: \"8 MB\" \\ image";
	board_text(&r, line, sizeof(line));
	CHECK_EQ_STR(line,
		     "<3>bootseal: board PORT=1-1.3 CHIP=BCM2711 SERIAL=5e4d3c2b RESULT=device "
		     "EXIT=4 BYTES=0 SECONDS=7.000 TARGET=/dev/sdb "
		     "ERROR=\"too small: \\\"8 MB\\\" \\\\ image\"");

	/* The native fields: one per value, unquoted, absent when unknown. */
	bs_board_journal_entry(&r, &e);
	CHECK_EQ_STR(bs_journal_get(&e, "PRIORITY"), "3");
	CHECK_EQ_STR(bs_journal_get(&e, "SYSLOG_IDENTIFIER"), "bootseal");
	CHECK(!strncmp(bs_journal_get(&e, "MESSAGE"), "board PORT=1-1.3 CHIP=BCM2711 ", 30));
	check_fields(&e, (const char *const[][2]){
				 {"BOOTSEAL_EVENT", "board"},
				 {"BOOTSEAL_PORT", "1-1.3"},
				 {"BOOTSEAL_SLOT", NULL},
				 {"BOOTSEAL_CHIP", "BCM2711"},
				 {"BOOTSEAL_SERIAL", "5e4d3c2b"},
				 {"BOOTSEAL_META_MAC_ADDR", "d8:3a:dd:00:00:01"},
				 {"BOOTSEAL_META_JTAG_LOCKED", "0"},
				 {"BOOTSEAL_TARGET", "/dev/sdb"},
				 {"BOOTSEAL_TARGET_SIZE", "8388608"},
				 {"BOOTSEAL_RESULT", "device"},
				 {"BOOTSEAL_EXIT", "4"},
				 {"BOOTSEAL_VERIFIED", "false"},
				 {"BOOTSEAL_BYTES", "0"},
				 {"BOOTSEAL_SECONDS", "7.000"},
				 {"BOOTSEAL_ERROR", "too small: \"8 MB\" \\ image"},
				 {"BOOTSEAL_IMAGE", NULL},
				 {"BOOTSEAL", NULL},
				 {NULL, NULL},
			 });
	/* Every field is KEY=value with a valid journal field name. */
	for (i = 0; i < e.n; i++) {
		const char *f = e.iov[i].iov_base;
		size_t k = strspn(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

		CHECK(k > 0 && k <= 64 && f[k] == '=' && f[0] != '_');
		CHECK_EQ_INT((long)e.iov[i].iov_len, (long)strlen(f));
	}
	bs_journal_free(&e);

	r.exit = 0;
	r.result = "ok";
	r.error = NULL;
	r.slot = "slot3";
	r.bytes = 12;
	r.image = "/srv/os 1.img";
	r.image_sha256 = "ab";
	r.verified = true;
	r.boot_seconds = 4.5;
	r.write_seconds = 1.25;
	r.verify_seconds = 0.5;
	board_text(&r, line, sizeof(line));
	CHECK(!strncmp(line, "<6>bootseal: board PORT=1-1.3 SLOT=slot3 ", 41));
	CHECK(strstr(line, " BYTES=12 ") != NULL);
	CHECK(strstr(line, " IMAGE_SHA256=ab") != NULL);
	bs_board_journal_entry(&r, &e);
	check_fields(&e, (const char *const[][2]){
				 {"PRIORITY", "6"},
				 {"BOOTSEAL_SLOT", "slot3"},
				 {"BOOTSEAL_IMAGE", "/srv/os 1.img"},
				 {"BOOTSEAL_IMAGE_SHA256", "ab"},
				 {"BOOTSEAL_VERIFIED", "true"},
				 {"BOOTSEAL_BYTES", "12"},
				 {"BOOTSEAL_BOOT_SECONDS", "4.500"},
				 {"BOOTSEAL_WRITE_SECONDS", "1.250"},
				 {"BOOTSEAL_VERIFY_SECONDS", "0.500"},
				 {"BOOTSEAL_ERROR", NULL},
				 {NULL, NULL},
			 });
	/* The text form never overflows. */
	bs_journal_text(&e, line, 20);
	CHECK(strlen(line) < 20);
	bs_journal_free(&e);

	/* A board that never became a disk: no target fields. */
	b.devnode = NULL;
	b.nmeta = 0;
	bs_board_journal_entry(&r, &e);
	check_fields(&e, (const char *const[][2]){
				 {"BOOTSEAL_TARGET", NULL},
				 {"BOOTSEAL_TARGET_SIZE", NULL},
				 {"BOOTSEAL_META_MAC_ADDR", NULL},
				 {NULL, NULL},
			 });
	bs_journal_free(&e);

	/* Too many fields: the entry is incomplete, and emitting it prints its text. */
	bs_journal_begin(&e, 5, "many");
	for (i = 0; i < BS_JOURNAL_MAX_FIELDS; i++)
		bs_journal_fmt(&e, "BOOTSEAL_N", "%zu", i);
	CHECK(e.incomplete);
	CHECK_EQ_INT((long)e.n, BS_JOURNAL_MAX_FIELDS);
	CHECK_EQ_INT(bs_journal_emit(&e), -ENOMEM);
	bs_journal_free(&e);
	CHECK_EQ_INT((long)e.n, 0);
}

/* Reads the file at @path into @buf as a string, then removes it. */
static void read_and_remove(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	REQUIRE(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
}

static void test_metrics(void)
{
	struct bs_usbboot_board b;
	struct bs_board_result r = {.board = &b};
	struct bs_metrics m = {0};
	char path[] = "/tmp/bs-metrics-XXXXXX", buf[4096], err[256];
	int fd;

	board(&b);
	r.exit = 0;
	r.result = "ok";
	r.bytes = 1000;
	r.total_seconds = 12;
	r.time = 100;
	bs_metrics_add(&m, &r);
	r.total_seconds = 3;
	bs_metrics_add(&m, &r);
	r.exit = BS_EXIT_USB;
	r.result = "boot";
	r.bytes = 0;
	bs_metrics_add(&m, &r);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ_INT(bs_metrics_write(&m, path, err, sizeof(err)), 0);
	read_and_remove(path, buf, sizeof(buf));
	CHECK(strstr(buf, "# TYPE bootseal_boards_total counter\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_boards_total{result=\"ok\"} 2\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_boards_total{result=\"boot\"} 1\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_boards_total{result=\"verify\"} 0\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_written_bytes_total 2000\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_bucket{le=\"5\"} 1\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_bucket{le=\"10\"} 1\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_bucket{le=\"20\"} 2\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_bucket{le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_sum 15.000\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_flash_seconds_count 2\n") != NULL);
	CHECK(strstr(buf, "\nbootseal_last_board_timestamp_seconds 100.000\n") != NULL);
	CHECK_EQ_INT(bs_metrics_write(&m, "/nonexistent/dir/m.prom", err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/dir/m.prom.tmp.") != NULL);
}

static void test_record_append(void)
{
	char path[] = "/tmp/bs-record-XXXXXX", buf[256], err[256];
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ_INT(bs_record_append(path, "{\"a\":1}", err, sizeof(err)), 0);
	CHECK_EQ_INT(bs_record_append(path, "{\"a\":2}", err, sizeof(err)), 0);
	read_and_remove(path, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "{\"a\":1}\n{\"a\":2}\n");
	CHECK_EQ_INT(bs_record_append("/nonexistent/dir/r.jsonl", "x", err, sizeof(err)), -1);
}

int main(void)
{
	test_ports();
	test_slots();
	test_record();
	test_journal();
	test_metrics();
	test_record_append();
	return unit_done();
}
