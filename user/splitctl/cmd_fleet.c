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

/* The rollout under way on the service whose route key is route_key,
 * or NULL. */
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
			return owner->rollout.phase == XS_PHASE_RUNNING ||
			       owner->rollout.phase == XS_PHASE_PAUSED;
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

/* The route keys the new document needs: a service's route is put when
 * it has none or the document's weights for it changed (an edit takes
 * effect); otherwise what rollouts and operators wrote stays. Routes of
 * services the document dropped go. */
static size_t plan_routes(const struct fleet_conn *conn,
			  const struct xs_config_file *next,
			  const struct xs_config_file *previous,
			  const struct xs_etcd_range *routes,
			  const struct xs_etcd_range *rollouts,
			  struct route_change *changes)
{
	size_t count = 0;

	for (__u32 v = 0; v < next->vip_count; v++) {
		const struct xs_config_vip *vip = &next->vips[v];
		const struct xs_config_vip *before =
			find_vip(previous, &vip->key);
		struct xs_fleet_route route = { .by = "splitctl fleet apply" };
		struct route_change *c = &changes[count];
		const struct xs_etcd_kv *existing;
		struct xs_fleet_rollout owner;
		struct xs_fleet_route old;
		char name[96], why[200];
		bool edited;

		if (vip->has_share)
			continue;
		xs_fleet_service_name(&vip->key, name, sizeof(name));
		fleet_key(conn, c->key, "routes", name);
		route.route.weight[XS_POOL_BLUE] = XS_WEIGHT_TOTAL;
		route.route.live_pool = XS_POOL_BLUE;
		if (vip->has_weights)
			route.route = vip->weights;
		route.route.vip_tag = 0;
		edited = !before || before->has_weights != vip->has_weights ||
			 (vip->has_weights &&
			  memcmp(&before->weights, &vip->weights,
				 sizeof(vip->weights)));
		existing = find_kv(routes, c->key);
		if (existing && !edited)
			continue;
		if (existing &&
		    owned_by_rollout(conn, rollouts, &vip->key, &owner)) {
			if (!out_is_json())
				printf("= weights %s: kept; rollout %llu (policy %s, %s) owns them, not the file\n",
				       vip->text, (unsigned long long)owner.id,
				       owner.policy,
				       xs_phase_name(owner.rollout.phase));
			continue;
		}
		c->seen = existing ? existing->mod_revision : 0;
		if (existing && !xs_fleet_route_parse(existing->value,
						      existing->value_length,
						      &old, why, sizeof(why)))
			memcpy(route.flush, old.flush, sizeof(route.flush));
		snprintf(c->vip, sizeof(c->vip), "%s", vip->text);
		c->route = route.route;
		c->value = xs_fleet_route_format(&route);
		count++;
	}
	for (size_t i = 0; i < routes->kv_count; i++) {
		const char *name = xs_fleet_key_rest(routes->kvs[i].key,
						     conn->prefix, "routes/");
		struct xs_vip_key key;
		const struct xs_config_vip *vip;

		if (!name || xs_fleet_service_parse(name, &key))
			continue;
		vip = find_vip(next, &key);
		if (vip && !vip->has_share)
			continue;
		snprintf(changes[count].key, sizeof(changes[count].key), "%s",
			 routes->kvs[i].key);
		changes[count].seen = routes->kvs[i].mod_revision;
		xs_format_vip(&key, changes[count].vip,
			      sizeof(changes[count].vip));
		changes[count].value = NULL;
		count++;
	}
	return count;
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

static int fleet_apply(struct fleet_conn *conn, int argc, char **argv)
{
	static struct xs_config_file next, previous;
	static struct route_change changes[2 * XS_CONFIG_MAX_VIPS];
	const char *file = NULL;
	bool dry_run = false, have_previous = false, same;
	char error[600], *text;
	struct fleet_view v;
	size_t length, count;
	int64_t seen = 0;
	int err, rc = EXIT_OK;

	for (int i = 0; i < argc; i++) {
		if (is_keyword(argv[i], "-f") && i + 1 >= argc)
			return usage_error("fleet", "-f needs FILE");
		else if (is_keyword(argv[i], "-f"))
			file = argv[++i];
		else if (is_keyword(argv[i], "--dry-run"))
			dry_run = true;
		else
			return usage_error("fleet", "unexpected '%s'", argv[i]);
	}
	if (!file)
		return usage_error("fleet", "missing -f FILE");
	err = xs_read_trusted(file, MAX_DOCUMENT_BYTES, &text, &length, error,
			      sizeof(error));
	if (err)
		return runtime_error("Couldn't read '%s': %s", file, error);
	if (xs_config_parse_document(text, length, file, &next, error,
				     sizeof(error))) {
		free(text);
		return runtime_error("%s; the fleet was not changed", error);
	}
	err = read_view(conn, &v, error, sizeof(error));
	if (err) {
		free(text);
		return etcd_error("read the fleet", error);
	}
	if (v.config.kv_count) {
		const struct xs_etcd_kv *kv = &v.config.kvs[0];

		seen = kv->mod_revision;
		have_previous = !xs_config_parse_document(
			kv->value, kv->value_length, "the fleet's document",
			&previous, error, sizeof(error));
	}
	same = v.config.kv_count && v.config.kvs[0].value_length == length &&
	       !memcmp(v.config.kvs[0].value, text, length);
	count = plan_routes(conn, &next, have_previous ? &previous : NULL,
			    &v.routes, &v.rollouts, changes);
	if (same && !count) {
		print_plan(file, &next, &v, changes, 0, true, dry_run, seen);
		goto out;
	}
	if (out_is_json()) {
		if (dry_run)
			print_plan(file, &next, &v, changes, count, same, true,
				   0);
	} else {
		if (!same)
			printf("%s document: %s (%zu VIPs, %u policies)\n",
			       v.config.kv_count ? "~" : "+", file,
			       (size_t)next.vip_count, next.policy_count);
		for (size_t i = 0; i < count; i++)
			if (changes[i].value)
				print_route_text("+", changes[i].vip,
						 &changes[i].route);
			else
				printf("- route %s\n", changes[i].vip);
	}
	if (dry_run) {
		if (!out_is_json())
			printf("dry run: nothing was written\n");
		goto out;
	}
	rc = write_plan(conn, file, &next, &v, changes, count, same, seen, text,
			length);
out:
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

static int fleet_weights(struct fleet_conn *conn, int argc, char **argv)
{
	struct xs_fleet_route route = { 0 }, current;
	char rollout_key[XS_FLEET_KEY_SIZE], route_key[XS_FLEET_KEY_SIZE],
		name[96], error[600], *value;
	struct xs_etcd_txn_result read, written;
	struct xs_vip_key vip;
	int64_t rollout_seen = 0, route_seen = 0;
	__u8 live = XS_POOL_BLUE;
	int rc, err;

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
	fleet_key(conn, rollout_key, "rollouts", name);
	fleet_key(conn, route_key, "routes", name);
	err = xs_etcd_txn(
		conn->etcd, NULL, 0,
		(struct xs_etcd_op[]){
			{ .type = XS_ETCD_OP_RANGE, .key = rollout_key },
			{ .type = XS_ETCD_OP_RANGE, .key = route_key } },
		2, NULL, 0, &read, error, sizeof(error));
	if (err || read.response_count != 2) {
		xs_etcd_txn_result_free(&read);
		return etcd_error("read the route",
				  err ? error : "a short answer");
	}
	if (read.responses[0].range.kv_count) {
		const struct xs_etcd_kv *kv = &read.responses[0].range.kvs[0];
		struct xs_fleet_rollout owner;

		rollout_seen = kv->mod_revision;
		/* a rollout under way owns the route, fleet-wide as on one host */
		if (!xs_fleet_rollout_parse(kv->value, kv->value_length, &owner,
					    0, error, sizeof(error)) &&
		    (owner.rollout.phase == XS_PHASE_RUNNING ||
		     owner.rollout.phase == XS_PHASE_PAUSED)) {
			xs_etcd_txn_result_free(&read);
			return runtime_error(
				"rollout %llu (policy %s, %s) owns the weights of %s; abort it first (splitctl fleet rollout abort %s)",
				(unsigned long long)owner.id, owner.policy,
				xs_phase_name(owner.rollout.phase), argv[0],
				argv[0]);
		}
	}
	if (!read.responses[1].range.kv_count) {
		xs_etcd_txn_result_free(&read);
		return runtime_error(
			"the fleet has no route for %s: it is not the first VIP of a service in the fleet's document",
			argv[0]);
	}
	route_seen = read.responses[1].range.kvs[0].mod_revision;
	if (!xs_fleet_route_parse(read.responses[1].range.kvs[0].value,
				  read.responses[1].range.kvs[0].value_length,
				  &current, error, sizeof(error))) {
		live = current.route.live_pool;
		/* carried over: hosts flush when a count grows, never else */
		memcpy(route.flush, current.flush, sizeof(route.flush));
	}
	xs_etcd_txn_result_free(&read);
	route.route.live_pool = live_pool_after(&route.route, live);
	snprintf(route.by, sizeof(route.by), "splitctl (uid %u)",
		 (unsigned)getuid());
	value = xs_fleet_route_format(&route);
	if (!value)
		return runtime_error("out of memory");
	/* only over what was read: a rollout started, or another writer,
	 * since then makes this one fail rather than undo theirs */
	err = xs_etcd_txn(
		conn->etcd,
		(struct xs_etcd_compare[]){ { .key = rollout_key,
					      .target = XS_ETCD_MOD,
					      .result = XS_ETCD_EQUAL,
					      .number = rollout_seen },
					    { .key = route_key,
					      .target = XS_ETCD_MOD,
					      .result = XS_ETCD_EQUAL,
					      .number = route_seen } },
		2,
		&(struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
				      .key = route_key,
				      .value = value,
				      .value_length = strlen(value) },
		1, NULL, 0, &written, error, sizeof(error));
	free(value);
	if (!err && !written.succeeded)
		err = -EAGAIN,
		snprintf(
			error, sizeof(error),
			"the route or its rollout changed while this was written; nothing was written, look and try again");
	xs_etcd_txn_result_free(&written);
	if (err)
		return etcd_error("write the route", error);
	if (!out_is_json())
		print_route_text("fleet:", argv[0], &route.route);
	return EXIT_OK;
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
