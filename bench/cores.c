// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Two cores against one on live frames. The LB's receive path is spread
 * over both CPUs: a veth pair with two queues a side (mq0, mq0peer, next
 * to lb0), where veth puts a frame on the receive queue of the CPU that
 * sent it and runs that queue's NAPI on that CPU, as RSS would. One
 * generator thread pinned to each CPU, each running
 * BPF_F_TEST_XDP_LIVE_FRAMES, against one such thread on CPU 1. Mpps is
 * what the sink received over the wall time of all threads.
 *
 * What limits it is printed under the table: each CPU's busy share during
 * the two-core runs (/proc/stat: other users of the machine show up too),
 * xdp_split's ns/packet on two cores against one (a rise means the CPUs
 * contend for something: a lock, a shared cache line), and the stateless
 * floor's own scaling (the generator and veth share the cores, so that is
 * the most this harness can show).
 * Writes a markdown table and `target: ` lines to stdout.
 */
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floors.skel.h"
#include "testlib/generator.h"
#include "generator.skel.h"
#include "testlib/live_frames.h"
#include "classes.h"
#include "common.h"

#define PACKETS 1000000 /* per generator */
#define ROUNDS BENCH_ROUNDS
#define CPUS 2

enum program { SPLIT, STATELESS, PROGRAMS };
static const char *const program_names[PROGRAMS] = { "xdp_split",
						     "stateless floor" };
static const enum class_id measured[] = { CLASS_ESTABLISHED, CLASS_CONNECTION };
#define MEASURED (sizeof(measured) / sizeof(measured[0]))

static struct test_env env;
static struct generator *gen;
static int program_fd[PROGRAMS], lb_ifindex, sink_ifindex;
/* [class][program][cores - 1][round] */
static double mpps[MEASURED][PROGRAMS][CPUS][ROUNDS],
	ns[MEASURED][PROGRAMS][CPUS][ROUNDS];

/* /proc/stat's jiffies of one CPU */
struct cpu_time {
	unsigned long long busy, system, softirq, steal, total;
};
static struct cpu_time two_core_time[CPUS];

struct sender {
	pthread_t thread;
	int cpu, err;
	pthread_barrier_t *start;
};

static void read_cpu_times(struct cpu_time *times)
{
	char line[256];
	FILE *f = fopen("/proc/stat", "r");

	memset(times, 0, sizeof(*times) * CPUS);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (sscanf(line,
			   "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) != 9 ||
		    cpu < 0 || cpu >= CPUS)
			continue;
		times[cpu].total =
			v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		times[cpu].busy = times[cpu].total - v[3] - v[4];
		times[cpu].system = v[2];
		times[cpu].softirq = v[6];
		times[cpu].steal = v[7];
	}
	if (f)
		fclose(f);
}

static void *send_from_cpu(void *arg)
{
	struct sender *sender = arg;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sender->cpu, &one);
	sender->err = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	pthread_barrier_wait(sender->start);
	if (!sender->err)
		sender->err = live_frames_send(gen, sink_ifindex, PACKETS);
	return NULL;
}

/* One class through one program from `cores` generators (CPU 1 alone, or
 * CPUs 0 and 1). */
static int measure(size_t mi, int p, int cores, int round)
{
	const struct class *c = &classes[measured[mi]];
	struct sender senders[CPUS];
	struct cpu_time before[CPUS], after[CPUS];
	pthread_barrier_t start;
	__u64 time0, runs0, time1, runs1, sunk0;
	double started;
	int err = 0;

	if (bpf_xdp_attach(lb_ifindex, program_fd[p], XDP_FLAGS_DRV_MODE, NULL))
		return -1;
	class_template(gen, c);
	/* every established flow exists before the clock starts */
	gen->bss->template.stride = 1;
	if (c->flows && live_frames_send(gen, sink_ifindex, c->flows))
		return -1;
	/* established: each CPU its own share of the flows, as RSS would;
	 * new tuples: CPU c always sends numbers c mod 2, so a one-core run
	 * never repeats a tuple a two-core run sent */
	gen->bss->template.stride = c->flows ? (__u32)cores : CPUS;
	live_frames_align(gen);
	pthread_barrier_init(&start, NULL, cores + 1);
	for (int i = 0; i < cores; i++) {
		senders[i] = (struct sender){ .cpu = cores == 1 ? 1 : i,
					      .start = &start };
		if (pthread_create(&senders[i].thread, NULL, send_from_cpu,
				   &senders[i]))
			abort();
	}
	live_frames_run_stats(program_fd[p], &time0, &runs0);
	sunk0 = live_frames_sunk(gen);
	read_cpu_times(before);
	pthread_barrier_wait(&start);
	started = bench_now();
	for (int i = 0; i < cores; i++) {
		pthread_join(senders[i].thread, NULL);
		err = err ? err : senders[i].err;
	}
	mpps[mi][p][cores - 1][round] =
		(live_frames_sunk(gen) - sunk0) / (bench_now() - started) / 1e6;
	read_cpu_times(after);
	live_frames_run_stats(program_fd[p], &time1, &runs1);
	ns[mi][p][cores - 1][round] =
		runs1 > runs0 ? (double)(time1 - time0) / (runs1 - runs0) : 0;
	pthread_barrier_destroy(&start);
	if (cores == CPUS && p == SPLIT)
		for (int cpu = 0; cpu < CPUS; cpu++) {
			two_core_time[cpu].busy +=
				after[cpu].busy - before[cpu].busy;
			two_core_time[cpu].system +=
				after[cpu].system - before[cpu].system;
			two_core_time[cpu].softirq +=
				after[cpu].softirq - before[cpu].softirq;
			two_core_time[cpu].steal +=
				after[cpu].steal - before[cpu].steal;
			two_core_time[cpu].total +=
				after[cpu].total - before[cpu].total;
		}
	return err;
}

static double ratio(size_t mi, int p)
{
	return bench_median(mpps[mi][p][1]) / bench_median(mpps[mi][p][0]);
}

static void print_results(void)
{
	double low, high;

	printf("| class (live frames, mq0 with two queues; Mpps at the sink over wall time; median [range] of %d rounds of %d packets per generator) | xdp_split one core | xdp_split two cores | two / one | stateless floor one core | stateless floor two cores | two / one | reproduce |\n",
	       ROUNDS, PACKETS);
	printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t mi = 0; mi < MEASURED; mi++) {
		printf("| %s |", classes[measured[mi]].name);
		for (int p = 0; p < PROGRAMS; p++) {
			for (int cores = 1; cores <= CPUS; cores++) {
				bench_range(mpps[mi][p][cores - 1], &low,
					    &high);
				printf(" %.2f [%.2f–%.2f] |",
				       bench_median(mpps[mi][p][cores - 1]),
				       low, high);
			}
			printf(" %.2f |", ratio(mi, p));
		}
		printf(" `build/xdpsplit-cores` |\n");
	}
	printf("\nWhat limits it: during xdp_split's two-core runs");
	for (int cpu = 0; cpu < CPUS; cpu++) {
		double total =
			two_core_time[cpu].total ? two_core_time[cpu].total : 1;

		printf("%s CPU %d was %.0f%% busy (softirq: NAPI and the programs %.0f%%, system: mostly the generator %.0f%%, steal %.0f%%)",
		       cpu ? "," : "", cpu,
		       100 * two_core_time[cpu].busy / total,
		       100 * two_core_time[cpu].softirq / total,
		       100 * two_core_time[cpu].system / total,
		       100 * two_core_time[cpu].steal / total);
	}
	printf("; each CPU also runs its generator, so the stateless floor's two / one is the most this harness shows.");
	for (size_t mi = 0; mi < MEASURED; mi++)
		printf(" %s: %s %.0f ns/packet on two cores against %.0f on one (bpf_stats, with its own cost)%s",
		       classes[measured[mi]].name, program_names[SPLIT],
		       bench_median(ns[mi][SPLIT][1]),
		       bench_median(ns[mi][SPLIT][0]),
		       mi + 1 < MEASURED ? ";" : ".\n");
	bench_target("established throughput on two cores >= 1.7x one core",
		     ratio(0, SPLIT) >= 1.7,
		     "%.2fx (%s; the stateless floor %.2fx)", ratio(0, SPLIT),
		     classes[measured[0]].name, ratio(0, STATELESS));
	bench_target("new-connection throughput on two cores >= 1.7x one core",
		     ratio(1, SPLIT) >= 1.7,
		     "%.2fx (%s; the stateless floor %.2fx)", ratio(1, SPLIT),
		     classes[measured[1]].name, ratio(1, STATELESS));
}

/* mq0/mq0peer: lb0's pair again, with a receive queue per CPU a side */
static int make_two_queue_pair(void)
{
	if (system("ip link add mq0 address " TEST_LB_MAC
		   " numtxqueues 2 numrxqueues 2 "
		   "type veth peer name mq0peer numtxqueues 2 numrxqueues 2 && "
		   "ip link set mq0 up && ip link set mq0peer up"))
		return -1;
	lb_ifindex = (int)if_nametoindex("mq0");
	sink_ifindex = (int)if_nametoindex("mq0peer");
	return lb_ifindex && sink_ifindex ? 0 : -1;
}

int main(void)
{
	struct xs_load_options defaults = { 0 };
	struct floors *floors = NULL;
	int stats_fd, rc = 1;

	if (sysconf(_SC_NPROCESSORS_ONLN) < CPUS) {
		printf("two cores against one: this machine has fewer than two CPUs\n");
		return 0;
	}
	if (bench_setup(&env, &defaults))
		return 1;
	floors = floors__open_and_load();
	gen = generator__open_and_load();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (!floors || !gen || stats_fd < 0 || make_two_queue_pair() ||
	    bpf_xdp_attach(sink_ifindex, bpf_program__fd(gen->progs.xdp_sink),
			   XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr,
			"Couldn't set up the generator, sink, floors or mq0\n");
		goto out;
	}
	setup_vips(&env);
	program_fd[SPLIT] = env.prog_fd;
	program_fd[STATELESS] =
		bpf_program__fd(floors->progs.xdp_stateless_floor);

	/* interleaved, and the one-core run first and last in turn, so a
	 * filling flow table or a neighbour's load falls on both */
	for (int round = 0; round < ROUNDS; round++)
		for (size_t mi = 0; mi < MEASURED; mi++)
			for (int p = 0; p < PROGRAMS; p++)
				for (int i = 0; i < CPUS; i++)
					if (measure(mi, p,
						    round % 2 ? CPUS - i :
								i + 1,
						    round)) {
						fprintf(stderr,
							"two-core run failed\n");
						goto out;
					}
	print_results();
	rc = 0;
out:
	if (lb_ifindex)
		bpf_xdp_detach(lb_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (sink_ifindex)
		bpf_xdp_detach(sink_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	generator__destroy(gen);
	floors__destroy(floors);
	env_teardown(&env);
	return rc;
}
