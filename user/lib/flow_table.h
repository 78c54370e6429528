/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow table read and written from userspace, in the mmapped buckets
 * the program uses, with its own hash and tags (maps/decision.h), so a key
 * is found where the program looks for it, and with its own protocol
 * (struct xs_flow_bucket in maps/contract.h): a way is read by copying it
 * between two loads of its tag word, and written by a compare-and-swap of
 * that word to XS_FLOW_TAG_BUSY, the slot's stores, and an exchange that
 * publishes the new word. Real atomics on both sides (the program's
 * __sync builtins are locked instructions), so userspace and the program on
 * every CPU may change one bucket at once and never write one way at once.
 */
#ifndef XDPSPLIT_LIB_FLOW_TABLE_H
#define XDPSPLIT_LIB_FLOW_TABLE_H

#include "dataplane.h"

/* 0 with *flow and *kind (XS_FLOW_WAY_* bits; kind may be NULL) filled,
 * -ENOENT if the table has no such flow, or -errno. */
int xs_flow_find(const struct xs_dataplane *dp, const struct xs_flow_key *key,
		 struct xs_flow *flow, __u8 *kind);

/* Takes one flow out (tests): its next packet is a new flow's. The entry
 * counters still count it. 0 or -errno (-ENOENT: not there). */
int xs_flow_remove(const struct xs_dataplane *dp,
		   const struct xs_flow_key *key);

/* Empties every bucket (tests). Not atomic: for a table no packet uses. */
int xs_flow_table_clear(const struct xs_dataplane *dp);

/* The program's pieces, for whoever walks or fills the table (flow
 * sharing, fleet/flow_share.c). */

/* The key's bucket in the mapping, and in *tag its tag (of no kind). */
struct xs_flow_bucket *xs_flow_bucket_of(const struct xs_dataplane *dp,
					 const struct xs_flow_key *key,
					 __u32 *tag);
/* A way's tag word, loaded with acquire order. */
__u32 xs_flow_way_word(const struct xs_flow_bucket *bucket, int way);
/* Copies the way's slot and returns 1 if its tag word was still `word`
 * after the copy (the copy is of one write), else 0: the program's reader. */
int xs_flow_way_read(const struct xs_flow_bucket *bucket, int way, __u32 word,
		     struct xs_flow_slot *slot);
/* Takes the way from `word` to BUSY (1), or 0 if it is no longer `word`. */
int xs_flow_way_claim(struct xs_flow_bucket *bucket, int way, __u32 word);
/* Publishes a claimed way under its new word, after every store to it. */
void xs_flow_way_publish(struct xs_flow_bucket *bucket, int way, __u32 word);
/* The way a new flow would take by the program's rule (an empty one, else
 * closed, then least recently seen of pending or idle confirmed, from the
 * hand on; never a live confirmed one or a BUSY one), with the word it was
 * judged on in *word; -1 if none. */
int xs_flow_way_choose(const struct xs_flow_bucket *bucket, __u16 now,
		       __u32 *word);
/* The program's clock for last_seen: bpf_ktime_get_coarse_ns is
 * CLOCK_MONOTONIC_COARSE, in units of 2^XS_FLOW_TIME_SHIFT ns mod 2^16. */
__u16 xs_flow_time_now(void);

#endif
