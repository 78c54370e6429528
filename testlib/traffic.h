/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Many distinct flows through the program, and where they went. */
#ifndef XDPSPLIT_TESTS_TRAFFIC_H
#define XDPSPLIT_TESTS_TRAFFIC_H

#include "testlib/env.h"

/* A reproducible stream of client addresses and ports. */
struct flow_source {
	__u64 state;
	int family;
	char client[64];
	__u16 port;
};

void flow_source_init(struct flow_source *s, int family, __u64 seed);
void flow_source_next(struct flow_source *s);

/* Sends one packet of the current flow; returns the backend id it went to
 * (0 if not forwarded to a test backend). */
__u32 send_flow_packet(struct test_env *env, const struct flow_source *s,
		       const char *vip, __u16 vip_port, __u8 tcp_flags);

/* Is `observed` of `n` within the 99.9% two-sided binomial bound of p? */
int within_binomial_bound(double observed, double n, double p);

#endif
