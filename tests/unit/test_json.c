// SPDX-License-Identifier: GPL-2.0
/* The JSON emitter: structure, escaping, invalid UTF-8, numbers, misuse. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "unit.h"

static void check_str(const char *in, const char *want)
{
	struct bs_json j;

	bs_json_begin(&j);
	bs_json_str(&j, "s", in);
	{
		const char *got = bs_json_finish(&j);
		char exp[512];

		snprintf(exp, sizeof(exp), "{\"s\":%s}", want);
		CHECK_EQ_STR(got, exp);
	}
	bs_json_free(&j);
}

static void test_structure(void)
{
	struct bs_json j;

	bs_json_begin(&j);
	bs_json_str(&j, "type", "event");
	bs_json_uint(&j, "session", 3);
	bs_json_int(&j, "delta", -5);
	bs_json_bool(&j, "ok", true);
	bs_json_bool(&j, "bad", false);
	bs_json_null(&j, "none");
	bs_json_str(&j, "nullstr", NULL);
	bs_json_array_begin(&j, "list");
	bs_json_uint(&j, NULL, 1);
	bs_json_str(&j, NULL, "two");
	bs_json_object_begin(&j, NULL);
	bs_json_str(&j, "k", "v");
	bs_json_object_end(&j);
	bs_json_array_begin(&j, NULL);
	bs_json_array_end(&j);
	bs_json_array_end(&j);
	bs_json_object_begin(&j, "empty");
	bs_json_object_end(&j);
	CHECK_EQ_STR(bs_json_finish(&j),
		     "{\"type\":\"event\",\"session\":3,\"delta\":-5,\"ok\":true,\"bad\":false,"
		     "\"none\":null,\"nullstr\":null,\"list\":[1,\"two\",{\"k\":\"v\"},[]],"
		     "\"empty\":{}}");
	bs_json_free(&j);

	/* finish closes whatever is still open */
	bs_json_begin(&j);
	bs_json_array_begin(&j, "a");
	bs_json_object_begin(&j, NULL);
	bs_json_uint(&j, "x", 1);
	CHECK_EQ_STR(bs_json_finish(&j), "{\"a\":[{\"x\":1}]}");
	bs_json_free(&j);

	bs_json_begin(&j);
	CHECK_EQ_STR(bs_json_finish(&j), "{}");
	bs_json_free(&j);
}

static void test_escaping(void)
{
	check_str("plain", "\"plain\"");
	check_str("", "\"\"");
	check_str("a\"b", "\"a\\\"b\"");
	check_str("a\\b", "\"a\\\\b\"");
	check_str("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	check_str("\x01\x1f", "\"\\u0001\\u001f\"");
	check_str("del\x7f", "\"del\\u007f\"");
	check_str("/media/my stick", "\"/media/my stick\"");
	/* valid UTF-8 passes through: é, €, U+1F600 */
	check_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* invalid UTF-8 becomes U+FFFD, one per bad byte */
	check_str("\xff", "\"\\ufffd\"");
	check_str("a\x80z", "\"a\\ufffdz\"");
	check_str("\xc0\x80", "\"\\ufffd\\ufffd\"");			   /* overlong NUL */
	check_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");		   /* UTF-16 surrogate */
	check_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	check_str("x\xe2\x82", "\"x\\ufffd\\ufffd\""); /* truncated at the end */
	check_str("\xc3", "\"\\ufffd\"");
	check_str("k\"ey", "\"k\\\"ey\"");
}

static void test_keys_escaped(void)
{
	struct bs_json j;

	bs_json_begin(&j);
	bs_json_uint(&j, "we\"ird\n", 1);
	CHECK_EQ_STR(bs_json_finish(&j), "{\"we\\\"ird\\n\":1}");
	bs_json_free(&j);
}

static void test_numbers(void)
{
	struct bs_json j;

	bs_json_begin(&j);
	bs_json_uint(&j, "max", UINT64_MAX);
	bs_json_int(&j, "min", INT64_MIN);
	bs_json_double(&j, "pct", 42.25, 1);
	bs_json_double(&j, "zero", -0.01, 1);
	bs_json_double(&j, "nan", NAN, 2);
	bs_json_double(&j, "inf", INFINITY, 2);
	bs_json_double(&j, "int", 3.7, 0);
	bs_json_double(&j, "big", 1e300, 3);
	CHECK_EQ_STR(bs_json_finish(&j),
		     "{\"max\":18446744073709551615,\"min\":-9223372036854775808,"
		     "\"pct\":42.2,\"zero\":0.0,\"nan\":null,\"inf\":null,\"int\":4,"
		     "\"big\":1.0000000000000001e+300}");
	bs_json_free(&j);
}

static void test_misuse(void)
{
	struct bs_json j;
	int i;

	bs_json_begin(&j);
	bs_json_object_end(&j);
	bs_json_object_end(&j); /* one too many */
	CHECK(bs_json_finish(&j) == NULL);
	bs_json_free(&j);

	bs_json_begin(&j);
	bs_json_array_begin(&j, "a");
	bs_json_object_end(&j); /* wrong closer */
	CHECK(bs_json_finish(&j) == NULL);
	bs_json_free(&j);

	bs_json_begin(&j);
	for (i = 0; i < BS_JSON_MAX_DEPTH + 2; i++)
		bs_json_array_begin(&j, i ? NULL : "deep");
	CHECK(bs_json_finish(&j) == NULL);
	bs_json_free(&j);
}

static void test_quote(void)
{
	char buf[16];

	CHECK_EQ_INT(bs_json_quote("a\"b", buf, sizeof(buf)), 6);
	CHECK_EQ_STR(buf, "\"a\\\"b\"");
	/* truncation: like snprintf, returns the full length, always terminated */
	CHECK_EQ_INT(bs_json_quote("0123456789abcdefghij", buf, 8), 22);
	CHECK_EQ_STR(buf, "\"012345");
	CHECK_EQ_INT(bs_json_quote("xyz", buf, 0), 5);
	CHECK_EQ_INT(bs_json_quote(NULL, buf, sizeof(buf)), 2);
	CHECK_EQ_STR(buf, "\"\"");
}

static void test_print(void)
{
	char path[] = "/tmp/bs-json-XXXXXX", line[256];
	struct bs_json j;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	f = fdopen(fd, "w+");
	REQUIRE(f);
	bs_json_begin(&j);
	bs_json_str(&j, "a", "b");
	CHECK_EQ_INT(bs_json_print(&j, f), 0);
	CHECK(j.buf == NULL);
	bs_json_begin(&j);
	bs_json_uint(&j, "n", 2);
	CHECK_EQ_INT(bs_json_print(&j, f), 0);
	rewind(f);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK_EQ_STR(line, "{\"a\":\"b\"}\n");
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK_EQ_STR(line, "{\"n\":2}\n");
	CHECK(fgets(line, sizeof(line), f) == NULL);
	fclose(f);
	unlink(path);
}

/* Long strings force the buffer to grow several times. */
static void test_growth(void)
{
	struct bs_json j;
	char *big = malloc(70001);
	const char *out;
	int i;

	REQUIRE(big);
	memset(big, '"', 70000);
	big[70000] = '\0';
	bs_json_begin(&j);
	for (i = 0; i < 3; i++)
		bs_json_str(&j, "q", big);
	out = bs_json_finish(&j);
	REQUIRE(out);
	CHECK_EQ_INT(strlen(out), 2 + 3 * (4 + 2 + 140000) + 2);
	bs_json_free(&j);
	free(big);
}

int main(void)
{
	test_structure();
	test_escaping();
	test_keys_escaped();
	test_numbers();
	test_misuse();
	test_quote();
	test_print();
	test_growth();
	return unit_done();
}
