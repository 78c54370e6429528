/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef XDPSPLIT_ATTACHED_H
#define XDPSPLIT_ATTACHED_H

#include <xdp/libxdp.h>

struct xs_attached {
	struct xdp_multiprog *mp;
	struct xdp_program *prog; /* this instance's xdp_split, if attached */
	enum xdp_attach_mode mode;
	int other; /* some other program is attached too */
};

/* Looks at ifindex; prog is set when the xdp_split using the maps pinned
 * in pin_dir is attached there. Close with xs_attached_close(). */
void xs_find_attached(int ifindex, const char *pin_dir, struct xs_attached *a);
void xs_attached_close(struct xs_attached *a);
const char *xs_attach_mode_name(enum xdp_attach_mode mode);

#endif
