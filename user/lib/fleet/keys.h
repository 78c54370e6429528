/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fleet's keys in etcd, all under the fleet's prefix P (fleet.prefix,
 * /xdpsplit/ by default). Keys are versioned data, not commands: each is
 * desired or observed state that hosts converge to or report.
 *
 *   P config               the fleet document (YAML: vips, rollouts);
 *                          its mod revision is the config's generation
 *   P routes/SERVICE       a service's weights and live pool (JSON): the
 *                          hosts' only source of weights
 *   P hosts/HOST           a host's report (JSON), under the host's lease
 *   P drain/HOST           an operator's wish that HOST withdraw (JSON)
 *   P leader               the rollout leader's host name, under its lease
 *   P rollouts/SERVICE     a fleet rollout's state (JSON), leader-written
 *   P history/SERVICE/ID/SEQ  one step of rollout ID, created once
 *   P requests/SERVICE     an operator's rollout wish (JSON, numbered)
 *   P answers/SERVICE      the leader's word on the latest request
 *   P counters/HOST        a host's per-service pool counters, under its lease
 *   P flows/HOST/SEQ       flows a change moved, for the other hosts
 *
 * SERVICE is the service's first VIP as splitctl prints it, with '/'
 * written '_' (10.77.100.1:80_tcp), so a key's parts split on '/'.
 */
#ifndef XDPSPLIT_FLEET_KEYS_H
#define XDPSPLIT_FLEET_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include "maps/contract.h"

#define XS_FLEET_KEY_SIZE 256

/* "10.77.100.1:80/tcp" -> "10.77.100.1:80_tcp" */
void xs_fleet_service_name(const struct xs_vip_key *vip, char *out,
			   size_t size);
/* The reverse; -EINVAL if name is not one. */
int xs_fleet_service_parse(const char *name, struct xs_vip_key *vip);

/* prefix + part (+ '/' + more), or -ENAMETOOLONG. */
int xs_fleet_key(char *out, size_t size, const char *prefix, const char *part,
		 const char *more);

/* P flows/HOST/SEQ for chunk index of host's export. */
int xs_fleet_flows_key(char *out, size_t size, const char *prefix,
		       const char *host, size_t index);
/* [*from, *end): every chunk key of host's export from index first on,
 * and no other host's (P flows/HOST/ + 1 is P flows/HOST0). */
int xs_fleet_flows_range(char *from, char *end, size_t size, const char *prefix,
			 const char *host, size_t first);

/* If key is prefix + part + REST (REST without '/'), REST; else NULL. */
const char *xs_fleet_key_rest(const char *key, const char *prefix,
			      const char *part);

#endif
