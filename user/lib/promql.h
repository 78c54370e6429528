/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A PromQL query against a Prometheus server's HTTP API (libcurl,
 * json-c) as an analysis source: the first sample's value. */
#ifndef XDPSPLIT_PROMQL_H
#define XDPSPLIT_PROMQL_H

#include "rollout.h"

#define XS_PROMQL_TIMEOUT_MS 2000

/*
 * One query in parts, for a caller that runs many at once (a curl multi
 * handle) and must be able to give up on them: start makes the request
 * (call->curl, a CURL easy handle, not yet performed), end takes the
 * transfer's CURLcode and gives 0 with *value, or a negative errno and a
 * message (no verdict: a Prometheus outage never rolls back alone); both free
 * the call, as does free for one that is abandoned.
 */
struct xs_promql_call {
	void *curl;
	char *url;
	void *body;
};

int xs_promql_call_start(struct xs_promql_call *call, const char *url,
			 const char *query);
int xs_promql_call_end(struct xs_promql_call *call, int result, double *value,
		       char *error, size_t error_size);
void xs_promql_call_free(struct xs_promql_call *call);

#endif
