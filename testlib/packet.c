// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "testlib/packet.h"

void parse_address(int family, const char *text, __be32 *address)
{
	memset(address, 0, 16);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, address) != 1) {
		fprintf(stderr, "bad test address '%s'\n", text);
		abort();
	}
}

void parse_mac(const char *text, __u8 *mac)
{
	unsigned int b[6];

	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static __u32 sum16(const __u8 *p, size_t length, __u32 sum)
{
	for (size_t i = 0; i + 1 < length; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (length & 1)
		sum += p[length - 1] << 8;
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

__u16 ipv4_header_checksum(const __u8 *header, size_t length)
{
	return fold(sum16(header, length, 0));
}

void refresh_icmp_checksum(int family, const __u8 *ip, __u8 *l4, size_t length)
{
	__u32 sum = 0;

	put16(l4 + 2, 0);
	/* ICMPv6, unlike ICMP, covers a pseudo-header */
	if (family == 6)
		sum = sum16(ip + 8, 32, 0) + IPPROTO_ICMPV6 + (__u32)length;
	put16(l4 + 2, fold(sum16(l4, length, sum)));
}

size_t l3_offset(const __u8 *frame)
{
	size_t offset = 12;

	while (frame[offset] == 0x81 || frame[offset] == 0x88) {
		if (frame[offset] == 0x88 && frame[offset + 1] != 0xa8)
			break;
		offset += 4;
	}
	return offset + 2;
}

/* TCP/UDP/ICMPv6 checksum over the pseudo-header and the segment. */
static void l4_checksum(int family, const __u8 *ip, __u8 protocol, __u8 *l4,
			size_t length, size_t checksum_offset)
{
	__u32 sum = 0;

	if (family == 4)
		sum = sum16(ip + 12, 8, 0);
	else
		sum = sum16(ip + 8, 32, 0);
	sum += protocol + (__u32)length;
	put16(l4 + checksum_offset, 0);
	sum = sum16(l4, length, sum);
	put16(l4 + checksum_offset, fold(sum));
}

static size_t build_transport(const struct packet_spec *s, __u8 *l4)
{
	size_t header;

	if (s->protocol == IPPROTO_TCP) {
		header = 20 + s->tcp_options_length;
		memset(l4, 0, header);
		put16(l4, s->client_port);
		put16(l4 + 2, s->vip_port);
		put32(l4 + 4, s->tcp_sequence ? s->tcp_sequence :
						0x12000000); /* arbitrary */
		l4[12] = (header / 4) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240);
		for (size_t i = 20; i < header; i++)
			l4[i] = 1; /* NOP options */
	} else {
		header = 8;
		put16(l4, s->client_port);
		put16(l4 + 2, s->vip_port);
		put16(l4 + 4, header + s->payload_length);
	}
	for (size_t i = 0; i < s->payload_length; i++)
		l4[header + i] = (__u8)(i * 7 + 1);
	return header + s->payload_length;
}

/* ICMP too-big quoting an IP header and 8 bytes of the backend's reply. */
static size_t build_icmp_too_big(const struct packet_spec *s, __u8 *l4)
{
	__u8 *quoted = l4 + 8;
	size_t quoted_ip;

	memset(l4, 0, 8);
	if (s->family == 4) {
		l4[0] = 3; /* destination unreachable */
		l4[1] = 4; /* fragmentation needed */
		put16(l4 + 6, 1400);
		quoted_ip = 20;
		memset(quoted, 0, quoted_ip);
		quoted[0] = 0x45;
		put16(quoted + 2, 1500);
		quoted[6] = 0x40;
		quoted[8] = 63;
		quoted[9] = s->quoted_protocol;
		parse_address(4, s->vip, (__be32 *)(quoted + 12));
		parse_address(4, s->client, (__be32 *)(quoted + 16));
		put16(quoted + 10, ipv4_header_checksum(quoted, 20));
	} else {
		__be32 address[4];

		l4[0] = 2; /* packet too big */
		put16(l4 + 6, 1400);
		quoted_ip = 40 + 16 * s->quoted_extension_count;
		memset(quoted, 0, quoted_ip);
		quoted[0] = 0x60;
		put16(quoted + 4, 1460);
		quoted[6] = s->quoted_extension_count ? IPPROTO_DSTOPTS :
							s->quoted_protocol;
		quoted[7] = 63;
		parse_address(6, s->vip, address);
		memcpy(quoted + 8, address, 16);
		parse_address(6, s->client, address);
		memcpy(quoted + 24, address, 16);
		for (int i = 0; i < s->quoted_extension_count; i++) {
			__u8 *ext = quoted + 40 + 16 * i;

			ext[0] = i + 1 < s->quoted_extension_count ?
					 IPPROTO_DSTOPTS :
					 s->quoted_protocol;
			ext[1] = 1; /* 16 bytes: PadN options */
			ext[2] = 1;
			ext[3] = 12;
		}
	}
	/* the first 8 bytes of the quoted TCP/UDP header: VIP port first */
	memset(quoted + quoted_ip, 0, 8);
	put16(quoted + quoted_ip, s->vip_port);
	put16(quoted + quoted_ip + 2, s->client_port);
	return 8 + quoted_ip + 8;
}

static size_t build_ipv6_extensions(const struct packet_spec *s, __u8 *p,
				    __u8 final_protocol)
{
	size_t length = 0;

	for (int i = 0; i < s->extension_count; i++) {
		__u8 next = i + 1 < s->extension_count ? s->extensions[i + 1] :
							 final_protocol;
		__u8 *ext = p + length;

		memset(ext, 0, 16);
		ext[0] = next;
		if (s->extensions[i] == IPPROTO_FRAGMENT) {
			__u16 offset = s->fragment == LATER_FRAGMENT ? 185 : 0;

			put16(ext + 2,
			      (offset << 3) | (s->fragment == FIRST_FRAGMENT));
			ext[7] = 0x2a;
			length += 8;
		} else {
			ext[1] = 1; /* 16 bytes: PadN options */
			ext[2] = 1;
			ext[3] = 12;
			length += 16;
		}
	}
	return length;
}

size_t build_packet(const struct packet_spec *s, __u8 *frame)
{
	size_t offset = 12, ip_header, l4_length;
	__u8 *ip, *l4, final;
	int is_icmp = s->router != NULL;

	memset(frame, 0, FRAME_CAPACITY);
	memcpy(frame, s->destination_mac, 6);
	memcpy(frame + 6, s->source_mac, 6);
	for (int i = 0; i < s->vlan_count; i++) {
		put16(frame + offset,
		      s->vlan_protocols[i] ? s->vlan_protocols[i] : 0x8100);
		put16(frame + offset + 2,
		      s->vlan_tags[i] ? s->vlan_tags[i] : 100 + i);
		offset += 4;
	}
	put16(frame + offset, s->family == 4 ? 0x0800 : 0x86dd);
	ip = frame + offset + 2;

	if (s->family == 4) {
		ip_header = 20 + s->ipv4_options_length;
		memset(ip, 0, ip_header);
		ip[0] = 0x40 | (ip_header / 4);
		ip[1] = s->tos;
		put16(ip + 4, 0x1234);
		put16(ip + 6,
		      (s->dont_fragment ? 0x4000 : 0) |
			      (s->fragment == FIRST_FRAGMENT ? 0x2000 : 0) |
			      (s->fragment == LATER_FRAGMENT ? 185 : 0));
		ip[8] = 64;
		ip[9] = s->protocol;
		parse_address(4, is_icmp ? s->router : s->client,
			      (__be32 *)(ip + 12));
		parse_address(4, s->vip, (__be32 *)(ip + 16));
		for (size_t i = 20; i < ip_header; i++)
			ip[i] = 1; /* NOP options */
		final = s->protocol;
	} else {
		__be32 address[4];

		memset(ip, 0, 40);
		ip[0] = 0x60 | (s->tos >> 4);
		ip[1] = (s->tos & 0xf) << 4;
		ip[7] = 64;
		parse_address(6, is_icmp ? s->router : s->client, address);
		memcpy(ip + 8, address, 16);
		parse_address(6, s->vip, address);
		memcpy(ip + 24, address, 16);
		ip[6] = s->extension_count ? s->extensions[0] : s->protocol;
		ip_header = 40 + build_ipv6_extensions(s, ip + 40, s->protocol);
		final = s->protocol;
	}

	l4 = ip + ip_header;
	if (is_icmp)
		l4_length = build_icmp_too_big(s, l4);
	else
		l4_length = build_transport(s, l4);

	if (s->family == 4) {
		put16(ip + 2, ip_header + l4_length);
		put16(ip + 10, ipv4_header_checksum(ip, ip_header));
		if (final == IPPROTO_ICMP)
			put16(l4 + 2, 0),
				put16(l4 + 2, fold(sum16(l4, l4_length, 0)));
		else if (s->fragment == NOT_FRAGMENTED)
			l4_checksum(4, ip, final, l4, l4_length,
				    final == IPPROTO_TCP ? 16 : 6);
	} else {
		put16(ip + 4, ip_header - 40 + l4_length);
		if (s->fragment == NOT_FRAGMENTED)
			l4_checksum(6, ip, final, l4, l4_length,
				    final == IPPROTO_TCP ? 16 :
				    final == IPPROTO_UDP ? 6 :
							   2);
	}
	assert(ip + ip_header + l4_length - frame <= FRAME_CAPACITY);
	return ip + ip_header + l4_length - frame;
}
