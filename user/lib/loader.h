/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the splitter: maps pinned by name under a pin directory (reused if
 * already there, so a reload keeps every flow and setting), sizes applied
 * before the first load, the config entry written once, and attachment
 * through libxdp.
 */
#ifndef XDPSPLIT_LOADER_H
#define XDPSPLIT_LOADER_H

#include <errno.h>
#include <stdbool.h>
#include <linux/types.h>
#include <xdp/libxdp.h>

struct xdp_split;
struct xs_attached;

struct xs_load_options {
	const char *pin_dir;
	/* sizes for a first load; zero means the default */
	__u32 max_vips;
	__u32 max_backends;
	__u32 max_flows;
	__u32 max_overrides;
	__u32 maglev_size; /* prime */
	/* hash seeds for a first load; hosts behind one ECMP group must agree */
	__u32 split_seed;
	__u32 backend_seed;
	__be32 tunnel_source_v4;
	__be32 tunnel_source_v6[4];
	/* a build of xdp_split to load instead of the one embedded in this
	 * binary (an upgrade to another build); NULL: the embedded one */
	const char *object_path;
};

struct xs_loaded {
	struct xdp_split *skel;
	struct xdp_program *xdp_prog; /* set when attached through libxdp */
	struct bpf_object *file_obj;  /* options.object_path, else NULL */
	int inner_template_fd;	      /* the Maglev table template */
};

/* Returned when the new build's maps differ from the pinned ones (after a
 * message naming each map and what differs); nothing was loaded or
 * detached. */
#define XS_ERR_LAYOUT (-ESTALE)

/* Opens, sizes and loads the splitter without attaching it (tests, and the
 * first half of an attach). */
int xs_load(const struct xs_load_options *options, struct xs_loaded *loaded);
/* Loads through libxdp and attaches to ifindex in the given mode. */
int xs_load_and_attach(const struct xs_load_options *options, int ifindex,
		       enum xdp_attach_mode mode, struct xs_loaded *loaded);
/* Replaces the xdp_split attached to ifindex (current, from
 * xs_find_attached) with the new build, atomically and in its mode: the
 * new program reuses the pinned maps, so every flow keeps its backend. The
 * layout is checked and the program loaded before anything is swapped; on
 * any error the old program is still attached. */
int xs_replace(const struct xs_load_options *options, int ifindex,
	       const struct xs_attached *current, struct xs_loaded *loaded);
int xs_detach(struct xs_loaded *loaded, int ifindex, enum xdp_attach_mode mode);
/* Closes handles; pinned maps and an attached program stay. */
void xs_unload(struct xs_loaded *loaded);
/* Removes every pin of the instance and the directory itself. */
int xs_unpin(const char *pin_dir);

#define XS_DEFAULT_SPLIT_SEED 0x78647073U   /* "xdps" */
#define XS_DEFAULT_BACKEND_SEED 0x706c6974U /* "plit" */

#endif /* XDPSPLIT_LOADER_H */
