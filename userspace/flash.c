// SPDX-License-Identifier: GPL-2.0
/*
 * bs_flash_run() (flash.h): open and check the image, resolve and check the
 * targets, ask, then one /dev/bootseal session (client.h) and writer thread
 * per target fed by the image pump (pump.h), the read-back of the partition
 * tables and the verification (verify.h), and the report (report.c). The
 * head length comes from headlen.h. SIGINT, SIGTERM and SIGHUP abort every
 * session.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "busy.h"
#include "checksum.h"
#include "client.h"
#include "flash_job.h"
#include "headlen.h"
#include "imagecheck.h"
#include "reader.h"
#include "scsi.h"
#include "sha.h"
#include "verify.h"

/* ---- small parsers ------------------------------------------------------- */

int bs_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			mult = 1ULL << 10;
			break;
		case 'M':
			mult = 1ULL << 20;
			break;
		case 'G':
			mult = 1ULL << 30;
			break;
		default:
			return -1;
		}
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int bs_parse_sha256(const char *hex, unsigned char out[32])
{
	size_t i;

	if (!hex || strlen(hex) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		int hi = hexval((unsigned char)hex[2 * i]),
		    lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* ---- bs_flash_run: targets, sessions, writers ----------------------------- */

/*
 * SIGINT, SIGTERM, SIGHUP: the first one is stored here and every session
 * is aborted (each writer stops at its next step); later ones only say
 * what is being waited for.
 */
static _Atomic int flash_sig;

static void on_flash_signal(int sig)
{
	static const char msg[] =
		"\nbootseal: still stopping: waiting for the writes already in flight to "
		"complete, so that every unsealed device is left without a partition table "
		"(not half written); this takes as long as the device needs for them\n";
	int none = 0;

	if (!atomic_compare_exchange_strong(&flash_sig, &none, sig)) {
		ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);

		(void)r;
	}
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

/*
 * Stop writing to @f: abort its session first (@abort_first), leave the
 * pump (@drop: the writer still holds a sink; not after the pump has ended)
 * and close the session.
 */
static void writer_stop(struct flash_target *f, bool abort_first, bool drop)
{
	if (abort_first)
		bs_client_abort(f->sfd);
	if (drop)
		bs_pump_drop(f->pump, f->sink);
	bs_client_close(&f->sfd);
}

/* Fail @f with what the module reports; the session is closed (aborted). */
static void writer_fail(struct flash_target *f, int status, const char *what, int err)
{
	struct bootseal_status st;
	char where[64], erase[320];

	bs_client_status(f->sfd, &st);
	bs_client_failure(&st, &err, where, sizeof(where), erase, sizeof(erase));
	bs_progress_fail(f->pt, status, "Unable to %s %s%s: %s%s; the device is left unsealed",
			 what, f->pt->path, where, strerror(err), erase);
	writer_stop(f, false, true);
}

/*
 * After the seal: SYNCHRONIZE CACHE on SCSI (and so USB) targets even when
 * they report no write cache. Card readers and USB bridges that say so
 * while caching make the module's flush and FUA no-ops, and lose exactly
 * the last writes (the head) when unplugged early. Returns 0 when the
 * cache was synchronized or the device is not SCSI; fails the target when
 * the device reports an error.
 */
static int sync_cache(struct flash_target *f)
{
	char why[160];
	int fd;

	fd = open(f->drive.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bs_progress_fail(f->pt, BS_EXIT_WRITE,
				 "Unable to open %s to synchronize its write cache: %s; the image "
				 "is sealed but may not be durable: flash it again",
				 f->pt->path, strerror(errno));
		return -1;
	}
	f->synced = bs_scsi_sync_cache(fd, why, sizeof(why));
	close(fd);
	if (f->synced < 0) {
		bs_progress_fail(f->pt, BS_EXIT_WRITE,
				 "Unable to synchronize the write cache of %s: %s; the image is "
				 "sealed but what the device cached may be lost: flash it again",
				 f->pt->path, why);
		return -1;
	}
	if (f->synced == BS_SCSI_UNSUPPORTED)
		bs_warn("%s: %s to SYNCHRONIZE CACHE; only the kernel's flush and FUA "
			"make it durable",
			f->pt->path, why);
	return 0;
}

/*
 * Before the seal: once every data write has completed (the session's
 * completed counter reaches @data, the bytes written outside the head),
 * SYNCHRONIZE CACHE on a SCSI target. The module's flush and FUA do nothing
 * on a device that reports no write cache; if it caches anyway, this keeps
 * the data ahead of the head, the order the seal promises. A failure here
 * aborts the session: the device is left unsealed. A session that failed
 * meanwhile is left to COMMIT, which reports it.
 */
static int sync_before_seal(struct flash_target *f, uint64_t data)
{
	const struct timespec tick = {0, 2 * 1000 * 1000};
	struct bootseal_status st;
	char why[160];
	int fd, r;

	for (;;) {
		bs_client_status(f->sfd, &st);
		if (st.bytes_completed >= data || st.state == BOOTSEAL_STATE_FAILED ||
		    st.state == BOOTSEAL_STATE_UNCLEAN || atomic_load(&flash_sig))
			break;
		nanosleep(&tick, NULL);
	}
	if (st.bytes_completed < data)
		return 0;
	fd = open(f->drive.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -1;
		snprintf(why, sizeof(why), "open: %s", strerror(errno));
	} else {
		r = bs_scsi_sync_cache(fd, why, sizeof(why));
		close(fd);
	}
	if (r >= 0)
		return 0;
	writer_stop(f, true, true);
	bs_progress_fail(f->pt, BS_EXIT_WRITE,
			 "Unable to synchronize the write cache of %s before sealing: %s; the "
			 "device is left unsealed",
			 f->pt->path, why);
	return -1;
}

/* Interrupted: abort the session, so that the device has no partition table. */
static void writer_interrupted(struct flash_target *f)
{
	writer_stop(f, true, true);
	bs_progress_fail(f->pt, BS_EXIT_SIGNAL + atomic_load(&flash_sig),
			 "interrupted: %s has no partition table now; flash it again", f->pt->path);
}

static void *writer(void *arg)
{
	struct flash_target *f = arg;
	struct bootseal_status st;
	double t0 = bs_now();
	uint64_t written = 0, data = 0; /* data: bytes outside the held-back head */
	struct bs_chunk c;
	int r;

	while ((r = bs_pump_next(f->pump, f->sink, &c)) > 0) {
		struct bootseal_write w = {0};
		size_t len = c.len;
		int rc;

		if (atomic_load(&flash_sig)) {
			bs_pump_release(f->pump, f->sink);
			writer_interrupted(f);
			goto out;
		}

		/* padding to another target's larger block may not fit: pad to ours */
		if (c.off + len > f->dev_size)
			len = (size_t)bs_round_up(c.data_len, f->lbs);
		if (c.off + len > f->dev_size) {
			char ds[32], is[32];

			bs_pump_release(f->pump, f->sink);
			bs_human_size(f->dev_size, ds, sizeof(ds));
			bs_human_size(c.off + c.data_len, is, sizeof(is));
			bs_progress_fail(f->pt, BS_EXIT_DEVICE,
					 "Unable to write %s: the device is too small: device is "
					 "%s (%llu bytes), image is at least %s (%llu bytes); the "
					 "device is left unsealed",
					 f->pt->path, ds, (unsigned long long)f->dev_size, is,
					 (unsigned long long)(c.off + c.data_len));
			writer_stop(f, false, true);
			goto out;
		}
		w.offset = c.off;
		w.length = len;
		w.buf = (uintptr_t)c.buf;
		/* a mapping of the image file stays unchanged: no copy needed */
		if (c.mapped && !f->no_pin)
			w.flags = BOOTSEAL_WRITE_F_PIN;
		rc = bs_client_write(f->sfd, &w);
		if (rc && errno == EINVAL && w.flags) {
			/* a module without zero-copy writes: copy from now on */
			f->no_pin = true;
			w.flags = 0;
			rc = bs_client_write(f->sfd, &w);
		}
		if (rc) {
			int e = errno;

			bs_pump_release(f->pump, f->sink);
			if (e == EFAULT && c.mapped) {
				/* the mapped file lost pages: it was truncated under us */
				writer_stop(f, true, true);
				bs_progress_fail(f->pt, BS_EXIT_IMAGE,
						 "Unable to flash %s: image %s shrank while it was "
						 "read (at byte %llu); the device is left unsealed",
						 f->pt->path, bs_pump_image_name(f->pump),
						 (unsigned long long)c.off);
				goto out;
			}
			writer_fail(f, BS_EXIT_WRITE, "write", e);
			goto out;
		}
		bs_pump_release(f->pump, f->sink);
		written += len;
		if (w.offset + len > f->head_len)
			data += w.offset + len - (w.offset > f->head_len ? w.offset : f->head_len);
		bs_client_status(f->sfd, &st);
		bs_progress_set_done(f->pt, st.bytes_completed);
	}
	if (atomic_load(&flash_sig)) {
		/* interrupted (also when the image was all written): no seal */
		writer_interrupted(f);
		goto out;
	}
	if (r < 0) {
		/* the image failed: abort, the head stays zero */
		writer_stop(f, true, false);
		bs_progress_fail(f->pt,
				 bs_pump_image_failed(f->pump) ? BS_EXIT_IMAGE : BS_EXIT_FAILURE,
				 "Unable to flash %s: %s; the device is left unsealed", f->pt->path,
				 bs_pump_error(f->pump));
		goto out;
	}
	bs_progress_phase(f->pt, BS_PH_FLUSHING, 0);
	if (sync_before_seal(f, data))
		goto out;
	/*
	 * Pinned pages are the image file's page cache until the writes are
	 * done: a writer of the file since it was opened may have changed
	 * what reached the device. Its open() is held back by our lease.
	 */
	if (bs_pump_image_changed(f->pump)) {
		writer_stop(f, true, false);
		bs_progress_fail(f->pt, BS_EXIT_IMAGE,
				 "Unable to flash %s: another process opened image %s for writing "
				 "during the flash; the device is left unsealed",
				 f->pt->path, bs_pump_image_name(f->pump));
		goto out;
	}
	if (bs_client_commit(f->sfd)) {
		writer_fail(f, BS_EXIT_WRITE, "seal", errno);
		goto out;
	}
	bs_client_close(&f->sfd);
	if (sync_cache(f))
		goto out;
	f->pt->written = written;
	f->pt->write_secs = bs_now() - t0;
	bs_progress_phase(f->pt, BS_PH_SEALED, 0);
out:
	atomic_fetch_sub(f->running, 1);
	return NULL;
}

/* Open a session on @f and claim + invalidate the device. 0 or -1 (failed). */
static int attach(struct flash_job *j, struct flash_target *f, uint64_t total)
{
	struct bootseal_attach a;
	int e;

	memset(&a, 0, sizeof(a));
	f->sfd = bs_client_open();
	if (f->sfd < 0) {
		bs_progress_fail(f->pt, BS_EXIT_DEVICE, "Unable to open %s: %s",
				 BOOTSEAL_DEVICE_PATH, bs_client_open_reason(errno));
		return -1;
	}
	snprintf(a.path, sizeof(a.path), "%s", f->drive.path);
	a.head_len = f->head_len;
	a.total_bytes = total;
	bs_progress_phase(f->pt, BS_PH_ATTACHING, 0);
	if (bs_client_attach(f->sfd, &a)) {
		e = errno;
		if (e == EINVAL)
			bs_progress_fail(f->pt, BS_EXIT_DEVICE,
					 "Unable to attach %s: the module refused head length %llu "
					 "(logical block size %u, module maximum %llu)",
					 f->pt->path, (unsigned long long)f->head_len, f->lbs,
					 (unsigned long long)bs_module_max_head());
		else if (e == EBUSY) {
			char why[512];

			bs_busy_reason(f->drive.path, why, sizeof(why));
			bs_progress_fail(f->pt, BS_EXIT_DEVICE,
					 "Unable to attach %s: it is busy: %s", f->pt->path, why);
		} else
			bs_progress_fail(f->pt, e == EIO ? BS_EXIT_WRITE : BS_EXIT_DEVICE,
					 "Unable to attach %s: %s", f->pt->path,
					 bs_client_attach_reason(e));
		bs_client_close(&f->sfd);
		return -1;
	}
	f->dev_size = a.dev_size;
	f->lbs = a.logical_block_size;
	atomic_store(&f->pt->session_id, a.session_id);
	return 0;
}

/* Resolve, probe and check one target. 0, or -1 with the target failed. */
static int prepare_target(struct flash_job *j, struct flash_target *f)
{
	struct bs_safety s = {.allow_fixed = j->o->allow_fixed, .unmount = j->o->unmount};
	char err[512], path[64];

	if (!strncmp(f->spec, "usb:", 4)) {
		if (bs_drive_from_usb_port(f->spec + 4, path, sizeof(path), err, sizeof(err))) {
			bs_progress_fail(f->pt, BS_EXIT_DEVICE, "Unable to find %s: %s", f->spec,
					 err);
			return -1;
		}
	} else {
		snprintf(path, sizeof(path), "%s", f->spec);
	}
	snprintf(f->pt->path, sizeof(f->pt->path), "%s", path);
	if (bs_drive_probe(path, &f->drive, err, sizeof(err))) {
		bs_progress_fail(f->pt, BS_EXIT_DEVICE, "Unable to use %s: %s", path, err);
		return -1;
	}
	snprintf(f->pt->path, sizeof(f->pt->path), "%s", f->drive.path);
	snprintf(f->pt->dev_name, sizeof(f->pt->dev_name), "%s", f->drive.name);
	s.image_size = j->image_size > 0 ? (uint64_t)j->image_size : 0;
	if (bs_drive_check(&f->drive, &s, err, sizeof(err))) {
		bs_progress_fail(f->pt, BS_EXIT_DEVICE, "Unable to use %s: %s", f->drive.path, err);
		return -1;
	}
	f->lbs = f->drive.logical_block_size ? f->drive.logical_block_size : 512;
	if (f->lbs < 512 || f->lbs > 65536 || (f->lbs & (f->lbs - 1))) {
		bs_progress_fail(f->pt, BS_EXIT_DEVICE,
				 "Unable to use %s: logical block size %u is invalid",
				 f->drive.path, f->lbs);
		return -1;
	}
	return 0;
}

static int choose_head(struct flash_job *j, struct flash_target *f)
{
	char note[256];
	enum bs_head_kind kind;

	if (j->o->head_len) {
		if (j->o->head_len % f->lbs) {
			bs_progress_fail(f->pt, BS_EXIT_USAGE,
					 "Unable to use --head %llu for %s: not a multiple of its "
					 "logical block size %u",
					 (unsigned long long)j->o->head_len, f->drive.path, f->lbs);
			return -1;
		}
		f->head_len = j->o->head_len;
		return 0;
	}
	f->head_len = bs_head_auto(j->peek, j->peek_len, f->lbs, bs_module_max_head(), &kind, note,
				   sizeof(note));
	if (note[0] && f == &j->ft[0])
		bs_warn("%s", note);
	return 0;
}

bool bs_confirm_answer(const char *line)
{
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	n = strcspn(line, " \t\r\n");
	if (line[n + strspn(line + n, " \t\r\n")])
		return false; /* more than one word */
	return (n == 1 && (*line == 'y' || *line == 'Y')) ||
	       (n == 3 && !strncasecmp(line, "yes", 3));
}

bool bs_flash_prompt(FILE *in, FILE *out, const char *image, const char *format, int64_t image_size,
		     int64_t file_size, const struct bs_drive *const *drives, size_t n)
{
	char line[128], isz[32] = "size unknown", fsz[48] = "";
	size_t i;

	if (image_size >= 0)
		bs_human_size((uint64_t)image_size, isz, sizeof(isz));
	if (file_size >= 0 && strcmp(format, "raw")) {
		char t[32];

		bs_human_size((uint64_t)file_size, t, sizeof(t));
		snprintf(fsz, sizeof(fsz), ", %s file", t);
	}
	fprintf(out, "%s: about to write %s (%s, %s%s) to:\n", bs_prog, image, format, isz, fsz);
	for (i = 0; i < n; i++) {
		char sz[32];

		bs_human_size(drives[i]->size, sz, sizeof(sz));
		fprintf(out, "  %-12s %10s  %s%s%s%s\n", drives[i]->path, sz,
			drives[i]->model[0] ? drives[i]->model : "(no model)",
			drives[i]->transport[0] ? " (" : "", drives[i]->transport,
			drives[i]->transport[0] ? ")" : "");
	}
	fprintf(out, "Everything on %s will be erased. Continue? [y/N] ", n == 1 ? "it" : "them");
	fflush(out);
	if (!fgets(line, sizeof(line), in)) {
		fputc('\n', out);
		return false;
	}
	return bs_confirm_answer(line);
}

static bool confirm(struct flash_job *j)
{
	const struct bs_drive *d[BS_MAX_TARGETS];
	size_t i, n = 0;

	if (j->o->yes)
		return true;
	if (!isatty(STDIN_FILENO) || !strcmp(j->image, "-")) {
		bs_error("Unable to flash: refusing to erase devices without confirmation; pass "
			 "--yes");
		return false;
	}
	for (i = 0; i < j->n; i++)
		if (!bs_progress_final(&j->pt[i]))
			d[n++] = &j->ft[i].drive;
	if (bs_flash_prompt(stdin, stderr, j->image, bs_format_name(bs_source_format(j->src)),
			    j->image_size, bs_source_in_size(j->src), d, n))
		return true;
	bs_error("Unable to flash: not confirmed (answer y or yes to go on); nothing was "
		 "written");
	return false;
}

/*
 * The partition table in the first @len bytes of a disk or image; NULL with
 * @why when there is no valid one. Only the start is looked at (no size),
 * so an image and the device it was written to are read the same way.
 */
static struct bs_ptable *table_of(const unsigned char *buf, size_t len, const char *name, char *why,
				  size_t whylen)
{
	struct bs_reader *r = bs_reader_mem(buf, len, name);
	struct bs_ptable *pt;

	if (!r) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	pt = bs_ptable_read(r, BS_PT_NO_SIZE, why, whylen);
	bs_reader_close(r);
	if (pt && !bs_ptable_valid(pt)) {
		snprintf(why, whylen, "%s",
			 pt->nfindings		   ? pt->findings[0].msg
			 : pt->label == BS_PT_NONE ? "no MBR or GPT signature"
						   : "no partitions");
		free(pt);
		pt = NULL;
	}
	return pt;
}

/*
 * The image, under a read lease when it is a file (see bs_source_changed()):
 * refused while someone writes it, watched for writers until the seal.
 */
static struct bs_source *open_leased(struct flash_job *j, char *err, size_t errlen)
{
	struct bs_source_opts o;

	bs_source_opts_default(&o);
	o.threads = j->o->threads;
	o.lease = true;
	return bs_source_open_opts(j->image, &o, err, errlen);
}

/*
 * Refuse what is not a disk image (imagecheck.h) before any device is
 * touched, unless --force-raw says the bytes are wanted as they are.
 */
static int check_content(struct flash_job *j)
{
	enum bs_format fmt = bs_source_format(j->src), want = bs_format_from_name(j->image);
	char why[256];

	if (want != BS_FMT_RAW && fmt != BS_FMT_RAW && want != fmt)
		bs_warn("%s is named like a %s file but holds %s data; decoding it as %s", j->image,
			bs_format_name(want), bs_format_name(fmt), bs_format_name(fmt));
	if (bs_image_check(j->image, fmt, j->peek, j->peek_len, j->img_pt != NULL, why,
			   sizeof(why)) == BS_IMG_OK)
		return 0;
	if (j->o->force_raw) {
		bs_warn("writing %s as it is (--force-raw): %s", j->image, why);
		return 0;
	}
	bs_error("Unable to flash %s: %s; no device was touched (pass --force-raw to write "
		 "these bytes as they are)",
		 j->image, why);
	return -1;
}

/*
 * The expected SHA-256 (--sha256, or IMAGE.sha256 / SHA256SUMS next to the
 * image) may be the download's or the decompressed image's. The file's is
 * computed first, before any device is touched; only when it differs (and
 * the file is compressed) is the hash compared with the image while it is
 * written, which fails every target before the seal.
 */
static int check_sha(struct flash_job *j)
{
	char from[4200] = "--sha256", want[65], got[65], err[256];
	bool say = !j->o->json && !j->o->quiet;
	unsigned char actual[32];
	struct stat st;
	int r;

	if (!j->o->sha256) {
		if (j->o->no_sha256)
			return 0;
		r = bs_sha256_find(j->image, j->sha, from, sizeof(from));
		if (r < 0) {
			bs_warn("not checking a SHA-256: %s", from);
			return 0;
		}
		if (!r)
			return 0;
	}
	bs_hex_format(j->sha, 32, want);
	if (strcmp(j->image, "-") && !stat(j->image, &st) && S_ISREG(st.st_mode)) {
		if (say)
			fprintf(stderr, "%s: checking the SHA-256 of %s (expected %s, from %s)\n",
				bs_prog, j->image, want, from);
		if (bs_sha256_file(j->image, actual, &flash_sig, err, sizeof(err))) {
			if (atomic_load(&flash_sig)) {
				bs_error("interrupted while checking the SHA-256 of %s; no device "
					 "was touched",
					 j->image);
				return BS_EXIT_SIGNAL + atomic_load(&flash_sig);
			}
			bs_error("Unable to read %s for its SHA-256: %s", j->image, err);
			return BS_EXIT_IMAGE;
		}
		bs_hex_format(actual, 32, got);
		if (bs_hash_equal(actual, j->sha, 32)) {
			if (say)
				fprintf(stderr, "%s: SHA-256 of %s matches: %s\n", bs_prog,
					j->image, got);
			return 0;
		}
		if (bs_source_format(j->src) == BS_FMT_RAW) {
			bs_error("Unable to flash %s: its SHA-256 is %s, expected %s (from %s); no "
				 "device was touched",
				 j->image, got, want, from);
			return BS_EXIT_IMAGE;
		}
		if (say)
			fprintf(stderr,
				"%s: SHA-256 of %s is %s, not the expected one: comparing the "
				"expected %s with the decompressed image while writing\n",
				bs_prog, j->image, got, want);
		snprintf(j->sha_note, sizeof(j->sha_note),
			 " (from %.1000s); the SHA-256 of the file %.1000s is %s", from, j->image,
			 got);
	} else if (bs_source_is_url(j->src)) {
		if (say)
			fprintf(stderr,
				"%s: comparing the SHA-256 of the download and of the decompressed "
				"image with %s (from %s) while writing\n",
				bs_prog, want, from);
		snprintf(j->sha_note, sizeof(j->sha_note),
			 " (from %.1000s); the download's does not match either", from);
	} else {
		if (say)
			fprintf(stderr,
				"%s: comparing the SHA-256 of the decompressed image with %s (from "
				"%s) while writing\n",
				bs_prog, want, from);
		snprintf(j->sha_note, sizeof(j->sha_note), " (from %.1000s)", from);
	}
	j->sha_pump = true;
	return 0;
}

/* The first BS_PUMP_CHUNK bytes of @src (fewer for a shorter image) into @buf: their count, or -1.
 */
static ssize_t read_peek(struct bs_source *src, unsigned char *buf)
{
	ssize_t r = 0;

	while (r < (ssize_t)BS_PUMP_CHUNK) {
		ssize_t k = bs_source_read(src, buf + r, BS_PUMP_CHUNK - (size_t)r);

		if (k <= 0)
			return k < 0 ? -1 : r;
		r += k;
	}
	return r;
}

/* Open the image, load its bmap, read its first bytes. 0 or -1 (reported). */
static int open_image(struct flash_job *j)
{
	char err[512];
	char *bpath = NULL;
	ssize_t r;

	if (j->o->sha256 && bs_parse_sha256(j->o->sha256, j->sha)) {
		bs_error("Unable to use --sha256 %s: expected 64 hexadecimal digits", j->o->sha256);
		return BS_EXIT_USAGE;
	}
	j->src = open_leased(j, err, sizeof(err));
	if (!j->src) {
		bs_error("Unable to open image %s", err);
		return BS_EXIT_IMAGE;
	}
	j->image_size = bs_source_size(j->src);
	if (!j->o->no_bmap) {
		int got = 0;

		if (j->o->bmap && bs_url_is_http(j->o->bmap)) {
			got = bs_bmap_fetch(j->o->bmap, &j->bmap, err, sizeof(err));
			if (!got)
				snprintf(err, sizeof(err), "%s: not found on the server",
					 j->o->bmap);
			got = got ? got : -1;
			bpath = strdup(j->o->bmap);
		} else if (j->o->bmap) {
			bpath = strdup(j->o->bmap);
		} else if (bs_url_is_http(j->image)) {
			got = bs_bmap_find_url(j->image, &j->bmap, &bpath, err, sizeof(err));
		} else if (strcmp(j->image, "-")) {
			bpath = bs_bmap_find(j->image);
		}
		if (got < 0) {
			bs_error("Unable to load bmap %s", err);
			free(bpath);
			return BS_EXIT_IMAGE;
		}
		if (bpath && !got && bs_bmap_load(bpath, &j->bmap, err, sizeof(err))) {
			bs_error("Unable to load bmap %s", err);
			free(bpath);
			return BS_EXIT_IMAGE;
		}
	}
	if (bpath) {
		j->have_bmap = true;
		if (j->image_size >= 0 && (uint64_t)j->image_size != j->bmap.image_size) {
			bs_error("Unable to use bmap %s: it describes %llu bytes, the image has "
				 "%lld",
				 bpath, (unsigned long long)j->bmap.image_size,
				 (long long)j->image_size);
			free(bpath);
			return BS_EXIT_IMAGE;
		}
		if (!j->o->json && !j->o->quiet)
			fprintf(stderr, "%s: using bmap %s (%llu of %llu blocks mapped)\n", bs_prog,
				bpath, (unsigned long long)j->bmap.blocks_mapped,
				(unsigned long long)j->bmap.blocks_total);
		j->image_size = (int64_t)j->bmap.image_size;
		free(bpath);
	}
	j->peek = malloc(BS_PUMP_CHUNK);
	if (!j->peek) {
		bs_error("Unable to read image: out of memory");
		return BS_EXIT_FAILURE;
	}
	r = read_peek(j->src, j->peek);
	if (r < 0) {
		bs_error("Unable to read image %s: %s", j->image, bs_source_error(j->src));
		return BS_EXIT_IMAGE;
	}
	if (r == 0) {
		bs_error("Unable to use image %s: it is empty", j->image);
		return BS_EXIT_IMAGE;
	}
	j->peek_len = (size_t)r;
	if ((size_t)r < BS_PUMP_CHUNK && j->image_size < 0)
		j->image_size = r;
	j->img_pt = table_of(j->peek, j->peek_len, j->image, err, sizeof(err));
	if (!j->img_pt && j->o->strict) {
		bs_error("Unable to flash %s: the image has no valid partition table (%s; "
			 "--strict)",
			 j->image, err);
		return BS_EXIT_IMAGE;
	}
	if (check_content(j))
		return BS_EXIT_IMAGE;
	if (!j->img_pt)
		bs_warn("the image %s has no valid partition table (%s)", j->image, err);
	r = check_sha(j);
	if (r)
		return (int)r;
	return BS_EXIT_OK;
}

/*
 * A URL's transfer waits while the prompt is open, and a server may close a
 * connection that stays idle that long. After a prompt the image is asked
 * for again: its first bytes, length and format must be the same.
 */
static int reopen_url(struct flash_job *j)
{
	unsigned char *peek = malloc(BS_PUMP_CHUNK);
	struct bs_source *s;
	char err[512];
	ssize_t r = 0;

	if (!peek) {
		bs_error("Unable to read image: out of memory");
		return BS_EXIT_FAILURE;
	}
	s = open_leased(j, err, sizeof(err));
	if (!s) {
		bs_error("Unable to open image %s; nothing was written", err);
		free(peek);
		return BS_EXIT_IMAGE;
	}
	r = read_peek(s, peek);
	if (r < 0) {
		bs_error("Unable to read image %s: %s; nothing was written", j->image,
			 bs_source_error(s));
	} else if ((size_t)r != j->peek_len || memcmp(peek, j->peek, j->peek_len) ||
		   bs_source_format(s) != bs_source_format(j->src) ||
		   bs_source_in_size(s) != bs_source_in_size(j->src)) {
		bs_error("Unable to flash %s: it changed on the server while the prompt was open; "
			 "nothing was written",
			 j->image);
		r = -1;
	}
	free(peek);
	if (r < 0) {
		bs_source_close(s);
		return BS_EXIT_IMAGE;
	}
	bs_source_close(j->src);
	j->src = s;
	return 0;
}

static double pump_fraction(void *arg)
{
	struct flash_job *j = arg;
	int64_t in = bs_source_in_size(j->src), pos = bs_source_in_pos(j->src);

	if (in <= 0 || pos < 0)
		return -1;
	return (double)pos / (double)in;
}

/* Once, when a signal was noticed: what happens now. */
static void say_stopping(struct flash_job *j)
{
	if (j->stop_said)
		return;
	j->stop_said = true;
	bs_progress_report(&j->prog);
	if (j->prog.mode == BS_PROGRESS_TTY && j->prog.lines) {
		fprintf(stderr, "\033[%dA\033[J", j->prog.lines);
		j->prog.lines = 0;
	}
	if (j->prog.mode != BS_PROGRESS_JSON)
		fprintf(stderr,
			"%s: interrupted by %s: aborting every session and waiting for them to "
			"stop\n",
			bs_prog, signal_name(atomic_load(&flash_sig)));
}

/* Write phase: attach every target, run the pump and the writers. */
static void write_all(struct flash_job *j)
{
	struct bs_pump_cfg cfg = {0};
	pthread_t th[BS_MAX_TARGETS];
	bool started[BS_MAX_TARGETS] = {false};
	_Atomic int running = 0;
	struct bs_pump *pump;
	uint32_t align = 512;
	unsigned int nsinks = 0;
	uint64_t total;
	char err[512];
	size_t i;

	for (i = 0; i < j->n; i++)
		if (!bs_progress_final(&j->pt[i]) && j->ft[i].lbs > align)
			align = j->ft[i].lbs;
	total = bs_pump_plan_bytes(j->have_bmap ? &j->bmap : NULL, j->have_bmap ? 0 : j->image_size,
				   align);
	for (i = 0; i < j->n; i++) {
		struct flash_target *f = &j->ft[i];

		if (bs_progress_final(f->pt))
			continue;
		bs_progress_tick(&j->prog, 0);
		if (atomic_load(&flash_sig))
			break;
		if (attach(j, f, total))
			continue;
		f->active = true;
		f->sink = nsinks++;
		f->running = &running;
	}
	if (!nsinks)
		return;
	cfg.src = j->src;
	cfg.peek = j->peek;
	cfg.peek_len = j->peek_len;
	cfg.bmap = j->have_bmap ? &j->bmap : NULL;
	cfg.check_bmap = true;
	cfg.sha256 = j->sha_pump ? j->sha : NULL;
	cfg.sha256_note = j->sha_note;
	cfg.align = align;
	cfg.nsinks = nsinks;
	cfg.map = true; /* mapped chunks are written without a copy (WRITE_F_PIN) */
	pump = bs_pump_start(&cfg, err, sizeof(err));
	for (i = 0; i < j->n; i++) {
		struct flash_target *f = &j->ft[i];

		if (!f->active)
			continue;
		if (!pump) {
			bs_client_close(&f->sfd);
			bs_progress_fail(f->pt, BS_EXIT_FAILURE, "%s", err);
			continue;
		}
		f->pump = pump;
		atomic_store(&f->pt->verify_next, !j->o->no_verify && !flash_read_once(j));
		bs_progress_phase(f->pt, BS_PH_WRITING, total);
		atomic_fetch_add(&running, 1);
		if (pthread_create(&th[i], NULL, writer, f)) {
			atomic_fetch_sub(&running, 1);
			writer_stop(f, false, true);
			bs_progress_fail(f->pt, BS_EXIT_FAILURE, "Unable to start a writer: %s",
					 strerror(errno));
			continue;
		}
		started[i] = true;
	}
	if (!pump)
		return;
	j->prog.fraction = total ? NULL : pump_fraction;
	j->prog.fraction_arg = j;
	while (atomic_load(&running) > 0) {
		bs_progress_tick(&j->prog, 20); /* short: the end is not signalled */
		if (atomic_load(&flash_sig)) {
			say_stopping(j);
			bs_pump_cancel(pump); /* writers blocked on the image see the end */
		}
	}
	for (i = 0; i < j->n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	bs_pump_join(pump, NULL);
	j->prog.fraction = NULL;
	bs_progress_flush(&j->prog);
	bs_pump_free(pump);
}

/*
 * Read the start of each sealed target back (O_DIRECT) and compare its
 * partition table with the image's: what fdisk and the kernel will see.
 */
static void check_tables(struct flash_job *j)
{
	unsigned char *buf = NULL;
	char why[256];
	size_t i;

	if (!j->img_pt)
		return;
	for (i = 0; i < j->n; i++) {
		struct flash_target *f = &j->ft[i];
		struct bs_ptable *pt;
		ssize_t r = -1;
		size_t len;
		int fd;

		if (atomic_load(&f->pt->phase) != BS_PH_SEALED)
			continue;
		len = (size_t)bs_round_up(j->peek_len, f->lbs); /* lbs is known once sealed */
		if (len > f->dev_size)
			len = (size_t)f->dev_size;
		if (!buf && posix_memalign((void **)&buf, 65536, BS_PUMP_CHUNK + 65536)) {
			bs_progress_fail(f->pt, BS_EXIT_FAILURE,
					 "Unable to check %s: out of memory", f->drive.path);
			continue;
		}
		fd = open(f->drive.path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (fd >= 0) {
			r = pread(fd, buf, len, 0);
			close(fd);
		}
		if (r < (ssize_t)len) {
			bs_progress_fail(f->pt, BS_EXIT_VERIFY,
					 "Unable to read the partition table of %s back: %s",
					 f->drive.path, r < 0 ? strerror(errno) : "short read");
			continue;
		}
		pt = table_of(buf, j->peek_len < len ? j->peek_len : len, f->drive.path, why,
			      sizeof(why));
		if (!pt)
			bs_progress_fail(
				f->pt, BS_EXIT_VERIFY,
				"Unable to verify %s: no valid partition table after sealing (%s)",
				f->drive.path, why);
		else if (bs_ptable_compare(pt, j->img_pt, why, sizeof(why)))
			bs_progress_fail(f->pt, BS_EXIT_VERIFY,
					 "Unable to verify %s: its partition table differs from "
					 "the image's: %s",
					 f->drive.path, why);
		free(pt);
	}
	free(buf);
}

static void verify_all(struct flash_job *j)
{
	struct bs_verify_target vt[BS_MAX_TARGETS];
	size_t i, nv = 0, sealed = 0;

	for (i = 0; i < j->n; i++) {
		struct bs_ptarget *t = &j->pt[i];

		if (atomic_load(&t->phase) != BS_PH_SEALED)
			continue;
		sealed++;
		if (atomic_load(&flash_sig)) {
			bs_progress_fail(t, BS_EXIT_SIGNAL + atomic_load(&flash_sig),
					 "interrupted: %s is written and sealed, but was not "
					 "verified (bootseal verify %s %s)",
					 t->path, j->image, t->path);
			continue;
		}
		if (j->o->no_verify || flash_read_once(j)) {
			bs_progress_phase(t, BS_PH_DONE, 0);
			continue;
		}
		vt[nv].pt = t;
		nv++;
	}
	if (!strcmp(j->image, "-") && !j->o->no_verify && nv == 0)
		bs_warn("not verifying: an image read from standard input cannot be read again");
	else if (flash_read_once(j) && !j->o->no_verify && sealed)
		bs_warn("not verifying: an image streamed from a URL is not stored, so it "
			"cannot be read again (bootseal verify URL DEVICE downloads it once more)");
	if (nv)
		bs_verify_targets(&j->prog, j->image, j->o->threads, j->have_bmap ? &j->bmap : NULL,
				  vt, nv);
	bs_progress_flush(&j->prog);
}

static void signals_restart(void);

static int flash_run(const struct bs_flash_opts *o, const char *image, char *const *targets,
		     size_t n, bool handle_signals)
{
	struct flash_job j;
	uint64_t image_bytes = 0;
	int rc = BS_EXIT_OK;
	size_t i, k, ok = 0;

	memset(&j, 0, sizeof(j));
	j.o = o;
	j.image = image;
	j.n = n;
	j.image_size = -1;
	if (n == 0 || n > BS_MAX_TARGETS) {
		bs_error("Unable to flash: give 1 to %d targets", BS_MAX_TARGETS);
		return BS_EXIT_USAGE;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < i; k++)
			if (!strcmp(targets[i], targets[k])) {
				bs_error("Unable to flash: %s is named twice", targets[i]);
				return BS_EXIT_USAGE;
			}
	j.ft = calloc(n, sizeof(*j.ft));
	j.pt = calloc(n, sizeof(*j.pt));
	if (!j.ft || !j.pt) {
		bs_error("Unable to flash: out of memory");
		rc = BS_EXIT_FAILURE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		j.ft[i].pt = &j.pt[i];
		j.ft[i].spec = targets[i];
		j.ft[i].sfd = -1;
		snprintf(j.pt[i].path, sizeof(j.pt[i].path), "%s", targets[i]);
		snprintf(j.pt[i].label, sizeof(j.pt[i].label), "%s", targets[i]);
	}
	bs_progress_init(&j.prog, bs_progress_pick_mode(o->json, o->quiet), j.pt, n);
	rc = open_image(&j);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		if (!prepare_target(&j, &j.ft[i]) && !choose_head(&j, &j.ft[i]))
			ok++;
	bs_progress_report(&j.prog); /* refused targets, but no bars above the prompt */
	if (ok && !atomic_load(&flash_sig) && !confirm(&j) && !atomic_load(&flash_sig)) {
		rc = BS_EXIT_USAGE;
		goto out;
	}
	if (ok && !o->yes && !atomic_load(&flash_sig) && bs_source_is_url(j.src)) {
		rc = reopen_url(&j);
		if (rc)
			goto out;
	}
	if (atomic_load(&flash_sig)) {
		bs_error("interrupted by %s: nothing was written",
			 signal_name(atomic_load(&flash_sig)));
		rc = BS_EXIT_SIGNAL + atomic_load(&flash_sig);
		goto out;
	}
	if (handle_signals)
		signals_restart();
	j.prog.stop = handle_signals ? &flash_sig : NULL;
	/* two targets may be the same disk under two names */
	for (i = 0; i < n; i++)
		for (k = 0; k < i; k++)
			if (!bs_progress_final(&j.pt[i]) && !bs_progress_final(&j.pt[k]) &&
			    !strcmp(j.ft[i].drive.path, j.ft[k].drive.path))
				bs_progress_fail(&j.pt[i], BS_EXIT_USAGE,
						 "Unable to flash %s: named twice",
						 j.ft[i].drive.path);
	bs_progress_listen(&j.prog);
	write_all(&j);
	check_tables(&j);
	image_bytes = j.image_size > 0 ? (uint64_t)j.image_size : 0;
	verify_all(&j);
	if (atomic_load(&flash_sig)) {
		for (i = 0; i < n; i++)
			bs_progress_fail(&j.pt[i], BS_EXIT_SIGNAL + atomic_load(&flash_sig),
					 "interrupted: %s was not touched", j.pt[i].path);
		say_stopping(&j);
	}
	bs_progress_flush(&j.prog);
	bs_progress_close(&j.prog);
	rc = flash_report(&j, image_bytes);
out:
	/* Interrupted, also before any target was started: 128 + the signal. */
	if (atomic_load(&flash_sig))
		rc = BS_EXIT_SIGNAL + atomic_load(&flash_sig);
	if (j.ft)
		for (i = 0; i < n; i++)
			bs_client_close(&j.ft[i].sfd);
	if (j.src)
		bs_source_close(j.src);
	if (j.have_bmap)
		bs_bmap_free(&j.bmap);
	free(j.peek);
	free(j.img_pt);
	free(j.ft);
	free(j.pt);
	return rc;
}

static const int flash_signals[] = {SIGINT, SIGTERM, SIGHUP};
static bool sig_ignored[3]; /* ignored when we started (nohup, a background job) */

/* Install on_flash_signal; with @restart, system calls resume after it. */
static void signals_install(bool restart)
{
	struct sigaction sa = {.sa_handler = on_flash_signal, .sa_flags = restart ? SA_RESTART : 0};
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(flash_signals) / sizeof(flash_signals[0]); i++)
		if (!sig_ignored[i])
			sigaction(flash_signals[i], &sa, NULL);
}

/* After the prompt: workers must not see EINTR. */
static void signals_restart(void)
{
	signals_install(true);
}

int bs_flash_run(const struct bs_flash_opts *o, const char *image, char *const *targets, size_t n)
{
	struct sigaction old[sizeof(flash_signals) / sizeof(flash_signals[0])];
	bool handle = true;
	size_t i;
	int rc;

	/*
	 * Only when nobody else handles them (flash --usbboot has its own
	 * handlers and calls this from several threads); a signal that was
	 * ignored when we started (nohup, a background job) stays ignored.
	 */
	for (i = 0; i < sizeof(flash_signals) / sizeof(flash_signals[0]); i++) {
		sigaction(flash_signals[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_DFL && old[i].sa_handler != SIG_IGN)
			handle = false;
	}
	if (handle) {
		atomic_store(&flash_sig, 0);
		for (i = 0; i < sizeof(flash_signals) / sizeof(flash_signals[0]); i++)
			sig_ignored[i] = old[i].sa_handler == SIG_IGN;
		signals_install(false); /* the prompt's read returns at Ctrl-C */
		/* a URL's transfer stops waiting too */
		bs_http_stop = &flash_sig;
	}
	rc = flash_run(o, image, targets, n, handle);
	bs_http_stop = NULL;
	if (handle)
		for (i = 0; i < sizeof(flash_signals) / sizeof(flash_signals[0]); i++)
			sigaction(flash_signals[i], &old[i], NULL);
	return rc;
}
