/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BOOTSEAL_H
#define BOOTSEAL_H

#include <linux/types.h>
#include "uapi/bootseal.h"

int bs_chardev_init(void);
void bs_chardev_uninit(void);

int bs_netlink_init(void);
void bs_netlink_uninit(void);

int bs_session_init(void);
void bs_session_uninit(void);

#endif /* BOOTSEAL_H */
