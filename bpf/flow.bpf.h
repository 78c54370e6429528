/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a flow is: an established flow keeps its backend whatever the weights
 * do. It is re-chosen only when its backend is DOWN or gone, when its pool
 * was flushed, or when a client starts a new connection on the tuple (a SYN
 * that is not a retransmission: another initial sequence number, or any SYN
 * once the handshake is over). A flow seen once is unconfirmed; its client's
 * second packet (the handshake's ACK, or more data) confirms it where it is,
 * and a flood of first packets never takes a confirmed flow's way
 * (flow_table.bpf.h). An entry is written when a flow is created, confirmed
 * or re-chosen, when its TCP state changes, and at most once a second to
 * mark it seen, never otherwise on an ordinary packet.
 */
#ifndef XDPSPLIT_BPF_FLOW_H
#define XDPSPLIT_BPF_FLOW_H

#include "choose.bpf.h"
#include "flow_table.bpf.h"
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
static __always_inline __u32 stale_reason(const struct packet *p, __u32 vip_id,
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
	/* a bare SYN opens a new connection, unless it repeats the SYN of a
	 * handshake under way (same initial sequence number): the tuple's old
	 * connection may have ended unseen (a backend's reset or FIN never
	 * passes the LB), and a handshake never answered may be given up and
	 * retried by the client as a new connection */
	if (is_syn(p) && (flow->state != XS_FLOW_SYN_SEEN ||
			  flow->initial_sequence != p->tcp_sequence))
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
			record_handshake(stats, bpf_ktime_get_ns() -
							flow->syn_time_ns);
	}
}

struct flow_result {
	__u32 backend_id;
	__u8 pool;
	__u8 new_flow;
	struct xs_backend *backend;
	struct xs_pool_stats *stats; /* the pool's, looked up once per packet */
};

/* A flow found in the table that is still good: advances its TCP state,
 * confirms it on its client's second packet, marks it seen. */
static __always_inline void use_flow(const struct packet *p, __u32 vip_id,
				     const struct flow_ref *ref,
				     struct xs_flow *flow,
				     struct xs_backend *backend, __u16 now,
				     struct flow_result *out)
{
	struct xs_pool_stats *stats = pool_stats_of(vip_id, flow->pool);
	__u32 kind = ref->seen & XS_FLOW_WAY_KIND, new_kind = kind;
	__u8 state = flow->state;

	out->stats = stats;
	out->backend_id = flow->backend_id;
	out->pool = flow->pool;
	out->backend = backend;
	out->new_flow = 0;
	track_tcp(p, flow, stats); /* or counts a retransmitted SYN */
	if (flow->state == XS_FLOW_CLOSED && p->key.protocol == IPPROTO_TCP)
		new_kind |= XS_FLOW_WAY_CLOSED;
	/* the second packet: not a repeat of the SYN; a closing one leaves
	 * the flow pending, the table's first to replace */
	else if (!(kind & XS_FLOW_WAY_CONFIRMED) && !is_syn(p))
		new_kind |= XS_FLOW_WAY_CONFIRMED;
	/* counted only if written: the way may have changed meanwhile */
	if ((flow->state != state || new_kind != kind) &&
	    !flow_table_update(ref, flow->state, new_kind) &&
	    (new_kind & ~kind & XS_FLOW_WAY_CONFIRMED))
		count(XS_FLOW_CONFIRMED);
	flow_table_touch(ref, now);
}

/* Finds or makes the flow of a TCP/UDP packet; 0 or a pass/drop reason. */
static __always_inline int flow_lookup_or_choose(const struct packet *p,
						 const struct xs_config *config,
						 const struct xs_vip *vip,
						 struct flow_result *out)
{
	struct xs_backend *backend = 0;
	__u16 now = flow_time_now();
	struct flow_ref ref;
	struct choice choice;
	struct xs_flow flow;
	__u32 stale;
	int reason;

	if (flow_table_find(config, &p->key, &ref, &flow)) {
		stale = stale_reason(p, vip->vip_id, &flow, &backend);
		if (!stale) {
			use_flow(p, vip->vip_id, &ref, &flow, backend, now,
				 out);
			return 0;
		}
		count(stale);
	} else if (p->key.protocol == IPPROTO_TCP && !is_syn(p)) {
		count(XS_FLOW_MIDSTREAM_PICKUP);
	}

	reason = choose(config, vip, &p->key, &choice);
	if (reason)
		return reason;
	__builtin_memset(&flow, 0, sizeof(flow));
	flow.backend_id = choice.backend_id;
	flow.epoch = choice.epoch;
	flow.pool = choice.pool;
	flow.state = initial_state(p);
	if (flow.state == XS_FLOW_SYN_SEEN) {
		flow.syn_time_ns = bpf_ktime_get_ns();
		flow.initial_sequence = p->tcp_sequence;
	}
	if (ref.found)
		flow_table_rewrite(&ref, &flow, now);
	else
		flow_table_insert(&ref, &p->key, &flow, now);

	out->backend_id = choice.backend_id;
	out->pool = choice.pool;
	out->backend = choice.backend;
	out->stats = pool_stats_of(vip->vip_id, choice.pool);
	out->new_flow = 1;
	return 0;
}

/* The flow a packet belongs to, copied into *flow; 0 if there is none. */
static __always_inline int find_flow(const struct xs_config *config,
				     const struct xs_flow_key *key,
				     struct xs_flow *flow)
{
	struct flow_ref ref;

	return flow_table_find(config, key, &ref, flow);
}

#endif /* XDPSPLIT_BPF_FLOW_H */
