/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Which VIP a flow key is for: its (address, port, protocol), else the
 * address's VIP that takes every port (port 0). */
#ifndef XDPSPLIT_BPF_VIP_H
#define XDPSPLIT_BPF_VIP_H

#include "maps.bpf.h"

static __always_inline struct xs_vip *find_vip(const struct xs_flow_key *flow)
{
	struct xs_vip_key key = {
		.port = flow->vip_port,
		.protocol = flow->protocol,
		.family = flow->family,
	};
	struct xs_vip *vip;

	__builtin_memcpy(key.address, flow->vip, sizeof(key.address));
	vip = bpf_map_lookup_elem(&vips, &key);
	if (vip)
		return vip;
	key.port = 0;
	return bpf_map_lookup_elem(&vips, &key);
}

#endif /* XDPSPLIT_BPF_VIP_H */
