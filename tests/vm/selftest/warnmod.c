// SPDX-License-Identifier: GPL-2.0
/* Harness self-test only: a module whose init WARNs, to prove a WARN fails the run. */
#include <linux/module.h>

static int __init warnmod_init(void)
{
	WARN(1, "bootseal harness self-test: deliberate warning\n");
	return 0;
}

static void __exit warnmod_exit(void)
{
}

module_init(warnmod_init);
module_exit(warnmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bootseal VM harness self-test");
