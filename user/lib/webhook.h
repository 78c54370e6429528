/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Webhooks of a rollout policy, as Flagger attaches them to a canary: a
 * notify webhook gets a JSON POST for each rollout event it subscribes to;
 * a gate webhook is asked, while the rollout waits at a gate step, whether
 * it may go on (a 2xx answer opens the gate; anything else, a timeout or
 * no answer keeps it waiting). Pure data and pure functions: the delivery
 * is splitd's (user/splitd/webhooks.c).
 */
#ifndef XDPSPLIT_WEBHOOK_H
#define XDPSPLIT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define XS_MAX_WEBHOOKS 4
#define XS_WEBHOOK_MAX_HEADERS 4
#define XS_WEBHOOK_NAME_SIZE 64
#define XS_WEBHOOK_URL_SIZE 512
#define XS_WEBHOOK_HEADER_NAME_SIZE 64
#define XS_WEBHOOK_HEADER_VALUE_SIZE 256
#define XS_WEBHOOK_PATH_SIZE 256

/* Every event a rollout posts, in the order one transition posts them.
 * The names are in webhook.c's table, the only list of them. */
enum xs_webhook_event {
	XS_WEBHOOK_STARTED,
	XS_WEBHOOK_RESUMED,
	XS_WEBHOOK_STEP, /* reached a new step */
	XS_WEBHOOK_GATE, /* waiting at a gate */
	XS_WEBHOOK_PAUSED,
	XS_WEBHOOK_ROLLED_BACK, /* by a rule (with its values) or an undo */
	XS_WEBHOOK_ABORTED,
	XS_WEBHOOK_SUCCEEDED,
	XS_WEBHOOK_EVENT_COUNT,
};

enum xs_webhook_kind {
	XS_WEBHOOK_NOTIFY,     /* POSTs events */
	XS_WEBHOOK_GATEKEEPER, /* asked at gate steps; 2xx opens the gate */
};

struct xs_webhook_header {
	char name[XS_WEBHOOK_HEADER_NAME_SIZE];
	char value[XS_WEBHOOK_HEADER_VALUE_SIZE];
};

struct xs_webhook {
	char name[XS_WEBHOOK_NAME_SIZE];
	enum xs_webhook_kind kind;
	char url[XS_WEBHOOK_URL_SIZE];
	__u32 events;	   /* notify: bit (1 << enum xs_webhook_event) */
	__u32 timeout_ms;  /* each attempt, connect included */
	__u32 retries;	   /* notify: attempts after the first */
	__u32 interval_ms; /* gate: how often it is asked while waiting */
	struct xs_webhook_header headers[XS_WEBHOOK_MAX_HEADERS];
	__u32 header_count;
	/* "Authorization: Bearer <the file's first line>", read at each
	 * delivery: no secret in the configuration, and a rotated token is
	 * used at once */
	char token_file[XS_WEBHOOK_PATH_SIZE];
};

struct xs_webhooks {
	struct xs_webhook hooks[XS_MAX_WEBHOOKS];
	__u32 count;
};

#define XS_WEBHOOK_DEFAULT_TIMEOUT_MS 2000
#define XS_WEBHOOK_DEFAULT_RETRIES 3
#define XS_WEBHOOK_DEFAULT_INTERVAL_MS 5000
#define XS_WEBHOOK_MAX_RETRIES 10
#define XS_WEBHOOK_ALL_EVENTS ((1u << XS_WEBHOOK_EVENT_COUNT) - 1)

/* "notify", "gate": the file's type: */
const char *xs_webhook_kind_name(enum xs_webhook_kind kind);
int xs_webhook_kind_parse(const char *name, enum xs_webhook_kind *kind);
/* "started,step" for the events of a bit mask */
void xs_webhook_events_text(__u32 events, char *out, size_t size);
const char *xs_webhook_event_name(enum xs_webhook_event event);
/* 0 and the event, or -EINVAL for a name that is none */
int xs_webhook_event_parse(const char *name, enum xs_webhook_event *event);
/* "started, resumed, ..." for messages */
void xs_webhook_event_list(char *out, size_t size);

struct xs_policy;
struct xs_rollout;

/* The events one change of a rollout's state posts, in order: before is
 * the state recorded before, after the one recorded now. Returns how
 * many were written to out (at most XS_WEBHOOK_EVENT_COUNT). */
size_t xs_webhook_events(const struct xs_policy *policy,
			 const struct xs_rollout *before,
			 const struct xs_rollout *after,
			 enum xs_webhook_event *out);

/* Whether the rollout is waiting at a gate step now. */
bool xs_webhook_at_gate(const struct xs_policy *policy,
			const struct xs_rollout *rollout);

/* What a POST carries: the rollout's identity, where it stands and, for
 * an end by a rule, the rule and its values. */
struct xs_webhook_context {
	const char *event; /* an event name, or "gate" for a gate's ask */
	const char *id;	   /* unique per event: receivers dedupe by it */
	const char *time;  /* RFC 3339, UTC, milliseconds */
	const char *host;  /* who posts it */
	const char *vip;
	const struct xs_policy *policy;
	const struct xs_rollout *rollout;
	const char *webhook; /* the receiving webhook's name */
};

/* The JSON body (malloc'd), NULL when out of memory. */
char *xs_webhook_body(const struct xs_webhook_context *context);

#endif /* XDPSPLIT_WEBHOOK_H */
