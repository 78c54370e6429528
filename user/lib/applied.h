/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The weights each VIP of the configuration had when splitd last applied
 * it (STATE_DIR/config.applied). A configuration's weights take effect when
 * they change, never because splitd started: at start and on reload,
 * splitd writes a VIP's configured weights only where they differ from
 * these, so a restart leaves a finished rollout's outcome, or an
 * operator's change, where it is.
 */
#ifndef XDPSPLIT_APPLIED_H
#define XDPSPLIT_APPLIED_H

#include <stdbool.h>
#include <stddef.h>
#include "maps/contract.h"

#define XS_APPLIED_FILE_NAME "config.applied"

struct xs_applied_vip {
	struct xs_vip_key key;
	bool has_weights; /* the file gave weights */
	struct xs_route weights;
};

int xs_applied_save(const char *dir, const struct xs_applied_vip *vips,
		    size_t count);
/* A missing file: *found false and no VIPs. A damaged one: an error naming
 * the line. */
int xs_applied_load(const char *dir, struct xs_applied_vip *vips, size_t max,
		    size_t *count, bool *found, char *error, size_t error_size);
/* The entry of key, or NULL. */
const struct xs_applied_vip *xs_applied_find(const struct xs_applied_vip *vips,
					     size_t count,
					     const struct xs_vip_key *key);

#endif
