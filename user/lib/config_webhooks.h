/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A rollout policy's 'webhooks:' list (webhook.h says what they do), read
 * by the configuration's walker: every field checked, errors with the
 * file, line and field like the rest of the file.
 */
#ifndef XDPSPLIT_CONFIG_WEBHOOKS_H
#define XDPSPLIT_CONFIG_WEBHOOKS_H

#include "rollout.h"
#include "yaml_walker.h"

/* node: the policy's 'webhooks' value; path its field path. The policy's
 * steps are parsed already (a gate webhook needs a gate step). */
int config_parse_webhooks(struct yaml_walker *w, yaml_node_t *node,
			  const char *path, struct xs_policy *policy);

#endif /* XDPSPLIT_CONFIG_WEBHOOKS_H */
