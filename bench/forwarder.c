// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Puts the trivial forwarder (bench/forwarder.bpf.c) on an interface in
 * native mode, or takes it off; bench/compare.py runs it in the LB's
 * namespace in xdp_split's place. The program stays attached after this
 * exits, as `ip link set ... xdpdrv` would leave it.
 *
 * Usage: xdpsplit-forwarder IFACE VIP BACKEND_MAC | xdpsplit-forwarder IFACE off
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>
#include "forwarder.skel.h"

int main(int argc, char **argv)
{
	int ifindex = argc > 1 ? (int)if_nametoindex(argv[1]) : 0;
	struct forwarder *forwarder;
	unsigned int mac[6];
	struct in_addr vip;
	int err;

	if (argc == 3 && !strcmp(argv[2], "off") && ifindex)
		return bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL) ? 1 :
									   0;
	if (argc != 4 || !ifindex || inet_pton(AF_INET, argv[2], &vip) != 1 ||
	    sscanf(argv[3], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2],
		   &mac[3], &mac[4], &mac[5]) != 6) {
		fprintf(stderr,
			"Usage: %s IFACE VIP BACKEND_MAC | %s IFACE off\n",
			argv[0], argv[0]);
		return 2;
	}
	forwarder = forwarder__open();
	if (!forwarder)
		return 1;
	forwarder->rodata->vip = vip.s_addr;
	for (int i = 0; i < 6; i++)
		forwarder->rodata->backend_mac[i] = mac[i];
	err = forwarder__load(forwarder) ||
	      bpf_xdp_attach(ifindex,
			     bpf_program__fd(forwarder->progs.xdp_forward_one),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		fprintf(stderr,
			"Error: couldn't attach the forwarder to '%s': %s\n",
			argv[1], strerror(errno));
	forwarder__destroy(forwarder);
	return err ? 1 : 0;
}
