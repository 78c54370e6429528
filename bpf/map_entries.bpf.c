// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counts the entries of every map: an iterator over all maps that writes
 * (map id, entries) pairs. The kernel keeps the count for hash maps, LRU ones
 * included, so reading the fill of a million-entry flow table costs a few
 * microseconds instead of a walk over its keys. GPL: the counting kfunc is
 * GPL-only.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The few kernel fields read, relocated by CO-RE against the running kernel. */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_map {
	__u32 id;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
} __attribute__((preserve_access_index));

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

SEC("iter/bpf_map")
int map_entries(struct bpf_iter__bpf_map *ctx)
{
	struct bpf_map *map = ctx->map;
	__u64 record[2];

	if (!map)
		return 0;
	record[0] = map->id;
	record[1] = bpf_map_sum_elem_count(map);
	bpf_seq_write(ctx->meta->seq, record, sizeof(record));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
