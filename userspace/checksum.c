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

#include "checksum.h"
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

int bs_sha256_find(const char *image, unsigned char out[32], char *from, size_t fromlen)
{
	char path[4096], line[4352], *dup1 = NULL, *dup2 = NULL, bare[1024];
	const char *base, *dir, *name;
	unsigned char h[32];
	int found = 0;
	FILE *f;

	if (!image || !strcmp(image, "-"))
		return 0;
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
		const char *why = ": no SHA-256 on its first line";

		name = NULL;

		if (fgets(line, sizeof(line), f) && !parse_line(line, out, &name)) {
			const char *nb = name ? strrchr(name, '/') : NULL;

			nb = nb ? nb + 1 : name;
			/* A name on the line must be this image's (or the image inside). */
			if (!nb || !strcmp(nb, base) || !strcmp(nb, bare))
				r = 1;
			else
				why = ": its line is for another file, ";
		}
		fclose(f);
		if (r > 0)
			snprintf(from, fromlen, "%s", path);
		else
			snprintf(from, fromlen, "%s%s%s", path, why, name ? name : "");
		free(dup1);
		free(dup2);
		return r;
	}
	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (parse_line(line, h, &name) || !name)
				continue;
			if (!strcmp(name, base)) { /* the download: preferred */
				memcpy(out, h, 32);
				found = 1;
				break;
			}
			if (!found && strcmp(bare, base) && !strcmp(name, bare)) {
				memcpy(out, h, 32);
				found = 1;
			}
		}
		fclose(f);
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
