// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rollback reaction: a real splitd runs a canary at 50% while a thread
 * sends new TCP flows through xdp_split that complete their handshake. At a
 * moment the flows stop completing (SYNs only: the canary looks broken);
 * the time from that moment to the route write that takes the canary to 0
 * is the reaction. 20 breaches at a 1 s and at a 100 ms analysis interval.
 * Usage: xdpsplit-rollback SPLITD SPLITCTL
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "user/lib/log.h"
#include "common.h"

#define BREACHES 20

extern char **environ;

static struct test_env env;
static atomic_int broken, stop;

/* New flows, about 2,000 a second: SYN then ACK while healthy, SYN only
 * while "broken". */
static void *traffic(void *arg)
{
	static struct run_result result;
	char client[64];
	__u64 n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct packet_spec spec = { .family = 4,
					    .client = client,
					    .vip = "10.100.0.1",
					    .vip_port = 80,
					    .protocol = IPPROTO_TCP,
					    .tcp_flags = 0x02 };

		snprintf(client, sizeof(client), "198.18.%u.%u",
			 (unsigned)(n >> 8) & 0xff, (unsigned)n & 0xff);
		spec.client_port = 1024 + (n++ >> 16) % 60000;
		env_run_spec(&env, &spec, &result);
		if (!atomic_load(&broken)) {
			spec.tcp_flags = 0x10;
			env_run_spec(&env, &spec, &result);
		}
		usleep(500);
	}
	return NULL;
}

static int run(char *const args[], bool quiet)
{
	posix_spawn_file_actions_t actions;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&actions);
	if (quiet) {
		posix_spawn_file_actions_addopen(&actions, 1, "/dev/null",
						 O_WRONLY, 0);
		/* "is it running?" while splitd starts is expected */
		posix_spawn_file_actions_addopen(&actions, 2, "/dev/null",
						 O_WRONLY, 0);
	}
	if (posix_spawn(&pid, args[0], &actions, NULL, args, environ) ||
	    waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int canary_bp(void)
{
	struct xs_route route;

	xs_route_read(&env.dp, 0, &route);
	return route.weight[XS_POOL_CANARY];
}

/* One splitd at this interval, BREACHES breaches; the reactions, sorted. */
static int measure(const char *splitd, char *splitctl, const char *dir,
		   const char *interval, double *reactions)
{
	char config_path[256], *ctl_start[] = { splitctl, "rollout", "start",
						"10.100.0.1:80/tcp", NULL };
	char *daemon_args[] = { (char *)splitd, "-c", config_path, NULL };
	char mac_blue[24], mac_canary[24];
	__u8 mac[6];
	pid_t daemon;
	FILE *config;

	env_backend_mac(1, mac);
	snprintf(mac_blue, sizeof(mac_blue), "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	env_backend_mac(2, mac);
	snprintf(mac_canary, sizeof(mac_canary),
		 "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	snprintf(config_path, sizeof(config_path), "%s/splitd.yaml", dir);
	config = fopen(config_path, "w");
	if (!config)
		return -1;
	fprintf(config,
		"daemon: {interval: %s, metrics: 127.0.0.1:19464}\n"
		"vips:\n  - vip: 10.100.0.1:80/tcp\n    rollout: r\n    backends:\n"
		"      - {address: 10.0.1.1, pool: blue, mac: \"%s\"}\n"
		"      - {address: 10.0.1.2, pool: canary, mac: \"%s\"}\n"
		"rollouts:\n  - name: r\n    interval: %s\n"
		"    steps: [{weights: {canary: 50}}, {pause: 600s}]\n"
		"    analysis:\n      - {name: handshakes, metric: handshake_ratio, pool: canary,\n"
		"         min: 0.9, min_samples: 5, failures: 1}\n",
		interval, mac_blue, mac_canary, interval);
	fclose(config);
	/* splitd's log of each rollback is not what we measure */
	posix_spawn_file_actions_t quiet;
	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&daemon, splitd, &quiet, NULL, daemon_args, environ))
		return -1;
	for (int i = 0; i < BREACHES; i++) {
		double breached;

		atomic_store(&broken, 0);
		/* the daemon may still be starting: retry the start */
		for (int tries = 0; run(ctl_start, tries < 99) && tries < 100;
		     tries++)
			usleep(50000);
		/* bounded: a splitd that never starts the rollout fails the
		 * run instead of hanging it (its last start error is shown) */
		for (double began = bench_now(); canary_bp() != 5000;
		     usleep(1000))
			if (bench_now() - began > 30) {
				fprintf(stderr,
					"the rollout never reached 50%% in 30 s\n");
				kill(daemon, SIGTERM);
				waitpid(daemon, NULL, 0);
				return -1;
			}
		usleep(atoi(interval) *
		       (strstr(interval, "ms") ? 1000 : 1000000) * 2);
		breached = bench_now();
		atomic_store(&broken, 1);
		while (canary_bp() != 0 && bench_now() - breached < 30)
			usleep(200);
		reactions[i] = bench_now() - breached;
	}
	kill(daemon, SIGTERM);
	waitpid(daemon, NULL, 0);
	qsort(reactions, BREACHES, sizeof(double), bench_by_double);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const intervals[] = { "1s", "100ms" };
	struct xs_load_options options = { .max_flows = 1 << 20 };
	char dir[] = "/tmp/xdpsplit-rollback-XXXXXX", command[128];
	double reactions[BREACHES];
	pthread_t thread;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SPLITD SPLITCTL\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(dir) || bench_setup(&env, &options))
		return 1;
	setenv("XDPSPLIT_PIN_DIR", env.pin_dir, 1);
	setenv("XDPSPLIT_STATE_DIR", dir, 1);
	setenv("XDPSPLIT_RUN_DIR", dir, 1);
	pthread_create(&thread, NULL, traffic, NULL);
	for (int i = 0; i < 2; i++) {
		if (measure(argv[1], argv[2], dir, intervals[i], reactions)) {
			fprintf(stderr, "couldn't run splitd\n");
			break;
		}
		printf("| rollback reaction at a %s analysis interval (%d breaches, each at the start of an interval, the worst case: breach to the route write) | median %.0f ms, max %.0f ms | `build/xdpsplit-rollback build/splitd build/splitctl` |\n",
		       intervals[i], BREACHES, reactions[BREACHES / 2] * 1e3,
		       reactions[BREACHES - 1] * 1e3);
		unlink(strcat(strcpy(command, dir), "/rollouts.state"));
	}
	atomic_store(&stop, 1);
	pthread_join(thread, NULL);
	env_teardown(&env);
	snprintf(command, sizeof(command), "rm -rf %s", dir);
	return system(command) ? 1 : 0;
}
