/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The traffic classes every benchmark measures, and the VIPs they hit. */
#ifndef XDPSPLIT_BENCH_CLASSES_H
#define XDPSPLIT_BENCH_CLASSES_H

#include <stdbool.h>
#include <stddef.h>
#include "testlib/env.h"

/* Every class by name, for the figures that compare two of them. */
enum class_id {
	CLASS_ESTABLISHED,	 /* TCP v4, 1,000 flows, l2dsr */
	CLASS_ESTABLISHED_LARGE, /* the same, 65,536 flows */
	CLASS_NEW_FLOW,		 /* a SYN of a new tuple every packet */
	CLASS_CONNECTION,	 /* SYN, then that tuple's ACK */
	CLASS_ESTABLISHED_IPIP,	 /* CLASS_ESTABLISHED to an ipip VIP */
	CLASS_UDP,
	CLASS_V6,
	CLASS_NON_VIP,
	CLASS_CANARY,
	CLASS_COUNT
};

struct class {
	const char *name;
	int family;
	const char *vip;
	__u8 protocol;
	__u32 flows;  /* established flows cycled through; 0: new each */
	bool tcp_syn; /* the measured packets are SYNs */
	/* a connection's SYN, then its ACK (the handshake's third packet),
	 * a new tuple each: 2 packets per connection */
	bool connection;
	bool floor; /* the stateful floor does this work (TCP/IPv4 VIP) */
};

extern const struct class classes[];
extern const size_t class_count;

/* The packet of flow n of a class: client 198.18.x.y (or 2001:2::n),
 * port 1024 + n / 65536. */
void flow_spec(const struct class *c, __u64 n, __u8 flags,
	       struct packet_spec *spec, char *client);
struct generator;
/* The generator's template for a class: its first packet (a SYN for the
 * classes of new flows), how many flows it cycles, its family and whether
 * it alternates SYN and ACK. The caller sets the stride. */
void class_template(struct generator *gen, const struct class *c);
/* The VIPs the classes address, with backends, a 5% canary and 1,000
 * client overrides on 10.100.0.2, ipip on 10.100.0.3. */
void setup_vips(struct test_env *env);

#endif
