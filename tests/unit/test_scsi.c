// SPDX-License-Identifier: GPL-2.0
/* SCSI outcome decoding for SYNCHRONIZE CACHE and eject. */
#include <string.h>

#include "scsi.h"
#include "unit.h"

int main(void)
{
	unsigned char fixed[18] = {0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x0c, 0x02};
	unsigned char desc[8] = {0x72, 0x05, 0x20, 0x00};
	unsigned char recovered[18] = {0x70, 0, 0x01, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x18, 0x00};
	char why[160];

	/* good status, no sense */
	CHECK(bs_scsi_outcome(0, 0, 0, NULL, 0, why, sizeof(why)) == 0);
	/* a recovered error with good status, and the "sense present" driver flag */
	CHECK(bs_scsi_outcome(0, 0, 0x08, recovered, sizeof(recovered), why, sizeof(why)) == 0);
	/* CHECK CONDITION carrying RECOVERED ERROR: the command completed */
	CHECK(bs_scsi_outcome(0x02, 0, 0x08, recovered, sizeof(recovered), why, sizeof(why)) == 0);
	/* CHECK CONDITION without any sense data is a failure */
	CHECK(bs_scsi_outcome(0x02, 0, 0, NULL, 0, why, sizeof(why)) == -1);
	/* CHECK CONDITION, MEDIUM ERROR, write error (0c/02), fixed format */
	CHECK(bs_scsi_outcome(0x02, 0, 0x08, fixed, sizeof(fixed), why, sizeof(why)) == -1);
	CHECK(strstr(why, "MEDIUM ERROR") && strstr(why, "0c/02"));
	/* ILLEGAL REQUEST, invalid command opcode (20/00), descriptor format */
	CHECK(bs_scsi_outcome(0x02, 0, 0x08, desc, sizeof(desc), why, sizeof(why)) ==
	      BS_SCSI_UNSUPPORTED);
	CHECK(strstr(why, "ILLEGAL REQUEST") && strstr(why, "20/00"));
	/* transport error without sense: the device went away */
	CHECK(bs_scsi_outcome(0, 0x01, 0, NULL, 0, why, sizeof(why)) == -1);
	CHECK(strstr(why, "transport error"));
	/* a timeout reported by the driver */
	CHECK(bs_scsi_outcome(0, 0, 0x06, NULL, 0, why, sizeof(why)) == -1);
	CHECK(strstr(why, "timed out"));
	/* a short, unknown sense buffer with a bad status is still a failure */
	CHECK(bs_scsi_outcome(0x02, 0, 0, desc, 2, why, sizeof(why)) == -1);
	return unit_done();
}
