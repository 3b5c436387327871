/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-back verification: the image is read (and decompressed) once more
 * through the pump and every target is read with O_DIRECT in the same
 * pass; each target stops at its first differing byte and reports that
 * byte's offset at once. Only the image's own bytes are compared (not the
 * zero padding of an odd-sized last block); with a bmap only mapped ranges.
 */
#ifndef BOOTSEAL_VERIFY_H
#define BOOTSEAL_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "bmap.h"
#include "progress.h"

#define BS_VERIFY_NONE UINT64_MAX

struct bs_verify_target {
	struct bs_ptarget *pt; /* path, progress; failures land here */
	uint64_t mismatch;     /* out: first differing byte, or BS_VERIFY_NONE */
	int status;	       /* out: enum bs_exit */
};

/*
 * Compare @image with every target in @t. Drives @p until done (main
 * thread). Per-target results land in t[i]; an image failure fails every
 * target with BS_EXIT_IMAGE. Returns the most severe enum bs_exit.
 */
int bs_verify_targets(struct bs_progress *p, const char *image, unsigned int threads,
		      const struct bs_bmap *bmap, struct bs_verify_target *t, size_t n);

/* Most severe of two enum bs_exit values (usage > image > device > write > verify > other). */
int bs_exit_worst(int a, int b);

#endif /* BOOTSEAL_VERIFY_H */
