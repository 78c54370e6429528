// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet fuzzing: mutated frames (seeded from the fixture table) through the
 * real XDP program with BPF_PROG_TEST_RUN, against the fixture VIP set (two
 * of its VIPs with backends in every pool), with these invariants on every
 * run:
 *   - the verdict is PASS, TX, DROP or REDIRECT (never ABORTED);
 *   - a passed or dropped frame leaves the program byte for byte unchanged;
 *   - a forwarded frame is well-formed: l2dsr changes the two MACs and
 *     nothing else, to a backend of the packet's VIP and from our MAC; ipip
 *     pushes one outer header with the right version, lengths, protocol and
 *     (IPv4) checksum, to a backend of the VIP, and the inner packet intact;
 *   - for a TCP/UDP packet whose key a plain parser finds (no IPv6 extension
 *     headers, not a fragment), the program's backend is the one xs_predict,
 *     the userspace decision model, names for a new flow;
 *   - an ICMP or ICMPv6 frame never writes the flow table: no flow table
 *     counter moves, and the quoted flow's bucket is byte for byte the same;
 *   - an ICMP too-big whose quote a plain parser reads (quoted IPv4, or IPv6
 *     without extension headers; TCP/UDP with 8 bytes, sent to the quote's
 *     source, a VIP) is forwarded, to the backend xs_predict names for the
 *     quoted flow's client packets (the quoted tuple swapped).
 * A violation prints the frames and aborts, so libFuzzer keeps the input.
 *
 * Needs root: it makes its own network namespace and pin directory.
 * XDPSPLIT_WRITE_SEEDS=DIR writes the fixture frames to DIR and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/decision.h"
#include "user/lib/flow_table.h"
#include "user/lib/predict.h"
#include "testlib/env.h"
#include "tests/fixtures.h"
#include "testlib/packet.h"

static struct test_env env;
static __u8 lb_mac[6];
static unsigned long long runs, unchanged, forwarded, predicted, icmp_runs,
	icmp_predicted;

/* The program's coverage, as libFuzzer sees it: one counter per reason the
 * program counted (libFuzzer clears them before every run), so inputs that
 * reach a new exit of the program are kept in the corpus. */
__attribute__((used, section("__libfuzzer_extra_counters"))) static __u8
	reasons_reached[XS_COUNTER_COUNT];
static __u64 reason_totals[XS_COUNTER_COUNT];

/* All the per-CPU counters in one batch read: a read per counter would
 * cost ten times the run itself. */
static int read_counters(__u64 *now)
{
	static __u32 keys[XS_COUNTER_COUNT];
	static __u64 *values;
	static int cpus;
	__u32 count = XS_COUNTER_COUNT, batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (!values) {
		cpus = libbpf_num_possible_cpus();
		values = calloc((size_t)cpus * XS_COUNTER_COUNT, sizeof(__u64));
		if (!values)
			return -1;
	}
	if (bpf_map_lookup_batch(env.dp.map_fd[XS_MAP_ID_GLOBAL_STATS], NULL,
				 &batch, keys, values, &count, &opts) &&
	    errno != ENOENT)
		return -1;
	memset(now, 0, XS_COUNTER_COUNT * sizeof(__u64));
	for (__u32 i = 0; i < count; i++)
		for (int cpu = 0; cpu < cpus; cpu++)
			now[keys[i]] += values[i * cpus + cpu];
	return 0;
}

static void note_reasons(void)
{
	__u64 now[XS_COUNTER_COUNT];

	if (read_counters(now))
		return;
	for (int c = 0; c < XS_COUNTER_COUNT; c++)
		if (now[c] != reason_totals[c])
			reasons_reached[c] = 1;
	memcpy(reason_totals, now, sizeof(now));
}

static void write_seeds(const char *dir)
{
	static __u8 frame[FRAME_CAPACITY];
	char path[512];
	size_t length;

	for (size_t i = 0; (length = fixture_frame(i, frame)); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/fixture-%02zu", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(frame, 1, length, f) != length) {
			perror(path);
			exit(1);
		}
		fclose(f);
	}
	exit(0);
}

static void cleanup(void)
{
	fprintf(stderr,
		"fuzz_packets: %llu frames: %llu passed or dropped unchanged, %llu forwarded well-formed, %llu of them checked against xs_predict\n",
		runs, unchanged, forwarded, predicted);
	fprintf(stderr,
		"fuzz_packets: %llu ICMP frames left the flow table unwritten; %llu too-big quotes forwarded as xs_predict said\n",
		icmp_runs, icmp_predicted);
	env_teardown(&env);
}

/* More backends in every pool of two fixture VIPs, with weights: else
 * every choice for a VIP is its one backend, and a wrong hash or key
 * would agree with xs_predict all the same. */
static void spread_vips(void)
{
	static const struct {
		int family;
		const char *vip, *backend;
		__u16 port;
		__u8 pool;
	} extra[] = {
		{ 4, "10.100.0.1", "10.0.1.11", 80, XS_POOL_BLUE },
		{ 4, "10.100.0.1", "10.0.1.12", 80, XS_POOL_BLUE },
		{ 4, "10.100.0.1", "10.0.1.21", 80, XS_POOL_GREEN },
		{ 4, "10.100.0.1", "10.0.1.31", 80, XS_POOL_CANARY },
		{ 6, "fd00:100::1", "fd00:1::11", 443, XS_POOL_BLUE },
		{ 6, "fd00:100::1", "fd00:1::31", 443, XS_POOL_CANARY },
	};

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		struct xs_vip_key key = { .port = htons(extra[i].port),
					  .protocol = IPPROTO_TCP };
		struct xs_vip vip;

		key.family = extra[i].family == 4 ? XS_FAMILY_IPV4 :
						    XS_FAMILY_IPV6;
		parse_address(extra[i].family, extra[i].vip, key.address);
		if (xs_vip_read(&env.dp, &key, &vip))
			abort();
		env_add_backend(&env, vip.vip_id, extra[i].pool,
				extra[i].family, extra[i].backend, 1);
		if (env_set_weights(&env, vip.vip_id, 6000, 3000, 1000,
				    XS_POOL_BLUE))
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("XDPSPLIT_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (seeds)
		write_seeds(seeds);
	if (env_make_network() || env_setup(&env)) {
		fprintf(stderr,
			"fuzz_packets: no network namespace or program (run as root)\n");
		exit(1);
	}
	fixture_setup(&env);
	spread_vips();
	atexit(cleanup);
	parse_mac(TEST_LB_MAC, lb_mac);
	return 0;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* The part of the model that needs no program: where L3 starts (after at
 * most two VLAN tags) and its EtherType; 0 if the frame is not IP. */
static size_t model_l3(const __u8 *frame, size_t length, __u16 *ethertype)
{
	size_t offset = 12;

	for (int tags = 0; tags < 3 && offset + 2 <= length; tags++) {
		__u16 type = get16(frame + offset);

		if ((type == 0x8100 || type == 0x88a8) && tags < 2) {
			offset += 4;
			continue;
		}
		*ethertype = type;
		return type == 0x0800 || type == 0x86dd ? offset + 2 : 0;
	}
	return 0;
}

/* Where a plain parser finds the outer IP packet's payload: TCP/UDP/ICMP
 * after the IP header (no IPv6 extension header), the IP packet inside
 * the frame, not a fragment. Fills the key's addresses, family,
 * protocol and VLAN, *l4 and *ip_end; 0 if it cannot say. */
static int model_ip(const __u8 *frame, size_t length, struct xs_flow_key *key,
		    size_t *l4, size_t *ip_end)
{
	__u16 ethertype = 0;
	size_t l3 = model_l3(frame, length, &ethertype);
	const __u8 *ip = frame + l3;

	if (!l3)
		return 0;
	memset(key, 0, sizeof(*key));
	if (l3 > 14) /* tagged: the outer tag's VLAN ID is in the key */
		key->vlan_id = get16(frame + 14) & XS_VLAN_ID_MASK;
	if (ethertype == 0x0800) {
		size_t header = (ip[0] & 0xf) * 4;

		if (l3 + 20 > length || ip[0] >> 4 != 4 || header < 20 ||
		    get16(ip + 6) & 0x3fff || l3 + get16(ip + 2) > length ||
		    get16(ip + 2) < header)
			return 0;
		key->protocol = ip[9];
		key->family = XS_FAMILY_IPV4;
		memcpy(key->client, ip + 12, 4);
		memcpy(key->vip, ip + 16, 4);
		*l4 = l3 + header;
		*ip_end = l3 + get16(ip + 2);
	} else {
		if (l3 + 40 > length || ip[0] >> 4 != 6 ||
		    l3 + 40 + get16(ip + 4) > length)
			return 0;
		key->protocol = ip[6];
		key->family = XS_FAMILY_IPV6;
		memcpy(key->client, ip + 8, 16);
		memcpy(key->vip, ip + 24, 16);
		*l4 = l3 + 40;
		*ip_end = l3 + 40 + get16(ip + 4);
	}
	return 1;
}

/* A plain parser's flow key (with the outer VLAN): TCP or UDP, no IPv6
 * extension header, not a fragment, headers inside the frame. 0 if it
 * cannot say. */
static int model_key(const __u8 *frame, size_t length, struct xs_flow_key *key)
{
	size_t l4, ip_end;

	if (!model_ip(frame, length, key, &l4, &ip_end))
		return 0;
	if (key->protocol == IPPROTO_TCP) {
		if (l4 + 20 > length || frame[l4 + 12] >> 4 < 5 ||
		    l4 + (frame[l4 + 12] >> 4) * 4 > length)
			return 0;
	} else if (key->protocol != IPPROTO_UDP || l4 + 8 > length) {
		return 0;
	}
	memcpy(&key->client_port, frame + l4, 2);
	memcpy(&key->vip_port, frame + l4 + 2, 2);
	return 1;
}

/* 1 if the frame is ICMP or ICMPv6 as a plain parser sees it. */
static int model_is_icmp(const __u8 *frame, size_t length)
{
	struct xs_flow_key outer;
	size_t l4, ip_end;

	return model_ip(frame, length, &outer, &l4, &ip_end) &&
	       outer.protocol == (outer.family == XS_FAMILY_IPV4 ?
					  IPPROTO_ICMP :
					  IPPROTO_ICMPV6);
}

/* The client's flow key of an ICMP too-big, read by a plain parser: the
 * quote's tuple swapped, the outer VLAN. 0 if it is no too-big, is
 * malformed, is not sent to the quote's source, or has a quote the model
 * does not read (IPv6 extension headers). */
static int model_icmp_key(const __u8 *frame, size_t length,
			  struct xs_flow_key *key)
{
	size_t l4, ip_end, quote, ports;
	const __u8 *q;

	if (!model_is_icmp(frame, length) ||
	    !model_ip(frame, length, key, &l4, &ip_end))
		return 0;
	quote = l4 + 8;
	q = frame + quote;
	if (key->family == XS_FAMILY_IPV4) {
		size_t header;

		if (quote + 20 > ip_end || frame[l4] != 3 || frame[l4 + 1] != 4)
			return 0;
		header = (q[0] & 0xf) * 4;
		if (q[0] >> 4 != 4 || header < 20 || get16(q + 6) & 0x1fff ||
		    memcmp(q + 12, key->vip, 4))
			return 0;
		key->protocol = q[9];
		memcpy(key->client, q + 16, 4);
		ports = quote + header;
	} else {
		if (quote + 40 > ip_end || frame[l4] != 2 || q[0] >> 4 != 6 ||
		    memcmp(q + 8, key->vip, 16))
			return 0;
		key->protocol = q[6];
		memcpy(key->client, q + 24, 16);
		ports = quote + 40;
	}
	if ((key->protocol != IPPROTO_TCP && key->protocol != IPPROTO_UDP) ||
	    ports + 8 > ip_end)
		return 0;
	memcpy(&key->vip_port, frame + ports, 2);
	memcpy(&key->client_port, frame + ports + 2, 2);
	return 1;
}

/* The VIP a key belongs to: its port, else the address's every-port VIP. */
static int model_vip(const struct xs_flow_key *key, struct xs_vip *vip)
{
	struct xs_vip_key vip_key = { .port = key->vip_port,
				      .protocol = key->protocol,
				      .family = key->family };

	memcpy(vip_key.address, key->vip, sizeof(vip_key.address));
	if (!xs_vip_read(&env.dp, &vip_key, vip))
		return 1;
	vip_key.port = 0;
	return !xs_vip_read(&env.dp, &vip_key, vip);
}

static void violation(const char *what, const __u8 *in, size_t in_length,
		      const struct run_result *out)
{
	fprintf(stderr, "INVARIANT: %s (verdict %d)\n  in: ", what,
		out->action);
	for (size_t i = 0; i < in_length && i < 128; i++)
		fprintf(stderr, "%02x", in[i]);
	fprintf(stderr, "\n  out:");
	for (size_t i = 0; i < out->length && i < 128; i++)
		fprintf(stderr, "%02x", out->frame[i]);
	fputc('\n', stderr);
	abort();
}

static __u16 checksum(const __u8 *p, size_t length)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < length; i += 2)
		sum += get16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The backend a forwarded frame went to, or 0 if it is not well-formed. */
static __u32 forwarded_backend(const __u8 *in, size_t length,
			       const struct run_result *out)
{
	struct xs_backend backend;
	__u16 ethertype = 0;
	size_t l3;

	if (out->length == length) {
		/* l2dsr: the MACs and nothing else */
		__u32 id = env_backend_of_frame(out->frame);

		if (memcmp(out->frame + 6, in, 6) ||
		    memcmp(out->frame + 12, in + 12, length - 12))
			return 0;
		return id;
	}
	l3 = model_l3(in, length, &ethertype);
	if (!l3 || memcmp(out->frame + 6, lb_mac, 6) ||
	    memcmp(out->frame + 12, in + 12, l3 - 12))
		return 0;
	if (out->length == length + 20 && ethertype == 0x0800) {
		const __u8 *outer = out->frame + l3;

		/* the outer length covers the inner packet; an Ethernet
		 * trailer after it rides along, as it came */
		if (outer[0] != 0x45 || outer[9] != IPPROTO_IPIP ||
		    get16(outer + 2) != 20 + get16(in + l3 + 2) ||
		    checksum(outer, 20) != 0 ||
		    memcmp(outer + 20, in + l3, length - l3))
			return 0;
		for (__u32 id = 1; id < 16; id++)
			if (!xs_backend_read(&env.dp, id, &backend) &&
			    backend.family == XS_FAMILY_IPV4 &&
			    !memcmp(backend.address, outer + 16, 4))
				return id;
		return 0;
	}
	if (out->length == length + 40 && ethertype == 0x86dd) {
		const __u8 *outer = out->frame + l3;

		if (outer[0] >> 4 != 6 || outer[6] != IPPROTO_IPV6 ||
		    get16(outer + 4) != 40 + get16(in + l3 + 4) ||
		    memcmp(outer + 40, in + l3, length - l3))
			return 0;
		for (__u32 id = 1; id < 16; id++)
			if (!xs_backend_read(&env.dp, id, &backend) &&
			    backend.family == XS_FAMILY_IPV6 &&
			    !memcmp(backend.address, outer + 24, 16))
				return id;
	}
	return 0;
}

/* The bucket a flow key is looked up in, as the program reads it. */
static void read_bucket(const struct xs_flow_key *key,
			struct xs_flow_bucket *bucket)
{
	__u32 hash = xs_flow_table_hash(key, env.dp.config.flow_seed);
	__u32 index = xs_flow_bucket_index(
		hash, xs_flow_buckets(env.dp.config.max_flows));

	memset(bucket, 0, sizeof(*bucket));
	bpf_map_lookup_elem(env.dp.map_fd[XS_MAP_ID_FLOWS], &index, bucket);
}

/* Whether a counter of the flow table's events moved in the last run. */
static int flow_table_counted(const __u64 *before)
{
	for (int c = XS_FLOW_RECHOSEN_BACKEND_DOWN;
	     c <= XS_FLOW_MIDSTREAM_PICKUP; c++)
		if (reason_totals[c] != before[c])
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	static struct xs_flow_bucket bucket_before, bucket_after;
	__u64 totals_before[XS_COUNTER_COUNT];
	struct xs_flow_key quoted;
	struct xs_vip quoted_vip;
	int icmp, quote_modelled;
	static __u8 in[FRAME_CAPACITY];
	static struct run_result out;
	struct xs_prediction prediction;
	struct xs_backend backend;
	struct xs_flow_key key;
	struct xs_vip vip;
	int modelled;
	__u32 backend_id;

	/* the kernel takes at least an Ethernet header; room for an outer one */
	if (size < 14 || size > FRAME_CAPACITY - 64)
		return 0;
	memcpy(in, data, size);
	modelled = model_key(in, size, &key) && model_vip(&key, &vip);
	if (modelled) {
		/* a fresh decision: the one the model makes */
		xs_flow_remove(&env.dp, &key);
	}
	icmp = model_is_icmp(in, size);
	quote_modelled = icmp && model_icmp_key(in, size, &quoted) &&
			 model_vip(&quoted, &quoted_vip);
	if (quote_modelled) {
		/* no stored flow: the ICMP gets a fresh decision */
		xs_flow_remove(&env.dp, &quoted);
		read_bucket(&quoted, &bucket_before);
	}
	memcpy(totals_before, reason_totals, sizeof(totals_before));
	if (env_run(&env, in, (__u32)size, &out))
		violation("BPF_PROG_TEST_RUN failed", in, size, &out);
	note_reasons();
	runs++;
	if (icmp) {
		if (flow_table_counted(totals_before))
			violation("an ICMP frame counted a flow table event",
				  in, size, &out);
		if (quote_modelled) {
			read_bucket(&quoted, &bucket_after);
			if (memcmp(&bucket_before, &bucket_after,
				   sizeof(bucket_before)))
				violation(
					"an ICMP frame wrote its flow's bucket",
					in, size, &out);
			if (out.action != XDP_TX && out.action != XDP_REDIRECT)
				violation(
					"an ICMP too-big about a VIP flow was not forwarded",
					in, size, &out);
		}
		icmp_runs++;
	}

	switch (out.action) {
	case XDP_PASS:
	case XDP_DROP:
		if (out.length != size || memcmp(out.frame, in, size))
			violation("a passed or dropped frame was changed", in,
				  size, &out);
		unchanged++;
		return 0;
	case XDP_TX:
	case XDP_REDIRECT:
		break;
	default:
		violation("verdict outside PASS, TX, DROP, REDIRECT", in, size,
			  &out);
	}
	backend_id = forwarded_backend(in, size, &out);
	if (!backend_id || xs_backend_read(&env.dp, backend_id, &backend))
		violation("a forwarded frame is malformed or to no backend", in,
			  size, &out);
	forwarded++;
	if (modelled) {
		if (backend.vip_id != vip.vip_id)
			violation("forwarded to a backend of another VIP", in,
				  size, &out);
		if (xs_predict(&env.dp, &vip, &key, &prediction) ||
		    prediction.backend_id != backend_id)
			violation("the program and xs_predict disagree", in,
				  size, &out);
		predicted++;
	}
	if (quote_modelled) {
		if (backend.vip_id != quoted_vip.vip_id)
			violation(
				"an ICMP forwarded to a backend of another VIP",
				in, size, &out);
		if (xs_predict(&env.dp, &quoted_vip, &quoted, &prediction) ||
		    prediction.backend_id != backend_id)
			violation(
				"an ICMP's backend is not xs_predict's for its quoted flow",
				in, size, &out);
		icmp_predicted++;
	}
	return 0;
}
