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
 *
 * At rest this thread costs next to nothing: it sleeps until the next
 * probe is due, and reads the backends map whole (to learn which backends
 * to probe) only when it may have changed: a writer let go of the pin
 * directory (pin_watch.c), a reload changed the probes, or a probed
 * backend's own entry is not what was read. And every FULL_READ_MS
 * anyway, for a writer that skips the lock. Reading the whole map every
 * round was 30,000 system calls a second, about 9% of a core.
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
/* the longest a backend added without the pin directory's lock goes
 * unprobed; with the directory unwatched (no inotify), every backend */
#define FULL_READ_MS 5000
#define UNWATCHED_FULL_READ_MS 1000

struct target {
	__u32 backend_id;
	__u32 vip_id; /* as read: an entry that no longer says so was reused */
	/* copied: a reload replaces the configuration under the daemon's lock */
	struct xs_probe probe;
	char vip_text[80];
	__u8 family;
	__be32 address[XS_ADDRESS_WORDS];
	__u32 successes, failures; /* in a row */
	bool taken_down;	   /* by us: ours to bring back */
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
		/* compared whole with the previous round's */
		memset(&out[n], 0, sizeof(out[n]));
		out[n].key = vip->key;
		out[n].probe = vip->probe;
		snprintf(out[n].text, sizeof(out[n].text), "%s", vip->text);
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Keeps targets in step with the maps (backends come and go), keeping
 * each one's counters by backend id. One read of the backends map for all
 * VIPs; none without probes. False if the map could not be read (the
 * targets stay as they were). */
static bool refresh_targets(struct daemon *d, const struct probed_vip *vips,
			    size_t vip_count)
{
	static struct target fresh[MAX_TARGETS];
	struct xs_backend_entry *all = NULL;
	size_t n = 0, count = 0;

	if (vip_count)
		all = xs_backend_all(&d->dp, ~0U, &count);
	if (vip_count && !all)
		return false;
	for (size_t v = 0; v < vip_count; v++) {
		const struct probed_vip *vip = &vips[v];
		struct xs_vip_entry entry;

		if (xs_vip_lookup(&d->dp, &vip->key, &entry))
			continue;
		for (size_t i = 0; i < count && n < MAX_TARGETS; i++) {
			struct target *t = &fresh[n];

			if (all[i].backend.vip_id != entry.vip.vip_id)
				continue;
			n++;
			memset(t, 0, sizeof(*t));
			t->backend_id = all[i].id;
			t->probe = vip->probe;
			snprintf(t->vip_text, sizeof(t->vip_text), "%s",
				 vip->text);
			t->family = all[i].backend.family;
			memcpy(t->address, all[i].backend.address,
			       sizeof(t->address));
			t->vip_id = entry.vip.vip_id;
			t->fd = -1;
			for (size_t o = 0; o < target_count; o++)
				if (targets[o].backend_id == t->backend_id &&
				    !memcmp(targets[o].address, t->address,
					    16)) {
					t->successes = targets[o].successes;
					t->failures = targets[o].failures;
					t->taken_down = targets[o].taken_down;
					t->next_ms = targets[o].next_ms;
				}
		}
	}
	free(all);
	memcpy(targets, fresh, n * sizeof(fresh[0]));
	target_count = n;
	return true;
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
		int n = snprintf(
			buffer, sizeof(buffer),
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
			if (!timeout ||
			    (int)(t->probe.timeout_ms - elapsed) < timeout)
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

/* Counts the round's results and changes states that crossed rise/fall.
 * False if a probed backend's entry is not the one the targets were made
 * from (removed, or its id reused): time to read the map again. */
static bool judge(struct daemon *d)
{
	bool same = true;

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
		if (xs_backend_read(&d->dp, t->backend_id, &backend) ||
		    backend.state == XS_BACKEND_ABSENT ||
		    backend.vip_id != t->vip_id ||
		    memcmp(backend.address, t->address, sizeof(t->address))) {
			same = false;
			continue;
		}
		if (backend.state == XS_BACKEND_UP &&
		    t->failures >= t->probe.fall) {
			snprintf(what, sizeof(what),
				 "DOWN after %u failed probes", t->failures);
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
	return same;
}

/* Until the next probe is due or the next full read, in ms. */
static int sleep_ms(__u64 now, __u64 full_read_at)
{
	__u64 wake = full_read_at;

	for (size_t i = 0; i < target_count; i++)
		if (targets[i].next_ms < wake)
			wake = targets[i].next_ms;
	return wake > now ? (int)(wake - now) : 0;
}

static void *probe_loop(void *arg)
{
	static struct probed_vip vips[XS_CONFIG_MAX_VIPS],
		last[XS_CONFIG_MAX_VIPS];
	struct daemon *d = arg;
	size_t last_count = 0;
	__u64 full_read_at = 0; /* at once */
	bool maybe_changed = true;

	while (!splitd_stop) {
		size_t count = probed_vips(d, vips);
		__u64 now = monotonic_ms();

		if (count != last_count ||
		    memcmp(vips, last, count * sizeof(vips[0])))
			maybe_changed = true; /* a reload changed the probes */
		if (maybe_changed || now >= full_read_at) {
			maybe_changed = !refresh_targets(d, vips, count);
			memcpy(last, vips, count * sizeof(vips[0]));
			last_count = count;
			full_read_at = now + (pin_watch_active() ?
						      FULL_READ_MS :
						      UNWATCHED_FULL_READ_MS);
		}
		run_round(now);
		if (splitd_stop) /* a cut round says nothing of the backends */
			break;
		if (!judge(d))
			maybe_changed = true;
		/* a map that cannot be read, and so keeps looking changed,
		 * is read again every 50 ms, not in a busy loop */
		now = monotonic_ms();
		if (pin_watch_wait(maybe_changed ? 50 :
						   sleep_ms(now, full_read_at)))
			maybe_changed = true;
	}
	return NULL;
}

/* Started whether or not the configuration has probes now: a reload may
 * add some. Without any, the thread sleeps and reads no map. */
int probes_start(struct daemon *d)
{
	int err = pin_watch_open(d->pin_dir);

	if (err < 0) {
		pr_warn("Couldn't start the probes: no pipe to wake them: %s\n",
			strerror(-err));
		pin_watch_close();
		return -1;
	}
	if (err)
		pr_warn("Couldn't watch the pin directory %s for splitctl's changes: %s; backends it adds are probed within %d s instead of at once (raise fs.inotify.max_user_instances if that is the limit)\n",
			d->pin_dir, strerror(err),
			UNWATCHED_FULL_READ_MS / 1000);
	if (pthread_create(&thread, NULL, probe_loop, d)) {
		pin_watch_close();
		return -1;
	}
	running = true;
	return 0;
}

/* A reload swapped the configuration in: its probes start now. */
void probes_wake(void)
{
	pin_watch_wake();
}

void probes_stop(void)
{
	pin_watch_wake();
	if (running)
		pthread_join(thread, NULL);
	running = false;
	pin_watch_close();
}
