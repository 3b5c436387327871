/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a mapping of the image file safely: if the file shrinks while it
 * is mapped, touching the lost pages raises SIGBUS. These turn that into an
 * error return instead of killing the process.
 */
#ifndef BOOTSEAL_MAPGUARD_H
#define BOOTSEAL_MAPGUARD_H

#include <stddef.h>

/*
 * Runs @fn(@arg), which may read file mappings. Returns 0, or -1 when it
 * touched a page the file no longer has (SIGBUS); @fn was then cut short,
 * so whatever state it was updating must be thrown away.
 */
int bs_map_guarded(void (*fn)(void *arg), void *arg);

/* memcmp(@a, @b, @n) into *@res under bs_map_guarded(). */
int bs_map_memcmp(const void *a, const void *b, size_t n, int *res);

#endif /* BOOTSEAL_MAPGUARD_H */
