/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Userspace's handle on the pinned maps of one xdpsplit instance, and the
 * writes the data plane relies on being atomic: a route entry and a pool
 * epoch are each one atomic store into a mmapped array, and a Maglev table
 * is swapped in with one update of the outer map. Works on the pins alone,
 * so any process (CLI, daemon, test) can use it without the loader.
 */
#ifndef XDPSPLIT_DATAPLANE_H
#define XDPSPLIT_DATAPLANE_H

#include <limits.h>
#include <stddef.h>
#include "maps/contract.h"
#include "maglev_btf.h"

enum xs_map_id {
	XS_MAP_ID_CONFIG,
	XS_MAP_ID_VIPS,
	XS_MAP_ID_ROUTES,
	XS_MAP_ID_POOL_EPOCHS,
	XS_MAP_ID_MAGLEV,
	XS_MAP_ID_BACKENDS,
	XS_MAP_ID_FLOWS,
	XS_MAP_ID_OVERRIDES,
	XS_MAP_ID_EGRESS_MACS,
	XS_MAP_ID_TUNNEL_HOPS,
	XS_MAP_ID_POOL_STATS,
	XS_MAP_ID_BACKEND_STATS,
	XS_MAP_ID_GLOBAL_STATS,
	XS_MAP_ID_COUNT,
};

extern const char *const xs_map_names[XS_MAP_ID_COUNT];

struct xs_dataplane {
	char pin_dir[PATH_MAX];
	int map_fd[XS_MAP_ID_COUNT];
	struct xs_config config;
	/* the mmapped routes and pool_epochs arrays; element stride 8 bytes */
	void *routes;
	size_t routes_length;
	void *pool_epochs;
	size_t pool_epochs_length;
	/* the mmapped flow table, once xs_dataplane_flows mapped it */
	struct xs_flow_bucket *flows;
	size_t flows_length;
	/* what new Maglev tables are typed with (fd -1: no BTF) */
	struct xs_maglev_btf maglev_btf;
	/* why xs_dataplane_open failed, for the caller to print */
	char error[512];
};

/* Opens every pinned map under pin_dir, each verified against the contract
 * first (pins.h): negative errno and a message in dp->error if the data
 * plane is not loaded there (-ENOENT) or the pins are not to be trusted. */
int xs_dataplane_open(struct xs_dataplane *dp, const char *pin_dir);
void xs_dataplane_close(struct xs_dataplane *dp);

/* The flow table's xs_flow_buckets(config.max_flows) buckets, mmapped and
 * shared with the program (flow_table.h follows its protocol); NULL with
 * errno if it cannot be mapped. Mapped on first use, not at open: the
 * kernel maps all of its pages at once (some 4 ms for the default 144 MiB,
 * as much again to unmap), which a command that never reads flows should
 * not pay. Safe to call from several threads; unmapped at close. */
struct xs_flow_bucket *xs_dataplane_flows(const struct xs_dataplane *dp);

int xs_route_read(const struct xs_dataplane *dp, __u32 vip_id,
		  struct xs_route *route);
/* The route's tag: the low byte of the generation of the VIP it was
 * created for. xs_route_read leaves it out (0). */
int xs_route_read_tag(const struct xs_dataplane *dp, __u32 vip_id, __u8 *tag);
/* Refuses (-EINVAL) a route whose weights do not sum to XS_WEIGHT_TOTAL.
 * Keeps the entry's tag. */
int xs_route_write(struct xs_dataplane *dp, __u32 vip_id,
		   const struct xs_route *route);
/* The same, only while the entry's tag is tag: -ESTALE once the VIP it was
 * checked for has been deleted and its id given to another. */
int xs_route_write_tagged(struct xs_dataplane *dp, __u32 vip_id, __u8 tag,
			  const struct xs_route *route);
/* A new VIP's first route, with its tag. */
int xs_route_init(struct xs_dataplane *dp, __u32 vip_id, __u8 tag,
		  const struct xs_route *route);

__u32 xs_pool_epoch(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool);
/* Re-chooses the established flows of one pool, on their next packet. */
int xs_pool_flush(struct xs_dataplane *dp, __u32 vip_id, __u8 pool);

/* Installs a Maglev table of config.maglev_size backend ids for a pool, or
 * with table NULL marks the pool as having no usable backend. */
int xs_maglev_install(struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		      const __u32 *table);
/* Reads a pool's table into table (maglev_size entries); -ENOENT if none. */
int xs_maglev_read(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		   __u32 *table);
/* Rebuilds a pool's table from the backends map: its UP backends, weighted.
 * A backend id given as `leaving` is left out whatever its state. */
int xs_pool_rebuild(struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		    __u32 leaving);
/* The table xs_pool_rebuild would install, into table (maglev_size
 * entries) with *count members; nothing is written when *count is 0. */
int xs_pool_table(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		  __u32 leaving, __u32 *table, size_t *count);
/* Changes a backend's state in the order that keeps new flows off a backend
 * that is not UP: out of the table first, then marked; or marked UP first,
 * then into the table. */
int xs_backend_set_state(struct xs_dataplane *dp, __u32 backend_id, __u8 state);

int xs_vip_read(const struct xs_dataplane *dp, const struct xs_vip_key *key,
		struct xs_vip *vip);
int xs_vip_write(struct xs_dataplane *dp, const struct xs_vip_key *key,
		 const struct xs_vip *vip);

int xs_backend_read(const struct xs_dataplane *dp, __u32 backend_id,
		    struct xs_backend *backend);
int xs_backend_write(struct xs_dataplane *dp, __u32 backend_id,
		     const struct xs_backend *backend);
/* Every slot of the backends map into backends[0..max_backends), in one
 * batched read where the kernel has them (one system call instead of one
 * per slot), else slot by slot. */
int xs_backend_read_all(const struct xs_dataplane *dp,
			struct xs_backend *backends);

int xs_override_write(struct xs_dataplane *dp, __u32 vip_id, __u8 family,
		      const __be32 *client, __u32 client_prefix_length,
		      __u8 pool);
int xs_override_lookup(const struct xs_dataplane *dp, __u32 vip_id, __u8 family,
		       const __be32 *client, __u8 *pool);

/* The LB's own MAC on an interface that l2dsr backends sit behind. */
int xs_egress_write(struct xs_dataplane *dp, __u32 ifindex, const __u8 *mac);

/* Adds to a global counter that only userspace writes (the program never
 * does: flow_imported and its kin), on CPU 0's slot: a read, an add and a
 * write of every CPU's value, so one writer at a time (the importer). */
int xs_counter_add(struct xs_dataplane *dp, enum xs_counter counter,
		   __u64 value);

/* Sums a per-CPU counter map's entries over all CPUs. */
int xs_global_counters(const struct xs_dataplane *dp, __u64 *values);
int xs_pool_stats_read(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		       struct xs_pool_stats *sum);
int xs_backend_stats_read(const struct xs_dataplane *dp, __u32 backend_id,
			  struct xs_backend_stats *sum);

extern const char *const xs_counter_names[];

#endif /* XDPSPLIT_DATAPLANE_H */
