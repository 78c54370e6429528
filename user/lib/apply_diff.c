// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apply_diff.h"
#include "parse.h"
#include "service.h"

static void running_backend(const struct xs_backend *b,
			    struct xs_config_backend *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->address, b->address, sizeof(out->address));
	xs_format_address(b->family, b->address, out->text, sizeof(out->text));
	out->pool = b->pool;
	out->weight = b->weight;
	out->has_mac = true;
	memcpy(out->mac, b->mac, sizeof(out->mac));
}

static int running_vip(const struct xs_dataplane *dp,
		       const struct xs_vip_entry *all, size_t count,
		       const struct xs_vip_entry *e, struct xs_config_vip *v,
		       char *error, size_t error_size)
{
	struct xs_backend_entry *backends;
	size_t backend_count;

	memset(v, 0, sizeof(*v));
	v->key = e->key;
	xs_format_vip(&e->key, v->text, sizeof(v->text));
	v->mode = e->vip.forward_mode;
	v->split_key = e->vip.split_key;
	for (size_t j = 0; j < count; j++)
		if (e->vip.route_id != e->vip.vip_id &&
		    all[j].vip.vip_id == e->vip.route_id) {
			v->has_share = true;
			v->share = all[j].key;
			xs_format_vip(&all[j].key, v->share_text,
				      sizeof(v->share_text));
		}
	v->has_weights = !v->has_share;
	v->weights = e->route;
	backends = xs_backend_all(dp, e->vip.vip_id, &backend_count);
	if (!backends)
		return -ENOMEM;
	if (backend_count > XS_CONFIG_MAX_BACKENDS) {
		snprintf(
			error, error_size,
			"VIP %s has %zu backends, more than a configuration holds (%d)",
			v->text, backend_count, XS_CONFIG_MAX_BACKENDS);
		free(backends);
		return -E2BIG;
	}
	for (size_t b = 0; b < backend_count; b++)
		running_backend(&backends[b].backend, &v->backends[b]);
	v->backend_count = (__u32)backend_count;
	free(backends);
	return 0;
}

static struct xs_config_vip *vip_of(struct xs_config_file *c,
				    const struct xs_vip_key *key)
{
	for (__u32 i = 0; i < c->vip_count; i++)
		if (!memcmp(&c->vips[i].key, key, sizeof(*key)))
			return &c->vips[i];
	return NULL;
}

static struct xs_config_backend *backend_of(struct xs_config_vip *v,
					    const __be32 *address)
{
	for (__u32 i = 0; v && i < v->backend_count; i++)
		if (!memcmp(v->backends[i].address, address,
			    sizeof(v->backends[i].address)))
			return &v->backends[i];
	return NULL;
}

static int add_vip(struct xs_config_file *c, const struct xs_change *change)
{
	struct xs_config_vip *v = &c->vips[c->vip_count];

	if (c->vip_count == XS_CONFIG_MAX_VIPS)
		return -E2BIG;
	memset(v, 0, sizeof(*v));
	v->key = change->key;
	xs_format_vip(&change->key, v->text, sizeof(v->text));
	v->mode = change->mode;
	v->split_key = change->split_key;
	v->has_share = change->has_share;
	v->share = change->share;
	/* xs_vip_create's route: its own, all blue; or its service's */
	v->has_weights = !change->has_share;
	v->weights.weight[XS_POOL_BLUE] = XS_WEIGHT_TOTAL;
	v->weights.live_pool = XS_POOL_BLUE;
	c->vip_count++;
	return 0;
}

static int predict_change(const struct xs_change *change, void *context)
{
	struct xs_config_file *c = context;
	struct xs_config_vip *v = vip_of(c, &change->key);
	struct xs_config_backend *b = backend_of(v, change->backend.address);

	switch (change->kind) {
	case XS_CHANGE_DELETE_VIP:
		if (!v)
			return -ENOENT;
		memmove(v, v + 1,
			(size_t)(&c->vips[c->vip_count] - (v + 1)) *
				sizeof(*v));
		c->vip_count--;
		return 0;
	case XS_CHANGE_ADD_VIP:
		return v ? -EEXIST : add_vip(c, change);
	case XS_CHANGE_DELETE_BACKEND:
		if (!b)
			return -ENOENT;
		memmove(b, b + 1,
			(size_t)(&v->backends[v->backend_count] - (b + 1)) *
				sizeof(*b));
		v->backend_count--;
		return 0;
	case XS_CHANGE_ADD_BACKEND:
		if (!v || b || v->backend_count == XS_CONFIG_MAX_BACKENDS)
			return -EINVAL;
		b = &v->backends[v->backend_count++];
		/* fall through */
	case XS_CHANGE_UPDATE_BACKEND:
		if (!b)
			return -ENOENT;
		running_backend(&change->backend, b);
		return 0;
	case XS_CHANGE_SET_WEIGHTS:
		if (!v)
			return -ENOENT;
		v->has_weights = true;
		v->weights = change->route;
		return 0;
	}
	return -EINVAL;
}

/* One VIP of the maps (or none, running NULL) as a configuration of
 * that VIP alone, then as the plan's changes to it leave it: the maps may
 * hold more VIPs than a configuration can. */
struct one_vip {
	const struct xs_vip_key *key;
	struct xs_config_file *config;
};

static int predict_own(const struct xs_change *change, void *context)
{
	struct one_vip *one = context;

	if (memcmp(&change->key, one->key, sizeof(*one->key)))
		return 0;
	return predict_change(change, one->config);
}

/* The maps-held entries of the VIP in scratch, into tree. */
static int take_vip(struct xs_tree *tree, const struct xs_config_file *scratch)
{
	struct xs_tree all;
	int err = xs_config_tree(scratch, &all);

	if (err)
		return err;
	err = xs_tree_merge(tree, &all, XS_HELD_BY_MAPS);
	xs_tree_free(&all);
	return err;
}

static int vip_tree(const struct xs_dataplane *dp,
		    const struct xs_vip_entry *all, size_t count,
		    const struct xs_vip_entry *running,
		    const struct xs_vip_key *key, const struct xs_plan *plan,
		    struct xs_config_file *scratch, struct xs_tree *tree,
		    char *error, size_t error_size)
{
	struct one_vip one = { key, scratch };
	int err = 0;

	memset(scratch, 0, sizeof(*scratch));
	if (running) {
		err = running_vip(dp, all, count, running, &scratch->vips[0],
				  error, error_size);
		scratch->vip_count = 1;
	}
	if (!err && plan && xs_plan_each(plan, predict_own, &one)) {
		snprintf(
			error, error_size,
			"the plan does not fit the maps as read (changed meanwhile?)");
		err = -ESTALE;
	}
	return err ? err : take_vip(tree, scratch);
}

static bool running_key(const struct xs_vip_entry *all, size_t count,
			const struct xs_vip_key *key)
{
	for (size_t i = 0; i < count; i++)
		if (!memcmp(&all[i].key, key, sizeof(*key)))
			return true;
	return false;
}

int xs_maps_tree(const struct xs_dataplane *dp, const struct xs_plan *plan,
		 struct xs_tree *tree, char *error, size_t error_size)
{
	struct xs_config_file *scratch = malloc(sizeof(*scratch));
	struct xs_vip_entry *all;
	size_t count = 0;
	int err = scratch ? 0 : -ENOMEM;

	memset(tree, 0, sizeof(*tree));
	all = err ? NULL : xs_vip_all(dp, &count);
	if (!err && !all)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < count; i++)
		err = vip_tree(dp, all, count, &all[i], &all[i].key, plan,
			       scratch, tree, error, error_size);
	/* then the VIPs the plan creates, in its order */
	for (size_t i = 0; !err && plan && i < plan->count; i++) {
		const struct xs_change *c = &plan->changes[i];

		if (c->kind == XS_CHANGE_ADD_VIP &&
		    !running_key(all, count, &c->key))
			err = vip_tree(dp, all, count, NULL, &c->key, plan,
				       scratch, tree, error, error_size);
	}
	if (err == -ENOMEM)
		snprintf(error, error_size, "out of memory");
	if (err)
		xs_tree_free(tree);
	free(all);
	free(scratch);
	return err;
}

int xs_apply_diff(const struct xs_tree *maps_now,
		  const struct xs_tree *maps_after,
		  const struct xs_tree *record,
		  const struct xs_config_file *file, struct xs_diff *diff)
{
	struct xs_tree old_tree = { 0 }, new_tree = { 0 }, settings;
	int err = xs_tree_merge(&old_tree, maps_now, XS_HELD_BY_MAPS);

	if (!err)
		err = xs_tree_merge(&new_tree, maps_after, XS_HELD_BY_MAPS);
	if (!err && record)
		err = xs_tree_merge(&old_tree, record, XS_HELD_BY_SPLITD);
	if (!err && record) {
		err = xs_config_tree(file, &settings);
		if (!err)
			err = xs_tree_merge(&new_tree, &settings,
					    XS_HELD_BY_SPLITD);
		xs_tree_free(&settings);
	}
	if (!err)
		err = xs_tree_diff(&old_tree, &new_tree, diff);
	xs_tree_free(&old_tree);
	xs_tree_free(&new_tree);
	return err;
}
