// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet's rollouts: run by one splitd at a time, the leader, which
 * holds P leader under a lease of its own. Any host may lead; one that
 * dies is replaced within the lease's TTL by whoever campaigns next, and
 * the new leader goes on from the rollout's recorded state (P rollouts/
 * SERVICE), at the recorded step.
 *
 * Every decision is one etcd txn, fenced twice: it holds only while P
 * leader is still the one this host created (a leader that lost its lease
 * writes nothing) and while the rollout's key is still at the revision
 * the decision was made from (no two writers ever interleave). The txn
 * puts the rollout's state, its route and a line of its history, each
 * created once (history/SERVICE/ID/SEQ must not exist yet): a step is
 * never repeated, skipped or written out of order.
 *
 * The canary is judged on the whole fleet: each host publishes its
 * counters (P counters/HOST); the leader sums what each host's grew by
 * (a host whose counters went back, a reloaded data plane, counts from 0).
 * Without quorum nothing is read or written, so rollouts pause where they
 * are and go on when etcd is back (a pause that ends meanwhile ends late).
 * PromQL rules are asked by the query thread, as on one host.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/fleet/documents.h"
#include "user/lib/fleet/etcd.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/fleet/rollout_doc.h"
#include "user/lib/log.h"
#include "user/lib/measure.h"
#include "user/lib/parse.h"
#include "fleet.h"
#include "splitd.h"
#include "webhooks.h"

#define LEADER_TIMEOUT_MS 1000
#define LEADER_ROUND_MS 250
#define MAX_HOSTS 64
#define MAX_ROLLOUTS XS_CONFIG_MAX_VIPS

struct host_counters {
	char host[64];
	struct xs_fleet_service_counters services[XS_CONFIG_MAX_VIPS];
	size_t count;
	bool present;
};

/* One service's rollout as the leader holds it between rounds. */
struct led {
	bool used;
	struct xs_fleet_rollout record;
	int64_t mod_revision; /* of its key when read: the second fence */
	struct xs_pool_stats window[XS_POOL_COUNT]; /* since its last tick */
	bool measured; /* the window covers a whole interval */
	__u64 next_tick_ms;
	__u64 promql_seen[XS_MAX_RULES];
	/* the state whose events were posted (or read as recorded): a
	 * transition is posted once, by the leader that recorded it */
	struct xs_rollout told;
};

struct leader {
	struct daemon *d;
	struct xs_config_fleet config;
	struct xs_etcd *etcd;
	struct fleet_lease lease;
	int64_t fence; /* create revision of our P leader; 0: not leading */
	char leader_key[XS_FLEET_KEY_SIZE];
	struct host_counters hosts[MAX_HOSTS];
	size_t host_count;
	bool baseline; /* counters read once since leading began */
	struct led led[MAX_ROLLOUTS];
	struct xs_config_file document;
	bool have_document;
};

static void key(struct leader *l, char *out, const char *part, const char *more)
{
	xs_fleet_key(out, XS_FLEET_KEY_SIZE, l->config.prefix, part, more);
}

static void step_down(struct leader *l, const char *why)
{
	if (l->fence)
		pr_warn("fleet: no longer leading the rollouts: %s\n", why);
	l->fence = 0;
	__atomic_store_n(&l->d->fleet->leading, false, __ATOMIC_RELEASE);
	memset(l->led, 0, sizeof(l->led));
	l->baseline = false;
}

/* The leader's own lease (fleet_lease.c); false while it cannot be sure
 * it has one. Unrenewed for a TTL it stops deciding; it leads again when
 * etcd renews the same lease (without quorum no lease expires). */
static bool keep_lease(struct leader *l)
{
	bool had = l->lease.id != 0;

	switch (fleet_lease_keep(l->etcd, &l->lease, l->config.lease_ms,
				 now_ms())) {
	case FLEET_LEASE_NEW:
		if (had)
			step_down(l, "the lease expired");
		return true;
	case FLEET_LEASE_HELD:
	case FLEET_LEASE_UNSURE:
		return true;
	case FLEET_LEASE_STALE:
		step_down(l, "the lease could not be renewed");
		return false;
	default:
		return false;
	}
}

/* P leader created under our lease if nobody holds it; or found to be
 * ours still (etcd lost its quorum a while, and our lease outlived it):
 * then we lead again from where the key says. */
static void campaign(struct leader *l)
{
	const struct xs_etcd_compare absent = { .key = l->leader_key,
						.target = XS_ETCD_CREATE,
						.result = XS_ETCD_EQUAL };
	const struct xs_etcd_op claim = {
		.type = XS_ETCD_OP_PUT,
		.key = l->leader_key,
		.value = l->config.host,
		.value_length = strlen(l->config.host),
		.lease = l->lease.id,
	};
	const struct xs_etcd_op holder = { .type = XS_ETCD_OP_RANGE,
					   .key = l->leader_key };
	struct xs_etcd_txn_result result;
	char error[512];

	if (xs_etcd_txn(l->etcd, &absent, 1, &claim, 1, &holder, 1, &result,
			error, sizeof(error))) {
		xs_etcd_txn_result_free(&result);
		return;
	}
	if (result.succeeded) {
		l->fence = result.revision;
	} else if (result.response_count == 1 &&
		   result.responses[0].range.kv_count == 1 &&
		   result.responses[0].range.kvs[0].lease == l->lease.id) {
		l->fence = result.responses[0].range.kvs[0].create_revision;
	}
	if (l->fence) {
		l->baseline = false;
		__atomic_store_n(&l->d->fleet->leading, true, __ATOMIC_RELEASE);
		pr_info("fleet: %s leads the rollouts (revision %lld)\n",
			l->config.host, (long long)l->fence);
	}
	xs_etcd_txn_result_free(&result);
}

/* --- measuring ---------------------------------------------------- */

static struct led *led_of(struct leader *l, const struct xs_vip_key *service,
			  bool take)
{
	struct led *free_slot = NULL;

	for (int i = 0; i < MAX_ROLLOUTS; i++) {
		if (l->led[i].used && !memcmp(&l->led[i].record.service,
					      service, sizeof(*service)))
			return &l->led[i];
		if (!l->led[i].used && !free_slot)
			free_slot = &l->led[i];
	}
	if (!take || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->record.service = *service;
	return free_slot;
}

static void add_stats(struct xs_pool_stats *sum, const struct xs_pool_stats *d)
{
	sum->packets += d->packets;
	sum->bytes += d->bytes;
	sum->new_flows += d->new_flows;
	sum->syn_retransmits += d->syn_retransmits;
	sum->handshakes_completed += d->handshakes_completed;
	sum->client_resets += d->client_resets;
	sum->fallbacks += d->fallbacks;
	for (int b = 0; b < XS_LATENCY_BUCKETS; b++)
		sum->handshake_latency[b] += d->handshake_latency[b];
}

/* What a host's counters grew by; a counter that went back means its
 * data plane started again: all it has is new. */
static void growth(const struct xs_pool_stats *before,
		   const struct xs_pool_stats *after, struct xs_pool_stats *out)
{
	if (after->new_flows < before->new_flows ||
	    after->handshakes_completed < before->handshakes_completed ||
	    after->packets < before->packets)
		*out = *after;
	else
		xs_pool_stats_delta(before, after, out);
}

static struct host_counters *host_of(struct leader *l, const char *name)
{
	for (size_t i = 0; i < l->host_count; i++)
		if (!strcmp(l->hosts[i].host, name))
			return &l->hosts[i];
	if (l->host_count == MAX_HOSTS)
		return NULL;
	memset(&l->hosts[l->host_count], 0, sizeof(l->hosts[0]));
	snprintf(l->hosts[l->host_count].host, sizeof(l->hosts[0].host), "%s",
		 name);
	return &l->hosts[l->host_count++];
}

/* Each host's counters, read this round: their growth goes into the
 * window of every rollout of the service. A host seen for the first time
 * (or again after leading began) is a baseline only. */
static void take_counters(struct leader *l, const struct xs_etcd_range *range)
{
	static struct xs_fleet_service_counters now[XS_CONFIG_MAX_VIPS];

	for (size_t i = 0; i < l->host_count; i++)
		l->hosts[i].present = false;
	for (size_t k = 0; k < range->kv_count; k++) {
		const char *name = xs_fleet_key_rest(
			range->kvs[k].key, l->config.prefix, "counters/");
		struct host_counters *h;
		size_t count;
		bool fresh;
		char why[200];

		if (!name || xs_fleet_counters_parse(range->kvs[k].value,
						     range->kvs[k].value_length,
						     now, XS_CONFIG_MAX_VIPS,
						     &count, why, sizeof(why)))
			continue;
		fresh = !host_of(l, name) || !l->baseline;
		h = host_of(l, name);
		if (!h)
			continue;
		fresh |= h->count == 0;
		for (size_t s = 0; !fresh && s < count; s++) {
			struct led *r = led_of(l, &now[s].service, false);

			for (size_t p = 0; r && p < h->count; p++) {
				if (memcmp(&h->services[p].service,
					   &now[s].service,
					   sizeof(now[s].service)))
					continue;
				for (__u8 pool = 0; pool < XS_POOL_COUNT;
				     pool++) {
					struct xs_pool_stats grown;

					growth(&h->services[p].pools[pool],
					       &now[s].pools[pool], &grown);
					add_stats(&r->window[pool], &grown);
				}
			}
		}
		memcpy(h->services, now, count * sizeof(now[0]));
		h->count = count;
		h->present = true;
	}
	/* a host gone takes its baseline with it */
	for (size_t i = 0; i < l->host_count;)
		if (!l->hosts[i].present)
			l->hosts[i] = l->hosts[--l->host_count];
		else
			i++;
	l->baseline = true;
}

static void measure(struct leader *l, struct led *r,
		    const struct xs_policy *policy, struct xs_measurement *out)
{
	__u8 live = xs_rollout_route(&r->record.rollout).live_pool;

	for (__u32 i = 0; i < policy->rule_count; i++) {
		const struct xs_rule *rule = &policy->rules[i];

		if (rule->metric == XS_METRIC_PROMQL)
			out[i] = queries_latest(rule, &r->promql_seen[i]);
		else if (r->measured)
			out[i] = xs_measure(rule, r->window, live);
		else
			memset(&out[i], 0, sizeof(out[i])); /* a part window */
	}
	memset(r->window, 0, sizeof(r->window));
	r->measured = l->baseline;
}

/* --- deciding and recording -------------------------------------- */

struct fleet_read {
	struct xs_etcd_txn_result result;
	const struct xs_etcd_range *config, *routes, *rollouts, *requests,
		*counters;
};

/* The kv of part + SERVICE ("routes/", ...) in range, or NULL. */
static const struct xs_etcd_kv *find_service(const struct xs_etcd_range *range,
					     struct leader *l, const char *part,
					     const struct xs_vip_key *service)
{
	char name[96];

	xs_fleet_service_name(service, name, sizeof(name));
	for (size_t i = 0; i < range->kv_count; i++) {
		const char *rest = xs_fleet_key_rest(range->kvs[i].key,
						     l->config.prefix, part);

		if (rest && !strcmp(rest, name))
			return &range->kvs[i];
	}
	return NULL;
}

/* The service's route in etcd, or what its VIP starts with. */
static struct xs_fleet_route current_route(struct leader *l,
					   const struct fleet_read *f,
					   const struct xs_vip_key *service)
{
	const struct xs_etcd_kv *kv =
		find_service(f->routes, l, "routes/", service);
	struct xs_fleet_route route = { 0 };
	char why[200];

	if (kv && !xs_fleet_route_parse(kv->value, kv->value_length, &route,
					why, sizeof(why)))
		return route;
	memset(&route, 0, sizeof(route));
	route.route.weight[XS_POOL_BLUE] = XS_WEIGHT_TOTAL;
	for (__u32 v = 0; v < l->document.vip_count; v++)
		if (!memcmp(&l->document.vips[v].key, service,
			    sizeof(*service)) &&
		    l->document.vips[v].has_weights)
			route.route = l->document.vips[v].weights;
	return route;
}

/* A decision's transaction as it is put together: its keys, the texts it
 * writes (freed by decision_free) and its compares and operations. */
struct decision {
	char rollout_key[XS_FLEET_KEY_SIZE], route_key[XS_FLEET_KEY_SIZE],
		history_key[XS_FLEET_KEY_SIZE], answer_key[XS_FLEET_KEY_SIZE];
	char *record_text, *route_text, *history_text, *answer_text;
	struct xs_etcd_compare compares[3];
	struct xs_etcd_op ops[4];
	size_t compare_count, op_count;
};

static void add_put(struct decision *d, const char *key, const char *value)
{
	d->ops[d->op_count++] =
		(struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
				     .key = key,
				     .value = value,
				     .value_length = value ? strlen(value) :
							     0 };
}

/* The route the actions write, the flush counts raised for the pools they
 * flush. */
static void add_route(struct decision *d, const struct led *r,
		      struct xs_fleet_route route, const struct xs_actions *a)
{
	route.route = a->route;
	route.route.vip_tag = 0;
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		route.flush[pool] += a->flush[pool];
	snprintf(route.by, sizeof(route.by), "rollout %llu",
		 (unsigned long long)r->record.id);
	d->route_text = xs_fleet_route_format(&route);
	add_put(d, d->route_key, d->route_text);
}

/* A line of history, created once: a second writer of it fails whole. */
static void add_history(struct decision *d, const struct leader *l,
			const struct led *r, const struct xs_actions *a,
			const char *what)
{
	struct xs_fleet_history h = {
		.seq = r->record.history - 1,
		.step = r->record.rollout.step,
		.phase = r->record.rollout.phase,
		.route = a->write_route ? a->route :
					  xs_rollout_route(&r->record.rollout),
	};

	snprintf(h.what, sizeof(h.what), "%s", what);
	snprintf(h.leader, sizeof(h.leader), "%s", l->config.host);
	d->history_text = xs_fleet_history_format(&h);
	d->compares[d->compare_count++] =
		(struct xs_etcd_compare){ .key = d->history_key,
					  .target = XS_ETCD_CREATE,
					  .result = XS_ETCD_EQUAL };
	add_put(d, d->history_key, d->history_text);
}

static void decision_free(struct decision *d)
{
	free(d->record_text);
	free(d->route_text);
	free(d->history_text);
	free(d->answer_text);
}

/* The decision's keys under the service's name; its line of history is
 * numbered by the lines the rollout has so far. */
static void decision_keys(struct decision *d, struct leader *l,
			  const struct led *r, const char *name)
{
	char more[160];

	key(l, d->rollout_key, "rollouts", name);
	key(l, d->route_key, "routes", name);
	snprintf(more, sizeof(more), "%s/%llu/%06u", name,
		 (unsigned long long)r->record.id, r->record.history);
	key(l, d->history_key, "history", more);
	key(l, d->answer_key, "answers", name);
}

/* Fenced by the lead, and by the rollout as this leader last read it. */
static void add_fences(struct decision *d, const struct leader *l,
		       const struct led *r)
{
	d->compares[d->compare_count++] =
		(struct xs_etcd_compare){ .key = l->leader_key,
					  .target = XS_ETCD_CREATE,
					  .result = XS_ETCD_EQUAL,
					  .number = l->fence };
	d->compares[d->compare_count++] =
		(struct xs_etcd_compare){ .key = d->rollout_key,
					  .target = XS_ETCD_MOD,
					  .result = XS_ETCD_EQUAL,
					  .number = r->mod_revision };
}

static void add_answer(struct decision *d, const struct xs_fleet_request *q,
		       const char *answer, bool answer_ok)
{
	d->answer_text =
		xs_fleet_answer_format(q->seq, answer_ok, answer ? answer : "");
	if (d->answer_text)
		add_put(d, d->answer_key, d->answer_text);
}

/* Runs the decision's txn; true if it was recorded. A failed fence means
 * the rollout is read afresh next round. */
static bool record_decision(struct leader *l, struct led *r,
			    const struct decision *d, const char *name,
			    const char *what)
{
	struct xs_etcd_txn_result result;
	char text[160], error[512];
	bool ok = false;
	int err;

	err = xs_etcd_txn(l->etcd, d->compares, d->compare_count, d->ops,
			  d->op_count, NULL, 0, &result, error, sizeof(error));
	if (err) {
		pr_warn("fleet: couldn't record the rollout of %s: %s; it waits\n",
			name, error);
	} else if (!result.succeeded) {
		pr_warn("fleet: the rollout of %s changed under this leader (or the lead was lost); reading again\n",
			name);
		r->used = false; /* read afresh next round */
	} else {
		r->mod_revision = result.revision;
		ok = true;
		xs_format_vip(&r->record.service, text, sizeof(text));
		webhooks_post(text,
			      xs_config_policy(&l->document, r->record.policy),
			      &r->told, &r->record.rollout);
		r->told = r->record.rollout;
		if (what)
			pr_info("fleet: %s: %s\n", name, what);
	}
	xs_etcd_txn_result_free(&result);
	return ok;
}

/*
 * The one txn of a decision: the rollout's new state, its route if it
 * changed (flush counts raised for the pools to flush), a line of
 * history if something happened, and the answer to a request. false if
 * a fence failed: the next round reads again.
 */
static bool commit(struct leader *l, const struct fleet_read *f, struct led *r,
		   const struct xs_actions *a, const char *what,
		   const struct xs_fleet_request *answered, const char *answer,
		   bool answer_ok)
{
	struct decision d = { 0 };
	char name[96];
	bool ok = false;

	xs_fleet_service_name(&r->record.service, name, sizeof(name));
	decision_keys(&d, l, r, name);
	snprintf(r->record.leader, sizeof(r->record.leader), "%s",
		 l->config.host);
	if (what)
		r->record.history++;
	add_fences(&d, l, r);
	d.record_text = xs_fleet_rollout_format(&r->record, now_ms());
	add_put(&d, d.rollout_key, d.record_text);
	if (a->write_route)
		add_route(&d, r, current_route(l, f, &r->record.service), a);
	if (what)
		add_history(&d, l, r, a, what);
	if (answered)
		add_answer(&d, answered, answer, answer_ok);
	/* out of memory for a text: decided again next round */
	if (d.record_text && (!a->write_route || d.route_text) &&
	    (!what || d.history_text))
		ok = record_decision(l, r, &d, name, what);
	if (!ok && what)
		r->record.history--;
	decision_free(&d);
	return ok;
}

/* The answer to a request that changed no rollout, fenced like every
 * leader write. */
static void answer_only(struct leader *l, const struct xs_vip_key *service,
			const struct xs_fleet_request *q, const char *message)
{
	char name[96], answer_key[XS_FLEET_KEY_SIZE], error[512];
	char *text = xs_fleet_answer_format(q->seq, false, message);
	struct xs_etcd_compare fence = { .key = l->leader_key,
					 .target = XS_ETCD_CREATE,
					 .result = XS_ETCD_EQUAL,
					 .number = l->fence };
	struct xs_etcd_op put = { .type = XS_ETCD_OP_PUT };
	struct xs_etcd_txn_result result;

	if (!text)
		return;
	xs_fleet_service_name(service, name, sizeof(name));
	key(l, answer_key, "answers", name);
	put.key = answer_key;
	put.value = text;
	put.value_length = strlen(text);
	xs_etcd_txn(l->etcd, &fence, 1, &put, 1, NULL, 0, &result, error,
		    sizeof(error));
	xs_etcd_txn_result_free(&result);
	free(text);
}

static bool under_way(const struct xs_rollout *r)
{
	return r->phase == XS_PHASE_RUNNING || r->phase == XS_PHASE_PAUSED;
}

static void describe(const struct xs_policy *p, const struct xs_rollout *r,
		     char *out, size_t size)
{
	if (r->step < p->step_count && under_way(r))
		snprintf(out, size, "step %u/%u (%s), %s",
			 xs_rollout_step_number(p, r->step), p->step_count,
			 xs_step_name(p->steps[r->step].kind),
			 xs_phase_name(r->phase));
	else
		snprintf(out, size, "%s: %s", xs_phase_name(r->phase),
			 r->reason);
}

static const struct xs_policy *
policy_for(struct leader *l, const struct xs_vip_key *service, const char *name)
{
	for (__u32 v = 0; !name[0] && v < l->document.vip_count; v++)
		if (!memcmp(&l->document.vips[v].key, service,
			    sizeof(*service)))
			name = l->document.vips[v].rollout;
	return name[0] ? xs_config_policy(&l->document, name) : NULL;
}

/* Answers a request it cannot carry out, with a message made like printf's. */
static void refuse(struct leader *l, const struct xs_vip_key *service,
		   const struct xs_fleet_request *q, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
static void refuse(struct leader *l, const struct xs_vip_key *service,
		   const struct xs_fleet_request *q, const char *format, ...)
{
	char message[600];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	answer_only(l, service, q, message);
}

/* The rollout a start request begins, and its policy; NULL (the request
 * answered) if none may start. */
static struct led *led_to_start(struct leader *l,
				const struct xs_vip_key *service,
				const struct xs_fleet_request *q,
				const char *text,
				const struct xs_policy **policy)
{
	struct led *r = led_of(l, service, false);

	*policy = policy_for(l, service, q->policy);
	if (!*policy) {
		refuse(l, service, q,
		       "%s has no policy %s in the fleet's document", text,
		       q->policy[0] ? q->policy : "of its own (rollout:)");
		return NULL;
	}
	if (r && under_way(&r->record.rollout)) {
		refuse(l, service, q,
		       "a rollout of %s runs already (%s); abort it first",
		       text, r->record.policy);
		return NULL;
	}
	if (!r)
		r = led_of(l, service, true);
	if (!r)
		answer_only(l, service, q,
			    "the leader holds too many rollouts");
	return r;
}

/* A new rollout from the service's current route, as the request's. */
static int start_rollout(struct leader *l, const struct fleet_read *f,
			 struct led *r, const struct xs_fleet_request *q,
			 const struct xs_policy *policy, __u64 now,
			 struct xs_rollout *next, struct xs_actions *a)
{
	struct xs_fleet_route route = current_route(l, f, &r->record.service);
	int err;

	memset(next, 0, sizeof(*next));
	err = xs_rollout_start(policy, next, &route.route, now, a);
	if (err)
		return err;
	r->record.id = q->seq;
	r->record.history = 0;
	snprintf(r->record.policy, sizeof(r->record.policy), "%s",
		 policy->name);
	r->measured = false;
	memset(r->promql_seen, 0, sizeof(r->promql_seen));
	memset(&r->told, 0, sizeof(r->told)); /* posts started */
	return 0;
}

/* The rollout any other request acts on, and its policy; NULL (the request
 * answered) if there is none. */
static struct led *led_to_change(struct leader *l,
				 const struct xs_vip_key *service,
				 const struct xs_fleet_request *q,
				 const char *text,
				 const struct xs_policy **policy)
{
	struct led *r = led_of(l, service, false);

	if (!r || !r->record.id) {
		refuse(l, service, q,
		       "no rollout of %s; start one with 'splitctl fleet rollout start %s'",
		       text, text);
		return NULL;
	}
	*policy = xs_config_policy(&l->document, r->record.policy);
	if (!*policy) {
		refuse(l, service, q,
		       "the rollout's policy %s is no longer in the fleet's document",
		       r->record.policy);
		return NULL;
	}
	return r;
}

/* Pause, resume, promote, abort or undo; non-zero where it does not apply. */
static int change_rollout(const struct xs_policy *policy,
			  const struct xs_fleet_request *q, __u64 now,
			  struct xs_rollout *next, struct xs_actions *a)
{
	switch (q->action) {
	case XS_FLEET_PAUSE:
		return xs_rollout_pause(next, now, a);
	case XS_FLEET_RESUME:
		return xs_rollout_resume(next, now, a);
	case XS_FLEET_PROMOTE:
		return xs_rollout_promote(policy, next, now, a);
	case XS_FLEET_ABORT:
		return xs_rollout_abort(next, "aborted by an operator",
					q->flush, a);
	case XS_FLEET_UNDO:
		return xs_rollout_undo(next, q->flush, a);
	default:
		return -EINVAL;
	}
}

static void handle_request(struct leader *l, const struct fleet_read *f,
			   const struct xs_vip_key *service,
			   const struct xs_fleet_request *q)
{
	const struct xs_policy *policy;
	struct xs_actions a = { 0 };
	struct xs_rollout next;
	__u64 now = now_ms();
	char message[600], what[400], text[80];
	struct led *r;
	int err;

	xs_format_vip(service, text, sizeof(text));
	if (q->action == XS_FLEET_START) {
		r = led_to_start(l, service, q, text, &policy);
		if (!r)
			return;
		err = start_rollout(l, f, r, q, policy, now, &next, &a);
	} else {
		r = led_to_change(l, service, q, text, &policy);
		if (!r)
			return;
		next = r->record.rollout;
		err = change_rollout(policy, q, now, &next, &a);
	}
	if (err) {
		refuse(l, service, q,
		       "%s does not apply to the rollout of %s now (%s)",
		       xs_fleet_action_name(q->action), text,
		       xs_phase_name(r->record.rollout.phase));
		return;
	}
	r->record.rollout = next;
	r->record.request = q->seq;
	describe(policy, &next, what, sizeof(what));
	snprintf(message, sizeof(message), "%s by %s: %s",
		 xs_fleet_action_name(q->action),
		 q->by[0] ? q->by : "an operator", what);
	r->next_tick_ms = now + policy->interval_ms;
	commit(l, f, r, &a, message, q, what, true);
}

static void tick(struct leader *l, const struct fleet_read *f, struct led *r,
		 __u64 now)
{
	const struct xs_policy *policy =
		xs_config_policy(&l->document, r->record.policy);
	struct xs_measurement measured[XS_MAX_RULES] = { 0 };
	struct xs_rollout next = r->record.rollout;
	struct xs_actions a;
	char what[400], text[80];
	bool happened;

	if (!policy)
		return; /* said at request time; it waits for its policy */
	xs_format_vip(&r->record.service, text, sizeof(text));
	queries_want(policy, text);
	if (now < r->next_tick_ms)
		return;
	r->next_tick_ms = now + policy->interval_ms;
	measure(l, r, policy, measured);
	{
		/* gate webhooks open a gate as a promote would (webhooks.h) */
		struct webhooks_gate_answer gate;

		if (webhooks_gate(text, policy, &next, &gate) && gate.open &&
		    !xs_rollout_promote(policy, &next, now, &a)) {
			r->record.rollout = next;
			commit(l, f, r, &a, gate.what, NULL, NULL, false);
			return;
		} else if (gate.changed) {
			pr_info("fleet: %s: %s\n", text, gate.what);
		}
	}
	xs_rollout_tick(policy, &next, now, measured, &a);
	happened = next.phase != r->record.rollout.phase ||
		   next.step != r->record.rollout.step;
	if (next.phase == XS_PHASE_ROLLED_BACK &&
	    r->record.rollout.phase != XS_PHASE_ROLLED_BACK)
		snprintf(what, sizeof(what), "rolled back: %s", next.reason);
	else
		describe(policy, &next, what, sizeof(what));
	r->record.rollout = next;
	/* every tick is written: the elapsed time a new leader goes on from */
	commit(l, f, r, &a, happened ? what : NULL, NULL, NULL, false);
}

/* --- the round ---------------------------------------------------- */

static int read_fleet(struct leader *l, struct fleet_read *f)
{
	char config[XS_FLEET_KEY_SIZE], routes[XS_FLEET_KEY_SIZE],
		rollouts[XS_FLEET_KEY_SIZE], requests[XS_FLEET_KEY_SIZE],
		counters[XS_FLEET_KEY_SIZE], answers[XS_FLEET_KEY_SIZE],
		error[512];
	const struct xs_etcd_op ops[] = {
		{ .type = XS_ETCD_OP_RANGE, .key = config },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = routes,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = rollouts,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = requests,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = counters,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = answers,
		  .flags = XS_ETCD_PREFIX },
	};
	int err;

	key(l, config, "config", NULL);
	key(l, routes, "routes/", NULL);
	key(l, rollouts, "rollouts/", NULL);
	key(l, requests, "requests/", NULL);
	key(l, counters, "counters/", NULL);
	key(l, answers, "answers/", NULL);
	err = xs_etcd_txn(l->etcd, NULL, 0, ops, 6, NULL, 0, &f->result, error,
			  sizeof(error));
	if (!err && f->result.response_count != 6)
		err = -EPROTO;
	if (err) {
		xs_etcd_txn_result_free(&f->result);
		return err;
	}
	f->config = &f->result.responses[0].range;
	f->routes = &f->result.responses[1].range;
	f->rollouts = &f->result.responses[2].range;
	f->requests = &f->result.responses[3].range;
	f->counters = &f->result.responses[4].range;
	return 0;
}

static void take_document(struct leader *l, const struct fleet_read *f)
{
	char error[512];

	l->have_document =
		f->config->kv_count &&
		!xs_config_parse_document(f->config->kvs[0].value,
					  f->config->kvs[0].value_length,
					  "the fleet document", &l->document,
					  error, sizeof(error));
	if (!l->have_document)
		memset(&l->document, 0, sizeof(l->document));
}

/* The rollouts' keys into l->led: a key this leader did not write last
 * (another leader's, or one it lost track of) is taken as it stands. */
static void take_rollouts(struct leader *l, const struct fleet_read *f)
{
	__u64 now = now_ms();

	for (size_t i = 0; i < f->rollouts->kv_count; i++) {
		const struct xs_etcd_kv *kv = &f->rollouts->kvs[i];
		struct xs_fleet_rollout record;
		struct led *r;
		char why[200];

		if (!xs_fleet_key_rest(kv->key, l->config.prefix,
				       "rollouts/") ||
		    xs_fleet_rollout_parse(kv->value, kv->value_length, &record,
					   now, why, sizeof(why)))
			continue;
		r = led_of(l, &record.service, true);
		if (!r || r->mod_revision == kv->mod_revision)
			continue;
		if (r->record.id)
			pr_info("fleet: taking the rollout of %s as recorded at revision %lld\n",
				kv->key, (long long)kv->mod_revision);
		r->record = record;
		r->told = record.rollout;
		r->mod_revision = kv->mod_revision;
		r->measured = false;
		r->next_tick_ms = now;
	}
}

static bool answered(struct leader *l, const struct fleet_read *f,
		     const struct xs_vip_key *service, __u64 seq)
{
	const struct xs_etcd_kv *kv = find_service(
		&f->result.responses[5].range, l, "answers/", service);
	char message[8], why[200];
	__u64 done;
	bool ok;

	return kv &&
	       !xs_fleet_answer_parse(kv->value, kv->value_length, &done, &ok,
				      message, sizeof(message), why,
				      sizeof(why)) &&
	       done >= seq;
}

static void round_of(struct leader *l)
{
	struct fleet_read f;
	__u64 now;

	if (read_fleet(l, &f))
		return; /* no quorum, no etcd: nothing is decided */
	take_document(l, &f);
	take_rollouts(l, &f);
	take_counters(l, f.counters);
	for (size_t i = 0; l->have_document && i < f.requests->kv_count; i++) {
		const struct xs_etcd_kv *kv = &f.requests->kvs[i];
		const char *name = xs_fleet_key_rest(kv->key, l->config.prefix,
						     "requests/");
		struct xs_fleet_request q;
		struct xs_vip_key service;
		struct led *r;
		char why[200];

		if (!name || xs_fleet_service_parse(name, &service) ||
		    xs_fleet_request_parse(kv->value, kv->value_length, &q, why,
					   sizeof(why)))
			continue;
		r = led_of(l, &service, false);
		if ((r && r->record.request >= q.seq) ||
		    answered(l, &f, &service, q.seq))
			continue;
		handle_request(l, &f, &service, &q);
	}
	now = now_ms();
	for (int i = 0; l->have_document && i < MAX_ROLLOUTS; i++)
		if (l->led[i].used && l->led[i].record.id &&
		    under_way(&l->led[i].record.rollout))
			tick(l, &f, &l->led[i], now);
	xs_etcd_txn_result_free(&f.result);
}

void *fleet_leader_loop(void *daemon)
{
	struct daemon *d = daemon;
	static struct leader l;
	const char *endpoints[XS_FLEET_MAX_ENDPOINTS];
	char error[512];

	memset(&l, 0, sizeof(l));
	l.d = d;
	l.config = d->config->fleet;
	key(&l, l.leader_key, "leader", NULL);
	for (__u32 i = 0; i < l.config.endpoint_count; i++)
		endpoints[i] = l.config.endpoints[i];
	l.etcd = xs_etcd_open(endpoints, l.config.endpoint_count,
			      LEADER_TIMEOUT_MS, error, sizeof(error));
	if (!l.etcd) {
		pr_warn("fleet: %s\n", error);
		return NULL;
	}
	while (!d->fleet->stop) {
		if (keep_lease(&l)) {
			if (!l.fence)
				campaign(&l);
			if (l.fence)
				round_of(&l);
		}
		for (int slept = 0; slept < LEADER_ROUND_MS && !d->fleet->stop;
		     slept += 50)
			usleep(50 * 1000);
	}
	/* a leader that stops lets the next take over at once */
	if (l.lease.id)
		xs_etcd_lease_revoke(l.etcd, l.lease.id, error, sizeof(error));
	xs_etcd_close(l.etcd);
	return NULL;
}
