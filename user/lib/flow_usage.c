// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "flow_usage.h"

const char *const xs_flow_table_names[XS_FLOW_TABLE_COUNT] = {
	[XS_FLOW_TABLE_CONFIRMED] = "confirmed",
	[XS_FLOW_TABLE_PENDING] = "pending",
};

/* added minus taken away, never negative: the per-CPU counters are read one
 * CPU after another while packets move them */
static __u64 left(__u64 added, __u64 taken)
{
	return added > taken ? added - taken : 0;
}

/* Every entry is counted in by the program as it is written (pending) and
 * moved or counted out as it is confirmed or replaced, so the counters say
 * what a walk of the whole table would, without one. */
int xs_flow_usage_read(const struct xs_dataplane *dp,
		       struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT])
{
	__u64 c[XS_COUNTER_COUNT], ways;
	int err = xs_global_counters(dp, c);

	if (err)
		return err;
	ways = (__u64)xs_flow_buckets(dp->config.max_flows) * XS_FLOW_WAYS;
	/* flows imported from other hosts (fleet/flow_share.c) come in
	 * confirmed, and the ways they took are counted as the program
	 * counts its own */
	usage[XS_FLOW_TABLE_CONFIRMED] = (struct xs_flow_table_usage){
		.entries = left(c[XS_FLOW_CONFIRMED] + c[XS_FLOW_IMPORTED],
				c[XS_FLOW_CONFIRMED_EVICTED] +
					c[XS_FLOW_CLOSED_REPLACED] +
					c[XS_FLOW_IMPORT_CONFIRMED_EVICTED] +
					c[XS_FLOW_IMPORT_CLOSED_REPLACED]),
		.capacity = ways,
		.evicted = c[XS_FLOW_CONFIRMED_EVICTED] +
			   c[XS_FLOW_IMPORT_CONFIRMED_EVICTED],
	};
	usage[XS_FLOW_TABLE_PENDING] = (struct xs_flow_table_usage){
		.entries =
			left(c[XS_FLOW_PENDING_INSERTED] +
				     c[XS_FLOW_IMPORTED_PENDING],
			     c[XS_FLOW_CONFIRMED] + c[XS_FLOW_PENDING_EVICTED] +
				     c[XS_FLOW_IMPORT_PENDING_EVICTED]),
		.capacity = ways,
		.evicted = c[XS_FLOW_PENDING_EVICTED] +
			   c[XS_FLOW_IMPORT_PENDING_EVICTED],
	};
	return 0;
}
