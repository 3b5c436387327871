// SPDX-License-Identifier: GPL-2.0
/*
 * Staged devices: the pure parsers of the bootseal target's lines, the
 * partition mapping plan, and the device-mapper calls (libdevmapper).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdevmapper.h>

#include "module/uapi/bootseal.h"
#include "ptable.h"
#include "stage.h"

/* ---- pure parts ----------------------------------------------------------- */

static int parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (*s && *s != ' ' && *s != '\n')
		return -1;
	*v = x;
	*p = s;
	return 0;
}

/* A sector, or "-" for none. */
static int parse_sector(const char **p, uint64_t *v)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (s[0] == '-' && (!s[1] || s[1] == ' ' || s[1] == '\n')) {
		*v = BOOTSEAL_SECTOR_NONE;
		*p = s + 1;
		return 0;
	}
	*p = s;
	return parse_u64(p, v);
}

static bool at_end(const char *s)
{
	while (*s == ' ' || *s == '\n')
		s++;
	return !*s;
}

int bs_stage_parse_status(const char *s, struct bs_stage_status *st)
{
	static const char *const states[] = {"staged", "writing", "sealing", "sealed",
					     "failed", "unclean", "aborted"};
	uint64_t e, f, ce;
	size_t n, i;

	memset(st, 0, sizeof(*st));
	while (*s == ' ')
		s++;
	n = strcspn(s, " \n");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strlen(states[i]) == n && !strncmp(s, states[i], n))
			break;
	if (i == sizeof(states) / sizeof(states[0]))
		return -1;
	memcpy(st->state, s, n);
	s += n;
	if (parse_u64(&s, &st->session_id) || parse_u64(&s, &st->bytes_submitted) ||
	    parse_u64(&s, &st->bytes_completed) || parse_u64(&s, &e) ||
	    parse_sector(&s, &st->error_sector) || parse_u64(&s, &f) || parse_u64(&s, &ce) ||
	    parse_sector(&s, &st->cleanup_sector) || !at_end(s))
		return -1;
	if (e > 4095 || ce > 4095 || f > 0xffffffffu)
		return -1;
	st->error = (int)e;
	st->cleanup = (uint32_t)f;
	st->cleanup_error = (int)ce;
	return 0;
}

int bs_stage_parse_table(const char *s, unsigned int *major, unsigned int *minor,
			 uint64_t *head_sectors)
{
	uint64_t ma, mi;
	const char *p = s;
	char *end;

	while (*p == ' ')
		p++;
	errno = 0;
	ma = strtoull(p, &end, 10);
	if (errno || end == p || *end != ':' || ma > 0xfff)
		return -1;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return -1;
	mi = strtoull(p, &end, 10);
	if (errno || end == p || mi > 0xfffff || *end != ' ')
		return -1;
	p = end;
	if (parse_u64(&p, head_sectors) || !*head_sectors || !at_end(p))
		return -1;
	*major = (unsigned int)ma;
	*minor = (unsigned int)mi;
	return 0;
}

void bs_stage_name_for(const char *disk, char *name, size_t len)
{
	snprintf(name, len, "%s%s", BS_STAGE_PREFIX, disk);
}

int bs_stage_name_arg(const char *arg, char *name, size_t len, char *err, size_t errlen)
{
	const char *s = arg;
	size_t i;

	if (!strncmp(s, "/dev/mapper/", 12))
		s += 12;
	else if (strchr(s, '/')) {
		snprintf(err, errlen,
			 "not a staged device: give its name (bootseal-sdb) or "
			 "/dev/mapper/NAME");
		return -1;
	}
	if (!*s || strlen(s) >= BS_DM_NAME_LEN || strlen(s) >= len) {
		snprintf(err, errlen, "not a device-mapper name (1 to %d characters)",
			 BS_DM_NAME_LEN - 1);
		return -1;
	}
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '/') {
			snprintf(err, errlen, "not a device-mapper name (byte 0x%02x)", c);
			return -1;
		}
	}
	memcpy(name, s, i + 1);
	return 0;
}

void bs_stage_part_name(const char *name, unsigned int num, char *buf, size_t len)
{
	snprintf(buf, len, "%sp%u", name, num);
}

bool bs_stage_is_part_name(const char *name, const char *pname, unsigned int *num)
{
	size_t n = strlen(name);
	unsigned long v;
	char *end;

	if (strncmp(pname, name, n) || pname[n] != 'p' || pname[n + 1] < '1' || pname[n + 1] > '9')
		return false;
	errno = 0;
	v = strtoul(pname + n + 1, &end, 10);
	if (errno || *end || v > 100000)
		return false;
	if (num)
		*num = (unsigned int)v;
	return true;
}

int bs_stage_plan_parts(const struct bs_ptable *pt, uint64_t dev_sectors, struct bs_part_map *out,
			size_t max, size_t *n, char *err, size_t errlen)
{
	uint64_t mul;
	size_t i, k, cnt = 0;

	*n = 0;
	if (!bs_ptable_valid(pt)) {
		const char *why = bs_ptable_why_invalid(pt);

		snprintf(err, errlen, "%s", why ? why : "no valid partition table");
		return -1;
	}
	if (pt->sector_size < 512 || pt->sector_size % 512) {
		snprintf(err, errlen, "sector size %u is not a multiple of 512", pt->sector_size);
		return -1;
	}
	mul = pt->sector_size / 512;
	for (i = 0; i < pt->nparts; i++) {
		const struct bs_part *p = &pt->parts[i];
		uint64_t start, size;

		if (p->extended)
			continue;
		if (!p->size) {
			snprintf(err, errlen, "partition %u has size 0", p->num);
			return -1;
		}
		if (p->start > UINT64_MAX / mul || p->size > UINT64_MAX / mul) {
			snprintf(err, errlen, "partition %u lies past the end of the device",
				 p->num);
			return -1;
		}
		start = p->start * mul;
		size = p->size * mul;
		if (!start) {
			snprintf(err, errlen,
				 "partition %u starts at sector 0, over the partition "
				 "table",
				 p->num);
			return -1;
		}
		if (start >= dev_sectors || size > dev_sectors - start) {
			snprintf(err, errlen,
				 "partition %u (sectors %" PRIu64 " to %" PRIu64 ") lies past the "
				 "end of the device (%" PRIu64 " sectors)",
				 p->num, start, start + size - 1, dev_sectors);
			return -1;
		}
		for (k = 0; k < cnt; k++) {
			if (start < out[k].start + out[k].size && out[k].start < start + size) {
				snprintf(err, errlen, "partitions %u and %u overlap", out[k].num,
					 p->num);
				return -1;
			}
		}
		if (cnt >= max) {
			snprintf(err, errlen, "more than %zu partitions", max);
			return -1;
		}
		out[cnt].num = p->num;
		out[cnt].start = start;
		out[cnt].size = size;
		cnt++;
	}
	if (!cnt) {
		snprintf(err, errlen, "the partition table has no partitions");
		return -1;
	}
	/* number order (the parser keeps table order) */
	for (i = 1; i < cnt; i++) {
		struct bs_part_map t = out[i];

		for (k = i; k > 0 && out[k - 1].num > t.num; k--)
			out[k] = out[k - 1];
		out[k] = t;
	}
	*n = cnt;
	return 0;
}

void bs_stage_describe_failure(const struct bs_stage_status *st, char *buf, size_t len)
{
	char where[48] = "", cwhere[48] = "";
	int n;

	if (st->error_sector != BOOTSEAL_SECTOR_NONE)
		snprintf(where, sizeof(where), " at sector %" PRIu64, st->error_sector);
	if (st->cleanup_sector != BOOTSEAL_SECTOR_NONE)
		snprintf(cwhere, sizeof(cwhere), " at sector %" PRIu64, st->cleanup_sector);
	n = snprintf(buf, len, "state %s", st->state);
	if (n < 0 || (size_t)n >= len)
		return;
	if (st->error)
		n += snprintf(buf + n, len - n, ", %s%s", strerror(st->error), where);
	if ((size_t)n >= len)
		return;
	if (!strcmp(st->state, "unclean"))
		snprintf(buf + n, len - n,
			 "; ERASING THE PARTITION TABLE FAILED (%s%s): the disk may show a "
			 "partition table over data that is not the card; erase it (wipefs -a) or "
			 "flash it again",
			 st->cleanup_error ? strerror(st->cleanup_error) : "read back non-zero",
			 cwhere);
	else if (st->cleanup & BOOTSEAL_CLEANUP_RAN)
		snprintf(buf + n, len - n,
			 "; the head and the tail were erased again (head %s, tail %s): the disk "
			 "has no partition table",
			 st->cleanup & BOOTSEAL_CLEANUP_HEAD ? "reads back as zeros"
							     : "NOT verified",
			 st->cleanup & BOOTSEAL_CLEANUP_TAIL ? "reads back as zeros"
							     : "NOT verified");
	else
		snprintf(buf + n, len - n,
			 "; nothing of the head was written: the disk has no partition table");
}

/* ---- libdevmapper ----------------------------------------------------------- */

/* libdevmapper's last error message (it would print them on stderr). */
static char dm_last[256];

static void dm_log(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...)
{
	va_list ap;

	if ((level & 7) > 3) /* _LOG_ERR */
		return;
	va_start(ap, f);
	vsnprintf(dm_last, sizeof(dm_last), f, ap);
	va_end(ap);
}

static void dm_setup(void)
{
	static bool done;

	dm_last[0] = '\0';
	if (done)
		return;
	done = true;
	dm_log_with_errno_init(dm_log);
	/*
	 * Without udevd (e.g. an initramfs) nobody would answer the cookie:
	 * libdevmapper then makes and removes the /dev/mapper nodes itself.
	 */
	if (access("/run/udev/control", F_OK))
		dm_udev_set_sync_support(0);
}

/* "<strerror>" or libdevmapper's message. */
static void dm_reason(int e, char *err, size_t errlen)
{
	if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "%s (device-mapper needs root)", strerror(e));
	else if (e)
		snprintf(err, errlen, "%s", strerror(e));
	else if (dm_last[0])
		snprintf(err, errlen, "%s", dm_last);
	else
		snprintf(err, errlen, "device-mapper call failed");
}

static int task_errno(struct dm_task *dmt)
{
	int e = dmt ? dm_task_get_errno(dmt) : ENOMEM;

	return e > 0 ? e : (errno > 0 ? errno : EIO);
}

/* Create and run a task that takes no device; NULL (reason in err) on failure. */
static struct dm_task *run_list_task(int type, char *err, size_t errlen)
{
	struct dm_task *dmt;

	dm_setup();
	dmt = dm_task_create(type);
	if (!dmt || !dm_task_run(dmt)) {
		dm_reason(task_errno(dmt), err, errlen);
		if (dmt)
			dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

int bs_dm_has_target(const char *target, char *err, size_t errlen)
{
	struct dm_task *dmt;
	struct dm_versions *v;
	unsigned int next = 0;
	int found = 0;

	dmt = run_list_task(DM_DEVICE_LIST_VERSIONS, err, errlen);
	if (!dmt)
		return -1;
	v = dm_task_get_versions(dmt);
	do {
		v = (struct dm_versions *)((char *)v + next);
		if (v->name[0] && !strcmp(v->name, target))
			found = 1;
		next = v->next;
	} while (next);
	dm_task_destroy(dmt);
	return found;
}

/*
 * Runs a prepared task carrying a udev cookie (unless setting it up failed:
 * @e), waits for udev once (also after a failed run, whose half-made device
 * libdevmapper removed), frees the task and reports: 0 or -errno.
 */
static int dm_finish(struct dm_task *dmt, uint32_t cookie, int e, char *err, size_t errlen)
{
	if (!e && !dm_task_run(dmt))
		e = task_errno(dmt);
	if (cookie)
		dm_udev_wait(cookie);
	if (dmt)
		dm_task_destroy(dmt);
	if (e) {
		dm_reason(e, err, errlen);
		return -e;
	}
	return 0;
}

int bs_dm_create(const char *name, const char *type, uint64_t length, const char *params, char *err,
		 size_t errlen)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int e = 0;

	dm_setup();
	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt || !dm_task_set_name(dmt, name) ||
	    !dm_task_add_target(dmt, 0, length, type, params) ||
	    !dm_task_set_cookie(dmt, &cookie, 0))
		e = ENOMEM;
	return dm_finish(dmt, cookie, e, err, errlen);
}

int bs_dm_remove(const char *name, char *err, size_t errlen)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int e = 0;

	dm_setup();
	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt || !dm_task_set_name(dmt, name) || !dm_task_set_cookie(dmt, &cookie, 0))
		e = ENOMEM;
	else /* udev's probing right after a change holds the device for a moment */
		dm_task_retry_remove(dmt);
	return dm_finish(dmt, cookie, e, err, errlen);
}

int bs_dm_message(const char *name, const char *msg, char *err, size_t errlen)
{
	struct dm_task *dmt;
	int e = 0;

	dm_setup();
	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt || !dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, msg))
		e = ENOMEM;
	else if (!dm_task_run(dmt))
		e = task_errno(dmt);
	if (dmt)
		dm_task_destroy(dmt);
	if (e) {
		dm_reason(e, err, errlen);
		return -e;
	}
	return 0;
}

/* One DM_DEVICE_TABLE or DM_DEVICE_STATUS call into @d. 0, or -1 with @err. */
static int dm_query(const char *name, int type, struct bs_dm_dev *d, char *err, size_t errlen)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;
	char *ttype = NULL, *params = NULL;
	void *next = NULL;
	int e = 0;

	dmt = dm_task_create(type);
	if (!dmt || !dm_task_set_name(dmt, name)) {
		e = ENOMEM;
		goto out;
	}
	if (!dm_task_run(dmt)) {
		e = task_errno(dmt);
		if (e == ENXIO || e == ENODEV || e == ENOENT) {
			/* no such device */
			d->exists = false;
			e = 0;
		}
		goto out;
	}
	if (!dm_task_get_info(dmt, &info)) {
		e = EIO;
		goto out;
	}
	d->exists = info.exists;
	if (!info.exists)
		goto out;
	d->major = info.major;
	d->minor = info.minor;
	d->open_count = info.open_count;
	d->ntargets = 0;
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &ttype, &params);
		if (!ttype)
			break;
		if (!d->ntargets++) {
			snprintf(d->target, sizeof(d->target), "%s", ttype);
			d->length = length;
			if (type == DM_DEVICE_TABLE)
				snprintf(d->table, sizeof(d->table), "%s", params ? params : "");
			else
				snprintf(d->status, sizeof(d->status), "%s", params ? params : "");
		}
	} while (next);
out:
	if (dmt)
		dm_task_destroy(dmt);
	if (e) {
		dm_reason(e, err, errlen);
		return -1;
	}
	return 0;
}

int bs_dm_get(const char *name, struct bs_dm_dev *d, char *err, size_t errlen)
{
	dm_setup();
	memset(d, 0, sizeof(*d));
	if (dm_query(name, DM_DEVICE_TABLE, d, err, errlen))
		return -1;
	if (!d->exists || !d->ntargets)
		return 0;
	return dm_query(name, DM_DEVICE_STATUS, d, err, errlen);
}

int bs_dm_list(char ***names, size_t *n, char *err, size_t errlen)
{
	struct dm_task *dmt;
	struct dm_names *nm;
	unsigned int next = 0;
	char **arr = NULL, **na;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	dmt = run_list_task(DM_DEVICE_LIST, err, errlen);
	if (!dmt)
		return -1;
	nm = dm_task_get_names(dmt);
	if (nm && nm->dev) {
		do {
			nm = (struct dm_names *)((char *)nm + next);
			na = realloc(arr, (cnt + 1) * sizeof(*arr));
			if (!na || !(na[cnt] = strdup(nm->name))) {
				arr = na ? na : arr;
				bs_dm_list_free(arr, cnt);
				dm_task_destroy(dmt);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			arr = na;
			cnt++;
			next = nm->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	*names = arr;
	*n = cnt;
	return 0;
}

void bs_dm_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
