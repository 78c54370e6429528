/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * splitd's webhooks (user/lib/webhook.h says what they are): a thread of
 * their own delivers; the rollouts only enqueue and read answers, and
 * never wait on the network.
 */
#ifndef XDPSPLIT_SPLITD_WEBHOOKS_H
#define XDPSPLIT_SPLITD_WEBHOOKS_H

#include <stdbool.h>
#include "user/lib/rollout.h"

/* host: the name the POSTs carry (the fleet's host name; NULL: the
 * machine's) */
int webhooks_start(const char *host);
/* Gives what is queued up to a second, then drops the rest (counted). */
void webhooks_stop(void);

/* A rollout's state changed from before to after (both recorded): the
 * events it makes are queued for the policy's notify webhooks. */
void webhooks_post(const char *vip, const struct xs_policy *policy,
		   const struct xs_rollout *before,
		   const struct xs_rollout *after);

struct webhooks_gate_answer {
	bool open;    /* every gate webhook's latest answer to this wait: 2xx */
	bool changed; /* an answer came since the last call */
	char what[512];
};
/* At a gate step of a policy with gate webhooks: they are wanted (asked
 * every interval while the tick keeps calling), and out says what they
 * answered last. False when the rollout is at no such gate. */
bool webhooks_gate(const char *vip, const struct xs_policy *policy,
		   const struct xs_rollout *rollout,
		   struct webhooks_gate_answer *out);

/* The webhook metric families in the Prometheus text format (malloc'd) */
char *webhooks_metrics(void);

#endif
