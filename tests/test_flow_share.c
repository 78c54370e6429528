// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow sharing between LB hosts (user/lib/fleet/flow_share.h), with two
 * data planes in one runner standing for two hosts of one ECMP group: same
 * seeds and backends (so the same decisions), their own flow tables, flow
 * seeds, VIP and backend ids. Flows are opened through one host's program,
 * a canary step changes the decision of some, the changed ones are
 * exported, imported into the other host, and the other host's program
 * then sends every connection where it started.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>
#include "user/lib/fleet/flow_share.h"
#include "user/lib/flow_table.h"
#include "user/lib/flow_usage.h"
#include "maps/decision.h"
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define FLOWS 1000
#define SYN 0x02
#define ACK 0x10
#define RST 0x04
#define VIP "10.100.0.1"

struct host {
	struct test_env env;
	struct xs_vip vip;
	__u32 pool_of[256];
};

/* The VIP and its nine backends (10.0.<pool+1>.<1..3>). With `shift`, a
 * VIP and backends of another service come first, so this host's VIP and
 * backend ids are not the other's: nothing shipped may depend on ids. */
static int host_make(struct host *h, const struct xs_load_options *options,
		     int shift)
{
	struct xs_vip_key key;
	char address[32];

	memset(h, 0, sizeof(*h));
	if (options ? env_setup_with(&h->env, options) : env_setup(&h->env))
		return -1;
	if (shift) {
		__u32 other = env_add_vip(&h->env, 4, "10.100.9.9", 443,
					  IPPROTO_TCP, XS_MODE_L2DSR,
					  XS_SPLIT_FLOW, NULL);

		for (int i = 0; i < 5; i++) {
			snprintf(address, sizeof(address), "10.0.9.%d", i + 1);
			env_add_backend(&h->env, other, XS_POOL_BLUE, 4,
					address, 1);
		}
	}
	env_add_vip(&h->env, 4, VIP, 80, IPPROTO_TCP, XS_MODE_L2DSR,
		    XS_SPLIT_FLOW, &key);
	if (xs_vip_read(&h->env.dp, &key, &h->vip))
		return -1;
	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		for (int i = 0; i < 3; i++) {
			snprintf(address, sizeof(address), "10.0.%d.%d",
				 pool + 1, i + 1);
			h->pool_of[env_add_backend(&h->env, h->vip.vip_id, pool,
						   4, address, 1)] = pool;
		}
	return 0;
}

static int host_weights(struct host *h, __u16 canary)
{
	return env_set_weights(&h->env, h->vip.vip_id, XS_WEIGHT_TOTAL - canary,
			       0, canary, XS_POOL_BLUE);
}

/* A backend's address (its first word: IPv4), 0 if none. */
static __be32 address_of(struct host *h, __u32 backend_id)
{
	struct xs_backend backend;

	if (!backend_id || xs_backend_read(&h->env.dp, backend_id, &backend))
		return 0;
	return backend.address[0];
}

static void key_of(const struct flow_source *s, struct xs_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->client_port = htons(s->port);
	key->vip_port = htons(80);
	key->protocol = XS_PROTOCOL_TCP;
	key->family = XS_FAMILY_IPV4;
	parse_address(4, s->client, key->client);
	parse_address(4, VIP, key->vip);
}

static __u32 predicted(struct host *h, const struct flow_source *s)
{
	struct xs_prediction prediction;
	struct xs_flow_key key;

	key_of(s, &key);
	if (xs_predict(&h->env.dp, &h->vip, &key, &prediction))
		return 0;
	return prediction.backend_id;
}

struct collected {
	struct xs_flow_share_record *records;
	__u32 count, capacity;
};

static int collect(const struct xs_flow_share_record *record, void *ctx)
{
	struct collected *c = ctx;

	if (c->count == c->capacity) {
		c->capacity = c->capacity ? c->capacity * 2 : 256;
		c->records =
			realloc(c->records, c->capacity * sizeof(*c->records));
		if (!c->records)
			return -ENOMEM;
	}
	c->records[c->count++] = *record;
	return 0;
}

static int same_flow(const struct xs_flow_share_record *r,
		     const struct xs_flow_key *key)
{
	return !memcmp(r->client, key->client, sizeof(r->client)) &&
	       r->client_port == key->client_port &&
	       !memcmp(r->vip, key->vip, sizeof(r->vip)) &&
	       r->vip_port == key->vip_port && r->protocol == key->protocol;
}

static const struct xs_flow_share_record *
find_record(const struct collected *c, const struct flow_source *s)
{
	struct xs_flow_key key;

	key_of(s, &key);
	for (__u32 i = 0; i < c->count; i++)
		if (same_flow(&c->records[i], &key))
			return &c->records[i];
	return NULL;
}

/* A chunk of c's records, imported; 0 or the import's error. */
static int import_all(struct host *h, const struct collected *c,
		      struct xs_flow_import_stats *stats)
{
	size_t size = xs_flow_share_chunk_size(c->count);
	void *chunk = malloc(size);
	long length;
	int err;

	if (!chunk)
		return -ENOMEM;
	length = xs_flow_share_chunk_write(c->records, c->count, chunk, size);
	err = length < 0 ?
		      (int)length :
		      xs_flow_import_chunk(&h->env.dp, chunk, length, stats);
	free(chunk);
	return err;
}

/* a flow table of 1024 flows, for buckets a test can fill */
static const struct xs_load_options small_table = { .max_vips = 16,
						    .max_backends = 256,
						    .max_flows = 1024,
						    .max_overrides = 64,
						    .maglev_size = 4099 };

/* A connection opened on h (SYN, then an ACK that goes the same way): its
 * backend, 0 if either packet went nowhere or the two parted. */
static __u32 open_connection(struct host *h, const struct flow_source *s)
{
	__u32 backend = send_flow_packet(&h->env, s, VIP, 80, SYN);

	if (!backend || send_flow_packet(&h->env, s, VIP, 80, ACK) != backend)
		return 0;
	return backend;
}

/* Whether h's flow table holds s's flow (with its way's kind if kind). */
static bool flow_found(struct host *h, const struct flow_source *s,
		       struct xs_flow *flow, __u8 *kind)
{
	struct xs_flow_key key;

	key_of(s, &key);
	return !xs_flow_find(&h->env.dp, &key, flow, kind);
}

/* (a) and (b): 1,000 connections opened on host A at a 5% canary; the
 * canary goes to 25%; A exports what changed; B imports it; every
 * connection's next ACK through B's program goes where it started. The
 * controls: A's export before the step (nothing changed, nothing sent),
 * A's export of everything, and host C, which imports nothing, sending
 * exactly the changed connections elsewhere. */
#define SHARE_SEED 21

/* What an independent recount (xs_predict, live, flow by flow) says of
 * an export of the changed flows. */
struct export_recount {
	int moved;	   /* decisions the step changed */
	int mismatched;	   /* flows exported but not moved, or moved, not */
	int wrong_records; /* exported with another backend, pool, state */
};

static void recount_export(struct host *a, const __u32 *started,
			   const struct collected *sent,
			   struct export_recount *count)
{
	struct flow_source flows;

	memset(count, 0, sizeof(*count));
	flow_source_init(&flows, 4, SHARE_SEED);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		const struct xs_flow_share_record *r =
			find_record(sent, &flows);
		int moved = predicted(a, &flows) != started[i];

		count->moved += moved;
		count->mismatched += moved != !!r;
		if (r && (r->backend[0] != address_of(a, started[i]) ||
			  r->pool != a->pool_of[started[i]] ||
			  r->state != XS_FLOW_ESTABLISHED ||
			  !(r->flags & XS_FLOW_SHARE_CONFIRMED)))
			count->wrong_records++;
	}
}

static void print_export_stats(const struct xs_flow_export_stats *changed)
{
	printf("     export stats: ways %llu flows %llu exported %llu unchanged %llu torn %llu no_vip %llu stale %llu\n",
	       (unsigned long long)changed->ways,
	       (unsigned long long)changed->flows,
	       (unsigned long long)changed->exported,
	       (unsigned long long)changed->unchanged,
	       (unsigned long long)changed->torn,
	       (unsigned long long)changed->no_vip,
	       (unsigned long long)changed->stale);
}

/* B imports the changed flows: every record stored, and the entry
 * counts see them as confirmed. */
static int import_into_b(struct host *b, const struct collected *sent)
{
	struct xs_flow_import_stats imported = { 0 };
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];

	CHECK_OK(import_all(b, sent, &imported));
	printf("     host B imported %llu of %llu (exists %llu, not stored %llu, refused %llu)\n",
	       (unsigned long long)imported.imported,
	       (unsigned long long)imported.records,
	       (unsigned long long)imported.exists,
	       (unsigned long long)imported.not_stored,
	       (unsigned long long)(imported.unknown_vip +
				    imported.unknown_backend +
				    imported.backend_down));
	CHECK(imported.imported == sent->count &&
		      imported.records == sent->count,
	      "not every record stored");
	CHECK_OK(xs_flow_usage_read(&b->env.dp, usage));
	printf("     host B's entry counts after the import: %llu confirmed, %llu pending (flow_imported %llu)\n",
	       (unsigned long long)usage[XS_FLOW_TABLE_CONFIRMED].entries,
	       (unsigned long long)usage[XS_FLOW_TABLE_PENDING].entries,
	       (unsigned long long)env_counter(&b->env, XS_FLOW_IMPORTED));
	CHECK(usage[XS_FLOW_TABLE_CONFIRMED].entries == sent->count &&
		      !usage[XS_FLOW_TABLE_PENDING].entries,
	      "the entry counts do not see the imported flows");
	return 0;
}

/* the same chunk again, and into the exporter itself: every flow is
 * there already, the local entry wins */
static int import_again_changes_nothing(struct host *a, struct host *b,
					const struct collected *sent)
{
	struct xs_flow_import_stats again = { 0 }, home = { 0 };

	CHECK_OK(import_all(b, sent, &again));
	CHECK_OK(import_all(a, sent, &home));
	printf("     imported again into B: exists %llu; into A (the exporter): exists %llu\n",
	       (unsigned long long)again.exists,
	       (unsigned long long)home.exists);
	CHECK(again.exists == sent->count && !again.imported &&
		      home.exists == sent->count && !home.imported,
	      "an import replaced a local entry");
	return 0;
}

/* ECMP moves every connection: its next ACK reaches B (or C). 0 if it
 * went where it started on B, and on C exactly where it did not move;
 * B's program found the imported entries and went on with them. */
static int next_acks_on_b_and_c(struct host *a, struct host *b, struct host *c,
				const __u32 *started,
				const struct collected *sent, int recount)
{
	int astray_b = 0, astray_c = 0, astray_b_unexported = 0, failed = 0;
	struct flow_source flows;

	flow_source_init(&flows, 4, SHARE_SEED);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		__be32 origin = address_of(a, started[i]);
		__u32 on_b = send_flow_packet(&b->env, &flows, VIP, 80, ACK);
		__u32 on_c = send_flow_packet(&c->env, &flows, VIP, 80, ACK);

		astray_b += address_of(b, on_b) != origin;
		astray_b_unexported += !find_record(sent, &flows) &&
				       address_of(b, on_b) != origin;
		astray_c += address_of(c, on_c) != origin;
	}
	printf("     next ACKs through host B (imported): %d of %d not where they started (%d of the unexported); through host C (no import, the control): %d\n",
	       astray_b, FLOWS, astray_b_unexported, astray_c);
	failed |= astray_b != 0;
	failed |= astray_c != recount;
	failed |= env_counter(&b->env, XS_FLOW_MIDSTREAM_PICKUP) !=
		  (__u64)(FLOWS - recount);
	return failed ? -1 : 0;
}

static int changed_flows_follow_their_connections(const void *arg)
{
	static __u32 started[FLOWS];
	struct xs_flow_export_stats before, changed, everything;
	struct collected none = { 0 }, sent = { 0 }, all = { 0 };
	struct export_recount recount;
	static struct host a, b, c;
	struct flow_source flows;
	int failed = 0;

	(void)arg;
	CHECK_OK(host_make(&a, NULL, 0));
	CHECK_OK(host_make(&b, NULL, 1));
	CHECK_OK(host_make(&c, NULL, 1));
	CHECK_OK(host_weights(&a, 500));
	flow_source_init(&flows, 4, SHARE_SEED);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows))
		CHECK((started[i] = open_connection(&a, &flows)),
		      "flow %d not opened", i);
	CHECK_OK(xs_flow_export_changed(&a.env.dp, collect, &none, &before));

	/* the canary step, on every host */
	CHECK_OK(host_weights(&a, 2500));
	CHECK_OK(host_weights(&b, 2500));
	CHECK_OK(host_weights(&c, 2500));
	CHECK_OK(xs_flow_export_changed(&a.env.dp, collect, &sent, &changed));
	CHECK_OK(xs_flow_export_all(&a.env.dp, collect, &all, &everything));

	recount_export(&a, started, &sent, &recount);
	printf("     export before the step: %u records (%llu flows walked); after: %u records, recount %d, %d disagree, %d records wrong; export of all: %u records\n",
	       none.count, (unsigned long long)before.flows, sent.count,
	       recount.moved, recount.mismatched, recount.wrong_records,
	       all.count);
	print_export_stats(&changed);
	CHECK(none.count == 0 && before.flows == FLOWS,
	      "an export before any change sent %u", none.count);
	/* about 20% of the flows are in [7500, 9500) of the split */
	CHECK(recount.moved > FLOWS / 10 && recount.moved < FLOWS / 3,
	      "the step changed %d of %d decisions", recount.moved, FLOWS);
	CHECK((int)sent.count == recount.moved && !recount.mismatched &&
		      !recount.wrong_records &&
		      changed.exported == sent.count &&
		      changed.unchanged == (__u64)(FLOWS - recount.moved),
	      "the export is not the changed flows");
	CHECK(all.count == FLOWS && everything.exported == FLOWS,
	      "export of all: %u", all.count);

	CHECK_OK(import_into_b(&b, &sent));
	CHECK_OK(import_again_changes_nothing(&a, &b, &sent));
	failed =
		next_acks_on_b_and_c(&a, &b, &c, started, &sent, recount.moved);
	free(none.records);
	free(sent.records);
	free(all.records);
	env_teardown(&a.env);
	env_teardown(&b.env);
	env_teardown(&c.env);
	return failed ? -1 : 0;
}

/* A handshake under way across the step (SYN seen on A, no ACK yet) is
 * exported unconfirmed and imported pending, with its SYN's sequence
 * number: on B a retransmission of that SYN stays where the SYN went, the
 * ACK goes there too and confirms it, so a flood of first packets on one
 * host never becomes confirmed entries on the others. */
#define HANDSHAKES 400

/* On B, for each exported handshake: found pending, then its SYN again
 * (same ISN: send_flow_packet's) and its ACK go where the SYN went on A,
 * and the ACK confirms it. */
struct handshakes_on_b {
	int pending, astray, confirmed_after;
};

static void complete_handshakes_on_b(struct host *a, struct host *b,
				     const __u32 *started,
				     const struct collected *sent,
				     struct handshakes_on_b *seen)
{
	struct flow_source flows;

	memset(seen, 0, sizeof(*seen));
	flow_source_init(&flows, 4, 71);
	for (int i = 0; i < HANDSHAKES; i++, flow_source_next(&flows)) {
		struct xs_flow flow;
		__u8 kind = 0;
		__u32 on_b;

		if (!find_record(sent, &flows))
			continue;
		seen->pending += flow_found(b, &flows, &flow, &kind) &&
				 !(kind & XS_FLOW_WAY_CONFIRMED);
		/* the SYN again (same ISN: send_flow_packet's), then the ACK */
		on_b = send_flow_packet(&b->env, &flows, VIP, 80, SYN);
		seen->astray += address_of(b, on_b) !=
				address_of(a, started[i]);
		on_b = send_flow_packet(&b->env, &flows, VIP, 80, ACK);
		seen->astray += address_of(b, on_b) !=
				address_of(a, started[i]);
		seen->confirmed_after += flow_found(b, &flows, &flow, &kind) &&
					 (kind & XS_FLOW_WAY_CONFIRMED);
	}
}

static int handshake_under_way_is_imported_pending(const void *arg)
{
	static __u32 started[HANDSHAKES];
	struct collected sent = { 0 };
	struct xs_flow_import_stats imported = { 0 };
	struct handshakes_on_b on_b;
	static struct host a, b;
	struct flow_source flows;
	int flagged = 0;

	(void)arg;
	CHECK_OK(host_make(&a, NULL, 0));
	CHECK_OK(host_make(&b, NULL, 1));
	CHECK_OK(host_weights(&a, 500));
	flow_source_init(&flows, 4, 71);
	for (int i = 0; i < HANDSHAKES; i++, flow_source_next(&flows))
		CHECK((started[i] =
			       send_flow_packet(&a.env, &flows, VIP, 80, SYN)),
		      "SYN %d", i);
	CHECK_OK(host_weights(&a, 2500));
	CHECK_OK(host_weights(&b, 2500));
	CHECK_OK(xs_flow_export_changed(&a.env.dp, collect, &sent, NULL));
	for (__u32 i = 0; i < sent.count; i++)
		flagged +=
			!!(sent.records[i].flags & XS_FLOW_SHARE_CONFIRMED) ||
			sent.records[i].state != XS_FLOW_SYN_SEEN ||
			!sent.records[i].initial_sequence;
	CHECK_OK(import_all(&b, &sent, &imported));
	complete_handshakes_on_b(&a, &b, started, &sent, &on_b);
	printf("     %u handshakes under way exported (%d not marked pending with their SYN); B imported %llu, %llu pending; on B: %d found pending, %d packets (SYN again, ACK) not where the SYN went, %d confirmed by the ACK\n",
	       sent.count, flagged, (unsigned long long)imported.imported,
	       (unsigned long long)imported.imported_pending, on_b.pending,
	       on_b.astray, on_b.confirmed_after);
	CHECK(sent.count > HANDSHAKES / 10 && !flagged, "the export");
	CHECK(imported.imported == sent.count &&
		      imported.imported_pending == sent.count &&
		      on_b.pending == (int)sent.count,
	      "not imported pending");
	CHECK(!on_b.astray && on_b.confirmed_after == (int)sent.count,
	      "the handshake did not complete where it started");
	CHECK(env_counter(&b.env, XS_FLOW_RECHOSEN_NEW_SYN) == 0,
	      "a retransmitted SYN was taken for a new connection");
	free(sent.records);
	env_teardown(&a.env);
	env_teardown(&b.env);
	return 0;
}

/* n flow sources (kept) whose keys fall in the bucket of the first. */
static int same_bucket(struct host *h, __u64 seed, struct flow_source *out,
		       int n)
{
	struct flow_source s;
	const struct xs_flow_bucket *bucket = NULL;
	int found = 0;

	flow_source_init(&s, 4, seed);
	for (int tries = 0; tries < 10000000 && found < n;
	     tries++, flow_source_next(&s)) {
		struct xs_flow_key key;
		const struct xs_flow_bucket *b;

		key_of(&s, &key);
		b = xs_flow_bucket_of(&h->env.dp, &key, NULL);
		if (!bucket)
			bucket = b;
		if (b == bucket)
			out[found++] = s;
	}
	return found == n ? 0 : -1;
}

/* A record for s, sent to the canary's first backend whatever the
 * weights say. */
static void record_for(const struct flow_source *s,
		       struct xs_flow_share_record *r)
{
	memset(r, 0, sizeof(*r));
	parse_address(4, s->client, r->client);
	parse_address(4, VIP, r->vip);
	r->client_port = htons(s->port);
	r->vip_port = htons(80);
	r->protocol = IPPROTO_TCP;
	r->family = XS_FAMILY_IPV4;
	parse_address(4, "10.0.3.1", r->backend);
	r->backend_family = XS_FAMILY_IPV4;
	r->pool = XS_POOL_CANARY;
	r->state = XS_FLOW_ESTABLISHED;
	r->flags = XS_FLOW_SHARE_CONFIRMED;
}

static int import_one(struct host *h, const struct xs_flow_share_record *r,
		      struct xs_flow_import_stats *stats)
{
	return xs_flow_import(&h->env.dp, r, 1, stats);
}

/* How many of keys[0..count) h holds with the backend they were given
 * (and, if confirmed, in a confirmed way). */
static int count_intact(struct host *h, const struct flow_source *keys,
			const __u32 *backend, int count, bool confirmed)
{
	int intact = 0;

	for (int i = 0; i < count; i++) {
		struct xs_flow flow;
		__u8 kind = 0;

		intact += flow_found(h, &keys[i], &flow,
				     confirmed ? &kind : NULL) &&
			  flow.backend_id == backend[i] &&
			  (!confirmed || (kind & XS_FLOW_WAY_CONFIRMED));
	}
	return intact;
}

/* Whether the import of r for s stored it confirmed with r's backend, and
 * s's next ACK goes there. */
static bool import_stored_and_forwards(struct host *h,
				       const struct flow_source *s,
				       const struct xs_flow_share_record *r)
{
	struct xs_flow flow;
	__u8 kind;

	return flow_found(h, s, &flow, &kind) &&
	       address_of(h, flow.backend_id) == r->backend[0] &&
	       (kind & XS_FLOW_WAY_CONFIRMED) &&
	       send_flow_packet(&h->env, s, VIP, 80, ACK) == flow.backend_id;
}

/* (c): a bucket full of live connections takes no import (not_stored) and
 * keeps every one; the control: with one of them only pending (a SYN, no
 * ACK), the import takes that way, and the live seven stay. */
static int import_never_displaces_a_live_flow(const void *arg)
{
	struct flow_source keys[XS_FLOW_WAYS + 1];
	struct xs_flow_import_stats full = { 0 }, pending = { 0 };
	struct xs_flow_share_record r;
	__u32 backend[XS_FLOW_WAYS];
	static struct host h;
	int intact, intact_after, stored_control;

	(void)arg;
	CHECK_OK(host_make(&h, &small_table, 0));
	CHECK_OK(same_bucket(&h, 31, keys, XS_FLOW_WAYS + 1));
	for (int i = 0; i < XS_FLOW_WAYS; i++)
		CHECK((backend[i] = open_connection(&h, &keys[i])), "flow %d",
		      i);
	record_for(&keys[XS_FLOW_WAYS], &r);
	CHECK_OK(import_one(&h, &r, &full));
	intact = count_intact(&h, keys, backend, XS_FLOW_WAYS, true);

	/* the control: the last of the eight opened again, left pending */
	CHECK_OK(env_clear_flows(&h.env));
	for (int i = 0; i < XS_FLOW_WAYS; i++) {
		backend[i] = send_flow_packet(&h.env, &keys[i], VIP, 80, SYN);
		if (i < XS_FLOW_WAYS - 1)
			send_flow_packet(&h.env, &keys[i], VIP, 80, ACK);
	}
	CHECK_OK(import_one(&h, &r, &pending));
	intact_after = count_intact(&h, keys, backend, XS_FLOW_WAYS - 1, false);
	stored_control =
		import_stored_and_forwards(&h, &keys[XS_FLOW_WAYS], &r);
	printf("     full bucket of live flows: imported %llu, not stored %llu, %d of 8 intact; control (one pending): imported %llu, evicted %llu, %d of 7 live intact, the import's flow forwarded by it: %s\n",
	       (unsigned long long)full.imported,
	       (unsigned long long)full.not_stored, intact,
	       (unsigned long long)pending.imported,
	       (unsigned long long)pending.pending_evicted, intact_after,
	       stored_control ? "yes" : "no");
	CHECK(full.imported == 0 && full.not_stored == 1 &&
		      intact == XS_FLOW_WAYS,
	      "a live flow was displaced");
	CHECK(pending.imported == 1 && pending.pending_evicted == 1 &&
		      intact_after == XS_FLOW_WAYS - 1 && stored_control,
	      "the control did not store");
	env_teardown(&h.env);
	return 0;
}

/* Four copies of good, each made unplaceable in its own way, imported in
 * one call: each refused and counted, none imported. */
static int refuse_unplaceable_records(struct host *h,
				      const struct xs_flow_share_record *good,
				      struct xs_flow_share_record *records,
				      struct xs_flow_import_stats *stats)
{
	for (int i = 0; i < 4; i++)
		records[i] = *good;
	parse_address(4, "10.200.0.1", records[0].vip);	  /* no such VIP */
	parse_address(4, "10.0.9.9", records[1].backend); /* not its backend */
	records[2].pool = XS_POOL_BLUE;	   /* a canary backend, called blue */
	records[3].vip_port = htons(8080); /* no VIP on that port */
	CHECK_OK(xs_flow_import(&h->env.dp, records, 4, stats));
	CHECK(stats->unknown_vip == 2 && stats->unknown_backend == 2 &&
		      stats->imported == 0,
	      "records: vip %llu backend %llu imported %llu",
	      (unsigned long long)stats->unknown_vip,
	      (unsigned long long)stats->unknown_backend,
	      (unsigned long long)stats->imported);
	return 0;
}

/* A chunk of two good records, each time harmed in one of its bytes or
 * its length, refused with its error; *refusals counts them. */
static int refuse_bad_chunks(struct host *h,
			     const struct xs_flow_share_record *records,
			     struct xs_flow_import_stats *stats, int *refusals)
{
	__u8 chunk[xs_flow_share_chunk_size(4) + 64];
	long length;
	int err;

#define REFUSED(expected_err, mutate)                                          \
	do {                                                                   \
		length = xs_flow_share_chunk_write(records, 2, chunk,          \
						   sizeof(chunk));             \
		CHECK(length > 0, "write");                                    \
		mutate;                                                        \
		err = xs_flow_import_chunk(&h->env.dp, chunk, length, stats);  \
		CHECK(err == (expected_err), "%s: %d", #mutate, err);          \
		(*refusals)++;                                                 \
	} while (0)
	REFUSED(-EINVAL, chunk[0] ^= 1);		   /* magic */
	REFUSED(-EPROTONOSUPPORT, chunk[5] = 2);	   /* version */
	REFUSED(-EINVAL, chunk[7] = 48);		   /* record size */
	REFUSED(-EINVAL, chunk[11] = 3);		   /* count 3, 2 sent */
	REFUSED(-EINVAL, length -= 1);			   /* short */
	REFUSED(-EINVAL, length += 64);			   /* trailing bytes */
	REFUSED(-EINVAL, chunk[15] = 1);		   /* reserved */
	REFUSED(-EINVAL, chunk[16 + 64 + 37] = 5);	   /* family 5 */
	REFUSED(-EINVAL, chunk[16 + 56] = 9);		   /* backend family */
	REFUSED(-EINVAL, chunk[16 + 57] = XS_POOL_COUNT);  /* pool */
	REFUSED(-EINVAL, chunk[16 + 58] = XS_FLOW_CLOSED); /* state */
	REFUSED(-EINVAL, chunk[16 + 36] = IPPROTO_ICMP);   /* protocol */
	REFUSED(-EINVAL, chunk[16 + 59] = 2);		   /* unknown flag */
	REFUSED(-EINVAL, chunk[16 + 4] = 1);		   /* IPv4 word 1 */
	REFUSED(-EINVAL, length = 8);			   /* no header */
#undef REFUSED
	return 0;
}

/* (d): records this host cannot place and malformed chunks are refused,
 * counted, and leave the table as it was, byte for byte; a good record
 * in a bad chunk is not imported either. */
static int import_refuses_what_it_cannot_place(const void *arg)
{
	struct xs_flow_import_stats stats = { 0 };
	struct xs_flow_share_record records[4], good;
	struct flow_source s;
	static struct host h;
	size_t table;
	__u8 chunk[xs_flow_share_chunk_size(4) + 64];
	void *before;
	long length;
	int refusals = 0;

	(void)arg;
	CHECK_OK(host_make(&h, &small_table, 0));
	flow_source_init(&s, 4, 41);
	for (int i = 0; i < 50; i++, flow_source_next(&s))
		send_flow_packet(&h.env, &s, VIP, 80, SYN);
	table = (size_t)xs_flow_buckets(h.env.dp.config.max_flows) *
		sizeof(struct xs_flow_bucket);
	before = malloc(table);
	CHECK(before, "memory");
	memcpy(before, xs_dataplane_flows(&h.env.dp), table);

	flow_source_next(&s);
	record_for(&s, &good);
	CHECK_OK(refuse_unplaceable_records(&h, &good, records, &stats));

	/* chunks: good records, bad frames */
	records[0] = good;
	records[1] = good;
	flow_source_next(&s);
	record_for(&s, &records[1]);
	CHECK_OK(refuse_bad_chunks(&h, records, &stats, &refusals));
	printf("     records refused: unknown VIP %llu, unknown backend %llu; chunks refused %llu of %d bad ones; table %s\n",
	       (unsigned long long)stats.unknown_vip,
	       (unsigned long long)stats.unknown_backend,
	       (unsigned long long)stats.chunks_refused, refusals,
	       memcmp(before, xs_dataplane_flows(&h.env.dp), table) ?
		       "CHANGED" :
		       "unchanged");
	CHECK(stats.chunks_refused == (__u64)refusals && stats.records == 4 &&
		      stats.imported == 0,
	      "chunk refusals not counted");
	CHECK(!memcmp(before, xs_dataplane_flows(&h.env.dp), table),
	      "the table changed");
	/* the control: the same chunk, unharmed, is imported */
	length = xs_flow_share_chunk_write(records, 2, chunk, sizeof(chunk));
	CHECK_OK(xs_flow_import_chunk(&h.env.dp, chunk, length, &stats));
	CHECK(stats.imported == 2, "the good chunk: %llu",
	      (unsigned long long)stats.imported);
	free(before);
	env_teardown(&h.env);
	return 0;
}

/* (e): imports and removals of one set of flows while another thread runs
 * the program on another set in the same buckets (SYN, ACK, ACK, RST, a new
 * SYN: inserts, confirmations, closes, rewrites) and a third walks the
 * whole table all along, reading each way as the program does. Every
 * entry read, at any moment, must be a pair that was written: an imported
 * key with its record's backend, a program key with the program's choice.
 * The control runs the same race with an importer that skips the claim
 * (publishes the tag, writes the slot in place, slowly, as a writer that
 * ignored the protocol would): the walker must catch torn entries then, or
 * it proves nothing. */
#define RACE_FLOWS 600
#define RACE_ROUNDS 60

#define RACE_SECONDS 1.5
#define KEY_SLOTS 4096 /* a power of two above 2 * RACE_FLOWS */

struct race {
	struct host *h;
	struct flow_source imp[RACE_FLOWS], prog[RACE_FLOWS];
	__u32 imp_backend[RACE_FLOWS], prog_choice[RACE_FLOWS];
	/* every key written, and the backend written with it */
	struct xs_flow_key keys[2 * RACE_FLOWS];
	__u32 backend_of[2 * RACE_FLOWS];
	int slot_of[KEY_SLOTS]; /* 1 + index into keys, 0 empty */
	volatile int stop;
	unsigned long packets, walks, entries, wrong;
};

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *run_program(void *arg)
{
	struct race *r = arg;
	__u32 sequence = 1;

	while (!r->stop) {
		for (int i = 0; i < RACE_FLOWS && !r->stop; i++) {
			struct packet_spec spec = {
				.family = 4,
				.client = r->prog[i].client,
				.vip = VIP,
				.client_port = r->prog[i].port,
				.vip_port = 80,
				.protocol = IPPROTO_TCP,
			};
			struct run_result result;
			static const __u8 flags[] = { SYN, ACK, ACK, RST };

			spec.tcp_flags = flags[(sequence + i) % 4];
			spec.tcp_sequence = sequence * 7919 + i;
			env_run_spec(&r->h->env, &spec, &result);
			r->packets++;
		}
		sequence++;
	}
	return NULL;
}

/* One walk of the table: entries read whole that are no written pair. */
static unsigned long walk_table(struct race *r, unsigned long *entries)
{
	__u32 buckets = xs_flow_buckets(r->h->env.dp.config.max_flows);
	const struct xs_flow_bucket *flows = xs_dataplane_flows(&r->h->env.dp);
	unsigned long wrong = 0;

	for (__u32 b = 0; b < buckets; b++)
		for (int way = 0; way < XS_FLOW_WAYS; way++) {
			const struct xs_flow_bucket *bucket = &flows[b];
			__u32 word = xs_flow_way_word(bucket, way);
			struct xs_flow_slot slot;
			int known = 0;

			if (word == XS_FLOW_TAG_EMPTY ||
			    word == XS_FLOW_TAG_BUSY ||
			    !xs_flow_way_read(bucket, way, word, &slot))
				continue;
			(*entries)++;
			for (__u32 h = xs_flow_table_hash(&slot.key, 0);; h++) {
				int k = r->slot_of[h & (KEY_SLOTS - 1)] - 1;

				if (k < 0)
					break;
				if (!memcmp(&r->keys[k], &slot.key,
					    sizeof(slot.key))) {
					known = slot.flow.backend_id ==
								r->backend_of[k] ?
							1 :
							-1;
					break;
				}
			}
			wrong += known != 1;
		}
	return wrong;
}

static void *run_walker(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		r->wrong += walk_table(r, &r->entries);
		r->walks++;
	}
	return NULL;
}

/* The control's importer: no claim, tag first, then the slot with a pause
 * between the key and the flow. */
static void import_without_claim(struct host *h,
				 const struct xs_flow_share_record *records,
				 const __u32 *backend_ids, int count)
{
	for (int i = 0; i < count; i++) {
		struct xs_flow_share_record r = records[i];
		struct xs_flow_bucket *bucket;
		struct xs_flow_key key;
		__u32 tag, word;
		int way;

		key.vlan_id = 0;
		memset(&key, 0, sizeof(key));
		memcpy(key.client, r.client, sizeof(key.client));
		memcpy(key.vip, r.vip, sizeof(key.vip));
		key.client_port = r.client_port;
		key.vip_port = r.vip_port;
		key.protocol = r.protocol;
		key.family = r.family;
		bucket = xs_flow_bucket_of(&h->env.dp, &key, &tag);
		way = xs_flow_way_choose(bucket, xs_flow_time_now(), &word);
		if (way < 0)
			way = i % XS_FLOW_WAYS; /* and over a live one, too */
		__atomic_store_n(&bucket->tag[way], tag | XS_FLOW_WAY_CONFIRMED,
				 __ATOMIC_RELAXED);
		bucket->slot[way].key = key;
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		bucket->slot[way].flow.backend_id = backend_ids[i];
		bucket->slot[way].flow.pool = r.pool;
		bucket->slot[way].flow.state = r.state;
	}
}

/* The race's flows: RACE_FLOWS to import, each with a record to its own
 * canary backend, then RACE_FLOWS for the program with the backend it will
 * choose; every key in the race's hash of written pairs. */
static void race_prepare(struct race *race, struct host *h,
			 struct xs_flow_share_record *records)
{
	struct flow_source s;

	flow_source_init(&s, 4, 51);
	for (int i = 0; i < RACE_FLOWS; i++, flow_source_next(&s)) {
		struct xs_backend backend;

		race->imp[i] = s;
		record_for(&s, &records[i]);
		/* each its own canary backend, whatever the weights say */
		records[i].backend[0] = htonl(0x0a000301 + i % 3);
		for (__u32 id = 1; id < 16; id++)
			if (!xs_backend_read(&h->env.dp, id, &backend) &&
			    backend.state &&
			    backend.address[0] == records[i].backend[0])
				race->imp_backend[i] = id;
	}
	for (int i = 0; i < RACE_FLOWS; i++, flow_source_next(&s)) {
		race->prog[i] = s;
		race->prog_choice[i] = predicted(h, &s);
	}
	for (int k = 0; k < 2 * RACE_FLOWS; k++) {
		__u32 hash;

		key_of(k < RACE_FLOWS ? &race->imp[k] :
					&race->prog[k - RACE_FLOWS],
		       &race->keys[k]);
		race->backend_of[k] = k < RACE_FLOWS ?
					      race->imp_backend[k] :
					      race->prog_choice[k - RACE_FLOWS];
		hash = xs_flow_table_hash(&race->keys[k], 0);
		while (race->slot_of[hash & (KEY_SLOTS - 1)])
			hash++;
		race->slot_of[hash & (KEY_SLOTS - 1)] = k + 1;
	}
}

/* Rounds of imports (claimed, or the control's without) and removals of
 * the imported flows, at least RACE_ROUNDS and RACE_SECONDS; how many. */
static int race_import_rounds(struct race *race, struct host *h,
			      const struct xs_flow_share_record *records,
			      int claim, struct xs_flow_import_stats *stats)
{
	double until = now_seconds() + RACE_SECONDS;
	int rounds = 0;

	for (; rounds < RACE_ROUNDS || now_seconds() < until; rounds++) {
		if (claim)
			xs_flow_import(&h->env.dp, records, RACE_FLOWS, stats);
		else
			import_without_claim(h, records, race->imp_backend,
					     RACE_FLOWS);
		for (int i = 0; i < RACE_FLOWS; i++) {
			struct xs_flow_key key;

			key_of(&race->imp[i], &key);
			xs_flow_remove(&h->env.dp, &key);
		}
	}
	return rounds;
}

static void print_race(const struct race *race, struct host *h, int claim,
		       int rounds, const struct xs_flow_import_stats *stats,
		       unsigned long final_wrong)
{
	printf("     %s: %d rounds of %d imports and removals against %lu packets of %d other flows in %u buckets; imported %llu, exists %llu, not stored %llu, busy %llu, evicted %llu pending %llu confirmed, closed replaced %llu; %lu concurrent walks read %lu entries: %lu not a pair that was written (%lu at the end)\n",
	       claim ? "claim, write, publish" : "control, no claim", rounds,
	       RACE_FLOWS, race->packets, RACE_FLOWS,
	       xs_flow_buckets(h->env.dp.config.max_flows),
	       (unsigned long long)stats->imported,
	       (unsigned long long)stats->exists,
	       (unsigned long long)stats->not_stored,
	       (unsigned long long)stats->busy,
	       (unsigned long long)stats->pending_evicted,
	       (unsigned long long)stats->confirmed_evicted,
	       (unsigned long long)stats->closed_replaced, race->walks,
	       race->entries, race->wrong, final_wrong);
}

static int race_imports(int claim, unsigned long *wrong_out)
{
	static struct xs_flow_share_record records[RACE_FLOWS];
	struct xs_flow_import_stats stats = { 0 };
	static struct race race;
	static struct host h;
	pthread_t program, walker;
	unsigned long final_entries = 0, final_wrong;
	int rounds;

	memset(&race, 0, sizeof(race));
	CHECK_OK(host_make(&h, &small_table, 0));
	CHECK_OK(host_weights(&h, 3000));
	race.h = &h;
	race_prepare(&race, &h, records);
	CHECK(xs_dataplane_flows(&h.env.dp), "no mapping");
	CHECK(!pthread_create(&program, NULL, run_program, &race), "thread");
	CHECK(!pthread_create(&walker, NULL, run_walker, &race), "thread");
	rounds = race_import_rounds(&race, &h, records, claim, &stats);
	race.stop = 1;
	pthread_join(program, NULL);
	pthread_join(walker, NULL);
	final_wrong = walk_table(&race, &final_entries);
	print_race(&race, &h, claim, rounds, &stats, final_wrong);
	*wrong_out = race.wrong + final_wrong;
	CHECK(race.packets > 0 && race.walks > 0, "nothing raced");
	CHECK(!claim || stats.imported > 0, "nothing imported");
	env_teardown(&h.env);
	return 0;
}

static int import_races_the_program(const void *arg)
{
	unsigned long wrong = 0, control = 0;

	(void)arg;
	CHECK_OK(race_imports(1, &wrong));
	CHECK_OK(race_imports(0, &control));
	CHECK(!wrong, "%lu torn entries", wrong);
	CHECK(control > 0,
	      "the control (no claim) tore nothing: the race does not show");
	return 0;
}

const struct test_case *flow_share_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "flow share: the changed flows are exported, imported, and follow their connections to another host",
		  changed_flows_follow_their_connections, NULL },
		{ "flow share: a handshake under way is imported pending and completes where it started",
		  handshake_under_way_is_imported_pending, NULL },
		{ "flow share: an import never displaces a live confirmed flow",
		  import_never_displaces_a_live_flow, NULL },
		{ "flow share: unknown VIPs and backends and bad chunks are refused, the table unchanged",
		  import_refuses_what_it_cannot_place, NULL },
		{ "flow share: imports race the program on the same buckets without a torn entry",
		  import_races_the_program, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
