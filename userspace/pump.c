// SPDX-License-Identifier: GPL-2.0
/*
 * The image pump: one reader thread reads (and decompresses) the image once
 * into a bounded ring of chunk buffers; every sink walks the ring in order.
 * It also checks the bmap's range checksums and --sha256 as bytes go by.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapguard.h"
#include "pump.h"
#include "sha.h"

#define DISCARD_LEN    (1u << 20)
#define HASH_SPLIT_MIN (64u << 10) /* smaller pieces are not worth a hand-off */

/* Checking bmap ranges part, part + step, part + 2 step, ... in order. */
struct rcheck {
	EVP_MD_CTX *ctx;
	size_t range; /* next range of this part */
	unsigned int step;
	bool open;
};

/*
 * A second thread that checks every other bmap range while the reader checks
 * the rest, so that two CPUs hash: a piece is handed over, and the reader
 * waits for it before going on.
 */
struct hasher {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const unsigned char *d;
	size_t n;
	uint64_t pos;
	bool busy, stop;
	int ret, fault;
};

struct slot {
	unsigned char *buf;
	void *map; /* mapping behind c.buf, or NULL */
	size_t map_len;
	struct bs_chunk c;
	unsigned int pending; /* live sinks that have not released it */
};

struct bs_pump {
	struct bs_pump_cfg cfg;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot slots[BS_PUMP_SLOTS];
	uint64_t produced;	       /* chunks published */
	uint64_t next[BS_MAX_TARGETS]; /* each sink's next chunk */
	bool live[BS_MAX_TARGETS];
	unsigned int nlive;
	bool done;		/* the reader finished */
	_Atomic bool cancelled; /* read by the reader without the lock */
	int result;		/* 0 or -1, valid once done */
	bool image_failed;
	char err[512];
	_Atomic uint64_t pos; /* image bytes read */
	uint64_t total;
	/* reader only */
	int fd;		  /* raw image file read with pread/mmap, or -1 */
	uint64_t fd_size; /* its size when the pump started */
	bool map;	  /* map full chunks instead of copying them */
	size_t peek_off;
	unsigned char *discard;
	EVP_MD_CTX *sha; /* whole image (--sha256) */
	bool check;	 /* bmap range checksums */
	struct rcheck rc[2];
	unsigned int nparts; /* 2 with the hasher thread */
	struct hasher h;
};

static uint64_t range_start(const struct bs_bmap *b, size_t i)
{
	return b->ranges[i].first * b->block_size;
}

static uint64_t range_end(const struct bs_bmap *b, size_t i)
{
	uint64_t e = (b->ranges[i].last + 1) * b->block_size;

	return e < b->image_size ? e : b->image_size;
}

uint64_t bs_pump_plan_bytes(const struct bs_bmap *b, int64_t image_size, uint32_t align)
{
	uint64_t sum = 0, re = 0;
	size_t i;

	if (!b)
		return image_size < 0 ? 0 : bs_round_up((uint64_t)image_size, align);
	for (i = 0; i < b->nr_ranges; i++) {
		uint64_t s = range_start(b, i) / align * align;
		uint64_t e = bs_round_up(range_end(b, i), align);

		if (s < re)
			s = re;
		if (e > s)
			sum += e - s;
		if (e > re)
			re = e;
	}
	return sum;
}

static void pump_fail(struct bs_pump *p, bool image, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pump_fail(struct bs_pump *p, bool image, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->mu);
	if (!p->err[0]) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->image_failed = image;
	}
	pthread_mutex_unlock(&p->mu);
}

static const char *img_name(const struct bs_pump *p)
{
	const char *n = bs_source_path(p->cfg.src);

	return n && strcmp(n, "-") ? n : "standard input";
}

/* Feed bytes at image offset @pos to the checks of part @rc. 0, or -1 on a mismatch. */
static int range_hash(struct bs_pump *p, struct rcheck *rc, const unsigned char *d, size_t n,
		      uint64_t pos)
{
	const struct bs_bmap *b = p->cfg.bmap;
	const EVP_MD *md = b->csum_type == BS_BMAP_CSUM_SHA1 ? EVP_sha1() : EVP_sha256();

	while (n && rc->range < b->nr_ranges) {
		uint64_t rs = range_start(b, rc->range), re = range_end(b, rc->range);
		uint64_t a, e;

		if (pos + n <= rs)
			break;
		if (pos > re || (pos == re && !rc->open && rs != re)) {
			pump_fail(p, true, "Unable to use image %s: bmap range %zu was skipped",
				  img_name(p), rc->range);
			return -1;
		}
		a = pos > rs ? pos : rs;
		e = pos + n < re ? pos + n : re;
		if (a < e) {
			if (!rc->open) {
				EVP_DigestInit_ex(rc->ctx, md, NULL);
				rc->open = true;
			}
			EVP_DigestUpdate(rc->ctx, d + (a - pos), e - a);
		}
		if (e < re)
			break;
		if (rc->open || rs == re) {
			unsigned char dig[EVP_MAX_MD_SIZE];
			unsigned int dl = 0;

			if (!rc->open)
				EVP_DigestInit_ex(rc->ctx, md, NULL);
			EVP_DigestFinal_ex(rc->ctx, dig, &dl);
			rc->open = false;
			if (dl != b->csum_len || memcmp(dig, b->ranges[rc->range].csum, dl)) {
				pump_fail(p, true,
					  "Unable to use image %s: bmap checksum mismatch in "
					  "blocks %" PRIu64 "-%" PRIu64 " (bytes %" PRIu64
					  "-%" PRIu64 ")",
					  img_name(p), b->ranges[rc->range].first,
					  b->ranges[rc->range].last, rs, re - 1);
				return -1;
			}
		}
		rc->range += rc->step;
		n -= e - pos;
		d += e - pos;
		pos = e;
	}
	return 0;
}

struct hash_job {
	struct bs_pump *p;
	const unsigned char *d;
	size_t n;
	uint64_t pos;
	bool whole;		 /* also the whole-image digest */
	unsigned int first, end; /* the range check parts [first, end) */
	int ret;
};

static void hash_fn(void *arg)
{
	struct hash_job *j = arg;
	unsigned int k;

	if (j->whole && j->p->sha)
		EVP_DigestUpdate(j->p->sha, j->d, j->n);
	for (k = j->first; k < j->end; k++)
		if (range_hash(j->p, &j->p->rc[k], j->d, j->n, j->pos))
			j->ret = -1;
}

static void *hasher_main(void *arg)
{
	struct bs_pump *p = arg;
	struct hasher *h = &p->h;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hash_job j = {p, NULL, 0, 0, false, 1, 2, 0};
		int fault;

		while (!h->busy && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->busy)
			break;
		j.d = h->d;
		j.n = h->n;
		j.pos = h->pos;
		pthread_mutex_unlock(&h->mu);
		fault = bs_map_guarded(hash_fn, &j);
		pthread_mutex_lock(&h->mu);
		h->ret = j.ret;
		h->fault = fault;
		h->busy = false;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/*
 * Feed bytes at image offset @pos to the checksums: the whole-image digest
 * and the bmap ranges (every other range on the hasher thread, for big
 * pieces). @d may be a mapping of the image file. 0, or -1 on a mismatch or
 * when the file lost the pages (pump_fail() called either way).
 */
static int pump_hash(struct bs_pump *p, const unsigned char *d, size_t n, uint64_t pos)
{
	struct hash_job j = {p, d, n, pos, true, 0, p->check ? p->nparts : 0, 0};
	bool split = p->check && p->nparts > 1 && n >= HASH_SPLIT_MIN;
	int fault, ret;

	if (!p->sha && !p->check)
		return 0;
	if (split) {
		pthread_mutex_lock(&p->h.mu);
		p->h.d = d;
		p->h.n = n;
		p->h.pos = pos;
		p->h.busy = true;
		pthread_cond_broadcast(&p->h.cv);
		pthread_mutex_unlock(&p->h.mu);
		j.end = 1;
	}
	fault = bs_map_guarded(hash_fn, &j);
	ret = j.ret;
	if (split) {
		pthread_mutex_lock(&p->h.mu);
		while (p->h.busy)
			pthread_cond_wait(&p->h.cv, &p->h.mu);
		fault |= p->h.fault;
		ret |= p->h.ret;
		pthread_mutex_unlock(&p->h.mu);
	}
	if (fault) {
		pump_fail(p, true,
			  "Unable to read image %s at byte %" PRIu64
			  ": it shrank while it was read",
			  img_name(p), pos);
		return -1;
	}
	return ret ? -1 : 0;
}

/* Read up to @len image bytes (fewer only at the end). -1 on error. */
static ssize_t pump_read(struct bs_pump *p, unsigned char *buf, size_t len)
{
	uint64_t pos = atomic_load(&p->pos);
	size_t got = 0;
	ssize_t r;

	if (p->peek_off < p->cfg.peek_len) {
		size_t k = p->cfg.peek_len - p->peek_off;

		if (k > len)
			k = len;
		memcpy(buf, p->cfg.peek + p->peek_off, k);
		p->peek_off += k;
		got = k;
	}
	/* short only at a confirmed end: the source said 0, not just "short" */
	while (got < len && p->fd >= 0) {
		r = pread(p->fd, buf + got, len - got, (off_t)(pos + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pump_fail(p, true, "Unable to read image %s at byte %" PRIu64 ": %s",
				  img_name(p), pos + got, strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	while (got < len && p->fd < 0) {
		r = bs_source_read(p->cfg.src, buf + got, len - got);
		if (r < 0) {
			pump_fail(p, true, "Unable to read image %s: %s", img_name(p),
				  bs_source_error(p->cfg.src));
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (pump_hash(p, buf, got, pos))
		return -1;
	atomic_store(&p->pos, pos + got);
	return (ssize_t)got;
}

/*
 * Map @len image bytes at @pos into slot @s instead of reading them (and
 * feed them to the checksums): only for whole, aligned chunks of a raw
 * file. 1: mapped, 0: read them instead, -1: failed (pump_fail() called).
 */
static int pump_map(struct bs_pump *p, struct slot *s, uint64_t pos, size_t len)
{
	uint64_t base = pos & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
	void *m;

	if (!p->map || len % p->cfg.align || pos + len > p->fd_size)
		return 0;
	m = mmap(NULL, (size_t)(pos - base) + len, PROT_READ, MAP_SHARED | MAP_POPULATE, p->fd,
		 (off_t)base);
	if (m == MAP_FAILED)
		return 0;
	s->map = m;
	s->map_len = (size_t)(pos - base) + len;
	s->c.buf = (unsigned char *)m + (pos - base);
	s->c.mapped = true;
	if (pump_hash(p, s->c.buf, len, pos))
		return -1;
	atomic_store(&p->pos, pos + len);
	return 1;
}

static void slot_unmap(struct slot *s)
{
	if (s->map)
		munmap(s->map, s->map_len);
	s->map = NULL;
	s->c.mapped = false;
}

/* Read and drop @n bytes (unmapped areas, the tail). Returns bytes skipped or -1. */
static int64_t pump_skip(struct bs_pump *p, uint64_t n)
{
	uint64_t done = 0;

	if (p->map && !p->sha) {
		/* no checksum covers these bytes: a file's end is known without reading */
		uint64_t pos = atomic_load(&p->pos);
		uint64_t left = p->fd_size > pos ? p->fd_size - pos : 0;

		done = n < left ? n : left;
		atomic_store(&p->pos, pos + done);
		return (int64_t)done;
	}

	while (done < n || n == UINT64_MAX) {
		size_t want = n - done < DISCARD_LEN ? (size_t)(n - done) : DISCARD_LEN;
		ssize_t r = pump_read(p, p->discard, want);

		if (r < 0)
			return -1;
		done += (uint64_t)r;
		if ((size_t)r < want || p->cancelled)
			break;
	}
	return (int64_t)done;
}

static bool next_region(struct bs_pump *p, size_t *ri, uint64_t *rs, uint64_t *re)
{
	const struct bs_bmap *b = p->cfg.bmap;
	uint32_t al = p->cfg.align;
	size_t i = *ri;

	if (!b) {
		if (i)
			return false;
		*ri = 1;
		*rs = 0;
		*re = UINT64_MAX;
		return true;
	}
	if (i >= b->nr_ranges)
		return false;
	*rs = range_start(b, i) / al * al;
	*re = bs_round_up(range_end(b, i), al);
	for (i++; i < b->nr_ranges && range_start(b, i) / al * al <= *re; i++) {
		uint64_t e = bs_round_up(range_end(b, i), al);

		if (e > *re)
			*re = e;
	}
	*ri = i;
	return true;
}

/* Wait for slot @seq to be free. false: nobody left to feed, or cancelled. */
static bool pump_wait_slot(struct bs_pump *p, struct slot *s)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	while (s->pending && !p->cancelled && p->nlive)
		pthread_cond_wait(&p->cv, &p->mu);
	ok = !p->cancelled && p->nlive;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static void pump_publish(struct bs_pump *p, struct slot *s)
{
	pthread_mutex_lock(&p->mu);
	s->pending = p->nlive;
	p->produced++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Returns 0 when the whole image was read, -1 on failure or when stopped. */
static int pump_regions(struct bs_pump *p, bool *eof)
{
	uint64_t rs, re;
	size_t ri = 0;

	*eof = false;
	while (next_region(p, &ri, &rs, &re)) {
		uint64_t pos = atomic_load(&p->pos);

		if (rs > pos) {
			int64_t k = pump_skip(p, rs - pos);

			if (k < 0)
				return -1;
			if ((uint64_t)k < rs - pos) {
				*eof = true;
				return 0;
			}
		}
		while ((pos = atomic_load(&p->pos)) < re) {
			struct slot *s = &p->slots[p->produced % BS_PUMP_SLOTS];
			size_t want = re - pos < BS_PUMP_CHUNK ? (size_t)(re - pos) : BS_PUMP_CHUNK;
			ssize_t got;

			if (!pump_wait_slot(p, s)) {
				pump_fail(p, false, "%s",
					  p->cancelled ? "Interrupted" : "No target left to write");
				return -1;
			}
			if (bs_source_changed(p->cfg.src)) {
				pump_fail(p, true,
					  "Unable to use image %s: another process opened it "
					  "for writing while it was read",
					  img_name(p));
				return -1;
			}
			slot_unmap(s);
			got = pump_map(p, s, pos, want);
			if (got < 0)
				return -1;
			if (got) {
				s->c.off = pos;
				s->c.data_len = s->c.len = want;
				pump_publish(p, s);
				continue;
			}
			got = pump_read(p, s->buf, want);
			if (got < 0)
				return -1;
			if (got == 0) {
				*eof = true;
				return 0;
			}
			s->c.off = pos;
			s->c.data_len = (size_t)got;
			s->c.len = (size_t)bs_round_up((uint64_t)got, p->cfg.align);
			memset(s->buf + got, 0, s->c.len - (size_t)got);
			s->c.buf = s->buf;
			pump_publish(p, s);
			if ((size_t)got < want) {
				*eof = true;
				return 0;
			}
		}
	}
	return 0;
}

static int pump_checks(struct bs_pump *p)
{
	const struct bs_bmap *b = p->cfg.bmap;
	uint64_t size = atomic_load(&p->pos);
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	if (bs_source_changed(p->cfg.src)) {
		pump_fail(p, true,
			  "Unable to use image %s: another process opened it for writing "
			  "while it was read",
			  img_name(p));
		return -1;
	}
	if (size == 0) {
		pump_fail(p, true, "Unable to use image %s: it is empty", img_name(p));
		return -1;
	}
	if (b && size != b->image_size) {
		pump_fail(p, true,
			  "Unable to use image %s: it is %" PRIu64 " bytes, its bmap says %" PRIu64,
			  img_name(p), size, b->image_size);
		return -1;
	}
	for (unsigned int k = 0; p->check && k < p->nparts; k++) {
		if (p->rc[k].range < b->nr_ranges) {
			pump_fail(p, true, "Unable to use image %s: bmap range %zu was not checked",
				  img_name(p), p->rc[k].range);
			return -1;
		}
	}
	if (p->sha) {
		unsigned char dl_dig[32];

		EVP_DigestFinal_ex(p->sha, dig, &dl);
		/* from a URL, the hash may be the download's (os.img.xz), read in full */
		if ((dl != 32 || memcmp(dig, p->cfg.sha256, 32)) &&
		    !(!bs_source_download_sha256(p->cfg.src, dl_dig) &&
		      !memcmp(dl_dig, p->cfg.sha256, 32))) {
			char got[65], want[65];

			bs_hex_format(dig, 32, got);
			bs_hex_format(p->cfg.sha256, 32, want);
			pump_fail(
				p, true,
				"Unable to use image %s: the SHA-256 of the image is %s, expected "
				"%s%s",
				img_name(p), got, want,
				p->cfg.sha256_note ? p->cfg.sha256_note : " (--sha256)");
			return -1;
		}
	}
	return 0;
}

static void *pump_main(void *arg)
{
	struct bs_pump *p = arg;
	bool eof = false;
	int r;

	r = pump_regions(p, &eof);
	/* read to the end: the tail must decode cleanly and feed the checksums */
	if (!r && !eof && pump_skip(p, UINT64_MAX) < 0)
		r = -1;
	if (!r)
		r = pump_checks(p);
	pthread_mutex_lock(&p->mu);
	p->result = r;
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct bs_pump *bs_pump_start(const struct bs_pump_cfg *cfg, char *err, size_t errlen)
{
	struct bs_pump *p;
	unsigned int i;

	if (!cfg->align || cfg->align & (cfg->align - 1) || cfg->align > BS_PUMP_CHUNK ||
	    !cfg->nsinks || cfg->nsinks > BS_MAX_TARGETS) {
		snprintf(err, errlen, "Unable to start the image reader: invalid configuration");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->cfg = *cfg;
	p->fd = bs_source_raw_fd(cfg->src);
	if (p->fd >= 0) {
		struct stat st;

		if (fstat(p->fd, &st) || st.st_size < 0) {
			p->fd = -1;
		} else {
			p->fd_size = (uint64_t)st.st_size;
			p->peek_off = cfg->peek_len; /* read again from the file */
			p->map = cfg->map;
		}
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->h.mu, NULL);
	pthread_cond_init(&p->h.cv, NULL);
	for (i = 0; i < BS_PUMP_SLOTS; i++) {
		if (posix_memalign((void **)&p->slots[i].buf, 4096, BS_PUMP_CHUNK))
			goto nomem;
	}
	p->discard = malloc(DISCARD_LEN);
	if (!p->discard)
		goto nomem;
	p->check = cfg->bmap && cfg->check_bmap && cfg->bmap->csum_type != BS_BMAP_CSUM_NONE;
	p->nparts = 1;
	if (p->check) {
		/* every other range on a second thread, when there is a second CPU */
		if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && cfg->bmap->nr_ranges > 1 &&
		    !pthread_create(&p->h.thread, NULL, hasher_main, p)) {
			p->h.running = true;
			p->nparts = 2;
		}
		for (i = 0; i < p->nparts; i++) {
			p->rc[i].ctx = EVP_MD_CTX_new();
			if (!p->rc[i].ctx)
				goto nomem;
			p->rc[i].range = i;
			p->rc[i].step = p->nparts;
		}
	}
	if (cfg->sha256) {
		p->sha = EVP_MD_CTX_new();
		if (!p->sha || !EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL))
			goto nomem;
	}
	for (i = 0; i < cfg->nsinks; i++)
		p->live[i] = true;
	p->nlive = cfg->nsinks;
	p->total =
		bs_pump_plan_bytes(cfg->bmap, cfg->bmap ? 0 : bs_source_size(cfg->src), cfg->align);
	if (pthread_create(&p->thread, NULL, pump_main, p)) {
		snprintf(err, errlen, "Unable to start the image reader: %s", strerror(errno));
		bs_pump_free(p);
		return NULL;
	}
	p->started = true;
	return p;
nomem:
	snprintf(err, errlen, "Unable to start the image reader: out of memory");
	bs_pump_free(p);
	return NULL;
}

int bs_pump_next(struct bs_pump *p, unsigned int sink, struct bs_chunk *c)
{
	int r;

	pthread_mutex_lock(&p->mu);
	while (p->live[sink] && p->next[sink] >= p->produced && !p->done && !p->cancelled)
		pthread_cond_wait(&p->cv, &p->mu);
	if (!p->live[sink] || p->cancelled || (p->done && p->result))
		r = -1;
	else if (p->next[sink] < p->produced) {
		*c = p->slots[p->next[sink] % BS_PUMP_SLOTS].c;
		r = 1;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

void bs_pump_release(struct bs_pump *p, unsigned int sink)
{
	pthread_mutex_lock(&p->mu);
	if (p->live[sink] && p->next[sink] < p->produced) {
		p->slots[p->next[sink] % BS_PUMP_SLOTS].pending--;
		p->next[sink]++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void bs_pump_drop(struct bs_pump *p, unsigned int sink)
{
	uint64_t s;

	pthread_mutex_lock(&p->mu);
	if (p->live[sink]) {
		for (s = p->next[sink]; s < p->produced; s++)
			p->slots[s % BS_PUMP_SLOTS].pending--;
		p->next[sink] = p->produced;
		p->live[sink] = false;
		p->nlive--;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void bs_pump_cancel(struct bs_pump *p)
{
	pthread_mutex_lock(&p->mu);
	p->cancelled = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

uint64_t bs_pump_image_pos(const struct bs_pump *p)
{
	return atomic_load(&((struct bs_pump *)p)->pos);
}

uint64_t bs_pump_total(const struct bs_pump *p)
{
	return p->total;
}

int bs_pump_join(struct bs_pump *p, uint64_t *image_size)
{
	if (p->started) {
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	if (image_size)
		*image_size = atomic_load(&p->pos);
	return p->result;
}

const char *bs_pump_image_name(const struct bs_pump *p)
{
	return img_name(p);
}

const char *bs_pump_error(const struct bs_pump *p)
{
	return p->err[0] ? p->err : "no error";
}

bool bs_pump_image_failed(const struct bs_pump *p)
{
	return p->image_failed;
}

void bs_pump_free(struct bs_pump *p)
{
	unsigned int i;

	if (!p)
		return;
	if (p->started) {
		bs_pump_cancel(p);
		pthread_join(p->thread, NULL);
	}
	for (i = 0; i < BS_PUMP_SLOTS; i++) {
		slot_unmap(&p->slots[i]);
		free(p->slots[i].buf);
	}
	if (p->h.running) {
		pthread_mutex_lock(&p->h.mu);
		p->h.stop = true;
		pthread_cond_broadcast(&p->h.cv);
		pthread_mutex_unlock(&p->h.mu);
		pthread_join(p->h.thread, NULL);
	}
	free(p->discard);
	EVP_MD_CTX_free(p->rc[0].ctx);
	EVP_MD_CTX_free(p->rc[1].ctx);
	EVP_MD_CTX_free(p->sha);
	pthread_mutex_destroy(&p->h.mu);
	pthread_cond_destroy(&p->h.cv);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

bool bs_pump_image_changed(const struct bs_pump *p)
{
	return bs_source_changed(p->cfg.src);
}
