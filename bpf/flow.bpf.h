/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow tables: an established flow keeps its backend whatever the weights
 * do. It is re-chosen only when its backend is DOWN or gone, when its pool
 * was flushed, or when a client starts a new connection on the tuple (a SYN
 * that is not a retransmission: another initial sequence number, or any SYN
 * once the handshake is over). A flow seen once lives in pending_flows; its
 * client's second packet (the handshake's ACK, or more data) moves it to
 * flows, which a flood of first packets therefore never touches. An entry is
 * written when a flow is created, confirmed or re-chosen, and when its TCP
 * state changes, never on an ordinary packet.
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

/* Writes a flow entry, counting `inserted` when the key was absent, so that
 * inserts minus entries is the number of entries the LRU evicted. The flag
 * the caller expects to succeed goes first: a failed update of an LRU map
 * still takes a free node, which may evict another entry. */
static __always_inline void flow_write(void *table,
				       const struct xs_flow_key *key,
				       const struct xs_flow *value,
				       __u32 inserted, int present)
{
	if (present && !bpf_map_update_elem(table, key, value, BPF_EXIST))
		return;
	if (!bpf_map_update_elem(table, key, value, BPF_NOEXIST)) {
		count(inserted);
		return;
	}
	/* present after all (another CPU was first) */
	if (present || bpf_map_update_elem(table, key, value, BPF_EXIST))
		count(XS_FLOW_INSERT_FAILED);
}

/* A client's second packet: the flow moves from pending_flows to flows. */
static __always_inline void confirm(const struct packet *p,
				    const struct xs_flow *confirmed)
{
	flow_write(&flows, &p->key, confirmed, XS_FLOW_CONFIRMED, 0);
	if (!bpf_map_delete_elem(&pending_flows, &p->key))
		count(XS_FLOW_PENDING_REMOVED);
}

/* An entry of either table that is still good: advances its TCP state and
 * confirms a pending flow on its client's second packet. */
static __always_inline void use_flow(const struct packet *p, __u32 vip_id,
				     struct xs_flow *flow, int is_pending,
				     struct xs_backend *backend,
				     struct flow_result *out)
{
	struct xs_pool_stats *stats = pool_stats_of(vip_id, flow->pool);
	struct xs_flow advanced;

	out->stats = stats;
	out->backend_id = flow->backend_id;
	out->pool = flow->pool;
	out->backend = backend;
	out->new_flow = 0;
	if (!is_pending || (p->key.protocol == IPPROTO_TCP && is_syn(p))) {
		track_tcp(p, flow, stats); /* or counts a retransmitted SYN */
		return;
	}
	/* track a copy: the pending entry changes only if it stays there; a
	 * closing packet keeps it out of flows, which is for live connections */
	advanced = *flow;
	track_tcp(p, &advanced, stats);
	if (advanced.state == XS_FLOW_CLOSED)
		flow->state = XS_FLOW_CLOSED;
	else
		confirm(p, &advanced);
}

/* Finds or makes the flow of a TCP/UDP packet; 0 or a pass/drop reason. */
static __always_inline int flow_lookup_or_choose(const struct packet *p,
						 const struct xs_config *config,
						 const struct xs_vip *vip,
						 struct flow_result *out)
{
	__u32 inserted = XS_FLOW_CONFIRMED, stale;
	struct xs_backend *backend = 0;
	void *table = &flows;
	struct xs_flow *flow;
	struct choice choice;
	struct xs_flow fresh;
	int reason, is_pending = 0;

	flow = bpf_map_lookup_elem(&flows, &p->key);
	if (!flow) {
		flow = bpf_map_lookup_elem(&pending_flows, &p->key);
		is_pending = 1;
	}
	if (flow) {
		stale = stale_reason(p, vip->vip_id, flow, &backend);
		if (!stale) {
			use_flow(p, vip->vip_id, flow, is_pending, backend, out);
			return 0;
		}
		count(stale);
	}
	/* a re-chosen confirmed flow stays confirmed; anything else is pending */
	if (is_pending) {
		table = &pending_flows;
		inserted = XS_FLOW_PENDING_INSERTED;
	}
	if (!flow && p->key.protocol == IPPROTO_TCP && !is_syn(p))
		count(XS_FLOW_MIDSTREAM_PICKUP);

	reason = choose(config, vip, &p->key, &choice);
	if (reason)
		return reason;
	__builtin_memset(&fresh, 0, sizeof(fresh));
	fresh.backend_id = choice.backend_id;
	fresh.epoch = choice.epoch;
	fresh.pool = choice.pool;
	fresh.state = initial_state(p);
	if (fresh.state == XS_FLOW_SYN_SEEN) {
		fresh.syn_time_ns = bpf_ktime_get_ns();
		fresh.initial_sequence = p->tcp_sequence;
	}
	flow_write(table, &p->key, &fresh, inserted, flow != NULL);

	out->backend_id = choice.backend_id;
	out->pool = choice.pool;
	out->backend = choice.backend;
	out->stats = pool_stats_of(vip->vip_id, choice.pool);
	out->new_flow = 1;
	return 0;
}

/* The flow a packet belongs to in either table, or NULL. */
static __always_inline struct xs_flow *find_flow(const struct xs_flow_key *key)
{
	struct xs_flow *flow = bpf_map_lookup_elem(&flows, key);

	return flow ? flow : bpf_map_lookup_elem(&pending_flows, key);
}

#endif /* XDPSPLIT_BPF_FLOW_H */
