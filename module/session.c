// SPDX-License-Identifier: GPL-2.0
/* Sessions: one per open file description of /dev/bootseal. */
#include <linux/module.h>

#include "bootseal.h"

int bs_session_init(void)
{
	return 0;
}

void bs_session_uninit(void)
{
}
