/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions of the splitter, one comment per map. Keys and values come
 * from maps/contract.h. Every map is pinned by name, so a reloaded program
 * picks up the same maps and no flow or setting is lost. max_entries here are
 * the defaults; the loader sets the real sizes before the first load.
 */
#ifndef XDPSPLIT_BPF_MAPS_H
#define XDPSPLIT_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../maps/contract.h"

/* A test build with another map layout (as a build that adds a counter
 * has): the upgrade tests' object that must be refused */
#ifndef XS_TEST_EXTRA_COUNTERS
#define XS_TEST_EXTRA_COUNTERS 0
#endif

/* Test builds of the flow entry, of struct xs_flow's size (kept in step
 * with it by hand; the load test fails when they drift): 1, two members
 * swapped (another layout, refused); 2, a reserved field claimed by a new
 * one (old entries hold zero there: the same layout) */
#ifndef XS_TEST_FLOW_VALUE
#define XS_TEST_FLOW_VALUE 0
#endif
#if XS_TEST_FLOW_VALUE == 1
struct xs_flow_test {
	__u64 syn_time_ns;
	__u32 epoch;
	__u32 backend_id;
	__u8 pool;
	__u8 state;
	__u16 reserved;
	__be32 initial_sequence;
};
#define XS_FLOW_VALUE struct xs_flow_test
#elif XS_TEST_FLOW_VALUE == 2
struct xs_flow_test {
	__u64 syn_time_ns;
	__u32 backend_id;
	__u32 epoch;
	__u8 pool;
	__u8 state;
	__u16 last_seen;
	__be32 initial_sequence;
};
#define XS_FLOW_VALUE struct xs_flow_test
#else
#define XS_FLOW_VALUE struct xs_flow
#endif
#if XS_TEST_FLOW_VALUE
/* struct xs_flow_bucket around the test build's flow entry */
struct xs_flow_slot_test {
	struct xs_flow_key key;
	XS_FLOW_VALUE flow;
};
struct xs_flow_bucket_test {
	__u32 tag[XS_FLOW_WAYS];
	__u16 last_seen[XS_FLOW_WAYS];
	__u8 hand;
	__u8 reserved[15];
	struct xs_flow_slot_test slot[XS_FLOW_WAYS];
};
#define XS_FLOW_BUCKET struct xs_flow_bucket_test
#else
#define XS_FLOW_BUCKET struct xs_flow_bucket
#endif

/* Seeds, sizes and tunnel sources: one entry, read once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

/* (address, port, protocol) -> VIP. No prealloc: a replaced entry is freed
 * after an RCU grace period, so a reader never sees a half-written one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_DEFAULT_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xs_vip_key);
	__type(value, struct xs_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vips SEC(".maps");

/* vip_id -> weights and live pool, 8 bytes written by one atomic store. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_VIPS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xs_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routes SEC(".maps");

/* (vip_id, pool) -> flush epoch, written by one atomic store. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_VIPS *XS_POOL_COUNT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pool_epochs SEC(".maps");

/* One pool's Maglev table: slot -> backend id. Userspace creates them,
 * typed with this template's key and the entry (user/lib/maglev_btf.c).
 * The value is spelled as an array of one entry: clang 14 emits a struct
 * reached through the pointers of a nested map definition as a forward
 * declaration without a size (libbpf refuses the object), an array's
 * element in full. */
struct maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, struct xs_maglev_entry[1]);
};

/* (vip_id, pool) -> Maglev table. A rebuilt table is swapped in with one
 * update of this array, so new flows never see a half-written table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XS_DEFAULT_MAX_VIPS *XS_POOL_COUNT);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct maglev_table);
} maglev SEC(".maps");

/* backend id -> address, MAC, state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xs_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* A test build with the flow table of the release before it was
 * mmapable: pins of that release, which this one must refuse with advice */
#ifndef XS_TEST_FLOWS_UNMAPPED
#define XS_TEST_FLOWS_UNMAPPED 0
#endif
#if XS_TEST_FLOWS_UNMAPPED
#define XS_FLOWS_MAP_FLAGS 0
#else
#define XS_FLOWS_MAP_FLAGS BPF_F_MMAPABLE
#endif

/* bucket -> XS_FLOW_WAYS flows, each a 5-tuple and its chosen backend
 * (maps/contract.h says how a way is found, taken and replaced). An array:
 * a lookup is one bucket read without a lock, and a connection costs no
 * allocation and no LRU list, whose common lock every new flow of every
 * CPU would take. Preallocated, so a flood cannot fail an allocation.
 * Mmapable, so userspace reads the whole table without copying it through
 * system calls and writes ways with the program's own protocol (a
 * compare-and-swap of the tag word, the slot, an exchange of the tag):
 * flows shared between LB hosts are imported so. The program's accesses
 * are the same loads and stores into the same kind of array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries,
	       XS_DEFAULT_MAX_FLOWS *XS_FLOW_WAYS_PER_FLOW / XS_FLOW_WAYS);
	__uint(map_flags, XS_FLOWS_MAP_FLAGS);
	__type(key, __u32);
	__type(value, XS_FLOW_BUCKET);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* (vip_id, client prefix) -> pool, for testers and dogfooding. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XS_DEFAULT_MAX_OVERRIDES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xs_override_key);
	__type(value, struct xs_override);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} overrides SEC(".maps");

/* ifindex -> the LB's MAC there, for l2dsr backends behind another NIC. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_MAX_EGRESS_INTERFACES);
	__type(key, __u32);
	__type(value, struct xs_egress);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_macs SEC(".maps");

/* backend id -> the FIB's last word on the way to an ipip backend, per CPU
 * (no two CPUs write one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xs_tunnel_hop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tunnel_hops SEC(".maps");

/* (vip_id, pool) -> traffic and handshake health, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_VIPS *XS_POOL_COUNT);
	__type(key, __u32);
	__type(value, struct xs_pool_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pool_stats SEC(".maps");

/* backend id -> traffic, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xs_backend_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_stats SEC(".maps");

/* enum xs_counter -> packets, per CPU. (The kernel takes only an integer
 * as an array's key type, so the names are in maps/counters.h.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_COUNTER_COUNT + XS_TEST_EXTRA_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} global_stats SEC(".maps");

#endif /* XDPSPLIT_BPF_MAPS_H */
