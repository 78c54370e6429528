// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow table: stickiness through weight changes and switches, pool
 * flushes, DOWN and DRAINING backends, fallback, and TCP health counters. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "user/lib/flow_table.h"
#include "user/lib/flow_usage.h"
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define FLOWS 2000
#define SYN 0x02
#define ACK 0x10

struct pools {
	__u32 vip_id;
	__u32 backends[XS_POOL_COUNT][3];
	__u32 pool_of[64];
};

static void make_vip(struct test_env *env, struct pools *v)
{
	char address[32];

	v->vip_id = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		for (int i = 0; i < 3; i++) {
			snprintf(address, sizeof(address), "10.0.%d.%d",
				 pool + 1, i + 1);
			v->backends[pool][i] = env_add_backend(
				env, v->vip_id, pool, 4, address, 1);
			v->pool_of[v->backends[pool][i]] = pool;
		}
}

/* Opens FLOWS connections (SYN, then ACK) and records their backends. */
static int open_flows(struct test_env *env, __u64 seed, __u32 *backend)
{
	struct flow_source flows;

	flow_source_init(&flows, 4, seed);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		backend[i] =
			send_flow_packet(env, &flows, "10.100.0.1", 80, SYN);
		if (!backend[i] || send_flow_packet(env, &flows, "10.100.0.1",
						    80, ACK) != backend[i])
			return -1;
	}
	return 0;
}

/* Sends one more data packet on each flow: how many changed backend. */
static int moved_flows(struct test_env *env, __u64 seed, __u32 *backend,
		       __u32 only_from)
{
	struct flow_source flows;
	int moved = 0;

	flow_source_init(&flows, 4, seed);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		__u32 now =
			send_flow_packet(env, &flows, "10.100.0.1", 80, ACK);

		if (only_from && backend[i] != only_from)
			continue;
		moved += now != backend[i];
		backend[i] = now;
	}
	return moved;
}

static int established_flows_stay_through_switch(const void *arg)
{
	__u32 backend[FLOWS], copy[FLOWS];
	struct flow_source flows;
	struct test_env env;
	struct pools v;
	int failed = 0, moved, new_on_green = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	env_set_weights(&env, v.vip_id, 9000, 0, 1000, XS_POOL_BLUE);
	if (open_flows(&env, 1, backend))
		failed = 1;
	memcpy(copy, backend, sizeof(copy));
	/* weight change, then blue -> green switch, then canary out */
	env_set_weights(&env, v.vip_id, 5000, 0, 5000, XS_POOL_BLUE);
	moved = moved_flows(&env, 1, backend, 0);
	env_set_weights(&env, v.vip_id, 0, 9000, 1000, XS_POOL_GREEN);
	moved += moved_flows(&env, 1, backend, 0);
	env_set_weights(&env, v.vip_id, 0, 10000, 0, XS_POOL_GREEN);
	moved += moved_flows(&env, 1, backend, 0);
	/* new connections all go green now */
	flow_source_init(&flows, 4, 2);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows))
		new_on_green +=
			v.pool_of[send_flow_packet(&env, &flows, "10.100.0.1",
						   80, SYN)] == XS_POOL_GREEN;
	printf("     %d established flows moved through 3 changes; %d/%d new flows on green\n",
	       moved, new_on_green, FLOWS);
	if (moved || new_on_green != FLOWS ||
	    memcmp(copy, backend, sizeof(copy)))
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* Flushing blue after a switch re-chooses exactly blue's flows. */
static int flush_rechooses_exactly_that_pool(const void *arg)
{
	__u32 backend[FLOWS], before[FLOWS];
	struct test_env env;
	struct pools v;
	int failed = 0, wrong = 0, blue = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	env_set_weights(&env, v.vip_id, 8000, 0, 2000, XS_POOL_BLUE);
	if (open_flows(&env, 3, backend))
		failed = 1;
	memcpy(before, backend, sizeof(before));
	env_set_weights(&env, v.vip_id, 0, 8000, 2000, XS_POOL_GREEN);
	xs_pool_flush(&env.dp, v.vip_id, XS_POOL_BLUE);
	moved_flows(&env, 3, backend, 0);
	for (int i = 0; i < FLOWS; i++) {
		if (v.pool_of[before[i]] == XS_POOL_BLUE) {
			blue++;
			/* a blue flow is decided afresh: green or canary */
			wrong += v.pool_of[backend[i]] == XS_POOL_BLUE;
		} else {
			wrong += backend[i] != before[i];
		}
	}
	printf("     %d blue flows re-chosen, %d flows misplaced\n", blue,
	       wrong);
	if (wrong || !blue ||
	    env_counter(&env, XS_FLOW_RECHOSEN_POOL_FLUSHED) != (__u64)blue)
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

static int down_moves_flows_draining_keeps_them(const void *arg)
{
	__u32 backend[FLOWS], before[FLOWS];
	struct flow_source flows;
	struct test_env env;
	struct pools v;
	__u32 down, draining;
	int failed = 0, wrong = 0, on_down = 0, new_on_draining = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	down = v.backends[XS_POOL_BLUE][0];
	draining = v.backends[XS_POOL_BLUE][1];
	if (open_flows(&env, 4, backend))
		failed = 1;
	memcpy(before, backend, sizeof(before));
	CHECK_OK(xs_backend_set_state(&env.dp, down, XS_BACKEND_DOWN));
	CHECK_OK(xs_backend_set_state(&env.dp, draining, XS_BACKEND_DRAINING));
	moved_flows(&env, 4, backend, 0);
	for (int i = 0; i < FLOWS; i++) {
		if (before[i] == down) {
			on_down++;
			wrong += backend[i] == down ||
				 v.pool_of[backend[i]] != XS_POOL_BLUE;
		} else {
			wrong += backend[i] != before[i];
		}
	}
	flow_source_init(&flows, 4, 5);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		__u32 b = send_flow_packet(&env, &flows, "10.100.0.1", 80, SYN);

		new_on_draining += b == draining || b == down;
	}
	printf("     %d flows left the DOWN backend, %d misplaced, %d new flows on DOWN/DRAINING\n",
	       on_down, wrong, new_on_draining);
	if (wrong || !on_down || new_on_draining)
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* An empty chosen pool sends its flows to the live pool and counts it. */
static int empty_pool_falls_back_to_live(const void *arg)
{
	struct flow_source flows;
	struct test_env env;
	struct xs_pool_stats canary;
	struct pools v;
	int failed = 0, on_blue = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	for (int i = 0; i < 3; i++)
		xs_backend_set_state(&env.dp, v.backends[XS_POOL_CANARY][i],
				     XS_BACKEND_DOWN);
	env_set_weights(&env, v.vip_id, 5000, 0, 5000, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 6);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows))
		on_blue += v.pool_of[send_flow_packet(&env, &flows,
						      "10.100.0.1", 80, SYN)] ==
			   XS_POOL_BLUE;
	xs_pool_stats_read(&env.dp, v.vip_id, XS_POOL_CANARY, &canary);
	printf("     %d/%d flows on blue, canary fallbacks %llu\n", on_blue,
	       FLOWS, (unsigned long long)canary.fallbacks);
	if (on_blue != FLOWS ||
	    !within_binomial_bound(canary.fallbacks, FLOWS, 0.5))
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* SYN, a retransmitted SYN, the client's ACK, then RST: the pool's health
 * counters and latency histogram see each exactly once. */
static int handshake_counters(const void *arg)
{
	struct xs_pool_stats stats;
	struct flow_source flow;
	struct test_env env;
	__u64 histogram = 0;
	struct pools v;
	__u32 first;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	flow_source_init(&flow, 4, 7);
	first = send_flow_packet(&env, &flow, "10.100.0.1", 80, SYN);
	failed |= send_flow_packet(&env, &flow, "10.100.0.1", 80, SYN) != first;
	failed |= send_flow_packet(&env, &flow, "10.100.0.1", 80, ACK) != first;
	failed |= send_flow_packet(&env, &flow, "10.100.0.1", 80, ACK) != first;
	failed |= send_flow_packet(&env, &flow, "10.100.0.1", 80, 0x14) !=
		  first;
	xs_pool_stats_read(&env.dp, v.vip_id, XS_POOL_BLUE, &stats);
	for (int i = 0; i < XS_LATENCY_BUCKETS; i++)
		histogram += stats.handshake_latency[i];
	if (failed || stats.new_flows != 1 || stats.syn_retransmits != 1 ||
	    stats.handshakes_completed != 1 || histogram != 1 ||
	    stats.client_resets != 1 || stats.packets != 5) {
		fprintf(stderr,
			"    new %llu retrans %llu handshakes %llu histogram %llu resets %llu packets %llu\n",
			(unsigned long long)stats.new_flows,
			(unsigned long long)stats.syn_retransmits,
			(unsigned long long)stats.handshakes_completed,
			(unsigned long long)histogram,
			(unsigned long long)stats.client_resets,
			(unsigned long long)stats.packets);
		failed = 1;
	}
	/* a new SYN on the closed tuple is a new connection: decided afresh */
	send_flow_packet(&env, &flow, "10.100.0.1", 80, SYN);
	if (env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN) != 1)
		failed = 1;
	env_teardown(&env);
	return failed ? -1 : 0;
}

#define RETRIED_FLOWS 16
#define ISN_A 0x1000aaaa
#define ISN_B 0x7000bbbb

/* The entry of the flow, untagged, and which kind it is: 1 confirmed,
 * 2 pending (seen once), 0 none. */
static int flow_entry(struct test_env *env, const struct flow_source *s,
		      struct xs_flow *flow)
{
	struct xs_flow_key key = { .client_port = htons(s->port),
				   .vip_port = htons(80),
				   .protocol = XS_PROTOCOL_TCP,
				   .family = XS_FAMILY_IPV4 };
	__u8 meta;

	parse_address(4, s->client, key.client);
	parse_address(4, "10.100.0.1", key.vip);
	if (xs_flow_find(&env->dp, &key, flow, &meta))
		return 0;
	return meta & XS_FLOW_WAY_CONFIRMED ? 1 : 2;
}

/* One packet of the flow, with this sequence number, in VLAN tags (TCI)
 * `outer` and `inner` unless 0; returns the backend it went to, 0 if it was
 * not forwarded. */
static __u32 send_tagged(struct test_env *env, const struct flow_source *s,
			 __u8 flags, __u32 sequence, __u16 outer, __u16 inner)
{
	static struct run_result result;
	struct packet_spec spec = {
		.family = s->family,
		.client = s->client,
		.vip = "10.100.0.1",
		.client_port = s->port,
		.vip_port = 80,
		.protocol = IPPROTO_TCP,
		.tcp_flags = flags,
		.tcp_sequence = sequence,
		.vlan_count = outer ? (inner ? 2 : 1) : 0,
		.vlan_tags = { outer, inner },
	};

	if (env_run_spec(env, &spec, &result) || result.action != XDP_TX)
		return 0;
	return env_backend_of_frame(result.frame);
}

static __u32 send_tcp(struct test_env *env, const struct flow_source *s,
		      __u8 flags, __u32 sequence)
{
	return send_tagged(env, s, flags, sequence, 0, 0);
}

static void read_pools(struct test_env *env, __u32 vip_id,
		       struct xs_pool_stats *stats)
{
	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		xs_pool_stats_read(&env->dp, vip_id, pool, &stats[pool]);
}

/* The canary at 100% takes a SYN (ISN A) that is never answered; the
 * canary goes to 0%. A retransmission (ISN A) stays on the canary and is
 * counted as one; the client's next attempt (ISN B) is a new connection,
 * chosen by today's weights. With `confirmed`, the tuple first carried a
 * connection to blue, so the handshake under way lives in `flows`. */
static int new_isn_rechooses(int confirmed)
{
	__u32 canary[RETRIED_FLOWS], blue[RETRIED_FLOWS];
	struct xs_pool_stats stats[XS_POOL_COUNT];
	struct flow_source flows;
	struct test_env env;
	struct pools v;
	int wrong = 0;

	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	flow_source_init(&flows, 4, 8);
	for (int i = 0; confirmed && i < RETRIED_FLOWS;
	     i++, flow_source_next(&flows)) {
		__u32 first = send_tcp(&env, &flows, SYN, 0x100);

		wrong += v.pool_of[first] != XS_POOL_BLUE ||
			 send_tcp(&env, &flows, ACK, 0x101) != first;
	}
	env_set_weights(&env, v.vip_id, 0, 0, 10000, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 8);
	for (int i = 0; i < RETRIED_FLOWS; i++, flow_source_next(&flows)) {
		struct xs_flow flow;

		canary[i] = send_tcp(&env, &flows, SYN, ISN_A);
		wrong += v.pool_of[canary[i]] != XS_POOL_CANARY;
		/* a handshake under way on a confirmed tuple stays in flows */
		wrong += flow_entry(&env, &flows, &flow) !=
				 (confirmed ? 1 : 2) ||
			 flow.state != XS_FLOW_SYN_SEEN ||
			 flow.initial_sequence != htonl(ISN_A);
	}
	CHECK(!wrong, "%d flows not where they should be before the change",
	      wrong);
	read_pools(&env, v.vip_id, stats);
	CHECK(stats[XS_POOL_CANARY].new_flows == RETRIED_FLOWS, "%llu",
	      (unsigned long long)stats[XS_POOL_CANARY].new_flows);

	env_set_weights(&env, v.vip_id, 10000, 0, 0, XS_POOL_BLUE);
	flow_source_init(&flows, 4, 8);
	for (int i = 0; i < RETRIED_FLOWS; i++, flow_source_next(&flows))
		wrong += send_tcp(&env, &flows, SYN, ISN_A) != canary[i];
	read_pools(&env, v.vip_id, stats);
	printf("     retransmitted SYNs (same ISN): %d of %d left the canary, canary syn_retransmits %llu\n",
	       wrong, RETRIED_FLOWS,
	       (unsigned long long)stats[XS_POOL_CANARY].syn_retransmits);
	CHECK(!wrong &&
		      stats[XS_POOL_CANARY].syn_retransmits == RETRIED_FLOWS &&
		      env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN) ==
			      (confirmed ? RETRIED_FLOWS : 0),
	      "a retransmission was taken for a new connection");

	flow_source_init(&flows, 4, 8);
	for (int i = 0; i < RETRIED_FLOWS; i++, flow_source_next(&flows)) {
		blue[i] = send_tcp(&env, &flows, SYN, ISN_B);
		wrong += v.pool_of[blue[i]] != XS_POOL_BLUE;
		/* its own retransmission and the handshake's ACK follow it */
		wrong += send_tcp(&env, &flows, SYN, ISN_B) != blue[i];
		wrong += send_tcp(&env, &flows, ACK, ISN_B + 1) != blue[i];
	}
	read_pools(&env, v.vip_id, stats);
	printf("     new SYNs (ISN B) on the tuples: %d of %d misplaced; new_flows blue %llu canary %llu, syn_retransmits blue %llu canary %llu, handshakes blue %llu canary %llu\n",
	       wrong, RETRIED_FLOWS,
	       (unsigned long long)stats[XS_POOL_BLUE].new_flows,
	       (unsigned long long)stats[XS_POOL_CANARY].new_flows,
	       (unsigned long long)stats[XS_POOL_BLUE].syn_retransmits,
	       (unsigned long long)stats[XS_POOL_CANARY].syn_retransmits,
	       (unsigned long long)stats[XS_POOL_BLUE].handshakes_completed,
	       (unsigned long long)stats[XS_POOL_CANARY].handshakes_completed);
	CHECK(!wrong, "a new connection stayed on the canary");
	CHECK(env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN) ==
		      (confirmed ? 2 : 1) * RETRIED_FLOWS,
	      "flow_rechosen_new_syn %llu",
	      (unsigned long long)env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN));
	CHECK(stats[XS_POOL_BLUE].new_flows ==
			      (confirmed ? 2 : 1) * RETRIED_FLOWS &&
		      stats[XS_POOL_CANARY].new_flows == RETRIED_FLOWS &&
		      stats[XS_POOL_BLUE].syn_retransmits == RETRIED_FLOWS &&
		      stats[XS_POOL_CANARY].syn_retransmits == RETRIED_FLOWS &&
		      stats[XS_POOL_BLUE].handshakes_completed ==
			      (confirmed ? 2 : 1) * RETRIED_FLOWS &&
		      stats[XS_POOL_CANARY].handshakes_completed == 0,
	      "pool counters");
	env_teardown(&env);
	return 0;
}

static int new_isn_on_pending_handshake(const void *arg)
{
	(void)arg;
	return new_isn_rechooses(0);
}

static int new_isn_on_confirmed_tuple(const void *arg)
{
	(void)arg;
	return new_isn_rechooses(1);
}

/* Entries of one kind in the flow table, as splitctl status counts them. */
static int entries(struct test_env *env, enum xs_flow_table kind)
{
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];

	if (xs_flow_usage_read(&env->dp, usage))
		return -1;
	return (int)usage[kind].entries;
}

/* One client 5-tuple untagged, in VLAN 10 and in VLAN 20: three networks,
 * three connections, each decided by the weights of its own time (canary,
 * green, blue) and kept through the others' SYNs. The priority bits and an
 * inner tag do not change which network a frame is from. */
static int vlan_separates_flows(const void *arg)
{
	struct xs_pool_stats stats[XS_POOL_COUNT];
	static const struct {
		__u16 tag;
		__u16 blue, green, canary;
		__u8 live, pool;
	} networks[] = {
		{ 0, 0, 0, 10000, XS_POOL_BLUE, XS_POOL_CANARY },
		{ 10, 0, 10000, 0, XS_POOL_GREEN, XS_POOL_GREEN },
		{ 20, 10000, 0, 0, XS_POOL_BLUE, XS_POOL_BLUE },
	};
	__u32 backend[3], now[3];
	struct flow_source flow;
	struct test_env env;
	struct pools v;
	int wrong = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	flow_source_init(&flow, 4, 9);
	for (int n = 0; n < 3; n++) {
		env_set_weights(&env, v.vip_id, networks[n].blue,
				networks[n].green, networks[n].canary,
				networks[n].live);
		backend[n] = send_tagged(&env, &flow, SYN, ISN_A,
					 networks[n].tag, 0);
		wrong += v.pool_of[backend[n]] != networks[n].pool;
		wrong += send_tagged(&env, &flow, ACK, ISN_A + 1,
				     networks[n].tag, 0) != backend[n];
	}
	/* untagged; VLAN 10 with priority 5; VLAN 20 around an inner tag 99 */
	now[0] = send_tagged(&env, &flow, ACK, ISN_A + 1, 0, 0);
	now[1] = send_tagged(&env, &flow, ACK, ISN_A + 1, (5 << 13) | 10, 0);
	now[2] = send_tagged(&env, &flow, ACK, ISN_A + 1, 20, 99);
	read_pools(&env, v.vip_id, stats);
	printf("     untagged -> pool %d, VLAN 10 -> pool %d, VLAN 20 -> pool %d; %d confirmed entries, %d pending; new_flows blue %llu green %llu canary %llu\n",
	       v.pool_of[now[0]], v.pool_of[now[1]], v.pool_of[now[2]],
	       entries(&env, XS_FLOW_TABLE_CONFIRMED),
	       entries(&env, XS_FLOW_TABLE_PENDING),
	       (unsigned long long)stats[XS_POOL_BLUE].new_flows,
	       (unsigned long long)stats[XS_POOL_GREEN].new_flows,
	       (unsigned long long)stats[XS_POOL_CANARY].new_flows);
	CHECK(!wrong, "%d packets went astray while the flows were opened",
	      wrong);
	CHECK(!memcmp(now, backend, sizeof(now)),
	      "a network's flow moved to another's backend");
	CHECK(entries(&env, XS_FLOW_TABLE_CONFIRMED) == 3 &&
		      entries(&env, XS_FLOW_TABLE_PENDING) == 0,
	      "not one confirmed entry per network");
	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		CHECK(stats[pool].new_flows == 1 &&
			      stats[pool].handshakes_completed == 1,
		      "pool %d: new_flows %llu handshakes %llu", pool,
		      (unsigned long long)stats[pool].new_flows,
		      (unsigned long long)stats[pool].handshakes_completed);
	CHECK(env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN) == 0, "%llu",
	      (unsigned long long)env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN));
	env_teardown(&env);
	return 0;
}

/* The VLAN separates entries but is no part of the decision: at one set of
 * weights a 5-tuple goes to the same backend tagged or not (so hosts that
 * differ in VLAN stripping agree), and xs_predict, given the tagged key,
 * names that backend. */
static int vlan_is_no_part_of_the_decision(const void *arg)
{
	struct xs_prediction prediction;
	struct flow_source flows;
	struct test_env env;
	struct xs_vip vip;
	struct pools v;
	int differ = 0, mispredicted = 0, canary = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	make_vip(&env, &v);
	env_set_weights(&env, v.vip_id, 4000, 2000, 4000, XS_POOL_BLUE);
	vip = (struct xs_vip){ .vip_id = v.vip_id,
			       .route_id = v.vip_id,
			       .forward_mode = XS_MODE_L2DSR,
			       .split_key = XS_SPLIT_FLOW };
	flow_source_init(&flows, 4, 10);
	for (int i = 0; i < FLOWS; i++, flow_source_next(&flows)) {
		struct xs_flow_key key = { .client_port = htons(flows.port),
					   .vip_port = htons(80),
					   .protocol = XS_PROTOCOL_TCP,
					   .family = XS_FAMILY_IPV4,
					   .vlan_id = 30 };
		__u32 untagged = send_tcp(&env, &flows, SYN, ISN_A);
		__u32 tagged = send_tagged(&env, &flows, SYN, ISN_A, 30, 0);

		parse_address(4, flows.client, key.client);
		parse_address(4, "10.100.0.1", key.vip);
		differ += untagged != tagged;
		mispredicted += xs_predict(&env.dp, &vip, &key, &prediction) ||
				prediction.backend_id != tagged;
		canary += v.pool_of[tagged] == XS_POOL_CANARY;
	}
	printf("     %d flows in VLAN 30 and untagged: %d went to different backends, %d mispredicted, %d on the canary\n",
	       FLOWS, differ, mispredicted, canary);
	CHECK(!differ && !mispredicted, "false");
	CHECK(within_binomial_bound(canary, FLOWS, 0.4), "%d", canary);
	env_teardown(&env);
	return 0;
}

/* A route that does not add up is refused and the old one stays. */
static int invalid_route_is_refused(const void *arg)
{
	struct xs_route route = { .weight = { 5000, 0, 4000 },
				  .live_pool = XS_POOL_BLUE },
			now;
	struct test_env env;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP, XS_MODE_L2DSR,
		    XS_SPLIT_FLOW, NULL);
	failed |= xs_route_write(&env.dp, 0, &route) != -EINVAL;
	route = (struct xs_route){ .weight = { 0, 10000, 0 }, .live_pool = 2 };
	failed |= xs_route_write(&env.dp, 0, &route) != -EINVAL;
	xs_route_read(&env.dp, 0, &now);
	failed |= now.weight[0] != 10000 || now.live_pool != XS_POOL_BLUE;
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *flow_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "flows: established flows stay through weights and switch",
		  established_flows_stay_through_switch, NULL },
		{ "flows: flushing a pool re-chooses exactly its flows",
		  flush_rechooses_exactly_that_pool, NULL },
		{ "flows: DOWN backend's flows move, DRAINING's stay",
		  down_moves_flows_draining_keeps_them, NULL },
		{ "flows: an empty pool falls back to the live pool",
		  empty_pool_falls_back_to_live, NULL },
		{ "flows: handshake, retransmit and reset counters",
		  handshake_counters, NULL },
		{ "flows: a SYN with another ISN on an unanswered handshake is a new connection",
		  new_isn_on_pending_handshake, NULL },
		{ "flows: a SYN with another ISN on a confirmed tuple's handshake is a new connection",
		  new_isn_on_confirmed_tuple, NULL },
		{ "flows: one 5-tuple in two VLANs and untagged is three flows",
		  vlan_separates_flows, NULL },
		{ "flows: the VLAN is no part of the split decision",
		  vlan_is_no_part_of_the_decision, NULL },
		{ "routes: a route that does not sum to 100% is refused",
		  invalid_route_is_refused, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
