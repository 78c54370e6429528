// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Split statistics through the real program: fractions, monotonicity, and
 * the client split key. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define FLOWS 100000

struct three_pools {
	__u32 vip_id;
	__u32 pool_of_backend[64];
};

/* A VIP with two backends in each pool. */
static void make_vip(struct test_env *env, struct three_pools *v,
		     __u8 split_key)
{
	const char *addresses[] = { "10.0.1.1", "10.0.1.2", "10.0.2.1",
				    "10.0.2.2", "10.0.3.1", "10.0.3.2" };

	v->vip_id = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				XS_MODE_L2DSR, split_key, NULL);
	memset(v->pool_of_backend, 0xff, sizeof(v->pool_of_backend));
	for (int i = 0; i < 6; i++) {
		__u32 id = env_add_backend(env, v->vip_id, i / 2, 4,
					   addresses[i], 1);
		v->pool_of_backend[id] = i / 2;
	}
}

static int pool_of(const struct three_pools *v, __u32 backend)
{
	return backend && backend < 64 ? (int)v->pool_of_backend[backend] : -1;
}

static int fractions_within_binomial_bounds(const void *arg)
{
	const __u16 settings[][3] = {
		{ 9900, 0, 100 },
		{ 9500, 0, 500 },
		{ 5000, 0, 5000 },
		{ 6000, 3000, 1000 },
	};
	struct three_pools v;
	struct test_env env;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v, XS_SPLIT_FLOW);
	for (size_t s = 0; s < 4 && !failed; s++) {
		unsigned long seen[XS_POOL_COUNT] = { 0 }, lost = 0;
		struct xs_pool_stats before[XS_POOL_COUNT], after;
		struct flow_source flows;

		env_set_weights(&env, v.vip_id, settings[s][0], settings[s][1],
				settings[s][2], XS_POOL_BLUE);
		for (int p = 0; p < XS_POOL_COUNT; p++)
			xs_pool_stats_read(&env.dp, v.vip_id, p, &before[p]);
		flow_source_init(&flows, 4, 1000 + s);
		for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
			int pool = pool_of(&v, send_flow_packet(&env, &flows,
								"10.100.0.1",
								80, 0x02));
			if (pool < 0)
				lost++;
			else
				seen[pool]++;
		}
		printf("     weights %5.2f/%5.2f/%5.2f%%: blue %lu green %lu canary %lu of %d\n",
		       settings[s][0] / 100.0, settings[s][1] / 100.0,
		       settings[s][2] / 100.0, seen[0], seen[1], seen[2],
		       FLOWS);
		for (int p = 0; p < XS_POOL_COUNT; p++) {
			double share = settings[s][p] / 10000.0;

			xs_pool_stats_read(&env.dp, v.vip_id, p, &after);
			if (!within_binomial_bound(seen[p], FLOWS, share) ||
			    after.new_flows - before[p].new_flows != seen[p]) {
				fprintf(stderr,
					"    pool %d: %lu flows, want %.0f; stats counted %llu\n",
					p, seen[p], share * FLOWS,
					(unsigned long long)(after.new_flows -
							     before[p]
								     .new_flows));
				failed = 1;
			}
		}
		if (lost) {
			fprintf(stderr, "    %lu flows not forwarded\n", lost);
			failed = 1;
		}
	}
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* Raising the canary from 5% to 10% moves no flow out of the canary. */
static int growing_canary_keeps_its_clients(const void *arg)
{
	struct three_pools v;
	struct test_env env;
	struct flow_source flows;
	unsigned char *in_canary = calloc(FLOWS, 1);
	unsigned long at5 = 0, at10 = 0, left = 0;
	int failed = 0;

	(void)arg;
	CHECK(in_canary != NULL, "out of memory");
	if (env_setup(&env)) {
		free(in_canary);
		return -1;
	}
	make_vip(&env, &v, XS_SPLIT_FLOW);
	env_set_weights(&env, v.vip_id, 9500, 0, 500, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 77);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		in_canary[i] =
			pool_of(&v, send_flow_packet(&env, &flows, "10.100.0.1",
						     80, 0x02)) ==
			XS_POOL_CANARY;
		at5 += in_canary[i];
	}
	/* forget every flow, so the same tuples are decided afresh */
	if (env_clear_flows(&env))
		failed = 1;
	env_set_weights(&env, v.vip_id, 9000, 0, 1000, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 77);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		int canary =
			pool_of(&v, send_flow_packet(&env, &flows, "10.100.0.1",
						     80, 0x02)) ==
			XS_POOL_CANARY;
		at10 += canary;
		left += in_canary[i] && !canary;
	}
	printf("     canary 5%%: %lu flows, 10%%: %lu flows, left the canary: %lu\n",
	       at5, at10, left);
	if (left || !within_binomial_bound(at5, FLOWS, 0.05) ||
	    !within_binomial_bound(at10, FLOWS, 0.10))
		failed = 1;
	free(in_canary);
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* With the client split key one client sees one pool on every port. */
static int client_key_keeps_a_client_in_one_pool(const void *arg)
{
	const int clients = 400, ports = 100;
	unsigned long canary_clients = 0, mixed = 0;
	struct three_pools v;
	struct test_env env;
	struct flow_source flows;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v, XS_SPLIT_CLIENT);
	env_set_weights(&env, v.vip_id, 5000, 0, 5000, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 5);
	for (int c = 0; c < clients; c++, flow_source_next(&flows)) {
		int first = -1, differs = 0;

		for (int port = 0; port < ports; port++) {
			struct flow_source one = flows;
			int pool;

			one.port = 20000 + port;
			pool = pool_of(&v, send_flow_packet(&env, &one,
							    "10.100.0.1", 80,
							    0x02));
			if (first < 0)
				first = pool;
			differs |= pool != first || pool < 0;
		}
		mixed += differs;
		canary_clients += first == XS_POOL_CANARY;
	}
	printf("     %d clients x %d ports: %lu in the canary, %lu split across pools\n",
	       clients, ports, canary_clients, mixed);
	if (mixed || !within_binomial_bound(canary_clients, clients, 0.5))
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *split_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "split: 100k flows per weight setting within 99.9% bounds",
		  fractions_within_binomial_bounds, NULL },
		{ "split: canary 5% -> 10% moves no flow out of the canary",
		  growing_canary_keeps_its_clients, NULL },
		{ "split: client key keeps a client in one pool on 100 ports",
		  client_key_keeps_a_client_in_one_pool, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
