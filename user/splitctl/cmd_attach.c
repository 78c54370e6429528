// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* attach, detach, status: the program on the NICs and the pinned maps. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <xdp/libxdp.h>
#include "maps/names.h"
#include "user/lib/attached.h"
#include "user/lib/flow_usage.h"
#include "user/lib/log.h"
#include "user/lib/loader.h"
#include "user/lib/lock.h"
#include "user/lib/parse.h"
#include "user/lib/pins.h"
#include "splitctl.h"

static int need_interface(const char *object, const char *name, int *ifindex)
{
	if (!name)
		return usage_error(object, "missing interface name");
	*ifindex = (int)if_nametoindex(name);
	if (!*ifindex)
		return runtime_error("no interface '%s' in this network namespace; see 'ip link'",
				     name);
	return EXIT_OK;
}

int cmd_attach(struct ctl *ctl, int argc, char **argv)
{
	struct xs_load_options options = { .pin_dir = ctl->pin_dir };
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct xs_loaded loaded;
	struct xs_attached current;
	char after[256], error[512];
	int ifindex, rc, i;

	if (argc >= 1 && !strcmp(argv[0], "help")) {
		printf("Usage: splitctl attach IFACE [ native | generic ] [ flows N ] [ vips N ]\n"
		       "                              [ backends N ] [ maglev PRIME ] [ seed N ]\n"
		       "Sizes and seed apply to the first attach; later ones reuse the pinned maps.\n");
		return EXIT_OK;
	}
	rc = need_interface("attach", argc ? argv[0] : NULL, &ifindex);
	if (rc)
		return rc;
	for (i = 1; i < argc; i++) {
		__u32 *target = NULL, max = 1U << 30;

		if (!strcmp(argv[i], "native"))
			mode = XDP_MODE_NATIVE;
		else if (!strcmp(argv[i], "generic"))
			mode = XDP_MODE_SKB;
		else if (is_keyword(argv[i], "flows"))
			target = &options.max_flows;
		else if (is_keyword(argv[i], "vips"))
			target = &options.max_vips, max = 65536;
		else if (is_keyword(argv[i], "backends"))
			target = &options.max_backends, max = 1U << 20;
		else if (is_keyword(argv[i], "maglev"))
			target = &options.maglev_size, max = 1U << 24;
		else if (is_keyword(argv[i], "seed"))
			target = &options.split_seed, max = ~0U;
		else
			return usage_error("attach", "unknown argument '%s'",
					   argv[i]);
		if (target) {
			if (i + 1 >= argc ||
			    xs_parse_u32(argv[i + 1], 1, max, target))
				return usage_error("attach", "'%s' needs a number from 1 to %u",
						   argv[i], max);
			i++;
		}
	}
	if (options.split_seed)
		options.backend_seed = options.split_seed ^ 0x9e3779b9U;

	xs_find_attached(ifindex, ctl->pin_dir, &current);
	if (current.prog) {
		rc = ctl_unchanged("xdp_split is attached to %s (program id %u, %s mode)",
				   argv[0], xdp_program__id(current.prog),
				   xs_attach_mode_name(current.mode));
		xdp_multiprog__close(current.mp);
		return rc;
	}
	if (current.mp)
		xdp_multiprog__close(current.mp);

	/* the loader makes the pin directory; lock it before loading. bpffs
	 * is mounted here if the machine has none yet. */
	rc = ctl_open_audit(ctl);
	if (rc)
		return rc;
	if (xs_pin_dir_prepare(ctl->pin_dir, true, error, sizeof(error)))
		return runtime_error("%s", error);
	ctl->lock_fd = xs_lock_pin_dir(ctl->pin_dir, 10000);
	if (ctl->lock_fd < 0)
		return runtime_error("Couldn't lock '%s'", ctl->pin_dir);
	if (xs_load_and_attach(&options, ifindex, mode, &loaded))
		return runtime_error("Couldn't attach xdp_split to '%s' in %s mode (see the message above)%s",
				     argv[0], xs_attach_mode_name(mode),
				     mode == XDP_MODE_NATIVE ?
					     "; if the driver lacks native XDP, try 'generic'" :
					     "");
	snprintf(after, sizeof(after),
		 "{\"interface\":\"%s\",\"mode\":\"%s\",\"program_id\":%u}",
		 argv[0], xs_attach_mode_name(mode), xdp_program__id(loaded.xdp_prog));
	ctl_done("attached xdp_split to %s (program id %u, %s mode), maps pinned in %s",
		 argv[0], xdp_program__id(loaded.xdp_prog), xs_attach_mode_name(mode),
		 ctl->pin_dir);
	xs_unload(&loaded);
	return ctl_audit(ctl, NULL, after);
}

int cmd_detach(struct ctl *ctl, int argc, char **argv)
{
	struct xs_attached current;
	char before[256];
	int ifindex, rc, err;

	if (argc >= 1 && !strcmp(argv[0], "help")) {
		printf("Usage: splitctl detach IFACE\n"
		       "The maps stay pinned: attaching again keeps every flow and setting.\n");
		return EXIT_OK;
	}
	rc = need_interface("detach", argc ? argv[0] : NULL, &ifindex);
	if (rc)
		return rc;
	if (argc > 1)
		return usage_error("detach", "unexpected '%s'", argv[1]);
	xs_find_attached(ifindex, ctl->pin_dir, &current);
	if (!current.prog) {
		if (current.mp)
			xdp_multiprog__close(current.mp);
		return runtime_error("xdp_split of '%s' is not attached to %s%s",
				     ctl->pin_dir, argv[0],
				     current.other ? " (another XDP program is; not touched)" : "");
	}
	rc = ctl_open_audit(ctl);
	if (rc) {
		xdp_multiprog__close(current.mp);
		return rc;
	}
	ctl->lock_fd = xs_lock_pin_dir(ctl->pin_dir, 10000);
	snprintf(before, sizeof(before),
		 "{\"interface\":\"%s\",\"mode\":\"%s\",\"program_id\":%u}",
		 argv[0], xs_attach_mode_name(current.mode),
		 xdp_program__id(current.prog));
	err = current.other ? xdp_program__detach(current.prog, ifindex,
						  current.mode, 0) :
			      xdp_multiprog__detach(current.mp);
	xdp_multiprog__close(current.mp);
	if (err)
		return runtime_error("Couldn't detach from %s: %s", argv[0],
				     strerror(-err));
	ctl_done("detached xdp_split from %s; maps stay pinned in %s", argv[0],
		 ctl->pin_dir);
	return ctl_audit(ctl, before, NULL);
}

static void print_fill(const char *name, __u64 used, __u64 max)
{
	out_object_begin(NULL);
	out_string("map", name);
	out_u64("entries", used);
	out_u64("max", max);
	out_object_end();
}

static void print_flow_tables(const struct xs_dataplane *dp)
{
	static const char *const maps[XS_FLOW_TABLE_COUNT] = {
		[XS_FLOW_TABLE_CONFIRMED] = XS_MAP_FLOWS,
		[XS_FLOW_TABLE_PENDING] = XS_MAP_PENDING_FLOWS,
	};
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];
	int err = xs_flow_usage_read(dp, NULL, usage);

	if (err) {
		pr_warn("Couldn't count the flow table entries: %s\n",
			strerror(-err));
		return;
	}
	for (int i = 0; i < XS_FLOW_TABLE_COUNT; i++) {
		out_object_begin(NULL);
		out_string("map", maps[i]);
		out_u64("entries", usage[i].entries);
		out_u64("max", usage[i].capacity);
		out_u64("evicted", usage[i].evicted);
		out_object_end();
	}
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct if_nameindex *interfaces, *i;
	struct xs_config *c;
	size_t vips, backends, overrides;
	int rc;

	(void)argv;
	if (argc)
		return usage_error(NULL, "status takes no arguments");
	rc = ctl_open(ctl);
	if (rc)
		return rc;
	c = &ctl->dp.config;
	out_object_begin(NULL);
	out_string("pin_dir", ctl->pin_dir);
	out_u64("maglev_size", c->maglev_size);
	out_u64("split_seed", c->split_seed);
	out_array_begin("interfaces");
	interfaces = if_nameindex();
	for (i = interfaces; i && i->if_index; i++) {
		struct xs_attached a;

		xs_find_attached(i->if_index, ctl->pin_dir, &a);
		if (a.prog) {
			out_object_begin(NULL);
			out_string("interface", i->if_name);
			out_string("mode", xs_attach_mode_name(a.mode));
			out_u64("program_id", xdp_program__id(a.prog));
			out_bool("dispatcher", !xdp_multiprog__is_legacy(a.mp));
			out_object_end();
		}
		if (a.mp)
			xdp_multiprog__close(a.mp);
	}
	if (interfaces)
		if_freenameindex(interfaces);
	out_array_end();
	free(xs_vip_all(&ctl->dp, &vips));
	free(xs_backend_all(&ctl->dp, ~0U, &backends));
	free(xs_override_all(&ctl->dp, ~0U, &overrides));
	out_array_begin("maps");
	print_fill("vips", vips, c->max_vips);
	print_fill("backends", backends, c->max_backends - 1);
	print_fill("overrides", overrides, c->max_overrides);
	print_flow_tables(&ctl->dp);
	out_array_end();
	out_object_end();
	out_finish();
	return EXIT_OK;
}
