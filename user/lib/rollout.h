/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rollout state machine, pure: no maps, no clock, no I/O. The daemon
 * feeds it the time and each interval's measurements; it answers with the
 * route to write and the pools to flush. Steps: set the canary weight,
 * pause, wait at a gate for a promote, switch blue<->green, bake. Analysis
 * rules with thresholds, minimum samples and failure counts decide a
 * rollback or a pause.
 */
#ifndef XDPSPLIT_ROLLOUT_H
#define XDPSPLIT_ROLLOUT_H

#include <stdbool.h>
#include <linux/types.h>
#include "maps/contract.h"
#include "webhook.h"

#define XS_MAX_STEPS 32
#define XS_MAX_RULES 8
#define XS_NAME_SIZE 64
#define XS_QUERY_SIZE 512

enum xs_step_kind {
	XS_STEP_WEIGHTS, /* canary to weight_bp, the rest on the live color */
	XS_STEP_PAUSE,	 /* wait duration_ms */
	XS_STEP_GATE,	 /* wait for a promote */
	XS_STEP_SWITCH,	 /* the live share moves to the other color */
	XS_STEP_BAKE,	 /* after a switch: wait, old color kept ready */
};

struct xs_step {
	enum xs_step_kind kind;
	__u16 canary_bp;
	__u32 duration_ms;
};

enum xs_metric {
	XS_METRIC_HANDSHAKE_RATIO,	/* completed handshakes / new flows */
	XS_METRIC_SYN_RETRANSMIT_RATIO, /* SYN retransmits / new flows */
	XS_METRIC_LATENCY_P50,		/* handshake latency, seconds */
	XS_METRIC_LATENCY_P90,
	XS_METRIC_LATENCY_P99,
	XS_METRIC_PROMQL, /* a Prometheus query's value */
	XS_METRIC_COUNT,
};

struct xs_rule {
	char name[XS_NAME_SIZE];
	enum xs_metric metric;
	__u8 pool;     /* whose signal: the canary by default */
	bool relative; /* value = pool's / live pool's, same window */
	bool has_min, has_max;
	double min, max;     /* the value must stay within */
	__u64 min_samples;   /* new flows in the window before any verdict */
	__u32 failures;	     /* consecutive failing intervals that fail it */
	__u32 failure_limit; /* failing intervals in all that fail it */
	char prometheus_url[XS_QUERY_SIZE];
	char query[XS_QUERY_SIZE];
};

enum xs_on_failure {
	XS_ON_FAILURE_ROLLBACK,
	XS_ON_FAILURE_PAUSE,
};

struct xs_policy {
	char name[XS_NAME_SIZE];
	struct xs_step steps[XS_MAX_STEPS];
	__u32 step_count;
	struct xs_rule rules[XS_MAX_RULES];
	__u32 rule_count;
	enum xs_on_failure on_failure;
	bool flush_canary_on_rollback;
	__u32 interval_ms;
	struct xs_webhooks webhooks; /* notified of its events; its gates */
};

enum xs_phase {
	XS_PHASE_IDLE,
	XS_PHASE_RUNNING,
	XS_PHASE_PAUSED, /* by an operator, or by a failure with pause */
	XS_PHASE_SUCCEEDED,
	XS_PHASE_ROLLED_BACK,
	XS_PHASE_ABORTED,
};

/* What one interval measured for one rule. */
struct xs_measurement {
	bool valid; /* enough samples and a value */
	double value;
	__u64 samples;
};

struct xs_rollout {
	enum xs_phase phase;
	__u32 step;	       /* index of the current step */
	__u64 step_started_ms; /* when the current step began */
	__u64 paused_at_ms;    /* while paused: the clock stops for pauses */
	__u8 from_color;       /* live color when the rollout started */
	__u8 to_color;
	__u16 canary_bp; /* the canary weight now in force */
	bool switched;
	bool promote; /* a promote arrived for the current gate */
	__u32 consecutive[XS_MAX_RULES];
	__u32 total_failures[XS_MAX_RULES];
	struct xs_measurement last[XS_MAX_RULES];
	char reason[256];  /* why it paused, rolled back or ended */
	__u32 failed_rule; /* index of the rule that failed it, if one did */
};

/* What the daemon must do after a tick or a command. */
struct xs_actions {
	bool write_route;
	struct xs_route route;
	bool flush[XS_POOL_COUNT];
	bool changed; /* the rollout's state changed: persist it */
};

/* The route a rollout's state stands for. */
struct xs_route xs_rollout_route(const struct xs_rollout *r);

/* Starts at step 0 from the VIP's current route. -EBUSY if one runs. */
int xs_rollout_start(const struct xs_policy *p, struct xs_rollout *r,
		     const struct xs_route *current, __u64 now_ms,
		     struct xs_actions *out);
/* One interval: evaluate rules, then advance steps whose time has come. */
void xs_rollout_tick(const struct xs_policy *p, struct xs_rollout *r,
		     __u64 now_ms, const struct xs_measurement *measured,
		     struct xs_actions *out);

/* When the current timed step (pause, bake) ends; UINT64_MAX if none. */
__u64 xs_rollout_step_ends(const struct xs_policy *p,
			   const struct xs_rollout *r);

/* Operator commands; each returns 0, or -EINVAL when it does not apply in
 * the current phase (and changes nothing). Repeating one is harmless. */
int xs_rollout_pause(struct xs_rollout *r, __u64 now_ms,
		     struct xs_actions *out);
int xs_rollout_resume(struct xs_rollout *r, __u64 now_ms,
		      struct xs_actions *out);
int xs_rollout_promote(const struct xs_policy *p, struct xs_rollout *r,
		       __u64 now_ms, struct xs_actions *out);
/* Abort and undo set the canary to 0 and make the starting color live
 * again, in one route write; the canary's flows drain unless flush (which
 * after the switch flushes the new color too). Abort
 * applies while running or paused; undo once the rollout has switched
 * (during its bake) or finished. */
int xs_rollout_abort(struct xs_rollout *r, const char *why, bool flush,
		     struct xs_actions *out);
int xs_rollout_undo(struct xs_rollout *r, bool flush, struct xs_actions *out);

/* The step number every view shows (rollout status, the metrics, the
 * audit log, splitd's log, the fleet's status and history): 1-based, and a
 * rollout past its last step (finished) stands on its last one, so a
 * policy of 10 steps says 10/10 at the end, never 11. step_index is struct
 * xs_rollout's step; p NULL (its policy gone from the configuration) gives
 * the index plus one. */
__u32 xs_rollout_step_number(const struct xs_policy *p, __u32 step_index);

const char *xs_phase_name(enum xs_phase phase);
const char *xs_step_name(enum xs_step_kind kind);
const char *xs_metric_name(enum xs_metric metric);
/* Does the value break the rule? */
bool xs_rule_breached(const struct xs_rule *rule, double value);

#endif /* XDPSPLIT_ROLLOUT_H */
