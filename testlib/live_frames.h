/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sending the generator's frames out of an interface and counting what
 * comes back (the live-frames benchmarks and the flood test share it). */
#ifndef XDPSPLIT_BENCH_LIVE_FRAMES_H
#define XDPSPLIT_BENCH_LIVE_FRAMES_H

#include <linux/types.h>

struct generator;

/* Runs the generator `packets` times with BPF_F_TEST_XDP_LIVE_FRAMES: each
 * run writes its template (with the next source) and sends it with XDP_TX
 * out of ifindex. 0 or a negative errno. */
int live_frames_send(struct generator *gen, int ifindex, __u32 packets);
/* Rounds every CPU's packet count up to even, so that a connection class
 * (template.connections) starts with a SYN. */
void live_frames_align(struct generator *gen);
/* What xdp_sink has counted so far, on every CPU. */
__u64 live_frames_sunk(struct generator *gen);
/* A program's run-time statistics (with BPF_ENABLE_STATS on): the total
 * ns it ran and how many times. */
void live_frames_run_stats(int program_fd, __u64 *run_time_ns, __u64 *runs);

#endif
