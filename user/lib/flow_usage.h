/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow table pressure: how many entries of each kind the table holds and
 * how many of them new flows replaced, from the program's own counters. */
#ifndef XDPSPLIT_LIB_FLOW_USAGE_H
#define XDPSPLIT_LIB_FLOW_USAGE_H

#include "dataplane.h"

enum xs_flow_table {
	XS_FLOW_TABLE_CONFIRMED, /* connections past their first packet */
	XS_FLOW_TABLE_PENDING,	 /* flows seen once */
	XS_FLOW_TABLE_COUNT,
};

extern const char *const xs_flow_table_names[XS_FLOW_TABLE_COUNT];

struct xs_flow_table_usage {
	__u64 entries;
	__u64 capacity; /* the whole table's ways, shared by both kinds */
	/* replaced by a new flow while open (confirmed: idle for a minute);
	 * a closed connection's entry replaced is no loss and not counted */
	__u64 evicted;
};

int xs_flow_usage_read(const struct xs_dataplane *dp,
		       struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT]);

#endif
