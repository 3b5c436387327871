/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The head length of a flash: how much of the start of the image the module
 * holds back and writes last (the partition table), chosen from the image's
 * table as ptable.h reads it.
 */
#ifndef BOOTSEAL_HEADLEN_H
#define BOOTSEAL_HEADLEN_H

#include <stddef.h>
#include <stdint.h>

enum bs_head_kind { BS_HEAD_NONE = 0, BS_HEAD_MBR, BS_HEAD_GPT };

/*
 * Decide how many bytes to hold back, from the first @len bytes of the image
 * in @buf: one logical block for MBR images (and images without a table); up
 * to the end of the primary GPT entry array for GPT images (512- or
 * 4096-byte sectors). The header is checked by bs_gpt_header_check(), as
 * inspect checks it, and the entry array's CRC32 when the array lies within
 * @len. The result is rounded up to @lbs and capped at @max_head (0 = no
 * cap). @kind says what was found; @note (may be NULL) explains a fallback
 * or cap. Returns the head length in bytes.
 */
uint64_t bs_head_auto(const void *buf, size_t len, uint32_t lbs, uint64_t max_head,
		      enum bs_head_kind *kind, char *note, size_t notelen);

/* The module's max_head_len parameter from sysfs; 0 when unknown. */
uint64_t bs_module_max_head(void);

#endif /* BOOTSEAL_HEADLEN_H */
