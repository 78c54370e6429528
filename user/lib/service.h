/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIPs, backends and overrides as an operator sees them, on top of the raw
 * maps: id allocation, duplicate checks, and each change done in the order
 * that keeps the data plane consistent at every step. Callers validate and
 * lock; these functions do not print.
 */
#ifndef XDPSPLIT_SERVICE_H
#define XDPSPLIT_SERVICE_H

#include "dataplane.h"

struct xs_vip_entry {
	struct xs_vip_key key;
	struct xs_vip vip;
	struct xs_route route; /* routes[vip.route_id], its tag apart */
	__u8 route_tag;	       /* the tag it had when read */
};

/* All VIPs, sorted by id; *count set. Caller frees. */
struct xs_vip_entry *xs_vip_all(const struct xs_dataplane *dp, size_t *count);
int xs_vip_lookup(const struct xs_dataplane *dp, const struct xs_vip_key *key,
		  struct xs_vip_entry *entry);
/* -EEXIST if the VIP exists, -ENOSPC if max_vips are in use. With share,
 * the new VIP joins that VIP's service: it splits by its route entry
 * (-ENOENT if share does not exist, -EINVAL if share itself shares
 * another's); otherwise it gets a route of its own, 100% blue. */
int xs_vip_create(struct xs_dataplane *dp, const struct xs_vip_key *key,
		  __u8 mode, __u8 split_key, const struct xs_vip_key *share,
		  __u32 *vip_id);
/* Removes the VIP, its backends, tables and overrides; -EBUSY while other
 * VIPs share its route (they go first). */
int xs_vip_remove(struct xs_dataplane *dp, const struct xs_vip_key *key);
/* The VIPs splitting by route_id (its service), sorted by id. Caller
 * frees. */
struct xs_vip_entry *xs_service_members(const struct xs_dataplane *dp,
					__u32 route_id, size_t *count);
/* A pool flushed on every VIP of the service of route_id. */
int xs_service_flush(struct xs_dataplane *dp, __u32 route_id, __u8 pool);
/* Each pool's counters summed over the VIPs of the service of route_id
 * (the VIPs are listed once for all pools). */
int xs_service_pool_stats(const struct xs_dataplane *dp, __u32 route_id,
			  struct xs_pool_stats sum[XS_POOL_COUNT]);
/* The first VIP of a VIP's service (the one whose id is its route_id). */
int xs_service_primary(const struct xs_dataplane *dp,
		       const struct xs_vip_entry *member,
		       struct xs_vip_entry *primary);
int xs_vip_set_flags(struct xs_dataplane *dp, const struct xs_vip_key *key,
		     __u16 flags);

struct xs_backend_entry {
	__u32 id;
	struct xs_backend backend;
};

/* The backends of one VIP (or all, with vip_id ~0U), sorted by pool then
 * address. Caller frees. */
struct xs_backend_entry *xs_backend_all(const struct xs_dataplane *dp,
					__u32 vip_id, size_t *count);
/* The backend of vip_id with this address, or -ENOENT. */
int xs_backend_lookup(const struct xs_dataplane *dp, __u32 vip_id,
		      const __be32 *address, struct xs_backend_entry *entry);
/* Adds an UP backend and rebuilds its pool; -EEXIST if the VIP already
 * has this address, -ENOSPC if no id is free. */
int xs_backend_create(struct xs_dataplane *dp, const struct xs_backend *b,
		      __u32 *id);
/* Takes the backend out of its pool's table, then clears it: its flows
 * are re-chosen on their next packet. */
int xs_backend_remove(struct xs_dataplane *dp, __u32 id);
/* Writes a changed backend (weight, MAC, state) in the safe order. */
int xs_backend_update(struct xs_dataplane *dp, __u32 id,
		      const struct xs_backend *updated);

struct xs_override_entry {
	__u32 vip_id;
	__be32 client[4]; /* the VIP's family */
	__u32 prefix_length;
	__u8 pool;
};

struct xs_override_entry *xs_override_all(const struct xs_dataplane *dp,
					  __u32 vip_id, size_t *count);
int xs_override_remove(struct xs_dataplane *dp, __u32 vip_id,
		       const __be32 *client, __u32 prefix_length);

#endif
