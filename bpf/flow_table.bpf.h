/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow table's mechanics: find a flow's way in its bucket, read it
 * consistently, take a way for a new flow, rewrite one in place. What a flow
 * means is flow.bpf.h's; how ways are laid out, chosen and shared between
 * CPUs is the contract's (struct xs_flow_bucket in maps/contract.h).
 */
#ifndef XDPSPLIT_BPF_FLOW_TABLE_H
#define XDPSPLIT_BPF_FLOW_TABLE_H

#include "maps.bpf.h"
#include "stats.bpf.h"
#include "../maps/decision.h"

#define WAY(way) ((way) & (XS_FLOW_WAYS - 1))

struct flow_ref {
	struct xs_flow_bucket *bucket; /* NULL: no bucket, nothing is stored */
	__u32 tag;		       /* the flow's tag, of no kind */
	__u32 seen; /* the way's tag word as read: tag and kind */
	__u32 way;
	int found; /* the key is in bucket->slot[way], read whole */
	int busy;  /* a way was being written: store nothing this time */
};

/* Units of about a second: what last_seen holds. The coarse clock is a
 * read of a kernel variable, no clock source. */
static __always_inline __u16 flow_time_now(void)
{
	return bpf_ktime_get_coarse_ns() >> XS_FLOW_TIME_SHIFT;
}

static __always_inline __u32 read_tag(const struct xs_flow_bucket *bucket,
				      __u32 way)
{
	return *(volatile const __u32 *)&bucket->tag[WAY(way)];
}

static __always_inline int same_key(const struct xs_flow_key *a,
				    const struct xs_flow_key *b)
{
	const xs_hash_dword *x = (const xs_hash_dword *)a;
	const xs_hash_dword *y = (const xs_hash_dword *)b;
	__u64 difference = 0;

	XS_UNROLL
	for (int i = 0; i < (int)XS_FLOW_KEY_DWORDS; i++)
		difference |= x[i] ^ y[i];
	return !difference;
}

/*
 * Finds key's way and copies its flow into *flow. The tag is read again
 * after the copy: a writer marks a way BUSY before it touches the slot, so
 * an unchanged tag means the copy is of one write.
 */
static __always_inline int flow_table_find(const struct xs_config *config,
					   const struct xs_flow_key *key,
					   struct flow_ref *ref,
					   struct xs_flow *flow)
{
	__u32 hash = xs_flow_table_hash(key, config->flow_seed);
	__u32 index =
		xs_flow_bucket_index(hash, xs_flow_buckets(config->max_flows));
	struct xs_flow_bucket *bucket;

	ref->tag = xs_flow_tag(hash);
	ref->seen = 0;
	ref->found = 0;
	ref->busy = 0;
	ref->way = 0;
	bucket = bpf_map_lookup_elem(&flows, &index);
	ref->bucket = bucket;
	if (!bucket)
		return 0;
	XS_UNROLL
	for (__u32 way = 0; way < XS_FLOW_WAYS; way++) {
		__u32 seen = read_tag(bucket, way);

		if (seen == XS_FLOW_TAG_BUSY)
			ref->busy = 1;
		if (!xs_flow_tag_matches(seen, ref->tag) ||
		    !same_key(&bucket->slot[way].key, key))
			continue;
		*flow = bucket->slot[way].flow;
		asm volatile("" ::: "memory");
		if (read_tag(bucket, way) != seen) {
			ref->busy = 1;
			return 0;
		}
		ref->way = way;
		ref->seen = seen;
		ref->found = 1;
		return 1;
	}
	return 0;
}

/* Marks a found flow seen now: one store a unit of time at most. */
static __always_inline void flow_table_touch(const struct flow_ref *ref,
					     __u16 now)
{
	__u16 *seen = &ref->bucket->last_seen[WAY(ref->way)];

	if (*seen != now)
		*seen = now;
}

/* Takes the way from the tag word `expected` to BUSY; 0 if it changed. */
static __always_inline int claim_way(struct xs_flow_bucket *bucket, __u32 way,
				     __u32 expected)
{
	if (expected == XS_FLOW_TAG_BUSY)
		return 0;
	return __sync_val_compare_and_swap(&bucket->tag[WAY(way)], expected,
					   XS_FLOW_TAG_BUSY) == expected;
}

/* Makes a claimed way visible under its tag word. An exchange is a full
 * barrier on every JIT: the slot's stores are seen before the tag. */
static __always_inline void publish_way(struct xs_flow_bucket *bucket,
					__u32 way, __u32 word)
{
	__sync_lock_test_and_set(&bucket->tag[WAY(way)], word);
}

/* A found flow's new state and kind, in one claimed write: 0, or -1 if the
 * way changed since it was found (then nothing is written). */
static __always_inline int flow_table_update(const struct flow_ref *ref,
					     __u8 state, __u32 kind)
{
	struct xs_flow_bucket *bucket = ref->bucket;

	if (!claim_way(bucket, ref->way, ref->seen))
		return -1;
	bucket->slot[WAY(ref->way)].flow.state = state;
	publish_way(bucket, ref->way, ref->tag | kind);
	return 0;
}

/* How much a way is worth replacing, judged on its tag word `word`: -1
 * never (a live confirmed flow, or one being written); else closed flows
 * first, then the least recently seen. */
static __always_inline int replace_score(const struct xs_flow_bucket *bucket,
					 __u32 way, __u32 word, __u16 now)
{
	__u16 age = now - bucket->last_seen[WAY(way)];

	if (word == XS_FLOW_TAG_BUSY)
		return -1;
	if (word & XS_FLOW_WAY_CLOSED)
		return 0x10000 + age;
	if ((word & XS_FLOW_WAY_CONFIRMED) && age < XS_FLOW_IDLE_UNITS)
		return -1;
	return age;
}

/* The way a new flow takes, and in *word its tag word as judged: an empty
 * one, else the best to replace from the bucket's hand on (so equal
 * candidates take turns), or -1. */
static __always_inline int
flow_table_choose_way(const struct xs_flow_bucket *bucket, __u16 now,
		      __u32 *word)
{
	int best = -1, best_score = -1;
	__u32 hand = bucket->hand;

	XS_UNROLL
	for (__u32 i = 0; i < XS_FLOW_WAYS; i++) {
		__u32 way = WAY(hand + i), seen = read_tag(bucket, way);
		int score;

		if (seen == XS_FLOW_TAG_EMPTY) {
			*word = seen;
			return way;
		}
		score = replace_score(bucket, way, seen, now);
		if (score > best_score) {
			best = way;
			best_score = score;
			*word = seen;
		}
	}
	return best;
}

/* Stores a new, pending flow (none of the bucket's ways has its key). */
static __always_inline void flow_table_insert(struct flow_ref *ref,
					      const struct xs_flow_key *key,
					      const struct xs_flow *flow,
					      __u16 now)
{
	struct xs_flow_bucket *bucket = ref->bucket;
	__u32 old = XS_FLOW_TAG_BUSY;
	int way;

	if (!bucket)
		return;
	if (ref->busy) {
		/* the flow may be in the way being written */
		count(XS_FLOW_INSERT_FAILED);
		return;
	}
	way = flow_table_choose_way(bucket, now, &old);
	if (way < 0) {
		count(XS_FLOW_NOT_STORED);
		return;
	}
	/* fails if the way changed since it was judged */
	if (!claim_way(bucket, way, old)) {
		count(XS_FLOW_INSERT_FAILED);
		return;
	}
	bucket->slot[WAY(way)].key = *key;
	bucket->slot[WAY(way)].flow = *flow;
	bucket->last_seen[WAY(way)] = now;
	bucket->hand = WAY(way + 1);
	publish_way(bucket, way, ref->tag);
	count(XS_FLOW_PENDING_INSERTED);
	if (old == XS_FLOW_TAG_EMPTY)
		return;
	/* a closed connection's way is no loss; an open one's is */
	if (!(old & XS_FLOW_WAY_CONFIRMED))
		count(XS_FLOW_PENDING_EVICTED);
	else if (old & XS_FLOW_WAY_CLOSED)
		count(XS_FLOW_CLOSED_REPLACED);
	else
		count(XS_FLOW_CONFIRMED_EVICTED);
}

/* Re-chooses a found flow in place. It stays confirmed if it was and is
 * open again: whatever reopened it came from the tuple's client. */
static __always_inline void flow_table_rewrite(const struct flow_ref *ref,
					       const struct xs_flow *flow,
					       __u16 now)
{
	struct xs_flow_bucket *bucket = ref->bucket;
	__u32 way = ref->way;

	if (!claim_way(bucket, way, ref->seen)) {
		count(XS_FLOW_INSERT_FAILED);
		return;
	}
	bucket->slot[WAY(way)].flow = *flow;
	bucket->last_seen[WAY(way)] = now;
	publish_way(bucket, way,
		    ref->tag | (ref->seen & XS_FLOW_WAY_CONFIRMED));
}

#endif /* XDPSPLIT_BPF_FLOW_TABLE_H */
