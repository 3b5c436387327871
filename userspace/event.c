// SPDX-License-Identifier: GPL-2.0
/* Plain and JSON renderings of a session event (status, monitor, flash). */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "json.h"
#include "nl.h"

double bs_event_percent(const struct bs_event *ev)
{
	double pct;

	if (ev->state == BOOTSEAL_STATE_SEALED)
		return 100.0;
	if (!ev->bytes_expected)
		return -1.0;
	pct = (double)ev->bytes_completed * 100.0 / (double)ev->bytes_expected;
	return pct > 100.0 ? 100.0 : pct;
}

void bs_event_format(const struct bs_event *ev, char *buf, size_t len)
{
	char done[32], total[32], pct[16] = "";
	double p = bs_event_percent(ev);
	int n;

	bs_human_size(ev->bytes_completed, done, sizeof(done));
	if (p >= 0)
		snprintf(pct, sizeof(pct), " %d%%", (int)p);
	if (ev->kind == BOOTSEAL_KIND_STAGED)
		n = snprintf(buf, len, "staged %llu %s /dev/mapper/%s %s %s",
			     (unsigned long long)ev->session_id,
			     ev->dev_name[0] ? ev->dev_name : "-", ev->staged_name,
			     bs_state_name(ev->state), done);
	else
		n = snprintf(
			buf, len, "session %llu %s %s%s %s", (unsigned long long)ev->session_id,
			ev->dev_name[0] ? ev->dev_name : "-", bs_state_name(ev->state), pct, done);
	if (n < 0 || (size_t)n >= len)
		return;
	if (ev->bytes_expected) {
		bs_human_size(ev->bytes_expected, total, sizeof(total));
		n += snprintf(buf + n, len - n, " of %s", total);
		if ((size_t)n >= len)
			return;
	}
	if ((ev->state == BOOTSEAL_STATE_FAILED || ev->state == BOOTSEAL_STATE_UNCLEAN) &&
	    ev->error) {
		n += snprintf(buf + n, len - n, ": %s", strerror((int)ev->error));
		if ((size_t)n >= len)
			return;
		if (ev->error_sector != BOOTSEAL_SECTOR_NONE)
			n += snprintf(buf + n, len - n, " at sector %llu",
				      (unsigned long long)ev->error_sector);
		if ((size_t)n >= len)
			return;
	}
	if (ev->cleanup && !ev->cleanup_error) {
		snprintf(buf + n, len - n, "; partition table erased again");
	} else if (ev->cleanup) {
		n += snprintf(buf + n, len - n, "; erasing the partition table failed: %s",
			      strerror((int)ev->cleanup_error));
		if ((size_t)n < len && ev->cleanup_sector != BOOTSEAL_SECTOR_NONE)
			snprintf(buf + n, len - n, " at sector %llu",
				 (unsigned long long)ev->cleanup_sector);
	}
}

void bs_event_json(const struct bs_event *ev, struct bs_json *j)
{
	char dev[24];
	double p = bs_event_percent(ev);

	/* new_encode_dev(): minor bits 0-7 and 20-31, major bits 8-19. */
	snprintf(dev, sizeof(dev), "%u:%u", (ev->dev & 0xfff00) >> 8,
		 (ev->dev & 0xff) | ((ev->dev >> 12) & 0xfff00));
	bs_json_uint(j, "session", ev->session_id);
	/* ioctl sessions keep the members they always had */
	if (ev->kind == BOOTSEAL_KIND_STAGED) {
		bs_json_str(j, "kind", "staged");
		bs_json_str(j, "staged_name", ev->staged_name);
	} else if (ev->kind != BOOTSEAL_KIND_SESSION) {
		bs_json_str(j, "kind", "unknown");
	}
	bs_json_str(j, "event", bs_event_name(ev->event));
	bs_json_str(j, "state", bs_state_name(ev->state));
	bs_json_str(j, "device", ev->dev_name);
	bs_json_str(j, "dev", dev);
	bs_json_uint(j, "dev_size", ev->dev_size);
	bs_json_uint(j, "head_len", ev->head_len);
	bs_json_uint(j, "bytes_expected", ev->bytes_expected);
	bs_json_uint(j, "bytes_submitted", ev->bytes_submitted);
	bs_json_uint(j, "bytes_completed", ev->bytes_completed);
	if (p >= 0)
		bs_json_double(j, "percent", p, 1);
	else
		bs_json_null(j, "percent");
	bs_json_uint(j, "pid", ev->pid);
	if (ev->error) {
		bs_json_uint(j, "errno", ev->error);
		bs_json_str(j, "error", strerror((int)ev->error));
	}
	if (ev->error_sector != BOOTSEAL_SECTOR_NONE &&
	    (ev->state == BOOTSEAL_STATE_FAILED || ev->state == BOOTSEAL_STATE_UNCLEAN))
		bs_json_uint(j, "error_sector", ev->error_sector);
	if (ev->cleanup) {
		bs_json_bool(j, "head_erased", ev->cleanup & BOOTSEAL_CLEANUP_HEAD);
		bs_json_bool(j, "tail_erased", ev->cleanup & BOOTSEAL_CLEANUP_TAIL);
		if (ev->cleanup_error) {
			bs_json_uint(j, "erase_errno", ev->cleanup_error);
			bs_json_str(j, "erase_error", strerror((int)ev->cleanup_error));
		}
		if (ev->cleanup_sector != BOOTSEAL_SECTOR_NONE)
			bs_json_uint(j, "erase_sector", ev->cleanup_sector);
	}
}
