// SPDX-License-Identifier: GPL-2.0
/* Random-access reader over raw files, block devices and compressed images. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"
#include "source.h"

enum kind { K_FILE, K_DEVICE, K_MEM, K_SOURCE };

struct bs_reader {
	enum kind kind;
	char name[256];
	char err[512];
	int fd;
	int64_t size; /* -1 until known */
	uint32_t sector_size;
	const unsigned char *mem; /* K_MEM */
	/* K_SOURCE */
	struct bs_source *src;
	enum bs_format fmt;
	unsigned char *cache; /* first cache_len bytes of the image */
	size_t cache_len;
	uint64_t pos; /* decoded bytes consumed from src */
	bool eof;
	unsigned char *scratch; /* skipped bytes go here */
	unsigned char *blk;	/* last decoded block past the cache */
	uint64_t blk_off;
	size_t blk_len;
};

#define SCRATCH (1u << 20)

static void set_err(struct bs_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct bs_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

static struct bs_reader *new_reader(enum kind kind, const char *name)
{
	struct bs_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->kind = kind;
	r->fd = -1;
	r->size = -1;
	r->sector_size = 512;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

struct bs_reader *bs_reader_mem(const void *buf, size_t len, const char *name)
{
	struct bs_reader *r = new_reader(K_MEM, name ? name : "memory");

	if (!r)
		return NULL;
	r->mem = buf;
	r->size = (int64_t)len;
	return r;
}

/* Fill the cache from a freshly opened source. */
static int source_prime(struct bs_reader *r)
{
	ssize_t n = bs_source_read_full(r->src, r->cache, BS_READER_CACHE);

	if (n < 0) {
		set_err(r, "%s", bs_source_error(r->src));
		return -1;
	}
	r->cache_len = (size_t)n;
	r->pos = (uint64_t)n;
	if (r->cache_len < BS_READER_CACHE) {
		r->eof = true;
		r->size = (int64_t)r->cache_len;
	}
	return 0;
}

static struct bs_reader *open_source(struct bs_reader *r, const char *path, char *err,
				     size_t errlen)
{
	r->kind = K_SOURCE;
	r->src = bs_source_open(path, 0, r->err, sizeof(r->err));
	if (!r->src) {
		snprintf(err, errlen, "Unable to open %s", r->err);
		return NULL;
	}
	r->fmt = bs_source_format(r->src);
	r->cache = malloc(BS_READER_CACHE);
	r->scratch = malloc(SCRATCH);
	r->blk = malloc(SCRATCH);
	if (!r->cache || !r->scratch || !r->blk) {
		snprintf(err, errlen, "Unable to read %s: out of memory", path);
		return NULL;
	}
	if (source_prime(r)) {
		snprintf(err, errlen, "Unable to read %s", r->err);
		return NULL;
	}
	return r;
}

struct bs_reader *bs_reader_open(const char *path, char *err, size_t errlen)
{
	struct bs_reader *r = new_reader(K_FILE, path);
	unsigned char magic[512];
	struct stat st;
	ssize_t n;

	if (!r) {
		snprintf(err, errlen, "Unable to open %s: out of memory", path);
		return NULL;
	}
	if (!strcmp(path, "-")) {
		if (open_source(r, path, err, errlen))
			return r;
		goto fail;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st)) {
		snprintf(err, errlen, "Unable to open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;
		int ssz = 512;

		r->kind = K_DEVICE;
		if (ioctl(r->fd, BLKGETSIZE64, &bytes) || ioctl(r->fd, BLKSSZGET, &ssz)) {
			snprintf(err, errlen, "Unable to query %s: %s", path, strerror(errno));
			goto fail;
		}
		r->size = (int64_t)bytes;
		if (ssz >= 512 && ssz <= 65536 && !(ssz & (ssz - 1)))
			r->sector_size = (uint32_t)ssz;
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "Unable to open %s: not a regular file or block device",
			 path);
		goto fail;
	}
	r->size = st.st_size;
	n = pread(r->fd, magic, sizeof(magic), 0);
	if (n < 0) {
		snprintf(err, errlen, "Unable to read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (bs_format_detect(magic, (size_t)n) == BS_FMT_RAW)
		return r;
	close(r->fd);
	r->fd = -1;
	r->size = -1;
	if (open_source(r, path, err, errlen))
		return r;
fail:
	bs_reader_close(r);
	return NULL;
}

static int source_reopen(struct bs_reader *r)
{
	char err[512];

	bs_source_close(r->src);
	r->src = bs_source_open(r->name, 0, err, sizeof(err));
	if (!r->src) {
		set_err(r, "%s", err);
		return -1;
	}
	r->pos = 0;
	r->eof = false;
	return 0;
}

/* Decode forwards until the source is at @off (or at its end). */
static int source_skip_to(struct bs_reader *r, uint64_t off)
{
	if (off < r->pos && !strcmp(r->name, "-")) {
		set_err(r, "standard input: cannot seek back to offset %llu",
			(unsigned long long)off);
		return -1;
	}
	if (off < r->pos && source_reopen(r))
		return -1;
	while (r->pos < off && !r->eof) {
		uint64_t want = off - r->pos;
		ssize_t n = bs_source_read(r->src, r->scratch, want > SCRATCH ? SCRATCH : want);

		if (n < 0) {
			set_err(r, "%s", bs_source_error(r->src));
			return -1;
		}
		if (n == 0) {
			r->eof = true;
			r->size = (int64_t)r->pos;
		}
		r->pos += (uint64_t)n;
	}
	return 0;
}

/*
 * Past the cache, decode in aligned SCRATCH-sized blocks and keep the last
 * one, so that reads going back and forth inside one block (a FAT and the
 * directory after it) do not re-open the source.
 */
static ssize_t source_pread(struct bs_reader *r, unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off < r->cache_len) {
		done = r->cache_len - off < len ? r->cache_len - (size_t)off : len;
		memcpy(buf, r->cache + off, done);
		off += done;
	}
	while (done < len) {
		uint64_t b = off - off % SCRATCH;
		ssize_t n;

		if (r->blk_len && off >= r->blk_off && off < r->blk_off + r->blk_len) {
			size_t k = (size_t)(r->blk_off + r->blk_len - off);

			if (k > len - done)
				k = len - done;
			memcpy(buf + done, r->blk + (off - r->blk_off), k);
			done += k;
			off += k;
			continue;
		}
		if (r->size >= 0 && off >= (uint64_t)r->size)
			break;
		if (source_skip_to(r, b))
			return -1;
		if (r->eof)
			break;
		n = bs_source_read_full(r->src, r->blk, SCRATCH);
		if (n < 0) {
			set_err(r, "%s", bs_source_error(r->src));
			return -1;
		}
		r->pos += (uint64_t)n;
		r->blk_off = b;
		r->blk_len = (size_t)n;
		if ((size_t)n < SCRATCH) {
			r->eof = true;
			r->size = (int64_t)r->pos;
		}
		if (!n)
			break;
	}
	return (ssize_t)done;
}

ssize_t bs_reader_pread(struct bs_reader *r, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (r->size >= 0 && off >= (uint64_t)r->size)
		return 0;
	if (r->size >= 0 && len > (uint64_t)r->size - off)
		len = (size_t)((uint64_t)r->size - off);
	switch (r->kind) {
	case K_MEM:
		memcpy(buf, r->mem + off, len);
		return (ssize_t)len;
	case K_SOURCE:
		return source_pread(r, buf, len, off);
	default:
		break;
	}
	while (done < len) {
		ssize_t n = pread(r->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(r, "%s: read error at offset %llu: %s", r->name,
				(unsigned long long)(off + done), strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int64_t bs_reader_size(const struct bs_reader *r)
{
	return r->size;
}

int64_t bs_reader_size_full(struct bs_reader *r)
{
	if (r->size >= 0)
		return r->size;
	if (source_skip_to(r, UINT64_MAX))
		return -1;
	return r->size;
}

uint32_t bs_reader_sector_size(const struct bs_reader *r)
{
	return r->sector_size;
}

bool bs_reader_is_device(const struct bs_reader *r)
{
	return r->kind == K_DEVICE;
}

const char *bs_reader_kind(const struct bs_reader *r)
{
	switch (r->kind) {
	case K_DEVICE:
		return "block device";
	case K_SOURCE:
		return bs_format_name(r->fmt);
	default:
		return "raw";
	}
}

const char *bs_reader_name(const struct bs_reader *r)
{
	return r->name;
}

const char *bs_reader_error(const struct bs_reader *r)
{
	return r->err[0] ? r->err : "unknown error";
}

void bs_reader_close(struct bs_reader *r)
{
	if (!r)
		return;
	if (r->src)
		bs_source_close(r->src);
	if (r->fd >= 0)
		close(r->fd);
	free(r->cache);
	free(r->scratch);
	free(r->blk);
	free(r);
}
