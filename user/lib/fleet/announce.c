// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "maps/contract.h"
#include "announce.h"

/* a dump's messages come in parts of up to this much */
#define DUMP_BUFFER 32768

static int af_of(__u8 family)
{
	return family == XS_FAMILY_IPV4 ? AF_INET : AF_INET6;
}

static unsigned int bits_of(__u8 family)
{
	return family == XS_FAMILY_IPV4 ? 32 : 128;
}

static void say(char *error, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *error, size_t size, const char *format, ...)
{
	va_list arguments;

	if (!error || !size)
		return;
	va_start(arguments, format);
	vsnprintf(error, size, format, arguments);
	va_end(arguments);
}

/* Clears the host bits beyond the prefix length, so that 10.77.100.1/24
 * and 10.77.100.0/24 are one prefix (the kernel refuses the former). */
static void normalize(struct xs_announce_prefix *prefix)
{
	unsigned int bits = bits_of(prefix->family), word;
	__u8 *bytes = (__u8 *)prefix->address;

	if (prefix->length > bits)
		prefix->length = bits;
	for (word = 0; word < 16; word++) {
		unsigned int first_bit = word * 8;

		if (first_bit >= bits || first_bit + 8 <= prefix->length)
			continue;
		if (first_bit >= prefix->length)
			bytes[word] = 0;
		else
			bytes[word] &=
				(__u8)(0xff
				       << (8 - (prefix->length - first_bit)));
	}
	prefix->pad[0] = prefix->pad[1] = 0;
}

static int compare(const void *left_pointer, const void *right_pointer)
{
	const struct xs_announce_prefix *left = left_pointer,
					*right = right_pointer;
	int order;

	if (left->family != right->family)
		return left->family < right->family ? -1 : 1;
	order = memcmp(left->address, right->address, 16);
	if (order)
		return order;
	return (int)left->length - (int)right->length;
}

static int same(const struct xs_announce_prefix *left,
		const struct xs_announce_prefix *right)
{
	return compare(left, right) == 0;
}

static struct mnl_socket *netlink_open(void)
{
	struct mnl_socket *netlink = mnl_socket_open(NETLINK_ROUTE);
	int err;

	if (!netlink)
		return NULL;
	if (mnl_socket_bind(netlink, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(netlink);
		errno = err;
		return NULL;
	}
	/* a kernel that stays silent must not hang splitd's loop */
	setsockopt(mnl_socket_get_fd(netlink), SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 2 }, sizeof(struct timeval));
	return netlink;
}

/* Sends one request and runs callback over its answer up to the ACK (or
 * the dump's end). 0 or a negative errno (the kernel's, for a refusal). */
static int transact(struct mnl_socket *netlink, unsigned int sequence,
		    struct nlmsghdr *request, mnl_cb_t callback, void *data)
{
	char *buffer = malloc(DUMP_BUFFER);
	unsigned int port = mnl_socket_get_portid(netlink);
	int n, err = 0;

	if (!buffer)
		return -ENOMEM;
	request->nlmsg_seq = sequence;
	if (mnl_socket_sendto(netlink, request, request->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(netlink, buffer, DUMP_BUFFER)) > 0) {
		n = mnl_cb_run(buffer, n, sequence, port, callback, data);
		if (n <= MNL_CB_STOP)
			break;
	}
	if (n < 0)
		err = errno ? -errno : -EIO;
out:
	free(buffer);
	return err;
}

struct listing {
	int ifindex;
	__u32 table;
	struct xs_announce_prefix *prefixes;
	size_t capacity, count;
	int overflow;
};

struct route_attributes {
	const struct nlattr *destination;
	__u32 table;
	int oif;
};

static int route_attribute(const struct nlattr *attr, void *data)
{
	struct route_attributes *route = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		route->destination = attr;
		break;
	case RTA_TABLE:
		if (mnl_attr_get_payload_len(attr) == 4)
			route->table = mnl_attr_get_u32(attr);
		break;
	case RTA_OIF:
		if (mnl_attr_get_payload_len(attr) == 4)
			route->oif = (int)mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int listing_callback(const struct nlmsghdr *message, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(message);
	struct listing *listing = data;
	struct route_attributes route = { .table = rtm->rtm_table };
	struct xs_announce_prefix prefix = { 0 };

	if (message->nlmsg_type != RTM_NEWROUTE ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	if (mnl_attr_parse(message, sizeof(*rtm), route_attribute, &route) < 0)
		return MNL_CB_ERROR;
	/* an IPv6 cache entry is no announcement */
	if (route.table != listing->table || route.oif != listing->ifindex ||
	    rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	prefix.family = rtm->rtm_family == AF_INET ? XS_FAMILY_IPV4 :
						     XS_FAMILY_IPV6;
	prefix.length = rtm->rtm_dst_len;
	if (route.destination) {
		size_t length = mnl_attr_get_payload_len(route.destination);

		if (length > sizeof(prefix.address))
			return MNL_CB_OK;
		memcpy(prefix.address, mnl_attr_get_payload(route.destination),
		       length);
	}
	if (listing->count == listing->capacity) {
		listing->overflow = 1;
		return MNL_CB_OK;
	}
	listing->prefixes[listing->count++] = prefix;
	return MNL_CB_OK;
}

static int list_on(struct mnl_socket *netlink, unsigned int sequence,
		   int ifindex, __u32 table,
		   struct xs_announce_prefix *prefixes, size_t capacity,
		   size_t *count)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *request = mnl_nlmsg_put_header(buffer);
	struct listing listing = { .ifindex = ifindex,
				   .table = table,
				   .prefixes = prefixes,
				   .capacity = capacity };
	struct rtmsg *rtm;
	int err;

	request->nlmsg_type = RTM_GETROUTE;
	request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(request, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC; /* both families in one dump */
	err = transact(netlink, sequence, request, listing_callback, &listing);
	if (err)
		return err;
	qsort(prefixes, listing.count, sizeof(*prefixes), compare);
	*count = listing.count;
	return listing.overflow ? -ENOBUFS : 0;
}

int xs_announce_list(const char *device, __u32 table,
		     struct xs_announce_prefix *prefixes, size_t capacity,
		     size_t *count)
{
	struct mnl_socket *netlink;
	int ifindex, err;

	*count = 0;
	ifindex = (int)if_nametoindex(device ? device : XS_ANNOUNCE_DEVICE);
	if (!ifindex)
		return -ENODEV;
	netlink = netlink_open();
	if (!netlink)
		return -errno;
	err = list_on(netlink, (unsigned int)getpid(), ifindex,
		      table ? table : XS_ANNOUNCE_TABLE, prefixes, capacity,
		      count);
	mnl_socket_close(netlink);
	return err;
}

/* RTM_NEWROUTE (create, never replace: a route for the prefix that is not
 * on our device is someone else's) or RTM_DELROUTE of one of our routes. */
static int route_change(struct xs_announcer *announcer, int type,
			const struct xs_announce_prefix *prefix)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *request = mnl_nlmsg_put_header(buffer);
	struct rtmsg *rtm;

	request->nlmsg_type = type;
	request->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWROUTE)
		request->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(request, sizeof(*rtm));
	rtm->rtm_family = af_of(prefix->family);
	rtm->rtm_dst_len = prefix->length;
	rtm->rtm_table = announcer->table < 256 ? announcer->table :
						  RT_TABLE_UNSPEC;
	rtm->rtm_protocol = XS_ANNOUNCE_RTPROT;
	rtm->rtm_type = RTN_UNICAST;
	/* as `ip route add ... dev D` (link scope) and `ip route del`
	 * (any scope) do */
	rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK :
						RT_SCOPE_NOWHERE;
	mnl_attr_put(request, RTA_DST,
		     prefix->family == XS_FAMILY_IPV4 ? 4 : 16,
		     prefix->address);
	mnl_attr_put_u32(request, RTA_OIF, (__u32)announcer->ifindex);
	mnl_attr_put_u32(request, RTA_TABLE, announcer->table);
	return transact(announcer->netlink, ++announcer->sequence, request,
			NULL, NULL);
}

static int link_up(struct mnl_socket *netlink, unsigned int sequence,
		   int ifindex)
{
	char buffer[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *request = mnl_nlmsg_put_header(buffer);
	struct ifinfomsg *ifi;

	request->nlmsg_type = RTM_NEWLINK;
	request->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(request, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return transact(netlink, sequence, request, NULL, NULL);
}

/* A device name the kernel takes, and a table no ip rule points at. */
static int check_device_and_table(const char *device, __u32 table, char *error,
				  size_t size)
{
	if (!*device || strlen(device) >= IF_NAMESIZE || strchr(device, '/')) {
		say(error, size,
		    "Couldn't announce on '%s': not a valid interface name (1 to %d characters, no '/')",
		    device, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	if (table == 253 || table == 254 || table == 255) {
		say(error, size,
		    "Couldn't announce in table %u: it is the kernel's default, main or local table; announcements need a table no ip rule points at",
		    table);
		return -EINVAL;
	}
	return 0;
}

/* The TUN device the announcements hang on, of a name no other device has. */
static int create_device(struct xs_announcer *announcer, const char *device,
			 char *error, size_t size)
{
	struct ifreq request = { 0 };
	int err;

	if (if_nametoindex(device)) {
		say(error, size,
		    "Couldn't create the announcement device '%s': a device of that name already exists and is not ours (another splitd running? an operator's device?); stop its owner, or choose another name",
		    device);
		return -EEXIST;
	}
	/* close-on-exec: a child (a probe, a hook) must not keep the device,
	 * and with it our announcements, alive after splitd is gone */
	announcer->tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (announcer->tun_fd < 0) {
		err = -errno;
		say(error, size,
		    "Couldn't open /dev/net/tun to announce VIPs: %s%s",
		    strerror(errno),
		    errno == ENOENT ? " (no TUN support: load the tun module)" :
				      "");
		return err;
	}
	/* not persistent: the device dies with the descriptor. TUN_EXCL
	 * refuses a device of this name that appeared since the check above
	 * rather than attaching to it */
	/* IFF_TUN_EXCL is bit 15: the short field holds it as a negative */
	request.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL);
	memcpy(request.ifr_name, device, strlen(device));
	if (ioctl(announcer->tun_fd, TUNSETIFF, &request) < 0) {
		err = -errno;
		if (errno == EBUSY || errno == EEXIST)
			say(error, size,
			    "Couldn't create the announcement device '%s': a device of that name already exists and is not ours; stop its owner, or choose another name",
			    device);
		else
			say(error, size,
			    "Couldn't create the announcement device '%s': %s%s",
			    device, strerror(errno),
			    errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
		return err;
	}
	announcer->ifindex = (int)if_nametoindex(device);
	if (!announcer->ifindex) {
		say(error, size,
		    "Couldn't find the announcement device '%s' just created",
		    device);
		return -ENODEV;
	}
	return 0;
}

/* The netlink socket the announcements go through, and the device up. */
static int open_socket_and_bring_up(struct xs_announcer *announcer,
				    const char *device, char *error,
				    size_t size)
{
	int err;

	announcer->netlink = netlink_open();
	if (!announcer->netlink) {
		err = -errno;
		say(error, size,
		    "Couldn't open a netlink socket to announce VIPs: %s",
		    strerror(errno));
		return err;
	}
	announcer->sequence = (unsigned int)getpid() << 8;
	err = link_up(announcer->netlink, ++announcer->sequence,
		      announcer->ifindex);
	if (err)
		say(error, size,
		    "Couldn't bring the announcement device '%s' up: %s",
		    device, strerror(-err));
	return err;
}

int xs_announce_open(struct xs_announcer *announcer, const char *device,
		     __u32 table, char *error, size_t size)
{
	int err;

	memset(announcer, 0, sizeof(*announcer));
	announcer->tun_fd = -1;
	if (!device)
		device = XS_ANNOUNCE_DEVICE;
	announcer->table = table ? table : XS_ANNOUNCE_TABLE;
	err = check_device_and_table(device, announcer->table, error, size);
	if (err)
		return err;
	snprintf(announcer->device, sizeof(announcer->device), "%s", device);
	err = create_device(announcer, device, error, size);
	if (!err)
		err = open_socket_and_bring_up(announcer, device, error, size);
	/* nothing to close, or the half made */
	if (err)
		xs_announce_close(announcer);
	return err;
}

/* An announcer that is open, on the device it made. */
static int check_announcer(struct xs_announcer *announcer)
{
	if (announcer->tun_fd < 0 || !announcer->netlink) {
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't announce: the announcer is not open");
		return -EBADF;
	}
	/* an operator's `ip link del` leaves us a descriptor on no device */
	if ((int)if_nametoindex(announcer->device) != announcer->ifindex) {
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't announce: the device '%s' was deleted or replaced; close and open the announcer again",
		    announcer->device);
		return -ENODEV;
	}
	return 0;
}

/* The prefixes asked for as the kernel holds them: host bits cleared,
 * sorted, each once; *wanted_count of them in wanted. */
static int wanted_prefixes(struct xs_announcer *announcer,
			   const struct xs_announce_prefix *prefixes,
			   size_t count, struct xs_announce_prefix *wanted,
			   size_t *wanted_count)
{
	for (size_t i = 0; i < count; i++) {
		if (prefixes[i].family != XS_FAMILY_IPV4 &&
		    prefixes[i].family != XS_FAMILY_IPV6) {
			say(announcer->error, sizeof(announcer->error),
			    "Couldn't announce prefix %zu: family %u is neither IPv4 nor IPv6",
			    i, prefixes[i].family);
			return -EINVAL;
		}
		wanted[i] = prefixes[i];
		normalize(&wanted[i]);
	}
	qsort(wanted, count, sizeof(*wanted), compare);
	*wanted_count = 0;
	for (size_t i = 0; i < count; i++)
		if (!*wanted_count ||
		    !same(&wanted[*wanted_count - 1], &wanted[i]))
			wanted[(*wanted_count)++] = wanted[i];
	return 0;
}

/* The first failure of a change is the one said; *failed counts them. */
static void say_failure(struct xs_announcer *announcer, int type,
			const struct xs_announce_prefix *prefix, int err,
			int *failed)
{
	char text[INET6_ADDRSTRLEN + 8];

	if ((*failed)++)
		return;
	xs_announce_format(prefix, text, sizeof(text));
	if (type == RTM_DELROUTE)
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't withdraw %s from table %u: %s", text,
		    announcer->table, strerror(-err));
	else
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't announce %s in table %u: %s%s", text,
		    announcer->table, strerror(-err),
		    err == -EEXIST ?
			    " (a route for it that is not ours is in the table)" :
			    "");
}

/* Withdraws (RTM_DELROUTE) or announces (RTM_NEWROUTE) each prefix of
 * `each` that `in` has not (both sorted: one merge). A route already
 * gone is withdrawn. */
static void change_each_not_in(struct xs_announcer *announcer, int type,
			       const struct xs_announce_prefix *each,
			       size_t each_count,
			       const struct xs_announce_prefix *in,
			       size_t in_count, int *failed)
{
	size_t i, j;
	int err;

	for (i = j = 0; i < each_count; i++) {
		while (j < in_count && compare(&in[j], &each[i]) < 0)
			j++;
		if (j < in_count && same(&in[j], &each[i]))
			continue;
		err = route_change(announcer, type, &each[i]);
		if (err && !(type == RTM_DELROUTE && err == -ESRCH))
			say_failure(announcer, type, &each[i], err, failed);
	}
}

int xs_announce_set(struct xs_announcer *announcer,
		    const struct xs_announce_prefix *prefixes, size_t count)
{
	struct xs_announce_prefix *wanted = NULL, *present = NULL;
	size_t present_count = 0, wanted_count = 0;
	int err, failed = 0;

	announcer->error[0] = 0;
	err = check_announcer(announcer);
	if (err)
		return err;
	if (count > XS_ANNOUNCE_MAX) {
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't announce %zu prefixes: at most %d", count,
		    XS_ANNOUNCE_MAX);
		return -E2BIG;
	}
	wanted = calloc(count ? count : 1, sizeof(*wanted));
	present = calloc(XS_ANNOUNCE_MAX, sizeof(*present));
	if (!wanted || !present) {
		err = -ENOMEM;
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't announce: out of memory");
		goto out;
	}
	err = wanted_prefixes(announcer, prefixes, count, wanted,
			      &wanted_count);
	if (err)
		goto out;
	err = list_on(announcer->netlink, ++announcer->sequence,
		      announcer->ifindex, announcer->table, present,
		      XS_ANNOUNCE_MAX, &present_count);
	if (err) {
		say(announcer->error, sizeof(announcer->error),
		    "Couldn't read the announcements in table %u: %s",
		    announcer->table, strerror(-err));
		goto out;
	}
	/* deletions first, so a failure halfway announces less, never more */
	/* withdrawals first: what is no longer ours leaves the table */
	change_each_not_in(announcer, RTM_DELROUTE, present, present_count,
			   wanted, wanted_count, &failed);
	change_each_not_in(announcer, RTM_NEWROUTE, wanted, wanted_count,
			   present, present_count, &failed);
	err = failed ? -EIO : 0;
out:
	free(wanted);
	free(present);
	return err;
}

int xs_announce_withdraw(struct xs_announcer *announcer)
{
	return xs_announce_set(announcer, NULL, 0);
}

void xs_announce_close(struct xs_announcer *announcer)
{
	if (announcer->netlink)
		mnl_socket_close(announcer->netlink);
	announcer->netlink = NULL;
	/* the kernel unregisters the device and flushes its routes */
	if (announcer->tun_fd >= 0)
		close(announcer->tun_fd);
	announcer->tun_fd = -1;
	announcer->ifindex = 0;
}

const char *xs_announce_format(const struct xs_announce_prefix *prefix,
			       char *buffer, size_t size)
{
	char address[INET6_ADDRSTRLEN];

	if (!inet_ntop(af_of(prefix->family), prefix->address, address,
		       sizeof(address)))
		snprintf(address, sizeof(address), "?");
	snprintf(buffer, size, "%s/%u", address, prefix->length);
	return buffer;
}

int xs_announce_parse(const char *text, struct xs_announce_prefix *prefix)
{
	char address[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t length = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;
	char *end;

	memset(prefix, 0, sizeof(*prefix));
	if (!length || length >= sizeof(address))
		return -EINVAL;
	memcpy(address, text, length);
	address[length] = 0;
	if (inet_pton(AF_INET, address, prefix->address) == 1)
		prefix->family = XS_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, address, prefix->address) == 1)
		prefix->family = XS_FAMILY_IPV6;
	else
		return -EINVAL;
	prefix->length = (__u8)bits_of(prefix->family);
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end ||
		    bits > bits_of(prefix->family))
			return -EINVAL;
		prefix->length = (__u8)bits;
	}
	normalize(prefix);
	return 0;
}
