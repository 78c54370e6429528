// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The chunk format of shared flows (flow_share.h), on its own: no map, no
 * system call, so the parser of what peers send can be fuzzed alone
 * (tests/fuzz/fuzz_flow_share.c).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include "flow_share.h"

long xs_flow_share_chunk_write(const struct xs_flow_share_record *records,
			       __u32 count, void *out, size_t out_size)
{
	struct xs_flow_share_header header = {
		.magic = htobe32(XS_FLOW_SHARE_MAGIC),
		.version = htobe16(XS_FLOW_SHARE_VERSION),
		.record_size = htobe16(sizeof(struct xs_flow_share_record)),
		.count = htobe32(count),
	};
	size_t size = xs_flow_share_chunk_size(count);

	if (count > XS_FLOW_SHARE_MAX_RECORDS)
		return -E2BIG;
	if (out_size < size)
		return -ENOSPC;
	memcpy(out, &header, sizeof(header));
	if (count)
		memcpy((char *)out + sizeof(header), records,
		       (size_t)count * sizeof(*records));
	return (long)size;
}

static int known_family(__u8 family)
{
	return family == XS_FAMILY_IPV4 || family == XS_FAMILY_IPV6;
}

/* IPv4 in the first word, zeroes elsewhere */
static int address_fits(__u8 family, const __be32 *address)
{
	return family == XS_FAMILY_IPV6 ||
	       !(address[1] | address[2] | address[3]);
}

static int record_is_well_formed(const struct xs_flow_share_record *r)
{
	if (!known_family(r->family) || !known_family(r->backend_family) ||
	    !address_fits(r->family, r->client) ||
	    !address_fits(r->family, r->vip) ||
	    !address_fits(r->backend_family, r->backend))
		return 0;
	if (r->pool >= XS_POOL_COUNT || (r->flags & ~XS_FLOW_SHARE_CONFIRMED) ||
	    be16toh(r->vlan_id) > XS_VLAN_ID_MASK)
		return 0;
	if (r->protocol == IPPROTO_UDP)
		return r->state == XS_FLOW_DATAGRAM;
	if (r->protocol == IPPROTO_TCP)
		return r->state == XS_FLOW_SYN_SEEN ||
		       r->state == XS_FLOW_ESTABLISHED ||
		       r->state == XS_FLOW_MIDSTREAM;
	return 0;
}

int xs_flow_share_chunk_parse(const void *data, size_t len,
			      const struct xs_flow_share_record **records,
			      __u32 *count, struct xs_flow_import_stats *stats)
{
	struct xs_flow_share_header header;
	const struct xs_flow_share_record *body;
	__u32 n;
	int err = -EINVAL;

	*records = NULL;
	*count = 0;
	if (!data || len < sizeof(header))
		goto refuse;
	memcpy(&header, data, sizeof(header));
	if (be32toh(header.magic) != XS_FLOW_SHARE_MAGIC)
		goto refuse;
	if (be16toh(header.version) != XS_FLOW_SHARE_VERSION) {
		err = -EPROTONOSUPPORT;
		goto refuse;
	}
	n = be32toh(header.count);
	if (be16toh(header.record_size) != sizeof(*body) || header.reserved ||
	    n > XS_FLOW_SHARE_MAX_RECORDS || len != xs_flow_share_chunk_size(n))
		goto refuse;
	body = (const struct xs_flow_share_record *)((const char *)data +
						     sizeof(header));
	for (__u32 i = 0; i < n; i++) {
		struct xs_flow_share_record r;

		memcpy(&r, &body[i], sizeof(r)); /* data may be unaligned */
		if (!record_is_well_formed(&r))
			goto refuse;
	}
	*records = body;
	*count = n;
	return 0;
refuse:
	if (stats)
		stats->chunks_refused++;
	return err;
}
