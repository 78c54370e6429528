// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "maps/decision.h"
#include "flow_table.h"

/* Reads key's bucket into *bucket; its way, -ENOENT or -errno. */
static int find_way(const struct xs_dataplane *dp,
		    const struct xs_flow_key *key, __u32 *index,
		    struct xs_flow_bucket *bucket)
{
	__u32 hash = xs_flow_table_hash(key, dp->config.flow_seed);

	*index = xs_flow_bucket_index(hash,
				      xs_flow_buckets(dp->config.max_flows));
	if (bpf_map_lookup_elem(dp->map_fd[XS_MAP_ID_FLOWS], index, bucket))
		return -errno;
	for (int way = 0; way < XS_FLOW_WAYS; way++)
		if (xs_flow_tag_matches(bucket->tag[way], xs_flow_tag(hash)) &&
		    !memcmp(&bucket->slot[way].key, key, sizeof(*key)))
			return way;
	return -ENOENT;
}

int xs_flow_find(const struct xs_dataplane *dp, const struct xs_flow_key *key,
		 struct xs_flow *flow, __u8 *kind)
{
	struct xs_flow_bucket bucket;
	__u32 index;
	int way = find_way(dp, key, &index, &bucket);

	if (way < 0)
		return way;
	*flow = bucket.slot[way].flow;
	if (kind)
		*kind = bucket.tag[way] & XS_FLOW_WAY_KIND;
	return 0;
}

int xs_flow_remove(const struct xs_dataplane *dp,
		   const struct xs_flow_key *key)
{
	struct xs_flow_bucket bucket;
	__u32 index;
	int way = find_way(dp, key, &index, &bucket);

	if (way < 0)
		return way;
	memset(&bucket.slot[way], 0, sizeof(bucket.slot[way]));
	bucket.tag[way] = XS_FLOW_TAG_EMPTY;
	return bpf_map_update_elem(dp->map_fd[XS_MAP_ID_FLOWS], &index, &bucket,
				   BPF_EXIST) ? -errno : 0;
}

int xs_flow_table_clear(const struct xs_dataplane *dp)
{
	static const struct xs_flow_bucket empty;
	__u32 buckets = xs_flow_buckets(dp->config.max_flows);

	for (__u32 i = 0; i < buckets; i++)
		if (bpf_map_update_elem(dp->map_fd[XS_MAP_ID_FLOWS], &i, &empty,
					BPF_ANY))
			return -errno;
	return 0;
}
