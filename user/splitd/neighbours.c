// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Watches the kernel's neighbour table (rtnetlink, libmnl): when the MAC of
 * an l2dsr backend changes (a replaced NIC, a failover that moved its
 * address), the backend's entry follows, so the data plane does not keep
 * sending to a MAC nobody has any more.
 *
 * This runs on the main loop, which must never wait: when splitctl holds
 * the pin directory's lock, the change is kept and tried again on the
 * next turns of the loop (every PENDING_RETRY_MS) until the lock is free.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "user/lib/audit.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "splitd.h"

#define NUD_USABLE                                                             \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |   \
	 NUD_NOARP)

#define MAX_PENDING 64
#define PENDING_RETRY_MS 50

static struct mnl_socket *watcher;

struct neighbour {
	__u8 family;
	__be32 address[XS_ADDRESS_WORDS];
	__u8 mac[6];
	bool has_address, has_mac;
};

/* changes not yet made: the pin directory was locked */
static struct neighbour pending[MAX_PENDING];
static size_t pending_count;

static int attribute(const struct nlattr *attr, void *data)
{
	struct neighbour *n = data;
	size_t length = mnl_attr_get_payload_len(attr);

	if (mnl_attr_get_type(attr) == NDA_DST &&
	    (length == 4 || length == 16)) {
		memcpy(n->address, mnl_attr_get_payload(attr), length);
		n->has_address = true;
	} else if (mnl_attr_get_type(attr) == NDA_LLADDR && length == 6) {
		memcpy(n->mac, mnl_attr_get_payload(attr), 6);
		n->has_mac = true;
	}
	return MNL_CB_OK;
}

/* Points every l2dsr backend with this address at the new MAC; false if
 * the pin directory is locked (nothing is written then). */
static bool follow(struct daemon *d, const struct neighbour *n)
{
	bool done = true;
	struct xs_backend_entry *all;
	size_t count;
	int lock = -1;

	all = xs_backend_all(&d->dp, ~0U, &count);
	for (size_t i = 0; all && i < count; i++) {
		struct xs_backend *b = &all[i].backend;
		struct xs_vip_entry *vips;
		size_t vip_count;
		bool l2dsr = false;
		char address[64], old_mac[24], new_mac[24], command[256];

		if (b->family != n->family ||
		    memcmp(b->address, n->address, 16) ||
		    !memcmp(b->mac, n->mac, 6))
			continue;
		vips = xs_vip_all(&d->dp, &vip_count);
		for (size_t v = 0; vips && v < vip_count; v++)
			if (vips[v].vip.vip_id == b->vip_id)
				l2dsr = vips[v].vip.forward_mode ==
					XS_MODE_L2DSR;
		free(vips);
		if (!l2dsr)
			continue;
		if (lock < 0 && (lock = xs_try_lock_pin_dir(d->pin_dir)) < 0) {
			done = false;
			break;
		}
		xs_format_address(b->family, b->address, address,
				  sizeof(address));
		xs_format_mac(b->mac, old_mac, sizeof(old_mac));
		xs_format_mac(n->mac, new_mac, sizeof(new_mac));
		memcpy(b->mac, n->mac, 6);
		if (xs_backend_write(&d->dp, all[i].id, b))
			continue;
		snprintf(command, sizeof(command),
			 "splitd neighbour: backend %s moved from %s to %s",
			 address, old_mac, new_mac);
		pr_info("%s\n", command);
		xs_audit_append(d->state_dir, command, NULL, NULL);
	}
	xs_unlock(lock);
	free(all);
	return done;
}

/* Kept for later; the latest change of an address replaces an older one. */
static void defer(const struct neighbour *n)
{
	size_t i;

	for (i = 0; i < pending_count; i++)
		if (pending[i].family == n->family &&
		    !memcmp(pending[i].address, n->address, sizeof(n->address)))
			break;
	if (i == MAX_PENDING) {
		pr_warn("The pin directory stays locked: more than %d neighbour changes wait; dropping the oldest\n",
			MAX_PENDING);
		memmove(pending, pending + 1,
			sizeof(pending[0]) * (MAX_PENDING - 1));
		i = MAX_PENDING - 1;
	}
	pending[i] = *n;
	if (i == pending_count)
		pending_count++;
}

void neighbours_retry(struct daemon *d)
{
	size_t kept = 0;

	for (size_t i = 0; i < pending_count; i++)
		if (!follow(d, &pending[i]))
			pending[kept++] = pending[i];
	pending_count = kept;
}

int neighbours_timeout_ms(void)
{
	return pending_count ? PENDING_RETRY_MS : -1;
}

static int message(const struct nlmsghdr *header, void *data)
{
	struct ndmsg *ndm = mnl_nlmsg_get_payload(header);
	struct neighbour n = { 0 };

	if (header->nlmsg_type != RTM_NEWNEIGH ||
	    !(ndm->ndm_state & NUD_USABLE))
		return MNL_CB_OK;
	if (ndm->ndm_family == AF_INET)
		n.family = XS_FAMILY_IPV4;
	else if (ndm->ndm_family == AF_INET6)
		n.family = XS_FAMILY_IPV6;
	else
		return MNL_CB_OK;
	mnl_attr_parse(header, sizeof(*ndm), attribute, &n);
	if (n.has_address && n.has_mac && !follow(data, &n))
		defer(&n);
	return MNL_CB_OK;
}

int neighbours_open(struct daemon *d)
{
	(void)d;
	watcher = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!watcher ||
	    mnl_socket_bind(watcher, RTMGRP_NEIGH, MNL_SOCKET_AUTOPID)) {
		pr_warn("Couldn't watch the neighbour table: %s; backend MAC changes will not be followed\n",
			strerror(errno));
		if (watcher)
			mnl_socket_close(watcher);
		watcher = NULL;
		return -1;
	}
	return 0;
}

int neighbours_fd(void)
{
	return watcher ? mnl_socket_get_fd(watcher) : -1;
}

void neighbours_read(struct daemon *d)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	while (watcher &&
	       (n = mnl_socket_recvfrom(watcher, buffer, sizeof(buffer))) > 0)
		mnl_cb_run(buffer, (size_t)n, 0, 0, message, d);
}

void neighbours_close(void)
{
	if (watcher)
		mnl_socket_close(watcher);
	watcher = NULL;
}
