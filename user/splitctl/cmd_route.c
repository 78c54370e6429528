// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weights and switch: each one atomic write of the VIP's route entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/parse.h"
#include "splitctl.h"

static char *describe_route(const struct xs_route *route)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_basis_points("blue", route->weight[XS_POOL_BLUE]);
	out_basis_points("green", route->weight[XS_POOL_GREEN]);
	out_basis_points("canary", route->weight[XS_POOL_CANARY]);
	out_string("live", xs_pool_name(route->live_pool));
	out_object_end();
	return out_capture_end();
}

/* Writes the route, audits before/after, and says what changed. Only
 * while the id holds the VIP looked up (its tag): the lock keeps splitctl
 * from re-creating it meanwhile, not a splitd applying its file. */
static int write_route(struct ctl *ctl, const char *vip_text,
		       const struct xs_vip_entry *vip,
		       const struct xs_route *route, const char *extra)
{
	char *before, *after;
	int rc, err;

	err = xs_route_write_tagged(&ctl->dp, vip->vip.route_id, vip->route_tag,
				    route);
	if (err)
		return runtime_error("Couldn't write the route of %s: %s",
				     vip_text, strerror(-err));
	before = describe_route(&vip->route);
	after = describe_route(route);
	ctl_done(
		"%s: blue %u.%02u%%, green %u.%02u%%, canary %u.%02u%%, live %s%s",
		vip_text, route->weight[0] / 100, route->weight[0] % 100,
		route->weight[1] / 100, route->weight[1] % 100,
		route->weight[2] / 100, route->weight[2] % 100,
		xs_pool_name(route->live_pool), extra);
	rc = ctl_audit(ctl, before, after);
	free(before);
	free(after);
	return rc;
}

int parse_weights(const char *object, char **argv, struct xs_route *route)
{
	int seen[XS_POOL_COUNT] = { 0 };
	__u32 sum;

	memset(route, 0, sizeof(*route));
	for (int i = 0; i < 6; i += 2) {
		__u8 pool;

		if (xs_parse_pool(argv[i], &pool) || seen[pool]++)
			return usage_error(
				object,
				"expected each of blue, green and canary once, not '%s'",
				argv[i]);
		if (xs_parse_percent(argv[i + 1], &route->weight[pool]))
			return usage_error(
				object,
				"'%s' is not a percentage from 0 to 100 with at most two decimals",
				argv[i + 1]);
	}
	sum = (__u32)route->weight[0] + route->weight[1] + route->weight[2];
	if (sum != XS_WEIGHT_TOTAL)
		return usage_error(object,
				   "weights add up to %u.%02u%%, not 100%%",
				   sum / 100, sum % 100);
	return EXIT_OK;
}

__u8 live_pool_after(const struct xs_route *route, __u8 live)
{
	/* the live pool is where flows go when their pool is empty; it
	 * follows the share when one color is emptied in favour of the other */
	__u8 other = live == XS_POOL_BLUE ? XS_POOL_GREEN : XS_POOL_BLUE;

	return route->weight[live] == 0 && route->weight[other] ? other : live;
}

int cmd_weights(struct ctl *ctl, int argc, char **argv)
{
	struct xs_route route = { 0 };
	struct xs_vip_entry vip;
	bool force = false, paused;
	int rc;

	if (argc == 8 && is_keyword(argv[7], "--force")) {
		force = true;
		argc--;
	}
	if (argc != 7)
		return usage_error(
			"weights",
			"give a VIP and the weights of all three pools");
	rc = parse_weights("weights", argv + 1, &route);
	if (rc)
		return rc;
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = need_vip(ctl, "weights", argv[0], &vip);
	if (!rc)
		rc = may_write_route(ctl, "weights", &vip, force, &paused);
	/* a rollout paused by --force may have stepped on before it stopped:
	 * the route is computed from what it left */
	if (!rc && paused)
		rc = need_vip(ctl, "weights", argv[0], &vip);
	if (rc)
		return rc;
	route.live_pool = live_pool_after(&route, vip.route.live_pool);
	if (!memcmp(&route, &vip.route, sizeof(route)))
		return ctl_unchanged("%s already has these weights", argv[0]);
	return write_route(ctl, argv[0], &vip, &route,
			   paused ? "; its rollout was paused first (--force)" :
				    "");
}

int cmd_switch(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry vip;
	struct xs_route route;
	__u8 color, old_color;
	int flush = 0, rc;
	bool force = false, paused = false;

	if (argc < 2 || argc > 4)
		return usage_error("switch",
				   "give a VIP and the color to switch to");
	if (xs_parse_pool(argv[1], &color) || color == XS_POOL_CANARY)
		return usage_error("switch", "switch to %s, not '%s'",
				   choices_text("COLOR"), argv[1]);
	for (int i = 2; i < argc; i++) {
		if (is_keyword(argv[i], "--flush"))
			flush = 1;
		else if (is_keyword(argv[i], "--force"))
			force = true;
		else
			return usage_error("switch", "unexpected '%s'",
					   argv[i]);
	}
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = need_vip(ctl, "switch", argv[0], &vip);
	if (!rc)
		rc = may_write_route(ctl, "switch", &vip, force, &paused);
	if (!rc && paused)
		rc = need_vip(ctl, "switch", argv[0], &vip);
	if (rc)
		return rc;
	old_color = color == XS_POOL_BLUE ? XS_POOL_GREEN : XS_POOL_BLUE;
	route = vip.route;
	route.weight[color] += route.weight[old_color];
	route.weight[old_color] = 0;
	route.live_pool = color;
	if (!memcmp(&route, &vip.route, sizeof(route)) && !flush)
		return ctl_unchanged("%s is on %s", argv[0], argv[1]);
	if (memcmp(&route, &vip.route, sizeof(route))) {
		rc = write_route(
			ctl, argv[0], &vip, &route,
			paused ? "; its rollout was paused first (--force)" :
			flush  ? "; flushing the old color's flows" :
				 "");
		if (rc)
			return rc;
	}
	/* after the switch, so re-chosen flows land on the new color */
	if (flush) {
		int err =
			xs_service_flush(&ctl->dp, vip.vip.route_id, old_color);

		if (err)
			return runtime_error(
				"switched, but couldn't flush %s's flows: %s",
				xs_pool_name(old_color), strerror(-err));
		ctl_done(
			"flushed %s: its established flows move on their next packet",
			xs_pool_name(old_color));
		char flushed[64];

		snprintf(flushed, sizeof(flushed), "{\"flushed\":\"%s\"}",
			 xs_pool_name(old_color));
		rc = ctl_audit(ctl, NULL, flushed);
	}
	return rc;
}
