// SPDX-License-Identifier: GPL-2.0
#include "bootseal.h"

int cmd_flash(int argc, char **argv)
{
	bs_error("Unable to run 'flash': not implemented in this build");
	return BS_EXIT_FAILURE;
}
