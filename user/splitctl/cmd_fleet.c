// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fleet: the fleet's desired state in etcd (user/lib/fleet/keys.h), read
 * and written straight from here; every host's splitd converges to it.
 * splitctl needs no splitd for it, and no data plane on this host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/fleet/documents.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/fleet/rollout_doc.h"
#include "user/lib/parse.h"
#include "user/lib/safe_open.h"
#include "fleet_conn.h"
#include "splitctl.h"

#define MAX_DOCUMENT_BYTES (1 << 20) /* under etcd's request limit */

static int etcd_error(const char *what, const char *error)
{
	return runtime_error("Couldn't %s: %s", what, error);
}

static void print_route_text(const char *verb, const char *vip,
			     const struct xs_route *r)
{
	printf("%s route %s: blue %u.%02u%%, green %u.%02u%%, canary %u.%02u%%, live %s\n",
	       verb, vip, r->weight[0] / 100, r->weight[0] % 100,
	       r->weight[1] / 100, r->weight[1] % 100, r->weight[2] / 100,
	       r->weight[2] % 100, xs_pool_name(r->live_pool));
}

/* --- status ------------------------------------------------------- */

struct fleet_view {
	struct xs_etcd_range hosts, drains, routes, config, leader, rollouts;
	int64_t revision;
	int64_t wanted; /* the newest revision of a key hosts converge to */
};

static int read_view(struct fleet_conn *conn, struct fleet_view *v, char *error,
		     size_t size)
{
	char hosts[XS_FLEET_KEY_SIZE], drains[XS_FLEET_KEY_SIZE],
		routes[XS_FLEET_KEY_SIZE], config[XS_FLEET_KEY_SIZE],
		leader[XS_FLEET_KEY_SIZE], rollouts[XS_FLEET_KEY_SIZE];
	struct xs_etcd_op ops[] = {
		{ .type = XS_ETCD_OP_RANGE,
		  .key = hosts,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = drains,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = routes,
		  .flags = XS_ETCD_PREFIX },
		{ .type = XS_ETCD_OP_RANGE, .key = config },
		{ .type = XS_ETCD_OP_RANGE, .key = leader },
		{ .type = XS_ETCD_OP_RANGE,
		  .key = rollouts,
		  .flags = XS_ETCD_PREFIX },
	};
	struct xs_etcd_range *ranges[] = {
		&v->hosts,  &v->drains, &v->routes,
		&v->config, &v->leader, &v->rollouts
	};
	const size_t count = sizeof(ranges) / sizeof(ranges[0]);
	struct xs_etcd_txn_result result;
	int err;

	fleet_key(conn, hosts, "hosts/", NULL);
	fleet_key(conn, drains, "drain/", NULL);
	fleet_key(conn, routes, "routes/", NULL);
	fleet_key(conn, config, "config", NULL);
	fleet_key(conn, leader, "leader", NULL);
	fleet_key(conn, rollouts, "rollouts/", NULL);
	memset(v, 0, sizeof(*v));
	err = xs_etcd_txn(conn->etcd, NULL, 0, ops, count, NULL, 0, &result,
			  error, size);
	if (err || result.response_count != count) {
		xs_etcd_txn_result_free(&result);
		if (!err)
			snprintf(error, size,
				 "etcd answered a read of %zu ranges with %zu",
				 count, result.response_count);
		return err ? err : -EPROTO;
	}
	for (size_t i = 0; i < count; i++) {
		*ranges[i] = result.responses[i].range;
		/* taken over: the result must not free them */
		memset(&result.responses[i].range, 0,
		       sizeof(result.responses[i].range));
	}
	v->revision = result.revision;
	xs_etcd_txn_result_free(&result);
	for (size_t i = 0; i < v->routes.kv_count; i++)
		if (v->routes.kvs[i].mod_revision > v->wanted)
			v->wanted = v->routes.kvs[i].mod_revision;
	if (v->config.kv_count && v->config.kvs[0].mod_revision > v->wanted)
		v->wanted = v->config.kvs[0].mod_revision;
	return 0;
}

static void free_view(struct fleet_view *v)
{
	xs_etcd_range_free(&v->hosts);
	xs_etcd_range_free(&v->drains);
	xs_etcd_range_free(&v->routes);
	xs_etcd_range_free(&v->config);
	xs_etcd_range_free(&v->leader);
	xs_etcd_range_free(&v->rollouts);
}

static bool drained(const struct fleet_view *v, const char *prefix,
		    const char *host)
{
	for (size_t i = 0; i < v->drains.kv_count; i++) {
		const char *name = xs_fleet_key_rest(v->drains.kvs[i].key,
						     prefix, "drain/");
		char why[200];
		bool drain;

		if (name && !strcmp(name, host))
			return xs_fleet_drain_parse(
				       v->drains.kvs[i].value,
				       v->drains.kvs[i].value_length, &drain,
				       why, sizeof(why)) ||
			       drain;
	}
	return false;
}

static void print_host(const struct fleet_view *v,
		       const struct fleet_conn *conn,
		       const struct xs_etcd_kv *kv, const char *leader)
{
	const char *name = xs_fleet_key_rest(kv->key, conn->prefix, "hosts/");
	struct xs_fleet_host h;
	char why[200], applied[32];
	bool ok = name && !xs_fleet_host_parse(kv->value, kv->value_length, &h,
					       why, sizeof(why));
	bool current = ok && h.applied >= v->wanted;

	if (!name)
		return;
	if (!ok) {
		snprintf(h.why, sizeof(h.why), "unreadable report: %.120s",
			 why);
		h.announce = XS_ANNOUNCE_WITHDRAWN;
		h.applied = 0;
	}
	if (out_is_json()) {
		out_object_begin(NULL);
		out_string("host", name);
		out_string("announce", xs_announce_state_name(h.announce));
		out_u64("applied", (unsigned long long)h.applied);
		out_bool("current", current);
		out_bool("draining", drained(v, conn->prefix, name));
		out_bool("leader", !strcmp(leader, name));
		out_u64("vips", h.vips);
		out_string("why", h.why);
		out_string("version", h.version);
		out_object_end();
		return;
	}
	snprintf(applied, sizeof(applied), "%lld%s", (long long)h.applied,
		 current ? "" : " (behind)");
	printf("%-16s %-10s %-16s %-6s %-6s %s\n", name,
	       xs_announce_state_name(h.announce), applied,
	       drained(v, conn->prefix, name) ? "yes" : "no",
	       !strcmp(leader, name) ? "yes" : "no", h.why);
}

static int fleet_status(struct fleet_conn *conn, int argc, char **argv)
{
	struct fleet_view v;
	char error[600], leader[64] = "";
	int err;

	(void)argv;
	if (argc)
		return usage_error("fleet", "status takes no arguments");
	err = read_view(conn, &v, error, sizeof(error));
	if (err)
		return etcd_error("read the fleet", error);
	if (v.leader.kv_count)
		snprintf(leader, sizeof(leader), "%.*s",
			 (int)v.leader.kvs[0].value_length,
			 v.leader.kvs[0].value);
	if (out_is_json()) {
		out_object_begin(NULL);
		out_string("prefix", conn->prefix);
		out_u64("revision", (unsigned long long)v.revision);
		out_u64("wanted", (unsigned long long)v.wanted);
		out_u64("document", v.config.kv_count ?
					    (unsigned long long)v.config.kvs[0]
						    .mod_revision :
					    0);
		out_string("leader", leader);
		out_array_begin("hosts");
	} else {
		printf("fleet %s: desired state of revision %lld (document %lld), leader %s\n",
		       conn->prefix, (long long)v.wanted,
		       v.config.kv_count ?
			       (long long)v.config.kvs[0].mod_revision :
			       0LL,
		       leader[0] ? leader : "none");
		printf("%-16s %-10s %-16s %-6s %-6s %s\n", "HOST", "ANNOUNCE",
		       "APPLIED", "DRAIN", "LEADER", "WHY");
	}
	for (size_t i = 0; i < v.hosts.kv_count; i++)
		print_host(&v, conn, &v.hosts.kvs[i], leader);
	if (out_is_json()) {
		out_array_end();
		out_object_end();
		out_finish();
	} else if (!v.hosts.kv_count) {
		printf("(no host has reported: is splitd running with this fleet section?)\n");
	}
	free_view(&v);
	return EXIT_OK;
}

/* --- apply -------------------------------------------------------- */

struct route_change {
	char key[XS_FLEET_KEY_SIZE];
	char vip[80];
	char *value; /* NULL: delete */
	struct xs_route route;
	int64_t seen; /* the key's mod revision when planned (0: absent) */
};

/* Is the rollout running or paused, and so the owner of its route? */
static bool under_way(const struct xs_fleet_rollout *rollout)
{
	return rollout->rollout.phase == XS_PHASE_RUNNING ||
	       rollout->rollout.phase == XS_PHASE_PAUSED;
}

/* Does a rollout under way own the service's route? Its record is then
 * in owner. */
static bool owned_by_rollout(const struct fleet_conn *conn,
			     const struct xs_etcd_range *rollouts,
			     const struct xs_vip_key *service,
			     struct xs_fleet_rollout *owner)
{
	char name[96], key[XS_FLEET_KEY_SIZE], why[200];

	xs_fleet_service_name(service, name, sizeof(name));
	fleet_key(conn, key, "rollouts", name);
	for (size_t i = 0; i < rollouts->kv_count; i++)
		if (!strcmp(rollouts->kvs[i].key, key) &&
		    !xs_fleet_rollout_parse(rollouts->kvs[i].value,
					    rollouts->kvs[i].value_length,
					    owner, 0, why, sizeof(why)))
			return under_way(owner);
	return false;
}

static const struct xs_config_vip *find_vip(const struct xs_config_file *c,
					    const struct xs_vip_key *key)
{
	for (__u32 v = 0; c && v < c->vip_count; v++)
		if (!memcmp(&c->vips[v].key, key, sizeof(*key)))
			return &c->vips[v];
	return NULL;
}

static const struct xs_etcd_kv *find_kv(const struct xs_etcd_range *range,
					const char *key)
{
	for (size_t i = 0; i < range->kv_count; i++)
		if (!strcmp(range->kvs[i].key, key))
			return &range->kvs[i];
	return NULL;
}

/* The route the document gives a service: its weights, or all blue. */
static struct xs_route document_route(const struct xs_config_vip *vip)
{
	struct xs_route route = { .live_pool = XS_POOL_BLUE };

	route.weight[XS_POOL_BLUE] = XS_WEIGHT_TOTAL;
	if (vip->has_weights)
		route = vip->weights;
	route.vip_tag = 0;
	return route;
}

/* Did the document's weights for the service change since before (the
 * service's entry in the previous document, NULL if it had none)? */
static bool weights_edited(const struct xs_config_vip *before,
			   const struct xs_config_vip *vip)
{
	return !before || before->has_weights != vip->has_weights ||
	       (vip->has_weights &&
		memcmp(&before->weights, &vip->weights, sizeof(vip->weights)));
}

/* The put of vip's route planned into c, if the route needs one (see
 * plan_routes): true if it does. */
static bool plan_route_put(const struct fleet_conn *conn,
			   const struct xs_config_vip *vip,
			   const struct xs_config_vip *before,
			   const struct xs_etcd_range *routes,
			   const struct xs_etcd_range *rollouts,
			   struct route_change *c)
{
	struct xs_fleet_route route = { .by = "splitctl fleet apply" };
	const struct xs_etcd_kv *existing;
	struct xs_fleet_rollout owner;
	struct xs_fleet_route old;
	char name[96], why[200];

	if (vip->has_share)
		return false;
	xs_fleet_service_name(&vip->key, name, sizeof(name));
	fleet_key(conn, c->key, "routes", name);
	route.route = document_route(vip);
	existing = find_kv(routes, c->key);
	if (existing && !weights_edited(before, vip))
		return false;
	if (existing && owned_by_rollout(conn, rollouts, &vip->key, &owner)) {
		if (!out_is_json())
			printf("= weights %s: kept; rollout %llu (policy %s, %s) owns them, not the file\n",
			       vip->text, (unsigned long long)owner.id,
			       owner.policy,
			       xs_phase_name(owner.rollout.phase));
		return false;
	}
	c->seen = existing ? existing->mod_revision : 0;
	if (existing &&
	    !xs_fleet_route_parse(existing->value, existing->value_length, &old,
				  why, sizeof(why)))
		memcpy(route.flush, old.flush, sizeof(route.flush));
	snprintf(c->vip, sizeof(c->vip), "%s", vip->text);
	c->route = route.route;
	c->value = xs_fleet_route_format(&route);
	return true;
}

/* The deletes of the routes whose services next has not (or whose first
 * VIP shares another's route now), planned into changes: how many. */
static size_t plan_route_deletes(const struct fleet_conn *conn,
				 const struct xs_config_file *next,
				 const struct xs_etcd_range *routes,
				 struct route_change *changes)
{
	size_t count = 0;

	for (size_t i = 0; i < routes->kv_count; i++) {
		const char *name = xs_fleet_key_rest(routes->kvs[i].key,
						     conn->prefix, "routes/");
		struct route_change *c = &changes[count];
		struct xs_vip_key key;
		const struct xs_config_vip *vip;

		if (!name || xs_fleet_service_parse(name, &key))
			continue;
		vip = find_vip(next, &key);
		if (vip && !vip->has_share)
			continue;
		snprintf(c->key, sizeof(c->key), "%s", routes->kvs[i].key);
		c->seen = routes->kvs[i].mod_revision;
		xs_format_vip(&key, c->vip, sizeof(c->vip));
		c->value = NULL;
		count++;
	}
	return count;
}

/* The route keys the new document needs: a service's route is put when
 * it has none or the document's weights for it changed (an edit takes
 * effect); otherwise what rollouts and operators wrote stays. Routes of
 * services the document dropped go. *formatted false: a put's value could
 * not be made (out of memory). */
static size_t plan_routes(const struct fleet_conn *conn,
			  const struct xs_config_file *next,
			  const struct xs_config_file *previous,
			  const struct xs_etcd_range *routes,
			  const struct xs_etcd_range *rollouts,
			  struct route_change *changes, bool *formatted)
{
	size_t count = 0;

	for (__u32 v = 0; v < next->vip_count; v++) {
		const struct xs_config_vip *vip = &next->vips[v];

		if (plan_route_put(conn, vip, find_vip(previous, &vip->key),
				   routes, rollouts, &changes[count])) {
			/* a put's value NULL would be taken for a delete */
			if (!changes[count].value)
				*formatted = false;
			count++;
		}
	}
	return count + plan_route_deletes(conn, next, routes, changes + count);
}

/* What an apply changes (or would, or did not), as JSON: the same
 * facts as the text lines, for scripts. In text it prints only the
 * "unchanged" line; the plan's lines are printed as it goes. */
static void print_plan(const char *file, const struct xs_config_file *next,
		       const struct fleet_view *v,
		       const struct route_change *changes, size_t count,
		       bool same, bool dry_run, int64_t revision)
{
	if (!out_is_json()) {
		printf("unchanged: the fleet's document (revision %lld) is %s already\n",
		       (long long)revision, file);
		return;
	}
	out_object_begin(NULL);
	out_string("document", same		  ? "unchanged" :
			       v->config.kv_count ? "changed" :
						    "new");
	out_u64("vips", next->vip_count);
	out_u64("policies", next->policy_count);
	out_array_begin("routes");
	for (size_t i = 0; i < count; i++) {
		out_object_begin(NULL);
		out_string("vip", changes[i].vip);
		out_string("change", changes[i].value ? "put" : "delete");
		if (changes[i].value) {
			out_basis_points("blue",
					 changes[i].route.weight[XS_POOL_BLUE]);
			out_basis_points(
				"green",
				changes[i].route.weight[XS_POOL_GREEN]);
			out_basis_points(
				"canary",
				changes[i].route.weight[XS_POOL_CANARY]);
			out_string("live",
				   xs_pool_name(changes[i].route.live_pool));
		}
		out_object_end();
	}
	out_array_end();
	out_bool("dry_run", dry_run);
	out_bool("changed", !dry_run && (count || !same));
	out_u64("revision", (unsigned long long)revision);
	out_object_end();
	out_finish();
}

/* Writes the document and the planned route changes in one transaction,
 * fenced on what the plan was made against: a concurrent apply or rollout
 * makes this one fail, not mix. */
static int write_plan(struct fleet_conn *conn, const char *file,
		      const struct xs_config_file *next,
		      const struct fleet_view *v,
		      const struct route_change *changes, size_t count,
		      bool same, int64_t seen, const char *text, size_t length)
{
	struct xs_etcd_op ops[1 + 2 * XS_CONFIG_MAX_VIPS];
	struct xs_etcd_compare compares[1 + 2 * XS_CONFIG_MAX_VIPS];
	char error[600], config_key[XS_FLEET_KEY_SIZE];
	struct xs_etcd_txn_result result;
	int err, rc = EXIT_OK;

	fleet_key(conn, config_key, "config", NULL);
	ops[0] = (struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
				      .key = config_key,
				      .value = text,
				      .value_length = length };
	compares[0] = (struct xs_etcd_compare){ .key = config_key,
						.target = XS_ETCD_MOD,
						.result = XS_ETCD_EQUAL,
						.number = seen };
	for (size_t i = 0; i < count; i++) {
		ops[1 + i] = (struct xs_etcd_op){
			.type = changes[i].value ? XS_ETCD_OP_PUT :
						   XS_ETCD_OP_DELETE,
			.key = changes[i].key,
			.value = changes[i].value,
			.value_length =
				changes[i].value ? strlen(changes[i].value) : 0,
		};
		compares[1 + i] =
			(struct xs_etcd_compare){ .key = changes[i].key,
						  .target = XS_ETCD_MOD,
						  .result = XS_ETCD_EQUAL,
						  .number = changes[i].seen };
	}
	err = xs_etcd_txn(conn->etcd, compares, 1 + count, ops, 1 + count, NULL,
			  0, &result, error, sizeof(error));
	if (err)
		rc = etcd_error("write the fleet's document", error);
	else if (!result.succeeded)
		rc = runtime_error(
			"the fleet's document or a route changed while this apply was planned; nothing was written, run it again");
	else if (out_is_json())
		print_plan(file, next, v, changes, count, same, false,
			   result.revision);
	else
		ctl_done(
			"fleet: document of revision %lld; every host applies it within a second (splitctl fleet status)",
			(long long)result.revision);
	xs_etcd_txn_result_free(&result);
	return rc;
}

static int parse_apply_arguments(int argc, char **argv, const char **file,
				 bool *dry_run)
{
	for (int i = 0; i < argc; i++) {
		if (is_keyword(argv[i], "-f") && i + 1 >= argc)
			return usage_error("fleet", "-f needs FILE");
		else if (is_keyword(argv[i], "-f"))
			*file = argv[++i];
		else if (is_keyword(argv[i], "--dry-run"))
			*dry_run = true;
		else
			return usage_error("fleet", "unexpected '%s'", argv[i]);
	}
	if (!*file)
		return usage_error("fleet", "missing -f FILE");
	return EXIT_OK;
}

/* FILE's text (malloc'd) and the document it holds, or the error said. */
static int read_document(const char *file, struct xs_config_file *document,
			 char **text, size_t *length)
{
	char error[600];
	int err;

	err = xs_read_trusted(file, MAX_DOCUMENT_BYTES, text, length, error,
			      sizeof(error));
	if (err)
		return runtime_error("Couldn't read '%s': %s", file, error);
	if (xs_config_parse_document(*text, *length, file, document, error,
				     sizeof(error))) {
		free(*text);
		return runtime_error("%s; the fleet was not changed", error);
	}
	return EXIT_OK;
}

/* The fleet's document now, parsed into previous; NULL when there is none
 * or it does not parse (every service's weights then count as edited). */
static const struct xs_config_file *
previous_document(const struct fleet_view *v, struct xs_config_file *previous)
{
	const struct xs_etcd_kv *kv;
	char error[600];

	if (!v->config.kv_count)
		return NULL;
	kv = &v->config.kvs[0];
	if (xs_config_parse_document(kv->value, kv->value_length,
				     "the fleet's document", previous, error,
				     sizeof(error)))
		return NULL;
	return previous;
}

/* What the apply is about to write: in text, a line for the document (if
 * it changed) and one per route; in JSON, the plan, for a dry run only
 * (a real apply says it once written). */
static void show_plan(const char *file, const struct xs_config_file *next,
		      const struct fleet_view *v,
		      const struct route_change *changes, size_t count,
		      bool same, bool dry_run)
{
	if (out_is_json()) {
		if (dry_run)
			print_plan(file, next, v, changes, count, same, true,
				   0);
		return;
	}
	if (!same)
		printf("%s document: %s (%zu VIPs, %u policies)\n",
		       v->config.kv_count ? "~" : "+", file,
		       (size_t)next->vip_count, next->policy_count);
	for (size_t i = 0; i < count; i++)
		if (changes[i].value)
			print_route_text("+", changes[i].vip,
					 &changes[i].route);
		else
			printf("- route %s\n", changes[i].vip);
	if (dry_run)
		printf("dry run: nothing was written\n");
}

static int fleet_apply(struct fleet_conn *conn, int argc, char **argv)
{
	static struct xs_config_file next, previous;
	static struct route_change changes[2 * XS_CONFIG_MAX_VIPS];
	const char *file = NULL;
	bool dry_run = false, same;
	char error[600], *text;
	struct fleet_view v;
	size_t length, count;
	int64_t seen;
	int err, rc;
	bool formatted = true;

	rc = parse_apply_arguments(argc, argv, &file, &dry_run);
	if (!rc)
		rc = read_document(file, &next, &text, &length);
	if (rc)
		return rc;
	err = read_view(conn, &v, error, sizeof(error));
	if (err) {
		free(text);
		return etcd_error("read the fleet", error);
	}
	/* the write is fenced on the document as read (0: none yet) */
	seen = v.config.kv_count ? v.config.kvs[0].mod_revision : 0;
	same = v.config.kv_count && v.config.kvs[0].value_length == length &&
	       !memcmp(v.config.kvs[0].value, text, length);
	count = plan_routes(conn, &next, previous_document(&v, &previous),
			    &v.routes, &v.rollouts, changes, &formatted);
	if (!formatted) {
		rc = runtime_error("out of memory"); /* a put, not a delete */
	} else if (same && !count) {
		print_plan(file, &next, &v, changes, 0, true, dry_run, seen);
	} else {
		show_plan(file, &next, &v, changes, count, same, dry_run);
		if (!dry_run)
			rc = write_plan(conn, file, &next, &v, changes, count,
					same, seen, text, length);
	}
	for (size_t i = 0; i < count; i++)
		free(changes[i].value);
	free_view(&v);
	free(text);
	return rc;
}

/* --- drain, undrain ----------------------------------------------- */

static int set_drain(struct fleet_conn *conn, int argc, char **argv, bool drain)
{
	char key[XS_FLEET_KEY_SIZE], error[600], by[96], *value;
	const char *host = argc == 1 ? argv[0] : conn->host;
	int err;

	if (argc > 1 || !host[0])
		return usage_error(
			"fleet",
			argc > 1 ?
				"unexpected '%s'" :
				"no HOST given and no fleet.host in the configuration%s",
			argc > 1 ? argv[1] : "");
	for (const char *c = host; *c; c++)
		if (*c == '/' || *c <= ' ')
			return usage_error("fleet", "'%s' is not a host name",
					   host);
	fleet_key(conn, key, "drain", host);
	if (!drain) {
		err = xs_etcd_delete(conn->etcd, key, 0, 0, NULL, NULL, error,
				     sizeof(error));
		if (err)
			return etcd_error("undrain", error);
		ctl_done("%s: serving again once it is caught up and healthy",
			 host);
		return EXIT_OK;
	}
	snprintf(by, sizeof(by), "splitctl (uid %u)", (unsigned)getuid());
	value = xs_fleet_drain_format(true, by);
	if (!value)
		return runtime_error("out of memory");
	err = xs_etcd_put(conn->etcd, key, 0, value, strlen(value), 0, NULL,
			  error, sizeof(error));
	free(value);
	if (err)
		return etcd_error("drain", error);
	ctl_done(
		"%s: draining; it withdraws its VIPs within a second, its established connections go on through the other hosts",
		host);
	return EXIT_OK;
}

static int fleet_drain(struct fleet_conn *conn, int argc, char **argv)
{
	return set_drain(conn, argc, argv, true);
}

static int fleet_undrain(struct fleet_conn *conn, int argc, char **argv)
{
	return set_drain(conn, argc, argv, false);
}

/* --- weights ------------------------------------------------------ */

/* The keys a weights change reads and writes, with their mod revisions
 * as read (0: absent): the write is fenced on both. */
struct route_fence {
	char rollout_key[XS_FLEET_KEY_SIZE], route_key[XS_FLEET_KEY_SIZE];
	int64_t rollout_seen, route_seen;
};

/* The service's rollout record, as read: the weights are refused while
 * a rollout under way owns them, fleet-wide as on one host. */
static int refuse_if_rollout_owns(const struct xs_etcd_range *rollout,
				  const char *vip, struct route_fence *fence)
{
	const struct xs_etcd_kv *kv;
	struct xs_fleet_rollout owner;
	char why[200];

	if (!rollout->kv_count)
		return EXIT_OK;
	kv = &rollout->kvs[0];
	fence->rollout_seen = kv->mod_revision;
	if (xs_fleet_rollout_parse(kv->value, kv->value_length, &owner, 0, why,
				   sizeof(why)) ||
	    !under_way(&owner))
		return EXIT_OK;
	return runtime_error(
		"rollout %llu (policy %s, %s) owns the weights of %s; abort it first (splitctl fleet rollout abort %s)",
		(unsigned long long)owner.id, owner.policy,
		xs_phase_name(owner.rollout.phase), vip, vip);
}

/* The service's route, as read: there must be one. What the new route
 * keeps of it goes into route, its live pool into *live (left as it is
 * if the route does not parse). */
static int take_current_route(const struct xs_etcd_range *current_route,
			      const char *vip, struct route_fence *fence,
			      struct xs_fleet_route *route, __u8 *live)
{
	const struct xs_etcd_kv *kv;
	struct xs_fleet_route current;
	char why[200];

	if (!current_route->kv_count)
		return runtime_error(
			"the fleet has no route for %s: it is not the first VIP of a service in the fleet's document",
			vip);
	kv = &current_route->kvs[0];
	fence->route_seen = kv->mod_revision;
	if (!xs_fleet_route_parse(kv->value, kv->value_length, &current, why,
				  sizeof(why))) {
		*live = current.route.live_pool;
		/* carried over: hosts flush when a count grows, never else */
		memcpy(route->flush, current.flush, sizeof(route->flush));
	}
	return EXIT_OK;
}

/* Reads the service's rollout and route in one transaction (fence's
 * revisions are taken from it). */
static int read_route(struct fleet_conn *conn, const char *vip,
		      struct route_fence *fence, struct xs_fleet_route *route,
		      __u8 *live)
{
	struct xs_etcd_txn_result read;
	char error[600];
	int rc, err;

	err = xs_etcd_txn(
		conn->etcd, NULL, 0,
		(struct xs_etcd_op[]){
			{ .type = XS_ETCD_OP_RANGE, .key = fence->rollout_key },
			{ .type = XS_ETCD_OP_RANGE, .key = fence->route_key } },
		2, NULL, 0, &read, error, sizeof(error));
	if (err || read.response_count != 2) {
		xs_etcd_txn_result_free(&read);
		return etcd_error("read the route",
				  err ? error : "a short answer");
	}
	rc = refuse_if_rollout_owns(&read.responses[0].range, vip, fence);
	if (!rc)
		rc = take_current_route(&read.responses[1].range, vip, fence,
					route, live);
	xs_etcd_txn_result_free(&read);
	return rc;
}

/* Puts the route, only over what was read: a rollout started, or another
 * writer, since then makes this one fail rather than undo theirs. */
static int write_route(struct fleet_conn *conn, const struct route_fence *fence,
		       const struct xs_fleet_route *route)
{
	struct xs_etcd_txn_result written;
	char error[600], *value;
	int err;

	value = xs_fleet_route_format(route);
	if (!value)
		return runtime_error("out of memory");
	err = xs_etcd_txn(
		conn->etcd,
		(struct xs_etcd_compare[]){ { .key = fence->rollout_key,
					      .target = XS_ETCD_MOD,
					      .result = XS_ETCD_EQUAL,
					      .number = fence->rollout_seen },
					    { .key = fence->route_key,
					      .target = XS_ETCD_MOD,
					      .result = XS_ETCD_EQUAL,
					      .number = fence->route_seen } },
		2,
		&(struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
				      .key = fence->route_key,
				      .value = value,
				      .value_length = strlen(value) },
		1, NULL, 0, &written, error, sizeof(error));
	free(value);
	if (!err && !written.succeeded) {
		err = -EAGAIN;
		snprintf(
			error, sizeof(error),
			"the route or its rollout changed while this was written; nothing was written, look and try again");
	}
	xs_etcd_txn_result_free(&written);
	return err ? etcd_error("write the route", error) : EXIT_OK;
}

static int fleet_weights(struct fleet_conn *conn, int argc, char **argv)
{
	struct xs_fleet_route route = { 0 };
	struct route_fence fence = { 0 };
	struct xs_vip_key vip;
	__u8 live = XS_POOL_BLUE;
	char name[96];
	int rc;

	if (argc != 7)
		return usage_error(
			"fleet",
			"give a VIP and the weights of all three pools");
	if (xs_parse_vip(argv[0], &vip))
		return usage_error("fleet", "'%s' is not a VIP", argv[0]);
	rc = parse_weights("fleet", argv + 1, &route.route);
	if (rc)
		return rc;
	xs_fleet_service_name(&vip, name, sizeof(name));
	fleet_key(conn, fence.rollout_key, "rollouts", name);
	fleet_key(conn, fence.route_key, "routes", name);
	rc = read_route(conn, argv[0], &fence, &route, &live);
	if (rc)
		return rc;
	route.route.live_pool = live_pool_after(&route.route, live);
	snprintf(route.by, sizeof(route.by), "splitctl (uid %u)",
		 (unsigned)getuid());
	rc = write_route(conn, &fence, &route);
	if (!rc && !out_is_json())
		print_route_text("fleet:", argv[0], &route.route);
	return rc;
}

/* --- the table ---------------------------------------------------- */

const struct argument fleet_options[] = {
	KEYWORD("--etcd", "URLS", VALUE_TEXT),
	KEYWORD("--prefix", "PREFIX", VALUE_TEXT),
	{ .keyword = "--config",
	  .alias = "-c",
	  .value = "FILE",
	  .kind = VALUE_FILE },
	{ 0 },
};

const struct command fleet_commands[] = {
	{ "status", .run_fleet = fleet_status, .usage = FORMS("status") },
	{ "apply", .run_fleet = fleet_apply,
	  .usage = FORMS("apply -f FILE [ --dry-run ]"),
	  .arguments = ARGUMENTS(KEYWORD("-f", "FILE", VALUE_FILE),
				 FLAG("--dry-run")) },
	{ "drain", .run_fleet = fleet_drain, .usage = FORMS("drain [ HOST ]"),
	  .arguments = ARGUMENTS(OPTIONAL("HOST", VALUE_TEXT)) },
	{ "undrain", .run_fleet = fleet_undrain,
	  .usage = FORMS("undrain [ HOST ]"),
	  .arguments = ARGUMENTS(OPTIONAL("HOST", VALUE_TEXT)) },
	{ "weights", .run_fleet = fleet_weights,
	  .usage = FORMS(
		  "weights VIP blue PERCENT green PERCENT canary PERCENT"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT),
				 KEYWORD("blue", "PERCENT", VALUE_TEXT),
				 KEYWORD("green", "PERCENT", VALUE_TEXT),
				 KEYWORD("canary", "PERCENT", VALUE_TEXT)) },
	{ "rollout", .commands = fleet_rollout_commands },
	{ NULL },
};

int cmd_fleet(struct ctl *ctl, int argc, char **argv)
{
	const struct command *found;
	struct fleet_conn conn;
	char **options = argv;
	int at, option_count, rc;

	(void)ctl;
	/* the command is checked (and its help shown) before etcd is asked
	 * anything */
	rc = enter_command(current_command(), argc, argv, &found, &at);
	if (!found)
		return rc;
	option_count = at; /* the options are the words before the command */
	argc -= at + 1;
	argv += at + 1;
	/* down to the command itself (fleet rollout start) */
	while (found->commands) {
		rc = enter_command(found, argc, argv, &found, &at);
		if (!found)
			return rc;
		argc -= at + 1;
		argv += at + 1;
	}
	rc = fleet_connect(&conn, &option_count, &options);
	if (rc)
		return rc;
	if (option_count)
		rc = usage_error("fleet", "unexpected '%s'", options[0]);
	else
		rc = found->run_fleet(&conn, argc, argv);
	fleet_disconnect(&conn);
	return rc;
}
