// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "maps/names.h"
#include "xdp_split.skel.h"
#include "attached.h"
#include "dataplane.h"
#include "layout.h"
#include "loader.h"
#include "maglev.h"
#include "log.h"
#include "pins.h"

_Static_assert(XS_ERR_LAYOUT == XS_ERR_PINS_EARLIER_LAYOUT,
	       "a pin of an earlier layout is refused as another layout");

static __u32 or_default(__u32 value, __u32 fallback)
{
	return value ? value : fallback;
}

/* The flow table's seed: secret and this host's own. It places flows in
 * buckets and decides nothing, so unlike the split seeds it need not agree
 * across hosts. Without getrandom (never on Linux 3.17+) the clock still
 * differs per host and per load. */
static __u32 flow_table_seed(void)
{
	struct timespec now;
	__u32 seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (__u32)now.tv_nsec ^ (__u32)now.tv_sec ^ (__u32)getpid();
}

/* The config a first load writes: sizes and seeds from the options. */
static void config_from_options(const struct xs_load_options *o,
				struct xs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_vips = or_default(o->max_vips, XS_DEFAULT_MAX_VIPS);
	c->max_backends = or_default(o->max_backends, XS_DEFAULT_MAX_BACKENDS);
	c->max_flows = or_default(o->max_flows, XS_DEFAULT_MAX_FLOWS);
	c->max_overrides =
		or_default(o->max_overrides, XS_DEFAULT_MAX_OVERRIDES);
	c->maglev_size = or_default(o->maglev_size, XS_DEFAULT_MAGLEV_SIZE);
	c->split_seed = or_default(o->split_seed, XS_DEFAULT_SPLIT_SEED);
	c->backend_seed = or_default(o->backend_seed, XS_DEFAULT_BACKEND_SEED);
	c->flow_seed = flow_table_seed();
	c->tunnel_source_v4 = o->tunnel_source_v4;
	memcpy(c->tunnel_source_v6, o->tunnel_source_v6,
	       sizeof(c->tunnel_source_v6));
}

/* A config already pinned wins: the maps exist with its sizes. Every pin
 * already there is verified first, as xs_dataplane_open does: libbpf would
 * reuse it by path (following a link), and our config read must not take
 * another map's bytes. -ENOENT: no config pinned, a first load. */
static int pinned_config(const char *pin_dir, struct xs_config *c)
{
	char error[512];
	__u32 zero = 0;
	int fd, err;

	fd = xs_pin_open(pin_dir, XS_MAP_ID_CONFIG, NULL, error, sizeof(error));
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd < 0) {
		pr_warn("%s\n", error);
		return fd;
	}
	err = bpf_map_lookup_elem(fd, &zero, c) ? -errno : 0;
	close(fd);
	if (!err && !c->maglev_size)
		return -ENOENT; /* a load that died before writing it */
	if (!err)
		err = xs_config_sane(c, pin_dir, error, sizeof(error));
	if (err) {
		pr_warn("%s\n", error);
		return err;
	}
	for (int i = 0; i < XS_MAP_ID_COUNT; i++) {
		if (i == XS_MAP_ID_CONFIG)
			continue;
		fd = xs_pin_open(pin_dir, i, c, error, sizeof(error));
		if (fd == -ENOENT)
			continue; /* libbpf creates it */
		if (fd < 0) {
			pr_warn("%s\n", error);
			return fd;
		}
		close(fd);
	}
	return 0;
}

/* With no config pinned, a pin that is there anyway must still be safe for
 * libbpf to reuse: not a link, the right kind. */
static int check_stray_pins(const char *pin_dir)
{
	char error[512];

	for (int i = 0; i < XS_MAP_ID_COUNT; i++) {
		int fd = xs_pin_open(pin_dir, i, NULL, error, sizeof(error));

		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			pr_warn("%s\n", error);
			return fd;
		}
		close(fd);
	}
	return 0;
}

/* The object being loaded: the embedded skeleton's, or a build read from a
 * file (an upgrade to a build other than this binary's). */
static struct bpf_object *object_of(const struct xs_loaded *loaded)
{
	return loaded->skel ? loaded->skel->obj : loaded->file_obj;
}

static int set_size(struct bpf_object *obj, const char *name, __u32 size)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	if (!map) {
		pr_warn("The object has no map '%s'\n", name);
		return -ENOENT;
	}
	return bpf_map__set_max_entries(map, size);
}

/* By name, so that a build read from a file is sized like the skeleton. */
static int set_sizes(struct bpf_object *obj, const struct xs_config *c)
{
	__u32 pool_slots = c->max_vips * XS_POOL_COUNT;
	int err = 0;

	err |= set_size(obj, XS_MAP_VIPS, c->max_vips);
	err |= set_size(obj, XS_MAP_ROUTES, c->max_vips);
	err |= set_size(obj, XS_MAP_POOL_EPOCHS, pool_slots);
	err |= set_size(obj, XS_MAP_MAGLEV, pool_slots);
	err |= set_size(obj, XS_MAP_POOL_STATS, pool_slots);
	err |= set_size(obj, XS_MAP_BACKENDS, c->max_backends);
	err |= set_size(obj, XS_MAP_BACKEND_STATS, c->max_backends);
	err |= set_size(obj, XS_MAP_TUNNEL_HOPS, c->max_backends);
	err |= set_size(obj, XS_MAP_FLOWS, xs_flow_buckets(c->max_flows));
	err |= set_size(obj, XS_MAP_OVERRIDES, c->max_overrides);
	return err ? -EINVAL : 0;
}

static int validate_config(const struct xs_config *c)
{
	if (!xs_is_prime(c->maglev_size) || c->maglev_size < 7) {
		pr_warn("Maglev table size %u is not a prime >= 7; try %u\n",
			c->maglev_size, XS_DEFAULT_MAGLEV_SIZE);
		return -EINVAL;
	}
	if (!c->max_vips || c->max_vips > (1U << 20) / XS_POOL_COUNT ||
	    c->max_backends < 2 || !c->max_flows || !c->max_overrides) {
		pr_warn("Map sizes out of range (vips %u, backends %u, flows %u, overrides %u)\n",
			c->max_vips, c->max_backends, c->max_flows,
			c->max_overrides);
		return -EINVAL;
	}
	return 0;
}

/* Before anything is loaded: the pinned maps must be exactly what this
 * build declares, and are then handed to it, so flows, routes and backends
 * carry over. A build of another layout stops here. */
static int reuse_pinned(const struct xs_load_options *options,
			struct xs_loaded *loaded)
{
	char why[1024];
	int err = xs_layout_reuse_pinned(object_of(loaded), why, sizeof(why));

	if (err == -EINVAL) {
		pr_warn("The maps pinned in '%s' have another layout than %s: %s\n",
			options->pin_dir,
			options->object_path ? options->object_path :
					       "this build",
			why);
		return XS_ERR_LAYOUT;
	}
	if (err)
		pr_warn("Couldn't reuse the maps pinned in '%s': %s\n",
			options->pin_dir, why);
	return err;
}

/* The pin directory made ready, and the sizes to load with: those pinned
 * there, or (*fresh, nothing pinned yet) the options'. */
static int settle_config(const struct xs_load_options *options,
			 struct xs_config *config, bool *fresh)
{
	char error[512];
	int err;

	/* never libbpf's default of pinning at the bpffs root */
	err = xs_pin_dir_prepare(options->pin_dir, true, error, sizeof(error));
	if (err) {
		pr_warn("%s\n", error);
		return err;
	}
	err = pinned_config(options->pin_dir, config);
	if (err && err != -ENOENT)
		return err;
	*fresh = err == -ENOENT;
	if (*fresh) {
		err = check_stray_pins(options->pin_dir);
		if (err)
			return err;
		config_from_options(options, config);
	}
	return validate_config(config);
}

/* The object named in the options, or the one built in; its maps pinned
 * under the pin directory. */
static int open_object(const struct xs_load_options *options,
		       struct xs_loaded *loaded)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts,
		    .pin_root_path = options->pin_dir);
	int err;

	if (!options->object_path) {
		loaded->skel = xdp_split__open_opts(&open_opts);
		if (!loaded->skel) {
			err = -errno;
			pr_warn("Couldn't open the xdp_split object: %s\n",
				strerror(errno));
			return err;
		}
		return 0;
	}
	loaded->file_obj =
		bpf_object__open_file(options->object_path, &open_opts);
	if (!loaded->file_obj) {
		err = -errno;
		pr_warn("Couldn't open the object '%s': %s\n",
			options->object_path, strerror(errno));
		return err;
	}
	if (!bpf_object__find_program_by_name(loaded->file_obj,
					      XS_PROG_SPLIT)) {
		pr_warn("The object '%s' has no program %s\n",
			options->object_path, XS_PROG_SPLIT);
		return -ENOENT;
	}
	return 0;
}

/* Maglev tables must have the template's size. libbpf 1.1 cannot resize
 * the template declared in the object, so give it one. */
static int set_maglev_template(struct xs_loaded *loaded,
			       const struct xs_config *config)
{
	int err;

	loaded->inner_template_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY,
						   "maglev_table",
						   sizeof(__u32), sizeof(__u32),
						   config->maglev_size, NULL);
	if (loaded->inner_template_fd < 0) {
		err = -errno;
		pr_warn("Couldn't create the Maglev table template: %s\n",
			strerror(errno));
		return err;
	}
	return bpf_map__set_inner_map_fd(
		bpf_object__find_map_by_name(object_of(loaded), XS_MAP_MAGLEV),
		loaded->inner_template_fd);
}

static int open_sized(const struct xs_load_options *options,
		      struct xs_loaded *loaded, struct xs_config *config,
		      bool *fresh)
{
	int err;

	memset(loaded, 0, sizeof(*loaded));
	loaded->inner_template_fd = -1;
	err = settle_config(options, config, fresh);
	if (err)
		return err;
	err = open_object(options, loaded);
	if (err)
		return err;
	err = set_sizes(object_of(loaded), config);
	if (err) {
		pr_warn("Couldn't size the maps\n");
		return err;
	}
	err = set_maglev_template(loaded, config);
	if (err)
		return err;
	return reuse_pinned(options, loaded);
}

/* Writes the config entry after the first load. Until then the program
 * passes every packet (no config means no maglev_size). */
static int finish_load(struct xs_loaded *loaded, const struct xs_config *config,
		       bool fresh)
{
	__u32 zero = 0;

	if (!fresh)
		return 0;
	if (bpf_map__update_elem(bpf_object__find_map_by_name(object_of(loaded),
							      XS_MAP_CONFIG),
				 &zero, sizeof(zero), config, sizeof(*config),
				 BPF_ANY)) {
		int err = -errno;

		pr_warn("Couldn't write the config map: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

static int load_object(struct xs_loaded *loaded)
{
	return loaded->skel ? xdp_split__load(loaded->skel) :
			      bpf_object__load(loaded->file_obj);
}

int xs_load(const struct xs_load_options *options, struct xs_loaded *loaded)
{
	struct xs_config config;
	bool fresh;
	int err;

	err = open_sized(options, loaded, &config, &fresh);
	if (!err) {
		err = load_object(loaded);
		if (err)
			pr_warn("Couldn't load xdp_split: %s%s\n",
				strerror(-err),
				fresh ? "" :
					"; the pinned maps may be of another version (remove the pin directory to start afresh)");
	}
	if (!err)
		err = finish_load(loaded, &config, fresh);
	if (err)
		xs_unload(loaded);
	return err;
}

int xs_load_and_attach(const struct xs_load_options *options, int ifindex,
		       enum xdp_attach_mode mode, struct xs_loaded *loaded)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xdp_opts);
	struct xs_config config;
	bool fresh;
	int err;

	err = open_sized(options, loaded, &config, &fresh);
	if (err)
		goto fail;
	xdp_opts.obj = object_of(loaded);
	xdp_opts.prog_name = XS_PROG_SPLIT;
	loaded->xdp_prog = xdp_program__create(&xdp_opts);
	err = libxdp_get_error(loaded->xdp_prog);
	if (err) {
		loaded->xdp_prog = NULL;
		pr_warn("Couldn't prepare xdp_split for libxdp: %s\n",
			strerror(-err));
		goto fail;
	}
	/* libxdp loads the object (with our pinned maps) and attaches it,
	 * through its dispatcher where the kernel allows, alone otherwise */
	err = xdp_program__attach(loaded->xdp_prog, ifindex, mode, 0);
	if (err) {
		pr_warn("Couldn't attach xdp_split to ifindex %d in %s mode: %s%s\n",
			ifindex, mode == XDP_MODE_NATIVE ? "native" : "generic",
			strerror(-err),
			mode == XDP_MODE_NATIVE ?
				"; if the driver lacks native XDP, try generic mode" :
				"");
		goto fail;
	}
	err = finish_load(loaded, &config, fresh);
	if (err)
		goto fail;
	return 0;
fail:
	xs_unload(loaded);
	return err;
}

static __u32 mode_flag(enum xdp_attach_mode mode)
{
	return mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* The program alone on the interface (no dispatcher, as libxdp falls back
 * to where the kernel refuses one): one netlink request swaps the old
 * program for the new one, and only if the old one is still there. */
static int replace_alone(int ifindex, const struct xs_attached *current,
			 struct xs_loaded *loaded)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
		    .old_prog_fd = xdp_program__fd(current->prog));
	struct bpf_program *prog;
	int err, fd;

	err = load_object(loaded);
	if (err) {
		pr_warn("Couldn't load the new xdp_split: %s\n",
			strerror(-err));
		return err;
	}
	prog = bpf_object__find_program_by_name(object_of(loaded),
						XS_PROG_SPLIT);
	fd = bpf_program__fd(prog);
	err = bpf_xdp_attach(ifindex, fd,
			     XDP_FLAGS_REPLACE | mode_flag(current->mode),
			     &opts);
	if (err) {
		pr_warn("Couldn't replace program id %u on ifindex %d: %s%s\n",
			xdp_program__id(current->prog), ifindex, strerror(-err),
			err == -EEXIST ?
				" (another program was attached meanwhile)" :
				"");
		return err;
	}
	/* a handle of our own: the object closes its fd, libxdp its copy */
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	loaded->xdp_prog = fd >= 0 ? xdp_program__from_fd(fd) : NULL;
	if (libxdp_get_error(loaded->xdp_prog) || !loaded->xdp_prog) {
		if (fd >= 0)
			close(fd);
		loaded->xdp_prog = NULL;
		pr_warn("Replaced, but couldn't describe the new program\n");
	}
	return 0;
}

/* Under libxdp's dispatcher: the new program joins it (the dispatcher is
 * swapped atomically for one that runs both; they share every map, so they
 * decide alike), then the old one leaves it (another atomic swap). */
static int replace_in_dispatcher(int ifindex, const struct xs_attached *current,
				 struct xs_loaded *loaded)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xdp_opts,
			    .obj = object_of(loaded),
			    .prog_name = XS_PROG_SPLIT);
	int err;

	loaded->xdp_prog = xdp_program__create(&xdp_opts);
	err = libxdp_get_error(loaded->xdp_prog);
	if (err) {
		loaded->xdp_prog = NULL;
		pr_warn("Couldn't prepare the new xdp_split for libxdp: %s\n",
			strerror(-err));
		return err;
	}
	err = xdp_program__attach(loaded->xdp_prog, ifindex, current->mode, 0);
	if (err) {
		pr_warn("Couldn't add the new xdp_split to the dispatcher on ifindex %d: %s\n",
			ifindex, strerror(-err));
		return err;
	}
	err = xdp_program__detach(current->prog, ifindex, current->mode, 0);
	if (err)
		pr_warn("The new program runs, but the old one (id %u) couldn't be removed from the dispatcher: %s; both share the maps and decide alike; remove it with 'xdp-loader unload --id %u'\n",
			xdp_program__id(current->prog), strerror(-err),
			xdp_program__id(current->prog));
	return 0;
}

int xs_replace(const struct xs_load_options *options, int ifindex,
	       const struct xs_attached *current, struct xs_loaded *loaded)
{
	struct xs_config config;
	bool fresh;
	int err;

	if (!current->prog)
		return -ENOENT;
	if (current->mode != XDP_MODE_NATIVE && current->mode != XDP_MODE_SKB) {
		pr_warn("xdp_split is attached in %s mode; only native and generic programs are replaced in place\n",
			xs_attach_mode_name(current->mode));
		return -EOPNOTSUPP;
	}
	err = open_sized(options, loaded, &config, &fresh);
	if (!err && fresh) {
		pr_warn("No config is pinned in '%s', but a program using it is attached\n",
			options->pin_dir);
		err = -ENOENT;
	}
	if (!err)
		err = xdp_multiprog__is_legacy(current->mp) ?
			      replace_alone(ifindex, current, loaded) :
			      replace_in_dispatcher(ifindex, current, loaded);
	if (err)
		xs_unload(loaded);
	return err;
}

int xs_detach(struct xs_loaded *loaded, int ifindex, enum xdp_attach_mode mode)
{
	int err = xdp_program__detach(loaded->xdp_prog, ifindex, mode, 0);

	if (err)
		pr_warn("Couldn't detach xdp_split from ifindex %d: %s\n",
			ifindex, strerror(-err));
	return err;
}

void xs_unload(struct xs_loaded *loaded)
{
	/* libxdp's handle shares the skeleton's object; close it first and
	 * let the skeleton free the object */
	if (loaded->xdp_prog)
		xdp_program__close(loaded->xdp_prog);
	loaded->xdp_prog = NULL;
	xdp_split__destroy(loaded->skel);
	loaded->skel = NULL;
	bpf_object__close(loaded->file_obj);
	loaded->file_obj = NULL;
	if (loaded->inner_template_fd >= 0)
		close(loaded->inner_template_fd);
	loaded->inner_template_fd = -1;
}

int xs_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i < XS_MAP_ID_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, xs_map_names[i]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		err = -errno;
	return err;
}
