/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What splitd last applied of what the maps do not hold: policies, probes,
 * the VIPs' rollout names, daemon settings, interfaces, the fleet section
 * (STATE_DIR/settings.applied), as config_tree.h's entries. splitd writes
 * it with config.applied (applied.h) each time it makes a configuration
 * the one in force; `splitctl apply --dry-run` diffs a file's settings
 * against it (the maps are the old side for the rest).
 */
#ifndef XDPSPLIT_APPLIED_SETTINGS_H
#define XDPSPLIT_APPLIED_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "config_tree.h"

#define XS_APPLIED_SETTINGS_NAME "settings.applied"

int xs_applied_settings_save(const char *dir,
			     const struct xs_config_file *config);
/* The record's entries into tree (empty, *found false, if there is none);
 * a damaged record is an error naming its line. */
int xs_applied_settings_load(const char *dir, struct xs_tree *tree, bool *found,
			     char *error, size_t error_size);

#endif
