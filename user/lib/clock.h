/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The clock rollouts run on: CLOCK_BOOTTIME in milliseconds. It never
 * steps when the wall clock is set, keeps counting through a suspend, and
 * is the same for every process of one boot, so times a splitd recorded
 * still mean the same after it restarts. Across a reboot it starts again:
 * the boot id says which boot a recorded time belongs to. Wall-clock time
 * is for logs and the audit trail only.
 */
#ifndef XDPSPLIT_CLOCK_H
#define XDPSPLIT_CLOCK_H

#include <linux/types.h>

#define XS_BOOT_ID_SIZE 37 /* a UUID and its NUL */

__u64 xs_clock_ms(void);
/* This boot's id (/proc/sys/kernel/random/boot_id); "unknown" if unreadable,
 * which makes every recorded time count as another boot's. */
void xs_boot_id(char out[XS_BOOT_ID_SIZE]);

#endif
