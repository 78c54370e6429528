// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A route change inside a handshake: for many connections the SYN is decided
 * by one route and the ACK arrives under another. Whatever the flow table
 * keeps (or re-derives) between the two packets, the ACK, the data after it
 * and a retransmitted SYN go where the SYN went, and the pool's handshake
 * counters see each connection once, in the SYN's pool. Fresh SYNs after
 * the change follow the new route, so a change that did nothing fails. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define CONNECTIONS 2000
#define SYN 0x02
#define ACK 0x10
#define PSH 0x08
#define MAX_CHANGES 3
/* every RETRANSMIT_EVERY-th connection retransmits its SYN after the change */
#define RETRANSMIT_EVERY 4

struct route {
	__u16 blue, green, canary;
	__u8 live;
};

struct race_case {
	int family;
	struct route before;
	/* applied in turn, all between the SYNs and the ACKs */
	struct route changes[MAX_CHANGES];
	int change_count;
	/* the least number of the CONNECTIONS the final route would place
	 * elsewhere than their SYN went: proof the race was run */
	int least_would_move;
};

struct race_vip {
	const char *address;
	struct xs_vip vip;
	__u32 pool_of[64];
};

static void make_race_vip(struct test_env *env, int family, struct race_vip *v)
{
	char address[64];

	v->address = family == 4 ? "10.100.0.1" : "fd00:100::1";
	v->vip = (struct xs_vip){ .forward_mode = XS_MODE_L2DSR,
				  .split_key = XS_SPLIT_FLOW };
	v->vip.vip_id = env_add_vip(env, family, v->address, 80, IPPROTO_TCP,
				    XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	v->vip.route_id = v->vip.vip_id;
	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		for (int i = 0; i < 3; i++) {
			if (family == 4)
				snprintf(address, sizeof(address), "10.0.%d.%d",
					 pool + 1, i + 1);
			else
				snprintf(address, sizeof(address),
					 "fd00:%d::%d", pool + 1, i + 1);
			v->pool_of[env_add_backend(env, v->vip.vip_id, pool,
						   family, address, 1)] = pool;
		}
}

static int set_route(struct test_env *env, const struct race_vip *v,
		     const struct route *r)
{
	return env_set_weights(env, v->vip.vip_id, r->blue, r->green, r->canary,
			       r->live);
}

/* One packet of the connection; the backend it went to, 0 if none. */
static __u32 send_packet(struct test_env *env, const struct race_vip *v,
			 const struct flow_source *s, __u8 flags,
			 __u32 sequence, __u16 payload)
{
	static struct run_result result;
	struct packet_spec spec = {
		.family = s->family,
		.client = s->client,
		.vip = v->address,
		.client_port = s->port,
		.vip_port = 80,
		.protocol = IPPROTO_TCP,
		.tcp_flags = flags,
		.tcp_sequence = sequence,
		.payload_length = payload,
	};

	if (env_run_spec(env, &spec, &result) || result.action != XDP_TX)
		return 0;
	return env_backend_of_frame(result.frame);
}

/* The backend the route in the maps gives a new connection of s, 0 if none. */
static __u32 predicted(struct test_env *env, const struct race_vip *v,
		       const struct flow_source *s)
{
	struct xs_flow_key key = { .client_port = htons(s->port),
				   .vip_port = htons(80),
				   .protocol = XS_PROTOCOL_TCP,
				   .family = s->family == 4 ? XS_FAMILY_IPV4 :
							      XS_FAMILY_IPV6 };
	struct xs_prediction prediction;

	parse_address(s->family, s->client, key.client);
	parse_address(s->family, v->address, key.vip);
	if (xs_predict(&env->dp, &v->vip, &key, &prediction))
		return 0;
	return prediction.backend_id;
}

static __u32 isn_of(int i)
{
	return 0x10000000u + (__u32)i * 0x10001u;
}

static const char *const pool_names[XS_POOL_COUNT] = { "blue", "green",
						       "canary" };

struct expected {
	__u64 packets, new_flows, syn_retransmits, handshakes;
};

/* The first seed's connections' SYNs, each counted in want for the pool
 * it went to; 0 if each went where xs_predict said. */
static int open_handshakes(struct test_env *env, const struct race_vip *v,
			   int family, __u32 *backend, struct expected *want)
{
	int unpredicted = 0, unforwarded = 0;
	struct flow_source flows;

	flow_source_init(&flows, family, 11);
	for (int i = 0; i < CONNECTIONS; i++, flow_source_next(&flows)) {
		__u32 expected = predicted(env, v, &flows);

		backend[i] = send_packet(env, v, &flows, SYN, isn_of(i), 0);
		unforwarded += !backend[i];
		unpredicted += backend[i] != expected;
		want[v->pool_of[backend[i]]].packets++;
		want[v->pool_of[backend[i]]].new_flows++;
	}
	CHECK(!unforwarded && !unpredicted,
	      "%d SYNs not forwarded, %d not where the route said", unforwarded,
	      unpredicted);
	return 0;
}

/* How many handshakes the route in force would move, and how many of
 * their later packets went elsewhere than their SYN. */
struct moves {
	int would_move, ack, data, retransmit;
};

/* Each handshake's ACK and data (and every RETRANSMIT_EVERY-th one's SYN
 * again first), counted in want for its SYN's pool. */
static void finish_handshakes(struct test_env *env, const struct race_vip *v,
			      int family, const __u32 *backend,
			      struct expected *want, struct moves *moved)
{
	struct flow_source flows;

	memset(moved, 0, sizeof(*moved));
	flow_source_init(&flows, family, 11);
	for (int i = 0; i < CONNECTIONS; i++, flow_source_next(&flows)) {
		struct expected *pool = &want[v->pool_of[backend[i]]];

		moved->would_move += predicted(env, v, &flows) != backend[i];
		if (i % RETRANSMIT_EVERY == 0) {
			moved->retransmit += send_packet(env, v, &flows, SYN,
							 isn_of(i),
							 0) != backend[i];
			pool->packets++;
			pool->syn_retransmits++;
		}
		moved->ack += send_packet(env, v, &flows, ACK, isn_of(i) + 1,
					  0) != backend[i];
		moved->data += send_packet(env, v, &flows, ACK | PSH,
					   isn_of(i) + 1, 100) != backend[i];
		pool->packets += 2;
		pool->handshakes++;
	}
}

/* New connections (the second seed's) under the route now in force, each
 * counted in want; how many went elsewhere than it says. */
static int fresh_syns_astray(struct test_env *env, const struct race_vip *v,
			     int family, struct expected *want)
{
	struct flow_source flows;
	int astray = 0;

	flow_source_init(&flows, family, 12);
	for (int i = 0; i < CONNECTIONS; i++, flow_source_next(&flows)) {
		__u32 expected = predicted(env, v, &flows);
		__u32 now = send_packet(env, v, &flows, SYN, isn_of(i), 0);

		astray += !now || now != expected;
		want[v->pool_of[now]].packets++;
		want[v->pool_of[now]].new_flows++;
	}
	return astray;
}

/* Each pool's counters exactly as expected, a latency counted for every
 * handshake, and no client reset. */
static int check_pool_counters(const struct xs_pool_stats *stats,
			       const struct expected *want)
{
	for (int pool = 0; pool < XS_POOL_COUNT; pool++) {
		__u64 latencies = 0;

		for (int b = 0; b < XS_LATENCY_BUCKETS; b++)
			latencies += stats[pool].handshake_latency[b];
		printf("     %-6s new_flows %llu/%llu handshakes %llu/%llu syn_retransmits %llu/%llu packets %llu/%llu (counted/expected)\n",
		       pool_names[pool],
		       (unsigned long long)stats[pool].new_flows,
		       (unsigned long long)want[pool].new_flows,
		       (unsigned long long)stats[pool].handshakes_completed,
		       (unsigned long long)want[pool].handshakes,
		       (unsigned long long)stats[pool].syn_retransmits,
		       (unsigned long long)want[pool].syn_retransmits,
		       (unsigned long long)stats[pool].packets,
		       (unsigned long long)want[pool].packets);
		CHECK(stats[pool].new_flows == want[pool].new_flows &&
			      stats[pool].handshakes_completed ==
				      want[pool].handshakes &&
			      latencies == want[pool].handshakes &&
			      stats[pool].syn_retransmits ==
				      want[pool].syn_retransmits &&
			      stats[pool].packets == want[pool].packets &&
			      stats[pool].client_resets == 0,
		      "%s's counters are not exact", pool_names[pool]);
	}
	return 0;
}

static int race(struct test_env *env, const struct race_case *c)
{
	static __u32 backend[CONNECTIONS];
	struct expected want[XS_POOL_COUNT] = { 0 };
	struct xs_pool_stats stats[XS_POOL_COUNT];
	struct moves moved;
	int fresh_astray;
	struct race_vip v;

	make_race_vip(env, c->family, &v);
	CHECK_OK(set_route(env, &v, &c->before));

	/* every SYN under the old route */
	CHECK_OK(open_handshakes(env, &v, c->family, backend, want));

	/* the route changes while every handshake is under way */
	for (int k = 0; k < c->change_count; k++)
		CHECK_OK(set_route(env, &v, &c->changes[k]));
	finish_handshakes(env, &v, c->family, backend, want, &moved);
	fresh_astray = fresh_syns_astray(env, &v, c->family, want);

	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		CHECK_OK(xs_pool_stats_read(&env->dp, v.vip.vip_id, pool,
					    &stats[pool]));
	printf("     IPv%d, %d change(s) between SYN and ACK: %d of %d handshakes would move under the new route; moved: %d ACKs, %d data packets, %d of %d retransmitted SYNs; %d new SYNs not where the new route says\n",
	       c->family, c->change_count, moved.would_move, CONNECTIONS,
	       moved.ack, moved.data, moved.retransmit,
	       CONNECTIONS / RETRANSMIT_EVERY, fresh_astray);
	CHECK(moved.would_move >= c->least_would_move,
	      "only %d handshakes straddle a change of backend: the route change did not take",
	      moved.would_move);
	CHECK(!moved.ack && !moved.data && !moved.retransmit,
	      "a handshake's packets left its SYN's backend");
	CHECK(!fresh_astray, "%d new connections ignored the new route",
	      fresh_astray);
	CHECK_OK(check_pool_counters(stats, want));
	/* a retransmitted SYN is the same connection, not a new one */
	CHECK(env_counter(env, XS_FLOW_RECHOSEN_NEW_SYN) == 0,
	      "flow_rechosen_new_syn %llu",
	      (unsigned long long)env_counter(env, XS_FLOW_RECHOSEN_NEW_SYN));
	return 0;
}

/* The environment is torn down whatever the race found: no pins left. */
static int run_race(const void *arg)
{
	struct test_env env;
	int err;

	CHECK_OK(env_setup(&env));
	err = race(&env, arg);
	env_teardown(&env);
	return err;
}

#define BLUE_ONLY                                                              \
	{                                                                      \
		10000, 0, 0, XS_POOL_BLUE                                      \
	}

static const struct race_case switch_to_green = {
	.family = 4,
	.before = BLUE_ONLY,
	.changes = { { 0, 10000, 0, XS_POOL_GREEN } },
	.change_count = 1,
	.least_would_move = CONNECTIONS,
};
static const struct race_case switch_to_green_v6 = {
	.family = 6,
	.before = BLUE_ONLY,
	.changes = { { 0, 10000, 0, XS_POOL_GREEN } },
	.change_count = 1,
	.least_would_move = CONNECTIONS,
};
/* blue takes [0, 5000) of the split, then [0, 2000): some 30% would move */
static const struct race_case split_point_moves = {
	.family = 4,
	.before = { 5000, 0, 5000, XS_POOL_BLUE },
	.changes = { { 2000, 0, 8000, XS_POOL_BLUE } },
	.change_count = 1,
	.least_would_move = CONNECTIONS / 5,
};
static const struct race_case canary_to_100 = {
	.family = 4,
	.before = BLUE_ONLY,
	.changes = { { 0, 0, 10000, XS_POOL_BLUE } },
	.change_count = 1,
	.least_would_move = CONNECTIONS,
};
/* a rollout's step, a switch and the canary's end, all inside one handshake
 * (a client's SYN retransmitted after 1 s and 3 s can outlast several) */
static const struct race_case three_changes = {
	.family = 4,
	.before = { 8000, 0, 2000, XS_POOL_BLUE },
	.changes = { { 5000, 0, 5000, XS_POOL_BLUE },
		     { 0, 5000, 5000, XS_POOL_GREEN },
		     { 0, 10000, 0, XS_POOL_GREEN } },
	.change_count = 3,
	.least_would_move = CONNECTIONS,
};

const struct test_case *handshake_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "handshake race: switch blue -> green between SYN and ACK",
		  run_race, &switch_to_green },
		{ "handshake race: switch blue -> green between SYN and ACK, IPv6",
		  run_race, &switch_to_green_v6 },
		{ "handshake race: the split point moves between SYN and ACK",
		  run_race, &split_point_moves },
		{ "handshake race: canary 0 -> 100% between SYN and ACK",
		  run_race, &canary_to_100 },
		{ "handshake race: three route changes between SYN and ACK",
		  run_race, &three_changes },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
