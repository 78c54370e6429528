/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The JSON values of the fleet's keys (keys.h): written by one side,
 * parsed strictly by the other. A value that does not parse is refused
 * whole and changes nothing: it may come from a broken or hostile writer.
 * A parser that refuses (-EINVAL, why filled) leaves its output zeroed
 * (a drain false, a count 0): nothing half-read for a caller to take.
 */
#ifndef XDPSPLIT_FLEET_DOCUMENTS_H
#define XDPSPLIT_FLEET_DOCUMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "maps/contract.h"

/* P routes/SERVICE: {"weights":{"blue":9000,"green":0,"canary":1000},
 * "live":"blue","flush":{"blue":0,"green":0,"canary":2},"by":"..."}
 * (basis points). A pool's flush count grows by one for each flush of
 * its established flows a writer asks for; a host flushes when it sees
 * the count grow (not when it first sees one: a restart flushes nothing). */
struct xs_fleet_route {
	struct xs_route route; /* vip_tag unused */
	__u32 flush[XS_POOL_COUNT];
	char by[64]; /* who wrote it: "splitctl", "rollout" */
};

/* A malloc'd JSON text, or NULL when out of memory. */
char *xs_fleet_route_format(const struct xs_fleet_route *route);
/* 0, or -EINVAL with why (weights not summing to 100%, a live pool not
 * blue or green, a missing field). */
int xs_fleet_route_parse(const char *text, size_t length,
			 struct xs_fleet_route *route, char *why, size_t size);

enum xs_announce_state {
	XS_ANNOUNCE_WITHDRAWN,
	XS_ANNOUNCE_ANNOUNCED,
};

/* P hosts/HOST: what a host says of itself. */
struct xs_fleet_host {
	char host[64];
	enum xs_announce_state announce;
	char why[160];	 /* why withdrawn ("draining", "not attached") */
	int64_t applied; /* the fleet revision its maps stand for */
	bool draining;
	__u32 vips; /* VIPs it announces */
	char version[32];
};

char *xs_fleet_host_format(const struct xs_fleet_host *host);
int xs_fleet_host_parse(const char *text, size_t length,
			struct xs_fleet_host *host, char *why, size_t size);
const char *xs_announce_state_name(enum xs_announce_state state);

/* P drain/HOST: {"drain":true,"by":"..."}; the key absent or drain
 * false: serve. "drain" is required: a value without it is refused. */
char *xs_fleet_drain_format(bool drain, const char *by);
int xs_fleet_drain_parse(const char *text, size_t length, bool *drain,
			 char *why, size_t size);

/* P counters/HOST: a host's counters of each service's pools, as they
 * stand (they only grow, but start again from 0 when its data plane is
 * loaded anew). */
struct xs_fleet_service_counters {
	struct xs_vip_key service;
	struct xs_pool_stats pools[XS_POOL_COUNT];
};

char *xs_fleet_counters_format(const struct xs_fleet_service_counters *services,
			       size_t count);
/* At most max services; -EINVAL with why for anything malformed. */
int xs_fleet_counters_parse(const char *text, size_t length,
			    struct xs_fleet_service_counters *services,
			    size_t max, size_t *count, char *why, size_t size);

#endif
