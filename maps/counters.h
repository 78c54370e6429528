/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * global_stats[counter], per CPU: every verdict and every reason a packet was
 * passed, dropped or forwarded, by name. One list feeds the enum the program
 * counts with and the names userspace prints, so they cannot drift apart.
 */
#ifndef XDPSPLIT_MAPS_COUNTERS_H
#define XDPSPLIT_MAPS_COUNTERS_H

/*
 * Three families, each summable on its own: every packet counts one verdict
 * and one reason (stats.bpf.h's finish()), so each of the two sums to the
 * packets seen; events (flow table, a table's consistency, imports) come
 * any number of times per packet, or none. The order is the map's index
 * (the layout pinned maps have): new counters go at the end of a list only
 * together with a new layout.
 */
#define XS_VERDICT_LIST(X)                                                     \
	X(VERDICT_PASS, "verdict_pass")                                        \
	X(VERDICT_TX, "verdict_tx")                                            \
	X(VERDICT_REDIRECT, "verdict_redirect")                                \
	X(VERDICT_DROP, "verdict_drop")

#define XS_REASON_LIST(X)                                                      \
	/* passed untouched: not ours */                                       \
	X(PASS_NOT_IP, "pass_not_ip")                                          \
	X(PASS_NOT_TCP_UDP, "pass_not_tcp_udp")                                \
	X(PASS_NOT_VIP, "pass_not_vip")                                        \
	/* passed untouched: malformed or unparseable */                       \
	X(PASS_TRUNCATED_ETHERNET, "pass_truncated_ethernet")                  \
	X(PASS_TRUNCATED_VLAN, "pass_truncated_vlan")                          \
	X(PASS_TOO_MANY_VLANS, "pass_too_many_vlans")                          \
	X(PASS_TRUNCATED_IPV4, "pass_truncated_ipv4")                          \
	X(PASS_BAD_IPV4_HEADER_LENGTH, "pass_bad_ipv4_header_length")          \
	X(PASS_BAD_IP_LENGTH, "pass_bad_ip_length")                            \
	X(PASS_TRUNCATED_IPV6, "pass_truncated_ipv6")                          \
	X(PASS_TRUNCATED_EXTENSION, "pass_truncated_extension_header")         \
	X(PASS_EXTENSION_CHAIN_TOO_LONG, "pass_extension_chain_too_long")      \
	X(PASS_TRUNCATED_L4, "pass_truncated_l4")                              \
	X(PASS_BAD_TCP_OFFSET, "pass_bad_tcp_data_offset")                     \
	X(PASS_FRAGMENT, "pass_fragment")                                      \
	/* passed untouched: ICMP that is not a too-big about a VIP flow */    \
	X(PASS_ICMP_OTHER, "pass_icmp_other")                                  \
	X(PASS_TRUNCATED_ICMP, "pass_truncated_icmp")                          \
	X(PASS_ICMP_BAD_QUOTED_HEADER, "pass_icmp_bad_quoted_header")          \
	X(PASS_ICMP_QUOTED_NOT_TCP_UDP, "pass_icmp_quoted_not_tcp_udp")        \
	X(PASS_ICMP_NOT_TO_QUOTED_SOURCE, "pass_icmp_not_to_quoted_source")    \
	X(PASS_ICMP_NOT_VIP, "pass_icmp_not_vip")                              \
	/* passed: a VIP's configuration cannot be used */                     \
	X(PASS_INVALID_ROUTE, "pass_invalid_route")                            \
	X(PASS_NO_CONFIG, "pass_no_config")                                    \
	/* dropped: a VIP packet that cannot be delivered */                   \
	X(DROP_NO_BACKEND, "drop_no_backend")                                  \
	X(DROP_ENCAP_FAILED, "drop_encap_failed")                              \
	X(DROP_FIB_LOOKUP_FAILED, "drop_fib_lookup_failed")                    \
	X(DROP_FORWARDING_DISABLED, "drop_forwarding_disabled")                \
	X(DROP_NO_NEIGHBOUR, "drop_no_neighbour")                              \
	X(DROP_TOO_BIG_FOR_TUNNEL, "drop_too_big_for_tunnel")                  \
	X(DROP_NO_EGRESS_MAC, "drop_no_egress_mac")                            \
	/* forwarded */                                                        \
	X(FORWARD_L2DSR, "forward_l2dsr")                                      \
	X(FORWARD_IPIP, "forward_ipip")                                        \
	X(FORWARD_ICMP_STORED_FLOW, "forward_icmp_too_big_stored_flow")        \
	X(FORWARD_ICMP_NEW_CHOICE, "forward_icmp_too_big_new_choice")          \
	X(FORWARD_FRAGMENT, "forward_fragment")

#define XS_EVENT_LIST(X)                                                       \
	/* flow table events */                                                \
	X(FLOW_RECHOSEN_BACKEND_DOWN, "flow_rechosen_backend_down")            \
	X(FLOW_RECHOSEN_POOL_FLUSHED, "flow_rechosen_pool_flushed")            \
	X(FLOW_RECHOSEN_NEW_SYN, "flow_rechosen_new_syn")                      \
	X(FLOW_INSERT_FAILED, "flow_insert_failed")                            \
	X(FLOW_NOT_STORED, "flow_not_stored")                                  \
	X(FLOW_PENDING_INSERTED, "flow_pending_inserted")                      \
	X(FLOW_PENDING_EVICTED, "flow_pending_evicted")                        \
	X(FLOW_CONFIRMED, "flow_confirmed")                                    \
	X(FLOW_CONFIRMED_EVICTED, "flow_confirmed_evicted")                    \
	X(FLOW_CLOSED_REPLACED, "flow_closed_replaced")                        \
	X(FLOW_MIDSTREAM_PICKUP, "flow_midstream_pickup")                      \
	X(BACKEND_NOT_UP_IN_TABLE, "backend_not_up_in_table")                  \
	/* written by userspace alone (xs_flow_import), never by the      \
	 * program: flows shared by another LB host, and the ways they     \
	 * took, as the program counts its own (after the program's) */    \
	X(FLOW_IMPORTED, "flow_imported")                                      \
	X(FLOW_IMPORTED_PENDING, "flow_imported_pending")                      \
	X(FLOW_IMPORT_PENDING_EVICTED, "flow_import_pending_evicted")          \
	X(FLOW_IMPORT_CONFIRMED_EVICTED, "flow_import_confirmed_evicted")      \
	X(FLOW_IMPORT_CLOSED_REPLACED, "flow_import_closed_replaced")

#define XS_COUNTER_LIST(X) XS_VERDICT_LIST(X) XS_REASON_LIST(X) XS_EVENT_LIST(X)

#define XS_COUNTER_ENUM(name, text) XS_##name,
enum xs_counter { XS_COUNTER_LIST(XS_COUNTER_ENUM) XS_COUNTER_COUNT };
#undef XS_COUNTER_ENUM

/* Where each family starts in enum xs_counter */
#define XS_COUNTER_ONE(name, text) +1
enum xs_counter_family_start {
	XS_FIRST_VERDICT = 0,
	XS_FIRST_REASON = 0 XS_VERDICT_LIST(XS_COUNTER_ONE),
	XS_FIRST_EVENT = XS_FIRST_REASON XS_REASON_LIST(XS_COUNTER_ONE),
};
#undef XS_COUNTER_ONE

#endif /* XDPSPLIT_MAPS_COUNTERS_H */
