// SPDX-License-Identifier: GPL-2.0
/*
 * BOOTSEAL_CMD_EVENT parsing with the userspace strict policy, and the plain
 * and JSON renderings of an event. Messages are built with libnl exactly as
 * the kernel lays them out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "json.h"
#include "nl.h"
#include "unit.h"

#define FAMILY 0x22

enum omit { NONE, NO_SESSION, NO_EVENT, NO_STATE, NO_NAME };

/* A version-1 event message with just the session id, event and state. */
static struct nl_msg *state_msg(uint64_t session, uint32_t event, uint32_t state)
{
	struct nl_msg *msg = nlmsg_alloc();

	REQUIRE(msg);
	REQUIRE(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, BOOTSEAL_CMD_EVENT, 1));
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_SESSION_ID, session) == 0);
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_EVENT, event) == 0);
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_STATE, state) == 0);
	return msg;
}

static struct nl_msg *event_msg(uint8_t cmd, enum omit omit, const char *name)
{
	struct nl_msg *msg = nlmsg_alloc();

	REQUIRE(msg);
	REQUIRE(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd, BOOTSEAL_GENL_VERSION));
	if (omit != NO_SESSION)
		REQUIRE(nla_put_u64(msg, BOOTSEAL_A_SESSION_ID, 3) == 0);
	if (omit != NO_EVENT)
		REQUIRE(nla_put_u32(msg, BOOTSEAL_A_EVENT, BOOTSEAL_EVENT_PROGRESS) == 0);
	if (omit != NO_STATE)
		REQUIRE(nla_put_u32(msg, BOOTSEAL_A_STATE, BOOTSEAL_STATE_WRITING) == 0);
	if (omit != NO_NAME)
		REQUIRE(nla_put_string(msg, BOOTSEAL_A_DEV_NAME, name) == 0);
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_DEV, (16 & 0xff) | (8 << 8)) == 0);
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_DEV_SIZE, 7948206080ULL) == 0);
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_HEAD_LEN, 1048576) == 0);
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_BYTES_EXPECTED, 284000000) == 0);
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_BYTES_SUBMITTED, 130000000) == 0);
	REQUIRE(nla_put_u64(msg, BOOTSEAL_A_BYTES_COMPLETED, 120500000) == 0);
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_PID, 4242) == 0);
	return msg;
}

static int parse(struct nl_msg *msg, struct bs_event *ev, char *err, size_t len)
{
	int r = bs_event_parse(nlmsg_hdr(msg), ev, err, len);

	nlmsg_free(msg);
	return r;
}

static void test_parse_ok(void)
{
	struct bs_event ev;
	char err[256];

	REQUIRE(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb"), &ev, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ev.session_id, 3);
	CHECK_EQ_INT(ev.event, BOOTSEAL_EVENT_PROGRESS);
	CHECK_EQ_INT(ev.state, BOOTSEAL_STATE_WRITING);
	CHECK_EQ_STR(ev.dev_name, "sdb");
	CHECK_EQ_INT(ev.dev, 0x810);
	CHECK_EQ_INT(ev.dev_size, 7948206080ULL);
	CHECK_EQ_INT(ev.head_len, 1048576);
	CHECK_EQ_INT(ev.bytes_expected, 284000000);
	CHECK_EQ_INT(ev.bytes_submitted, 130000000);
	CHECK_EQ_INT(ev.bytes_completed, 120500000);
	CHECK_EQ_INT(ev.pid, 4242);
	CHECK_EQ_INT(ev.error, 0);
	CHECK(ev.error_sector == BOOTSEAL_SECTOR_NONE);
}

static void test_parse_rejects(void)
{
	struct bs_event ev;
	struct nl_msg *msg;
	char err[256];

	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_GET, NONE, "sdb"), &ev, err, sizeof(err)), -1);
	CHECK(strstr(err, "unexpected command"));
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NO_SESSION, "sdb"), &ev, err, sizeof(err)),
		     -1);
	CHECK_EQ_STR(err, "no session id attribute");
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NO_EVENT, "sdb"), &ev, err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NO_STATE, "sdb"), &ev, err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NO_NAME, "sdb"), &ev, err, sizeof(err)),
		     -1);
	CHECK_EQ_STR(err, "no device name attribute");
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, ""), &ev, err, sizeof(err)), -1);
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "../sda"), &ev, err, sizeof(err)),
		     -1);
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "sd\x1b[2J"), &ev, err, sizeof(err)),
		     -1);
	/* longer than BOOTSEAL_DISK_NAME_LEN */
	CHECK_EQ_INT(
		parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "abcdefghijklmnopqrstuvwxyz0123456789"),
		      &ev, err, sizeof(err)),
		-1);
	CHECK(strstr(err, "invalid attribute"));
	/* exactly 31 characters + NUL fits */
	CHECK_EQ_INT(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "abcdefghijklmnopqrstuvwxyz01234"),
			   &ev, err, sizeof(err)),
		     0);
	CHECK_EQ_STR(ev.dev_name, "abcdefghijklmnopqrstuvwxyz01234");

	/* wrong length: a u32 where a u64 belongs */
	msg = nlmsg_alloc();
	REQUIRE(msg);
	REQUIRE(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, BOOTSEAL_CMD_EVENT, 1));
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_SESSION_ID, 3) == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
	CHECK(strstr(err, "invalid attribute"));

	/* too long: 12 bytes for a u32 */
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	{
		char pad[12] = {0};

		REQUIRE(nla_put(msg, BOOTSEAL_A_ERRNO, sizeof(pad), pad) == 0);
	}
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);

	/* a string without its NUL */
	msg = state_msg(3, BOOTSEAL_EVENT_STATE, BOOTSEAL_STATE_SEALED);
	REQUIRE(nla_put(msg, BOOTSEAL_A_DEV_NAME, 3, "sdb") == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);

	/* a session that is not attached has no device yet */
	msg = state_msg(5, BOOTSEAL_EVENT_DUMP, BOOTSEAL_STATE_NONE);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), 0);
	CHECK_EQ_STR(ev.dev_name, "");
	{
		char line[128];

		bs_event_format(&ev, line, sizeof(line));
		CHECK_EQ_STR(line, "session 5 - none 0 B");
	}

	/* session 0 and event 0 are not events */
	msg = state_msg(0, BOOTSEAL_EVENT_STATE, BOOTSEAL_STATE_SEALED);
	REQUIRE(nla_put_string(msg, BOOTSEAL_A_DEV_NAME, "sdb") == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "session id 0");
}

static void test_parse_staged(void)
{
	struct bs_event ev;
	struct nl_msg *msg;
	struct bs_json j;
	char err[256], line[256];
	const char *out;

	/* an ioctl session: kind absent or 0 */
	REQUIRE(parse(event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb"), &ev, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ev.kind, BOOTSEAL_KIND_SESSION);
	CHECK_EQ_STR(ev.staged_name, "");
	/* a staged disk names its dm device */
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_KIND, BOOTSEAL_KIND_STAGED) == 0);
	REQUIRE(nla_put_string(msg, BOOTSEAL_A_STAGED_NAME, "bootseal-sdb") == 0);
	REQUIRE(parse(msg, &ev, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ev.kind, BOOTSEAL_KIND_STAGED);
	CHECK_EQ_STR(ev.staged_name, "bootseal-sdb");
	bs_event_format(&ev, line, sizeof(line));
	CHECK(!strncmp(line, "staged 3 sdb /dev/mapper/bootseal-sdb writing ", 46));
	bs_json_begin(&j);
	bs_event_json(&ev, &j);
	out = bs_json_finish(&j);
	REQUIRE(out);
	CHECK(strstr(out, "\"kind\":\"staged\"") != NULL);
	CHECK(strstr(out, "\"staged_name\":\"bootseal-sdb\"") != NULL);
	bs_json_free(&j);
	/* staged without a name, or a name with a slash or control byte */
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_KIND, BOOTSEAL_KIND_STAGED) == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
	CHECK(strstr(err, "without a device-mapper name") != NULL);
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_KIND, BOOTSEAL_KIND_STAGED) == 0);
	REQUIRE(nla_put_string(msg, BOOTSEAL_A_STAGED_NAME, "../x") == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	REQUIRE(nla_put_string(msg, BOOTSEAL_A_STAGED_NAME, "a\x1b[2J") == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
	/* a kind of a later module parses; JSON says it is unknown */
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "sdb");
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_KIND, 7) == 0);
	REQUIRE(parse(msg, &ev, err, sizeof(err)) == 0);
	bs_json_begin(&j);
	bs_event_json(&ev, &j);
	out = bs_json_finish(&j);
	REQUIRE(out);
	CHECK(strstr(out, "\"kind\":\"unknown\"") != NULL);
	bs_json_free(&j);
}

static void test_parse_forward_compatible(void)
{
	struct bs_event ev;
	struct nl_msg *msg;
	char err[256];

	/* attributes newer than this header are ignored */
	msg = event_msg(BOOTSEAL_CMD_EVENT, NONE, "mmcblk0");
	REQUIRE(nla_put_u32(msg, BOOTSEAL_A_MAX + 5, 77) == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), 0);
	CHECK_EQ_STR(ev.dev_name, "mmcblk0");
	/* an unknown state still parses; its name says so */
	msg = state_msg(9, BOOTSEAL_EVENT_STATE, 1000);
	REQUIRE(nla_put_string(msg, BOOTSEAL_A_DEV_NAME, "sdc") == 0);
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), 0);
	CHECK_EQ_STR(bs_state_name(ev.state), "unknown");
	/* a truncated message */
	msg = nlmsg_alloc();
	REQUIRE(msg);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN;
	CHECK_EQ_INT(parse(msg, &ev, err, sizeof(err)), -1);
}

static void test_names(void)
{
	CHECK_EQ_STR(bs_state_name(BOOTSEAL_STATE_NONE), "none");
	CHECK_EQ_STR(bs_state_name(BOOTSEAL_STATE_WRITING), "writing");
	CHECK_EQ_STR(bs_state_name(BOOTSEAL_STATE_SEALED), "sealed");
	CHECK_EQ_STR(bs_state_name(BOOTSEAL_STATE_ABORTED), "aborted");
	CHECK_EQ_STR(bs_state_name(__BOOTSEAL_STATE_LAST), "unknown");
	CHECK_EQ_STR(bs_event_name(BOOTSEAL_EVENT_STATE), "state");
	CHECK_EQ_STR(bs_event_name(BOOTSEAL_EVENT_PROGRESS), "progress");
	CHECK_EQ_STR(bs_event_name(BOOTSEAL_EVENT_DUMP), "dump");
	CHECK_EQ_STR(bs_event_name(99), "unknown");
	CHECK(bs_state_final(BOOTSEAL_STATE_SEALED));
	CHECK(bs_state_final(BOOTSEAL_STATE_FAILED));
	CHECK(bs_state_final(BOOTSEAL_STATE_ABORTED));
	CHECK(!bs_state_final(BOOTSEAL_STATE_SEALING));
}

static void sample(struct bs_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->session_id = 3;
	ev->event = BOOTSEAL_EVENT_PROGRESS;
	ev->state = BOOTSEAL_STATE_WRITING;
	snprintf(ev->dev_name, sizeof(ev->dev_name), "sdb");
	ev->dev = (16 & 0xff) | (8 << 8);
	ev->bytes_expected = 284000000;
	ev->bytes_submitted = 130000000;
	ev->bytes_completed = 120500000;
	ev->error_sector = BOOTSEAL_SECTOR_NONE;
	ev->pid = 42;
}

static void test_format(void)
{
	struct bs_event ev;
	char line[256], tiny[12];

	sample(&ev);
	bs_event_format(&ev, line, sizeof(line));
	CHECK_EQ_STR(line, "session 3 sdb writing 42% 120.5 MB of 284.0 MB");

	ev.bytes_expected = 0;
	bs_event_format(&ev, line, sizeof(line));
	CHECK_EQ_STR(line, "session 3 sdb writing 120.5 MB");
	CHECK(bs_event_percent(&ev) < 0);

	ev.state = BOOTSEAL_STATE_SEALED;
	CHECK(bs_event_percent(&ev) == 100.0);

	sample(&ev);
	ev.state = BOOTSEAL_STATE_FAILED;
	ev.error = EIO;
	ev.error_sector = 2048;
	bs_event_format(&ev, line, sizeof(line));
	CHECK(strstr(line, "session 3 sdb failed 42% 120.5 MB of 284.0 MB: ") == line);
	CHECK(strstr(line, strerror(EIO)));
	CHECK(strstr(line, " at sector 2048"));

	/* never more than completed/expected = 100 % */
	sample(&ev);
	ev.bytes_completed = 2 * ev.bytes_expected;
	CHECK(bs_event_percent(&ev) == 100.0);

	bs_event_format(&ev, tiny, sizeof(tiny));
	CHECK_EQ_STR(tiny, "session 3 s");
}

static void test_json(void)
{
	struct bs_event ev;
	struct bs_json j;

	sample(&ev);
	bs_json_begin(&j);
	bs_event_json(&ev, &j);
	CHECK_EQ_STR(
		bs_json_finish(&j),
		"{\"session\":3,\"event\":\"progress\",\"state\":\"writing\",\"device\":\"sdb\","
		"\"dev\":\"8:16\",\"dev_size\":0,\"head_len\":0,\"bytes_expected\":284000000,"
		"\"bytes_submitted\":130000000,\"bytes_completed\":120500000,"
		"\"percent\":42.4,\"pid\":42}");
	bs_json_free(&j);

	/* large minor numbers use the split new_encode_dev() layout */
	sample(&ev);
	ev.dev = (259 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12);
	ev.state = BOOTSEAL_STATE_FAILED;
	ev.error = EIO;
	ev.error_sector = 8;
	ev.bytes_expected = 0;
	bs_json_begin(&j);
	bs_event_json(&ev, &j);
	{
		const char *s = bs_json_finish(&j);

		REQUIRE(s);
		CHECK(strstr(s, "\"dev\":\"259:300\""));
		CHECK(strstr(s, "\"percent\":null"));
		CHECK(strstr(s, "\"errno\":5"));
		CHECK(strstr(s, "\"error_sector\":8"));
	}
	bs_json_free(&j);
}

int main(void)
{
	test_parse_ok();
	test_parse_rejects();
	test_parse_forward_compatible();
	test_parse_staged();
	test_names();
	test_format();
	test_json();
	return unit_done();
}
