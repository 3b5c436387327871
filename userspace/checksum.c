// SPDX-License-Identifier: GPL-2.0
/* Expected SHA-256 next to an image, and the SHA-256 of a file (checksum.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmap.h"
#include "checksum.h"
#include "http.h"
#include "imagecheck.h"
#include "sha.h"

/* "HEX", "HEX  name" or "HEX *name": the hash, and the name (or NULL). */
static int parse_line(char *line, unsigned char out[32], const char **name)
{
	size_t n = strspn(line, "0123456789abcdefABCDEF");

	line[strcspn(line, "\r\n")] = '\0';
	*name = NULL;
	if (n != 64 || (line[64] && line[64] != ' ' && line[64] != '\t'))
		return -1;
	if (bs_hex_parse(line, 64, out, 32))
		return -1;
	if (line[64]) {
		const char *p = line + 65;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '*')
			p++;
		if (*p)
			*name = p;
	}
	return 0;
}

/* @name without a compression suffix ("os.img.xz" -> "os.img") into @buf. */
static void strip_suffix(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)bs_name_base_len(name), name);
}

/* The lines of a SHA256SUMS text: the hash for @base (preferred) or @bare. */
static int sums_lookup(char *text, const char *base, const char *bare, unsigned char out[32])
{
	char *line, *save = NULL;
	const char *name;
	unsigned char h[32];
	int found = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (parse_line(line, h, &name) || !name)
			continue;
		if (!strcmp(name, base)) {
			memcpy(out, h, 32);
			return 1;
		}
		if (!found && strcmp(bare, base) && !strcmp(name, bare)) {
			memcpy(out, h, 32);
			found = 1;
		}
	}
	return found;
}

#define SUMS_MAX (1u << 20)

/*
 * The first line of IMAGE.sha256 (@text), found at @where: 1 with the hash
 * in @out, or -1 with the reason in @from. A file name on the line must be
 * @base (the download) or @bare (the image inside it).
 */
static int sidecar_line(char *text, const char *base, const char *bare, unsigned char out[32],
			const char *where, char *from, size_t fromlen)
{
	const char *name = NULL, *nb;

	text[strcspn(text, "\n")] = '\0';
	if (parse_line(text, out, &name)) {
		snprintf(from, fromlen, "%s: no SHA-256 on its first line", where);
		return -1;
	}
	nb = name ? strrchr(name, '/') : NULL;
	nb = nb ? nb + 1 : name;
	if (nb && strcmp(nb, base) && strcmp(nb, bare)) {
		snprintf(from, fromlen, "%s: its line is for another file, %s", where, name);
		return -1;
	}
	snprintf(from, fromlen, "%s", where);
	return 1;
}

/*
 * Fetch the small text file @url into *@text: 1 when there, 0 when absent
 * (a 4xx answer), -1 with the reason in @from. @url is freed.
 */
static int fetch_text(char *url, char **text, char *from, size_t fromlen)
{
	char err[512];
	size_t len;
	int r;

	r = bs_http_fetch(url, SUMS_MAX, text, &len, err, sizeof(err));
	if (r < 0)
		snprintf(from, fromlen, "%s", err);
	free(url);
	return r;
}

/* An http:// or https:// image: URL.sha256, else SHA256SUMS beside it. */
static int find_url(const char *image, unsigned char out[32], char *from, size_t fromlen)
{
	size_t end = strcspn(image, "?#"), slash;
	char *url, *text = NULL, base[1024], bare[1024];
	int r;

	for (slash = end; slash > 0 && image[slash - 1] != '/'; slash--)
		;
	snprintf(base, sizeof(base), "%.*s", (int)(end - slash), image + slash);
	strip_suffix(base, bare, sizeof(bare));
	url = bs_url_with_suffix(image, NULL, ".sha256");
	if (!url)
		return 0;
	/* sidecar_line() names the file in @from, so keep its name until then. */
	snprintf(from, fromlen, "%s", url);
	r = fetch_text(url, &text, from, fromlen);
	if (r > 0) {
		char where[1024];

		snprintf(where, sizeof(where), "%s", from);
		r = sidecar_line(text, base, bare, out, where, from, fromlen);
		free(text);
	}
	if (r)
		return r;
	if (asprintf(&url, "%.*sSHA256SUMS", (int)slash, image) < 0)
		return 0;
	snprintf(from, fromlen, "%s", url);
	r = fetch_text(url, &text, from, fromlen);
	if (r > 0) {
		r = sums_lookup(text, base, bare, out);
		free(text);
	}
	return r;
}

int bs_sha256_find(const char *image, unsigned char out[32], char *from, size_t fromlen)
{
	char path[4096], line[4352], *dup1 = NULL, *dup2 = NULL, bare[1024];
	const char *base, *dir;
	int found = 0;
	FILE *f;

	if (!image || !strcmp(image, "-"))
		return 0;
	if (bs_url_is_http(image))
		return find_url(image, out, from, fromlen);
	dup1 = strdup(image);
	dup2 = strdup(image);
	if (!dup1 || !dup2) {
		free(dup1);
		free(dup2);
		return 0;
	}
	base = basename(dup1);
	dir = dirname(dup2);
	strip_suffix(base, bare, sizeof(bare));
	snprintf(path, sizeof(path), "%s.sha256", image);
	f = fopen(path, "re");
	if (f) {
		int r = -1;

		if (fgets(line, sizeof(line), f))
			r = sidecar_line(line, base, bare, out, path, from, fromlen);
		else
			snprintf(from, fromlen, "%s: no SHA-256 on its first line", path);
		fclose(f);
		free(dup1);
		free(dup2);
		return r;
	}
	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	f = fopen(path, "re");
	if (f) {
		char *text = malloc(SUMS_MAX + 1);
		size_t n = text ? fread(text, 1, SUMS_MAX, f) : 0;

		fclose(f);
		if (text) {
			text[n] = '\0';
			found = sums_lookup(text, base, bare, out);
			free(text);
		}
		if (found)
			snprintf(from, fromlen, "%s", path);
	}
	free(dup1);
	free(dup2);
	return found;
}

int bs_sha256_file(const char *path, unsigned char out[32], const _Atomic int *stop, char *err,
		   size_t errlen)
{
	struct bs_hash *h = bs_hash_new(BS_HASH_SHA256);
	unsigned char *buf = malloc(1 << 20);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;
	ssize_t n;

	if (fd < 0 || !h || !buf) {
		snprintf(err, errlen, "%s", fd < 0 ? strerror(errno) : "out of memory");
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		if (stop && atomic_load(stop)) {
			snprintf(err, errlen, "interrupted");
			goto out;
		}
		n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read error: %s", strerror(errno));
			goto out;
		}
		if (!n)
			break;
		bs_hash_update(h, buf, (size_t)n);
	}
	r = bs_hash_final(h, out);
	if (r)
		snprintf(err, errlen, "SHA-256 failed");
out:
	if (fd >= 0)
		close(fd);
	bs_hash_free(h);
	free(buf);
	return r;
}
