/* SPDX-License-Identifier: GPL-2.0 */
/* Little-endian fields of on-disk structures (MBR, GPT, FAT), read from unaligned bytes. */
#ifndef BOOTSEAL_LE_H
#define BOOTSEAL_LE_H

#include <stdint.h>

static inline uint16_t bs_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t bs_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t bs_le64(const unsigned char *p)
{
	return (uint64_t)bs_le32(p) | (uint64_t)bs_le32(p + 4) << 32;
}

#endif /* BOOTSEAL_LE_H */
