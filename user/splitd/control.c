// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket: one request per connection, one line of text
 * ("rollout VERB VIP [POLICY]"), one JSON reply of any size. Callers are
 * checked by their kernel-reported credentials (root, or the configured
 * group as primary or supplementary group); oversized, malformed or slow
 * requests get an error and change nothing.
 *
 * Peers are untrusted and slow, and the loop that serves them is the one
 * that rolls back: nothing here blocks. Each client has a slot of a fixed
 * table with its own input and output buffers and a deadline for the whole
 * exchange (connect to the last byte of the reply); the main loop polls
 * them all, reads what has come, writes what the socket takes, and closes
 * a client whose deadline passed. A full table makes room by closing the
 * client that has waited longest without finishing its request.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/log.h"
#include "request.h"
#include "splitd.h"

#define CONTROL_CLIENTS XS_CONTROL_CLIENTS
#define REQUEST_DEADLINE_MS 2000

struct client {
	int fd;		   /* -1: a free slot */
	__u64 deadline_ms; /* monotonic */
	char in[XS_CONTROL_MAX_MESSAGE + 1];
	size_t in_used;
	char *out; /* NULL while the request is still coming */
	size_t out_length, out_sent;
	uid_t uid;
	bool allowed;
};

static struct client clients[CONTROL_CLIENTS];
static bool clients_ready;

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

static void clients_init(void)
{
	if (clients_ready)
		return;
	for (int i = 0; i < CONTROL_CLIENTS; i++)
		clients[i].fd = -1;
	clients_ready = true;
}

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
		pr_warn("Couldn't create %s: %s\n", d->run_dir,
			strerror(errno));
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

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->in_used = c->out_length = c->out_sent = 0;
}

void control_close(struct daemon *d)
{
	char path[108];

	for (int i = 0; clients_ready && i < CONTROL_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	if (d->control_fd < 0)
		return;
	close(d->control_fd);
	socket_path(d, path, sizeof(path));
	unlink(path);
	d->control_fd = -1;
}

/*
 * Root, or a member of the control group: as its primary group or one of
 * its supplementary groups. Both come from the kernel (SO_PEERCRED,
 * SO_PEERGROUPS), as they were when the peer connected: no pid to look up
 * in /proc that could have been reused, no group database that could say
 * something else than the credentials the process really holds.
 */
static bool allowed(const struct daemon *d, int fd, const struct ucred *peer)
{
	gid_t some[64], *groups = some;
	socklen_t length = sizeof(some);
	bool member = false;

	if (peer->uid == 0)
		return true;
	if (!d->has_control_group)
		return false;
	if (peer->gid == d->control_group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length)) {
		if (errno != ERANGE || !(groups = malloc(length)) ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
			       &length)) {
			if (groups != some)
				free(groups);
			return false;
		}
	}
	for (size_t i = 0; i < length / sizeof(gid_t); i++)
		member |= groups[i] == d->control_group;
	if (groups != some)
		free(groups);
	return member;
}

/* The reply to send, then close; takes over json (which may be NULL). */
static void client_reply(struct client *c, char *json)
{
	size_t length = json ? strlen(json) : 0;
	char *out = json ? realloc(json, length + 2) : NULL;

	if (!out) {
		free(json);
		out = strdup("{\"ok\":false,\"error\":\"out of memory\"}\n");
		if (!out) {
			client_close(c);
			return;
		}
		length = strlen(out) - 1;
	}
	out[length] = '\n';
	out[length + 1] = '\0';
	c->out = out;
	c->out_length = length + 1;
	c->out_sent = 0;
}

static void client_error(struct client *c, const char *json)
{
	client_reply(c, strdup(json));
}

/* The request line is whole: answer it (the reply is queued, not sent). */
static void client_handle(struct daemon *d, struct client *c)
{
	struct control_request request;

	if (control_parse_request(c->in, &request)) {
		client_error(
			c,
			"{\"ok\":false,\"error\":\"unknown request; expected 'rollout { start | status | pause | resume | promote | abort | undo } VIP [POLICY]'\"}");
		return;
	}
	client_reply(c, rollouts_command(d, &request, c->uid));
}

/* What has come of the request; queues the reply once it is whole. */
static void client_read(struct daemon *d, struct client *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_used,
				 sizeof(c->in) - 1 - c->in_used);
		char *end;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			client_close(c);
			return;
		}
		if (n == 0) { /* the peer is done writing, and sent no line */
			client_error(
				c,
				"{\"ok\":false,\"error\":\"a request is one line of text of at most 4096 bytes\"}");
			return;
		}
		c->in_used += (size_t)n;
		c->in[c->in_used] = '\0';
		end = memchr(c->in, '\n', c->in_used);
		if (end) {
			/* a NUL inside would hide the rest from the parser */
			bool nul = memchr(c->in, '\0', (size_t)(end - c->in)) !=
				   NULL;

			*end = '\0';
			if (nul)
				client_error(
					c,
					"{\"ok\":false,\"error\":\"a request is one line of text of at most 4096 bytes\"}");
			else
				client_handle(d, c);
			return;
		}
		if (c->in_used == sizeof(c->in) - 1) {
			client_error(
				c,
				"{\"ok\":false,\"error\":\"a request is one line of text of at most 4096 bytes\"}");
			return;
		}
	}
}

/* As much of the reply as the socket takes now; closes when all is sent. */
static void client_write(struct client *c)
{
	while (c->out_sent < c->out_length) {
		ssize_t n = send(c->fd, c->out + c->out_sent,
				 c->out_length - c->out_sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->out_sent += (size_t)n;
	}
	client_close(c);
}

/* A free slot, or the one of the client that has waited longest without
 * finishing its request (closed); NULL if every slot is sending a reply. */
static struct client *free_slot(void)
{
	struct client *oldest = NULL;

	for (int i = 0; i < CONTROL_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			return c;
		if (!c->out &&
		    (!oldest || c->deadline_ms < oldest->deadline_ms))
			oldest = c;
	}
	if (oldest)
		client_close(oldest);
	return oldest;
}

static void accept_clients(struct daemon *d, __u64 now)
{
	static const char busy[] =
		"{\"ok\":false,\"error\":\"splitd is busy with other control clients; try again\"}\n";
	int fd;

	while ((fd = accept4(d->control_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct client *c = free_slot();
		struct ucred peer;
		socklen_t length = sizeof(peer);

		if (!c) {
			/* a fresh socket's buffer takes this much at once */
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
				pr_debug(
					"Couldn't tell a control client we are busy\n");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline_ms = now + REQUEST_DEADLINE_MS;
		c->in_used = 0;
		c->allowed = !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer,
					 &length) &&
			     allowed(d, fd, &peer);
		c->uid = c->allowed ? peer.uid : (uid_t)-1;
		if (!c->allowed) {
			pr_warn("Refused a control request from uid %u\n",
				(unsigned)peer.uid);
			client_error(
				c,
				"{\"ok\":false,\"error\":\"permission denied: root or the control group only\"}");
		}
	}
}

int control_poll_timeout_ms(void)
{
	__u64 now = monotonic_ms(), soonest = 0;

	for (int i = 0; clients_ready && i < CONTROL_CLIENTS; i++)
		if (clients[i].fd >= 0 &&
		    (!soonest || clients[i].deadline_ms < soonest))
			soonest = clients[i].deadline_ms;
	if (!soonest)
		return -1;
	return soonest > now ? (int)(soonest - now) : 0;
}

size_t control_poll_fds(struct daemon *d, struct pollfd *fds, size_t size)
{
	size_t n = 0;

	clients_init();
	if (d->control_fd >= 0 && n < size)
		fds[n++] = (struct pollfd){ .fd = d->control_fd,
					    .events = POLLIN };
	for (int i = 0; i < CONTROL_CLIENTS && n < size; i++)
		if (clients[i].fd >= 0)
			fds[n++] = (struct pollfd){
				.fd = clients[i].fd,
				.events = clients[i].out ? POLLOUT : POLLIN,
			};
	return n;
}

void control_serve(struct daemon *d, const struct pollfd *fds, size_t count)
{
	__u64 now = monotonic_ms();

	clients_init();
	for (size_t f = 0; f < count; f++) {
		if (!fds[f].revents || fds[f].fd == d->control_fd)
			continue;
		for (int i = 0; i < CONTROL_CLIENTS; i++) {
			struct client *c = &clients[i];

			if (c->fd != fds[f].fd)
				continue;
			if (!c->out)
				client_read(d, c);
			/* a reply just queued goes out at once if it can */
			if (c->fd >= 0 && c->out)
				client_write(c);
			break;
		}
	}
	for (int i = 0; i < CONTROL_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd >= 0 && now >= c->deadline_ms) {
			/* slow to ask or slow to read: either way, gone; one
			 * that never asked hears why, if its socket takes it */
			static const char late[] =
				"{\"ok\":false,\"error\":\"no whole request within 2 s\"}\n";

			if (!c->out && send(c->fd, late, sizeof(late) - 1,
					    MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				pr_debug(
					"Couldn't tell a slow control client why it is closed\n");
			client_close(c);
		}
	}
	for (size_t f = 0; f < count; f++)
		if (fds[f].fd == d->control_fd && fds[f].revents)
			accept_clients(d, now);
}
