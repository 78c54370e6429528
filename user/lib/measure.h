/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* In-kernel health signals of a pool over a window of counters. */
#ifndef XDPSPLIT_MEASURE_H
#define XDPSPLIT_MEASURE_H

#include "maps/contract.h"
#include "rollout.h"

/* after - before, field by field (counters only grow). */
void xs_pool_stats_delta(const struct xs_pool_stats *before,
			 const struct xs_pool_stats *after,
			 struct xs_pool_stats *delta);
/* The q-quantile of a log2 histogram in nanoseconds, interpolated inside
 * its bucket; 0 for an empty one. */
double xs_latency_quantile_ns(const __u64 *buckets, double q);
/* A kernel-signal rule's value over one window of the VIP's three pools. */
struct xs_measurement xs_measure(const struct xs_rule *rule,
				 const struct xs_pool_stats *window,
				 __u8 live_pool);

#endif
