// SPDX-License-Identifier: GPL-2.0
/*
 * Read-back verification with O_DIRECT, one reader pass for every target.
 *
 * Each target has a read-ahead thread that keeps reading the device
 * sequentially into a small ring of buffers while the verifier compares the
 * previous ones, so reading and comparing overlap; a verifier that asks for
 * another offset (a bmap gap) moves the read-ahead there.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "flash.h"
#include "mapguard.h"
#include "source.h"
#include "verify.h"

#define VBUF_LEN (1u << 20) /* bytes per device read */
#define VBUF_NR	 3	    /* read-ahead ring depth, per target */

int bs_exit_worst(int a, int b)
{
	static const int rank[] = {
		[BS_EXIT_OK] = 0,     [BS_EXIT_FAILURE] = 1, [BS_EXIT_USB] = 2,
		[BS_EXIT_VERIFY] = 3, [BS_EXIT_WRITE] = 4,   [BS_EXIT_DEVICE] = 5,
		[BS_EXIT_IMAGE] = 6,  [BS_EXIT_USAGE] = 7,
	};
	int ra = a >= 0 && a <= BS_EXIT_USB ? rank[a] : 1;
	int rb = b >= 0 && b <= BS_EXIT_USB ? rank[b] : 1;

	return ra >= rb ? a : b;
}

/* One device read of the read-ahead ring. */
struct vread {
	unsigned char *buf;
	uint64_t off;
	size_t len; /* bytes asked for */
	ssize_t got;
	int err; /* errno when got < 0 */
};

struct vsink {
	struct bs_verify_target *vt;
	struct bs_pump *pump;
	unsigned int sink;
	int fd;
	uint32_t lbs;
	uint64_t dev_size;
	const char *image;
	_Atomic int *running;
	_Atomic int *sigstop; /* the progress' stop signal, or NULL */
	/* read-ahead: ring[head .. head+count) are read, in device order */
	pthread_t ra_thread;
	bool ra_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct vread ring[VBUF_NR];
	unsigned int head, count;
	uint64_t cursor; /* next offset the read-ahead reads */
	uint64_t ra_end; /* it reads nothing at or past this offset */
	uint64_t gen;	 /* bumped when the verifier moves the cursor */
	bool stop;
};

/* Open @path for reading, O_DIRECT when the file system allows it. */
static int open_target(struct vsink *v, char *err, size_t errlen)
{
	const char *path = v->vt->pt->path;
	struct stat st;
	int lbs = 512;

	/* block devices are read with O_DIRECT: the medium, not the page cache */
	v->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (v->fd < 0 || fstat(v->fd, &st)) {
		snprintf(err, errlen, "Unable to open %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		int dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

		if (dfd < 0) {
			snprintf(err, errlen, "Unable to open %s with O_DIRECT: %s", path,
				 strerror(errno));
			return -1;
		}
		close(v->fd);
		v->fd = dfd;
		if (ioctl(v->fd, BLKSSZGET, &lbs) || ioctl(v->fd, BLKGETSIZE64, &v->dev_size)) {
			snprintf(err, errlen, "Unable to read the size of %s: %s", path,
				 strerror(errno));
			return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		v->dev_size = (uint64_t)st.st_size;
	} else {
		snprintf(err, errlen, "Unable to verify %s: not a block device or file", path);
		return -1;
	}
	if (lbs < 512 || lbs > 65536 || (lbs & (lbs - 1))) {
		snprintf(err, errlen, "Unable to verify %s: logical block size %d is invalid", path,
			 lbs);
		return -1;
	}
	v->lbs = (uint32_t)lbs;
	for (int i = 0; i < VBUF_NR; i++) {
		if (posix_memalign((void **)&v->ring[i].buf, 65536, VBUF_LEN)) {
			snprintf(err, errlen, "Unable to verify %s: out of memory", path);
			return -1;
		}
	}
	return 0;
}

static ssize_t pread_full(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void *read_ahead(void *arg)
{
	struct vsink *v = arg;

	pthread_mutex_lock(&v->mu);
	for (;;) {
		struct vread *r;
		uint64_t gen, off;
		size_t len;
		ssize_t got;
		int e;

		while (!v->stop && (v->count == VBUF_NR || v->cursor >= v->ra_end))
			pthread_cond_wait(&v->cv, &v->mu);
		if (v->stop)
			break;
		r = &v->ring[(v->head + v->count) % VBUF_NR];
		gen = v->gen;
		off = v->cursor;
		len = v->ra_end - off < VBUF_LEN ? (size_t)(v->ra_end - off) : VBUF_LEN;
		pthread_mutex_unlock(&v->mu);
		got = pread_full(v->fd, r->buf, len, off);
		e = errno;
		pthread_mutex_lock(&v->mu);
		if (gen != v->gen)
			continue; /* the verifier went elsewhere meanwhile */
		r->off = off;
		r->len = len;
		r->got = got;
		r->err = e;
		v->count++;
		v->cursor = off + len;
		pthread_cond_broadcast(&v->cv);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

/*
 * The device bytes [@off, @off + @n), n <= VBUF_LEN, from the read-ahead
 * ring; release with dev_done(). NULL on a read error (errno set; a short
 * read sets EIO).
 */
static const unsigned char *dev_get(struct vsink *v, uint64_t off, size_t n)
{
	struct vread *r;

	pthread_mutex_lock(&v->mu);
	/* the image turned out longer than expected: read on to the device's end */
	if (off + n > v->ra_end)
		v->ra_end = v->dev_size;
	for (;;) {
		r = &v->ring[v->head];
		if (v->count && r->off == off && r->len >= n)
			break;
		if (v->count || v->cursor != off) {
			/* not what we read ahead: start again at @off */
			v->count = 0;
			v->cursor = off;
			v->gen++;
			pthread_cond_broadcast(&v->cv);
		}
		pthread_cond_wait(&v->cv, &v->mu);
	}
	pthread_mutex_unlock(&v->mu);
	if (r->got < 0) {
		errno = r->err;
		return NULL;
	}
	if ((size_t)r->got < n) {
		errno = EIO;
		return NULL;
	}
	return r->buf;
}

/* Done with the bytes dev_get() returned: their buffer can be refilled. */
static void dev_done(struct vsink *v)
{
	pthread_mutex_lock(&v->mu);
	if (v->count) {
		v->head = (v->head + 1) % VBUF_NR;
		v->count--;
		pthread_cond_broadcast(&v->cv);
	}
	pthread_mutex_unlock(&v->mu);
}

static void read_ahead_stop(struct vsink *v)
{
	if (!v->ra_started)
		return;
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->ra_thread, NULL);
	v->ra_started = false;
}

/* Compare one chunk. 0, or -1 with the target failed. */
static int verify_chunk(struct vsink *v, const struct bs_chunk *c)
{
	struct bs_ptarget *pt = v->vt->pt;
	size_t o;

	if (c->off + c->data_len > v->dev_size) {
		v->vt->mismatch = v->dev_size > c->off ? v->dev_size : c->off;
		bs_progress_fail(pt, BS_EXIT_VERIFY,
				 "Unable to verify %s: the device ends at byte %" PRIu64
				 ", the image goes on to byte %" PRIu64,
				 pt->path, v->dev_size, c->off + c->data_len);
		return -1;
	}
	for (o = 0; o < c->data_len; o += VBUF_LEN) {
		size_t cmp = c->data_len - o < VBUF_LEN ? c->data_len - o : VBUF_LEN;
		const unsigned char *d;
		int diff = 0;

		d = dev_get(v, c->off + o, cmp);
		if (!d) {
			bs_progress_fail(pt, BS_EXIT_VERIFY,
					 "Unable to read %s at byte %" PRIu64 ": %s", pt->path,
					 c->off + o, errno == EIO ? "short read" : strerror(errno));
			v->vt->mismatch = c->off + o;
			dev_done(v);
			return -1;
		}
		if (bs_map_memcmp(d, c->buf + o, cmp, &diff)) {
			bs_progress_fail(pt, BS_EXIT_IMAGE,
					 "Unable to verify %s: image %s changed size while it was "
					 "read (at byte %" PRIu64 ")",
					 pt->path, v->image, c->off + o);
			dev_done(v);
			return -1;
		}
		if (diff) {
			size_t i = 0;

			while (d[i] == c->buf[o + i])
				i++;
			v->vt->mismatch = c->off + o + i;
			bs_progress_fail(pt, BS_EXIT_VERIFY,
					 "Unable to verify %s: byte %" PRIu64
					 " differs (device 0x%02x, image 0x%02x)",
					 pt->path, v->vt->mismatch, d[i], c->buf[o + i]);
			dev_done(v);
			return -1;
		}
		dev_done(v);
		bs_progress_set_done(pt, atomic_load(&pt->done) + cmp);
	}
	return 0;
}

static void *verifier(void *arg)
{
	struct vsink *v = arg;
	double t0 = bs_now();
	struct bs_chunk c;
	int r;

	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	v->cursor = v->ra_end; /* nothing to read until the first dev_get() */
	v->ra_started = !pthread_create(&v->ra_thread, NULL, read_ahead, v);
	if (!v->ra_started) {
		bs_progress_fail(v->vt->pt, BS_EXIT_FAILURE, "Unable to start a reader for %s: %s",
				 v->vt->pt->path, strerror(errno));
		bs_pump_drop(v->pump, v->sink);
		r = -1;
		goto out;
	}
	while ((r = bs_pump_next(v->pump, v->sink, &c)) > 0) {
		if (verify_chunk(v, &c)) {
			bs_pump_release(v->pump, v->sink);
			bs_pump_drop(v->pump, v->sink);
			break;
		}
		bs_pump_release(v->pump, v->sink);
	}
	read_ahead_stop(v);
out:
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cv);
	v->vt->pt->verify_secs = bs_now() - t0;
	if (r == 0) {
		v->vt->status = BS_EXIT_OK;
		atomic_store(&v->vt->pt->phase, BS_PH_DONE);
	} else if (r < 0 && v->sigstop && atomic_load(v->sigstop)) {
		bs_progress_fail(v->vt->pt, BS_EXIT_SIGNAL + atomic_load(v->sigstop),
				 "interrupted: %s is written and sealed, but was not verified "
				 "(bootseal verify %s %s)",
				 v->vt->pt->path, v->image, v->vt->pt->path);
	} else if (r < 0 && !bs_progress_final(v->vt->pt)) {
		/* the image failed: reported once by the caller */
		bs_progress_fail(
			v->vt->pt, bs_pump_image_failed(v->pump) ? BS_EXIT_IMAGE : BS_EXIT_FAILURE,
			"Unable to verify %s: %s", v->vt->pt->path, bs_pump_error(v->pump));
	}
	if (bs_progress_final(v->vt->pt) && v->vt->pt->status)
		v->vt->status = v->vt->pt->status;
	atomic_fetch_sub(v->running, 1);
	return NULL;
}

static double src_fraction(void *arg)
{
	struct bs_source *s = arg;
	int64_t in = bs_source_in_size(s), pos = bs_source_in_pos(s);

	if (in <= 0 || pos < 0)
		return -1;
	return (double)pos / (double)in;
}

int bs_verify_targets(struct bs_progress *p, const char *image, unsigned int threads,
		      const struct bs_bmap *bmap, struct bs_verify_target *t, size_t n)
{
	struct vsink v[BS_MAX_TARGETS];
	pthread_t th[BS_MAX_TARGETS];
	bool started[BS_MAX_TARGETS] = {false};
	struct bs_pump_cfg cfg = {0};
	struct bs_source *src = NULL;
	struct bs_pump *pump = NULL;
	_Atomic int running = 0;
	char err[512];
	int worst = BS_EXIT_OK;
	unsigned int nsinks = 0;
	uint32_t align = 512;
	uint64_t total, end = UINT64_MAX;
	size_t i;

	if (n > BS_MAX_TARGETS)
		n = BS_MAX_TARGETS;
	memset(v, 0, sizeof(v));
	for (i = 0; i < n; i++) {
		t[i].mismatch = BS_VERIFY_NONE;
		t[i].status = BS_EXIT_FAILURE;
		v[i].vt = &t[i];
		v[i].fd = -1;
		v[i].running = &running;
		if (open_target(&v[i], err, sizeof(err))) {
			bs_progress_fail(t[i].pt, BS_EXIT_DEVICE, "%s", err);
			t[i].status = BS_EXIT_DEVICE;
			continue;
		}
		v[i].sink = nsinks++;
		if (v[i].lbs > align)
			align = v[i].lbs;
	}
	if (!nsinks)
		goto out;
	src = bs_source_open(image, threads, err, sizeof(err));
	if (!src) {
		for (i = 0; i < n; i++)
			if (v[i].fd >= 0)
				bs_progress_fail(t[i].pt, BS_EXIT_IMAGE, "Unable to open image %s",
						 err);
		goto out;
	}
	cfg.src = src;
	cfg.bmap = bmap;
	cfg.check_bmap = true;
	cfg.align = align;
	cfg.nsinks = nsinks;
	cfg.map = true; /* compared straight from a mapping of a raw image */
	pump = bs_pump_start(&cfg, err, sizeof(err));
	if (!pump) {
		for (i = 0; i < n; i++)
			if (v[i].fd >= 0)
				bs_progress_fail(t[i].pt, BS_EXIT_FAILURE, "%s", err);
		goto out;
	}
	total = bmap ? bmap->image_size : 0;
	if (bmap) {
		uint64_t mapped = 0;

		for (i = 0; i < bmap->nr_ranges; i++)
			mapped += (bmap->ranges[i].last - bmap->ranges[i].first + 1) *
				  bmap->block_size;
		total = mapped < bmap->image_size ? mapped : bmap->image_size;
	} else if (bs_source_size(src) > 0) {
		total = (uint64_t)bs_source_size(src);
	}
	/* where the image's data ends: no read-ahead past it */
	if (bmap)
		end = bs_round_up(bmap->image_size, align);
	else if (bs_source_size(src) > 0)
		end = bs_round_up((uint64_t)bs_source_size(src), align);
	p->fraction = src_fraction;
	p->fraction_arg = src;
	for (i = 0; i < n; i++) {
		if (v[i].fd < 0)
			continue;
		v[i].pump = pump;
		v[i].image = image;
		v[i].sigstop = p->stop;
		v[i].ra_end = end < v[i].dev_size ? end : v[i].dev_size;
		bs_progress_phase(t[i].pt, BS_PH_VERIFYING, total);
		atomic_fetch_add(&running, 1);
		if (pthread_create(&th[i], NULL, verifier, &v[i])) {
			atomic_fetch_sub(&running, 1);
			bs_progress_fail(t[i].pt, BS_EXIT_FAILURE, "Unable to start a verifier: %s",
					 strerror(errno));
			bs_pump_drop(pump, v[i].sink);
			continue;
		}
		started[i] = true;
	}
	while (atomic_load(&running) > 0) {
		bs_progress_tick(p, 20); /* short: the end is not signalled */
		if (p->stop && atomic_load(p->stop))
			bs_pump_cancel(pump); /* interrupted: verifiers see the end */
	}
	for (i = 0; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	/* sinks that stopped early do not care how the rest of the image reads */
	bs_pump_cancel(pump);
	bs_pump_join(pump, NULL);
out:
	p->fraction = NULL;
	bs_progress_flush(p);
	bs_pump_free(pump);
	if (src)
		bs_source_close(src);
	for (i = 0; i < n; i++) {
		if (bs_progress_final(t[i].pt) && t[i].pt->status)
			t[i].status = t[i].pt->status;
		worst = bs_exit_worst(worst, t[i].status);
		if (v[i].fd >= 0)
			close(v[i].fd);
		for (int k = 0; k < VBUF_NR; k++)
			free(v[i].ring[k].buf);
	}
	return worst;
}
