// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "maps/names.h"
#include "maglev.h"
#include "pins.h"
#include "safe_open.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define CHECKED_FLAGS (BPF_F_NO_PREALLOC | BPF_F_MMAPABLE)
#define ADVICE                                                                 \
	"not an xdpsplit pin directory of this version; detach and re-attach, or use another --pin-dir"

/* What bpf/maps.bpf.h declares, from the contract's own types. */
static const struct map_contract {
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 flags;		/* of CHECKED_FLAGS */
	const char *value_type; /* BTF name of a struct value */
} contract[XS_MAP_ID_COUNT] = {
	[XS_MAP_ID_CONFIG] = { BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			       sizeof(struct xs_config), 0, "xs_config" },
	[XS_MAP_ID_VIPS] = { BPF_MAP_TYPE_HASH, sizeof(struct xs_vip_key),
			     sizeof(struct xs_vip), BPF_F_NO_PREALLOC,
			     "xs_vip" },
	[XS_MAP_ID_ROUTES] = { BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			       sizeof(struct xs_route), BPF_F_MMAPABLE,
			       "xs_route" },
	[XS_MAP_ID_POOL_EPOCHS] = { BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				    sizeof(__u32), BPF_F_MMAPABLE, NULL },
	[XS_MAP_ID_MAGLEV] = { BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32),
			       sizeof(__u32), 0, NULL },
	[XS_MAP_ID_BACKENDS] = { BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(struct xs_backend), 0, "xs_backend" },
	[XS_MAP_ID_FLOWS] = { BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			      sizeof(struct xs_flow_bucket), BPF_F_MMAPABLE,
			      "xs_flow_bucket" },
	[XS_MAP_ID_OVERRIDES] = { BPF_MAP_TYPE_LPM_TRIE,
				  sizeof(struct xs_override_key),
				  sizeof(struct xs_override), BPF_F_NO_PREALLOC,
				  "xs_override" },
	[XS_MAP_ID_EGRESS_MACS] = { BPF_MAP_TYPE_HASH, sizeof(__u32),
				    sizeof(struct xs_egress), 0, "xs_egress" },
	[XS_MAP_ID_TUNNEL_HOPS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				    sizeof(struct xs_tunnel_hop), 0,
				    "xs_tunnel_hop" },
	[XS_MAP_ID_POOL_STATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				   sizeof(struct xs_pool_stats), 0,
				   "xs_pool_stats" },
	[XS_MAP_ID_BACKEND_STATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				      sizeof(struct xs_backend_stats), 0,
				      "xs_backend_stats" },
	[XS_MAP_ID_GLOBAL_STATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				     sizeof(__u64), 0, NULL },
};

/* The entries the loader gives each map (loader.c set_sizes); 0: unknown
 * without the config. */
static __u32 expected_entries(enum xs_map_id id, const struct xs_config *c)
{
	switch (id) {
	case XS_MAP_ID_CONFIG:
		return 1;
	case XS_MAP_ID_EGRESS_MACS:
		return XS_MAX_EGRESS_INTERFACES;
	case XS_MAP_ID_GLOBAL_STATS:
		return XS_COUNTER_COUNT;
	default:
		break;
	}
	if (!c)
		return 0;
	switch (id) {
	case XS_MAP_ID_VIPS:
	case XS_MAP_ID_ROUTES:
		return c->max_vips;
	case XS_MAP_ID_POOL_EPOCHS:
	case XS_MAP_ID_MAGLEV:
	case XS_MAP_ID_POOL_STATS:
		return c->max_vips * XS_POOL_COUNT;
	case XS_MAP_ID_BACKENDS:
	case XS_MAP_ID_BACKEND_STATS:
	case XS_MAP_ID_TUNNEL_HOPS:
		return c->max_backends;
	case XS_MAP_ID_FLOWS:
		return xs_flow_buckets(c->max_flows);
	case XS_MAP_ID_OVERRIDES:
		return c->max_overrides;
	default:
		return 0;
	}
}

int xs_bpffs_ensure(const char *pin_dir, char *error, size_t error_size)
{
	struct statfs fs;

	if (strncmp(pin_dir, BPFFS_ROOT "/", sizeof(BPFFS_ROOT)))
		return 0; /* elsewhere: the operator's own bpffs */
	if (!statfs(BPFFS_ROOT, &fs) && fs.f_type == BPF_FS_MAGIC)
		return 0;
	/* as bpftool does; never over an existing bpffs, that would hide its
	 * pins */
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		snprintf(error, error_size,
			 "Couldn't mount bpffs at " BPFFS_ROOT
			 ": %s; mount it (mount -t bpf bpf " BPFFS_ROOT
			 ") and try again",
			 strerror(errno));
		return err;
	}
	return 0;
}

/* The root of a bpffs mount (its parent is on another device, or is
 * itself: "/"), whatever its mode: systemd mounts /sys/fs/bpf 0700, so
 * the mode alone does not tell a shared root from a directory of ours. */
static bool is_bpffs_root(const char *dir)
{
	char parent[PATH_MAX];
	struct stat here, above;
	struct statfs fs;

	if (snprintf(parent, sizeof(parent), "%s/..", dir) >=
		    (int)sizeof(parent) ||
	    statfs(dir, &fs) || fs.f_type != BPF_FS_MAGIC || stat(dir, &here) ||
	    stat(parent, &above))
		return false;
	return here.st_dev != above.st_dev || here.st_ino == above.st_ino;
}

int xs_pin_dir_prepare(const char *pin_dir, bool create, char *error,
		       size_t error_size)
{
	char why[400];
	struct stat st;
	int err;

	if (!pin_dir || !*pin_dir) {
		snprintf(
			error, error_size,
			"no pin directory given: xdpsplit never pins at the bpffs root");
		return -EINVAL;
	}
	err = xs_bpffs_ensure(pin_dir, error, error_size);
	if (err)
		return err;
	err = xs_trusted_dir(pin_dir, create, 0700, why, sizeof(why));
	/* a shared directory (the bpffs root is 1777) is nobody's pin
	 * directory: there, any program pinning by name would meet ours */
	if (!err && is_bpffs_root(pin_dir)) {
		snprintf(
			error, error_size,
			"Refusing pin directory '%s': it is the root of a bpffs mount, shared by every program that pins there; give a directory of its own, such as " XS_DEFAULT_PIN_DIR,
			pin_dir);
		return -EPERM;
	}
	if (!err && !lstat(pin_dir, &st) &&
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(
			error, error_size,
			"Refusing pin directory '%s': it is shared (mode %04o), not a directory of xdpsplit's own; give a directory of its own, such as " XS_DEFAULT_PIN_DIR,
			pin_dir, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	if (err == -ENOENT)
		snprintf(error, error_size,
			 "Couldn't open pin directory '%s': %s", pin_dir,
			 strerror(ENOENT));
	else if (err)
		snprintf(
			error, error_size,
			"Refusing pin directory '%s': %s; or use another --pin-dir",
			pin_dir, why);
	return err;
}

static int is_map_fd(int fd)
{
	char link[64], target[64];
	ssize_t length;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	length = readlink(link, target, sizeof(target) - 1);
	if (length < 0)
		return 1; /* no /proc: the info query below still checks */
	target[length] = '\0';
	return !strcmp(target, "anon_inode:bpf-map");
}

/* valgrind does not know that the kernel writes the BTF into our buffer */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define KERNEL_FILLED(address, length)                                         \
	VALGRIND_MAKE_MEM_DEFINED(address, length)
#endif
#endif
#ifndef KERNEL_FILLED
#define KERNEL_FILLED(address, length) ((void)0)
#endif

/* The map's BTF, read into a buffer of ours; NULL if it cannot be read. */
static struct btf *map_btf(__u32 btf_id)
{
	struct bpf_btf_info info;
	__u32 length = sizeof(info), size;
	struct btf *btf = NULL;
	void *data = NULL;
	int fd = bpf_btf_get_fd_by_id(btf_id);

	if (fd < 0)
		return NULL;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &length) || !info.btf_size ||
	    info.btf_size > (64U << 20))
		goto out;
	size = info.btf_size;
	data = calloc(1, size);
	if (!data)
		goto out;
	memset(&info, 0, sizeof(info));
	info.btf = (__u64)(unsigned long)data;
	info.btf_size = size;
	length = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &length) || info.btf_size != size)
		goto out;
	KERNEL_FILLED(data, size);
	btf = btf__new(data, size);
	if (libbpf_get_error(btf))
		btf = NULL;
out:
	free(data);
	close(fd);
	return btf;
}

/* Whether the struct the map's BTF gives its value is the expected one;
 * true where the map has no BTF (the sizes were checked). */
static int btf_value_matches(const struct bpf_map_info *info,
			     const char *expected, char *actual, size_t size)
{
	const struct btf_type *type;
	struct btf *btf;
	int match = 1;

	if (!expected || !info->btf_id || !info->btf_value_type_id)
		return 1;
	btf = map_btf(info->btf_id);
	if (!btf)
		return 1; /* BTF not readable here: the sizes were checked */
	type = btf__type_by_id(btf, info->btf_value_type_id);
	if (type && btf_is_struct(type)) {
		snprintf(actual, size, "%s",
			 btf__name_by_offset(btf, type->name_off) ?: "");
		match = !strcmp(actual, expected);
	} else if (type) {
		snprintf(actual, size, "a non-struct type");
		match = 0;
	}
	btf__free(btf);
	return match;
}

int xs_pin_verify(int fd, const char *pin_dir, enum xs_map_id id,
		  const struct xs_config *config, char *error,
		  size_t error_size)
{
	const struct map_contract *want = &contract[id];
	const char *name = xs_map_names[id];
	struct bpf_map_info info;
	__u32 length = sizeof(info), entries;
	char actual[128];

	memset(&info, 0, sizeof(info));
	if (!is_map_fd(fd) || bpf_obj_get_info_by_fd(fd, &info, &length)) {
		snprintf(error, error_size,
			 "pin '%s' in %s is not a BPF map: " ADVICE, name,
			 pin_dir);
		return -EINVAL;
	}
	if (info.type != want->type) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s has type %s, expected %s: " ADVICE,
			name, pin_dir,
			libbpf_bpf_map_type_str(info.type) ?: "unknown",
			libbpf_bpf_map_type_str(want->type));
		return -EINVAL;
	}
	if (info.key_size != want->key_size) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s has key size %u, expected %u: " ADVICE,
			name, pin_dir, info.key_size, want->key_size);
		return -EINVAL;
	}
	if (info.value_size != want->value_size) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s has value size %u, expected %u: " ADVICE,
			name, pin_dir, info.value_size, want->value_size);
		return -EINVAL;
	}
	/* the release before flow sharing made the flow table without
	 * BPF_F_MMAPABLE; a map's flags never change, so no build of this
	 * one can take those pins over: say how to move on */
	if (id == XS_MAP_ID_FLOWS && info.type == want->type &&
	    !(info.map_flags & BPF_F_MMAPABLE)) {
		snprintf(
			error, error_size,
			"pinned flow table '%s' in %s is of an earlier release (not mmapable, flags 0x%x; this build maps it to share flows between LB hosts), and a map's flags cannot change in place: drain the host, detach xdp_split, remove %s (every flow is lost) and attach this build",
			name, pin_dir, info.map_flags & CHECKED_FLAGS, pin_dir);
		return XS_ERR_PINS_EARLIER_LAYOUT;
	}
	if ((info.map_flags & CHECKED_FLAGS) != want->flags) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s has flags 0x%x, expected 0x%x: " ADVICE,
			name, pin_dir, info.map_flags & CHECKED_FLAGS,
			want->flags);
		return -EINVAL;
	}
	entries = expected_entries(id, config);
	if (entries && info.max_entries != entries) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s has %u entries, expected %u: " ADVICE,
			name, pin_dir, info.max_entries, entries);
		return -EINVAL;
	}
	if (!btf_value_matches(&info, want->value_type, actual,
			       sizeof(actual))) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s holds values of type '%s', expected 'struct %s': " ADVICE,
			name, pin_dir, actual, want->value_type);
		return -EINVAL;
	}
	return 0;
}

int xs_pin_open(const char *pin_dir, enum xs_map_id id,
		const struct xs_config *config, char *error, size_t error_size)
{
	const char *name = xs_map_names[id];
	char path[PATH_MAX], why[400];
	struct stat st;
	int fd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >=
	    sizeof(path)) {
		snprintf(error, error_size, "pin directory '%s': path too long",
			 pin_dir);
		return -ENAMETOOLONG;
	}
	/* the directory is trusted (xs_pin_dir_prepare): nobody else can
	 * swap the entry between this lstat and bpf_obj_get */
	if (lstat(path, &st)) {
		err = -errno;
		snprintf(error, error_size, "Couldn't open pinned map '%s': %s",
			 path, strerror(errno));
		return err;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(
			error, error_size,
			"pinned map '%s' in %s is a symbolic link: refused, pins are never followed; remove it, or detach and re-attach",
			name, pin_dir);
		return -ELOOP;
	}
	err = xs_trusted_stat(&st, path, false, why, sizeof(why));
	if (err) {
		snprintf(error, error_size, "Refusing pinned map: %s", why);
		return err;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		snprintf(error, error_size, "Couldn't open pinned map '%s': %s",
			 path, strerror(errno));
		return err;
	}
	err = xs_pin_verify(fd, pin_dir, id, config, error, error_size);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int xs_config_sane(const struct xs_config *c, const char *pin_dir, char *error,
		   size_t error_size)
{
	if (!c->maglev_size) {
		snprintf(
			error, error_size,
			"the config map under '%s' is not initialised; detach and re-attach xdpsplit",
			pin_dir);
		return -ENODATA;
	}
	if (!xs_is_prime(c->maglev_size) || c->maglev_size < 7 ||
	    c->maglev_size > (1U << 24) || !c->max_vips ||
	    c->max_vips > (1U << 20) / XS_POOL_COUNT || c->max_backends < 2 ||
	    c->max_backends > (1U << 20) || !c->max_flows ||
	    !c->max_overrides) {
		snprintf(
			error, error_size,
			"the config map under '%s' holds sizes xdpsplit never writes (maglev %u, vips %u, backends %u, flows %u, overrides %u): " ADVICE,
			pin_dir, c->maglev_size, c->max_vips, c->max_backends,
			c->max_flows, c->max_overrides);
		return -EINVAL;
	}
	return 0;
}
