// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <math.h>
#include <string.h>
#include "measure.h"

void xs_pool_stats_delta(const struct xs_pool_stats *before,
			 const struct xs_pool_stats *after,
			 struct xs_pool_stats *delta)
{
	const __u64 *b = (const __u64 *)before, *a = (const __u64 *)after;
	__u64 *d = (__u64 *)delta;

	for (size_t i = 0; i < sizeof(*delta) / sizeof(__u64); i++)
		d[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
}

double xs_latency_quantile_ns(const __u64 *buckets, double q)
{
	__u64 total = 0, seen = 0;

	for (int i = 0; i < XS_LATENCY_BUCKETS; i++)
		total += buckets[i];
	if (!total)
		return 0;
	for (int i = 0; i < XS_LATENCY_BUCKETS; i++) {
		if (buckets[i] && seen + buckets[i] >= q * total) {
			double low = i ? ldexp(1, i) : 0,
			       high = ldexp(1, i + 1);

			return low +
			       (high - low) * (q * total - seen) / buckets[i];
		}
		seen += buckets[i];
	}
	return ldexp(1, XS_LATENCY_BUCKETS);
}

/* The signal of one pool, with the count it rests on. */
static struct xs_measurement pool_signal(enum xs_metric metric,
					 const struct xs_pool_stats *s)
{
	struct xs_measurement m = { .samples = s->new_flows };
	double q = metric == XS_METRIC_LATENCY_P50 ? 0.5 :
		   metric == XS_METRIC_LATENCY_P90 ? 0.9 :
						     0.99;

	switch (metric) {
	case XS_METRIC_HANDSHAKE_RATIO:
		m.value = s->new_flows ? (double)s->handshakes_completed /
						 s->new_flows :
					 0;
		break;
	case XS_METRIC_SYN_RETRANSMIT_RATIO:
		m.value = s->new_flows ?
				  (double)s->syn_retransmits / s->new_flows :
				  0;
		break;
	case XS_METRIC_LATENCY_P50:
	case XS_METRIC_LATENCY_P90:
	case XS_METRIC_LATENCY_P99:
		/* latency rests on the handshakes that completed */
		m.samples = s->handshakes_completed;
		m.value = xs_latency_quantile_ns(s->handshake_latency, q) / 1e9;
		break;
	default:
		break;
	}
	return m;
}

struct xs_measurement xs_measure(const struct xs_rule *rule,
				 const struct xs_pool_stats *window,
				 __u8 live_pool)
{
	struct xs_measurement m =
		pool_signal(rule->metric, &window[rule->pool]);

	m.valid = m.samples > 0 && m.samples >= rule->min_samples;
	if (rule->relative && m.valid) {
		/* the canary against the stable pool in the same window */
		struct xs_measurement base =
			pool_signal(rule->metric, &window[live_pool]);

		m.valid = base.samples > 0 &&
			  base.samples >= rule->min_samples && base.value > 0;
		m.value = m.valid ? m.value / base.value : 0;
	}
	return m;
}
