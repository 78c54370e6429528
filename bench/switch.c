// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * From `splitctl switch` to the first packet on the new color: one thread
 * runs new-flow packets through xdp_split back to back (a few microseconds
 * apart) and notes when the first one reaches the color just switched to;
 * the main thread runs the real splitctl command, as an operator would,
 * 100 times, alternating blue and green. Prints a markdown row.
 * Usage: xdpsplit-switch SPLITCTL
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "user/lib/log.h"
#include "common.h"

#define SWITCHES 100

extern char **environ;

static struct test_env env;
static __u32 pool_of_backend[16];
static atomic_int wanted = -1; /* the color we wait for */
static _Atomic double seen_at; /* when a packet first reached it */
static atomic_int stop;

static void *packets(void *arg)
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
		int color = atomic_load(&wanted);
		__u32 backend;

		/* a new flow every packet: each one is decided by the route */
		snprintf(client, sizeof(client), "198.18.%u.%u",
			 (unsigned)(n >> 8) & 0xff, (unsigned)n & 0xff);
		spec.client_port = 1024 + (n++ >> 16) % 60000;
		if (env_run_spec(&env, &spec, &result))
			continue;
		backend = env_backend_of_frame(result.frame);
		if (color >= 0 && backend < 16 &&
		    pool_of_backend[backend] == (__u32)color &&
		    atomic_load(&seen_at) == 0)
			atomic_store(&seen_at, bench_now());
	}
	return NULL;
}

/* the audit log the 100 switches wrote, and its directory */
static int remove_audit(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/audit.log", dir);
	unlink(path);
	return rmdir(dir) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static double first_packet[SWITCHES], command[SWITCHES];
	struct xs_load_options options = { .max_flows = 1 << 20 };
	char state_dir[] = "/tmp/xdpsplit-switch-XXXXXX";
	pthread_t thread;
	__u32 vip;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SPLITCTL\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(state_dir) || bench_setup(&env, &options))
		return 1;
	vip = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP, XS_MODE_L2DSR,
			  XS_SPLIT_FLOW, NULL);
	pool_of_backend[env_add_backend(&env, vip, XS_POOL_BLUE, 4, "10.0.1.1",
					1)] = XS_POOL_BLUE;
	pool_of_backend[env_add_backend(&env, vip, XS_POOL_GREEN, 4, "10.0.2.1",
					1)] = XS_POOL_GREEN;
	setenv("XDPSPLIT_PIN_DIR", env.pin_dir, 1);
	setenv("XDPSPLIT_STATE_DIR", state_dir, 1);
	/* splitctl's report of each switch is not what we measure */
	posix_spawn_file_actions_t quiet;
	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
	pthread_create(&thread, NULL, packets, NULL);

	for (int i = 0; i < SWITCHES; i++) {
		const char *color = i % 2 ? "blue" : "green";
		char *args[] = { argv[1], "switch", "10.100.0.1:80/tcp",
				 (char *)color, NULL };
		double start;
		pid_t pid;
		int status;

		atomic_store(&seen_at, 0);
		atomic_store(&wanted, i % 2 ? XS_POOL_BLUE : XS_POOL_GREEN);
		start = bench_now();
		if (posix_spawn(&pid, argv[1], &quiet, NULL, args, environ) ||
		    waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "splitctl switch failed\n");
			return 1;
		}
		command[i] = bench_now() - start;
		while (atomic_load(&seen_at) == 0)
			usleep(100);
		first_packet[i] = atomic_load(&seen_at) - start;
		atomic_store(&wanted, -1);
		usleep(2000);
	}
	atomic_store(&stop, 1);
	pthread_join(thread, NULL);
	qsort(first_packet, SWITCHES, sizeof(double), bench_by_double);
	qsort(command, SWITCHES, sizeof(double), bench_by_double);
	printf("| `splitctl switch` to the first new flow on the new color (%d switches) | median %.2f ms, max %.2f ms; the command itself (exec, lock, atomic store, audit fsync) median %.2f ms, max %.2f ms | `build/xdpsplit-switch build/splitctl` |\n",
	       SWITCHES, first_packet[SWITCHES / 2] * 1e3,
	       first_packet[SWITCHES - 1] * 1e3, command[SWITCHES / 2] * 1e3,
	       command[SWITCHES - 1] * 1e3);
	env_teardown(&env);
	return remove_audit(state_dir);
}
