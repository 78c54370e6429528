/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A fleet rollout as etcd holds it (P rollouts/SERVICE), an operator's
 * wish for it (P requests/SERVICE) and one line of its history
 * (P history/SERVICE/ID/SEQ). Times are written as time elapsed when the
 * value was written, never as one host's clock: the leader that reads it
 * next may be another host (a week at most: an older step is written as
 * a week old). A paused_at_ms outside a pause is not written: it reads
 * back as now_ms. A measurement's value may be NaN (a query can answer
 * it) and reads back NaN.
 *
 * A parser that refuses (-EINVAL, why filled) leaves its output zeroed.
 */
#ifndef XDPSPLIT_FLEET_ROLLOUT_DOC_H
#define XDPSPLIT_FLEET_ROLLOUT_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include "user/lib/rollout.h"

struct xs_fleet_rollout {
	struct xs_vip_key service;
	__u64 id; /* the request that started it: one per service */
	char policy[XS_NAME_SIZE];
	struct xs_rollout rollout; /* times on the reader's xs_clock_ms */
	__u64 request;		   /* the newest request it has taken */
	__u32 history;	 /* lines of history written: the next one's SEQ */
	char leader[64]; /* the host that wrote it */
};

/* now_ms: the writer's clock, against which rollout's times are taken */
char *xs_fleet_rollout_format(const struct xs_fleet_rollout *r, __u64 now_ms);
/* Times come back on now_ms (the reader's clock). */
int xs_fleet_rollout_parse(const char *text, size_t length,
			   struct xs_fleet_rollout *r, __u64 now_ms, char *why,
			   size_t size);

enum xs_fleet_action {
	XS_FLEET_START,
	XS_FLEET_PAUSE,
	XS_FLEET_RESUME,
	XS_FLEET_PROMOTE,
	XS_FLEET_ABORT,
	XS_FLEET_UNDO,
	XS_FLEET_ACTION_COUNT,
};

struct xs_fleet_request {
	__u64 seq; /* one more than the request it replaces */
	enum xs_fleet_action action;
	char policy[XS_NAME_SIZE]; /* start: "" for the VIP's own */
	bool flush;		   /* abort, undo */
	char by[64];
};

const char *xs_fleet_action_name(enum xs_fleet_action action);
int xs_fleet_action_parse(const char *name, enum xs_fleet_action *action);
char *xs_fleet_request_format(const struct xs_fleet_request *request);
int xs_fleet_request_parse(const char *text, size_t length,
			   struct xs_fleet_request *request, char *why,
			   size_t size);

/* P answers/SERVICE: the leader's word on request seq. */
char *xs_fleet_answer_format(__u64 seq, bool ok, const char *message);
int xs_fleet_answer_parse(const char *text, size_t length, __u64 *seq, bool *ok,
			  char *message, size_t message_size, char *why,
			  size_t size);

/* One line of a rollout's history: what happened at its SEQ. */
struct xs_fleet_history {
	__u32 seq;
	__u32 step;
	enum xs_phase phase;
	struct xs_route route; /* in force after it */
	char what[300];
	char leader[64];
};

char *xs_fleet_history_format(const struct xs_fleet_history *h);
int xs_fleet_history_parse(const char *text, size_t length,
			   struct xs_fleet_history *h, char *why, size_t size);

#endif
