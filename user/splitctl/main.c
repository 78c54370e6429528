// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * splitctl [OPTIONS] OBJECT { COMMAND | help }: the operator's tool for the
 * pinned xdpsplit data plane, in the grammar of iproute2 and bpftool.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "maps/names.h"
#include "user/lib/audit.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/version.h"
#include "splitctl.h"

#define LOCK_TIMEOUT_MS 10000

static const struct command objects[] = {
	{ "attach", cmd_attach, "attach IFACE [ native | generic ] [ flows N ] [ vips N ] [ backends N ] [ maglev PRIME ] [ seed N ] [ object FILE ]" },
	{ "detach", cmd_detach, "detach IFACE" },
	{ "upgrade", cmd_upgrade, "upgrade IFACE [ object FILE ]" },
	{ "status", cmd_status, "status" },
	{ "vip", cmd_vip, "vip { add | del | list | show | help } ..." },
	{ "backend", cmd_backend, "backend { add | del | set | list | help } ..." },
	{ "weights", cmd_weights, "weights VIP blue PERCENT green PERCENT canary PERCENT [ --force ]" },
	{ "switch", cmd_switch, "switch VIP { blue | green } [ --flush ] [ --force ]" },
	{ "override", cmd_override, "override { add | del | list | help } ..." },
	{ "stats", cmd_stats, "stats [ VIP ] [ --watch SECONDS [ --count N ] ]" },
	{ "explain", cmd_explain, "explain VIP CLIENT [ PORT ]" },
	{ "history", cmd_history, "history [ --last N ]" },
	{ "apply", cmd_apply, "apply -f FILE [ --dry-run ]" },
	{ "fleet", cmd_fleet, "fleet [ --etcd URLS ] [ --prefix P ] [ --config FILE ] { status | apply | drain | undrain | weights | rollout | help } ..." },
	{ "rollout", cmd_rollout, "rollout { start | status | pause | resume | promote | abort | undo } [ VIP ] [ POLICY | --flush ]" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *stream)
{
	fprintf(stream,
		"Usage: splitctl [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"       splitctl help\n"
		"Objects and commands:\n");
	for (const struct command *c = objects; c->name; c++)
		fprintf(stream, "       splitctl %s\n", c->usage);
	fprintf(stream,
		"VIP := ADDRESS:PORT/{ tcp | udp }  (IPv6: [ADDRESS]:PORT/PROTO; port 0: every port)\n"
		"OPTIONS := { -j | --json } { -p | --pretty } { -v | --verbose }\n"
		"           --pin-dir DIR (or $" XS_PIN_DIR_ENV ", default " XS_DEFAULT_PIN_DIR ")\n"
		"           --state-dir DIR (or $" XS_STATE_DIR_ENV ", default " XS_DEFAULT_STATE_DIR ")\n"
		"           --run-dir DIR (or $" XS_RUN_DIR_ENV ", default " XS_DEFAULT_RUN_DIR "): splitd's socket\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static void print_error(const char *prefix, const char *format, va_list args)
{
	char message[1024];

	vsnprintf(message, sizeof(message), format, args);
	if (out_is_json()) {
		printf("{\"error\":\"");
		json_escape_to(stdout, message);
		printf("\"}\n");
	} else {
		fprintf(stderr, "%s%s\n", prefix, message);
	}
}

int usage_error(const char *object, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	print_error("Error: ", format, args);
	va_end(args);
	if (!out_is_json())
		fprintf(stderr, "Try 'splitctl %s help'.\n", object ? object : "");
	return EXIT_USAGE;
}

int runtime_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	print_error("Error: ", format, args);
	va_end(args);
	return EXIT_RUNTIME;
}

int ctl_unchanged(const char *format, ...)
{
	va_list args;

	if (out_is_json())
		return EXIT_OK;
	va_start(args, format);
	printf("unchanged: ");
	vprintf(format, args);
	printf("\n");
	va_end(args);
	return EXIT_OK;
}

void ctl_done(const char *format, ...)
{
	va_list args;

	if (out_is_json())
		return;
	va_start(args, format);
	vprintf(format, args);
	printf("\n");
	va_end(args);
}

bool is_keyword(const char *word, const char *keyword)
{
	return word && *word && !strncmp(word, keyword, strlen(word));
}

const struct command *find_command(const struct command *commands,
				   const char *object, const char *word)
{
	const struct command *found = NULL;
	int matches = 0;

	for (const struct command *c = commands; c->name; c++) {
		if (!strcmp(word, c->name))
			return c;
		if (is_keyword(word, c->name)) {
			found = c;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	usage_error(object, matches ? "'%s' is ambiguous" :
				      "unknown command '%s'", word);
	return NULL;
}

void print_usage(const struct command *commands, const char *object)
{
	printf("Usage:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("       splitctl %s %s\n", object, c->usage);
}

int run_subcommand(struct ctl *ctl, const struct command *commands,
		   const char *object, int argc, char **argv)
{
	const struct command *command;

	if (argc < 1 || !strcmp(argv[0], "help")) {
		print_usage(commands, object);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	command = find_command(commands, object, argv[0]);
	if (!command)
		return EXIT_USAGE;
	if (argc > 1 && !strcmp(argv[1], "help")) {
		printf("Usage: splitctl %s %s\n", object, command->usage);
		return EXIT_OK;
	}
	return command->run(ctl, argc - 1, argv + 1);
}

int ctl_open(struct ctl *ctl)
{
	if (ctl->dp_open)
		return EXIT_OK;
	int err = xs_dataplane_open(&ctl->dp, ctl->pin_dir);

	if (err == -ENOENT)
		return runtime_error("xdpsplit is not loaded with pin directory '%s'; run 'splitctl attach IFACE' first",
				     ctl->pin_dir);
	if (err)
		return runtime_error("%s", ctl->dp.error);
	ctl->dp_open = true;
	return EXIT_OK;
}

/* The audit log is opened before the change: a log we may not write (a
 * planted FIFO, another user's file) refuses the change, not just its
 * record. */
int ctl_open_audit(struct ctl *ctl)
{
	if (ctl->audit_fd >= 0)
		return EXIT_OK;
	ctl->audit_fd = xs_audit_open(ctl->state_dir);
	if (ctl->audit_fd < 0)
		return runtime_error("nothing was changed: the audit log under '%s' cannot be trusted or written (see above)",
				     ctl->state_dir);
	return EXIT_OK;
}

int ctl_begin_change(struct ctl *ctl)
{
	int rc = ctl_open_audit(ctl);

	if (rc)
		return rc;
	if (ctl->lock_fd < 0) {
		ctl->lock_fd = xs_lock_pin_dir(ctl->pin_dir, LOCK_TIMEOUT_MS);
		if (ctl->lock_fd < 0)
			return ctl->lock_fd == -ENOENT ?
				       ctl_open(ctl) :
				       runtime_error("Couldn't lock '%s'; try again",
						     ctl->pin_dir);
	}
	return ctl_open(ctl);
}

int ctl_audit(struct ctl *ctl, const char *before, const char *after)
{
	if (xs_audit_record(ctl->state_dir, &ctl->audit_fd, ctl->command_line,
			    before, after))
		return runtime_error("the change was made but not recorded in the audit log under '%s'",
				     ctl->state_dir);
	return EXIT_OK;
}

int need_vip(struct ctl *ctl, const char *object, const char *text,
	     struct xs_vip_entry *entry)
{
	struct xs_vip_key key;
	int rc;

	if (!text)
		return usage_error(object, "missing VIP (ADDRESS:PORT/PROTO)");
	if (xs_parse_vip(text, &key))
		return usage_error(object, "'%s' is not a VIP; write ADDRESS:PORT/tcp, ADDRESS:PORT/udp or [IPV6]:PORT/PROTO",
				   text);
	rc = ctl_open(ctl);
	if (rc)
		return rc;
	if (xs_vip_lookup(&ctl->dp, &key, entry))
		return runtime_error("no VIP %s; see 'splitctl vip list'", text);
	return EXIT_OK;
}

static void remember_command_line(struct ctl *ctl, int argc, char **argv)
{
	size_t used = 0;

	ctl->command_line[0] = '\0';
	for (int i = 0; i < argc && used + 2 < sizeof(ctl->command_line); i++)
		used += snprintf(ctl->command_line + used,
				 sizeof(ctl->command_line) - used, "%s%s",
				 i ? " " : "", argv[i]);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "run-dir", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .lock_fd = -1, .audit_fd = -1 };
	enum xs_output_mode mode = XS_OUTPUT_TEXT;
	const struct command *object;
	int verbosity = XS_LOG_WARN, opt, rc;

	ctl.pin_dir = getenv(XS_PIN_DIR_ENV) ?: XS_DEFAULT_PIN_DIR;
	ctl.state_dir = getenv(XS_STATE_DIR_ENV) ?: XS_DEFAULT_STATE_DIR;
	ctl.run_dir = getenv(XS_RUN_DIR_ENV) ?: XS_DEFAULT_RUN_DIR;
	/* '+': options end at the object, whose own options follow it */
	while ((opt = getopt_long(argc, argv, "+jpvVh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (mode == XS_OUTPUT_TEXT)
				mode = XS_OUTPUT_JSON;
			break;
		case 'p':
			mode = XS_OUTPUT_PRETTY_JSON;
			ctl.pretty = true;
			break;
		case 'v':
			if (verbosity < XS_LOG_DEBUG)
				verbosity++;
			break;
		case 'P':
			ctl.pin_dir = optarg;
			break;
		case 'S':
			ctl.state_dir = optarg;
			break;
		case 'R':
			ctl.run_dir = optarg;
			break;
		case 'V':
			printf("splitctl %s\n", XS_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	xs_log_set_level(verbosity);
	out_init(stdout, mode);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	remember_command_line(&ctl, argc - optind, argv + optind);
	object = find_command(objects, NULL, argv[optind]);
	if (!object)
		return EXIT_USAGE;
	rc = object->run(&ctl, argc - optind - 1, argv + optind + 1);
	if (ctl.dp_open)
		xs_dataplane_close(&ctl.dp);
	xs_unlock(ctl.lock_fd);
	if (ctl.audit_fd >= 0)
		close(ctl.audit_fd);
	return rc;
}
