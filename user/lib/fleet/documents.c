// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include "maps/decision.h"
#include "user/lib/parse.h"
#include "documents.h"
#include "keys.h"
#include "json_fields.h"

char *xs_fleet_route_format(const struct xs_fleet_route *r)
{
	json_object *object = json_object_new_object(),
		    *weights = json_object_new_object();

	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		json_object_object_add(
			weights, xs_pool_name(pool),
			json_object_new_int(r->route.weight[pool]));
	json_object_object_add(object, "weights", weights);
	json_object *flush = json_object_new_object();

	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		json_object_object_add(flush, xs_pool_name(pool),
				       json_object_new_int64(r->flush[pool]));
	json_object_object_add(object, "flush", flush);
	json_object_object_add(
		object, "live",
		json_object_new_string(xs_pool_name(r->route.live_pool)));
	json_object_object_add(object, "by", json_object_new_string(r->by));
	return xs_json_format(object);
}

int xs_fleet_route_parse(const char *text, size_t length,
			 struct xs_fleet_route *r, char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size),
		    *weights;
	char live[16];
	int err = object ? 0 : -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!err && (!json_object_object_get_ex(object, "weights", &weights) ||
		     !json_object_is_type(weights, json_type_object))) {
		snprintf(why, size, "'weights' must be an object");
		err = -EINVAL;
	}
	for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++) {
		int64_t bp;

		err = xs_json_get_int(weights, xs_pool_name(pool), 0,
				      XS_WEIGHT_TOTAL, &bp, why, size);
		r->route.weight[pool] = (__u16)bp;
	}
	if (!err && json_object_object_get_ex(object, "flush", &weights)) {
		/* optional: a writer that never flushed may leave it out */
		for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++) {
			int64_t count;

			err = xs_json_get_int(weights, xs_pool_name(pool), 0,
					      UINT32_MAX, &count, why, size);
			r->flush[pool] = (__u32)count;
		}
	}
	if (!err)
		err = xs_json_get_string(object, "live", false, live,
					 sizeof(live), why, size);
	if (!err && xs_parse_pool(live, &r->route.live_pool)) {
		snprintf(why, size, "'live' must be blue or green");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_string(object, "by", true, r->by,
					 sizeof(r->by), why, size);
	if (!err && !xs_route_is_valid(&r->route)) {
		snprintf(
			why, size,
			"the weights must sum to 100%% and the live pool be blue or green");
		err = -EINVAL;
	}
	json_object_put(object);
	if (err) /* nothing half-read for a caller that looks anyway */
		memset(r, 0, sizeof(*r));
	return err;
}

const char *xs_announce_state_name(enum xs_announce_state state)
{
	return state == XS_ANNOUNCE_ANNOUNCED ? "announced" : "withdrawn";
}

char *xs_fleet_host_format(const struct xs_fleet_host *h)
{
	json_object *object = json_object_new_object();

	json_object_object_add(object, "host", json_object_new_string(h->host));
	json_object_object_add(
		object, "announce",
		json_object_new_string(xs_announce_state_name(h->announce)));
	json_object_object_add(object, "why", json_object_new_string(h->why));
	json_object_object_add(object, "applied",
			       json_object_new_int64(h->applied));
	json_object_object_add(object, "draining",
			       json_object_new_boolean(h->draining));
	json_object_object_add(object, "vips", json_object_new_int64(h->vips));
	json_object_object_add(object, "version",
			       json_object_new_string(h->version));
	return xs_json_format(object);
}

int xs_fleet_host_parse(const char *text, size_t length,
			struct xs_fleet_host *h, char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size);
	char announce[16];
	int64_t vips = 0;
	int err = object ? 0 : -EINVAL;

	memset(h, 0, sizeof(*h));
	if (!err)
		err = xs_json_get_string(object, "host", false, h->host,
					 sizeof(h->host), why, size);
	if (!err)
		err = xs_json_get_string(object, "announce", false, announce,
					 sizeof(announce), why, size);
	if (!err && !strcmp(announce, "announced"))
		h->announce = XS_ANNOUNCE_ANNOUNCED;
	else if (!err && strcmp(announce, "withdrawn")) {
		snprintf(why, size,
			 "'announce' must be announced or withdrawn");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_string(object, "why", true, h->why,
					 sizeof(h->why), why, size);
	if (!err)
		err = xs_json_get_int(object, "applied", 0, INT64_MAX,
				      &h->applied, why, size);
	if (!err)
		err = xs_json_get_bool(object, "draining", &h->draining, why,
				       size);
	if (!err)
		err = xs_json_get_int(object, "vips", 0, UINT32_MAX, &vips, why,
				      size);
	h->vips = (__u32)vips;
	if (!err)
		err = xs_json_get_string(object, "version", true, h->version,
					 sizeof(h->version), why, size);
	json_object_put(object);
	if (err)
		memset(h, 0, sizeof(*h));
	return err;
}

char *xs_fleet_drain_format(bool drain, const char *by)
{
	json_object *object = json_object_new_object();

	json_object_object_add(object, "drain", json_object_new_boolean(drain));
	json_object_object_add(object, "by", json_object_new_string(by));
	return xs_json_format(object);
}

int xs_fleet_drain_parse(const char *text, size_t length, bool *drain,
			 char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size);
	int err = object ? xs_json_get_bool(object, "drain", drain, why, size) :
			   -EINVAL;

	/* required: {"drian":true} is a typo of a drain, not a wish to serve
	 * (the absent key is that) */
	if (!err && !json_object_object_get_ex(object, "drain", NULL)) {
		snprintf(why, size, "'drain' is missing");
		err = -EINVAL;
	}

	json_object_put(object);
	/* false on a refusal too: what a refused drain means (a drain, out of
	 * doubt, in splitd) is the caller's to say, from the error */
	if (err)
		*drain = false;
	return err;
}

/* A pool's counters as one array: the fields in struct order, then the
 * latency buckets. */
#define POOL_FIELDS 7

static json_object *pool_array(const struct xs_pool_stats *p)
{
	const __u64 fields[POOL_FIELDS] = { p->packets,
					    p->bytes,
					    p->new_flows,
					    p->syn_retransmits,
					    p->handshakes_completed,
					    p->client_resets,
					    p->fallbacks };
	json_object *array = json_object_new_array();

	for (int i = 0; i < POOL_FIELDS; i++)
		json_object_array_add(
			array, json_object_new_int64((int64_t)fields[i]));
	for (int i = 0; i < XS_LATENCY_BUCKETS; i++)
		json_object_array_add(
			array, json_object_new_int64(
				       (int64_t)p->handshake_latency[i]));
	return array;
}

static int pool_parse(json_object *array, struct xs_pool_stats *p, char *why,
		      size_t size)
{
	__u64 *fields[POOL_FIELDS] = { &p->packets,
				       &p->bytes,
				       &p->new_flows,
				       &p->syn_retransmits,
				       &p->handshakes_completed,
				       &p->client_resets,
				       &p->fallbacks };

	if (!json_object_is_type(array, json_type_array) ||
	    json_object_array_length(array) !=
		    POOL_FIELDS + XS_LATENCY_BUCKETS) {
		snprintf(why, size,
			 "a pool's counters must be an array of %d numbers",
			 POOL_FIELDS + XS_LATENCY_BUCKETS);
		return -EINVAL;
	}
	for (size_t i = 0; i < POOL_FIELDS + XS_LATENCY_BUCKETS; i++) {
		json_object *n = json_object_array_get_idx(array, i);
		int64_t value;

		if (!xs_json_whole(n, &value) || value < 0) {
			snprintf(why, size,
				 "a counter must be a whole number from 0");
			return -EINVAL;
		}
		if (i < POOL_FIELDS)
			*fields[i] = (__u64)value;
		else
			p->handshake_latency[i - POOL_FIELDS] = (__u64)value;
	}
	return 0;
}

char *xs_fleet_counters_format(const struct xs_fleet_service_counters *services,
			       size_t count)
{
	json_object *object = json_object_new_object(),
		    *all = json_object_new_object();

	for (size_t i = 0; i < count; i++) {
		json_object *pools = json_object_new_object();
		char name[96];

		for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
			json_object_object_add(
				pools, xs_pool_name(pool),
				pool_array(&services[i].pools[pool]));
		xs_fleet_service_name(&services[i].service, name, sizeof(name));
		json_object_object_add(all, name, pools);
	}
	json_object_object_add(object, "services", all);
	return xs_json_format(object);
}

int xs_fleet_counters_parse(const char *text, size_t length,
			    struct xs_fleet_service_counters *services,
			    size_t max, size_t *count, char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size),
		    *all;
	int err = object ? 0 : -EINVAL;

	*count = 0;
	if (!err && (!json_object_object_get_ex(object, "services", &all) ||
		     !json_object_is_type(all, json_type_object))) {
		snprintf(why, size, "'services' must be an object");
		err = -EINVAL;
	}
	if (!err) {
		json_object_object_foreach(all, name, pools) {
			struct xs_fleet_service_counters *s = &services[*count];

			if (*count == max) {
				snprintf(why, size, "more than %zu services",
					 max);
				err = -EINVAL;
				break;
			}
			memset(s, 0, sizeof(*s));
			if (xs_fleet_service_parse(name, &s->service) ||
			    !json_object_is_type(pools, json_type_object)) {
				snprintf(why, size,
					 "'%.80s' is not a service's counters",
					 name);
				err = -EINVAL;
				break;
			}
			/* two spellings of one service ("...:80_tcp", "...:080_tcp")
			 * would count its pools twice */
			for (size_t other = 0; !err && other < *count; other++)
				if (!memcmp(&services[other].service,
					    &s->service, sizeof(s->service))) {
					snprintf(why, size,
						 "'%.80s' is listed twice",
						 name);
					err = -EINVAL;
				}
			if (err)
				break;
			for (__u8 pool = 0; !err && pool < XS_POOL_COUNT;
			     pool++) {
				json_object *array;

				if (!json_object_object_get_ex(
					    pools, xs_pool_name(pool),
					    &array)) {
					snprintf(why, size,
						 "'%.80s' lacks pool %s", name,
						 xs_pool_name(pool));
					err = -EINVAL;
				} else {
					err = pool_parse(array, &s->pools[pool],
							 why, size);
				}
			}
			if (err)
				break;
			(*count)++;
		}
	}
	json_object_put(object);
	if (err) /* none of it: a caller must not take the first few */
		*count = 0;
	return err;
}
