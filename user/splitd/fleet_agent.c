// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One host of the fleet, converging: every second (or at once when the
 * watch publishes) it
 *   1. keeps its lease (hosts/HOST and its other keys live on it);
 *   2. applies a new document by the reload's rule (a document that does
 *      not parse is refused and reported; the maps keep the last good one);
 *   3. writes each service's route where the map differs from etcd's (one
 *      atomic store each), so a hand-written weight is put back too;
 *   4. announces every VIP while healthy: the program attached on every
 *      interface, caught up with etcd (everything up to the revision the
 *      watch read is in the maps), and not drained. Without etcd a host
 *      that was caught up keeps its announcement (fail-static); one that
 *      never was since it started announces nothing;
 *   5. reports what it did, under its lease.
 * Network calls happen here and in the watch only, never under d->lock.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "user/lib/audit.h"
#include "user/lib/fleet/announce.h"
#include "user/lib/fleet/etcd.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/service.h"
#include "user/lib/version.h"
#include "fleet.h"
#include "splitd.h"

#define AGENT_TIMEOUT_MS 1000
/* a host that joins finds every live host's moved flows at most this old */
#define FLOW_REFRESH_MS 30000

struct agent {
	struct daemon *d;
	struct xs_config_fleet config;
	struct xs_etcd *etcd;
	struct fleet_lease lease;
	char host_key[XS_FLEET_KEY_SIZE];
	/* what the maps stand for */
	int64_t applied_document; /* the document revision applied or refused */
	bool document_failed; /* it parsed, but this host could not apply it */
	bool caught_up_once;
	struct xs_fleet_host said; /* the last report etcd took */
	bool said_ok;
	bool name_taken; /* hosts/HOST is another splitd's */
	char counters_key[XS_FLEET_KEY_SIZE];
	__u64 counters_sent_ms;
	bool decisions_changed; /* since the last export of moved flows */
	__u64 taken;		/* fleet.published when desired was copied */
	__u64 flows_exported_ms;
};

static struct xs_announcer announcer;
static bool announcer_open;

int fleet_agent_open(struct daemon *d)
{
	const struct xs_config_fleet *f = &d->config->fleet;
	char error[256];

	if (xs_announce_open(&announcer, f->device, f->table, error,
			     sizeof(error))) {
		pr_err("Error: Couldn't make the announcer's device: %s\n",
		       error);
		return -1;
	}
	announcer_open = true;
	return 0;
}

/* Until ms pass or the watch publishes something this agent has not
 * taken yet (one published while it was busy wakes it at once). */
static void sleep_ms(struct daemon *d, __u64 taken, int ms)
{
	struct fleet *f = d->fleet;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (!f->stop && f->published == taken)
		if (pthread_cond_timedwait(&f->changed, &f->lock, &until))
			break; /* the time is up */
	pthread_mutex_unlock(&f->lock);
}

/* The lease (fleet_lease.c); false while there is none to write under:
 * nothing is reported meanwhile. */
static bool keep_lease(struct agent *a)
{
	bool had = a->lease.id != 0;

	switch (fleet_lease_keep(a->etcd, &a->lease, a->config.lease_ms,
				 now_ms())) {
	case FLEET_LEASE_NEW:
		if (had)
			pr_warn("fleet: the lease of %s expired; it has another\n",
				a->config.host);
		a->said_ok = false; /* the report went with the old one */
		return true;
	case FLEET_LEASE_HELD:
	case FLEET_LEASE_UNSURE:
		return true;
	default:
		return false;
	}
}

/* A new document made the maps'. Its weights are what a VIP it creates
 * starts with: the route key's where there is one. */
static void apply_document(struct agent *a, const struct fleet_desired *want)
{
	static struct xs_config_file document;
	char error[512];

	if (want->document_revision == a->applied_document &&
	    !a->document_failed)
		return;
	if (!want->document) {
		/* none yet, or deleted: the maps stay as they are */
		a->applied_document = want->document_revision;
		a->document_failed = false;
		return;
	}
	if (xs_config_parse_document(want->document, want->document_length,
				     "the fleet document", &document, error,
				     sizeof(error))) {
		if (a->applied_document != want->document_revision)
			pr_warn("fleet: the document of revision %lld is refused, the maps keep the last good one: %s\n",
				(long long)want->document_revision, error);
		a->applied_document = want->document_revision;
		a->document_failed = false;
		return;
	}
	for (__u32 v = 0; v < document.vip_count; v++)
		for (size_t r = 0; r < want->route_count; r++)
			if (!memcmp(&want->routes[r].service,
				    &document.vips[v].key,
				    sizeof(document.vips[v].key))) {
				document.vips[v].has_weights = true;
				document.vips[v].weights =
					want->routes[r].route.route;
			}
	if (reload_document(a->d, &document, error, sizeof(error))) {
		if (!a->document_failed ||
		    a->applied_document != want->document_revision)
			pr_warn("fleet: couldn't apply the document of revision %lld: %s\n",
				(long long)want->document_revision, error);
		a->applied_document = want->document_revision;
		a->document_failed = true;
		return;
	}
	pr_info("fleet: applied the document of revision %lld\n",
		(long long)want->document_revision);
	a->decisions_changed = true;
	a->applied_document = want->document_revision;
	a->document_failed = false;
}

/* The program on every configured interface (an id the kernel gives;
 * after start the daemon may not look deeper). */
static bool attached(struct agent *a, char *why, size_t size)
{
	const struct xs_config_file *c = a->d->config;

	for (__u32 i = 0; i < c->interface_count; i++) {
		int ifindex = (int)if_nametoindex(c->interfaces[i].name);
		__u32 id = 0;

		if (ifindex)
			bpf_xdp_query_id(ifindex,
					 c->interfaces[i].generic ?
						 XDP_FLAGS_SKB_MODE :
						 XDP_FLAGS_DRV_MODE,
					 &id);
		if (!id) {
			snprintf(why, size, "no program attached on %s",
				 c->interfaces[i].name);
			return false;
		}
	}
	if (!c->interface_count) {
		snprintf(why, size, "no interfaces in the configuration");
		return false;
	}
	return true;
}

/* The VIPs of the configuration now in force. */
static size_t vip_prefixes(struct agent *a, struct xs_announce_prefix *out,
			   size_t max)
{
	size_t count = 0;

	pthread_mutex_lock(&a->d->lock);
	for (__u32 v = 0; v < a->d->config->vip_count && count < max; v++) {
		const struct xs_vip_key *key = &a->d->config->vips[v].key;
		bool seen = false;

		/* one prefix per address, whatever the ports */
		for (size_t i = 0; i < count; i++)
			seen |= out[i].family == key->family &&
				!memcmp(out[i].address, key->address,
					sizeof(key->address));
		if (seen)
			continue;
		memset(&out[count], 0, sizeof(out[count]));
		out[count].family = key->family;
		out[count].length = key->family == XS_FAMILY_IPV4 ? 32 : 128;
		memcpy(out[count].address, key->address, sizeof(key->address));
		count++;
	}
	pthread_mutex_unlock(&a->d->lock);
	return count;
}

static void announce(struct agent *a, struct xs_fleet_host *report, bool serve)
{
	static struct xs_announce_prefix prefixes[XS_CONFIG_MAX_VIPS];
	size_t count = serve ? vip_prefixes(a, prefixes, XS_CONFIG_MAX_VIPS) :
			       0;
	int err = xs_announce_set(&announcer, prefixes, count);

	if (err) {
		snprintf(report->why, sizeof(report->why),
			 "couldn't announce: %.120s", announcer.error);
		report->announce = XS_ANNOUNCE_WITHDRAWN;
		xs_announce_withdraw(&announcer);
		return;
	}
	report->announce = count ? XS_ANNOUNCE_ANNOUNCED :
				   XS_ANNOUNCE_WITHDRAWN;
	report->vips = (__u32)count;
	if (serve && !count)
		snprintf(report->why, sizeof(report->why), "no VIPs");
}

/* hosts/HOST under our lease: created if absent, rewritten if ours. A
 * key under another lease is another splitd with this host name: it is
 * not overwritten, and this host says so and withdraws (two hosts of one
 * name would hide each other's state). */
static void report_to_etcd(struct agent *a, const struct xs_fleet_host *report)
{
	const struct xs_etcd_compare absent = { .key = a->host_key,
						.target = XS_ETCD_CREATE,
						.result = XS_ETCD_EQUAL },
				     ours = { .key = a->host_key,
					      .target = XS_ETCD_LEASE,
					      .result = XS_ETCD_EQUAL,
					      .number = a->lease.id };
	struct xs_etcd_txn_result result;
	struct xs_etcd_op put = { .type = XS_ETCD_OP_PUT,
				  .key = a->host_key,
				  .lease = a->lease.id };
	char error[512], *text;
	bool written = false;
	int err;

	if (a->said_ok && !memcmp(&a->said, report, sizeof(*report)))
		return;
	text = xs_fleet_host_format(report);
	if (!text)
		return;
	put.value = text;
	put.value_length = strlen(text);
	for (int i = 0; i < 2 && !written; i++) {
		err = xs_etcd_txn(a->etcd, i ? &ours : &absent, 1, &put, 1,
				  NULL, 0, &result, error, sizeof(error));
		written = !err && result.succeeded;
		xs_etcd_txn_result_free(&result);
		if (err)
			break;
		if (i && !written) {
			if (!a->name_taken)
				pr_warn("fleet: another splitd reports as host %s (a key under another lease): this host withdraws until its name is its own; give each host its own fleet.host\n",
					a->config.host);
			a->name_taken = true;
		}
	}
	if (written) {
		if (a->name_taken)
			pr_info("fleet: the host name %s is this host's again\n",
				a->config.host);
		a->name_taken = false;
		a->said = *report;
		a->said_ok = true;
	}
	free(text);
}

/* This host's counters of every service, for the leader's analysis:
 * once an interval, under the lease (a host gone takes them with it). */
static void publish_counters(struct agent *a)
{
	static struct xs_fleet_service_counters services[XS_CONFIG_MAX_VIPS];
	__u64 now = now_ms();
	size_t count = 0;
	char error[512], *text;

	if (now - a->counters_sent_ms < a->d->config->interval_ms)
		return;
	a->counters_sent_ms = now;
	pthread_mutex_lock(&a->d->lock);
	for (__u32 v = 0; v < a->d->config->vip_count; v++) {
		const struct xs_config_vip *vip = &a->d->config->vips[v];
		struct xs_vip_entry entry;

		if (vip->has_share ||
		    xs_vip_lookup(&a->d->dp, &vip->key, &entry))
			continue;
		services[count].service = vip->key;
		xs_service_pool_stats(&a->d->dp, entry.vip.route_id,
				      services[count].pools);
		count++;
	}
	pthread_mutex_unlock(&a->d->lock);
	text = xs_fleet_counters_format(services, count);
	if (!text)
		return;
	xs_etcd_put(a->etcd, a->counters_key, 0, text, strlen(text),
		    a->lease.id, NULL, error, sizeof(error));
	free(text);
}

/* After a change of this host's decisions, and now and then for hosts
 * that join: the flows whose backend today's choice would not give. */
static void share_moved_flows(struct agent *a)
{
	__u64 now = now_ms();

	if (__atomic_exchange_n(&a->d->fleet->decisions_changed, false,
				__ATOMIC_ACQ_REL))
		a->decisions_changed = true;
	if (!a->decisions_changed &&
	    now - a->flows_exported_ms < FLOW_REFRESH_MS)
		return;
	if (!fleet_flows_export(a->d, a->etcd, &a->config, a->lease.id)) {
		a->decisions_changed = false;
		a->flows_exported_ms = now;
	}
}

/* The watch's latest desired state copied into want (the document too),
 * noting which publication it was; false when the copy ran out of
 * memory. */
static bool take_desired(struct agent *a, struct fleet_desired *want)
{
	struct fleet *f = a->d->fleet;
	bool lost;

	pthread_mutex_lock(&f->lock);
	free(want->document);
	*want = f->desired;
	a->taken = f->published;
	want->document = f->desired.document ?
				 strndup(f->desired.document,
					 f->desired.document_length) :
				 NULL;
	lost = f->desired.document && !want->document;
	pthread_mutex_unlock(&f->lock);
	return !lost;
}

/* The document, the routes and the moved flows into the maps: whether
 * the maps are caught up with want. */
static bool catch_up(struct agent *a, const struct fleet_desired *want)
{
	bool caught_up;

	if (!want->revision)
		return false; /* nothing read from etcd yet */
	apply_document(a, want);
	caught_up = fleet_routes_apply(a->d) && !a->document_failed;
	/* after the VIPs they belong to are in */
	fleet_flows_import_queued(a->d);
	return caught_up;
}

/* Whether this host announces its VIPs (rule 4 above); why says what
 * keeps it from it, or what it serves on. */
static bool should_serve(struct agent *a, const struct fleet_desired *want,
			 bool caught_up, char *why, size_t size)
{
	if (!attached(a, why, size))
		return false;
	if (a->name_taken) {
		snprintf(why, size, "another splitd reports as host %.60s",
			 a->config.host);
		return false;
	}
	if (want->drain) {
		snprintf(why, size, "draining");
		return false;
	}
	if (!a->caught_up_once) {
		snprintf(why, size, "not caught up with etcd yet");
		return false;
	}
	if (!caught_up && want->reachable) {
		snprintf(why, size, "couldn't apply the fleet's revision %lld",
			 (long long)want->revision);
		return false;
	}
	if (!want->reachable)
		snprintf(why, size,
			 "etcd unreachable: serving at the last state");
	return true;
}

/* The network last: the maps and the announcement never wait on it. */
static void tell_etcd(struct agent *a, const struct xs_fleet_host *report)
{
	if (!keep_lease(a))
		return;
	report_to_etcd(a, report);
	/* under another splitd's name they would overwrite its own */
	if (!a->name_taken) {
		publish_counters(a);
		share_moved_flows(a);
	}
}

static void converge(struct agent *a)
{
	static struct fleet_desired want;
	struct fleet *f = a->d->fleet;
	struct xs_fleet_host report = { 0 };
	bool caught_up, serve;
	char why[160] = "";

	if (!take_desired(a, &want))
		return; /* out of memory: the next round */
	caught_up = catch_up(a, &want);
	if (caught_up && want.reachable)
		a->caught_up_once = true;
	snprintf(report.host, sizeof(report.host), "%s", a->config.host);
	snprintf(report.version, sizeof(report.version), "%s", XS_VERSION);
	report.draining = want.drain;
	report.applied = caught_up ? want.wanted : a->said.applied;
	serve = should_serve(a, &want, caught_up, why, sizeof(why));
	snprintf(report.why, sizeof(report.why), "%s", why);
	announce(a, &report, serve);
	pthread_mutex_lock(&f->lock);
	f->report = report;
	pthread_mutex_unlock(&f->lock);
	tell_etcd(a, &report);
}

void *fleet_agent_loop(void *daemon)
{
	struct daemon *d = daemon;
	struct agent a = { .d = d, .config = d->config->fleet };
	const char *endpoints[XS_FLEET_MAX_ENDPOINTS];
	char error[512];

	xs_fleet_key(a.host_key, sizeof(a.host_key), a.config.prefix, "hosts",
		     a.config.host);
	xs_fleet_key(a.counters_key, sizeof(a.counters_key), a.config.prefix,
		     "counters", a.config.host);
	for (__u32 i = 0; i < a.config.endpoint_count; i++)
		endpoints[i] = a.config.endpoints[i];
	a.etcd = xs_etcd_open(endpoints, a.config.endpoint_count,
			      AGENT_TIMEOUT_MS, error, sizeof(error));
	if (!a.etcd) {
		pr_warn("fleet: %s\n", error);
		return NULL;
	}
	a.applied_document = -1;
	while (!d->fleet->stop) {
		converge(&a);
		sleep_ms(d, a.taken,
			 1000 < a.config.lease_ms / 3 ?
				 1000 :
				 (int)(a.config.lease_ms / 3));
	}
	/* leaving: out of the ECMP first, then out of the fleet */
	xs_announce_withdraw(&announcer);
	if (a.lease.id)
		xs_etcd_lease_revoke(a.etcd, a.lease.id, error, sizeof(error));
	xs_etcd_close(a.etcd);
	return NULL;
}

void fleet_agent_close(void)
{
	if (announcer_open)
		xs_announce_close(&announcer);
	announcer_open = false;
}
