// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* backend add | del | set | list */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "user/lib/netlink.h"
#include "user/lib/parse.h"
#include "splitctl.h"

#define RESOLVE_TIMEOUT_MS 3000

struct backend_args {
	__u32 weight;
	__u8 state;
	__u8 mac[6];
	int has_weight, has_state, has_mac;
	int ifindex; /* from 'dev' */
	const char *dev;
};

static int parse_state(const char *text, __u8 *state)
{
	if (value_is("state", text, "up"))
		*state = XS_BACKEND_UP;
	else if (value_is("state", text, "draining"))
		*state = XS_BACKEND_DRAINING;
	else if (value_is("state", text, "down"))
		*state = XS_BACKEND_DOWN;
	else
		return -1;
	return 0;
}

/* weight W, state S, mac M, dev D in any order, each at most once */
static int parse_backend_args(int argc, char **argv, int allow_dev,
			      struct backend_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i += 2) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!value)
			return usage_error("backend", "'%s' needs a value",
					   argv[i]);
		if (is_keyword(argv[i], "weight") && !a->has_weight) {
			if (xs_parse_u32(value, 1, 65535, &a->weight))
				return usage_error(
					"backend",
					"weight must be 1 to 65535, not '%s'",
					value);
			a->has_weight = 1;
		} else if (is_keyword(argv[i], "state") && !a->has_state) {
			if (parse_state(value, &a->state))
				return usage_error("backend",
						   "state must be %s, not '%s'",
						   choices_text("state"),
						   value);
			a->has_state = 1;
		} else if (is_keyword(argv[i], "mac") && !a->has_mac) {
			if (xs_parse_mac(value, a->mac))
				return usage_error(
					"backend",
					"'%s' is not a MAC (aa:bb:cc:dd:ee:ff)",
					value);
			a->has_mac = 1;
		} else if (allow_dev && is_keyword(argv[i], "dev") && !a->dev) {
			a->dev = value;
			a->ifindex = (int)if_nametoindex(value);
			if (!a->ifindex)
				return runtime_error(
					"no interface '%s'; see 'ip link'",
					value);
		} else {
			return usage_error("backend",
					   "unexpected or repeated '%s'",
					   argv[i]);
		}
	}
	return EXIT_OK;
}

static int interface_mac(const char *name, __u8 *mac)
{
	struct ifreq request = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -1;
	snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name);
	err = ioctl(fd, SIOCGIFHWADDR, &request);
	close(fd);
	if (!err)
		memcpy(mac, request.ifr_hwaddr.sa_data, 6);
	return err;
}

/* VIP, then ADDRESS of a backend: both parsed, the VIP must exist. */
static int vip_and_address(struct ctl *ctl, int argc, char **argv,
			   struct xs_vip_entry *vip, __be32 *address)
{
	__u8 family;
	int rc;

	if (argc < 2)
		return usage_error("backend", "missing %s",
				   argc ? "backend ADDRESS" : "VIP");
	if (xs_parse_address(argv[1], &family, address))
		return usage_error("backend",
				   "'%s' is not an IPv4 or IPv6 address",
				   argv[1]);
	rc = need_vip(ctl, "backend", argv[0], vip);
	if (rc)
		return rc;
	if (family != vip->key.family)
		return usage_error(
			"backend",
			"backend %s and VIP %s are of different IP versions",
			argv[1], argv[0]);
	return EXIT_OK;
}

/* The backend backend add makes of its arguments, in the VIP's family. */
static void fill_backend(struct xs_backend *backend,
			 const struct xs_vip_entry *vip, __u8 pool,
			 const struct backend_args *a)
{
	backend->family = vip->key.family;
	backend->vip_id = vip->vip.vip_id;
	backend->pool = pool;
	backend->weight = a->has_weight ? a->weight : 1;
	backend->state = a->has_state ? a->state : XS_BACKEND_UP;
	backend->ifindex = a->ifindex;
	if (a->has_mac)
		memcpy(backend->mac, a->mac, 6);
}

/* backend add of an address the VIP has already: unchanged if it has the
 * settings asked for (and, when no MAC is given, whatever MAC it has),
 * else refused. argv: VIP, POOL, ADDRESS as given. */
static int add_again(const struct xs_backend_entry *existing,
		     const struct xs_backend *backend, bool has_mac,
		     char **argv)
{
	struct xs_backend wanted = *backend;

	if (!has_mac)
		memcpy(wanted.mac, existing->backend.mac, 6);
	if (!memcmp(&wanted, &existing->backend, sizeof(wanted)))
		return ctl_unchanged("backend %s is in pool %s of %s", argv[2],
				     xs_pool_name(existing->backend.pool),
				     argv[0]);
	return runtime_error(
		"backend %s is already in pool %s of %s with other settings; use 'backend set' or 'backend del'",
		argv[2], xs_pool_name(existing->backend.pool), argv[0]);
}

/* The next hop to the backend, asked of the kernel when it matters: l2dsr
 * needs the backend's MAC (unless given); ipip only needs the kernel to
 * know the next hop, so a failure there is a warning. */
static int resolve_next_hop(const struct xs_vip_entry *vip,
			    struct xs_backend *backend, bool has_mac,
			    const char *address)
{
	struct xs_next_hop hop;
	char why[256];
	int err;

	if (has_mac && vip->vip.forward_mode != XS_MODE_IPIP)
		return EXIT_OK;
	err = xs_resolve_backend(backend->family, backend->address,
				 RESOLVE_TIMEOUT_MS, &hop, why, sizeof(why));
	if (vip->vip.forward_mode == XS_MODE_L2DSR) {
		if (err)
			return runtime_error(
				"Couldn't find the MAC of backend %s: %s",
				address, why);
		memcpy(backend->mac, hop.mac, 6);
	} else if (err && !out_is_json()) {
		fprintf(stderr,
			"Warning: next hop to backend %s: %s; its packets are dropped (drop_no_neighbour) until it resolves\n",
			address, why);
	}
	return EXIT_OK;
}

/* dev IFACE: the LB's own MAC on the interface the backend sits behind,
 * for the data plane (the source of the frames it sends there). */
static int record_interface_mac(struct ctl *ctl, const struct backend_args *a)
{
	__u8 mac[6];

	if (interface_mac(a->dev, mac) ||
	    xs_egress_write(&ctl->dp, a->ifindex, mac))
		return runtime_error(
			"Couldn't record the MAC of interface '%s'", a->dev);
	return EXIT_OK;
}

/* Writes the new backend and records it. argv: VIP, POOL, ADDRESS. */
static int create_backend(struct ctl *ctl, const struct xs_backend *backend,
			  char **argv)
{
	struct xs_backend_entry added;
	char *after;
	int rc, err;

	err = xs_backend_create(&ctl->dp, backend, &added.id);
	if (err == -ENOSPC)
		return runtime_error(
			"no room for backend %s: all %u backend slots are in use",
			argv[2], ctl->dp.config.max_backends - 1);
	if (err)
		return runtime_error("Couldn't add backend %s: %s", argv[2],
				     strerror(-err));
	added.backend = *backend;
	after = describe_backend(&added);
	ctl_done("added backend %s to pool %s of %s (id %u)", argv[2], argv[1],
		 argv[0], added.id);
	rc = ctl_audit(ctl, NULL, after);
	free(after);
	return rc;
}

static int backend_add(struct ctl *ctl, int argc, char **argv)
{
	struct xs_backend backend = { 0 };
	struct xs_backend_entry existing;
	struct xs_vip_entry vip;
	struct backend_args a;
	__u8 pool;
	int rc;

	if (argc < 3)
		return usage_error(
			"backend",
			"give a VIP, a pool and the backend's address");
	if (xs_parse_pool(argv[1], &pool))
		return usage_error("backend", "unknown pool '%s'; pools are %s",
				   argv[1], choices_text("POOL"));
	rc = parse_backend_args(argc - 3, argv + 3, 1, &a);
	if (!rc)
		rc = ctl_begin_change(ctl);
	if (!rc) {
		char *pair[2] = { argv[0], argv[2] };

		rc = vip_and_address(ctl, 2, pair, &vip, backend.address);
	}
	if (rc)
		return rc;
	fill_backend(&backend, &vip, pool, &a);
	if (!xs_backend_lookup(&ctl->dp, vip.vip.vip_id, backend.address,
			       &existing))
		return add_again(&existing, &backend, a.has_mac, argv);
	rc = resolve_next_hop(&vip, &backend, a.has_mac, argv[2]);
	if (!rc && a.dev)
		rc = record_interface_mac(ctl, &a);
	if (!rc)
		rc = create_backend(ctl, &backend, argv);
	return rc;
}

static int backend_del(struct ctl *ctl, int argc, char **argv)
{
	struct xs_backend_entry entry;
	struct xs_vip_entry vip;
	__be32 address[4];
	char *before;
	int rc, err;

	if (argc != 2)
		return usage_error("backend",
				   "give a VIP and the backend's address");
	rc = ctl_begin_change(ctl);
	if (!rc)
		rc = vip_and_address(ctl, argc, argv, &vip, address);
	if (rc)
		return rc;
	if (xs_backend_lookup(&ctl->dp, vip.vip.vip_id, address, &entry))
		return runtime_error(
			"VIP %s has no backend %s; see 'splitctl backend list %s'",
			argv[0], argv[1], argv[0]);
	before = describe_backend(&entry);
	err = xs_backend_remove(&ctl->dp, entry.id);
	if (err) {
		free(before);
		return runtime_error("Couldn't remove backend %s: %s", argv[1],
				     strerror(-err));
	}
	ctl_done(
		"removed backend %s from %s; its flows move on their next packet",
		argv[1], argv[0]);
	rc = ctl_audit(ctl, before, NULL);
	free(before);
	return rc;
}

static int backend_set(struct ctl *ctl, int argc, char **argv)
{
	struct xs_backend_entry entry, updated;
	struct xs_vip_entry vip;
	struct backend_args a;
	__be32 address[4];
	char *before, *after;
	int rc, err;

	if (argc < 3)
		return usage_error(
			"backend",
			"give a VIP, the backend's address and what to set");
	rc = parse_backend_args(argc - 2, argv + 2, 0, &a);
	if (!rc)
		rc = ctl_begin_change(ctl);
	if (!rc)
		rc = vip_and_address(ctl, argc, argv, &vip, address);
	if (rc)
		return rc;
	if (xs_backend_lookup(&ctl->dp, vip.vip.vip_id, address, &entry))
		return runtime_error("VIP %s has no backend %s", argv[0],
				     argv[1]);
	updated = entry;
	if (a.has_weight)
		updated.backend.weight = a.weight;
	if (a.has_state)
		updated.backend.state = a.state;
	if (a.has_mac)
		memcpy(updated.backend.mac, a.mac, 6);
	if (!memcmp(&updated, &entry, sizeof(entry)))
		return ctl_unchanged(
			"backend %s of %s already has these settings", argv[1],
			argv[0]);
	err = xs_backend_update(&ctl->dp, entry.id, &updated.backend);
	if (err)
		return runtime_error("Couldn't change backend %s: %s", argv[1],
				     strerror(-err));
	before = describe_backend(&entry);
	after = describe_backend(&updated);
	ctl_done("backend %s of %s: state %s, weight %u", argv[1], argv[0],
		 xs_state_name(updated.backend.state), updated.backend.weight);
	rc = ctl_audit(ctl, before, after);
	free(before);
	free(after);
	return rc;
}

static int backend_list(struct ctl *ctl, int argc, char **argv)
{
	struct xs_backend_entry *all;
	struct xs_vip_entry vip;
	__u32 vip_id = ~0U;
	size_t count;
	int rc;

	if (argc > 1)
		return usage_error("backend", "unexpected '%s'", argv[1]);
	rc = argc ? need_vip(ctl, "backend", argv[0], &vip) : ctl_open(ctl);
	if (rc)
		return rc;
	if (argc)
		vip_id = vip.vip.vip_id;
	all = xs_backend_all(&ctl->dp, vip_id, &count);
	out_array_begin(NULL);
	for (size_t i = 0; all && i < count; i++) {
		out_object_begin(NULL);
		if (!argc) {
			struct xs_vip_entry *vips;
			size_t n;

			vips = xs_vip_all(&ctl->dp, &n);
			for (size_t v = 0; vips && v < n; v++)
				if (vips[v].vip.vip_id ==
				    all[i].backend.vip_id) {
					char text[80];

					xs_format_vip(&vips[v].key, text,
						      sizeof(text));
					out_string("vip", text);
				}
			free(vips);
		}
		print_backend(&all[i]);
		out_object_end();
	}
	out_array_end();
	out_finish();
	free(all);
	return EXIT_OK;
}

const struct command backend_commands[] = {
	{ "add", backend_add,
	  .usage = FORMS(
		  "add VIP { blue | green | canary } ADDRESS [ weight W ] [ mac MAC ] [ dev IFACE ] [ state { up | draining | down } ]"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL_CHOICE("POOL", pool_words),
				 POSITIONAL("ADDRESS", VALUE_TEXT),
				 KEYWORD("weight", "W", VALUE_TEXT),
				 KEYWORD("mac", "MAC", VALUE_TEXT),
				 KEYWORD("dev", "IFACE", VALUE_IFACE),
				 KEYWORD_CHOICE("state", "S", state_words)) },
	{ "del", backend_del, .usage = FORMS("del VIP ADDRESS"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL("ADDRESS", VALUE_TEXT)) },
	{ "set", backend_set,
	  .usage = FORMS(
		  "set VIP ADDRESS { weight W | state { up | draining | down } | mac MAC } ..."),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL("ADDRESS", VALUE_TEXT),
				 KEYWORD("weight", "W", VALUE_TEXT),
				 KEYWORD_CHOICE("state", "S", state_words),
				 KEYWORD("mac", "MAC", VALUE_TEXT)) },
	{ "list", backend_list, .usage = FORMS("list [ VIP ]"),
	  .arguments = ARGUMENTS(OPTIONAL("VIP", VALUE_VIP)) },
	{ NULL },
};
