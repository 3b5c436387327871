// SPDX-License-Identifier: GPL-2.0
/*
 * Format detection and decoding of arbitrary bytes through bs_source, from
 * a seekable file (memfd) and from a pipe (the standard-input path): never
 * a crash, hang or leak, and the source reports the detected format.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source.h"

#define OUT_CAP (8u << 20) /* decompression bombs: stop reading here */
#define CHUNK	(256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(const char *path, const uint8_t *data, size_t size, unsigned int threads)
{
	static unsigned char buf[CHUNK];
	struct bs_source_opts o;
	struct bs_source *s;
	char err[256];
	uint64_t total = 0;
	int failed = 0;

	bs_source_opts_default(&o);
	o.threads = threads;
	o.memlimit = 64u << 20;
	o.xz_memlimit_threading = 32u << 20;
	s = bs_source_open_opts(path, &o, err, sizeof(err));
	if (!s) {
		if (!err[0] || strncmp(err, path, strlen(path)))
			abort(); /* a message naming the input */
		return;
	}
	if (bs_source_format(s) != bs_format_detect(data, size))
		abort();
	while (total < OUT_CAP) {
		ssize_t n = bs_source_read_full(s, buf, sizeof(buf));

		if (n < 0) {
			if (strncmp(bs_source_error(s), path, strlen(path)))
				abort();
			failed = 1;
			break;
		}
		if ((size_t)n > sizeof(buf))
			abort();
		total += (uint64_t)n;
		if ((size_t)n < sizeof(buf)) /* short only at the end */
			break;
	}
	if (!failed && total != bs_source_out_pos(s))
		abort();
	/* raw bytes come back unchanged */
	if (!failed && bs_source_format(s) == BS_FMT_RAW && total < OUT_CAP && total != size)
		abort();
	bs_source_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd, p[2];
	unsigned int threads = (unsigned int)(size % 2) + 1;

	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	drain(path, data, size, threads);
	close(fd);

	/* the same bytes through a pipe: no seeking, peeked bytes kept */
	if (size > 65536 || pipe2(p, O_CLOEXEC))
		return 0;
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	drain(path, data, size, threads);
	close(p[0]);
	return 0;
}
