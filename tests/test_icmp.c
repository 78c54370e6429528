// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP too-big behind ECMP: a stored flow's ICMP goes to the flow's backend
 * whatever the weights did since; one for a flow this host never saw goes
 * where a new packet of the flow would go now (xs_predict for the quoted
 * tuple swapped); and no ICMP writes the flow table, not even last_seen.
 * The fixture table has the frames byte for byte and the malformed ones.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <bpf/bpf.h>
#include "maps/decision.h"
#include "user/lib/flow_table.h"
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests.h"

#define FLOWS 48
#define BACKENDS_PER_POOL 3

struct icmp_vip {
	int family;
	const char *address, *client, *router;
	struct xs_vip vip;
	struct xs_vip_key key;
};

static struct icmp_vip vips[] = {
	{ .family = 4,
	  .address = "10.100.0.1",
	  .client = "192.0.2.10",
	  .router = "198.51.100.1" },
	{ .family = 6,
	  .address = "fd00:100::1",
	  .client = "2001:db8::10",
	  .router = "2001:db8::1" },
};

/* Both VIPs with backends in every pool, all traffic to blue at first. */
static int setup(struct test_env *env)
{
	static const char *const addresses[2][XS_POOL_COUNT] = {
		{ "10.0.1.%d", "10.0.2.%d", "10.0.3.%d" },
		{ "fd00:1::%d", "fd00:2::%d", "fd00:3::%d" },
	};

	if (env_setup(env))
		return -1;
	for (int v = 0; v < 2; v++) {
		struct icmp_vip *vip = &vips[v];
		__u32 id = env_add_vip(env, vip->family, vip->address, 80,
				       IPPROTO_TCP, XS_MODE_L2DSR,
				       XS_SPLIT_FLOW, &vip->key);

		for (int pool = 0; pool < XS_POOL_COUNT; pool++)
			for (int b = 1; b <= BACKENDS_PER_POOL; b++) {
				char address[64];

				snprintf(address, sizeof(address),
					 addresses[v][pool], b);
				env_add_backend(env, id, pool, vip->family,
						address, 1);
			}
		if (xs_vip_read(&env->dp, &vip->key, &vip->vip))
			return -1;
	}
	return 0;
}

static struct packet_spec client_packet(const struct icmp_vip *v, int i,
					__u8 tcp_flags)
{
	struct packet_spec spec = {
		.family = v->family,
		.client = v->client,
		.vip = v->address,
		.client_port = 41000 + i,
		.vip_port = 80,
		.protocol = IPPROTO_TCP,
		.tcp_flags = tcp_flags,
	};
	return spec;
}

/* The router's too-big about flow i's reply (VIP -> client). */
static struct packet_spec too_big(const struct icmp_vip *v, int i)
{
	struct packet_spec spec = client_packet(v, i, 0);

	spec.protocol = v->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	spec.router = v->router;
	spec.quoted_protocol = IPPROTO_TCP;
	return spec;
}

/* The client's flow key of flow i. */
static struct xs_flow_key flow_key(const struct icmp_vip *v, int i)
{
	struct xs_flow_key key = {
		.client_port = htons(41000 + i),
		.vip_port = htons(80),
		.protocol = XS_PROTOCOL_TCP,
		.family = v->key.family,
	};

	parse_address(v->family, v->client, key.client);
	memcpy(key.vip, v->key.address, sizeof(key.vip));
	return key;
}

/* The backend a frame was sent to, 0 unless forwarded by l2dsr. */
static __u32 run_to_backend(struct test_env *env, struct packet_spec *spec)
{
	static struct run_result result;

	if (env_run_spec(env, spec, &result) || result.action != XDP_TX)
		return 0;
	return env_backend_of_frame(result.frame);
}

static __u32 predicted(struct test_env *env, const struct icmp_vip *v, int i)
{
	struct xs_flow_key key = flow_key(v, i);
	struct xs_prediction prediction;

	if (xs_predict(&env->dp, &v->vip, &key, &prediction))
		return 0;
	return prediction.backend_id;
}

static __u32 bucket_index(struct test_env *env, const struct xs_flow_key *key)
{
	__u32 hash = xs_flow_table_hash(key, env->dp.config.flow_seed);

	return xs_flow_bucket_index(hash,
				    xs_flow_buckets(env->dp.config.max_flows));
}

/* Ages every way of key's bucket by `units` (so a touch would show) and
 * returns the bucket as it now is. */
static int age_bucket(struct test_env *env, const struct xs_flow_key *key,
		      __u16 units, struct xs_flow_bucket *bucket)
{
	int fd = env->dp.map_fd[XS_MAP_ID_FLOWS];
	__u32 index = bucket_index(env, key);

	if (bpf_map_lookup_elem(fd, &index, bucket))
		return -1;
	for (int way = 0; way < XS_FLOW_WAYS; way++)
		bucket->last_seen[way] -= units;
	return bpf_map_update_elem(fd, &index, bucket, BPF_EXIST);
}

static int same_bucket(struct test_env *env, const struct xs_flow_key *key,
		       const struct xs_flow_bucket *before)
{
	struct xs_flow_bucket after;
	__u32 index = bucket_index(env, key);

	if (bpf_map_lookup_elem(env->dp.map_fd[XS_MAP_ID_FLOWS], &index,
				&after))
		return 0;
	return !memcmp(before, &after, sizeof(after));
}

/*
 * Flows stored here (half confirmed, half seen only as a SYN), then a
 * switch to green: each flow's ICMP still reaches the flow's blue
 * backend, though a new packet of it would now go to green, and
 * its bucket is byte for byte what it was (last_seen aged first, so a touch
 * would show; a pending flow stays pending).
 */
static int stored_flow_keeps_its_backend(const void *arg)
{
	static struct xs_flow_bucket before;
	int wrong = 0, moved = 0, written = 0, failed = 0;
	__u64 stored_before;
	struct test_env env;

	(void)arg;
	CHECK_OK(setup(&env));
	for (int v = 0; v < 2; v++) {
		static __u32 backend[FLOWS];
		struct icmp_vip *vip = &vips[v];

		for (int i = 0; i < FLOWS; i++) {
			struct packet_spec syn = client_packet(vip, i, 0x02);
			struct packet_spec ack = client_packet(vip, i, 0x10);

			backend[i] = run_to_backend(&env, &syn);
			if (i % 2 && run_to_backend(&env, &ack) != backend[i])
				backend[i] = 0;
			CHECK(backend[i], "flow %d of VIP %s not forwarded", i,
			      vip->address);
		}
		CHECK_OK(env_set_weights(&env, vip->vip.vip_id, 0,
					 XS_WEIGHT_TOTAL, 0, XS_POOL_GREEN));
		stored_before = env_counter(&env, XS_FORWARD_ICMP_STORED_FLOW);
		for (int i = 0; i < FLOWS; i++) {
			struct packet_spec icmp = too_big(vip, i);
			struct xs_flow_key key = flow_key(vip, i);

			CHECK_OK(age_bucket(&env, &key, 3, &before));
			wrong += run_to_backend(&env, &icmp) != backend[i];
			moved += predicted(&env, vip, i) != backend[i];
			written += !same_bucket(&env, &key, &before);
		}
		if (env_counter(&env, XS_FORWARD_ICMP_STORED_FLOW) !=
		    stored_before + FLOWS)
			failed = 1;
	}
	printf("     %d flows: %d ICMPs not at the flow's backend, %d buckets written; a new packet would have moved %d of them\n",
	       2 * FLOWS, wrong, written, moved);
	env_teardown(&env);
	return failed || wrong || written || moved != 2 * FLOWS ? -1 : 0;
}

/*
 * No flow stored here (another host had them): each ICMP goes where
 * xs_predict sends a new packet of the quoted flow, before and after a
 * weight change, and nothing is stored.
 */
static int unstored_flow_is_decided_as_a_new_packet(const void *arg)
{
	static const __u16 weights[2][XS_POOL_COUNT] = { { 5000, 2500, 2500 },
							 { 1000, 1000, 8000 } };
	int disagreements = 0, stored = 0, changed = 0, failed = 0;
	static __u32 first[2][FLOWS];
	struct test_env env;

	(void)arg;
	CHECK_OK(setup(&env));
	for (int round = 0; round < 2; round++) {
		for (int v = 0; v < 2; v++) {
			struct icmp_vip *vip = &vips[v];

			CHECK_OK(env_set_weights(
				&env, vip->vip.vip_id, weights[round][0],
				weights[round][1], weights[round][2],
				XS_POOL_BLUE));
			for (int i = 0; i < FLOWS; i++) {
				struct packet_spec icmp = too_big(vip, i);
				struct xs_flow_key key = flow_key(vip, i);
				struct xs_flow flow;
				__u32 got = run_to_backend(&env, &icmp);

				disagreements += !got ||
						 got != predicted(&env, vip, i);
				stored += !xs_flow_find(&env.dp, &key, &flow,
							NULL);
				if (round == 0)
					first[v][i] = got;
				else
					changed += got != first[v][i];
			}
		}
	}
	if (env_counter(&env, XS_FORWARD_ICMP_NEW_CHOICE) != 4 * FLOWS ||
	    env_counter(&env, XS_FLOW_PENDING_INSERTED) != 0)
		failed = 1;
	printf("     %d ICMPs: %d disagree with xs_predict, %d flows stored; %d of %d moved with the weights\n",
	       4 * FLOWS, disagreements, stored, changed, 2 * FLOWS);
	env_teardown(&env);
	return failed || disagreements || stored || !changed ? -1 : 0;
}

/*
 * A stored flow whose backend went DOWN would be re-chosen by its client's
 * next packet: its ICMP is decided afresh, and the entry still names the
 * DOWN backend (the client's packet, not the ICMP, re-chooses it).
 */
static int stale_flow_is_decided_afresh(const void *arg)
{
	static struct xs_flow_bucket before;
	struct icmp_vip *vip = &vips[0];
	struct packet_spec syn = client_packet(vip, 7, 0x02);
	struct packet_spec icmp = too_big(vip, 7);
	struct xs_flow_key key = flow_key(vip, 7);
	__u32 down, got;
	struct test_env env;

	(void)arg;
	CHECK_OK(setup(&env));
	down = run_to_backend(&env, &syn);
	CHECK(down, "the SYN was not forwarded");
	CHECK_OK(xs_backend_set_state(&env.dp, down, XS_BACKEND_DOWN));
	CHECK_OK(age_bucket(&env, &key, 3, &before));
	got = run_to_backend(&env, &icmp);
	CHECK(got && got != down && got == predicted(&env, vip, 7),
	      "ICMP to backend %u (DOWN %u, predicted %u)", got, down,
	      predicted(&env, vip, 7));
	CHECK(env_counter(&env, XS_FORWARD_ICMP_NEW_CHOICE) == 1,
	      "not counted as a new choice");
	CHECK(same_bucket(&env, &key, &before), "the ICMP wrote the bucket");
	printf("     flow on DOWN backend %u: ICMP to %u, as predicted; entry untouched\n",
	       down, got);
	env_teardown(&env);
	return 0;
}

const struct test_case *icmp_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "icmp: too-big for a stored flow reaches its backend after a weight change, bucket untouched",
		  stored_flow_keeps_its_backend, NULL },
		{ "icmp: too-big for a flow not stored here goes where xs_predict says, storing nothing",
		  unstored_flow_is_decided_as_a_new_packet, NULL },
		{ "icmp: too-big for a flow on a DOWN backend is decided afresh, entry untouched",
		  stale_flow_is_decided_afresh, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
