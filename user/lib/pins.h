/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pinned maps are verified before use. bpffs is world-writable (mode 1777)
 * once mounted, so any local user could pre-create a pin directory and
 * plant pins in it that root's splitctl would then trust. Here:
 * - bpffs is mounted at /sys/fs/bpf when it is not (as bpftool does), the
 *   one place both splitctl and splitd go through before pinning;
 * - a pin directory must be a real directory (not a link) owned by root or
 *   the caller and not writable by others (safe_open.h's rule); we create it
 *   0700;
 * - a pin must not be a symbolic link (checked with lstat in the trusted
 *   directory, so it cannot be swapped before bpf_obj_get), and must be a
 *   map of the type, key size, value size, flags, entries and (where the
 *   map carries BTF) value type that maps/contract.h gives it.
 * Every refusal names the map or directory, why, and what to do.
 */
#ifndef XDPSPLIT_PINS_H
#define XDPSPLIT_PINS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include "maps/contract.h"
#include "dataplane.h"

/* Mounts bpffs at /sys/fs/bpf if pin_dir is below it and nothing is
 * mounted there yet. 0, or negative errno with a message in error. */
int xs_bpffs_ensure(const char *pin_dir, char *error, size_t error_size);

/* bpffs mounted, the directory created (create: mode 0700) and trusted. */
int xs_pin_dir_prepare(const char *pin_dir, bool create, char *error,
		       size_t error_size);

/* Opens one pin and checks it against the contract. config NULL: only the
 * sizes that do not depend on it (the config map's entries among them).
 * -ENOENT (message in error) if the pin does not exist. */
int xs_pin_open(const char *pin_dir, enum xs_map_id id,
		const struct xs_config *config, char *error, size_t error_size);

/* What xs_pin_open and xs_pin_verify return for a pin an earlier release
 * made that this one cannot take over (the flow table before it was
 * mmapable): the same as the loader's XS_ERR_LAYOUT, so attach and upgrade
 * say the maps are of another layout and nothing was touched. */
#define XS_ERR_PINS_EARLIER_LAYOUT (-ESTALE)

/* Checks an open map against the contract (also for fds from libbpf). */
int xs_pin_verify(int fd, const char *pin_dir, enum xs_map_id id,
		  const struct xs_config *config, char *error,
		  size_t error_size);

/* A config entry whose sizes a loader would accept. */
int xs_config_sane(const struct xs_config *c, const char *pin_dir, char *error,
		   size_t error_size);

#endif /* XDPSPLIT_PINS_H */
