// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The routes etcd holds, written into the maps: by the watch thread the
 * moment it publishes them (a weight change reaches the data plane
 * without waiting for the agent's round) and by the agent's round (which
 * puts back a route someone wrote by hand). One writer at a time, always
 * from the newest desired state: two threads never write an older route
 * over a newer one.
 */
#include <stdio.h>
#include <string.h>
#include "user/lib/audit.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/service.h"
#include "fleet.h"
#include "splitd.h"

/* The pools etcd asks to flush on this service, since last seen. */
static void apply_flushes(struct daemon *d, struct fleet *f,
			  const struct fleet_route *route, __u32 route_id)
{
	char text[80];
	size_t i;

	for (i = 0; i < f->flush_count; i++)
		if (!memcmp(&f->flushes[i].service, &route->service,
			    sizeof(route->service)))
			break;
	if (i == f->flush_count) {
		if (f->flush_count == XS_CONFIG_MAX_VIPS)
			return;
		f->flushes[f->flush_count].service = route->service;
		memcpy(f->flushes[f->flush_count++].flush, route->route.flush,
		       sizeof(route->route.flush));
		return;
	}
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++) {
		bool grew = route->route.flush[pool] >
			    f->flushes[i].flush[pool];

		/* a count that went back is a writer that did not carry it
		 * over: remembered, never a flush */
		if (route->route.flush[pool] == f->flushes[i].flush[pool])
			continue;
		f->flushes[i].flush[pool] = route->route.flush[pool];
		if (!grew)
			continue;
		xs_service_flush(&d->dp, route_id, pool);
		xs_format_vip(&route->service, text, sizeof(text));
		pr_info("fleet: flushed the %s flows of %s, as %s asked\n",
			xs_pool_name(pool), text,
			route->route.by[0] ? route->route.by : "the fleet");
	}
}

/* Said and audited like an operator's write: what, whose, before, after. */
static void audit_route(struct daemon *d, const char *vip,
			const struct fleet_route *route,
			const struct xs_route *before)
{
	const struct xs_route *r = &route->route.route;
	char command[300], old[160], new[160];

	snprintf(command, sizeof(command),
		 "fleet: route of %s at revision %lld (by %s)", vip,
		 (long long)route->revision,
		 route->route.by[0] ? route->route.by : "?");
	snprintf(old, sizeof(old),
		 "{\"blue\":%u,\"green\":%u,\"canary\":%u,\"live\":\"%s\"}",
		 before->weight[0], before->weight[1], before->weight[2],
		 xs_pool_name(before->live_pool));
	snprintf(new, sizeof(new),
		 "{\"blue\":%u,\"green\":%u,\"canary\":%u,\"live\":\"%s\"}",
		 r->weight[0], r->weight[1], r->weight[2],
		 xs_pool_name(r->live_pool));
	pr_info("%s: blue %u.%02u%%, green %u.%02u%%, canary %u.%02u%%, live %s\n",
		command, r->weight[0] / 100, r->weight[0] % 100,
		r->weight[1] / 100, r->weight[1] % 100, r->weight[2] / 100,
		r->weight[2] % 100, xs_pool_name(r->live_pool));
	xs_audit_append(d->state_dir, command, old, new);
}

bool fleet_routes_apply(struct daemon *d)
{
	static struct fleet_route routes[XS_CONFIG_MAX_VIPS];
	struct fleet *f = d->fleet;
	size_t count;
	bool all = true;

	pthread_mutex_lock(&f->routes_lock);
	pthread_mutex_lock(&f->lock);
	count = f->desired.route_count;
	memcpy(routes, f->desired.routes, count * sizeof(routes[0]));
	pthread_mutex_unlock(&f->lock);
	for (size_t r = 0; r < count; r++) {
		const struct fleet_route *route = &routes[r];
		struct xs_vip_entry vip;
		char text[80];
		int err;

		if (xs_vip_lookup(&d->dp, &route->service, &vip))
			continue; /* not in the document (yet): nothing to split */
		/* the route first: a flush re-chooses by the new weights */
		if (!memcmp(vip.route.weight, route->route.route.weight,
			    sizeof(vip.route.weight)) &&
		    vip.route.live_pool == route->route.route.live_pool) {
			apply_flushes(d, f, route, vip.vip.route_id);
			continue;
		}
		err = xs_route_write_tagged(&d->dp, vip.vip.route_id,
					    vip.route_tag, &route->route.route);
		xs_format_vip(&route->service, text, sizeof(text));
		if (err) {
			pr_warn("fleet: couldn't write the route of %s: %s\n",
				text, strerror(-err));
			all = false;
			continue;
		}
		audit_route(d, text, route, &vip.route);
		__atomic_store_n(&f->decisions_changed, true, __ATOMIC_RELEASE);
		apply_flushes(d, f, route, vip.vip.route_id);
	}
	pthread_mutex_unlock(&f->routes_lock);
	return all;
}
