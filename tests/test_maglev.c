// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev tables (disruption, weights, determinism) and the agreement of the
 * userspace prediction with the program. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/maglev.h"
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define TABLE_SIZE 16381

static void backend_at(struct xs_maglev_backend *b, __u32 id, int host,
		       __u32 weight)
{
	char address[32];

	memset(b, 0, sizeof(*b));
	snprintf(address, sizeof(address), "10.0.%d.%d", host / 250,
		 host % 250 + 1);
	parse_address(4, address, b->address);
	b->id = id;
	b->weight = weight;
}

/* Removing one of N backends moves about 1/N of the table (its own slots)
 * and next to nothing else; the same holds for real flows. */
static int removing_one_backend_moves_about_one_nth(const void *arg)
{
	enum { N = 10, FLOWS = 100000 };
	struct xs_maglev_backend backends[N];
	__u32 *before = malloc(TABLE_SIZE * 4), *after = malloc(TABLE_SIZE * 4);
	__u32 *flow_backend = malloc(FLOWS * 4);
	struct flow_source flows;
	struct test_env env;
	__u32 ids[N], vip_id, removed;
	int changed = 0, moved = 0, failed = 0;

	(void)arg;
	CHECK(before && after && flow_backend, "out of memory");
	for (int i = 0; i < N; i++)
		backend_at(&backends[i], i + 1, i, 1);
	CHECK_OK(xs_maglev_build(backends, N, TABLE_SIZE, before));
	CHECK_OK(xs_maglev_build(backends, N - 1, TABLE_SIZE, after));
	for (int s = 0; s < TABLE_SIZE; s++)
		changed += before[s] != after[s];

	/* the same through the data plane, with flows decided afresh */
	CHECK_OK(env_setup(&env));
	vip_id = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
			     XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	for (int i = 0; i < N; i++) {
		char address[32];

		snprintf(address, sizeof(address), "10.0.0.%d", 100 + i);
		ids[i] = env_add_backend(&env, vip_id, XS_POOL_BLUE, 4, address,
					 1);
	}
	flow_source_init(&flows, 4, 11);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows))
		flow_backend[i] =
			send_flow_packet(&env, &flows, "10.100.0.1", 80, 0x02);
	removed = ids[N / 2];
	env_clear_flows(&env);
	xs_backend_set_state(&env.dp, removed, XS_BACKEND_DOWN);
	flow_source_init(&flows, 4, 11);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		__u32 now =
			send_flow_packet(&env, &flows, "10.100.0.1", 80, 0x02);

		moved += now != flow_backend[i];
		failed |= now == removed || !now;
	}
	printf("     table: %.2f%% of slots changed; flows: %.2f%% moved (1/N = %.2f%%)\n",
	       100.0 * changed / TABLE_SIZE, 100.0 * moved / FLOWS, 100.0 / N);
	/* Maglev's own disruption of the survivors stays within a few percent
	 * of the table; more would mean the permutations are broken */
	if (changed < TABLE_SIZE / N * 0.9 || changed > TABLE_SIZE / N * 1.3 ||
	    moved < FLOWS / N * 0.9 || moved > FLOWS / N * 1.3)
		failed = 1;
	env_teardown(&env);
	free(before);
	free(after);
	free(flow_backend);
	return failed ? -1 : 0;
}

static int weights_shift_shares_proportionally(const void *arg)
{
	struct xs_maglev_backend backends[4];
	__u32 *table = malloc(TABLE_SIZE * 4);
	int slots[5] = { 0 }, failed = 0;

	(void)arg;
	CHECK(table != NULL, "out of memory");
	for (int i = 0; i < 4; i++)
		backend_at(&backends[i], i + 1, i, i + 1); /* 1:2:3:4 */
	CHECK_OK(xs_maglev_build(backends, 4, TABLE_SIZE, table));
	for (int s = 0; s < TABLE_SIZE; s++)
		slots[table[s]]++;
	printf("     weights 1:2:3:4 -> shares %.3f %.3f %.3f %.3f\n",
	       (double)slots[1] / TABLE_SIZE, (double)slots[2] / TABLE_SIZE,
	       (double)slots[3] / TABLE_SIZE, (double)slots[4] / TABLE_SIZE);
	for (int i = 1; i <= 4; i++) {
		double share = (double)slots[i] / TABLE_SIZE;

		if (share < i / 10.0 - 0.005 || share > i / 10.0 + 0.005)
			failed = 1;
	}
	free(table);
	return failed ? -1 : 0;
}

/* Same backends, other ids and order: the same address in every slot, so
 * every LB host behind one ECMP group decides alike. */
static int tables_are_deterministic(const void *arg)
{
	enum { N = 7 };
	struct xs_maglev_backend a[N], b[N];
	__u32 *ta = malloc(TABLE_SIZE * 4), *tb = malloc(TABLE_SIZE * 4);
	int failed = 0;

	(void)arg;
	CHECK(ta && tb, "out of memory");
	for (int i = 0; i < N; i++) {
		backend_at(&a[i], i + 1, i, 1 + i % 3);
		backend_at(&b[N - 1 - i], 100 + i, i, 1 + i % 3);
	}
	CHECK_OK(xs_maglev_build(a, N, TABLE_SIZE, ta));
	CHECK_OK(xs_maglev_build(b, N, TABLE_SIZE, tb));
	for (int s = 0; s < TABLE_SIZE; s++)
		failed |= tb[s] - 100 != ta[s] - 1;
	failed |= xs_maglev_build(a, N, 16380, ta) != -EINVAL;
	free(ta);
	free(tb);
	return failed ? -1 : 0;
}

/* The prediction and the program agree on every one of 100,000 flows:
 * weights, overrides, a DOWN backend and an empty pool's fallback. */
static int prediction_agrees_with_program(const void *arg)
{
	enum { FLOWS = 50000 };
	struct {
		int family;
		const char *vip, *override_prefix;
		__u8 split_key;
	} vips[] = {
		{ 4, "10.100.0.1", "198.18.0.0", XS_SPLIT_FLOW },
		{ 6, "fd00:100::1", "2001:2::", XS_SPLIT_CLIENT },
	};
	struct test_env env;
	int failed = 0, disagreements = 0, fallbacks = 0, overridden = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	for (int v = 0; v < 2; v++) {
		struct xs_vip_key key;
		struct xs_vip vip;
		struct flow_source flows;
		__be32 prefix[4];
		__u32 down = 0;

		vip.vip_id = env_add_vip(&env, vips[v].family, vips[v].vip, 80,
					 IPPROTO_TCP, XS_MODE_L2DSR,
					 vips[v].split_key, &key);
		xs_vip_read(&env.dp, &key, &vip);
		vip.flags |= XS_VIP_HAS_OVERRIDES;
		xs_vip_write(&env.dp, &key, &vip);
		for (int pool = 0; pool < 2; pool++)
			for (int i = 0; i < 4; i++) {
				char address[48];

				snprintf(address, sizeof(address),
					 vips[v].family == 4 ? "10.%d.%d.%d" :
							       "fd00:%d:%d::%d",
					 v + 1, pool + 1, i + 1);
				down = env_add_backend(&env, vip.vip_id, pool,
						       vips[v].family, address,
						       1 + i);
			}
		/* one green backend is DOWN; the canary pool has no backend
		 * at all, so its 10% falls back to blue */
		xs_backend_set_state(&env.dp, down, XS_BACKEND_DOWN);
		env_set_weights(&env, vip.vip_id, 6000, 3000, 1000,
				XS_POOL_BLUE);
		parse_address(vips[v].family, vips[v].override_prefix, prefix);
		xs_override_write(&env.dp, vip.vip_id, key.family, prefix,
				  vips[v].family == 4 ? 22 : 100,
				  XS_POOL_GREEN);

		flow_source_init(&flows, vips[v].family, 21 + v);
		for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
			struct xs_flow_key flow = {
				.client_port = htons(flows.port),
				.vip_port = htons(80),
				.protocol = XS_PROTOCOL_TCP,
				.family = key.family,
			};
			struct xs_prediction prediction;
			__u32 actual;

			parse_address(vips[v].family, flows.client,
				      flow.client);
			memcpy(flow.vip, key.address, sizeof(flow.vip));
			if (xs_predict(&env.dp, &vip, &flow, &prediction)) {
				failed = 1;
				break;
			}
			actual = send_flow_packet(&env, &flows, vips[v].vip, 80,
						  0x02);
			disagreements += actual != prediction.backend_id;
			fallbacks += prediction.fell_back;
			overridden += prediction.by_override;
		}
	}
	printf("     %d flows: %d disagreements (%d fallbacks, %d overrides predicted)\n",
	       2 * FLOWS, disagreements, fallbacks, overridden);
	if (disagreements || !fallbacks || !overridden)
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *maglev_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "maglev: removing 1 of 10 backends moves about 1/10",
		  removing_one_backend_moves_about_one_nth, NULL },
		{ "maglev: weights 1:2:3:4 give proportional shares",
		  weights_shift_shares_proportionally, NULL },
		{ "maglev: same backends in any order give the same table",
		  tables_are_deterministic, NULL },
		{ "agreement: prediction matches the program on 100k flows",
		  prediction_agrees_with_program, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
