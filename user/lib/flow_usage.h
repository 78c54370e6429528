/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow table pressure: how full each table is and how many entries its LRU
 * evicted. */
#ifndef XDPSPLIT_LIB_FLOW_USAGE_H
#define XDPSPLIT_LIB_FLOW_USAGE_H

#include "dataplane.h"

enum xs_flow_table {
	XS_FLOW_TABLE_CONFIRMED, /* flows: connections past their first packet */
	XS_FLOW_TABLE_PENDING,   /* pending_flows: flows seen once */
	XS_FLOW_TABLE_COUNT,
};

extern const char *const xs_flow_table_names[XS_FLOW_TABLE_COUNT];

struct xs_flow_table_usage {
	__u64 entries;
	__u64 capacity;
	/* inserted minus removed minus present: what the LRU pushed out (an
	 * entry deleted by hand, outside the program, counts here too) */
	__u64 evicted;
};

struct xs_entry_counter;

/* counter: a loaded entry counter (entries.h), or NULL to load one now. */
int xs_flow_usage_read(const struct xs_dataplane *dp,
		       struct xs_entry_counter *counter,
		       struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT]);

#endif
