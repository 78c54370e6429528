// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The load generator and the sink for live-frame benchmarks.
 * xdp_generator runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES:
 * each run writes the whole packet template again (live-frame pages are
 * recycled as the receiver left them), gives it the next client address and
 * port, and sends it with XDP_TX into the veth whose peer runs the program
 * under test. xdp_sink, attached to the generator's side, counts and drops
 * what comes back. Two generators may run at once, one per CPU, each
 * numbering its own packets.
 */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#include "testlib/generator.h"

struct template template;

struct sequence sequence[GENERATOR_MAX_CPUS];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

static __always_inline void put16(__u8 *p, __u16 value)
{
	p[0] = value >> 8;
	p[1] = value;
}

static __always_inline __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* One's complement checksum after a 16-bit word changed (RFC 1624). */
static __always_inline void fix_checksum(__u8 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~get16(check) + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(check, ~sum);
}

/* A 32-bit mix of the packet number: sources that look random and repeat
 * only after 2^32 packets. */
static __always_inline __u32 scatter(__u64 n)
{
	__u32 x = (__u32)n;

	x *= 0x9e3779b1U;
	x ^= x >> 15;
	x *= 0x85ebca77U;
	x ^= x >> 13;
	return x;
}

/* IPv4 TCP or UDP: new low address bits and port, checksums kept right. */
static __always_inline void forge_source(__u8 *data, __u64 n)
{
	__u8 *ip = data + 14, *l4 = ip + 20;
	__u8 *l4_check = l4 + (ip[9] == 6 ? 16 : 6);
	__u32 r = scatter(n);
	__u16 old_address = get16(ip + 14), old_port = get16(l4);
	__u16 address = r & 0xffff, port = 1024 + (r >> 16) % 64512;

	put16(ip + 14, address);
	put16(l4, port);
	fix_checksum(ip + 10, old_address, address);
	fix_checksum(l4_check, old_address, address);
	fix_checksum(l4_check, old_port, port);
}

SEC("xdp")
int xdp_generator(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 cpu = bpf_get_smp_processor_id() % GENERATOR_MAX_CPUS;
	__u32 stride = template.stride > 1 ? template.stride : 1;
	__u64 n = sequence[cpu].sent++, stream;
	__u32 flow;
	bool ack = template.connections && (n & 1);

	if ((void *)(data + TEMPLATE_BYTES) > end)
		return XDP_DROP;
	__builtin_memcpy(data, template.bytes, TEMPLATE_BYTES);
	if (template.random_sources) {
		forge_source(data, n);
		return XDP_TX;
	}
	/* a connection's ACK takes its SYN's tuple: numbers only ever grow,
	 * so no class meets a flow another class made */
	stream = (template.connections ? n & ~1ULL : n) * stride + cpu % stride;
	flow = template.flows ? stream % template.flows : stream;
	if (ack) /* the TCP flags, after the IP header */
		data[14 + (template.ipv6 ? 40 : 20) + 13] = 0x10;
	/* client address: the low 16 bits; client port: the rest */
	if (template.ipv6) {
		put16(data + 14 + 8 + 14, flow & 0xffff);
		put16(data + 14 + 40, 1024 + (flow >> 16));
	} else {
		put16(data + 14 + 12 + 2, flow & 0xffff);
		put16(data + 14 + 20, 1024 + (flow >> 16));
	}
	return XDP_TX;
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&sink_count, &zero);

	(void)ctx;
	if (count)
		*count += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
