/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Images from http:// and https:// URLs (libcurl): the body is streamed
 * once, through a bounded buffer in memory, and never stored. Small files
 * beside an image (its .bmap, .sha256, SHA256SUMS) are fetched into memory.
 *
 * A transfer fails, with a message naming the URL, on: an HTTP status of
 * 400 or more (checked before any byte of the body is handed out), a
 * connection that cannot be made within the connect timeout, no byte for
 * the stall timeout, a connection cut before the end, or a body longer or
 * shorter than the Content-Length the server announced. The connection is
 * read to its end (the request asks the server to close it), so a server
 * sending more than it announced is caught too.
 */
#ifndef BOOTSEAL_HTTP_H
#define BOOTSEAL_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bs_http;

/* Seconds: to connect, and without any byte of the body before failing. */
extern unsigned int bs_http_connect_timeout;
extern unsigned int bs_http_stall_timeout;
/* When set and non-zero (a signal arrived), waiting for the server stops with an error. */
extern _Atomic int *bs_http_stop;

/* @s starts with http:// or https:// (any case). */
bool bs_url_is_http(const char *s);
/* @s looks like a URL of any scheme ("scheme://..."). */
bool bs_url_like(const char *s);

/*
 * Start fetching @url and wait for the response's headers. NULL with a
 * message in @err ("<url>: HTTP status 404", "<url>: <curl error>").
 */
struct bs_http *bs_http_open(const char *url, char *err, size_t errlen);
/* Content-Length of the body, -1 when the server did not announce one. */
int64_t bs_http_length(const struct bs_http *h);
/*
 * Up to @len body bytes. The count, 0 at the end of a complete body, -1 on
 * failure (bs_http_error()).
 */
ssize_t bs_http_read(struct bs_http *h, void *buf, size_t len);
const char *bs_http_error(const struct bs_http *h);
/* SHA-256 of the whole body, once it was read completely: 0, else -1. */
int bs_http_sha256(const struct bs_http *h, unsigned char out[32]);
void bs_http_close(struct bs_http *h);

/*
 * Fetch a small file (at most @max bytes) into memory, NUL-terminated.
 * 1 fetched (@out malloc'd, @outlen), 0 absent (HTTP status 4xx), -1 any
 * other failure (@err).
 */
int bs_http_fetch(const char *url, size_t max, char **out, size_t *outlen, char *err,
		  size_t errlen);

#endif /* BOOTSEAL_HTTP_H */
