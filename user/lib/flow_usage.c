// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "entries.h"
#include "flow_usage.h"

const char *const xs_flow_table_names[XS_FLOW_TABLE_COUNT] = {
	[XS_FLOW_TABLE_CONFIRMED] = "confirmed",
	[XS_FLOW_TABLE_PENDING] = "pending",
};

static __u64 evicted(__u64 inserted, __u64 removed, __u64 present)
{
	/* the counters are per CPU and read one after another: never negative */
	return inserted > removed + present ? inserted - removed - present : 0;
}

int xs_flow_usage_read(const struct xs_dataplane *dp,
		       struct xs_entry_counter *counter,
		       struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT])
{
	int fds[XS_FLOW_TABLE_COUNT] = {
		[XS_FLOW_TABLE_CONFIRMED] = dp->map_fd[XS_MAP_ID_FLOWS],
		[XS_FLOW_TABLE_PENDING] = dp->map_fd[XS_MAP_ID_PENDING_FLOWS],
	};
	__u64 entries[XS_FLOW_TABLE_COUNT], counters[XS_COUNTER_COUNT];
	struct xs_flow_table_usage *confirmed, *pending;
	int err;

	/* counters first: an insert seen in the count is then in the counter */
	err = xs_global_counters(dp, counters);
	if (!err)
		err = xs_map_entries(counter, fds, XS_FLOW_TABLE_COUNT, entries);
	if (err)
		return err;
	confirmed = &usage[XS_FLOW_TABLE_CONFIRMED];
	pending = &usage[XS_FLOW_TABLE_PENDING];
	confirmed->entries = entries[XS_FLOW_TABLE_CONFIRMED];
	confirmed->capacity = dp->config.max_flows;
	confirmed->evicted = evicted(counters[XS_FLOW_CONFIRMED], 0,
				     confirmed->entries);
	pending->entries = entries[XS_FLOW_TABLE_PENDING];
	pending->capacity = xs_pending_flows_capacity(dp->config.max_flows);
	pending->evicted = evicted(counters[XS_FLOW_PENDING_INSERTED],
				   counters[XS_FLOW_PENDING_REMOVED],
				   pending->entries);
	return 0;
}
