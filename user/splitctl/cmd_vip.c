// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* vip add | del | list | show */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/parse.h"
#include "splitctl.h"

/* What vip add is asked for. */
struct vip_args {
	struct xs_vip_key key;
	__u8 mode, split;
	struct xs_vip_key share;
	const char *share_text; /* share VIP as given; NULL: a route of its own */
};

static int parse_vip_add_arguments(int argc, char **argv, struct vip_args *a)
{
	a->mode = XS_MODE_L2DSR;
	a->split = XS_SPLIT_FLOW;
	a->share_text = NULL;
	if (argc < 1)
		return usage_error("vip", "missing VIP (ADDRESS:PORT/PROTO)");
	if (xs_parse_vip(argv[0], &a->key))
		return usage_error(
			"vip",
			"'%s' is not a VIP; write ADDRESS:PORT/tcp, ADDRESS:PORT/udp or [IPV6]:PORT/PROTO",
			argv[0]);
	for (int i = 1; i < argc; i += 2) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (is_keyword(argv[i], "mode") &&
		    (value_is("mode", value, "l2dsr") ||
		     value_is("mode", value, "ipip")))
			a->mode = value_is("mode", value, "ipip") ?
					  XS_MODE_IPIP :
					  XS_MODE_L2DSR;
		else if (is_keyword(argv[i], "split") &&
			 (value_is("split", value, "flow") ||
			  value_is("split", value, "client")))
			a->split = value_is("split", value, "client") ?
					   XS_SPLIT_CLIENT :
					   XS_SPLIT_FLOW;
		else if (is_keyword(argv[i], "share") && value &&
			 !xs_parse_vip(value, &a->share) && !a->share_text)
			a->share_text = value;
		else
			return usage_error("vip", "unexpected '%s%s%s'",
					   argv[i], value ? " " : "",
					   value ? value : "");
	}
	return EXIT_OK;
}

/* share VIP: the first VIP of the service whose route the new one is to
 * share, into service. */
static int find_shared_service(struct ctl *ctl, const struct vip_args *a,
			       struct xs_vip_entry *service)
{
	if (xs_vip_lookup(&ctl->dp, &a->share, service))
		return runtime_error("no VIP %s to share the route of",
				     a->share_text);
	if (service->vip.route_id != service->vip.vip_id)
		return runtime_error(
			"VIP %s shares another's route itself: name the first VIP of its service",
			a->share_text);
	return EXIT_OK;
}

/* vip add of a VIP that exists (entry): unchanged if it has the mode,
 * split and route asked for, else refused. service: as for create_vip. */
static int add_again(const struct xs_vip_entry *entry, const struct vip_args *a,
		     const struct xs_vip_entry *service, const char *text)
{
	__u32 route_id = a->share_text ? service->vip.vip_id :
					 entry->vip.vip_id;

	if (entry->vip.forward_mode == a->mode &&
	    entry->vip.split_key == a->split && entry->vip.route_id == route_id)
		return ctl_unchanged("VIP %s exists with mode %s, split %s",
				     text, xs_mode_name(a->mode),
				     xs_split_name(a->split));
	return runtime_error(
		"VIP %s exists with mode %s, split %s%s; delete it first to change them",
		text, xs_mode_name(entry->vip.forward_mode),
		xs_split_name(entry->vip.split_key),
		entry->vip.route_id == entry->vip.vip_id ?
			", a route of its own" :
			", in another service");
}

/* Writes the new VIP and records it. service: the service it joins (read
 * only with share VIP). */
static int create_vip(struct ctl *ctl, const struct vip_args *a,
		      const struct xs_vip_entry *service, const char *text)
{
	struct xs_vip_entry entry;
	char *after;
	__u32 vip_id;
	int rc, err;

	err = xs_vip_create(&ctl->dp, &a->key, a->mode, a->split,
			    a->share_text ? &a->share : NULL, &vip_id);
	if (err == -ENOSPC)
		return runtime_error(
			"no room for VIP %s: all %u VIP slots are in use", text,
			ctl->dp.config.max_vips);
	if (err)
		return runtime_error("Couldn't add VIP %s: %s", text,
				     strerror(-err));
	xs_vip_lookup(&ctl->dp, &a->key, &entry);
	after = describe_vip(&entry);
	if (a->share_text)
		ctl_done(
			"added VIP %s (id %u, mode %s, split %s) to the service of VIP id %u: one route for both",
			text, vip_id, xs_mode_name(a->mode),
			xs_split_name(a->split), service->vip.vip_id);
	else
		ctl_done("added VIP %s (id %u, mode %s, split %s, 100%% blue)",
			 text, vip_id, xs_mode_name(a->mode),
			 xs_split_name(a->split));
	rc = ctl_audit(ctl, NULL, after);
	free(after);
	return rc;
}

static int vip_add(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry entry, service;
	struct vip_args a;
	int rc;

	rc = parse_vip_add_arguments(argc, argv, &a);
	if (!rc)
		rc = ctl_begin_change(ctl);
	if (!rc && a.share_text)
		rc = find_shared_service(ctl, &a, &service);
	if (rc)
		return rc;
	if (!xs_vip_lookup(&ctl->dp, &a.key, &entry))
		return add_again(&entry, &a, &service, argv[0]);
	return create_vip(ctl, &a, &service, argv[0]);
}

static int vip_del(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry entry;
	char *before;
	int rc, err;

	if (argc != 1)
		return usage_error("vip",
				   argc ? "unexpected '%s'" : "missing VIP%s",
				   argc ? argv[1] : "");
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = need_vip(ctl, "vip", argv[0], &entry);
	if (rc)
		return rc;
	before = describe_vip(&entry);
	err = xs_vip_remove(&ctl->dp, &entry.key);
	if (err == -EBUSY) {
		free(before);
		return runtime_error(
			"VIP %s is the first of a service: delete the VIPs that share its route first",
			argv[0]);
	}
	if (err) {
		free(before);
		return runtime_error("Couldn't delete VIP %s: %s", argv[0],
				     strerror(-err));
	}
	ctl_done("deleted VIP %s with its backends and overrides", argv[0]);
	rc = ctl_audit(ctl, before, NULL);
	free(before);
	return rc;
}

static int vip_list(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry *all;
	size_t count;
	int rc;

	(void)argv;
	if (argc)
		return usage_error("vip", "list takes no arguments");
	rc = ctl_open(ctl);
	if (rc)
		return rc;
	all = xs_vip_all(&ctl->dp, &count);
	out_array_begin(NULL);
	for (size_t i = 0; all && i < count; i++) {
		out_object_begin(NULL);
		print_vip(&all[i]);
		out_object_end();
	}
	out_array_end();
	out_finish();
	free(all);
	return EXIT_OK;
}

static int vip_show(struct ctl *ctl, int argc, char **argv)
{
	struct xs_backend_entry *backends;
	struct xs_override_entry *overrides;
	struct xs_vip_entry entry;
	size_t count;
	int rc;

	if (argc != 1)
		return usage_error("vip", "show takes one VIP");
	rc = need_vip(ctl, "vip", argv[0], &entry);
	if (rc)
		return rc;
	out_object_begin(NULL);
	print_vip(&entry);
	out_array_begin("backends");
	backends = xs_backend_all(&ctl->dp, entry.vip.vip_id, &count);
	for (size_t i = 0; backends && i < count; i++) {
		out_object_begin(NULL);
		print_backend(&backends[i]);
		out_object_end();
	}
	free(backends);
	out_array_end();
	out_array_begin("overrides");
	overrides = xs_override_all(&ctl->dp, entry.vip.vip_id, &count);
	for (size_t i = 0; overrides && i < count; i++) {
		char prefix[64], text[80];

		xs_format_address(entry.key.family, overrides[i].client, prefix,
				  sizeof(prefix));
		snprintf(text, sizeof(text), "%s/%u", prefix,
			 overrides[i].prefix_length);
		out_object_begin(NULL);
		out_string("override", text);
		out_string("pool", xs_pool_name(overrides[i].pool));
		out_object_end();
	}
	free(overrides);
	out_array_end();
	out_object_end();
	out_finish();
	return EXIT_OK;
}

const struct command vip_commands[] = {
	{ "add", vip_add,
	  .usage = FORMS(
		  "add VIP [ mode { l2dsr | ipip } ] [ split { flow | client } ] [ share VIP ]"),
	  .arguments = ARGUMENTS(
		  POSITIONAL("VIP", VALUE_TEXT),
		  KEYWORD_CHOICE("mode", "MODE", WORDS("l2dsr", "ipip")),
		  KEYWORD_CHOICE("split", "KEY", WORDS("flow", "client")),
		  KEYWORD("share", "VIP", VALUE_VIP)) },
	{ "del", vip_del, .usage = FORMS("del VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP)) },
	{ "list", vip_list, .usage = FORMS("list") },
	{ "show", vip_show, .usage = FORMS("show VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP)) },
	{ NULL },
};
