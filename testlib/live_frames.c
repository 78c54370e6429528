// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib/generator.h"
#include "generator.skel.h"
#include "testlib/live_frames.h"

int live_frames_send(struct generator *gen, int ifindex, __u32 packets)
{
	/* one per thread: generators may run on two CPUs at once */
	static __thread __u8 frame[TEMPLATE_BYTES];
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

void live_frames_align(struct generator *gen)
{
	for (int cpu = 0; cpu < GENERATOR_MAX_CPUS; cpu++)
		gen->bss->sequence[cpu].sent += gen->bss->sequence[cpu].sent &
						1;
}

__u64 live_frames_sunk(struct generator *gen)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 values[cpus], total = 0;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(gen->maps.sink_count), &zero,
				values))
		return 0;
	for (int i = 0; i < cpus; i++)
		total += values[i];
	return total;
}

void live_frames_run_stats(int program_fd, __u64 *run_time_ns, __u64 *runs)
{
	struct bpf_prog_info info = { 0 };
	__u32 length = sizeof(info);

	bpf_obj_get_info_by_fd(program_fd, &info, &length);
	*run_time_ns = info.run_time_ns;
	*runs = info.run_cnt;
}
