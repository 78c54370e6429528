// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The schema of a rollout policy: its steps and its analysis rules. */
#include <stdio.h>
#include <string.h>
#include "config_schema.h"
#include "config_webhooks.h"
#include "parse.h"

/* field paths only go into messages: a truncated one is still useful */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static int parse_step(struct yaml_walker *w, yaml_node_t *node,
		      const char *path, struct xs_step *step)
{
	static const char *const keys[] = { "weights", "pause", "gate",
					    "switch",  "bake",	NULL };
	const char *bare = walk_scalar(node);
	yaml_node_pair_t *pair;
	const char *kind;
	yaml_node_t *value;
	char field[160];
	int err;

	/* "- gate" and "- switch" need no value */
	if (bare && (!strcmp(bare, "gate") || !strcmp(bare, "switch"))) {
		step->kind = !strcmp(bare, "gate") ? XS_STEP_GATE :
						     XS_STEP_SWITCH;
		return 0;
	}
	err = walk_keys(w, node, path, keys);
	if (err)
		return err;
	if (node->data.mapping.pairs.top - node->data.mapping.pairs.start != 1)
		return walk_fail(
			w, node, path,
			"a step is one of weights, pause, gate, switch, bake");
	pair = node->data.mapping.pairs.start;
	kind = walk_scalar(walk_node(w, pair->key));
	value = walk_node(w, pair->value);
	WALK_FIELD(field, path, kind);
	if (!strcmp(kind, "weights")) {
		static const char *const canary_only[] = { "canary", NULL };

		step->kind = XS_STEP_WEIGHTS;
		err = walk_keys(w, value, field, canary_only);
		if (!err && !walk_get(w, value, "canary"))
			err = walk_fail(w, value, field,
					"missing 'canary' (percent)");
		return err ? err :
			     walk_percent(w, walk_get(w, value, "canary"),
					  field, &step->canary_bp);
	}
	if (!strcmp(kind, "pause") || !strcmp(kind, "bake")) {
		step->kind = !strcmp(kind, "pause") ? XS_STEP_PAUSE :
						      XS_STEP_BAKE;
		return walk_duration(w, value, field, 0, &step->duration_ms);
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

/* A rule measured by a PromQL query against a Prometheus server. */
static int parse_prometheus_source(struct yaml_walker *w, yaml_node_t *node,
				   const char *path, struct xs_rule *rule)
{
	yaml_node_t *url = walk_get(w, node, "prometheus");
	char field[160];
	int err;

	rule->metric = XS_METRIC_PROMQL;
	WALK_FIELD(field, path, "prometheus");
	err = walk_string(w, url, field, rule->prometheus_url,
			  sizeof(rule->prometheus_url));
	if (!err && strncmp(rule->prometheus_url, "http://", 7) &&
	    strncmp(rule->prometheus_url, "https://", 8))
		err = walk_fail(w, url, field,
				"must be an http:// or https:// URL");
	WALK_FIELD(field, path, "query");
	if (!err && !walk_get(w, node, "query"))
		err = walk_fail(w, node, path,
				"a prometheus rule needs 'query'");
	if (!err)
		err = walk_string(w, walk_get(w, node, "query"), field,
				  rule->query, sizeof(rule->query));
	if (!err && (walk_get(w, node, "metric") || walk_get(w, node, "pool") ||
		     walk_get(w, node, "relative")))
		err = walk_fail(
			w, node, path,
			"a prometheus rule takes no metric, pool or relative");
	return err;
}

/* A rule measured from the data plane's own counters. */
static int parse_builtin_source(struct yaml_walker *w, yaml_node_t *node,
				const char *path, struct xs_rule *rule)
{
	const char *metric = walk_scalar(walk_get(w, node, "metric"));
	char field[160];
	int err = 0;

	WALK_FIELD(field, path, "metric");
	if (!metric || parse_metric(metric, &rule->metric)) {
		char names[256] = "";

		/* the names from the one list rollout.c keeps */
		for (int m = 0; m < XS_METRIC_PROMQL; m++)
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 m == 0			   ? "" :
				 m == XS_METRIC_PROMQL - 1 ? " or " :
							     ", ",
				 xs_metric_name(m));
		return walk_fail(w, walk_get(w, node, "metric") ?: node, field,
				 "must be %s", names);
	}
	WALK_FIELD(field, path, "pool");
	if (walk_get(w, node, "pool"))
		err = walk_pool(w, walk_get(w, node, "pool"), field,
				&rule->pool);
	WALK_FIELD(field, path, "relative");
	if (!err && walk_get(w, node, "relative"))
		err = walk_bool(w, walk_get(w, node, "relative"), field,
				&rule->relative);
	WALK_FIELD(field, path, "query");
	if (!err && walk_get(w, node, "query"))
		err = walk_fail(w, walk_get(w, node, "query"), field,
				"only a prometheus rule has a query");
	return err;
}

static int parse_rule(struct yaml_walker *w, yaml_node_t *node,
		      const char *path, struct xs_rule *rule)
{
	static const char *const keys[] = {
		"name",		 "metric",     "pool",	      "relative",
		"min",		 "max",	       "min_samples", "failures",
		"failure_limit", "prometheus", "query",	      NULL
	};
	char field[160];
	__u32 samples = 20;
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	WALK_FIELD(field, path, "name");
	err = walk_required_string(w, node, path, "name", rule->name,
				   sizeof(rule->name));
	rule->pool = XS_POOL_CANARY;
	rule->failures = 1;
	if (!err && walk_get(w, node, "prometheus"))
		err = parse_prometheus_source(w, node, path, rule);
	else if (!err)
		err = parse_builtin_source(w, node, path, rule);
	WALK_FIELD(field, path, "min");
	if (!err && walk_get(w, node, "min")) {
		rule->has_min = true;
		err = walk_double(w, walk_get(w, node, "min"), field,
				  &rule->min);
	}
	WALK_FIELD(field, path, "max");
	if (!err && walk_get(w, node, "max")) {
		rule->has_max = true;
		err = walk_double(w, walk_get(w, node, "max"), field,
				  &rule->max);
	}
	if (!err && !rule->has_min && !rule->has_max)
		err = walk_fail(w, node, path, "needs 'min', 'max' or both");
	WALK_FIELD(field, path, "min_samples");
	if (!err && walk_get(w, node, "min_samples"))
		err = walk_u32(w, walk_get(w, node, "min_samples"), field, 0,
			       1000000, &samples);
	rule->min_samples = samples;
	WALK_FIELD(field, path, "failures");
	if (!err && walk_get(w, node, "failures"))
		err = walk_u32(w, walk_get(w, node, "failures"), field, 1, 1000,
			       &rule->failures);
	WALK_FIELD(field, path, "failure_limit");
	if (!err && walk_get(w, node, "failure_limit"))
		err = walk_u32(w, walk_get(w, node, "failure_limit"), field, 1,
			       100000, &rule->failure_limit);
	return err;
}

static int step_element(struct yaml_walker *w, yaml_node_t *node,
			const char *path, __u32 index, void *policy)
{
	return parse_step(w, node, path,
			  &((struct xs_policy *)policy)->steps[index]);
}

static int rule_element(struct yaml_walker *w, yaml_node_t *node,
			const char *path, __u32 index, void *policy)
{
	return parse_rule(w, node, path,
			  &((struct xs_policy *)policy)->rules[index]);
}

int config_parse_policy(struct yaml_walker *w, yaml_node_t *node,
			const char *path, struct xs_policy *p)
{
	static const char *const keys[] = { "name",	  "interval",
					    "on_failure", "flush_canary",
					    "steps",	  "analysis",
					    "webhooks",	  NULL };
	const char *on_failure = walk_scalar(walk_get(w, node, "on_failure"));
	yaml_node_t *steps = walk_get(w, node, "steps"), *rules;
	char field[160];
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	WALK_FIELD(field, path, "name");
	err = walk_required_string(w, node, path, "name", p->name,
				   sizeof(p->name));
	/* splitctl rollout start VIP POLICY sends it on a line */
	if (!err && !xs_is_plain_name(p->name))
		err = walk_fail(w, walk_get(w, node, "name"), field,
				"'%s': " XS_PLAIN_NAME_CHARACTERS " only",
				p->name);
	p->interval_ms = 1000;
	WALK_FIELD(field, path, "interval");
	if (!err && walk_get(w, node, "interval"))
		err = walk_duration(w, walk_get(w, node, "interval"), field, 50,
				    &p->interval_ms);
	WALK_FIELD(field, path, "on_failure");
	if (!err && on_failure && strcmp(on_failure, "rollback") &&
	    strcmp(on_failure, "pause"))
		err = walk_fail(w, walk_get(w, node, "on_failure"), field,
				"must be rollback or pause");
	p->on_failure = on_failure && !strcmp(on_failure, "pause") ?
				XS_ON_FAILURE_PAUSE :
				XS_ON_FAILURE_ROLLBACK;
	p->flush_canary_on_rollback = true;
	WALK_FIELD(field, path, "flush_canary");
	if (!err && walk_get(w, node, "flush_canary"))
		err = walk_bool(w, walk_get(w, node, "flush_canary"), field,
				&p->flush_canary_on_rollback);
	WALK_FIELD(field, path, "steps");
	if (!err && (!steps || (steps->type == YAML_SEQUENCE_NODE &&
				steps->data.sequence.items.top ==
					steps->data.sequence.items.start)))
		err = walk_fail(w, steps ?: node, field,
				"must be a list of steps");
	if (!err)
		err = walk_list(w, steps, field, "steps", XS_MAX_STEPS,
				&p->step_count, step_element, p);
	rules = walk_get(w, node, "analysis");
	WALK_FIELD(field, path, "analysis");
	if (!err && rules)
		err = walk_list(w, rules, field, "rules", XS_MAX_RULES,
				&p->rule_count, rule_element, p);
	WALK_FIELD(field, path, "webhooks");
	if (!err && walk_get(w, node, "webhooks"))
		err = config_parse_webhooks(w, walk_get(w, node, "webhooks"),
					    field, p);
	return err;
}
