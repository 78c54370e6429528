// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "maps/decision.h"
#include "predict.h"

/* The UP backend in a pool's slot, or 0; mirrors maglev_backend(). */
static __u32 slot_backend(const struct xs_dataplane *dp, __u32 vip_id,
			  __u8 pool, __u32 slot)
{
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

int xs_predict(const struct xs_dataplane *dp, const struct xs_vip *vip,
	       const struct xs_flow_key *key, struct xs_prediction *out)
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

	out->slot = xs_maglev_slot(
		xs_flow_hash(key, vip->split_key, config->backend_seed),
		config->maglev_size);
	out->pool = out->chosen_pool;
	out->backend_id = slot_backend(dp, vip->vip_id, out->pool, out->slot);
	if (!out->backend_id) {
		out->fell_back = 1;
		out->pool = out->route.live_pool;
		out->backend_id = slot_backend(dp, vip->vip_id, out->pool,
					       out->slot);
	}
	return 0;
}
