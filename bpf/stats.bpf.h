/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counting helpers. Nothing here is ever a reason to drop. */
#ifndef XDPSPLIT_BPF_STATS_H
#define XDPSPLIT_BPF_STATS_H

#include "maps.bpf.h"
#include "../maps/decision.h"

static __always_inline void count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&global_stats, &counter);

	if (value)
		*value += 1;
}

static __always_inline struct xs_pool_stats *pool_stats_of(__u32 vip_id,
							   __u8 pool)
{
	__u32 index = xs_pool_index(vip_id, pool);

	return bpf_map_lookup_elem(&pool_stats, &index);
}

static __always_inline void count_pool_traffic(struct xs_pool_stats *stats,
					       __u32 bytes, int new_flow)
{
	if (stats) {
		stats->packets++;
		stats->bytes += bytes;
		stats->new_flows += new_flow;
	}
}

static __always_inline void count_backend_traffic(__u32 backend_id, __u32 bytes,
						  int new_flow)
{
	struct xs_backend_stats *stats =
		bpf_map_lookup_elem(&backend_stats, &backend_id);

	if (stats) {
		stats->packets++;
		stats->bytes += bytes;
		stats->new_flows += new_flow;
	}
}

/* floor(log2(x)) for x > 0, without a loop */
static __always_inline __u32 log2_u64(__u64 x)
{
	__u32 r = 0;

	if (x >> 32) {
		x >>= 32;
		r += 32;
	}
	if (x >> 16) {
		x >>= 16;
		r += 16;
	}
	if (x >> 8) {
		x >>= 8;
		r += 8;
	}
	if (x >> 4) {
		x >>= 4;
		r += 4;
	}
	if (x >> 2) {
		x >>= 2;
		r += 2;
	}
	if (x >> 1)
		r += 1;
	return r;
}

static __always_inline void record_handshake(struct xs_pool_stats *stats,
					     __u64 latency_ns)
{
	__u32 bucket = latency_ns ? log2_u64(latency_ns) : 0;

	if (bucket >= XS_LATENCY_BUCKETS)
		bucket = XS_LATENCY_BUCKETS - 1;
	stats->handshakes_completed++;
	stats->handshake_latency[bucket]++;
}

/* Every exit of the program goes through here: one reason, one verdict. */
static __always_inline int finish(__u32 reason, int action)
{
	count(reason);
	switch (action) {
	case XDP_TX:
		count(XS_VERDICT_TX);
		break;
	case XDP_REDIRECT:
		count(XS_VERDICT_REDIRECT);
		break;
	case XDP_DROP:
		count(XS_VERDICT_DROP);
		break;
	default:
		count(XS_VERDICT_PASS);
		action = XDP_PASS;
	}
	return action;
}

/* A VIP packet we could not place: dropped if it cannot be delivered at
 * all, passed if the VIP's configuration is unusable (fail open). */
static __always_inline int fail(__u32 reason)
{
	if (reason >= XS_DROP_NO_BACKEND && reason <= XS_DROP_NO_EGRESS_MAC)
		return finish(reason, XDP_DROP);
	return finish(reason, XDP_PASS);
}

#endif /* XDPSPLIT_BPF_STATS_H */
