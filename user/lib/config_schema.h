/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration schema's sections, each in its own file, walked by
 * yaml_walker.h; config.c holds the top level and calls these. Private to
 * user/lib/config*.c: everyone else uses config.h.
 */
#ifndef XDPSPLIT_CONFIG_SCHEMA_H
#define XDPSPLIT_CONFIG_SCHEMA_H

#include "config.h"
#include "yaml_walker.h"

/* config_vip.c: one element of 'vips' */
int config_parse_vip(struct yaml_walker *w, yaml_node_t *node, const char *path,
		     struct xs_config_vip *vip);
/* config_policy.c: one element of 'rollouts' */
int config_parse_policy(struct yaml_walker *w, yaml_node_t *node,
			const char *path, struct xs_policy *policy);
/* config_fleet.c: the 'fleet' section (defaults filled in first) */
int config_parse_fleet(struct yaml_walker *w, yaml_node_t *node,
		       struct xs_config_fleet *fleet);

#endif /* XDPSPLIT_CONFIG_SCHEMA_H */
