// SPDX-License-Identifier: GPL-2.0
/*
 * logcheck: reads a dm-log-writes log and checks the bootseal ordering
 * contract (module/DESIGN.md, "The ordering contract") for one flash of IMAGE:
 *
 *  1. invalidation: before any image data, the head [0, head_len) and the
 *     tail [tail, dev_size) are written with zeros, followed by a flush;
 *  2. no write touches the head between the invalidation and the final head
 *     write, and nothing but head writes follow the first of those;
 *  3. the head writes come after a flush that follows the last data write,
 *     and each is FUA (or a flush follows it);
 *  4. replaying the log onto a zeroed device, after every entry: the head is
 *     zero, or all non-head image data is present (and once the first
 *     logical block carries the image, the whole image is present);
 *  5. at the end the device holds the image;
 *  6. with PBS: the first physical block [0, PBS) is written by the last
 *     head write only, and that write covers it whole (no read-modify-write
 *     of a partly written physical block 0 after the rest of the head);
 *  7. with -s (a staged disk, whose tail is held back like the head): no
 *     write touches the tail between the invalidation and the seal; the
 *     tail is written after the flush that follows the last data write,
 *     with FUA, and before the head; no data write follows it.
 *
 * Usage: logcheck [-v] [-s] LOG IMAGE HEAD_LEN DEV_SIZE [LBS [PBS]]
 *   LOG       the log device (or a copy of it)
 *   IMAGE     the image that was flashed (padded with zeros to a block)
 *   HEAD_LEN  bytes held back by the session
 *   DEV_SIZE  size of the flashed device, bytes
 *   LBS       logical block size of the flashed device (default 512)
 *   PBS       physical block size of the flashed device (default: no check 6)
 * Exits 0 when every invariant holds, 1 on a violation (each is printed),
 * 2 on bad input.
 *
 * Log format (drivers/md/dm-log-writes.c): block 0 holds the super block
 * (magic, version, nr_entries, sectorsize); entries follow from block 1,
 * each a header block then, for writes, nr_sectors blocks of data. Sector
 * numbers and counts are in units of sectorsize.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "module/uapi/bootseal.h"

/* Tools are linked with the helper objects, which print this name. */

#define LW_MAGIC    0x6a736677736872ULL
#define LW_VERSION  1ULL
#define LW_FLUSH    (1ULL << 0)
#define LW_FUA	    (1ULL << 1)
#define LW_DISCARD  (1ULL << 2)
#define LW_MARK	    (1ULL << 3)
#define LW_METADATA (1ULL << 4)

struct lw_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct lw_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
} __attribute__((packed));

static int verbose;
static unsigned long violations;

static void violation(uint64_t entry, const char *fmt, ...)
{
	va_list ap;

	violations++;
	if (violations > 20)
		return;
	fprintf(stderr, "logcheck: entry %" PRIu64 ": ", entry);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + done);

		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "logcheck: Unable to parse %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Replay state, tracked per sectorsize block. */
struct replay {
	uint8_t *dev;	     /* device contents */
	const uint8_t *img;  /* image, padded */
	uint64_t ss;	     /* block size of the log */
	uint64_t img_blocks; /* padded image length in blocks */
	uint64_t head_blocks;
	uint8_t *mismatch;     /* per image block: dev != img */
	uint64_t data_missing; /* mismatching image blocks outside the head */
	uint64_t all_missing;  /* mismatching image blocks anywhere */
	uint64_t head_nonzero; /* non-zero blocks in the head */
	uint8_t *nonzero;      /* per head block */
};

static void replay_update(struct replay *r, uint64_t b)
{
	const uint8_t *d = r->dev + b * r->ss;

	if (b < r->head_blocks) {
		uint8_t nz = !all_zero(d, r->ss);

		r->head_nonzero += nz - r->nonzero[b];
		r->nonzero[b] = nz;
	}
	if (b < r->img_blocks) {
		uint8_t mm = memcmp(d, r->img + b * r->ss, r->ss) != 0;

		if (b >= r->head_blocks)
			r->data_missing += mm - r->mismatch[b];
		r->all_missing += mm - r->mismatch[b];
		r->mismatch[b] = mm;
	}
}

int main(int argc, char **argv)
{
	uint64_t head_len, dev_size, lbs = 512, pbs = 0, tail, img_len, pos, i;
	uint64_t first_pb = UINT64_MAX; /* entry that wrote into [0, pbs) */
	uint64_t dev_blocks, tail_block, flushes = 0, data_writes = 0, head_writes = 0;
	uint64_t last_data = UINT64_MAX, last_flush = UINT64_MAX, head_start = UINT64_MAX;
	uint64_t pending_head = UINT64_MAX; /* a non-FUA head write awaiting a flush */
	uint8_t *covered, *buf;
	struct lw_super super;
	struct replay r = {0};
	struct stat st;
	uint64_t tail_written = UINT64_MAX; /* -s: the first tail write of the seal */
	int logfd, imgfd, stage = 0, argi = 1, staged = 0;

	for (; argi < argc && argv[argi][0] == '-' && argv[argi][1]; argi++) {
		if (!strcmp(argv[argi], "-v"))
			verbose = 1;
		else if (!strcmp(argv[argi], "-s"))
			staged = 1;
		else
			break;
	}
	if (argc - argi < 4 || argc - argi > 6) {
		fprintf(stderr,
			"Usage: logcheck [-v] [-s] LOG IMAGE HEAD_LEN DEV_SIZE [LBS [PBS]]\n");
		return 2;
	}
	head_len = parse_u64(argv[argi + 2], "HEAD_LEN");
	dev_size = parse_u64(argv[argi + 3], "DEV_SIZE");
	if (argc - argi >= 5)
		lbs = parse_u64(argv[argi + 4], "LBS");
	if (argc - argi == 6)
		pbs = parse_u64(argv[argi + 5], "PBS");
	logfd = open(argv[argi], O_RDONLY | O_CLOEXEC);
	imgfd = open(argv[argi + 1], O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || imgfd < 0 || fstat(imgfd, &st)) {
		fprintf(stderr, "logcheck: Unable to open %s: %s\n",
			logfd < 0 ? argv[argi] : argv[argi + 1], strerror(errno));
		return 2;
	}
	if (read_at(logfd, &super, sizeof(super), 0)) {
		fprintf(stderr, "logcheck: Unable to read the log super block\n");
		return 2;
	}
	r.ss = le32toh(super.sectorsize);
	if (le64toh(super.magic) != LW_MAGIC || le64toh(super.version) != LW_VERSION ||
	    r.ss < 512 || r.ss > 65536 || (r.ss & (r.ss - 1))) {
		fprintf(stderr, "logcheck: Unable to use the log: bad super block\n");
		return 2;
	}
	if (!lbs || lbs % r.ss || head_len % lbs || !head_len || dev_size % lbs ||
	    (pbs && (pbs % lbs || pbs > head_len)) || head_len > dev_size ||
	    (uint64_t)st.st_size > dev_size) {
		fprintf(stderr, "logcheck: Unable to check: inconsistent sizes\n");
		return 2;
	}
	tail = dev_size > BOOTSEAL_TAIL_LEN ? (dev_size - BOOTSEAL_TAIL_LEN) / lbs * lbs : 0;
	if (tail < head_len)
		tail = head_len;

	img_len = st.st_size;
	r.img_blocks = (img_len + r.ss - 1) / r.ss;
	r.head_blocks = head_len / r.ss;
	dev_blocks = dev_size / r.ss;
	tail_block = tail / r.ss;
	r.dev = calloc(dev_blocks, r.ss);
	r.img = buf = calloc(r.img_blocks ? r.img_blocks : 1, r.ss);
	r.mismatch = calloc(r.img_blocks + 1, 1);
	r.nonzero = calloc(r.head_blocks + 1, 1);
	covered = calloc(dev_blocks, 1);
	if (!r.dev || !buf || !r.mismatch || !r.nonzero || !covered ||
	    read_at(imgfd, buf, img_len, 0)) {
		fprintf(stderr, "logcheck: Unable to load the image\n");
		return 2;
	}
	for (i = 0; i < r.img_blocks; i++)
		replay_update(&r, i);

	pos = r.ss;
	for (i = 0; i < le64toh(super.nr_entries); i++) {
		struct lw_entry e;
		uint64_t sec, nr, flags, b, zero_ok, touches_head, in_zone;
		uint8_t *data;

		if (read_at(logfd, &e, sizeof(e), pos)) {
			fprintf(stderr, "logcheck: Unable to read entry %" PRIu64 "\n", i);
			return 2;
		}
		sec = le64toh(e.sector);
		nr = le64toh(e.nr_sectors);
		flags = le64toh(e.flags);
		pos += r.ss;
		if (verbose)
			printf("%6" PRIu64 " sector=%" PRIu64 " nr=%" PRIu64 " flags=%s%s%s%s\n", i,
			       sec, nr, flags & LW_FLUSH ? "F" : "", flags & LW_FUA ? "U" : "",
			       flags & LW_DISCARD ? "D" : "", flags & LW_MARK ? "M" : "");
		if (flags & LW_MARK)
			continue;
		if (flags & LW_DISCARD) {
			violation(i, "discard of [%" PRIu64 ", +%" PRIu64 ")", sec, nr);
			continue;
		}
		if (nr > dev_blocks || sec > dev_blocks - nr) {
			fprintf(stderr, "logcheck: entry %" PRIu64 " lies outside the device\n", i);
			return 2;
		}
		if (!nr) {
			if (flags & LW_FLUSH) {
				flushes++;
				last_flush = i;
				pending_head = UINT64_MAX;
				if (stage == 0) {
					for (b = 0; b < dev_blocks; b++)
						if ((b < r.head_blocks || b >= tail_block) &&
						    !covered[b])
							break;
					if (b == dev_blocks)
						stage = 1;
				}
			}
			continue;
		}
		data = r.dev + sec * r.ss;
		if (read_at(logfd, data, nr * r.ss, pos)) {
			fprintf(stderr, "logcheck: Unable to read the data of entry %" PRIu64 "\n",
				i);
			return 2;
		}
		pos += nr * r.ss;
		zero_ok = all_zero(data, nr * r.ss);
		touches_head = sec < r.head_blocks;
		in_zone = touches_head ? sec + nr <= r.head_blocks : sec >= tail_block;

		if (stage == 0) {
			if (!zero_ok || !in_zone)
				violation(i,
					  "image data at block %" PRIu64 " before the invalidation "
					  "(zeroed head and tail + flush) was durable",
					  sec);
			for (b = sec; b < sec + nr; b++)
				covered[b] = 1;
		} else if (stage == 1 && staged && !touches_head && sec + nr > tail_block) {
			if (tail_written == UINT64_MAX) {
				tail_written = i;
				if (last_flush == UINT64_MAX ||
				    (last_data != UINT64_MAX && last_flush < last_data))
					violation(i, "tail written without a flush after the last "
						     "data write");
			}
			if (sec < tail_block)
				violation(i, "tail write at block %" PRIu64 " spills into the data",
					  sec);
			if (!(flags & LW_FUA))
				violation(i, "tail write at block %" PRIu64 " without FUA", sec);
		} else if (stage == 1 && !touches_head) {
			if (tail_written != UINT64_MAX)
				violation(i,
					  "data write at block %" PRIu64
					  " after the tail was written "
					  "(entry %" PRIu64 ")",
					  sec, tail_written);
			data_writes++;
			last_data = i;
		} else {
			if (stage == 1) {
				stage = 2;
				head_start = i;
				if (last_flush == UINT64_MAX ||
				    (last_data != UINT64_MAX && last_flush < last_data))
					violation(i, "head written without a flush after the last "
						     "data write");
			}
			if (!touches_head || sec + nr > r.head_blocks)
				violation(i,
					  "write at block %" PRIu64 " after the head write began",
					  sec);
			head_writes++;
			if (!(flags & LW_FUA))
				pending_head = i;
			if (pbs && first_pb != UINT64_MAX)
				violation(i,
					  "head write at block %" PRIu64
					  " after the first physical "
					  "block was written (entry %" PRIu64 ")",
					  sec, first_pb);
			if (pbs && sec * r.ss < pbs) {
				first_pb = i;
				if (sec || nr * r.ss < pbs)
					violation(i,
						  "first physical block written in part: [%" PRIu64
						  ", +%" PRIu64 ") of %" PRIu64 " bytes",
						  sec, nr, pbs);
			}
		}
		for (b = sec; b < sec + nr; b++)
			replay_update(&r, b);
		if (r.head_nonzero && r.data_missing)
			violation(i,
				  "replay prefix: head written (%" PRIu64 " non-zero blocks) while "
				  "%" PRIu64 " data blocks are missing",
				  r.head_nonzero, r.data_missing);
		else if (r.head_nonzero && r.img_blocks && !r.mismatch[0] && r.all_missing &&
			 !all_zero(r.img, r.ss))
			violation(i,
				  "replay prefix: first block written while %" PRIu64
				  " image blocks are missing",
				  r.all_missing);
	}
	if (stage < 2)
		violation(i, "the head was never written (stage %d)", stage);
	if (staged && tail_written == UINT64_MAX && tail_block < dev_blocks)
		violation(i, "the tail was never written");
	if (pending_head != UINT64_MAX)
		violation(pending_head, "head write neither FUA nor followed by a flush");
	if (r.all_missing)
		violation(i, "final state: %" PRIu64 " image blocks differ", r.all_missing);

	printf("logcheck: %" PRIu64 " entries, %" PRIu64 " flushes, %" PRIu64 " data writes, "
	       "%" PRIu64 " head writes (from entry %" PRId64 "), %lu violations\n",
	       (uint64_t)le64toh(super.nr_entries), flushes, data_writes, head_writes,
	       head_start == UINT64_MAX ? (int64_t)-1 : (int64_t)head_start, violations);
	free(r.dev);
	free(buf);
	free(r.mismatch);
	free(r.nonzero);
	free(covered);
	close(logfd);
	close(imgfd);
	return violations ? 1 : 0;
}
