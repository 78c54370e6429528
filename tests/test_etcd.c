// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client against real etcd members (each test starts its own and
 * removes it, also when it fails), and against a broken HTTP server of the
 * test's own. Skipped when there is no etcd binary.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "user/lib/fleet/base64.h"
#include "user/lib/fleet/etcd.h"
#include "user/lib/fleet/keys.h"
#include "etcd_server.h"
#include "tests.h"

#define TIMEOUT_MS 2000

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

struct single {
	struct etcd_server server;
	struct xs_etcd *etcd;
};

/* Runs body against a fresh one-member etcd, then removes it. */
static int with_single(int (*body)(struct single *))
{
	struct single s = { 0 };
	char error[512];
	int rc = -1;

	if (!etcd_server_binary())
		SKIP("no etcd binary (%s; or set XDPSPLIT_ETCD)",
		     ETCD_SERVER_BINARY);
	if (etcd_server_start(&s.server, "solo")) {
		fprintf(stderr, "    couldn't start etcd\n");
		goto out;
	}
	const char *endpoints[] = { s.server.client_url };
	s.etcd = xs_etcd_open(endpoints, 1, TIMEOUT_MS, error, sizeof(error));
	if (!s.etcd) {
		fprintf(stderr, "    %s\n", error);
		goto out;
	}
	rc = body(&s);
out:
	xs_etcd_close(s.etcd);
	etcd_server_remove(&s.server);
	return rc;
}

static const char binary_value[] = { 0, (char)0xff, '\n', '"', '\\', 0, 'x' };
static const char binary_key[] = { 'b', 'i', 'n', '/', (char)0xfe, 0, 1 };

/* /t/a, the binary value at /t/b, the binary key (empty) and /u outside
 * /t/, at three revisions one after another. */
static int put_round_trip_keys(struct xs_etcd *etcd, int64_t *rev1,
			       int64_t *rev2, int64_t *rev3)
{
	char error[512];

	CHECK_OK(xs_etcd_put(etcd, "/t/a", 0, "one", 3, 0, rev1, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, "/t/b", 0, binary_value,
			     sizeof(binary_value), 0, rev2, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, binary_key, sizeof(binary_key), "", 0, 0,
			     rev3, error, sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, "/u", 0, "outside", 7, 0, NULL, error,
			     sizeof(error)));
	CHECK(*rev1 > 0 && *rev2 == *rev1 + 1 && *rev3 == *rev2 + 1,
	      "revisions %lld %lld %lld", (long long)*rev1, (long long)*rev2,
	      (long long)*rev3);
	return 0;
}

/* The binary value (put at rev2) and the binary key read back whole. */
static int binary_reads_back(struct xs_etcd *etcd, int64_t rev2)
{
	struct xs_etcd_range range;
	char error[512];

	CHECK_OK(xs_etcd_get(etcd, "/t/b", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 1 && range.count == 1, "%zu kvs",
	      range.kv_count);
	CHECK(range.kvs[0].value_length == sizeof(binary_value) &&
		      !memcmp(range.kvs[0].value, binary_value,
			      sizeof(binary_value)),
	      "binary value changed on the way (%zu bytes)",
	      range.kvs[0].value_length);
	CHECK(range.kvs[0].create_revision == rev2 &&
		      range.kvs[0].mod_revision == rev2 &&
		      range.kvs[0].version == 1 && range.kvs[0].lease == 0,
	      "kv metadata");
	CHECK(range.revision >= rev2, "header revision %lld",
	      (long long)range.revision);
	xs_etcd_range_free(&range);

	CHECK_OK(xs_etcd_get(etcd, binary_key, sizeof(binary_key), 0, 0, &range,
			     error, sizeof(error)));
	CHECK(range.kv_count == 1 &&
		      range.kvs[0].key_length == sizeof(binary_key) &&
		      !memcmp(range.kvs[0].key, binary_key,
			      sizeof(binary_key)) &&
		      range.kvs[0].value_length == 0,
	      "binary key");
	xs_etcd_range_free(&range);
	return 0;
}

/* A prefix, a limit, a serializable read and an absent key. */
static int ranges_read(struct xs_etcd *etcd)
{
	struct xs_etcd_range range;
	char error[512];

	CHECK_OK(xs_etcd_get(etcd, "/t/", 0, XS_ETCD_PREFIX, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 2 && !strcmp(range.kvs[0].key, "/t/a") &&
		      !strcmp(range.kvs[0].value, "one") &&
		      !strcmp(range.kvs[1].key, "/t/b"),
	      "prefix /t/ gave %zu kvs", range.kv_count);
	xs_etcd_range_free(&range);

	/* limit: one kv, but the count of all and "more" */
	CHECK_OK(xs_etcd_get(etcd, "/t/", 0, XS_ETCD_PREFIX, 1, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 1 && range.count == 2 && range.more,
	      "limit 1: %zu kvs, count %lld", range.kv_count,
	      (long long)range.count);
	xs_etcd_range_free(&range);

	/* serializable read of the one member */
	CHECK_OK(xs_etcd_get(etcd, "/u", 0, XS_ETCD_SERIALIZABLE, 0, &range,
			     error, sizeof(error)));
	CHECK(range.kv_count == 1 && !strcmp(range.kvs[0].value, "outside"),
	      "serializable");
	xs_etcd_range_free(&range);

	CHECK_OK(xs_etcd_get(etcd, "/absent", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 0, "an absent key read %zu kvs",
	      range.kv_count);
	xs_etcd_range_free(&range);
	return 0;
}

/* The prefix delete takes /t/ (both keys, at rev3 + 2) and not /u;
 * deleting nothing deletes nothing; an empty key is refused. */
static int prefix_delete(struct xs_etcd *etcd, int64_t rev3)
{
	struct xs_etcd_range range;
	int64_t deleted, after;
	char error[512];

	CHECK_OK(xs_etcd_delete(etcd, "/t/", 0, XS_ETCD_PREFIX, &deleted,
				&after, error, sizeof(error)));
	CHECK(deleted == 2 && after == rev3 + 2, "deleted %lld at %lld",
	      (long long)deleted, (long long)after);
	CHECK_OK(xs_etcd_get(etcd, "/t/", 0, XS_ETCD_PREFIX, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 0, "prefix delete left %zu", range.kv_count);
	xs_etcd_range_free(&range);
	CHECK_OK(
		xs_etcd_get(etcd, "/u", 0, 0, 0, &range, error, sizeof(error)));
	CHECK(range.kv_count == 1, "the prefix delete reached /u");
	xs_etcd_range_free(&range);

	CHECK_OK(xs_etcd_delete(etcd, "/nothing", 0, 0, &deleted, NULL, error,
				sizeof(error)));
	CHECK(deleted == 0, "deleting nothing");
	CHECK(xs_etcd_put(etcd, "", 0, "x", 1, 0, NULL, error, sizeof(error)) ==
		      -EINVAL,
	      "an empty key");
	return 0;
}

static int round_trip(struct single *s)
{
	int64_t rev1, rev2, rev3;

	CHECK_OK(put_round_trip_keys(s->etcd, &rev1, &rev2, &rev3));
	CHECK_OK(binary_reads_back(s->etcd, rev2));
	CHECK_OK(ranges_read(s->etcd));
	CHECK_OK(prefix_delete(s->etcd, rev3));
	return 0;
}

/* The leader election's shape: create if absent, else read the holder. */
static int create_if_absent(struct xs_etcd *etcd, const char *key,
			    const char *value,
			    struct xs_etcd_txn_result *result)
{
	char error[512];
	struct xs_etcd_compare absent = { .key = key,
					  .target = XS_ETCD_CREATE,
					  .result = XS_ETCD_EQUAL,
					  .number = 0 };
	struct xs_etcd_op put = { .type = XS_ETCD_OP_PUT,
				  .key = key,
				  .value = value,
				  .value_length = strlen(value) };
	struct xs_etcd_op get = { .type = XS_ETCD_OP_RANGE, .key = key };
	int err = xs_etcd_txn(etcd, &absent, 1, &put, 1, &get, 1, result, error,
			      sizeof(error));

	if (err)
		fprintf(stderr, "    %s\n", error);
	return err;
}

static int txn_create(struct single *s)
{
	struct xs_etcd_txn_result first, second;

	CHECK_OK(create_if_absent(s->etcd, "/leader", "host-a", &first));
	CHECK(first.succeeded && first.response_count == 1 &&
		      first.responses[0].type == XS_ETCD_OP_PUT &&
		      first.revision > 0,
	      "first creation: succeeded %d, %zu responses", first.succeeded,
	      first.response_count);
	CHECK_OK(create_if_absent(s->etcd, "/leader", "host-b", &second));
	CHECK(!second.succeeded && second.response_count == 1 &&
		      second.responses[0].type == XS_ETCD_OP_RANGE &&
		      second.responses[0].range.kv_count == 1,
	      "second creation: succeeded %d, %zu responses", second.succeeded,
	      second.response_count);
	CHECK(!strcmp(second.responses[0].range.kvs[0].value, "host-a") &&
		      second.responses[0].range.kvs[0].create_revision ==
			      first.revision,
	      "the holder read is '%s'",
	      second.responses[0].range.kvs[0].value);
	xs_etcd_txn_result_free(&first);
	xs_etcd_txn_result_free(&second);
	return 0;
}

static int count_keys(struct xs_etcd *etcd, const char *prefix)
{
	struct xs_etcd_range range;
	char error[512];
	int n;

	if (xs_etcd_get(etcd, prefix, 0, XS_ETCD_PREFIX, 0, &range, error,
			sizeof(error))) {
		fprintf(stderr, "    %s\n", error);
		return -1;
	}
	n = (int)range.kv_count;
	xs_etcd_range_free(&range);
	return n;
}

/* A flow export's txn: chunk 0 put, and one range delete of the chunks
 * past the new export's, however many the last one had, and no other
 * host's (lb10, lb1-x, lb1 with no slash). */
static int txn_range_delete(struct single *s)
{
	static const char *const others[] = { "/f/flows/lb10/000000",
					      "/f/flows/lb1-x/000005",
					      "/f/flows/lb1", "/f/flows/lb10" };
	char key[XS_FLEET_KEY_SIZE], from[XS_FLEET_KEY_SIZE],
		end[XS_FLEET_KEY_SIZE], error[512];
	struct xs_etcd_txn_result result;

	for (size_t i = 0; i < 150; i++) {
		CHECK_OK(xs_fleet_flows_key(key, sizeof(key), "/f/", "lb1", i));
		CHECK_OK(xs_etcd_put(s->etcd, key, 0, "old", 3, 0, NULL, error,
				     sizeof(error)));
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CHECK_OK(xs_etcd_put(s->etcd, others[i], 0, "x", 1, 0, NULL,
				     error, sizeof(error)));
	CHECK_OK(xs_fleet_flows_key(key, sizeof(key), "/f/", "lb1", 0));
	CHECK_OK(
		xs_fleet_flows_range(from, end, sizeof(from), "/f/", "lb1", 2));
	struct xs_etcd_op ops[] = {
		{ .type = XS_ETCD_OP_PUT,
		  .key = key,
		  .value = "new",
		  .value_length = 3 },
		{ .type = XS_ETCD_OP_DELETE, .key = from, .range_end = end },
	};
	CHECK_OK(xs_etcd_txn(s->etcd, NULL, 0, ops, 2, NULL, 0, &result, error,
			     sizeof(error)));
	CHECK(result.response_count == 2 && result.responses[1].deleted == 148,
	      "deleted %lld of the 148 stale chunks",
	      result.response_count == 2 ?
		      (long long)result.responses[1].deleted :
		      -1LL);
	xs_etcd_txn_result_free(&result);
	CHECK(count_keys(s->etcd, "/f/flows/lb1/") == 2,
	      "lb1 keeps chunks 0 and 1: %d",
	      count_keys(s->etcd, "/f/flows/lb1/"));
	CHECK(count_keys(s->etcd, "/f/flows/") == 6,
	      "another host's key went too: %d of 6 keys left",
	      count_keys(s->etcd, "/f/flows/"));
	/* a range end with a put, with a prefix, or empty: refused */
	ops[0].range_end = end;
	CHECK(xs_etcd_txn(s->etcd, NULL, 0, ops, 1, NULL, 0, &result, error,
			  sizeof(error)) == -EINVAL,
	      "a put with a range end");
	xs_etcd_txn_result_free(&result);
	ops[1].flags = XS_ETCD_PREFIX;
	CHECK(xs_etcd_txn(s->etcd, NULL, 0, ops + 1, 1, NULL, 0, &result, error,
			  sizeof(error)) == -EINVAL,
	      "a range end with a prefix");
	xs_etcd_txn_result_free(&result);
	ops[1].flags = 0;
	ops[1].range_end = "";
	CHECK(xs_etcd_txn(s->etcd, NULL, 0, ops + 1, 1, NULL, 0, &result, error,
			  sizeof(error)) == -EINVAL,
	      "an empty range end");
	xs_etcd_txn_result_free(&result);
	CHECK(count_keys(s->etcd, "/f/flows/") == 6, "a refused txn wrote");
	return 0;
}

/* Of two writers that read /weights at read_at, the first's txn puts its
 * value and the second's fails, changing nothing. */
static int stale_writer_fails(struct xs_etcd *etcd, int64_t read_at)
{
	struct xs_etcd_txn_result result;
	struct xs_etcd_range range;
	char error[512];
	struct xs_etcd_compare unchanged = { .key = "/weights",
					     .target = XS_ETCD_MOD,
					     .result = XS_ETCD_EQUAL,
					     .number = read_at };
	struct xs_etcd_op fresh = { .type = XS_ETCD_OP_PUT,
				    .key = "/weights",
				    .value = "v2-fresh",
				    .value_length = 8 };
	struct xs_etcd_op stale = { .type = XS_ETCD_OP_PUT,
				    .key = "/weights",
				    .value = "v2-stale",
				    .value_length = 8 };

	CHECK_OK(xs_etcd_txn(etcd, &unchanged, 1, &fresh, 1, NULL, 0, &result,
			     error, sizeof(error)));
	CHECK(result.succeeded && result.revision == read_at + 1,
	      "the fresh writer");
	xs_etcd_txn_result_free(&result);
	CHECK_OK(xs_etcd_txn(etcd, &unchanged, 1, &stale, 1, NULL, 0, &result,
			     error, sizeof(error)));
	CHECK(!result.succeeded && result.response_count == 0 &&
		      result.revision == read_at + 1,
	      "the stale writer's txn succeeded");
	xs_etcd_txn_result_free(&result);
	CHECK_OK(xs_etcd_get(etcd, "/weights", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 1 && !strcmp(range.kvs[0].value, "v2-fresh"),
	      "value %s", range.kv_count ? range.kvs[0].value : "(none)");
	xs_etcd_range_free(&range);
	return 0;
}

/* A txn on every other compare target of /weights (value, version, mod,
 * lease, create) succeeds, and deletes and reads in one go. */
static int other_compare_targets(struct xs_etcd *etcd, int64_t read_at)
{
	struct xs_etcd_txn_result result;
	char error[512];
	struct xs_etcd_compare others[] = {
		{ .key = "/weights",
		  .target = XS_ETCD_VALUE,
		  .result = XS_ETCD_EQUAL,
		  .value = "v2-fresh",
		  .value_length = 8 },
		{ .key = "/weights",
		  .target = XS_ETCD_VERSION,
		  .result = XS_ETCD_GREATER,
		  .number = 1 },
		{ .key = "/weights",
		  .target = XS_ETCD_MOD,
		  .result = XS_ETCD_LESS,
		  .number = read_at + 100 },
		{ .key = "/weights",
		  .target = XS_ETCD_LEASE,
		  .result = XS_ETCD_EQUAL,
		  .number = 0 },
		{ .key = "/weights",
		  .target = XS_ETCD_CREATE,
		  .result = XS_ETCD_EQUAL,
		  .number = read_at },
	};
	struct xs_etcd_op both[] = {
		{ .type = XS_ETCD_OP_DELETE, .key = "/weights" },
		{ .type = XS_ETCD_OP_RANGE, .key = "/weights" },
	};
	CHECK_OK(xs_etcd_txn(etcd, others, 5, both, 2, NULL, 0, &result, error,
			     sizeof(error)));
	CHECK(result.succeeded && result.response_count == 2 &&
		      result.responses[0].type == XS_ETCD_OP_DELETE &&
		      result.responses[0].deleted == 1 &&
		      result.responses[1].type == XS_ETCD_OP_RANGE &&
		      result.responses[1].range.kv_count == 0,
	      "value/version/mod/lease/create compares and delete+range");
	xs_etcd_txn_result_free(&result);
	return 0;
}

/* Compare-and-swap on mod_revision: of two writers that read the same
 * revision, the second fails; VALUE and VERSION compares too. */
static int txn_mod_revision(struct single *s)
{
	int64_t read_at;
	char error[512];

	CHECK_OK(xs_etcd_put(s->etcd, "/weights", 0, "v1", 2, 0, &read_at,
			     error, sizeof(error)));
	CHECK_OK(stale_writer_fails(s->etcd, read_at));
	CHECK_OK(other_compare_targets(s->etcd, read_at));
	return 0;
}

static int leases(struct single *s)
{
	struct xs_etcd_range range;
	int64_t id, ttl, left, other;
	char error[512];
	double deadline;

	CHECK_OK(xs_etcd_lease_grant(s->etcd, 2, &id, &ttl, error,
				     sizeof(error)));
	CHECK(id != 0 && ttl >= 2, "lease %lld ttl %lld", (long long)id,
	      (long long)ttl);
	CHECK_OK(xs_etcd_put(s->etcd, "/hosts/a", 0, "alive", 5, id, NULL,
			     error, sizeof(error)));
	/* kept alive past its TTL, it stays */
	for (int i = 0; i < 5; i++) {
		usleep(600 * 1000);
		CHECK(xs_etcd_lease_keepalive(s->etcd, id, &left, error,
					      sizeof(error)) == 0,
		      "keepalive: %s", error);
		CHECK(left >= 1, "ttl left %lld", (long long)left);
	}
	CHECK_OK(xs_etcd_get(s->etcd, "/hosts/a", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 1 && range.kvs[0].lease == id,
	      "the leased key after keepalives");
	xs_etcd_range_free(&range);
	/* left alone, it expires and takes the key */
	deadline = now() + ttl + 4;
	for (;;) {
		CHECK_OK(xs_etcd_get(s->etcd, "/hosts/a", 0, 0, 0, &range,
				     error, sizeof(error)));
		size_t n = range.kv_count;

		xs_etcd_range_free(&range);
		if (!n)
			break;
		CHECK(now() < deadline, "the leased key outlived its lease");
		usleep(100 * 1000);
	}
	CHECK(xs_etcd_lease_keepalive(s->etcd, id, &left, error,
				      sizeof(error)) == -ENOENT,
	      "keepalive of an expired lease");
	printf("     expired lease: %s\n", error);
	/* revoke: the key goes at once; a second revoke: unknown */
	CHECK_OK(xs_etcd_lease_grant(s->etcd, 30, &other, NULL, error,
				     sizeof(error)));
	CHECK_OK(xs_etcd_put(s->etcd, "/hosts/b", 0, "x", 1, other, NULL, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_lease_revoke(s->etcd, other, error, sizeof(error)));
	CHECK_OK(xs_etcd_get(s->etcd, "/hosts/b", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 0, "revoke left the key");
	xs_etcd_range_free(&range);
	CHECK(xs_etcd_lease_revoke(s->etcd, other, error, sizeof(error)) ==
		      -ENOENT,
	      "a second revoke: %s", error);
	CHECK(xs_etcd_put(s->etcd, "/hosts/c", 0, "x", 1, other, NULL, error,
			  sizeof(error)) == -ENOENT,
	      "a put on a revoked lease: %s", error);
	return 0;
}

/* ---- watch ---- */

#define MAX_EVENTS 16

struct seen {
	atomic_int count;
	atomic_int ends;       /* end-of-response calls */
	atomic_int ends_after; /* ... of which after the 4th event */
	enum xs_etcd_event_type type[MAX_EVENTS];
	char key[MAX_EVENTS][16];
	char value[MAX_EVENTS][16];
	int64_t revision[MAX_EVENTS];
};

static int record(void *ctx, const struct xs_etcd_event *event)
{
	struct seen *seen = ctx;
	int i = atomic_load(&seen->count);

	if (!event) { /* the end of a response: counted */
		atomic_fetch_add(&seen->ends, 1);
		if (i >= 4)
			atomic_fetch_add(&seen->ends_after, 1);
		return 0;
	}

	if (i >= MAX_EVENTS)
		return -E2BIG;
	seen->type[i] = event->type;
	snprintf(seen->key[i], sizeof(seen->key[i]), "%s", event->kv->key);
	snprintf(seen->value[i], sizeof(seen->value[i]), "%s",
		 event->kv->value);
	seen->revision[i] = event->revision;
	atomic_store(&seen->count, i + 1);
	return 0;
}

struct watcher {
	struct xs_etcd *etcd;
	const char *key;
	unsigned int flags;
	int64_t start;
	struct seen seen;
	volatile int stop;
	struct xs_etcd_watch_status status;
	char error[512];
	int result;
	atomic_int done;
	double returned_at;
};

static void *watch_thread(void *arg)
{
	struct watcher *w = arg;

	w->result = xs_etcd_watch(w->etcd, w->key, 0, w->flags, w->start,
				  record, &w->seen, &w->stop, &w->status,
				  w->error, sizeof(w->error));
	w->returned_at = now();
	atomic_store(&w->done, 1);
	return NULL;
}

static int wait_for(atomic_int *value, int at_least, int timeout_ms)
{
	double deadline = now() + timeout_ms / 1000.0;

	while (atomic_load(value) < at_least) {
		if (now() > deadline)
			return -1;
		usleep(10 * 1000);
	}
	return 0;
}

/* The history watch_in_order() watches from its second entry: /w/a put
 * at *first, /w/b, /other outside the prefix, /w/a deleted and put again. */
static int write_watch_history(struct xs_etcd *etcd, int64_t *first)
{
	char error[512];

	CHECK_OK(xs_etcd_put(etcd, "/w/a", 0, "1", 1, 0, first, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, "/w/b", 0, "2", 1, 0, NULL, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, "/other", 0, "x", 1, 0, NULL, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_delete(etcd, "/w/a", 0, 0, NULL, NULL, error,
				sizeof(error)));
	CHECK_OK(xs_etcd_put(etcd, "/w/a", 0, "3", 1, 0, NULL, error,
			     sizeof(error)));
	return 0;
}

/* The four events seen: the history from /w/b on (without /other), then
 * the live put at revision live; the status at the live put. */
static int check_watched_events(const struct watcher *w, int64_t first,
				int64_t live)
{
	const struct seen *e = &w->seen;

	CHECK(atomic_load(&e->count) == 4, "%d events", atomic_load(&e->count));
	CHECK(e->type[0] == XS_ETCD_EVENT_PUT && !strcmp(e->key[0], "/w/b") &&
		      !strcmp(e->value[0], "2") && e->revision[0] == first + 1,
	      "event 0: %s", e->key[0]);
	CHECK(e->type[1] == XS_ETCD_EVENT_DELETE &&
		      !strcmp(e->key[1], "/w/a") && e->revision[1] == first + 3,
	      "event 1: %s at %lld", e->key[1], (long long)e->revision[1]);
	CHECK(e->type[2] == XS_ETCD_EVENT_PUT && !strcmp(e->value[2], "3") &&
		      e->revision[2] == first + 4,
	      "event 2");
	CHECK(e->type[3] == XS_ETCD_EVENT_PUT && !strcmp(e->key[3], "/w/c") &&
		      e->revision[3] == live,
	      "event 3 (live)");
	CHECK(w->status.last_revision == live && w->status.created_revision > 0,
	      "status: last %lld", (long long)w->status.last_revision);
	return 0;
}

static int watch_in_order(struct single *s)
{
	struct watcher w = { .key = "/w/", .flags = XS_ETCD_PREFIX };
	const char *endpoints[] = { s->server.client_url };
	int64_t first, live;
	char error[512];
	pthread_t thread;
	double stopped;

	CHECK_OK(write_watch_history(s->etcd, &first));
	/* its own handle: a handle belongs to one thread at a time */
	w.etcd = xs_etcd_open(endpoints, 1, TIMEOUT_MS, error, sizeof(error));
	CHECK(w.etcd, "%s", error);
	w.start = first + 1; /* from /w/b on */
	CHECK(!pthread_create(&thread, NULL, watch_thread, &w), "thread");
	if (wait_for(&w.seen.count, 3, 3000)) {
		w.stop = 1;
		pthread_join(thread, NULL);
		xs_etcd_close(w.etcd);
		CHECK(0, "the history: %d events (%s)",
		      atomic_load(&w.seen.count), w.error);
	}
	int err = xs_etcd_put(s->etcd, "/w/c", 0, "live", 4, 0, &live, error,
			      sizeof(error));
	int got = wait_for(&w.seen.count, 4, 3000);

	/* silent now: stop must still end it quickly */
	usleep(300 * 1000);
	stopped = now();
	w.stop = 1;
	int returned = wait_for(&w.done, 1, 1000);

	pthread_join(thread, NULL);
	xs_etcd_close(w.etcd);
	CHECK_OK(err);
	CHECK(!got, "the live put was not seen (%d events)",
	      atomic_load(&w.seen.count));
	CHECK(!returned, "the watch did not return within 1 s of stop");
	CHECK(w.result == 0, "watch returned %d: %s", w.result, w.error);
	printf("     watch returned %.0f ms after stop\n",
	       (w.returned_at - stopped) * 1000);
	CHECK(w.returned_at - stopped < 0.3, "stop took %.0f ms",
	      (w.returned_at - stopped) * 1000);
	/* the live put's response ended with its own end-of-response call */
	CHECK(atomic_load(&w.seen.ends) >= 2 &&
		      atomic_load(&w.seen.ends_after) >= 1,
	      "end-of-response calls: %d in all, %d after the live put",
	      atomic_load(&w.seen.ends), atomic_load(&w.seen.ends_after));
	CHECK_OK(check_watched_events(&w, first, live));
	return 0;
}

static int watch_compacted(struct single *s)
{
	struct watcher w = { .key = "/c", .etcd = s->etcd };
	int64_t first, last;
	char error[512];

	CHECK_OK(xs_etcd_put(s->etcd, "/c", 0, "1", 1, 0, &first, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(s->etcd, "/c", 0, "2", 1, 0, NULL, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_put(s->etcd, "/c", 0, "3", 1, 0, &last, error,
			     sizeof(error)));
	CHECK_OK(xs_etcd_compact(s->etcd, last, true, error, sizeof(error)));
	w.start = first;
	watch_thread(&w);
	CHECK(w.result == -ERANGE, "watch from a compacted revision: %d (%s)",
	      w.result, w.error);
	CHECK(w.status.compact_revision == last,
	      "compact revision %lld, not %lld",
	      (long long)w.status.compact_revision, (long long)last);
	CHECK(atomic_load(&w.seen.count) == 0, "events from compacted history");
	printf("     %s\n", w.error);
	/* what the caller does then: read, and watch from there */
	struct xs_etcd_range range;
	CHECK_OK(xs_etcd_get(s->etcd, "/c", 0, 0, 0, &range, error,
			     sizeof(error)));
	CHECK(range.kv_count == 1 && !strcmp(range.kvs[0].value, "3"),
	      "re-read");
	xs_etcd_range_free(&range);
	return 0;
}

/* The member goes away mid-watch: the watch returns at once, saying up
 * to where it delivered, so the caller can resume from there. */
static int watch_disconnect(struct single *s)
{
	struct watcher w = { .key = "/d/", .flags = XS_ETCD_PREFIX };
	const char *endpoints[] = { s->server.client_url };
	char error[512];
	pthread_t thread;
	int64_t revision;
	double killed;

	w.etcd = xs_etcd_open(endpoints, 1, TIMEOUT_MS, error, sizeof(error));
	CHECK(w.etcd, "%s", error);
	CHECK(!pthread_create(&thread, NULL, watch_thread, &w), "thread");
	/* a put after the watch exists: from now on (start 0) */
	usleep(200 * 1000);
	int err = xs_etcd_put(s->etcd, "/d/x", 0, "1", 1, 0, &revision, error,
			      sizeof(error));
	int got = wait_for(&w.seen.count, 1, 3000);

	killed = now();
	etcd_server_kill(&s->server);
	int returned = wait_for(&w.done, 1, 2000);

	if (returned)
		w.stop = 1;
	pthread_join(thread, NULL);
	xs_etcd_close(w.etcd);
	CHECK_OK(err);
	CHECK(!got, "the put was not seen");
	CHECK(!returned, "the watch did not return within 2 s of the kill");
	printf("     watch %d %.0f ms after the kill: %s\n", w.result,
	       (w.returned_at - killed) * 1000, w.error);
	CHECK(w.result < 0 && w.result != -ERANGE, "watch returned %d",
	      w.result);
	CHECK(w.status.last_revision == revision,
	      "last revision %lld, not %lld", (long long)w.status.last_revision,
	      (long long)revision);
	return 0;
}

/* ---- endpoints ---- */

static int failover(struct single *s)
{
	char dead[48], error[512];
	struct xs_etcd_range range;
	int port = etcd_server_free_port();

	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", port);
	const char *endpoints[] = { dead, s->server.client_url };
	struct xs_etcd *etcd =
		xs_etcd_open(endpoints, 2, TIMEOUT_MS, error, sizeof(error));
	double start = now();

	CHECK(etcd, "%s", error);
	int put = xs_etcd_put(etcd, "/f", 0, "ok", 2, 0, NULL, error,
			      sizeof(error));
	char current[48];

	snprintf(current, sizeof(current), "%s", xs_etcd_endpoint(etcd));
	int get =
		xs_etcd_get(etcd, "/f", 0, 0, 0, &range, error, sizeof(error));
	size_t n = range.kv_count;

	xs_etcd_range_free(&range);
	xs_etcd_close(etcd);
	CHECK(put == 0 && get == 0 && n == 1, "put %d get %d: %s", put, get,
	      error);
	CHECK(!strcmp(current, s->server.client_url),
	      "the good endpoint is not remembered: %s", current);
	CHECK(now() - start < 1.0, "failover took %.2f s", now() - start);

	/* every endpoint dead: refused, saying which */
	const char *none[] = { dead };
	etcd = xs_etcd_open(none, 1, TIMEOUT_MS, error, sizeof(error));
	CHECK(etcd, "%s", error);
	int err =
		xs_etcd_get(etcd, "/f", 0, 0, 0, &range, error, sizeof(error));
	xs_etcd_close(etcd);
	CHECK(err == -ECONNREFUSED, "a dead endpoint: %d", err);
	CHECK(strstr(error, dead), "the message names no endpoint: %s", error);
	printf("     %s\n", error);
	return 0;
}

#define RUN_SINGLE(name)                                                       \
	static int run_##name(const void *arg)                                 \
	{                                                                      \
		(void)arg;                                                     \
		return with_single(name);                                      \
	}
RUN_SINGLE(round_trip)
RUN_SINGLE(txn_create)
RUN_SINGLE(txn_mod_revision)
RUN_SINGLE(txn_range_delete)
RUN_SINGLE(leases)
RUN_SINGLE(watch_in_order)
RUN_SINGLE(watch_compacted)
RUN_SINGLE(watch_disconnect)
RUN_SINGLE(failover)

/* ---- three members ---- */

/* With two of three members killed: a read, a write and a watch on the
 * survivor each fail within the timeout, rather than hang. */
static int calls_fail_without_quorum(struct etcd_server *members,
				     struct xs_etcd *etcd)
{
	struct xs_etcd_range range;
	char error[512];
	double start, took;
	int err;

	start = now();
	err = xs_etcd_get(etcd, "/q", 0, 0, 0, &range, error, sizeof(error));
	took = now() - start;
	xs_etcd_range_free(&range);
	printf("     no quorum: get %d in %.2f s: %s\n", err, took, error);
	CHECK(err == -EAGAIN || err == -ETIMEDOUT, "a read without quorum: %d",
	      err);
	CHECK(took < 3 * 1.0 + 0.5, "took %.2f s", took);

	start = now();
	err = xs_etcd_put(etcd, "/q", 0, "lost", 4, 0, NULL, error,
			  sizeof(error));
	took = now() - start;
	printf("     no quorum: put %d in %.2f s: %s\n", err, took, error);
	CHECK(err == -EAGAIN || err == -ETIMEDOUT, "a write without quorum: %d",
	      err);
	CHECK(took < 3 * 1.0 + 0.5, "took %.2f s", took);

	/* a watch on the survivor ends, rather than sit silent */
	const char *survivor[] = { members[2].client_url };
	struct watcher w = { .key = "/q" };
	w.etcd = xs_etcd_open(survivor, 1, 1000, error, sizeof(error));
	CHECK(w.etcd, "%s", error);
	start = now();
	watch_thread(&w);
	took = now() - start;
	xs_etcd_close(w.etcd);
	printf("     no quorum: watch %d in %.2f s: %s\n", w.result, took,
	       w.error);
	CHECK(w.result == -EAGAIN || w.result == -ETIMEDOUT,
	      "a watch without quorum: %d", w.result);
	CHECK(took < 5, "took %.2f s", took);
	return 0;
}

/* The killed members back: the cluster takes a write and reads it. */
static int restart_and_write(struct etcd_server *members, struct xs_etcd *etcd)
{
	struct xs_etcd_range range;
	char error[512];
	int err;

	CHECK_OK(etcd_server_spawn(&members[0], NULL) ? -1 : 0);
	CHECK_OK(etcd_server_spawn(&members[1], NULL) ? -1 : 0);
	CHECK_OK(etcd_server_wait_ready(&members[0], 10000));
	CHECK_OK(etcd_server_wait_ready(&members[1], 10000));
	CHECK_OK(etcd_server_wait_ready(&members[2], 10000));
	err = xs_etcd_put(etcd, "/q", 0, "after", 5, 0, NULL, error,
			  sizeof(error));
	CHECK(err == 0, "put after the restart: %d %s", err, error);
	CHECK_OK(
		xs_etcd_get(etcd, "/q", 0, 0, 0, &range, error, sizeof(error)));
	CHECK(range.kv_count == 1 && !strcmp(range.kvs[0].value, "after"),
	      "read after the restart");
	xs_etcd_range_free(&range);
	return 0;
}

static int cluster_body(struct etcd_server *members, struct xs_etcd *etcd)
{
	struct xs_etcd_range range;
	char error[512];
	double start, took;
	int err;

	CHECK_OK(xs_etcd_put(etcd, "/q", 0, "before", 6, 0, NULL, error,
			     sizeof(error)));
	etcd_server_kill(&members[0]);
	etcd_server_kill(&members[1]);

	CHECK_OK(calls_fail_without_quorum(members, etcd));

	/* once the survivor knows it has no leader, it says so at once */
	start = now();
	err = xs_etcd_get(etcd, "/q", 0, 0, 0, &range, error, sizeof(error));
	took = now() - start;
	xs_etcd_range_free(&range);
	printf("     no leader: get %d in %.2f s\n", err, took);
	CHECK(err == -EAGAIN && took < 0.5,
	      "a read without a leader: %d in %.2f s", err, took);

	/* a serializable read still answers from the survivor */
	CHECK_OK(xs_etcd_get(etcd, "/q", 0, XS_ETCD_SERIALIZABLE, 0, &range,
			     error, sizeof(error)));
	CHECK(range.kv_count == 1 && !strcmp(range.kvs[0].value, "before"),
	      "serializable read");
	xs_etcd_range_free(&range);

	CHECK_OK(restart_and_write(members, etcd));
	return 0;
}

static int run_cluster(const void *arg)
{
	struct etcd_server members[3] = { 0 };
	struct xs_etcd *etcd = NULL;
	char cluster[256], error[512];
	int rc = -1;

	(void)arg;
	if (!etcd_server_binary())
		SKIP("no etcd binary (%s)", ETCD_SERVER_BINARY);
	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "m%d", i);
		if (etcd_server_prepare(&members[i], name))
			goto out;
	}
	etcd_server_cluster(members, 3, cluster, sizeof(cluster));
	for (int i = 0; i < 3; i++)
		if (etcd_server_spawn(&members[i], cluster))
			goto out;
	for (int i = 0; i < 3; i++)
		if (etcd_server_wait_ready(&members[i], 10000))
			goto out;
	const char *endpoints[] = { members[0].client_url,
				    members[1].client_url,
				    members[2].client_url };
	/* 1 s per attempt: a call without quorum ends within 3 s */
	etcd = xs_etcd_open(endpoints, 3, 1000, error, sizeof(error));
	if (!etcd) {
		fprintf(stderr, "    %s\n", error);
		goto out;
	}
	rc = cluster_body(members, etcd);
out:
	xs_etcd_close(etcd);
	for (int i = 0; i < 3; i++)
		etcd_server_remove(&members[i]);
	return rc;
}

/* ---- a broken server ---- */

enum answer {
	ANSWER_NOT_JSON,
	ANSWER_TRUNCATED_JSON, /* a complete HTTP body, half an object */
	ANSWER_CUT_OFF,	       /* Content-Length promises more than comes */
	ANSWER_WRONG_TYPES,
	ANSWER_BAD_BASE64,
	ANSWER_DEEP_NESTING,
	ANSWER_HTML_500,
	ANSWER_HUGE_DECLARED, /* Content-Length: 64 MiB */
	ANSWER_HUGE_STREAMED, /* no length, bytes until the client leaves */
	ANSWER_NOT_HTTP,
	ANSWER_SILENCE,
	ANSWER_WATCH_GARBAGE, /* a watch created, then garbage */
	ANSWER_WATCH_ENDLESS, /* a watch message that never ends */
};

struct broken_server {
	int fd;
	int port;
	atomic_int answer;
	atomic_int stop;
	pthread_t thread;
};

static void send_all(int fd, const char *data, size_t length)
{
	while (length) {
		ssize_t n = send(fd, data, length, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		data += n;
		length -= n;
	}
}

static void send_text(int fd, const char *text)
{
	send_all(fd, text, strlen(text));
}

static void send_chunk(int fd, const char *text)
{
	char size[24];

	snprintf(size, sizeof(size), "%zx\r\n", strlen(text));
	send_text(fd, size);
	send_text(fd, text);
	send_text(fd, "\r\n");
}

static void send_response(int fd, const char *status, const char *body)
{
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, strlen(body));
	send_text(fd, head);
	send_text(fd, body);
}

/* Waits until the client goes (or the server stops, or 5 s). */
static void linger(struct broken_server *b, int fd)
{
	char sink[512];

	for (int i = 0; i < 50 && !atomic_load(&b->stop); i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0 &&
		    recv(fd, sink, sizeof(sink), 0) <= 0)
			return;
	}
}

/* Reads the request's head (and, small as it is, its body), for at most
 * a second of silence. */
static void read_request(int fd)
{
	char request[4096];
	size_t used = 0;

	while (used < sizeof(request) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			break;
		n = recv(fd, request + used, sizeof(request) - 1 - used, 0);
		if (n <= 0)
			break;
		used += n;
		request[used] = '\0';
		char *end = strstr(request, "\r\n\r\n");
		char *length = strcasestr(request, "Content-Length:");
		if (end &&
		    (!length ||
		     (size_t)(end + 4 - request) + atoi(length + 15) <= used))
			break;
	}
}

/* Up to 64 MiB of this byte, until the client leaves or the server stops. */
static void send_endless(struct broken_server *b, int fd, char byte)
{
	static char block[65536];

	memset(block, byte, sizeof(block));
	for (int i = 0; i < 1024 && !atomic_load(&b->stop); i++)
		if (send(fd, block, sizeof(block), MSG_NOSIGNAL) <= 0)
			break;
}

/* The answers that are one fixed text: a response with this status and
 * body, or, with no status, these bytes as they are. */
static const struct {
	enum answer answer;
	const char *status, *text;
} fixed_answers[] = {
	{ ANSWER_NOT_JSON, "200 OK", "this is not JSON at all" },
	{ ANSWER_TRUNCATED_JSON, "200 OK",
	  "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":" },
	{ ANSWER_CUT_OFF, NULL,
	  "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"header\":" },
	{ ANSWER_WRONG_TYPES, "200 OK",
	  "{\"header\":{\"revision\":{}},\"kvs\":\"nope\"}" },
	{ ANSWER_BAD_BASE64, "200 OK",
	  "{\"kvs\":[{\"key\":\"!!not base64\",\"mod_revision\":\"x\"}]}" },
	{ ANSWER_HTML_500, "500 Internal Server Error", "<html>oops</html>" },
	{ ANSWER_NOT_HTTP, NULL, "SSH-2.0-OpenSSH_9.2\r\n\r\n" },
};

/* Sends the answer if it is a fixed one; whether it was. */
static bool send_fixed_answer(int fd, enum answer answer)
{
	for (size_t i = 0; i < sizeof(fixed_answers) / sizeof(fixed_answers[0]);
	     i++) {
		if (fixed_answers[i].answer != answer)
			continue;
		if (fixed_answers[i].status)
			send_response(fd, fixed_answers[i].status,
				      fixed_answers[i].text);
		else
			send_text(fd, fixed_answers[i].text);
		return true;
	}
	return false;
}

static void answer(struct broken_server *b, int fd)
{
	enum answer answer;

	read_request(fd);
	answer = atomic_load(&b->answer);
	if (send_fixed_answer(fd, answer)) {
		close(fd);
		return;
	}
	switch (answer) {
	case ANSWER_DEEP_NESTING: {
		static char deep[20001];
		memset(deep, '[', 10000);
		memset(deep + 10000, ']', 10000);
		send_response(fd, "200 OK", deep);
		break;
	}
	case ANSWER_HUGE_DECLARED:
		send_text(
			fd,
			"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n");
		send_endless(b, fd, ' ');
		break;
	case ANSWER_HUGE_STREAMED:
		send_text(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[");
		send_endless(b, fd, '1');
		break;
	case ANSWER_SILENCE:
		linger(b, fd);
		break;
	case ANSWER_WATCH_GARBAGE:
		send_text(
			fd,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		/* a message split over two chunks, then garbage */
		send_chunk(fd, "{\"result\":{\"head");
		usleep(50 * 1000);
		send_chunk(
			fd,
			"er\":{\"revision\":\"5\"},\"created\":true}}\n{{{{{{");
		linger(b, fd);
		break;
	case ANSWER_WATCH_ENDLESS:
		send_text(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		send_text(
			fd,
			"{\"result\":{\"created\":true}}\n{\"result\":{\"events\":[{\"kv\":{\"value\":\"");
		send_endless(b, fd, 'A');
		break;
	default: /* sent by send_fixed_answer() */
		break;
	}
	close(fd);
}

static void *serve(void *arg)
{
	struct broken_server *b = arg;

	while (!atomic_load(&b->stop)) {
		struct pollfd p = { .fd = b->fd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(b->fd, NULL, NULL);
		if (fd >= 0)
			answer(b, fd);
	}
	return NULL;
}

static int broken_server_start(struct broken_server *b)
{
	struct sockaddr_in address = { .sin_family = AF_INET };
	socklen_t length = sizeof(address);

	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (b->fd < 0 ||
	    bind(b->fd, (struct sockaddr *)&address, sizeof(address)) ||
	    listen(b->fd, 8) ||
	    getsockname(b->fd, (struct sockaddr *)&address, &length))
		return -1;
	b->port = ntohs(address.sin_port);
	return pthread_create(&b->thread, NULL, serve, b) ? -1 : 0;
}

static void broken_server_stop(struct broken_server *b)
{
	atomic_store(&b->stop, 1);
	pthread_join(b->thread, NULL);
	close(b->fd);
}

static const struct {
	enum answer answer;
	const char *what;
	int expected;
} broken_answers[] = {
	{ ANSWER_NOT_JSON, "not JSON", -EPROTO },
	{ ANSWER_TRUNCATED_JSON, "truncated JSON", -EPROTO },
	{ ANSWER_CUT_OFF, "a body cut off", -ECONNRESET },
	{ ANSWER_WRONG_TYPES, "wrong types", -EPROTO },
	{ ANSWER_BAD_BASE64, "bad base64", -EPROTO },
	{ ANSWER_DEEP_NESTING, "10000 nested arrays", -EPROTO },
	{ ANSWER_HTML_500, "an HTML 500", -EPROTO },
	{ ANSWER_HUGE_DECLARED, "64 MiB declared", -EMSGSIZE },
	{ ANSWER_HUGE_STREAMED, "64 MiB streamed", -EMSGSIZE },
	{ ANSWER_NOT_HTTP, "not HTTP", -EPROTO },
	{ ANSWER_SILENCE, "silence", -ETIMEDOUT },
};

/* A get against each broken answer: its error, within 1.5 s. */
static int gets_fail_cleanly(struct broken_server *b, struct xs_etcd *etcd)
{
	char error[512];

	for (size_t i = 0;
	     i < sizeof(broken_answers) / sizeof(broken_answers[0]); i++) {
		struct xs_etcd_range range;
		double start = now();
		int err;

		atomic_store(&b->answer, broken_answers[i].answer);
		err = xs_etcd_get(etcd, "/k", 0, 0, 0, &range, error,
				  sizeof(error));
		xs_etcd_range_free(&range);
		printf("     %-20s get %4d in %.2f s: %.150s\n",
		       broken_answers[i].what, err, now() - start, error);
		CHECK(err == broken_answers[i].expected && now() - start <= 1.5,
		      "%s: %d, expected %d", broken_answers[i].what, err,
		      broken_answers[i].expected);
	}
	return 0;
}

/* a watch: split messages parsed, then garbage; an endless message */
static int watches_fail_cleanly(struct broken_server *b, struct xs_etcd *etcd)
{
	static const struct {
		enum answer answer;
		int expected;
		int64_t created;
	} watches[] = {
		{ ANSWER_WATCH_GARBAGE, -EPROTO, 5 },
		{ ANSWER_WATCH_ENDLESS, -EMSGSIZE, 0 },
		{ ANSWER_NOT_JSON, -EPROTO, 0 },
		{ ANSWER_SILENCE, -ETIMEDOUT, 0 },
	};
	for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++) {
		struct watcher w = { .key = "/k", .etcd = etcd };
		double start = now();

		atomic_store(&b->answer, watches[i].answer);
		watch_thread(&w);
		printf("     watch %d in %.2f s: %.150s\n", w.result,
		       now() - start, w.error);
		CHECK(w.result == watches[i].expected &&
			      w.status.created_revision == watches[i].created &&
			      now() - start <= 2,
		      "watch %zu: %d (created %lld), expected %d", i, w.result,
		      (long long)w.status.created_revision,
		      watches[i].expected);
	}
	return 0;
}

/* the same for a write, whose errors are not repeated elsewhere */
static int put_fails_cleanly(struct broken_server *b, struct xs_etcd *etcd)
{
	char error[512];
	int err;

	atomic_store(&b->answer, ANSWER_NOT_JSON);
	err = xs_etcd_put(etcd, "/k", 0, "v", 1, 0, NULL, error, sizeof(error));
	CHECK(err == -EPROTO, "put on garbage: %d", err);
	return 0;
}

static int broken_body(struct broken_server *b)
{
	char url[48], error[512];
	struct xs_etcd *etcd;
	int err;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", b->port);
	const char *endpoints[] = { url };
	etcd = xs_etcd_open(endpoints, 1, 1000, error, sizeof(error));
	CHECK(etcd, "%s", error);
	err = gets_fail_cleanly(b, etcd);
	if (!err)
		err = put_fails_cleanly(b, etcd);
	if (!err)
		err = watches_fail_cleanly(b, etcd);
	xs_etcd_close(etcd);
	return err;
}

static int run_broken(const void *arg)
{
	struct broken_server b = { .fd = -1 };
	int rc;

	(void)arg;
	if (broken_server_start(&b)) {
		if (b.fd >= 0)
			close(b.fd);
		CHECK(0, "couldn't start the broken server");
	}
	rc = broken_body(&b);
	broken_server_stop(&b);
	return rc;
}

static int base64_cases(const void *arg)
{
	static const struct {
		const char *data, *text;
	} known[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const invalid[] = {
		"Zg=",	    "Zg",	"Z===", "=Zg=",
		"Zg==Zg==", "Zm9v!A==", "Zm=v", "Zm8\n",
	};
	unsigned char all[256];
	size_t length;

	(void)arg;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char *text =
			xs_base64_encode(known[i].data, strlen(known[i].data));
		char *data = xs_base64_decode(known[i].text,
					      strlen(known[i].text), &length);

		CHECK(text && !strcmp(text, known[i].text), "encode '%s': %s",
		      known[i].data, text ? text : "(null)");
		CHECK(data && length == strlen(known[i].data) &&
			      !memcmp(data, known[i].data, length),
		      "decode %s", known[i].text);
		free(text);
		free(data);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char *data = xs_base64_decode(invalid[i], strlen(invalid[i]),
					      &length);

		CHECK(!data && errno == EINVAL, "'%s' decoded", invalid[i]);
	}
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= sizeof(all); n += 37) {
		char *text = xs_base64_encode(all + (256 - n) / 2, n);
		char *data =
			text ? xs_base64_decode(text, strlen(text), &length) :
			       NULL;

		CHECK(data && length == n &&
			      !memcmp(data, all + (256 - n) / 2, n),
		      "round trip of %zu bytes", n);
		free(text);
		free(data);
	}
	return 0;
}

static int open_arguments(const void *arg)
{
	char long_url[400], error[256];
	const char *good[] = { "http://127.0.0.1:2379/" };
	const char *ftp[] = { "ftp://127.0.0.1:2379" };
	const char *too_long[] = { long_url };
	struct xs_etcd *etcd;

	(void)arg;
	memset(long_url, 'a', sizeof(long_url) - 1);
	long_url[sizeof(long_url) - 1] = '\0';
	memcpy(long_url, "http://", 7);
	CHECK(!xs_etcd_open(good, 0, 1000, error, sizeof(error)),
	      "no endpoint");
	CHECK(!xs_etcd_open(good, 1, 0, error, sizeof(error)), "timeout 0");
	CHECK(!xs_etcd_open(ftp, 1, 1000, error, sizeof(error)), "ftp://");
	CHECK(!xs_etcd_open(too_long, 1, 1000, error, sizeof(error)),
	      "a 400-character URL");
	etcd = xs_etcd_open(good, 1, 1000, error, sizeof(error));
	CHECK(etcd, "%s", error);
	CHECK(!strcmp(xs_etcd_endpoint(etcd), "http://127.0.0.1:2379"),
	      "trailing slash kept: %s", xs_etcd_endpoint(etcd));
	xs_etcd_close(etcd);
	xs_etcd_close(NULL);
	return 0;
}

const struct test_case *etcd_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "etcd: base64 of keys and values: RFC 4648 vectors, bad input refused",
		  base64_cases, NULL },
		{ "etcd: open refuses bad endpoints and timeouts",
		  open_arguments, NULL },
		{ "etcd: put, get, prefix, limit and delete round-trip binary keys and values",
		  run_round_trip, NULL },
		{ "etcd: txn create-if-absent (CREATE == 0) succeeds once, then reads the holder",
		  run_txn_create, NULL },
		{ "etcd: txn on MOD revision: a stale writer fails; other compare targets",
		  run_txn_mod_revision, NULL },
		{ "etcd: txn deletes a range of keys: a flow export's stale chunks, no other host's",
		  run_txn_range_delete, NULL },
		{ "etcd: lease keepalive keeps keys, expiry deletes them, then -ENOENT; revoke",
		  run_leases, NULL },
		{ "etcd: watch delivers puts and deletes in order from a start revision, stops promptly",
		  run_watch_in_order, NULL },
		{ "etcd: watch from a compacted revision reports -ERANGE and the compact revision",
		  run_watch_compacted, NULL },
		{ "etcd: watch returns when its member dies, with the last revision delivered",
		  run_watch_disconnect, NULL },
		{ "etcd: failover past a dead endpoint; all dead is -ECONNREFUSED",
		  run_failover, NULL },
		{ "etcd: 3 members, 2 killed: no-quorum calls fail within the timeout; restarted: work",
		  run_cluster, NULL },
		{ "etcd: a broken server (garbage, truncated, huge, silent): clean errors",
		  run_broken, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
