/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The diff `splitctl apply` shows, old -> new, of everything a file holds.
 * The old side of what the maps hold (VIPs, their mode, split and share,
 * weights, backends) is the maps; of the rest (policies, probes, rollout
 * names, daemon, interfaces, fleet) the record of what splitd applied
 * last (applied_settings.h). The new side of the maps is the plan's
 * outcome, worked out from the running state, so the lines are what the
 * plan will do (weights the file leaves out, or a rollout owns, stay); of
 * the rest, the file. Both sides go through one walk of the schema
 * (config_tree.h).
 */
#ifndef XDPSPLIT_APPLY_DIFF_H
#define XDPSPLIT_APPLY_DIFF_H

#include "apply.h"
#include "config_tree.h"

/* What the maps hold (plan NULL), or will hold once plan is carried out,
 * as the maps-held entries of a configuration's tree: each VIP with its
 * mode, split, share or weights and its backends. -E2BIG (and error) for
 * a VIP with more backends than a configuration holds. */
int xs_maps_tree(const struct xs_dataplane *dp, const struct xs_plan *plan,
		 struct xs_tree *tree, char *error, size_t error_size);
/* The diff, old -> new, of the maps (maps_now -> maps_after) and of
 * splitd's settings (record -> file; record NULL: not compared). */
int xs_apply_diff(const struct xs_tree *maps_now,
		  const struct xs_tree *maps_after,
		  const struct xs_tree *record,
		  const struct xs_config_file *file, struct xs_diff *diff);

#endif
