// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* attach, detach, status: the program on the NICs and the pinned maps. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/if_link.h>
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

#define LOCK_TIMEOUT_MS 10000

static int need_interface(const char *object, const char *name, int *ifindex)
{
	if (!name)
		return usage_error(object, "missing interface name");
	*ifindex = (int)if_nametoindex(name);
	if (!*ifindex)
		return runtime_error(
			"no interface '%s' in this network namespace; see 'ip link'",
			name);
	return EXIT_OK;
}

/* The audit log's record of an attachment: the name escaped, since an
 * interface name may hold quotes, control bytes and any byte >= 0x80. */
static void attachment_json(char *out, size_t size, const char *name,
			    enum xdp_attach_mode mode, unsigned int program_id)
{
	char *escaped = json_escape_dup(name);

	snprintf(out, size,
		 "{\"interface\":\"%s\",\"mode\":\"%s\",\"program_id\":%u}",
		 escaped ? escaped : "?", xs_attach_mode_name(mode),
		 program_id);
	free(escaped);
}

/* The pin directory locked for the change (ctl->lock_fd), or the error
 * said. */
static int lock_pin_dir(struct ctl *ctl)
{
	ctl->lock_fd = xs_lock_pin_dir(ctl->pin_dir, LOCK_TIMEOUT_MS);
	if (ctl->lock_fd < 0)
		return runtime_error("Couldn't lock '%s'", ctl->pin_dir);
	return EXIT_OK;
}

/* object FILE, argv[*at] being 'object' (attach's and upgrade's): the
 * build of xdp_split to load instead of this one's. */
static int take_object(const char *object, int argc, char **argv, int *at,
		       struct xs_load_options *options)
{
	if (*at + 1 >= argc)
		return usage_error(
			object, "'object' needs a file (a build of xdp_split)");
	options->object_path = argv[++*at];
	return EXIT_OK;
}

/* Where attach's number keyword word goes, with its largest value in *max;
 * NULL if word is none of them. */
static __u32 *number_option(const char *word, struct xs_load_options *options,
			    __u32 *max)
{
	*max = 1U << 30;
	if (is_keyword(word, "flows"))
		return &options->max_flows;
	if (is_keyword(word, "vips")) {
		*max = 65536;
		return &options->max_vips;
	}
	if (is_keyword(word, "backends")) {
		*max = 1U << 20;
		return &options->max_backends;
	}
	if (is_keyword(word, "maglev")) {
		*max = 1U << 24;
		return &options->maglev_size;
	}
	if (is_keyword(word, "seed")) {
		*max = ~0U;
		return &options->split_seed;
	}
	return NULL;
}

/* attach's words after IFACE: the mode, the map sizes, the seed and the
 * object, in any order. */
static int parse_attach_arguments(int argc, char **argv,
				  struct xs_load_options *options,
				  enum xdp_attach_mode *mode)
{
	for (int i = 1; i < argc; i++) {
		__u32 *target, max;
		int rc;

		if (is_keyword(argv[i], "native")) {
			*mode = XDP_MODE_NATIVE;
		} else if (is_keyword(argv[i], "generic")) {
			*mode = XDP_MODE_SKB;
		} else if ((target = number_option(argv[i], options, &max))) {
			if (i + 1 >= argc ||
			    xs_parse_u32(argv[i + 1], 1, max, target))
				return usage_error(
					"attach",
					"'%s' needs a number from 1 to %u",
					argv[i], max);
			i++;
		} else if (is_keyword(argv[i], "object")) {
			rc = take_object("attach", argc, argv, &i, options);
			if (rc)
				return rc;
		} else {
			return usage_error("attach", "unknown argument '%s'",
					   argv[i]);
		}
	}
	if (options->split_seed)
		options->backend_seed = options->split_seed ^ 0x9e3779b9U;
	return EXIT_OK;
}

/* Is this xdp_split attached to the interface already? Then attach leaves
 * it, and says so (*rc). */
static bool attached_already(struct ctl *ctl, int ifindex, const char *name,
			     int *rc)
{
	struct xs_attached current;

	xs_find_attached(ifindex, ctl->pin_dir, &current);
	if (!current.prog) {
		xs_attached_close(&current);
		return false;
	}
	*rc = ctl_unchanged(
		"xdp_split is attached to %s (program id %u, %s mode); to load this build over it, 'splitctl upgrade %s'",
		name, xdp_program__id(current.prog),
		xs_attach_mode_name(current.mode), name);
	xs_attached_close(&current);
	return true;
}

static int attach_failed(struct ctl *ctl, const char *name,
			 enum xdp_attach_mode mode, int rc)
{
	if (rc == XS_ERR_LAYOUT)
		return runtime_error(
			"Couldn't attach xdp_split to '%s': the pinned maps are of another layout (see above); attach the build that made them, or detach it everywhere and remove '%s' to start afresh (every flow is lost)",
			name, ctl->pin_dir);
	return runtime_error(
		"Couldn't attach xdp_split to '%s' in %s mode (see the message above)%s",
		name, xs_attach_mode_name(mode),
		mode == XDP_MODE_NATIVE ?
			"; if the driver lacks native XDP, try 'generic'" :
			"");
}

int cmd_attach(struct ctl *ctl, int argc, char **argv)
{
	struct xs_load_options options = { .pin_dir = ctl->pin_dir };
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct xs_loaded loaded;
	char after[256], error[512];
	int ifindex, rc;

	rc = need_interface("attach", argc ? argv[0] : NULL, &ifindex);
	if (!rc)
		rc = parse_attach_arguments(argc, argv, &options, &mode);
	if (rc)
		return rc;
	if (attached_already(ctl, ifindex, argv[0], &rc))
		return rc;
	/* the loader makes the pin directory; lock it before loading. bpffs
	 * is mounted here if the machine has none yet. */
	rc = ctl_open_audit(ctl);
	if (rc)
		return rc;
	if (xs_pin_dir_prepare(ctl->pin_dir, true, error, sizeof(error)))
		return runtime_error("%s", error);
	rc = lock_pin_dir(ctl);
	if (rc)
		return rc;
	rc = xs_load_and_attach(&options, ifindex, mode, &loaded);
	if (rc)
		return attach_failed(ctl, argv[0], mode, rc);
	attachment_json(after, sizeof(after), argv[0], mode,
			xdp_program__id(loaded.xdp_prog));
	ctl_done(
		"attached xdp_split to %s (program id %u, %s mode), maps pinned in %s",
		argv[0], xdp_program__id(loaded.xdp_prog),
		xs_attach_mode_name(mode), ctl->pin_dir);
	xs_unload(&loaded);
	return ctl_audit(ctl, NULL, after);
}

/* The program id now attached to ifindex in mode (0: none), as the kernel
 * says: what an error message may promise the operator. */
static __u32 attached_id(int ifindex, enum xdp_attach_mode mode)
{
	__u32 id = 0;

	bpf_xdp_query_id(ifindex,
			 mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE :
						XDP_FLAGS_DRV_MODE,
			 &id);
	return id;
}

/* upgrade's words after IFACE: only object FILE. */
static int parse_upgrade_arguments(int argc, char **argv,
				   struct xs_load_options *options)
{
	for (int i = 1; i < argc; i++) {
		int rc;

		if (!is_keyword(argv[i], "object"))
			return usage_error("upgrade", "unknown argument '%s'",
					   argv[i]);
		rc = take_object("upgrade", argc, argv, &i, options);
		if (rc)
			return rc;
	}
	return EXIT_OK;
}

/* After a failed replace: whether the old program (old_id) still runs,
 * for the error message. */
static void state_after_failure(int ifindex, enum xdp_attach_mode mode,
				__u32 old_id, char *state, size_t size)
{
	if (attached_id(ifindex, mode) == old_id)
		snprintf(
			state, size,
			"nothing was detached: the running program (id %u, %s mode) still forwards",
			old_id, xs_attach_mode_name(mode));
	else
		snprintf(
			state, size,
			"program id %u is not attached any more; see 'splitctl status'",
			old_id);
}

static void print_upgrade_json(const char *name,
			       const struct xs_attached *current, __u32 old_id,
			       __u32 new_id)
{
	out_object_begin(NULL);
	out_string("interface", name);
	out_string("mode", xs_attach_mode_name(current->mode));
	out_u64("old_program_id", old_id);
	out_u64("program_id", new_id);
	out_bool("dispatcher", !xdp_multiprog__is_legacy(current->mp));
	out_string("maps", "kept");
	out_object_end();
	out_finish();
}

int cmd_upgrade(struct ctl *ctl, int argc, char **argv)
{
	struct xs_load_options options = { .pin_dir = ctl->pin_dir };
	struct xs_attached current;
	struct xs_loaded loaded;
	char before[256], after[256], state[160];
	__u32 old_id, new_id;
	int ifindex, rc;

	rc = need_interface("upgrade", argc ? argv[0] : NULL, &ifindex);
	if (!rc)
		rc = parse_upgrade_arguments(argc, argv, &options);
	/* locked before looking: two upgrades at once would race for the
	 * same old program */
	if (!rc)
		rc = lock_pin_dir(ctl);
	if (rc)
		return rc;
	xs_find_attached(ifindex, ctl->pin_dir, &current);
	if (!current.prog) {
		rc = current.other;
		xs_attached_close(&current);
		return runtime_error(
			"xdp_split of '%s' is not attached to %s%s; use 'splitctl attach %s'",
			ctl->pin_dir, argv[0],
			rc ? " (another XDP program is; not touched)" : "",
			argv[0]);
	}
	old_id = xdp_program__id(current.prog);
	attachment_json(before, sizeof(before), argv[0], current.mode, old_id);
	rc = xs_replace(&options, ifindex, &current, &loaded);
	if (rc) {
		state_after_failure(ifindex, current.mode, old_id, state,
				    sizeof(state));
		xs_attached_close(&current);
		return runtime_error(
			"Couldn't upgrade xdp_split on %s%s; %s", argv[0],
			rc == XS_ERR_LAYOUT ?
				": the new build's maps differ from the pinned ones (see above), so its flow tables could not be kept" :
				" (see the message above)",
			state);
	}
	new_id = loaded.xdp_prog ? xdp_program__id(loaded.xdp_prog) :
				   attached_id(ifindex, current.mode);
	attachment_json(after, sizeof(after), argv[0], current.mode, new_id);
	if (out_is_json())
		print_upgrade_json(argv[0], &current, old_id, new_id);
	ctl_done(
		"upgraded xdp_split on %s: program id %u replaced by %u (%s mode, in one swap); flow tables and settings kept in %s",
		argv[0], old_id, new_id, xs_attach_mode_name(current.mode),
		ctl->pin_dir);
	xs_unload(&loaded);
	xs_attached_close(&current);
	return ctl_audit(ctl, before, after);
}

int cmd_detach(struct ctl *ctl, int argc, char **argv)
{
	struct xs_attached current;
	char before[256];
	int ifindex, rc, err;

	rc = need_interface("detach", argc ? argv[0] : NULL, &ifindex);
	if (rc)
		return rc;
	if (argc > 1)
		return usage_error("detach", "unexpected '%s'", argv[1]);
	xs_find_attached(ifindex, ctl->pin_dir, &current);
	if (!current.prog) {
		if (current.mp)
			xdp_multiprog__close(current.mp);
		return runtime_error(
			"xdp_split of '%s' is not attached to %s%s",
			ctl->pin_dir, argv[0],
			current.other ?
				" (another XDP program is; not touched)" :
				"");
	}
	rc = ctl_open_audit(ctl);
	if (rc) {
		xdp_multiprog__close(current.mp);
		return rc;
	}
	ctl->lock_fd = xs_lock_pin_dir(ctl->pin_dir, LOCK_TIMEOUT_MS);
	attachment_json(before, sizeof(before), argv[0], current.mode,
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
	struct xs_flow_table_usage usage[XS_FLOW_TABLE_COUNT];
	int err = xs_flow_usage_read(dp, usage);

	if (err) {
		pr_warn("Couldn't count the flow table entries: %s\n",
			strerror(-err));
		return;
	}
	for (int i = 0; i < XS_FLOW_TABLE_COUNT; i++) {
		out_object_begin(NULL);
		/* one map, two kinds of entry sharing its ways */
		out_string("map", XS_MAP_FLOWS);
		out_string("kind", xs_flow_table_names[i]);
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
		return usage_error("status", "status takes no arguments");
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
