// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpsplit-decide IFACE VIP CLIENT FIRST_PORT COUNT: runs the xdp_split
 * attached to IFACE (in this network namespace) on COUNT new TCP flows,
 * CLIENT:FIRST_PORT.. -> VIP, with BPF_PROG_TEST_RUN, and prints one line
 * per flow: the client port, the verdict and where the packet went (the
 * destination MAC for l2dsr, the outer destination for ipip). The fleet
 * tests run it on every LB host alone and compare: identical
 * configuration must give identical decisions. A test tool, not shipped.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testlib/packet.h"

static int usage(void)
{
	fprintf(stderr,
		"Usage: xdpsplit-decide IFACE VIP_ADDRESS:PORT CLIENT FIRST_PORT COUNT\n");
	return 2;
}

int main(int argc, char **argv)
{
	__u8 frame[FRAME_CAPACITY], out[FRAME_CAPACITY + 128];
	unsigned long first, count;
	int ifindex, prog_fd, family;
	char vip[64], *colon;
	__u32 id = 0;

	if (argc != 6)
		return usage();
	ifindex = (int)if_nametoindex(argv[1]);
	snprintf(vip, sizeof(vip), "%s", argv[2]);
	colon = strrchr(vip, ':');
	first = strtoul(argv[4], NULL, 10);
	count = strtoul(argv[5], NULL, 10);
	if (!ifindex || !colon || !first || first + count > 65536)
		return usage();
	*colon = '\0';
	family = strchr(argv[3], ':') ? 6 : 4;
	if ((bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id) &&
	    (bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) || !id)) {
		fprintf(stderr, "Error: no XDP program on %s\n", argv[1]);
		return 1;
	}
	prog_fd = bpf_prog_get_fd_by_id(id);
	if (prog_fd < 0) {
		perror("bpf_prog_get_fd_by_id");
		return 1;
	}
	for (unsigned long port = first; port < first + count; port++) {
		struct packet_spec spec = {
			.family = family,
			.client = argv[3],
			.vip = vip[0] == '[' ? vip + 1 : vip,
			.client_port = (__u16)port,
			.vip_port = (__u16)atoi(colon + 1),
			.protocol = IPPROTO_TCP,
			.tcp_flags = 0x02, /* SYN */
		};
		char address[INET6_ADDRSTRLEN] = "";
		struct xdp_md context = { .ingress_ifindex = (__u32)ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame,
			    .data_out = out, .data_size_out = sizeof(out),
			    .ctx_in = &context, .ctx_size_in = sizeof(context),
			    .repeat = 1);
		size_t l3;

		if (vip[0] == '[' && strchr(vip, ']'))
			*strchr(vip, ']') = '\0';
		run.data_size_in = (__u32)build_packet(&spec, frame);
		context.data_end = run.data_size_in;
		if (bpf_prog_test_run_opts(prog_fd, &run)) {
			perror("bpf_prog_test_run_opts");
			return 1;
		}
		l3 = l3_offset(out);
		/* an outer header: ipip's backend address */
		if (run.data_size_out > run.data_size_in) {
			if (out[l3] >> 4 == 4)
				inet_ntop(AF_INET, out + l3 + 16, address,
					  sizeof(address));
			else
				inet_ntop(AF_INET6, out + l3 + 24, address,
					  sizeof(address));
		}
		printf("%lu %u %02x:%02x:%02x:%02x:%02x:%02x %s\n", port,
		       run.retval, out[0], out[1], out[2], out[3], out[4],
		       out[5], address[0] ? address : "-");
	}
	return 0;
}
