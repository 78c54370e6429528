// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rollout start | status | pause | resume | promote | abort | undo: talks
 * to splitd over its control socket. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "user/lib/parse.h"
#include "splitctl.h"

#define REPLY_TIMEOUT_MS 5000

static int ask(struct ctl *ctl, const char *request, char *reply, size_t size)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	size_t used = 0;
	int fd;

	snprintf(address.sun_path, sizeof(address.sun_path), "%s/splitd.sock",
		 ctl->run_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address))) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return -EIO;
	}
	while (used + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, REPLY_TIMEOUT_MS) != 1)
			break;
		n = read(fd, reply + used, size - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	reply[used] = '\0';
	close(fd);
	return used ? 0 : -ETIMEDOUT;
}

int splitd_request(struct ctl *ctl, const char *request, char *reply,
		   size_t size)
{
	return ask(ctl, request, reply, size);
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *value;

	/* a JSON null (no verdict yet) reads as empty, like a missing key */
	if (!json_object_object_get_ex(o, key, &value) || !value)
		return "";
	return json_object_get_string(value);
}

static void print_text(struct json_object *reply)
{
	struct json_object *rollouts, *list;

	if (*field(reply, "message"))
		printf("%s\n", field(reply, "message"));
	if (!json_object_object_get_ex(reply, "rollouts", &rollouts))
		return;
	for (size_t i = 0; i < json_object_array_length(rollouts); i++) {
		struct json_object *r = json_object_array_get_idx(rollouts, i);
		struct json_object *route;

		printf("%s  policy %s  %s  step %s/%s %s", field(r, "vip"),
		       field(r, "policy"), field(r, "phase"), field(r, "step"),
		       field(r, "steps"), field(r, "step_kind"));
		if (*field(r, "next_step_in_seconds"))
			printf("  next in %ss", field(r, "next_step_in_seconds"));
		if (json_object_object_get_ex(r, "route", &route))
			printf("\n  route  blue %s%%  green %s%%  canary %s%%  live %s",
			       field(route, "blue"), field(route, "green"),
			       field(route, "canary"), field(route, "live"));
		if (*field(r, "reason"))
			printf("\n  reason  %s", field(r, "reason"));
		printf("\n");
		if (json_object_object_get_ex(r, "analysis", &list))
			for (size_t a = 0; a < json_object_array_length(list); a++) {
				struct json_object *m = json_object_array_get_idx(list, a);

				printf("  analysis %s  %s %s  (min %s max %s)  samples %s  failures %s/%s\n",
				       field(m, "rule"), field(m, "metric"),
				       *field(m, "value") ? field(m, "value") :
							    "(too few samples)",
				       *field(m, "min") ? field(m, "min") : "-",
				       *field(m, "max") ? field(m, "max") : "-",
				       field(m, "samples"),
				       field(m, "consecutive_failures"),
				       field(m, "failures"));
			}
		if (json_object_object_get_ex(r, "history", &list))
			for (size_t h = 0; h < json_object_array_length(list); h++)
				printf("  %s\n", json_object_get_string(
							 json_object_array_get_idx(list, h)));
	}
}

int cmd_rollout(struct ctl *ctl, int argc, char **argv)
{
	static const char *const verbs[] = { "start", "status", "pause",
					     "resume", "promote", "abort",
					     "undo", NULL };
	char request[512], reply[65536];
	struct xs_vip_key key;
	struct json_object *parsed, *ok;
	const char *verb = NULL;
	int err, rc;

	if (argc < 1 || !strcmp(argv[0], "help")) {
		printf("Usage: splitctl rollout start VIP [ POLICY ]\n"
		       "       splitctl rollout status [ VIP ]\n"
		       "       splitctl rollout { pause | resume | promote } VIP\n"
		       "       splitctl rollout { abort | undo } VIP [ --flush ]\n"
		       "Abort and undo drain the canary: its connections stay, new ones go to\n"
		       "the live color; --flush re-chooses them on their next packet.\n"
		       "Talks to splitd over %s/splitd.sock.\n", ctl->run_dir);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	for (const char *const *v = verbs; *v; v++)
		if (is_keyword(argv[0], *v))
			verb = verb ? "" : *v;
	if (!verb || !*verb)
		return usage_error("rollout", "%s command '%s'",
				   verb ? "ambiguous" : "unknown", argv[0]);
	if (argc == 3 && (!strcmp(verb, "abort") || !strcmp(verb, "undo")) &&
	    !strcmp(argv[2], "--flush")) {
		argv[2] = "flush"; /* the control socket's word for it */
	} else if (argc > (strcmp(verb, "start") ? 2 : 3) ||
		   (argc < 2 && strcmp(verb, "status"))) {
		return usage_error("rollout", "usage: rollout %s %s", verb,
				   !strcmp(verb, "start") ? "VIP [ POLICY ]" :
				   !strcmp(verb, "abort") || !strcmp(verb, "undo") ?
							  "VIP [ --flush ]" :
							  "VIP");
	}
	if (argc >= 2 && xs_parse_vip(argv[1], &key))
		return usage_error("rollout", "'%s' is not a VIP", argv[1]);
	snprintf(request, sizeof(request), "rollout %s %s %s\n", verb,
		 argc >= 2 ? argv[1] : "", argc >= 3 ? argv[2] : "");
	err = ask(ctl, request, reply, sizeof(reply));
	if (err)
		return runtime_error("Couldn't reach splitd at %s/splitd.sock: %s; is it running?",
				     ctl->run_dir, strerror(-err));
	parsed = json_tokener_parse(reply);
	if (!parsed)
		return runtime_error("splitd sent an answer that is not JSON");
	if (!json_object_object_get_ex(parsed, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		rc = runtime_error("%s", field(parsed, "error"));
	} else {
		if (out_is_json())
			printf("%s\n", json_object_to_json_string_ext(
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
