// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "generator.h"
#include "generator.skel.h"
#include "live_frames.h"

int live_frames_send(struct generator *gen, int ifindex, __u32 packets)
{
	static __u8 frame[TEMPLATE_BYTES];
	struct xdp_md context = { .data_end = TEMPLATE_BYTES,
				  .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = TEMPLATE_BYTES, .ctx_in = &context,
		    .ctx_size_in = sizeof(context), .repeat = packets,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);

	/* the program rewrites every frame; this only sizes the first */
	memcpy(frame, gen->bss->template.bytes, TEMPLATE_BYTES);
	return bpf_prog_test_run_opts(bpf_program__fd(gen->progs.xdp_generator),
				      &opts);
}
