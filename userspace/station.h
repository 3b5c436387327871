/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The production-line station around `flash --usbboot`: slot names for USB
 * port paths, one JSON record per board appended to a file (--record), a
 * Prometheus textfile with counters and a histogram (--metrics, replaced
 * atomically), and native journal entries with BOOTSEAL_* fields
 * (--log-format journal; sd_journal_sendv(3)), printed as text lines on
 * standard error when there is no journal to send them to.
 * The pure parts (parsing, rendering) are unit-tested; the rest writes files.
 */
#ifndef BOOTSEAL_STATION_H
#define BOOTSEAL_STATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "usbboot.h"

#define BS_SLOT_MAX	 64
#define BS_SLOT_NAME_LEN 33
#define BS_PORT_PATH_LEN 32

struct bs_slot {
	char port[BS_PORT_PATH_LEN];
	char name[BS_SLOT_NAME_LEN];
};

struct bs_slots {
	struct bs_slot s[BS_SLOT_MAX];
	size_t n;
};

/* Is @s a USB port path BUS-PORT[.PORT...] (digits, at most 7 levels)? */
bool bs_port_path_ok(const char *s);

/*
 * Add "PORT=NAME" (or, from a slot file, "PORT NAME") to @slots. NAME is
 * 1-32 letters, digits, '.', '_' or '-'. A port given twice, a name given to
 * two ports, or more than BS_SLOT_MAX slots are errors. 0, or -1 with the
 * reason in @err.
 */
int bs_slot_add(struct bs_slots *slots, const char *spec, char *err, size_t errlen);

/*
 * Read a slot file: one "PORT NAME" or "PORT=NAME" per line; blank lines
 * and lines starting with '#' are skipped. 0, or -1 with "FILE:LINE: reason"
 * in @err.
 */
int bs_slot_file(struct bs_slots *slots, const char *path, char *err, size_t errlen);

/* The slot name of @port, or NULL. */
const char *bs_slot_name(const struct bs_slots *slots, const char *port);

/* One board's outcome, for the record, the metrics and the journal entry. */
struct bs_board_result {
	const struct bs_usbboot_board *board;
	const char *slot;	  /* or NULL */
	const char *image;	  /* as given */
	const char *image_sha256; /* hex, of the image file, or NULL */
	int exit;		  /* enum bs_exit */
	const char *result;	  /* "ok", "boot", "image", "device", "write", "verify", ... */
	const char *error;	  /* NULL when ok */
	uint64_t bytes;		  /* written (0 unless ok) */
	double boot_seconds, write_seconds, verify_seconds, total_seconds;
	bool verified;
	double time; /* wall clock, seconds since the epoch */
};

/* The result name of an exit status of one board ("boot" for BS_EXIT_USB). */
const char *bs_board_result_name(int exit);

/* The record line (JSON, no newline) for @r; NULL on allocation failure. Free it. */
char *bs_board_record(const struct bs_board_result *r);

/*
 * One native journal entry: "KEY=value" fields for sd_journal_sendv(3), each
 * allocated. Always has PRIORITY, SYSLOG_IDENTIFIER and MESSAGE once made by
 * bs_journal_begin().
 */
#define BS_JOURNAL_MAX_FIELDS 48
#define BS_JOURNAL_SOCKET     "/run/systemd/journal/socket" /* journald's native socket */
struct bs_journal_entry {
	struct iovec iov[BS_JOURNAL_MAX_FIELDS];
	size_t n;
	bool incomplete; /* a field was dropped: out of memory or of room */
};

/* Start @e: PRIORITY=@priority, SYSLOG_IDENTIFIER=bootseal, MESSAGE=@message. */
void bs_journal_begin(struct bs_journal_entry *e, int priority, const char *message);

/* Add KEY=value; a NULL @val adds nothing. */
void bs_journal_str(struct bs_journal_entry *e, const char *key, const char *val);
void bs_journal_fmt(struct bs_journal_entry *e, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value of @key in @e, or NULL (the first one if given twice). */
const char *bs_journal_get(const struct bs_journal_entry *e, const char *key);

/*
 * The text form of @e (no newline): "<PRIORITY>SYSLOG_IDENTIFIER: MESSAGE",
 * an sd-daemon(3) priority prefix that journald keeps when it reads the line
 * from a service's standard error. @n is the size of @out.
 */
void bs_journal_text(const struct bs_journal_entry *e, char *out, size_t n);

/*
 * Send @e to the journal (sd_journal_sendv). 0, or a negative errno (no
 * journald on BS_JOURNAL_SOCKET: -ENOENT or -ECONNREFUSED; an incomplete
 * entry: -ENOMEM); on failure the entry's text form is printed on standard
 * error instead, so nothing is lost.
 */
int bs_journal_emit(const struct bs_journal_entry *e);

void bs_journal_free(struct bs_journal_entry *e);

/*
 * The journal entry of one board: PRIORITY 6 (info) for a good board, 3 (err)
 * for a failed one; MESSAGE "board PORT=... RESULT=... " with key=value
 * fields (values with spaces or quotes double-quoted with '\' escapes);
 * BOOTSEAL_EVENT=board and BOOTSEAL_PORT, _SLOT, _CHIP, _SERIAL, _META_KEY
 * (one per metadata record), _IMAGE, _IMAGE_SHA256, _TARGET, _TARGET_SIZE,
 * _RESULT, _EXIT, _VERIFIED, _BYTES, _SECONDS (total), _BOOT_SECONDS,
 * _WRITE_SECONDS, _VERIFY_SECONDS and _ERROR, each only when known.
 */
void bs_board_journal_entry(const struct bs_board_result *r, struct bs_journal_entry *e);

/* Counters of a station since it started. */
#define BS_METRICS_NBUCKETS 10
extern const double bs_metrics_buckets[BS_METRICS_NBUCKETS]; /* seconds, ascending */

struct bs_metrics {
	uint64_t boards[8]; /* by result, index of bs_metrics_results */
	uint64_t bytes;
	uint64_t hist[BS_METRICS_NBUCKETS]; /* flash seconds <= bucket (not cumulative) */
	uint64_t hist_count;
	double hist_sum;
	double last_time;
};
extern const char *const bs_metrics_results[8]; /* "ok", "boot", "image", ... */

/* Count one board. */
void bs_metrics_add(struct bs_metrics *m, const struct bs_board_result *r);

/* The Prometheus text exposition of @m on @f. */
void bs_metrics_render(const struct bs_metrics *m, FILE *f);

/* Write @m to @path atomically (a temporary file beside it, fsync, rename). */
int bs_metrics_write(const struct bs_metrics *m, const char *path, char *err, size_t errlen);

/* Append @line and '\n' to @path in one write (O_APPEND), then fdatasync. */
int bs_record_append(const char *path, const char *line, char *err, size_t errlen);

#endif /* BOOTSEAL_STATION_H */
