// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * GET /metrics in the Prometheus text format (libmicrohttpd). Names start
 * with xdpsplit_, counters end in _total, units are base units; labels are
 * the VIP, pool, backend, verdict, reason and event, all of bounded number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "user/lib/flow_usage.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/version.h"
#include "fleet.h"
#include "splitd.h"
#include "webhooks.h"

struct text {
	char *data;
	size_t length, capacity;
};

static void put(struct text *t, const char *format, ...)
{
	va_list args;
	int n;

	for (;;) {
		va_start(args, format);
		n = vsnprintf(t->data + t->length, t->capacity - t->length,
			      format, args);
		va_end(args);
		if (n >= 0 && t->length + (size_t)n < t->capacity) {
			t->length += (size_t)n;
			return;
		}
		t->capacity = t->capacity * 2 + (size_t)(n > 0 ? n : 0) + 4096;
		t->data = realloc(t->data, t->capacity);
		if (!t->data)
			abort();
	}
}

/* A label value as the text format wants it: \\, \" and \n escaped (a
 * rule's name comes from the configuration and may hold any of them). */
static void put_label(struct text *t, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\' || *value == '"')
			put(t, "\\%c", *value);
		else if (*value == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *value);
	}
}

static void family(struct text *t, const char *name, const char *type,
		   const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct pool_field {
	const char *name, *help;
	size_t offset;
};

static const struct pool_field pool_fields[] = {
	{ "xdpsplit_pool_packets_total", "Packets the pool received.",
	  offsetof(struct xs_pool_stats, packets) },
	{ "xdpsplit_pool_bytes_total", "Bytes the pool received.",
	  offsetof(struct xs_pool_stats, bytes) },
	{ "xdpsplit_pool_new_flows_total", "Connections the pool was given.",
	  offsetof(struct xs_pool_stats, new_flows) },
	{ "xdpsplit_pool_handshakes_total",
	  "Handshakes completed (the client's first ACK after its SYN).",
	  offsetof(struct xs_pool_stats, handshakes_completed) },
	{ "xdpsplit_pool_syn_retransmits_total",
	  "SYNs repeated while a handshake was pending.",
	  offsetof(struct xs_pool_stats, syn_retransmits) },
	{ "xdpsplit_pool_client_resets_total", "Connections the client reset.",
	  offsetof(struct xs_pool_stats, client_resets) },
	{ "xdpsplit_pool_fallbacks_total",
	  "New flows this pool could not take (no usable backend).",
	  offsetof(struct xs_pool_stats, fallbacks) },
};

/*
 * The handshake latency histogram's bounds. The program counts bucket i
 * for [2^i, 2^(i+1)) ns and its last bucket for everything from
 * 2^(XS_LATENCY_BUCKETS-1) ns (2.1 s) up, so:
 * - the last bucket is +Inf's alone: it has no upper bound to show;
 * - nothing lands below LATENCY_FIRST_BOUND: a handshake the LB sees is
 *   its SYN forwarded, the backend's SYN-ACK through two TCP stacks and
 *   the client's ACK back, which on one host over veths (no wire, no NIC)
 *   takes over 4 us; the fastest in the e2e lab land in [4.1, 8.2) us.
 *   The buckets below merge into the first shown, le 2^13 ns (8.192 us).
 * From there to 2.1 s every bound can fill: a LAN round trip, a WAN one,
 * a SYN retransmitted after the 1 s initial RTO (1.07 s and 2.1 s).
 */
#define LATENCY_FIRST_BOUND 13 /* log2 of the first bound, in ns */

static void latency_histogram(struct text *t, const char *vip, const char *pool,
			      const __u64 *buckets)
{
	__u64 cumulative = 0;
	double sum = 0;

	for (int b = 0; b < XS_LATENCY_BUCKETS; b++) {
		cumulative += buckets[b];
		sum += buckets[b] * ldexp(1.5, b) / 1e9;
		if (b + 1 < LATENCY_FIRST_BOUND || b + 1 == XS_LATENCY_BUCKETS)
			continue;
		put(t,
		    "xdpsplit_handshake_latency_seconds_bucket{vip=\"%s\",pool=\"%s\",le=\"%.12g\"} %llu\n",
		    vip, pool, ldexp(1, b + 1) / 1e9,
		    (unsigned long long)cumulative);
	}
	put(t,
	    "xdpsplit_handshake_latency_seconds_bucket{vip=\"%s\",pool=\"%s\",le=\"+Inf\"} %llu\n",
	    vip, pool, (unsigned long long)cumulative);
	put(t,
	    "xdpsplit_handshake_latency_seconds_sum{vip=\"%s\",pool=\"%s\"} %.9f\n",
	    vip, pool, sum);
	put(t,
	    "xdpsplit_handshake_latency_seconds_count{vip=\"%s\",pool=\"%s\"} %llu\n",
	    vip, pool, (unsigned long long)cumulative);
}

static void pools(struct daemon *d, struct text *t,
		  const struct xs_vip_entry *vips, size_t count)
{
	for (size_t f = 0; f < sizeof(pool_fields) / sizeof(pool_fields[0]);
	     f++) {
		family(t, pool_fields[f].name, "counter", pool_fields[f].help);
		for (size_t v = 0; v < count; v++) {
			char vip[80];

			xs_format_vip(&vips[v].key, vip, sizeof(vip));
			for (__u8 p = 0; p < XS_POOL_COUNT; p++) {
				struct xs_pool_stats s;

				if (xs_pool_stats_read(
					    &d->dp, vips[v].vip.vip_id, p, &s))
					continue;
				put(t, "%s{vip=\"%s\",pool=\"%s\"} %llu\n",
				    pool_fields[f].name, vip, xs_pool_name(p),
				    *(unsigned long long *)((char *)&s +
							    pool_fields[f]
								    .offset));
			}
		}
	}
	family(t, "xdpsplit_pool_weight_ratio", "gauge",
	       "Share of new flows the route gives the pool, 0 to 1.");
	for (size_t v = 0; v < count; v++) {
		char vip[80];

		xs_format_vip(&vips[v].key, vip, sizeof(vip));
		for (__u8 p = 0; p < XS_POOL_COUNT; p++)
			put(t,
			    "xdpsplit_pool_weight_ratio{vip=\"%s\",pool=\"%s\"} %.4f\n",
			    vip, xs_pool_name(p),
			    vips[v].route.weight[p] / 10000.0);
	}
	family(t, "xdpsplit_handshake_latency_seconds", "histogram",
	       "SYN to the client's first ACK as seen at the load balancer (sum estimated from bucket midpoints).");
	for (size_t v = 0; v < count; v++) {
		char vip[80];

		xs_format_vip(&vips[v].key, vip, sizeof(vip));
		for (__u8 p = 0; p < XS_POOL_COUNT; p++) {
			struct xs_pool_stats s;

			if (xs_pool_stats_read(&d->dp, vips[v].vip.vip_id, p,
					       &s))
				continue;
			latency_histogram(t, vip, xs_pool_name(p),
					  s.handshake_latency);
		}
	}
}

struct backend_field {
	const char *name, *type, *help;
	size_t offset; /* in struct xs_backend_stats; SIZE_MAX: the state */
};

static const struct backend_field backend_fields[] = {
	{ "xdpsplit_backend_packets_total", "counter",
	  "Packets forwarded to the backend.",
	  offsetof(struct xs_backend_stats, packets) },
	{ "xdpsplit_backend_bytes_total", "counter",
	  "Bytes forwarded to the backend (as received, before encapsulation).",
	  offsetof(struct xs_backend_stats, bytes) },
	{ "xdpsplit_backend_new_flows_total", "counter",
	  "Connections given to the backend.",
	  offsetof(struct xs_backend_stats, new_flows) },
	{ "xdpsplit_backend_up", "gauge",
	  "1 if the backend takes new flows (UP), else 0.", SIZE_MAX },
};

static void backends(struct daemon *d, struct text *t,
		     const struct xs_vip_entry *vips, size_t vip_count)
{
	struct xs_backend_entry *all;
	size_t count;

	all = xs_backend_all(&d->dp, ~0U, &count);
	for (size_t f = 0;
	     all && f < sizeof(backend_fields) / sizeof(backend_fields[0]);
	     f++) {
		const struct backend_field *field = &backend_fields[f];

		family(t, field->name, field->type, field->help);
		for (size_t i = 0; i < count; i++) {
			struct xs_backend_stats s;
			char vip[80] = "?", address[64];

			for (size_t v = 0; v < vip_count; v++)
				if (vips[v].vip.vip_id == all[i].backend.vip_id)
					xs_format_vip(&vips[v].key, vip,
						      sizeof(vip));
			xs_format_address(all[i].backend.family,
					  all[i].backend.address, address,
					  sizeof(address));
			if (xs_backend_stats_read(&d->dp, all[i].id, &s))
				continue;
			put(t,
			    "%s{vip=\"%s\",pool=\"%s\",backend=\"%s\"} %llu\n",
			    field->name, vip, xs_pool_name(all[i].backend.pool),
			    address,
			    field->offset == SIZE_MAX ?
				    (unsigned long long)(all[i].backend.state ==
							 XS_BACKEND_UP) :
				    *(unsigned long long *)((char *)&s +
							    field->offset));
		}
	}
	free(all);
}

static void rollouts(struct daemon *d, struct text *t)
{
	family(t, "xdpsplit_rollout_step", "gauge",
	       "The rollout's current step, from 1; a finished rollout stands on its last.");
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->rollout_count; i++)
		put(t, "xdpsplit_rollout_step{vip=\"%s\"} %u\n",
		    d->rollouts[i].record.vip,
		    xs_rollout_step_number(d->rollouts[i].policy,
					   d->rollouts[i].record.rollout.step));
	family(t, "xdpsplit_rollout_phase", "gauge",
	       "1 for the rollout's current phase.");
	for (size_t i = 0; i < d->rollout_count; i++)
		for (int p = XS_PHASE_IDLE; p <= XS_PHASE_ABORTED; p++)
			put(t,
			    "xdpsplit_rollout_phase{vip=\"%s\",phase=\"%s\"} %d\n",
			    d->rollouts[i].record.vip, xs_phase_name(p),
			    d->rollouts[i].record.rollout.phase ==
				    (enum xs_phase)p);
	family(t, "xdpsplit_rollbacks_total", "counter",
	       "Automatic rollbacks since splitd started, by the analysis rule that failed.");
	for (size_t i = 0; i < d->rollout_count; i++) {
		const struct daemon_rollout *r = &d->rollouts[i];

		for (__u32 k = 0; r->policy && k < r->policy->rule_count; k++) {
			put(t, "xdpsplit_rollbacks_total{vip=\"%s\",reason=\"",
			    r->record.vip);
			put_label(t, r->policy->rules[k].name);
			put(t, "\"} %llu\n",
			    (unsigned long long)r->rollbacks[k]);
		}
	}
	family(t, "xdpsplit_state_write_failures_total", "counter",
	       "Rollout decisions not taken because the state could not be written.");
	put(t, "xdpsplit_state_write_failures_total %llu\n",
	    (unsigned long long)d->state_write_failures);
	pthread_mutex_unlock(&d->lock);
}

/* One family per kind of global counter (maps/counters.h), each summable:
 * the verdicts and the reasons each sum to the packets the program saw;
 * events are no count of packets. */
struct counter_family {
	const char *name, *label, *prefix, *help;
	int first, end;
};

static const struct counter_family counter_families[] = {
	{ "xdpsplit_packets_total", "verdict", "verdict_",
	  "Packets by XDP verdict (pass, tx, redirect, drop); the sum is every packet the splitter saw.",
	  XS_FIRST_VERDICT, XS_FIRST_REASON },
	{ "xdpsplit_packet_reasons_total", "reason", "",
	  "Packets by the one reason each was passed, dropped or forwarded; the sum equals xdpsplit_packets_total's.",
	  XS_FIRST_REASON, XS_FIRST_EVENT },
	{ "xdpsplit_flow_events_total", "event", "",
	  "Flow table events (insertions, evictions, re-choices, imports), any number per packet: not a count of packets.",
	  XS_FIRST_EVENT, XS_COUNTER_COUNT },
};

static void global(struct daemon *d, struct text *t)
{
	__u64 values[XS_COUNTER_COUNT];

	if (xs_global_counters(&d->dp, values))
		return;
	for (size_t f = 0;
	     f < sizeof(counter_families) / sizeof(counter_families[0]); f++) {
		const struct counter_family *family_of = &counter_families[f];
		size_t skip = strlen(family_of->prefix);

		family(t, family_of->name, "counter", family_of->help);
		for (int c = family_of->first; c < family_of->end; c++)
			put(t, "%s{%s=\"%s\"} %llu\n", family_of->name,
			    family_of->label,
			    xs_counter_names[c] +
				    (strncmp(xs_counter_names[c],
					     family_of->prefix, skip) ?
					     0 :
					     skip),
			    (unsigned long long)values[c]);
	}
}

/* xdpsplit_build_info: the version, and the libbpf the binary runs with */
static void build_info(struct text *t)
{
	family(t, "xdpsplit_build_info", "gauge",
	       "Always 1; the labels say which splitd this is.");
	put(t, "xdpsplit_build_info{version=\"%s\",libbpf=\"%u.%u\"} 1\n",
	    XS_VERSION, libbpf_major_version(), libbpf_minor_version());
}

/* Flow table pressure: fill and replacements of each kind of entry. A
 * flood of first packets shows as evictions of "pending"; evictions of
 * "confirmed" are of open connections idle for a minute whose way a new
 * flow took (a closed one's is flow_closed_replaced, no loss).
 * flow_not_stored (global counters) counts new flows that found their
 * bucket full of live connections: the table is too small. */
static void flow_tables(struct daemon *d, struct text *t)
{
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];

	if (xs_flow_usage_read(&d->dp, usage))
		return;
	family(t, "xdpsplit_flow_table_entries", "gauge",
	       "Entries in the flow table: confirmed flows, or flows seen once.");
	for (int i = 0; i < XS_FLOW_TABLE_COUNT; i++)
		put(t, "xdpsplit_flow_table_entries{table=\"%s\"} %llu\n",
		    xs_flow_table_names[i],
		    (unsigned long long)usage[i].entries);
	family(t, "xdpsplit_flow_table_capacity", "gauge",
	       "Entries the flow table can hold, of either kind: the two share its ways.");
	for (int i = 0; i < XS_FLOW_TABLE_COUNT; i++)
		put(t, "xdpsplit_flow_table_capacity{table=\"%s\"} %llu\n",
		    xs_flow_table_names[i],
		    (unsigned long long)usage[i].capacity);
	family(t, "xdpsplit_flow_table_evictions_total", "counter",
	       "Entries a new flow replaced.");
	for (int i = 0; i < XS_FLOW_TABLE_COUNT; i++)
		put(t,
		    "xdpsplit_flow_table_evictions_total{table=\"%s\"} %llu\n",
		    xs_flow_table_names[i],
		    (unsigned long long)usage[i].evicted);
}

/* A fleet host's part in the fleet (nothing outside a fleet). */
static void fleet(struct daemon *d, struct text *t)
{
	struct xs_fleet_host report;
	bool reachable, leading;

	if (!fleet_enabled(d))
		return;
	fleet_report(d, &report, &reachable, &leading);
	family(t, "xdpsplit_fleet_announced", "gauge",
	       "1 while this host announces its VIPs by BGP.");
	put(t, "xdpsplit_fleet_announced %d\n",
	    report.announce == XS_ANNOUNCE_ANNOUNCED);
	family(t, "xdpsplit_fleet_applied_revision", "gauge",
	       "The etcd revision of the fleet's desired state this host's maps stand for.");
	put(t, "xdpsplit_fleet_applied_revision %lld\n",
	    (long long)report.applied);
	family(t, "xdpsplit_fleet_etcd_reachable", "gauge",
	       "1 while this host's watch of etcd is up.");
	put(t, "xdpsplit_fleet_etcd_reachable %d\n", reachable);
	family(t, "xdpsplit_fleet_draining", "gauge",
	       "1 while an operator has drained this host.");
	put(t, "xdpsplit_fleet_draining %d\n", report.draining);
	family(t, "xdpsplit_fleet_leader", "gauge",
	       "1 while this host leads the fleet's rollouts.");
	put(t, "xdpsplit_fleet_leader %d\n", leading);
}

static enum MHD_Result answer(void *context, struct MHD_Connection *connection,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **request)
{
	struct daemon *d = context;
	struct MHD_Response *response;
	struct xs_vip_entry *vips;
	struct text t = { 0 };
	enum MHD_Result result;
	size_t count;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)request;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		static const char missing[] = "only GET /metrics is here\n";

		response = MHD_create_response_from_buffer(
			sizeof(missing) - 1, (void *)missing,
			MHD_RESPMEM_PERSISTENT);
		result = MHD_queue_response(connection, MHD_HTTP_NOT_FOUND,
					    response);
		MHD_destroy_response(response);
		return result;
	}
	vips = xs_vip_all(&d->dp, &count);
	build_info(&t);
	fleet(d, &t);
	pools(d, &t, vips, vips ? count : 0);
	backends(d, &t, vips, vips ? count : 0);
	free(vips);
	rollouts(d, &t);
	global(d, &t);
	flow_tables(d, &t);
	{
		char *webhooks = webhooks_metrics();

		put(&t, "%s", webhooks ? webhooks : "");
		free(webhooks);
	}
	response = MHD_create_response_from_buffer(t.length, t.data,
						   MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(response, "Content-Type",
				"text/plain; version=0.0.4");
	result = MHD_queue_response(connection, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return result;
}

int metrics_bind(struct daemon *d)
{
	struct sockaddr_in address = { .sin_family = AF_INET };
	char host[64];
	unsigned int port;
	char *colon;
	int one = 1;

	snprintf(host, sizeof(host), "%s", d->config->metrics);
	colon = strrchr(host, ':');
	if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port > 65535) {
		pr_warn("daemon.metrics '%s' is not ADDRESS:PORT\n",
			d->config->metrics);
		return -1;
	}
	*colon = '\0';
	if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
		pr_warn("daemon.metrics '%s' needs an IPv4 address\n",
			d->config->metrics);
		return -1;
	}
	address.sin_port = htons(port);
	d->metrics_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->metrics_fd < 0 ||
	    setsockopt(d->metrics_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) ||
	    bind(d->metrics_fd, (struct sockaddr *)&address, sizeof(address)) ||
	    listen(d->metrics_fd, 64)) {
		pr_warn("Couldn't serve metrics on %s: %s\n",
			d->config->metrics, strerror(errno));
		return -1;
	}
	return 0;
}

int metrics_start(struct daemon *d)
{
	/* the socket was bound before splitd gave up its privileges (a port
	 * below 1024 needs one); the HTTP thread never has them */
	d->metrics = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, answer, d, MHD_OPTION_LISTEN_SOCKET, d->metrics_fd,
		MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!d->metrics) {
		pr_warn("Couldn't serve metrics on %s\n", d->config->metrics);
		return -1;
	}
	return 0;
}

void metrics_stop(struct daemon *d)
{
	/* a running MHD closes the listening socket it was given */
	if (d->metrics)
		MHD_stop_daemon(d->metrics);
	else if (d->metrics_fd >= 0)
		close(d->metrics_fd);
	d->metrics = NULL;
	d->metrics_fd = -1;
}
