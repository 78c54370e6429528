// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rollout start | status | pause | resume | promote | abort | undo: talks
 * to splitd over its control socket. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/parse.h"
#include "user/lib/rollout.h"
#include "screen.h"
#include "splitctl.h"
#include "watch.h"

#define REPLY_TIMEOUT_MS 5000
/* no real reply comes near it (64 rollouts' status is some 120 KiB) */
#define REPLY_MAX_BYTES (64 << 20)

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

/* A connection to splitd's control socket, RUN_DIR/splitd.sock: its fd,
 * or -errno. */
static int connect_splitd(struct ctl *ctl)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_MS / 1000 };
	int fd, err;

	snprintf(address.sun_path, sizeof(address.sun_path), "%s/splitd.sock",
		 ctl->run_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bounds connect (a full backlog) and the write as well */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&address, sizeof(address))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Room in *buffer for 64 KiB more of the reply past used, and its
 * terminating NUL: 0, or -ENOMEM (at REPLY_MAX_BYTES too). */
static int make_room(char **buffer, size_t used, size_t *capacity)
{
	char *grown;

	if (*capacity - used >= 65536)
		return 0;
	grown = *capacity < REPLY_MAX_BYTES ?
			realloc(*buffer, *capacity + 65536 + 1) :
			NULL;
	if (!grown)
		return -ENOMEM;
	*buffer = grown;
	*capacity += 65536;
	return 0;
}

/* Reads the reply into *buffer (*used bytes, malloc'd) until splitd
 * closes the connection: 0, or -ETIMEDOUT at deadline (monotonic_ms),
 * -EINTR on a stop, -ENOMEM. */
static int read_reply(int fd, __u64 deadline, char **buffer, size_t *used)
{
	size_t capacity = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		__u64 now = monotonic_ms(), left = deadline - now;
		struct timespec wait = { .tv_sec = (time_t)(left / 1000),
					 .tv_nsec = (long)(left % 1000) *
						    1000000 };
		ssize_t n;
		int ready;

		if (now >= deadline)
			return -ETIMEDOUT;
		ready = ppoll(&p, 1, &wait, screen_signal_mask());
		if (ready < 0 && errno == EINTR && !screen_stopped())
			continue; /* a resize: the view redraws after */
		if (ready != 1)
			return ready < 0 && errno == EINTR ? -EINTR :
							     -ETIMEDOUT;
		if (make_room(buffer, *used, &capacity))
			return -ENOMEM;
		n = read(fd, *buffer + *used, capacity - *used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		*used += (size_t)n;
	}
}

/* Sends the request and reads the whole reply, whatever its size (splitd
 * closes the connection after it), all within REPLY_TIMEOUT_MS. In a
 * live view the wait lets the view's signals through, so a stop (C-c)
 * ends it at once: -EINTR. */
static int ask(struct ctl *ctl, const char *request, char **reply)
{
	__u64 deadline = monotonic_ms() + REPLY_TIMEOUT_MS;
	size_t used = 0, length = strlen(request);
	char *buffer = NULL;
	int fd, err;

	*reply = NULL;
	fd = connect_splitd(ctl);
	if (fd < 0)
		return fd;
	if (send(fd, request, length, MSG_NOSIGNAL) != (ssize_t)length) {
		close(fd);
		return -EIO;
	}
	err = read_reply(fd, deadline, &buffer, &used);
	close(fd);
	if (!err && !used)
		err = -ECONNRESET;
	if (err) {
		free(buffer);
		return err;
	}
	buffer[used] = '\0';
	*reply = buffer;
	return 0;
}

int splitd_request(struct ctl *ctl, const char *request, char **reply)
{
	return ask(ctl, request, reply);
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *value;

	/* a JSON null (no verdict yet) reads as empty, like a missing key */
	if (!json_object_object_get_ex(o, key, &value) || !value)
		return "";
	return json_object_get_string(value);
}

/* A rollout's rules, each with its last value against its bounds. */
static void print_analysis(FILE *out, struct json_object *rollout)
{
	struct json_object *list;

	if (!json_object_object_get_ex(rollout, "analysis", &list))
		return;
	for (size_t a = 0; a < json_object_array_length(list); a++) {
		struct json_object *m = json_object_array_get_idx(list, a);

		fprintf(out,
			"  analysis %s  %s %s  (min %s max %s)  samples %s  failures %s/%s\n",
			field(m, "rule"), field(m, "metric"),
			*field(m, "value") ? field(m, "value") :
					     "(too few samples)",
			*field(m, "min") ? field(m, "min") : "-",
			*field(m, "max") ? field(m, "max") : "-",
			field(m, "samples"), field(m, "consecutive_failures"),
			field(m, "failures"));
	}
}

static void print_status(FILE *out, struct json_object *reply)
{
	struct json_object *rollouts, *list;

	if (*field(reply, "message"))
		fprintf(out, "%s\n", field(reply, "message"));
	if (!json_object_object_get_ex(reply, "rollouts", &rollouts))
		return;
	for (size_t i = 0; i < json_object_array_length(rollouts); i++) {
		struct json_object *r = json_object_array_get_idx(rollouts, i);
		struct json_object *route;

		fprintf(out, "%s  policy %s  %s  step %s/%s %s",
			field(r, "vip"), field(r, "policy"), field(r, "phase"),
			field(r, "step"), field(r, "steps"),
			field(r, "step_kind"));
		if (*field(r, "next_step_in_seconds"))
			fprintf(out, "  next in %ss",
				field(r, "next_step_in_seconds"));
		if (json_object_object_get_ex(r, "route", &route))
			fprintf(out,
				"\n  route  blue %s%%  green %s%%  canary %s%%  live %s",
				field(route, "blue"), field(route, "green"),
				field(route, "canary"), field(route, "live"));
		if (*field(r, "reason"))
			fprintf(out, "\n  reason  %s", field(r, "reason"));
		if (*field(r, "waiting_for")) /* a gate, or paused */
			fprintf(out,
				"\n  waiting for %s: splitctl rollout %s %s",
				field(r, "waiting_for"),
				field(r, "waiting_for"), field(r, "vip"));
		fprintf(out, "\n");
		print_analysis(out, r);
		if (json_object_object_get_ex(r, "history", &list))
			for (size_t h = 0; h < json_object_array_length(list);
			     h++)
				fprintf(out, "  %s\n",
					json_object_get_string(
						json_object_array_get_idx(list,
									  h)));
	}
}

/* The reply as text: its names and reasons come from splitd (and from
 * the configuration it read), so control bytes are shown as '?', as in
 * the live view. */
static void print_text(struct json_object *reply)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	if (!out)
		return;
	print_status(out, reply);
	if (!fclose(out))
		screen_print_safe(stdout, text);
	free(text);
}

/* status VIP --watch [ SECONDS ] (argv from VIP on): the live view
 * (rollout_watch.c) */
static int watch_status(struct ctl *ctl, int argc, char **argv)
{
	double seconds = 1;

	if (argc > 3)
		return usage_error("rollout", "unexpected '%s'", argv[3]);
	if (argc == 3 && screen_parse_interval(argv[2], &seconds))
		return usage_error("rollout",
				   "--watch takes " SCREEN_INTERVAL_TEXT
				   ", not '%s'",
				   argv[2]);
	return rollout_watch(ctl, argv[0], seconds);
}

/* splitd's answer: the error it says, or the reply, in JSON as it came,
 * in text as print_status puts it. */
static int show_reply(struct ctl *ctl, const char *reply)
{
	struct json_object *parsed, *ok;
	int rc;

	parsed = json_tokener_parse(reply);
	if (!parsed)
		return runtime_error("splitd sent an answer that is not JSON");
	if (!json_object_object_get_ex(parsed, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		rc = runtime_error("%s", field(parsed, "error"));
	} else {
		if (out_is_json())
			printf("%s\n",
			       json_object_to_json_string_ext(
				       parsed, ctl->pretty ?
						       JSON_C_TO_STRING_PRETTY :
						       JSON_C_TO_STRING_PLAIN));
		else
			print_text(parsed);
		rc = EXIT_OK;
	}
	json_object_put(parsed);
	return rc;
}

int cmd_rollout(struct ctl *ctl, int argc, char **argv)
{
	/* the table's command is the control socket's verb */
	const char *verb = current_command()->name;
	char request[512], *reply;
	struct xs_vip_key key;
	const struct argument *flag;
	int err, rc;

	if (!strcmp(verb, "status") && argc >= 2 &&
	    is_keyword(argv[1], "--watch"))
		return watch_status(ctl, argc, argv);
	if (!strcmp(verb, "status") && argc >= 1 &&
	    is_keyword(argv[0], "--watch"))
		return usage_error(
			"rollout",
			"--watch watches one rollout: rollout status VIP --watch [ SECONDS ]");
	flag = argc == 2 ? find_argument(current_command(), argv[1]) : NULL;
	if (flag && !strcmp(flag->keyword, "--flush")) {
		argv[1] = "flush"; /* the control socket's word for it */
	} else if (argc > (strcmp(verb, "start") ? 1 : 2) ||
		   (argc < 1 && strcmp(verb, "status"))) {
		return usage_error("rollout",
				   argc ? "unexpected '%s'" : "missing VIP%s",
				   argc ? argv[argc - 1] : "");
	}
	if (argc >= 1 && xs_parse_vip(argv[0], &key))
		return usage_error("rollout", "'%s' is not a VIP", argv[0]);
	/* a word of the control socket's line: the configuration's names */
	if (!strcmp(verb, "start") && argc == 2 &&
	    (!xs_is_plain_name(argv[1]) || strlen(argv[1]) >= XS_NAME_SIZE))
		return usage_error("rollout",
				   "'%s' is not a policy name (%s, at most %d)",
				   argv[1], XS_PLAIN_NAME_CHARACTERS,
				   XS_NAME_SIZE - 1);
	snprintf(request, sizeof(request), "rollout %s %s %s\n", verb,
		 argc >= 1 ? argv[0] : "", argc >= 2 ? argv[1] : "");
	err = ask(ctl, request, &reply);
	if (err)
		return runtime_error(
			"Couldn't reach splitd at %s/splitd.sock: %s; is it running?",
			ctl->run_dir, strerror(-err));
	rc = show_reply(ctl, reply);
	free(reply);
	return rc;
}

const struct command rollout_commands[] = {
	{ "start", cmd_rollout, .usage = FORMS("start VIP [ POLICY ]"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 OPTIONAL("POLICY", VALUE_TEXT)) },
	{ "status", cmd_rollout,
	  .usage = FORMS("status [ VIP [ --watch [ SECONDS ] ] ]"),
	  .arguments = ARGUMENTS(OPTIONAL("VIP", VALUE_VIP),
				 KEYWORD("--watch", "SECONDS", VALUE_TEXT)) },
	{ "pause", cmd_rollout, .usage = FORMS("pause VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP)) },
	{ "resume", cmd_rollout, .usage = FORMS("resume VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP)) },
	{ "promote", cmd_rollout, .usage = FORMS("promote VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP)) },
	{ "abort", cmd_rollout, .usage = FORMS("abort VIP [ --flush ]"),
	  .arguments =
		  ARGUMENTS(POSITIONAL("VIP", VALUE_VIP), FLAG("--flush")) },
	{ "undo", cmd_rollout, .usage = FORMS("undo VIP [ --flush ]"),
	  .arguments =
		  ARGUMENTS(POSITIONAL("VIP", VALUE_VIP), FLAG("--flush")) },
	{ NULL },
};
