// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Which program is attached to an interface, and whether it is this
 * instance's xdp_split: splitctl and splitd adopt it rather than attach a
 * second copy. */
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "maps/names.h"
#include "attached.h"
#include "pins.h"

/* The id of the pinned config map, which every program of this instance
 * uses: it tells our xdp_split from one of another pin directory. */
static __u32 pinned_config_id(const char *pin_dir)
{
	struct bpf_map_info info = { 0 };
	__u32 length = sizeof(info);
	char error[512];
	int fd;

	/* an untrusted or foreign pin is no instance of ours */
	fd = xs_pin_open(pin_dir, XS_MAP_ID_CONFIG, NULL, error, sizeof(error));
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &length))
		info.id = 0;
	close(fd);
	return info.id;
}

static int prog_uses_map(int prog_fd, __u32 map_id)
{
	__u32 map_ids[64], length;
	struct bpf_prog_info info = { 0 };

	length = sizeof(info);
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (!map_id || bpf_obj_get_info_by_fd(prog_fd, &info, &length))
		return 0;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++)
		if (map_ids[i] == map_id)
			return 1;
	return 0;
}

void xs_find_attached(int ifindex, const char *pin_dir, struct xs_attached *a)
{
	__u32 config_id = pinned_config_id(pin_dir);
	struct xdp_program *p = NULL;

	memset(a, 0, sizeof(*a));
	a->mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!a->mp || libxdp_get_error(a->mp)) {
		a->mp = NULL;
		return;
	}
	a->mode = xdp_multiprog__attach_mode(a->mp);
	if (xdp_multiprog__is_legacy(a->mp)) {
		p = xdp_multiprog__main_prog(a->mp);
		if (p && !strcmp(xdp_program__name(p), XS_PROG_SPLIT) &&
		    prog_uses_map(xdp_program__fd(p), config_id))
			a->prog = p;
		else if (p)
			a->other = 1;
		return;
	}
	while ((p = xdp_multiprog__next_prog(p, a->mp))) {
		if (!strcmp(xdp_program__name(p), XS_PROG_SPLIT) &&
		    prog_uses_map(xdp_program__fd(p), config_id))
			a->prog = p;
		else
			a->other = 1;
	}
}

const char *xs_attach_mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

void xs_attached_close(struct xs_attached *a)
{
	if (a->mp)
		xdp_multiprog__close(a->mp);
	memset(a, 0, sizeof(*a));
}
