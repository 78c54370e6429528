// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* l2dsr to a backend behind another interface: redirect with that
 * interface's MAC as the source, or a named drop if it is unknown. */
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib/env.h"
#include "tests.h"

static int redirect_to_backend_behind_another_interface(const void *arg)
{
	struct packet_spec syn = { .family = 4,
				   .client = "192.0.2.10",
				   .vip = "10.100.0.1",
				   .client_port = 4000,
				   .vip_port = 80,
				   .protocol = IPPROTO_TCP,
				   .tcp_flags = 0x02 };
	__u8 egress_mac[6] = { 0x02, 0, 0, 0, 0xee, 0x01 }, backend_mac[6];
	static struct run_result result;
	struct xs_backend backend;
	struct test_env env;
	__u32 vip_id, id, ifindex = if_nametoindex("lb0peer");
	int failed = 0;

	(void)arg;
	CHECK(ifindex != 0, "no lb0peer");
	CHECK_OK(env_setup(&env));
	vip_id = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
			     XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	id = env_add_backend(&env, vip_id, XS_POOL_BLUE, 4, "10.0.1.1", 1);
	xs_backend_read(&env.dp, id, &backend);
	backend.ifindex = ifindex;
	xs_backend_write(&env.dp, id, &backend);
	env_backend_mac(id, backend_mac);

	/* the egress interface's MAC is not known yet: a named drop */
	if (env_run_spec(&env, &syn, &result) || result.action != XDP_DROP ||
	    env_counter(&env, XS_DROP_NO_EGRESS_MAC) != 1) {
		fprintf(stderr, "    without an egress MAC: action %d\n",
			result.action);
		failed = 1;
	}
	CHECK_OK(xs_egress_write(&env.dp, ifindex, egress_mac));
	syn.tcp_flags = 0x10;
	if (env_run_spec(&env, &syn, &result) ||
	    result.action != XDP_REDIRECT ||
	    memcmp(result.frame, backend_mac, 6) ||
	    memcmp(result.frame + 6, egress_mac, 6) ||
	    env_counter(&env, XS_VERDICT_REDIRECT) != 1) {
		fprintf(stderr, "    redirect: action %d\n", result.action);
		failed = 1;
	}
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* Every CPU's tunnel_hops entry of a backend: read, or written from one. */
static int tunnel_hops(struct test_env *env, __u32 id,
		       struct xs_tunnel_hop *hops, int write)
{
	int fd = env->dp.map_fd[XS_MAP_ID_TUNNEL_HOPS];

	return write ? bpf_map_update_elem(fd, &id, hops, BPF_EXIST) :
		       bpf_map_lookup_elem(fd, &id, hops);
}

/* ipip reuses the FIB's answer per backend and CPU: a planted next-hop MAC
 * is what the next packet gets, until the entry expires or a packet larger
 * than any the FIB passed for it comes, which ask the FIB again. */
static int ipip_reuses_the_fib_answer(const void *arg)
{
	struct packet_spec ack = { .family = 4,
				   .client = "192.0.2.11",
				   .vip = "10.100.0.2",
				   .client_port = 4001,
				   .vip_port = 80,
				   .protocol = IPPROTO_TCP,
				   .tcp_flags = 0x10 };
	static const __u8 planted[6] = { 0x02, 0xde, 0xad, 0, 0, 0x01 };
	int cpus = libbpf_num_possible_cpus(), cached = -1, failed = 0;
	struct xs_tunnel_hop hops[cpus];
	static struct run_result result;
	__u8 fib_mac[6];
	struct test_env env;
	__u32 vip_id, id;

	(void)arg;
	CHECK_OK(env_setup(&env));
	vip_id = env_add_vip(&env, 4, "10.100.0.2", 80, IPPROTO_TCP,
			     XS_MODE_IPIP, XS_SPLIT_FLOW, NULL);
	id = env_add_backend(&env, vip_id, XS_POOL_BLUE, 4, "10.0.0.2", 1);
	CHECK_OK(env_run_spec(&env, &ack, &result));
	CHECK(result.action == XDP_TX, "action %d", result.action);
	memcpy(fib_mac, result.frame, 6);
	CHECK_OK(tunnel_hops(&env, id, hops, 0));
	for (int cpu = 0; cpu < cpus; cpu++)
		if (hops[cpu].expires_ns &&
		    !memcmp(hops[cpu].destination_mac, fib_mac, 6))
			cached = cpu;
	CHECK(cached >= 0, "no CPU kept the FIB's answer");

	for (int cpu = 0; cpu < cpus; cpu++) {
		hops[cpu] = hops[cached];
		memcpy(hops[cpu].destination_mac, planted, 6);
		hops[cpu].expires_ns = ~0ULL;
	}
	CHECK_OK(tunnel_hops(&env, id, hops, 1));
	CHECK_OK(env_run_spec(&env, &ack, &result));
	if (result.action != XDP_TX || memcmp(result.frame, planted, 6)) {
		fprintf(stderr, "    a kept answer was not used\n");
		failed = 1;
	}
	/* larger than any packet the FIB passed: asked again */
	ack.payload_length = 400;
	CHECK_OK(env_run_spec(&env, &ack, &result));
	if (result.action != XDP_TX || memcmp(result.frame, fib_mac, 6)) {
		fprintf(stderr, "    a larger packet used the kept answer\n");
		failed = 1;
	}
	/* expired: asked again */
	ack.payload_length = 0;
	CHECK_OK(tunnel_hops(&env, id, hops, 0));
	for (int cpu = 0; cpu < cpus; cpu++) {
		memcpy(hops[cpu].destination_mac, planted, 6);
		hops[cpu].expires_ns = 1;
	}
	CHECK_OK(tunnel_hops(&env, id, hops, 1));
	CHECK_OK(env_run_spec(&env, &ack, &result));
	if (result.action != XDP_TX || memcmp(result.frame, fib_mac, 6)) {
		fprintf(stderr, "    an expired answer was used\n");
		failed = 1;
	}
	printf("     FIB next hop %02x:%02x:%02x:%02x:%02x:%02x kept on CPU %d; planted MAC used, larger packet and expiry asked the FIB again\n",
	       fib_mac[0], fib_mac[1], fib_mac[2], fib_mac[3], fib_mac[4],
	       fib_mac[5], cached);
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *forward_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "forward: l2dsr redirects to a backend behind another NIC",
		  redirect_to_backend_behind_another_interface, NULL },
		{ "forward: ipip reuses the FIB's answer until it expires or a packet outgrows it",
		  ipip_reuses_the_fib_answer, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
