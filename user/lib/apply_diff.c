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
		snprintf(error, error_size,
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

int xs_running_config(const struct xs_dataplane *dp,
		      struct xs_config_file *running, char *error,
		      size_t error_size)
{
	struct xs_vip_entry *all;
	size_t count;
	int err = 0;

	memset(running, 0, sizeof(*running));
	all = xs_vip_all(dp, &count);
	if (!all)
		return -ENOMEM;
	if (count > XS_CONFIG_MAX_VIPS) {
		snprintf(error, error_size,
			 "the maps hold %zu VIPs, more than a configuration holds (%d)",
			 count, XS_CONFIG_MAX_VIPS);
		err = -E2BIG;
	}
	for (size_t i = 0; !err && i < count; i++)
		err = running_vip(dp, all, count, &all[i], &running->vips[i],
				  error, error_size);
	running->vip_count = err ? 0 : (__u32)count;
	free(all);
	return err;
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
	struct xs_config_backend *b =
		backend_of(v, change->backend.address);

	switch (change->kind) {
	case XS_CHANGE_DELETE_VIP:
		if (!v)
			return -ENOENT;
		memmove(v, v + 1, (size_t)(&c->vips[c->vip_count] - (v + 1)) *
					  sizeof(*v));
		c->vip_count--;
		return 0;
	case XS_CHANGE_ADD_VIP:
		return v ? -EEXIST : add_vip(c, change);
	case XS_CHANGE_DELETE_BACKEND:
		if (!b)
			return -ENOENT;
		memmove(b, b + 1, (size_t)(&v->backends[v->backend_count] - (b + 1)) *
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

int xs_plan_predict(const struct xs_plan *plan, struct xs_config_file *running)
{
	return xs_plan_each(plan, predict_change, running);
}

/* The entries of config held by held_by, into tree. */
static int take(struct xs_tree *tree, const struct xs_config_file *config,
		enum xs_held_by held_by)
{
	struct xs_tree all;
	int err = xs_config_tree(config, &all);

	if (err)
		return err;
	err = xs_tree_merge(tree, &all, held_by);
	xs_tree_free(&all);
	return err;
}

int xs_apply_diff(const struct xs_config_file *running,
		  const struct xs_config_file *predicted,
		  const struct xs_tree *record,
		  const struct xs_config_file *file, struct xs_diff *diff)
{
	struct xs_tree old_tree = { 0 }, new_tree = { 0 };
	int err = take(&old_tree, running, XS_HELD_BY_MAPS);

	if (!err)
		err = take(&new_tree, predicted, XS_HELD_BY_MAPS);
	if (!err && record)
		err = xs_tree_merge(&old_tree, record, XS_HELD_BY_SPLITD);
	if (!err && record)
		err = take(&new_tree, file, XS_HELD_BY_SPLITD);
	if (!err)
		err = xs_tree_diff(&old_tree, &new_tree, diff);
	xs_tree_free(&old_tree);
	xs_tree_free(&new_tree);
	return err;
}
