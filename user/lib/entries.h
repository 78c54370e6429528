/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How many entries maps hold, read from the kernel's own count. */
#ifndef XDPSPLIT_LIB_ENTRIES_H
#define XDPSPLIT_LIB_ENTRIES_H

#include <stddef.h>
#include <linux/types.h>

/* The counting iterator, loaded once: loading needs CAP_BPF and
 * CAP_PERFMON, reading it afterwards needs neither. */
struct xs_entry_counter;

/* NULL with errno set if the kernel lacks bpf_map_sum_elem_count (before
 * Linux 6.6) or the caller the capabilities. */
struct xs_entry_counter *xs_entry_counter_open(void);
void xs_entry_counter_close(struct xs_entry_counter *counter);

/* Fills entries[i] with the entry count of map fds[i]; 0 or -errno. A NULL
 * counter loads one for this call. */
int xs_map_entries(struct xs_entry_counter *counter, const int *fds,
		   size_t count, __u64 *entries);

#endif
