/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Announcing VIPs to the host's BGP daemon, with liveness the kernel
 * enforces.
 *
 * splitd opens a non-persistent TUN device (default "xsplit-vips") and
 * announces a VIP by adding the route `VIP/32 dev xsplit-vips` (or /128) to
 * a routing table of its own (default 80) that no `ip rule` points at, so
 * forwarding on the host is unaffected. The host's BGP daemon learns that
 * table and announces what it finds there with itself as the next hop:
 *
 *   BIRD 2:  protocol kernel { kernel table 80; learn; scan time 10;
 *                              ipv4 { import all; export none; }; }
 *            (the same with ipv6) and a BGP export filter for the VIP
 *            prefixes with `next hop self` (tests/e2e/fleet_net.py has the
 *            whole configuration)
 *   FRR:     ip import-table 80, redistributed into BGP
 *
 * Withdrawing is deleting the route. When splitd dies, even by SIGKILL, the
 * kernel destroys the device with the last file descriptor on it and
 * removes every route through it: the BGP daemon withdraws the VIPs
 * without splitd's help. A splitd that hangs keeps its device; judging its
 * own health and withdrawing is splitd's loop's job.
 *
 * BIRD learns of every change at once, from netlink notifications, not
 * from its periodic scan (measured with scan time 60: an add or delete
 * reaches the router's FIB in 3-7 ms). The kernel notifies no deletion of
 * the IPv4 routes it flushes with a vanished device (IPv6 ones it does);
 * BIRD drops routes through an interface that is gone on its own, so a
 * SIGKILL withdraws as fast. The scan is only a safety net (a lost
 * notification on an overrun netlink socket).
 *
 * The routes carry protocol XS_ANNOUNCE_RTPROT, so `ip route show table 80
 * proto 88` shows them and nothing else claims them.
 *
 * Needs CAP_NET_ADMIN (creating a TUN device, changing routes).
 */
#ifndef XDPSPLIT_FLEET_ANNOUNCE_H
#define XDPSPLIT_FLEET_ANNOUNCE_H

#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>

#define XS_ANNOUNCE_DEVICE "xsplit-vips"
#define XS_ANNOUNCE_TABLE 80
/* rtnetlink protocol of our routes: unassigned in linux/rtnetlink.h and
 * /etc/iproute2/rt_protos (name it there: "88 xdpsplit") */
#define XS_ANNOUNCE_RTPROT 88
/* the most prefixes one device carries (a set or a listing beyond it is
 * refused) */
#define XS_ANNOUNCE_MAX 4096

struct xs_announce_prefix {
	__u8 family; /* XS_FAMILY_IPV4 or XS_FAMILY_IPV6 */
	__u8 length; /* prefix length: 32 or 128 for a VIP */
	__u8 pad[2];
	__be32 address[4]; /* IPv4 in address[0] */
};

struct xs_announcer {
	int tun_fd; /* the device lives as long as this descriptor */
	int ifindex;
	__u32 table;
	char device[IF_NAMESIZE];
	struct mnl_socket *netlink;
	unsigned int sequence;
	char error[256]; /* the last failure, for the operator */
};

/* Creates the device (refusing one of that name that already exists: it is
 * not ours), brings it up and opens the netlink socket. table 0 means
 * XS_ANNOUNCE_TABLE, device NULL XS_ANNOUNCE_DEVICE. Announces nothing
 * yet. 0, or a negative errno with a sentence in error. */
int xs_announce_open(struct xs_announcer *announcer, const char *device,
		     __u32 table, char *error, size_t size);

/* Makes the routes on our device in our table exactly these prefixes:
 * adds the missing ones, deletes the others. Idempotent; host bits beyond
 * a prefix's length are cleared. 0, or a negative errno with a sentence in
 * announcer->error (what could be changed was). */
int xs_announce_set(struct xs_announcer *announcer,
		    const struct xs_announce_prefix *prefixes, size_t count);

/* Withdraws every prefix (the set of none): drain, or unhealthy. */
int xs_announce_withdraw(struct xs_announcer *announcer);

/* Closes the device: the kernel removes its routes. Safe on a closed or
 * zeroed announcer. */
void xs_announce_close(struct xs_announcer *announcer);

/* What is announced now: the routes of table on device (by name, so any
 * process can ask, splitctl as well as the owner), sorted, at most capacity
 * of them in prefixes, their number in count. 0; -ENODEV when there is no
 * such device (nothing is announced); -ENOBUFS when more than capacity;
 * another negative errno on failure. */
int xs_announce_list(const char *device, __u32 table,
		     struct xs_announce_prefix *prefixes, size_t capacity,
		     size_t *count);

/* "10.77.100.1/32" or "fd77:100::1/128" (size: INET6_ADDRSTRLEN + 4) */
const char *xs_announce_format(const struct xs_announce_prefix *prefix,
			       char *buffer, size_t size);
/* Parses ADDRESS[/LENGTH] (no length: the host route). 0 or -EINVAL. */
int xs_announce_parse(const char *text, struct xs_announce_prefix *prefix);

#endif /* XDPSPLIT_FLEET_ANNOUNCE_H */
