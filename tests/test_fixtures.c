// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fixture table: for each frame, how it was made, the verdict, the
 * counter that must name it, and the output frame byte for byte.
 *
 * Every row runs on a fresh splitter with these VIPs, one backend each:
 *   10.100.0.1:80/tcp    l2dsr  -> backend A
 *   10.100.0.1:53/udp    l2dsr  -> backend U
 *   [fd00:100::1]:443/tcp l2dsr -> backend S
 *   10.100.0.2:80/tcp    ipip   -> 10.0.0.2
 *   [fd00:100::2]:80/tcp ipip   -> fd00::3
 *   10.100.0.3 port 0/udp (every port)  l2dsr, client split -> backend F
 *   [fd00:100::3] port 0/udp (every port) l2dsr, client split -> F6
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "maps/decision.h"
#include "testlib/env.h"
#include "fixtures.h"
#include "tests.h"

/* V4_SYN(...) gives defaults that a row then overrides by name */
#pragma GCC diagnostic ignored "-Woverride-init"

enum backend_name { NONE, A, U, S, T4, T6, F, F6, BACKEND_NAMES };

enum expected_output {
	SAME_FRAME,  /* passed or dropped: not one byte changed */
	L2DSR_FRAME, /* MACs rewritten, the rest unchanged */
	IPIP_FRAME,  /* outer header pushed after the L2 header */
};

enum mutation {
	NO_MUTATION,
	CUT_TO_LENGTH,	       /* frame cut to `cut` bytes */
	CUT_AND_FIX_IP_LENGTH, /* cut, then the IP length made to agree */
	IHL_4,
	TCP_DOFF_4,
	TCP_DOFF_15,
	IPV4_TOTAL_LENGTH_TOO_LONG,
	IPV4_TOTAL_LENGTH_BELOW_HEADER,
	IPV6_PAYLOAD_LENGTH_TOO_LONG,
	IP_VERSION_6_IN_IPV4,
	ETHERTYPE_ARP,
	ICMP_ECHO,	       /* echo request, ICMP or ICMPv6 */
	ICMP_PORT_UNREACHABLE, /* type 3 code 3: not a too-big */
	QUOTED_IHL_4,
	QUOTED_LATER_FRAGMENT,	 /* the quoted IPv4 header at offset 1480 */
	QUOTED_VERSION_6,	 /* an IPv4 ICMP quoting version 6 */
	OUTER_DESTINATION_OTHER, /* sent to 10.100.0.9, quoting the VIP */
};

struct fixture {
	const char *name;
	const char *how_made;
	struct packet_spec spec;
	enum mutation mutation;
	size_t cut;
	int prelude_syn; /* send the quoted flow's SYN first (ICMP rows) */
	int verdict;
	int reason;
	enum expected_output output;
	enum backend_name backend;
};

#define V4_SYN(...)                                                            \
	{                                                                      \
		.family = 4, .client = "192.0.2.10", .vip = "10.100.0.1",      \
		.client_port = 40000, .vip_port = 80, .protocol = IPPROTO_TCP, \
		.tcp_flags = 0x02, __VA_ARGS__                                 \
	}
#define V6_SYN(...)                                                            \
	{                                                                      \
		.family = 6, .client = "2001:db8::10", .vip = "fd00:100::1",   \
		.client_port = 40000, .vip_port = 443,                         \
		.protocol = IPPROTO_TCP, .tcp_flags = 0x02, __VA_ARGS__        \
	}

/* an ICMP "fragmentation needed" from a router, quoting a TCP reply of the
 * flow V4_SYN() makes */
#define V4_FRAG_NEEDED(...)                                                    \
	V4_SYN(.protocol = IPPROTO_ICMP, .router = "198.51.100.1",             \
	       .quoted_protocol = IPPROTO_TCP, __VA_ARGS__)
/* an ICMPv6 "packet too big" from a router, quoting a TCP reply of the
 * flow V6_SYN() makes */
#define V6_TOO_BIG(...)                                                        \
	V6_SYN(.protocol = IPPROTO_ICMPV6, .router = "2001:db8::1",            \
	       .quoted_protocol = IPPROTO_TCP, __VA_ARGS__)

static const struct fixture fixtures[] = {
	/* forwarded */
	{ "v4 tcp syn", "SYN 192.0.2.10:40000 -> 10.100.0.1:80", V4_SYN(), 0, 0,
	  0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, A },
	{ "v4 tcp ack midstream", "ACK with 100 bytes, no SYN seen before",
	  V4_SYN(.tcp_flags = 0x10, .payload_length = 100), 0, 0, 0, XDP_TX,
	  XS_FORWARD_L2DSR, L2DSR_FRAME, A },
	{ "v4 tcp rst", "RST|ACK from the client", V4_SYN(.tcp_flags = 0x14), 0,
	  0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, A },
	{ "v4 tcp syn with options", "SYN with 20 bytes of TCP options",
	  V4_SYN(.tcp_options_length = 20), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR,
	  L2DSR_FRAME, A },
	{ "v4 udp", "UDP 192.0.2.10:5353 -> 10.100.0.1:53, 60 bytes",
	  V4_SYN(.protocol = IPPROTO_UDP, .client_port = 5353, .vip_port = 53,
		 .payload_length = 60),
	  0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, U },
	{ "v6 udp", "UDP [2001:db8::10]:40000 -> [fd00:100::3]:53, 30 bytes",
	  V6_SYN(.protocol = IPPROTO_UDP, .vip = "fd00:100::3", .vip_port = 53,
		 .payload_length = 30),
	  0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, F6 },
	{ "v6 tcp syn", "SYN [2001:db8::10]:40000 -> [fd00:100::1]:443",
	  V6_SYN(), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, S },
	{ "v6 tcp ack", "ACK with 200 bytes",
	  V6_SYN(.tcp_flags = 0x10, .payload_length = 200), 0, 0, 0, XDP_TX,
	  XS_FORWARD_L2DSR, L2DSR_FRAME, S },
	{ "v6 tcp rst", "RST", V6_SYN(.tcp_flags = 0x04), 0, 0, 0, XDP_TX,
	  XS_FORWARD_L2DSR, L2DSR_FRAME, S },
	{ "one 802.1Q tag", "SYN in VLAN 100 (0x8100)", V4_SYN(.vlan_count = 1),
	  0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, A },
	{ "802.1ad + 802.1Q tags", "SYN in S-tag 100 (0x88a8), C-tag 101",
	  V4_SYN(.vlan_count = 2, .vlan_protocols = { 0x88a8, 0x8100 }), 0, 0,
	  0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, A },
	{ "v6 in two tags", "v6 SYN in tags 0x8100, 0x8100",
	  V6_SYN(.vlan_count = 2), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR,
	  L2DSR_FRAME, S },
	{ "ipv4 options", "SYN with 12 bytes of IPv4 options (ihl 8)",
	  V4_SYN(.ipv4_options_length = 12), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR,
	  L2DSR_FRAME, A },
	{ "ipv4 options max", "SYN with 40 bytes of IPv4 options (ihl 15)",
	  V4_SYN(.ipv4_options_length = 40), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR,
	  L2DSR_FRAME, A },
	{ "ipv6 extension headers", "hop-by-hop, routing, dest-options, SYN",
	  V6_SYN(.extension_count = 3,
		 .extensions = { IPPROTO_HOPOPTS, IPPROTO_ROUTING,
				 IPPROTO_DSTOPTS }),
	  0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, S },
	{ "ipv6 8 extension headers",
	  "the longest chain walked: 8 dest-options",
	  V6_SYN(.extension_count = 8,
		 .extensions = { 60, 60, 60, 60, 60, 60, 60, 60 }),
	  0, 0, 0, XDP_TX, XS_FORWARD_L2DSR, L2DSR_FRAME, S },
	{ "v4 first fragment", "SYN with MF set, offset 0: has ports",
	  V4_SYN(.fragment = FIRST_FRAGMENT), 0, 0, 0, XDP_TX, XS_FORWARD_L2DSR,
	  L2DSR_FRAME, A },
	{ "v4 later fragment, client-split VIP",
	  "UDP fragment at offset 1480 to 10.100.0.3 (all ports, client split)",
	  V4_SYN(.protocol = IPPROTO_UDP, .vip = "10.100.0.3", .vip_port = 53,
		 .fragment = LATER_FRAGMENT, .payload_length = 40),
	  0, 0, 0, XDP_TX, XS_FORWARD_FRAGMENT, L2DSR_FRAME, F },
	{ "v6 later fragment, client-split VIP",
	  "UDP after a fragment header at offset 1480 to fd00:100::3",
	  V6_SYN(.protocol = IPPROTO_UDP, .vip = "fd00:100::3", .vip_port = 53,
		 .extension_count = 1, .extensions = { IPPROTO_FRAGMENT },
		 .fragment = LATER_FRAGMENT, .payload_length = 40),
	  0, 0, 0, XDP_TX, XS_FORWARD_FRAGMENT, L2DSR_FRAME, F6 },
	{ "v4 icmp frag-needed for a flow",
	  "router 198.51.100.1 -> VIP, quoting 10.100.0.1:80 -> 192.0.2.10:40000",
	  V4_FRAG_NEEDED(), 0, 0, 1, XDP_TX, XS_FORWARD_ICMP_STORED_FLOW,
	  L2DSR_FRAME, A },
	{ "v4 icmp frag-needed in the flow's VLAN",
	  "as above, the flow's SYN and the ICMP both in VLAN 100",
	  V4_FRAG_NEEDED(.vlan_count = 1), 0, 0, 1, XDP_TX,
	  XS_FORWARD_ICMP_STORED_FLOW, L2DSR_FRAME, A },
	{ "v4 icmp frag-needed without a flow",
	  "no SYN seen here: the backend a new packet of the flow gets",
	  V4_FRAG_NEEDED(), 0, 0, 0, XDP_TX, XS_FORWARD_ICMP_NEW_CHOICE,
	  L2DSR_FRAME, A },
	{ "v6 packet-too-big for a flow",
	  "router 2001:db8::1 -> VIP, quoting [fd00:100::1]:443 -> client",
	  V6_TOO_BIG(), 0, 0, 1, XDP_TX, XS_FORWARD_ICMP_STORED_FLOW,
	  L2DSR_FRAME, S },
	{ "v4 icmp frag-needed quoting udp",
	  "no datagram seen here: 10.100.0.1:53 -> 192.0.2.10:5353 quoted",
	  V4_FRAG_NEEDED(.quoted_protocol = IPPROTO_UDP, .client_port = 5353,
			 .vip_port = 53),
	  0, 0, 0, XDP_TX, XS_FORWARD_ICMP_NEW_CHOICE, L2DSR_FRAME, U },
	{ "v4 icmp frag-needed quoting a stored udp flow",
	  "the client's datagram first, then the ICMP quoting the reply",
	  V4_FRAG_NEEDED(.quoted_protocol = IPPROTO_UDP, .client_port = 5353,
			 .vip_port = 53),
	  0, 0, 1, XDP_TX, XS_FORWARD_ICMP_STORED_FLOW, L2DSR_FRAME, U },
	{ "v4 icmp frag-needed for an every-port VIP",
	  "quoting 10.100.0.3:5000/udp (port 0 VIP, client split)",
	  V4_FRAG_NEEDED(.vip = "10.100.0.3", .quoted_protocol = IPPROTO_UDP,
			 .vip_port = 5000),
	  0, 0, 0, XDP_TX, XS_FORWARD_ICMP_NEW_CHOICE, L2DSR_FRAME, F },
	{ "v6 packet-too-big without a flow",
	  "no SYN seen here: the backend a new packet of the flow gets",
	  V6_TOO_BIG(), 0, 0, 0, XDP_TX, XS_FORWARD_ICMP_NEW_CHOICE,
	  L2DSR_FRAME, S },
	{ "v6 packet-too-big quoting extension headers",
	  "the quoted reply has 4 dest-options headers before TCP",
	  V6_TOO_BIG(.quoted_extension_count = 4), 0, 0, 1, XDP_TX,
	  XS_FORWARD_ICMP_STORED_FLOW, L2DSR_FRAME, S },
	{ "ipip v4 icmp frag-needed for a flow",
	  "the flow's SYN to 10.100.0.2:80 (ipip), then the ICMP",
	  V4_FRAG_NEEDED(.vip = "10.100.0.2", .dont_fragment = 1), 0, 0, 1,
	  XDP_TX, XS_FORWARD_ICMP_STORED_FLOW, IPIP_FRAME, T4 },
	{ "ipip v4 icmp frag-needed without a flow",
	  "quoting 10.100.0.2:80 -> 192.0.2.10:40000, no SYN seen",
	  V4_FRAG_NEEDED(.vip = "10.100.0.2"), 0, 0, 0, XDP_TX,
	  XS_FORWARD_ICMP_NEW_CHOICE, IPIP_FRAME, T4 },
	{ "ipip v6 packet-too-big for a flow",
	  "the flow's SYN to [fd00:100::2]:80 (ipip), then the ICMPv6",
	  V6_TOO_BIG(.vip = "fd00:100::2", .vip_port = 80), 0, 0, 1, XDP_TX,
	  XS_FORWARD_ICMP_STORED_FLOW, IPIP_FRAME, T6 },
	{ "ipip v4", "SYN to 10.100.0.2:80, an ipip VIP",
	  V4_SYN(.vip = "10.100.0.2", .dont_fragment = 1, .tos = 0x28), 0, 0, 0,
	  XDP_TX, XS_FORWARD_IPIP, IPIP_FRAME, T4 },
	{ "ipip v4 in a VLAN", "SYN in VLAN 100 to the ipip VIP",
	  V4_SYN(.vip = "10.100.0.2", .vlan_count = 1), 0, 0, 0, XDP_TX,
	  XS_FORWARD_IPIP, IPIP_FRAME, T4 },
	{ "ipip v6", "SYN to [fd00:100::2]:80, an ipip VIP",
	  V6_SYN(.vip = "fd00:100::2", .vip_port = 80, .tos = 0xb8), 0, 0, 0,
	  XDP_TX, XS_FORWARD_IPIP, IPIP_FRAME, T6 },
	{ "ipip v6 with two tags", "SYN in two tags to the ipip VIP",
	  V6_SYN(.vip = "fd00:100::2", .vip_port = 80, .vlan_count = 2), 0, 0,
	  0, XDP_TX, XS_FORWARD_IPIP, IPIP_FRAME, T6 },

	/* passed untouched: not ours */
	{ "non-VIP address", "SYN to 10.100.0.9:80",
	  V4_SYN(.vip = "10.100.0.9"), 0, 0, 0, XDP_PASS, XS_PASS_NOT_VIP,
	  SAME_FRAME, NONE },
	{ "non-VIP port", "SYN to 10.100.0.1:81", V4_SYN(.vip_port = 81), 0, 0,
	  0, XDP_PASS, XS_PASS_NOT_VIP, SAME_FRAME, NONE },
	{ "non-VIP protocol", "UDP to the TCP VIP [fd00:100::1]:443",
	  V6_SYN(.protocol = IPPROTO_UDP), 0, 0, 0, XDP_PASS, XS_PASS_NOT_VIP,
	  SAME_FRAME, NONE },
	{ "arp", "ethertype 0x0806", V4_SYN(), ETHERTYPE_ARP, 0, 0, XDP_PASS,
	  XS_PASS_NOT_IP, SAME_FRAME, NONE },
	{ "icmp echo", "ICMP echo request to the VIP",
	  V4_SYN(.protocol = IPPROTO_ICMP, .router = "192.0.2.10",
		 .quoted_protocol = IPPROTO_TCP),
	  ICMP_ECHO, 0, 0, XDP_PASS, XS_PASS_ICMP_OTHER, SAME_FRAME, NONE },
	{ "icmpv6 echo", "ICMPv6 echo request to the VIP",
	  V6_SYN(.protocol = IPPROTO_ICMPV6, .router = "2001:db8::10",
		 .quoted_protocol = IPPROTO_TCP),
	  ICMP_ECHO, 0, 0, XDP_PASS, XS_PASS_ICMP_OTHER, SAME_FRAME, NONE },
	{ "icmp port unreachable", "type 3 code 3 quoting a VIP flow",
	  V4_FRAG_NEEDED(), ICMP_PORT_UNREACHABLE, 0, 1, XDP_PASS,
	  XS_PASS_ICMP_OTHER, SAME_FRAME, NONE },
	{ "icmp frag-needed quoting no VIP",
	  "to 10.100.0.9, quoting 10.100.0.9:80 (the LB host's own flow)",
	  V4_FRAG_NEEDED(.vip = "10.100.0.9"), 0, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_NOT_VIP, SAME_FRAME, NONE },
	{ "icmp frag-needed quoting a VIP address on another port",
	  "quoting 10.100.0.1:81, no VIP", V4_FRAG_NEEDED(.vip_port = 81), 0, 0,
	  0, XDP_PASS, XS_PASS_ICMP_NOT_VIP, SAME_FRAME, NONE },
	{ "v6 packet-too-big quoting no VIP",
	  "to fd00:100::9, quoting [fd00:100::9]:443",
	  V6_TOO_BIG(.vip = "fd00:100::9"), 0, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_NOT_VIP, SAME_FRAME, NONE },
	{ "icmp frag-needed not sent to the quoted source",
	  "to 10.100.0.9, quoting the VIP 10.100.0.1:80's reply",
	  V4_FRAG_NEEDED(), OUTER_DESTINATION_OTHER, 0, 1, XDP_PASS,
	  XS_PASS_ICMP_NOT_TO_QUOTED_SOURCE, SAME_FRAME, NONE },
	{ "v4 later fragment, port VIP", "TCP fragment at offset 1480 to :80",
	  V4_SYN(.fragment = LATER_FRAGMENT, .payload_length = 40), 0, 0, 0,
	  XDP_PASS, XS_PASS_FRAGMENT, SAME_FRAME, NONE },

	/* passed untouched: malformed */
	/* (a frame under 14 bytes cannot be run: the kernel refuses it before
	 * XDP sees it, and the program checks for it anyway) */
	{ "ethernet header only", "14 bytes, ethertype IPv4", V4_SYN(),
	  CUT_TO_LENGTH, 14, 0, XDP_PASS, XS_PASS_TRUNCATED_IPV4, SAME_FRAME,
	  NONE },
	{ "truncated vlan tag", "cut inside the tag", V4_SYN(.vlan_count = 1),
	  CUT_TO_LENGTH, 16, 0, XDP_PASS, XS_PASS_TRUNCATED_VLAN, SAME_FRAME,
	  NONE },
	{ "three vlan tags", "0x8100 x3", V4_SYN(.vlan_count = 3), 0, 0, 0,
	  XDP_PASS, XS_PASS_TOO_MANY_VLANS, SAME_FRAME, NONE },
	{ "truncated ipv4 header", "cut at 14 + 19", V4_SYN(), CUT_TO_LENGTH,
	  33, 0, XDP_PASS, XS_PASS_TRUNCATED_IPV4, SAME_FRAME, NONE },
	{ "truncated ipv4 options", "ihl 8, cut at 14 + 30",
	  V4_SYN(.ipv4_options_length = 12), CUT_TO_LENGTH, 44, 0, XDP_PASS,
	  XS_PASS_TRUNCATED_IPV4, SAME_FRAME, NONE },
	{ "ihl below 5", "ihl 4", V4_SYN(), IHL_4, 0, 0, XDP_PASS,
	  XS_PASS_BAD_IPV4_HEADER_LENGTH, SAME_FRAME, NONE },
	{ "ip version 6 in an ipv4 frame", "version nibble 6, ethertype 0x0800",
	  V4_SYN(), IP_VERSION_6_IN_IPV4, 0, 0, XDP_PASS, XS_PASS_NOT_IP,
	  SAME_FRAME, NONE },
	{ "ipv4 total length beyond frame", "tot_len + 100", V4_SYN(),
	  IPV4_TOTAL_LENGTH_TOO_LONG, 0, 0, XDP_PASS, XS_PASS_BAD_IP_LENGTH,
	  SAME_FRAME, NONE },
	{ "ipv4 total length below header", "tot_len 16", V4_SYN(),
	  IPV4_TOTAL_LENGTH_BELOW_HEADER, 0, 0, XDP_PASS, XS_PASS_BAD_IP_LENGTH,
	  SAME_FRAME, NONE },
	{ "frame cut inside tcp", "cut at 14 + 20 + 10, tot_len not fixed",
	  V4_SYN(), CUT_TO_LENGTH, 44, 0, XDP_PASS, XS_PASS_BAD_IP_LENGTH,
	  SAME_FRAME, NONE },
	{ "truncated tcp header", "cut at 14 + 20 + 10, tot_len agrees",
	  V4_SYN(), CUT_AND_FIX_IP_LENGTH, 44, 0, XDP_PASS,
	  XS_PASS_TRUNCATED_L4, SAME_FRAME, NONE },
	{ "truncated udp header", "cut at 14 + 20 + 6, tot_len agrees",
	  V4_SYN(.protocol = IPPROTO_UDP, .vip_port = 53),
	  CUT_AND_FIX_IP_LENGTH, 40, 0, XDP_PASS, XS_PASS_TRUNCATED_L4,
	  SAME_FRAME, NONE },
	{ "tcp doff below 5", "doff 4", V4_SYN(), TCP_DOFF_4, 0, 0, XDP_PASS,
	  XS_PASS_BAD_TCP_OFFSET, SAME_FRAME, NONE },
	{ "tcp doff beyond segment", "doff 15 on a 20-byte header", V4_SYN(),
	  TCP_DOFF_15, 0, 0, XDP_PASS, XS_PASS_TRUNCATED_L4, SAME_FRAME, NONE },
	{ "truncated ipv6 header", "cut at 14 + 39", V6_SYN(), CUT_TO_LENGTH,
	  53, 0, XDP_PASS, XS_PASS_TRUNCATED_IPV6, SAME_FRAME, NONE },
	{ "ipv6 payload length beyond frame", "payload_len + 8", V6_SYN(),
	  IPV6_PAYLOAD_LENGTH_TOO_LONG, 0, 0, XDP_PASS, XS_PASS_BAD_IP_LENGTH,
	  SAME_FRAME, NONE },
	{ "truncated extension header", "hop-by-hop cut at 8 of 16 bytes",
	  V6_SYN(.extension_count = 1, .extensions = { IPPROTO_HOPOPTS }),
	  CUT_AND_FIX_IP_LENGTH, 14 + 40 + 8, 0, XDP_PASS,
	  XS_PASS_TRUNCATED_EXTENSION, SAME_FRAME, NONE },
	{ "truncated tcp after extensions", "dest-options, then TCP cut at 12",
	  V6_SYN(.extension_count = 1, .extensions = { IPPROTO_DSTOPTS }),
	  CUT_AND_FIX_IP_LENGTH, 14 + 40 + 16 + 12, 0, XDP_PASS,
	  XS_PASS_TRUNCATED_L4, SAME_FRAME, NONE },
	{ "extension chain too long", "9 dest-options headers",
	  V6_SYN(.extension_count = 9,
		 .extensions = { 60, 60, 60, 60, 60, 60, 60, 60, 60 }),
	  0, 0, 0, XDP_PASS, XS_PASS_EXTENSION_CHAIN_TOO_LONG, SAME_FRAME,
	  NONE },
	{ "icmp frag-needed cut in the quote", "quoted ports cut off",
	  V4_FRAG_NEEDED(), CUT_AND_FIX_IP_LENGTH, 14 + 20 + 8 + 20 + 2, 0,
	  XDP_PASS, XS_PASS_TRUNCATED_ICMP, SAME_FRAME, NONE },
	{ "icmp frag-needed cut in its header", "4 bytes of ICMP",
	  V4_FRAG_NEEDED(), CUT_AND_FIX_IP_LENGTH, 14 + 20 + 4, 0, XDP_PASS,
	  XS_PASS_TRUNCATED_ICMP, SAME_FRAME, NONE },
	{ "v6 packet-too-big with 4 bytes of TCP quoted",
	  "the ports, but fewer than the 8 bytes a router must quote",
	  V6_TOO_BIG(), CUT_AND_FIX_IP_LENGTH, 14 + 40 + 8 + 40 + 4, 0,
	  XDP_PASS, XS_PASS_TRUNCATED_ICMP, SAME_FRAME, NONE },
	{ "icmp frag-needed quoting ihl 4", "quoted header's ihl 4",
	  V4_FRAG_NEEDED(), QUOTED_IHL_4, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_BAD_QUOTED_HEADER, SAME_FRAME, NONE },
	{ "icmp frag-needed quoting a later fragment",
	  "quoted offset 1480: no ports", V4_FRAG_NEEDED(),
	  QUOTED_LATER_FRAGMENT, 0, 0, XDP_PASS, XS_PASS_ICMP_BAD_QUOTED_HEADER,
	  SAME_FRAME, NONE },
	{ "icmp frag-needed quoting version 6", "quoted version nibble 6",
	  V4_FRAG_NEEDED(), QUOTED_VERSION_6, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_BAD_QUOTED_HEADER, SAME_FRAME, NONE },
	{ "v6 packet-too-big quoting 5 extension headers",
	  "more than a quote may have", V6_TOO_BIG(.quoted_extension_count = 5),
	  0, 0, 0, XDP_PASS, XS_PASS_ICMP_BAD_QUOTED_HEADER, SAME_FRAME, NONE },
	{ "icmp frag-needed quoting icmp", "the quoted protocol is ICMP",
	  V4_FRAG_NEEDED(.quoted_protocol = IPPROTO_ICMP), 0, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_QUOTED_NOT_TCP_UDP, SAME_FRAME, NONE },
	{ "v6 packet-too-big quoting gre", "the quoted next header is 47",
	  V6_TOO_BIG(.quoted_protocol = 47), 0, 0, 0, XDP_PASS,
	  XS_PASS_ICMP_QUOTED_NOT_TCP_UDP, SAME_FRAME, NONE },

	/* dropped */
	{ "ipip v4 too big for the tunnel", "1500-byte packet + 20 > MTU 1500",
	  V4_SYN(.vip = "10.100.0.2", .tcp_flags = 0x10,
		 .payload_length = 1460),
	  0, 0, 0, XDP_DROP, XS_DROP_TOO_BIG_FOR_TUNNEL, SAME_FRAME, NONE },
};

struct fixture_setup {
	__u32 backend_id[BACKEND_NAMES];
	const char *backend_address[BACKEND_NAMES];
	int backend_family[BACKEND_NAMES];
};

static void setup_vips(struct test_env *env, struct fixture_setup *s)
{
	struct {
		enum backend_name name;
		int family;
		const char *vip, *backend;
		__u16 port;
		__u8 protocol, mode, split;
	} rows[] = {
		{ A, 4, "10.100.0.1", "10.0.1.1", 80, IPPROTO_TCP,
		  XS_MODE_L2DSR, XS_SPLIT_FLOW },
		{ U, 4, "10.100.0.1", "10.0.1.2", 53, IPPROTO_UDP,
		  XS_MODE_L2DSR, XS_SPLIT_FLOW },
		{ S, 6, "fd00:100::1", "fd00:1::1", 443, IPPROTO_TCP,
		  XS_MODE_L2DSR, XS_SPLIT_FLOW },
		{ T4, 4, "10.100.0.2", "10.0.0.2", 80, IPPROTO_TCP,
		  XS_MODE_IPIP, XS_SPLIT_FLOW },
		{ T6, 6, "fd00:100::2", "fd00::3", 80, IPPROTO_TCP,
		  XS_MODE_IPIP, XS_SPLIT_FLOW },
		{ F, 4, "10.100.0.3", "10.0.1.3", 0, IPPROTO_UDP, XS_MODE_L2DSR,
		  XS_SPLIT_CLIENT },
		{ F6, 6, "fd00:100::3", "fd00:1::3", 0, IPPROTO_UDP,
		  XS_MODE_L2DSR, XS_SPLIT_CLIENT },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		__u32 vip_id = env_add_vip(env, rows[i].family, rows[i].vip,
					   rows[i].port, rows[i].protocol,
					   rows[i].mode, rows[i].split, NULL);

		s->backend_id[rows[i].name] =
			env_add_backend(env, vip_id, XS_POOL_BLUE,
					rows[i].family, rows[i].backend, 1);
		s->backend_address[rows[i].name] = rows[i].backend;
		s->backend_family[rows[i].name] = rows[i].family;
	}
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void refresh_ipv4_checksum(__u8 *ip)
{
	size_t header = (ip[0] & 0xf) * 4;

	put16(ip + 10, 0);
	if (header < 20)
		header = 20;
	put16(ip + 10, ipv4_header_checksum(ip, header));
}

/* The mutations of the IP and TCP headers and of the frame's length. */
static void mutate_headers(const struct fixture *f, __u8 *ip, size_t ip_offset,
			   size_t header, size_t *length)
{
	switch (f->mutation) {
	case CUT_TO_LENGTH:
		*length = f->cut;
		break;
	case CUT_AND_FIX_IP_LENGTH:
		*length = f->cut;
		if (f->spec.family == 4) {
			put16(ip + 2, f->cut - ip_offset);
			refresh_ipv4_checksum(ip);
		} else {
			put16(ip + 4, f->cut - ip_offset - 40);
		}
		break;
	case IHL_4:
		ip[0] = 0x44;
		refresh_ipv4_checksum(ip);
		break;
	case TCP_DOFF_4:
		ip[header + 12] = 4 << 4;
		break;
	case TCP_DOFF_15:
		ip[header + 12] = 15 << 4;
		break;
	case IPV4_TOTAL_LENGTH_TOO_LONG:
		put16(ip + 2, ((ip[2] << 8) | ip[3]) + 100);
		refresh_ipv4_checksum(ip);
		break;
	case IPV4_TOTAL_LENGTH_BELOW_HEADER:
		put16(ip + 2, 16);
		refresh_ipv4_checksum(ip);
		break;
	case IPV6_PAYLOAD_LENGTH_TOO_LONG:
		put16(ip + 4, ((ip[4] << 8) | ip[5]) + 8);
		break;
	case IP_VERSION_6_IN_IPV4:
		ip[0] = 0x65;
		break;
	case ETHERTYPE_ARP:
		put16(ip - 2, 0x0806);
		break;
	case OUTER_DESTINATION_OTHER: {
		__be32 other[4]; /* parse_address writes 16 bytes */

		parse_address(4, "10.100.0.9", other);
		memcpy(ip + 16, other, 4);
		refresh_ipv4_checksum(ip);
		break;
	}
	default: /* none, or one of mutate_icmp_message()'s */
		break;
	}
}

static bool is_icmp_mutation(enum mutation mutation)
{
	return mutation >= ICMP_ECHO && mutation <= QUOTED_VERSION_6;
}

/* The mutations of an ICMP message (is_icmp_mutation()): the changed
 * message keeps a right checksum, as a router's. */
static void mutate_icmp_message(const struct fixture *f, __u8 *ip,
				size_t header)
{
	size_t l4 = f->spec.family == 4 ? header : 40;
	size_t end;

	switch (f->mutation) {
	case ICMP_ECHO:
		ip[l4] = f->spec.family == 4 ? 8 : 128;
		ip[l4 + 1] = 0;
		break;
	case ICMP_PORT_UNREACHABLE:
		ip[header + 1] = 3;
		break;
	case QUOTED_IHL_4:
		ip[header + 8] = 0x44;
		refresh_ipv4_checksum(ip + header + 8);
		break;
	case QUOTED_LATER_FRAGMENT:
		put16(ip + header + 8 + 6, 185);
		refresh_ipv4_checksum(ip + header + 8);
		break;
	case QUOTED_VERSION_6:
		ip[header + 8] = 0x65;
		break;
	default:
		break;
	}
	end = f->spec.family == 4 ? ((ip[2] << 8) | ip[3]) :
				    40 + ((ip[4] << 8) | ip[5]);
	refresh_icmp_checksum(f->spec.family, ip, ip + l4, end - l4);
}

static void mutate(const struct fixture *f, __u8 *frame, size_t *length)
{
	__u8 *ip = frame + l3_offset(frame);
	size_t header = (ip[0] & 0xf) * 4;

	if (is_icmp_mutation(f->mutation))
		mutate_icmp_message(f, ip, header);
	else
		mutate_headers(f, ip, ip - frame, header, length);
}

/* The outer IPv4 header of an ipip frame to the backend at address,
 * around the inner header at inner. */
static void write_outer_ipv4(__u8 *outer, const __u8 *inner,
			     const __be32 *address)
{
	size_t inner_length = (inner[2] << 8) | inner[3];

	memset(outer, 0, 20);
	outer[0] = 0x45;
	outer[1] = inner[1];
	put16(outer + 2, inner_length + 20);
	outer[6] = inner[6] & 0x40; /* DF copied */
	outer[8] = 64;
	outer[9] = IPPROTO_IPIP;
	parse_address(4, "10.0.0.1", (__be32 *)(outer + 12));
	memcpy(outer + 16, address, 4);
	put16(outer + 10, ipv4_header_checksum(outer, 20));
}

/* The flow label of the outer IPv6 header: an ICMP's label is its quoted
 * flow's, so that it takes the flow's path. */
static __u32 expected_flow_label(const struct fixture *f, const __u8 *in,
				 size_t l3)
{
	struct xs_flow_key key = {
		.client_port = htons(f->spec.client_port),
		.vip_port = htons(f->spec.vip_port),
		.protocol = f->spec.router ? f->spec.quoted_protocol :
					     f->spec.protocol,
		.family = XS_FAMILY_IPV6,
	};

	parse_address(6, f->spec.client, key.client);
	parse_address(6, f->spec.vip, key.vip);
	if (l3 > 14) /* the flow key has the outer tag's VLAN ID */
		key.vlan_id = ((in[14] << 8) | in[15]) & XS_VLAN_ID_MASK;
	return xs_flow_label(&key);
}

/* The outer IPv6 header of an ipip frame to the backend at address,
 * around the inner header at in + l3. */
static void write_outer_ipv6(const struct fixture *f, __u8 *outer,
			     const __u8 *in, size_t l3, const __be32 *address)
{
	const __u8 *inner = in + l3;
	__u8 traffic_class = ((inner[0] & 0xf) << 4) | (inner[1] >> 4);
	__u32 label = expected_flow_label(f, in, l3);
	size_t inner_length = 40 + ((inner[4] << 8) | inner[5]);

	memset(outer, 0, 40);
	outer[0] = 0x60 | (traffic_class >> 4);
	outer[1] = ((traffic_class & 0xf) << 4) | (label >> 16);
	outer[2] = label >> 8;
	outer[3] = label;
	put16(outer + 4, inner_length);
	outer[6] = IPPROTO_IPV6;
	outer[7] = 64;
	parse_address(6, "fd00::1", (__be32 *)(outer + 8));
	memcpy(outer + 24, address, 16);
}

/* ipip: neighbour MAC of the backend, lb0's MAC, the tags, outer */
static size_t expected_ipip_frame(const struct fixture *f,
				  const struct fixture_setup *s, const __u8 *in,
				  size_t length, __u8 *out)
{
	size_t l3 = l3_offset(in);
	const char *backend = s->backend_address[f->backend];
	int family = s->backend_family[f->backend];
	__u8 *outer = out + l3;
	size_t outer_length = family == 4 ? 20 : 40;
	__be32 address[4];

	parse_mac(TEST_NEIGHBOUR_MAC_PREFIX "00", out);
	parse_address(family, backend, address);
	out[5] = family == 4 ? ((__u8 *)address)[3] : ((__u8 *)address)[15];
	parse_mac(TEST_LB_MAC, out + 6);
	memcpy(out + 12, in + 12, l3 - 12);
	if (family == 4)
		write_outer_ipv4(outer, in + l3, address);
	else
		write_outer_ipv6(f, outer, in, l3, address);
	memcpy(outer + outer_length, in + l3, length - l3);
	return length + outer_length;
}

/* The frame the program must emit, built independently of it. */
static size_t expected_frame(const struct fixture *f,
			     const struct fixture_setup *s, const __u8 *in,
			     size_t length, __u8 *out)
{
	__u8 mac[6];

	if (f->output == SAME_FRAME) {
		memcpy(out, in, length);
		return length;
	}
	if (f->output == L2DSR_FRAME) {
		memcpy(out, in, length);
		env_backend_mac(s->backend_id[f->backend], mac);
		memcpy(out, mac, 6);
		memcpy(out + 6, in, 6); /* our MAC, the frame's destination */
		return length;
	}
	return expected_ipip_frame(f, s, in, length, out);
}

static size_t input_frame(const struct fixture *f, __u8 *frame)
{
	struct packet_spec spec = f->spec;
	size_t length;

	parse_mac(TEST_LB_MAC, spec.destination_mac);
	parse_mac(TEST_CLIENT_MAC, spec.source_mac);
	length = build_packet(&spec, frame);
	mutate(f, frame, &length);
	return length;
}

void fixture_setup(struct test_env *env)
{
	struct fixture_setup setup = { 0 };

	setup_vips(env, &setup);
}

size_t fixture_frame(size_t index, __u8 *frame)
{
	if (index >= sizeof(fixtures) / sizeof(fixtures[0]))
		return 0;
	memset(frame, 0, FRAME_CAPACITY);
	return input_frame(&fixtures[index], frame);
}

static void dump(const char *what, const __u8 *frame, size_t length)
{
	fprintf(stderr, "    %s (%zu bytes):", what, length);
	for (size_t i = 0; i < length && i < 96; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n      ", frame[i]);
	fputc('\n', stderr);
}

/* The SYN (or datagram) of the flow an ICMP row quotes, sent first so
 * that the flow is stored; 0 if it was forwarded. */
static int send_quoted_flow(struct test_env *env, const struct fixture *f,
			    struct run_result *result)
{
	struct packet_spec syn = f->spec;

	syn.protocol = f->spec.quoted_protocol;
	syn.router = NULL;
	syn.tcp_flags = 0x02;
	if (env_run_spec(env, &syn, result) || result->action != XDP_TX)
		return -1;
	return 0;
}

static int counter_of_verdict(int verdict)
{
	return verdict == XDP_TX   ? XS_VERDICT_TX :
	       verdict == XDP_DROP ? XS_VERDICT_DROP :
	       verdict == XDP_PASS ? XS_VERDICT_PASS :
				     XS_VERDICT_REDIRECT;
}

/* What a row that went wrong did: its verdict and reason, every counter
 * that moved, and the frames in, out and expected. */
static void report_mismatch(const struct fixture *f, struct test_env *env,
			    __u64 reason_before, const __u8 *in, size_t length,
			    const struct run_result *result,
			    const __u8 *expected, size_t expected_length)
{
	fprintf(stderr,
		"    made as: %s\n    verdict %d (want %d), %s +%llu (want +1)\n",
		f->how_made, result->action, f->verdict,
		xs_counter_names[f->reason],
		(unsigned long long)(env_counter(env, f->reason) -
				     reason_before));
	for (int c = 0; c < XS_COUNTER_COUNT; c++)
		if (env_counter(env, c))
			fprintf(stderr, "    counter %s = %llu\n",
				xs_counter_names[c],
				(unsigned long long)env_counter(env, c));
	dump("input", in, length);
	dump("output", result->frame, result->length);
	dump("expected", expected, expected_length);
}

static int run_fixture(const void *arg)
{
	const struct fixture *f = arg;
	static struct run_result result;
	static __u8 in[FRAME_CAPACITY], expected[FRAME_CAPACITY];
	struct fixture_setup setup = { 0 };
	struct test_env env;
	__u64 reason_before, verdict_before;
	size_t length, expected_length;
	int verdict_counter = counter_of_verdict(f->verdict), failed = 0;

	CHECK_OK(env_setup(&env));
	setup_vips(&env, &setup);
	if (f->prelude_syn && send_quoted_flow(&env, f, &result))
		failed = 1;

	length = input_frame(f, in);
	expected_length = expected_frame(f, &setup, in, length, expected);

	reason_before = env_counter(&env, f->reason);
	verdict_before = env_counter(&env, verdict_counter);
	if (!failed && env_run(&env, in, length, &result))
		failed = 1;
	if (!failed &&
	    (result.action != f->verdict ||
	     env_counter(&env, f->reason) != reason_before + 1 ||
	     env_counter(&env, verdict_counter) != verdict_before + 1 ||
	     result.length != expected_length ||
	     memcmp(result.frame, expected, expected_length))) {
		report_mismatch(f, &env, reason_before, in, length, &result,
				expected, expected_length);
		failed = 1;
	}
	env_teardown(&env);
	return failed ? -1 : 0;
}

const struct test_case *fixture_tests(size_t *count)
{
	static struct test_case cases[sizeof(fixtures) / sizeof(fixtures[0])];
	static char names[sizeof(fixtures) / sizeof(fixtures[0])][96];

	*count = sizeof(fixtures) / sizeof(fixtures[0]);
	for (size_t i = 0; i < *count; i++) {
		snprintf(names[i], sizeof(names[i]), "fixture: %s",
			 fixtures[i].name);
		cases[i].name = names[i];
		cases[i].run = run_fixture;
		cases[i].arg = &fixtures[i];
	}
	return cases;
}
