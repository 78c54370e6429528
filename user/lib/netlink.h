/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's routing and neighbour tables through rtnetlink (libmnl):
 * how this host reaches a backend, and the backend's MAC, with resolution
 * triggered (NTF_USE, as `ip neigh ... use`) when the entry is missing.
 */
#ifndef XDPSPLIT_NETLINK_H
#define XDPSPLIT_NETLINK_H

#include <stddef.h>
#include <linux/types.h>

struct xs_next_hop {
	int ifindex;
	int via_gateway; /* the backend is not on a directly connected network */
	__u8 mac[6];
};

/* Resolves the backend's MAC, waiting up to timeout_ms for ARP/ND. Returns
 * 0, or a negative errno with a sentence for the operator in `why`. */
int xs_resolve_backend(__u8 family, const __be32 *address, int timeout_ms,
		       struct xs_next_hop *hop, char *why, size_t why_size);

/* Drops the kernel's neighbour entry of a backend (not a permanent one), so
 * the next packet to it asks ARP/ND afresh: a backend that stopped answering
 * may be back on another machine, with another MAC. 0 or a negative errno. */
int xs_forget_neighbour(__u8 family, const __be32 *address);

#endif /* XDPSPLIT_NETLINK_H */
