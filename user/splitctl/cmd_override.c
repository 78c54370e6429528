// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* override add | del | list: send a client prefix to one pool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/parse.h"
#include "splitctl.h"

static int prefix_of_vip(const char *text, const struct xs_vip_entry *vip,
			 __be32 *client, __u32 *length)
{
	__u8 family;

	if (xs_parse_prefix(text, &family, client, length))
		return usage_error(
			"override",
			"'%s' is not a prefix (ADDRESS[/LENGTH], host bits zero)",
			text);
	if (family != vip->key.family)
		return usage_error(
			"override",
			"prefix %s and the VIP are of different IP versions",
			text);
	return EXIT_OK;
}

/* The pool an existing override of exactly this prefix sends to, or -1. */
static int existing_override(struct ctl *ctl, __u32 vip_id,
			     const __be32 *client, __u32 length)
{
	size_t count;
	struct xs_override_entry *all =
		xs_override_all(&ctl->dp, vip_id, &count);
	int pool = -1;

	for (size_t i = 0; all && i < count; i++)
		if (all[i].prefix_length == length &&
		    !memcmp(all[i].client, client, 16))
			pool = all[i].pool;
	free(all);
	return pool;
}

static char *describe_override(const char *prefix, const char *pool)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_string("override", prefix);
	out_string("pool", pool);
	out_object_end();
	return out_capture_end();
}

static int override_add(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry vip;
	__be32 client[4];
	__u32 length;
	__u8 pool;
	char *after;
	int rc, err;

	if (argc != 3)
		return usage_error("override",
				   "give a VIP, a client prefix and a pool");
	if (xs_parse_pool(argv[2], &pool))
		return usage_error("override",
				   "unknown pool '%s'; pools are %s", argv[2],
				   choices_text("POOL"));
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = need_vip(ctl, "override", argv[0], &vip);
	if (!rc)
		rc = prefix_of_vip(argv[1], &vip, client, &length);
	if (rc)
		return rc;
	if (existing_override(ctl, vip.vip.vip_id, client, length) == pool)
		return ctl_unchanged("%s of %s goes to %s", argv[1], argv[0],
				     argv[2]);
	err = xs_override_write(&ctl->dp, vip.vip.vip_id, vip.key.family,
				client, length, pool);
	if (!err && !(vip.vip.flags & XS_VIP_HAS_OVERRIDES))
		err = xs_vip_set_flags(&ctl->dp, &vip.key,
				       vip.vip.flags | XS_VIP_HAS_OVERRIDES);
	if (err == -ENOSPC || err == -E2BIG)
		return runtime_error("the override table is full (%u entries)",
				     ctl->dp.config.max_overrides);
	if (err)
		return runtime_error("Couldn't add override %s: %s", argv[1],
				     strerror(-err));
	ctl_done("new flows of clients in %s to %s go to %s", argv[1], argv[0],
		 argv[2]);
	after = describe_override(argv[1], argv[2]);
	rc = ctl_audit(ctl, NULL, after);
	free(after);
	return rc;
}

static int override_del(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry vip;
	__be32 client[4];
	__u32 length;
	size_t count;
	char *before;
	int rc, found = -1;

	if (argc != 2)
		return usage_error("override",
				   "give a VIP and a client prefix");
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = need_vip(ctl, "override", argv[0], &vip);
	if (!rc)
		rc = prefix_of_vip(argv[1], &vip, client, &length);
	if (rc)
		return rc;
	found = existing_override(ctl, vip.vip.vip_id, client, length);
	if (found < 0)
		return runtime_error("%s has no override for %s", argv[0],
				     argv[1]);
	before = describe_override(argv[1], xs_pool_name(found));
	if (xs_override_remove(&ctl->dp, vip.vip.vip_id, client, length)) {
		free(before);
		return runtime_error("Couldn't remove override %s", argv[1]);
	}
	/* the last one gone: new flows skip the trie again */
	free(xs_override_all(&ctl->dp, vip.vip.vip_id, &count));
	if (!count)
		xs_vip_set_flags(&ctl->dp, &vip.key,
				 vip.vip.flags & ~XS_VIP_HAS_OVERRIDES);
	ctl_done("removed override %s of %s", argv[1], argv[0]);
	rc = ctl_audit(ctl, before, NULL);
	free(before);
	return rc;
}

static int override_list(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry *vips;
	size_t vip_count;
	int rc;

	(void)argv;
	if (argc)
		return usage_error("override", "list takes no arguments");
	rc = ctl_open(ctl);
	if (rc)
		return rc;
	vips = xs_vip_all(&ctl->dp, &vip_count);
	out_array_begin(NULL);
	for (size_t v = 0; vips && v < vip_count; v++) {
		size_t count;
		struct xs_override_entry *all =
			xs_override_all(&ctl->dp, vips[v].vip.vip_id, &count);
		char vip_text[80];

		xs_format_vip(&vips[v].key, vip_text, sizeof(vip_text));
		for (size_t i = 0; all && i < count; i++) {
			char address[64], prefix[80];

			xs_format_address(vips[v].key.family, all[i].client,
					  address, sizeof(address));
			snprintf(prefix, sizeof(prefix), "%s/%u", address,
				 all[i].prefix_length);
			out_object_begin(NULL);
			out_string("vip", vip_text);
			out_string("override", prefix);
			out_string("pool", xs_pool_name(all[i].pool));
			out_object_end();
		}
		free(all);
	}
	out_array_end();
	out_finish();
	free(vips);
	return EXIT_OK;
}

const struct command override_commands[] = {
	{ "add", override_add,
	  .usage = FORMS("add VIP PREFIX { blue | green | canary }"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL("PREFIX", VALUE_TEXT),
				 POSITIONAL_CHOICE("POOL", pool_words)) },
	{ "del", override_del, .usage = FORMS("del VIP PREFIX"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL("PREFIX", VALUE_TEXT)) },
	{ "list", override_list, .usage = FORMS("list") },
	{ NULL },
};
