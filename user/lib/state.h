/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * splitd's persisted rollouts: written whole to a temporary file, synced,
 * then renamed over the old one (and the directory synced), so after a
 * crash at any moment the file is the old state or the new one, never a
 * mix. A line-oriented text format a person can read.
 */
#ifndef XDPSPLIT_STATE_H
#define XDPSPLIT_STATE_H

#include <stddef.h>
#include "rollout.h"

#define XS_STATE_FILE_NAME "rollouts.state"

struct xs_rollout_record {
	char vip[80];               /* as the operator wrote it */
	char policy[XS_NAME_SIZE];
	struct xs_rollout rollout;
	/* recorded, but its route write not known to be done: redo it */
	bool route_pending;
};

/* On failure, error says what failed on which file (a planted FIFO, a full
 * disk); nothing is renamed over the old state. */
int xs_state_save(const char *dir, const struct xs_rollout_record *records,
		  size_t count, char *error, size_t error_size);
/* A missing file is no rollouts; a damaged one an error naming the line. */
int xs_state_load(const char *dir, struct xs_rollout_record *records,
		  size_t max, size_t *count, char *error, size_t error_size);

#endif
