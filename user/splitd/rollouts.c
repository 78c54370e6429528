// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Running rollouts: each interval, measure the VIP's pools, let the state
 * machine decide, record the decision, then write the map. The state is
 * persisted before the map write it leads to, and marked pending until the
 * write is done, so a crash at any point resumes to a consistent route.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "user/lib/audit.h"
#include "user/lib/clock.h"
#include "user/lib/fault.h"
#include "user/lib/log.h"
#include "user/lib/measure.h"
#include "user/lib/output.h"
#include "user/lib/parse.h"
#include "user/lib/promql.h"
#include "request.h"
#include "splitd.h"
#include "webhooks.h"

__u64 now_ms(void)
{
	return xs_clock_ms();
}

static bool active(const struct daemon_rollout *r)
{
	return r->record.rollout.phase == XS_PHASE_RUNNING ||
	       r->record.rollout.phase == XS_PHASE_PAUSED;
}

static int save_all(struct daemon *d)
{
	struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];

	for (size_t i = 0; i < d->rollout_count; i++)
		records[i] = d->rollouts[i].record;
	return xs_state_save(d->state_dir, records, d->rollout_count,
			     d->state_error, sizeof(d->state_error));
}

void rollouts_save(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	/* the time of the write is what a load after a reboot counts from */
	if (d->rollout_count && save_all(d))
		pr_warn("Couldn't record the rollouts in %s at exit\n",
			d->state_dir);
	pthread_mutex_unlock(&d->lock);
}

static void remember(struct daemon_rollout *r, const char *what)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	snprintf(r->history[r->history_next++ % XS_HISTORY_SIZE],
		 sizeof(r->history[0]), "%s %s", when, what);
}

static void print_route(const char *key, const struct xs_route *route)
{
	out_object_begin(key);
	out_basis_points("blue", route->weight[XS_POOL_BLUE]);
	out_basis_points("green", route->weight[XS_POOL_GREEN]);
	out_basis_points("canary", route->weight[XS_POOL_CANARY]);
	out_string("live", xs_pool_name(route->live_pool));
	out_object_end();
}

/* What a rule's last value says: "ok", "breached", or "no verdict" (too
 * few samples), by the same test the state machine applies. */
static const char *verdict(const struct xs_rule *rule,
			   const struct xs_measurement *m)
{
	if (!m->valid)
		return "no verdict";
	return xs_rule_breached(rule, m->value) ? "breached" : "ok";
}

/* The rule as configured, for a reader judging its value (the status,
 * not the audit log, which records values only). */
static void print_rule_bounds(const struct xs_rule *rule,
			      const struct xs_measurement *m)
{
	out_string("pool", xs_pool_name(rule->pool));
	out_bool("relative", rule->relative);
	out_u64("min_samples", rule->min_samples);
	out_u64("failures_allowed", rule->failures ? rule->failures : 1);
	out_u64("failure_limit", rule->failure_limit);
	out_string("verdict", verdict(rule, m));
}

static void print_measurements(const struct daemon_rollout *r, bool bounds)
{
	out_array_begin("analysis");
	for (__u32 i = 0; r->policy && i < r->policy->rule_count; i++) {
		const struct xs_rule *rule = &r->policy->rules[i];
		const struct xs_measurement *m = &r->record.rollout.last[i];

		out_object_begin(NULL);
		out_string("rule", rule->name);
		out_string("metric", xs_metric_name(rule->metric));
		if (m->valid)
			out_double("value", m->value, 4);
		else
			out_null("value"); /* too few samples: no verdict */
		out_u64("samples", m->samples);
		if (rule->has_min)
			out_double("min", rule->min, 4);
		if (rule->has_max)
			out_double("max", rule->max, 4);
		out_u64("consecutive_failures",
			r->record.rollout.consecutive[i]);
		out_u64("failures", r->record.rollout.total_failures[i]);
		if (bounds)
			print_rule_bounds(rule, m);
		out_object_end();
	}
	out_array_end();
}

/* The decision in the audit log and the rollout's own history. */
static void record_decision(struct daemon *d, struct daemon_rollout *r,
			    const char *what, const struct xs_route *before,
			    const struct xs_route *after)
{
	char command[512];
	char *before_json = NULL, *after_json;

	snprintf(command, sizeof(command), "splitd rollout %s: %s",
		 r->record.vip, what);
	if (before) {
		out_capture_begin();
		print_route(NULL, before);
		before_json = out_capture_end();
	}
	out_capture_begin();
	out_object_begin(NULL);
	out_string("phase", xs_phase_name(r->record.rollout.phase));
	out_u64("step",
		xs_rollout_step_number(r->policy, r->record.rollout.step));
	if (after)
		print_route("route", after);
	print_measurements(r, false);
	out_object_end();
	after_json = out_capture_end();
	if (xs_audit_append(d->state_dir, command, before_json, after_json))
		pr_warn("Couldn't append to the audit log in %s\n",
			d->state_dir);
	free(before_json);
	free(after_json);
	remember(r, what);
	pr_info("%s\n", command);
}

/* Loud, but not once per tick: the first failure, then every 10 seconds
 * with the count in between, until a write succeeds again. */
static void warn_unrecorded(struct daemon *d, const struct daemon_rollout *r,
			    int err)
{
	__u64 now = now_ms();

	if (d->last_unrecorded_warning_ms &&
	    now - d->last_unrecorded_warning_ms < 10000) {
		d->unrecorded_since_warning++;
		return;
	}
	pr_warn("Couldn't record the rollout of %s in %s: %s; it does not advance and the data plane keeps its weights (%llu more failures since the last warning)\n",
		r->record.vip, d->state_dir,
		d->state_error[0] ? d->state_error : strerror(-err),
		(unsigned long long)d->unrecorded_since_warning);
	d->last_unrecorded_warning_ms = now;
	d->unrecorded_since_warning = 0;
}

/* Finds the rollout's VIP, if it is still the one the rollout was started
 * on: -ENOENT when it is gone, -ESTALE when it was deleted and created
 * again (its generation changed). */
static int own_vip(struct daemon *d, struct daemon_rollout *r)
{
	struct xs_vip vip;

	if (xs_vip_read(&d->dp, &r->record.key, &vip))
		return -ENOENT;
	if (vip.generation != r->record.generation)
		return -ESTALE;
	r->vip_id = vip.vip_id;
	return 0;
}

static const char *why_not_owned(int err)
{
	return err == -ENOENT ? "its VIP was deleted" :
				"its VIP was deleted and created again";
}

/*
 * A rollout whose VIP is gone or is another VIP now ends where it is,
 * audited, and never writes again: whatever has this address and id now
 * is not what it was started on.
 */
static void end_orphaned(struct daemon *d, struct daemon_rollout *r, int why)
{
	struct xs_rollout previous = r->record.rollout;
	char what[200];

	if (r->record.rollout.phase != XS_PHASE_RUNNING &&
	    r->record.rollout.phase != XS_PHASE_PAUSED)
		return;
	r->record.rollout.phase = XS_PHASE_ABORTED;
	r->record.route_pending = false;
	snprintf(r->record.rollout.reason, sizeof(r->record.rollout.reason),
		 "ended: %s; nothing was written to it", why_not_owned(why));
	if (save_all(d))
		pr_warn("Couldn't record the end of the rollout of %s\n",
			r->record.vip);
	snprintf(what, sizeof(what), "ended: %s", why_not_owned(why));
	record_decision(d, r, what, NULL, NULL);
	webhooks_post(r->record.vip, r->policy, &previous, &r->record.rollout);
}

/*
 * Makes next the rollout's state: persisted (with the route write marked
 * pending), then the map written, then the pending mark cleared. If the
 * state cannot be recorded, nothing advances and the maps stay as they are.
 */
static int commit(struct daemon *d, struct daemon_rollout *r,
		  const struct xs_rollout *next, const struct xs_actions *a,
		  const char *what)
{
	struct xs_rollout previous = r->record.rollout;
	struct xs_route before;
	int err;

	if (!a->changed && !a->write_route)
		return 0;
	err = own_vip(d, r);
	if (err) {
		end_orphaned(d, r, err);
		return err;
	}
	xs_route_read(&d->dp, r->vip_id, &before);
	r->record.rollout = *next;
	r->record.route_pending = a->write_route;
	err = save_all(d);
	if (err) {
		r->record.rollout = previous;
		r->record.route_pending = false;
		d->state_write_failures++;
		warn_unrecorded(d, r, err);
		return err;
	}
	if (d->unrecorded_since_warning || d->last_unrecorded_warning_ms) {
		pr_info("The state of the rollouts is recorded again in %s\n",
			d->state_dir);
		d->unrecorded_since_warning = 0;
		d->last_unrecorded_warning_ms = 0;
	}
	if (a->write_route) {
		xs_fault_point("route-pending", NULL);
		/* only while the id still holds the VIP checked above */
		err = xs_route_write_tagged(&d->dp, r->vip_id,
					    (__u8)r->record.generation,
					    &a->route);
		if (err == -ESTALE) {
			end_orphaned(d, r, err);
			return err;
		}
		if (err)
			pr_warn("Couldn't write the route of %s: %s\n",
				r->record.vip, strerror(-err));
		for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++)
			if (a->flush[pool])
				xs_service_flush(&d->dp, r->vip_id, pool);
		r->record.route_pending = false;
		if (!err)
			save_all(d);
		record_decision(d, r, what, &before, &a->route);
	} else if (what) {
		record_decision(d, r, what, NULL, NULL);
	}
	/* recorded and written: the events are told (queued, never waited on) */
	webhooks_post(r->record.vip, r->policy, &previous, &r->record.rollout);
	return 0;
}

/*
 * At a gate with gate webhooks: their latest answers, asked by the webhook
 * thread. A change is audited; all of them 2xx opens the gate as a promote
 * would. Anything else leaves the rollout waiting.
 */
static void gate_webhooks(struct daemon *d, struct daemon_rollout *r, __u64 now)
{
	struct webhooks_gate_answer answer;
	struct xs_rollout next = r->record.rollout;
	struct xs_actions a;

	if (!webhooks_gate(r->record.vip, r->policy, &r->record.rollout,
			   &answer))
		return;
	if (answer.changed && !answer.open)
		record_decision(d, r, answer.what, NULL, NULL);
	if (answer.open && !xs_rollout_promote(r->policy, &next, now, &a))
		commit(d, r, &next, &a, answer.what);
}

static void describe_step(const struct daemon_rollout *r, char *out,
			  size_t size)
{
	const struct xs_rollout *ro = &r->record.rollout;

	if (ro->step < r->policy->step_count)
		snprintf(out, size, "step %u/%u (%s), %s",
			 xs_rollout_step_number(r->policy, ro->step),
			 r->policy->step_count,
			 xs_step_name(r->policy->steps[ro->step].kind),
			 xs_phase_name(ro->phase));
	else
		snprintf(out, size, "%s: %s", xs_phase_name(ro->phase),
			 ro->reason);
}

static void measure(struct daemon *d, struct daemon_rollout *r,
		    struct xs_measurement *measured)
{
	struct xs_pool_stats now[XS_POOL_COUNT], window[XS_POOL_COUNT];

	/* the service's: its VIPs (v4, v6, ports) are judged as one */
	xs_service_pool_stats(&d->dp, r->vip_id, now);
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++) {
		if (r->have_last)
			xs_pool_stats_delta(&r->last[pool], &now[pool],
					    &window[pool]);
		else
			memset(&window[pool], 0, sizeof(window[pool]));
	}
	memcpy(r->last, now, sizeof(now));
	r->have_last = true;
	for (__u32 i = 0; i < r->policy->rule_count; i++) {
		const struct xs_rule *rule = &r->policy->rules[i];

		if (rule->metric == XS_METRIC_PROMQL) /* no network here */
			measured[i] = queries_latest(rule, &r->promql_seen[i]);
		else
			measured[i] = xs_measure(
				rule, window,
				xs_rollout_route(&r->record.rollout).live_pool);
	}
}

static void tick_one(struct daemon *d, struct daemon_rollout *r, __u64 now)
{
	struct xs_measurement measured[XS_MAX_RULES] = { 0 };
	struct xs_rollout next = r->record.rollout;
	enum xs_phase phase = next.phase;
	__u32 step = next.step;
	struct xs_actions a;
	char what[400];

	measure(d, r, measured);
	xs_rollout_tick(r->policy, &next, now, measured, &a);
	if (next.phase == XS_PHASE_ROLLED_BACK &&
	    phase != XS_PHASE_ROLLED_BACK) {
		snprintf(what, sizeof(what), "rolled back: %s", next.reason);
		if (next.failed_rule < XS_MAX_RULES)
			r->rollbacks[next.failed_rule]++;
	} else if (next.phase != phase || next.step != step) {
		describe_step(
			&(struct daemon_rollout){ .record = { .rollout = next },
						  .policy = r->policy },
			what, sizeof(what));
	} else {
		/* failures counted, nothing else: persist without a story;
		 * nothing at all: the values are still the status's to show
		 * (not worth a state write each interval) */
		if (!a.changed && !a.write_route)
			memcpy(r->record.rollout.last, next.last,
			       sizeof(next.last));
		commit(d, r, &next, &a, NULL);
		return;
	}
	commit(d, r, &next, &a, what);
}

void rollouts_tick(struct daemon *d, __u64 now)
{
	int err;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->rollout_count; i++) {
		struct daemon_rollout *r = &d->rollouts[i];

		if (!active(r) || !r->policy)
			continue;
		/* a pause or bake that ends between two intervals ends on
		 * time, judged on the part of the interval that passed (the
		 * bake's last moments are judged too); intervals go on from
		 * there */
		if (now < r->next_tick_ms &&
		    (r->step_deferred ||
		     now < xs_rollout_step_ends(r->policy, &r->record.rollout)))
			continue;
		err = own_vip(d, r);
		if (err) {
			end_orphaned(d, r, err);
			continue;
		}
		gate_webhooks(d, r, now);
		tick_one(d, r, now);
		r->next_tick_ms = now + r->policy->interval_ms;
		/* still due: not recorded (a full disk); the next interval
		 * tries again, not every turn of the loop */
		r->step_deferred =
			now >=
			xs_rollout_step_ends(r->policy, &r->record.rollout);
	}
	pthread_mutex_unlock(&d->lock);
}

__u64 rollouts_next_deadline(struct daemon *d, __u64 now)
{
	__u64 next = now + 1000;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->rollout_count; i++) {
		const struct daemon_rollout *r = &d->rollouts[i];

		if (!active(r) || !r->policy)
			continue;
		if (r->next_tick_ms < next)
			next = r->next_tick_ms;
		if (!r->step_deferred &&
		    xs_rollout_step_ends(r->policy, &r->record.rollout) < next)
			next = xs_rollout_step_ends(r->policy,
						    &r->record.rollout);
	}
	pthread_mutex_unlock(&d->lock);
	return next > now ? next : now;
}

static void bind_policy(struct daemon_rollout *r, const struct xs_policy *p)
{
	if (!p) {
		r->policy = NULL;
		return;
	}
	r->own_policy = *p;
	r->policy = &r->own_policy;
}

static bool created_at_start(const struct daemon *d,
			     const struct xs_vip_key *key)
{
	for (size_t i = 0; i < d->created_count; i++)
		if (!memcmp(&d->created[i], key, sizeof(*key)))
			return true;
	return false;
}

/*
 * Ties a persisted record to the running VIP and its policy. A record is
 * bound to the generation it was started on; a VIP that this start of
 * splitd created from the configuration (after a reboot, the data plane
 * is new) is the one the record was for, and takes its place.
 */
static int bind_record(struct daemon *d, struct daemon_rollout *r)
{
	struct xs_vip vip;

	bind_policy(r, xs_config_policy(d->config, r->record.policy));
	if (xs_vip_read(&d->dp, &r->record.key, &vip))
		return -ENOENT;
	/* a VIP this start created anew after a reboot is the record's;
	 * within one boot, a VIP missing at start was deleted by someone */
	if (!r->record.generation ||
	    (!d->same_boot && created_at_start(d, &r->record.key)))
		r->record.generation = vip.generation;
	r->vip_id = vip.vip_id;
	return vip.generation == r->record.generation ? 0 : -ESTALE;
}

int rollouts_restore(struct daemon *d)
{
	struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];
	char error[512] = "";
	size_t count;
	int err;

	err = xs_state_load(d->state_dir, records, XS_CONFIG_MAX_VIPS, &count,
			    error, sizeof(error));
	if (err) {
		pr_warn("Couldn't read the rollout state: %s\n",
			error[0] ? error : strerror(-err));
		return err;
	}
	for (size_t i = 0; i < count; i++) {
		struct daemon_rollout *r = &d->rollouts[d->rollout_count];

		memset(r, 0, sizeof(*r));
		r->record = records[i];
		err = bind_record(d, r);
		if (err) {
			/* audited if it was under way; then forgotten */
			pr_warn("Dropping the rollout of %s: %s while splitd was not running\n",
				r->record.vip, why_not_owned(err));
			if (active(r)) {
				d->rollout_count++;
				end_orphaned(d, r, err);
				d->rollout_count--;
			}
			continue;
		}
		if (!r->policy && active(r)) {
			pr_warn("The rollout of %s uses policy '%s', which the configuration no longer has; pausing it\n",
				r->record.vip, r->record.policy);
			r->record.rollout.phase = XS_PHASE_PAUSED;
			r->record.rollout.paused_at_ms = now_ms();
		}
		/* a crash between recording a decision and writing it */
		if (r->record.route_pending) {
			struct xs_route route =
				xs_rollout_route(&r->record.rollout);

			xs_route_write_tagged(&d->dp, r->vip_id,
					      (__u8)r->record.generation,
					      &route);
			r->record.route_pending = false;
			pr_info("Rewrote the route of %s that a crash interrupted\n",
				r->record.vip);
		}
		if (active(r))
			pr_info("Resuming the rollout of %s at step %u (%s)\n",
				r->record.vip,
				xs_rollout_step_number(r->policy,
						       r->record.rollout.step),
				xs_phase_name(r->record.rollout.phase));
		d->rollout_count++;
	}
	return save_all(d);
}

static struct daemon_rollout *find(struct daemon *d,
				   const struct xs_vip_key *key)
{
	for (size_t i = 0; i < d->rollout_count; i++)
		if (!memcmp(&d->rollouts[i].record.key, key, sizeof(*key)))
			return &d->rollouts[i];
	return NULL;
}

/* The VIPs the rollout drives: its own, and those sharing its route. */
static void print_service(struct daemon *d, struct daemon_rollout *r)
{
	struct xs_vip_entry *members = NULL;
	size_t count = 0;

	if (!own_vip(d, r))
		members = xs_service_members(&d->dp, r->vip_id, &count);
	out_array_begin("service");
	for (size_t i = 0; i < count; i++) {
		char text[80];

		xs_format_vip(&members[i].key, text, sizeof(text));
		out_string(NULL, text);
	}
	out_array_end();
	free(members);
}

/* The policy's steps, for a timeline: kind, and the canary weight or the
 * duration where the step has one. */
static void print_timeline(const struct xs_policy *p)
{
	out_array_begin("timeline");
	for (__u32 i = 0; p && i < p->step_count; i++) {
		const struct xs_step *step = &p->steps[i];

		out_object_begin(NULL);
		out_string("kind", xs_step_name(step->kind));
		if (step->kind == XS_STEP_WEIGHTS)
			out_basis_points("canary", step->canary_bp);
		if (step->kind == XS_STEP_PAUSE || step->kind == XS_STEP_BAKE)
			out_double("seconds", step->duration_ms / 1000.0, 1);
		out_object_end();
	}
	out_array_end();
}

/*
 * What a live view needs beyond the state: how many steps are done, the
 * time left of a timed step (frozen while paused: the clock stops), when
 * the rules are judged next, and what the rollout waits for, if for an
 * operator: a gate opens with promote, a pause ends with resume.
 */
static void print_progress(const struct daemon_rollout *r, __u64 now)
{
	const struct xs_rollout *ro = &r->record.rollout;
	const struct xs_policy *p = r->policy;
	bool under_way = active(r);

	out_u64("steps_done",
		p && ro->step > p->step_count ? p->step_count : ro->step);
	if (p)
		out_double("interval_seconds", p->interval_ms / 1000.0, 3);
	if (under_way && p && ro->step < p->step_count) {
		const struct xs_step *step = &p->steps[ro->step];
		__u64 end = ro->step_started_ms + step->duration_ms;
		__u64 at = ro->phase == XS_PHASE_PAUSED ? ro->paused_at_ms :
							  now;

		if (step->kind == XS_STEP_PAUSE || step->kind == XS_STEP_BAKE)
			out_double("step_left_seconds",
				   end > at ? (end - at) / 1000.0 : 0, 1);
	}
	if (under_way && p)
		out_double("next_analysis_in_seconds",
			   r->next_tick_ms > now ?
				   (r->next_tick_ms - now) / 1000.0 :
				   0,
			   1);
	if (ro->phase == XS_PHASE_PAUSED)
		out_string("waiting_for", "resume");
	else if (ro->phase == XS_PHASE_RUNNING && p &&
		 ro->step < p->step_count &&
		 p->steps[ro->step].kind == XS_STEP_GATE)
		out_string("waiting_for", "promote");
	print_timeline(p);
}

static void print_status(struct daemon *d, struct daemon_rollout *r, __u64 now)
{
	const struct xs_rollout *ro = &r->record.rollout;
	struct xs_route route = xs_rollout_route(ro);

	/* what the data plane does, which an operator's --force may have
	 * made differ from the rollout's own route while it is paused */
	if (!own_vip(d, r))
		xs_route_read(&d->dp, r->vip_id, &route);

	out_object_begin(NULL);
	out_string("vip", r->record.vip);
	print_service(d, r);
	out_string("policy", r->record.policy);
	out_string("phase", xs_phase_name(ro->phase));
	out_u64("step", xs_rollout_step_number(r->policy, ro->step));
	out_u64("steps", r->policy ? r->policy->step_count : 0);
	if (r->policy && ro->step < r->policy->step_count) {
		const struct xs_step *step = &r->policy->steps[ro->step];

		out_string("step_kind", xs_step_name(step->kind));
		if ((step->kind == XS_STEP_PAUSE ||
		     step->kind == XS_STEP_BAKE) &&
		    ro->phase == XS_PHASE_RUNNING) {
			__u64 end = ro->step_started_ms + step->duration_ms;

			out_double("next_step_in_seconds",
				   end > now ? (end - now) / 1000.0 : 0, 1);
		}
	}
	print_route("route", &route);
	if (ro->reason[0])
		out_string("reason", ro->reason);
	{
		__u64 total = 0;

		for (int i = 0; i < XS_MAX_RULES; i++)
			total += r->rollbacks[i];
		out_u64("rollbacks", total);
	}
	print_progress(r, now);
	print_measurements(r, true);
	out_array_begin("history");
	for (__u32 i = 0; i < XS_HISTORY_SIZE; i++) {
		const char *line =
			r->history[(r->history_next + i) % XS_HISTORY_SIZE];

		if (line[0])
			out_string(NULL, line);
	}
	out_array_end();
	out_object_end();
}

/* The policy a start uses: the one given, else the VIP's configured one;
 * NULL when neither names one. */
static const char *policy_to_start(const struct daemon *d,
				   const struct xs_vip_key *key,
				   const char *policy_name)
{
	const struct xs_config_vip *configured = NULL;

	if (policy_name && *policy_name)
		return policy_name;
	for (__u32 i = 0; i < d->config->vip_count; i++)
		if (!memcmp(&d->config->vips[i].key, key, sizeof(*key)))
			configured = &d->config->vips[i];
	return configured && configured->rollout[0] ? configured->rollout :
						      NULL;
}

/* Whether the VIP's rollout, if it has one, is under way still: a rollout
 * whose VIP was replaced has ended, whether or not a tick has noticed
 * yet. */
static bool still_under_way(struct daemon *d, struct daemon_rollout *r)
{
	int gone;

	if (!r || !active(r))
		return false;
	gone = own_vip(d, r);
	if (gone)
		end_orphaned(d, r, gone);
	return active(r);
}

/* The place of a VIP's new rollout: its finished one's, else a free one,
 * else a finished rollout's if all are taken; NULL when every place holds
 * a rollout under way. A place not the VIP's own starts cleared. */
static struct daemon_rollout *place_for(struct daemon *d,
					struct daemon_rollout *own)
{
	struct daemon_rollout *r = NULL;

	if (own)
		return own;
	for (size_t i = 0; d->rollout_count == XS_CONFIG_MAX_VIPS && !r &&
			   i < d->rollout_count;
	     i++)
		if (!active(&d->rollouts[i]))
			r = &d->rollouts[i];
	if (!r && d->rollout_count == XS_CONFIG_MAX_VIPS)
		return NULL;
	if (!r)
		r = &d->rollouts[d->rollout_count++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* A new record in r's place, bound to the VIP's present generation and
 * the policy; the first analysis one interval from now. */
static void begin_record(struct daemon *d, struct daemon_rollout *r,
			 const struct xs_vip_key *key,
			 const struct xs_vip_entry *vip,
			 const char *policy_name, __u64 now)
{
	const struct xs_policy *policy =
		xs_config_policy(d->config, policy_name);
	struct daemon_rollout fresh = *r;

	memset(&fresh.record, 0, sizeof(fresh.record));
	fresh.record.key = *key;
	fresh.record.generation = vip->vip.generation;
	xs_format_vip(key, fresh.record.vip, sizeof(fresh.record.vip));
	snprintf(fresh.record.policy, sizeof(fresh.record.policy), "%s",
		 policy_name);
	fresh.vip_id = vip->vip.vip_id;
	fresh.have_last = false;
	fresh.next_tick_ms = now + policy->interval_ms;
	*r = fresh;
	bind_policy(r, policy);
}

static int start(struct daemon *d, const struct xs_vip_key *key,
		 const char *vip_text, const char *policy_name, __u64 now,
		 char *message, size_t size)
{
	struct daemon_rollout *r = find(d, key);
	struct xs_vip_entry vip;
	struct xs_rollout next;
	struct xs_actions a;
	char what[400];
	int gone;

	if (xs_vip_lookup(&d->dp, key, &vip)) {
		snprintf(message, size, "no VIP %s in the data plane",
			 vip_text);
		return -ENOENT;
	}
	policy_name = policy_to_start(d, key, policy_name);
	if (!policy_name || !xs_config_policy(d->config, policy_name)) {
		snprintf(message, size,
			 policy_name ?
				 "no rollout policy '%s' in the configuration" :
				 "%s names no rollout policy; give one",
			 policy_name ? policy_name : vip_text);
		return -EINVAL;
	}
	if (still_under_way(d, r)) {
		snprintf(
			message, size,
			"a rollout of %s is already %s; pause, resume, promote or abort it",
			r->record.vip, xs_phase_name(r->record.rollout.phase));
		return -EBUSY;
	}
	r = place_for(d, r);
	if (!r) {
		snprintf(message, size, "too many rollouts");
		return -ENOSPC;
	}
	begin_record(d, r, key, &vip, policy_name, now);
	next = r->record.rollout;
	xs_rollout_start(r->policy, &next, &vip.route, now, &a);
	snprintf(what, sizeof(what), "started with policy %s", policy_name);
	gone = commit(d, r, &next, &a, what);
	if (gone == -ENOENT || gone == -ESTALE) {
		snprintf(message, size, "not started: %s while it started",
			 why_not_owned(gone));
		return gone;
	}
	if (gone) {
		snprintf(message, size,
			 "couldn't record the rollout state in %s; not started",
			 d->state_dir);
		return -EIO;
	}
	snprintf(message, size, "rollout of %s started (%s)", vip_text,
		 policy_name);
	return 0;
}

/* A VIP that shares another's route is part of that VIP's service: the
 * service has one rollout, kept under its first VIP. */
static void service_of(struct daemon *d, struct xs_vip_key *key)
{
	struct xs_vip_entry entry, primary;

	if (!xs_vip_lookup(&d->dp, key, &entry) &&
	    !xs_service_primary(&d->dp, &entry, &primary))
		*key = primary.key;
}

/* pause, resume, promote, abort or undo by an operator: the change
 * recorded and written, or an error and nothing written; message says
 * which. */
static int operator_change(struct daemon *d, struct daemon_rollout *r,
			   const struct control_request *request, uid_t uid,
			   __u64 now, char *message, size_t size)
{
	const char *verb = request->verb, *vip_text = request->vip;
	struct xs_rollout next = r->record.rollout;
	struct xs_actions a;
	char what[400];
	int err;

	if (!strcmp(verb, "pause"))
		err = xs_rollout_pause(&next, now, &a);
	else if (!strcmp(verb, "resume"))
		err = xs_rollout_resume(&next, now, &a);
	else if (!strcmp(verb, "promote") && r->policy)
		err = xs_rollout_promote(r->policy, &next, now, &a);
	else if (!strcmp(verb, "abort"))
		err = xs_rollout_abort(&next, "aborted by an operator",
				       request->flush, &a);
	else if (!strcmp(verb, "undo"))
		err = xs_rollout_undo(&next, request->flush, &a);
	else
		err = -EINVAL;
	if (err) {
		snprintf(message, size, "can't %s the rollout of %s: it is %s",
			 verb, vip_text,
			 xs_phase_name(r->record.rollout.phase));
		return err;
	}
	snprintf(what, sizeof(what), "%s by uid %u: now %s, step %u", verb,
		 (unsigned)uid, xs_phase_name(next.phase),
		 xs_rollout_step_number(r->policy, next.step));
	err = commit(d, r, &next, &a, a.changed ? what : NULL);
	if (err == -ENOENT || err == -ESTALE) {
		snprintf(message, size,
			 "the rollout of %s has ended: %s; nothing was written",
			 r->record.vip, why_not_owned(err));
		return err;
	}
	if (err) {
		snprintf(message, size,
			 "couldn't record the state in %s; nothing changed",
			 d->state_dir);
		return -EIO;
	}
	snprintf(message, size, a.changed ? "%s: done" : "%s: unchanged", verb);
	return 0;
}

/* The reply to a status without a VIP: every rollout this host has. */
static char *reply_all(struct daemon *d, __u64 now)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_bool("ok", true);
	out_array_begin("rollouts");
	for (size_t i = 0; i < d->rollout_count; i++)
		print_status(d, &d->rollouts[i], now);
	out_array_end();
	out_object_end();
	return out_capture_end();
}

/* The reply to a command done: its message and the rollout, if any. */
static char *reply_done(struct daemon *d, const char *message,
			struct daemon_rollout *r, __u64 now)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_bool("ok", true);
	out_string("message", message);
	out_array_begin("rollouts");
	if (r)
		print_status(d, r, now);
	out_array_end();
	out_object_end();
	return out_capture_end();
}

static char *reply_error(const char *message)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_bool("ok", false);
	out_string("error", message);
	out_object_end();
	return out_capture_end();
}

/*
 * A command on one VIP's rollout (start, status, or an operator's change),
 * under the daemon's lock: 0 and *r the rollout (NULL if none), or an
 * error; message says what happened either way.
 */
static int run_command(struct daemon *d, const struct control_request *request,
		       uid_t uid, __u64 now, char *message, size_t size,
		       struct daemon_rollout **r)
{
	const char *verb = request->verb, *vip_text = request->vip;
	struct xs_vip_key key;
	int err;

	*r = NULL;
	if (d->config->fleet.enabled) {
		/* one rollout for the fleet, not one per host */
		snprintf(
			message, size,
			"this host is in fleet %s: its rollouts are the fleet's; see 'splitctl fleet help'",
			d->config->fleet.prefix);
		return -EPERM;
	}
	if (xs_parse_vip(vip_text, &key)) {
		snprintf(message, size, "'%s' is not a VIP", vip_text);
		return -EINVAL;
	}
	service_of(d, &key);
	if (!strcmp(verb, "start")) {
		err = start(d, &key, vip_text, request->policy, now, message,
			    size);
		if (!err)
			*r = find(d, &key);
		return err;
	}
	*r = find(d, &key);
	if (!*r) {
		snprintf(
			message, size,
			"no rollout of %s; start one with 'splitctl rollout start %s'",
			vip_text, vip_text);
		return -ENOENT;
	}
	if (!strcmp(verb, "status"))
		return 0;
	return operator_change(d, *r, request, uid, now, message, size);
}

char *rollouts_command(struct daemon *d, const struct control_request *request,
		       uid_t uid)
{
	char message[400] = "";
	struct daemon_rollout *r;
	__u64 now = now_ms();
	char *json;

	pthread_mutex_lock(&d->lock);
	if (!strcmp(request->verb, "status") && !*request->vip)
		json = reply_all(d, now);
	else if (run_command(d, request, uid, now, message, sizeof(message),
			     &r))
		json = reply_error(message);
	else
		json = reply_done(d, message, r, now);
	pthread_mutex_unlock(&d->lock);
	/* a rollout started or resumed may have PromQL rules: their first
	 * query now, not when the idle query thread next looks */
	queries_wake();
	return json;
}
