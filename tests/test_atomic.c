// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The route entry is switched atomically: a writer thread flips it between
 * two valid states as fast as it can while packets run through the program.
 * Not one packet may see a mix of the two. A control run writes the same
 * states as two 32-bit halves, with a pause between, to show that a torn
 * entry is seen and counted, so the main run could fail.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define PACKETS 200000

/* Mixing these two gives weights that do not sum to 10000. */
static const struct xs_route state_a = { .weight = { 9000, 0, 1000 },
					 .live_pool = XS_POOL_BLUE };
static const struct xs_route state_b = { .weight = { 0, 5000, 5000 },
					 .live_pool = XS_POOL_GREEN };

struct flipper {
	struct test_env *env;
	__u32 vip_id;
	int torn; /* write as two halves: the control run */
	atomic_int stop;
	unsigned long flips;
};

static void *flip_routes(void *arg)
{
	struct flipper *f = arg;

	while (!atomic_load(&f->stop)) {
		const struct xs_route *next = f->flips % 2 ? &state_a :
							     &state_b;

		if (f->torn) {
			union xs_route_word word = { .route = *next };
			__u32 *halves = (__u32 *)((char *)f->env->dp.routes +
						  f->vip_id * 8);

			__atomic_store_n(&halves[0], (__u32)word.raw,
					 __ATOMIC_RELEASE);
			usleep(50);
			__atomic_store_n(&halves[1], (__u32)(word.raw >> 32),
					 __ATOMIC_RELEASE);
			usleep(50);
		} else {
			xs_route_write(&f->env->dp, f->vip_id, next);
		}
		f->flips++;
	}
	return NULL;
}

/* Runs PACKETS new flows while the route flips; counts the invalid reads
 * and the packets that did not reach a backend of the VIP. */
static int run_under_flips(struct test_env *env, __u32 vip_id, int torn,
			   __u64 *invalid, unsigned long *misplaced,
			   unsigned long *flips, unsigned long *pools_seen)
{
	struct flipper f = { .env = env, .vip_id = vip_id, .torn = torn };
	struct flow_source flows;
	__u64 invalid_before = env_counter(env, XS_PASS_INVALID_ROUTE);
	pthread_t writer;

	*misplaced = 0;
	*pools_seen = 0;
	if (pthread_create(&writer, NULL, flip_routes, &f))
		return -1;
	flow_source_init(&flows, 4, 31 + torn);
	for (int i = 0; i < PACKETS; i++, flow_source_next(&flows)) {
		__u32 backend =
			send_flow_packet(env, &flows, "10.100.0.1", 80, 0x02);

		if (backend >= 1 && backend <= 3)
			*pools_seen |= 1UL << (backend - 1);
		else
			++*misplaced;
	}
	atomic_store(&f.stop, 1);
	pthread_join(writer, NULL);
	*invalid = env_counter(env, XS_PASS_INVALID_ROUTE) - invalid_before;
	*flips = f.flips;
	return 0;
}

static int switch_is_atomic_under_load(const void *arg)
{
	unsigned long misplaced, flips, pools, control_misplaced, control_flips;
	__u64 invalid, control_invalid;
	struct test_env env;
	__u32 vip_id;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	vip_id = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
			     XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	/* backend ids 1, 2, 3: one per pool */
	env_add_backend(&env, vip_id, XS_POOL_BLUE, 4, "10.0.1.1", 1);
	env_add_backend(&env, vip_id, XS_POOL_GREEN, 4, "10.0.2.1", 1);
	env_add_backend(&env, vip_id, XS_POOL_CANARY, 4, "10.0.3.1", 1);

	if (run_under_flips(&env, vip_id, 0, &invalid, &misplaced, &flips,
			    &pools) ||
	    run_under_flips(&env, vip_id, 1, &control_invalid,
			    &control_misplaced, &control_flips, &pools))
		failed = 1;
	printf("     atomic: %lu flips, %llu invalid reads, %lu packets misplaced\n"
	       "     control (torn halves): %lu flips, %llu invalid reads\n",
	       flips, (unsigned long long)invalid, misplaced, control_flips,
	       (unsigned long long)control_invalid);
	if (invalid || misplaced || flips < 1000 || pools != 7 ||
	    !control_invalid)
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *atomic_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "atomic: route flips under load, no packet sees a torn entry",
		  switch_is_atomic_under_load, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
