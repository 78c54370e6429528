// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration's schema, top level: interfaces, daemon, then the
 * sections in config_vip.c, config_policy.c and config_fleet.c, and the
 * references between them. The YAML itself is walked by yaml_walker.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_schema.h"
#include "safe_open.h"

#define MAX_CONFIG_BYTES (4 << 20)

static int parse_interfaces(struct yaml_walker *w, yaml_node_t *list,
			    struct xs_config_file *c)
{
	static const char *const keys[] = { "name", "mode", NULL };

	if (list->type != YAML_SEQUENCE_NODE)
		return walk_fail(w, list, "interfaces", "must be a list");
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		yaml_node_t *node = walk_node(w, *item);
		struct xs_config_interface *i =
			&c->interfaces[c->interface_count];
		const char *mode = walk_scalar(walk_get(w, node, "mode"));
		char path[64];
		int err;

		snprintf(path, sizeof(path), "interfaces[%u]",
			 c->interface_count);
		if (c->interface_count == XS_CONFIG_MAX_INTERFACES)
			return walk_fail(w, node, path,
					 "more than %d interfaces",
					 XS_CONFIG_MAX_INTERFACES);
		err = walk_keys(w, node, path, keys);
		if (!err && !walk_get(w, node, "name"))
			err = walk_fail(w, node, path, "missing 'name'");
		if (!err)
			err = walk_string(w, walk_get(w, node, "name"), path,
					  i->name, sizeof(i->name));
		if (!err && mode && strcmp(mode, "native") &&
		    strcmp(mode, "generic"))
			err = walk_fail(w, walk_get(w, node, "mode"), path,
					"mode must be native or generic");
		if (err)
			return err;
		i->generic = mode && !strcmp(mode, "generic");
		c->interface_count++;
	}
	return 0;
}

/* References between sections: a VIP's rollout must exist, names unique. */
static int cross_check(struct yaml_walker *w, yaml_node_t *root,
		       struct xs_config_file *c)
{
	for (__u32 i = 0; i < c->policy_count; i++)
		for (__u32 j = 0; j < i; j++)
			if (!strcmp(c->policies[i].name, c->policies[j].name))
				return walk_fail(w,
						 walk_get(w, root, "rollouts"),
						 "rollouts",
						 "two policies are named '%s'",
						 c->policies[i].name);
	for (__u32 v = 0; v < c->vip_count; v++) {
		for (__u32 u = 0; u < v; u++)
			if (!memcmp(&c->vips[u].key, &c->vips[v].key,
				    sizeof(c->vips[v].key)))
				return walk_fail(w, walk_get(w, root, "vips"),
						 "vips",
						 "VIP %s is listed twice",
						 c->vips[v].text);
		if (c->vips[v].rollout[0] &&
		    !xs_config_policy(c, c->vips[v].rollout))
			return walk_fail(
				w, walk_get(w, root, "vips"), "vips",
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
				return walk_fail(
					w, walk_get(w, root, "vips"), "vips",
					"VIP %s shares the route of %s, which must be listed before it and share no other's",
					c->vips[v].text, c->vips[v].share_text);
		}
	}
	return 0;
}

static int policy_element(struct yaml_walker *w, yaml_node_t *node,
			  const char *path, __u32 index, void *config)
{
	return config_parse_policy(
		w, node, path,
		&((struct xs_config_file *)config)->policies[index]);
}

static int vip_element(struct yaml_walker *w, yaml_node_t *node,
		       const char *path, __u32 index, void *config)
{
	return config_parse_vip(
		w, node, path, &((struct xs_config_file *)config)->vips[index]);
}

static int parse_daemon(struct yaml_walker *w, yaml_node_t *daemon,
			struct xs_config_file *c)
{
	static const char *const keys[] = { "interval", "metrics", NULL };
	int err = walk_keys(w, daemon, "daemon", keys);

	if (!err && walk_get(w, daemon, "interval"))
		err = walk_duration(w, walk_get(w, daemon, "interval"),
				    "daemon.interval", 50, &c->interval_ms);
	if (!err && walk_get(w, daemon, "metrics"))
		err = walk_string(w, walk_get(w, daemon, "metrics"),
				  "daemon.metrics", c->metrics,
				  sizeof(c->metrics));
	return err;
}

/* What a walk fills: a host's file, or a fleet's document (VIPs and
 * rollouts only). */
struct parse_target {
	struct xs_config_file *config;
	bool document;
};

static int parse_root(struct yaml_walker *w, yaml_node_t *root, void *context)
{
	static const char *const keys[] = { "interfaces", "daemon", "vips",
					    "rollouts",	  "fleet",  NULL };
	static const char *const document_keys[] = { "vips", "rollouts", NULL };
	const struct parse_target *target = context;
	struct xs_config_file *c = target->config;
	yaml_node_t *daemon = walk_get(w, root, "daemon"), *list;
	int err = walk_keys(w, root, "(top level)",
			    target->document ? document_keys : keys);

	c->interval_ms = 1000;
	snprintf(c->metrics, sizeof(c->metrics), "127.0.0.1:9464");
	if (!err && walk_get(w, root, "interfaces"))
		err = parse_interfaces(w, walk_get(w, root, "interfaces"), c);
	if (!err && daemon)
		err = parse_daemon(w, daemon, c);
	if (!err && walk_get(w, root, "fleet"))
		err = config_parse_fleet(w, walk_get(w, root, "fleet"),
					 &c->fleet);
	/* one source of truth: a host's own copy would go stale */
	if (!err && c->fleet.enabled &&
	    (walk_get(w, root, "vips") || walk_get(w, root, "rollouts")))
		return walk_fail(
			w,
			walk_get(w, root, "vips") ?:
						    walk_get(w, root, "rollouts"),
			"fleet",
			"in a fleet the VIPs and rollouts are the fleet's, in etcd: put them there with 'splitctl fleet apply -f FILE' and keep only interfaces, daemon and fleet here");
	list = walk_get(w, root, "rollouts");
	if (!err && list)
		err = walk_list(w, list, "rollouts", "policies",
				XS_CONFIG_MAX_POLICIES, &c->policy_count,
				policy_element, c);
	list = walk_get(w, root, "vips");
	if (!err && list)
		err = walk_list(w, list, "vips", "VIPs", XS_CONFIG_MAX_VIPS,
				&c->vip_count, vip_element, c);
	return err ? err : cross_check(w, root, c);
}

static int parse(const char *text, size_t length, const char *name,
		 bool document, struct xs_config_file *config, char *error,
		 size_t error_size)
{
	struct parse_target target = { .config = config, .document = document };
	int err;

	memset(config, 0, sizeof(*config));
	err = walk_document(text, length, name, parse_root, &target, error,
			    error_size);
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

int xs_config_parse_document(const char *text, size_t length, const char *name,
			     struct xs_config_file *document, char *error,
			     size_t error_size)
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

int xs_config_load(const char *path, struct xs_config_file *config, char *error,
		   size_t error_size)
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
