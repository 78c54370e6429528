// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "maps/decision.h"
#include "predict.h"

/* Where the prediction reads a pool's Maglev slot and the backend in it:
 * the maps themselves, or a cache of them read once. */
struct slot_source {
	__u32 (*slot_backend)(void *ctx, __u32 vip_id, __u8 pool, __u32 slot);
	void *ctx;
};

/* The UP backend in a pool's slot, or 0; mirrors maglev_backend(). */
static __u32 live_slot_backend(void *ctx, __u32 vip_id, __u8 pool, __u32 slot)
{
	const struct xs_dataplane *dp = ctx;
	__u32 index = xs_pool_index(vip_id, pool), inner_id, backend_id = 0;
	struct xs_backend backend;
	int inner;

	if (bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_MAGLEV], &index,
				&inner_id))
		return 0;
	inner = bpf_map_get_fd_by_id(inner_id);
	if (inner < 0)
		return 0;
	if (bpf_map_lookup_elem(inner, &slot, &backend_id))
		backend_id = 0;
	close(inner);
	if (!backend_id || xs_backend_read(dp, backend_id, &backend) ||
	    backend.state != XS_BACKEND_UP)
		return 0;
	return backend_id;
}

/* choose() of bpf/choose.bpf.h, step by step */
static int predict_from(const struct xs_dataplane *dp,
			const struct slot_source *source,
			const struct xs_vip *vip, const struct xs_flow_key *key,
			struct xs_prediction *out)
{
	const struct xs_config *config = &dp->config;
	int err;

	memset(out, 0, sizeof(*out));
	err = xs_route_read(dp, vip->route_id, &out->route);
	if (err)
		return err;
	if (!xs_route_is_valid(&out->route))
		return -EINVAL;

	out->split_point = xs_split_point(
		xs_flow_hash(key, vip->split_key, config->split_seed));
	if ((vip->flags & XS_VIP_HAS_OVERRIDES) &&
	    !xs_override_lookup(dp, vip->vip_id, key->family, key->client,
				&out->chosen_pool) &&
	    out->chosen_pool < XS_POOL_COUNT)
		out->by_override = 1;
	else
		out->chosen_pool =
			xs_pool_for_point(&out->route, out->split_point);

	out->slot = xs_maglev_slot(xs_flow_hash(key, vip->split_key,
						config->backend_seed),
				   config->maglev_size);
	out->pool = out->chosen_pool;
	out->backend_id = source->slot_backend(source->ctx, vip->vip_id,
					       out->pool, out->slot);
	if (!out->backend_id) {
		out->fell_back = 1;
		out->pool = out->route.live_pool;
		out->backend_id = source->slot_backend(source->ctx, vip->vip_id,
						       out->pool, out->slot);
	}
	return 0;
}

int xs_predict(const struct xs_dataplane *dp, const struct xs_vip *vip,
	       const struct xs_flow_key *key, struct xs_prediction *out)
{
	struct slot_source source = { live_slot_backend, (void *)dp };

	return predict_from(dp, &source, vip, key, out);
}

/* A pool's table as read, or NO_TABLE (none installed, or unreadable:
 * the program finds no backend there either way). */
#define NO_TABLE ((__u32 *)1)

struct xs_predict_cache {
	const struct xs_dataplane *dp;
	struct xs_backend *backends; /* max_backends, as read once */
	__u32 **tables;		     /* max_vips * XS_POOL_COUNT, lazily */
};

/* One pool's table in one batched read where the kernel has it. */
static __u32 *read_table(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool)
{
	__u32 size = dp->config.maglev_size;
	__u32 *table = calloc(size, sizeof(*table));

	size_t members;
	int err;

	if (!table)
		return NO_TABLE;
	err = xs_maglev_read(dp, vip_id, pool, table);
	/* a daemon without CAP_SYS_ADMIN may not open the inner map by id:
	 * it builds the table the way every writer of it does, from the
	 * pool's backends, and gets the same ids in the same slots */
	if (err == -EPERM || err == -EACCES)
		err = xs_pool_table(dp, vip_id, pool, 0, table, &members);
	if (err) {
		free(table);
		return NO_TABLE;
	}
	return table;
}

static __u32 cached_slot_backend(void *ctx, __u32 vip_id, __u8 pool, __u32 slot)
{
	struct xs_predict_cache *cache = ctx;
	const struct xs_dataplane *dp = cache->dp;
	__u32 index = xs_pool_index(vip_id, pool), backend_id;

	if (vip_id >= dp->config.max_vips || pool >= XS_POOL_COUNT ||
	    slot >= dp->config.maglev_size)
		return 0;
	if (!cache->tables[index])
		cache->tables[index] = read_table(dp, vip_id, pool);
	if (cache->tables[index] == NO_TABLE)
		return 0;
	backend_id = cache->tables[index][slot];
	if (!backend_id || backend_id >= dp->config.max_backends ||
	    cache->backends[backend_id].state != XS_BACKEND_UP)
		return 0;
	return backend_id;
}

struct xs_predict_cache *xs_predict_cache_new(const struct xs_dataplane *dp)
{
	struct xs_predict_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return NULL;
	cache->dp = dp;
	cache->backends =
		calloc(dp->config.max_backends, sizeof(*cache->backends));
	cache->tables = calloc((size_t)dp->config.max_vips * XS_POOL_COUNT,
			       sizeof(*cache->tables));
	if (!cache->backends || !cache->tables ||
	    xs_backend_read_all(dp, cache->backends)) {
		xs_predict_cache_free(cache);
		return NULL;
	}
	return cache;
}

const struct xs_backend *
xs_predict_cache_backends(const struct xs_predict_cache *cache)
{
	return cache->backends;
}

void xs_predict_cache_free(struct xs_predict_cache *cache)
{
	if (!cache)
		return;
	if (cache->tables)
		for (size_t i = 0;
		     i < (size_t)cache->dp->config.max_vips * XS_POOL_COUNT;
		     i++)
			if (cache->tables[i] != NO_TABLE)
				free(cache->tables[i]);
	free(cache->tables);
	free(cache->backends);
	free(cache);
}

int xs_predict_cached(struct xs_predict_cache *cache, const struct xs_vip *vip,
		      const struct xs_flow_key *key, struct xs_prediction *out)
{
	struct slot_source source = { cached_slot_backend, cache };

	return predict_from(cache->dp, &source, vip, key, out);
}
