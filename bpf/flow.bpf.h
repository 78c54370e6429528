/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow table: an established flow keeps its backend whatever the weights
 * do. It is re-chosen only when its backend is DOWN or gone, when its pool
 * was flushed, or when a client starts a new connection (SYN) on a tuple it
 * had closed. The entry is written when a flow is created or re-chosen and
 * when its TCP state changes, never on an ordinary packet.
 */
#ifndef XDPSPLIT_BPF_FLOW_H
#define XDPSPLIT_BPF_FLOW_H

#include "choose.bpf.h"
#include "parsing.bpf.h"
#include "stats.bpf.h"

/* UP and DRAINING backends keep their flows; DOWN and removed ones do not. */
static __always_inline int backend_keeps_flows(const struct xs_backend *backend)
{
	return backend && (backend->state == XS_BACKEND_UP ||
			   backend->state == XS_BACKEND_DRAINING);
}

static __always_inline int is_syn(const struct packet *p)
{
	return (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/* The counter naming why an existing flow must be re-chosen, or 0. */
static __always_inline __u32 stale_reason(const struct packet *p,
					  __u32 vip_id,
					  const struct xs_flow *flow,
					  struct xs_backend **backend)
{
	__u32 backend_id = flow->backend_id;

	*backend = bpf_map_lookup_elem(&backends, &backend_id);
	/* a removed backend's id may since serve another VIP */
	if (!backend_keeps_flows(*backend) || (*backend)->vip_id != vip_id)
		return XS_FLOW_RECHOSEN_BACKEND_DOWN;
	if (pool_epoch(vip_id, flow->pool) != flow->epoch)
		return XS_FLOW_RECHOSEN_POOL_FLUSHED;
	if (flow->state == XS_FLOW_CLOSED && is_syn(p))
		return XS_FLOW_RECHOSEN_NEW_SYN;
	return 0;
}

static __always_inline __u8 initial_state(const struct packet *p)
{
	if (p->key.protocol != IPPROTO_TCP)
		return XS_FLOW_DATAGRAM;
	return is_syn(p) ? XS_FLOW_SYN_SEEN : XS_FLOW_MIDSTREAM;
}

/* Advances an existing TCP flow's state; writes only when it changes. */
static __always_inline void track_tcp(const struct packet *p,
				      struct xs_flow *flow,
				      struct xs_pool_stats *stats)
{
	__u8 flags = p->tcp_flags;

	if (p->key.protocol != IPPROTO_TCP || flow->state == XS_FLOW_CLOSED)
		return;
	if (flags & (TCP_FLAG_RST | TCP_FLAG_FIN)) {
		if ((flags & TCP_FLAG_RST) && stats)
			stats->client_resets++;
		flow->state = XS_FLOW_CLOSED;
		return;
	}
	if (flow->state != XS_FLOW_SYN_SEEN)
		return;
	if (is_syn(p)) {
		if (stats)
			stats->syn_retransmits++;
	} else if (flags & TCP_FLAG_ACK) {
		flow->state = XS_FLOW_ESTABLISHED;
		if (stats)
			record_handshake(stats,
					 bpf_ktime_get_ns() - flow->syn_time_ns);
	}
}

struct flow_result {
	__u32 backend_id;
	__u8 pool;
	__u8 new_flow;
	struct xs_backend *backend;
	struct xs_pool_stats *stats; /* the pool's, looked up once per packet */
};

/* Finds or makes the flow of a TCP/UDP packet; 0 or a pass/drop reason. */
static __always_inline int flow_lookup_or_choose(const struct packet *p,
						 const struct xs_config *config,
						 const struct xs_vip *vip,
						 struct flow_result *out)
{
	struct xs_backend *backend = 0;
	struct xs_flow *flow;
	struct choice choice;
	struct xs_flow fresh;
	__u32 stale = 0;
	int reason;

	flow = bpf_map_lookup_elem(&flows, &p->key);
	if (flow) {
		stale = stale_reason(p, vip->vip_id, flow, &backend);
		if (!stale) {
			out->stats = pool_stats_of(vip->vip_id, flow->pool);
			track_tcp(p, flow, out->stats);
			out->backend_id = flow->backend_id;
			out->pool = flow->pool;
			out->backend = backend;
			out->new_flow = 0;
			return 0;
		}
		count(stale);
	}

	reason = choose(config, vip, &p->key, &choice);
	if (reason)
		return reason;
	__builtin_memset(&fresh, 0, sizeof(fresh));
	fresh.backend_id = choice.backend_id;
	fresh.epoch = choice.epoch;
	fresh.pool = choice.pool;
	fresh.state = initial_state(p);
	if (fresh.state == XS_FLOW_SYN_SEEN)
		fresh.syn_time_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&flows, &p->key, &fresh, BPF_ANY))
		count(XS_FLOW_INSERT_FAILED);

	out->backend_id = choice.backend_id;
	out->pool = choice.pool;
	out->backend = choice.backend;
	out->stats = pool_stats_of(vip->vip_id, choice.pool);
	out->new_flow = 1;
	return 0;
}

#endif /* XDPSPLIT_BPF_FLOW_H */
