// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/names.h"
#include "maps/decision.h"
#include "dataplane.h"
#include "log.h"
#include "pins.h"

const char *const xs_map_names[XS_MAP_ID_COUNT] = {
	[XS_MAP_ID_CONFIG] = XS_MAP_CONFIG,
	[XS_MAP_ID_VIPS] = XS_MAP_VIPS,
	[XS_MAP_ID_ROUTES] = XS_MAP_ROUTES,
	[XS_MAP_ID_POOL_EPOCHS] = XS_MAP_POOL_EPOCHS,
	[XS_MAP_ID_MAGLEV] = XS_MAP_MAGLEV,
	[XS_MAP_ID_BACKENDS] = XS_MAP_BACKENDS,
	[XS_MAP_ID_FLOWS] = XS_MAP_FLOWS,
	[XS_MAP_ID_OVERRIDES] = XS_MAP_OVERRIDES,
	[XS_MAP_ID_EGRESS_MACS] = XS_MAP_EGRESS_MACS,
	[XS_MAP_ID_TUNNEL_HOPS] = XS_MAP_TUNNEL_HOPS,
	[XS_MAP_ID_POOL_STATS] = XS_MAP_POOL_STATS,
	[XS_MAP_ID_BACKEND_STATS] = XS_MAP_BACKEND_STATS,
	[XS_MAP_ID_GLOBAL_STATS] = XS_MAP_GLOBAL_STATS,
};

#define XS_COUNTER_NAME(name, text) text,
const char *const xs_counter_names[] = { XS_COUNTER_LIST(XS_COUNTER_NAME) };
#undef XS_COUNTER_NAME

/* Array map elements are laid out every round_up(value_size, 8) bytes, in
 * the mmapped view as in the kernel. */
#define MMAP_STRIDE 8

static void *map_mmap(int fd, __u32 entries, size_t *length)
{
	long page = sysconf(_SC_PAGESIZE);
	void *area;

	*length = ((size_t)entries * MMAP_STRIDE + page - 1) / page * page;
	area = mmap(NULL, *length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return area == MAP_FAILED ? NULL : area;
}

/* The flow table's buckets as the program sees them: an mmapable array's
 * elements lie every round_up(value_size, 8) bytes from the start of the
 * mapping, and a bucket's size is a multiple of 8 (so of its words). */
_Static_assert(sizeof(struct xs_flow_bucket) % 8 == 0,
	       "flow buckets are laid out back to back");

struct xs_flow_bucket *xs_dataplane_flows(const struct xs_dataplane *dp)
{
	struct xs_dataplane *mutable = (struct xs_dataplane *)dp;
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)xs_flow_buckets(dp->config.max_flows) *
		       sizeof(struct xs_flow_bucket);
	size_t length = (bytes + page - 1) / page * page;
	struct xs_flow_bucket *area, *none = NULL;

	area = __atomic_load_n(&dp->flows, __ATOMIC_ACQUIRE);
	if (area)
		return area;
	area = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED,
		    dp->map_fd[XS_MAP_ID_FLOWS], 0);
	if (area == MAP_FAILED)
		return NULL;
	/* two threads mapping at once: one mapping stays */
	if (!__atomic_compare_exchange_n(&mutable->flows, &none, area, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		munmap(area, length);
		return none;
	}
	mutable->flows_length = length;
	return area;
}

int xs_dataplane_open(struct xs_dataplane *dp, const char *pin_dir)
{
	__u32 zero = 0;
	int i, err;

	memset(dp, 0, sizeof(*dp));
	for (i = 0; i < XS_MAP_ID_COUNT; i++)
		dp->map_fd[i] = -1;
	dp->maglev_btf.fd = -1;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir);

	err = xs_pin_dir_prepare(pin_dir, false, dp->error, sizeof(dp->error));
	if (err)
		goto fail;
	/* the config map first, checked before a byte of it is read: its
	 * sizes decide what every other map must be */
	dp->map_fd[XS_MAP_ID_CONFIG] = err = xs_pin_open(
		pin_dir, XS_MAP_ID_CONFIG, NULL, dp->error, sizeof(dp->error));
	if (err < 0)
		goto fail;
	if (bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_CONFIG], &zero,
				&dp->config)) {
		err = -errno;
		snprintf(dp->error, sizeof(dp->error),
			 "Couldn't read the config map under '%s': %s", pin_dir,
			 strerror(errno));
		goto fail;
	}
	err = xs_config_sane(&dp->config, pin_dir, dp->error,
			     sizeof(dp->error));
	if (err)
		goto fail;
	for (i = 0; i < XS_MAP_ID_COUNT; i++) {
		if (i == XS_MAP_ID_CONFIG)
			continue;
		dp->map_fd[i] = err = xs_pin_open(pin_dir, i, &dp->config,
						  dp->error, sizeof(dp->error));
		if (err < 0)
			goto fail;
	}
	dp->routes = map_mmap(dp->map_fd[XS_MAP_ID_ROUTES], dp->config.max_vips,
			      &dp->routes_length);
	dp->pool_epochs = map_mmap(dp->map_fd[XS_MAP_ID_POOL_EPOCHS],
				   dp->config.max_vips * XS_POOL_COUNT,
				   &dp->pool_epochs_length);
	if (!dp->routes || !dp->pool_epochs) {
		err = -errno;
		snprintf(dp->error, sizeof(dp->error),
			 "Couldn't map the routes and epochs of '%s': %s",
			 pin_dir, strerror(errno));
		goto fail;
	}
	/* best effort: without it, tables dump as bytes but work the same */
	err = xs_maglev_btf_open(dp->map_fd[XS_MAP_ID_BACKENDS],
				 &dp->maglev_btf);
	if (err)
		pr_debug("Maglev tables under '%s' get no BTF: %s\n", pin_dir,
			 strerror(-err));
	return 0;
fail:
	pr_debug("%s\n", dp->error);
	xs_dataplane_close(dp);
	return err;
}

void xs_dataplane_close(struct xs_dataplane *dp)
{
	int i;

	if (dp->routes)
		munmap(dp->routes, dp->routes_length);
	if (dp->pool_epochs)
		munmap(dp->pool_epochs, dp->pool_epochs_length);
	dp->routes = dp->pool_epochs = NULL;
	if (dp->flows)
		munmap(dp->flows, dp->flows_length);
	dp->flows = NULL;
	for (i = 0; i < XS_MAP_ID_COUNT; i++) {
		if (dp->map_fd[i] >= 0)
			close(dp->map_fd[i]);
		dp->map_fd[i] = -1;
	}
	xs_maglev_btf_close(&dp->maglev_btf);
}

static int check_vip_id(const struct xs_dataplane *dp, __u32 vip_id)
{
	if (vip_id >= dp->config.max_vips) {
		pr_warn("VIP id %u is out of range (max %u)\n", vip_id,
			dp->config.max_vips);
		return -ERANGE;
	}
	return 0;
}

static __u64 *route_slot(const struct xs_dataplane *dp, __u32 vip_id)
{
	return (__u64 *)((char *)dp->routes + (size_t)vip_id * MMAP_STRIDE);
}

static __u32 *epoch_slot(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool)
{
	return (__u32 *)((char *)dp->pool_epochs +
			 (size_t)xs_pool_index(vip_id, pool) * MMAP_STRIDE);
}

static __u64 route_load(const struct xs_dataplane *dp, __u32 vip_id)
{
	return __atomic_load_n(route_slot(dp, vip_id), __ATOMIC_ACQUIRE);
}

int xs_route_read(const struct xs_dataplane *dp, __u32 vip_id,
		  struct xs_route *route)
{
	union xs_route_word word;
	int err = check_vip_id(dp, vip_id);

	if (err)
		return err;
	word.raw = route_load(dp, vip_id);
	*route = word.route;
	route->vip_tag = 0; /* the weights and live pool; the tag apart */
	return 0;
}

int xs_route_read_tag(const struct xs_dataplane *dp, __u32 vip_id, __u8 *tag)
{
	union xs_route_word word;
	int err = check_vip_id(dp, vip_id);

	if (err)
		return err;
	word.raw = route_load(dp, vip_id);
	*tag = word.route.vip_tag;
	return 0;
}

static int check_route(__u32 vip_id, const struct xs_route *route)
{
	if (xs_route_is_valid(route))
		return 0;
	pr_warn("Refusing route for VIP %u: weights %u+%u+%u must sum to %u and the live pool must be blue or green\n",
		vip_id, route->weight[XS_POOL_BLUE],
		route->weight[XS_POOL_GREEN], route->weight[XS_POOL_CANARY],
		XS_WEIGHT_TOTAL);
	return -EINVAL;
}

/*
 * The one store the data plane can observe, as a compare-and-swap that
 * keeps the entry's vip_tag; with must_match, only while the tag is
 * expected_tag (-ESTALE otherwise: the VIP was re-created).
 */
static int route_swap(struct xs_dataplane *dp, __u32 vip_id,
		      const struct xs_route *route, bool must_match,
		      __u8 expected_tag)
{
	__u64 *slot;
	union xs_route_word old, new;
	int err = check_vip_id(dp, vip_id);

	if (err)
		return err;
	err = check_route(vip_id, route);
	if (err)
		return err;
	slot = route_slot(dp, vip_id);
	old.raw = route_load(dp, vip_id);
	do {
		if (must_match && old.route.vip_tag != expected_tag)
			return -ESTALE;
		new.route = *route;
		new.route.vip_tag = old.route.vip_tag;
	} while (!__atomic_compare_exchange_n(slot, &old.raw, new.raw, false,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return 0;
}

int xs_route_write(struct xs_dataplane *dp, __u32 vip_id,
		   const struct xs_route *route)
{
	return route_swap(dp, vip_id, route, false, 0);
}

int xs_route_write_tagged(struct xs_dataplane *dp, __u32 vip_id, __u8 tag,
			  const struct xs_route *route)
{
	return route_swap(dp, vip_id, route, true, tag);
}

int xs_route_init(struct xs_dataplane *dp, __u32 vip_id, __u8 tag,
		  const struct xs_route *route)
{
	union xs_route_word word = { .route = *route };
	int err = check_vip_id(dp, vip_id);

	if (err)
		return err;
	err = check_route(vip_id, route);
	if (err)
		return err;
	word.route.vip_tag = tag;
	__atomic_store_n(route_slot(dp, vip_id), word.raw, __ATOMIC_RELEASE);
	return 0;
}

__u32 xs_pool_epoch(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool)
{
	if (check_vip_id(dp, vip_id) || pool >= XS_POOL_COUNT)
		return 0;
	return __atomic_load_n(epoch_slot(dp, vip_id, pool), __ATOMIC_ACQUIRE);
}

int xs_pool_flush(struct xs_dataplane *dp, __u32 vip_id, __u8 pool)
{
	int err = check_vip_id(dp, vip_id);

	if (err)
		return err;
	if (pool >= XS_POOL_COUNT)
		return -EINVAL;
	__atomic_fetch_add(epoch_slot(dp, vip_id, pool), 1, __ATOMIC_RELEASE);
	return 0;
}

int xs_maglev_install(struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		      const __u32 *table)
{
	__u32 index = xs_pool_index(vip_id, pool);
	__u32 size = dp->config.maglev_size, *keys;
	int err = check_vip_id(dp, vip_id), inner;
	LIBBPF_OPTS(bpf_map_create_opts, typed, .btf_fd = dp->maglev_btf.fd,
		    .btf_key_type_id = dp->maglev_btf.key_type_id,
		    .btf_value_type_id = dp->maglev_btf.value_type_id);

	if (err)
		return err;
	if (!table) {
		err = bpf_map_delete_elem(dp->map_fd[XS_MAP_ID_MAGLEV], &index);
		return err && errno != ENOENT ? -errno : 0;
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, XS_MAGLEV_TEMPLATE,
			       sizeof(__u32), sizeof(struct xs_maglev_entry),
			       size, dp->maglev_btf.fd >= 0 ? &typed : NULL);
	if (inner < 0) {
		err = -errno;
		pr_warn("Couldn't create a Maglev table of %u slots: %s\n",
			size, strerror(errno));
		return err;
	}
	keys = malloc(size * sizeof(*keys));
	if (!keys) {
		close(inner);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < size; i++)
		keys[i] = i;
	__u32 count = size;
	err = bpf_map_update_batch(inner, keys, table, &count, NULL);
	free(keys);
	/* the new table is complete before the data plane can see it */
	if (!err && bpf_map_update_elem(dp->map_fd[XS_MAP_ID_MAGLEV], &index,
					&inner, BPF_ANY))
		err = -1;
	if (err) {
		err = -errno;
		pr_warn("Couldn't install the Maglev table of VIP %u pool %u: %s\n",
			vip_id, pool, strerror(errno));
	}
	close(inner);
	return err;
}

int xs_maglev_read(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		   __u32 *table)
{
	__u32 index = xs_pool_index(vip_id, pool), inner_id, size;
	int inner, err = 0;

	if (bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_MAGLEV], &index,
				&inner_id))
		return -ENOENT;
	inner = bpf_map_get_fd_by_id(inner_id);
	if (inner < 0)
		return -errno;
	size = dp->config.maglev_size;
	/* the table is read slot by slot into table[]: its values must be
	 * what we read them as */
	{
		struct bpf_map_info info = { 0 };
		__u32 length = sizeof(info);

		if (bpf_obj_get_info_by_fd(inner, &info, &length) ||
		    info.type != BPF_MAP_TYPE_ARRAY ||
		    info.key_size != sizeof(__u32) ||
		    info.value_size != sizeof(__u32) ||
		    info.max_entries != size) {
			pr_warn("The Maglev table of VIP %u pool %u is not an array of %u backend ids; rebuild it (splitctl backend commands do)\n",
				vip_id, pool, size);
			close(inner);
			return -EINVAL;
		}
	}
	for (__u32 slot = 0; slot < size && !err; slot++)
		if (bpf_map_lookup_elem(inner, &slot, &table[slot]))
			err = -errno;
	close(inner);
	return err;
}

int xs_vip_read(const struct xs_dataplane *dp, const struct xs_vip_key *key,
		struct xs_vip *vip)
{
	return bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_VIPS], key, vip) ?
		       -errno :
		       0;
}

int xs_vip_write(struct xs_dataplane *dp, const struct xs_vip_key *key,
		 const struct xs_vip *vip)
{
	int err = check_vip_id(dp, vip->vip_id);

	if (err)
		return err;
	return bpf_map_update_elem(dp->map_fd[XS_MAP_ID_VIPS], key, vip,
				   BPF_ANY) ?
		       -errno :
		       0;
}

int xs_backend_read(const struct xs_dataplane *dp, __u32 backend_id,
		    struct xs_backend *backend)
{
	if (!backend_id || backend_id >= dp->config.max_backends)
		return -ERANGE;
	return bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_BACKENDS], &backend_id,
				   backend) ?
		       -errno :
		       0;
}

int xs_backend_read_all(const struct xs_dataplane *dp,
			struct xs_backend *backends)
{
	__u32 total = dp->config.max_backends, done = 0, next = 0, *keys;
	int fd = dp->map_fd[XS_MAP_ID_BACKENDS], err = 0;

	keys = calloc(total, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	/* an array's batch runs from slot 0 in key order, so the values land
	 * at their own index; -ENOENT means it reached the last slot */
	while (done < total && !err) {
		__u32 count = total - done;

		err = bpf_map_lookup_batch(fd, done ? &next : NULL, &next,
					   keys + done, backends + done, &count,
					   NULL);
		if (err && err != -ENOENT)
			break;
		done += count;
		if (err == -ENOENT || !count)
			break;
		err = 0;
	}
	if (err == -ENOENT && done == total)
		err = 0;
	for (__u32 i = 0; !err && i < done; i++)
		if (keys[i] != i)
			err = -EIO; /* not the array we know: read slot by slot */
	if (err || done != total) {
		err = 0;
		memset(backends, 0, total * sizeof(*backends));
		for (__u32 id = 0; id < total && !err; id++)
			if (bpf_map_lookup_elem(fd, &id, &backends[id]))
				err = -errno;
	}
	free(keys);
	return err;
}

int xs_backend_write(struct xs_dataplane *dp, __u32 backend_id,
		     const struct xs_backend *backend)
{
	if (!backend_id || backend_id >= dp->config.max_backends) {
		pr_warn("Backend id %u is out of range (1..%u)\n", backend_id,
			dp->config.max_backends - 1);
		return -ERANGE;
	}
	return bpf_map_update_elem(dp->map_fd[XS_MAP_ID_BACKENDS], &backend_id,
				   backend, BPF_ANY) ?
		       -errno :
		       0;
}

static void override_key(struct xs_override_key *key, __u32 vip_id,
			 const __be32 *client, __u32 prefix_length)
{
	memset(key, 0, sizeof(*key));
	key->prefix_len = XS_OVERRIDE_VIP_BITS + prefix_length;
	key->vip_id = htobe32(vip_id);
	memcpy(key->client, client, sizeof(key->client));
}

int xs_override_write(struct xs_dataplane *dp, __u32 vip_id, __u8 family,
		      const __be32 *client, __u32 client_prefix_length,
		      __u8 pool)
{
	__u32 bits = family == XS_FAMILY_IPV4 ? 32 : 128;
	struct xs_override value = { .pool = pool };
	struct xs_override_key key;

	if (client_prefix_length > bits || pool >= XS_POOL_COUNT)
		return -EINVAL;
	override_key(&key, vip_id, client, client_prefix_length);
	return bpf_map_update_elem(dp->map_fd[XS_MAP_ID_OVERRIDES], &key,
				   &value, BPF_ANY) ?
		       -errno :
		       0;
}

int xs_override_lookup(const struct xs_dataplane *dp, __u32 vip_id, __u8 family,
		       const __be32 *client, __u8 *pool)
{
	struct xs_override_key key;
	struct xs_override value;

	override_key(&key, vip_id, client, family == XS_FAMILY_IPV4 ? 32 : 128);
	if (bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_OVERRIDES], &key, &value))
		return -errno;
	*pool = value.pool;
	return 0;
}

int xs_egress_write(struct xs_dataplane *dp, __u32 ifindex, const __u8 *mac)
{
	struct xs_egress egress = { 0 };

	memcpy(egress.mac, mac, sizeof(egress.mac));
	return bpf_map_update_elem(dp->map_fd[XS_MAP_ID_EGRESS_MACS], &ifindex,
				   &egress, BPF_ANY) ?
		       -errno :
		       0;
}

static int percpu_sum(int fd, __u32 key, __u64 *sum, size_t words)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *values;

	if (cpus < 0)
		return cpus;
	values = calloc((size_t)cpus, words * sizeof(__u64));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, values)) {
		free(values);
		return -errno;
	}
	memset(sum, 0, words * sizeof(__u64));
	for (int cpu = 0; cpu < cpus; cpu++)
		for (size_t w = 0; w < words; w++)
			sum[w] += values[cpu * words + w];
	free(values);
	return 0;
}

int xs_counter_add(struct xs_dataplane *dp, enum xs_counter counter,
		   __u64 value)
{
	int cpus = libbpf_num_possible_cpus(), err = 0;
	int fd = dp->map_fd[XS_MAP_ID_GLOBAL_STATS];
	__u32 key = counter;
	__u64 *values;

	if (cpus < 0)
		return cpus;
	if (!value)
		return 0;
	values = calloc((size_t)cpus, sizeof(__u64));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, values))
		err = -errno;
	values[0] += value;
	if (!err && bpf_map_update_elem(fd, &key, values, BPF_EXIST))
		err = -errno;
	free(values);
	return err;
}

int xs_global_counters(const struct xs_dataplane *dp, __u64 *values)
{
	for (__u32 i = 0; i < XS_COUNTER_COUNT; i++) {
		int err = percpu_sum(dp->map_fd[XS_MAP_ID_GLOBAL_STATS], i,
				     &values[i], 1);
		if (err)
			return err;
	}
	return 0;
}

int xs_pool_stats_read(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		       struct xs_pool_stats *sum)
{
	return percpu_sum(dp->map_fd[XS_MAP_ID_POOL_STATS],
			  xs_pool_index(vip_id, pool), (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

int xs_backend_stats_read(const struct xs_dataplane *dp, __u32 backend_id,
			  struct xs_backend_stats *sum)
{
	return percpu_sum(dp->map_fd[XS_MAP_ID_BACKEND_STATS], backend_id,
			  (__u64 *)sum, sizeof(*sum) / sizeof(__u64));
}
