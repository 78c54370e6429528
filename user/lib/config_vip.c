// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The schema of one VIP: its address, mode, weights, probe, backends. */
#include <string.h>
#include "config_schema.h"
#include "parse.h"

/* field paths only go into messages: a truncated one is still useful */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static int parse_backend(struct yaml_walker *w, yaml_node_t *node,
			 const char *path, const struct xs_config_vip *vip,
			 struct xs_config_backend *b)
{
	static const char *const keys[] = { "address", "pool", "weight", "mac",
					    NULL };
	char field[160];
	__u8 family;
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	WALK_FIELD(field, path, "address");
	err = walk_required_string(w, node, path, "address", b->text,
				   sizeof(b->text));
	if (!err && xs_parse_address(b->text, &family, b->address))
		err = walk_fail(w, walk_get(w, node, "address"), field,
				"'%s' is not an IPv4 or IPv6 address", b->text);
	if (!err && family != vip->key.family)
		err = walk_fail(w, walk_get(w, node, "address"), field,
				"%s is not of the VIP's IP version", b->text);
	if (err)
		return err;
	WALK_FIELD(field, path, "pool");
	if (!walk_get(w, node, "pool"))
		return walk_fail(w, node, path, "missing 'pool'");
	err = walk_pool(w, walk_get(w, node, "pool"), field, &b->pool);
	b->weight = 1;
	WALK_FIELD(field, path, "weight");
	if (!err && walk_get(w, node, "weight"))
		err = walk_u32(w, walk_get(w, node, "weight"), field, 1, 65535,
			       &b->weight);
	WALK_FIELD(field, path, "mac");
	if (!err && walk_get(w, node, "mac")) {
		const char *mac = walk_scalar(walk_get(w, node, "mac"));

		b->has_mac = true;
		if (!mac || xs_parse_mac(mac, b->mac))
			err = walk_fail(w, walk_get(w, node, "mac"), field,
					"must be a MAC like 02:00:5e:00:53:01");
	}
	return err;
}

static int parse_probe(struct yaml_walker *w, yaml_node_t *node,
		       const char *path, struct xs_probe *probe)
{
	static const char *const keys[] = { "type",   "port",	  "path",
					    "status", "interval", "timeout",
					    "rise",   "fall",	  NULL };
	const char *type = walk_scalar(walk_get(w, node, "type"));
	char field[160];
	__u32 port;
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	WALK_FIELD(field, path, "type");
	if (type && !strcmp(type, "tcp"))
		probe->type = XS_PROBE_TCP;
	else if (type && !strcmp(type, "http"))
		probe->type = XS_PROBE_HTTP;
	else
		return walk_fail(w, walk_get(w, node, "type") ?: node, field,
				 "must be tcp or http");
	WALK_FIELD(field, path, "port");
	if (!walk_get(w, node, "port"))
		return walk_fail(w, node, path, "missing 'port'");
	err = walk_u32(w, walk_get(w, node, "port"), field, 1, 65535, &port);
	probe->port = port;
	strcpy(probe->path, "/");
	probe->expect_status = 200;
	probe->interval_ms = 1000;
	probe->timeout_ms = 500;
	probe->rise = 2;
	probe->fall = 2;
	WALK_FIELD(field, path, "path");
	if (!err && walk_get(w, node, "path")) {
		err = walk_string(w, walk_get(w, node, "path"), field,
				  probe->path, sizeof(probe->path));
		if (!err && probe->path[0] != '/')
			err = walk_fail(w, walk_get(w, node, "path"), field,
					"must start with /");
	}
	WALK_FIELD(field, path, "status");
	if (!err && walk_get(w, node, "status"))
		err = walk_u32(w, walk_get(w, node, "status"), field, 100, 599,
			       &probe->expect_status);
	WALK_FIELD(field, path, "interval");
	if (!err && walk_get(w, node, "interval"))
		err = walk_duration(w, walk_get(w, node, "interval"), field,
				    100, &probe->interval_ms);
	WALK_FIELD(field, path, "timeout");
	if (!err && walk_get(w, node, "timeout"))
		err = walk_duration(w, walk_get(w, node, "timeout"), field, 10,
				    &probe->timeout_ms);
	WALK_FIELD(field, path, "rise");
	if (!err && walk_get(w, node, "rise"))
		err = walk_u32(w, walk_get(w, node, "rise"), field, 1, 100,
			       &probe->rise);
	WALK_FIELD(field, path, "fall");
	if (!err && walk_get(w, node, "fall"))
		err = walk_u32(w, walk_get(w, node, "fall"), field, 1, 100,
			       &probe->fall);
	if (!err && probe->timeout_ms >= probe->interval_ms)
		err = walk_fail(w, node, path,
				"timeout must be shorter than interval");
	if (!err && probe->type == XS_PROBE_TCP && walk_get(w, node, "path"))
		err = walk_fail(w, walk_get(w, node, "path"), field,
				"a tcp probe has no path; use type http");
	return err;
}

static int parse_weights(struct yaml_walker *w, yaml_node_t *node,
			 const char *path, struct xs_route *route)
{
	static const char *const keys[] = { "blue", "green", "canary", NULL };
	char field[160];
	__u32 sum = 0;
	int err = walk_keys(w, node, path, keys);

	memset(route, 0, sizeof(*route));
	for (__u8 pool = 0; !err && pool < XS_POOL_COUNT; pool++) {
		yaml_node_t *value = walk_get(w, node, xs_pool_name(pool));

		WALK_FIELD(field, path, xs_pool_name(pool));
		if (value)
			err = walk_percent(w, value, field,
					   &route->weight[pool]);
		sum += route->weight[pool];
	}
	if (!err && sum != XS_WEIGHT_TOTAL)
		err = walk_fail(w, node, path, "add up to %u.%02u%%, not 100%%",
				sum / 100, sum % 100);
	route->live_pool = route->weight[XS_POOL_GREEN] >
					   route->weight[XS_POOL_BLUE] ?
				   XS_POOL_GREEN :
				   XS_POOL_BLUE;
	return err;
}

/* share: one service of two VIPs, whose route is the other's */
static int parse_share(struct yaml_walker *w, yaml_node_t *node,
		       const char *path, struct xs_config_vip *vip)
{
	int err;

	vip->has_share = true;
	err = walk_string(w, node, path, vip->share_text,
			  sizeof(vip->share_text));
	if (!err && xs_parse_vip(vip->share_text, &vip->share))
		err = walk_fail(w, node, path, "'%s' is not a VIP",
				vip->share_text);
	if (!err && (vip->has_weights || vip->rollout[0]))
		err = walk_fail(
			w, node, path,
			"a VIP that shares another's route has no weights or rollout of its own: they are %s's",
			vip->share_text);
	return err;
}

static int backend_element(struct yaml_walker *w, yaml_node_t *node,
			   const char *path, __u32 index, void *context)
{
	struct xs_config_vip *vip = context;
	struct xs_config_backend *b = &vip->backends[index];
	int err = parse_backend(w, node, path, vip, b);

	for (__u32 i = 0; !err && i < index; i++)
		if (!memcmp(vip->backends[i].address, b->address,
			    sizeof(b->address)))
			err = walk_fail(w, node, path,
					"backend %s is listed twice", b->text);
	return err;
}

int config_parse_vip(struct yaml_walker *w, yaml_node_t *node, const char *path,
		     struct xs_config_vip *vip)
{
	static const char *const keys[] = { "vip",     "mode",	   "split",
					    "weights", "backends", "probe",
					    "rollout", "share",	   NULL };
	const char *mode = walk_scalar(walk_get(w, node, "mode"));
	const char *split = walk_scalar(walk_get(w, node, "split"));
	yaml_node_t *backends = walk_get(w, node, "backends");
	char field[160];
	int err = walk_keys(w, node, path, keys);

	if (err)
		return err;
	WALK_FIELD(field, path, "vip");
	if (!walk_get(w, node, "vip"))
		return walk_fail(w, node, path,
				 "missing 'vip' (ADDRESS:PORT/PROTO)");
	err = walk_string(w, walk_get(w, node, "vip"), field, vip->text,
			  sizeof(vip->text));
	if (!err && xs_parse_vip(vip->text, &vip->key))
		err = walk_fail(
			w, walk_get(w, node, "vip"), field,
			"'%s' is not ADDRESS:PORT/tcp, ADDRESS:PORT/udp or [IPV6]:PORT/PROTO",
			vip->text);
	WALK_FIELD(field, path, "mode");
	if (!err && mode && strcmp(mode, "l2dsr") && strcmp(mode, "ipip"))
		err = walk_fail(w, walk_get(w, node, "mode"), field,
				"must be l2dsr or ipip");
	vip->mode = mode && !strcmp(mode, "ipip") ? XS_MODE_IPIP :
						    XS_MODE_L2DSR;
	WALK_FIELD(field, path, "split");
	if (!err && split && strcmp(split, "flow") && strcmp(split, "client"))
		err = walk_fail(w, walk_get(w, node, "split"), field,
				"must be flow or client");
	vip->split_key = split && !strcmp(split, "client") ? XS_SPLIT_CLIENT :
							     XS_SPLIT_FLOW;
	WALK_FIELD(field, path, "weights");
	if (!err && walk_get(w, node, "weights")) {
		vip->has_weights = true;
		err = parse_weights(w, walk_get(w, node, "weights"), field,
				    &vip->weights);
	}
	WALK_FIELD(field, path, "probe");
	if (!err && walk_get(w, node, "probe"))
		err = parse_probe(w, walk_get(w, node, "probe"), field,
				  &vip->probe);
	WALK_FIELD(field, path, "rollout");
	if (!err && walk_get(w, node, "rollout"))
		err = walk_string(w, walk_get(w, node, "rollout"), field,
				  vip->rollout, sizeof(vip->rollout));
	WALK_FIELD(field, path, "share");
	if (!err && walk_get(w, node, "share"))
		err = parse_share(w, walk_get(w, node, "share"), field, vip);
	WALK_FIELD(field, path, "backends");
	if (!err && backends)
		err = walk_list(w, backends, field, "backends",
				XS_CONFIG_MAX_BACKENDS, &vip->backend_count,
				backend_element, vip);
	return err;
}
