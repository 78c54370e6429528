/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The choice for a new flow: client override or weighted split to a pool,
 * then the pool's Maglev table to a backend, with a fallback to the live
 * pool when the chosen one has no usable backend. The arithmetic lives in
 * maps/decision.h so userspace can predict it.
 */
#ifndef XDPSPLIT_BPF_CHOOSE_H
#define XDPSPLIT_BPF_CHOOSE_H

#include "maps.bpf.h"
#include "stats.bpf.h"
#include "../maps/decision.h"

struct choice {
	__u32 backend_id;
	__u32 epoch;
	__u8 pool;
	struct xs_backend *backend;
};

/* One 64-bit load: the route entry as one store of userspace left it. */
static __always_inline int load_route(__u32 vip_id, struct xs_route *route)
{
	union xs_route_word word;
	__u64 *slot = bpf_map_lookup_elem(&routes, &vip_id);

	if (!slot)
		return -1;
	word.raw = *(volatile __u64 *)slot;
	*route = word.route;
	return xs_route_is_valid(route) ? 0 : -1;
}

static __always_inline __u32 pool_epoch(__u32 vip_id, __u8 pool)
{
	__u32 index = xs_pool_index(vip_id, pool);
	__u32 *epoch = bpf_map_lookup_elem(&pool_epochs, &index);

	return epoch ? *(volatile __u32 *)epoch : 0;
}

static __always_inline int override_pool(const struct xs_vip *vip,
					 const struct xs_flow_key *key,
					 __u8 *pool)
{
	struct xs_override_key lpm = {
		.prefix_len = XS_OVERRIDE_VIP_BITS +
			      (key->family == XS_FAMILY_IPV4 ? 32 : 128),
		.vip_id = bpf_htonl(vip->vip_id),
	};
	struct xs_override *found;

	if (!(vip->flags & XS_VIP_HAS_OVERRIDES))
		return 0;
	__builtin_memcpy(lpm.client, key->client, sizeof(lpm.client));
	found = bpf_map_lookup_elem(&overrides, &lpm);
	if (!found || found->pool >= XS_POOL_COUNT)
		return 0;
	*pool = found->pool;
	return 1;
}

/* The UP backend in this pool's Maglev slot, or 0 if the pool has none. */
static __always_inline __u32 maglev_backend(__u32 vip_id, __u8 pool, __u32 slot,
					    struct xs_backend **backend)
{
	__u32 index = xs_pool_index(vip_id, pool);
	struct xs_maglev_entry *entry;
	struct xs_backend *found;
	void *table;

	table = bpf_map_lookup_elem(&maglev, &index);
	if (!table)
		return 0;
	entry = bpf_map_lookup_elem(table, &slot);
	if (!entry || !entry->backend_id)
		return 0;
	found = bpf_map_lookup_elem(&backends, &entry->backend_id);
	if (!found)
		return 0;
	/* userspace takes a backend out of the table before it marks it, so
	 * this only trips in the moment between the two writes */
	if (found->state != XS_BACKEND_UP) {
		count(XS_BACKEND_NOT_UP_IN_TABLE);
		return 0;
	}
	*backend = found;
	return entry->backend_id;
}

/* Returns PARSE_OK-style 0 with *out filled, or a pass/drop reason. */
static __always_inline int choose(const struct xs_config *config,
				  const struct xs_vip *vip,
				  const struct xs_flow_key *key,
				  struct choice *out)
{
	struct xs_backend *backend = 0;
	struct xs_route route;
	__u32 slot, backend_id;
	__u8 pool;

	if (load_route(vip->route_id, &route))
		return XS_PASS_INVALID_ROUTE;
	if (!override_pool(vip, key, &pool))
		pool = xs_pool_for_point(&route, xs_split_point(xs_flow_hash(
							 key, vip->split_key,
							 config->split_seed)));

	slot = xs_maglev_slot(xs_flow_hash(key, vip->split_key,
					   config->backend_seed),
			      config->maglev_size);
	backend_id = maglev_backend(vip->vip_id, pool, slot, &backend);
	if (!backend_id) {
		struct xs_pool_stats *stats = pool_stats_of(vip->vip_id, pool);

		if (stats)
			stats->fallbacks++;
		pool = route.live_pool;
		backend_id = maglev_backend(vip->vip_id, pool, slot, &backend);
		if (!backend_id)
			return XS_DROP_NO_BACKEND;
	}
	out->backend_id = backend_id;
	out->backend = backend;
	out->pool = pool;
	out->epoch = pool_epoch(vip->vip_id, pool);
	return 0;
}

#endif /* XDPSPLIT_BPF_CHOOSE_H */
