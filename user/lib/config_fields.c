// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every member of the configuration's structs, once: shown under its key
 * with its formatter, or hidden with the reason. Keys are the file's own
 * words, so a diff line reads like the file ("vip V probe interval 1s").
 */
#include <stdio.h>
#include <string.h>
#include "config_fields.h"
#include "parse.h"

static void format_u32(const void *member, const void *parent, char *out,
		       size_t size)
{
	(void)parent;
	snprintf(out, size, "%u", *(const __u32 *)member);
}

static void format_u16(const void *member, const void *parent, char *out,
		       size_t size)
{
	(void)parent;
	snprintf(out, size, "%u", *(const __u16 *)member);
}

static void format_u64(const void *member, const void *parent, char *out,
		       size_t size)
{
	(void)parent;
	snprintf(out, size, "%llu", (unsigned long long)*(const __u64 *)member);
}

static void format_bool(const void *member, const void *parent, char *out,
			size_t size)
{
	(void)parent;
	snprintf(out, size, "%s", *(const bool *)member ? "true" : "false");
}

static void format_string(const void *member, const void *parent, char *out,
			  size_t size)
{
	const char *text = member;

	(void)parent;
	snprintf(out, size, "%s", *text ? text : "none");
}

/* as the file writes it: 500ms, 10s, 2m */
static void duration_text(__u32 ms, char *out, size_t size)
{
	if (ms && ms % 60000 == 0)
		snprintf(out, size, "%um", ms / 60000);
	else if (ms && ms % 1000 == 0)
		snprintf(out, size, "%us", ms / 1000);
	else
		snprintf(out, size, "%ums", ms);
}

static void format_duration(const void *member, const void *parent, char *out,
			    size_t size)
{
	(void)parent;
	duration_text(*(const __u32 *)member, out, size);
}

/* basis points as the file's percent: 5, 12.5, 0.25 */
static void percent_text(__u16 bp, char *out, size_t size)
{
	if (bp % 100 == 0)
		snprintf(out, size, "%u", bp / 100);
	else if (bp % 10 == 0)
		snprintf(out, size, "%u.%u", bp / 100, bp % 100 / 10);
	else
		snprintf(out, size, "%u.%02u", bp / 100, bp % 100);
}

static void format_double(const void *member, const void *parent, char *out,
			  size_t size)
{
	(void)parent;
	snprintf(out, size, "%.15g", *(const double *)member);
}

static void format_pool(const void *member, const void *parent, char *out,
			size_t size)
{
	(void)parent;
	snprintf(out, size, "%s", xs_pool_name(*(const __u8 *)member));
}

static void format_mode(const void *member, const void *parent, char *out,
			size_t size)
{
	(void)parent;
	snprintf(out, size, "%s", xs_mode_name(*(const __u8 *)member));
}

static void format_split(const void *member, const void *parent, char *out,
			 size_t size)
{
	(void)parent;
	snprintf(out, size, "%s", xs_split_name(*(const __u8 *)member));
}

static void format_mac(const void *member, const void *parent, char *out,
		       size_t size)
{
	(void)parent;
	xs_format_mac(member, out, size);
}

static void format_vip_key(const void *member, const void *parent, char *out,
			   size_t size)
{
	(void)parent;
	xs_format_vip(member, out, size);
}

static void format_route(const void *member, const void *parent, char *out,
			 size_t size)
{
	const struct xs_route *route = member;
	char pools[XS_POOL_COUNT][16];

	(void)parent;
	for (__u8 pool = 0; pool < XS_POOL_COUNT; pool++)
		percent_text(route->weight[pool], pools[pool],
			     sizeof(pools[0]));
	snprintf(out, size, "blue %s green %s canary %s live %s",
		 pools[XS_POOL_BLUE], pools[XS_POOL_GREEN],
		 pools[XS_POOL_CANARY], xs_pool_name(route->live_pool));
}

static void format_probe_type(const void *member, const void *parent, char *out,
			      size_t size)
{
	enum xs_probe_type type = *(const enum xs_probe_type *)member;

	(void)parent;
	snprintf(out, size, "%s",
		 type == XS_PROBE_TCP  ? "tcp" :
		 type == XS_PROBE_HTTP ? "http" :
					 "none");
}

static void format_interface_mode(const void *member, const void *parent,
				  char *out, size_t size)
{
	(void)parent;
	snprintf(out, size, "%s", *(const bool *)member ? "generic" : "native");
}

static void format_on_failure(const void *member, const void *parent, char *out,
			      size_t size)
{
	(void)parent;
	snprintf(out, size, "%s",
		 *(const enum xs_on_failure *)member == XS_ON_FAILURE_PAUSE ?
			 "pause" :
			 "rollback");
}

static void format_metric(const void *member, const void *parent, char *out,
			  size_t size)
{
	(void)parent;
	snprintf(out, size, "%s",
		 xs_metric_name(*(const enum xs_metric *)member));
}

/* a step as the file writes it: "weights canary 10", "pause 6s", "gate" */
static void format_step(const void *member, const void *parent, char *out,
			size_t size)
{
	const struct xs_step *step = parent;
	char amount[16] = "";

	(void)member;
	if (step->kind == XS_STEP_WEIGHTS) {
		percent_text(step->canary_bp, amount, sizeof(amount));
		snprintf(out, size, "weights canary %s", amount);
	} else if (step->kind == XS_STEP_PAUSE || step->kind == XS_STEP_BAKE) {
		duration_text(step->duration_ms, amount, sizeof(amount));
		snprintf(out, size, "%s %s", xs_step_name(step->kind), amount);
	} else {
		snprintf(out, size, "%s", xs_step_name(step->kind));
	}
}

static void format_endpoints(const void *member, const void *parent, char *out,
			     size_t size)
{
	const struct xs_config_fleet *fleet = parent;
	size_t used = 0;

	(void)member;
	out[0] = '\0';
	for (__u32 i = 0; i < fleet->endpoint_count && used < size; i++)
		used += snprintf(out + used, size - used, "%s%s", i ? "," : "",
				 fleet->endpoints[i]);
	if (!fleet->endpoint_count)
		snprintf(out, size, "none");
}

static void vip_identity(const void *element, __u32 index, char *out,
			 size_t size)
{
	(void)index;
	xs_format_vip(&((const struct xs_config_vip *)element)->key, out, size);
}

/* the address in its canonical form, however the file wrote it */
static void backend_identity(const void *element, __u32 index, char *out,
			     size_t size)
{
	const struct xs_config_backend *b = element;
	__be32 address[XS_ADDRESS_WORDS];
	__u8 family;

	(void)index;
	if (xs_parse_address(b->text, &family, address))
		snprintf(out, size, "%s", b->text);
	else
		xs_format_address(family, b->address, out, size);
}

/* the sections named by their name have it first */
_Static_assert(offsetof(struct xs_policy, name) == 0, "policy name first");
_Static_assert(offsetof(struct xs_rule, name) == 0, "rule name first");
_Static_assert(offsetof(struct xs_config_interface, name) == 0,
	       "interface name first");

static void name_identity(const void *element, __u32 index, char *out,
			  size_t size)
{
	(void)index;
	snprintf(out, size, "%s", (const char *)element);
}

static void step_identity(const void *element, __u32 index, char *out,
			  size_t size)
{
	(void)element;
	snprintf(out, size, "%u", index + 1);
}

static bool probe_present(const void *section)
{
	return ((const struct xs_probe *)section)->type != XS_PROBE_NONE;
}

static bool fleet_present(const void *section)
{
	return ((const struct xs_config_fleet *)section)->enabled;
}

#define LEAF(type, m, k, f, ...)                                               \
	{                                                                      \
		.member = #m, .key = k, .offset = offsetof(type, m),           \
		.format = f, .given = -1, __VA_ARGS__                          \
	}
#define LEAF_IF(type, m, k, f, flag)                                           \
	{                                                                      \
		.member = #m, .key = k, .offset = offsetof(type, m),           \
		.format = f, .given = offsetof(type, flag)                     \
	}
#define HIDDEN(type, m, why)                                                   \
	{                                                                      \
		.member = #m, .not_shown = why, .offset = offsetof(type, m),   \
		.given = -1                                                    \
	}
#define LIST(type, m, k, s, counter, ...)                                      \
	{                                                                      \
		.member = #m, .key = k, .offset = offsetof(type, m),           \
		.section = &s, .list = true, .count = offsetof(type, counter), \
		.given = -1, __VA_ARGS__                                       \
	}
#define PART(type, m, k, s, ...)                                               \
	{                                                                      \
		.member = #m, .key = k, .offset = offsetof(type, m),           \
		.section = &s, .given = -1, __VA_ARGS__                        \
	}
#define IDENTITY "the element's identity, in its path"
#define COUNTED "the number of elements of its list"
#define FLAG "says whether the field it names is given"

static const struct xs_field backend_fields[] = {
	HIDDEN(struct xs_config_backend, text,
	       IDENTITY " (as the file wrote it)"),
	HIDDEN(struct xs_config_backend, address, IDENTITY),
	LEAF(struct xs_config_backend, pool, "pool", format_pool),
	LEAF(struct xs_config_backend, weight, "weight", format_u32),
	HIDDEN(struct xs_config_backend, has_mac, FLAG),
	LEAF_IF(struct xs_config_backend, mac, "mac", format_mac, has_mac),
	{ NULL },
};

static const struct xs_section backend_section = {
	"xs_config_backend", sizeof(struct xs_config_backend),
	backend_identity,    NULL,
	backend_fields,
};

static const struct xs_field probe_fields[] = {
	LEAF(struct xs_probe, type, "type", format_probe_type),
	LEAF(struct xs_probe, port, "port", format_u16),
	LEAF(struct xs_probe, path, "path", format_string),
	LEAF(struct xs_probe, expect_status, "status", format_u32),
	LEAF(struct xs_probe, interval_ms, "interval", format_duration),
	LEAF(struct xs_probe, timeout_ms, "timeout", format_duration),
	LEAF(struct xs_probe, rise, "rise", format_u32),
	LEAF(struct xs_probe, fall, "fall", format_u32),
	{ NULL },
};

static const struct xs_section probe_section = {
	"xs_probe", sizeof(struct xs_probe), NULL, probe_present, probe_fields,
};

static const struct xs_field vip_fields[] = {
	HIDDEN(struct xs_config_vip, text, IDENTITY " (as the file wrote it)"),
	HIDDEN(struct xs_config_vip, key, IDENTITY),
	LEAF(struct xs_config_vip, mode, "mode", format_mode),
	LEAF(struct xs_config_vip, split_key, "split", format_split),
	HIDDEN(struct xs_config_vip, has_weights, FLAG),
	LEAF_IF(struct xs_config_vip, weights, "weights", format_route,
		has_weights),
	LIST(struct xs_config_vip, backends, "backend", backend_section,
	     backend_count),
	HIDDEN(struct xs_config_vip, backend_count, COUNTED),
	PART(struct xs_config_vip, probe, "probe", probe_section,
	     .held_by = XS_HELD_BY_SPLITD),
	LEAF(struct xs_config_vip, rollout, "rollout", format_string,
	     .held_by = XS_HELD_BY_SPLITD),
	HIDDEN(struct xs_config_vip, has_share, FLAG),
	LEAF_IF(struct xs_config_vip, share, "share", format_vip_key,
		has_share),
	HIDDEN(struct xs_config_vip, share_text,
	       "share as the file wrote it; share is shown"),
	{ NULL },
};

static const struct xs_section vip_section = {
	"xs_config_vip", sizeof(struct xs_config_vip), vip_identity, NULL,
	vip_fields,
};

static const struct xs_field step_fields[] = {
	LEAF(struct xs_step, kind, "is", format_step),
	HIDDEN(struct xs_step, canary_bp, "shown with the step's kind ('is')"),
	HIDDEN(struct xs_step, duration_ms,
	       "shown with the step's kind ('is')"),
	{ NULL },
};

static const struct xs_section step_section = {
	"xs_step", sizeof(struct xs_step), step_identity, NULL, step_fields,
};

static const struct xs_field rule_fields[] = {
	HIDDEN(struct xs_rule, name, IDENTITY),
	LEAF(struct xs_rule, metric, "metric", format_metric),
	LEAF(struct xs_rule, pool, "pool", format_pool),
	LEAF(struct xs_rule, relative, "relative", format_bool),
	HIDDEN(struct xs_rule, has_min, FLAG),
	HIDDEN(struct xs_rule, has_max, FLAG),
	LEAF_IF(struct xs_rule, min, "min", format_double, has_min),
	LEAF_IF(struct xs_rule, max, "max", format_double, has_max),
	LEAF(struct xs_rule, min_samples, "min_samples", format_u64),
	LEAF(struct xs_rule, failures, "failures", format_u32),
	LEAF(struct xs_rule, failure_limit, "failure_limit", format_u32),
	LEAF(struct xs_rule, prometheus_url, "prometheus", format_string),
	LEAF(struct xs_rule, query, "query", format_string),
	{ NULL },
};

static const struct xs_section rule_section = {
	"xs_rule", sizeof(struct xs_rule), name_identity, NULL, rule_fields,
};

static void format_webhook_kind(const void *member, const void *parent,
				char *out, size_t size)
{
	(void)parent;
	snprintf(out, size, "%s",
		 xs_webhook_kind_name(*(const enum xs_webhook_kind *)member));
}

static void format_webhook_events(const void *member, const void *parent,
				  char *out, size_t size)
{
	(void)parent;
	xs_webhook_events_text(*(const __u32 *)member, out, size);
}

_Static_assert(offsetof(struct xs_webhook, name) == 0, "webhook name first");
_Static_assert(offsetof(struct xs_webhook_header, name) == 0,
	       "header name first");

static const struct xs_field header_fields[] = {
	HIDDEN(struct xs_webhook_header, name, IDENTITY),
	LEAF(struct xs_webhook_header, value, "value", format_string),
	{ NULL },
};

static const struct xs_section header_section = {
	"xs_webhook_header", sizeof(struct xs_webhook_header),
	name_identity,	     NULL,
	header_fields,
};

static const struct xs_field webhook_fields[] = {
	HIDDEN(struct xs_webhook, name, IDENTITY),
	LEAF(struct xs_webhook, kind, "type", format_webhook_kind),
	LEAF(struct xs_webhook, url, "url", format_string),
	LEAF(struct xs_webhook, events, "events", format_webhook_events),
	LEAF(struct xs_webhook, timeout_ms, "timeout", format_duration),
	LEAF(struct xs_webhook, retries, "retries", format_u32),
	LEAF(struct xs_webhook, interval_ms, "interval", format_duration),
	LIST(struct xs_webhook, headers, "header", header_section,
	     header_count),
	HIDDEN(struct xs_webhook, header_count, COUNTED),
	LEAF(struct xs_webhook, token_file, "token_file", format_string),
	{ NULL },
};

static const struct xs_section webhook_section = {
	"xs_webhook",	sizeof(struct xs_webhook), name_identity, NULL,
	webhook_fields,
};

static const struct xs_field webhooks_fields[] = {
	LIST(struct xs_webhooks, hooks, "webhook", webhook_section, count),
	HIDDEN(struct xs_webhooks, count, COUNTED),
	{ NULL },
};

/* a policy without webhooks has no "webhooks" line */
static bool webhooks_present(const void *section)
{
	return ((const struct xs_webhooks *)section)->count > 0;
}

static const struct xs_section webhooks_section = {
	"xs_webhooks",	 sizeof(struct xs_webhooks), NULL, webhooks_present,
	webhooks_fields,
};

static const struct xs_field policy_fields[] = {
	HIDDEN(struct xs_policy, name, IDENTITY),
	LIST(struct xs_policy, steps, "step", step_section, step_count),
	HIDDEN(struct xs_policy, step_count, COUNTED),
	LIST(struct xs_policy, rules, "rule", rule_section, rule_count),
	HIDDEN(struct xs_policy, rule_count, COUNTED),
	LEAF(struct xs_policy, on_failure, "on_failure", format_on_failure),
	LEAF(struct xs_policy, flush_canary_on_rollback, "flush_canary",
	     format_bool),
	LEAF(struct xs_policy, interval_ms, "interval", format_duration),
	/* "policy P webhooks webhook NAME url ..." */
	PART(struct xs_policy, webhooks, "webhooks", webhooks_section),
	{ NULL },
};

static const struct xs_section policy_section = {
	"xs_policy",   sizeof(struct xs_policy), name_identity, NULL,
	policy_fields,
};

static const struct xs_field interface_fields[] = {
	HIDDEN(struct xs_config_interface, name, IDENTITY),
	LEAF(struct xs_config_interface, generic, "mode",
	     format_interface_mode),
	{ NULL },
};

static const struct xs_section interface_section = {
	"xs_config_interface", sizeof(struct xs_config_interface),
	name_identity,	       NULL,
	interface_fields,
};

static const struct xs_field fleet_fields[] = {
	HIDDEN(struct xs_config_fleet, enabled, "the section is there"),
	LEAF(struct xs_config_fleet, host, "host", format_string),
	LEAF(struct xs_config_fleet, endpoints, "etcd", format_endpoints),
	HIDDEN(struct xs_config_fleet, endpoint_count, "shown with etcd"),
	LEAF(struct xs_config_fleet, prefix, "prefix", format_string),
	LEAF(struct xs_config_fleet, lease_ms, "lease", format_duration),
	LEAF(struct xs_config_fleet, device, "announce device", format_string),
	LEAF(struct xs_config_fleet, table, "announce table", format_u32),
	{ NULL },
};

static const struct xs_section fleet_section = {
	"xs_config_fleet", sizeof(struct xs_config_fleet), NULL, fleet_present,
	fleet_fields,
};

static const struct xs_field file_fields[] = {
	LIST(struct xs_config_file, interfaces, "interface", interface_section,
	     interface_count),
	HIDDEN(struct xs_config_file, interface_count, COUNTED),
	LEAF(struct xs_config_file, interval_ms, "daemon interval",
	     format_duration),
	LEAF(struct xs_config_file, metrics, "daemon metrics", format_string),
	LIST(struct xs_config_file, vips, "vip", vip_section, vip_count,
	     .held_by = XS_HELD_BY_MAPS),
	HIDDEN(struct xs_config_file, vip_count, COUNTED),
	LIST(struct xs_config_file, policies, "policy", policy_section,
	     policy_count),
	HIDDEN(struct xs_config_file, policy_count, COUNTED),
	PART(struct xs_config_file, fleet, "fleet", fleet_section),
	{ NULL },
};

const struct xs_section xs_config_schema = {
	"xs_config_file", sizeof(struct xs_config_file), NULL, NULL,
	file_fields,
};
