// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "classes.h"
#include "testlib/generator.h"
#include "generator.skel.h"

const struct class classes[] = {
	[CLASS_ESTABLISHED] = { "TCP v4 established, 1,000 flows", 4,
				"10.100.0.1", IPPROTO_TCP, 1000, false, false,
				true },
	[CLASS_ESTABLISHED_LARGE] = { "TCP v4 established, 65,536 flows", 4,
				      "10.100.0.1", IPPROTO_TCP, 65536, false,
				      false, true },
	[CLASS_NEW_FLOW] = { "TCP v4 new flow every packet", 4, "10.100.0.1",
			     IPPROTO_TCP, 0, true, false, true },
	[CLASS_CONNECTION] = { "a connection: SYN then its ACK, new tuple each",
			       4, "10.100.0.1", IPPROTO_TCP, 0, true, true,
			       true },
	/* the floor does no encapsulation: compare with CLASS_ESTABLISHED */
	[CLASS_ESTABLISHED_IPIP] = { "TCP v4 established, 1,000 flows, ipip", 4,
				     "10.100.0.3", IPPROTO_TCP, 1000, false,
				     false, false },
	[CLASS_UDP] = { "UDP v4, 1,000 flows", 4, "10.100.0.1", IPPROTO_UDP,
			1000, false, false, false },
	[CLASS_V6] = { "TCP v6 established, 1,000 flows", 6, "fd00:100::1",
		       IPPROTO_TCP, 1000, false, false, false },
	[CLASS_NON_VIP] = { "non-VIP, passed", 4, "10.200.0.1", IPPROTO_TCP,
			    1000, false, false, false },
	[CLASS_CANARY] = { "canary 5% + 1,000 overrides, new flows", 4,
			   "10.100.0.2", IPPROTO_TCP, 0, true, false, true },
};
_Static_assert(sizeof(classes) / sizeof(classes[0]) == CLASS_COUNT,
	       "a class for every class_id");
const size_t class_count = sizeof(classes) / sizeof(classes[0]);

void flow_spec(const struct class *c, __u64 n, __u8 flags,
	       struct packet_spec *spec, char *client)
{
	if (c->family == 4)
		snprintf(client, 64, "198.18.%u.%u", (unsigned)(n >> 8) & 0xff,
			 (unsigned)n & 0xff);
	else
		snprintf(client, 64, "2001:2::%x", (unsigned)(n & 0xffff));
	memset(spec, 0, sizeof(*spec));
	spec->family = c->family;
	spec->client = client;
	spec->vip = c->vip;
	spec->client_port = 1024 + (n >> 16) % 60000;
	spec->vip_port = 80;
	spec->protocol = c->protocol;
	spec->tcp_flags = flags;
	parse_mac(TEST_LB_MAC, spec->destination_mac);
	parse_mac(TEST_CLIENT_MAC, spec->source_mac);
}

void setup_vips(struct test_env *env)
{
	struct xs_vip_key key;
	struct xs_vip vip;
	__u32 plain = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				  XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	__u32 udp = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_UDP,
				XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	__u32 v6 = env_add_vip(env, 6, "fd00:100::1", 80, IPPROTO_TCP,
			       XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	__u32 canary = env_add_vip(env, 4, "10.100.0.2", 80, IPPROTO_TCP,
				   XS_MODE_L2DSR, XS_SPLIT_FLOW, &key);
	__u32 ipip = env_add_vip(env, 4, "10.100.0.3", 80, IPPROTO_TCP,
				 XS_MODE_IPIP, XS_SPLIT_FLOW, NULL);
	char address[64];

	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "10.0.1.%d", i + 1);
		env_add_backend(env, plain, XS_POOL_BLUE, 4, address, 1);
		env_add_backend(env, udp, XS_POOL_BLUE, 4, address, 1);
		env_add_backend(env, canary,
				i < 2 ? XS_POOL_BLUE : XS_POOL_CANARY, 4,
				address, 1);
		snprintf(address, sizeof(address), "fd00:1::%d", i + 1);
		env_add_backend(env, v6, XS_POOL_BLUE, 6, address, 1);
		/* ipip backends are lb0's neighbours: bpf_fib_lookup finds them */
		snprintf(address, sizeof(address), "10.0.0.%d", i + 2);
		env_add_backend(env, ipip, XS_POOL_BLUE, 4, address, 1);
	}
	env_set_weights(env, canary, 9500, 0, 500, XS_POOL_BLUE);
	for (int i = 0; i < 1000; i++) {
		__be32 prefix[4] = { htonl(0xac100000 | (i << 8)) };

		xs_override_write(&env->dp, canary, XS_FAMILY_IPV4, prefix, 24,
				  XS_POOL_CANARY);
	}
	xs_vip_read(&env->dp, &key, &vip);
	vip.flags |= XS_VIP_HAS_OVERRIDES;
	xs_vip_write(&env->dp, &key, &vip);
}

void class_template(struct generator *gen, const struct class *c)
{
	struct packet_spec spec;
	__u8 frame[FRAME_CAPACITY];
	char client[64];

	flow_spec(c, 0, c->tcp_syn ? 0x02 : 0x10, &spec, client);
	memset(frame, 0, sizeof(frame));
	build_packet(&spec, frame);
	memcpy(gen->bss->template.bytes, frame, TEMPLATE_BYTES);
	gen->bss->template.flows = c->flows;
	gen->bss->template.ipv6 = c->family == 6;
	gen->bss->template.connections = c->connection;
}
