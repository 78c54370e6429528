/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP too-big about a VIP flow goes where the flow's packets go, so path
 * MTU discovery works through the LB: ECMP hashes a router's ICMP on its
 * outer header, so it reaches an LB host that usually never saw the flow.
 * The flow's own backend if this host has the flow (and its client's next
 * packet would keep it there), else the backend a new packet of the flow
 * would be given now: hosts with the same config decide alike. Nothing is
 * written to the flow table: an ICMP is no packet of the flow's client,
 * and a forged one must not be able to create, confirm or refresh a flow.
 * The ICMP is forwarded as it came (only the MACs, or an outer header), and
 * the backend's kernel matches the quote to its socket. Pool and backend
 * traffic counters are the flow's; they do not count it.
 */
#ifndef XDPSPLIT_BPF_ICMP_H
#define XDPSPLIT_BPF_ICMP_H

#include "choose.bpf.h"
#include "flow.bpf.h"
#include "forward.bpf.h"
#include "parsing_icmp.bpf.h"
#include "stats.bpf.h"
#include "vip.bpf.h"

/* The backend for the quoted flow; 0 and *forwarded_reason set, or a
 * pass/drop reason as choose() gives one for a new packet. */
static __always_inline int
icmp_backend(struct packet *p, const struct xs_config *config,
	     const struct xs_vip *vip, __u32 *backend_id,
	     struct xs_backend **backend, __u32 *forwarded_reason)
{
	struct choice choice;
	struct xs_flow flow;
	int reason;

	/* stale_reason() is what the client's next packet would be judged
	 * by (never a SYN here); it only reads */
	if (find_flow(config, &p->key, &flow) &&
	    !stale_reason(p, vip->vip_id, &flow, backend)) {
		*backend_id = flow.backend_id;
		*forwarded_reason = XS_FORWARD_ICMP_STORED_FLOW;
		return 0;
	}
	reason = choose(config, vip, &p->key, &choice);
	if (reason)
		return reason;
	*backend_id = choice.backend_id;
	*backend = choice.backend;
	*forwarded_reason = XS_FORWARD_ICMP_NEW_CHOICE;
	return 0;
}

static __always_inline int handle_icmp(struct xdp_md *ctx, struct packet *p)
{
	struct xs_backend *backend = 0;
	__u32 zero = 0, backend_id = 0, reason, forwarded = 0;
	struct xs_config *settings;
	struct xs_vip *vip;
	int action;

	reason = parse_icmp_too_big(ctx, p);
	if (reason)
		return finish(reason, XDP_PASS);
	vip = find_vip(&p->key);
	if (!vip)
		return finish(XS_PASS_ICMP_NOT_VIP, XDP_PASS);
	settings = bpf_map_lookup_elem(&config, &zero);
	if (!settings || !settings->maglev_size)
		return finish(XS_PASS_NO_CONFIG, XDP_PASS);
	reason = icmp_backend(p, settings, vip, &backend_id, &backend,
			      &forwarded);
	if (reason)
		return fail(reason);
	action = forward(ctx, p, settings, vip, backend_id, backend, &reason);
	if (reason == XS_FORWARD_L2DSR || reason == XS_FORWARD_IPIP)
		reason = forwarded;
	return finish(reason, action);
}

#endif /* XDPSPLIT_BPF_ICMP_H */
