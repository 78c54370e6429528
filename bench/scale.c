// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Control-plane and scale figures for `make bench`: the cost of the atomic
 * route write, of building and installing the Maglev table of a
 * 1,000-backend pool, the kernel memory of every map at the default and at
 * larger sizes, and what a full flow table does to flows in use.
 * Prints markdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "user/lib/flow_table.h"
#include "user/lib/log.h"
#include "user/lib/maglev.h"
#include "common.h"

static unsigned long long memlock(int fd)
{
	char path[64], line[256];
	unsigned long long bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &bytes) == 1)
			break;
	if (f)
		fclose(f);
	return bytes;
}

static void route_write(struct test_env *env)
{
	enum { WRITES = 10000 };
	static double samples[WRITES];
	__u32 vip = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);

	for (int i = 0; i < WRITES; i++) {
		struct xs_route route = { .weight = { 9500 - i % 2 * 500, 0,
						      500 + i % 2 * 500 } };
		double start = (bench_now() * 1e9);

		xs_route_write(&env->dp, vip, &route);
		samples[i] = (bench_now() * 1e9) - start;
	}
	qsort(samples, WRITES, sizeof(samples[0]), bench_by_double);
	printf("| route write (weights or switch), the map write alone | %.0f ns median, p99 %.0f ns, max %.0f ns (%d writes) | `build/xdpsplit-scale` |\n",
	       samples[WRITES / 2], samples[WRITES * 99 / 100],
	       samples[WRITES - 1], WRITES);
}

static void maglev(struct test_env *env)
{
	enum { BACKENDS = 1000, ROUNDS = 5 };
	struct xs_maglev_backend *backends =
		calloc(BACKENDS, sizeof(*backends));
	__u32 size = env->dp.config.maglev_size;
	__u32 *table = malloc(size * sizeof(*table));
	double build[ROUNDS], install[ROUNDS];

	for (int i = 0; i < BACKENDS; i++) {
		backends[i].id = i + 1;
		backends[i].address[0] = htonl(0x0a000000 | i);
		backends[i].weight = 1 + i % 3;
	}
	for (int r = 0; r < ROUNDS; r++) {
		double start = (bench_now() * 1e9);

		xs_maglev_build(backends, BACKENDS, size, table);
		build[r] = (bench_now() * 1e9) - start;
		start = (bench_now() * 1e9);
		xs_maglev_install(&env->dp, 0, XS_POOL_BLUE, table);
		install[r] = (bench_now() * 1e9) - start;
	}
	qsort(build, ROUNDS, sizeof(double), bench_by_double);
	qsort(install, ROUNDS, sizeof(double), bench_by_double);
	printf("| Maglev table of a 1,000-backend pool (%u slots, weights 1–3) | build %.1f ms [%.1f–%.1f], write and swap in %.1f ms [%.1f–%.1f] (%d rounds) | `build/xdpsplit-scale` |\n",
	       size, build[ROUNDS / 2] / 1e6, build[0] / 1e6,
	       build[ROUNDS - 1] / 1e6, install[ROUNDS / 2] / 1e6,
	       install[0] / 1e6, install[ROUNDS - 1] / 1e6, ROUNDS);
	free(backends);
	free(table);
}

static void memory(const char *label, const struct xs_load_options *o)
{
	struct test_env env;
	unsigned long long total = 0;

	if (env_setup_with(&env, o))
		return;
	printf("| map memory, %s (%u flows, %u VIPs, %u backends, Maglev %u) |",
	       label, env.dp.config.max_flows, env.dp.config.max_vips,
	       env.dp.config.max_backends, env.dp.config.maglev_size);
	for (int m = 0; m < XS_MAP_ID_COUNT; m++) {
		unsigned long long bytes = memlock(env.dp.map_fd[m]);

		total += bytes;
		if (bytes >= 1 << 20)
			printf(" %s %.1f MiB,", xs_map_names[m],
			       bytes / 1048576.0);
	}
	printf(" all maps %.1f MiB (each Maglev table of a pool: %.0f KiB more) | `build/xdpsplit-scale` |\n",
	       total / 1048576.0, env.dp.config.maglev_size * 4 / 1024.0);
	env_teardown(&env);
}

/* A 4,096-flow table takes 20,000 new flows while 1,000 flows stay busy. */
static void full_table(void)
{
	struct xs_load_options small = { .max_flows = 4096 };
	struct test_env env;
	struct run_result result;
	char client[64];
	int kept = 0, moved = 0;
	__u32 first[1000];

	if (env_setup_with(&env, &small))
		return;
	__u32 vip = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(client, sizeof(client), "10.0.1.%d", i + 1);
		env_add_backend(&env, vip, XS_POOL_BLUE, 4, client, 1);
	}
	for (int n = 0; n < 21000; n++) {
		struct packet_spec spec = { .family = 4,
					    .client = client,
					    .vip = "10.100.0.1",
					    .vip_port = 80,
					    .protocol = IPPROTO_TCP,
					    .tcp_flags = 0x02 };

		snprintf(client, sizeof(client), "198.18.%d.%d", n >> 8 & 0xff,
			 n & 0xff);
		spec.client_port = 1024 + n / 65536;
		env_run_spec(&env, &spec, &result);
		if (n < 1000)
			first[n] = env_backend_of_frame(result.frame);
		/* the busy flows send a packet every 100 new flows */
		if (n >= 1000 && n % 100 == 0)
			for (int b = 0; b < 1000; b++) {
				snprintf(client, sizeof(client), "198.18.%d.%d",
					 b >> 8, b & 0xff);
				spec.client_port = 1024;
				spec.tcp_flags = 0x10;
				env_run_spec(&env, &spec, &result);
			}
	}
	for (int b = 0; b < 1000; b++) {
		struct xs_flow_key key = { .client_port = htons(1024),
					   .vip_port = htons(80),
					   .protocol = IPPROTO_TCP,
					   .family = XS_FAMILY_IPV4 };
		struct xs_flow flow;

		snprintf(client, sizeof(client), "198.18.%d.%d", b >> 8,
			 b & 0xff);
		parse_address(4, client, key.client);
		parse_address(4, "10.100.0.1", key.vip);
		if (!xs_flow_find(&env.dp, &key, &flow, NULL)) {
			kept++;
			moved += flow.backend_id != first[b];
		}
	}
	printf("| full flow table: 4,096 flows (8,192 ways), 20,000 new flows while 1,000 flows stay busy | %d of 1,000 busy flows kept their entry (%d changed backend); inserts failed: %llu; new flows replaced %llu pending entries, %llu confirmed ones, and found %llu buckets full of live connections | `build/xdpsplit-scale` |\n",
	       kept, moved,
	       (unsigned long long)env_counter(&env, XS_FLOW_INSERT_FAILED),
	       (unsigned long long)env_counter(&env, XS_FLOW_PENDING_EVICTED),
	       (unsigned long long)env_counter(&env, XS_FLOW_CONFIRMED_EVICTED),
	       (unsigned long long)env_counter(&env, XS_FLOW_NOT_STORED));
	env_teardown(&env);
}

int main(void)
{
	struct xs_load_options defaults = { 0 };
	struct xs_load_options larger = { .max_flows = 4 << 20,
					  .max_vips = 1024,
					  .max_backends = 16384 };
	struct test_env env;

	if (bench_setup(&env, &defaults))
		return 1;
	printf("| control plane and scale | measured | reproduce |\n| --- | --- | --- |\n");
	route_write(&env);
	maglev(&env);
	env_teardown(&env);
	memory("default sizes", &defaults);
	memory("larger sizes", &larger);
	full_table();
	return 0;
}
