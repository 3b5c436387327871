// SPDX-License-Identifier: GPL-2.0
/* MBR (with the EBR chain) and GPT parsing; every oddity becomes a finding. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "ptable.h"
#include "le.h"

#define MBR_SIG_OFF   510
#define MBR_ID_OFF    440
#define MBR_PART_OFF  446
#define GPT_SIG	      "EFI PART"
#define GPT_HDR_MIN   92
#define GPT_ENTRY_MIN 128

struct name_map {
	unsigned int type;
	const char *name;
};

/* The names fdisk prints for the common MBR types. */
static const struct name_map mbr_names[] = {
	{0x00, "Empty"},
	{0x01, "FAT12"},
	{0x02, "XENIX root"},
	{0x03, "XENIX usr"},
	{0x04, "FAT16 <32M"},
	{0x05, "Extended"},
	{0x06, "FAT16"},
	{0x07, "HPFS/NTFS/exFAT"},
	{0x08, "AIX"},
	{0x0b, "W95 FAT32"},
	{0x0c, "W95 FAT32 (LBA)"},
	{0x0e, "W95 FAT16 (LBA)"},
	{0x0f, "W95 Ext'd (LBA)"},
	{0x11, "Hidden FAT12"},
	{0x12, "Compaq diagnostics"},
	{0x14, "Hidden FAT16 <32M"},
	{0x16, "Hidden FAT16"},
	{0x17, "Hidden HPFS/NTFS"},
	{0x1b, "Hidden W95 FAT32"},
	{0x1c, "Hidden W95 FAT32 (LBA)"},
	{0x1e, "Hidden W95 FAT16 (LBA)"},
	{0x27, "Hidden NTFS WinRE"},
	{0x42, "SFS"},
	{0x82, "Linux swap / Solaris"},
	{0x83, "Linux"},
	{0x85, "Linux extended"},
	{0x86, "NTFS volume set"},
	{0x87, "NTFS volume set"},
	{0x88, "Linux plaintext"},
	{0x8e, "Linux LVM"},
	{0xa0, "IBM Thinkpad hibernation"},
	{0xa5, "FreeBSD"},
	{0xa6, "OpenBSD"},
	{0xa8, "Darwin UFS"},
	{0xa9, "NetBSD"},
	{0xaf, "HFS / HFS+"},
	{0xda, "Non-FS data"},
	{0xde, "Dell Utility"},
	{0xdf, "BootIt"},
	{0xee, "GPT"},
	{0xef, "EFI (FAT-12/16/32)"},
	{0xf2, "DOS secondary"},
	{0xfb, "VMware VMFS"},
	{0xfc, "VMware VMKCORE"},
	{0xfd, "Linux raid autodetect"},
};

struct guid_name {
	const char *guid;
	const char *name;
};

static const struct guid_name gpt_names[] = {
	{"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System"},
	{"21686148-6449-6E6F-744E-656564454649", "BIOS boot"},
	{"0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"},
	{"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"},
	{"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"},
	{"E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"},
	{"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "Windows recovery environment"},
	{"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux root (x86-64)"},
	{"44479540-F297-41B2-9AF7-D131D5F0458A", "Linux root (x86)"},
	{"B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "Linux root (ARM-64)"},
	{"69DAD710-2CE4-4E3C-B16C-21A1D49ABED3", "Linux root (ARM)"},
	{"E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"},
	{"A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID"},
	{"933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "Linux home"},
	{"3B8F8425-20E0-4F3B-907F-1A25A76F98E8", "Linux server data"},
	{"BC13C2FF-59E6-4262-A352-B275FD6F7172", "Linux extended boot"},
	{"CA7D7CCB-63ED-4C53-861C-1742536059CC", "Linux LUKS"},
	{"7FFEC5C9-2D00-49B7-8941-3EA10A5586B7", "Linux dm-crypt"},
	{"8DA63339-0007-60C0-C436-083AC8230908", "Linux reserved"},
	{"48465300-0000-11AA-AA11-00306543ECAC", "Apple HFS/HFS+"},
	{"7C3457EF-0000-11AA-AA11-00306543ECAC", "Apple APFS"},
	{"516E7CB4-6ECF-11D6-8FF8-00022D09712B", "FreeBSD data"},
};

/* Parsed GPT header plus its entry array. */
struct gpt_hdr {
	uint64_t lba; /* where it was read */
	struct bs_gpt_header hdr;
	bool header_ok;	      /* signature, size, CRC, location */
	bool array_ok;	      /* array read and its CRC matches */
	unsigned char *array; /* nentries * entry_size bytes, or NULL */
	char why[160];	      /* why !header_ok or !array_ok */
};

static void finding(struct bs_ptable *pt, enum bs_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finding(struct bs_ptable *pt, enum bs_severity sev, const char *fmt, ...)
{
	va_list ap;

	if (pt->nfindings >= BS_PT_MAX_FINDINGS) {
		pt->dropped_findings++;
		return;
	}
	pt->findings[pt->nfindings].sev = sev;
	va_start(ap, fmt);
	vsnprintf(pt->findings[pt->nfindings].msg, sizeof(pt->findings[0].msg), fmt, ap);
	va_end(ap);
	pt->nfindings++;
}

const char *bs_mbr_type_name(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(mbr_names) / sizeof(mbr_names[0]); i++)
		if (mbr_names[i].type == type)
			return mbr_names[i].name;
	return "unknown";
}

void bs_guid_str(const uint8_t g[16], char *buf)
{
	sprintf(buf, "%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", bs_le32(g),
		bs_le16(g + 4), bs_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14],
		g[15]);
}

const char *bs_gpt_type_name(const uint8_t guid[16])
{
	char s[37];
	size_t i;

	bs_guid_str(guid, s);
	for (i = 0; i < sizeof(gpt_names) / sizeof(gpt_names[0]); i++)
		if (!strcasecmp(gpt_names[i].guid, s))
			return gpt_names[i].name;
	return "unknown";
}

const char *bs_label_name(enum bs_pt_label label)
{
	return label == BS_PT_DOS ? "dos" : label == BS_PT_GPT ? "gpt" : "none";
}

const char *bs_severity_name(enum bs_severity sev)
{
	return sev == BS_SEV_ERROR ? "error" : sev == BS_SEV_WARN ? "warning" : "info";
}

void bs_size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u < sizeof(units) - 2) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	/* one decimal, rounded, dropped when it is zero (as fdisk prints) */
	rem = (rem * 10 + 512) / 1024;
	if (rem >= 10) {
		whole++;
		rem = 0;
	}
	if (rem)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", whole, rem, units[u]);
	else
		snprintf(buf, len, "%" PRIu64 "%c", whole, units[u]);
}

void bs_part_node(const char *devname, unsigned int num, char *buf, size_t len)
{
	size_t n = strlen(devname);
	bool digit = n && devname[n - 1] >= '0' && devname[n - 1] <= '9';

	snprintf(buf, len, "%s%s%u", devname, digit ? "p" : "", num);
}

static bool is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

/* Read one sector; 1 = read, 0 = beyond the data, -1 = I/O error. */
static int read_sector(struct bs_reader *r, struct bs_ptable *pt, uint64_t lba, unsigned char *buf)
{
	ssize_t n;

	if (lba > UINT64_MAX / pt->sector_size)
		return 0;
	n = bs_reader_pread(r, buf, pt->sector_size, lba * pt->sector_size);
	if (n < 0)
		return -1;
	return (size_t)n == pt->sector_size;
}

static struct bs_part *add_part(struct bs_ptable *pt)
{
	struct bs_part *p;

	if (pt->nparts >= BS_PT_MAX_PARTS)
		return NULL;
	p = &pt->parts[pt->nparts++];
	memset(p, 0, sizeof(*p));
	return p;
}

/* Bounds of one partition against the disk. */
static void check_bounds(struct bs_ptable *pt, const struct bs_part *p)
{
	if (p->size == 0)
		return;
	if (p->start == 0)
		finding(pt, BS_SEV_ERROR,
			"partition %u starts at sector 0, over the partition table", p->num);
	if (pt->disk_sectors &&
	    (p->start >= pt->disk_sectors || p->size > pt->disk_sectors - p->start))
		finding(pt, BS_SEV_ERROR,
			"partition %u (sectors %" PRIu64 "-%" PRIu64
			") extends past the end of the disk (%" PRIu64 " sectors)",
			p->num, p->start, p->start + p->size - 1, pt->disk_sectors);
}

static void check_overlaps(struct bs_ptable *pt)
{
	size_t i, j;

	for (i = 0; i < pt->nparts; i++) {
		const struct bs_part *a = &pt->parts[i];

		for (j = i + 1; j < pt->nparts; j++) {
			const struct bs_part *b = &pt->parts[j];

			if (!a->size || !b->size)
				continue;
			/* logical partitions live inside their container */
			if ((a->extended && b->logical) || (b->extended && a->logical))
				continue;
			if (a->start < b->start + b->size && b->start < a->start + a->size)
				finding(pt, BS_SEV_ERROR, "partitions %u and %u overlap", a->num,
					b->num);
		}
	}
}

/* Follow the EBR chain of the extended partition @ext. */
static int read_ebr_chain(struct bs_reader *r, struct bs_ptable *pt, const struct bs_part *ext)
{
	uint64_t visited[BS_PT_MAX_LOGICAL + 1];
	size_t nvisited = 0, i;
	unsigned int next = 5, nlogical = 0;
	uint64_t this = ext->start, ext_end = ext->start + ext->size;
	unsigned char *buf = malloc(pt->sector_size);
	int ret = 0;

	if (!buf)
		return -1;
	for (;;) {
		const unsigned char *e;
		bool have_data = false;
		int rc;

		for (i = 0; i < nvisited; i++)
			if (visited[i] == this)
				break;
		if (i < nvisited) {
			finding(pt, BS_SEV_ERROR,
				"EBR chain loops back to sector %" PRIu64 "; chain ends there",
				this);
			break;
		}
		if (nvisited > BS_PT_MAX_LOGICAL) {
			finding(pt, BS_SEV_ERROR,
				"EBR chain longer than %u links; the rest is ignored",
				BS_PT_MAX_LOGICAL);
			break;
		}
		visited[nvisited++] = this;
		rc = read_sector(r, pt, this, buf);
		if (rc < 0) {
			ret = -1;
			break;
		}
		if (rc == 0) {
			finding(pt, BS_SEV_ERROR,
				"EBR at sector %" PRIu64 " lies beyond the end of the data", this);
			break;
		}
		if (buf[MBR_SIG_OFF] != 0x55 || buf[MBR_SIG_OFF + 1] != 0xaa) {
			finding(pt, BS_SEV_ERROR,
				"EBR at sector %" PRIu64
				" has no 0x55AA signature; the chain ends there",
				this);
			break;
		}
		for (i = 0, e = buf + MBR_PART_OFF; i < 4; i++, e += 16) {
			uint32_t rel = bs_le32(e + 8), size = bs_le32(e + 12);
			struct bs_part *p;

			if (!size || is_extended(e[4]))
				continue;
			if (nlogical >= BS_PT_MAX_LOGICAL) {
				finding(pt, BS_SEV_ERROR,
					"more than %u logical partitions; the rest is ignored",
					BS_PT_MAX_LOGICAL);
				goto out;
			}
			if (have_data)
				finding(pt, BS_SEV_WARN,
					"EBR at sector %" PRIu64
					" holds more than one logical partition",
					this);
			p = add_part(pt);
			if (!p) {
				finding(pt, BS_SEV_ERROR,
					"more than %u partitions; the rest is ignored",
					BS_PT_MAX_PARTS);
				goto out;
			}
			have_data = true;
			nlogical++;
			p->num = next++;
			p->logical = true;
			p->type = e[4];
			p->boot = e[0] == 0x80;
			p->start = this + rel;
			p->size = size;
			if (rel == 0)
				finding(pt, BS_SEV_ERROR,
					"logical partition %u starts on its own EBR (sector "
					"%" PRIu64 ")",
					p->num, this);
			if (p->start < ext->start || p->start + p->size > ext_end)
				finding(pt, BS_SEV_ERROR,
					"logical partition %u (sectors %" PRIu64 "-%" PRIu64
					") is not inside extended partition %u",
					p->num, p->start, p->start + p->size - 1, ext->num);
			check_bounds(pt, p);
		}
		for (i = 0, e = buf + MBR_PART_OFF; i < 4; i++, e += 16)
			if (bs_le32(e + 12) && is_extended(e[4]))
				break;
		if (i == 4)
			break;
		this = ext->start + bs_le32(e + 8);
		if (this >= ext_end) {
			finding(pt, BS_SEV_ERROR,
				"EBR link to sector %" PRIu64
				" points outside extended partition %u",
				this, ext->num);
			break;
		}
	}
out:
	free(buf);
	return ret;
}

static int parse_mbr(struct bs_reader *r, struct bs_ptable *pt, const unsigned char *mbr,
		     bool *protective)
{
	const struct bs_part *ext = NULL;
	const unsigned char *e;
	unsigned int i, nee = 0, nother = 0;

	*protective = false;
	for (i = 0, e = mbr + MBR_PART_OFF; i < 4; i++, e += 16) {
		if (e[0] != 0 && e[0] != 0x80) {
			finding(pt, BS_SEV_ERROR,
				"sector 0 has the 0x55AA signature but entry %u has boot indicator "
				"0x%02x: not an MBR",
				i + 1, e[0]);
			return 0;
		}
	}
	pt->label = BS_PT_DOS;
	pt->mbr_id = bs_le32(mbr + MBR_ID_OFF);
	for (i = 0, e = mbr + MBR_PART_OFF; i < 4; i++, e += 16) {
		struct bs_part *p;

		if (!bs_le32(e + 12))
			continue;
		p = add_part(pt);
		p->num = i + 1;
		p->boot = e[0] == 0x80;
		p->type = e[4];
		p->start = bs_le32(e + 8);
		p->size = bs_le32(e + 12);
		p->extended = is_extended(p->type);
		if (p->type == 0xee)
			nee++;
		else
			nother++;
		if (p->type == 0)
			finding(pt, BS_SEV_WARN, "partition %u has type 0 (empty) but a size",
				p->num);
		if (p->type != 0xee)
			check_bounds(pt, p);
		if (p->extended) {
			if (ext)
				finding(pt, BS_SEV_WARN,
					"more than one extended partition; only the chain of "
					"partition %u is followed",
					ext->num);
			else
				ext = p;
		}
	}
	if (nee) {
		*protective = true;
		if (nee > 1)
			finding(pt, BS_SEV_WARN, "MBR has %u protective (0xEE) entries", nee);
		if (nother) {
			pt->gpt.hybrid = true;
			finding(pt, BS_SEV_WARN,
				"hybrid MBR: the protective 0xEE entry shares the MBR with %u "
				"other partition(s)",
				nother);
		}
		return 0;
	}
	if (ext && read_ebr_chain(r, pt, ext))
		return -1;
	return 0;
}

/* Check the protective MBR entry (called once the GPT has been found). */
static void check_protective(struct bs_ptable *pt, const unsigned char *mbr)
{
	const unsigned char *e = mbr + MBR_PART_OFF;
	unsigned int i;

	for (i = 0; i < 4; i++, e += 16) {
		uint64_t start = bs_le32(e + 8), size = bs_le32(e + 12), want;

		if (e[4] != 0xee)
			continue;
		if (start != 1)
			finding(pt, BS_SEV_WARN,
				"protective MBR entry starts at sector %" PRIu64 ", not 1", start);
		if (!pt->disk_sectors)
			continue;
		want = pt->disk_sectors - 1 > 0xffffffffu ? 0xffffffffu : pt->disk_sectors - 1;
		if (size != want)
			finding(pt, BS_SEV_INFO,
				"protective MBR covers %" PRIu64 " sectors, the disk has %" PRIu64
				" after sector 0",
				size, pt->disk_sectors - 1);
	}
}

int bs_gpt_header_check(const unsigned char *buf, size_t len, uint32_t sector_size, uint64_t lba,
			struct bs_gpt_header *h, char *why, size_t whylen)
{
	static const unsigned char zero_crc[4];
	uint32_t hsize, crc;
	uint64_t bytes;

	memset(h, 0, sizeof(*h));
	if (len < 8 || memcmp(buf, GPT_SIG, 8)) {
		snprintf(why, whylen, "no \"EFI PART\" signature at sector %" PRIu64, lba);
		return 0;
	}
	hsize = len >= GPT_HDR_MIN ? bs_le32(buf + 12) : 0;
	if (hsize < GPT_HDR_MIN || hsize > sector_size || hsize > len) {
		snprintf(why, whylen, "header size %" PRIu32 " at sector %" PRIu64 " is invalid",
			 hsize, lba);
		return 0;
	}
	/* the CRC32 of the header with its own CRC field taken as zero */
	crc = (uint32_t)crc32(0, buf, 16);
	crc = (uint32_t)crc32(crc, zero_crc, 4);
	crc = (uint32_t)crc32(crc, buf + 20, hsize - 20);
	if (crc != bs_le32(buf + 16)) {
		snprintf(why, whylen, "header CRC32 mismatch at sector %" PRIu64, lba);
		return 0;
	}
	h->current_lba = bs_le64(buf + 24);
	h->alternate_lba = bs_le64(buf + 32);
	h->first_usable = bs_le64(buf + 40);
	h->last_usable = bs_le64(buf + 48);
	memcpy(h->disk_guid, buf + 56, 16);
	h->entries_lba = bs_le64(buf + 72);
	h->nentries = bs_le32(buf + 80);
	h->entry_size = bs_le32(buf + 84);
	h->array_crc = bs_le32(buf + 88);
	if (h->current_lba != lba) {
		snprintf(why, whylen, "header at sector %" PRIu64 " says it is at sector %" PRIu64,
			 lba, h->current_lba);
		return 0;
	}
	if (h->first_usable > h->last_usable) {
		snprintf(why, whylen, "first usable sector %" PRIu64 " is after the last %" PRIu64,
			 h->first_usable, h->last_usable);
		return 0;
	}
	/* UEFI: entries of 128 x 2^n bytes */
	if (h->entry_size < GPT_ENTRY_MIN || (h->entry_size & (h->entry_size - 1))) {
		snprintf(why, whylen, "entry size %" PRIu32 " is not a power of two >= 128",
			 h->entry_size);
		return 1;
	}
	if (h->nentries == 0) {
		snprintf(why, whylen, "the entry array is empty (0 entries)");
		return 1;
	}
	bytes = (uint64_t)h->nentries * h->entry_size;
	if (bytes > BS_GPT_MAX_ARRAY) {
		snprintf(why, whylen,
			 "the entry array (%" PRIu32 " entries of %" PRIu32
			 " bytes) is larger than %u MiB",
			 h->nentries, h->entry_size, BS_GPT_MAX_ARRAY >> 20);
		return 1;
	}
	if (h->entries_lba > (UINT64_MAX - bytes) / sector_size) {
		snprintf(why, whylen, "entry array sector %" PRIu64 " is out of range",
			 h->entries_lba);
		return 1;
	}
	/* the array overlaps neither the MBR nor its own header */
	if (h->entries_lba == 0 ||
	    (h->entries_lba <= lba &&
	     lba < h->entries_lba + (bytes + sector_size - 1) / sector_size)) {
		snprintf(why, whylen,
			 "entry array at sector %" PRIu64
			 " overlaps the MBR or the header at sector %" PRIu64,
			 h->entries_lba, lba);
		return 1;
	}
	return 2;
}

uint64_t bs_gpt_array_bytes(const struct bs_gpt_header *h)
{
	return (uint64_t)h->nentries * h->entry_size;
}

bool bs_gpt_array_ok(const struct bs_gpt_header *h, const unsigned char *array)
{
	return (uint32_t)crc32(0, array, (uInt)bs_gpt_array_bytes(h)) == h->array_crc;
}

/* Read and check the GPT header at @lba and its entry array. */
static int load_gpt(struct bs_reader *r, struct bs_ptable *pt, uint64_t lba, struct gpt_hdr *h)
{
	unsigned char *buf = malloc(pt->sector_size);
	uint64_t bytes;
	ssize_t n;
	int rc;

	memset(h, 0, sizeof(*h));
	h->lba = lba;
	if (!buf)
		return -1;
	rc = read_sector(r, pt, lba, buf);
	if (rc <= 0) {
		snprintf(h->why, sizeof(h->why),
			 "sector %" PRIu64 " lies beyond the end of the data", lba);
		free(buf);
		return rc;
	}
	rc = bs_gpt_header_check(buf, pt->sector_size, pt->sector_size, lba, &h->hdr, h->why,
				 sizeof(h->why));
	h->header_ok = rc >= 1;
	if (rc < 2)
		goto out;
	bytes = bs_gpt_array_bytes(&h->hdr);
	h->array = malloc(bytes);
	if (!h->array) {
		free(buf);
		return -1;
	}
	n = bs_reader_pread(r, h->array, bytes, h->hdr.entries_lba * pt->sector_size);
	if (n < 0) {
		free(buf);
		return -1;
	}
	if ((uint64_t)n != bytes) {
		snprintf(h->why, sizeof(h->why),
			 "entry array at sector %" PRIu64 " lies beyond the end of the data",
			 h->hdr.entries_lba);
		free(h->array);
		h->array = NULL;
		goto out;
	}
	if (!bs_gpt_array_ok(&h->hdr, h->array)) {
		snprintf(h->why, sizeof(h->why),
			 "entry array CRC32 mismatch (header at sector %" PRIu64 ")", lba);
		goto out;
	}
	h->array_ok = true;
out:
	free(buf);
	return 0;
}

void bs_utf16le_to_utf8(const unsigned char *p, size_t units, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < units; i++) {
		uint32_t c = bs_le16(p + 2 * i);

		if (!c)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
			uint32_t lo = bs_le16(p + 2 * i + 2);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		}
		if (c < 0x80 && o + 1 < outlen) {
			out[o++] = (char)c;
		} else if (c < 0x800 && o + 2 < outlen) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000 && o + 3 < outlen) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c >= 0x10000 && o + 4 < outlen) {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | (c >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (c >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			break;
		}
	}
	out[o] = 0;
}

static void gpt_entries(struct bs_ptable *pt, const struct gpt_hdr *h)
{
	static const uint8_t zero[16];
	uint32_t i;

	for (i = 0; i < h->hdr.nentries; i++) {
		const unsigned char *e = h->array + (size_t)i * h->hdr.entry_size;
		uint64_t first = bs_le64(e + 32), last = bs_le64(e + 40);
		struct bs_part *p;

		if (!memcmp(e, zero, 16))
			continue;
		p = add_part(pt);
		if (!p) {
			finding(pt, BS_SEV_ERROR,
				"more than %u GPT partitions; the rest is ignored",
				BS_PT_MAX_PARTS);
			return;
		}
		p->num = i + 1;
		memcpy(p->type_guid, e, 16);
		memcpy(p->uuid, e + 16, 16);
		p->attrs = bs_le64(e + 48);
		p->start = first;
		p->size = last >= first ? last - first + 1 : 0;
		bs_utf16le_to_utf8(e + 56, 36, p->name, sizeof(p->name));
		if (last < first) {
			finding(pt, BS_SEV_ERROR,
				"GPT partition %u ends (%" PRIu64 ") before it starts (%" PRIu64
				")",
				p->num, last, first);
			continue;
		}
		if (first < h->hdr.first_usable || last > h->hdr.last_usable)
			finding(pt, BS_SEV_ERROR,
				"GPT partition %u (sectors %" PRIu64 "-%" PRIu64
				") is outside the usable area %" PRIu64 "-%" PRIu64,
				p->num, first, last, h->hdr.first_usable, h->hdr.last_usable);
		check_bounds(pt, p);
	}
}

/* Compare the backup header with the primary one. */
static void check_backup(struct bs_reader *r, struct bs_ptable *pt, const struct gpt_hdr *pri)
{
	struct gpt_hdr b;
	uint64_t last = pt->disk_sectors - 1;

	if (pri->hdr.alternate_lba != last)
		finding(pt, BS_SEV_WARN,
			"the backup GPT header is at sector %" PRIu64
			", not at the last sector %" PRIu64,
			pri->hdr.alternate_lba, last);
	if (pri->hdr.alternate_lba > last) {
		finding(pt, BS_SEV_ERROR,
			"the backup GPT header (sector %" PRIu64 ") is past the end of the disk",
			pri->hdr.alternate_lba);
		pt->gpt.backup_checked = true;
		return;
	}
	if (load_gpt(r, pt, pri->hdr.alternate_lba, &b) < 0)
		return;
	pt->gpt.backup_checked = true;
	if (!b.header_ok || !b.array_ok) {
		finding(pt, BS_SEV_ERROR, "backup GPT is invalid: %s", b.why);
	} else if (b.hdr.alternate_lba != pri->hdr.current_lba ||
		   memcmp(b.hdr.disk_guid, pri->hdr.disk_guid, 16) ||
		   b.hdr.first_usable != pri->hdr.first_usable ||
		   b.hdr.last_usable != pri->hdr.last_usable ||
		   b.hdr.nentries != pri->hdr.nentries || b.hdr.entry_size != pri->hdr.entry_size ||
		   b.hdr.array_crc != pri->hdr.array_crc) {
		finding(pt, BS_SEV_ERROR, "backup GPT header does not match the primary header");
	} else {
		pt->gpt.backup_ok = true;
	}
	free(b.array);
}

static int parse_gpt(struct bs_reader *r, struct bs_ptable *pt, const unsigned char *mbr)
{
	struct gpt_hdr pri, bak;
	const struct gpt_hdr *use = NULL;
	int ret = 0;

	memset(&bak, 0, sizeof(bak));
	pt->nparts = 0; /* the 0xEE entries were only the MBR's view */
	if (load_gpt(r, pt, 1, &pri) < 0)
		return -1;
	if (pri.header_ok && pri.array_ok) {
		use = &pri;
	} else {
		/* as Linux does: an unusable primary sends us to the backup */
		uint64_t alt = pri.header_ok	  ? pri.hdr.alternate_lba
			       : pt->disk_sectors ? pt->disk_sectors - 1
						  : 0;

		if (pri.header_ok)
			finding(pt, BS_SEV_ERROR, "primary GPT: %s", pri.why);
		else
			finding(pt, BS_SEV_ERROR, "primary GPT header is invalid: %s", pri.why);
		if (alt > 1 && load_gpt(r, pt, alt, &bak) < 0) {
			ret = -1;
			goto out;
		}
		if (alt > 1 && bak.header_ok && bak.array_ok) {
			use = &bak;
			pt->gpt.used_backup = true;
			finding(pt, BS_SEV_ERROR, "using the backup GPT at sector %" PRIu64, alt);
		} else if (pri.header_ok) {
			use = &pri;
			if (alt > 1)
				finding(pt, BS_SEV_ERROR, "backup GPT is not usable either: %s",
					bak.why);
		} else if (alt > 1 && bak.header_ok) {
			use = &bak;
			pt->gpt.used_backup = true;
			finding(pt, BS_SEV_ERROR, "backup GPT: %s", bak.why);
		} else if (alt > 1) {
			finding(pt, BS_SEV_ERROR, "backup GPT header is invalid too: %s", bak.why);
		}
	}
	pt->label = BS_PT_GPT;
	check_protective(pt, mbr);
	if (!use)
		goto out;
	pt->gpt.current_lba = use->hdr.current_lba;
	pt->gpt.alternate_lba = use->hdr.alternate_lba;
	pt->gpt.first_usable = use->hdr.first_usable;
	pt->gpt.last_usable = use->hdr.last_usable;
	pt->gpt.entries_lba = use->hdr.entries_lba;
	pt->gpt.nentries = use->hdr.nentries;
	pt->gpt.entry_size = use->hdr.entry_size;
	pt->gpt.header_crc_ok = true;
	pt->gpt.array_crc_ok = use->array_ok;
	memcpy(pt->disk_guid, use->hdr.disk_guid, 16);
	if (pt->disk_sectors && use->hdr.last_usable >= pt->disk_sectors)
		finding(pt, BS_SEV_ERROR,
			"GPT last usable sector %" PRIu64 " is past the end of the disk",
			use->hdr.last_usable);
	if (use->array)
		gpt_entries(pt, use);
	if (use == &pri && pt->disk_sectors)
		check_backup(r, pt, &pri);
out:
	free(pri.array);
	free(bak.array);
	return ret;
}

static int probe(struct bs_reader *r, struct bs_ptable *pt)
{
	unsigned char *mbr = malloc(pt->sector_size);
	bool protective = false;
	int rc, ret = 0;

	if (!mbr)
		return -1;
	rc = read_sector(r, pt, 0, mbr);
	if (rc <= 0) {
		if (rc == 0)
			finding(pt, BS_SEV_ERROR, "the data is shorter than one sector");
		free(mbr);
		return rc;
	}
	if (mbr[MBR_SIG_OFF] != 0x55 || mbr[MBR_SIG_OFF + 1] != 0xaa) {
		bool zero = true;
		size_t i;

		for (i = 0; i < pt->sector_size && zero; i++)
			zero = !mbr[i];
		finding(pt, BS_SEV_ERROR, "no partition table: sector 0 %s",
			zero ? "is all zeros" : "has no 0x55AA boot signature");
		if (read_sector(r, pt, 1, mbr) == 1 && !memcmp(mbr, GPT_SIG, 8))
			finding(pt, BS_SEV_ERROR,
				"a GPT header is at sector 1 but there is no protective MBR: Linux "
				"and fdisk ignore it");
		goto out;
	}
	ret = parse_mbr(r, pt, mbr, &protective);
	if (!ret && protective)
		ret = parse_gpt(r, pt, mbr);
	if (!ret && pt->label != BS_PT_NONE)
		check_overlaps(pt);
out:
	free(mbr);
	return ret;
}

struct bs_ptable *bs_ptable_read(struct bs_reader *r, unsigned int flags, char *err, size_t errlen)
{
	struct bs_ptable *pt = calloc(1, sizeof(*pt));
	int64_t size = 0;

	if (!pt) {
		snprintf(err, errlen, "Unable to read the partition table of %s: out of memory",
			 bs_reader_name(r));
		return NULL;
	}
	pt->sector_size = bs_reader_sector_size(r);
	if (!(flags & BS_PT_NO_SIZE))
		size = bs_reader_size_full(r);
	if (size < 0) {
		snprintf(err, errlen, "Unable to read the partition table of %s: %s",
			 bs_reader_name(r), bs_reader_error(r));
		free(pt);
		return NULL;
	}
	pt->disk_sectors = (uint64_t)size / pt->sector_size;
	pt->disk_bytes = flags & BS_PT_NO_SIZE ? -1 : size;
	if ((uint64_t)size % pt->sector_size)
		finding(pt, BS_SEV_INFO,
			"the size (%" PRId64 " bytes) is not a multiple of the %" PRIu32
			"-byte sector",
			size, pt->sector_size);
	if (probe(r, pt)) {
		snprintf(err, errlen, "Unable to read the partition table of %s: %s",
			 bs_reader_name(r), bs_reader_error(r));
		free(pt);
		return NULL;
	}
	return pt;
}

bool bs_ptable_valid(const struct bs_ptable *pt)
{
	if (pt->label == BS_PT_NONE || pt->nparts == 0)
		return false;
	if (pt->label == BS_PT_GPT)
		return pt->gpt.header_crc_ok && pt->gpt.array_crc_ok && !pt->gpt.used_backup;
	return true;
}

const char *bs_ptable_why_invalid(const struct bs_ptable *pt)
{
	size_t i;

	if (bs_ptable_valid(pt))
		return NULL;
	/* the first error is the cause: parsing stops or falls back there */
	for (i = 0; i < pt->nfindings; i++)
		if (pt->findings[i].sev == BS_SEV_ERROR)
			return pt->findings[i].msg;
	if (pt->label == BS_PT_NONE)
		return "no MBR or GPT signature";
	return "no partitions";
}

static int differ(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int differ(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return 1;
}

static int compare_part(const struct bs_part *d, const struct bs_part *i, char *msg, size_t len)
{
	char a[37], b[37];

	if (d->num != i->num)
		return differ(msg, len, "partition %u on the device, partition %u in the image",
			      d->num, i->num);
	if (d->start != i->start)
		return differ(msg, len,
			      "partition %u: start %" PRIu64 " on the device, %" PRIu64
			      " in the image",
			      d->num, d->start, i->start);
	if (d->size != i->size)
		return differ(msg, len,
			      "partition %u: %" PRIu64 " sectors on the device, %" PRIu64
			      " in the image",
			      d->num, d->size, i->size);
	if (d->type != i->type)
		return differ(msg, len,
			      "partition %u: type 0x%02x on the device, 0x%02x in the image",
			      d->num, d->type, i->type);
	if (d->boot != i->boot)
		return differ(msg, len, "partition %u: boot flag %s on the device, %s in the image",
			      d->num, d->boot ? "set" : "clear", i->boot ? "set" : "clear");
	if (memcmp(d->type_guid, i->type_guid, 16)) {
		bs_guid_str(d->type_guid, a);
		bs_guid_str(i->type_guid, b);
		return differ(msg, len, "partition %u: type %s on the device, %s in the image",
			      d->num, a, b);
	}
	if (memcmp(d->uuid, i->uuid, 16)) {
		bs_guid_str(d->uuid, a);
		bs_guid_str(i->uuid, b);
		return differ(msg, len, "partition %u: UUID %s on the device, %s in the image",
			      d->num, a, b);
	}
	if (d->attrs != i->attrs || strcmp(d->name, i->name))
		return differ(msg, len, "partition %u: name or attributes differ", d->num);
	return 0;
}

int bs_ptable_compare(const struct bs_ptable *dev, const struct bs_ptable *img, char *msg,
		      size_t msglen)
{
	char a[37], b[37];
	size_t i;

	if (dev->label != img->label)
		return differ(msg, msglen, "partition table: %s on the device, %s in the image",
			      bs_label_name(dev->label), bs_label_name(img->label));
	if (dev->label == BS_PT_DOS && dev->mbr_id != img->mbr_id)
		return differ(msg, msglen,
			      "disk identifier: 0x%08" PRIx32 " on the device, 0x%08" PRIx32
			      " in the image",
			      dev->mbr_id, img->mbr_id);
	if (dev->label == BS_PT_GPT && memcmp(dev->disk_guid, img->disk_guid, 16)) {
		bs_guid_str(dev->disk_guid, a);
		bs_guid_str(img->disk_guid, b);
		return differ(msg, msglen, "disk GUID: %s on the device, %s in the image", a, b);
	}
	if (dev->label == BS_PT_GPT && (dev->gpt.header_crc_ok != img->gpt.header_crc_ok ||
					dev->gpt.array_crc_ok != img->gpt.array_crc_ok ||
					dev->gpt.used_backup != img->gpt.used_backup))
		return differ(msg, msglen,
			      "GPT: primary header or entry array valid on one side only");
	if (dev->label == BS_PT_GPT && (dev->gpt.first_usable != img->gpt.first_usable ||
					dev->gpt.last_usable != img->gpt.last_usable))
		return differ(msg, msglen,
			      "GPT usable area: %" PRIu64 "-%" PRIu64 " on the device, %" PRIu64
			      "-%" PRIu64 " in the image",
			      dev->gpt.first_usable, dev->gpt.last_usable, img->gpt.first_usable,
			      img->gpt.last_usable);
	for (i = 0; i < dev->nparts && i < img->nparts; i++)
		if (compare_part(&dev->parts[i], &img->parts[i], msg, msglen))
			return 1;
	if (dev->nparts != img->nparts)
		return differ(msg, msglen, "%zu partitions on the device, %zu in the image",
			      dev->nparts, img->nparts);
	return 0;
}

static int width_u64(uint64_t v)
{
	int w = 1;

	while (v >= 10) {
		v /= 10;
		w++;
	}
	return w;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

void bs_ptable_print(const struct bs_ptable *pt, const char *devname, FILE *f)
{
	int wn = 6, ws = 5, we = 3, wc = 7, wz = 4;
	uint64_t bytes = pt->disk_sectors * pt->sector_size;
	char node[300], sz[32], guid[37];
	size_t i;

	bs_size_str(bytes, sz, sizeof(sz));
	if (bytes < 1024)
		snprintf(sz, sizeof(sz), "%" PRIu64 " B", bytes);
	else
		snprintf(sz + strlen(sz) - 1, 5, " %ciB", sz[strlen(sz) - 1]);
	if (pt->disk_bytes < 0)
		fprintf(f, "Disk %s: size unknown (read as a stream)\n", devname);
	else if (!pt->disk_sectors)
		fprintf(f, "Disk %s: %" PRId64 " bytes, less than one %" PRIu32 "-byte sector\n",
			devname, pt->disk_bytes, pt->sector_size);
	else
		fprintf(f, "Disk %s: %s, %" PRIu64 " bytes, %" PRIu64 " sectors\n", devname, sz,
			bytes, pt->disk_sectors);
	fprintf(f, "Units: sectors of 1 * %" PRIu32 " = %" PRIu32 " bytes\n", pt->sector_size,
		pt->sector_size);
	fprintf(f, "Disklabel type: %s\n", bs_label_name(pt->label));
	if (pt->label == BS_PT_DOS) {
		fprintf(f, "Disk identifier: 0x%08" PRIx32 "\n", pt->mbr_id);
	} else if (pt->label == BS_PT_GPT) {
		bs_guid_str(pt->disk_guid, guid);
		fprintf(f, "Disk identifier: %s\n", guid);
		if (pt->gpt.header_crc_ok)
			fprintf(f,
				"First usable sector: %" PRIu64 ", last usable sector: %" PRIu64
				"\n"
				"Alternative LBA: %" PRIu64
				"\nPartition entries starting LBA: %" PRIu64 "\n"
				"Allocated partition entries: %" PRIu32 "\n",
				pt->gpt.first_usable, pt->gpt.last_usable, pt->gpt.alternate_lba,
				pt->gpt.entries_lba, pt->gpt.nentries);
	}
	for (i = 0; i < pt->nparts; i++) {
		const struct bs_part *p = &pt->parts[i];

		bs_part_node(devname, p->num, node, sizeof(node));
		bs_size_str(p->size * pt->sector_size, sz, sizeof(sz));
		wn = imax(wn, (int)strlen(node));
		ws = imax(ws, width_u64(p->start));
		we = imax(we, width_u64(p->size ? p->start + p->size - 1 : p->start));
		wc = imax(wc, width_u64(p->size));
		wz = imax(wz, (int)strlen(sz));
	}
	if (pt->nparts) {
		fputc('\n', f);
		if (pt->label == BS_PT_DOS)
			fprintf(f, "%-*s Boot %*s %*s %*s %*s Id Type\n", wn, "Device", ws, "Start",
				we, "End", wc, "Sectors", wz, "Size");
		else
			fprintf(f, "%-*s %*s %*s %*s %*s Type\n", wn, "Device", ws, "Start", we,
				"End", wc, "Sectors", wz, "Size");
	}
	for (i = 0; i < pt->nparts; i++) {
		const struct bs_part *p = &pt->parts[i];
		uint64_t end = p->size ? p->start + p->size - 1 : p->start;

		bs_part_node(devname, p->num, node, sizeof(node));
		bs_size_str(p->size * pt->sector_size, sz, sizeof(sz));
		if (pt->label == BS_PT_DOS)
			fprintf(f, "%-*s %-4s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " %*s %2x %s\n",
				wn, node, p->boot ? "*" : "", ws, p->start, we, end, wc, p->size,
				wz, sz, p->type, bs_mbr_type_name(p->type));
		else
			fprintf(f, "%-*s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " %*s %s\n", wn, node,
				ws, p->start, we, end, wc, p->size, wz, sz,
				bs_gpt_type_name(p->type_guid));
	}
	if (pt->nfindings) {
		fputc('\n', f);
		fprintf(f, "Partition table findings:\n");
	}
	for (i = 0; i < pt->nfindings; i++)
		fprintf(f, "  %s: %s\n", bs_severity_name(pt->findings[i].sev),
			pt->findings[i].msg);
	if (pt->dropped_findings)
		fprintf(f, "  (%zu more findings not shown)\n", pt->dropped_findings);
}

/*
 * GPT attribute bits as sfdisk --json prints them: "RequiredPartition
 * NoBlockIOProtocol LegacyBIOSBootable GUID:48,63" (bits 3-47 have no name
 * and are left out, as sfdisk does). Empty when no named bit is set.
 */
void bs_gpt_attrs_str(uint64_t attrs, char *buf, size_t len)
{
	static const char *const names[] = {"RequiredPartition", "NoBlockIOProtocol",
					    "LegacyBIOSBootable"};
	size_t used = 0;
	bool guid = false;
	int b;

	buf[0] = '\0';
	for (b = 0; b < 64; b++) {
		int n;

		if (!(attrs >> b & 1) || (b > 2 && b < 48))
			continue;
		if (b < 3)
			n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[b]);
		else
			n = snprintf(buf + used, len - used, "%s%d",
				     guid   ? ","
				     : used ? " GUID:"
					    : "GUID:",
				     b);
		if (b >= 48)
			guid = true;
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}
