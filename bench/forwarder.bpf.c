// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The end-to-end ceiling of bench/compare.py: a trivial forwarder in
 * xdp_split's place. IPv4 to the VIP goes to the one backend as xdp_split's
 * l2dsr path sends it (the MAC the frame came to as its source, the
 * backend's as its destination, XDP_TX); everything else (ARP, the LB's own
 * traffic) goes to the stack. No state and no choice, so what it costs is
 * the topology's own: the veth hops, the bridge, XDP itself.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* set by bench/forwarder.c before loading */
const volatile __be32 vip;
const volatile __u8 backend_mac[ETH_ALEN];

SEC("xdp")
int xdp_forward_one(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->daddr != vip)
		return XDP_PASS;
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	/* byte by byte: a memcpy from the volatile array would let the
	 * compiler take it for the zeros it held when compiled */
	for (int i = 0; i < ETH_ALEN; i++)
		eth->h_dest[i] = backend_mac[i];
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
