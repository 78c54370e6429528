// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * PromQL analysis, off the loop that decides: a thread of its own runs the
 * queries of the running rollouts' rules, all at once on one curl multi
 * handle, each at its policy's interval and bounded by
 * XS_PROMQL_TIMEOUT_MS, and keeps the latest answer of each. The tick only
 * reads that answer, so a slow or dead Prometheus never holds the lock the
 * tick, /metrics and the control socket need, nor delays another VIP.
 *
 * A result is used by a rollout once: a tick that finds no newer answer
 * than the one it used last has no verdict for that rule (as when
 * Prometheus does not answer), so one bad sample is never counted twice.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "user/lib/log.h"
#include "user/lib/promql.h"
#include "splitd.h"

#define MAX_QUERIES 64
/* how often the thread looks at the rollouts and its queries: often while
 * a rule has a query, seldom with none (queries_wake cuts that short; the
 * second is for a change that does not call it) */
#define POLL_MS 50
#define IDLE_POLL_MS 1000

struct query {
	bool used;
	char url[XS_QUERY_SIZE], text[XS_QUERY_SIZE];
	__u32 interval_ms; /* the shortest of the policies that ask it */
	__u64 wanted_ms;   /* when a running rollout last asked for it */
	__u64 started_ms;
	struct xs_promql_call call; /* call.curl: a query in flight */
	/* the latest answer */
	__u64 sequence; /* 0: none yet */
	bool valid;
	double value;
};

static struct query queries[MAX_QUERIES];
static pthread_mutex_t queries_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static bool running;
static __u64 sequence;
static CURLM *waking; /* the thread's multi handle, under queries_lock */

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

/* The slot of this query, taken if new; NULL if the table is full.
 * Called with queries_lock held. */
static struct query *find(const struct xs_rule *rule, bool take)
{
	struct query *free_slot = NULL;

	for (int i = 0; i < MAX_QUERIES; i++) {
		struct query *q = &queries[i];

		if (!q->used) {
			if (!free_slot)
				free_slot = q;
			continue;
		}
		if (!strcmp(q->url, rule->prometheus_url) &&
		    !strcmp(q->text, rule->query))
			return q;
	}
	if (!take || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	snprintf(free_slot->url, sizeof(free_slot->url), "%s",
		 rule->prometheus_url);
	snprintf(free_slot->text, sizeof(free_slot->text), "%s", rule->query);
	return free_slot;
}

struct xs_measurement queries_latest(const struct xs_rule *rule, __u64 *seen)
{
	struct xs_measurement m = { 0 };
	struct query *q;

	pthread_mutex_lock(&queries_lock);
	q = find(rule, false);
	if (q && q->sequence > *seen) {
		*seen = q->sequence;
		m.valid = q->valid;
		m.value = q->value;
		m.samples = q->valid ? 1 : 0;
	}
	pthread_mutex_unlock(&queries_lock);
	return m;
}

/* A policy's PromQL rules, wanted now. Called with queries_lock held. */
static void want_rules(const struct xs_policy *policy, const char *vip,
		       __u64 now)
{
	static bool warned;

	for (__u32 k = 0; k < policy->rule_count; k++) {
		const struct xs_rule *rule = &policy->rules[k];
		struct query *q;

		if (rule->metric != XS_METRIC_PROMQL)
			continue;
		q = find(rule, true);
		if (!q) {
			if (!warned)
				pr_warn("More than %d distinct PromQL queries: rule %s of %s has no verdict\n",
					MAX_QUERIES, rule->name, vip);
			warned = true;
			continue;
		}
		if (q->wanted_ms != now || policy->interval_ms < q->interval_ms)
			q->interval_ms = policy->interval_ms;
		q->wanted_ms = now;
	}
}

/* Rollouts outside d->rollouts that asked lately (the fleet leader's),
 * under queries_lock: each is wanted until its time runs out. */
static struct {
	struct xs_policy policy;
	char vip[80];
	__u64 until_ms;
} outside[XS_CONFIG_MAX_VIPS];

void queries_want(const struct xs_policy *policy, const char *vip)
{
	__u64 now = monotonic_ms();
	int slot = -1;

	pthread_mutex_lock(&queries_lock);
	for (int i = 0; i < XS_CONFIG_MAX_VIPS; i++)
		if (outside[i].until_ms > now && !strcmp(outside[i].vip, vip) &&
		    !strcmp(outside[i].policy.name, policy->name))
			slot = i;
		else if (slot < 0 && outside[i].until_ms <= now)
			slot = i;
	if (slot >= 0) {
		outside[slot].policy = *policy;
		snprintf(outside[slot].vip, sizeof(outside[slot].vip), "%s",
			 vip);
		/* two intervals: a missed round does not drop it */
		outside[slot].until_ms =
			now + 2 * (__u64)policy->interval_ms + 1000;
	}
	pthread_mutex_unlock(&queries_lock);
}

/* What the running rollouts ask for: a copy, taken under both locks for
 * an instant, so that no query runs under either. */
static void collect_wanted(struct daemon *d, __u64 now)
{
	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&queries_lock);
	for (size_t i = 0; i < d->rollout_count; i++) {
		const struct daemon_rollout *r = &d->rollouts[i];
		enum xs_phase phase = r->record.rollout.phase;

		if (!r->policy ||
		    (phase != XS_PHASE_RUNNING && phase != XS_PHASE_PAUSED))
			continue;
		want_rules(r->policy, r->record.vip, now);
	}
	for (int i = 0; i < XS_CONFIG_MAX_VIPS; i++)
		if (outside[i].until_ms > now)
			want_rules(&outside[i].policy, outside[i].vip, now);
	pthread_mutex_unlock(&queries_lock);
	pthread_mutex_unlock(&d->lock);
}

static void start_due(CURLM *multi, __u64 now)
{
	pthread_mutex_lock(&queries_lock);
	for (int i = 0; i < MAX_QUERIES; i++) {
		struct query *q = &queries[i];

		if (!q->used || q->call.curl)
			continue;
		if (q->wanted_ms != now) { /* no running rollout asks for it */
			q->used = false;
			continue;
		}
		if (q->sequence && now < q->started_ms + q->interval_ms)
			continue;
		if (xs_promql_call_start(&q->call, q->url, q->text))
			continue;
		curl_easy_setopt(q->call.curl, CURLOPT_PRIVATE, q);
		if (curl_multi_add_handle(multi, q->call.curl) != CURLM_OK) {
			xs_promql_call_free(&q->call);
			continue;
		}
		q->started_ms = now;
	}
	pthread_mutex_unlock(&queries_lock);
}

/* Takes in the answers that came; the parsing is short, the network is
 * behind us. */
static void finish_done(CURLM *multi)
{
	CURLMsg *message;
	int left;

	while ((message = curl_multi_info_read(multi, &left))) {
		struct query *q = NULL;
		char error[256];
		double value = 0;
		int err;

		if (message->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE,
				  (char **)&q);
		curl_multi_remove_handle(multi, message->easy_handle);
		pthread_mutex_lock(&queries_lock);
		err = xs_promql_call_end(&q->call, message->data.result, &value,
					 error, sizeof(error));
		q->valid = !err;
		q->value = value;
		q->sequence = ++sequence;
		pthread_mutex_unlock(&queries_lock);
		if (err)
			pr_info("PromQL %s: no verdict: %s\n", q->text, error);
	}
}

/* True if any query is wanted or in flight. */
static bool any_query(void)
{
	bool any = false;

	pthread_mutex_lock(&queries_lock);
	for (int i = 0; i < MAX_QUERIES && !any; i++)
		any = queries[i].used;
	pthread_mutex_unlock(&queries_lock);
	return any;
}

static void *query_loop(void *arg)
{
	struct daemon *d = arg;
	CURLM *multi = curl_multi_init();

	if (!multi) {
		pr_warn("Couldn't start the PromQL queries: no curl multi handle\n");
		return NULL;
	}
	pthread_mutex_lock(&queries_lock);
	waking = multi;
	pthread_mutex_unlock(&queries_lock);
	while (!splitd_stop) {
		__u64 now = monotonic_ms();
		int active;

		collect_wanted(d, now);
		start_due(multi, now);
		curl_multi_perform(multi, &active);
		finish_done(multi);
		/* bounded, so that a query's interval is kept; a stop or a
		 * rollout's change wakes it (queries_wake) */
		curl_multi_poll(multi, NULL, 0,
				any_query() ? POLL_MS : IDLE_POLL_MS, NULL);
	}
	pthread_mutex_lock(&queries_lock);
	waking = NULL;
	for (int i = 0; i < MAX_QUERIES; i++)
		if (queries[i].call.curl) {
			curl_multi_remove_handle(multi, queries[i].call.curl);
			xs_promql_call_free(&queries[i].call);
		}
	pthread_mutex_unlock(&queries_lock);
	curl_multi_cleanup(multi);
	return NULL;
}

void queries_wake(void)
{
	pthread_mutex_lock(&queries_lock);
	if (waking)
		curl_multi_wakeup(waking);
	pthread_mutex_unlock(&queries_lock);
}

/* Always: a SIGHUP may bring the first PromQL rule; idle, the thread only
 * looks at the rollouts every IDLE_POLL_MS. */
int queries_start(struct daemon *d)
{
	if (pthread_create(&thread, NULL, query_loop, d))
		return -1;
	running = true;
	return 0;
}

void queries_stop(void)
{
	queries_wake();
	if (running)
		pthread_join(thread, NULL);
	running = false;
}
