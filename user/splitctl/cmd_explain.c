// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* explain VIP CLIENT [PORT]: where a connection goes right now, and why,
 * computed with the program's own decision code (maps/decision.h). */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <bpf/bpf.h>
#include "user/lib/flow_table.h"
#include "user/lib/parse.h"
#include "user/lib/predict.h"
#include "splitctl.h"

static const char *flow_state_name(__u8 state)
{
	switch (state) {
	case XS_FLOW_DATAGRAM:
		return "datagram";
	case XS_FLOW_SYN_SEEN:
		return "syn-seen";
	case XS_FLOW_ESTABLISHED:
		return "established";
	case XS_FLOW_MIDSTREAM:
		return "midstream";
	default:
		return "closed";
	}
}

static void print_backend_id(struct ctl *ctl, __u32 id)
{
	struct xs_backend backend;
	char address[64];

	if (!id || xs_backend_read(&ctl->dp, id, &backend)) {
		out_string("backend", "none");
		return;
	}
	xs_format_address(backend.family, backend.address, address,
			  sizeof(address));
	out_string("backend", address);
	out_u64("backend_id", id);
	out_string("backend_state", xs_state_name(backend.state));
}

/* VIP CLIENT [ PORT ]: the VIP (it must exist), and the key of the flow
 * a connection from CLIENT:PORT to it has (key and *port start zeroed). */
static int parse_explain_arguments(struct ctl *ctl, int argc, char **argv,
				   struct xs_vip_entry *vip,
				   struct xs_flow_key *key, __u32 *port)
{
	__u8 family;
	int rc;

	if (argc < 2 || argc > 3)
		return usage_error("explain",
				   "give a VIP and a client address");
	if (xs_parse_address(argv[1], &family, key->client))
		return usage_error("explain", "'%s' is not a client address",
				   argv[1]);
	if (argc == 3 && xs_parse_u32(argv[2], 0, 65535, port))
		return usage_error("explain", "'%s' is not a port", argv[2]);
	rc = need_vip(ctl, "explain", argv[0], vip);
	if (rc)
		return rc;
	if (family != vip->key.family)
		return usage_error(
			"explain",
			"client %s and VIP %s are of different IP versions",
			argv[1], argv[0]);
	memcpy(key->vip, vip->key.address, sizeof(key->vip));
	key->client_port = htons(*port);
	key->vip_port = vip->key.port;
	key->protocol = vip->key.protocol;
	key->family = family;
	return EXIT_OK;
}

static void print_existing_flow(struct ctl *ctl, const struct xs_flow *flow,
				__u8 meta)
{
	out_object_begin("existing_flow");
	out_string("pool", xs_pool_name(flow->pool));
	out_string("state", flow_state_name(flow->state));
	/* pending: seen once, not yet past its first packet */
	out_string("table",
		   meta & XS_FLOW_WAY_CONFIRMED ? "confirmed" : "pending");
	print_backend_id(ctl, flow->backend_id);
	out_object_end();
}

/* Where a new connection goes, and why: an override, or the weights (the
 * split point within the chosen pool's range of the route). */
static void print_new_flow(struct ctl *ctl,
			   const struct xs_prediction *prediction)
{
	__u32 low = 0, high;

	out_object_begin("new_flow");
	out_string("pool", xs_pool_name(prediction->pool));
	if (prediction->by_override) {
		out_string("chosen_by", "override");
	} else {
		for (__u8 p = 0; p < prediction->chosen_pool; p++)
			low += prediction->route.weight[p];
		high = low + prediction->route.weight[prediction->chosen_pool];
		out_string("chosen_by", "weights");
		out_u64("split_point", prediction->split_point);
		out_u64("range_low", low);
		out_u64("range_high", high);
	}
	if (prediction->fell_back) {
		out_string("fallback_from",
			   xs_pool_name(prediction->chosen_pool));
	}
	out_u64("maglev_slot", prediction->slot);
	print_backend_id(ctl, prediction->backend_id);
	out_object_end();
}

int cmd_explain(struct ctl *ctl, int argc, char **argv)
{
	struct xs_flow_key key = { 0 };
	struct xs_prediction prediction;
	struct xs_vip_entry vip;
	struct xs_flow flow;
	__u32 port = 0;
	int rc, has_flow;
	__u8 meta = 0;

	rc = parse_explain_arguments(ctl, argc, argv, &vip, &key, &port);
	if (rc)
		return rc;
	has_flow = !xs_flow_find(&ctl->dp, &key, &flow, &meta);
	if (xs_predict(&ctl->dp, &vip.vip, &key, &prediction))
		return runtime_error(
			"the route of %s is not valid; the program passes its packets (pass_invalid_route)",
			argv[0]);

	out_object_begin(NULL);
	out_string("vip", argv[0]);
	out_string("client", argv[1]);
	out_u64("client_port", port);
	out_string("split_key", xs_split_name(vip.vip.split_key));
	if (has_flow)
		print_existing_flow(ctl, &flow, meta);
	print_new_flow(ctl, &prediction);
	out_object_end();
	out_finish();
	if (!has_flow && vip.vip.split_key == XS_SPLIT_FLOW && argc < 3 &&
	    !out_is_json())
		printf("note: VIP %s splits by 5-tuple; give the client's PORT for its exact flow\n",
		       argv[0]);
	return EXIT_OK;
}
