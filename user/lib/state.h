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
	struct xs_vip_key key; /* the VIP, parsed */
	char vip[80];	       /* key, formatted: for messages and labels */
	/* of the VIP the rollout was started on; 0 in a version 1 file,
	 * which did not record it (the VIP found at restore is taken) */
	__u32 generation;
	char policy[XS_NAME_SIZE];
	struct xs_rollout rollout; /* its times on xs_clock_ms() */
	/* recorded, but its route write not known to be done: redo it */
	bool route_pending;
};

/* Times are written with the boot they belong to and the moment of the
 * write, so a load after a reboot keeps each step's elapsed time. On
 * failure, error says what failed on which file (an untrusted directory, a
 * full disk); nothing is renamed over the old state. */
int xs_state_save(const char *dir, const struct xs_rollout_record *records,
		  size_t count, char *error, size_t error_size);
/* A missing file is no rollouts; a damaged one an error naming the line.
 * Times come back on this boot's xs_clock_ms(). The file must pass
 * safe_open.h's checks: another user's file is refused, not applied. */
int xs_state_load(const char *dir, struct xs_rollout_record *records,
		  size_t max, size_t *count, char *error, size_t error_size);
/* Was the state file written in this boot (or is there none)? False for
 * another boot's, a version 1 file, or one that cannot be read. */
bool xs_state_same_boot(const char *dir);

#endif
