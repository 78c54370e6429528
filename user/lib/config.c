// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config.h"
#include "parse.h"
#include "safe_open.h"

#define MAX_CONFIG_BYTES (4 << 20)
/* The deepest real configuration nests 6 levels (rollouts, a policy, its
 * steps, a step, its weights); libyaml's scanner and loader are quadratic
 * in the depth, so a deeper file is refused while it is read. */
#define MAX_CONFIG_DEPTH 32
/* nodes of a document: far above a configuration at its limits (64 VIPs of
 * 64 backends, 16 policies), far below what makes the loader slow */
#define MAX_CONFIG_NODES 200000

/* field paths ("vips[0].backends[2].weight") only go into messages: a
 * truncated one is still a useful pointer */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

struct walker {
	yaml_document_t *doc;
	const char *name;
	char *error;
	size_t error_size;
	bool document; /* a fleet's document: VIPs and rollouts only */
};

/* Records the first error with the node's position; returns -EINVAL. */
static int fail(struct walker *w, const yaml_node_t *node, const char *path,
		const char *format, ...)
{
	char message[384];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	snprintf(w->error, w->error_size, "%s:%zu:%zu: %s: %s", w->name,
		 node ? node->start_mark.line + 1 : 0,
		 node ? node->start_mark.column + 1 : 0, path, message);
	return -EINVAL;
}

static const char *scalar(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ?
		       (const char *)node->data.scalar.value :
		       NULL;
}

static yaml_node_t *node_at(struct walker *w, int index)
{
	return yaml_document_get_node(w->doc, index);
}

/* A mapping's value for key, or NULL. */
static yaml_node_t *get(struct walker *w, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const char *k = scalar(node_at(w, pair->key));

		if (k && !strcmp(k, key))
			return node_at(w, pair->value);
	}
	return NULL;
}

/* Every key must be one we know: a typo must not be silently ignored. */
static int known_keys(struct walker *w, yaml_node_t *map, const char *path,
		      const char *const *allowed)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return fail(w, map, path, "must be a mapping (key: value)");
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(w, pair->key);
		const char *k = scalar(key);
		bool ok = false;

		for (const char *const *a = allowed; k && *a; a++)
			ok |= !strcmp(k, *a);
		if (!ok)
			return fail(w, key, path, "unknown field '%s'",
				    k ? k : "?");
		for (yaml_node_pair_t *other = map->data.mapping.pairs.start;
		     other < pair; other++)
			if (!strcmp(scalar(node_at(w, other->key)) ?: "", k))
				return fail(w, key, path,
					    "field '%s' given twice", k);
	}
	return 0;
}

static int get_string(struct walker *w, yaml_node_t *node, const char *path,
		      char *out, size_t size)
{
	const char *value = scalar(node);

	if (!value)
		return fail(w, node, path, "must be a plain value");
	if (strlen(value) >= size)
		return fail(w, node, path, "longer than %zu characters",
			    size - 1);
	strcpy(out, value);
	return 0;
}

static int get_u32(struct walker *w, yaml_node_t *node, const char *path,
		   __u32 min, __u32 max, __u32 *out)
{
	const char *value = scalar(node);

	if (!value || xs_parse_u32(value, min, max, out))
		return fail(w, node, path, "must be a whole number from %u to %u",
			    min, max);
	return 0;
}

static int get_double(struct walker *w, yaml_node_t *node, const char *path,
		      double *out)
{
	const char *value = scalar(node);
	char *end;

	if (!value || !*value)
		return fail(w, node, path, "must be a number");
	*out = strtod(value, &end);
	if (*end || !isfinite(*out))
		return fail(w, node, path, "must be a finite number, not '%s'",
			    value);
	return 0;
}

static int get_bool(struct walker *w, yaml_node_t *node, const char *path,
		    bool *out)
{
	const char *value = scalar(node);

	if (value && !strcmp(value, "true"))
		*out = true;
	else if (value && !strcmp(value, "false"))
		*out = false;
	else
		return fail(w, node, path, "must be true or false");
	return 0;
}

/* "500ms", "10s", "2m" */
static int get_duration(struct walker *w, yaml_node_t *node, const char *path,
			__u32 min_ms, __u32 *out_ms)
{
	const char *value = scalar(node);
	unsigned long long number, scale;
	char *unit;

	if (!value || *value < '0' || *value > '9')
		return fail(w, node, path, "must be a duration like 500ms, 10s or 2m");
	errno = 0;
	number = strtoull(value, &unit, 10);
	if (errno == ERANGE)
		return fail(w, node, path, "must be from %ums to 24 hours", min_ms);
	if (!strcmp(unit, "ms"))
		scale = 1;
	else if (!strcmp(unit, "s"))
		scale = 1000;
	else if (!strcmp(unit, "m"))
		scale = 60000;
	else
		return fail(w, node, path, "must be a duration like 500ms, 10s or 2m");
	/* compared before multiplying: a huge number must not wrap around */
	if (number > 24ULL * 3600 * 1000 / scale ||
	    number * scale < min_ms || number * scale > 24ULL * 3600 * 1000)
		return fail(w, node, path, "must be from %ums to 24 hours", min_ms);
	*out_ms = (__u32)(number * scale);
	return 0;
}

static int get_percent(struct walker *w, yaml_node_t *node, const char *path,
		       __u16 *bp)
{
	const char *value = scalar(node);

	if (!value || xs_parse_percent(value, bp))
		return fail(w, node, path,
			    "must be a percentage from 0 to 100 with at most two decimals");
	return 0;
}

static int get_pool(struct walker *w, yaml_node_t *node, const char *path,
		    __u8 *pool)
{
	const char *value = scalar(node);

	if (!value || xs_parse_pool(value, pool))
		return fail(w, node, path, "must be blue, green or canary");
	return 0;
}

#define FIELD(path, parent, name) \
	snprintf(path, sizeof(path), "%s.%s", parent, name)

static int parse_backend(struct walker *w, yaml_node_t *node, const char *path,
			 const struct xs_config_vip *vip,
			 struct xs_config_backend *b)
{
	static const char *const keys[] = { "address", "pool", "weight", "mac",
					    NULL };
	char field[160];
	__u8 family;
	int err = known_keys(w, node, path, keys);

	if (err)
		return err;
	FIELD(field, path, "address");
	if (!get(w, node, "address"))
		return fail(w, node, path, "missing 'address'");
	err = get_string(w, get(w, node, "address"), field, b->text,
			 sizeof(b->text));
	if (!err && xs_parse_address(b->text, &family, b->address))
		err = fail(w, get(w, node, "address"), field,
			   "'%s' is not an IPv4 or IPv6 address", b->text);
	if (!err && family != vip->key.family)
		err = fail(w, get(w, node, "address"), field,
			   "%s is not of the VIP's IP version", b->text);
	if (err)
		return err;
	FIELD(field, path, "pool");
	if (!get(w, node, "pool"))
		return fail(w, node, path, "missing 'pool'");
	err = get_pool(w, get(w, node, "pool"), field, &b->pool);
	b->weight = 1;
	FIELD(field, path, "weight");
	if (!err && get(w, node, "weight"))
		err = get_u32(w, get(w, node, "weight"), field, 1, 65535,
			      &b->weight);
	FIELD(field, path, "mac");
	if (!err && get(w, node, "mac")) {
		const char *mac = scalar(get(w, node, "mac"));

		b->has_mac = true;
		if (!mac || xs_parse_mac(mac, b->mac))
			err = fail(w, get(w, node, "mac"), field,
				   "must be a MAC like 02:00:5e:00:53:01");
	}
	return err;
}

static int parse_probe(struct walker *w, yaml_node_t *node, const char *path,
		       struct xs_probe *probe)
{
	static const char *const keys[] = { "type", "port", "path", "status",
					    "interval", "timeout", "rise",
					    "fall", NULL };
	const char *type = scalar(get(w, node, "type"));
	char field[160];
	__u32 port;
	int err = known_keys(w, node, path, keys);

	if (err)
		return err;
	FIELD(field, path, "type");
	if (type && !strcmp(type, "tcp"))
		probe->type = XS_PROBE_TCP;
	else if (type && !strcmp(type, "http"))
		probe->type = XS_PROBE_HTTP;
	else
		return fail(w, get(w, node, "type") ?: node, field,
			    "must be tcp or http");
	FIELD(field, path, "port");
	if (!get(w, node, "port"))
		return fail(w, node, path, "missing 'port'");
	err = get_u32(w, get(w, node, "port"), field, 1, 65535, &port);
	probe->port = port;
	strcpy(probe->path, "/");
	probe->expect_status = 200;
	probe->interval_ms = 1000;
	probe->timeout_ms = 500;
	probe->rise = 2;
	probe->fall = 2;
	FIELD(field, path, "path");
	if (!err && get(w, node, "path")) {
		err = get_string(w, get(w, node, "path"), field, probe->path,
				 sizeof(probe->path));
		if (!err && probe->path[0] != '/')
			err = fail(w, get(w, node, "path"), field,
				   "must start with /");
	}
	FIELD(field, path, "status");
	if (!err && get(w, node, "status"))
		err = get_u32(w, get(w, node, "status"), field, 100, 599,
			      &probe->expect_status);
	FIELD(field, path, "interval");
	if (!err && get(w, node, "interval"))
		err = get_duration(w, get(w, node, "interval"), field, 100,
				   &probe->interval_ms);
	FIELD(field, path, "timeout");
	if (!err && get(w, node, "timeout"))
		err = get_duration(w, get(w, node, "timeout"), field, 10,
				   &probe->timeout_ms);
	FIELD(field, path, "rise");
	if (!err && get(w, node, "rise"))
		err = get_u32(w, get(w, node, "rise"), field, 1, 100, &probe->rise);
	FIELD(field, path, "fall");
	if (!err && get(w, node, "fall"))
		err = get_u32(w, get(w, node, "fall"), field, 1, 100, &probe->fall);
	if (!err && probe->timeout_ms >= probe->interval_ms)
		err = fail(w, node, path, "timeout must be shorter than interval");
	if (!err && probe->type == XS_PROBE_TCP && get(w, node, "path"))
		err = fail(w, get(w, node, "path"), field,
			   "a tcp probe has no path; use type http");
	return err;
}

static int parse_weights(struct walker *w, yaml_node_t *node, const char *path,
			 struct xs_route *route)
{
	static const char *const keys[] = { "blue", "green", "canary", NULL };
	char field[160];
	__u32 sum = 0;
	int err = known_keys(w, node, path, keys);

	memset(route, 0, sizeof(*route));
	for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++) {
		yaml_node_t *value = get(w, node, xs_pool_name(pool));

		FIELD(field, path, xs_pool_name(pool));
		if (value)
			err = get_percent(w, value, field, &route->weight[pool]);
		sum += route->weight[pool];
	}
	if (!err && sum != XS_WEIGHT_TOTAL)
		err = fail(w, node, path, "add up to %u.%02u%%, not 100%%",
			   sum / 100, sum % 100);
	route->live_pool = route->weight[XS_POOL_GREEN] >
					   route->weight[XS_POOL_BLUE] ?
				   XS_POOL_GREEN :
				   XS_POOL_BLUE;
	return err;
}

static int parse_vip(struct walker *w, yaml_node_t *node, const char *path,
		     struct xs_config_vip *vip)
{
	static const char *const keys[] = { "vip", "mode", "split", "weights",
					    "backends", "probe", "rollout",
					    "share", NULL };
	const char *mode = scalar(get(w, node, "mode"));
	const char *split = scalar(get(w, node, "split"));
	yaml_node_t *backends = get(w, node, "backends");
	char field[160];
	int err = known_keys(w, node, path, keys);

	if (err)
		return err;
	FIELD(field, path, "vip");
	if (!get(w, node, "vip"))
		return fail(w, node, path, "missing 'vip' (ADDRESS:PORT/PROTO)");
	err = get_string(w, get(w, node, "vip"), field, vip->text,
			 sizeof(vip->text));
	if (!err && xs_parse_vip(vip->text, &vip->key))
		err = fail(w, get(w, node, "vip"), field,
			   "'%s' is not ADDRESS:PORT/tcp, ADDRESS:PORT/udp or [IPV6]:PORT/PROTO",
			   vip->text);
	FIELD(field, path, "mode");
	if (!err && mode && strcmp(mode, "l2dsr") && strcmp(mode, "ipip"))
		err = fail(w, get(w, node, "mode"), field, "must be l2dsr or ipip");
	vip->mode = mode && !strcmp(mode, "ipip") ? XS_MODE_IPIP : XS_MODE_L2DSR;
	FIELD(field, path, "split");
	if (!err && split && strcmp(split, "flow") && strcmp(split, "client"))
		err = fail(w, get(w, node, "split"), field, "must be flow or client");
	vip->split_key = split && !strcmp(split, "client") ? XS_SPLIT_CLIENT :
							    XS_SPLIT_FLOW;
	FIELD(field, path, "weights");
	if (!err && get(w, node, "weights")) {
		vip->has_weights = true;
		err = parse_weights(w, get(w, node, "weights"), field,
				    &vip->weights);
	}
	FIELD(field, path, "probe");
	if (!err && get(w, node, "probe"))
		err = parse_probe(w, get(w, node, "probe"), field, &vip->probe);
	FIELD(field, path, "rollout");
	if (!err && get(w, node, "rollout"))
		err = get_string(w, get(w, node, "rollout"), field, vip->rollout,
				 sizeof(vip->rollout));
	FIELD(field, path, "share");
	if (!err && get(w, node, "share")) {
		vip->has_share = true;
		err = get_string(w, get(w, node, "share"), field, vip->share_text,
				 sizeof(vip->share_text));
		if (!err && xs_parse_vip(vip->share_text, &vip->share))
			err = fail(w, get(w, node, "share"), field,
				   "'%s' is not a VIP", vip->share_text);
		if (!err && (vip->has_weights || vip->rollout[0]))
			err = fail(w, get(w, node, "share"), field,
				   "a VIP that shares another's route has no weights or rollout of its own: they are %s's",
				   vip->share_text);
	}
	if (err || !backends)
		return err;
	FIELD(field, path, "backends");
	if (backends->type != YAML_SEQUENCE_NODE)
		return fail(w, backends, field, "must be a list");
	for (yaml_node_item_t *item = backends->data.sequence.items.start;
	     item < backends->data.sequence.items.top; item++) {
		struct xs_config_backend *b = &vip->backends[vip->backend_count];
		char element[192];

		snprintf(element, sizeof(element), "%s[%u]", field,
			 vip->backend_count);
		if (vip->backend_count == XS_CONFIG_MAX_BACKENDS)
			return fail(w, node_at(w, *item), element,
				    "more than %d backends", XS_CONFIG_MAX_BACKENDS);
		err = parse_backend(w, node_at(w, *item), element, vip, b);
		if (err)
			return err;
		for (__u32 i = 0; i < vip->backend_count; i++)
			if (!memcmp(vip->backends[i].address, b->address, 16))
				return fail(w, node_at(w, *item), element,
					    "backend %s is listed twice", b->text);
		vip->backend_count++;
	}
	return 0;
}

/* Walks a YAML list, at most max elements, naming each "path[i]" for
 * messages; parse_one gets the element, its path and its index. */
typedef int (*element_parser)(struct walker *w, yaml_node_t *node,
			      const char *path, __u32 index, void *context);

static int parse_list(struct walker *w, yaml_node_t *list, const char *path,
		      const char *what, __u32 max, __u32 *count,
		      element_parser parse_one, void *context)
{
	if (list->type != YAML_SEQUENCE_NODE)
		return fail(w, list, path, "must be a list of %s", what);
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		char element[192];
		int err;

		snprintf(element, sizeof(element), "%s[%u]", path, *count);
		if (*count == max)
			return fail(w, node_at(w, *item), element,
				    "more than %u %s", max, what);
		err = parse_one(w, node_at(w, *item), element, *count, context);
		if (err)
			return err;
		(*count)++;
	}
	return 0;
}

static int parse_step(struct walker *w, yaml_node_t *node, const char *path,
		      struct xs_step *step)
{
	static const char *const keys[] = { "weights", "pause", "gate",
					    "switch", "bake", NULL };
	const char *bare = scalar(node);
	yaml_node_pair_t *pair;
	const char *kind;
	yaml_node_t *value;
	char field[160];
	int err;

	/* "- gate" and "- switch" need no value */
	if (bare && (!strcmp(bare, "gate") || !strcmp(bare, "switch"))) {
		step->kind = !strcmp(bare, "gate") ? XS_STEP_GATE : XS_STEP_SWITCH;
		return 0;
	}
	err = known_keys(w, node, path, keys);
	if (err)
		return err;
	if (node->data.mapping.pairs.top - node->data.mapping.pairs.start != 1)
		return fail(w, node, path, "a step is one of weights, pause, gate, switch, bake");
	pair = node->data.mapping.pairs.start;
	kind = scalar(node_at(w, pair->key));
	value = node_at(w, pair->value);
	FIELD(field, path, kind);
	if (!strcmp(kind, "weights")) {
		static const char *const canary_only[] = { "canary", NULL };

		step->kind = XS_STEP_WEIGHTS;
		err = known_keys(w, value, field, canary_only);
		if (!err && !get(w, value, "canary"))
			err = fail(w, value, field, "missing 'canary' (percent)");
		return err ? err : get_percent(w, get(w, value, "canary"), field,
					       &step->canary_bp);
	}
	if (!strcmp(kind, "pause") || !strcmp(kind, "bake")) {
		step->kind = !strcmp(kind, "pause") ? XS_STEP_PAUSE : XS_STEP_BAKE;
		return get_duration(w, value, field, 0, &step->duration_ms);
	}
	step->kind = !strcmp(kind, "gate") ? XS_STEP_GATE : XS_STEP_SWITCH;
	return 0;
}

static int parse_metric(const char *name, enum xs_metric *metric)
{
	for (int m = 0; m < XS_METRIC_PROMQL; m++)
		if (!strcmp(name, xs_metric_name(m))) {
			*metric = m;
			return 0;
		}
	return -1;
}

static int parse_rule(struct walker *w, yaml_node_t *node, const char *path,
		      struct xs_rule *rule)
{
	static const char *const keys[] = { "name", "metric", "pool",
					    "relative", "min", "max",
					    "min_samples", "failures",
					    "failure_limit", "prometheus",
					    "query", NULL };
	char field[160];
	__u32 samples = 20;
	int err = known_keys(w, node, path, keys);

	if (err)
		return err;
	FIELD(field, path, "name");
	if (!get(w, node, "name"))
		return fail(w, node, path, "missing 'name'");
	err = get_string(w, get(w, node, "name"), field, rule->name,
			 sizeof(rule->name));
	rule->pool = XS_POOL_CANARY;
	rule->failures = 1;
	if (!err && get(w, node, "prometheus")) {
		rule->metric = XS_METRIC_PROMQL;
		FIELD(field, path, "prometheus");
		err = get_string(w, get(w, node, "prometheus"), field,
				 rule->prometheus_url, sizeof(rule->prometheus_url));
		if (!err && strncmp(rule->prometheus_url, "http://", 7) &&
		    strncmp(rule->prometheus_url, "https://", 8))
			err = fail(w, get(w, node, "prometheus"), field,
				   "must be an http:// or https:// URL");
		FIELD(field, path, "query");
		if (!err && !get(w, node, "query"))
			err = fail(w, node, path, "a prometheus rule needs 'query'");
		if (!err)
			err = get_string(w, get(w, node, "query"), field,
					 rule->query, sizeof(rule->query));
		if (!err && (get(w, node, "metric") || get(w, node, "pool") ||
			     get(w, node, "relative")))
			err = fail(w, node, path,
				   "a prometheus rule takes no metric, pool or relative");
	} else if (!err) {
		const char *metric = scalar(get(w, node, "metric"));

		FIELD(field, path, "metric");
		if (!metric || parse_metric(metric, &rule->metric))
			return fail(w, get(w, node, "metric") ?: node, field,
				    "must be handshake_ratio, syn_retransmit_ratio, latency_p50, latency_p90 or latency_p99");
		FIELD(field, path, "pool");
		if (get(w, node, "pool"))
			err = get_pool(w, get(w, node, "pool"), field, &rule->pool);
		FIELD(field, path, "relative");
		if (!err && get(w, node, "relative"))
			err = get_bool(w, get(w, node, "relative"), field,
				       &rule->relative);
		FIELD(field, path, "query");
		if (!err && get(w, node, "query"))
			err = fail(w, get(w, node, "query"), field,
				   "only a prometheus rule has a query");
	}
	FIELD(field, path, "min");
	if (!err && get(w, node, "min")) {
		rule->has_min = true;
		err = get_double(w, get(w, node, "min"), field, &rule->min);
	}
	FIELD(field, path, "max");
	if (!err && get(w, node, "max")) {
		rule->has_max = true;
		err = get_double(w, get(w, node, "max"), field, &rule->max);
	}
	if (!err && !rule->has_min && !rule->has_max)
		err = fail(w, node, path, "needs 'min', 'max' or both");
	FIELD(field, path, "min_samples");
	if (!err && get(w, node, "min_samples"))
		err = get_u32(w, get(w, node, "min_samples"), field, 0, 1000000,
			      &samples);
	rule->min_samples = samples;
	FIELD(field, path, "failures");
	if (!err && get(w, node, "failures"))
		err = get_u32(w, get(w, node, "failures"), field, 1, 1000,
			      &rule->failures);
	FIELD(field, path, "failure_limit");
	if (!err && get(w, node, "failure_limit"))
		err = get_u32(w, get(w, node, "failure_limit"), field, 1, 100000,
			      &rule->failure_limit);
	return err;
}

static int step_element(struct walker *w, yaml_node_t *node, const char *path,
			__u32 index, void *policy)
{
	return parse_step(w, node, path, &((struct xs_policy *)policy)->steps[index]);
}

static int rule_element(struct walker *w, yaml_node_t *node, const char *path,
			__u32 index, void *policy)
{
	return parse_rule(w, node, path, &((struct xs_policy *)policy)->rules[index]);
}

static int parse_policy(struct walker *w, yaml_node_t *node, const char *path,
			struct xs_policy *p)
{
	static const char *const keys[] = { "name", "interval", "on_failure",
					    "flush_canary", "steps", "analysis",
					    NULL };
	const char *on_failure = scalar(get(w, node, "on_failure"));
	yaml_node_t *steps = get(w, node, "steps"), *rules;
	char field[160];
	int err = known_keys(w, node, path, keys);

	if (err)
		return err;
	FIELD(field, path, "name");
	if (!get(w, node, "name"))
		return fail(w, node, path, "missing 'name'");
	err = get_string(w, get(w, node, "name"), field, p->name, sizeof(p->name));
	p->interval_ms = 1000;
	FIELD(field, path, "interval");
	if (!err && get(w, node, "interval"))
		err = get_duration(w, get(w, node, "interval"), field, 50,
				   &p->interval_ms);
	FIELD(field, path, "on_failure");
	if (!err && on_failure && strcmp(on_failure, "rollback") &&
	    strcmp(on_failure, "pause"))
		err = fail(w, get(w, node, "on_failure"), field,
			   "must be rollback or pause");
	p->on_failure = on_failure && !strcmp(on_failure, "pause") ?
				XS_ON_FAILURE_PAUSE :
				XS_ON_FAILURE_ROLLBACK;
	p->flush_canary_on_rollback = true;
	FIELD(field, path, "flush_canary");
	if (!err && get(w, node, "flush_canary"))
		err = get_bool(w, get(w, node, "flush_canary"), field,
			       &p->flush_canary_on_rollback);
	FIELD(field, path, "steps");
	if (!err && (!steps || (steps->type == YAML_SEQUENCE_NODE &&
				steps->data.sequence.items.top ==
					steps->data.sequence.items.start)))
		err = fail(w, steps ?: node, field, "must be a list of steps");
	if (!err)
		err = parse_list(w, steps, field, "steps", XS_MAX_STEPS,
				 &p->step_count, step_element, p);
	rules = get(w, node, "analysis");
	FIELD(field, path, "analysis");
	if (!err && rules)
		err = parse_list(w, rules, field, "rules", XS_MAX_RULES,
				 &p->rule_count, rule_element, p);
	return err;
}

static int parse_interfaces(struct walker *w, yaml_node_t *list,
			    struct xs_config_file *c)
{
	static const char *const keys[] = { "name", "mode", NULL };

	if (list->type != YAML_SEQUENCE_NODE)
		return fail(w, list, "interfaces", "must be a list");
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		yaml_node_t *node = node_at(w, *item);
		struct xs_config_interface *i = &c->interfaces[c->interface_count];
		const char *mode = scalar(get(w, node, "mode"));
		char path[64];
		int err;

		snprintf(path, sizeof(path), "interfaces[%u]", c->interface_count);
		if (c->interface_count == XS_CONFIG_MAX_INTERFACES)
			return fail(w, node, path, "more than %d interfaces",
				    XS_CONFIG_MAX_INTERFACES);
		err = known_keys(w, node, path, keys);
		if (!err && !get(w, node, "name"))
			err = fail(w, node, path, "missing 'name'");
		if (!err)
			err = get_string(w, get(w, node, "name"), path, i->name,
					 sizeof(i->name));
		if (!err && mode && strcmp(mode, "native") && strcmp(mode, "generic"))
			err = fail(w, get(w, node, "mode"), path,
				   "mode must be native or generic");
		if (err)
			return err;
		i->generic = mode && !strcmp(mode, "generic");
		c->interface_count++;
	}
	return 0;
}

/* Names that go into etcd keys and messages: no '/', no space, no
 * control character. */
static bool plain_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
			return false;
	return true;
}

static int parse_endpoints(struct walker *w, yaml_node_t *list,
			   struct xs_config_fleet *f)
{
	if (!list || list->type != YAML_SEQUENCE_NODE ||
	    list->data.sequence.items.start == list->data.sequence.items.top)
		return fail(w, list, "fleet.etcd",
			    "must be a list of etcd client URLs (http://HOST:PORT)");
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		yaml_node_t *node = node_at(w, *item);
		char *url = f->endpoints[f->endpoint_count];
		const char *host;
		int err;

		if (f->endpoint_count == XS_FLEET_MAX_ENDPOINTS)
			return fail(w, node, "fleet.etcd", "more than %d endpoints",
				    XS_FLEET_MAX_ENDPOINTS);
		err = get_string(w, node, "fleet.etcd", url,
				 sizeof(f->endpoints[0]));
		if (err)
			return err;
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return fail(w, node, "fleet.etcd",
				    "'%s' is not an http:// or https:// URL", url);
		/* "http://" or "http://:2379" names no host: libcurl would fail
		 * at every connect, long after the file was accepted */
		host = url + (url[4] == 's' ? 8 : 7);
		if (!isalnum((unsigned char)*host) && *host != '[')
			return fail(w, node, "fleet.etcd",
				    "'%s' names no host (http://HOST:PORT)", url);
		for (const char *c = url; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return fail(w, node, "fleet.etcd",
					    "a URL holds no space or control character");
		f->endpoint_count++;
	}
	return 0;
}

static int parse_fleet(struct walker *w, yaml_node_t *node,
		       struct xs_config_fleet *f)
{
	static const char *const keys[] = { "host", "etcd", "prefix", "lease",
					    "announce", NULL };
	static const char *const announce_keys[] = { "device", "table", NULL };
	yaml_node_t *announce = get(w, node, "announce");
	size_t length;
	int err = known_keys(w, node, "fleet", keys);

	f->enabled = true;
	f->lease_ms = XS_FLEET_DEFAULT_LEASE_MS;
	f->table = XS_FLEET_DEFAULT_TABLE;
	snprintf(f->prefix, sizeof(f->prefix), "%s", XS_FLEET_DEFAULT_PREFIX);
	snprintf(f->device, sizeof(f->device), "%s", XS_FLEET_DEFAULT_DEVICE);
	if (gethostname(f->host, sizeof(f->host)))
		f->host[0] = '\0';
	f->host[sizeof(f->host) - 1] = '\0';
	if (!err && get(w, node, "host"))
		err = get_string(w, get(w, node, "host"), "fleet.host", f->host,
				 sizeof(f->host));
	if (!err && !plain_name(f->host))
		err = fail(w, get(w, node, "host") ?: node, "fleet.host",
			   "'%s' is not a host name of letters, digits, '.', '_' and '-'",
			   f->host);
	/* pointed at the section: a missing list has no line of its own */
	if (!err && !get(w, node, "etcd"))
		err = fail(w, node, "fleet.etcd",
			   "is missing: a list of etcd client URLs (http://HOST:PORT)");
	if (!err)
		err = parse_endpoints(w, get(w, node, "etcd"), f);
	if (!err && get(w, node, "prefix"))
		err = get_string(w, get(w, node, "prefix"), "fleet.prefix",
				 f->prefix, sizeof(f->prefix));
	length = strlen(f->prefix);
	if (!err && (length < 2 || f->prefix[0] != '/' ||
		     f->prefix[length - 1] != '/'))
		err = fail(w, get(w, node, "prefix"), "fleet.prefix",
			   "must start and end with '/' (like /xdpsplit/)");
	for (const char *c = f->prefix; !err && *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			err = fail(w, get(w, node, "prefix"), "fleet.prefix",
				   "holds no space or control character");
	/* etcd's leases live a whole number of seconds */
	if (!err && get(w, node, "lease"))
		err = get_duration(w, get(w, node, "lease"), "fleet.lease", 2000,
				   &f->lease_ms);
	if (!err && f->lease_ms % 1000)
		err = fail(w, get(w, node, "lease"), "fleet.lease",
			   "must be whole seconds (etcd's leases are)");
	if (!err && announce)
		err = known_keys(w, announce, "fleet.announce", announce_keys);
	if (!err && announce && get(w, announce, "device"))
		err = get_string(w, get(w, announce, "device"),
				 "fleet.announce.device", f->device,
				 sizeof(f->device));
	if (!err && !plain_name(f->device))
		err = fail(w, announce, "fleet.announce.device",
			   "'%s' is not an interface name", f->device);
	/* not main, local or default: the BGP daemon's table alone */
	if (!err && announce && get(w, announce, "table"))
		err = get_u32(w, get(w, announce, "table"), "fleet.announce.table",
			      1, 252, &f->table);
	return err;
}

/* References between sections: a VIP's rollout must exist, names unique. */
static int cross_check(struct walker *w, yaml_node_t *root,
		       struct xs_config_file *c)
{
	for (__u32 i = 0; i < c->policy_count; i++)
		for (__u32 j = 0; j < i; j++)
			if (!strcmp(c->policies[i].name, c->policies[j].name))
				return fail(w, get(w, root, "rollouts"), "rollouts",
					    "two policies are named '%s'",
					    c->policies[i].name);
	for (__u32 v = 0; v < c->vip_count; v++) {
		for (__u32 u = 0; u < v; u++)
			if (!memcmp(&c->vips[u].key, &c->vips[v].key,
				    sizeof(c->vips[v].key)))
				return fail(w, get(w, root, "vips"), "vips",
					    "VIP %s is listed twice",
					    c->vips[v].text);
		if (c->vips[v].rollout[0] &&
		    !xs_config_policy(c, c->vips[v].rollout))
			return fail(w, get(w, root, "vips"), "vips",
				    "VIP %s names rollout '%s', which is not in 'rollouts'",
				    c->vips[v].text, c->vips[v].rollout);
		if (c->vips[v].has_share) {
			const struct xs_config_vip *service = NULL;

			/* listed before, so apply creates it first */
			for (__u32 u = 0; u < v; u++)
				if (!memcmp(&c->vips[u].key, &c->vips[v].share,
					    sizeof(c->vips[v].share)))
					service = &c->vips[u];
			if (!service || service->has_share)
				return fail(w, get(w, root, "vips"), "vips",
					    "VIP %s shares the route of %s, which must be listed before it and share no other's",
					    c->vips[v].text, c->vips[v].share_text);
		}
	}
	return 0;
}

static int policy_element(struct walker *w, yaml_node_t *node,
			  const char *path, __u32 index, void *config)
{
	return parse_policy(w, node, path,
			    &((struct xs_config_file *)config)->policies[index]);
}

static int vip_element(struct walker *w, yaml_node_t *node, const char *path,
		       __u32 index, void *config)
{
	return parse_vip(w, node, path,
			 &((struct xs_config_file *)config)->vips[index]);
}

static int parse_root(struct walker *w, yaml_node_t *root,
		      struct xs_config_file *c)
{
	static const char *const keys[] = { "interfaces", "daemon", "vips",
					    "rollouts", "fleet", NULL };
	static const char *const document_keys[] = { "vips", "rollouts", NULL };
	static const char *const daemon_keys[] = { "interval", "metrics", NULL };
	yaml_node_t *daemon = get(w, root, "daemon"), *list;
	int err = known_keys(w, root, "(top level)",
			     w->document ? document_keys : keys);

	c->interval_ms = 1000;
	snprintf(c->metrics, sizeof(c->metrics), "127.0.0.1:9464");
	if (!err && get(w, root, "interfaces"))
		err = parse_interfaces(w, get(w, root, "interfaces"), c);
	if (!err && daemon) {
		err = known_keys(w, daemon, "daemon", daemon_keys);
		if (!err && get(w, daemon, "interval"))
			err = get_duration(w, get(w, daemon, "interval"),
					   "daemon.interval", 50, &c->interval_ms);
		if (!err && get(w, daemon, "metrics"))
			err = get_string(w, get(w, daemon, "metrics"),
					 "daemon.metrics", c->metrics,
					 sizeof(c->metrics));
	}
	if (!err && get(w, root, "fleet"))
		err = parse_fleet(w, get(w, root, "fleet"), &c->fleet);
	/* one source of truth: a host's own copy would go stale */
	if (!err && c->fleet.enabled &&
	    (get(w, root, "vips") || get(w, root, "rollouts")))
		return fail(w, get(w, root, "vips") ?: get(w, root, "rollouts"),
			    "fleet",
			    "in a fleet the VIPs and rollouts are the fleet's, in etcd: put them there with 'splitctl fleet apply -f FILE' and keep only interfaces, daemon and fleet here");
	list = get(w, root, "rollouts");
	if (!err && list)
		err = parse_list(w, list, "rollouts", "policies",
				 XS_CONFIG_MAX_POLICIES, &c->policy_count,
				 policy_element, c);
	list = get(w, root, "vips");
	if (!err && list)
		err = parse_list(w, list, "vips", "VIPs", XS_CONFIG_MAX_VIPS,
				 &c->vip_count, vip_element, c);
	return err ? err : cross_check(w, root, c);
}

/* A first pass over the events, refusing a document nested deeper than
 * MAX_CONFIG_DEPTH or with more than MAX_CONFIG_NODES nodes as soon as it
 * gets there: libyaml's loader would build the whole tree first. */
static int check_shape(const char *text, size_t length, const char *name,
		       char *error, size_t error_size)
{
	yaml_parser_t parser;
	yaml_event_t event;
	size_t depth = 0, nodes = 0;
	int err = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     length);
	for (bool done = false; !done && !err;) {
		if (!yaml_parser_parse(&parser, &event)) {
			snprintf(error, error_size, "%s:%zu:%zu: not valid YAML: %s",
				 name, parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "parse error");
			err = -EINVAL;
			break;
		}
		switch (event.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_CONFIG_DEPTH) {
				snprintf(error, error_size,
					 "%s:%zu:%zu: nested more than %d levels deep: not an xdpsplit configuration",
					 name, event.start_mark.line + 1,
					 event.start_mark.column + 1,
					 MAX_CONFIG_DEPTH);
				err = -EINVAL;
			}
			/* fall through */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (!err && ++nodes > MAX_CONFIG_NODES) {
				snprintf(error, error_size,
					 "%s:%zu:%zu: more than %d values: not an xdpsplit configuration",
					 name, event.start_mark.line + 1,
					 event.start_mark.column + 1,
					 MAX_CONFIG_NODES);
				err = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return err;
}

static int parse(const char *text, size_t length, const char *name,
		 bool document, struct xs_config_file *config, char *error,
		 size_t error_size)
{
	struct walker w = { .name = name, .error = error,
			    .error_size = error_size, .document = document };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int err;

	memset(config, 0, sizeof(*config));
	err = check_shape(text, length, name, error, error_size);
	if (err)
		return err;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     length);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(error, error_size, "%s:%zu:%zu: not valid YAML: %s",
			 name, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	err = root ? parse_root(&w, root, config) :
		     fail(&w, NULL, "(top level)", "the file is empty");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (err)
		memset(config, 0, sizeof(*config));
	return err;
}

int xs_config_parse(const char *text, size_t length, const char *name,
		    struct xs_config_file *config, char *error,
		    size_t error_size)
{
	return parse(text, length, name, false, config, error, error_size);
}

int xs_config_parse_document(const char *text, size_t length,
			     const char *name, struct xs_config_file *document,
			     char *error, size_t error_size)
{
	return parse(text, length, name, true, document, error, error_size);
}

void xs_config_merge_document(const struct xs_config_file *local,
			      const struct xs_config_file *document,
			      struct xs_config_file *out)
{
	if (out != local)
		memcpy(out, local, sizeof(*out));
	memcpy(out->vips, document->vips, sizeof(out->vips));
	out->vip_count = document->vip_count;
	memcpy(out->policies, document->policies, sizeof(out->policies));
	out->policy_count = document->policy_count;
}

int xs_config_load(const char *path, struct xs_config_file *config,
		   char *error, size_t error_size)
{
	char *text, why[400];
	size_t length;
	int err;

	/* a FIFO, a link, a file another user could write: refused unread */
	err = xs_read_trusted(path, MAX_CONFIG_BYTES, &text, &length, why,
			      sizeof(why));
	if (err) {
		snprintf(error, error_size, "Couldn't read configuration: %s",
			 why);
		return err;
	}
	err = xs_config_parse(text, length, path, config, error, error_size);
	free(text);
	return err;
}

const struct xs_policy *xs_config_policy(const struct xs_config_file *config,
					 const char *name)
{
	for (__u32 i = 0; i < config->policy_count; i++)
		if (!strcmp(config->policies[i].name, name))
			return &config->policies[i];
	return NULL;
}
