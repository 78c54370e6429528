// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "user/lib/parse.h"
#include "keys.h"

void xs_fleet_service_name(const struct xs_vip_key *vip, char *out, size_t size)
{
	xs_format_vip(vip, out, size);
	for (char *c = out; *c; c++)
		if (*c == '/')
			*c = '_';
}

int xs_fleet_service_parse(const char *name, struct xs_vip_key *vip)
{
	char text[96];
	char *underscore;

	if (strlen(name) >= sizeof(text))
		return -EINVAL;
	strcpy(text, name);
	underscore = strrchr(text, '_');
	if (!underscore || strchr(text, '/'))
		return -EINVAL;
	*underscore = '/';
	return xs_parse_vip(text, vip) ? -EINVAL : 0;
}

int xs_fleet_key(char *out, size_t size, const char *prefix, const char *part,
		 const char *more)
{
	int n = snprintf(out, size, "%s%s%s%s", prefix, part, more ? "/" : "",
			 more ? more : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int xs_fleet_flows_key(char *out, size_t size, const char *prefix,
		       const char *host, size_t index)
{
	char more[XS_FLEET_KEY_SIZE];
	int n = snprintf(more, sizeof(more), "%s/%06zu", host, index);

	if (n < 0 || (size_t)n >= sizeof(more))
		return -ENAMETOOLONG;
	return xs_fleet_key(out, size, prefix, "flows", more);
}

int xs_fleet_flows_range(char *from, char *end, size_t size, const char *prefix,
			 const char *host, size_t first)
{
	char more[XS_FLEET_KEY_SIZE];
	int n = snprintf(more, sizeof(more), "%s0", host);

	if (n < 0 || (size_t)n >= sizeof(more))
		return -ENAMETOOLONG;
	return xs_fleet_flows_key(from, size, prefix, host, first) ?:
		       xs_fleet_key(end, size, prefix, "flows", more);
}

const char *xs_fleet_key_rest(const char *key, const char *prefix,
			      const char *part)
{
	size_t p = strlen(prefix), q = strlen(part);

	if (strncmp(key, prefix, p) || strncmp(key + p, part, q))
		return NULL;
	key += p + q;
	return *key && !strchr(key, '/') ? key : NULL;
}
