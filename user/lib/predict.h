/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane will do with a new flow right now, computed from the
 * pinned maps with the same decision code the XDP program runs.
 */
#ifndef XDPSPLIT_PREDICT_H
#define XDPSPLIT_PREDICT_H

#include "dataplane.h"

struct xs_prediction {
	struct xs_route route;
	__u32 split_point; /* where the split hash fell in [0, 10000) */
	__u32 slot;	   /* Maglev slot */
	__u32 backend_id;  /* 0: no usable backend, the packet is dropped */
	__u8 chosen_pool;  /* by override or weights */
	__u8 pool;	   /* after a fallback to the live pool */
	__u8 by_override;
	__u8 fell_back;
};

/* 0, or -EINVAL if the VIP's route is invalid (the program passes). */
int xs_predict(const struct xs_dataplane *dp, const struct xs_vip *vip,
	       const struct xs_flow_key *key, struct xs_prediction *out);

/*
 * The same decision for many keys (a walk of the whole flow table): the
 * backends and each pool's Maglev table are read once, when first needed,
 * instead of a few system calls per key; routes are read from their
 * mapping and overrides looked up as xs_predict does. A cache answers for
 * the maps as they were when it read them: make a new one after a change.
 * NULL if the backends cannot be read (errno) or memory is short.
 */
struct xs_predict_cache;

struct xs_predict_cache *xs_predict_cache_new(const struct xs_dataplane *dp);
void xs_predict_cache_free(struct xs_predict_cache *cache);
int xs_predict_cached(struct xs_predict_cache *cache, const struct xs_vip *vip,
		      const struct xs_flow_key *key, struct xs_prediction *out);
/* The backends map as the cache read it: max_backends entries. */
const struct xs_backend *
xs_predict_cache_backends(const struct xs_predict_cache *cache);

#endif /* XDPSPLIT_PREDICT_H */
