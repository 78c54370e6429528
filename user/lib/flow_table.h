/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The flow table read and cleared from userspace, with the program's own
 * hash and tags (maps/decision.h), so a key is found where the program
 * looks for it. */
#ifndef XDPSPLIT_LIB_FLOW_TABLE_H
#define XDPSPLIT_LIB_FLOW_TABLE_H

#include "dataplane.h"

/* 0 with *flow and *kind (XS_FLOW_WAY_* bits; kind may be NULL) filled,
 * -ENOENT if the table has no such flow, or -errno. */
int xs_flow_find(const struct xs_dataplane *dp, const struct xs_flow_key *key,
		 struct xs_flow *flow, __u8 *kind);

/* Takes one flow out (tests): its next packet is a new flow's. The entry
 * counters still count it. 0 or -errno (-ENOENT: not there). */
int xs_flow_remove(const struct xs_dataplane *dp,
		   const struct xs_flow_key *key);

/* Empties every bucket (tests). Not atomic: for a table no packet uses. */
int xs_flow_table_clear(const struct xs_dataplane *dp);

#endif
