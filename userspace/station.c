// SPDX-License-Identifier: GPL-2.0
/* The production-line station: slots, per-board records, metrics, journal entries. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* No CODE_FILE/CODE_LINE/CODE_FUNC fields: they would all name bs_journal_emit. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "helper.h"
#include "json.h"
#include "station.h"

/* ---- slots ------------------------------------------------------------------ */

bool bs_port_path_ok(const char *s)
{
	const char *p = s;
	int levels = 0;

	if (!s || strlen(s) >= BS_PORT_PATH_LEN)
		return false;
	/* BUS */
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '-')
		return false;
	for (;;) {
		if (*p < '1' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		if (++levels > 7)
			return false;
		if (!*p)
			return true;
		if (*p++ != '.')
			return false;
	}
}

static bool slot_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= BS_SLOT_NAME_LEN)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int bs_slot_add(struct bs_slots *slots, const char *spec, char *err, size_t errlen)
{
	char port[64], name[64];
	size_t plen = strcspn(spec, "= \t");
	const char *v = spec + plen;
	size_t i;

	if (!spec[plen]) {
		snprintf(err, errlen, "'%s': expected PORT=NAME, e.g. 1-1.3=slot3", spec);
		return -1;
	}
	v += strspn(v, "= \t");
	if (plen >= sizeof(port) || strlen(v) >= sizeof(name)) {
		snprintf(err, errlen, "'%s': too long", spec);
		return -1;
	}
	memcpy(port, spec, plen);
	port[plen] = '\0';
	snprintf(name, sizeof(name), "%s", v);
	if (!bs_port_path_ok(port)) {
		snprintf(err, errlen, "'%s': port '%s' is not BUS-PORT[.PORT...], e.g. 1-1.3", spec,
			 port);
		return -1;
	}
	if (!slot_name_ok(name)) {
		snprintf(err, errlen,
			 "'%s': slot name must be 1-%d letters, digits, '.', '_' or '-'", spec,
			 BS_SLOT_NAME_LEN - 1);
		return -1;
	}
	for (i = 0; i < slots->n; i++) {
		if (!strcmp(slots->s[i].port, port)) {
			snprintf(err, errlen, "'%s': port %s already has the slot name '%s'", spec,
				 port, slots->s[i].name);
			return -1;
		}
		if (!strcmp(slots->s[i].name, name)) {
			snprintf(err, errlen, "'%s': slot name '%s' is already port %s's", spec,
				 name, slots->s[i].port);
			return -1;
		}
	}
	if (slots->n == BS_SLOT_MAX) {
		snprintf(err, errlen, "'%s': more than %d slots", spec, BS_SLOT_MAX);
		return -1;
	}
	memcpy(slots->s[slots->n].port, port, plen + 1);
	memcpy(slots->s[slots->n].name, name, strlen(name) + 1);
	slots->n++;
	return 0;
}

int bs_slot_file(struct bs_slots *slots, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[256], why[200];
	unsigned int lineno = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line;
		size_t n;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno,
				 sizeof(line) - 2);
			fclose(f);
			return -1;
		}
		s += strspn(s, " \t");
		n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
			     s[n - 1] == '\t'))
			s[--n] = '\0';
		if (!*s || *s == '#')
			continue;
		if (bs_slot_add(slots, s, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

const char *bs_slot_name(const struct bs_slots *slots, const char *port)
{
	size_t i;

	if (!slots || !port)
		return NULL;
	for (i = 0; i < slots->n; i++)
		if (!strcmp(slots->s[i].port, port))
			return slots->s[i].name;
	return NULL;
}

/* ---- results ---------------------------------------------------------------- */

const char *const bs_metrics_results[8] = {"ok",    "boot",   "image",	     "device",
					   "write", "verify", "interrupted", "failed"};

const char *bs_board_result_name(int exit)
{
	if (exit > BS_EXIT_SIGNAL)
		return "interrupted";
	switch (exit) {
	case BS_EXIT_OK:
		return "ok";
	case BS_EXIT_USB:
		return "boot";
	case BS_EXIT_IMAGE:
		return "image";
	case BS_EXIT_DEVICE:
		return "device";
	case BS_EXIT_WRITE:
		return "write";
	case BS_EXIT_VERIFY:
		return "verify";
	}
	return "failed";
}

static void iso_time(double t, char *out, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((t - (double)s) * 1000) % 1000);
}

char *bs_board_record(const struct bs_board_result *r)
{
	const struct bs_usbboot_board *b = r->board;
	struct bs_json j;
	const char *txt;
	char when[96], *out;
	unsigned int i;

	iso_time(r->time, when, sizeof(when));
	bs_json_begin(&j);
	bs_json_str(&j, "type", "board");
	bs_json_str(&j, "time", when);
	bs_json_str(&j, "port", b->port);
	bs_json_str(&j, "slot", r->slot);
	bs_json_str(&j, "chip", b->chip);
	bs_json_str(&j, "serial", b->serial);
	bs_json_object_begin(&j, "metadata");
	for (i = 0; i < b->nmeta; i++)
		bs_json_str(&j, b->meta_key[i], b->meta_val[i]);
	bs_json_object_end(&j);
	bs_json_str(&j, "image", r->image);
	bs_json_str(&j, "image_sha256", r->image_sha256);
	bs_json_str(&j, "target", b->devnode);
	bs_json_uint(&j, "target_size", b->size);
	bs_json_str(&j, "result", r->result);
	bs_json_int(&j, "exit", r->exit);
	bs_json_bool(&j, "verified", r->verified);
	bs_json_uint(&j, "bytes", r->bytes);
	bs_json_object_begin(&j, "seconds");
	bs_json_double(&j, "boot", r->boot_seconds, 3);
	bs_json_double(&j, "write", r->write_seconds, 3);
	bs_json_double(&j, "verify", r->verify_seconds, 3);
	bs_json_double(&j, "total", r->total_seconds, 3);
	bs_json_object_end(&j);
	bs_json_str(&j, "error", r->error);
	txt = bs_json_finish(&j);
	out = txt ? strdup(txt) : NULL;
	bs_json_free(&j);
	return out;
}

/* Append " KEY=value" to @out, quoting the value when it needs it. */
static void kv(char *out, size_t n, const char *key, const char *val)
{
	size_t len = strlen(out), i;
	bool quote;

	if (!val || len + 1 >= n)
		return;
	quote = !*val || strpbrk(val, " \t\"\\=") != NULL;
	len += (size_t)snprintf(out + len, n - len, " %s=%s", key, quote ? "\"" : "");
	for (i = 0; val[i] && len + 3 < n; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c == '"' || c == '\\')
			out[len++] = '\\';
		out[len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[len] = '\0';
	if (quote && len + 1 < n) {
		out[len++] = '"';
		out[len] = '\0';
	}
}

/* ---- journal ------------------------------------------------------------------ */

static void add_field(struct bs_journal_entry *e, char *field)
{
	if (!field || e->n >= BS_JOURNAL_MAX_FIELDS) {
		free(field);
		e->incomplete = true;
		return;
	}
	e->iov[e->n].iov_base = field;
	e->iov[e->n].iov_len = strlen(field);
	e->n++;
}

void bs_journal_str(struct bs_journal_entry *e, const char *key, const char *val)
{
	char *field;

	if (!val)
		return;
	if (asprintf(&field, "%s=%s", key, val) < 0)
		field = NULL;
	add_field(e, field);
}

void bs_journal_fmt(struct bs_journal_entry *e, const char *key, const char *fmt, ...)
{
	char *val;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		e->incomplete = true;
		return;
	}
	bs_journal_str(e, key, val);
	free(val);
}

void bs_journal_begin(struct bs_journal_entry *e, int priority, const char *message)
{
	memset(e, 0, sizeof(*e));
	bs_journal_fmt(e, "PRIORITY", "%d", priority);
	bs_journal_str(e, "SYSLOG_IDENTIFIER", bs_prog);
	bs_journal_str(e, "MESSAGE", message);
}

const char *bs_journal_get(const struct bs_journal_entry *e, const char *key)
{
	size_t i, len = strlen(key);

	for (i = 0; i < e->n; i++) {
		const char *f = e->iov[i].iov_base;

		if (!strncmp(f, key, len) && f[len] == '=')
			return f + len + 1;
	}
	return NULL;
}

void bs_journal_text(const struct bs_journal_entry *e, char *out, size_t n)
{
	const char *prio = bs_journal_get(e, "PRIORITY"),
		   *id = bs_journal_get(e, "SYSLOG_IDENTIFIER");
	const char *msg = bs_journal_get(e, "MESSAGE");

	snprintf(out, n, "<%s>%s: %s", prio ? prio : "6", id ? id : bs_prog, msg ? msg : "");
}

/*
 * Is journald listening on its native socket? sd_journal_sendv() drops an
 * entry silently (and returns 0) when the socket does not exist, so ask
 * first: a datagram connect fails with ENOENT when there is no socket and
 * ECONNREFUSED when nobody reads it. 0 or the negative errno.
 */
static int journal_listening(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", BS_JOURNAL_SOCKET);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		rc = -errno;
	close(fd);
	return rc;
}

int bs_journal_emit(const struct bs_journal_entry *e)
{
	char line[2048];
	int rc;

	rc = e->incomplete ? -ENOMEM : journal_listening();
	if (!rc)
		rc = sd_journal_sendv(e->iov, (int)e->n);
	if (rc < 0) {
		bs_journal_text(e, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	return rc < 0 ? rc : 0;
}

void bs_journal_free(struct bs_journal_entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->iov[i].iov_base);
	e->n = 0;
}

void bs_board_journal_entry(const struct bs_board_result *r, struct bs_journal_entry *e)
{
	const struct bs_usbboot_board *b = r->board;
	char msg[2048], num[32], key[64];
	unsigned int i;

	/* The message: the board's fields as text, for short output and journalctl -g. */
	snprintf(msg, sizeof(msg), "board");
	kv(msg, sizeof(msg), "PORT", b->port);
	kv(msg, sizeof(msg), "SLOT", r->slot);
	kv(msg, sizeof(msg), "CHIP", b->chip);
	kv(msg, sizeof(msg), "SERIAL", b->serial);
	kv(msg, sizeof(msg), "RESULT", r->result);
	snprintf(num, sizeof(num), "%d", r->exit);
	kv(msg, sizeof(msg), "EXIT", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->bytes);
	kv(msg, sizeof(msg), "BYTES", num);
	snprintf(num, sizeof(num), "%.3f", r->total_seconds);
	kv(msg, sizeof(msg), "SECONDS", num);
	kv(msg, sizeof(msg), "TARGET", b->devnode);
	kv(msg, sizeof(msg), "IMAGE_SHA256", r->image_sha256);
	kv(msg, sizeof(msg), "ERROR", r->error);

	/* 6 (info) for a good board, 3 (err) for a failed one. */
	bs_journal_begin(e, r->exit ? 3 : 6, msg);
	bs_journal_str(e, "BOOTSEAL_EVENT", "board");
	bs_journal_str(e, "BOOTSEAL_PORT", b->port);
	bs_journal_str(e, "BOOTSEAL_SLOT", r->slot);
	bs_journal_str(e, "BOOTSEAL_CHIP", b->chip);
	bs_journal_str(e, "BOOTSEAL_SERIAL", b->serial);
	/* Metadata keys are upper-case letters, digits and '_' (bs_usbboot_parse_meta). */
	for (i = 0; i < b->nmeta; i++) {
		snprintf(key, sizeof(key), "BOOTSEAL_META_%s", b->meta_key[i]);
		bs_journal_str(e, key, b->meta_val[i]);
	}
	bs_journal_str(e, "BOOTSEAL_IMAGE", r->image);
	bs_journal_str(e, "BOOTSEAL_IMAGE_SHA256", r->image_sha256);
	bs_journal_str(e, "BOOTSEAL_TARGET", b->devnode);
	if (b->devnode)
		bs_journal_fmt(e, "BOOTSEAL_TARGET_SIZE", "%llu", (unsigned long long)b->size);
	bs_journal_str(e, "BOOTSEAL_RESULT", r->result);
	bs_journal_fmt(e, "BOOTSEAL_EXIT", "%d", r->exit);
	bs_journal_str(e, "BOOTSEAL_VERIFIED", r->verified ? "true" : "false");
	bs_journal_fmt(e, "BOOTSEAL_BYTES", "%llu", (unsigned long long)r->bytes);
	bs_journal_fmt(e, "BOOTSEAL_SECONDS", "%.3f", r->total_seconds);
	bs_journal_fmt(e, "BOOTSEAL_BOOT_SECONDS", "%.3f", r->boot_seconds);
	bs_journal_fmt(e, "BOOTSEAL_WRITE_SECONDS", "%.3f", r->write_seconds);
	bs_journal_fmt(e, "BOOTSEAL_VERIFY_SECONDS", "%.3f", r->verify_seconds);
	bs_journal_str(e, "BOOTSEAL_ERROR", r->error);
}

/* ---- metrics ------------------------------------------------------------------ */

const double bs_metrics_buckets[BS_METRICS_NBUCKETS] = {5,   10,  20,  30,   60,
							120, 300, 600, 1200, 3600};

void bs_metrics_add(struct bs_metrics *m, const struct bs_board_result *r)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!strcmp(bs_metrics_results[i], r->result))
			break;
	m->boards[i < 8 ? i : 7]++;
	m->bytes += r->bytes;
	m->last_time = r->time;
	if (r->exit == BS_EXIT_OK) {
		m->hist_count++;
		m->hist_sum += r->total_seconds;
		for (i = 0; i < BS_METRICS_NBUCKETS; i++)
			if (r->total_seconds <= bs_metrics_buckets[i]) {
				m->hist[i]++;
				break;
			}
	}
}

void bs_metrics_render(const struct bs_metrics *m, FILE *f)
{
	uint64_t cum = 0;
	size_t i;

	fprintf(f, "# HELP bootseal_boards_total Boards finished by this station, by result "
		   "(ok, boot, image, device, write, verify, interrupted, failed).\n"
		   "# TYPE bootseal_boards_total counter\n");
	for (i = 0; i < 8; i++)
		fprintf(f, "bootseal_boards_total{result=\"%s\"} %llu\n", bs_metrics_results[i],
			(unsigned long long)m->boards[i]);
	fprintf(f,
		"# HELP bootseal_written_bytes_total Bytes written to boards that were sealed.\n"
		"# TYPE bootseal_written_bytes_total counter\n"
		"bootseal_written_bytes_total %llu\n",
		(unsigned long long)m->bytes);
	fprintf(f, "# HELP bootseal_flash_seconds Seconds from the ROM stage to sealed and "
		   "verified, of good boards.\n"
		   "# TYPE bootseal_flash_seconds histogram\n");
	for (i = 0; i < BS_METRICS_NBUCKETS; i++) {
		cum += m->hist[i];
		fprintf(f, "bootseal_flash_seconds_bucket{le=\"%g\"} %llu\n", bs_metrics_buckets[i],
			(unsigned long long)cum);
	}
	fprintf(f,
		"bootseal_flash_seconds_bucket{le=\"+Inf\"} %llu\n"
		"bootseal_flash_seconds_sum %.3f\n"
		"bootseal_flash_seconds_count %llu\n",
		(unsigned long long)m->hist_count, m->hist_sum, (unsigned long long)m->hist_count);
	fprintf(f,
		"# HELP bootseal_last_board_timestamp_seconds When the last board finished.\n"
		"# TYPE bootseal_last_board_timestamp_seconds gauge\n"
		"bootseal_last_board_timestamp_seconds %.3f\n",
		m->last_time);
}

int bs_metrics_write(const struct bs_metrics *m, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: name too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	bs_metrics_render(m, f);
	if (fflush(f) || ferror(f) || fsync(fd)) {
		e = errno;
		fclose(f);
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		return -1;
	}
	if (fclose(f)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int bs_record_append(const char *path, const char *line, char *err, size_t errlen)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	ssize_t w;
	int fd;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return -1;
	}
	/* One write: lines from several boards never interleave. */
	w = write(fd, buf, len + 1);
	free(buf);
	if (w != (ssize_t)(len + 1) || fdatasync(fd)) {
		snprintf(err, errlen, "%s: %s", path,
			 w < 0 || w == (ssize_t)(len + 1) ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	if (close(fd)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
