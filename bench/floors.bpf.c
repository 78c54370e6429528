// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Baselines for `make bench`, measured the same way as xdp_split:
 * - xdp_null: returns at once; its cost is subtracted from every figure.
 * - xdp_drop_all: the same for live frames, where a pass would cost a trip
 *   through the kernel's stack.
 * - xdp_stateless_floor: swaps the MACs and sends the frame back.
 * - xdp_stateful_floor: the least a stateful splitter must do: parse
 *   Ethernet/IPv4/TCP, one lookup in a flow table of xdp_split's type, key
 *   and size (inserting on a miss), rewrite the destination MAC, XDP_TX.
 *   On a connection's SYN then its ACK that is a lookup and an insert, then
 *   a lookup that hits: the per-connection floor too.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "../maps/contract.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XS_DEFAULT_MAX_FLOWS);
	__type(key, struct xs_flow_key);
	__type(value, struct xs_flow);
} floor_flows SEC(".maps");

SEC("xdp")
int xdp_null(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/* the empty program of live-frame runs: bpf_stats' own cost per run */
SEC("xdp")
int xdp_drop_all(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}

SEC("xdp")
int xdp_stateless_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int xdp_stateful_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xs_flow_key key = {};
	struct xs_flow *flow, fresh = {};
	struct iphdr *ip;
	struct tcphdr *tcp;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl < 5 ||
	    ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end)
		return XDP_PASS;
	key.client[0] = ip->saddr;
	key.vip[0] = ip->daddr;
	key.client_port = tcp->source;
	key.vip_port = tcp->dest;
	key.protocol = IPPROTO_TCP;
	key.family = XS_FAMILY_IPV4;
	flow = bpf_map_lookup_elem(&floor_flows, &key);
	if (!flow) {
		fresh.backend_id = 1;
		bpf_map_update_elem(&floor_flows, &key, &fresh, BPF_ANY);
	}
	eth->h_dest[5] ^= 1; /* "the backend's MAC" */
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
