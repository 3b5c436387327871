// SPDX-License-Identifier: GPL-2.0
/*
 * bscost: what the building blocks of flashing and verifying cost on this
 * machine, each measured alone over the same number of bytes, so that a
 * benchmark ratio can be explained by the work each tool does.
 *
 * Usage: bscost DEVICE IMAGE MIB
 *   DEVICE  a block device holding at least MIB MiB (read with O_DIRECT)
 *   IMAGE   a regular file of at least MIB MiB (read and mapped)
 * Prints one line per building block: "NAME SECONDS" (best of three), for
 * MIB MiB moved in 4 MiB pieces:
 *   device_read_direct  pread() of DEVICE with O_DIRECT (what dd iflag=direct does)
 *   image_read          read() of IMAGE into a buffer (what dd if=IMAGE does)
 *   image_map           mmap(MAP_POPULATE) + munmap of IMAGE windows
 *   memcmp              comparing two buffers already in memory
 *   memcpy              copying one buffer into another
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PIECE (4u << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char *a, *b;
static size_t total;
static int dev, img;

static int device_read_direct(void)
{
	for (size_t o = 0; o < total; o += PIECE)
		if (pread(dev, a, PIECE, (off_t)o) != PIECE)
			return -1;
	return 0;
}

static int image_read(void)
{
	for (size_t o = 0; o < total; o += PIECE)
		if (pread(img, a, PIECE, (off_t)o) != PIECE)
			return -1;
	return 0;
}

static int image_map(void)
{
	for (size_t o = 0; o < total; o += PIECE) {
		void *m = mmap(NULL, PIECE, PROT_READ, MAP_SHARED | MAP_POPULATE, img, (off_t)o);

		if (m == MAP_FAILED)
			return -1;
		munmap(m, PIECE);
	}
	return 0;
}

static volatile int sink;
/* called through a volatile pointer: the compiler may not fold the calls */
static int (*volatile cmp_fn)(const void *, const void *, size_t) = memcmp;

static int do_memcmp(void)
{
	memcpy(a, b, PIECE); /* equal buffers: every byte is compared */
	for (size_t o = 0; o < total; o += PIECE)
		sink += cmp_fn(a, b, PIECE);
	return 0;
}

static int do_memcpy(void)
{
	for (size_t o = 0; o < total; o += PIECE)
		memcpy(a, b, PIECE);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} blocks[] = {
		{"device_read_direct", device_read_direct},
		{"image_read", image_read},
		{"image_map", image_map},
		{"memcmp", do_memcmp},
		{"memcpy", do_memcpy},
	};
	long mib;

	if (argc != 4 || (mib = strtol(argv[3], NULL, 10)) < 4) {
		fprintf(stderr, "usage: bscost DEVICE IMAGE MIB (MIB >= 4)\n");
		return 2;
	}
	total = (size_t)mib / 4 * PIECE;
	dev = open(argv[1], O_RDONLY | O_DIRECT);
	img = open(argv[2], O_RDONLY);
	if (dev < 0 || img < 0) {
		fprintf(stderr, "bscost: Unable to open %s: %s\n", dev < 0 ? argv[1] : argv[2],
			strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&a, 4096, PIECE) || posix_memalign((void **)&b, 4096, PIECE)) {
		fprintf(stderr, "bscost: out of memory\n");
		return 1;
	}
	memset(a, 1, PIECE);
	memset(b, 1, PIECE);
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		double best = -1;

		for (int run = 0; run < 3; run++) {
			double t0 = now();

			if (blocks[i].fn()) {
				fprintf(stderr, "bscost: %s failed: %s\n", blocks[i].name,
					strerror(errno));
				return 1;
			}
			t0 = now() - t0;
			if (best < 0 || t0 < best)
				best = t0;
		}
		printf("%s %.4f\n", blocks[i].name, best);
	}
	return 0;
}
