// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "maps/contract.h"
#include "netlink.h"

struct reply {
	int found;
	int ifindex;
	int via_gateway;
	__u16 state;
	__u8 mac[6];
	int mac_length;
};

static int af_of(__u8 family)
{
	return family == XS_FAMILY_IPV4 ? AF_INET : AF_INET6;
}

static size_t address_length(__u8 family)
{
	return family == XS_FAMILY_IPV4 ? 4 : 16;
}

/* Sends one request and runs callback over the answer. */
static int transact(struct nlmsghdr *request, mnl_cb_t callback,
		    struct reply *reply)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int port, seq;
	int n, err = 0;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	/* never hang an operator's command on a kernel that stays silent */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 2 }, sizeof(struct timeval));
	port = mnl_socket_get_portid(nl);
	seq = request->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buffer, sizeof(buffer))) > 0) {
		n = mnl_cb_run(buffer, n, seq, port, callback, reply);
		if (n <= MNL_CB_STOP)
			break;
	}
	if (n < 0)
		err = -errno;
out:
	mnl_socket_close(nl);
	return err;
}

static int route_attribute(const struct nlattr *attr, void *data)
{
	struct reply *reply = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		reply->ifindex = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
	case RTA_VIA:
		reply->via_gateway = 1;
		break;
	}
	return MNL_CB_OK;
}

static int route_callback(const struct nlmsghdr *message, void *data)
{
	struct reply *reply = data;

	reply->found = 1;
	return mnl_attr_parse(message, sizeof(struct rtmsg), route_attribute,
			      data) < 0 ?
		       MNL_CB_ERROR :
		       MNL_CB_OK;
}

static int route_lookup(__u8 family, const __be32 *address, struct reply *reply)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *request = mnl_nlmsg_put_header(buffer);
	struct rtmsg *rtm;

	request->nlmsg_type = RTM_GETROUTE;
	/* the ACK ends the answer: a get without it leaves us waiting */
	request->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rtm = mnl_nlmsg_put_extra_header(request, sizeof(*rtm));
	rtm->rtm_family = af_of(family);
	rtm->rtm_dst_len = address_length(family) * 8;
	mnl_attr_put(request, RTA_DST, address_length(family), address);
	memset(reply, 0, sizeof(*reply));
	return transact(request, route_callback, reply);
}

static int neighbour_attribute(const struct nlattr *attr, void *data)
{
	struct reply *reply = data;

	if (mnl_attr_get_type(attr) == NDA_LLADDR &&
	    mnl_attr_get_payload_len(attr) == 6) {
		memcpy(reply->mac, mnl_attr_get_payload(attr), 6);
		reply->mac_length = 6;
	}
	return MNL_CB_OK;
}

static int neighbour_callback(const struct nlmsghdr *message, void *data)
{
	struct ndmsg *ndm = mnl_nlmsg_get_payload(message);
	struct reply *reply = data;

	reply->found = 1;
	reply->state = ndm->ndm_state;
	return mnl_attr_parse(message, sizeof(*ndm), neighbour_attribute,
			      data) < 0 ?
		       MNL_CB_ERROR :
		       MNL_CB_OK;
}

/* RTM_GETNEIGH for one entry, or RTM_NEWNEIGH with NTF_USE to make the
 * kernel resolve it (an ARP request or a neighbour solicitation). */
static int neighbour_request(int type, __u8 family, const __be32 *address,
			     int ifindex, struct reply *reply)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *request = mnl_nlmsg_put_header(buffer);
	struct ndmsg *ndm;

	request->nlmsg_type = type;
	/* the ACK ends the answer: a get without it leaves us waiting */
	request->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ndm = mnl_nlmsg_put_extra_header(request, sizeof(*ndm));
	ndm->ndm_family = af_of(family);
	ndm->ndm_ifindex = ifindex;
	if (type == RTM_NEWNEIGH) {
		request->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE |
					NLM_F_ACK;
		ndm->ndm_flags = NTF_USE;
		ndm->ndm_state = NUD_NONE;
	}
	mnl_attr_put(request, NDA_DST, address_length(family), address);
	memset(reply, 0, sizeof(*reply));
	return transact(request, neighbour_callback, reply);
}

#define NUD_USABLE                                                             \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |   \
	 NUD_NOARP)

int xs_resolve_backend(__u8 family, const __be32 *address, int timeout_ms,
		       struct xs_next_hop *hop, char *why, size_t why_size)
{
	struct reply reply;
	int err, waited = 0;

	memset(hop, 0, sizeof(*hop));
	err = route_lookup(family, address, &reply);
	if (err || !reply.found || !reply.ifindex) {
		snprintf(why, why_size, "no route to it (%s)",
			 err ? strerror(-err) : "no output interface");
		return err ? err : -ENETUNREACH;
	}
	hop->ifindex = reply.ifindex;
	hop->via_gateway = reply.via_gateway;
	if (reply.via_gateway) {
		snprintf(
			why, why_size,
			"it is reached through a gateway, not on a directly connected network");
		return -ENETUNREACH;
	}
	for (;;) {
		err = neighbour_request(RTM_GETNEIGH, family, address,
					hop->ifindex, &reply);
		if (!err && reply.found && (reply.state & NUD_USABLE) &&
		    reply.mac_length == 6) {
			memcpy(hop->mac, reply.mac, 6);
			return 0;
		}
		if (waited >= timeout_ms)
			break;
		/* ask again every 500 ms; the kernel retries on its own too */
		if (waited % 500 == 0)
			neighbour_request(RTM_NEWNEIGH, family, address,
					  hop->ifindex, &reply);
		usleep(50 * 1000);
		waited += 50;
	}
	snprintf(
		why, why_size,
		"its MAC did not resolve within %d ms (no %s reply on the interface); check that it is up, or give the MAC with 'mac'",
		timeout_ms, family == XS_FAMILY_IPV4 ? "ARP" : "neighbour");
	return -EHOSTUNREACH;
}

int xs_forget_neighbour(__u8 family, const __be32 *address)
{
	struct reply reply;
	int err, ifindex;

	err = route_lookup(family, address, &reply);
	if (err || !reply.found || !reply.ifindex || reply.via_gateway)
		return err ? err : -ENETUNREACH;
	ifindex = reply.ifindex;
	err = neighbour_request(RTM_GETNEIGH, family, address, ifindex, &reply);
	if (err || !reply.found)
		return err == -ENOENT ? 0 : err;
	/* an entry an operator pinned is theirs to change */
	if (reply.state & (NUD_PERMANENT | NUD_NOARP))
		return 0;
	return neighbour_request(RTM_DELNEIGH, family, address, ifindex,
				 &reply);
}
