/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sending a packet to its backend: l2dsr rewrites the MACs; ipip pushes an
 * outer IPv4 or IPv6 header after the Ethernet header and any VLAN tags,
 * which are kept, with next hop and egress from the kernel's FIB (the last
 * answer per backend and CPU reused for 100 ms).
 * Each returns an XDP action and sets *reason.
 */
#ifndef XDPSPLIT_BPF_FORWARD_H
#define XDPSPLIT_BPF_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "parsing.bpf.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define TUNNEL_TTL 64
#define IPV4_DONT_FRAGMENT 0x4000

static __always_inline int forward_l2dsr(struct xdp_md *ctx,
					 const struct xs_backend *backend,
					 __u32 *reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return *reason = XS_DROP_ENCAP_FAILED, XDP_DROP;

	*reason = XS_FORWARD_L2DSR;
	if (backend->ifindex && backend->ifindex != ctx->ingress_ifindex) {
		__u32 ifindex = backend->ifindex;
		struct xs_egress *egress =
			bpf_map_lookup_elem(&egress_macs, &ifindex);

		if (!egress)
			return *reason = XS_DROP_NO_EGRESS_MAC, XDP_DROP;
		__builtin_memcpy(eth->h_source, egress->mac, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, backend->mac, ETH_ALEN);
		return bpf_redirect(ifindex, 0);
	}
	/* the frame was addressed to us, so its destination is our MAC; as a
	 * source it keeps a learning bridge from learning the client here */
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, backend->mac, ETH_ALEN);
	return XDP_TX;
}

static __always_inline __u16 ipv4_checksum(const struct iphdr *ip)
{
	const __u16 *words = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * Makes room for an outer header of `grow` bytes: the frame is extended at
 * the front and the Ethernet header and VLAN tags are moved to the new start.
 * Returns a pointer to where the outer header goes, or NULL.
 */
static __always_inline void *push_outer_header(struct xdp_md *ctx,
					       __u32 vlan_count, int grow)
{
	__u8 l2[sizeof(struct ethhdr) + 2 * sizeof(struct vlan_header)];
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -grow))
		return 0;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + grow + sizeof(l2) > data_end)
		return 0;
	__builtin_memcpy(l2, data + grow, sizeof(l2));
	if (vlan_count == 0) {
		__builtin_memcpy(data, l2, sizeof(struct ethhdr));
		return data + sizeof(struct ethhdr);
	}
	if (vlan_count == 1) {
		__builtin_memcpy(data, l2, sizeof(struct ethhdr) + 4);
		return data + sizeof(struct ethhdr) + 4;
	}
	__builtin_memcpy(data, l2, sizeof(l2));
	return data + sizeof(l2);
}

/* Names what an operator must fix: forwarding off on the interface, no
 * neighbour entry for the next hop, or a packet too big for the tunnel. */
static __always_inline int fib_failure(int rc, __u32 *reason)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		*reason = XS_DROP_TOO_BIG_FOR_TUNNEL;
		break;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		*reason = XS_DROP_FORWARDING_DISABLED;
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		*reason = XS_DROP_NO_NEIGHBOUR;
		break;
	default:
		*reason = XS_DROP_FIB_LOOKUP_FAILED;
	}
	return XDP_DROP;
}

/* Where an outer header goes: next hop, egress and the outer source. */
struct tunnel_route {
	__be32 source[XS_ADDRESS_WORDS];
	__u32 ifindex;
	__u8 destination_mac[ETH_ALEN];
	__u8 source_mac[ETH_ALEN];
};

static __always_inline int same_address(const __be32 *a, const __be32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

/* Asks the kernel's FIB the way to the backend, checking that a packet of
 * outer_length fits; 0, or XDP_DROP with the reason. */
static __always_inline int fib_route(struct xdp_md *ctx, const struct packet *p,
				     const struct xs_config *config,
				     const struct xs_backend *backend,
				     __u16 outer_length,
				     struct tunnel_route *out, __u32 *reason)
{
	struct bpf_fib_lookup fib = {
		.tot_len = outer_length,
		.ifindex = ctx->ingress_ifindex,
	};
	__u32 flags = 0;
	int rc;

	if (p->key.family == XS_FAMILY_IPV4) {
		fib.family = AF_INET;
		fib.tos = p->traffic_class;
		fib.ipv4_src = config->tunnel_source_v4;
		fib.ipv4_dst = backend->address[0];
		/* without a configured source, the kernel picks the egress
		 * address */
		if (!fib.ipv4_src)
			flags = BPF_FIB_LOOKUP_SRC;
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, config->tunnel_source_v6, 16);
		__builtin_memcpy(fib.ipv6_dst, backend->address, 16);
		if (!(config->tunnel_source_v6[0] |
		      config->tunnel_source_v6[1] |
		      config->tunnel_source_v6[2] |
		      config->tunnel_source_v6[3]))
			flags = BPF_FIB_LOOKUP_SRC;
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), flags);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fib_failure(rc, reason);
	__builtin_memset(out->source, 0, sizeof(out->source));
	if (p->key.family == XS_FAMILY_IPV4)
		out->source[0] = fib.ipv4_src;
	else
		__builtin_memcpy(out->source, fib.ipv6_src, 16);
	out->ifindex = fib.ifindex;
	__builtin_memcpy(out->destination_mac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(out->source_mac, fib.smac, ETH_ALEN);
	return 0;
}

/*
 * The way to an ipip backend: this CPU's last FIB answer for it while it
 * holds (struct xs_tunnel_hop in maps/contract.h says when), else the FIB's
 * own, kept for the next packets. A FIB lookup costs about as much as the
 * rest of an established packet's path. 0, or XDP_DROP with the reason.
 */
static __always_inline int
tunnel_route(struct xdp_md *ctx, const struct packet *p,
	     const struct xs_config *config, __u32 backend_id,
	     const struct xs_backend *backend, __u16 outer_length,
	     struct tunnel_route *out, __u32 *reason)
{
	struct xs_tunnel_hop *hop =
		bpf_map_lookup_elem(&tunnel_hops, &backend_id);
	__u64 now = bpf_ktime_get_coarse_ns();
	int action;

	if (hop && now < hop->expires_ns &&
	    hop->ingress_ifindex == ctx->ingress_ifindex &&
	    hop->tos == p->traffic_class &&
	    outer_length <= hop->verified_length &&
	    same_address(hop->backend, backend->address)) {
		__builtin_memcpy(out->source, hop->source, sizeof(out->source));
		out->ifindex = hop->egress_ifindex;
		__builtin_memcpy(out->destination_mac, hop->destination_mac,
				 ETH_ALEN);
		__builtin_memcpy(out->source_mac, hop->source_mac, ETH_ALEN);
		return 0;
	}
	action = fib_route(ctx, p, config, backend, outer_length, out, reason);
	if (!hop)
		return action;
	if (action) {
		hop->expires_ns = 0;
		return action;
	}
	__builtin_memcpy(hop->backend, backend->address, sizeof(hop->backend));
	__builtin_memcpy(hop->source, out->source, sizeof(hop->source));
	hop->expires_ns = now + XS_TUNNEL_HOP_TTL_NS;
	hop->ingress_ifindex = ctx->ingress_ifindex;
	hop->egress_ifindex = out->ifindex;
	__builtin_memcpy(hop->destination_mac, out->destination_mac, ETH_ALEN);
	__builtin_memcpy(hop->source_mac, out->source_mac, ETH_ALEN);
	hop->verified_length = outer_length;
	hop->tos = p->traffic_class;
	return 0;
}

static __always_inline int tunnel_action(struct xdp_md *ctx,
					 const struct tunnel_route *route)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, route->destination_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, route->source_mac, ETH_ALEN);
	if (route->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(route->ifindex, 0);
}

static __always_inline int
forward_ipip4(struct xdp_md *ctx, const struct packet *p,
	      const struct xs_config *config, __u32 backend_id,
	      const struct xs_backend *backend, __u32 *reason)
{
	__u16 outer_length = p->ip_length + sizeof(struct iphdr);
	struct tunnel_route route;
	struct iphdr *outer;

	if (tunnel_route(ctx, p, config, backend_id, backend, outer_length,
			 &route, reason))
		return XDP_DROP;
	outer = push_outer_header(ctx, p->vlan_count, sizeof(*outer));
	if (!outer || (void *)(outer + 1) > (void *)(long)ctx->data_end)
		return *reason = XS_DROP_ENCAP_FAILED, XDP_DROP;
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = p->traffic_class;
	outer->tot_len = bpf_htons(outer_length);
	outer->id = 0;
	outer->frag_off = p->dont_fragment ? bpf_htons(IPV4_DONT_FRAGMENT) : 0;
	outer->ttl = TUNNEL_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = route.source[0];
	outer->daddr = backend->address[0];
	outer->check = ipv4_checksum(outer);

	*reason = XS_FORWARD_IPIP;
	return tunnel_action(ctx, &route);
}

static __always_inline int
forward_ipip6(struct xdp_md *ctx, const struct packet *p,
	      const struct xs_config *config, __u32 backend_id,
	      const struct xs_backend *backend, __u32 *reason)
{
	__u16 outer_length = p->ip_length + sizeof(struct ipv6hdr);
	struct tunnel_route route;
	struct ipv6hdr *outer;
	__u32 flow_label;

	if (tunnel_route(ctx, p, config, backend_id, backend, outer_length,
			 &route, reason))
		return XDP_DROP;
	outer = push_outer_header(ctx, p->vlan_count, sizeof(*outer));
	if (!outer || (void *)(outer + 1) > (void *)(long)ctx->data_end)
		return *reason = XS_DROP_ENCAP_FAILED, XDP_DROP;
	flow_label = xs_flow_label(&p->key);
	outer->version = 6;
	outer->priority = p->traffic_class >> 4;
	outer->flow_lbl[0] = ((p->traffic_class & 0xf) << 4) |
			     (flow_label >> 16);
	outer->flow_lbl[1] = flow_label >> 8;
	outer->flow_lbl[2] = flow_label;
	outer->payload_len = bpf_htons(p->ip_length);
	outer->nexthdr = IPPROTO_IPV6;
	outer->hop_limit = TUNNEL_TTL;
	__builtin_memcpy(&outer->saddr, route.source, 16);
	__builtin_memcpy(&outer->daddr, backend->address, 16);

	*reason = XS_FORWARD_IPIP;
	return tunnel_action(ctx, &route);
}

static __always_inline int forward(struct xdp_md *ctx, const struct packet *p,
				   const struct xs_config *config,
				   const struct xs_vip *vip, __u32 backend_id,
				   const struct xs_backend *backend,
				   __u32 *reason)
{
	if (vip->forward_mode == XS_MODE_IPIP) {
		if (p->key.family == XS_FAMILY_IPV4)
			return forward_ipip4(ctx, p, config, backend_id,
					     backend, reason);
		return forward_ipip6(ctx, p, config, backend_id, backend,
				     reason);
	}
	return forward_l2dsr(ctx, backend, reason);
}

#endif /* XDPSPLIT_BPF_FORWARD_H */
