// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_decap: runs on a backend in ipip mode. Strips the outer IPv4 (protocol
 * 4) or IPv6 (next header 41) header the splitter pushed and passes the inner
 * packet to the kernel, which then sees the client's packet to the VIP. For
 * hosts without the kernel's tunnel modules, or to avoid a tunnel device.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>
#include "parsing.bpf.h"

struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xdp_decap);

/* Moves the L2 header forward over the outer IP header and trims it off. */
static __always_inline int strip_outer(struct xdp_md *ctx, __u32 l2_length,
				       __u32 outer_length)
{
	__u8 l2[sizeof(struct ethhdr) + 2 * sizeof(struct vlan_header)];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(l2) > data_end)
		return XDP_PASS;
	__builtin_memcpy(l2, data, sizeof(l2));
	if (outer_length > 60 || bpf_xdp_adjust_head(ctx, outer_length))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > data_end)
		return XDP_DROP; /* cannot happen: the inner header follows */
	if (l2_length == sizeof(struct ethhdr))
		__builtin_memcpy(data, l2, sizeof(struct ethhdr));
	else if (l2_length == sizeof(struct ethhdr) + 4)
		__builtin_memcpy(data, l2, sizeof(struct ethhdr) + 4);
	else
		__builtin_memcpy(data, l2, sizeof(l2));
	return XDP_PASS;
}

SEC("xdp")
int xdp_decap(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.limit = (void *)(long)ctx->data_end,
	};
	struct packet p = {};
	__be16 proto;

	if (parse_ethernet(&c, &p, &proto))
		return XDP_PASS;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *outer = c.pos;

		if ((void *)(outer + 1) > c.end || outer->version != 4 ||
		    outer->ihl < 5 || outer->protocol != IPPROTO_IPIP)
			return XDP_PASS;
		/* the inner packet must be IPv4 too, or the ethertype lies */
		if (c.pos + outer->ihl * 4 + 1 > c.end ||
		    (*(__u8 *)(c.pos + outer->ihl * 4) >> 4) != 4)
			return XDP_PASS;
		return strip_outer(ctx, p.l2_length, outer->ihl * 4);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *outer = c.pos;

		if ((void *)(outer + 1) > c.end || outer->version != 6 ||
		    outer->nexthdr != IPPROTO_IPV6)
			return XDP_PASS;
		return strip_outer(ctx, p.l2_length, sizeof(*outer));
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
