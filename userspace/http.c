// SPDX-License-Identifier: GPL-2.0
/*
 * http:// and https:// images (http.h), with libcurl's multi interface
 * driven by the reader: bs_http_read() runs the transfer only while its
 * bounded buffer is empty, and the write callback pauses the transfer when
 * the buffer is full, so at most HTTP_BUF bytes of the image are ever held.
 *
 * Content-Length is not trusted to end the body: the request says
 * "Connection: close" and curl is told to ignore the length, so the body
 * is read until the server closes the connection (or the chunked encoding
 * ends), and the count is then compared with the announced length here.
 * A stall is timed only while the reader waits for bytes, so a slow target
 * never looks like a slow server.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "progress.h"
#include "sha.h"

#ifndef BOOTSEAL_VERSION
#define BOOTSEAL_VERSION "0"
#endif

#define HTTP_BUF     (1u << 20)	  /* body bytes held at most */
#define HTTP_CURLBUF (256u << 10) /* curl's receive buffer: at most this per callback */

unsigned int bs_http_connect_timeout = 30;
unsigned int bs_http_stall_timeout = 60;
_Atomic int *bs_http_stop;

struct bs_http {
	char *url;
	CURLM *m;
	CURL *e;
	struct curl_slist *hdrs;
	bool attached;

	unsigned char *buf; /* [off, len) not handed out yet */
	size_t off, len;
	bool paused;

	int64_t clen;  /* announced Content-Length of the last response, -1 none */
	uint64_t got;  /* body bytes received */
	bool too_long; /* more than announced: the transfer was stopped */
	bool body;     /* the first body byte (or the end) came */
	bool done, failed;

	struct bs_hash *sha;
	unsigned char digest[32];
	bool have_digest;

	char curlerr[CURL_ERROR_SIZE];
	char err[768];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool bs_url_is_http(const char *s)
{
	return s && (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8));
}

bool bs_url_like(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	return n > 0 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
	       !strncmp(s + n, "://", 3);
}

static void http_err(struct bs_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void http_err(struct bs_http *h, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (h->failed)
		return; /* the first reason stays */
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(h->err, sizeof(h->err), "%s: %s", h->url, reason);
	h->failed = true;
}

/* Content-Length of each response (a redirect's included: the last counts). */
static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct bs_http *h = arg;
	size_t len = size * n;

	if (len >= 5 && !strncmp(p, "HTTP/", 5))
		h->clen = -1;
	else if (len > 15 && !strncasecmp(p, "content-length:", 15)) {
		char tmp[32], *end;
		size_t k = len - 15 < sizeof(tmp) - 1 ? len - 15 : sizeof(tmp) - 1;
		long long v;

		memcpy(tmp, p + 15, k);
		tmp[k] = '\0';
		v = strtoll(tmp, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		h->clen = end != tmp && !*end && v >= 0 ? v : -1;
	}
	return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct bs_http *h = arg;
	size_t len = size * n;

	h->body = true;
	if (h->off && h->off == h->len)
		h->off = h->len = 0;
	if (len > HTTP_BUF - h->len) {
		if (h->off) {
			memmove(h->buf, h->buf + h->off, h->len - h->off);
			h->len -= h->off;
			h->off = 0;
		}
		if (len > HTTP_BUF - h->len) {
			h->paused = true;
			return CURL_WRITEFUNC_PAUSE;
		}
	}
	if (h->clen >= 0 && h->got + len > (uint64_t)h->clen) {
		h->too_long = true;
		return 0; /* stops the transfer */
	}
	memcpy(h->buf + h->len, p, len);
	h->len += len;
	h->got += len;
	bs_hash_update(h->sha, p, len);
	return len;
}

static void finish(struct bs_http *h, CURLcode rc)
{
	long status = 0;

	h->done = true;
	h->body = true;
	curl_easy_getinfo(h->e, CURLINFO_RESPONSE_CODE, &status);
	if (h->too_long) {
		http_err(h,
			 "the server sent more than the %lld bytes it announced (Content-Length)",
			 (long long)h->clen);
		return;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR || (rc == CURLE_OK && status >= 300)) {
		http_err(h, "HTTP status %ld", status);
		return;
	}
	if (rc != CURLE_OK) {
		const char *why = h->curlerr[0] ? h->curlerr : curl_easy_strerror(rc);

		if (h->got && h->clen >= 0)
			http_err(h,
				 "the transfer failed after %llu of the %lld bytes announced: %s",
				 (unsigned long long)h->got, (long long)h->clen, why);
		else if (h->got)
			http_err(h, "the transfer failed after %llu bytes: %s",
				 (unsigned long long)h->got, why);
		else
			http_err(h, "%s", why);
		return;
	}
	if (h->clen >= 0 && h->got != (uint64_t)h->clen) {
		http_err(h,
			 "the connection ended after %llu of the %lld bytes the server announced "
			 "(Content-Length)",
			 (unsigned long long)h->got, (long long)h->clen);
		return;
	}
	if (!bs_hash_final(h->sha, h->digest))
		h->have_digest = true;
}

/* Run the transfer until it has bytes for us, or ends. 0 or -1. */
static int http_wait(struct bs_http *h)
{
	double t0 = bs_now();

	while (!h->done && !h->failed && h->off == h->len) {
		CURLMsg *msg;
		CURLMcode mc;
		int running = 0, left;

		if (h->paused) {
			h->paused = false;
			curl_easy_pause(h->e, CURLPAUSE_CONT);
		}
		mc = curl_multi_perform(h->m, &running);
		if (mc != CURLM_OK) {
			http_err(h, "%s", curl_multi_strerror(mc));
			break;
		}
		while ((msg = curl_multi_info_read(h->m, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->e)
				finish(h, msg->data.result);
		if (h->done || h->off < h->len)
			break;
		if (bs_http_stop && atomic_load(bs_http_stop)) {
			http_err(h, "interrupted after %llu bytes", (unsigned long long)h->got);
			break;
		}
		if (bs_now() - t0 > bs_http_stall_timeout) {
			http_err(h, "no data from the server for %u seconds after %llu bytes",
				 bs_http_stall_timeout, (unsigned long long)h->got);
			break;
		}
		mc = curl_multi_poll(h->m, NULL, 0, 200, NULL);
		if (mc != CURLM_OK) {
			http_err(h, "%s", curl_multi_strerror(mc));
			break;
		}
	}
	return h->failed ? -1 : 0;
}

struct bs_http *bs_http_open(const char *url, char *err, size_t errlen)
{
	struct bs_http *h = calloc(1, sizeof(*h));
	char ua[64];

	pthread_once(&curl_once, curl_init);
	if (!h || !(h->url = strdup(url)) || !(h->buf = malloc(HTTP_BUF)) ||
	    !(h->sha = bs_hash_new(BS_HASH_SHA256))) {
		snprintf(err, errlen, "%s: out of memory", url);
		bs_http_close(h);
		return NULL;
	}
	h->clen = -1;
	if (!bs_url_is_http(url)) {
		http_err(h, "only http:// and https:// URLs are supported");
		goto fail;
	}
	if (curl_init_rc != CURLE_OK || !(h->m = curl_multi_init()) || !(h->e = curl_easy_init())) {
		http_err(h, "cannot start libcurl");
		goto fail;
	}
	h->hdrs = curl_slist_append(NULL, "Connection: close");
	snprintf(ua, sizeof(ua), "bootseal/%s", BOOTSEAL_VERSION);
	curl_easy_setopt(h->e, CURLOPT_URL, url);
	curl_easy_setopt(h->e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->e, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h->e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h->e, CURLOPT_IGNORE_CONTENT_LENGTH, 1L);
	curl_easy_setopt(h->e, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->e, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(h->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->e, CURLOPT_CONNECTTIMEOUT, (long)bs_http_connect_timeout);
	curl_easy_setopt(h->e, CURLOPT_BUFFERSIZE, (long)HTTP_CURLBUF);
	curl_easy_setopt(h->e, CURLOPT_ERRORBUFFER, h->curlerr);
	curl_easy_setopt(h->e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h->e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h->e, CURLOPT_WRITEDATA, h);
	if (curl_multi_add_handle(h->m, h->e) != CURLM_OK) {
		http_err(h, "cannot start libcurl");
		goto fail;
	}
	h->attached = true;
	/* The status line and headers: an error status fails here. */
	while (!h->body && !h->failed)
		if (http_wait(h))
			break;
	if (h->failed)
		goto fail;
	return h;
fail:
	snprintf(err, errlen, "%s", h->err);
	bs_http_close(h);
	return NULL;
}

int64_t bs_http_length(const struct bs_http *h)
{
	return h->clen;
}

ssize_t bs_http_read(struct bs_http *h, void *buf, size_t len)
{
	size_t n;

	if (h->failed)
		return -1;
	if (h->off == h->len && http_wait(h))
		return -1;
	n = h->len - h->off;
	if (n > len)
		n = len;
	memcpy(buf, h->buf + h->off, n);
	h->off += n;
	return (ssize_t)n;
}

const char *bs_http_error(const struct bs_http *h)
{
	return h->err[0] ? h->err : "no error";
}

int bs_http_sha256(const struct bs_http *h, unsigned char out[32])
{
	if (!h->have_digest || h->failed)
		return -1;
	memcpy(out, h->digest, 32);
	return 0;
}

void bs_http_close(struct bs_http *h)
{
	if (!h)
		return;
	if (h->attached)
		curl_multi_remove_handle(h->m, h->e);
	if (h->e)
		curl_easy_cleanup(h->e);
	if (h->m)
		curl_multi_cleanup(h->m);
	curl_slist_free_all(h->hdrs);
	bs_hash_free(h->sha);
	free(h->buf);
	free(h->url);
	free(h);
}

/* ---- small files beside an image ------------------------------------- */

struct membuf {
	char *p;
	size_t len, max;
	bool too_big;
};

static size_t mem_cb(char *p, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;
	size_t len = size * n;
	char *q;

	if (len > m->max - m->len) {
		m->too_big = true;
		return 0;
	}
	q = realloc(m->p, m->len + len + 1);
	if (!q)
		return 0;
	m->p = q;
	memcpy(m->p + m->len, p, len);
	m->len += len;
	m->p[m->len] = '\0';
	return len;
}

int bs_http_fetch(const char *url, size_t max, char **out, size_t *outlen, char *err, size_t errlen)
{
	char curlerr[CURL_ERROR_SIZE] = "", ua[64];
	struct membuf m = {NULL, 0, max, false};
	long status = 0;
	CURLcode rc;
	CURL *e;
	int r = -1;

	*out = NULL;
	*outlen = 0;
	pthread_once(&curl_once, curl_init);
	if (!bs_url_is_http(url)) {
		snprintf(err, errlen, "%s: only http:// and https:// URLs are supported", url);
		return -1;
	}
	if (curl_init_rc != CURLE_OK || !(e = curl_easy_init())) {
		snprintf(err, errlen, "%s: cannot start libcurl", url);
		return -1;
	}
	snprintf(ua, sizeof(ua), "bootseal/%s", BOOTSEAL_VERSION);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)bs_http_connect_timeout);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)bs_http_stall_timeout);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mem_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &m);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 400 && status < 500) {
		r = 0; /* absent */
	} else if (m.too_big) {
		snprintf(err, errlen, "%s: larger than %zu bytes", url, max);
	} else if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curlerr[0] ? curlerr : curl_easy_strerror(rc));
	} else if (status < 200 || status >= 300) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, status);
	} else {
		if (!m.p)
			m.p = calloc(1, 1);
		if (!m.p) {
			snprintf(err, errlen, "%s: out of memory", url);
		} else {
			*out = m.p;
			*outlen = m.len;
			m.p = NULL;
			r = 1;
		}
	}
	free(m.p);
	curl_easy_cleanup(e);
	return r;
}
