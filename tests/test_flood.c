// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The two flow tables: a flow is confirmed by its client's second packet, and
 * a flood of first packets cannot evict a confirmed flow. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <bpf/bpf.h>
#include "user/lib/flow_table.h"
#include "user/lib/flow_usage.h"
#include "testlib/env.h"
#include "tests.h"
#include "testlib/traffic.h"

#define SYN 0x02
#define ACK 0x10
#define RST 0x04
#define VIP "10.100.0.1"

enum where { NOWHERE, CONFIRMED, PENDING };

static void key_of(const char *client, __u16 port, __u8 protocol,
		   struct xs_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	parse_address(4, client, key->client);
	parse_address(4, VIP, key->vip);
	key->client_port = htons(port);
	key->vip_port = htons(80);
	key->protocol = protocol;
	key->family = XS_FAMILY_IPV4;
}

/* Which table holds the flow, and its entry. */
static enum where find(struct test_env *env, const char *client, __u16 port,
		       __u8 protocol, struct xs_flow *flow)
{
	struct xs_flow_key key;
	__u8 meta;

	key_of(client, port, protocol, &key);
	if (xs_flow_find(&env->dp, &key, flow, &meta))
		return NOWHERE;
	return meta & XS_FLOW_WAY_CONFIRMED ? CONFIRMED : PENDING;
}

static const char *const where_names[] = { "nowhere", "confirmed", "pending" };

/* Checks which table holds a flow, leaving its entry in `flow`. */
#define CHECK_WHERE(env, client, port, protocol, expected)                     \
	do {                                                                   \
		enum where where_ = find(env, client, port, protocol, &flow);  \
		CHECK(where_ == expected, "%s:%d is %s", client, port,         \
		      where_names[where_]);                                    \
	} while (0)

static int send_packet(struct test_env *env, const char *client, __u16 port,
		       __u8 protocol, __u8 flags)
{
	struct packet_spec spec = { .family = 4,
				    .client = client,
				    .vip = VIP,
				    .client_port = port,
				    .vip_port = 80,
				    .protocol = protocol,
				    .tcp_flags = flags };
	struct run_result result;

	return env_run_spec(env, &spec, &result) ? -1 : result.action;
}

/* A TCP and a UDP VIP on one address; returns the TCP one's id. */
static __u32 add_vips(struct test_env *env)
{
	__u32 tcp = env_add_vip(env, 4, VIP, 80, IPPROTO_TCP, XS_MODE_L2DSR,
				XS_SPLIT_FLOW, NULL);
	__u32 udp = env_add_vip(env, 4, VIP, 80, IPPROTO_UDP, XS_MODE_L2DSR,
				XS_SPLIT_FLOW, NULL);

	env_add_backend(env, tcp, XS_POOL_BLUE, 4, "10.0.1.1", 1);
	env_add_backend(env, tcp, XS_POOL_BLUE, 4, "10.0.1.2", 1);
	env_add_backend(env, udp, XS_POOL_BLUE, 4, "10.0.1.3", 1);
	return tcp;
}

static int second_packet_confirms(const void *arg)
{
	struct xs_pool_stats stats;
	struct test_env env;
	struct xs_flow flow;
	__u32 tcp_vip;

	(void)arg;
	CHECK_OK(env_setup(&env));
	tcp_vip = add_vips(&env);

	/* handshake: SYN pending, its retransmission still pending, ACK confirms */
	send_packet(&env, "198.18.0.1", 4000, IPPROTO_TCP, SYN);
	CHECK_WHERE(&env, "198.18.0.1", 4000, IPPROTO_TCP, PENDING);
	CHECK(flow.state == XS_FLOW_SYN_SEEN, "false");
	send_packet(&env, "198.18.0.1", 4000, IPPROTO_TCP, SYN);
	CHECK_WHERE(&env, "198.18.0.1", 4000, IPPROTO_TCP, PENDING);
	send_packet(&env, "198.18.0.1", 4000, IPPROTO_TCP, ACK);
	CHECK_WHERE(&env, "198.18.0.1", 4000, IPPROTO_TCP, CONFIRMED);
	CHECK(flow.state == XS_FLOW_ESTABLISHED, "false");
	xs_pool_stats_read(&env.dp, tcp_vip, XS_POOL_BLUE, &stats);
	CHECK(stats.handshakes_completed == 1 && stats.syn_retransmits == 1,
	      "false");

	/* datagrams: the second one confirms */
	send_packet(&env, "198.18.0.2", 5000, IPPROTO_UDP, 0);
	CHECK_WHERE(&env, "198.18.0.2", 5000, IPPROTO_UDP, PENDING);
	send_packet(&env, "198.18.0.2", 5000, IPPROTO_UDP, 0);
	CHECK_WHERE(&env, "198.18.0.2", 5000, IPPROTO_UDP, CONFIRMED);

	/* picked up mid-stream (an LB restart): counted, confirmed next packet */
	send_packet(&env, "198.18.0.3", 6000, IPPROTO_TCP, ACK);
	CHECK_WHERE(&env, "198.18.0.3", 6000, IPPROTO_TCP, PENDING);
	CHECK(flow.state == XS_FLOW_MIDSTREAM, "false");
	CHECK(env_counter(&env, XS_FLOW_MIDSTREAM_PICKUP) == 1, "false");
	send_packet(&env, "198.18.0.3", 6000, IPPROTO_TCP, ACK);
	CHECK_WHERE(&env, "198.18.0.3", 6000, IPPROTO_TCP, CONFIRMED);

	/* SYN then RST: closed where it is, never confirmed */
	send_packet(&env, "198.18.0.4", 7000, IPPROTO_TCP, SYN);
	send_packet(&env, "198.18.0.4", 7000, IPPROTO_TCP, RST | ACK);
	CHECK_WHERE(&env, "198.18.0.4", 7000, IPPROTO_TCP, PENDING);
	CHECK(flow.state == XS_FLOW_CLOSED, "false");

	CHECK(env_counter(&env, XS_FLOW_CONFIRMED) == 3, "false");
	CHECK(env_counter(&env, XS_FLOW_PENDING_INSERTED) == 4, "false");
	env_teardown(&env);
	return 0;
}

/* A connection whose end the LB never saw (the backend reset it: direct
 * server return) and whose tuple the client uses again: the new SYN is a new
 * connection, so a DRAINING backend gets it no more. */
static int new_syn_on_an_established_tuple(const void *arg)
{
	struct test_env env;
	struct xs_flow flow;
	__u32 first, other;

	(void)arg;
	CHECK_OK(env_setup(&env));
	add_vips(&env);
	send_packet(&env, "198.18.0.5", 8000, IPPROTO_TCP, SYN);
	send_packet(&env, "198.18.0.5", 8000, IPPROTO_TCP, ACK);
	CHECK_WHERE(&env, "198.18.0.5", 8000, IPPROTO_TCP, CONFIRMED);
	first = flow.backend_id;
	other = first == 1 ? 2 : 1;
	CHECK_OK(xs_backend_set_state(&env.dp, first, XS_BACKEND_DRAINING));
	send_packet(&env, "198.18.0.5", 8000, IPPROTO_TCP, ACK);
	CHECK_WHERE(&env, "198.18.0.5", 8000, IPPROTO_TCP, CONFIRMED);
	CHECK(flow.backend_id == first, "the draining backend lost its flow");
	send_packet(&env, "198.18.0.5", 8000, IPPROTO_TCP, SYN);
	CHECK_WHERE(&env, "198.18.0.5", 8000, IPPROTO_TCP, CONFIRMED);
	CHECK(flow.backend_id == other && flow.state == XS_FLOW_SYN_SEEN,
	      "the new SYN went to backend %u in state %u", flow.backend_id,
	      flow.state);
	CHECK(env_counter(&env, XS_FLOW_RECHOSEN_NEW_SYN) == 1, "false");
	env_teardown(&env);
	return 0;
}

#define IDLE_FLOWS 1000
#define TABLE_SIZE 4096 /* 1,024 buckets of 8 ways: 8,192 */

/* Opens IDLE_FLOWS connections and records their backends. */
static void open_idle_flows(struct test_env *env, __u32 *backend)
{
	struct flow_source flows;

	flow_source_init(&flows, 4, 7);
	for (int i = 0; i < IDLE_FLOWS; i++, flow_source_next(&flows)) {
		send_flow_packet(env, &flows, VIP, 80, SYN);
		backend[i] = send_flow_packet(env, &flows, VIP, 80, ACK);
	}
}

/* Flows that complete a handshake and send data, as the idle ones did. */
static void confirm_flows(struct test_env *env, struct flow_source *flows,
			  int count)
{
	for (int i = 0; i < count; i++, flow_source_next(flows)) {
		send_flow_packet(env, flows, VIP, 80, SYN);
		send_flow_packet(env, flows, VIP, 80, ACK);
		send_flow_packet(env, flows, VIP, 80, ACK);
	}
}

/* Makes every flow in the table look `units` older: the minute of idleness
 * a test cannot wait for. */
static int age_flows(struct test_env *env, __u16 units)
{
	int fd = env->dp.map_fd[XS_MAP_ID_FLOWS];
	struct xs_flow_bucket bucket;
	__u32 buckets = xs_flow_buckets(env->dp.config.max_flows);

	for (__u32 i = 0; i < buckets; i++) {
		if (bpf_map_lookup_elem(fd, &i, &bucket))
			return -errno;
		for (int way = 0; way < XS_FLOW_WAYS; way++)
			bucket.last_seen[way] -= units;
		if (bpf_map_update_elem(fd, &i, &bucket, BPF_EXIST))
			return -errno;
	}
	return 0;
}

/* How many of the idle flows lost their entry or their backend. */
static int idle_flows_lost(struct test_env *env, const __u32 *backend)
{
	struct flow_source flows;
	struct xs_flow flow;
	int lost = 0;

	flow_source_init(&flows, 4, 7);
	for (int i = 0; i < IDLE_FLOWS; i++, flow_source_next(&flows))
		lost += find(env, flows.client, flows.port, IPPROTO_TCP,
			     &flow) != CONFIRMED ||
			flow.backend_id != backend[i] ||
			send_flow_packet(env, &flows, VIP, 80, ACK) !=
				backend[i];
	return lost;
}

/* A flood through a 4,096-entry table while 1,000 connections sit idle:
 * first packets only (SYN, mid-stream ACK, datagram) evict none of them; the
 * control, flood flows that complete a handshake and send data, does evict
 * them, so the measure can see a loss. */
static int flood_evicts_no_confirmed_flow(const void *arg)
{
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];
	struct xs_load_options small = { .max_flows = TABLE_SIZE };
	__u32 backend[IDLE_FLOWS];
	struct flow_source flood;
	struct test_env env;
	int lost, control_lost;
	const int flood_packets = 150000, control_flows = 20000;

	(void)arg;
	CHECK_OK(env_setup_with(&env, &small));
	add_vips(&env);
	open_idle_flows(&env, backend);

	flow_source_init(&flood, 4, 99);
	for (int i = 0; i < flood_packets; i++, flow_source_next(&flood)) {
		if (i % 3 == 2)
			send_packet(&env, flood.client, flood.port, IPPROTO_UDP,
				    0);
		else
			send_flow_packet(&env, &flood, VIP, 80,
					 i % 3 ? ACK : SYN);
	}
	lost = idle_flows_lost(&env, backend);
	CHECK_OK(xs_flow_usage_read(&env.dp, usage));
	printf("     %d first packets through a %d-entry table: %d of %d idle connections lost; evicted: pending %llu, confirmed %llu\n",
	       flood_packets, TABLE_SIZE, lost, IDLE_FLOWS,
	       (unsigned long long)usage[XS_FLOW_TABLE_PENDING].evicted,
	       (unsigned long long)usage[XS_FLOW_TABLE_CONFIRMED].evicted);
	CHECK(lost == 0, "false");
	CHECK(usage[XS_FLOW_TABLE_CONFIRMED].evicted == 0, "false");
	CHECK(usage[XS_FLOW_TABLE_CONFIRMED].entries == IDLE_FLOWS, "false");
	/* all but what the pending table holds was pushed out of it */
	CHECK(usage[XS_FLOW_TABLE_PENDING].evicted +
			      usage[XS_FLOW_TABLE_PENDING].entries ==
		      (__u64)flood_packets,
	      "pending: %llu evicted + %llu present",
	      (unsigned long long)usage[XS_FLOW_TABLE_PENDING].evicted,
	      (unsigned long long)usage[XS_FLOW_TABLE_PENDING].entries);

	/* flows that confirm fill the table, but a live connection's way is
	 * not theirs to take: what finds no way goes unstored */
	confirm_flows(&env, &flood, control_flows);
	lost = idle_flows_lost(&env, backend);
	printf("     %d confirmed flows: %d of %d idle connections lost, %llu new flows not stored\n",
	       control_flows, lost, IDLE_FLOWS,
	       (unsigned long long)env_counter(&env, XS_FLOW_NOT_STORED));
	CHECK(lost == 0, "false");
	CHECK(env_counter(&env, XS_FLOW_NOT_STORED) > 0, "false");

	/* control: once the idle connections have been idle for a minute,
	 * new confirmed flows do take their ways */
	CHECK_OK(age_flows(&env, XS_FLOW_IDLE_UNITS + 1));
	confirm_flows(&env, &flood, control_flows);
	control_lost = idle_flows_lost(&env, backend);
	CHECK_OK(xs_flow_usage_read(&env.dp, usage));
	printf("     control: %d confirmed flows: %d of %d idle connections lost; confirmed evicted %llu\n",
	       control_flows, control_lost, IDLE_FLOWS,
	       (unsigned long long)usage[XS_FLOW_TABLE_CONFIRMED].evicted);
	CHECK(control_lost > 0, "false");
	CHECK(usage[XS_FLOW_TABLE_CONFIRMED].evicted >= (__u64)control_lost,
	      "false");
	env_teardown(&env);
	return 0;
}

static const struct test_case cases[] = {
	{ "flows: a flow is confirmed by its client's second packet",
	  second_packet_confirms, NULL },
	{ "flows: a new SYN on an established tuple is a new connection",
	  new_syn_on_an_established_tuple, NULL },
	{ "flood: first packets through a full table evict no confirmed flow",
	  flood_evicts_no_confirmed_flow, NULL },
};

const struct test_case *flood_tests(size_t *count)
{
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
