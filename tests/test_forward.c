// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* l2dsr to a backend behind another interface: redirect with that
 * interface's MAC as the source, or a named drop if it is unknown. */
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include "env.h"
#include "tests.h"

static int redirect_to_backend_behind_another_interface(const void *arg)
{
	struct packet_spec syn = { .family = 4, .client = "192.0.2.10",
				   .vip = "10.100.0.1", .client_port = 4000,
				   .vip_port = 80, .protocol = IPPROTO_TCP,
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

const struct test_case *forward_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "forward: l2dsr redirects to a backend behind another NIC",
		  redirect_to_backend_behind_another_interface, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
