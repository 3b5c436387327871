// SPDX-License-Identifier: GPL-2.0
/*
 * Image sources: open a file or standard input, detect the format from its
 * first bytes and hand out the decompressed image as one byte stream.
 *
 * Input is read in 1 MiB chunks into one buffer; the bytes read to detect
 * the format stay in that buffer, so standard input is never seeked. Raw
 * images are read straight into the caller's buffer. Decoders write
 * straight into the caller's buffer too: no extra copy of image data.
 *
 * Trailing data policy: whatever follows the last complete stream must be
 * another complete stream of the same format (gzip members, bzip2 streams,
 * zstd frames including skippable frames, xz streams and xz stream padding
 * as the .xz format defines it). Anything else, zero bytes included, is
 * an error: an image with unexplained bytes at its end is not trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <archive.h>
#include <archive_entry.h>
#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "http.h"
#include "source.h"

#define IN_BUF_SIZE   (1u << 20) /* compressed input chunk */
#define PEEK_MIN      16	 /* bytes wanted for format detection */
#define STEP_MAX      (1u << 30) /* per-call cap for uInt/unsigned APIs */
#define ZIP_NAMES_MAX 8		 /* member names kept for messages */

struct bs_source {
	char *path; /* as given ("-" = standard input) */
	char *name; /* for messages */
	int fd;
	bool own_fd;
	bool leased;	      /* holds a read lease on the image file */
	struct bs_http *http; /* an http:// or https:// image, else NULL */
	bool seekable;
	bool regular; /* a regular file */
	enum bs_format fmt;
	struct bs_source_opts opts;

	int64_t size;	  /* decompressed size, -1 unknown */
	int64_t in_size;  /* compressed size, -1 unknown */
	int64_t in_pos;	  /* compressed bytes consumed */
	uint64_t out_pos; /* decompressed bytes handed out */

	unsigned char *in; /* input chunk: [in_off, in_len) not consumed */
	size_t in_off, in_len;
	bool in_eof; /* read() returned 0 */

	bool eof; /* image ended cleanly */
	bool failed;
	bool at_boundary; /* between two streams/members/frames */

	union {
		lzma_stream xz;
		z_stream gz;
		bz_stream bz;
		ZSTD_DStream *zs;
		struct archive *ar;
	} u;
	bool dec_live;	  /* decoder state needs freeing */
	char *zip_member; /* the image's name inside a zip archive */

	char err[512];
};

static void set_err(struct bs_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct bs_source *s, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err), "%s: %s", s->name, reason);
	s->failed = true;
}

/* ---- format detection ------------------------------------------------- */

enum bs_format bs_format_detect(const void *buf, size_t len)
{
	static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
	static const unsigned char zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
	const unsigned char *p = buf;

	if (len >= sizeof(xz) && !memcmp(p, xz, sizeof(xz)))
		return BS_FMT_XZ;
	if (len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8)
		return BS_FMT_GZIP;
	/* "BZh" + block size digit + block magic (pi) or end-of-stream magic (sqrt pi) */
	if (len >= 10 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9' &&
	    (!memcmp(p + 4, "\x31\x41\x59\x26\x53\x59", 6) ||
	     !memcmp(p + 4, "\x17\x72\x45\x38\x50\x90", 6)))
		return BS_FMT_BZIP2;
	if (len >= 4 && !memcmp(p, zstd, sizeof(zstd)))
		return BS_FMT_ZSTD;
	/* skippable frame magic 0x184D2A50..5F, little-endian */
	if (len >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
		return BS_FMT_ZSTD;
	/* local file header, or the end record of an empty archive */
	if (len >= 4 && p[0] == 'P' && p[1] == 'K' &&
	    ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
		return BS_FMT_ZIP;
	return BS_FMT_RAW;
}

const char *bs_format_name(enum bs_format fmt)
{
	switch (fmt) {
	case BS_FMT_RAW:
		return "raw";
	case BS_FMT_XZ:
		return "xz";
	case BS_FMT_GZIP:
		return "gzip";
	case BS_FMT_BZIP2:
		return "bzip2";
	case BS_FMT_ZSTD:
		return "zstd";
	case BS_FMT_ZIP:
		return "zip";
	}
	return "unknown";
}

/* ---- input buffer ----------------------------------------------------- */

static ssize_t read_fd(struct bs_source *s, void *buf, size_t len)
{
	ssize_t n;

	if (s->http) {
		n = bs_http_read(s->http, buf, len);
		if (n < 0) {
			snprintf(s->err, sizeof(s->err), "%s", bs_http_error(s->http));
			s->failed = true;
		}
		return n;
	}
	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		set_err(s, "read error: %s", strerror(errno));
	return n;
}

/*
 * Append to the input chunk. Returns bytes added, 0 at end of input, -1.
 * Callers only append to an empty chunk or, while peeking, to a few bytes.
 */
static ssize_t in_append(struct bs_source *s)
{
	ssize_t n;

	if (s->in_eof)
		return 0;
	if (s->in_off == s->in_len)
		s->in_off = s->in_len = 0;
	n = read_fd(s, s->in + s->in_len, IN_BUF_SIZE - s->in_len);
	if (n < 0)
		return -1;
	if (n == 0)
		s->in_eof = true;
	s->in_len += (size_t)n;
	return n;
}

/* Make sure unconsumed input is buffered. 1 yes, 0 end of input, -1 error. */
static int in_ensure(struct bs_source *s)
{
	while (s->in_off == s->in_len) {
		ssize_t n = in_append(s);

		if (n <= 0)
			return (int)n;
	}
	return 1;
}

static void in_consume(struct bs_source *s, size_t n)
{
	s->in_off += n;
	s->in_pos += (int64_t)n;
}

/* ---- raw -------------------------------------------------------------- */

static ssize_t raw_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	size_t done = 0;

	if (s->in_off < s->in_len) {
		done = s->in_len - s->in_off;
		if (done > len)
			done = len;
		memcpy(buf, s->in + s->in_off, done);
		in_consume(s, done);
	}
	while (done < len && !s->in_eof) {
		ssize_t n = read_fd(s, buf + done, len - done);

		if (n < 0)
			return -1;
		if (n == 0) {
			s->in_eof = true;
			break;
		}
		done += (size_t)n;
		s->in_pos += n;
	}
	if (done < len)
		s->eof = true;
	return (ssize_t)done;
}

/* ---- xz --------------------------------------------------------------- */

static int xz_read_index(struct bs_source *s);

static int xz_init(struct bs_source *s)
{
	lzma_mt mt = {
		.flags = LZMA_CONCATENATED | LZMA_FAIL_FAST,
		.threads = s->opts.threads,
		.timeout = 0,
		.memlimit_threading = s->opts.xz_memlimit_threading,
		.memlimit_stop = s->opts.memlimit,
	};
	lzma_ret ret;

	if (s->seekable && s->in_size > 0 && xz_read_index(s))
		return -1;
	s->u.xz = (lzma_stream)LZMA_STREAM_INIT;
	ret = lzma_stream_decoder_mt(&s->u.xz, &mt);
	if (ret != LZMA_OK) {
		set_err(s, "cannot start the xz decoder (liblzma error %d)", (int)ret);
		return -1;
	}
	s->dec_live = true;
	return 0;
}

/*
 * A seekable .xz file states its decompressed size in its index (at the
 * end): read it up front. This also catches a truncated file before any
 * data is written. pread() leaves the read position alone.
 */
static int xz_read_index(struct bs_source *s)
{
	lzma_stream z = LZMA_STREAM_INIT;
	lzma_index *idx = NULL;
	unsigned char *buf = NULL;
	uint64_t pos = 0;
	lzma_ret ret;
	int r = -1;

	ret = lzma_file_info_decoder(&z, &idx, s->opts.memlimit, (uint64_t)s->in_size);
	if (ret != LZMA_OK) {
		set_err(s, "cannot start the xz index reader (liblzma error %d)", (int)ret);
		return -1;
	}
	buf = malloc(IN_BUF_SIZE / 16);
	if (!buf) {
		set_err(s, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n;

		do
			n = pread(s->fd, buf, IN_BUF_SIZE / 16, (off_t)pos);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			set_err(s, "read error: %s", strerror(errno));
			goto out;
		}
		pos += (uint64_t)n;
		z.next_in = buf;
		z.avail_in = (size_t)n;
		ret = lzma_code(&z, n ? LZMA_RUN : LZMA_FINISH);
		if (ret == LZMA_SEEK_NEEDED) {
			pos = z.seek_pos;
			continue;
		}
		if (ret == LZMA_STREAM_END)
			break;
		if (ret == LZMA_OK && n)
			continue;
		if (ret == LZMA_MEMLIMIT_ERROR)
			set_err(s,
				"xz index needs %llu MiB of memory, more than the limit of %llu "
				"MiB",
				(unsigned long long)(lzma_memusage(&z) >> 20),
				(unsigned long long)(s->opts.memlimit >> 20));
		else
			set_err(s, "xz data is truncated or corrupt: %s",
				ret == LZMA_OPTIONS_ERROR
					? "unsupported stream options"
					: "no valid index at the end of the file");
		goto out;
	}
	if (lzma_index_uncompressed_size(idx) <= INT64_MAX)
		s->size = (int64_t)lzma_index_uncompressed_size(idx);
	r = 0;
out:
	if (idx)
		lzma_index_end(idx, NULL);
	lzma_end(&z);
	free(buf);
	return r;
}

/* xz errors reported with the compressed offset: the text before and after it */
static const struct {
	lzma_ret ret;
	const char *pre, *post;
} xz_offset_errors[] = {
	{LZMA_FORMAT_ERROR, "not valid xz data at compressed offset ", ""},
	{LZMA_OPTIONS_ERROR, "xz data uses unsupported options (at compressed offset ", ")"},
	{LZMA_DATA_ERROR, "xz data is corrupt at compressed offset ", ""},
	{LZMA_BUF_ERROR, "xz data is truncated (ends at compressed offset ", ")"},
};

static void xz_error(struct bs_source *s, lzma_ret ret)
{
	uint64_t off = s->u.xz.total_in;
	size_t i;

	for (i = 0; i < sizeof(xz_offset_errors) / sizeof(xz_offset_errors[0]); i++) {
		if (xz_offset_errors[i].ret == ret) {
			set_err(s, "%s%llu%s", xz_offset_errors[i].pre, (unsigned long long)off,
				xz_offset_errors[i].post);
			return;
		}
	}
	switch (ret) {
	case LZMA_MEM_ERROR:
		set_err(s, "out of memory decoding xz data");
		break;
	case LZMA_MEMLIMIT_ERROR:
		set_err(s,
			"xz data needs %llu MiB of memory to decode, more than the limit of %llu "
			"MiB",
			(unsigned long long)(lzma_memusage(&s->u.xz) >> 20),
			(unsigned long long)(s->opts.memlimit >> 20));
		break;
	default:
		set_err(s, "xz decoder error %d at compressed offset %llu", (int)ret,
			(unsigned long long)off);
		break;
	}
}

static ssize_t xz_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	lzma_stream *z = &s->u.xz;

	z->next_out = buf;
	z->avail_out = len;
	while (z->avail_out) {
		lzma_action action = LZMA_RUN;
		lzma_ret ret;
		int have = in_ensure(s);

		if (have < 0)
			return -1;
		if (!have)
			action = LZMA_FINISH;
		z->next_in = s->in + s->in_off;
		z->avail_in = s->in_len - s->in_off;
		ret = lzma_code(z, action);
		in_consume(s, (size_t)(z->next_in - (s->in + s->in_off)));
		if (ret == LZMA_STREAM_END) {
			s->eof = true;
			break;
		}
		if (ret != LZMA_OK) {
			xz_error(s, ret);
			return -1;
		}
	}
	/* the data must agree with the index read at open */
	if (s->eof && s->size >= 0 && s->out_pos + (len - z->avail_out) != (uint64_t)s->size) {
		set_err(s, "xz data is %llu bytes long, its index says %lld",
			(unsigned long long)(s->out_pos + (len - z->avail_out)),
			(long long)s->size);
		return -1;
	}
	return (ssize_t)(len - z->avail_out);
}

static void xz_end(struct bs_source *s)
{
	lzma_end(&s->u.xz);
}

/* ---- gzip ------------------------------------------------------------- */

static int gz_init(struct bs_source *s)
{
	memset(&s->u.gz, 0, sizeof(s->u.gz));
	if (inflateInit2(&s->u.gz, 15 + 16) != Z_OK) {
		set_err(s, "cannot start the gzip decoder");
		return -1;
	}
	s->dec_live = true;
	return 0;
}

static ssize_t gz_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	z_stream *z = &s->u.gz;
	size_t done = 0;

	while (done < len) {
		size_t step = len - done < STEP_MAX ? len - done : STEP_MAX;
		size_t avail;
		int have = in_ensure(s), ret;

		if (have < 0)
			return -1;
		if (s->at_boundary) {
			if (!have) {
				s->eof = true;
				break;
			}
			if (s->in[s->in_off] != 0x1f) {
				set_err(s,
					"trailing garbage after the last gzip member at compressed "
					"offset %lld",
					(long long)s->in_pos);
				return -1;
			}
			inflateReset(z);
			s->at_boundary = false;
		}
		avail = s->in_len - s->in_off;
		z->next_in = s->in + s->in_off;
		z->avail_in = (uInt)(avail < STEP_MAX ? avail : STEP_MAX);
		z->next_out = buf + done;
		z->avail_out = (uInt)step;
		ret = inflate(z, Z_NO_FLUSH);
		in_consume(s, (size_t)(z->next_in - (s->in + s->in_off)));
		done += step - z->avail_out;
		if (ret == Z_STREAM_END) {
			s->at_boundary = true;
			continue;
		}
		if (ret == Z_BUF_ERROR && !have) {
			set_err(s, "gzip data is truncated (ends at compressed offset %lld)",
				(long long)s->in_pos);
			return -1;
		}
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			set_err(s, "gzip data is corrupt at compressed offset %lld: %s",
				(long long)s->in_pos, z->msg ? z->msg : zError(ret));
			return -1;
		}
	}
	return (ssize_t)done;
}

static void gz_end(struct bs_source *s)
{
	inflateEnd(&s->u.gz);
}

/* ---- bzip2 ------------------------------------------------------------ */

static int bz_init(struct bs_source *s)
{
	int ret;

	memset(&s->u.bz, 0, sizeof(s->u.bz));
	ret = BZ2_bzDecompressInit(&s->u.bz, 0, 0);
	if (ret != BZ_OK) {
		set_err(s, "cannot start the bzip2 decoder (libbz2 error %d)", ret);
		return -1;
	}
	s->dec_live = true;
	return 0;
}

static const char *bz_strerror(int ret)
{
	switch (ret) {
	case BZ_DATA_ERROR:
		return "data integrity error";
	case BZ_DATA_ERROR_MAGIC:
		return "bad stream header";
	case BZ_MEM_ERROR:
		return "out of memory";
	default:
		return "decoder error";
	}
}

static ssize_t bz_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	bz_stream *z = &s->u.bz;
	size_t done = 0;

	while (done < len) {
		size_t step = len - done < STEP_MAX ? len - done : STEP_MAX;
		size_t avail, produced;
		int have = in_ensure(s), ret;

		if (have < 0)
			return -1;
		if (s->at_boundary) {
			if (!have) {
				s->eof = true;
				break;
			}
			if (s->in[s->in_off] != 'B') {
				set_err(s,
					"trailing garbage after the last bzip2 stream at "
					"compressed offset %lld",
					(long long)s->in_pos);
				return -1;
			}
			BZ2_bzDecompressEnd(z);
			s->dec_live = false;
			if (bz_init(s))
				return -1;
			s->at_boundary = false;
		}
		avail = s->in_len - s->in_off;
		z->next_in = (char *)(s->in + s->in_off);
		z->avail_in = (unsigned int)(avail < STEP_MAX ? avail : STEP_MAX);
		z->next_out = (char *)(buf + done);
		z->avail_out = (unsigned int)step;
		ret = BZ2_bzDecompress(z);
		in_consume(s, (size_t)((unsigned char *)z->next_in - (s->in + s->in_off)));
		produced = step - z->avail_out;
		done += produced;
		if (ret == BZ_STREAM_END) {
			s->at_boundary = true;
			continue;
		}
		if (ret != BZ_OK) {
			set_err(s, "bzip2 data is corrupt at compressed offset %lld: %s",
				(long long)s->in_pos, bz_strerror(ret));
			return -1;
		}
		if (!have && !produced) {
			set_err(s, "bzip2 data is truncated (ends at compressed offset %lld)",
				(long long)s->in_pos);
			return -1;
		}
	}
	return (ssize_t)done;
}

static void bz_end(struct bs_source *s)
{
	BZ2_bzDecompressEnd(&s->u.bz);
}

/* ---- zstd ------------------------------------------------------------- */

static int zs_init(struct bs_source *s)
{
	ZSTD_bounds b = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
	int wlog = 10, max = ZSTD_isError(b.error) ? 27 : b.upperBound;
	size_t ret;

	/* Largest window the memory limit allows, within zstd's own maximum. */
	while (wlog < max && (UINT64_C(2) << wlog) <= s->opts.memlimit)
		wlog++;
	s->u.zs = ZSTD_createDStream();
	if (!s->u.zs) {
		set_err(s, "cannot start the zstd decoder: out of memory");
		return -1;
	}
	s->dec_live = true;
	ret = ZSTD_DCtx_setParameter(s->u.zs, ZSTD_d_windowLogMax, wlog);
	if (ZSTD_isError(ret)) {
		set_err(s, "cannot start the zstd decoder: %s", ZSTD_getErrorName(ret));
		return -1;
	}
	return 0;
}

static ssize_t zs_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	ZSTD_outBuffer out = {buf, len, 0};

	while (out.pos < out.size) {
		ZSTD_inBuffer in;
		size_t before = out.pos, ret;
		int have = in_ensure(s);

		if (have < 0)
			return -1;
		if (!have && s->at_boundary) {
			s->eof = true;
			break;
		}
		in.src = s->in + s->in_off;
		in.size = s->in_len - s->in_off;
		in.pos = 0;
		ret = ZSTD_decompressStream(s->u.zs, &out, &in);
		in_consume(s, in.pos);
		if (ZSTD_isError(ret)) {
			set_err(s, "zstd data is corrupt at compressed offset %lld: %s",
				(long long)s->in_pos, ZSTD_getErrorName(ret));
			return -1;
		}
		s->at_boundary = ret == 0;
		if (!have && !s->at_boundary && out.pos == before) {
			set_err(s, "zstd data is truncated (ends at compressed offset %lld)",
				(long long)s->in_pos);
			return -1;
		}
	}
	return (ssize_t)out.pos;
}

static void zs_end(struct bs_source *s)
{
	ZSTD_freeDStream(s->u.zs);
}

/* ---- zip (libarchive) ------------------------------------------------- */

/*
 * Seekable archives are read by offset (libarchive reads the central
 * directory first); streamed ones get the peeked bytes, then the rest.
 */
static la_ssize_t zip_read_cb(struct archive *a, void *data, const void **buf)
{
	struct bs_source *s = data;
	ssize_t n;

	if (s->seekable) {
		n = read_fd(s, s->in, IN_BUF_SIZE);
		if (n < 0) {
			archive_set_error(a, errno ? errno : EIO, "%s", s->err);
			return -1;
		}
		s->in_pos += n;
		*buf = s->in;
		return n;
	}
	if (in_ensure(s) < 0) {
		archive_set_error(a, EIO, "%s", s->err);
		return -1;
	}
	n = (ssize_t)(s->in_len - s->in_off);
	*buf = s->in + s->in_off;
	in_consume(s, (size_t)n);
	return n;
}

static la_int64_t zip_seek_cb(struct archive *a, void *data, la_int64_t off, int whence)
{
	struct bs_source *s = data;
	off_t pos = lseek(s->fd, off, whence);

	if (pos < 0) {
		archive_set_error(a, errno, "cannot seek: %s", strerror(errno));
		return ARCHIVE_FATAL;
	}
	s->in_pos = pos;
	return pos;
}

static la_int64_t zip_skip_cb(struct archive *a, void *data, la_int64_t request)
{
	struct bs_source *s = data;
	off_t cur, end;

	if (!s->seekable)
		return 0; /* libarchive reads and discards instead */
	cur = lseek(s->fd, 0, SEEK_CUR);
	end = lseek(s->fd, 0, SEEK_END);
	if (cur < 0 || end < 0)
		return 0;
	if (request > end - cur)
		request = end - cur;
	if (lseek(s->fd, cur + request, SEEK_SET) < 0)
		return 0;
	s->in_pos = cur + request;
	return request;
}

static struct archive *zip_open_archive(struct bs_source *s)
{
	struct archive *a = archive_read_new();

	if (!a) {
		set_err(s, "cannot start the zip reader: out of memory");
		return NULL;
	}
	if (s->seekable) {
		if (lseek(s->fd, 0, SEEK_SET) < 0) {
			set_err(s, "cannot seek: %s", strerror(errno));
			archive_read_free(a);
			return NULL;
		}
		s->in_pos = 0;
	}
	/*
	 * Seekable: only the central-directory reader, so a damaged
	 * directory is an error, not a silent fallback to streaming.
	 */
	if (s->seekable)
		archive_read_support_format_zip_seekable(a);
	else
		archive_read_support_format_zip_streamable(a);
	archive_read_set_callback_data(a, s);
	archive_read_set_read_callback(a, zip_read_cb);
	archive_read_set_skip_callback(a, zip_skip_cb);
	if (s->seekable)
		archive_read_set_seek_callback(a, zip_seek_cb);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		if (s->seekable)
			set_err(s,
				"zip archive is truncated or damaged: its central directory cannot "
				"be read (%s)",
				archive_error_string(a));
		else
			set_err(s, "not a readable zip archive: %s", archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

struct zip_list {
	unsigned int nr_files;
	char *names[ZIP_NAMES_MAX];
};

static void zip_list_add(struct zip_list *l, const char *name)
{
	if (l->nr_files < ZIP_NAMES_MAX)
		l->names[l->nr_files] = strdup(name ? name : "(unnamed)");
	l->nr_files++;
}

static void zip_list_free(struct zip_list *l)
{
	unsigned int i;

	for (i = 0; i < ZIP_NAMES_MAX; i++)
		free(l->names[i]);
}

static void zip_count_error(struct bs_source *s, const struct zip_list *l, bool streaming)
{
	char names[300] = "";
	size_t used = 0;
	unsigned int i;

	if (!l->nr_files) {
		set_err(s, "zip archive contains no file, expected exactly one image");
		return;
	}
	for (i = 0; i < l->nr_files && i < ZIP_NAMES_MAX && used < sizeof(names); i++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
				 l->names[i] ? l->names[i] : "?");

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (streaming)
		set_err(s,
			"zip archive contains more than one file, expected exactly one image: %s%s",
			names, l->nr_files > ZIP_NAMES_MAX || used >= sizeof(names) ? ", ..." : "");
	else
		set_err(s, "zip archive contains %u files, expected exactly one image: %s%s",
			l->nr_files, names,
			l->nr_files > ZIP_NAMES_MAX || used >= sizeof(names) ? ", ..." : "");
}

/*
 * Walk the headers. With @stop_at_file, stop at the first regular file
 * (its data is next); otherwise list them all. 1 = stopped at a file,
 * 0 = end of archive, -1 = error.
 */
static int zip_walk(struct bs_source *s, struct archive *a, struct zip_list *l, bool stop_at_file)
{
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK) {
			set_err(s, "zip archive is corrupt: %s", archive_error_string(a));
			return -1;
		}
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG) {
			set_err(s, "zip member %s is not a regular file",
				archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
			return -1;
		}
		zip_list_add(l, archive_entry_pathname(e));
		if (stop_at_file) {
			free(s->zip_member);
			s->zip_member = strdup(archive_entry_pathname(e) ? archive_entry_pathname(e)
									 : "(unnamed)");
			if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0)
				s->size = archive_entry_size(e);
			return 1;
		}
	}
}

static int zip_init(struct bs_source *s)
{
	struct zip_list l = {0};
	struct archive *a;
	int r;

	/* An archive that starts with its end record has no member at all. */
	if (s->in_len >= 4 && !memcmp(s->in, "PK\5\6", 4)) {
		zip_count_error(s, &l, false);
		return -1;
	}
	if (s->seekable) {
		a = zip_open_archive(s);
		if (!a)
			return -1;
		r = zip_walk(s, a, &l, false);
		archive_read_free(a);
		if (r < 0)
			goto out;
		if (l.nr_files != 1) {
			zip_count_error(s, &l, false);
			r = -1;
			goto out;
		}
		zip_list_free(&l);
		memset(&l, 0, sizeof(l));
	}
	a = zip_open_archive(s);
	if (!a) {
		r = -1;
		goto out;
	}
	s->u.ar = a;
	s->dec_live = true;
	r = zip_walk(s, a, &l, true);
	if (r == 0) {
		zip_count_error(s, &l, false);
		r = -1;
	}
	if (r > 0)
		r = 0;
out:
	zip_list_free(&l);
	return r;
}

/* After the member's data: a streamed archive must hold nothing else. */
static int zip_finish(struct bs_source *s, uint64_t total)
{
	struct zip_list l = {0};
	int r;

	if (s->size >= 0 && total != (uint64_t)s->size) {
		set_err(s, "zip member %s is %llu bytes long, its header says %lld", s->zip_member,
			(unsigned long long)total, (long long)s->size);
		return -1;
	}
	if (s->seekable)
		return 0;
	zip_list_add(&l, s->zip_member);
	r = zip_walk(s, s->u.ar, &l, false);
	if (r == 0 && l.nr_files > 1) {
		zip_count_error(s, &l, true);
		r = -1;
	}
	zip_list_free(&l);
	return r;
}

static ssize_t zip_read(struct bs_source *s, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		la_ssize_t n = archive_read_data(s->u.ar, buf + done, len - done);

		if (n < 0) {
			set_err(s, "cannot read zip member %s: %s", s->zip_member,
				archive_error_string(s->u.ar));
			return -1;
		}
		if (n == 0) {
			if (zip_finish(s, s->out_pos + done))
				return -1;
			s->eof = true;
			break;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void zip_end(struct bs_source *s)
{
	archive_read_free(s->u.ar);
}

/* ---- common ----------------------------------------------------------- */

struct codec {
	int (*init)(struct bs_source *s);
	ssize_t (*read)(struct bs_source *s, unsigned char *buf, size_t len);
	void (*end)(struct bs_source *s);
};

static const struct codec codecs[] = {
	[BS_FMT_RAW] = {NULL, raw_read, NULL},	    [BS_FMT_XZ] = {xz_init, xz_read, xz_end},
	[BS_FMT_GZIP] = {gz_init, gz_read, gz_end}, [BS_FMT_BZIP2] = {bz_init, bz_read, bz_end},
	[BS_FMT_ZSTD] = {zs_init, zs_read, zs_end}, [BS_FMT_ZIP] = {zip_init, zip_read, zip_end},
};

static uint64_t default_memlimit(unsigned int shift)
{
	uint64_t mem = lzma_physmem();

	return mem ? mem >> shift : UINT64_C(1) << 30;
}

void bs_source_opts_default(struct bs_source_opts *o)
{
	memset(o, 0, sizeof(*o));
}

static void opts_fill(struct bs_source_opts *o, const struct bs_source_opts *in)
{
	uint64_t quarter = default_memlimit(2);

	if (in)
		*o = *in;
	else
		bs_source_opts_default(o);
	if (!o->threads)
		o->threads = lzma_cputhreads();
	if (!o->threads)
		o->threads = 1;
	if (o->threads > 64)
		o->threads = 64;
	if (!o->memlimit)
		o->memlimit = default_memlimit(1);
	if (!o->xz_memlimit_threading)
		o->xz_memlimit_threading =
			quarter < BS_SOURCE_XZ_MT_MEMLIMIT ? quarter : BS_SOURCE_XZ_MT_MEMLIMIT;
}

/* Set by the lease-break signal: a process opened a leased image for writing. */
static volatile sig_atomic_t lease_broken;

static void on_lease_break(int sig)
{
	(void)sig;
	lease_broken = 1;
}

/*
 * Takes a read lease on the regular file open on s->fd. The kernel grants
 * it only while nobody has the file open for writing, and when a process
 * opens it for writing (or truncates it) later, it signals us (SIGIO) and
 * holds that open back until we close the file or the lease-break time
 * (/proc/sys/fs/lease-break-time, 45 s) runs out. -1: the file is open for
 * writing now. File systems without leases (NFS, FUSE...) get none: 0.
 */
static int take_lease(struct bs_source *s)
{
	static bool installed;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_lease_break;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGIO, &sa, NULL);
		installed = true;
	}
	if (!fcntl(s->fd, F_SETLEASE, F_RDLCK)) {
		s->leased = true;
		return 0;
	}
	if (errno == EAGAIN || errno == EBUSY) {
		set_err(s, "it is open for writing by another process (fuser -v names it): "
			   "wait until it is written");
		return -1;
	}
	return 0;
}

bool bs_source_changed(const struct bs_source *s)
{
	return s && s->leased && lease_broken;
}

static int source_open_file(struct bs_source *s, const char *path)
{
	struct stat st;

	if (bs_url_like(path)) {
		char err[sizeof(s->err)];

		if (!bs_url_is_http(path)) {
			set_err(s, "unsupported URL: only http:// and https:// URLs can be read");
			return -1;
		}
		s->http = bs_http_open(path, err, sizeof(err));
		if (!s->http) {
			snprintf(s->err, sizeof(s->err), "%s", err);
			s->failed = true;
			return -1;
		}
		s->in_size = bs_http_length(s->http);
		return 0;
	}
	if (!strcmp(path, "-")) {
		s->fd = STDIN_FILENO;
		s->seekable = false;
		if (!fstat(s->fd, &st) && S_ISREG(st.st_mode))
			s->in_size = st.st_size;
		return 0;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		set_err(s, "cannot open: %s", strerror(errno));
		return -1;
	}
	s->own_fd = true;
	if (fstat(s->fd, &st)) {
		set_err(s, "cannot stat: %s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		set_err(s, "is a directory");
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		s->seekable = true;
		s->regular = true;
		s->in_size = st.st_size;
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (s->opts.lease && take_lease(s))
			return -1;
	} else if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;

		if (ioctl(s->fd, BLKGETSIZE64, &bytes)) {
			set_err(s, "cannot get the device size: %s", strerror(errno));
			return -1;
		}
		s->seekable = true;
		s->in_size = (int64_t)bytes;
	}
	return 0;
}

struct bs_source *bs_source_open_opts(const char *path, const struct bs_source_opts *opts,
				      char *err, size_t errlen)
{
	struct bs_source *s = calloc(1, sizeof(*s));

	if (!s || !(s->path = strdup(path)) ||
	    !(s->name = strdup(strcmp(path, "-") ? path : "standard input")) ||
	    !(s->in = malloc(IN_BUF_SIZE))) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		bs_source_close(s);
		return NULL;
	}
	s->fd = -1;
	s->size = -1;
	s->in_size = -1;
	opts_fill(&s->opts, opts);
	if (source_open_file(s, path))
		goto fail;
	/* Peek: pipes may deliver the first bytes in small pieces. */
	while (s->in_len < PEEK_MIN && !s->in_eof)
		if (in_append(s) < 0)
			goto fail;
	s->fmt = bs_format_detect(s->in, s->in_len);
	if (s->fmt == BS_FMT_RAW && s->in_size >= 0)
		s->size = s->in_size;
	if (codecs[s->fmt].init && codecs[s->fmt].init(s))
		goto fail;
	return s;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", s->err);
	bs_source_close(s);
	return NULL;
}

struct bs_source *bs_source_open(const char *path, unsigned int threads, char *err, size_t errlen)
{
	struct bs_source_opts o;

	bs_source_opts_default(&o);
	o.threads = threads;
	return bs_source_open_opts(path, &o, err, errlen);
}

ssize_t bs_source_read(struct bs_source *s, void *buf, size_t len)
{
	ssize_t n;

	if (s->failed)
		return -1;
	if (s->eof || !len)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	n = codecs[s->fmt].read(s, buf, len);
	if (n < 0) {
		s->failed = true;
		return -1;
	}
	s->out_pos += (uint64_t)n;
	return n;
}

ssize_t bs_source_read_full(struct bs_source *s, void *buf, size_t len)
{
	/* Every codec fills the buffer unless the image ends. */
	return bs_source_read(s, buf, len);
}

const char *bs_source_error(const struct bs_source *s)
{
	return s->err[0] ? s->err : "no error";
}

enum bs_format bs_source_format(const struct bs_source *s)
{
	return s->fmt;
}

const char *bs_source_path(const struct bs_source *s)
{
	return s->path;
}

int64_t bs_source_size(const struct bs_source *s)
{
	return s->size;
}

int64_t bs_source_in_pos(const struct bs_source *s)
{
	return s->in_pos;
}

int bs_source_raw_fd(const struct bs_source *s)
{
	return s->fmt == BS_FMT_RAW && s->regular && s->own_fd && !s->failed ? s->fd : -1;
}

int64_t bs_source_in_size(const struct bs_source *s)
{
	return s->in_size;
}

uint64_t bs_source_out_pos(const struct bs_source *s)
{
	return s->out_pos;
}

const char *bs_source_zip_member(const struct bs_source *s)
{
	return s->fmt == BS_FMT_ZIP ? s->zip_member : NULL;
}

void bs_source_close(struct bs_source *s)
{
	if (!s)
		return;
	if (s->dec_live && codecs[s->fmt].end)
		codecs[s->fmt].end(s);
	if (s->own_fd)
		close(s->fd);
	bs_http_close(s->http);
	free(s->zip_member);
	free(s->in);
	free(s->name);
	free(s->path);
	free(s);
}

bool bs_source_is_url(const struct bs_source *s)
{
	return s->http != NULL;
}

int bs_source_download_sha256(const struct bs_source *s, unsigned char out[32])
{
	return s->http && !s->failed ? bs_http_sha256(s->http, out) : -1;
}
