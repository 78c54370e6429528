// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include "testlib/traffic.h"

/* A bijection on 32 bits (each step is invertible): distinct counters give
 * distinct (address, port) pairs that still look random. */
static __u32 permute(__u32 x, __u32 seed)
{
	x ^= seed;
	x *= 0x9e3779b1U;
	x ^= x >> 15;
	x *= 0x85ebca77U;
	x ^= x >> 13;
	return x;
}

void flow_source_init(struct flow_source *s, int family, __u64 seed)
{
	s->state = (__u64)(__u32)(seed * 0x2545f4914f6cdd1dULL) << 32;
	s->family = family;
	flow_source_next(s);
}

void flow_source_next(struct flow_source *s)
{
	__u32 r;

	/* state: seed in the high half, a counter in the low half; the
	 * permuted counter's high 16 bits are the port, so skip low ports */
	do {
		s->state++;
		r = permute((__u32)s->state, s->state >> 32);
	} while ((r >> 16) < 1024);

	/* clients from the benchmarking ranges, ports from the ephemeral one */
	if (s->family == 4)
		snprintf(s->client, sizeof(s->client), "198.18.%u.%u",
			 (unsigned)(r >> 8) & 0xff, (unsigned)r & 0xff);
	else
		snprintf(s->client, sizeof(s->client), "2001:2::%x:%x",
			 (unsigned)(r >> 16) & 0xffff, (unsigned)r & 0xffff);
	s->port = r >> 16;
}

__u32 send_flow_packet(struct test_env *env, const struct flow_source *s,
		       const char *vip, __u16 vip_port, __u8 tcp_flags)
{
	static struct run_result result;
	struct packet_spec spec = {
		.family = s->family,
		.client = s->client,
		.vip = vip,
		.client_port = s->port,
		.vip_port = vip_port,
		.protocol = IPPROTO_TCP,
		.tcp_flags = tcp_flags,
	};

	if (env_run_spec(env, &spec, &result) || result.action != XDP_TX)
		return 0;
	return env_backend_of_frame(result.frame);
}

int within_binomial_bound(double observed, double n, double p)
{
	double bound = 3.29 * sqrt(n * p * (1 - p)); /* z for 99.9% */

	return fabs(observed - n * p) <= bound;
}
