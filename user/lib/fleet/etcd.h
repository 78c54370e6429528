/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An etcd v3 client over etcd's JSON gateway (libcurl, json-c): kv, txn,
 * leases and watch. splitd calls it from its own threads, never from its
 * main loop, so every call is bounded in time.
 *
 * Common contract of every call that takes (error, size):
 * - 0 on success; a negative errno otherwise, with a message in error
 *   (what failed, on which endpoint, why). The errno says what a caller
 *   may decide:
 *   -ECONNREFUSED  no endpoint accepted a connection;
 *   -ETIMEDOUT     no answer within the timeout (for a write: the outcome
 *                  is unknown, it may have been applied);
 *   -ECONNRESET    the connection broke before a whole answer came;
 *   -EAGAIN        etcd is there but has no quorum / no leader, or is
 *                  unavailable (gRPC UNAVAILABLE): nothing can be decided;
 *   -ENOENT        the lease asked for does not exist (expired, revoked);
 *   -ERANGE        the revision asked for has been compacted;
 *   -EINVAL        etcd refused the request as invalid, or a bad argument;
 *   -EACCES        authentication or permission refused;
 *   -ECANCELED     etcd canceled the request (a watch, for no reason given);
 *   -ENOSPC        etcd's space quota is exhausted;
 *   -EPROTO        the server's answer is not what the gateway sends
 *                  (not JSON, wrong types, bad base64, an HTTP error);
 *   -EMSGSIZE      the answer exceeded XS_ETCD_MAX_RESPONSE;
 *   -ENOMEM        out of memory; -EIO another etcd error.
 * - No call crashes on any answer, and none holds more than
 *   XS_ETCD_MAX_RESPONSE bytes of one.
 *
 * Endpoints and failover: a request goes to the endpoint that last
 * answered and moves on to the next when it cannot be sent (connection
 * refused, a name that does not resolve) or the member has no quorum
 * (-EAGAIN for "no leader"). Reads and lease keepalives also move on after
 * a timeout, a broken connection or a garbled answer; writes (put, delete,
 * txn, grant, revoke, compact) do not, since they may have been applied:
 * those errors go back to the caller, who re-reads before deciding. Each
 * attempt is bounded by the handle's timeout, so a call takes at most
 * count * timeout_ms.
 *
 * Keys are binary-safe byte strings: each key argument comes with its
 * length, and a length of 0 means "NUL-terminated" (etcd has no empty
 * key). Values are binary-safe and may be empty. Values and keys that come
 * back are NUL-terminated beyond their length, for text.
 *
 * Threads: a handle belongs to one thread at a time (calls on one handle
 * must not overlap). Use one handle per thread; a thread that watches
 * needs its own handle for other calls while the watch runs.
 */
#ifndef XDPSPLIT_FLEET_ETCD_H
#define XDPSPLIT_FLEET_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_ETCD_MAX_RESPONSE (16 << 20)
#define XS_ETCD_MAX_ENDPOINTS 16
#define XS_ETCD_MAX_URL 256

struct xs_etcd;

/*
 * A handle on the cluster at endpoints ("http://10.77.0.201:2379", at
 * least one, at most XS_ETCD_MAX_ENDPOINTS, each an http:// or https:// URL
 * shorter than XS_ETCD_MAX_URL; copied), each attempt bounded
 * by timeout_ms (> 0). Opening makes no connection. NULL with a message
 * for bad arguments or no memory.
 */
struct xs_etcd *xs_etcd_open(const char *const *endpoints, size_t count,
			     int timeout_ms, char *error, size_t size);
/* Closes connections and frees the handle; NULL is fine. */
void xs_etcd_close(struct xs_etcd *etcd);
/* The endpoint the next request goes to first (the last that answered). */
const char *xs_etcd_endpoint(const struct xs_etcd *etcd);

/* Flags of reads and deletes. */
enum {
	/* every key that starts with key (the key "\0" with prefix: all) */
	XS_ETCD_PREFIX = 1 << 0,
	/* read from the member's local state without quorum: may be stale,
	 * answers without a leader. Reads are linearizable without it: a
	 * read that cannot reach a quorum fails (-EAGAIN / -ETIMEDOUT). */
	XS_ETCD_SERIALIZABLE = 1 << 1,
};

/* One key-value as etcd holds it. */
struct xs_etcd_kv {
	char *key; /* key_length bytes, then a NUL */
	size_t key_length;
	char *value; /* value_length bytes, then a NUL */
	size_t value_length;
	int64_t create_revision; /* revision of the put that created it */
	int64_t mod_revision;	 /* revision of its last put */
	int64_t version;	 /* puts since its creation, from 1 */
	int64_t lease;		 /* the lease it is attached to, or 0 */
};

struct xs_etcd_range {
	struct xs_etcd_kv *kvs; /* in key order */
	size_t kv_count;
	int64_t count; /* keys in the range (more than kv_count when limited) */
	bool more;     /* a limit left keys out */
	int64_t revision; /* the store's revision the read saw */
};

/*
 * Reads key (or, with XS_ETCD_PREFIX, every key under it), at most limit
 * kvs (0: no limit), into range, which the caller frees with
 * xs_etcd_range_free (also after an error: it is then empty). A key that
 * does not exist is not an error: kv_count is 0.
 */
int xs_etcd_get(struct xs_etcd *etcd, const char *key, size_t key_length,
		unsigned int flags, int64_t limit, struct xs_etcd_range *range,
		char *error, size_t size);
void xs_etcd_range_free(struct xs_etcd_range *range);

/* Writes value (length bytes, binary) to key, attached to lease (0: none);
 * *revision (may be NULL) is the revision of the write. */
int xs_etcd_put(struct xs_etcd *etcd, const char *key, size_t key_length,
		const void *value, size_t length, int64_t lease,
		int64_t *revision, char *error, size_t size);

/* Deletes key (with XS_ETCD_PREFIX: every key under it); *deleted and
 * *revision (each may be NULL) are how many went and the store's revision
 * after. Deleting nothing is not an error. */
int xs_etcd_delete(struct xs_etcd *etcd, const char *key, size_t key_length,
		   unsigned int flags, int64_t *deleted, int64_t *revision,
		   char *error, size_t size);

/* What a txn compare looks at. */
enum xs_etcd_target {
	XS_ETCD_VERSION, /* number: the key's version (0: absent) */
	XS_ETCD_CREATE,	 /* number: create_revision (0: absent) */
	XS_ETCD_MOD,	 /* number: mod_revision (0: absent) */
	XS_ETCD_VALUE,	 /* value, value_length */
	XS_ETCD_LEASE,	 /* number: the lease id (0: none) */
};

enum xs_etcd_compare_result {
	XS_ETCD_EQUAL,
	XS_ETCD_NOT_EQUAL,
	XS_ETCD_GREATER, /* the key's target > the given one */
	XS_ETCD_LESS,
};

struct xs_etcd_compare {
	const char *key;
	size_t key_length; /* 0: NUL-terminated */
	enum xs_etcd_target target;
	enum xs_etcd_compare_result result;
	int64_t number;	   /* for VERSION, CREATE, MOD, LEASE */
	const void *value; /* for VALUE */
	size_t value_length;
};

enum xs_etcd_op_type {
	XS_ETCD_OP_RANGE,
	XS_ETCD_OP_PUT,
	XS_ETCD_OP_DELETE,
};

struct xs_etcd_op {
	enum xs_etcd_op_type type;
	const char *key;
	size_t key_length;  /* 0: NUL-terminated */
	unsigned int flags; /* XS_ETCD_PREFIX, for RANGE and DELETE */
	/* RANGE and DELETE: every key from key up to, not including, this
	 * one (NUL-terminated, not empty; not with XS_ETCD_PREFIX) */
	const char *range_end;
	const void *value;   /* PUT */
	size_t value_length; /* PUT */
	int64_t lease;	     /* PUT: 0 none */
	int64_t limit;	     /* RANGE: 0 no limit */
};

/* The answer to one op of the branch a txn took. */
struct xs_etcd_op_response {
	enum xs_etcd_op_type type;
	struct xs_etcd_range range; /* RANGE: what it read */
	int64_t deleted;	    /* DELETE: how many keys went */
};

struct xs_etcd_txn_result {
	bool succeeded;	  /* every compare held: the success ops ran */
	int64_t revision; /* the store's revision after the txn */
	struct xs_etcd_op_response *responses; /* one per op that ran */
	size_t response_count;
};

/*
 * If every compare holds, runs the success ops, else the failure ops, as
 * one atomic revision (counts may be 0; etcd allows each key to be written
 * once per txn). result (freed with xs_etcd_txn_result_free, also after
 * an error) says which branch ran and holds each op's response in order.
 * A txn whose compares fail is a success of the call (0, !succeeded).
 */
int xs_etcd_txn(struct xs_etcd *etcd, const struct xs_etcd_compare *compares,
		size_t compare_count, const struct xs_etcd_op *success,
		size_t success_count, const struct xs_etcd_op *failure,
		size_t failure_count, struct xs_etcd_txn_result *result,
		char *error, size_t size);
void xs_etcd_txn_result_free(struct xs_etcd_txn_result *result);

/* A lease of ttl_s seconds (etcd may raise a TTL below its minimum):
 * *id and *granted_ttl_s (may be NULL). */
int xs_etcd_lease_grant(struct xs_etcd *etcd, int64_t ttl_s, int64_t *id,
			int64_t *granted_ttl_s, char *error, size_t size);
/* Renews lease id to its full TTL: *ttl_left_s (may be NULL) seconds from
 * now. -ENOENT when the lease has expired or does not exist: its keys are
 * gone, grant a new one. */
int xs_etcd_lease_keepalive(struct xs_etcd *etcd, int64_t id,
			    int64_t *ttl_left_s, char *error, size_t size);
/* Ends lease id now, deleting its keys; -ENOENT when it does not exist. */
int xs_etcd_lease_revoke(struct xs_etcd *etcd, int64_t id, char *error,
			 size_t size);

/* Drops history before revision (a watch or get at an older revision then
 * gets -ERANGE); physical: wait until it is removed from the backend. */
int xs_etcd_compact(struct xs_etcd *etcd, int64_t revision, bool physical,
		    char *error, size_t size);

enum xs_etcd_event_type {
	XS_ETCD_EVENT_PUT,
	XS_ETCD_EVENT_DELETE,
};

struct xs_etcd_event {
	enum xs_etcd_event_type type;
	/* the key after the event; for a DELETE only key and mod_revision
	 * (the deletion's revision) are set and value is empty */
	const struct xs_etcd_kv *kv;
	int64_t revision; /* the event's revision (kv->mod_revision) */
};

/* Called for each event in revision order; valid only during the call.
 * After the last event of each watch response it is called once more
 * with event NULL: every event of those revisions has been delivered (a
 * txn's events come in one response). A non-zero return ends the watch,
 * which returns that value. */
typedef int (*xs_etcd_watch_fn)(void *ctx, const struct xs_etcd_event *event);

struct xs_etcd_watch_status {
	/* the newest revision whose every event has been delivered (events
	 * and progress notifications), 0 if none: resume from it + 1 */
	int64_t last_revision;
	/* with -ERANGE: the oldest revision etcd still has */
	int64_t compact_revision;
	/* the revision etcd was at when the watch started */
	int64_t created_revision;
};

/*
 * Watches key (with XS_ETCD_PREFIX: every key under it) from
 * start_revision (0: from now on), calling fn for each event, until one
 * of these, which it returns:
 *   0             *stop became non-zero (checked at least every 200 ms,
 *                 also while the stream is silent);
 *   fn's value    fn returned non-zero;
 *   -ERANGE       start_revision (or a revision since) has been compacted:
 *                 status->compact_revision is the oldest left. Events in
 *                 between are lost: re-read the state with xs_etcd_get and
 *                 watch again from that read's revision + 1;
 *   another error the stream could not start or ended (the member went
 *                 away, lost its leader: -EAGAIN, -ECONNRESET, ...; or
 *                 sent garbage: -EPROTO): watch again from
 *                 status->last_revision + 1 (or start_revision if 0).
 * status (may be NULL) is filled in every case. The stream asks etcd to
 * end it when the member has no leader (a watch never sits silently on a
 * member cut off from quorum) and uses TCP keepalives; the connect is
 * bounded by the handle's timeout, the stream itself is not.
 */
int xs_etcd_watch(struct xs_etcd *etcd, const char *key, size_t key_length,
		  unsigned int flags, int64_t start_revision,
		  xs_etcd_watch_fn fn, void *ctx, const volatile int *stop,
		  struct xs_etcd_watch_status *status, char *error,
		  size_t size);

#endif /* XDPSPLIT_FLEET_ETCD_H */
