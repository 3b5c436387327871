// SPDX-License-Identifier: GPL-2.0
/*
 * bootseal flash --usbboot [--loop]: the usbboot host (usbboot.h) boots
 * each Compute Module, and bs_flash_run() flashes the disk it becomes; the
 * production line's records, metrics and journal lines (station.h) are
 * written per board.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "device.h"
#include "flash.h"
#include "progress.h"
#include "sha.h"
#include "station.h"
#include "usbboot.h"

struct flash_ctx {
	struct bs_flash_opts fo;
	const char *image;
	pthread_mutex_t lock;
	/* the station (station.h) */
	struct bs_slots slots;
	bool journal;
	bool journal_warned; /* said once that entries go to stderr as text */
	char image_sha256[65];
	struct bs_metrics metrics;
};

static volatile int flash_stop;

static void flash_on_signal(int sig)
{
	flash_stop = 1;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send @e to the journal, or print it as text on stderr (said once), and free it. */
static void journal_emit(struct flash_ctx *c, struct bs_journal_entry *e)
{
	int rc = bs_journal_emit(e);

	if (rc && !c->journal_warned) {
		bs_warn("Unable to send to the journal (%s): its entries go to standard error as "
			"text lines",
			strerror(-rc));
		c->journal_warned = true;
	}
	bs_journal_free(e);
}

/* An error of the station itself: a journal entry (BOOTSEAL_EVENT=error) or a message. */
static void station_error(struct flash_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void station_error(struct flash_ctx *c, const char *fmt, ...)
{
	struct bs_journal_entry e;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->journal) {
		bs_error("%s", msg);
		return;
	}
	bs_journal_begin(&e, 3, msg);
	bs_journal_str(&e, "BOOTSEAL_EVENT", "error");
	bs_journal_str(&e, "BOOTSEAL_IMAGE", c->image);
	journal_emit(c, &e);
}

/* The station's start and stop entries (journal format only). */
static void station_started(struct flash_ctx *c, const struct bs_usbboot_opts *uo)
{
	struct bs_journal_entry e;
	char list[512] = "", msg[1024];
	size_t i, len;

	if (!c->journal)
		return;
	for (i = 0; i < uo->nports; i++) {
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", len ? " " : "", uo->ports[i]);
	}
	snprintf(msg, sizeof(msg), "station started: %s on %s%s", c->image,
		 list[0] ? "ports " : "any port", list);
	bs_journal_begin(&e, 6, msg);
	bs_journal_str(&e, "BOOTSEAL_EVENT", "start");
	bs_journal_str(&e, "BOOTSEAL_IMAGE", c->image);
	bs_journal_str(&e, "BOOTSEAL_IMAGE_SHA256", c->image_sha256[0] ? c->image_sha256 : NULL);
	bs_journal_str(&e, "BOOTSEAL_PORTS", list[0] ? list : NULL);
	journal_emit(c, &e);
}

static void station_stopped(struct flash_ctx *c, int rc)
{
	struct bs_journal_entry e;
	unsigned long long boards = 0, ok = c->metrics.boards[0]; /* bs_metrics_results[0]: "ok" */
	char msg[256];
	size_t i;

	if (!c->journal)
		return;
	for (i = 0; i < 8; i++)
		boards += c->metrics.boards[i];
	snprintf(msg, sizeof(msg),
		 "station stopped: %llu boards (%llu ok, %llu failed), exit status %d", boards, ok,
		 boards - ok, rc);
	bs_journal_begin(&e, 6, msg);
	bs_journal_str(&e, "BOOTSEAL_EVENT", "stop");
	bs_journal_str(&e, "BOOTSEAL_IMAGE", c->image);
	bs_journal_fmt(&e, "BOOTSEAL_BOARDS", "%llu", boards);
	bs_journal_fmt(&e, "BOOTSEAL_BOARDS_OK", "%llu", ok);
	bs_journal_fmt(&e, "BOOTSEAL_BOARDS_FAILED", "%llu", boards - ok);
	bs_journal_fmt(&e, "BOOTSEAL_EXIT", "%d", rc);
	journal_emit(c, &e);
}

/* One board finished (flashed, failed to flash, or failed to boot): account for it. */
static void board_done(struct flash_ctx *c, struct bs_board_result *r)
{
	struct bs_journal_entry e;
	char err[512], *rec;

	r->slot = r->board->slot;
	r->image = c->image;
	r->image_sha256 = c->image_sha256[0] ? c->image_sha256 : NULL;
	r->result = bs_board_result_name(r->exit);
	r->time = wall_now();
	pthread_mutex_lock(&c->lock);
	if (c->fo.record) {
		rec = bs_board_record(r);
		if (!rec)
			station_error(c,
				      "Unable to write the record of usb %s to %s: out of memory",
				      r->board->port, c->fo.record);
		else if (bs_record_append(c->fo.record, rec, err, sizeof(err)))
			station_error(c, "Unable to write the record of usb %s: %s", r->board->port,
				      err);
		free(rec);
	}
	bs_metrics_add(&c->metrics, r);
	if (c->fo.metrics && bs_metrics_write(&c->metrics, c->fo.metrics, err, sizeof(err)))
		station_error(c, "Unable to update the metrics file: %s", err);
	if (c->journal) {
		bs_board_journal_entry(r, &e);
		journal_emit(c, &e);
	}
	if (!c->fo.json && r->board->devnode) {
		const char *sl = r->slot;

		if (r->exit == BS_EXIT_OK)
			printf("usb %s%s%s%s -> %s: flashed, sealed and verified\n", r->board->port,
			       sl ? " [" : "", sl ? sl : "", sl ? "]" : "", r->board->devnode);
		else
			printf("usb %s%s%s%s -> %s: FAILED (exit status %d)\n", r->board->port,
			       sl ? " [" : "", sl ? sl : "", sl ? "]" : "", r->board->devnode,
			       r->exit);
		fflush(stdout);
	}
	pthread_mutex_unlock(&c->lock);
}

/* One booted device: flash it (runs in the device's own thread). */
static int flash_ready(void *ctx, const struct bs_usbboot_board *b)
{
	struct flash_ctx *c = ctx;
	struct bs_flash_report rep = {0};
	struct bs_flash_opts fo = c->fo;
	struct bs_board_result r = {.board = b};
	char target[64], sz[32], *targets[1] = {target};
	double t0 = bs_now();
	int rc;

	snprintf(target, sizeof(target), "%s", b->devnode);
	bs_human_size(b->size, sz, sizeof(sz));
	fprintf(stderr, "%s: usb %s -> %s (%s): flashing %s\n", bs_prog, b->port, b->devnode, sz,
		c->image);
	fo.report = &rep;
	bs_last_error[0] = '\0';
	rc = bs_flash_run(&fo, c->image, targets, 1);
	r.exit = rc;
	r.boot_seconds = b->boot_seconds;
	r.total_seconds = b->boot_seconds + (bs_now() - t0);
	if (rep.filled) {
		r.bytes = rep.written;
		r.write_seconds = rep.write_seconds;
		r.verify_seconds = rep.verify_seconds;
		r.verified = rep.verified;
		r.error = rep.error[0] ? rep.error : NULL;
	}
	if (rc != BS_EXIT_OK && !r.error)
		r.error = bs_last_error[0]
				  ? bs_last_error
				  : "the flash stopped before writing (see the messages above)";
	board_done(c, &r);
	return rc;
}

/* A board that failed before it became a disk. */
static void flash_failed(void *ctx, const struct bs_usbboot_board *b, const char *error)
{
	struct bs_board_result r = {.board = b, .exit = BS_EXIT_USB, .error = error};

	r.boot_seconds = r.total_seconds = b->boot_seconds;
	board_done(ctx, &r);
}

/* Is stderr the journal (systemd sets JOURNAL_STREAM=DEV:INODE for it)? */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* SHA-256 of the image file for the records; 0 or -1 after saying why. */
static int hash_image(const char *image, char out[65])
{
	unsigned char md[32], *buf;
	struct bs_hash *h;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		bs_error("Unable to use --record with %s: %s (records name the image by its "
			 "SHA-256, so it must be a local file)",
			 image, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	h = bs_hash_new(BS_HASH_SHA256);
	buf = malloc(1 << 20);
	if (!h || !buf) {
		bs_error("Unable to hash %s: out of memory", image);
		bs_hash_free(h);
		free(buf);
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, 1 << 20)) > 0)
		bs_hash_update(h, buf, (size_t)n);
	free(buf);
	close(fd);
	if (n < 0 || bs_hash_final(h, md)) {
		bs_error("Unable to hash %s: %s", image,
			 n < 0 ? strerror(errno) : "libcrypto failed");
		bs_hash_free(h);
		return -1;
	}
	bs_hash_free(h);
	bs_hex_format(md, 32, out);
	return 0;
}

/*
 * bootseal flash --usbboot [--loop] IMAGE: boot every Compute Module that
 * appears and flash each block device as soon as it appears, in parallel.
 * The disk is identified by the USB port the device was booted on, so the
 * fixed-disk refusal and the confirmation prompt do not apply to it.
 */
int bs_flash_usbboot(const struct bs_flash_opts *o, const char *image)
{
	struct flash_ctx *c;
	struct bs_usbboot_opts uo = {
		.firmware_dir = o->firmware,
		.ports = o->ports.v,
		.nports = o->ports.n,
		.loop = o->loop,
		.json = o->json,
		.timeout = o->timeout,
		.ready = flash_ready,
		.failed = flash_failed,
		.stop = &flash_stop,
	};
	struct sigaction sa = {.sa_handler = flash_on_signal}, old_int, old_term;
	char err[512];
	size_t i;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		bs_error("Unable to run 'flash --usbboot': out of memory");
		return BS_EXIT_FAILURE;
	}
	c->fo = *o;
	c->image = image;
	uo.ctx = c;
	uo.slots = &c->slots;
	for (i = 0; i < o->slot.n; i++)
		if (bs_slot_add(&c->slots, o->slot.v[i], err, sizeof(err))) {
			bs_error("Unable to use --slot %s", err);
			free(c);
			return BS_EXIT_USAGE;
		}
	if (o->slot_file && bs_slot_file(&c->slots, o->slot_file, err, sizeof(err))) {
		bs_error("Unable to use --slot-file %s", err);
		free(c);
		return BS_EXIT_USAGE;
	}
	c->journal = o->log_format ? !strcmp(o->log_format, "journal") : stderr_is_journal();
	if (o->record && hash_image(image, c->image_sha256)) {
		free(c);
		return BS_EXIT_IMAGE;
	}
	/* A station's metrics exist (all zero) from its start. */
	if (o->metrics && bs_metrics_write(&c->metrics, o->metrics, err, sizeof(err))) {
		station_error(c, "Unable to write the metrics file: %s", err);
		free(c);
		return BS_EXIT_FAILURE;
	}
	c->fo.usbboot = false;
	c->fo.loop = false;
	c->fo.allow_fixed = true;
	c->fo.yes = true;
	pthread_mutex_init(&c->lock, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	station_started(c, &uo);
	rc = bs_usbboot_run(&uo);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	station_stopped(c, rc);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return rc;
}
