// SPDX-License-Identifier: GPL-2.0
/* One-line JSON objects for --json output. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef void (*put_fn)(void *ctx, const char *p, size_t n);

/* Length of the valid UTF-8 sequence at @s (1-4), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The checks above stop at the first byte that is not a continuation byte,
 * and the terminating NUL is never one, so they never read past the string.
 */
static void escape(const char *str, put_fn put, void *ctx)
{
	const unsigned char *s = (const unsigned char *)str;
	char tmp[8];

	put(ctx, "\"", 1);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			put(ctx, "\\\"", 2);
			s++;
			continue;
		case '\\':
			put(ctx, "\\\\", 2);
			s++;
			continue;
		case '\b':
			put(ctx, "\\b", 2);
			s++;
			continue;
		case '\f':
			put(ctx, "\\f", 2);
			s++;
			continue;
		case '\n':
			put(ctx, "\\n", 2);
			s++;
			continue;
		case '\r':
			put(ctx, "\\r", 2);
			s++;
			continue;
		case '\t':
			put(ctx, "\\t", 2);
			s++;
			continue;
		default:
			break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", *s);
			put(ctx, tmp, 6);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			put(ctx, "\\ufffd", 6);
			s++;
			continue;
		}
		put(ctx, (const char *)s, n);
		s += n;
	}
	put(ctx, "\"", 1);
}

static void buf_put(void *ctx, const char *p, size_t n)
{
	struct bs_json *j = ctx;
	size_t cap;
	char *nb;

	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap) {
		cap = j->cap ? j->cap : 256;
		while (cap < j->len + n + 1)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->failed = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct bs_json *j, const char *s)
{
	buf_put(j, s, strlen(s));
}

/* Separator and key for the next member of the innermost container. */
static void member(struct bs_json *j, const char *key)
{
	if (j->depth <= 0) {
		j->failed = true;
		return;
	}
	if (!j->first[j->depth - 1])
		buf_put(j, ",", 1);
	j->first[j->depth - 1] = false;
	if (j->closer[j->depth - 1] == '}') {
		escape(key ? key : "", buf_put, j);
		buf_put(j, ":", 1);
	}
}

static void open_(struct bs_json *j, char opener, char closer)
{
	if (j->depth >= BS_JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	buf_put(j, &opener, 1);
	j->first[j->depth] = true;
	j->closer[j->depth] = closer;
	j->depth++;
}

static void close_(struct bs_json *j, char closer)
{
	if (j->depth <= 0 || j->closer[j->depth - 1] != closer) {
		j->failed = true;
		return;
	}
	j->depth--;
	buf_put(j, &closer, 1);
}

void bs_json_begin(struct bs_json *j)
{
	memset(j, 0, sizeof(*j));
	open_(j, '{', '}');
}

void bs_json_str(struct bs_json *j, const char *key, const char *val)
{
	member(j, key);
	if (val)
		escape(val, buf_put, j);
	else
		puts_(j, "null");
}

void bs_json_int(struct bs_json *j, const char *key, int64_t val)
{
	char tmp[32];

	member(j, key);
	snprintf(tmp, sizeof(tmp), "%" PRId64, val);
	puts_(j, tmp);
}

void bs_json_uint(struct bs_json *j, const char *key, uint64_t val)
{
	char tmp[32];

	member(j, key);
	snprintf(tmp, sizeof(tmp), "%" PRIu64, val);
	puts_(j, tmp);
}

void bs_json_double(struct bs_json *j, const char *key, double val, int decimals)
{
	char tmp[64];

	member(j, key);
	if (!isfinite(val)) {
		puts_(j, "null");
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	/* %.*f of a huge value can be long; %g keeps it short and valid JSON. */
	if (val >= 1e15 || val <= -1e15)
		snprintf(tmp, sizeof(tmp), "%.17g", val);
	else
		snprintf(tmp, sizeof(tmp), "%.*f", decimals, val);
	/* "-0.0" is valid JSON, but say 0 for a value that rounds to zero. */
	if (!strcmp(tmp, "-0") || !strncmp(tmp, "-0.", 3)) {
		char *p = tmp + 1;

		while (*p == '0' || *p == '.')
			p++;
		if (!*p)
			memmove(tmp, tmp + 1, strlen(tmp));
	}
	puts_(j, tmp);
}

void bs_json_bool(struct bs_json *j, const char *key, bool val)
{
	member(j, key);
	puts_(j, val ? "true" : "false");
}

void bs_json_null(struct bs_json *j, const char *key)
{
	member(j, key);
	puts_(j, "null");
}

void bs_json_object_begin(struct bs_json *j, const char *key)
{
	member(j, key);
	open_(j, '{', '}');
}

void bs_json_object_end(struct bs_json *j)
{
	close_(j, '}');
}

void bs_json_array_begin(struct bs_json *j, const char *key)
{
	member(j, key);
	open_(j, '[', ']');
}

void bs_json_array_end(struct bs_json *j)
{
	close_(j, ']');
}

const char *bs_json_finish(struct bs_json *j)
{
	while (j->depth > 0 && !j->failed)
		close_(j, j->closer[j->depth - 1]);
	return j->failed ? NULL : j->buf;
}

int bs_json_print(struct bs_json *j, FILE *f)
{
	const char *s = bs_json_finish(j);
	int ret = -1;

	if (s) {
		buf_put(j, "\n", 1);
		if (!j->failed && fwrite(j->buf, 1, j->len, f) == j->len && fflush(f) == 0)
			ret = 0;
	}
	bs_json_free(j);
	return ret;
}

void bs_json_free(struct bs_json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = 0;
	j->cap = 0;
	j->depth = 0;
}

struct fixed {
	char *out;
	size_t cap;
	size_t need;
};

static void fixed_put(void *ctx, const char *p, size_t n)
{
	struct fixed *f = ctx;
	size_t room;

	if (f->need + 1 < f->cap) {
		room = f->cap - 1 - f->need;
		memcpy(f->out + f->need, p, n < room ? n : room);
	}
	f->need += n;
}

size_t bs_json_quote(const char *s, char *out, size_t outlen)
{
	struct fixed f = {out, outlen, 0};

	escape(s ? s : "", fixed_put, &f);
	if (outlen)
		out[f.need < outlen ? f.need : outlen - 1] = '\0';
	return f.need;
}
