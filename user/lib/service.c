// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/decision.h"
#include "service.h"

static int by_vip_id(const void *a, const void *b)
{
	const struct xs_vip_entry *x = a, *y = b;

	return (x->vip.vip_id > y->vip.vip_id) -
	       (x->vip.vip_id < y->vip.vip_id);
}

struct xs_vip_entry *xs_vip_all(const struct xs_dataplane *dp, size_t *count)
{
	int fd = dp->map_fd[XS_MAP_ID_VIPS];
	struct xs_vip_entry *all =
		calloc(dp->config.max_vips + 1, sizeof(*all));
	struct xs_vip_key key, next;
	size_t n = 0;

	*count = 0;
	if (!all)
		return NULL;
	for (int more = !bpf_map_get_next_key(fd, NULL, &next);
	     more && n < dp->config.max_vips;
	     more = !bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		all[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &all[n].vip))
			continue;
		xs_route_read(dp, all[n].vip.route_id, &all[n].route);
		xs_route_read_tag(dp, all[n].vip.route_id, &all[n].route_tag);
		n++;
	}
	qsort(all, n, sizeof(*all), by_vip_id);
	*count = n;
	return all;
}

int xs_vip_lookup(const struct xs_dataplane *dp, const struct xs_vip_key *key,
		  struct xs_vip_entry *entry)
{
	int err = xs_vip_read(dp, key, &entry->vip);

	if (err)
		return err;
	entry->key = *key;
	err = xs_route_read(dp, entry->vip.route_id, &entry->route);
	return err ? err :
		     xs_route_read_tag(dp, entry->vip.route_id,
				       &entry->route_tag);
}

struct xs_vip_entry *xs_service_members(const struct xs_dataplane *dp,
					__u32 route_id, size_t *count)
{
	struct xs_vip_entry *all = xs_vip_all(dp, count);
	size_t n = 0;

	for (size_t i = 0; all && i < *count; i++)
		if (all[i].vip.route_id == route_id)
			all[n++] = all[i];
	*count = all ? n : 0;
	return all;
}

int xs_service_flush(struct xs_dataplane *dp, __u32 route_id, __u8 pool)
{
	size_t count;
	struct xs_vip_entry *members = xs_service_members(dp, route_id, &count);
	int err = members ? 0 : -ENOMEM;

	for (size_t i = 0; i < count && !err; i++)
		err = xs_pool_flush(dp, members[i].vip.vip_id, pool);
	free(members);
	return err;
}

_Static_assert(sizeof(struct xs_pool_stats) % sizeof(__u64) == 0,
	       "pool counters are summed as __u64 words");

int xs_service_pool_stats(const struct xs_dataplane *dp, __u32 route_id,
			  struct xs_pool_stats sum[XS_POOL_COUNT])
{
	size_t count;
	struct xs_vip_entry *members = xs_service_members(dp, route_id, &count);
	int err = members ? 0 : -ENOMEM;

	memset(sum, 0, XS_POOL_COUNT * sizeof(*sum));
	for (size_t i = 0; i < count && !err; i++)
		for (__u8 pool = 0; pool < XS_POOL_COUNT && !err; pool++) {
			struct xs_pool_stats one;
			__u64 *total = (__u64 *)&sum[pool],
			      *add = (__u64 *)&one;

			err = xs_pool_stats_read(dp, members[i].vip.vip_id,
						 pool, &one);
			/* every field is a __u64 counter */
			for (size_t f = 0;
			     !err && f < sizeof(one) / sizeof(__u64); f++)
				total[f] += add[f];
		}
	free(members);
	return err;
}

int xs_service_primary(const struct xs_dataplane *dp,
		       const struct xs_vip_entry *member,
		       struct xs_vip_entry *primary)
{
	struct xs_vip_entry *all;
	size_t count;
	int err = -ENOENT;

	if (member->vip.route_id == member->vip.vip_id) {
		*primary = *member;
		return 0;
	}
	all = xs_vip_all(dp, &count);
	for (size_t i = 0; all && i < count; i++)
		if (all[i].vip.vip_id == member->vip.route_id) {
			*primary = all[i];
			err = 0;
		}
	free(all);
	return err;
}

static void zero_pool_stats(struct xs_dataplane *dp, __u32 vip_id)
{
	int cpus = libbpf_num_possible_cpus();
	void *zeros;

	if (cpus <= 0)
		return;
	zeros = calloc((size_t)cpus, sizeof(struct xs_pool_stats));
	if (!zeros)
		return;
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++) {
		__u32 index = xs_pool_index(vip_id, pool);

		bpf_map_update_elem(dp->map_fd[XS_MAP_ID_POOL_STATS], &index,
				    zeros, BPF_ANY);
	}
	free(zeros);
}

/*
 * A generation for a VIP about to take vip_id: random above its low byte,
 * and a low byte (the route entry's tag) one more than the tag the id's
 * route entry has now, so a writer holding the previous VIP's tag fails.
 */
static int new_generation(const struct xs_dataplane *dp, __u32 vip_id,
			  __u32 *generation)
{
	__u32 random;
	__u8 tag;
	int err = xs_route_read_tag(dp, vip_id, &tag);

	if (err)
		return err;
	if (getrandom(&random, sizeof(random), 0) != sizeof(random))
		return -errno;
	*generation = (random & ~0xffU) | (__u8)(tag + 1);
	if (!*generation) /* 0 stands for "not recorded" in the state file */
		*generation = 1U << 8;
	return 0;
}

int xs_vip_create(struct xs_dataplane *dp, const struct xs_vip_key *key,
		  __u8 mode, __u8 split_key, const struct xs_vip_key *share,
		  __u32 *vip_id)
{
	struct xs_route route = { .weight = { XS_WEIGHT_TOTAL, 0, 0 },
				  .live_pool = XS_POOL_BLUE };
	struct xs_vip vip = { .forward_mode = mode, .split_key = split_key };
	struct xs_vip_entry *all, existing, service;
	unsigned char *used;
	size_t count;
	int err;

	if (!xs_vip_lookup(dp, key, &existing))
		return -EEXIST;
	if (share) {
		err = xs_vip_lookup(dp, share, &service);
		if (err)
			return err;
		if (service.vip.route_id != service.vip.vip_id)
			return -EINVAL;
	}
	all = xs_vip_all(dp, &count);
	used = calloc(dp->config.max_vips, 1);
	if (!all || !used) {
		free(all);
		free(used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		if (all[i].vip.vip_id < dp->config.max_vips)
			used[all[i].vip.vip_id] = 1;
	vip.vip_id = dp->config.max_vips;
	for (__u32 id = 0; id < dp->config.max_vips; id++)
		if (!used[id]) {
			vip.vip_id = id;
			break;
		}
	free(all);
	free(used);
	if (vip.vip_id == dp->config.max_vips)
		return -ENOSPC;

	err = new_generation(dp, vip.vip_id, &vip.generation);
	if (err)
		return err;
	/* everything the id indexes is made ready before the VIP entry
	 * makes it reachable */
	zero_pool_stats(dp, vip.vip_id);
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		xs_maglev_install(dp, vip.vip_id, pool, NULL);
	if (share) {
		/* its own route entry is left as it is: its tag goes on
		 * counting for the next VIP with a route of its own there */
		vip.route_id = service.vip.vip_id;
		err = xs_vip_write(dp, key, &vip);
		if (!err)
			*vip_id = vip.vip_id;
		return err;
	}
	vip.route_id = vip.vip_id;
	err = xs_route_init(dp, vip.vip_id, (__u8)vip.generation, &route);
	if (!err)
		err = xs_vip_write(dp, key, &vip);
	if (!err)
		*vip_id = vip.vip_id;
	return err;
}

int xs_vip_set_flags(struct xs_dataplane *dp, const struct xs_vip_key *key,
		     __u16 flags)
{
	struct xs_vip vip;
	int err = xs_vip_read(dp, key, &vip);

	if (err)
		return err;
	vip.flags = flags;
	return xs_vip_write(dp, key, &vip);
}

int xs_vip_remove(struct xs_dataplane *dp, const struct xs_vip_key *key)
{
	struct xs_backend_entry *backends;
	struct xs_override_entry *overrides;
	struct xs_vip vip;
	size_t count;
	int err = xs_vip_read(dp, key, &vip);

	if (err)
		return err;
	if (vip.route_id == vip.vip_id) {
		struct xs_vip_entry *members =
			xs_service_members(dp, vip.vip_id, &count);

		free(members);
		if (count > 1)
			return -EBUSY;
	}
	/* unreachable first: no packet finds the VIP while it is taken apart */
	if (bpf_map_delete_elem(dp->map_fd[XS_MAP_ID_VIPS], key))
		return -errno;
	/* a new VIP may get this id: its flows must not be these */
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++) {
		xs_maglev_install(dp, vip.vip_id, pool, NULL);
		xs_pool_flush(dp, vip.vip_id, pool);
	}
	backends = xs_backend_all(dp, vip.vip_id, &count);
	for (size_t i = 0; backends && i < count; i++) {
		struct xs_backend absent = { 0 };

		xs_backend_write(dp, backends[i].id, &absent);
	}
	free(backends);
	overrides = xs_override_all(dp, vip.vip_id, &count);
	for (size_t i = 0; overrides && i < count; i++)
		xs_override_remove(dp, vip.vip_id, overrides[i].client,
				   overrides[i].prefix_length);
	free(overrides);
	return 0;
}

static int by_pool_then_address(const void *a, const void *b)
{
	const struct xs_backend_entry *x = a, *y = b;

	if (x->backend.vip_id != y->backend.vip_id)
		return x->backend.vip_id < y->backend.vip_id ? -1 : 1;
	if (x->backend.pool != y->backend.pool)
		return x->backend.pool < y->backend.pool ? -1 : 1;
	return memcmp(x->backend.address, y->backend.address,
		      sizeof(x->backend.address));
}

struct xs_backend_entry *xs_backend_all(const struct xs_dataplane *dp,
					__u32 vip_id, size_t *count)
{
	struct xs_backend_entry *all;
	struct xs_backend *slots;
	size_t n = 0;

	*count = 0;
	all = calloc(dp->config.max_backends, sizeof(*all));
	/* the whole map in one read: splitd's probes and neighbour watcher
	 * call this often, and one lookup per slot was most of their cost */
	slots = calloc(dp->config.max_backends, sizeof(*slots));
	if (!all || !slots || xs_backend_read_all(dp, slots)) {
		free(all);
		free(slots);
		return NULL;
	}
	for (__u32 id = 1; id < dp->config.max_backends; id++) {
		const struct xs_backend *backend = &slots[id];

		if (backend->state == XS_BACKEND_ABSENT)
			continue;
		if (vip_id != ~0U && backend->vip_id != vip_id)
			continue;
		all[n].id = id;
		all[n].backend = *backend;
		n++;
	}
	free(slots);
	qsort(all, n, sizeof(*all), by_pool_then_address);
	*count = n;
	return all;
}

int xs_backend_lookup(const struct xs_dataplane *dp, __u32 vip_id,
		      const __be32 *address, struct xs_backend_entry *entry)
{
	size_t count;
	struct xs_backend_entry *all = xs_backend_all(dp, vip_id, &count);
	int err = -ENOENT;

	for (size_t i = 0; all && i < count; i++)
		if (!memcmp(all[i].backend.address, address, 16)) {
			*entry = all[i];
			err = 0;
			break;
		}
	free(all);
	return all ? err : -ENOMEM;
}

int xs_backend_create(struct xs_dataplane *dp, const struct xs_backend *b,
		      __u32 *id)
{
	struct xs_backend_entry existing;
	struct xs_backend slot;
	__u32 highest = 0, chosen = 0;
	int err;

	if (!xs_backend_lookup(dp, b->vip_id, b->address, &existing))
		return -EEXIST;
	/* ids are handed out after the highest in use, so a removed
	 * backend's id is not reused while its flows may still point at it */
	for (__u32 i = 1; i < dp->config.max_backends; i++)
		if (!xs_backend_read(dp, i, &slot) &&
		    slot.state != XS_BACKEND_ABSENT)
			highest = i;
	for (__u32 n = 0; n + 1 < dp->config.max_backends && !chosen; n++) {
		__u32 i = 1 + (highest + n) % (dp->config.max_backends - 1);

		if (!xs_backend_read(dp, i, &slot) &&
		    slot.state == XS_BACKEND_ABSENT)
			chosen = i;
	}
	if (!chosen)
		return -ENOSPC;
	err = xs_backend_write(dp, chosen, b);
	if (!err && b->state == XS_BACKEND_UP)
		err = xs_pool_rebuild(dp, b->vip_id, b->pool, 0);
	if (!err)
		*id = chosen;
	return err;
}

int xs_backend_remove(struct xs_dataplane *dp, __u32 id)
{
	struct xs_backend backend, absent = { 0 };
	int err = xs_backend_read(dp, id, &backend);

	if (err)
		return err;
	err = xs_pool_rebuild(dp, backend.vip_id, backend.pool, id);
	return err ? err : xs_backend_write(dp, id, &absent);
}

int xs_backend_update(struct xs_dataplane *dp, __u32 id,
		      const struct xs_backend *updated)
{
	struct xs_backend current;
	int err = xs_backend_read(dp, id, &current);

	if (err)
		return err;
	if (current.state != updated->state) {
		err = xs_backend_set_state(dp, id, updated->state);
		if (err)
			return err;
		current.state = updated->state;
	}
	if (!memcmp(&current, updated, sizeof(current)))
		return 0;
	err = xs_backend_write(dp, id, updated);
	if (!err && current.weight != updated->weight &&
	    updated->state == XS_BACKEND_UP)
		err = xs_pool_rebuild(dp, updated->vip_id, updated->pool, 0);
	return err;
}

struct xs_override_entry *xs_override_all(const struct xs_dataplane *dp,
					  __u32 vip_id, size_t *count)
{
	int fd = dp->map_fd[XS_MAP_ID_OVERRIDES];
	struct xs_override_entry *all;
	struct xs_override_key key, next;
	size_t n = 0;

	*count = 0;
	all = calloc(dp->config.max_overrides, sizeof(*all));
	if (!all)
		return NULL;
	for (int more = !bpf_map_get_next_key(fd, NULL, &next);
	     more && n < dp->config.max_overrides;
	     more = !bpf_map_get_next_key(fd, &key, &next)) {
		struct xs_override value;

		key = next;
		if (bpf_map_lookup_elem(fd, &key, &value))
			continue;
		if (vip_id != ~0U && be32toh(key.vip_id) != vip_id)
			continue;
		all[n].vip_id = be32toh(key.vip_id);
		memcpy(all[n].client, key.client, sizeof(key.client));
		all[n].prefix_length = key.prefix_len - XS_OVERRIDE_VIP_BITS;
		all[n].pool = value.pool;
		n++;
	}
	*count = n;
	return all;
}

int xs_override_remove(struct xs_dataplane *dp, __u32 vip_id,
		       const __be32 *client, __u32 prefix_length)
{
	struct xs_override_key key = {
		.prefix_len = XS_OVERRIDE_VIP_BITS + prefix_length,
		.vip_id = htobe32(vip_id),
	};

	memcpy(key.client, client, sizeof(key.client));
	return bpf_map_delete_elem(dp->map_fd[XS_MAP_ID_OVERRIDES], &key) ?
		       -errno :
		       0;
}
