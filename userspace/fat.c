// SPDX-License-Identifier: GPL-2.0
/* Bounded, read-only FAT12/16/32 root directory reader. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fat.h"
#include "le.h"

#define WINDOW	(64u << 10) /* cached slice of the FAT */
#define LFN_MAX 20	    /* 20 * 13 = 260 UTF-16 units */

struct ctx {
	struct bs_reader *r;
	struct bs_fat *fs;
	uint64_t offset;  /* of the file system in the reader */
	uint64_t fat_off; /* byte offset of FAT #1 in the reader */
	uint64_t fat_bytes;
	uint64_t data_off; /* byte offset of cluster 2 */
	uint32_t cluster_bytes;
	unsigned char *win;
	uint64_t win_off; /* offset of win[0] within the FAT */
	size_t win_len;
	/* long file name being assembled */
	uint16_t lfn[LFN_MAX * 13 + 1];
	int lfn_next; /* sequence number expected next, 0 = none */
	int lfn_count;
	uint8_t lfn_sum;
	bool ended;	 /* 0x00 entry seen */
	uint64_t budget; /* cluster steps left for all walks */
	char err[256];
};

enum chain_end {
	CHAIN_EOC, /* proper end-of-chain mark */
	CHAIN_LOOP,
	CHAIN_BAD,   /* bad-cluster mark */
	CHAIN_FREE,  /* runs into a free cluster */
	CHAIN_RANGE, /* points outside the data area */
	CHAIN_LONG,  /* cap reached */
	CHAIN_IOERR,
	CHAIN_BUDGET, /* CHAIN_STEPS used up */
};

/* Cluster steps for all chain walks of one file system together. */
#define CHAIN_STEPS (1u << 22)

static void finding(struct bs_fat *fs, enum bs_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct bs_fat *fs, enum bs_severity sev, const char *fmt, ...)
{
	va_list ap;

	if (fs->nfindings >= BS_FAT_MAX_FINDINGS) {
		fs->dropped_findings++;
		return;
	}
	fs->findings[fs->nfindings].sev = sev;
	va_start(ap, fmt);
	vsnprintf(fs->findings[fs->nfindings].msg, sizeof(fs->findings[0].msg), fmt, ap);
	va_end(ap);
	fs->nfindings++;
}

/* FAT entry of cluster @n; -1 on a read error, -2 when outside the FAT. */
static int64_t fat_entry(struct ctx *c, uint32_t n)
{
	uint64_t off;
	unsigned int need = c->fs->bits == 32 ? 4 : 2;
	uint32_t v;

	if (c->fs->bits == 12)
		off = (uint64_t)n + n / 2;
	else
		off = (uint64_t)n * (c->fs->bits / 8);
	if (off + need > c->fat_bytes)
		return -2;
	if (!c->win_len || off < c->win_off || off + need > c->win_off + c->win_len) {
		uint64_t len = c->fat_bytes - off < WINDOW ? c->fat_bytes - off : WINDOW;
		ssize_t got = bs_reader_pread(c->r, c->win, (size_t)len, c->fat_off + off);

		if (got < 0)
			return -1;
		if ((size_t)got < need)
			return -2;
		c->win_off = off;
		c->win_len = (size_t)got;
	}
	off -= c->win_off;
	if (c->fs->bits == 12) {
		v = bs_le16(c->win + off);
		return n & 1 ? v >> 4 : v & 0xfff;
	}
	if (c->fs->bits == 16)
		return bs_le16(c->win + off);
	return bs_le32(c->win + off) & 0x0fffffff;
}

static bool is_eoc(const struct bs_fat *fs, uint32_t v)
{
	if (fs->bits == 12)
		return v >= 0xff8;
	if (fs->bits == 16)
		return v >= 0xfff8;
	return v >= 0x0ffffff8;
}

static bool is_bad(const struct bs_fat *fs, uint32_t v)
{
	return v == (fs->bits == 12 ? 0xff7u : fs->bits == 16 ? 0xfff7u : 0x0ffffff7u);
}

static bool valid_cluster(const struct bs_fat *fs, uint32_t n)
{
	return n >= 2 && (uint64_t)n <= (uint64_t)fs->clusters + 1;
}

/*
 * Walk the chain from @first for at most @max clusters, calling @fn (if
 * any) on each; Brent's cycle check catches loops in O(1) memory.
 */
static enum chain_end walk(struct ctx *c, uint32_t first, uint64_t max, uint64_t *count,
			   int (*fn)(struct ctx *, uint32_t))
{
	uint32_t cur = first, tortoise = first;
	uint64_t power = 1, lam = 0;

	*count = 0;
	for (;;) {
		int64_t next;

		if (!valid_cluster(c->fs, cur))
			return CHAIN_RANGE;
		if (*count >= max)
			return CHAIN_LONG;
		if (!c->budget)
			return CHAIN_BUDGET;
		c->budget--;
		(*count)++;
		if (fn && fn(c, cur))
			return CHAIN_IOERR;
		next = fat_entry(c, cur);
		if (next == -1)
			return CHAIN_IOERR;
		if (next == -2)
			return CHAIN_RANGE;
		if (is_eoc(c->fs, (uint32_t)next))
			return CHAIN_EOC;
		if (is_bad(c->fs, (uint32_t)next))
			return CHAIN_BAD;
		if (next == 0)
			return CHAIN_FREE;
		cur = (uint32_t)next;
		if (cur == tortoise)
			return CHAIN_LOOP;
		if (++lam == power) {
			tortoise = cur;
			power *= 2;
			lam = 0;
		}
	}
}

static const char *chain_why(enum chain_end e)
{
	switch (e) {
	case CHAIN_LOOP:
		return "loops back on itself";
	case CHAIN_BAD:
		return "runs into a cluster marked bad";
	case CHAIN_FREE:
		return "runs into a free cluster";
	case CHAIN_RANGE:
		return "points outside the data area";
	case CHAIN_LONG:
		return "is longer than its size needs";
	case CHAIN_BUDGET:
		return "was not followed to its end (step limit reached)";
	default:
		return "cannot be read";
	}
}

static uint8_t short_sum(const unsigned char *name)
{
	uint8_t sum = 0;
	int i;

	for (i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

static void short_name(const unsigned char *e, char *out)
{
	int i, o = 0, end;
	bool lower_base = e[12] & 0x08, lower_ext = e[12] & 0x10;

	for (end = 8; end > 0 && e[end - 1] == ' '; end--)
		;
	for (i = 0; i < end; i++) {
		unsigned char ch = i == 0 && e[0] == 0x05 ? 0xe5 : e[i];

		if (lower_base && ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch + 32);
		out[o++] = (char)(ch < 0x20 || ch >= 0x7f ? '?' : ch);
	}
	for (end = 11; end > 8 && e[end - 1] == ' '; end--)
		;
	if (end > 8)
		out[o++] = '.';
	for (i = 8; i < end; i++) {
		unsigned char ch = e[i];

		if (lower_ext && ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch + 32);
		out[o++] = (char)(ch < 0x20 || ch >= 0x7f ? '?' : ch);
	}
	out[o] = 0;
}

static void lfn_entry(struct ctx *c, const unsigned char *e)
{
	static const int offs[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
	int seq = e[0] & 0x1f, i;

	if (e[0] & 0x40) {
		if (seq < 1 || seq > LFN_MAX) {
			c->lfn_next = 0;
			c->lfn_count = 0;
			return;
		}
		memset(c->lfn, 0, sizeof(c->lfn));
		c->lfn_count = seq;
		c->lfn_sum = e[13];
	} else if (!c->lfn_next || seq != c->lfn_next || e[13] != c->lfn_sum) {
		c->lfn_next = 0;
		c->lfn_count = 0;
		return;
	}
	for (i = 0; i < 13; i++)
		c->lfn[(seq - 1) * 13 + i] = bs_le16(e + offs[i]);
	c->lfn_next = seq - 1;
}

static void dir_entry(struct ctx *c, const unsigned char *e)
{
	struct bs_fat *fs = c->fs;
	struct bs_fat_dirent *d;
	bool have_lfn;

	if (c->ended)
		return;
	if (e[0] == 0) {
		c->ended = true;
		return;
	}
	if (e[0] == 0xe5) {
		c->lfn_next = 0;
		c->lfn_count = 0;
		return;
	}
	if ((e[11] & 0x3f) == 0x0f) {
		lfn_entry(c, e);
		return;
	}
	have_lfn = c->lfn_count && c->lfn_next == 0 && c->lfn_sum == short_sum(e);
	c->lfn_count = 0;
	c->lfn_next = 0;
	if (e[11] & 0x08) {
		if (!fs->label[0]) {
			int n;

			memcpy(fs->label, e, 11);
			for (n = 11; n > 0 && fs->label[n - 1] == ' '; n--)
				;
			fs->label[n] = 0;
		}
		return;
	}
	if (fs->nentries >= BS_FAT_MAX_ENTRIES) {
		fs->truncated = true;
		return;
	}
	d = &fs->entries[fs->nentries++];
	memset(d, 0, sizeof(*d));
	short_name(e, d->short_name);
	if (have_lfn) {
		unsigned char raw[sizeof(c->lfn)];
		size_t i;

		for (i = 0; i < LFN_MAX * 13; i++) {
			raw[2 * i] = (unsigned char)(c->lfn[i] & 0xff);
			raw[2 * i + 1] = (unsigned char)(c->lfn[i] >> 8);
		}
		bs_utf16le_to_utf8(raw, LFN_MAX * 13, d->name, sizeof(d->name));
	}
	if (!d->name[0])
		memcpy(d->name, d->short_name, sizeof(d->short_name));
	d->attr = e[11];
	d->size = bs_le32(e + 28);
	d->cluster = (fs->bits == 32 ? (uint32_t)bs_le16(e + 20) << 16 : 0) | bs_le16(e + 26);
}

static int dir_bytes(struct ctx *c, const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 32 <= len && !c->ended; i += 32)
		dir_entry(c, buf + i);
	return 0;
}

static int read_root_cluster(struct ctx *c, uint32_t n)
{
	unsigned char *buf = malloc(c->cluster_bytes);
	ssize_t got;

	if (!buf) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	got = bs_reader_pread(c->r, buf, c->cluster_bytes,
			      c->data_off + (uint64_t)(n - 2) * c->cluster_bytes);
	if (got < 0) {
		snprintf(c->err, sizeof(c->err), "%s", bs_reader_error(c->r));
		free(buf);
		return -1;
	}
	if ((size_t)got < c->cluster_bytes)
		finding(c->fs, BS_SEV_ERROR,
			"root directory cluster %" PRIu32 " lies beyond the end of the data", n);
	dir_bytes(c, buf, (size_t)got);
	free(buf);
	return 0;
}

static int read_root(struct ctx *c)
{
	struct bs_fat *fs = c->fs;

	if (fs->bits != 32) {
		size_t len = (size_t)fs->root_entries * 32;
		unsigned char *buf = malloc(len ? len : 1);
		uint64_t off =
			c->fat_off + (uint64_t)fs->nfats * fs->fat_sectors * fs->bytes_per_sector;
		ssize_t got;

		if (!buf) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		got = bs_reader_pread(c->r, buf, len, off);
		if (got < 0) {
			snprintf(c->err, sizeof(c->err), "%s", bs_reader_error(c->r));
			free(buf);
			return -1;
		}
		if ((size_t)got < len)
			finding(fs, BS_SEV_ERROR,
				"the root directory lies beyond the end of the data");
		dir_bytes(c, buf, (size_t)got);
		free(buf);
		return 0;
	} else {
		uint64_t count, max = BS_FAT_MAX_DIR / c->cluster_bytes + 1;
		enum chain_end end = walk(c, fs->root_cluster, max, &count, read_root_cluster);

		if (end == CHAIN_IOERR && c->err[0])
			return -1;
		if (end == CHAIN_IOERR) {
			snprintf(c->err, sizeof(c->err), "%s", bs_reader_error(c->r));
			return -1;
		}
		if (end == CHAIN_LONG && !c->ended)
			finding(fs, BS_SEV_ERROR,
				"the root directory is longer than %u bytes; the rest is ignored",
				BS_FAT_MAX_DIR);
		else if (end != CHAIN_EOC && end != CHAIN_LONG)
			finding(fs, BS_SEV_ERROR,
				"the root directory's cluster chain (from cluster %" PRIu32 ") %s",
				fs->root_cluster, chain_why(end));
	}
	return 0;
}

/* Each root file's chain must be long enough for its size and end properly. */
static int check_chains(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->fs->nentries; i++) {
		struct bs_fat_dirent *d = &c->fs->entries[i];
		uint64_t need = ((uint64_t)d->size + c->cluster_bytes - 1) / c->cluster_bytes,
			 count;
		enum chain_end end;

		if (d->attr & BS_FAT_ATTR_DIR) {
			d->chain_ok = valid_cluster(c->fs, d->cluster);
			continue;
		}
		if (!d->size) {
			d->chain_ok = d->cluster == 0;
			continue;
		}
		end = walk(c, d->cluster, need, &count, NULL);
		if (end == CHAIN_BUDGET) {
			finding(c->fs, BS_SEV_INFO,
				"cluster chains from %s on were not checked (step limit reached)",
				d->name);
			return 0;
		}
		if (end == CHAIN_IOERR) {
			snprintf(c->err, sizeof(c->err), "%s", bs_reader_error(c->r));
			return -1;
		}
		d->chain_ok = end == CHAIN_EOC && count == need;
		if (d->chain_ok)
			continue;
		if (end == CHAIN_EOC)
			finding(c->fs, BS_SEV_ERROR,
				"%s: cluster chain has %" PRIu64 " clusters, its size (%" PRIu32
				" bytes) needs %" PRIu64,
				d->name, count, d->size, need);
		else
			finding(c->fs, BS_SEV_ERROR,
				"%s: cluster chain (from cluster %" PRIu32 ") %s", d->name,
				d->cluster, chain_why(end));
	}
	return 0;
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Parse the boot sector; 1 with @c->err when it is not FAT. */
static int parse_bpb(struct ctx *c, const unsigned char *b, uint64_t size)
{
	struct bs_fat *fs = c->fs;
	uint32_t tot16 = bs_le16(b + 19), fat16 = bs_le16(b + 22), root_secs;
	uint64_t meta, data;

	fs->bytes_per_sector = bs_le16(b + 11);
	fs->sectors_per_cluster = b[13];
	fs->reserved_sectors = bs_le16(b + 14);
	fs->nfats = b[16];
	fs->root_entries = bs_le16(b + 17);
	fs->total_sectors = tot16 ? tot16 : bs_le32(b + 32);
	fs->fat_sectors = fat16 ? fat16 : bs_le32(b + 36);
	if (b[0] != 0xeb && b[0] != 0xe9) {
		snprintf(c->err, sizeof(c->err),
			 "no x86 jump instruction at the start of the boot sector");
		return 1;
	}
	if (fs->bytes_per_sector < 512 || fs->bytes_per_sector > 4096 ||
	    !pow2(fs->bytes_per_sector)) {
		snprintf(c->err, sizeof(c->err), "invalid bytes per sector %" PRIu32,
			 fs->bytes_per_sector);
		return 1;
	}
	if (!pow2(fs->sectors_per_cluster) || !fs->reserved_sectors || !fs->nfats ||
	    !fs->fat_sectors || !fs->total_sectors) {
		snprintf(c->err, sizeof(c->err), "invalid BIOS parameter block");
		return 1;
	}
	c->cluster_bytes = fs->sectors_per_cluster * fs->bytes_per_sector;
	root_secs = (fs->root_entries * 32 + fs->bytes_per_sector - 1) / fs->bytes_per_sector;
	meta = fs->reserved_sectors + (uint64_t)fs->nfats * fs->fat_sectors + root_secs;
	if (meta >= fs->total_sectors) {
		snprintf(c->err, sizeof(c->err),
			 "the FATs and root directory (%" PRIu64
			 " sectors) fill the whole file system (%" PRIu64 ")",
			 meta, fs->total_sectors);
		return 1;
	}
	data = fs->total_sectors - meta;
	fs->clusters = (uint32_t)(data / fs->sectors_per_cluster > 0x0ffffff5
					  ? 0x0ffffff5
					  : data / fs->sectors_per_cluster);
	fs->bits = fs->clusters < 4085 ? 12 : fs->clusters < 65525 ? 16 : 32;
	if (fs->bits == 32) {
		if (fat16 || fs->root_entries) {
			snprintf(c->err, sizeof(c->err),
				 "FAT32-sized but with a FAT12/16 root directory");
			return 1;
		}
		fs->root_cluster = bs_le32(b + 44);
	} else if (!fs->root_entries) {
		snprintf(c->err, sizeof(c->err), "FAT%u without root directory entries", fs->bits);
		return 1;
	}
	c->fat_off = c->offset + (uint64_t)fs->reserved_sectors * fs->bytes_per_sector;
	c->fat_bytes = (uint64_t)fs->fat_sectors * fs->bytes_per_sector;
	c->data_off = c->offset + meta * fs->bytes_per_sector;
	if (c->fat_bytes * 8 < ((uint64_t)fs->clusters + 2) * fs->bits)
		finding(fs, BS_SEV_ERROR,
			"the FAT (%" PRIu64 " bytes) is too small for %" PRIu32 " clusters",
			c->fat_bytes, fs->clusters);
	if (b[510] != 0x55 || b[511] != 0xaa)
		finding(fs, BS_SEV_WARN, "the boot sector has no 0x55AA signature");
	if (size && fs->total_sectors * fs->bytes_per_sector > size)
		finding(fs, BS_SEV_ERROR,
			"the file system (%" PRIu64 " bytes) is larger than its partition (%" PRIu64
			" bytes)",
			fs->total_sectors * fs->bytes_per_sector, size);
	return 0;
}

int bs_fat_read_root(struct bs_reader *r, uint64_t offset, uint64_t size, struct bs_fat **out,
		     char *err, size_t errlen)
{
	unsigned char boot[512];
	struct ctx *c = calloc(1, sizeof(*c));
	ssize_t got;
	int ret = -1;

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->r = r;
	c->offset = offset;
	c->budget = CHAIN_STEPS;
	c->fs = calloc(1, sizeof(*c->fs));
	c->win = malloc(WINDOW);
	if (!c->fs || !c->win) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	got = bs_reader_pread(r, boot, sizeof(boot), offset);
	if (got < 0) {
		snprintf(err, errlen, "%s", bs_reader_error(r));
		goto out;
	}
	if (got < (ssize_t)sizeof(boot)) {
		snprintf(err, errlen, "the boot sector lies beyond the end of the data");
		ret = 1;
		goto out;
	}
	ret = parse_bpb(c, boot, size);
	if (ret) {
		snprintf(err, errlen, "%s", c->err);
		goto out;
	}
	if (read_root(c) || check_chains(c)) {
		snprintf(err, errlen, "%s", c->err);
		ret = -1;
		goto out;
	}
	*out = c->fs;
	c->fs = NULL;
out:
	free(c->fs);
	free(c->win);
	free(c);
	return ret;
}

const struct bs_fat_dirent *bs_fat_find(const struct bs_fat *fs, const char *name)
{
	size_t i;

	for (i = 0; i < fs->nentries; i++)
		if (!strcasecmp(fs->entries[i].name, name) ||
		    !strcasecmp(fs->entries[i].short_name, name))
			return &fs->entries[i];
	return NULL;
}
