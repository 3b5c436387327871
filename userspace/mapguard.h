/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a mapping of the image file safely: if the file shrinks while it
 * is mapped, touching the lost pages raises SIGBUS. bs_map_memcmp() turns
 * that into an error return instead of killing the process.
 */
#ifndef BOOTSEAL_MAPGUARD_H
#define BOOTSEAL_MAPGUARD_H

#include <stddef.h>

/*
 * memcmp(@a, @b, @n) into *@res, where either buffer may be a file mapping.
 * Returns 0, or -1 when a mapped page could not be read (SIGBUS).
 */
int bs_map_memcmp(const void *a, const void *b, size_t n, int *res);

#endif /* BOOTSEAL_MAPGUARD_H */
