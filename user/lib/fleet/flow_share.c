// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow sharing's data-plane side: the export walk, the chunk format and the
 * import (flow_share.h says what and why).
 *
 * Why the import is safe against the running program on other CPUs, by
 * construction: it changes a way only as the program itself does
 * (maps/contract.h, struct xs_flow_bucket). The way is judged on its tag
 * word, then taken with a compare-and-swap from that very word to
 * XS_FLOW_TAG_BUSY; a CPU that changed the way since (a flow confirmed,
 * closed or replaced a moment ago) made the swap fail, and the import
 * looks at the bucket again. While the way is BUSY no other writer can
 * take it (every writer swaps from the word it judged, and BUSY is never
 * judged replaceable), and every reader either sees BUSY or sees the tag
 * change across its copy and drops the copy. The slot is then written and
 * the new word published with an exchange, a full barrier, so whoever sees
 * the new tag sees the whole slot. Only last_seen and hand are stored
 * without a claim, as the program stores them: a last_seen is one aligned
 * 16-bit store (never torn) and only ages a way, and hand only says where
 * the next search starts.
 *
 * What remains is the race the program has between two of its own CPUs:
 * a packet of the very flow being imported, arriving on this host in the
 * instant between the import's search of the bucket and its publish, can
 * store a second entry for the key. The import looks once more after it
 * published (after any BUSY way settled) and, finding another way with its
 * key, takes its own back out: the local entry wins, as it does when the
 * flow was there first. A lookup takes the first way that matches, so
 * even a duplicate the last look missed leaves every entry whole.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>
#include <netinet/in.h>
#include "maps/decision.h"
#include "user/lib/flow_table.h"
#include "user/lib/predict.h"
#include "flow_share.h"

/* a way BUSY for longer than this many looks is left alone; the program
 * holds one for a few stores */
#define TRIES 64

/* VIPs by the key a flow names, found as the program finds them (its own
 * port, else the VIP of port 0 of its address), cached for a walk or an
 * import: a walk meets few VIPs many times. */
#define VIP_CACHE_SLOTS 4096

struct vip_entry {
	struct xs_vip_key key;
	int used;
	int found;
	struct xs_vip vip;
};

struct vip_cache {
	const struct xs_dataplane *dp;
	struct vip_entry *slots;
};

static int vip_cache_init(struct vip_cache *c, const struct xs_dataplane *dp)
{
	c->dp = dp;
	c->slots = calloc(VIP_CACHE_SLOTS, sizeof(*c->slots));
	return c->slots ? 0 : -ENOMEM;
}

static void vip_cache_free(struct vip_cache *c)
{
	free(c->slots);
	c->slots = NULL;
}

static int vip_of_key(const struct xs_dataplane *dp,
		      const struct xs_vip_key *key, struct xs_vip *vip)
{
	struct xs_vip_key any_port = *key;

	if (!xs_vip_read(dp, key, vip))
		return 1;
	any_port.port = 0;
	return !xs_vip_read(dp, &any_port, vip);
}

/* 1 with *vip filled if the flow key's VIP is here, else 0. */
static int vip_lookup(struct vip_cache *c, const struct xs_flow_key *flow,
		      struct xs_vip *vip)
{
	struct xs_vip_key key;
	struct vip_entry *entry;
	__u32 slot;

	memset(&key, 0, sizeof(key));
	memcpy(key.address, flow->vip, sizeof(key.address));
	key.port = flow->vip_port;
	key.protocol = flow->protocol;
	key.family = flow->family;
	slot = xs_hash_words((const __u32 *)&key, sizeof(key) / 4, 0) %
	       VIP_CACHE_SLOTS;
	for (int probe = 0; probe < 8; probe++) {
		entry = &c->slots[(slot + probe) % VIP_CACHE_SLOTS];
		if (!entry->used) {
			entry->used = 1;
			entry->key = key;
			entry->found = vip_of_key(c->dp, &key, &entry->vip);
			*vip = entry->vip;
			return entry->found;
		}
		if (!memcmp(&entry->key, &key, sizeof(key))) {
			*vip = entry->vip;
			return entry->found;
		}
	}
	return vip_of_key(c->dp, &key, vip); /* a crowded cache: ask */
}

static int keeps_flows(const struct xs_backend *backend)
{
	return backend->state == XS_BACKEND_UP ||
	       backend->state == XS_BACKEND_DRAINING;
}

static void record_of(const struct xs_flow_slot *slot, __u32 word,
		      const struct xs_backend *backend,
		      struct xs_flow_share_record *r)
{
	memset(r, 0, sizeof(*r));
	if (word & XS_FLOW_WAY_CONFIRMED)
		r->flags |= XS_FLOW_SHARE_CONFIRMED;
	memcpy(r->client, slot->key.client, sizeof(r->client));
	memcpy(r->vip, slot->key.vip, sizeof(r->vip));
	r->client_port = slot->key.client_port;
	r->vip_port = slot->key.vip_port;
	r->protocol = slot->key.protocol;
	r->family = slot->key.family;
	r->vlan_id = htobe16(slot->key.vlan_id);
	memcpy(r->backend, backend->address, sizeof(r->backend));
	r->backend_family = backend->family;
	r->pool = slot->flow.pool;
	r->state = slot->flow.state;
	r->initial_sequence = slot->flow.initial_sequence;
}

static void key_of(const struct xs_flow_share_record *r,
		   struct xs_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->client, r->client, sizeof(key->client));
	memcpy(key->vip, r->vip, sizeof(key->vip));
	key->client_port = r->client_port;
	key->vip_port = r->vip_port;
	key->protocol = r->protocol;
	key->family = r->family;
	key->vlan_id = be16toh(r->vlan_id);
}

/* A way read whole: 1 with *slot and *word, 0 empty, closed or torn (in
 * *torn). */
static int read_open_way(const struct xs_flow_bucket *bucket, int way,
			 struct xs_flow_slot *slot, __u32 *word, int *torn)
{
	*torn = 0;
	for (int tries = 0; tries < TRIES; tries++) {
		__u32 seen = xs_flow_way_word(bucket, way);

		if (seen == XS_FLOW_TAG_BUSY)
			continue;
		if (seen == XS_FLOW_TAG_EMPTY || (seen & XS_FLOW_WAY_CLOSED))
			return 0;
		if (xs_flow_way_read(bucket, way, seen, slot)) {
			*word = seen;
			return slot->flow.state != XS_FLOW_CLOSED;
		}
	}
	*torn = 1;
	return 0;
}

/* One walk of the flow table: what it exports to, what it reads with and
 * what it counted. */
struct export_run {
	const struct xs_dataplane *dp;
	int all; /* every live flow, not only those the route now moves */
	xs_flow_share_emit emit;
	void *ctx;
	struct xs_predict_cache *cache;
	const struct xs_backend *backends;
	struct vip_cache vips;
	struct xs_flow_export_stats stats;
};

/* The backend a flow is pinned to, or NULL where the data plane takes the
 * flow for stale: stale_reason() of bpf/flow.bpf.h, but for a SYN. */
static const struct xs_backend *pinned_backend(const struct export_run *run,
					       const struct xs_flow_slot *slot,
					       const struct xs_vip *vip)
{
	__u32 id = slot->flow.backend_id;
	const struct xs_backend *backend =
		id && id < run->dp->config.max_backends ? &run->backends[id] :
							  NULL;

	if (!backend || !keeps_flows(backend) ||
	    backend->vip_id != vip->vip_id ||
	    slot->flow.pool >= XS_POOL_COUNT ||
	    xs_pool_epoch(run->dp, vip->vip_id, slot->flow.pool) !=
		    slot->flow.epoch)
		return NULL;
	return backend;
}

/* Exports the flow in one way if it is open and live, and (unless all) the
 * route now predicts another backend for it; counts what it saw. Returns
 * emit's result: non-zero stops the walk. */
static int export_way(struct export_run *run,
		      const struct xs_flow_bucket *bucket, int way)
{
	struct xs_flow_export_stats *stats = &run->stats;
	struct xs_flow_share_record record;
	struct xs_prediction prediction;
	const struct xs_backend *backend;
	struct xs_flow_slot slot;
	struct xs_vip vip;
	__u32 word;
	int torn, rc;

	stats->ways++;
	if (!read_open_way(bucket, way, &slot, &word, &torn)) {
		stats->torn += torn;
		return 0;
	}
	stats->flows++;
	if (!vip_lookup(&run->vips, &slot.key, &vip)) {
		stats->no_vip++;
		return 0;
	}
	backend = pinned_backend(run, &slot, &vip);
	if (!backend) {
		stats->stale++;
		return 0;
	}
	if (xs_predict_cached(run->cache, &vip, &slot.key, &prediction)) {
		stats->no_vip++; /* an invalid route: passed */
		return 0;
	}
	if (prediction.backend_id == slot.flow.backend_id) {
		stats->unchanged++;
		if (!run->all)
			return 0;
	}
	record_of(&slot, word, backend, &record);
	rc = run->emit(&record, run->ctx);
	if (!rc)
		stats->exported++;
	return rc;
}

static int export_walk(const struct xs_dataplane *dp, int all,
		       xs_flow_share_emit emit, void *ctx,
		       struct xs_flow_export_stats *out)
{
	__u32 buckets = xs_flow_buckets(dp->config.max_flows);
	struct xs_flow_bucket *flows = xs_dataplane_flows(dp);
	struct export_run run = {
		.dp = dp, .all = all, .emit = emit, .ctx = ctx
	};
	int rc = 0;

	if (!flows)
		return -errno;
	run.cache = xs_predict_cache_new(dp);
	if (!run.cache)
		return errno ? -errno : -ENOMEM;
	if (vip_cache_init(&run.vips, dp)) {
		xs_predict_cache_free(run.cache);
		return -ENOMEM;
	}
	run.backends = xs_predict_cache_backends(run.cache);
	for (__u32 b = 0; b < buckets && !rc; b++)
		for (int way = 0; way < XS_FLOW_WAYS && !rc; way++)
			rc = export_way(&run, &flows[b], way);
	vip_cache_free(&run.vips);
	xs_predict_cache_free(run.cache);
	if (out)
		*out = run.stats;
	return rc;
}

int xs_flow_export_changed(const struct xs_dataplane *dp,
			   xs_flow_share_emit emit, void *ctx,
			   struct xs_flow_export_stats *stats)
{
	return export_walk(dp, 0, emit, ctx, stats);
}

int xs_flow_export_all(const struct xs_dataplane *dp, xs_flow_share_emit emit,
		       void *ctx, struct xs_flow_export_stats *stats)
{
	return export_walk(dp, 1, emit, ctx, stats);
}

/* This host's backends by (VIP, pool, family, address): its id. */
struct backend_index {
	__u32 slots; /* a power of two */
	__u32 *ids;
	const struct xs_backend *backends;
};

static __u32 backend_hash(__u32 vip_id, __u8 pool, __u8 family,
			  const __be32 *address)
{
	__u32 words[6] = { vip_id, ((__u32)pool << 8) | family };

	memcpy(&words[2], address, 4 * sizeof(__u32));
	return xs_hash_words(words, 6, 0x62616b65);
}

static int backend_index_build(struct backend_index *ix,
			       const struct xs_backend *backends, __u32 total)
{
	ix->slots = 16;
	while (ix->slots < 2 * total)
		ix->slots <<= 1;
	ix->ids = calloc(ix->slots, sizeof(*ix->ids));
	ix->backends = backends;
	if (!ix->ids)
		return -ENOMEM;
	for (__u32 id = 1; id < total; id++) {
		const struct xs_backend *b = &backends[id];
		__u32 h;

		if (b->state == XS_BACKEND_ABSENT)
			continue;
		h = backend_hash(b->vip_id, b->pool, b->family, b->address);
		while (ix->ids[h & (ix->slots - 1)])
			h++;
		ix->ids[h & (ix->slots - 1)] = id;
	}
	return 0;
}

static __u32 backend_index_find(const struct backend_index *ix, __u32 vip_id,
				const struct xs_flow_share_record *r)
{
	__u32 h = backend_hash(vip_id, r->pool, r->backend_family, r->backend);

	for (;; h++) {
		__u32 id = ix->ids[h & (ix->slots - 1)];
		const struct xs_backend *b = &ix->backends[id];

		if (!id)
			return 0;
		if (b->vip_id == vip_id && b->pool == r->pool &&
		    b->family == r->backend_family &&
		    !memcmp(b->address, r->backend, sizeof(b->address)))
			return id;
	}
}

enum insert_result {
	INSERTED,
	EXISTS,
	NOT_STORED,
	BUSY,
};

/* The way holding key other than `except`, after every BUSY way of the
 * bucket settled (or TRIES looks), or -1. */
static int other_way_with(const struct xs_flow_bucket *bucket,
			  const struct xs_flow_key *key, __u32 tag, int except)
{
	for (int tries = 0; tries < TRIES; tries++) {
		int busy = 0;

		for (int way = 0; way < XS_FLOW_WAYS; way++) {
			__u32 word = xs_flow_way_word(bucket, way);
			struct xs_flow_slot slot;

			if (way == except)
				continue;
			if (word == XS_FLOW_TAG_BUSY) {
				busy = 1;
				continue;
			}
			if (!xs_flow_tag_matches(word, tag))
				continue;
			if (!xs_flow_way_read(bucket, way, word, &slot)) {
				busy = 1;
				continue;
			}
			if (!memcmp(&slot.key, key, sizeof(*key)))
				return way;
		}
		if (!busy)
			return -1;
		sched_yield();
	}
	return -1;
}

static enum insert_result insert_flow(const struct xs_dataplane *dp,
				      const struct xs_flow_key *key,
				      const struct xs_flow *flow, __u32 kind,
				      __u32 *replaced)
{
	__u32 tag, word, mine;
	struct xs_flow_bucket *bucket = xs_flow_bucket_of(dp, key, &tag);

	mine = tag | kind;
	for (int tries = 0; tries < TRIES; tries++) {
		__u16 now = xs_flow_time_now();
		int way;

		/* the program's find: any way BUSY may be this very flow
		 * being stored, so nothing is stored while one is */
		way = other_way_with(bucket, key, tag, -1);
		if (way >= 0)
			return EXISTS;
		way = xs_flow_way_choose(bucket, now, &word);
		if (way < 0)
			return NOT_STORED;
		/* fails if the way changed since it was judged: judge again */
		if (!xs_flow_way_claim(bucket, way, word))
			continue;
		bucket->slot[way].key = *key;
		bucket->slot[way].flow = *flow;
		__atomic_store_n(&bucket->last_seen[way], now,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&bucket->hand, (way + 1) & (XS_FLOW_WAYS - 1),
				 __ATOMIC_RELAXED);
		xs_flow_way_publish(bucket, way, mine);
		/* a packet of the flow stored it meanwhile: its entry wins;
		 * ours goes unless the program changed it already (then it
		 * is in use as it is) */
		if (other_way_with(bucket, key, tag, way) >= 0) {
			if (xs_flow_way_claim(bucket, way, mine)) {
				memset(&bucket->slot[way], 0,
				       sizeof(bucket->slot[way]));
				xs_flow_way_publish(bucket, way,
						    XS_FLOW_TAG_EMPTY);
			}
			return EXISTS;
		}
		*replaced = word;
		return INSERTED;
	}
	return BUSY;
}

static __u64 monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
}

/* What one import walk reads once: the backends by address, the VIPs. */
struct import_context {
	struct xs_dataplane *dp;
	struct xs_backend *backends;
	struct backend_index index;
	struct vip_cache vips;
};

/* The flow a record stores here, on this host's backend id. */
static void flow_of(const struct import_context *c,
		    const struct xs_flow_share_record *r, __u32 vip_id,
		    __u32 id, struct xs_flow *flow)
{
	memset(flow, 0, sizeof(*flow));
	flow->backend_id = id;
	/* epochs are this host's own: the flow is of the pool's present
	 * one, as a flow chosen here now would be */
	flow->epoch = xs_pool_epoch(c->dp, vip_id, r->pool);
	flow->pool = r->pool;
	flow->state = r->state;
	flow->initial_sequence = r->initial_sequence;
	/* a handshake's latency is measured from here on this host
	 * (bpf_ktime_get_ns is CLOCK_MONOTONIC) */
	if (r->state == XS_FLOW_SYN_SEEN)
		flow->syn_time_ns = monotonic_ns();
}

/* What insert_flow did with a flow, counted: an insertion (and what it
 * replaced) in counted, as flow_table_insert() counts, the rest in stats. */
static void count_insert(enum insert_result result, __u32 replaced,
			 bool confirmed, struct xs_flow_import_stats *stats,
			 struct xs_flow_import_stats *counted)
{
	switch (result) {
	case INSERTED:
		counted->imported++;
		counted->imported_pending += !confirmed;
		if (replaced == XS_FLOW_TAG_EMPTY)
			break;
		if (!(replaced & XS_FLOW_WAY_CONFIRMED))
			counted->pending_evicted++;
		else if (replaced & XS_FLOW_WAY_CLOSED)
			counted->closed_replaced++;
		else
			counted->confirmed_evicted++;
		break;
	case EXISTS:
		stats->exists++;
		break;
	case NOT_STORED:
		stats->not_stored++;
		break;
	case BUSY:
		stats->busy++;
		break;
	}
}

/* Stores one record's flow unless it is for something this host does not
 * have; counts what became of it in stats, and what the data plane's
 * counters record in counted. */
static void import_one(struct import_context *c,
		       const struct xs_flow_share_record *record,
		       struct xs_flow_import_stats *stats,
		       struct xs_flow_import_stats *counted)
{
	struct xs_flow_share_record r;
	struct xs_flow_key key;
	struct xs_flow flow;
	struct xs_vip vip;
	__u32 id, replaced = XS_FLOW_TAG_EMPTY;
	bool confirmed;
	enum insert_result result;

	memcpy(&r, record, sizeof(r));
	stats->records++;
	key_of(&r, &key);
	if (!vip_lookup(&c->vips, &key, &vip)) {
		stats->unknown_vip++;
		return;
	}
	id = backend_index_find(&c->index, vip.vip_id, &r);
	if (!id) {
		stats->unknown_backend++;
		return;
	}
	if (!keeps_flows(&c->backends[id])) {
		stats->backend_down++;
		return;
	}
	flow_of(c, &r, vip.vip_id, id, &flow);
	confirmed = r.flags & XS_FLOW_SHARE_CONFIRMED;
	result = insert_flow(c->dp, &key, &flow,
			     confirmed ? XS_FLOW_WAY_CONFIRMED : 0, &replaced);
	count_insert(result, replaced, confirmed, stats, counted);
}

/* Adds a walk's imports to stats and to the data plane's counters. */
static int count_imports(struct xs_dataplane *dp,
			 const struct xs_flow_import_stats *counted,
			 struct xs_flow_import_stats *stats)
{
	int err;

	stats->imported += counted->imported;
	stats->imported_pending += counted->imported_pending;
	stats->pending_evicted += counted->pending_evicted;
	stats->confirmed_evicted += counted->confirmed_evicted;
	stats->closed_replaced += counted->closed_replaced;
	err = xs_counter_add(dp, XS_FLOW_IMPORTED,
			     counted->imported - counted->imported_pending);
	if (!err)
		err = xs_counter_add(dp, XS_FLOW_IMPORTED_PENDING,
				     counted->imported_pending);
	if (!err)
		err = xs_counter_add(dp, XS_FLOW_IMPORT_PENDING_EVICTED,
				     counted->pending_evicted);
	if (!err)
		err = xs_counter_add(dp, XS_FLOW_IMPORT_CONFIRMED_EVICTED,
				     counted->confirmed_evicted);
	if (!err)
		err = xs_counter_add(dp, XS_FLOW_IMPORT_CLOSED_REPLACED,
				     counted->closed_replaced);
	return err;
}

int xs_flow_import(struct xs_dataplane *dp,
		   const struct xs_flow_share_record *records, __u32 count,
		   struct xs_flow_import_stats *stats)
{
	struct xs_flow_import_stats local = { 0 }, counted = { 0 };
	struct import_context c = { .dp = dp };
	__u32 total = dp->config.max_backends;
	int err;

	if (!stats)
		stats = &local;
	if (!xs_dataplane_flows(dp))
		return -errno;
	c.backends = calloc(total, sizeof(*c.backends));
	if (!c.backends)
		return -ENOMEM;
	err = xs_backend_read_all(dp, c.backends);
	if (!err)
		err = backend_index_build(&c.index, c.backends, total);
	if (!err)
		err = vip_cache_init(&c.vips, dp);
	if (err) {
		free(c.index.ids);
		free(c.backends);
		return err;
	}
	for (__u32 i = 0; i < count; i++)
		import_one(&c, &records[i], stats, &counted);
	vip_cache_free(&c.vips);
	free(c.index.ids);
	free(c.backends);
	return count_imports(dp, &counted, stats);
}

int xs_flow_import_chunk(struct xs_dataplane *dp, const void *data, size_t len,
			 struct xs_flow_import_stats *stats)
{
	const struct xs_flow_share_record *records;
	__u32 count;
	int err = xs_flow_share_chunk_parse(data, len, &records, &count, stats);

	if (err)
		return err;
	return xs_flow_import(dp, records, count, stats);
}
