// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * splitd: loads (or adopts) the splitter, makes the maps what the
 * configuration says, runs rollouts with their analysis, and serves the
 * control socket and the Prometheus endpoint.
 *
 * Fail-static by design: splitd never detaches the program or clears a map
 * when it stops or crashes. The data plane keeps forwarding at the last
 * weights, and a restarted splitd resumes every rollout where its state
 * file says it was.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "maps/names.h"
#include "user/lib/apply.h"
#include "user/lib/attached.h"
#include "user/lib/audit.h"
#include "user/lib/loader.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "user/lib/safe_open.h"
#include "user/lib/state.h"
#include "user/lib/version.h"
#include "fleet.h"
#include "splitd.h"
#include "webhooks.h"

volatile sig_atomic_t splitd_stop;
volatile sig_atomic_t splitd_reload;
/* The signal's wake-up call to the main loop: whichever thread the kernel
 * gives the signal to, the loop's poll returns at once. */
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int signal)
{
	int saved = errno;

	if (signal == SIGHUP)
		splitd_reload = 1;
	else
		splitd_stop = 1;
	/* a full pipe means a wake-up is pending anyway */
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "", 1) < 0)
		errno = saved;
	errno = saved;
}

static void usage(FILE *stream)
{
	fprintf(stream,
		"Usage: splitd [ -c FILE ] [ --pin-dir DIR ] [ --state-dir DIR ]\n"
		"              [ --run-dir DIR ] [ --group NAME ] [ -v ]\n"
		"  -c, --config FILE  configuration (default " XS_DEFAULT_CONFIG_FILE
		")\n"
		"  --pin-dir DIR      pinned maps (default " XS_DEFAULT_PIN_DIR
		")\n"
		"  --state-dir DIR    rollout state and audit log (default " XS_DEFAULT_STATE_DIR
		")\n"
		"  --run-dir DIR      control socket (default " XS_DEFAULT_RUN_DIR
		")\n"
		"  --group NAME       a group allowed on the control socket besides root\n"
		"  -v, --verbose      more messages (twice: libbpf and libxdp too)\n"
		"  -V, --version      print the version and exit\n");
}

/* Attaches to each configured interface, or adopts what is attached. */
static int attach_interfaces(struct daemon *d)
{
	struct xs_load_options options = { .pin_dir = d->pin_dir };

	for (__u32 i = 0; i < d->config->interface_count; i++) {
		const struct xs_config_interface *iface =
			&d->config->interfaces[i];
		int ifindex = (int)if_nametoindex(iface->name);
		struct xs_attached current;
		struct xs_loaded loaded;

		if (!ifindex) {
			pr_warn("Interface '%s' from the configuration does not exist\n",
				iface->name);
			return -ENODEV;
		}
		xs_find_attached(ifindex, d->pin_dir, &current);
		if (current.prog) {
			pr_info("Adopting xdp_split on %s (program id %u)\n",
				iface->name, xdp_program__id(current.prog));
			xs_attached_close(&current);
			continue;
		}
		xs_attached_close(&current);
		if (xs_load_and_attach(&options, ifindex,
				       iface->generic ? XDP_MODE_SKB :
							XDP_MODE_NATIVE,
				       &loaded)) {
			pr_warn("Couldn't attach to %s\n", iface->name);
			return -EIO;
		}
		pr_info("Attached xdp_split to %s (program id %u)\n",
			iface->name, xdp_program__id(loaded.xdp_prog));
		xs_unload(&loaded);
	}
	return 0;
}

/* The configuration's VIPs and backends, by configure()'s rule. */
static int apply_configuration(struct daemon *d)
{
	struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];
	char error[512] = "";
	size_t count = 0;
	int err, lock;

	err = xs_state_load(d->state_dir, records, XS_CONFIG_MAX_VIPS, &count,
			    error, sizeof(error));
	if (err) {
		pr_warn("Couldn't read the rollout state: %s\n",
			error[0] ? error : strerror(-err));
		return err;
	}
	d->same_boot = xs_state_same_boot(d->state_dir);
	/* as splitctl's changes: one writer of VIPs and backends at a time */
	lock = xs_lock_pin_dir(d->pin_dir, 5000);
	if (lock < 0)
		return lock;
	err = configure(d, d->config, records, count, "start", error,
			sizeof(error));
	xs_unlock(lock);
	if (err)
		pr_warn("Couldn't apply %s: %s\n", d->config_path, error);
	return err;
}

/* Everything local splitd will read or write, checked before it changes
 * anything (attaching included): the state directory, the rollout state
 * and the audit log. A state file another user wrote or could write is
 * refused, not applied. */
static int check_local_state(struct daemon *d)
{
	struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];
	char error[512] = "";
	size_t count;
	int fd;

	if (xs_trusted_dir(d->state_dir, true, 0750, error, sizeof(error))) {
		pr_err("Error: Couldn't use the state directory: %s\n", error);
		return -1;
	}
	if (xs_state_load(d->state_dir, records, XS_CONFIG_MAX_VIPS, &count,
			  error, sizeof(error))) {
		pr_err("Error: Couldn't read the rollout state: %s\n", error);
		return -1;
	}
	fd = xs_audit_open(d->state_dir);
	if (fd < 0) {
		pr_err("Error: the audit log under '%s' cannot be trusted or written (see above); nothing was changed\n",
		       d->state_dir);
		return -1;
	}
	close(fd);
	return 0;
}

/* Sleeps until the next rollout tick, the soonest control client's
 * deadline, a readable socket or a signal, whichever comes first. */
static void run(struct daemon *d)
{
	struct pollfd p[XS_CONTROL_CLIENTS + 3];

	while (!splitd_stop) {
		__u64 now = now_ms(), deadline = rollouts_next_deadline(d, now);
		int timeout = (int)(deadline - now),
		    clients = control_poll_timeout_ms(),
		    retry = neighbours_timeout_ms();
		size_t count;

		p[0] = (struct pollfd){ .fd = wake_pipe[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = neighbours_fd(),
					.events = POLLIN };
		count = 2 + control_poll_fds(d, p + 2, XS_CONTROL_CLIENTS + 1);
		if (clients >= 0 && clients < timeout)
			timeout = clients;
		if (retry >= 0 && retry < timeout)
			timeout = retry;
		if (poll(p, count, timeout) < 0 && errno != EINTR)
			pr_warn("poll: %s\n", strerror(errno));
		if (splitd_stop)
			break;
		if (p[0].revents) {
			char drained[64];

			while (read(wake_pipe[0], drained, sizeof(drained)) > 0)
				;
		}
		neighbours_retry(d);
		if (p[1].revents)
			neighbours_read(d);
		control_serve(d, p + 2, count - 2);
		if (splitd_reload) {
			splitd_reload = 0;
			reload_request();
		}
		rollouts_tick(d, now_ms());
		notify_status(d);
	}
}

/* The command line into d: -1 to go on, or the exit code (after
 * --version, --help or a usage error). */
static int parse_arguments(struct daemon *d, int argc, char **argv,
			   int *verbosity)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "run-dir", required_argument, NULL, 'R' },
		{ "group", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct group *group;
	int opt;

	d->config_path = XS_DEFAULT_CONFIG_FILE;
	d->pin_dir = getenv(XS_PIN_DIR_ENV) ?: XS_DEFAULT_PIN_DIR;
	d->state_dir = getenv(XS_STATE_DIR_ENV) ?: XS_DEFAULT_STATE_DIR;
	d->run_dir = getenv(XS_RUN_DIR_ENV) ?: XS_DEFAULT_RUN_DIR;
	while ((opt = getopt_long(argc, argv, "c:vVh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'P':
			d->pin_dir = optarg;
			break;
		case 'S':
			d->state_dir = optarg;
			break;
		case 'R':
			d->run_dir = optarg;
			break;
		case 'g':
			group = getgrnam(optarg);
			if (!group) {
				pr_err("Error: no group '%s'\n", optarg);
				return 2;
			}
			d->control_group = group->gr_gid;
			d->has_control_group = true;
			break;
		case 'v':
			(*verbosity)++;
			break;
		case 'V':
			printf("splitd %s\n", XS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The configuration file into d->config: 0, or the exit code. */
static int read_configuration(struct daemon *d)
{
	char error[512] = "";

	d->config = calloc(1, sizeof(*d->config));
	if (!d->config)
		return 1;
	if (xs_config_load(d->config_path, d->config, error, sizeof(error))) {
		pr_err("Error: %s\n", error);
		free(d->config);
		return 2;
	}
	return 0;
}

/* SIGINT and SIGTERM stop, SIGHUP reloads, each waking the main loop
 * through wake_pipe; SIGPIPE is ignored. */
static int catch_signals(void)
{
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK)) {
		pr_warn("Couldn't make a pipe: %s\n", strerror(errno));
		return -1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The local state checked, the interfaces attached (or adopted) and the
 * pinned maps opened. */
static int open_data_plane(struct daemon *d)
{
	if (check_local_state(d))
		return -1;
	if (attach_interfaces(d))
		return -1;
	if (xs_dataplane_open(&d->dp, d->pin_dir)) {
		pr_err("Error: %s\n", d->dp.error);
		return -1;
	}
	return 0;
}

/* The maps made what the configuration says, the rollouts resumed, the
 * privileges dropped, every thread started and the sockets served. */
static int start_serving(struct daemon *d)
{
	/* in a fleet the VIPs and rollouts come from etcd (fleet_agent.c):
	 * until then the maps stay exactly as they are */
	if ((!d->config->fleet.enabled &&
	     (apply_configuration(d) || rollouts_restore(d))) ||
	    control_open(d) || metrics_bind(d))
		return -1;
	/* before any thread starts: capabilities are per thread */
	if (drop_privileges() || metrics_start(d) || probes_start(d) ||
	    reload_start(d) || queries_start(d) ||
	    webhooks_start(d->config->fleet.enabled ? d->config->fleet.host :
						      NULL) ||
	    fleet_start(d) || control_listen(d))
		return -1;
	neighbours_open(d); /* without it splitd still runs: it says so */
	pr_info("splitd ready: %u VIPs, control socket %s/%s, metrics http://%s/metrics\n",
		d->config->vip_count, d->run_dir, XS_CONTROL_SOCKET_NAME,
		d->config->metrics);
	return 0;
}

/* Every thread stopped and the sockets and maps closed; false (nothing
 * closed) when a reload is still under way. */
static bool stop_serving(struct daemon *d)
{
	splitd_stop = 1;
	if (!reload_stop()) {
		/* a reload still resolving a MAC: it has written nothing,
		 * and exiting ends it; the maps stay as they are */
		pr_info("splitd stopping in the middle of a reload; nothing of it was applied\n");
		return false;
	}
	fleet_stop(d); /* withdraws first: the other hosts take over */
	probes_stop();
	queries_stop();
	webhooks_stop(); /* after the rollouts' last events */
	neighbours_close();
	metrics_stop(d);
	control_close(d);
	xs_dataplane_close(&d->dp);
	return true;
}

int main(int argc, char **argv)
{
	struct daemon d = { .control_fd = -1, .metrics_fd = -1 };
	int verbosity = XS_LOG_INFO, rc;

	rc = parse_arguments(&d, argc, argv, &verbosity);
	if (rc >= 0)
		return rc;
	xs_log_set_level(verbosity > XS_LOG_DEBUG ? XS_LOG_DEBUG : verbosity);
	/* first: a second splitd must leave the first one's socket, maps
	 * and state alone */
	if (single_instance_lock(&d))
		return 1;
	rc = read_configuration(&d);
	if (rc)
		return rc;
	rc = 1;
	pthread_mutex_init(&d.lock, NULL);
	/* before any thread: it is not thread-safe */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (catch_signals() || open_data_plane(&d))
		goto out;
	if (start_serving(&d))
		goto close;
	notify_ready(&d);
	run(&d);
	notify_stopping();
	rollouts_save(&d);
	pr_info("splitd stopping; the data plane keeps forwarding\n");
	rc = 0;
close:
	if (!stop_serving(&d))
		return rc;
out:
	curl_global_cleanup();
	free(d.config);
	return rc;
}
