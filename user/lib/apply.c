// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apply.h"
#include "netlink.h"
#include "parse.h"
#include "service.h"

#define RESOLVE_TIMEOUT_MS 3000

static struct xs_change *add_change(struct xs_plan *plan,
				    enum xs_change_kind kind)
{
	if (plan->count == plan->capacity) {
		size_t capacity = plan->capacity ? plan->capacity * 2 : 32;
		struct xs_change *grown =
			realloc(plan->changes, capacity * sizeof(*grown));

		if (!grown)
			return NULL;
		plan->changes = grown;
		plan->capacity = capacity;
	}
	memset(&plan->changes[plan->count], 0, sizeof(plan->changes[0]));
	plan->changes[plan->count].kind = kind;
	return &plan->changes[plan->count++];
}

void xs_plan_free(struct xs_plan *plan)
{
	free(plan->changes);
	memset(plan, 0, sizeof(*plan));
}

static const struct xs_config_vip *wanted_vip(const struct xs_config_file *c,
					      const struct xs_vip_key *key)
{
	for (__u32 i = 0; i < c->vip_count; i++)
		if (!memcmp(&c->vips[i].key, key, sizeof(*key)))
			return &c->vips[i];
	return NULL;
}

static const struct xs_config_backend *
wanted_backend(const struct xs_config_vip *vip, const __be32 *address)
{
	for (__u32 i = 0; vip && i < vip->backend_count; i++)
		if (!memcmp(vip->backends[i].address, address, 16))
			return &vip->backends[i];
	return NULL;
}

static void describe_backend_change(struct xs_change *c, char sign,
				    const char *vip, const struct xs_backend *b)
{
	char address[64];

	xs_format_address(b->family, b->address, address, sizeof(address));
	snprintf(c->text, sizeof(c->text), "%c backend %s %s %s weight %u",
		 sign, vip, xs_pool_name(b->pool), address, b->weight);
}

/* "~ weights VIP blue B green G canary C live L (was ...)": the file's
 * weights win over what the map holds. */
static void describe_weights(struct xs_change *c, const char *vip,
			     const struct xs_route *was,
			     const struct xs_route *w)
{
	char before[96] = "";

	if (was)
		snprintf(
			before, sizeof(before),
			" (was blue %u.%02u green %u.%02u canary %u.%02u live %s)",
			was->weight[0] / 100, was->weight[0] % 100,
			was->weight[1] / 100, was->weight[1] % 100,
			was->weight[2] / 100, was->weight[2] % 100,
			xs_pool_name(was->live_pool));
	snprintf(
		c->text, sizeof(c->text),
		"~ weights %s blue %u.%02u green %u.%02u canary %u.%02u live %s%s",
		vip, w->weight[0] / 100, w->weight[0] % 100, w->weight[1] / 100,
		w->weight[1] % 100, w->weight[2] / 100, w->weight[2] % 100,
		xs_pool_name(w->live_pool), before);
}

/* The entry a configured backend should have; resolves its MAC if needed. */
static int wanted_entry(const struct xs_config_vip *vip,
			const struct xs_config_backend *cb, __u32 vip_id,
			const struct xs_backend *running,
			struct xs_backend *out, char *error, size_t error_size)
{
	struct xs_next_hop hop;
	char why[256];

	memset(out, 0, sizeof(*out));
	memcpy(out->address, cb->address, sizeof(out->address));
	out->family = vip->key.family;
	out->vip_id = vip_id;
	out->pool = cb->pool;
	out->weight = cb->weight;
	out->state = running ? running->state : XS_BACKEND_UP;
	out->ifindex = running ? running->ifindex : 0;
	if (cb->has_mac) {
		memcpy(out->mac, cb->mac, 6);
		return 0;
	}
	if (running) {
		memcpy(out->mac, running->mac, 6);
		return 0;
	}
	if (xs_resolve_backend(out->family, out->address, RESOLVE_TIMEOUT_MS,
			       &hop, why, sizeof(why))) {
		if (vip->mode == XS_MODE_IPIP)
			return 0; /* the kernel's FIB finds the next hop */
		snprintf(error, error_size,
			 "Couldn't find the MAC of backend %s of %s: %s",
			 cb->text, vip->text, why);
		return -EHOSTUNREACH;
	}
	memcpy(out->mac, hop.mac, 6);
	return 0;
}

/* "+ vip ...": a VIP the data plane does not have yet */
static int plan_vip_addition(const struct xs_config_vip *vip,
			     struct xs_plan *plan)
{
	struct xs_change *c = add_change(plan, XS_CHANGE_ADD_VIP);

	if (!c)
		return -ENOMEM;
	c->key = vip->key;
	c->mode = vip->mode;
	c->split_key = vip->split_key;
	c->has_share = vip->has_share;
	c->share = vip->share;
	snprintf(c->text, sizeof(c->text), "+ vip %s mode %s split %s%s%s",
		 vip->text, xs_mode_name(vip->mode),
		 xs_split_name(vip->split_key), vip->has_share ? " share " : "",
		 vip->has_share ? vip->share_text : "");
	return 0;
}

/* "- backend ...": running backends the file drops or moves to another
 * pool (those go out, then in again) */
static int plan_backend_removals(const struct xs_config_vip *vip,
				 const struct xs_backend_entry *current,
				 size_t current_count, struct xs_plan *plan)
{
	for (size_t i = 0; current && i < current_count; i++) {
		const struct xs_config_backend *cb =
			wanted_backend(vip, current[i].backend.address);
		struct xs_change *c;

		if (cb && cb->pool == current[i].backend.pool)
			continue;
		c = add_change(plan, XS_CHANGE_DELETE_BACKEND);
		if (!c)
			return -ENOMEM;
		c->key = vip->key;
		c->backend_id = current[i].id;
		c->backend = current[i].backend;
		describe_backend_change(c, '-', vip->text, &current[i].backend);
	}
	return 0;
}

/* The running backend at a configured backend's address, in its pool */
static const struct xs_backend_entry *
running_backend(const struct xs_backend_entry *current, size_t current_count,
		const struct xs_config_backend *cb)
{
	const struct xs_backend_entry *have = NULL;

	for (size_t i = 0; current && i < current_count; i++)
		if (!memcmp(current[i].backend.address, cb->address, 16) &&
		    current[i].backend.pool == cb->pool)
			have = &current[i];
	return have;
}

/* "+ backend ..." or "~ backend ...": the file's backends that are missing
 * or differ from what runs */
static int plan_backend_additions(const struct xs_config_vip *vip, __u32 vip_id,
				  const struct xs_backend_entry *current,
				  size_t current_count, struct xs_plan *plan,
				  __u32 *new_backends, char *error,
				  size_t error_size)
{
	for (__u32 b = 0; b < vip->backend_count; b++) {
		const struct xs_config_backend *cb = &vip->backends[b];
		const struct xs_backend_entry *have =
			running_backend(current, current_count, cb);
		struct xs_backend entry;
		struct xs_change *c;
		int err;

		err = wanted_entry(vip, cb, vip_id,
				   have ? &have->backend : NULL, &entry, error,
				   error_size);
		if (err)
			return err;
		if (have && !memcmp(&entry, &have->backend, sizeof(entry)))
			continue;
		c = add_change(plan, have ? XS_CHANGE_UPDATE_BACKEND :
					    XS_CHANGE_ADD_BACKEND);
		if (!c)
			return -ENOMEM;
		c->key = vip->key;
		c->backend = entry;
		c->backend_id = have ? have->id : 0;
		describe_backend_change(c, have ? '~' : '+', vip->text, &entry);
		*new_backends += !have;
	}
	return 0;
}

/* "~ weights ...": when the file gives weights the route does not have */
static int plan_weights(const struct xs_config_vip *vip,
			const struct xs_vip_entry *running,
			struct xs_plan *plan)
{
	const struct xs_route *w = &vip->weights;
	struct xs_change *c;

	if (!vip->has_weights ||
	    (running && !memcmp(&running->route, w, sizeof(*w))))
		return 0;
	c = add_change(plan, XS_CHANGE_SET_WEIGHTS);
	if (!c)
		return -ENOMEM;
	c->key = vip->key;
	c->route = *w;
	describe_weights(c, vip->text, running ? &running->route : NULL, w);
	return 0;
}

static int plan_vip(struct xs_dataplane *dp, const struct xs_config_vip *vip,
		    const struct xs_vip_entry *running, struct xs_plan *plan,
		    __u32 *new_backends, char *error, size_t error_size)
{
	struct xs_backend_entry *current = NULL;
	size_t current_count = 0;
	int err;

	if (!running) {
		err = plan_vip_addition(vip, plan);
	} else {
		current =
			xs_backend_all(dp, running->vip.vip_id, &current_count);
		err = plan_backend_removals(vip, current, current_count, plan);
	}
	if (!err)
		err = plan_backend_additions(vip,
					     running ? running->vip.vip_id : 0,
					     current, current_count, plan,
					     new_backends, error, error_size);
	if (!err)
		err = plan_weights(vip, running, plan);
	free(current);
	return err;
}

/* Is running[i] in the service the file gives it (its own, or share's)? */
static bool same_service(const struct xs_vip_entry *running, size_t count,
			 size_t i, const struct xs_config_vip *want)
{
	if (!want->has_share)
		return running[i].vip.route_id == running[i].vip.vip_id;
	for (size_t j = 0; j < count; j++)
		if (!memcmp(&running[j].key, &want->share, sizeof(want->share)))
			return running[i].vip.route_id ==
				       running[j].vip.vip_id &&
			       running[j].vip.route_id == running[j].vip.vip_id;
	return false;
}

int xs_apply_plan(struct xs_dataplane *dp, const struct xs_config_file *config,
		  struct xs_plan *plan, char *error, size_t error_size)
{
	return xs_apply_plan_scoped(dp, config, NULL, NULL, plan, error,
				    error_size);
}

/* What the plan does with a running VIP */
enum vip_fate {
	VIP_STAYS,   /* the file has it as it runs */
	VIP_KEPT,    /* not in the file, but may_delete spares it */
	VIP_DELETED, /* not in the file, or its mode, split key or service
		      * changed */
};

/* What the plan adds and frees, to check against the maps' room */
struct plan_room {
	__u32 new_vips, deleted_vips;
	__u32 new_backends, freed_backends;
};

static void judge_running_vips(const struct xs_config_file *config,
			       const struct xs_vip_entry *running, size_t count,
			       xs_apply_may_delete may_delete, void *context,
			       enum vip_fate *fate)
{
	for (size_t i = 0; i < count; i++) {
		const struct xs_config_vip *want =
			wanted_vip(config, &running[i].key);

		if (want && want->mode == running[i].vip.forward_mode &&
		    want->split_key == running[i].vip.split_key &&
		    same_service(running, count, i, want))
			continue;
		if (!want && may_delete &&
		    !may_delete(&running[i].key, context)) {
			fate[i] = VIP_KEPT;
			continue;
		}
		fate[i] = VIP_DELETED;
	}
}

/* A service's VIPs go with its first one (they split by its route); one
 * promised to be left alone cannot outlive its route, so that is an error. */
static int doom_route_members(const struct xs_vip_entry *running, size_t count,
			      enum vip_fate *fate, char *error,
			      size_t error_size)
{
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; fate[i] == VIP_DELETED && j < count; j++) {
			char member[80], first[80];

			if (j == i ||
			    running[j].vip.route_id != running[i].vip.vip_id)
				continue;
			if (fate[j] != VIP_KEPT) {
				fate[j] = VIP_DELETED;
				continue;
			}
			xs_format_vip(&running[j].key, member, sizeof(member));
			xs_format_vip(&running[i].key, first, sizeof(first));
			snprintf(
				error, error_size,
				"VIP %s (not in the file) shares the route of %s, which the file removes or changes; delete %s first",
				member, first, member);
			return -EBUSY;
		}
	return 0;
}

/* "- vip ...": a service's members before the VIP whose route they use */
static int plan_vip_deletions(const struct xs_dataplane *dp,
			      const struct xs_vip_entry *running, size_t count,
			      const enum vip_fate *fate, struct xs_plan *plan,
			      struct plan_room *room)
{
	size_t backend_count;

	for (int primaries = 0; primaries < 2; primaries++)
		for (size_t i = 0; i < count; i++) {
			struct xs_change *c;
			char text[80];

			if (fate[i] != VIP_DELETED ||
			    (running[i].vip.route_id ==
			     running[i].vip.vip_id) != primaries)
				continue;
			c = add_change(plan, XS_CHANGE_DELETE_VIP);
			if (!c)
				return -ENOMEM;
			c->key = running[i].key;
			xs_format_vip(&running[i].key, text, sizeof(text));
			snprintf(c->text, sizeof(c->text), "- vip %s", text);
			free(xs_backend_all(dp, running[i].vip.vip_id,
					    &backend_count));
			room->freed_backends += backend_count;
			room->deleted_vips++;
		}
	return 0;
}

/* The file's VIPs, each against the running one of its key that stays
 * (deleted and kept ones have vip_id ~0U by now) */
static int plan_wanted_vips(struct xs_dataplane *dp,
			    const struct xs_config_file *config,
			    const struct xs_vip_entry *running, size_t count,
			    struct xs_plan *plan, struct plan_room *room,
			    char *error, size_t error_size)
{
	int err = 0;

	for (__u32 v = 0; v < config->vip_count && !err; v++) {
		const struct xs_vip_entry *have = NULL;

		for (size_t i = 0; i < count; i++)
			if (running[i].vip.vip_id != ~0U &&
			    !memcmp(&running[i].key, &config->vips[v].key,
				    sizeof(running[i].key)))
				have = &running[i];
		room->new_vips += !have;
		err = plan_vip(dp, &config->vips[v], have, plan,
			       &room->new_backends, error, error_size);
	}
	return err;
}

static int check_room(const struct xs_dataplane *dp, const struct xs_plan *plan,
		      size_t running_count, const struct plan_room *room,
		      char *error, size_t error_size)
{
	__u32 freed_backends = room->freed_backends;
	size_t backend_count;

	for (size_t i = 0; i < plan->count; i++)
		freed_backends += plan->changes[i].kind ==
				  XS_CHANGE_DELETE_BACKEND;
	free(xs_backend_all(dp, ~0U, &backend_count));
	if (running_count - room->deleted_vips + room->new_vips >
	    dp->config.max_vips) {
		snprintf(error, error_size,
			 "the file needs %u more VIPs; %u of %u are in use",
			 room->new_vips, (unsigned)running_count,
			 dp->config.max_vips);
		return -ENOSPC;
	}
	if (backend_count - freed_backends + room->new_backends >
	    dp->config.max_backends - 1) {
		snprintf(
			error, error_size,
			"the file needs %u more backends; %zu of %u are in use",
			room->new_backends, backend_count,
			dp->config.max_backends - 1);
		return -ENOSPC;
	}
	return 0;
}

int xs_apply_plan_scoped(struct xs_dataplane *dp,
			 const struct xs_config_file *config,
			 xs_apply_may_delete may_delete, void *context,
			 struct xs_plan *plan, char *error, size_t error_size)
{
	struct plan_room room = { 0 };
	struct xs_vip_entry *running;
	enum vip_fate *fate = NULL;
	size_t running_count;
	int err;

	memset(plan, 0, sizeof(*plan));
	running = xs_vip_all(dp, &running_count);
	if (!running)
		return -ENOMEM;
	fate = calloc(running_count + 1, sizeof(*fate));
	if (!fate) {
		err = -ENOMEM;
		goto out;
	}
	judge_running_vips(config, running, running_count, may_delete, context,
			   fate);
	err = doom_route_members(running, running_count, fate, error,
				 error_size);
	if (!err)
		err = plan_vip_deletions(dp, running, running_count, fate, plan,
					 &room);
	if (err)
		goto out;
	for (size_t i = 0; i < running_count; i++)
		if (fate[i] != VIP_STAYS)
			running[i].vip.vip_id = ~0U; /* no longer running */
	err = plan_wanted_vips(dp, config, running, running_count, plan, &room,
			       error, error_size);
	if (!err)
		err = check_room(dp, plan, running_count, &room, error,
				 error_size);
out:
	free(running);
	free(fate);
	if (err)
		xs_plan_free(plan);
	return err;
}

int xs_plan_each(const struct xs_plan *plan, xs_change_visitor visit,
		 void *context)
{
	static const enum xs_change_kind order[] = {
		XS_CHANGE_DELETE_VIP,	  XS_CHANGE_DELETE_BACKEND,
		XS_CHANGE_ADD_VIP,	  XS_CHANGE_ADD_BACKEND,
		XS_CHANGE_UPDATE_BACKEND, XS_CHANGE_SET_WEIGHTS,
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < plan->count; i++) {
			int err;

			if (plan->changes[i].kind != order[o])
				continue;
			err = visit(&plan->changes[i], context);
			if (err)
				return err;
		}
	return 0;
}

struct execution {
	struct xs_dataplane *dp;
	char *error;
	size_t error_size;
};

static int execute_change(const struct xs_change *c, void *context)
{
	struct execution *x = context;
	struct xs_dataplane *dp = x->dp;
	struct xs_vip_entry vip;
	struct xs_backend entry;
	__u32 id;
	int err = 0;

	if (c->kind != XS_CHANGE_DELETE_VIP && c->kind != XS_CHANGE_ADD_VIP &&
	    xs_vip_lookup(dp, &c->key, &vip))
		err = -ENOENT;
	switch (err ? -1 : (int)c->kind) {
	case XS_CHANGE_DELETE_VIP:
		err = xs_vip_remove(dp, &c->key);
		break;
	case XS_CHANGE_DELETE_BACKEND:
		err = xs_backend_remove(dp, c->backend_id);
		break;
	case XS_CHANGE_ADD_VIP:
		err = xs_vip_create(dp, &c->key, c->mode, c->split_key,
				    c->has_share ? &c->share : NULL, &id);
		break;
	case XS_CHANGE_ADD_BACKEND:
		entry = c->backend;
		entry.vip_id = vip.vip.vip_id;
		err = xs_backend_create(dp, &entry, &id);
		break;
	case XS_CHANGE_UPDATE_BACKEND:
		entry = c->backend;
		entry.vip_id = vip.vip.vip_id;
		err = xs_backend_update(dp, c->backend_id, &entry);
		break;
	case XS_CHANGE_SET_WEIGHTS:
		err = xs_route_write(dp, vip.vip.route_id, &c->route);
		break;
	}
	if (err)
		snprintf(x->error, x->error_size, "Couldn't apply '%s': %s",
			 c->text, strerror(-err));
	return err;
}

int xs_apply_execute(struct xs_dataplane *dp, const struct xs_plan *plan,
		     char *error, size_t error_size)
{
	struct execution x = { dp, error, error_size };

	return xs_plan_each(plan, execute_change, &x);
}
