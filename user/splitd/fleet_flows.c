// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flows a change moved, shared through etcd (user/lib/fleet/flow_share.h
 * says what is shared and why). After this host applies a change of its
 * decisions (a route, a document), and every FLOW_REFRESH_MS besides, it
 * writes every flow it holds whose backend today's choice would not give
 * (P flows/HOST/NNNNNN, chunks under its lease, the last export replacing
 * the one before); the other hosts import what they read. A snapshot,
 * not a delta: the latest export of each live host is all a host that
 * joins needs, so it reads them before it announces anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/fleet/etcd.h"
#include "user/lib/fleet/flow_share.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/log.h"
#include "fleet.h"
#include "splitd.h"

/* records per key: well under etcd's 1.5 MiB request (base64 inflates
 * 64-byte records to 86) */
#define FLOWS_PER_CHUNK 8192

struct collected {
	struct xs_flow_share_record *records;
	size_t count, capacity;
};

static int collect(const struct xs_flow_share_record *record, void *context)
{
	struct collected *c = context;

	if (c->count == c->capacity) {
		size_t capacity = c->capacity ? c->capacity * 2 : 1024;
		void *grown = realloc(c->records, capacity * sizeof(*record));

		if (!grown)
			return -ENOMEM;
		c->records = grown;
		c->capacity = capacity;
	}
	c->records[c->count++] = *record;
	return 0;
}

/*
 * Puts chunk `index` of this host's export; chunk 0 also deletes every
 * chunk key of this host from `stale_from` on, one range, so an export
 * that shrinks leaves none of the last one's behind (etcd takes no put of
 * a key a txn also deletes: the range starts past chunk 0).
 */
static int put_chunk(struct xs_etcd *etcd, const struct xs_config_fleet *f,
		     int64_t lease, size_t index, const void *chunk,
		     size_t length, size_t stale_from)
{
	char key[XS_FLEET_KEY_SIZE], from[XS_FLEET_KEY_SIZE],
		end[XS_FLEET_KEY_SIZE], error[512];
	struct xs_etcd_op ops[2];
	struct xs_etcd_txn_result result = { 0 };
	size_t op_count = 0;
	int err;

	if (xs_fleet_flows_key(key, sizeof(key), f->prefix, f->host, index) ||
	    xs_fleet_flows_range(from, end, sizeof(from), f->prefix, f->host,
				 stale_from))
		return -ENAMETOOLONG; /* the config's bounds make it none */
	ops[op_count++] = (struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
					       .key = key,
					       .value = chunk,
					       .value_length = length,
					       .lease = lease };
	if (index == 0)
		ops[op_count++] = (struct xs_etcd_op){
			.type = XS_ETCD_OP_DELETE, .key = from, .range_end = end
		};
	err = xs_etcd_txn(etcd, NULL, 0, ops, op_count, NULL, 0, &result, error,
			  sizeof(error));
	xs_etcd_txn_result_free(&result);
	if (err)
		pr_warn("fleet: couldn't share the flows a change moved: %s\n",
			error);
	return err;
}

int fleet_flows_export(struct daemon *d, struct xs_etcd *etcd,
		       const struct xs_config_fleet *f, int64_t lease)
{
	struct collected c = { 0 };
	struct xs_flow_export_stats stats;
	size_t chunks,
		size = sizeof(struct xs_flow_share_header) +
		       FLOWS_PER_CHUNK * sizeof(struct xs_flow_share_record);
	void *chunk;
	int err;

	err = xs_flow_export_changed(&d->dp, collect, &c, &stats);
	if (err) {
		free(c.records);
		pr_warn("fleet: couldn't walk the flow table: %s\n",
			strerror(-err));
		return err;
	}
	chunk = malloc(size);
	if (!chunk) {
		free(c.records);
		return -ENOMEM;
	}
	chunks = c.count ? (c.count + FLOWS_PER_CHUNK - 1) / FLOWS_PER_CHUNK :
			   1;
	for (size_t i = 0; i < chunks && !err; i++) {
		size_t left = c.count - i * FLOWS_PER_CHUNK;
		long length = xs_flow_share_chunk_write(
			c.records + i * FLOWS_PER_CHUNK,
			(__u32)(left > FLOWS_PER_CHUNK ? FLOWS_PER_CHUNK :
							 left),
			chunk, size);

		err = length < 0 ? (int)length :
				   put_chunk(etcd, f, lease, i, chunk,
					     (size_t)length, chunks);
	}
	if (!err && c.count)
		pr_info("fleet: shared %zu flows a change moved (of %llu open, in %zu chunks)\n",
			c.count, (unsigned long long)stats.flows, chunks);
	free(chunk);
	free(c.records);
	return err;
}

/* What a slow importer may have queued: beyond it the oldest go (the
 * next export of their host brings them again). */
#define MAX_QUEUED_BYTES (64 << 20)

void fleet_flows_queue(struct daemon *d, const struct xs_config_fleet *f,
		       const char *key, const char *value, size_t length)
{
	struct fleet *fleet = d->fleet;
	struct fleet_chunk *chunk;
	const char *rest;
	size_t host;

	rest = strncmp(key, f->prefix, strlen(f->prefix)) ?
		       NULL :
		       key + strlen(f->prefix);
	if (!rest || strncmp(rest, "flows/", 6) || !length)
		return;
	rest += 6;
	host = strcspn(rest, "/");
	if (host == strlen(f->host) && !strncmp(rest, f->host, host))
		return; /* our own */
	if (strlen(key) >= sizeof(chunk->key) || length > MAX_QUEUED_BYTES)
		return;
	chunk = malloc(sizeof(*chunk) + length);
	if (!chunk)
		return;
	chunk->next = NULL;
	snprintf(chunk->key, sizeof(chunk->key), "%s", key);
	chunk->length = length;
	memcpy(chunk->data, value, length);
	pthread_mutex_lock(&fleet->lock);
	if (!fleet->chunks_tail)
		fleet->chunks_tail = &fleet->chunks;
	*fleet->chunks_tail = chunk;
	fleet->chunks_tail = &chunk->next;
	fleet->chunk_bytes += length;
	while (fleet->chunk_bytes > MAX_QUEUED_BYTES &&
	       fleet->chunks != chunk) {
		struct fleet_chunk *oldest = fleet->chunks;

		fleet->chunks = oldest->next;
		fleet->chunk_bytes -= oldest->length;
		pr_warn("fleet: the flows of %s were dropped unread: too many queued\n",
			oldest->key);
		free(oldest);
	}
	pthread_mutex_unlock(&fleet->lock);
}

/* Flows taken in are this host's to share too: if the host that sent
 * them dies, a host that joins later learns them from this one's next
 * export, which they bring about. */
static void import_one(struct daemon *d, const struct fleet_chunk *chunk)
{
	struct xs_flow_import_stats stats = { 0 };
	int err = xs_flow_import_chunk(&d->dp, chunk->data, chunk->length,
				       &stats);

	if (err || stats.chunks_refused) {
		pr_warn("fleet: the flows %s shared are refused (%s)\n",
			chunk->key, err ? strerror(-err) : "a malformed chunk");
		return;
	}
	if (stats.imported)
		__atomic_store_n(&d->fleet->decisions_changed, true,
				 __ATOMIC_RELEASE);
	if (stats.imported || stats.not_stored)
		pr_info("fleet: took %llu flows from %s (%llu here already, %llu not stored, %llu of no VIP or backend here)\n",
			(unsigned long long)stats.imported, chunk->key,
			(unsigned long long)stats.exists,
			(unsigned long long)stats.not_stored,
			(unsigned long long)(stats.unknown_vip +
					     stats.unknown_backend +
					     stats.backend_down));
}

void fleet_flows_import_queued(struct daemon *d)
{
	struct fleet *fleet = d->fleet;
	struct fleet_chunk *chunk;

	pthread_mutex_lock(&fleet->lock);
	chunk = fleet->chunks;
	fleet->chunks = NULL;
	fleet->chunks_tail = &fleet->chunks;
	fleet->chunk_bytes = 0;
	pthread_mutex_unlock(&fleet->lock);
	while (chunk) {
		struct fleet_chunk *next = chunk->next;

		import_one(d, chunk);
		free(chunk);
		chunk = next;
	}
}

void fleet_flows_free(struct fleet *fleet)
{
	while (fleet->chunks) {
		struct fleet_chunk *next = fleet->chunks->next;

		free(fleet->chunks);
		fleet->chunks = next;
	}
}
