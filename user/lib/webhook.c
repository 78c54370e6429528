// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "parse.h"
#include "rollout.h"
#include "webhook.h"

/* the one list of event names: the parser, messages and docs test use it */
static const char *const event_names[XS_WEBHOOK_EVENT_COUNT] = {
	[XS_WEBHOOK_STARTED] = "started",
	[XS_WEBHOOK_RESUMED] = "resumed",
	[XS_WEBHOOK_STEP] = "step",
	[XS_WEBHOOK_GATE] = "gate",
	[XS_WEBHOOK_PAUSED] = "paused",
	[XS_WEBHOOK_ROLLED_BACK] = "rolled-back",
	[XS_WEBHOOK_ABORTED] = "aborted",
	[XS_WEBHOOK_SUCCEEDED] = "succeeded",
};

static const char *const kind_names[] = {
	[XS_WEBHOOK_NOTIFY] = "notify",
	[XS_WEBHOOK_GATEKEEPER] = "gate",
};

const char *xs_webhook_kind_name(enum xs_webhook_kind kind)
{
	return kind <= XS_WEBHOOK_GATEKEEPER ? kind_names[kind] : "invalid";
}

int xs_webhook_kind_parse(const char *name, enum xs_webhook_kind *kind)
{
	for (int i = 0; i <= XS_WEBHOOK_GATEKEEPER; i++)
		if (!strcmp(name, kind_names[i])) {
			*kind = i;
			return 0;
		}
	return -EINVAL;
}

void xs_webhook_events_text(__u32 events, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < XS_WEBHOOK_EVENT_COUNT && used < size; i++)
		if (events & (1u << i))
			used += snprintf(out + used, size - used, "%s%s",
					 used ? "," : "", event_names[i]);
	if (!events)
		snprintf(out, size, "none");
}

const char *xs_webhook_event_name(enum xs_webhook_event event)
{
	return event < XS_WEBHOOK_EVENT_COUNT ? event_names[event] : "invalid";
}

int xs_webhook_event_parse(const char *name, enum xs_webhook_event *event)
{
	for (int i = 0; i < XS_WEBHOOK_EVENT_COUNT; i++)
		if (!strcmp(name, event_names[i])) {
			*event = i;
			return 0;
		}
	return -EINVAL;
}

void xs_webhook_event_list(char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < XS_WEBHOOK_EVENT_COUNT && used < size; i++)
		used += snprintf(out + used, size - used, "%s%s", i ? ", " : "",
				 event_names[i]);
}

static bool active(enum xs_phase phase)
{
	return phase == XS_PHASE_RUNNING || phase == XS_PHASE_PAUSED;
}

bool xs_webhook_at_gate(const struct xs_policy *policy,
			const struct xs_rollout *rollout)
{
	return rollout->phase == XS_PHASE_RUNNING &&
	       rollout->step < policy->step_count &&
	       policy->steps[rollout->step].kind == XS_STEP_GATE;
}

size_t xs_webhook_events(const struct xs_policy *policy,
			 const struct xs_rollout *before,
			 const struct xs_rollout *after,
			 enum xs_webhook_event *out)
{
	/* a start begins from a cleared record; an undo of a finished
	 * rollout does not start one */
	bool started = before->phase == XS_PHASE_IDLE &&
		       after->phase != XS_PHASE_IDLE;
	bool resumed = before->phase == XS_PHASE_PAUSED &&
		       after->phase == XS_PHASE_RUNNING;
	bool stepped = after->step != before->step &&
		       after->step < policy->step_count && active(after->phase);
	size_t n = 0;

	if (started)
		out[n++] = XS_WEBHOOK_STARTED;
	if (resumed)
		out[n++] = XS_WEBHOOK_RESUMED;
	if (stepped)
		out[n++] = XS_WEBHOOK_STEP;
	if (xs_webhook_at_gate(policy, after) &&
	    (started || resumed || after->step != before->step))
		out[n++] = XS_WEBHOOK_GATE;
	if (after->phase != before->phase) {
		if (after->phase == XS_PHASE_PAUSED)
			out[n++] = XS_WEBHOOK_PAUSED;
		else if (after->phase == XS_PHASE_ROLLED_BACK)
			out[n++] = XS_WEBHOOK_ROLLED_BACK;
		else if (after->phase == XS_PHASE_ABORTED)
			out[n++] = XS_WEBHOOK_ABORTED;
		else if (after->phase == XS_PHASE_SUCCEEDED)
			out[n++] = XS_WEBHOOK_SUCCEEDED;
	}
	return n;
}

static json_object *percent(__u16 basis_points)
{
	return json_object_new_double(basis_points / 100.0);
}

static json_object *weights(const struct xs_route *route)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "blue", percent(route->weight[XS_POOL_BLUE]));
	json_object_object_add(o, "green",
			       percent(route->weight[XS_POOL_GREEN]));
	json_object_object_add(o, "canary",
			       percent(route->weight[XS_POOL_CANARY]));
	return o;
}

static json_object *rule_values(const struct xs_policy *p,
				const struct xs_rollout *r, __u32 i)
{
	const struct xs_rule *rule = &p->rules[i];
	const struct xs_measurement *m = &r->last[i];
	json_object *o = json_object_new_object();

	json_object_object_add(o, "rule", json_object_new_string(rule->name));
	json_object_object_add(
		o, "metric",
		json_object_new_string(xs_metric_name(rule->metric)));
	json_object_object_add(
		o, "value", m->valid ? json_object_new_double(m->value) : NULL);
	json_object_object_add(o, "samples",
			       json_object_new_uint64(m->samples));
	if (rule->has_min)
		json_object_object_add(o, "min",
				       json_object_new_double(rule->min));
	if (rule->has_max)
		json_object_object_add(o, "max",
				       json_object_new_double(rule->max));
	json_object_object_add(o, "consecutive_failures",
			       json_object_new_uint64(r->consecutive[i]));
	json_object_object_add(o, "failures",
			       json_object_new_uint64(r->total_failures[i]));
	return o;
}

/* The rule that rolled it back, if a rule did (an undo or abort has an
 * operator's reason instead). */
static bool failed_by_rule(const struct xs_policy *p,
			   const struct xs_rollout *r)
{
	const struct xs_rule *rule;

	if (r->failed_rule >= p->rule_count ||
	    !r->total_failures[r->failed_rule])
		return false;
	rule = &p->rules[r->failed_rule];
	return !strncmp(r->reason, rule->name, strlen(rule->name)) &&
	       r->reason[strlen(rule->name)] == ':';
}

static void add_string(json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

char *xs_webhook_body(const struct xs_webhook_context *c)
{
	const struct xs_policy *p = c->policy;
	const struct xs_rollout *r = c->rollout;
	struct xs_route route = xs_rollout_route(r);
	json_object *o = json_object_new_object(), *analysis;
	char *text = NULL;

	if (!o)
		return NULL;
	add_string(o, "event", c->event);
	add_string(o, "id", c->id);
	add_string(o, "time", c->time);
	add_string(o, "host", c->host);
	add_string(o, "webhook", c->webhook);
	add_string(o, "vip", c->vip);
	add_string(o, "policy", p->name);
	add_string(o, "phase", xs_phase_name(r->phase));
	/* the step status, metrics and the audit log show */
	json_object_object_add(
		o, "step",
		json_object_new_uint64(xs_rollout_step_number(p, r->step)));
	json_object_object_add(o, "steps",
			       json_object_new_uint64(p->step_count));
	if (r->step < p->step_count)
		add_string(o, "step_kind",
			   xs_step_name(p->steps[r->step].kind));
	json_object_object_add(o, "weights", weights(&route));
	add_string(o, "live", xs_pool_name(route.live_pool));
	if (r->reason[0])
		add_string(o, "reason", r->reason);
	if (r->phase == XS_PHASE_ROLLED_BACK && failed_by_rule(p, r))
		json_object_object_add(o, "failed_rule",
				       rule_values(p, r, r->failed_rule));
	analysis = json_object_new_array();
	for (__u32 i = 0; i < p->rule_count; i++)
		json_object_array_add(analysis, rule_values(p, r, i));
	json_object_object_add(o, "analysis", analysis);
	text = strdup(
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}
