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

static int plan_vip(struct xs_dataplane *dp, const struct xs_config_vip *vip,
		    const struct xs_vip_entry *running, struct xs_plan *plan,
		    __u32 *new_backends, char *error, size_t error_size)
{
	struct xs_backend_entry *current = NULL;
	size_t current_count = 0;
	struct xs_change *c;
	int err = 0;

	if (!running) {
		c = add_change(plan, XS_CHANGE_ADD_VIP);
		if (!c)
			return -ENOMEM;
		c->key = vip->key;
		c->mode = vip->mode;
		c->split_key = vip->split_key;
		c->has_share = vip->has_share;
		c->share = vip->share;
		snprintf(c->text, sizeof(c->text),
			 "+ vip %s mode %s split %s%s%s", vip->text,
			 xs_mode_name(vip->mode), xs_split_name(vip->split_key),
			 vip->has_share ? " share " : "",
			 vip->has_share ? vip->share_text : "");
	} else {
		current =
			xs_backend_all(dp, running->vip.vip_id, &current_count);
		for (size_t i = 0; current && i < current_count; i++) {
			const struct xs_config_backend *cb =
				wanted_backend(vip, current[i].backend.address);

			if (cb && cb->pool == current[i].backend.pool)
				continue;
			/* gone, or in another pool: out, then in again */
			c = add_change(plan, XS_CHANGE_DELETE_BACKEND);
			if (!c) {
				err = -ENOMEM;
				goto out;
			}
			c->key = vip->key;
			c->backend_id = current[i].id;
			c->backend = current[i].backend;
			describe_backend_change(c, '-', vip->text,
						&current[i].backend);
		}
	}
	for (__u32 b = 0; b < vip->backend_count; b++) {
		const struct xs_config_backend *cb = &vip->backends[b];
		const struct xs_backend_entry *have = NULL;
		struct xs_backend entry;

		for (size_t i = 0; current && i < current_count; i++)
			if (!memcmp(current[i].backend.address, cb->address,
				    16) &&
			    current[i].backend.pool == cb->pool)
				have = &current[i];
		err = wanted_entry(vip, cb, running ? running->vip.vip_id : 0,
				   have ? &have->backend : NULL, &entry, error,
				   error_size);
		if (err)
			goto out;
		if (have && !memcmp(&entry, &have->backend, sizeof(entry)))
			continue;
		c = add_change(plan, have ? XS_CHANGE_UPDATE_BACKEND :
					    XS_CHANGE_ADD_BACKEND);
		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		c->key = vip->key;
		c->backend = entry;
		c->backend_id = have ? have->id : 0;
		describe_backend_change(c, have ? '~' : '+', vip->text, &entry);
		*new_backends += !have;
	}
	if (vip->has_weights &&
	    (!running ||
	     memcmp(&running->route, &vip->weights, sizeof(vip->weights)))) {
		const struct xs_route *w = &vip->weights;

		c = add_change(plan, XS_CHANGE_SET_WEIGHTS);
		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		c->key = vip->key;
		c->route = *w;
		describe_weights(c, vip->text, running ? &running->route : NULL,
				 w);
	}
out:
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

int xs_apply_plan_scoped(struct xs_dataplane *dp,
			 const struct xs_config_file *config,
			 xs_apply_may_delete may_delete, void *context,
			 struct xs_plan *plan, char *error, size_t error_size)
{
	struct xs_vip_entry *running;
	size_t running_count, backend_count;
	__u32 new_vips = 0, deleted_vips = 0, new_backends = 0;
	__u32 freed_backends = 0;
	enum { STAYS, KEEP, DELETE } *doomed = NULL;
	int err = 0;

	memset(plan, 0, sizeof(*plan));
	running = xs_vip_all(dp, &running_count);
	if (!running)
		return -ENOMEM;
	doomed = calloc(running_count + 1, sizeof(*doomed));
	if (!doomed) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < running_count; i++) {
		const struct xs_config_vip *want =
			wanted_vip(config, &running[i].key);

		if (want && want->mode == running[i].vip.forward_mode &&
		    want->split_key == running[i].vip.split_key &&
		    same_service(running, running_count, i, want))
			continue;
		if (!want && may_delete &&
		    !may_delete(&running[i].key, context)) {
			doomed[i] = KEEP;
			continue;
		}
		/* not in the file, or its mode, split key or service changed */
		doomed[i] = DELETE;
	}
	/* a service's VIPs go with its first one (they split by its route),
	 * and before it */
	for (size_t i = 0; i < running_count; i++)
		for (size_t j = 0; doomed[i] == DELETE && j < running_count;
		     j++) {
			char member[80], first[80];

			if (j == i ||
			    running[j].vip.route_id != running[i].vip.vip_id)
				continue;
			if (doomed[j] != KEEP) {
				doomed[j] = DELETE;
				continue;
			}
			/* promised to be left alone, it cannot outlive its route */
			xs_format_vip(&running[j].key, member, sizeof(member));
			xs_format_vip(&running[i].key, first, sizeof(first));
			snprintf(
				error, error_size,
				"VIP %s (not in the file) shares the route of %s, which the file removes or changes; delete %s first",
				member, first, member);
			err = -EBUSY;
			goto out;
		}
	for (int primaries = 0; primaries < 2; primaries++)
		for (size_t i = 0; i < running_count; i++) {
			struct xs_change *c;
			char text[80];

			if (doomed[i] != DELETE ||
			    (running[i].vip.route_id ==
			     running[i].vip.vip_id) != primaries)
				continue;
			c = add_change(plan, XS_CHANGE_DELETE_VIP);
			if (!c) {
				err = -ENOMEM;
				goto out;
			}
			c->key = running[i].key;
			xs_format_vip(&running[i].key, text, sizeof(text));
			snprintf(c->text, sizeof(c->text), "- vip %s", text);
			free(xs_backend_all(dp, running[i].vip.vip_id,
					    &backend_count));
			freed_backends += backend_count;
			deleted_vips++;
		}
	for (size_t i = 0; i < running_count; i++)
		if (doomed[i])
			running[i].vip.vip_id =
				~0U; /* no longer counts as running */
	for (__u32 v = 0; v < config->vip_count && !err; v++) {
		const struct xs_vip_entry *have = NULL;

		for (size_t i = 0; i < running_count; i++)
			if (running[i].vip.vip_id != ~0U &&
			    !memcmp(&running[i].key, &config->vips[v].key,
				    sizeof(running[i].key)))
				have = &running[i];
		new_vips += !have;
		err = plan_vip(dp, &config->vips[v], have, plan, &new_backends,
			       error, error_size);
	}
	if (err)
		goto out;
	for (size_t i = 0; i < plan->count; i++)
		freed_backends += plan->changes[i].kind ==
				  XS_CHANGE_DELETE_BACKEND;
	free(xs_backend_all(dp, ~0U, &backend_count));
	if (running_count - deleted_vips + new_vips > dp->config.max_vips) {
		snprintf(error, error_size,
			 "the file needs %u more VIPs; %u of %u are in use",
			 new_vips, (unsigned)running_count,
			 dp->config.max_vips);
		err = -ENOSPC;
	} else if (backend_count - freed_backends + new_backends >
		   dp->config.max_backends - 1) {
		snprintf(
			error, error_size,
			"the file needs %u more backends; %zu of %u are in use",
			new_backends, backend_count,
			dp->config.max_backends - 1);
		err = -ENOSPC;
	}
out:
	free(running);
	free(doomed);
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
