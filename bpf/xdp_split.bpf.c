// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_split: sends each connection to a VIP to its blue, green or canary pool
 * by the VIP's weights, then to one backend of that pool, and forwards it.
 * Everything that is not for a VIP is passed to the kernel untouched.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>
#include "maps.bpf.h"
#include "parsing.bpf.h"
#include "stats.bpf.h"
#include "choose.bpf.h"
#include "flow.bpf.h"
#include "forward.bpf.h"
#include "icmp.bpf.h"
#include "vip.bpf.h"

#define XDPSPLIT_RUN_PRIORITY 20

/* Which build this is; a rebuild with another tag (the upgrade tests' second
 * object) is a different program over the same maps. */
#ifndef XS_BUILD_TAG
#define XS_BUILD_TAG 1
#endif

/* libxdp: run early among the NIC's programs; go on to the next one when we
 * pass a packet (it is not ours) */
struct {
	__uint(priority, XDPSPLIT_RUN_PRIORITY);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xdp_split);

/* A later fragment has no ports: only a client-split VIP that takes every
 * port can place it, by the client address alone, without the flow table. */
static __always_inline int handle_later_fragment(struct xdp_md *ctx,
						 const struct packet *p,
						 const struct xs_config *config,
						 const struct xs_vip *vip)
{
	struct choice choice;
	__u32 reason;
	int action;

	if (vip->split_key != XS_SPLIT_CLIENT)
		return finish(XS_PASS_FRAGMENT, XDP_PASS);
	reason = choose(config, vip, &p->key, &choice);
	if (reason)
		return fail(reason);
	count_pool_traffic(pool_stats_of(vip->vip_id, choice.pool),
			   p->frame_length, 0);
	count_backend_traffic(choice.backend_id, p->frame_length, 0);
	action = forward(ctx, p, config, vip, choice.backend_id, choice.backend,
			 &reason);
	if (reason == XS_FORWARD_L2DSR || reason == XS_FORWARD_IPIP)
		reason = XS_FORWARD_FRAGMENT;
	return finish(reason, action);
}

SEC("xdp")
int xdp_split(struct xdp_md *ctx)
{
	struct flow_result flow = {};
	struct xs_config *settings;
	struct packet p = {};
	struct xs_vip *vip;
	__u32 zero = 0, reason, build = XS_BUILD_TAG;
	int action;

	/* the tag in the instructions: two builds have two program tags */
	asm volatile("" : "+r"(build));
	reason = parse_packet(ctx, &p);
	if (reason)
		return finish(reason, XDP_PASS);
	/* ICMP is not yet keyed: its quote is read off this path */
	if (p.kind == PACKET_ICMP)
		return handle_icmp(ctx, &p);
	vip = find_vip(&p.key);
	if (!vip)
		return finish(p.kind == PACKET_LATER_FRAGMENT ?
				      XS_PASS_FRAGMENT :
				      XS_PASS_NOT_VIP,
			      XDP_PASS);
	settings = bpf_map_lookup_elem(&config, &zero);
	if (!settings || !settings->maglev_size)
		return finish(XS_PASS_NO_CONFIG, XDP_PASS);

	if (p.kind == PACKET_LATER_FRAGMENT)
		return handle_later_fragment(ctx, &p, settings, vip);

	reason = flow_lookup_or_choose(&p, settings, vip, &flow);
	if (reason)
		return fail(reason);

	count_pool_traffic(flow.stats, p.frame_length, flow.new_flow);
	count_backend_traffic(flow.backend_id, p.frame_length, flow.new_flow);
	action = forward(ctx, &p, settings, vip, flow.backend_id, flow.backend,
			 &reason);
	return finish(reason, action);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
