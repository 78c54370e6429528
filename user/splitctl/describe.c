// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* How VIPs and backends are shown: on screen, in JSON, in the audit log. */
#include <arpa/inet.h>
#include <net/if.h>
#include "user/lib/parse.h"
#include "splitctl.h"

void print_vip(const struct xs_vip_entry *entry)
{
	char vip[80];

	xs_format_vip(&entry->key, vip, sizeof(vip));
	out_string("vip", vip);
	out_u64("id", entry->vip.vip_id);
	out_string("mode", xs_mode_name(entry->vip.forward_mode));
	out_string("split", xs_split_name(entry->vip.split_key));
	/* its own id, or the first VIP's of its service */
	out_u64("route", entry->vip.route_id);
	out_basis_points("blue", entry->route.weight[XS_POOL_BLUE]);
	out_basis_points("green", entry->route.weight[XS_POOL_GREEN]);
	out_basis_points("canary", entry->route.weight[XS_POOL_CANARY]);
	out_string("live", xs_pool_name(entry->route.live_pool));
}

void print_backend(const struct xs_backend_entry *entry)
{
	const struct xs_backend *b = &entry->backend;
	char address[64], mac[24], ifname[IF_NAMESIZE] = "";

	xs_format_address(b->family, b->address, address, sizeof(address));
	xs_format_mac(b->mac, mac, sizeof(mac));
	out_string("backend", address);
	out_u64("id", entry->id);
	out_string("pool", xs_pool_name(b->pool));
	out_string("state", xs_state_name(b->state));
	out_u64("weight", b->weight);
	out_string("mac", mac);
	if (b->ifindex && if_indextoname(b->ifindex, ifname))
		out_string("dev", ifname);
}

char *describe_vip(const struct xs_vip_entry *entry)
{
	out_capture_begin();
	out_object_begin(NULL);
	print_vip(entry);
	out_object_end();
	return out_capture_end();
}

char *describe_backend(const struct xs_backend_entry *entry)
{
	out_capture_begin();
	out_object_begin(NULL);
	print_backend(entry);
	out_object_end();
	return out_capture_end();
}
