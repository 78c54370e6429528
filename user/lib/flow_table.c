// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include "maps/decision.h"
#include "flow_table.h"

/* A reader that finds a way changing under it tries the bucket again; the
 * program holds a way BUSY for a few stores, so a handful of tries is
 * plenty, and a way still changing after them is treated as absent. */
#define READ_TRIES 64

__u16 xs_flow_time_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (__u16)((((__u64)now.tv_sec * 1000000000ULL) + now.tv_nsec) >>
		       XS_FLOW_TIME_SHIFT);
}

struct xs_flow_bucket *xs_flow_bucket_of(const struct xs_dataplane *dp,
					 const struct xs_flow_key *key,
					 __u32 *tag)
{
	__u32 hash = xs_flow_table_hash(key, dp->config.flow_seed);

	struct xs_flow_bucket *flows = xs_dataplane_flows(dp);

	if (tag)
		*tag = xs_flow_tag(hash);
	if (!flows)
		return NULL;
	return &flows[xs_flow_bucket_index(
		hash, xs_flow_buckets(dp->config.max_flows))];
}

__u32 xs_flow_way_word(const struct xs_flow_bucket *bucket, int way)
{
	return __atomic_load_n(&bucket->tag[way], __ATOMIC_ACQUIRE);
}

int xs_flow_way_read(const struct xs_flow_bucket *bucket, int way, __u32 word,
		     struct xs_flow_slot *slot)
{
	const __u64 *from = (const __u64 *)&bucket->slot[way];
	__u64 *to = (__u64 *)slot;

	_Static_assert(sizeof(*slot) % sizeof(__u64) == 0, "slot words");
	/* word by word, so no copy is torn within a word; the acquire fence
	 * keeps every load of the slot before the second load of the tag */
	for (size_t i = 0; i < sizeof(*slot) / sizeof(__u64); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&bucket->tag[way], __ATOMIC_RELAXED) == word;
}

int xs_flow_way_claim(struct xs_flow_bucket *bucket, int way, __u32 word)
{
	if (word == XS_FLOW_TAG_BUSY)
		return 0;
	return __atomic_compare_exchange_n(&bucket->tag[way], &word,
					   XS_FLOW_TAG_BUSY, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void xs_flow_way_publish(struct xs_flow_bucket *bucket, int way, __u32 word)
{
	/* as the program's exchange: a full barrier, every store to the
	 * slot is seen before the word */
	__atomic_exchange_n(&bucket->tag[way], word, __ATOMIC_SEQ_CST);
}

/* The program's replace_score (bpf/flow_table.bpf.h): -1 never. */
static int replace_score(const struct xs_flow_bucket *bucket, int way,
			 __u32 word, __u16 now)
{
	__u16 age = now -
		    __atomic_load_n(&bucket->last_seen[way], __ATOMIC_RELAXED);

	if (word == XS_FLOW_TAG_BUSY)
		return -1;
	if (word & XS_FLOW_WAY_CLOSED)
		return 0x10000 + age;
	if ((word & XS_FLOW_WAY_CONFIRMED) && age < XS_FLOW_IDLE_UNITS)
		return -1;
	return age;
}

int xs_flow_way_choose(const struct xs_flow_bucket *bucket, __u16 now,
		       __u32 *word)
{
	int best = -1, best_score = -1;
	__u32 hand = __atomic_load_n(&bucket->hand, __ATOMIC_RELAXED);

	for (__u32 i = 0; i < XS_FLOW_WAYS; i++) {
		int way = (hand + i) & (XS_FLOW_WAYS - 1);
		__u32 seen = xs_flow_way_word(bucket, way);
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

/* Key's way and its word as read, with the slot copied; -ENOENT. */
static int find_way(const struct xs_dataplane *dp,
		    const struct xs_flow_key *key,
		    struct xs_flow_bucket **bucket_out, __u32 *word_out,
		    struct xs_flow_slot *slot)
{
	__u32 tag;
	struct xs_flow_bucket *bucket = xs_flow_bucket_of(dp, key, &tag);

	if (!bucket)
		return -errno;
	*bucket_out = bucket;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		int torn = 0;

		for (int way = 0; way < XS_FLOW_WAYS; way++) {
			__u32 word = xs_flow_way_word(bucket, way);

			if (word == XS_FLOW_TAG_BUSY)
				torn = 1;
			if (!xs_flow_tag_matches(word, tag))
				continue;
			if (!xs_flow_way_read(bucket, way, word, slot)) {
				torn = 1;
				continue;
			}
			if (memcmp(&slot->key, key, sizeof(*key)))
				continue;
			*word_out = word;
			return way;
		}
		if (!torn)
			break;
	}
	return -ENOENT;
}

int xs_flow_find(const struct xs_dataplane *dp, const struct xs_flow_key *key,
		 struct xs_flow *flow, __u8 *kind)
{
	struct xs_flow_bucket *bucket;
	struct xs_flow_slot slot;
	__u32 word;
	int way = find_way(dp, key, &bucket, &word, &slot);

	if (way < 0)
		return way;
	*flow = slot.flow;
	if (kind)
		*kind = word & XS_FLOW_WAY_KIND;
	return 0;
}

int xs_flow_remove(const struct xs_dataplane *dp, const struct xs_flow_key *key)
{
	for (int tries = 0; tries < READ_TRIES; tries++) {
		struct xs_flow_bucket *bucket;
		struct xs_flow_slot slot;
		__u32 word;
		int way = find_way(dp, key, &bucket, &word, &slot);

		if (way < 0)
			return way;
		if (!xs_flow_way_claim(bucket, way, word))
			continue; /* the program changed it: look again */
		memset(&bucket->slot[way], 0, sizeof(bucket->slot[way]));
		xs_flow_way_publish(bucket, way, XS_FLOW_TAG_EMPTY);
		return 0;
	}
	return -EBUSY;
}

int xs_flow_table_clear(const struct xs_dataplane *dp)
{
	struct xs_flow_bucket *flows = xs_dataplane_flows(dp);

	if (!flows)
		return -errno;
	memset(flows, 0,
	       (size_t)xs_flow_buckets(dp->config.max_flows) *
		       sizeof(struct xs_flow_bucket));
	return 0;
}
