/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How many entries maps hold, read from the kernel's own count. */
#ifndef XDPSPLIT_LIB_ENTRIES_H
#define XDPSPLIT_LIB_ENTRIES_H

#include <stddef.h>
#include <linux/types.h>

/* Fills entries[i] with the entry count of map fds[i]; 0 or -errno (the
 * kernel needs bpf_map_sum_elem_count, Linux 6.6 or later). */
int xs_map_entries(const int *fds, size_t count, __u64 *entries);

#endif
