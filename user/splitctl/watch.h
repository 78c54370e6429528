/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The live views of splitctl (drawn by screen.c). */
#ifndef XDPSPLIT_WATCH_H
#define XDPSPLIT_WATCH_H

struct ctl;

/* rollout status VIP --watch SECONDS: until the rollout ends; its exit
 * code 0 if it succeeded, 1 if it was rolled back or aborted, 130 if
 * interrupted first. */
int rollout_watch(struct ctl *ctl, const char *vip_text, double seconds);

#endif
