// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tells the probe thread that the maps may have changed, so that it can
 * sleep instead of re-reading them all the time. Every writer of VIPs and
 * backends (splitctl, splitd's own reload and probes) takes an flock on the
 * pin directory's own descriptor, and closes that descriptor when it is
 * done: inotify reports the close (IN_CLOSE_NOWRITE on the directory), at
 * no cost while nobody writes. A reader that merely opens the directory
 * also wakes us; that costs one read of the maps, never a missed change.
 *
 * A writer that skips the lock (bpftool by hand) is not seen here: the
 * probe thread's periodic full read is for it. A pipe wakes the thread
 * when splitd stops or a reload brings other probes, so its sleep needs no
 * bound of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "user/lib/log.h"
#include "splitd.h"

static int watch_fd = -1, watch = -1;
static int stop_pipe[2] = { -1, -1 };
static const char *watched_dir;

/* Again after the directory was replaced (a fresh load re-creates it). */
static void add_watch(void)
{
	watch = inotify_add_watch(watch_fd, watched_dir,
				  IN_CLOSE_NOWRITE | IN_ONLYDIR);
}

/* 0; or errno if the directory cannot be watched (the thread still sleeps
 * and is woken by pin_watch_wake); -errno if not even that works */
int pin_watch_open(const char *pin_dir)
{
	watched_dir = pin_dir;
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch_fd >= 0)
		add_watch();
	return watch < 0 ? errno : 0;
}

bool pin_watch_active(void)
{
	return watch >= 0;
}

bool pin_watch_wait(int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = stop_pipe[0], .events = POLLIN },
				 { .fd = watch_fd, .events = POLLIN } };
	char events[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	if (watch_fd >= 0 && watch < 0)
		add_watch();
	if (poll(fds, 2, timeout_ms) <= 0)
		return false;
	/* woken on purpose: a reload's new probes, or splitd stopping */
	while (fds[0].revents && read(stop_pipe[0], events, sizeof(events)) > 0)
		changed = true;
	while (fds[1].revents &&
	       (n = read(watch_fd, events, sizeof(events))) > 0)
		for (char *at = events; at < events + n;) {
			const struct inotify_event *event = (void *)at;

			if (event->mask & IN_IGNORED)
				watch = -1; /* gone: watched again next time */
			changed = true;
			at += sizeof(*event) + event->len;
		}
	return changed;
}

void pin_watch_wake(void)
{
	/* a full pipe (EAGAIN) means a wake-up is pending anyway */
	if (stop_pipe[1] >= 0 && write(stop_pipe[1], "", 1) < 0 &&
	    errno != EAGAIN)
		pr_debug("Couldn't wake the probe thread: %s\n",
			 strerror(errno));
}

void pin_watch_close(void)
{
	for (int i = 0; i < 2; i++)
		if (stop_pipe[i] >= 0)
			close(stop_pipe[i]);
	if (watch_fd >= 0)
		close(watch_fd);
	stop_pipe[0] = stop_pipe[1] = watch_fd = watch = -1;
}
