// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "rollout.h"

const char *xs_phase_name(enum xs_phase phase)
{
	static const char *const names[] = {
		[XS_PHASE_IDLE] = "idle",
		[XS_PHASE_RUNNING] = "running",
		[XS_PHASE_PAUSED] = "paused",
		[XS_PHASE_SUCCEEDED] = "succeeded",
		[XS_PHASE_ROLLED_BACK] = "rolled-back",
		[XS_PHASE_ABORTED] = "aborted",
	};
	return phase <= XS_PHASE_ABORTED ? names[phase] : "invalid";
}

__u32 xs_rollout_step_number(const struct xs_policy *p, __u32 step_index)
{
	if (p && step_index >= p->step_count)
		return p->step_count;
	return step_index + 1;
}

const char *xs_step_name(enum xs_step_kind kind)
{
	static const char *const names[] = {
		[XS_STEP_WEIGHTS] = "weights", [XS_STEP_PAUSE] = "pause",
		[XS_STEP_GATE] = "gate",       [XS_STEP_SWITCH] = "switch",
		[XS_STEP_BAKE] = "bake",
	};
	return kind <= XS_STEP_BAKE ? names[kind] : "invalid";
}

const char *xs_metric_name(enum xs_metric metric)
{
	static const char *const names[] = {
		[XS_METRIC_HANDSHAKE_RATIO] = "handshake_ratio",
		[XS_METRIC_SYN_RETRANSMIT_RATIO] = "syn_retransmit_ratio",
		[XS_METRIC_LATENCY_P50] = "latency_p50",
		[XS_METRIC_LATENCY_P90] = "latency_p90",
		[XS_METRIC_LATENCY_P99] = "latency_p99",
		[XS_METRIC_PROMQL] = "promql",
	};
	return metric < XS_METRIC_COUNT ? names[metric] : "invalid";
}

bool xs_rule_breached(const struct xs_rule *rule, double value)
{
	return (rule->has_min && value < rule->min) ||
	       (rule->has_max && value > rule->max);
}

struct xs_route xs_rollout_route(const struct xs_rollout *r)
{
	__u8 color = r->switched ? r->to_color : r->from_color;
	struct xs_route route = { .live_pool = color };

	route.weight[XS_POOL_CANARY] = r->canary_bp;
	route.weight[color] = XS_WEIGHT_TOTAL - r->canary_bp;
	return route;
}

static void emit_route(const struct xs_rollout *r, struct xs_actions *out)
{
	out->write_route = true;
	out->route = xs_rollout_route(r);
	out->changed = true;
}

/* Runs every step that is due at now; stops at one that waits. */
static void advance(const struct xs_policy *p, struct xs_rollout *r,
		    __u64 now_ms, struct xs_actions *out)
{
	while (r->phase == XS_PHASE_RUNNING && r->step < p->step_count) {
		const struct xs_step *step = &p->steps[r->step];

		switch (step->kind) {
		case XS_STEP_WEIGHTS:
			if (r->canary_bp != step->canary_bp) {
				r->canary_bp = step->canary_bp;
				emit_route(r, out);
			}
			break;
		case XS_STEP_SWITCH:
			if (!r->switched) {
				r->switched = true;
				emit_route(r, out);
			}
			break;
		case XS_STEP_PAUSE:
		case XS_STEP_BAKE:
			if (now_ms < r->step_started_ms + step->duration_ms)
				return;
			break;
		case XS_STEP_GATE:
			if (!r->promote)
				return;
			r->promote = false;
			break;
		}
		r->step++;
		r->step_started_ms = now_ms;
		out->changed = true;
	}
	if (r->phase == XS_PHASE_RUNNING && r->step >= p->step_count) {
		r->phase = XS_PHASE_SUCCEEDED;
		snprintf(r->reason, sizeof(r->reason), "all %u steps done",
			 p->step_count);
		out->changed = true;
	}
}

int xs_rollout_start(const struct xs_policy *p, struct xs_rollout *r,
		     const struct xs_route *current, __u64 now_ms,
		     struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase == XS_PHASE_RUNNING || r->phase == XS_PHASE_PAUSED)
		return -EBUSY;
	memset(r, 0, sizeof(*r));
	r->phase = XS_PHASE_RUNNING;
	r->from_color = current->live_pool == XS_POOL_GREEN ? XS_POOL_GREEN :
							      XS_POOL_BLUE;
	r->to_color = r->from_color == XS_POOL_BLUE ? XS_POOL_GREEN :
						      XS_POOL_BLUE;
	r->canary_bp = current->weight[XS_POOL_CANARY];
	r->step_started_ms = now_ms;
	out->changed = true;
	/* a rollout owns the route: its state and the map agree from here */
	{
		struct xs_route owned = xs_rollout_route(r);

		if (memcmp(&owned, current, sizeof(owned)))
			emit_route(r, out);
	}
	advance(p, r, now_ms, out);
	return 0;
}

/* Canary to 0 and, after a switch, the old color back: one route write.
 * The canary's established flows are re-chosen only when flush says so:
 * a canary judged broken (flush_canary) or an operator who asks. Otherwise
 * they drain: they stay where they are and new flows go to the live pool. */
static void restore(struct xs_rollout *r, enum xs_phase phase, bool flush,
		    struct xs_actions *out)
{
	r->canary_bp = 0;
	r->phase = phase;
	out->flush[XS_POOL_CANARY] = flush;
	r->switched = false;
	emit_route(r, out);
}

/* An operator's flush: the canary's flows, and after the switch the new
 * color's too (an undo is usually of a bad new color), re-chosen on the
 * old one. */
static void restore_flushing(struct xs_rollout *r, enum xs_phase phase,
			     bool flush, struct xs_actions *out)
{
	bool switched = r->switched;

	restore(r, phase, flush, out);
	out->flush[r->to_color] = flush && switched;
}

static void evaluate(const struct xs_policy *p, struct xs_rollout *r,
		     __u64 now_ms, const struct xs_measurement *measured,
		     struct xs_actions *out)
{
	for (__u32 i = 0; i < p->rule_count; i++) {
		const struct xs_rule *rule = &p->rules[i];
		__u32 needed = rule->failures ? rule->failures : 1;

		r->last[i] = measured[i];
		if (!measured[i].valid)
			continue; /* too little traffic: no verdict either way */
		if (!xs_rule_breached(rule, measured[i].value)) {
			r->consecutive[i] = 0;
			continue;
		}
		r->consecutive[i]++;
		r->total_failures[i]++;
		out->changed = true;
		if (r->consecutive[i] < needed &&
		    !(rule->failure_limit &&
		      r->total_failures[i] >= rule->failure_limit))
			continue;
		char low[32] = "-inf", high[32] = "inf";

		if (rule->has_min)
			snprintf(low, sizeof(low), "%g", rule->min);
		if (rule->has_max)
			snprintf(high, sizeof(high), "%g", rule->max);
		char what[96];

		if (rule->metric == XS_METRIC_PROMQL)
			snprintf(what, sizeof(what), "the query");
		else
			snprintf(what, sizeof(what), "%s of %s%s",
				 xs_metric_name(rule->metric),
				 rule->pool == XS_POOL_CANARY ? "canary" :
				 rule->pool == XS_POOL_GREEN  ? "green" :
								"blue",
				 rule->relative ? " relative to live" : "");
		snprintf(
			r->reason, sizeof(r->reason),
			"%s: %s was %.4g, outside [%s, %s], for %u interval%s (%u in all)",
			rule->name, what, measured[i].value, low, high,
			r->consecutive[i], r->consecutive[i] == 1 ? "" : "s",
			r->total_failures[i]);
		r->failed_rule = i;
		if (p->on_failure == XS_ON_FAILURE_ROLLBACK) {
			restore(r, XS_PHASE_ROLLED_BACK,
				p->flush_canary_on_rollback, out);
		} else if (r->phase == XS_PHASE_RUNNING) {
			r->phase = XS_PHASE_PAUSED;
			r->paused_at_ms = now_ms;
		}
		return;
	}
}

void xs_rollout_tick(const struct xs_policy *p, struct xs_rollout *r,
		     __u64 now_ms, const struct xs_measurement *measured,
		     struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase != XS_PHASE_RUNNING && r->phase != XS_PHASE_PAUSED)
		return;
	evaluate(p, r, now_ms, measured, out);
	advance(p, r, now_ms, out);
}

__u64 xs_rollout_step_ends(const struct xs_policy *p,
			   const struct xs_rollout *r)
{
	const struct xs_step *step;

	if (r->phase != XS_PHASE_RUNNING || r->step >= p->step_count)
		return UINT64_MAX;
	step = &p->steps[r->step];
	if (step->kind != XS_STEP_PAUSE && step->kind != XS_STEP_BAKE)
		return UINT64_MAX;
	return r->step_started_ms + step->duration_ms;
}

int xs_rollout_pause(struct xs_rollout *r, __u64 now_ms, struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase == XS_PHASE_PAUSED)
		return 0;
	if (r->phase != XS_PHASE_RUNNING)
		return -EINVAL;
	r->phase = XS_PHASE_PAUSED;
	r->paused_at_ms = now_ms;
	snprintf(r->reason, sizeof(r->reason), "paused by an operator");
	out->changed = true;
	return 0;
}

int xs_rollout_resume(struct xs_rollout *r, __u64 now_ms,
		      struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase == XS_PHASE_RUNNING)
		return 0;
	if (r->phase != XS_PHASE_PAUSED)
		return -EINVAL;
	/* a pause's clock stood still while paused; failures start afresh */
	r->step_started_ms += now_ms - r->paused_at_ms;
	memset(r->consecutive, 0, sizeof(r->consecutive));
	memset(r->total_failures, 0, sizeof(r->total_failures));
	r->phase = XS_PHASE_RUNNING;
	r->reason[0] = '\0';
	out->changed = true;
	return 0;
}

int xs_rollout_promote(const struct xs_policy *p, struct xs_rollout *r,
		       __u64 now_ms, struct xs_actions *out)
{
	const struct xs_step *step;

	memset(out, 0, sizeof(*out));
	if (r->phase != XS_PHASE_RUNNING || r->step >= p->step_count)
		return -EINVAL;
	step = &p->steps[r->step];
	if (step->kind == XS_STEP_GATE) {
		r->promote = true;
	} else if (step->kind == XS_STEP_PAUSE) {
		/* promote also ends a timed pause early */
		r->step_started_ms = now_ms - step->duration_ms;
	} else {
		return -EINVAL;
	}
	out->changed = true;
	advance(p, r, now_ms, out);
	return 0;
}

int xs_rollout_abort(struct xs_rollout *r, const char *why, bool flush,
		     struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase == XS_PHASE_ABORTED || r->phase == XS_PHASE_ROLLED_BACK)
		return 0;
	if (r->phase != XS_PHASE_RUNNING && r->phase != XS_PHASE_PAUSED)
		return -EINVAL;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	restore_flushing(r, XS_PHASE_ABORTED, flush, out);
	return 0;
}

int xs_rollout_undo(struct xs_rollout *r, bool flush, struct xs_actions *out)
{
	memset(out, 0, sizeof(*out));
	if (r->phase == XS_PHASE_ROLLED_BACK || r->phase == XS_PHASE_ABORTED)
		return 0;
	/* a finished rollout, or one past its switch (the bake is there so
	 * that the switch can be undone at once) */
	if (r->phase != XS_PHASE_SUCCEEDED &&
	    !((r->phase == XS_PHASE_RUNNING || r->phase == XS_PHASE_PAUSED) &&
	      r->switched))
		return -EINVAL;
	snprintf(r->reason, sizeof(r->reason), "undone by an operator");
	restore_flushing(r, XS_PHASE_ROLLED_BACK, flush, out);
	return 0;
}
