/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What an ICMP "fragmentation needed" (type 3 code 4) or ICMPv6 "packet too
 * big" (type 2) quotes, read as strictly as the packet itself. A router sends
 * one to the source of a packet too big for its next hop; for a VIP that is a
 * backend's reply, VIP:port -> client:port, so the quote names the client's
 * flow with its addresses and ports swapped. Only reached for ICMP.
 *
 * What is accepted:
 * - the ICMP header inside the IP packet; any other ICMP message is
 *   pass_icmp_other;
 * - a quoted header of the outer family: IPv4 with ihl >= 5 and the whole
 *   header quoted, or IPv6 with up to XS_MAX_QUOTED_EXTENSION_HEADERS
 *   extension headers, and not a later fragment (it has no ports);
 * - a quoted source that is the ICMP's destination: a router answers the
 *   packet's sender, so any other quote is not about our VIP's flow;
 * - TCP or UDP quoted with at least the 8 bytes every router must quote,
 *   of which the first 4 are the ports.
 */
#ifndef XDPSPLIT_BPF_PARSING_ICMP_H
#define XDPSPLIT_BPF_PARSING_ICMP_H

#include "parsing.bpf.h"

/* Fewer than the packet's own: a backend's reply carries few or none. */
#define XS_MAX_QUOTED_EXTENSION_HEADERS 4

/* RFC 792 and RFC 4443 require the IP header and at least this much of
 * what followed it. */
#define ICMP_QUOTED_L4_BYTES 8

/* ICMP headers as far as we read them; the uapi ones pull in libc */
#define ICMP_DEST_UNREACHABLE 3
#define ICMP_FRAGMENTATION_NEEDED 4
#define ICMPV6_PACKET_TOO_BIG 2

struct icmp_header {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 rest; /* unused, or the next-hop MTU */
};

/* Past any frame XDP sees whole (its linear part is at most a page): an
 * offset the verifier can add to a packet pointer and still check. */
#define ICMP_MAX_OFFSET 0x4000

/* The packet's cursor again, at its ICMP header and limited to its IP
 * packet (no Ethernet padding), from what parse_packet recorded; -1 if
 * the offsets are past any frame (they cannot be). */
static __always_inline int icmp_cursor(struct xdp_md *ctx,
				       const struct packet *p, struct cursor *c)
{
	void *data = (void *)(long)ctx->data;
	__u64 start = p->l4_offset, end = (__u64)p->l2_length + p->ip_length;

	/* one register each, checked and then added: else the compiler may
	 * add a copy made before the check, which the verifier knows no
	 * bound of */
	asm volatile("" : "+r"(start), "+r"(end));
	if (start >= ICMP_MAX_OFFSET || end >= ICMP_MAX_OFFSET)
		return -1;
	c->pos = data + start;
	c->end = (void *)(long)ctx->data_end;
	c->limit = data + end;
	return 0;
}

/* The quoted packet's ports, VIP first: the client's flow, swapped. */
static __always_inline int parse_quoted_ports(struct cursor *c,
					      struct packet *p, __u8 protocol)
{
	__be16 *ports = c->pos;

	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return XS_PASS_ICMP_QUOTED_NOT_TCP_UDP;
	if (beyond(c, c->pos + ICMP_QUOTED_L4_BYTES))
		return XS_PASS_TRUNCATED_ICMP;
	p->key.vip_port = ports[0];
	p->key.client_port = ports[1];
	p->key.protocol = protocol;
	return PARSE_OK;
}

static __always_inline int parse_quoted_ipv4(struct cursor *c, struct packet *p)
{
	struct iphdr *quoted = c->pos;

	if (beyond(c, quoted + 1))
		return XS_PASS_TRUNCATED_ICMP;
	if (quoted->version != 4 || quoted->ihl < 5)
		return XS_PASS_ICMP_BAD_QUOTED_HEADER;
	if (beyond(c, c->pos + quoted->ihl * 4))
		return XS_PASS_TRUNCATED_ICMP;
	if (quoted->frag_off & bpf_htons(IPV4_FRAGMENT_OFFSET))
		return XS_PASS_ICMP_BAD_QUOTED_HEADER;
	/* the outer destination, as parse_ipv4 left it */
	if (quoted->saddr != p->key.vip[0])
		return XS_PASS_ICMP_NOT_TO_QUOTED_SOURCE;
	p->key.client[0] = quoted->daddr;
	c->pos += quoted->ihl * 4;
	return parse_quoted_ports(c, p, quoted->protocol);
}

static __always_inline int parse_quoted_ipv6(struct cursor *c, struct packet *p)
{
	struct ipv6hdr *quoted = c->pos;
	__u8 kind = PACKET_TRANSPORT, next;
	const __be32 *source;
	int reason;

	if (beyond(c, quoted + 1))
		return XS_PASS_TRUNCATED_ICMP;
	if (quoted->version != 6)
		return XS_PASS_ICMP_BAD_QUOTED_HEADER;
	/* the outer destination, as parse_ipv6 left it */
	source = quoted->saddr.in6_u.u6_addr32;
	if ((source[0] ^ p->key.vip[0]) | (source[1] ^ p->key.vip[1]) |
	    (source[2] ^ p->key.vip[2]) | (source[3] ^ p->key.vip[3]))
		return XS_PASS_ICMP_NOT_TO_QUOTED_SOURCE;
	__builtin_memcpy(p->key.client, &quoted->daddr, 16);
	next = quoted->nexthdr;
	c->pos = quoted + 1;
	reason = skip_ipv6_extensions(c, &next, XS_MAX_QUOTED_EXTENSION_HEADERS,
				      &kind, XS_PASS_TRUNCATED_ICMP,
				      XS_PASS_ICMP_BAD_QUOTED_HEADER);
	if (reason)
		return reason;
	if (kind == PACKET_LATER_FRAGMENT)
		return XS_PASS_ICMP_BAD_QUOTED_HEADER;
	return parse_quoted_ports(c, p, next);
}

/*
 * Fills p->key with the flow the quote is about, client first, as the
 * client's own packets have it (the outer VLAN stays the ICMP's). PARSE_OK
 * or the reason the ICMP is passed.
 */
static __always_inline int parse_icmp_too_big(struct xdp_md *ctx,
					      struct packet *p)
{
	struct icmp_header *icmp;
	struct cursor c;

	if (icmp_cursor(ctx, p, &c))
		return XS_PASS_TRUNCATED_ICMP;
	icmp = c.pos;
	if (beyond(&c, icmp + 1))
		return XS_PASS_TRUNCATED_ICMP;
	c.pos = icmp + 1;
	if (p->key.family == XS_FAMILY_IPV4) {
		if (icmp->type != ICMP_DEST_UNREACHABLE ||
		    icmp->code != ICMP_FRAGMENTATION_NEEDED)
			return XS_PASS_ICMP_OTHER;
		return parse_quoted_ipv4(&c, p);
	}
	/* the code is 0; RFC 4443 has receivers ignore it, as Linux does */
	if (icmp->type != ICMPV6_PACKET_TOO_BIG)
		return XS_PASS_ICMP_OTHER;
	return parse_quoted_ipv6(&c, p);
}

#endif /* XDPSPLIT_BPF_PARSING_ICMP_H */
