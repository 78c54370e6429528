/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pure decision logic: hashing, pool choice and Maglev slot. Compiled
 * into the XDP program and into userspace alike, so `splitctl explain` and
 * the tests predict the data plane's choice exactly. No map access here.
 */
#ifndef XDPSPLIT_MAPS_DECISION_H
#define XDPSPLIT_MAPS_DECISION_H

#include "contract.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* the BPF target needs fixed-count loops unrolled; gcc has no such pragma */
#ifdef __clang__
#define XS_UNROLL _Pragma("unroll")
#else
#define XS_UNROLL
#endif

static __always_inline __u32 xs_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* Callers hash structs of fields narrower than a word (a flow key): read
 * as may_alias, so a compiler never drops or moves a field's store past
 * the read of its word (strict aliasing). */
typedef __u32 __attribute__((__may_alias__)) xs_hash_word;
typedef __u64 __attribute__((__may_alias__)) xs_hash_dword;

/*
 * MurmurHash3 (x86, 32-bit) over whole words, for what userspace hashes
 * (Maglev permutations), where cost does not matter. Words are read in host order
 * on both sides, so BPF and userspace on one host hash identically; seeds
 * come from config, so hosts behind one ECMP group decide identically.
 */
static __always_inline __u32 xs_hash_words(const __u32 *words, int count,
					   __u32 seed)
{
	const xs_hash_word *word = (const xs_hash_word *)words;
	__u32 h = seed;
	int i;

	XS_UNROLL
	for (i = 0; i < count; i++) {
		__u32 k = word[i];

		k *= 0xcc9e2d51;
		k = xs_rotl32(k, 15);
		k *= 0x1b873593;
		h ^= k;
		h = xs_rotl32(h, 13);
		h = h * 5 + 0xe6546b64;
	}
	h ^= (__u32)count * 4;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

#define XS_FLOW_KEY_WORDS (sizeof(struct xs_flow_key) / sizeof(__u32))
#define XS_FLOW_KEY_DWORDS (sizeof(struct xs_flow_key) / sizeof(__u64))

/*
 * The per-packet hash: over 64-bit words, one multiply and one shift each,
 * then a 64-bit finaliser (MurmurHash3's fmix64 constants) that spreads
 * every input bit over the 32 bits returned. Murmur's 32-bit rounds cost
 * about four times as much in BPF, where a rotation is three instructions,
 * and every packet hashes its key once, every new flow three times. Words
 * are read in host order on both sides, so BPF and userspace on one host
 * hash identically; the split seeds come from config, so hosts behind one
 * ECMP group decide identically. The words must be 8-byte aligned (a flow
 * key is): BPF reads the stack aligned only.
 */
static __always_inline __u32 xs_hash_dwords(const void *words, int count,
					    __u32 seed)
{
	const xs_hash_dword *word = (const xs_hash_dword *)words;
	__u64 h = (((__u64)seed << 32) | seed) ^ 0x9e3779b97f4a7c15ULL;
	int i;

	XS_UNROLL
	for (i = 0; i < count; i++) {
		h ^= word[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= (__u64)count * 8;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (__u32)h;
}

/* The hash a VIP's split key names: the whole 5-tuple or the client only.
 * The VLAN separates flow entries but is no part of the decision (see
 * struct xs_flow_key), so it is hashed as 0, which keeps every decision
 * what it was before the VLAN joined the key. Only new flows hash. */
static __always_inline __u32 xs_flow_hash(const struct xs_flow_key *key,
					  __u8 split_key, __u32 seed)
{
	struct xs_flow_key tuple;

	if (split_key == XS_SPLIT_CLIENT)
		return xs_hash_dwords(key->client, XS_ADDRESS_WORDS / 2, seed);
	tuple = *key;
	tuple.vlan_id = 0;
	return xs_hash_dwords(&tuple, XS_FLOW_KEY_DWORDS, seed);
}

/* The flow table's hash of the whole key, VLAN included: every packet of a
 * known flow computes it once, for its bucket and its tag. */
static __always_inline __u32 xs_flow_table_hash(const struct xs_flow_key *key,
						__u32 seed)
{
	return xs_hash_dwords(key, XS_FLOW_KEY_DWORDS, seed);
}

/* The IPv6 flow label of a tunnelled packet: the entropy of the inner flow
 * for ECMP routers on the way (RFC 6438), its whole key hashed as it lies.
 * Unseeded: the label is on the wire, and the flow table's seed is secret. */
static __always_inline __u32 xs_flow_label(const struct xs_flow_key *key)
{
	return xs_hash_dwords(key, XS_FLOW_KEY_DWORDS, 0) & 0xfffff;
}

/* A new way's tag: odd, so never XS_FLOW_TAG_EMPTY or XS_FLOW_TAG_BUSY,
 * of no kind yet (pending). The bucket takes the hash's high bits
 * (xs_reduce), the tag its low ones. */
static __always_inline __u32 xs_flow_tag(__u32 table_hash)
{
	return (table_hash << 3) | 1;
}

/* Whether a way's tag word is that flow's tag, whatever its kind. */
static __always_inline int xs_flow_tag_matches(__u32 word, __u32 tag)
{
	return (word & ~(__u32)XS_FLOW_WAY_KIND) == tag;
}

/* Map a hash onto [0, range) without a division (Lemire's reduction). */
static __always_inline __u32 xs_reduce(__u32 hash, __u32 range)
{
	return (__u32)(((__u64)hash * range) >> 32);
}

static __always_inline __u32 xs_flow_bucket_index(__u32 table_hash,
						  __u32 buckets)
{
	return xs_reduce(table_hash, buckets);
}

static __always_inline int xs_route_is_valid(const struct xs_route *route)
{
	__u32 sum = (__u32)route->weight[XS_POOL_BLUE] +
		    route->weight[XS_POOL_GREEN] +
		    route->weight[XS_POOL_CANARY];

	return sum == XS_WEIGHT_TOTAL && (route->live_pool == XS_POOL_BLUE ||
					  route->live_pool == XS_POOL_GREEN);
}

/*
 * The split range [0, 10000) is laid out blue, green, canary, with the canary
 * at the top. Growing the canary moves its lower edge down and takes only
 * points from its neighbour, so a client in the canary at 5% is still in it
 * at 10%; the same holds for green growing into blue.
 */
static __always_inline __u8 xs_pool_for_point(const struct xs_route *route,
					      __u32 point)
{
	__u32 blue = route->weight[XS_POOL_BLUE];

	if (point < blue)
		return XS_POOL_BLUE;
	if (point < blue + route->weight[XS_POOL_GREEN])
		return XS_POOL_GREEN;
	return XS_POOL_CANARY;
}

static __always_inline __u32 xs_split_point(__u32 split_hash)
{
	return xs_reduce(split_hash, XS_WEIGHT_TOTAL);
}

static __always_inline __u32 xs_maglev_slot(__u32 backend_hash,
					    __u32 maglev_size)
{
	return xs_reduce(backend_hash, maglev_size);
}

static __always_inline __u32 xs_pool_index(__u32 vip_id, __u8 pool)
{
	return vip_id * XS_POOL_COUNT + pool;
}

#endif /* XDPSPLIT_MAPS_DECISION_H */
