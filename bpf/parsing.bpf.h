/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers in the cursor style: every read is bounds-checked against
 * the end of the frame first. A parser returns PARSE_OK or the name (an
 * enum xs_counter) of the reason the packet is passed to the kernel
 * untouched.
 *
 * What is accepted:
 * - Ethernet with up to two VLAN tags (802.1Q or 802.1ad, any order); a
 *   third tag is passed. The outer tag's VLAN ID is part of the flow key.
 * - IPv4 with 5 <= ihl <= 15 (options skipped), total length within the frame
 *   and covering the header; trailing Ethernet padding is allowed.
 * - IPv6 with up to XS_MAX_EXTENSION_HEADERS hop-by-hop, routing,
 *   destination-options and fragment headers before TCP/UDP/ICMPv6.
 * - Fragments: a first fragment carries the ports and is parsed as usual; a
 *   later fragment has none, so it is reported as such with ports zero.
 * - TCP with doff >= 5 and the whole TCP header inside the IP packet; UDP.
 * - ICMP and ICMPv6 (not a later fragment): only located here; what they
 *   quote is parsing_icmp.bpf.h's, off the TCP/UDP path.
 */
#ifndef XDPSPLIT_BPF_PARSING_H
#define XDPSPLIT_BPF_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "../maps/contract.h"

#define PARSE_OK 0
#define XS_MAX_VLANS 2
#define XS_MAX_EXTENSION_HEADERS 8

#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_FRAGMENT_OFFSET 0x1fff
#define IPV6_FRAGMENT_OFFSET 0xfff8

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

enum packet_kind {
	PACKET_TRANSPORT = 0,	   /* TCP or UDP with ports */
	PACKET_LATER_FRAGMENT = 1, /* IP fragment without the L4 header */
	PACKET_ICMP = 2,	   /* ICMP(v6) at l4_offset, key unset */
};

struct packet {
	/* client -> VIP 5-tuple and outer VLAN; for ICMP too-big, of the
	 * quoted flow (on the VLAN the ICMP came in on), once
	 * parsing_icmp.bpf.h has read the quote */
	struct xs_flow_key key;
	__u32 l2_length; /* Ethernet header and VLAN tags */
	__u32 ip_length; /* the IP packet, without Ethernet padding */
	__u32 frame_length;
	__u8 vlan_count;
	__u8 kind; /* enum packet_kind */
	__u8 tcp_flags;
	__u8 traffic_class;  /* IPv4 TOS or IPv6 traffic class */
	__u8 dont_fragment;  /* IPv4 DF, copied to the outer header */
	__u16 l4_offset;     /* PACKET_ICMP: from the frame's start; in what
			     * was padding, so the struct is no bigger */
	__be32 tcp_sequence; /* as on the wire; 0 for UDP */
};

/* `end` is the frame's end, which the verifier knows; `limit` is the end of
 * the IP packet, which excludes Ethernet padding. Reads check both. */
struct cursor {
	void *pos;
	void *end;
	void *limit;
};

static __always_inline int beyond(const struct cursor *c, const void *ptr)
{
	return ptr > c->end || ptr > c->limit;
}

struct vlan_header {
	__be16 tci;
	__be16 encapsulated_proto;
};

struct ipv6_extension {
	__u8 next_header;
	__u8 length; /* in 8-byte units, not counting the first 8 */
};

struct ipv6_fragment_header {
	__u8 next_header;
	__u8 reserved;
	__be16 offset_flags;
	__be32 identification;
};

static __always_inline int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int parse_ethernet(struct cursor *c, struct packet *p,
					  __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	int i;

	if (beyond(c, eth + 1))
		return XS_PASS_TRUNCATED_ETHERNET;
	*proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (i = 0; i < XS_MAX_VLANS; i++) {
		struct vlan_header *vlan = c->pos;

		if (!is_vlan(*proto))
			break;
		if (beyond(c, vlan + 1))
			return XS_PASS_TRUNCATED_VLAN;
		/* the outer tag names the network: part of the flow key */
		if (i == 0)
			p->key.vlan_id = bpf_ntohs(vlan->tci) & XS_VLAN_ID_MASK;
		*proto = vlan->encapsulated_proto;
		c->pos = vlan + 1;
		p->vlan_count++;
	}
	if (is_vlan(*proto))
		return XS_PASS_TOO_MANY_VLANS;
	p->l2_length = sizeof(struct ethhdr) +
		       p->vlan_count * sizeof(struct vlan_header);
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct cursor *c, struct packet *p,
				      __u8 *protocol)
{
	struct iphdr *ip = c->pos;
	__u32 header_length, total_length;
	__u16 fragment;

	if (beyond(c, ip + 1))
		return XS_PASS_TRUNCATED_IPV4;
	if (ip->version != 4)
		return XS_PASS_NOT_IP;
	if (ip->ihl < 5)
		return XS_PASS_BAD_IPV4_HEADER_LENGTH;
	header_length = ip->ihl * 4;
	if (beyond(c, c->pos + header_length))
		return XS_PASS_TRUNCATED_IPV4;
	total_length = bpf_ntohs(ip->tot_len);
	if (total_length < header_length || beyond(c, c->pos + total_length))
		return XS_PASS_BAD_IP_LENGTH;

	p->ip_length = total_length;
	p->key.family = XS_FAMILY_IPV4;
	p->key.client[0] = ip->saddr;
	p->key.vip[0] = ip->daddr;
	p->traffic_class = ip->tos;
	p->dont_fragment = !!(ip->frag_off & bpf_htons(0x4000));
	*protocol = ip->protocol;

	fragment = bpf_ntohs(ip->frag_off);
	if (fragment & IPV4_FRAGMENT_OFFSET)
		p->kind = PACKET_LATER_FRAGMENT;
	/* L4 must lie within the IP packet, not in the Ethernet padding */
	c->limit = c->pos + total_length;
	c->pos += header_length;
	return PARSE_OK;
}

/*
 * Walks up to `max` (a constant) hop-by-hop, routing, destination-options
 * and fragment headers from *next, leaving the cursor and *next at the
 * upper-layer header. A fragment that is not the first sets *kind to
 * PACKET_LATER_FRAGMENT. The reasons are the caller's: the outer packet's
 * and an ICMP quote's differ.
 */
static __always_inline int skip_ipv6_extensions(struct cursor *c, __u8 *next,
						const int max, __u8 *kind,
						int truncated, int too_long)
{
	__u8 header = *next;
	int i;

#pragma unroll
	for (i = 0; i < max; i++) {
		if (header == IPPROTO_HOPOPTS || header == IPPROTO_ROUTING ||
		    header == IPPROTO_DSTOPTS) {
			struct ipv6_extension *ext = c->pos;

			if (beyond(c, ext + 1))
				return truncated;
			header = ext->next_header;
			c->pos += (ext->length + 1) * 8;
			if (beyond(c, c->pos))
				return truncated;
		} else if (header == IPPROTO_FRAGMENT) {
			struct ipv6_fragment_header *frag = c->pos;

			if (beyond(c, frag + 1))
				return truncated;
			header = frag->next_header;
			if (frag->offset_flags &
			    bpf_htons(IPV6_FRAGMENT_OFFSET))
				*kind = PACKET_LATER_FRAGMENT;
			c->pos = frag + 1;
		} else {
			*next = header;
			return PARSE_OK;
		}
	}
	if (header == IPPROTO_HOPOPTS || header == IPPROTO_ROUTING ||
	    header == IPPROTO_DSTOPTS || header == IPPROTO_FRAGMENT)
		return too_long;
	*next = header;
	return PARSE_OK;
}

static __always_inline int parse_ipv6(struct cursor *c, struct packet *p,
				      __u8 *protocol)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 payload_length;

	if (beyond(c, ip6 + 1))
		return XS_PASS_TRUNCATED_IPV6;
	if (ip6->version != 6)
		return XS_PASS_NOT_IP;
	payload_length = bpf_ntohs(ip6->payload_len);
	if (beyond(c, (void *)(ip6 + 1) + payload_length))
		return XS_PASS_BAD_IP_LENGTH;

	p->ip_length = sizeof(*ip6) + payload_length;
	p->key.family = XS_FAMILY_IPV6;
	__builtin_memcpy(p->key.client, &ip6->saddr, 16);
	__builtin_memcpy(p->key.vip, &ip6->daddr, 16);
	p->traffic_class = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	c->limit = (void *)(ip6 + 1) + payload_length;
	c->pos = ip6 + 1;
	*protocol = ip6->nexthdr;
	return skip_ipv6_extensions(c, protocol, XS_MAX_EXTENSION_HEADERS,
				    &p->kind, XS_PASS_TRUNCATED_EXTENSION,
				    XS_PASS_EXTENSION_CHAIN_TOO_LONG);
}

static __always_inline int parse_ports(struct cursor *c, struct packet *p,
				       __u8 protocol)
{
	if (protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = c->pos;

		if (beyond(c, tcp + 1))
			return XS_PASS_TRUNCATED_L4;
		if (tcp->doff < 5)
			return XS_PASS_BAD_TCP_OFFSET;
		if (beyond(c, c->pos + tcp->doff * 4))
			return XS_PASS_TRUNCATED_L4;
		p->key.client_port = tcp->source;
		p->key.vip_port = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->tcp_sequence = tcp->seq;
	} else {
		struct udphdr *udp = c->pos;

		if (beyond(c, udp + 1))
			return XS_PASS_TRUNCATED_L4;
		p->key.client_port = udp->source;
		p->key.vip_port = udp->dest;
	}
	p->key.protocol = protocol;
	return PARSE_OK;
}

/* Fills p from the frame; returns PARSE_OK or a pass reason. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct packet *p)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.limit = (void *)(long)ctx->data_end,
	};
	__u8 protocol = 0;
	__be16 proto;
	int reason;

	p->frame_length = c.end - c.pos;
	reason = parse_ethernet(&c, p, &proto);
	if (reason)
		return reason;

	if (proto == bpf_htons(ETH_P_IP))
		reason = parse_ipv4(&c, p, &protocol);
	else if (proto == bpf_htons(ETH_P_IPV6))
		reason = parse_ipv6(&c, p, &protocol);
	else
		return XS_PASS_NOT_IP;
	if (reason)
		return reason;

	if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
		p->key.protocol = protocol;
		if (p->kind == PACKET_LATER_FRAGMENT)
			return PARSE_OK;
		return parse_ports(&c, p, protocol);
	}
	if (p->kind == PACKET_LATER_FRAGMENT)
		return XS_PASS_NOT_TCP_UDP;
	/* what an ICMP message says is read later, and only for ICMP */
	if ((protocol == IPPROTO_ICMP && p->key.family == XS_FAMILY_IPV4) ||
	    (protocol == IPPROTO_ICMPV6 && p->key.family == XS_FAMILY_IPV6)) {
		p->kind = PACKET_ICMP;
		p->l4_offset = c.pos - (void *)(long)ctx->data;
		return PARSE_OK;
	}
	return XS_PASS_NOT_TCP_UDP;
}

#endif /* XDPSPLIT_BPF_PARSING_H */
