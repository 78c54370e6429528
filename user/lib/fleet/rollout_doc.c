// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "maps/decision.h"
#include "user/lib/parse.h"
#include "json_fields.h"
#include "keys.h"
#include "rollout_doc.h"

/* the oldest step or pause a record tells of */
#define MAX_ELAPSED_MS (7 * 86400000ULL)

static int phase_parse(const char *name, enum xs_phase *phase)
{
	for (int p = XS_PHASE_IDLE; p <= XS_PHASE_ABORTED; p++)
		if (!strcmp(xs_phase_name(p), name)) {
			*phase = p;
			return 0;
		}
	return -EINVAL;
}

static json_object *u32_array(const __u32 *values, int count)
{
	json_object *array = json_object_new_array();

	for (int i = 0; i < count; i++)
		json_object_array_add(array, json_object_new_int64(values[i]));
	return array;
}

static int u32_array_parse(json_object *object, const char *name, __u32 *values,
			   int count, char *why, size_t size)
{
	json_object *array;

	if (!json_object_object_get_ex(object, name, &array) ||
	    !json_object_is_type(array, json_type_array) ||
	    json_object_array_length(array) != (size_t)count) {
		snprintf(why, size, "'%s' must be an array of %d numbers", name,
			 count);
		return -EINVAL;
	}
	for (int i = 0; i < count; i++) {
		json_object *n = json_object_array_get_idx(array, i);
		int64_t value;

		if (!xs_json_whole(n, &value) || value < 0 ||
		    value > UINT32_MAX) {
			snprintf(why, size, "'%s' holds a number out of range",
				 name);
			return -EINVAL;
		}
		values[i] = (__u32)value;
	}
	return 0;
}

static json_object *route_object(const struct xs_route *route)
{
	json_object *object = json_object_new_object();

	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		json_object_object_add(
			object, xs_pool_name(pool),
			json_object_new_int(route->weight[pool]));
	json_object_object_add(
		object, "live",
		json_object_new_string(xs_pool_name(route->live_pool)));
	return object;
}

/* How long ago then was, clamped to what the parser takes back. */
static __u64 clamped_since(__u64 now_ms, __u64 then_ms)
{
	__u64 since = now_ms > then_ms ? now_ms - then_ms : 0;

	return since > MAX_ELAPSED_MS ? MAX_ELAPSED_MS : since;
}

/* Where the rollout is: phase, step, clocks, colors, canary share. */
static void add_progress(json_object *object, const struct xs_rollout *ro,
			 __u64 now_ms)
{
	/* Elapsed, not instants: the next reader's clock is its own.
	 * A gate waits for its promote, a pause for its resume, for as long
	 * as they take: a record older than the parser's week must still
	 * read back. A week is past every timed step (24 hours at most), so
	 * the clamp changes no decision. */
	__u64 elapsed = clamped_since(now_ms, ro->step_started_ms);
	__u64 paused = ro->phase == XS_PHASE_PAUSED ?
			       clamped_since(now_ms, ro->paused_at_ms) :
			       0;

	json_object_object_add(
		object, "phase",
		json_object_new_string(xs_phase_name(ro->phase)));
	json_object_object_add(object, "step", json_object_new_int64(ro->step));
	json_object_object_add(object, "step_elapsed_ms",
			       json_object_new_int64((int64_t)elapsed));
	json_object_object_add(object, "paused_for_ms",
			       json_object_new_int64((int64_t)paused));
	json_object_object_add(object, "from",
			       json_object_new_int(ro->from_color));
	json_object_object_add(object, "to", json_object_new_int(ro->to_color));
	json_object_object_add(object, "canary_bp",
			       json_object_new_int(ro->canary_bp));
	json_object_object_add(object, "switched",
			       json_object_new_boolean(ro->switched));
	json_object_object_add(object, "promote",
			       json_object_new_boolean(ro->promote));
}

static json_object *last_array(const struct xs_rollout *ro)
{
	json_object *last = json_object_new_array();

	for (int i = 0; i < XS_MAX_RULES; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(
			m, "valid", json_object_new_boolean(ro->last[i].valid));
		json_object_object_add(
			m, "value", json_object_new_double(ro->last[i].value));
		json_object_object_add(
			m, "samples",
			json_object_new_int64((int64_t)ro->last[i].samples));
		json_object_array_add(last, m);
	}
	return last;
}

/* What the analysis found: failures by rule, the last measurements, why
 * the rollout ended. */
static void add_findings(json_object *object, const struct xs_rollout *ro)
{
	json_object_object_add(object, "consecutive",
			       u32_array(ro->consecutive, XS_MAX_RULES));
	json_object_object_add(object, "total",
			       u32_array(ro->total_failures, XS_MAX_RULES));
	json_object_object_add(object, "last", last_array(ro));
	json_object_object_add(object, "reason",
			       json_object_new_string(ro->reason));
	json_object_object_add(object, "failed_rule",
			       json_object_new_int64(ro->failed_rule));
}

char *xs_fleet_rollout_format(const struct xs_fleet_rollout *r, __u64 now_ms)
{
	json_object *object = json_object_new_object();
	char service[96];

	xs_fleet_service_name(&r->service, service, sizeof(service));
	json_object_object_add(object, "service",
			       json_object_new_string(service));
	json_object_object_add(object, "id",
			       json_object_new_int64((int64_t)r->id));
	json_object_object_add(object, "policy",
			       json_object_new_string(r->policy));
	add_progress(object, &r->rollout, now_ms);
	add_findings(object, &r->rollout);
	json_object_object_add(object, "request",
			       json_object_new_int64((int64_t)r->request));
	json_object_object_add(object, "history",
			       json_object_new_int64(r->history));
	json_object_object_add(object, "leader",
			       json_object_new_string(r->leader));
	return xs_json_format(object);
}

static int last_parse(json_object *object, struct xs_rollout *ro, char *why,
		      size_t size)
{
	json_object *last;

	if (!json_object_object_get_ex(object, "last", &last) ||
	    !json_object_is_type(last, json_type_array) ||
	    json_object_array_length(last) != XS_MAX_RULES) {
		snprintf(why, size,
			 "'last' must be an array of %d measurements",
			 XS_MAX_RULES);
		return -EINVAL;
	}
	for (int i = 0; i < XS_MAX_RULES; i++) {
		json_object *m = json_object_array_get_idx(last, i), *value;
		int64_t samples;
		bool valid;

		if (!json_object_is_type(m, json_type_object) ||
		    xs_json_get_bool(m, "valid", &valid, why, size) ||
		    xs_json_get_int(m, "samples", 0, INT64_MAX, &samples, why,
				    size) ||
		    !json_object_object_get_ex(m, "value", &value) ||
		    (!json_object_is_type(value, json_type_double) &&
		     !json_object_is_type(value, json_type_int))) {
			snprintf(why, size,
				 "'last' holds a malformed measurement");
			return -EINVAL;
		}
		ro->last[i].valid = valid;
		ro->last[i].samples = (__u64)samples;
		ro->last[i].value = json_object_get_double(value);
	}
	return 0;
}

/* "service", "id", "policy": whose rollout it is. */
static int identity_parse(json_object *object, struct xs_fleet_rollout *r,
			  char *why, size_t size)
{
	char service[96];
	int64_t id = 0;
	int err;

	err = xs_json_get_string(object, "service", false, service,
				 sizeof(service), why, size);
	if (!err && xs_fleet_service_parse(service, &r->service)) {
		snprintf(why, size, "'service' names no service");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_int(object, "id", 1, INT64_MAX, &id, why,
				      size);
	if (!err)
		err = xs_json_get_string(object, "policy", false, r->policy,
					 sizeof(r->policy), why, size);
	if (!err)
		r->id = (__u64)id;
	return err;
}

/* "from" and "to": the colors it goes between. */
static int colors_parse(json_object *object, struct xs_rollout *ro, char *why,
			size_t size)
{
	int64_t from = 0, to = 0;
	int err;

	err = xs_json_get_int(object, "from", 0, XS_POOL_GREEN, &from, why,
			      size);
	if (!err)
		err = xs_json_get_int(object, "to", 0, XS_POOL_GREEN, &to, why,
				      size);
	/* xs_rollout_start goes from the live color to the other one, as
	 * the local state file (state.c) requires too */
	if (!err && from == to) {
		snprintf(why, size, "'from' and 'to' must be different colors");
		err = -EINVAL;
	}
	if (err)
		return err;
	ro->from_color = (__u8)from;
	ro->to_color = (__u8)to;
	return 0;
}

/* Where it is: phase, step, clocks (as elapsed times), colors, canary. */
static int progress_parse(json_object *object, struct xs_rollout *ro,
			  __u64 now_ms, char *why, size_t size)
{
	int64_t step = 0, elapsed = 0, paused = 0, canary = 0;
	bool switched = false, promote = false;
	char phase[32];
	int err;

	err = xs_json_get_string(object, "phase", false, phase, sizeof(phase),
				 why, size);
	if (!err && phase_parse(phase, &ro->phase)) {
		snprintf(why, size, "'phase' is not a rollout's phase");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_int(object, "step", 0, XS_MAX_STEPS, &step,
				      why, size);
	/* a week at most (the writer clamps): a value from further off is
	 * not a rollout's */
	if (!err)
		err = xs_json_get_int(object, "step_elapsed_ms", 0,
				      MAX_ELAPSED_MS, &elapsed, why, size);
	if (!err)
		err = xs_json_get_int(object, "paused_for_ms", 0,
				      MAX_ELAPSED_MS, &paused, why, size);
	if (!err)
		err = colors_parse(object, ro, why, size);
	if (!err)
		err = xs_json_get_int(object, "canary_bp", 0, XS_WEIGHT_TOTAL,
				      &canary, why, size);
	if (!err)
		err = xs_json_get_bool(object, "switched", &switched, why,
				       size);
	if (!err)
		err = xs_json_get_bool(object, "promote", &promote, why, size);
	if (err)
		return err;
	ro->step = (__u32)step;
	ro->step_started_ms =
		now_ms > (__u64)elapsed ? now_ms - (__u64)elapsed : 0;
	ro->paused_at_ms = now_ms > (__u64)paused ? now_ms - (__u64)paused : 0;
	ro->canary_bp = (__u16)canary;
	ro->switched = switched;
	ro->promote = promote;
	return 0;
}

/* What the analysis found: failures by rule, the last measurements, why
 * it ended. */
static int findings_parse(json_object *object, struct xs_rollout *ro, char *why,
			  size_t size)
{
	int64_t failed = 0;
	int err;

	err = u32_array_parse(object, "consecutive", ro->consecutive,
			      XS_MAX_RULES, why, size);
	if (!err)
		err = u32_array_parse(object, "total", ro->total_failures,
				      XS_MAX_RULES, why, size);
	if (!err)
		err = last_parse(object, ro, why, size);
	if (!err)
		err = xs_json_get_string(object, "reason", true, ro->reason,
					 sizeof(ro->reason), why, size);
	if (!err)
		/* an index into the policy's rules */
		err = xs_json_get_int(object, "failed_rule", 0,
				      XS_MAX_RULES - 1, &failed, why, size);
	if (!err)
		ro->failed_rule = (__u32)failed;
	return err;
}

/* The leader's own: the request answered last, the lines of history
 * written, its name. */
static int bookkeeping_parse(json_object *object, struct xs_fleet_rollout *r,
			     char *why, size_t size)
{
	int64_t request = 0, history = 0;
	int err;

	err = xs_json_get_int(object, "request", 0, INT64_MAX, &request, why,
			      size);
	if (!err)
		err = xs_json_get_int(object, "history", 0, UINT32_MAX,
				      &history, why, size);
	if (!err)
		err = xs_json_get_string(object, "leader", true, r->leader,
					 sizeof(r->leader), why, size);
	if (err)
		return err;
	r->request = (__u64)request;
	r->history = (__u32)history;
	return 0;
}

int xs_fleet_rollout_parse(const char *text, size_t length,
			   struct xs_fleet_rollout *r, __u64 now_ms, char *why,
			   size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size);
	int err = object ? 0 : -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!err)
		err = identity_parse(object, r, why, size);
	if (!err)
		err = progress_parse(object, &r->rollout, now_ms, why, size);
	if (!err)
		err = findings_parse(object, &r->rollout, why, size);
	if (!err)
		err = bookkeeping_parse(object, r, why, size);
	json_object_put(object);
	if (err)
		memset(r, 0, sizeof(*r));
	return err;
}

const char *xs_fleet_action_name(enum xs_fleet_action action)
{
	static const char *const names[] = {
		[XS_FLEET_START] = "start",   [XS_FLEET_PAUSE] = "pause",
		[XS_FLEET_RESUME] = "resume", [XS_FLEET_PROMOTE] = "promote",
		[XS_FLEET_ABORT] = "abort",   [XS_FLEET_UNDO] = "undo",
	};
	return action < XS_FLEET_ACTION_COUNT ? names[action] : "invalid";
}

int xs_fleet_action_parse(const char *name, enum xs_fleet_action *action)
{
	for (int a = 0; a < XS_FLEET_ACTION_COUNT; a++)
		if (!strcmp(xs_fleet_action_name(a), name)) {
			*action = a;
			return 0;
		}
	return -EINVAL;
}

char *xs_fleet_request_format(const struct xs_fleet_request *q)
{
	json_object *object = json_object_new_object();

	json_object_object_add(object, "seq",
			       json_object_new_int64((int64_t)q->seq));
	json_object_object_add(
		object, "action",
		json_object_new_string(xs_fleet_action_name(q->action)));
	json_object_object_add(object, "policy",
			       json_object_new_string(q->policy));
	json_object_object_add(object, "flush",
			       json_object_new_boolean(q->flush));
	json_object_object_add(object, "by", json_object_new_string(q->by));
	return xs_json_format(object);
}

int xs_fleet_request_parse(const char *text, size_t length,
			   struct xs_fleet_request *q, char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size);
	char action[16];
	int64_t seq = 0;
	int err = object ? 0 : -EINVAL;

	memset(q, 0, sizeof(*q));
	if (!err)
		err = xs_json_get_int(object, "seq", 1, INT64_MAX, &seq, why,
				      size);
	if (!err)
		err = xs_json_get_string(object, "action", false, action,
					 sizeof(action), why, size);
	if (!err && xs_fleet_action_parse(action, &q->action)) {
		snprintf(why, size, "'action' is not a rollout command");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_string(object, "policy", true, q->policy,
					 sizeof(q->policy), why, size);
	if (!err)
		err = xs_json_get_bool(object, "flush", &q->flush, why, size);
	if (!err)
		err = xs_json_get_string(object, "by", true, q->by,
					 sizeof(q->by), why, size);
	q->seq = (__u64)seq;
	json_object_put(object);
	if (err)
		memset(q, 0, sizeof(*q));
	return err;
}

char *xs_fleet_history_format(const struct xs_fleet_history *h)
{
	json_object *object = json_object_new_object();

	json_object_object_add(object, "seq", json_object_new_int64(h->seq));
	json_object_object_add(object, "step", json_object_new_int64(h->step));
	json_object_object_add(object, "phase",
			       json_object_new_string(xs_phase_name(h->phase)));
	json_object_object_add(object, "route", route_object(&h->route));
	json_object_object_add(object, "what", json_object_new_string(h->what));
	json_object_object_add(object, "leader",
			       json_object_new_string(h->leader));
	return xs_json_format(object);
}

int xs_fleet_history_parse(const char *text, size_t length,
			   struct xs_fleet_history *h, char *why, size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size),
		    *route;
	int64_t seq = 0, step = 0, weight;
	char phase[32], live[16];
	int err = object ? 0 : -EINVAL;

	memset(h, 0, sizeof(*h));
	if (!err)
		err = xs_json_get_int(object, "seq", 0, UINT32_MAX, &seq, why,
				      size);
	if (!err)
		err = xs_json_get_int(object, "step", 0, XS_MAX_STEPS, &step,
				      why, size);
	if (!err)
		err = xs_json_get_string(object, "phase", false, phase,
					 sizeof(phase), why, size);
	if (!err && phase_parse(phase, &h->phase)) {
		snprintf(why, size, "'phase' is not a rollout's phase");
		err = -EINVAL;
	}
	if (!err && (!json_object_object_get_ex(object, "route", &route) ||
		     !json_object_is_type(route, json_type_object))) {
		snprintf(why, size, "'route' must be an object");
		err = -EINVAL;
	}
	for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++) {
		err = xs_json_get_int(route, xs_pool_name(pool), 0,
				      XS_WEIGHT_TOTAL, &weight, why, size);
		h->route.weight[pool] = (__u16)weight;
	}
	if (!err)
		err = xs_json_get_string(route, "live", false, live,
					 sizeof(live), why, size);
	if (!err && xs_parse_pool(live, &h->route.live_pool)) {
		snprintf(why, size, "'live' must be blue or green");
		err = -EINVAL;
	}
	/* the leader writes a route it put in force (an action's, or
	 * xs_rollout_route's): one that is not a route is not its line */
	if (!err && !xs_route_is_valid(&h->route)) {
		snprintf(
			why, size,
			"the route's weights must sum to 100%% and its live pool be blue or green");
		err = -EINVAL;
	}
	if (!err)
		err = xs_json_get_string(object, "what", true, h->what,
					 sizeof(h->what), why, size);
	if (!err)
		err = xs_json_get_string(object, "leader", true, h->leader,
					 sizeof(h->leader), why, size);
	h->seq = (__u32)seq;
	h->step = (__u32)step;
	json_object_put(object);
	if (err)
		memset(h, 0, sizeof(*h));
	return err;
}

char *xs_fleet_answer_format(__u64 seq, bool ok, const char *message)
{
	json_object *object = json_object_new_object();

	json_object_object_add(object, "seq",
			       json_object_new_int64((int64_t)seq));
	json_object_object_add(object, "ok", json_object_new_boolean(ok));
	json_object_object_add(object, "message",
			       json_object_new_string(message));
	return xs_json_format(object);
}

int xs_fleet_answer_parse(const char *text, size_t length, __u64 *seq, bool *ok,
			  char *message, size_t message_size, char *why,
			  size_t size)
{
	json_object *object = xs_json_parse_object(text, length, why, size);
	int64_t number = 0;
	int err = object ? 0 : -EINVAL;

	*ok = false;
	message[0] = '\0';
	if (!err)
		err = xs_json_get_int(object, "seq", 1, INT64_MAX, &number, why,
				      size);
	if (!err)
		err = xs_json_get_bool(object, "ok", ok, why, size);
	if (!err)
		err = xs_json_get_string(object, "message", true, message,
					 message_size, why, size);
	*seq = (__u64)number;
	json_object_put(object);
	if (err) {
		*seq = 0;
		*ok = false;
		message[0] = '\0';
	}
	return err;
}
