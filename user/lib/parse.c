// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"

int xs_parse_address(const char *text, __u8 *family, __be32 *address)
{
	memset(address, 0, 16);
	if (inet_pton(AF_INET, text, address) == 1) {
		*family = XS_FAMILY_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, address) == 1) {
		*family = XS_FAMILY_IPV6;
		return 0;
	}
	return -EINVAL;
}

bool xs_is_plain_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
			return false;
	return true;
}

int xs_parse_u32(const char *text, __u32 min, __u32 max, __u32 *value)
{
	unsigned long long v;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*value = (__u32)v;
	return 0;
}

int xs_parse_prefix(const char *text, __u8 *family, __be32 *address,
		    __u32 *prefix_length)
{
	char copy[INET6_ADDRSTRLEN + 8];
	char *slash;
	__u32 bits;

	if (strlen(text) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, text);
	slash = strchr(copy, '/');
	if (slash)
		*slash = '\0';
	if (xs_parse_address(copy, family, address))
		return -EINVAL;
	bits = *family == XS_FAMILY_IPV4 ? 32 : 128;
	*prefix_length = bits;
	if (slash && xs_parse_u32(slash + 1, 0, bits, prefix_length))
		return -EINVAL;
	/* host bits must be zero, as in a route: 10.0.0.1/8 is a typo */
	for (__u32 bit = *prefix_length; bit < bits; bit++)
		if (((__u8 *)address)[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	return 0;
}

int xs_parse_vip(const char *text, struct xs_vip_key *key)
{
	char copy[INET6_ADDRSTRLEN + 16];
	char *address = copy, *port, *protocol;
	__u32 port_number;

	memset(key, 0, sizeof(*key));
	if (strlen(text) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, text);
	protocol = strrchr(copy, '/');
	if (!protocol)
		return -EINVAL;
	*protocol++ = '\0';
	if (!strcmp(protocol, "tcp"))
		key->protocol = XS_PROTOCOL_TCP;
	else if (!strcmp(protocol, "udp"))
		key->protocol = XS_PROTOCOL_UDP;
	else
		return -EINVAL;
	if (copy[0] == '[') {
		char *close = strchr(copy, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		address = copy + 1;
		port = close + 2;
	} else {
		port = strrchr(copy, ':');
		if (!port || strchr(copy, ':') != port)
			return -EINVAL;
		*port++ = '\0';
	}
	if (xs_parse_u32(port, 0, 65535, &port_number) ||
	    xs_parse_address(address, &key->family, key->address))
		return -EINVAL;
	if (copy[0] == '[' && key->family != XS_FAMILY_IPV6)
		return -EINVAL;
	key->port = htons(port_number);
	return 0;
}

int xs_parse_mac(const char *text, __u8 *mac)
{
	unsigned int b[6];
	char tail;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
		   &b[3], &b[4], &b[5], &tail) != 6 ||
	    strlen(text) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

int xs_parse_percent(const char *text, __u16 *basis_points)
{
	unsigned long whole = 0, fraction = 0;
	const char *p = text;
	int digits = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (*p++ - '0');
		if (whole > 100)
			return -EINVAL;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (++digits > 2)
				return -EINVAL;
			fraction = fraction * 10 + (*p++ - '0');
		}
		if (!digits)
			return -EINVAL;
		if (digits == 1)
			fraction *= 10;
	}
	if (*p == '%')
		p++;
	if (*p || whole * 100 + fraction > XS_WEIGHT_TOTAL)
		return -EINVAL;
	*basis_points = (__u16)(whole * 100 + fraction);
	return 0;
}

static const char *const pool_names[XS_POOL_COUNT] = { "blue", "green",
						       "canary" };

int xs_parse_pool(const char *text, __u8 *pool)
{
	for (__u8 i = 0; i < XS_POOL_COUNT; i++)
		if (!strcmp(text, pool_names[i])) {
			*pool = i;
			return 0;
		}
	return -EINVAL;
}

const char *xs_pool_name(__u8 pool)
{
	return pool < XS_POOL_COUNT ? pool_names[pool] : "invalid";
}

const char *xs_state_name(__u8 state)
{
	switch (state) {
	case XS_BACKEND_UP:
		return "up";
	case XS_BACKEND_DRAINING:
		return "draining";
	case XS_BACKEND_DOWN:
		return "down";
	default:
		return "absent";
	}
}

const char *xs_mode_name(__u8 mode)
{
	return mode == XS_MODE_IPIP ? "ipip" : "l2dsr";
}

const char *xs_split_name(__u8 split_key)
{
	return split_key == XS_SPLIT_CLIENT ? "client" : "flow";
}

const char *xs_protocol_name(__u8 protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

void xs_format_address(__u8 family, const __be32 *address, char *out,
		       size_t size)
{
	if (!inet_ntop(family == XS_FAMILY_IPV4 ? AF_INET : AF_INET6, address,
		       out, size))
		snprintf(out, size, "?");
}

void xs_format_vip(const struct xs_vip_key *key, char *out, size_t size)
{
	char address[INET6_ADDRSTRLEN];

	xs_format_address(key->family, key->address, address, sizeof(address));
	snprintf(out, size,
		 key->family == XS_FAMILY_IPV6 ? "[%s]:%u/%s" : "%s:%u/%s",
		 address, ntohs(key->port), xs_protocol_name(key->protocol));
}

void xs_format_mac(const __u8 *mac, char *out, size_t size)
{
	snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}
