/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Builds test frames field by field: Ethernet, VLAN tags, IPv4 (options) or
 * IPv6 (extension headers), fragments, TCP/UDP, or ICMP too-big quoting a
 * flow. Checksums are correct, so a frame is what a real host would send.
 */
#ifndef XDPSPLIT_TESTS_PACKET_H
#define XDPSPLIT_TESTS_PACKET_H

#include <stddef.h>
#include <linux/types.h>

#define FRAME_CAPACITY 2048
#define MAX_TEST_EXTENSIONS 12

enum fragment_kind {
	NOT_FRAGMENTED = 0,
	FIRST_FRAGMENT = 1,
	LATER_FRAGMENT = 2,
};

struct packet_spec {
	int family; /* 4 or 6 */
	const char *client;
	const char *vip;
	__u16 client_port;
	__u16 vip_port;
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6) */
	__u8 tcp_flags;
	__u8 tcp_options_length; /* multiple of 4 */
	__u32 tcp_sequence;	 /* 0: 0x12000000 */
	__u8 vlan_count;
	__u16 vlan_protocols[3]; /* 0x8100 or 0x88a8; default 0x8100 */
	__u16 vlan_tags[3]; /* TCI (priority, DEI, VLAN ID); 0: VLAN 100 + i */
	__u8 ipv4_options_length; /* multiple of 4, at most 40 */
	__u8 extension_count;
	__u8 extensions[MAX_TEST_EXTENSIONS]; /* IPPROTO_HOPOPTS, ... */
	__u8 fragment;			      /* enum fragment_kind */
	__u8 tos;
	__u8 dont_fragment;
	__u16 payload_length;
	/* ICMP too-big: sent by `router` to the VIP, quoting a packet the
	 * backend sent from vip:vip_port to client:client_port */
	const char *router;
	__u8 quoted_protocol;
	__u8 quoted_extension_count; /* IPv6: dest-options headers quoted */
	__u8 source_mac[6];
	__u8 destination_mac[6];
};

/* Returns the frame length. */
size_t build_packet(const struct packet_spec *spec, __u8 *frame);

/* Offset of the IP header (after Ethernet and VLAN tags). */
size_t l3_offset(const __u8 *frame);

__u16 ipv4_header_checksum(const __u8 *header, size_t length);
/* Sets the ICMP or ICMPv6 checksum of the message at l4 in the packet at
 * ip (after the frame's ICMP was changed). */
void refresh_icmp_checksum(int family, const __u8 *ip, __u8 *l4, size_t length);
void parse_address(int family, const char *text, __be32 *address);
void parse_mac(const char *text, __u8 *mac);

#endif /* XDPSPLIT_TESTS_PACKET_H */
