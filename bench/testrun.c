// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost in BPF_PROG_TEST_RUN, repeat = 1 (a rewriting program
 * must see a fresh packet every run), 100,000 packets per class and
 * program, three rounds. Reports the median and p90 of the kernel's own
 * timing of each run, minus the null program's median, for xdp_split and
 * the two floors, and xdp_split's ratio to the stateful floor. A
 * connection class's figure is the mean of its SYNs' and its ACKs' (half a
 * connection): the median of the two mixed would be one or the other.
 * Writes a table (markdown) to stdout and the figures to argv[1] (TSV).
 * A second argument runs only the classes whose name contains it (one
 * class measured before and after a change, without the whole run).
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floors.skel.h"
#include "user/lib/log.h"
#include "classes.h"
#include "common.h"

#define PACKETS 100000
#define ROUNDS BENCH_ROUNDS

enum program { SPLIT, STATEFUL, STATELESS, NULL_PROGRAM, PROGRAMS };

#define CLASSES CLASS_COUNT

static int program_fd[PROGRAMS];
static struct test_env env;
static __u32 durations[PACKETS];
/* [class][program][round] medians and p90s, ns */
static double median_ns[CLASSES][PROGRAMS][ROUNDS],
	p90_ns[CLASSES][PROGRAMS][ROUNDS];

static int run_one(int fd, const __u8 *frame, __u32 length, __u32 *duration)
{
	static __u8 out[FRAME_CAPACITY];
	struct xdp_md context = { .data_end = length,
				  .ingress_ifindex = env.ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = length, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &context,
		    .ctx_size_in = sizeof(context), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	*duration = opts.duration;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	return (x > y) - (x < y);
}

/* Runs one class through one program; fills that round's figures. */
static int measure(size_t ci, int p, int round)
{
	const struct class *c = &classes[ci];
	__u8 frame[FRAME_CAPACITY];
	struct packet_spec spec;
	char client[64];
	__u64 base =
		((__u64)round * PROGRAMS + p) * PACKETS * 4 + ci * PACKETS * 64;
	size_t length;

	/* established classes: the flows exist before the clock starts */
	for (__u32 f = 0; f < c->flows; f++) {
		flow_spec(c, f, c->protocol == IPPROTO_TCP ? 0x02 : 0, &spec,
			  client);
		length = build_packet(&spec, frame);
		if (run_one(program_fd[p], frame, length, &durations[0]))
			return -1;
	}
	for (__u32 i = 0; i < PACKETS; i++) {
		__u64 n = c->flows ? i % c->flows : base + i;
		/* a connection: SYNs in the first half of durations, their
		 * ACKs (same tuple, the next run) in the second */
		bool ack = c->connection && (i & 1);
		__u32 slot =
			c->connection ? (i >> 1) + (ack ? PACKETS / 2 : 0) : i;

		flow_spec(c, c->connection ? base + (i & ~1U) : n,
			  c->tcp_syn && !ack ? 0x02 : 0x10, &spec, client);
		length = build_packet(&spec, frame);
		if (run_one(program_fd[p], frame, length, &durations[slot]))
			return -1;
	}
	if (c->connection) {
		__u32 half = PACKETS / 2;

		qsort(durations, half, sizeof(durations[0]), by_value);
		qsort(durations + half, half, sizeof(durations[0]), by_value);
		median_ns[ci][p][round] =
			(durations[half / 2] + durations[half + half / 2]) /
			2.0;
		p90_ns[ci][p][round] = (durations[half * 9 / 10] +
					durations[half + half * 9 / 10]) /
				       2.0;
		return 0;
	}
	qsort(durations, PACKETS, sizeof(durations[0]), by_value);
	median_ns[ci][p][round] = durations[PACKETS / 2];
	p90_ns[ci][p][round] = durations[PACKETS * 9 / 10];
	return 0;
}

int main(int argc, char **argv)
{
	struct xs_load_options defaults = { 0 };
	struct floors *floors;
	const char *filter;
	FILE *tsv;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s FIGURES.tsv [CLASS]\n", argv[0]);
		return 2;
	}
	filter = argc == 3 ? argv[2] : "";
	if (bench_setup(&env, &defaults))
		return 1;
	floors = floors__open_and_load();
	if (!floors) {
		env_teardown(&env);
		return 1;
	}
	setup_vips(&env);
	program_fd[SPLIT] = env.prog_fd;
	program_fd[STATEFUL] =
		bpf_program__fd(floors->progs.xdp_stateful_floor);
	program_fd[STATELESS] =
		bpf_program__fd(floors->progs.xdp_stateless_floor);
	program_fd[NULL_PROGRAM] = bpf_program__fd(floors->progs.xdp_null);

	for (int round = 0; round < ROUNDS; round++)
		for (size_t c = 0; c < CLASSES; c++)
			for (int p = 0; p < PROGRAMS; p++)
				if (strstr(classes[c].name, filter) &&
				    measure(c, p, round)) {
					fprintf(stderr, "test run failed\n");
					return 1;
				}

	tsv = fopen(argv[1], "w");
	printf("| class (BPF_PROG_TEST_RUN, ns/packet minus null, median [range] of %d rounds; p90) | xdp_split | stateful floor | stateless floor | xdp_split / stateful | reproduce |\n",
	       ROUNDS);
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (size_t c = 0; c < CLASSES; c++) {
		double null = bench_median(median_ns[c][NULL_PROGRAM]);

		if (!strstr(classes[c].name, filter))
			continue;
		double cost[PROGRAMS];

		printf("| %s |", classes[c].name);
		for (int p = 0; p < NULL_PROGRAM; p++) {
			double m = bench_median(median_ns[c][p]) - null;

			cost[p] = m;
			if (p == STATEFUL && !classes[c].floor) {
				printf(" n/a (not the floor's work: it parses TCP/IPv4 and only rewrites MACs) |");
				continue;
			}
			double low, high;

			bench_range(median_ns[c][p], &low, &high);
			printf(" %.0f [%.0f–%.0f]; p90 %.0f |", m, low - null,
			       high - null, bench_median(p90_ns[c][p]) - null);
		}
		if (classes[c].floor && cost[STATEFUL] > 0)
			printf(" %.2f |", cost[SPLIT] / cost[STATEFUL]);
		else
			printf(" – |");
		printf(" `build/xdpsplit-bench F.tsv` |\n");
		/* NaN: gnuplot leaves out a floor that does not do this work */
		if (tsv)
			fprintf(tsv, "\"%s\"\t%.1f\t%.1f\t%.1f\n",
				classes[c].name, cost[SPLIT],
				classes[c].floor ? cost[STATEFUL] : NAN,
				cost[STATELESS]);
	}
	for (size_t c = 0; c < CLASSES; c++)
		if (strstr(classes[c].name, filter)) {
			printf("\nnull program: %.0f ns median (subtracted above)\n",
			       bench_median(median_ns[c][NULL_PROGRAM]));
			break;
		}
	if (tsv)
		fclose(tsv);
	floors__destroy(floors);
	env_teardown(&env);
	return 0;
}
