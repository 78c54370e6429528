/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sending the generator's frames out of an interface (the live-frames
 * benchmark and the flood test share it). */
#ifndef XDPSPLIT_BENCH_LIVE_FRAMES_H
#define XDPSPLIT_BENCH_LIVE_FRAMES_H

#include <linux/types.h>

struct generator;

/* Runs the generator `packets` times with BPF_F_TEST_XDP_LIVE_FRAMES: each
 * run writes its template (with the next source) and sends it with XDP_TX
 * out of ifindex. 0 or a negative errno. */
int live_frames_send(struct generator *gen, int ifindex, __u32 packets);

#endif
