// SPDX-License-Identifier: GPL-2.0
/*
 * http:// images against a small HTTP server in a thread on 127.0.0.1:
 * a whole body (larger than the stream's buffer) arrives exactly, through
 * a redirect too; a gzip image decodes; and a 404, a connection cut in the
 * middle of the body (announced length or chunked), a server sending more
 * or less than its Content-Length, and a stalled server are errors naming
 * the URL, never a short image. Sidecars: .sha256 and SHA256SUMS are found
 * beside a URL, a 404 means absent; other schemes are refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "bmap.h"
#include "checksum.h"
#include "http.h"
#include "sha.h"
#include "source.h"

#define BODY_LEN (3u << 20) /* three times the stream's buffer */

static unsigned char *body;
static char *gz;
static size_t gz_len;
static int lsock;
static unsigned short port;
static char base[64];
static char sha_hex[65];

static void send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		c += n;
		len -= (size_t)n;
	}
}

static void head(int fd, const char *status, long long clen, const char *extra)
{
	char h[512];

	if (clen >= 0)
		snprintf(h, sizeof(h),
			 "HTTP/1.1 %s\r\nContent-Length: %lld\r\n%sConnection: close\r\n\r\n",
			 status, clen, extra);
	else
		snprintf(h, sizeof(h), "HTTP/1.1 %s\r\n%sConnection: close\r\n\r\n", status, extra);
	send_all(fd, h, strlen(h));
}

static void serve(int fd)
{
	char req[4096], path[1024] = "", line[256];
	size_t got = 0;

	while (got < sizeof(req) - 1) {
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			return;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "GET %1023s", path) != 1)
		return;
	if (!strcmp(path, "/img.raw")) {
		head(fd, "200 OK", BODY_LEN, "");
		send_all(fd, body, BODY_LEN);
	} else if (!strcmp(path, "/nolen.raw")) {
		head(fd, "200 OK", -1, "");
		send_all(fd, body, BODY_LEN);
	} else if (!strcmp(path, "/redirect")) {
		head(fd, "302 Found", 0, "Location: /img.raw\r\n");
	} else if (!strcmp(path, "/img.raw.sha256")) {
		snprintf(line, sizeof(line), "%s  img.raw\n", sha_hex);
		head(fd, "200 OK", (long long)strlen(line), "");
		send_all(fd, line, strlen(line));
	} else if (!strcmp(path, "/sums/SHA256SUMS")) {
		snprintf(line, sizeof(line), "%064d  other.img\n%s  img.raw\n", 0, sha_hex);
		head(fd, "200 OK", (long long)strlen(line), "");
		send_all(fd, line, strlen(line));
	} else if (!strcmp(path, "/sums/img.raw.xz") || !strcmp(path, "/img.gz")) {
		head(fd, "200 OK", (long long)gz_len, "");
		send_all(fd, gz, gz_len);
	} else if (!strcmp(path, "/cut")) {
		head(fd, "200 OK", BODY_LEN, "");
		send_all(fd, body, BODY_LEN / 3);
	} else if (!strcmp(path, "/chunked-cut")) {
		head(fd, "200 OK", -1, "Transfer-Encoding: chunked\r\n");
		snprintf(line, sizeof(line), "%x\r\n", 100000);
		send_all(fd, line, strlen(line));
		send_all(fd, body, 50000);
	} else if (!strcmp(path, "/longer")) {
		head(fd, "200 OK", BODY_LEN / 2, "");
		send_all(fd, body, BODY_LEN);
	} else if (!strcmp(path, "/stall")) {
		head(fd, "200 OK", BODY_LEN, "");
		send_all(fd, body, 4096);
		sleep(3);
	} else if (!strcmp(path, "/error")) {
		head(fd, "500 Internal Server Error", 5, "");
		send_all(fd, "oops\n", 5);
	} else {
		head(fd, "404 Not Found", 10, "Content-Type: text/html\r\n");
		send_all(fd, "not here\r\n", 10);
	}
}

static void *conn(void *arg)
{
	int fd = (int)(intptr_t)arg;

	serve(fd);
	shutdown(fd, SHUT_RDWR);
	close(fd);
	return NULL;
}

/* One thread per connection: a stalled answer does not hold up the next. */
static void *server(void *arg)
{
	for (;;) {
		int fd = accept(lsock, NULL, NULL);
		pthread_t th;

		if (fd < 0)
			return NULL;
		if (pthread_create(&th, NULL, conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(th);
	}
}

static char *url(const char *path)
{
	static char bufs[8][256];
	static int i;
	char *p = bufs[i++ % 8];

	snprintf(p, 256, "%s%s", base, path);
	return p;
}

/* Read a whole URL through the image source: bytes, or -1 with @err. */
static long long read_all(const char *u, unsigned char *out, size_t max, char *err, size_t errlen)
{
	struct bs_source *s = bs_source_open(u, 1, err, errlen);
	size_t got = 0;
	ssize_t n;

	if (!s)
		return -1;
	while ((n = bs_source_read(s, out + got, got + 65536 <= max ? 65536 : max - got)) > 0)
		got += (size_t)n;
	if (n < 0) {
		snprintf(err, errlen, "%s", bs_source_error(s));
		bs_source_close(s);
		return -1;
	}
	bs_source_close(s);
	return (long long)got;
}

static void test_whole(void)
{
	unsigned char *out = malloc(BODY_LEN + 1), dig[32], want[32];
	char err[1024];
	struct bs_source *s;
	size_t got = 0;
	ssize_t n;

	s = bs_source_open(url("/img.raw"), 1, err, sizeof(err));
	REQUIRE(s);
	CHECK(bs_source_is_url(s));
	CHECK_EQ_INT(bs_source_format(s), BS_FMT_RAW);
	CHECK_EQ_INT(bs_source_size(s), BODY_LEN); /* from Content-Length */
	CHECK_EQ_INT(bs_source_in_size(s), BODY_LEN);
	CHECK(bs_source_download_sha256(s, dig) < 0); /* not read yet */
	while ((n = bs_source_read(s, out + got, 100000)) > 0)
		got += (size_t)n;
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(got, BODY_LEN);
	CHECK(!memcmp(out, body, BODY_LEN));
	REQUIRE(!bs_hash_buf(BS_HASH_SHA256, body, BODY_LEN, want));
	CHECK(!bs_source_download_sha256(s, dig) && !memcmp(dig, want, 32));
	bs_source_close(s);

	CHECK_EQ_INT(read_all(url("/redirect"), out, BODY_LEN + 1, err, sizeof(err)), BODY_LEN);
	CHECK(!memcmp(out, body, BODY_LEN));
	CHECK_EQ_INT(read_all(url("/nolen.raw"), out, BODY_LEN + 1, err, sizeof(err)), BODY_LEN);
	CHECK(!memcmp(out, body, BODY_LEN));

	s = bs_source_open(url("/img.gz"), 1, err, sizeof(err));
	REQUIRE(s);
	CHECK_EQ_INT(bs_source_format(s), BS_FMT_GZIP);
	CHECK_EQ_INT(bs_source_in_size(s), gz_len);
	bs_source_close(s);
	CHECK_EQ_INT(read_all(url("/img.gz"), out, BODY_LEN + 1, err, sizeof(err)), BODY_LEN);
	CHECK(!memcmp(out, body, BODY_LEN));
	free(out);
}

/*
 * @path fails at open (@at_open), or at open or while reading (a failure
 * already known when the first bytes arrive fails the open: sooner is
 * better), with a message naming the URL and @what.
 */
static void check_fails(const char *path, bool at_open, const char *what)
{
	unsigned char *out = malloc(BODY_LEN * 2);
	char err[1024] = "";
	struct bs_source *s = bs_source_open(url(path), 1, err, sizeof(err));

	if (at_open) {
		CHECK(!s);
	} else if (s) {
		bs_source_close(s);
		CHECK_EQ_INT(read_all(url(path), out, BODY_LEN * 2, err, sizeof(err)), -1);
	}
	CHECK(!strncmp(err, url(path), strlen(url(path))));
	if (!strstr(err, what)) {
		fprintf(stderr, "%s: expected \"%s\" in: %s\n", path, what, err);
		CHECK(!"message");
	}
	free(out);
}

static void test_failures(void)
{
	char err[512];

	check_fails("/missing.img", true, "HTTP status 404");
	check_fails("/error", true, "HTTP status 500");
	check_fails("/cut", false, "ended after 1048576 of the 3145728 bytes");
	check_fails("/chunked-cut", false, "failed after");
	check_fails("/longer", false, "more than the 1572864 bytes it announced");
	bs_http_stall_timeout = 1;
	check_fails("/stall", false, "no data from the server for 1 seconds after 4096 bytes");
	bs_http_stall_timeout = 60;
	{
		static _Atomic int stop = 1; /* a signal arrived: waiting stops at once */

		bs_http_stop = &stop;
		check_fails("/stall", false, "interrupted after");
		bs_http_stop = NULL;
	}
	CHECK(!bs_source_open("ftp://127.0.0.1/img.raw", 1, err, sizeof(err)));
	CHECK(strstr(err, "only http:// and https://"));
	CHECK(!bs_source_open("http://127.0.0.1:1/img.raw", 1, err, sizeof(err)));
	CHECK(!strncmp(err, "http://127.0.0.1:1/img.raw: ", 28));
}

static void test_sidecars(void)
{
	unsigned char h[32], want[32];
	char from[4200], *p;
	struct bs_bmap b;
	size_t len;
	int r;

	REQUIRE(!bs_hex_parse(sha_hex, 64, want, 32));
	r = bs_sha256_find(url("/img.raw"), h, from, sizeof(from));
	CHECK_EQ_INT(r, 1);
	CHECK(!memcmp(h, want, 32));
	CHECK_EQ_STR(from, url("/img.raw.sha256"));
	/* no sums.img.raw.xz.sha256: the SHA256SUMS line of the bare name */
	r = bs_sha256_find(url("/sums/img.raw.xz"), h, from, sizeof(from));
	CHECK_EQ_INT(r, 1);
	CHECK(!memcmp(h, want, 32));
	CHECK_EQ_STR(from, url("/sums/SHA256SUMS"));
	CHECK_EQ_INT(bs_sha256_find(url("/img.gz"), h, from, sizeof(from)), 0);

	CHECK_EQ_INT(bs_http_fetch(url("/nothing"), 100, &p, &len, from, sizeof(from)), 0);
	CHECK_EQ_INT(bs_http_fetch(url("/img.raw"), 100, &p, &len, from, sizeof(from)), -1);
	CHECK(strstr(from, "larger than 100 bytes"));
	CHECK_EQ_INT(bs_http_fetch(url("/img.raw.sha256"), 100, &p, &len, from, sizeof(from)), 1);
	CHECK_EQ_INT(len, 74);
	free(p);

	CHECK_EQ_INT(bs_bmap_find_url(url("/img.raw.xz?x=1"), &b, &p, from, sizeof(from)), 0);
	p = bs_url_with_suffix("http://h/a/os.img.xz?sig=1#f", ".xz", ".bmap");
	CHECK_EQ_STR(p, "http://h/a/os.img.bmap?sig=1#f");
	free(p);
	CHECK(!bs_url_with_suffix("http://h/a/os.img", ".xz", ".bmap"));
	CHECK(bs_url_is_http("HTTPS://x/y") && bs_url_is_http("http://x"));
	CHECK(!bs_url_is_http("ftp://x") && bs_url_like("ftp://x") && !bs_url_like("./a://b"));
	CHECK(!bs_url_like("img.raw") && !bs_url_like("-"));
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	unsigned char dig[32];
	char tmpl[] = "/tmp/bs-test-http-XXXXXX", cmd[600];
	pthread_t th;
	FILE *f;
	uint32_t x = 12345;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	body = malloc(BODY_LEN);
	REQUIRE(body);
	for (i = 0; i < BODY_LEN; i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (i / 4096) % 3 ? (unsigned char)(x >> 16) : 0;
	}
	REQUIRE(!bs_hash_buf(BS_HASH_SHA256, body, BODY_LEN, dig));
	bs_hex_format(dig, 32, sha_hex);
	/* the gzip image, made by gzip itself */
	REQUIRE(mkdtemp(tmpl));
	snprintf(cmd, sizeof(cmd), "%s/img", tmpl);
	f = fopen(cmd, "w");
	REQUIRE(f && fwrite(body, 1, BODY_LEN, f) == BODY_LEN && !fclose(f));
	REQUIRE(!sh("gzip -n -1 %s/img", tmpl));
	snprintf(cmd, sizeof(cmd), "%s/img.gz", tmpl);
	f = fopen(cmd, "r");
	REQUIRE(f);
	gz = malloc(BODY_LEN * 2);
	gz_len = fread(gz, 1, BODY_LEN * 2, f);
	fclose(f);
	REQUIRE(gz_len > 0);
	sh("rm -rf %s", tmpl);

	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(lsock >= 0);
	REQUIRE(!bind(lsock, (struct sockaddr *)&a, sizeof(a)) && !listen(lsock, 16));
	REQUIRE(!getsockname(lsock, (struct sockaddr *)&a, &al));
	port = ntohs(a.sin_port);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", port);
	REQUIRE(!pthread_create(&th, NULL, server, NULL));

	test_whole();
	test_failures();
	test_sidecars();

	shutdown(lsock, SHUT_RDWR);
	close(lsock);
	pthread_join(th, NULL);
	free(body);
	free(gz);
	return unit_done();
}
