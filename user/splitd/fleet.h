/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * splitd in a fleet (the file's 'fleet:' section; user/lib/fleet/keys.h
 * names the keys). Three threads, each with its own etcd handle, so no
 * network call ever runs in the main loop or under a lock it needs:
 *
 *   fleet_watch.c  reads the fleet's keys and follows them (etcd watch)
 *                  into fleet.desired: the document, the routes, this
 *                  host's drain;
 *   fleet_agent.c  keeps this host's lease, makes the maps what desired
 *                  says (document by the reload's rule, routes by one
 *                  write each), announces the VIPs while this host is
 *                  healthy and caught up, and reports itself (hosts/HOST),
 *                  its counters and the flows a change moved;
 *   fleet_leader.c runs the fleet's rollouts while this host holds P leader.
 * fleet_routes.c writes the routes (from the watch at once, and from the
 * agent's round); fleet_flows.c shares and takes in moved flows.
 *
 * Fail-static: etcd unreachable or without quorum changes nothing on a
 * host that was caught up; it keeps forwarding and announcing at its last
 * state. A host that (re)starts announces nothing until it has caught up.
 */
#ifndef XDPSPLIT_SPLITD_FLEET_H
#define XDPSPLIT_SPLITD_FLEET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "user/lib/config.h"
#include "user/lib/fleet/documents.h"

struct daemon;

struct fleet_route {
	struct xs_vip_key service; /* its first VIP */
	struct xs_fleet_route route;
	int64_t revision;
};

/* What etcd says, as fleet_watch.c last read it. */
struct fleet_desired {
	char *document; /* malloc'd YAML, NULL: no document yet */
	size_t document_length;
	int64_t document_revision;
	struct fleet_route routes[XS_CONFIG_MAX_VIPS];
	size_t route_count;
	__u64 refused_routes; /* values that did not parse */
	bool drain;
	/* every event up to this revision is in here (0: not read yet) */
	int64_t revision;
	/* the newest revision of a key above (document, route, drain): what
	 * a host that applied all of it reports as applied */
	int64_t wanted;
	bool reachable;	 /* the watch is up */
	char error[256]; /* why not */
};

/* A chunk of shared flows another host wrote, for the agent to import
 * once the document and routes it may need are in the maps. */
struct fleet_chunk {
	struct fleet_chunk *next;
	char key[256];
	size_t length;
	char data[]; /* length bytes */
};

struct fleet {
	pthread_mutex_t lock; /* desired, report, chunks */
	pthread_cond_t changed;
	struct fleet_desired desired;
	__u64 published; /* how many times the watch changed desired */
	struct xs_fleet_host report; /* the latest this host said */
	struct fleet_chunk *chunks, **chunks_tail; /* oldest first */
	/* fleet_routes.c: one writer of the routes at a time */
	pthread_mutex_t routes_lock;
	/* each service's flush counts as last seen: a count that grows is a
	 * flush to do, the first one seen is not (under routes_lock) */
	struct {
		struct xs_vip_key service;
		__u32 flush[XS_POOL_COUNT];
	} flushes[XS_CONFIG_MAX_VIPS];
	size_t flush_count;
	bool decisions_changed; /* a route was written: moved flows to share */
	bool leading;		/* fleet_leader.c holds P leader (atomic) */
	size_t chunk_bytes;
	volatile int stop;
	pthread_t watch_thread, agent_thread, leader_thread;
	bool watch_running, agent_running, leader_running;
};

/* Starts the three threads (nothing without a fleet section); -1 if they
 * could not be. The announcer's device is made here. */
int fleet_start(struct daemon *d);
/* Withdraws the VIPs, ends the leases and the three threads. */
void fleet_stop(struct daemon *d);
bool fleet_enabled(const struct daemon *d);
/* A copy of this host's latest report, whether etcd answers and whether
 * this host leads the rollouts (for /metrics). */
void fleet_report(struct daemon *d, struct xs_fleet_host *report,
		  bool *reachable, bool *leading);

/* fleet_watch.c */
void *fleet_watch_loop(void *daemon);
/* fleet_routes.c: every route of fleet.desired whose VIP is in the maps
 * made the map's (audited); false if one could not be written */
bool fleet_routes_apply(struct daemon *d);

/* fleet_lease.c */
struct fleet_lease {
	int64_t id;	  /* 0: none */
	__u64 renewed_ms; /* now_ms() of the last grant or renewal */
};

enum fleet_lease_state {
	FLEET_LEASE_HELD, /* renewed, or not due yet */
	FLEET_LEASE_NEW,  /* granted now: any earlier one, and its keys, gone */
	FLEET_LEASE_UNSURE, /* no answer; renewed less than a TTL ago */
	FLEET_LEASE_STALE,  /* no answer for a TTL: it may have expired */
	FLEET_LEASE_NONE,   /* none, and none could be granted */
};

struct xs_etcd;
enum fleet_lease_state fleet_lease_keep(struct xs_etcd *etcd,
					struct fleet_lease *lease, __u64 ttl_ms,
					__u64 now_ms);

/* fleet_flows.c */
/* This host's changed flows written to etcd, replacing the last export
 * whatever its size. */
int fleet_flows_export(struct daemon *d, struct xs_etcd *etcd,
		       const struct xs_config_fleet *f, int64_t lease);
/* Queues what another host shared (the watch thread); drops our own. */
void fleet_flows_queue(struct daemon *d, const struct xs_config_fleet *f,
		       const char *key, const char *value, size_t length);
/* Imports every queued chunk (the agent thread: one importer). */
void fleet_flows_import_queued(struct daemon *d);
void fleet_flows_free(struct fleet *f);

/* fleet_leader.c */
void *fleet_leader_loop(void *daemon);
/* fleet_agent.c */
int fleet_agent_open(struct daemon *d);
void *fleet_agent_loop(void *daemon);
/* the device goes with the descriptor: after the agent has stopped */
void fleet_agent_close(void);

/* reload.c: the fleet document made the maps', by the reload's rule;
 * document's weights are what a VIP it creates starts with */
int reload_document(struct daemon *d, const struct xs_config_file *document,
		    char *error, size_t size);

#endif
