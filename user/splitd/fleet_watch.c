// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet's desired state, followed: one consistent read of the keys
 * this host converges to (one txn, so the document, the routes and the
 * drain are of one revision), then an etcd watch from the revision after
 * it. Events change a staging copy; a whole watch response (every event
 * of its revisions, so a txn's keys are never seen half-applied) is then
 * published to fleet.desired for the agent. A value that does not parse
 * is refused and counted; the keys it would have changed keep their last
 * good value. On any break the thread reads again and watches again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/fleet/etcd.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/log.h"
#include "fleet.h"
#include "splitd.h"

#define WATCH_TIMEOUT_MS 2000
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000

struct watcher {
	struct daemon *d;
	struct xs_config_fleet config; /* the local file's, at start */
	struct fleet_desired staging;
	char config_key[XS_FLEET_KEY_SIZE];
	char routes_prefix[XS_FLEET_KEY_SIZE];
	char drain_key[XS_FLEET_KEY_SIZE];
	char flows_prefix[XS_FLEET_KEY_SIZE];
	int64_t last_revision; /* the newest event taken into staging */
	bool routes_changed;   /* since the last publication */
};

static void set_document(struct fleet_desired *s, const struct xs_etcd_kv *kv,
			 int64_t revision)
{
	free(s->document);
	s->document = NULL;
	s->document_length = 0;
	s->document_revision = revision;
	if (!kv)
		return;
	s->document = malloc(kv->value_length + 1);
	if (!s->document) {
		pr_warn("fleet: out of memory for the document of revision %lld\n",
			(long long)revision);
		return;
	}
	memcpy(s->document, kv->value, kv->value_length);
	s->document[kv->value_length] = '\0';
	s->document_length = kv->value_length;
}

static struct fleet_route *route_slot(struct fleet_desired *s,
				      const struct xs_vip_key *service,
				      bool create)
{
	for (size_t i = 0; i < s->route_count; i++)
		if (!memcmp(&s->routes[i].service, service, sizeof(*service)))
			return &s->routes[i];
	if (!create || s->route_count == XS_CONFIG_MAX_VIPS)
		return NULL;
	memset(&s->routes[s->route_count], 0, sizeof(s->routes[0]));
	s->routes[s->route_count].service = *service;
	return &s->routes[s->route_count++];
}

static void set_route(struct watcher *w, const char *name,
		      const struct xs_etcd_kv *kv, int64_t revision)
{
	struct fleet_desired *s = &w->staging;
	struct xs_fleet_route route;
	struct xs_vip_key service;
	struct fleet_route *slot;
	char why[200];

	if (xs_fleet_service_parse(name, &service)) {
		pr_warn("fleet: %sroutes/%s names no service: ignored\n",
			w->config.prefix, name);
		s->refused_routes++;
		return;
	}
	if (!kv) { /* deleted: the maps keep what they have */
		slot = route_slot(s, &service, false);
		if (slot)
			*slot = s->routes[--s->route_count];
		return;
	}
	if (xs_fleet_route_parse(kv->value, kv->value_length, &route, why,
				 sizeof(why))) {
		pr_warn("fleet: the route of %s at revision %lld is refused (%s): its last good one stays\n",
			name, (long long)revision, why);
		s->refused_routes++;
		return;
	}
	slot = route_slot(s, &service, true);
	if (!slot) {
		pr_warn("fleet: more than %d routes: %s ignored\n",
			XS_CONFIG_MAX_VIPS, name);
		s->refused_routes++;
		return;
	}
	slot->route = route;
	slot->revision = revision;
	w->routes_changed = true;
}

static void set_drain(struct watcher *w, const struct xs_etcd_kv *kv)
{
	char why[200];
	bool drain = false;

	if (kv && xs_fleet_drain_parse(kv->value, kv->value_length, &drain, why,
				       sizeof(why))) {
		pr_warn("fleet: %s is refused (%s): taken as a drain\n",
			w->drain_key, why);
		drain = true; /* out of doubt, out of service */
	}
	w->staging.drain = drain;
}

/* One key's new value (kv NULL: deleted) into staging. */
static void take(struct watcher *w, const char *key,
		 const struct xs_etcd_kv *kv, int64_t revision)
{
	const char *name;

	pr_debug("fleet: %s %s at revision %lld\n", kv ? "put" : "delete", key,
		 (long long)revision);
	if (!strcmp(key, w->config_key))
		set_document(&w->staging, kv, revision);
	else if (!strcmp(key, w->drain_key))
		set_drain(w, kv);
	else if ((name = xs_fleet_key_rest(key, w->config.prefix, "routes/")))
		set_route(w, name, kv, revision);
	if (!strcmp(key, w->config_key) || !strcmp(key, w->drain_key) ||
	    xs_fleet_key_rest(key, w->config.prefix, "routes/")) {
		if (revision > w->staging.wanted)
			w->staging.wanted = revision;
	} else if (kv)
		fleet_flows_queue(w->d, &w->config, key, kv->value,
				  kv->value_length);
	if (revision > w->last_revision)
		w->last_revision = revision;
}

/* staging -> fleet.desired, for the agent. */
static void publish(struct watcher *w, int64_t revision)
{
	struct fleet *f = w->d->fleet;
	char *document = NULL;

	if (w->staging.document) {
		document = malloc(w->staging.document_length + 1);
		if (!document)
			return; /* the next response publishes it */
		memcpy(document, w->staging.document,
		       w->staging.document_length + 1);
	}
	pthread_mutex_lock(&f->lock);
	free(f->desired.document);
	f->desired = w->staging;
	f->desired.document = document;
	f->desired.revision = revision;
	f->desired.reachable = true;
	f->desired.error[0] = '\0';
	f->published++;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

static void unreachable(struct watcher *w, const char *error)
{
	struct fleet *f = w->d->fleet;

	pthread_mutex_lock(&f->lock);
	if (f->desired.reachable || strcmp(f->desired.error, error))
		pr_warn("fleet: etcd: %s; forwarding and announcements stay as they are\n",
			error);
	f->desired.reachable = false;
	snprintf(f->desired.error, sizeof(f->desired.error), "%s", error);
	f->published++;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

/* The keys, all at one revision; 0 and that revision, or -errno. */
static int read_all(struct watcher *w, struct xs_etcd *etcd, int64_t *revision,
		    char *error, size_t size)
{
	const struct xs_etcd_op ops[] = {
		{ .type = XS_ETCD_OP_RANGE, .key = w->config_key },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = w->routes_prefix,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE, .key = w->drain_key },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = w->flows_prefix,
		  .flags = XS_ETCD_PREFIX },
	};
	struct xs_etcd_txn_result result;
	int err;

	err = xs_etcd_txn(etcd, NULL, 0, ops, 4, NULL, 0, &result, error, size);
	if (err) {
		xs_etcd_txn_result_free(&result);
		return err;
	}
	free(w->staging.document);
	memset(&w->staging, 0, sizeof(w->staging));
	set_document(&w->staging, NULL, 0);
	for (size_t op = 0; op < result.response_count; op++) {
		const struct xs_etcd_range *range = &result.responses[op].range;

		for (size_t i = 0; i < range->kv_count; i++)
			take(w, range->kvs[i].key, &range->kvs[i],
			     range->kvs[i].mod_revision);
	}
	*revision = result.revision;
	xs_etcd_txn_result_free(&result);
	return 0;
}

static int on_event(void *context, const struct xs_etcd_event *event)
{
	struct watcher *w = context;

	if (!event) { /* the end of one watch response: all of it is in */
		publish(w, w->last_revision);
		/* a weight change goes to the data plane now, not at the
		 * agent's next round */
		if (w->routes_changed)
			fleet_routes_apply(w->d);
		w->routes_changed = false;
		return 0;
	}
	take(w, event->kv->key,
	     event->type == XS_ETCD_EVENT_PUT ? event->kv : NULL,
	     event->revision);
	return 0;
}

void *fleet_watch_loop(void *daemon)
{
	struct daemon *d = daemon;
	struct watcher w = { .d = d, .config = d->config->fleet };
	const char *endpoints[XS_FLEET_MAX_ENDPOINTS];
	struct xs_etcd *etcd;
	char error[512];
	int retry_ms = RETRY_MIN_MS;

	xs_fleet_key(w.config_key, sizeof(w.config_key), w.config.prefix,
		     "config", NULL);
	xs_fleet_key(w.routes_prefix, sizeof(w.routes_prefix), w.config.prefix,
		     "routes/", NULL);
	xs_fleet_key(w.drain_key, sizeof(w.drain_key), w.config.prefix, "drain",
		     w.config.host);
	xs_fleet_key(w.flows_prefix, sizeof(w.flows_prefix), w.config.prefix,
		     "flows/", NULL);
	for (__u32 i = 0; i < w.config.endpoint_count; i++)
		endpoints[i] = w.config.endpoints[i];
	etcd = xs_etcd_open(endpoints, w.config.endpoint_count,
			    WATCH_TIMEOUT_MS, error, sizeof(error));
	if (!etcd) {
		unreachable(&w, error);
		return NULL;
	}
	while (!d->fleet->stop) {
		struct xs_etcd_watch_status status;
		int64_t revision;
		int err = read_all(&w, etcd, &revision, error, sizeof(error));

		if (err) {
			unreachable(&w, error);
			for (int slept = 0; slept < retry_ms && !d->fleet->stop;
			     slept += 50)
				usleep(50 * 1000);
			retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
								 retry_ms * 2;
			continue;
		}
		retry_ms = RETRY_MIN_MS;
		w.last_revision = revision;
		publish(&w, revision);
		/* until it breaks: then read everything again, which also
		 * covers a compaction */
		err = xs_etcd_watch(etcd, w.config.prefix, 0, XS_ETCD_PREFIX,
				    revision + 1, on_event, &w, &d->fleet->stop,
				    &status, error, sizeof(error));
		if (err && !d->fleet->stop)
			unreachable(&w, error);
	}
	free(w.staging.document);
	xs_etcd_close(etcd);
	return NULL;
}
