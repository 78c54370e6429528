// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Active health probes: a TCP connect, or an HTTP GET expecting a status,
 * to every backend of each VIP that has a probe, all of a round in
 * parallel on non-blocking sockets, in a thread of their own. After `fall`
 * failures in a row an UP backend goes DOWN (its pool's Maglev table is
 * rebuilt without it first); after `rise` successes a backend the probe
 * took down comes back UP. Backends an operator set DRAINING or DOWN are
 * left to the operator.
 *
 * Level-triggered: each round compares what the probes say with the
 * backend's state in the map, so a change that could not be written (the
 * pin directory's lock was busy) is written in a later round, never lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/audit.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "user/lib/netlink.h"
#include "user/lib/parse.h"
#include "splitd.h"

#define MAX_TARGETS 512

struct target {
	__u32 backend_id;
	/* copied: a reload replaces the configuration under the daemon's lock */
	struct xs_probe probe;
	char vip_text[80];
	__u8 family;
	__be32 address[XS_ADDRESS_WORDS];
	__u32 successes, failures; /* in a row */
	bool taken_down;           /* by us: ours to bring back */
	__u64 next_ms;
	/* one probe in flight */
	int fd;
	int stage; /* 0 connecting, 1 waiting for the HTTP status */
	bool done, ok;
};

static struct target targets[MAX_TARGETS];
static size_t target_count;
static pthread_t thread;
static bool running;

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct probed_vip {
	struct xs_vip_key key;
	struct xs_probe probe;
	char text[80];
};

/* The configuration's probes, copied under the daemon's lock (held only
 * for the copy: the maps are read after it). */
static size_t probed_vips(struct daemon *d, struct probed_vip *out)
{
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	for (__u32 v = 0; v < d->config->vip_count; v++) {
		const struct xs_config_vip *vip = &d->config->vips[v];

		if (vip->probe.type == XS_PROBE_NONE)
			continue;
		out[n].key = vip->key;
		out[n].probe = vip->probe;
		snprintf(out[n].text, sizeof(out[n].text), "%s", vip->text);
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Keeps targets in step with the maps (backends come and go), keeping
 * each one's counters by backend id. */
static void refresh_targets(struct daemon *d)
{
	static struct target fresh[MAX_TARGETS];
	static struct probed_vip vips[XS_CONFIG_MAX_VIPS];
	size_t n = 0, vip_count = probed_vips(d, vips);

	for (size_t v = 0; v < vip_count; v++) {
		const struct probed_vip *vip = &vips[v];
		struct xs_backend_entry *all;
		struct xs_vip_entry entry;
		size_t count;

		if (xs_vip_lookup(&d->dp, &vip->key, &entry))
			continue;
		all = xs_backend_all(&d->dp, entry.vip.vip_id, &count);
		for (size_t i = 0; all && i < count && n < MAX_TARGETS; i++) {
			struct target *t = &fresh[n++];

			memset(t, 0, sizeof(*t));
			t->backend_id = all[i].id;
			t->probe = vip->probe;
			snprintf(t->vip_text, sizeof(t->vip_text), "%s", vip->text);
			t->family = all[i].backend.family;
			memcpy(t->address, all[i].backend.address, sizeof(t->address));
			t->fd = -1;
			for (size_t o = 0; o < target_count; o++)
				if (targets[o].backend_id == t->backend_id &&
				    !memcmp(targets[o].address, t->address, 16)) {
					t->successes = targets[o].successes;
					t->failures = targets[o].failures;
					t->taken_down = targets[o].taken_down;
					t->next_ms = targets[o].next_ms;
				}
		}
		free(all);
	}
	memcpy(targets, fresh, n * sizeof(fresh[0]));
	target_count = n;
}

static void start_probe(struct target *t)
{
	struct sockaddr_storage address = { 0 };
	socklen_t length;

	t->done = t->ok = false;
	t->stage = 0;
	t->fd = socket(t->family == XS_FAMILY_IPV4 ? AF_INET : AF_INET6,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		t->done = true;
		return;
	}
	if (t->family == XS_FAMILY_IPV4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&address;

		in->sin_family = AF_INET;
		in->sin_port = htons(t->probe.port);
		memcpy(&in->sin_addr, t->address, 4);
		length = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(t->probe.port);
		memcpy(&in6->sin6_addr, t->address, 16);
		length = sizeof(*in6);
	}
	if (connect(t->fd, (struct sockaddr *)&address, length) &&
	    errno != EINPROGRESS)
		t->done = true;
}

/* Advances a probe whose socket is ready. */
static void step_probe(struct target *t, short events)
{
	const struct xs_probe *probe = &t->probe;
	char buffer[256];
	int error = 0;
	socklen_t length = sizeof(error);

	if (t->stage == 0) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &error, &length) ||
		    error || (events & (POLLERR | POLLHUP))) {
			t->done = true;
			return;
		}
		if (probe->type == XS_PROBE_TCP) {
			t->done = t->ok = true;
			return;
		}
		char host[64];
		xs_format_address(t->family, t->address, host, sizeof(host));
		int n = snprintf(buffer, sizeof(buffer),
				 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: xdpsplit-probe\r\n\r\n",
				 probe->path, host);
		if (write(t->fd, buffer, (size_t)n) != n) {
			t->done = true;
			return;
		}
		t->stage = 1;
		return;
	}
	ssize_t n = read(t->fd, buffer, sizeof(buffer) - 1);
	unsigned int status = 0;

	if (n > 0) {
		buffer[n] = '\0';
		t->ok = sscanf(buffer, "HTTP/1.%*u %u", &status) == 1 &&
			status == probe->expect_status;
	}
	t->done = true;
}

/* Runs every due probe at once, each bounded by its timeout. */
static void run_round(__u64 now)
{
	struct pollfd fds[MAX_TARGETS];
	size_t index[MAX_TARGETS], waiting;
	__u64 started = monotonic_ms();

	for (size_t i = 0; i < target_count; i++)
		if (targets[i].next_ms <= now) {
			start_probe(&targets[i]);
			targets[i].next_ms = now + targets[i].probe.interval_ms;
		} else {
			targets[i].done = true;
			targets[i].fd = -2; /* not due: not counted */
		}
	for (;;) {
		__u64 elapsed = monotonic_ms() - started;
		int timeout = 0;

		waiting = 0;
		for (size_t i = 0; i < target_count; i++) {
			struct target *t = &targets[i];

			if (t->done)
				continue;
			if (elapsed >= t->probe.timeout_ms) {
				t->done = true; /* too slow counts as down */
				continue;
			}
			fds[waiting].fd = t->fd;
			fds[waiting].events = t->stage ? POLLIN : POLLOUT;
			index[waiting++] = i;
			if (!timeout || (int)(t->probe.timeout_ms - elapsed) < timeout)
				timeout = (int)(t->probe.timeout_ms - elapsed);
		}
		/* in slices, so that a stopping splitd is not held up by a
		 * slow backend: SIGTERM is acted on within a second */
		if (timeout > 100)
			timeout = 100;
		if (!waiting || splitd_stop || poll(fds, waiting, timeout) < 0)
			break;
		for (size_t w = 0; w < waiting; w++)
			if (fds[w].revents)
				step_probe(&targets[index[w]], fds[w].revents);
	}
}

static void note(struct daemon *d, const struct target *t, const char *what)
{
	char address[64], command[256];

	xs_format_address(t->family, t->address, address, sizeof(address));
	snprintf(command, sizeof(command), "splitd probe %s backend %s: %s",
		 t->vip_text, address, what);
	pr_info("%s\n", command);
	xs_audit_append(d->state_dir, command, NULL, NULL);
}

/*
 * A state change under the pin directory's lock, as splitctl's are, and
 * only from the state the round saw (an operator may have set the backend
 * DRAINING or DOWN meanwhile: that stays). The lock is only tried: a busy
 * one defers the change to the next round, quietly.
 */
static int set_state(struct daemon *d, __u32 backend_id, __u8 from, __u8 to)
{
	int lock = xs_try_lock_pin_dir(d->pin_dir), err;
	struct xs_backend now;

	if (lock < 0)
		return lock;
	err = xs_backend_read(&d->dp, backend_id, &now);
	if (!err && now.state != from)
		err = -EAGAIN;
	if (!err)
		err = xs_backend_set_state(&d->dp, backend_id, to);
	xs_unlock(lock);
	return err;
}

/* Counts the round's results and changes states that crossed rise/fall. */
static void judge(struct daemon *d)
{
	for (size_t i = 0; i < target_count; i++) {
		struct target *t = &targets[i];
		struct xs_backend backend;
		char what[96];

		if (t->fd == -2)
			continue;
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		if (t->ok) {
			t->successes++;
			t->failures = 0;
		} else {
			t->failures++;
			t->successes = 0;
		}
		if (xs_backend_read(&d->dp, t->backend_id, &backend))
			continue;
		if (backend.state == XS_BACKEND_UP &&
		    t->failures >= t->probe.fall) {
			snprintf(what, sizeof(what), "DOWN after %u failed probes",
				 t->failures);
			if (!set_state(d, t->backend_id, XS_BACKEND_UP,
				       XS_BACKEND_DOWN)) {
				t->taken_down = true;
				note(d, t, what);
				/* if it comes back on other hardware, the next
				 * probe's ARP finds it, and the neighbour
				 * watcher gives its entry the new MAC */
				xs_forget_neighbour(t->family, t->address);
			}
		} else if (backend.state == XS_BACKEND_DOWN && t->taken_down &&
			   t->successes >= t->probe.rise) {
			snprintf(what, sizeof(what), "UP after %u good probes",
				 t->successes);
			if (!set_state(d, t->backend_id, XS_BACKEND_DOWN,
				       XS_BACKEND_UP)) {
				t->taken_down = false;
				note(d, t, what);
			}
		}
	}
}

static void *probe_loop(void *arg)
{
	struct daemon *d = arg;

	while (!splitd_stop) {
		refresh_targets(d);
		run_round(monotonic_ms());
		if (splitd_stop) /* a cut round says nothing of the backends */
			break;
		judge(d);
		usleep(50 * 1000);
	}
	return NULL;
}

/* Started whether or not the configuration has probes now: a reload may
 * add some. Without any, a round reads no map. */
int probes_start(struct daemon *d)
{
	if (pthread_create(&thread, NULL, probe_loop, d))
		return -1;
	running = true;
	return 0;
}

void probes_stop(void)
{
	if (running)
		pthread_join(thread, NULL);
	running = false;
}
