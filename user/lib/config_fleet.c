// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The schema of a host's place in a fleet (the 'fleet:' section). */
#include <ctype.h>
#include <string.h>
#include <unistd.h>
#include "config_schema.h"
#include "parse.h"

static int parse_endpoints(struct yaml_walker *w, yaml_node_t *list,
			   struct xs_config_fleet *f)
{
	if (!list || list->type != YAML_SEQUENCE_NODE ||
	    list->data.sequence.items.start == list->data.sequence.items.top)
		return walk_fail(
			w, list, "fleet.etcd",
			"must be a list of etcd client URLs (http://HOST:PORT)");
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		yaml_node_t *node = walk_node(w, *item);
		char *url = f->endpoints[f->endpoint_count];
		const char *host;
		int err;

		if (f->endpoint_count == XS_FLEET_MAX_ENDPOINTS)
			return walk_fail(w, node, "fleet.etcd",
					 "more than %d endpoints",
					 XS_FLEET_MAX_ENDPOINTS);
		err = walk_string(w, node, "fleet.etcd", url,
				  sizeof(f->endpoints[0]));
		if (err)
			return err;
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return walk_fail(
				w, node, "fleet.etcd",
				"'%s' is not an http:// or https:// URL", url);
		/* "http://" or "http://:2379" names no host: libcurl would fail
		 * at every connect, long after the file was accepted */
		host = url + (url[4] == 's' ? 8 : 7);
		if (!isalnum((unsigned char)*host) && *host != '[')
			return walk_fail(
				w, node, "fleet.etcd",
				"'%s' names no host (http://HOST:PORT)", url);
		for (const char *c = url; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return walk_fail(
					w, node, "fleet.etcd",
					"a URL holds no space or control character");
		f->endpoint_count++;
	}
	return 0;
}

int config_parse_fleet(struct yaml_walker *w, yaml_node_t *node,
		       struct xs_config_fleet *f)
{
	static const char *const keys[] = { "host",  "etcd",	 "prefix",
					    "lease", "announce", NULL };
	static const char *const announce_keys[] = { "device", "table", NULL };
	yaml_node_t *announce = walk_get(w, node, "announce");
	size_t length;
	int err = walk_keys(w, node, "fleet", keys);

	f->enabled = true;
	f->lease_ms = XS_FLEET_DEFAULT_LEASE_MS;
	f->table = XS_FLEET_DEFAULT_TABLE;
	snprintf(f->prefix, sizeof(f->prefix), "%s", XS_FLEET_DEFAULT_PREFIX);
	snprintf(f->device, sizeof(f->device), "%s", XS_FLEET_DEFAULT_DEVICE);
	if (gethostname(f->host, sizeof(f->host)))
		f->host[0] = '\0';
	f->host[sizeof(f->host) - 1] = '\0';
	if (!err && walk_get(w, node, "host"))
		err = walk_string(w, walk_get(w, node, "host"), "fleet.host",
				  f->host, sizeof(f->host));
	if (!err && !xs_is_plain_name(f->host))
		err = walk_fail(
			w, walk_get(w, node, "host") ?: node, "fleet.host",
			"'%s' is not a host name of " XS_PLAIN_NAME_CHARACTERS,
			f->host);
	/* pointed at the section: a missing list has no line of its own */
	if (!err && !walk_get(w, node, "etcd"))
		err = walk_fail(
			w, node, "fleet.etcd",
			"is missing: a list of etcd client URLs (http://HOST:PORT)");
	if (!err)
		err = parse_endpoints(w, walk_get(w, node, "etcd"), f);
	if (!err && walk_get(w, node, "prefix"))
		err = walk_string(w, walk_get(w, node, "prefix"),
				  "fleet.prefix", f->prefix, sizeof(f->prefix));
	length = strlen(f->prefix);
	if (!err &&
	    (length < 2 || f->prefix[0] != '/' || f->prefix[length - 1] != '/'))
		err = walk_fail(
			w, walk_get(w, node, "prefix"), "fleet.prefix",
			"must start and end with '/' (like /xdpsplit/)");
	for (const char *c = f->prefix; !err && *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			err = walk_fail(w, walk_get(w, node, "prefix"),
					"fleet.prefix",
					"holds no space or control character");
	/* etcd's leases live a whole number of seconds */
	if (!err && walk_get(w, node, "lease"))
		err = walk_duration(w, walk_get(w, node, "lease"),
				    "fleet.lease", 2000, &f->lease_ms);
	if (!err && f->lease_ms % 1000)
		err = walk_fail(w, walk_get(w, node, "lease"), "fleet.lease",
				"must be whole seconds (etcd's leases are)");
	if (!err && announce)
		err = walk_keys(w, announce, "fleet.announce", announce_keys);
	if (!err && announce && walk_get(w, announce, "device"))
		err = walk_string(w, walk_get(w, announce, "device"),
				  "fleet.announce.device", f->device,
				  sizeof(f->device));
	if (!err && !xs_is_plain_name(f->device))
		err = walk_fail(w, announce, "fleet.announce.device",
				"'%s' is not an interface name", f->device);
	/* not main, local or default: the BGP daemon's table alone */
	if (!err && announce && walk_get(w, announce, "table"))
		err = walk_u32(w, walk_get(w, announce, "table"),
			       "fleet.announce.table", 1, 252, &f->table);
	return err;
}
