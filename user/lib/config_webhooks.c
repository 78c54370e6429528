// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "config_webhooks.h"
#include "parse.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define MIN_TIMEOUT_MS 100
#define MAX_TIMEOUT_MS 60000
#define MIN_INTERVAL_MS 500
#define MAX_INTERVAL_MS 3600000

static bool has_control(const char *text)
{
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			return true;
	return false;
}

static int parse_url(struct yaml_walker *w, yaml_node_t *node, const char *path,
		     char *url)
{
	const char *host;
	int err = walk_string(w, node, path, url, XS_WEBHOOK_URL_SIZE);

	if (err)
		return err;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return walk_fail(w, node, path,
				 "'%s' is not an http:// or https:// URL", url);
	/* "http://" or "http://:80" names no host: every delivery would
	 * fail, long after the file was accepted */
	host = url + (url[4] == 's' ? 8 : 7);
	if (!isalnum((unsigned char)*host) && *host != '[')
		return walk_fail(w, node, path,
				 "'%s' names no host (http://HOST[:PORT]/PATH)",
				 url);
	for (const char *c = url; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return walk_fail(
				w, node, path,
				"a URL holds no space or control character");
	return 0;
}

static int parse_events(struct yaml_walker *w, yaml_node_t *list,
			const char *path, __u32 *events)
{
	char names[160];

	xs_webhook_event_list(names, sizeof(names));
	if (list->type != YAML_SEQUENCE_NODE ||
	    list->data.sequence.items.top == list->data.sequence.items.start)
		return walk_fail(w, list, path, "must be a list of events (%s)",
				 names);
	*events = 0;
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		yaml_node_t *node = walk_node(w, *item);
		const char *name = walk_scalar(node);
		enum xs_webhook_event event;

		if (!name || xs_webhook_event_parse(name, &event))
			return walk_fail(
				w, node, path,
				"unknown event '%s'; the events are %s",
				name ? name : "?", names);
		if (*events & (1u << event))
			return walk_fail(w, node, path,
					 "event '%s' given twice", name);
		*events |= 1u << event;
	}
	return 0;
}

/* HTTP token characters (RFC 9110) */
static bool header_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) &&
		    !strchr("!#$%&'*+-.^_`|~", *c))
			return false;
	return true;
}

static int parse_headers(struct yaml_walker *w, yaml_node_t *map,
			 const char *path, struct xs_webhook *hook)
{
	if (map->type != YAML_MAPPING_NODE)
		return walk_fail(w, map, path,
				 "must be a mapping (Header: value)");
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = walk_node(w, pair->key);
		yaml_node_t *value = walk_node(w, pair->value);
		struct xs_webhook_header *h =
			&hook->headers[hook->header_count];
		int err;

		if (hook->header_count == XS_WEBHOOK_MAX_HEADERS)
			return walk_fail(w, key, path, "more than %d headers",
					 XS_WEBHOOK_MAX_HEADERS);
		err = walk_string(w, key, path, h->name, sizeof(h->name));
		if (!err && !header_name(h->name))
			err = walk_fail(w, key, path,
					"'%s' is not an HTTP header name",
					h->name);
		/* a secret in the configuration is in every copy of it (etcd,
		 * backups, diffs): the token comes from a file */
		if (!err && !strcasecmp(h->name, "Authorization"))
			err = walk_fail(
				w, key, path,
				"no Authorization header here: put the token in a file and name it with token_file");
		if (!err && !strcasecmp(h->name, "Content-Type"))
			err = walk_fail(
				w, key, path,
				"the body is JSON: Content-Type is application/json");
		for (__u32 i = 0; !err && i < hook->header_count; i++)
			if (!strcasecmp(hook->headers[i].name, h->name))
				err = walk_fail(w, key, path,
						"header '%s' given twice",
						h->name);
		if (!err)
			err = walk_string(w, value, path, h->value,
					  sizeof(h->value));
		if (!err && has_control(h->value))
			err = walk_fail(
				w, value, path,
				"a header value holds no control character or line break");
		if (err)
			return err;
		hook->header_count++;
	}
	return 0;
}

static bool has_gate_step(const struct xs_policy *p)
{
	for (__u32 i = 0; i < p->step_count; i++)
		if (p->steps[i].kind == XS_STEP_GATE)
			return true;
	return false;
}

/* The fields of the other kind: said plainly, not ignored. */
static int kind_fields(struct yaml_walker *w, yaml_node_t *node,
		       const char *path, enum xs_webhook_kind kind)
{
	static const char *const notify_only[] = { "events", "retries", NULL };
	static const char *const gate_only[] = { "interval", NULL };
	const char *const *wrong = kind == XS_WEBHOOK_GATEKEEPER ? notify_only :
								   gate_only;

	for (; *wrong; wrong++)
		if (walk_get(w, node, *wrong))
			return walk_fail(
				w, walk_get(w, node, *wrong), path,
				kind == XS_WEBHOOK_GATEKEEPER ?
					"a gate webhook has no '%s': it is asked again every interval until it answers 2xx" :
					"'%s' is a gate webhook's (type: gate)",
				*wrong);
	return 0;
}

static int parse_timing(struct yaml_walker *w, yaml_node_t *node,
			const char *path, struct xs_webhook *hook)
{
	char field[192];
	int err = 0;

	hook->timeout_ms = XS_WEBHOOK_DEFAULT_TIMEOUT_MS;
	WALK_FIELD(field, path, "timeout");
	if (walk_get(w, node, "timeout")) {
		err = walk_duration(w, walk_get(w, node, "timeout"), field,
				    MIN_TIMEOUT_MS, &hook->timeout_ms);
		if (!err && hook->timeout_ms > MAX_TIMEOUT_MS)
			err = walk_fail(w, walk_get(w, node, "timeout"), field,
					"must be from %ums to %us",
					MIN_TIMEOUT_MS, MAX_TIMEOUT_MS / 1000);
	}
	hook->retries = XS_WEBHOOK_DEFAULT_RETRIES;
	WALK_FIELD(field, path, "retries");
	if (!err && walk_get(w, node, "retries"))
		err = walk_u32(w, walk_get(w, node, "retries"), field, 0,
			       XS_WEBHOOK_MAX_RETRIES, &hook->retries);
	hook->interval_ms = XS_WEBHOOK_DEFAULT_INTERVAL_MS;
	WALK_FIELD(field, path, "interval");
	if (!err && walk_get(w, node, "interval")) {
		err = walk_duration(w, walk_get(w, node, "interval"), field,
				    MIN_INTERVAL_MS, &hook->interval_ms);
		if (!err && hook->interval_ms > MAX_INTERVAL_MS)
			err = walk_fail(w, walk_get(w, node, "interval"), field,
					"must be from %ums to 1 hour",
					MIN_INTERVAL_MS);
	}
	if (!err && hook->kind == XS_WEBHOOK_GATEKEEPER &&
	    hook->timeout_ms > hook->interval_ms)
		err = walk_fail(w, walk_get(w, node, "timeout") ?: node, path,
				"timeout must not be longer than interval");
	return err;
}

static int parse_webhook(struct yaml_walker *w, yaml_node_t *node,
			 const char *path, __u32 index, void *context)
{
	static const char *const keys[] = { "name",	"type",	   "url",
					    "events",	"timeout", "retries",
					    "interval", "headers", "token_file",
					    NULL };
	struct xs_policy *policy = context;
	struct xs_webhook *hook = &policy->webhooks.hooks[index];
	const char *type;
	char field[192];
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	memset(hook, 0, sizeof(*hook));
	WALK_FIELD(field, path, "name");
	err = walk_required_string(w, node, path, "name", hook->name,
				   sizeof(hook->name));
	if (!err && !xs_is_plain_name(hook->name))
		err = walk_fail(w, walk_get(w, node, "name"), field,
				"'%s': " XS_PLAIN_NAME_CHARACTERS " only",
				hook->name);
	for (__u32 i = 0; !err && i < index; i++)
		if (!strcmp(policy->webhooks.hooks[i].name, hook->name))
			err = walk_fail(w, walk_get(w, node, "name"), field,
					"two webhooks are named '%s'",
					hook->name);
	type = walk_scalar(walk_get(w, node, "type"));
	WALK_FIELD(field, path, "type");
	hook->kind = XS_WEBHOOK_NOTIFY;
	if (!err && walk_get(w, node, "type") &&
	    (!type || xs_webhook_kind_parse(type, &hook->kind)))
		err = walk_fail(w, walk_get(w, node, "type"), field,
				"must be %s or %s",
				xs_webhook_kind_name(XS_WEBHOOK_NOTIFY),
				xs_webhook_kind_name(XS_WEBHOOK_GATEKEEPER));
	if (!err)
		err = kind_fields(w, node, path, hook->kind);
	if (!err && hook->kind == XS_WEBHOOK_GATEKEEPER &&
	    !has_gate_step(policy))
		err = walk_fail(
			w, walk_get(w, node, "type"), field,
			"the policy has no gate step for a gate webhook to open");
	WALK_FIELD(field, path, "url");
	if (!err && !walk_get(w, node, "url"))
		err = walk_fail(w, node, path, "missing 'url'");
	if (!err)
		err = parse_url(w, walk_get(w, node, "url"), field, hook->url);
	hook->events = XS_WEBHOOK_ALL_EVENTS;
	WALK_FIELD(field, path, "events");
	if (!err && walk_get(w, node, "events"))
		err = parse_events(w, walk_get(w, node, "events"), field,
				   &hook->events);
	if (hook->kind == XS_WEBHOOK_GATEKEEPER)
		hook->events = 0;
	if (!err)
		err = parse_timing(w, node, path, hook);
	WALK_FIELD(field, path, "headers");
	if (!err && walk_get(w, node, "headers"))
		err = parse_headers(w, walk_get(w, node, "headers"), field,
				    hook);
	WALK_FIELD(field, path, "token_file");
	if (!err && walk_get(w, node, "token_file")) {
		err = walk_string(w, walk_get(w, node, "token_file"), field,
				  hook->token_file, sizeof(hook->token_file));
		if (!err && (hook->token_file[0] != '/' ||
			     has_control(hook->token_file)))
			err = walk_fail(w, walk_get(w, node, "token_file"),
					field, "must be an absolute path");
	}
	return err;
}

int config_parse_webhooks(struct yaml_walker *w, yaml_node_t *node,
			  const char *path, struct xs_policy *policy)
{
	return walk_list(w, node, path, "webhooks", XS_MAX_WEBHOOKS,
			 &policy->webhooks.count, parse_webhook, policy);
}
