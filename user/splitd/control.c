// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket: one request per connection, one line of text
 * ("rollout VERB VIP [POLICY]"), one JSON reply. Callers are checked by
 * their kernel-reported credentials (root, or the configured group);
 * oversized, malformed or slow requests get an error and change nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "user/lib/log.h"
#include "request.h"
#include "splitd.h"

#define REQUEST_TIMEOUT_MS 1000

static void socket_path(const struct daemon *d, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", d->run_dir, XS_CONTROL_SOCKET_NAME);
}

int control_open(struct daemon *d)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	char path[sizeof(address.sun_path)];
	int fd, err;

	if (mkdir(d->run_dir, 0755) && errno != EEXIST) {
		err = -errno;
		pr_warn("Couldn't create %s: %s\n", d->run_dir, strerror(errno));
		return err;
	}
	if (strlen(d->run_dir) + sizeof(XS_CONTROL_SOCKET_NAME) + 1 >
	    sizeof(path)) {
		pr_warn("Run directory '%s' is too long for a socket path\n",
			d->run_dir);
		return -ENAMETOOLONG;
	}
	socket_path(d, path, sizeof(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket of a crashed predecessor */
	memcpy(address.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&address, sizeof(address)) ||
	    chmod(path, d->has_control_group ? 0660 : 0600) ||
	    (d->has_control_group && chown(path, 0, d->control_group))) {
		err = -errno;
		pr_warn("Couldn't listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return err;
	}
	d->control_fd = fd;
	return 0;
}

int control_listen(struct daemon *d)
{
	/* only now does a client get through: splitd is ready, and has
	 * given up its start-up privileges */
	if (listen(d->control_fd, 16)) {
		pr_warn("Couldn't listen on the control socket: %s\n",
			strerror(errno));
		return -errno;
	}
	return 0;
}

void control_close(struct daemon *d)
{
	char path[108];

	if (d->control_fd < 0)
		return;
	close(d->control_fd);
	socket_path(d, path, sizeof(path));
	unlink(path);
	d->control_fd = -1;
}

static bool allowed(const struct daemon *d, const struct ucred *peer)
{
	return peer->uid == 0 ||
	       (d->has_control_group && peer->gid == d->control_group);
}

/* Reads one line within the size and time limits; -1 if it is not one. */
static int read_request(int fd, char *line, size_t size)
{
	size_t used = 0;

	while (used + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, REQUEST_TIMEOUT_MS) != 1)
			return -1;
		n = read(fd, line + used, size - 1 - used);
		if (n <= 0)
			return -1;
		used += (size_t)n;
		line[used] = '\0';
		char *end = memchr(line, '\n', used);
		if (end) {
			*end = '\0';
			/* a NUL inside would hide the rest from the parser */
			return memchr(line, '\0', (size_t)(end - line)) ? -1 : 0;
		}
	}
	return -1;
}

static void respond(int fd, const char *reply)
{
	size_t length = strlen(reply), sent = 0;

	while (sent < length) {
		ssize_t n = write(fd, reply + sent, length - sent);

		if (n <= 0)
			return;
		sent += (size_t)n;
	}
	if (write(fd, "\n", 1) < 0)
		return;
}

static void handle(struct daemon *d, int fd)
{
	char line[XS_CONTROL_MAX_MESSAGE + 1], reply[65536];
	struct control_request request;
	struct ucred peer;
	socklen_t length = sizeof(peer);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) ||
	    !allowed(d, &peer)) {
		respond(fd, "{\"ok\":false,\"error\":\"permission denied: root or the control group only\"}");
		pr_warn("Refused a control request from uid %u\n",
			(unsigned)peer.uid);
		return;
	}
	if (read_request(fd, line, sizeof(line))) {
		respond(fd, "{\"ok\":false,\"error\":\"a request is one line of text of at most 4096 bytes\"}");
		return;
	}
	if (control_parse_request(line, &request)) {
		respond(fd, "{\"ok\":false,\"error\":\"unknown request; expected 'rollout { start | status | pause | resume | promote | abort | undo } VIP [POLICY]'\"}");
		return;
	}
	rollouts_command(d, &request, peer.uid, reply, sizeof(reply));
	respond(fd, reply);
}

void control_serve(struct daemon *d)
{
	int fd;

	while ((fd = accept4(d->control_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		/* a client that does not read its reply must not stall us */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
			   &(struct timeval){ .tv_sec = 1 }, sizeof(struct timeval));
		handle(d, fd);
		close(fd);
	}
}
