/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Partition tables: MBR (with the extended/logical EBR chain) and GPT, read
 * from a reader (reader.h) into one struct. The input is untrusted: every
 * oddity (overlaps, entries past the end, EBR loops, bad CRCs, ...) becomes
 * a finding in the table, never a crash. Logical partitions are numbered
 * 5, 6, ... in chain order, as Linux numbers them.
 */
#ifndef BOOTSEAL_PTABLE_H
#define BOOTSEAL_PTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reader.h"

#define BS_PT_MAX_PARTS	   256 /* as DISK_MAX_PARTS in Linux */
#define BS_PT_MAX_LOGICAL  128 /* EBR chain length cap */
#define BS_PT_MAX_FINDINGS 64
#define BS_GPT_MAX_ARRAY   (4u << 20) /* largest GPT entry array read */

enum bs_pt_label {
	BS_PT_NONE = 0, /* no (valid) partition table */
	BS_PT_DOS,	/* MBR, called "dos" by fdisk/sfdisk */
	BS_PT_GPT,
};

enum bs_severity {
	BS_SEV_INFO = 0,
	BS_SEV_WARN,
	BS_SEV_ERROR,
};

struct bs_finding {
	enum bs_severity sev;
	char msg[200];
};

struct bs_part {
	unsigned int num; /* 1-4 primary, 5+ logical; GPT entry index + 1 */
	uint64_t start;	  /* sectors */
	uint64_t size;	  /* sectors */
	/* MBR */
	uint8_t type;  /* MBR type byte */
	bool boot;     /* boot indicator 0x80 */
	bool extended; /* an extended container (0x05, 0x0f, 0x85) */
	bool logical;
	/* GPT */
	uint8_t type_guid[16]; /* on-disk (mixed-endian) byte order */
	uint8_t uuid[16];
	uint64_t attrs;
	char name[112]; /* UTF-8 from 36 UTF-16LE units */
};

struct bs_gpt_info {
	uint64_t current_lba, alternate_lba;
	uint64_t first_usable, last_usable;
	uint64_t entries_lba;
	uint32_t nentries, entry_size;
	bool header_crc_ok, array_crc_ok;
	bool used_backup; /* primary unusable, backup used */
	bool backup_checked, backup_ok;
	bool hybrid; /* MBR has 0xEE and other entries */
};

struct bs_ptable {
	enum bs_pt_label label;
	uint32_t sector_size;
	uint64_t disk_sectors; /* 0 = unknown */
	int64_t disk_bytes;    /* -1 = unknown (read as a stream) */
	uint32_t mbr_id;       /* MBR disk identifier */
	uint8_t disk_guid[16]; /* GPT */
	struct bs_gpt_info gpt;
	size_t nparts;
	struct bs_part parts[BS_PT_MAX_PARTS];
	size_t nfindings;
	size_t dropped_findings;
	struct bs_finding findings[BS_PT_MAX_FINDINGS];
};

/*
 * BS_PT_NO_SIZE: the reader holds only the start of the disk (e.g. the head
 * buffer of a flash): the disk size is unknown, so no bounds checks and no
 * backup GPT check. Without it, a compressed image is decoded to its end to
 * learn its size.
 */
#define BS_PT_NO_SIZE 0x1u

/*
 * Read the partition table of @r. Returns a new table (label BS_PT_NONE
 * with findings when there is none), or NULL on a read error or lack of
 * memory with a message in @err. Free with free().
 */
struct bs_ptable *bs_ptable_read(struct bs_reader *r, unsigned int flags, char *err, size_t errlen);

/* The fields of a GPT header. */
struct bs_gpt_header {
	uint64_t current_lba, alternate_lba, first_usable, last_usable, entries_lba;
	uint32_t nentries, entry_size, array_crc;
	uint8_t disk_guid[16];
};

/*
 * The one check of a GPT header, for bs_ptable_read() (and so inspect) and
 * for the head length of a flash (headlen.h). @buf holds @len bytes from
 * the start of sector @lba (sectors of @sector_size bytes). Returns 2 when
 * the header and its entry array geometry are valid, 1 when only the header
 * is, 0 when the header is not; below 2, the reason is in @why.
 *   header: "EFI PART", header size 92 to @sector_size (and at most @len),
 *           header CRC32, its own LBA is @lba, first usable <= last usable;
 *   geometry: entries of 128 x 2^n bytes (UEFI), at least one, at most
 *           BS_GPT_MAX_ARRAY bytes in all, ending below 2^64 bytes.
 * The entry array's CRC32 is checked with bs_gpt_array_ok().
 */
int bs_gpt_header_check(const unsigned char *buf, size_t len, uint32_t sector_size, uint64_t lba,
			struct bs_gpt_header *h, char *why, size_t whylen);
/* The size of the entry array of @h in bytes. */
uint64_t bs_gpt_array_bytes(const struct bs_gpt_header *h);
/* Whether the bs_gpt_array_bytes(@h) bytes at @array match the header's CRC32. */
bool bs_gpt_array_ok(const struct bs_gpt_header *h, const unsigned char *array);

/*
 * Whether @pt is a partition table the kernel and fdisk will find: a label,
 * at least one partition and, for GPT, a header and array whose CRCs match.
 */
bool bs_ptable_valid(const struct bs_ptable *pt);

/* Why bs_ptable_valid() is false ("no partition table: sector 0 is all zeros"), or NULL. */
const char *bs_ptable_why_invalid(const struct bs_ptable *pt);

/*
 * Compare the table read from a device with the image's. Returns 0 when
 * they are equal, else 1 with the first difference in @msg ("partition 2:
 * start 8192 on the device, 532480 in the image"). Sizes of the media and
 * backup GPT placement are not compared.
 */
int bs_ptable_compare(const struct bs_ptable *dev, const struct bs_ptable *img, char *msg,
		      size_t msglen);

/*
 * Print @pt like `fdisk -l` (header lines, the partition list, findings).
 * @devname names the disk ("/dev/sdb", "image.img"), partitions are named
 * after it as Linux does (sdb1, mmcblk0p1).
 */
void bs_ptable_print(const struct bs_ptable *pt, const char *devname, FILE *f);

/* Partition node name: "/dev/sdb" + 1 = "/dev/sdb1", "/dev/mmcblk0" -> "...p1". */
void bs_part_node(const char *devname, unsigned int num, char *buf, size_t len);

/* Names: "W95 FAT32 (LBA)" for 0x0c, "EFI System" for its GUID; "unknown" else. */
const char *bs_mbr_type_name(uint8_t type);
const char *bs_gpt_type_name(const uint8_t guid[16]);
/*
 * GPT attribute bits as sfdisk --json prints them: "RequiredPartition
 * NoBlockIOProtocol LegacyBIOSBootable GUID:48,63" (bits 3-47 have no name
 * and are left out, as sfdisk does); "" when no named bit is set.
 */
void bs_gpt_attrs_str(uint64_t attrs, char *buf, size_t len);
/* Canonical upper-case text form of an on-disk GUID. @buf at least 37 bytes. */
void bs_guid_str(const uint8_t guid[16], char *buf);
/* fdisk-style size: "64M", "1.5G". */
void bs_size_str(uint64_t bytes, char *buf, size_t len);
/* UTF-16LE (up to @units, stops at NUL) to NUL-terminated UTF-8. */
void bs_utf16le_to_utf8(const unsigned char *p, size_t units, char *out, size_t outlen);
const char *bs_label_name(enum bs_pt_label label);  /* "dos", "gpt", "none" */
const char *bs_severity_name(enum bs_severity sev); /* "info", "warning", "error" */

#endif /* BOOTSEAL_PTABLE_H */
