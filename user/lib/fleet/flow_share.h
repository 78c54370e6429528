/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows shared between the LB hosts behind one ECMP group: only those whose
 * choice a change altered.
 *
 * Hosts decide alike (same config, seeds, Maglev tables) but keep their own
 * flow tables. When ECMP moves a connection to another host, that host
 * decides its first packet with today's inputs; a connection those inputs
 * would now place elsewhere than where it started (a canary step, a switch,
 * a backend added to its pool) breaks there. So after a host applies a
 * change of decision inputs, it walks its own table and exports every
 * stored flow whose backend differs from what a new packet of the flow
 * would get now (xs_flow_export_changed); the other hosts import those
 * records as confirmed flows, or pending ones if they were pending there
 * (xs_flow_import). Every other flow needs
 * nothing: a host without its entry decides it as its own host did.
 *
 * An export is a snapshot, not a delta: it holds every flow that differs
 * from today's choice, whichever change made it differ, so the latest
 * export of each host is all a host that joins the group needs, too (for
 * it, as for the others, the flows that do not differ decide themselves).
 * xs_flow_export_all sends every open flow instead: for a host whose
 * decision inputs may differ from the exporter's (tests, diagnostics).
 *
 * The wire format is fixed-width, versioned, with explicit padding, and
 * every multi-byte field is in network byte order (big-endian); addresses
 * are 4 words, IPv4 in the first and zeroes elsewhere, as in the maps. A
 * chunk is one header and `count` records, nothing before or after.
 * Backend ids are host-local and never shipped: a record names its backend
 * by address and family, and by pool; the VIP is the one the flow key
 * names (its address, port and protocol, or the VIP on port 0 of that
 * address and protocol, as the program looks it up), so it is not shipped
 * either.
 */
#ifndef XDPSPLIT_FLEET_FLOW_SHARE_H
#define XDPSPLIT_FLEET_FLOW_SHARE_H

#include <stddef.h>
#include <linux/types.h>
#include "user/lib/dataplane.h"

#define XS_FLOW_SHARE_MAGIC 0x58534653U /* "XSFS" */
#define XS_FLOW_SHARE_VERSION 1
/* a chunk a reader accepts holds at most this many records (4 MiB) */
#define XS_FLOW_SHARE_MAX_RECORDS 65536

/* 16 bytes, then count records */
struct xs_flow_share_header {
	__be32 magic;	    /* XS_FLOW_SHARE_MAGIC */
	__be16 version;	    /* XS_FLOW_SHARE_VERSION */
	__be16 record_size; /* sizeof(struct xs_flow_share_record) */
	__be32 count;	    /* records that follow */
	__be32 reserved;    /* zero */
};

/* 64 bytes: one flow */
struct xs_flow_share_record {
	/* struct xs_flow_key as the program builds it, VLAN big-endian */
	__be32 client[4];
	__be32 vip[4];
	__be16 client_port;
	__be16 vip_port;
	__u8 protocol;	/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	/* enum xs_family */
	__be16 vlan_id; /* outer tag's VLAN ID, 0 untagged */
	/* where the flow goes */
	__be32 backend[4];
	__u8 backend_family; /* enum xs_family */
	__u8 pool;	     /* enum xs_pool */
	__u8 state;	     /* enum xs_flow_state, never CLOSED */
	__u8 flags;	     /* XS_FLOW_SHARE_*, other bits zero */
	/* the SYN's sequence number as on the wire (state SYN_SEEN): a
	 * retransmission of that SYN stays, another SYN is a new connection */
	__be32 initial_sequence;
};

/* flags: the flow was confirmed where it was exported (its client's second
 * packet seen). Without it the flow is imported pending, as the program
 * stores a flow it has seen once: a flood of forged first packets on one
 * host, exported across a change, must not arrive elsewhere as confirmed
 * entries that no flood could displace. Its client's next packet confirms
 * it wherever ECMP takes it. */
#define XS_FLOW_SHARE_CONFIRMED 0x01

_Static_assert(sizeof(struct xs_flow_share_header) == 16, "header size");
_Static_assert(sizeof(struct xs_flow_share_record) == 64, "record size");

/* The bytes of a chunk of count records. */
static inline size_t xs_flow_share_chunk_size(__u32 count)
{
	return sizeof(struct xs_flow_share_header) +
	       (size_t)count * sizeof(struct xs_flow_share_record);
}

struct xs_flow_export_stats {
	__u64 ways;	 /* every way of every bucket, walked */
	__u64 flows;	 /* confirmed or pending, not closed, read whole */
	__u64 exported;	 /* emitted */
	__u64 unchanged; /* today's choice is their backend: not emitted */
	/* skipped: */
	__u64 torn;   /* written by the program across every re-read */
	__u64 no_vip; /* the VIP is gone, or its route is invalid */
	/* their backend is gone, DOWN or another VIP's, or their pool was
	 * flushed: the program re-chooses them on their next packet */
	__u64 stale;
};

/* Called once per record; a non-zero return stops the walk and is
 * returned by the export. */
typedef int (*xs_flow_share_emit)(const struct xs_flow_share_record *record,
				  void *ctx);

/* Walks every bucket of the mmapped table and emits each open flow
 * (confirmed or pending) whose stored backend differs from what
 * xs_predict gives a new packet of its key now. Reads each way as the
 * program does (tag, copy, tag again) and never writes. 0, the emitter's
 * non-zero return, or -errno; stats (may be NULL) are filled either way. */
int xs_flow_export_changed(const struct xs_dataplane *dp,
			   xs_flow_share_emit emit, void *ctx,
			   struct xs_flow_export_stats *stats);
/* The same for every open flow that is not stale, changed or not. */
int xs_flow_export_all(const struct xs_dataplane *dp, xs_flow_share_emit emit,
		       void *ctx, struct xs_flow_export_stats *stats);

/* Writes a chunk of count records into out (out_size bytes at least
 * xs_flow_share_chunk_size(count)): its length, or -ENOSPC / -E2BIG. */
long xs_flow_share_chunk_write(const struct xs_flow_share_record *records,
			       __u32 count, void *out, size_t out_size);

struct xs_flow_import_stats {
	__u64 chunks_refused;	/* xs_flow_share_chunk_parse said no */
	__u64 records;		/* records offered to xs_flow_import */
	__u64 imported;		/* inserted (confirmed, or pending as sent) */
	__u64 imported_pending; /* of them, pending (not confirmed where sent) */
	__u64 exists;	  /* the flow is here already: the local entry wins */
	__u64 not_stored; /* its bucket is full of live connections */
	__u64 busy;	  /* its bucket kept changing under us */
	/* of the imported, the ways they took, as the program counts its
	 * own: a pending flow's, an idle confirmed one's, a closed one's */
	__u64 pending_evicted;
	__u64 confirmed_evicted;
	__u64 closed_replaced;
	/* refused records: */
	__u64 unknown_vip;     /* no VIP here for the flow key */
	__u64 unknown_backend; /* no backend of that address in that VIP's pool */
	__u64 backend_down; /* the backend is here but DOWN (would be re-chosen) */
};

/* Checks a chunk as received (len bytes at data): magic, version, record
 * size, reserved zero, count matching the length and at most
 * XS_FLOW_SHARE_MAX_RECORDS, and every record well formed (known
 * families, TCP or UDP, a pool, a state that fits the protocol and is not
 * CLOSED, zero padding). All good: *records points into data, *count is
 * set and 0 is returned. Else -EINVAL (or -EPROTONOSUPPORT for another
 * version) with nothing returned and stats->chunks_refused counted: a bad
 * chunk changes nothing, not even in part. stats may be NULL. */
int xs_flow_share_chunk_parse(const void *data, size_t len,
			      const struct xs_flow_share_record **records,
			      __u32 *count, struct xs_flow_import_stats *stats);

/*
 * Stores each record as a flow of this host, last seen now, confirmed
 * (pending if the record says it was not confirmed where it was sent),
 * unless it is refused (its VIP or its backend, by address in the VIP's
 * pool, is not here; counted) or the flow is already here (the local entry
 * wins; counted). A way is taken by the program's replacement rule (empty,
 * closed, then the least recently seen pending or idle confirmed one),
 * never a live confirmed flow's (not_stored), with the program's claim
 * (compare-and-swap of the tag word to BUSY), write, publish (exchange)
 * protocol, so it is safe against the program running on every other CPU.
 * The records must have passed xs_flow_share_chunk_parse (or be made by
 * an export). 0 or -errno (the backends could not be read); stats are
 * added to, not reset. The global counters flow_imported,
 * flow_imported_pending and
 * flow_import_{pending,confirmed}_evicted, flow_import_closed_replaced say
 * the same, so the table's entry counts (flow_usage.h) stay right: one
 * importer at a time (xs_counter_add).
 */
int xs_flow_import(struct xs_dataplane *dp,
		   const struct xs_flow_share_record *records, __u32 count,
		   struct xs_flow_import_stats *stats);

/* xs_flow_share_chunk_parse, then xs_flow_import of what it returned. */
int xs_flow_import_chunk(struct xs_dataplane *dp, const void *data, size_t len,
			 struct xs_flow_import_stats *stats);

#endif
