/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the XDP data plane and userspace: every map's key and
 * value, and the constants both sides agree on. Fixed-width types and explicit
 * padding only, so the layout is the same for clang's BPF target and for gcc,
 * and BTF lets `bpftool map dump` print every field by name.
 */
#ifndef XDPSPLIT_MAPS_CONTRACT_H
#define XDPSPLIT_MAPS_CONTRACT_H

#include <linux/types.h>

/*
 * Enumerated fields of map keys and values are one byte each, typed as
 * their enum so that the maps' BTF names the values: `bpftool map dump`
 * prints "state": "XS_BACKEND_UP", not "state": 1. C before C23 has no
 * fixed underlying type for an enum; packed makes it the smallest type that
 * holds its values (one unsigned byte here) in gcc and clang, for the BPF
 * target and userspace alike. The asserts at the end of this file hold
 * every such field to its size and offset: the layout is the contract with
 * pinned maps (user/lib/layout.c compares it across upgrades).
 *
 * XS_TEST_BYTE_FIELDS builds the fields as the plain __u8 they were in the
 * release before (pins without the enums' BTF), for the upgrade tests.
 */
#if defined(XS_TEST_BYTE_FIELDS) && XS_TEST_BYTE_FIELDS
#define XS_ENUM_FIELD(name) __u8
#else
#define XS_ENUM_FIELD(name) enum name
#endif

/* Pools of a VIP. The order is also the layout of the split range. */
enum __attribute__((packed)) xs_pool {
	XS_POOL_BLUE = 0,
	XS_POOL_GREEN = 1,
	XS_POOL_CANARY = 2,
	XS_POOL_COUNT = 3,
};

/* Weights are basis points; a valid route's weights add up to this. */
#define XS_WEIGHT_TOTAL 10000

enum __attribute__((packed)) xs_family {
	XS_FAMILY_IPV4 = 4,
	XS_FAMILY_IPV6 = 6,
};

/* IANA protocol numbers (IPPROTO_*, asserted in user/lib/layout.c: the
 * kernel's and libc's headers that define them cannot both be included) */
enum __attribute__((packed)) xs_protocol {
	XS_PROTOCOL_TCP = 6,
	XS_PROTOCOL_UDP = 17,
};

enum __attribute__((packed)) xs_forward_mode {
	XS_MODE_L2DSR = 0, /* rewrite MACs, the backend has the VIP on lo */
	XS_MODE_IPIP = 1,  /* IPv4-in-IPv4 or IPv6-in-IPv6 to the backend */
};

enum __attribute__((packed)) xs_split_key {
	XS_SPLIT_FLOW = 0,   /* 5-tuple: each connection is split on its own */
	XS_SPLIT_CLIENT = 1, /* client address: a client sees one version */
};

enum __attribute__((packed)) xs_backend_state {
	XS_BACKEND_ABSENT = 0,	 /* slot unused; flows on it are re-chosen */
	XS_BACKEND_UP = 1,	 /* in the Maglev table, takes new flows */
	XS_BACKEND_DRAINING = 2, /* keeps its flows, gets no new ones */
	XS_BACKEND_DOWN = 3,	 /* its flows are re-chosen */
};

/* xs_vip.flags */
#define XS_VIP_HAS_OVERRIDES (1U << 0) /* look client overrides up */

/* Defaults of the sizes a loader may change before the first load. */
#define XS_DEFAULT_MAX_VIPS 256
#define XS_DEFAULT_MAX_BACKENDS 4096
#define XS_DEFAULT_MAX_FLOWS (1U << 20)
#define XS_DEFAULT_MAX_OVERRIDES 16384
#define XS_DEFAULT_MAGLEV_SIZE 16381 /* prime */
#define XS_MAX_EGRESS_INTERFACES 64

/* A 128-bit address field holds IPv4 in word 0 and zeroes elsewhere. */
#define XS_ADDRESS_WORDS 4

/* vips: which VIP a packet is for. Port 0 matches every port. */
struct xs_vip_key {
	__be32 address[XS_ADDRESS_WORDS];
	__be16 port;
	XS_ENUM_FIELD(xs_protocol) protocol;
	XS_ENUM_FIELD(xs_family) family;
};

struct xs_vip {
	__u32 vip_id; /* index into routes, pool_epochs, maglev, pool_stats */
	XS_ENUM_FIELD(xs_forward_mode) forward_mode;
	XS_ENUM_FIELD(xs_split_key) split_key;
	__u16 flags; /* XS_VIP_* */
	/*
	 * The VIP's identity beyond its address: new each time it is created,
	 * so a VIP deleted and created again (and given the freed id) is
	 * another VIP to whoever remembers the old one, such as a rollout.
	 * Its low byte is also the route entry's vip_tag. The program does
	 * not read it.
	 */
	__u32 generation;
	/*
	 * routes[route_id] splits its new flows: its own vip_id, or that of
	 * the first VIP of its service. VIPs of one service (IPv4 and IPv6,
	 * several ports) share one route entry, so one store changes the
	 * weights of all of them at once. Pools, tables and counters stay
	 * per VIP.
	 */
	__u32 route_id;
};

/*
 * routes[vip_id]: the split of new flows. Exactly 8 bytes in a mmapable array,
 * written by userspace with one 64-bit atomic store and read by the program
 * with one 64-bit load, so a packet sees the old entry or the new one, never a
 * mix. A weight change and a blue/green switch are each one such store.
 */
struct xs_route {
	__u16 weight[XS_POOL_COUNT]; /* basis points, indexed by enum xs_pool */
	/* BLUE or GREEN: where flows go when a pool is empty */
	XS_ENUM_FIELD(xs_pool) live_pool;
	/* low byte of the owning VIP's generation, one more than the previous
	 * VIP's on this id: a writer that checked the VIP's identity writes
	 * with a compare-and-swap that fails if the VIP was re-created since.
	 * The program does not read it. */
	__u8 vip_tag;
};

union xs_route_word {
	__u64 raw;
	struct xs_route route;
};

/*
 * pool_epochs[vip_id * XS_POOL_COUNT + pool]: bumped to flush a pool. A flow
 * remembers the epoch it was chosen in and is re-chosen when they differ.
 * Mmapable, written with one 32-bit atomic store.
 */

/* maglev (outer array, same index as pool_epochs) holds one inner array of
 * maglev_size entries per pool; no inner array means no usable backend.
 * Userspace creates the inner arrays with the program's BTF for this entry
 * (user/lib/maglev_btf.c), so a dump names the field. */
struct xs_maglev_entry {
	__u32 backend_id;
};

/* backends[backend_id]. Id 0 is never used, so 0 means "none". Written with
 * one array update, which copies in place: a packet racing a MAC change may
 * see it half done. State is one byte and is always seen whole. */
struct xs_backend {
	__be32 address[XS_ADDRESS_WORDS];
	__u8 mac[6]; /* l2dsr: destination MAC */
	XS_ENUM_FIELD(xs_family) family;
	XS_ENUM_FIELD(xs_backend_state) state;
	__u32 vip_id;  /* the VIP it serves */
	__u32 ifindex; /* l2dsr egress; 0: the interface the packet came in on */
	__u16 weight;  /* Maglev weight, relative within the pool */
	XS_ENUM_FIELD(xs_pool) pool;
	__u8 reserved;
};

/*
 * flows: one entry per connection, keyed by its 5-tuple and the VLAN it
 * came in on.
 *
 * Why the VLAN is in the key: an LB sees one client 5-tuple on two VLANs
 * only when they are two networks (two tenants with overlapping addresses,
 * say); the same connection never changes VLAN. Without it, one tenant's
 * SYN would end or re-choose the other's connection, and each would be
 * forwarded to the other's backend. Only the outer tag's 12-bit VLAN ID
 * fits the 16 bits we have (the key must not grow: every packet hashes and
 * compares it); the outer tag is the one that names the network on the
 * LB's link (802.1ad: the service tag of the tenant), the priority bits
 * are not part of it as they may change within a connection.
 *
 * The VLAN is not part of the split hash (see xs_flow_hash): the choice
 * depends on the connection alone, so hosts whose NICs differ in VLAN
 * stripping (a stripped tag is not in the frame XDP sees, and then counts
 * as untagged) still decide alike, and `splitctl explain` needs no VLAN.
 */
struct xs_flow_key {
	__be32 client[XS_ADDRESS_WORDS];
	__be32 vip[XS_ADDRESS_WORDS];
	__be16 client_port;
	__be16 vip_port;
	XS_ENUM_FIELD(xs_protocol) protocol;
	XS_ENUM_FIELD(xs_family) family;
	__u16 vlan_id;	       /* host order, outer tag's VLAN ID; 0 untagged */
} __attribute__((aligned(8))); /* hashed and compared as 64-bit words */
#define XS_VLAN_ID_MASK 0x0fff

enum __attribute__((packed)) xs_flow_state {
	XS_FLOW_DATAGRAM = 0,	 /* UDP */
	XS_FLOW_SYN_SEEN = 1,	 /* client SYN forwarded, waiting for its ACK */
	XS_FLOW_ESTABLISHED = 2, /* client ACK seen after the SYN */
	XS_FLOW_MIDSTREAM = 3,	 /* first packet seen was not a SYN */
	XS_FLOW_CLOSED = 4,	 /* client sent RST or FIN */
};

struct xs_flow {
	__u64 syn_time_ns; /* bpf_ktime_get_ns() of the first SYN */
	__u32 backend_id;
	__u32 epoch; /* pool epoch when chosen */
	XS_ENUM_FIELD(xs_pool) pool;
	XS_ENUM_FIELD(xs_flow_state) state;
	__u16 reserved;
	/* the sequence number of the SYN that opened the flow, as on the wire
	 * (0 if no SYN was seen). A retransmitted SYN repeats it; a client's
	 * new connection on the tuple has another one, so it is chosen afresh
	 * by the weights of its time. Read on SYNs only. */
	__be32 initial_sequence;
};

/*
 * flows: the flow table, an array of buckets of XS_FLOW_WAYS ways each (a
 * set-associative cache in an array map). A flow's bucket and tag come from
 * xs_flow_table_hash (maps/decision.h) under config.flow_seed, so a lookup
 * reads one bucket and no lock is taken: the header's line holds every way's
 * tag, and only a way whose tag matches has its key compared.
 *
 * One table for every flow, two kinds of way: a flow seen once (a SYN, a
 * first datagram, a first packet picked up mid-stream) is pending; its
 * client's second packet confirms it in place. A new flow takes an empty way,
 * else the way of a flow that is closed, pending, or confirmed but idle
 * for XS_FLOW_IDLE_UNITS, the least recently seen first. It never takes the
 * way of a live confirmed flow: a flood of first packets from forged sources
 * churns the pending ways alone. A flow that finds its bucket full of
 * live connections is forwarded by the hash, unstored (flow_not_stored).
 *
 * The table has XS_FLOW_WAYS_PER_FLOW ways for each flow of max_flows, so a
 * bucket seldom fills before the table does.
 *
 * A way's tag word holds its kind too (XS_FLOW_WAY_*), so every change of a
 * way is one compare-and-swap of that word: a writer takes the way from the
 * tag it judged to XS_FLOW_TAG_BUSY, writes the slot and publishes the new
 * tag with an exchange. A way whose kind changed after it was judged (its
 * flow confirmed a moment before a new flow would have replaced it) fails
 * the swap and is left alone; a reader that sees the tag change across its
 * read treats the way as absent. Two CPUs never write one way at once.
 *
 * The array is mmapable, and userspace follows the same protocol with the
 * same atomics on the mapping (user/lib/flow_table.h): flows shared by
 * another LB host are imported so (user/lib/fleet/flow_share.h), as
 * confirmed ways, while the program runs on every CPU.
 */
#define XS_FLOW_WAYS 8
#define XS_FLOW_WAYS_PER_FLOW 2
#define XS_FLOW_TAG_EMPTY 0
#define XS_FLOW_TAG_BUSY 2 /* never a tag: every tag is odd */
/* a tag: bit 0 set, the way's kind in bits 1-2, the flow's hash above */
#define XS_FLOW_WAY_CONFIRMED 0x2 /* its client sent a second packet */
#define XS_FLOW_WAY_CLOSED 0x4	  /* its client sent RST or FIN */
#define XS_FLOW_WAY_KIND (XS_FLOW_WAY_CONFIRMED | XS_FLOW_WAY_CLOSED)
/* last_seen counts units of 2^XS_FLOW_TIME_SHIFT ns (about 1.07 s) of
 * bpf_ktime_get_coarse_ns, modulo 2^16; it is written at most once a unit */
#define XS_FLOW_TIME_SHIFT 30
#define XS_FLOW_IDLE_UNITS 60 /* about 64 s */

struct xs_flow_slot {
	struct xs_flow_key key;
	struct xs_flow flow;
};

struct xs_flow_bucket {
	__u32 tag[XS_FLOW_WAYS]; /* EMPTY, BUSY, or the flow's tag and kind */
	__u16 last_seen[XS_FLOW_WAYS];
	__u8 hand; /* where the next search for a way to replace starts */
	__u8 reserved[15];
	struct xs_flow_slot slot[XS_FLOW_WAYS];
};

/* Buckets of a table sized for max_flows flows (at least one). */
static inline __u32 xs_flow_buckets(__u32 max_flows)
{
	__u64 ways = (__u64)max_flows * XS_FLOW_WAYS_PER_FLOW;

	return ways > XS_FLOW_WAYS ?
		       (__u32)((ways + XS_FLOW_WAYS - 1) / XS_FLOW_WAYS) :
		       1;
}

/* overrides: LPM trie. prefix_len counts the 32 bits of vip_id first. */
struct xs_override_key {
	__u32 prefix_len;
	__be32 vip_id; /* big-endian, so the trie matches it byte by byte */
	__be32 client[XS_ADDRESS_WORDS];
};
#define XS_OVERRIDE_VIP_BITS 32

struct xs_override {
	XS_ENUM_FIELD(xs_pool) pool;
	__u8 reserved[3];
};

/* config[0]: written once by the loader, read on every packet. */
struct xs_config {
	__u32 split_seed;   /* pool choice hash */
	__u32 backend_seed; /* Maglev slot hash, independent of the split */
	__u32 maglev_size;
	__u32 max_vips;
	__u32 max_backends;
	__u32 max_flows;
	__u32 max_overrides;
	__be32 tunnel_source_v4; /* ipip outer source */
	__be32 tunnel_source_v6[XS_ADDRESS_WORDS];
	/* flow table hash: this host's own secret, so no one outside can aim
	 * a flood at one bucket */
	__u32 flow_seed;
};

/*
 * tunnel_hops[backend_id], per CPU: what the kernel's FIB said of the way to
 * an ipip backend, so that a packet reuses it instead of looking the route
 * and the neighbour up again. Written by the program alone. An entry serves
 * packets for XS_TUNNEL_HOP_TTL_NS after its lookup, from the same ingress
 * interface, with the same TOS, to the same backend address, and no larger
 * than the largest packet the FIB passed for it (so the tunnel's MTU check
 * stays the FIB's own); anything else looks the FIB up again. A route or
 * neighbour change is so followed within the TTL.
 */
#define XS_TUNNEL_HOP_TTL_NS 100000000ULL /* 100 ms */

struct xs_tunnel_hop {
	__be32 backend[XS_ADDRESS_WORDS]; /* the address looked up */
	__be32 source[XS_ADDRESS_WORDS]; /* outer source: config's or the FIB's */
	__u64 expires_ns;		 /* bpf_ktime_get_coarse_ns */
	__u32 ingress_ifindex;
	__u32 egress_ifindex;
	__u8 destination_mac[6];
	__u8 source_mac[6];
	__u16 verified_length; /* outer IP length the FIB passed */
	__u8 tos;
	__u8 reserved;
};

/* egress_macs[ifindex]: the LB's own MAC on an interface l2dsr redirects to */
struct xs_egress {
	__u8 mac[6];
	__u16 reserved;
};

/* Handshake latency histogram: bucket i counts [2^i, 2^(i+1)) ns. */
#define XS_LATENCY_BUCKETS 32

/* pool_stats[vip_id * XS_POOL_COUNT + pool], per CPU */
struct xs_pool_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 syn_retransmits;
	__u64 handshakes_completed;
	__u64 client_resets;
	__u64 fallbacks; /* new flows this pool could not take */
	__u64 handshake_latency[XS_LATENCY_BUCKETS];
};

/* backend_stats[backend_id], per CPU */
struct xs_backend_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/*
 * The layout of every enumerated field, as it was when the fields were
 * plain __u8: one byte at the same offset, in structs of the same size.
 * (A bare enum is four bytes: these fail if packed is lost.)
 */
#define XS_ASSERT_BYTE_FIELD(type, field, offset)                              \
	_Static_assert(sizeof(((struct type *)0)->field) == 1 &&               \
			       __builtin_offsetof(struct type, field) ==       \
				       (offset),                               \
		       #type "." #field " must stay one byte at " #offset)
XS_ASSERT_BYTE_FIELD(xs_vip_key, protocol, 18);
XS_ASSERT_BYTE_FIELD(xs_vip_key, family, 19);
XS_ASSERT_BYTE_FIELD(xs_vip, forward_mode, 4);
XS_ASSERT_BYTE_FIELD(xs_vip, split_key, 5);
XS_ASSERT_BYTE_FIELD(xs_route, live_pool, 6);
XS_ASSERT_BYTE_FIELD(xs_backend, family, 22);
XS_ASSERT_BYTE_FIELD(xs_backend, state, 23);
XS_ASSERT_BYTE_FIELD(xs_backend, pool, 34);
XS_ASSERT_BYTE_FIELD(xs_flow_key, protocol, 36);
XS_ASSERT_BYTE_FIELD(xs_flow_key, family, 37);
XS_ASSERT_BYTE_FIELD(xs_flow, pool, 16);
XS_ASSERT_BYTE_FIELD(xs_flow, state, 17);
XS_ASSERT_BYTE_FIELD(xs_override, pool, 0);
#undef XS_ASSERT_BYTE_FIELD
_Static_assert(sizeof(struct xs_vip_key) == 20, "xs_vip_key is 20 bytes");
_Static_assert(sizeof(struct xs_vip) == 16, "xs_vip is 16 bytes");
_Static_assert(sizeof(struct xs_route) == 8, "xs_route is one 64-bit word");
_Static_assert(sizeof(struct xs_backend) == 36, "xs_backend is 36 bytes");
_Static_assert(sizeof(struct xs_flow_key) == 40, "xs_flow_key is 40 bytes");
_Static_assert(sizeof(struct xs_flow) == 24, "xs_flow is 24 bytes");
_Static_assert(sizeof(struct xs_override) == 4, "xs_override is 4 bytes");
_Static_assert(sizeof(struct xs_maglev_entry) == 4,
	       "a Maglev table is an array of backend ids");

#include "counters.h"

#endif /* XDPSPLIT_MAPS_CONTRACT_H */
