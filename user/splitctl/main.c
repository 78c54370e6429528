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
#include "user/lib/config.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/version.h"
#include "splitctl.h"

#define LOCK_TIMEOUT_MS 10000

/* The top level's options, as getopt_long is given them (see main). */
static const struct argument global_options[] = {
	{ .keyword = "--json", .alias = "-j" },
	{ .keyword = "--pretty", .alias = "-p" },
	{ .keyword = "--verbose", .alias = "-v" },
	{ .keyword = "--pin-dir",
	  .value = "DIR",
	  .kind = VALUE_DIR,
	  .help = "(or $" XS_PIN_DIR_ENV ", default " XS_DEFAULT_PIN_DIR ")" },
	{ .keyword = "--state-dir",
	  .value = "DIR",
	  .kind = VALUE_DIR,
	  .help = "(or $" XS_STATE_DIR_ENV ", default " XS_DEFAULT_STATE_DIR
		  "): the audit log" },
	{ .keyword = "--run-dir",
	  .value = "DIR",
	  .kind = VALUE_DIR,
	  .help = "(or $" XS_RUN_DIR_ENV ", default " XS_DEFAULT_RUN_DIR
		  "): splitd's socket" },
	{ .keyword = "--help", .alias = "-h" },
	{ .keyword = "--version", .alias = "-V" },
	{ 0 },
};

/* The top level's table: every object and command of splitctl. */
static const struct command objects[] = {
	{ "attach", cmd_attach,
	  .usage = FORMS(
		  "attach IFACE [ native | generic ] [ flows N ] [ vips N ] [ backends N ] [ maglev PRIME ] [ seed N ] [ object FILE ]"),
	  .arguments = ARGUMENTS(POSITIONAL("IFACE", VALUE_IFACE),
				 FLAG("native"), FLAG("generic"),
				 KEYWORD("flows", "N", VALUE_TEXT),
				 KEYWORD("vips", "N", VALUE_TEXT),
				 KEYWORD("backends", "N", VALUE_TEXT),
				 KEYWORD("maglev", "PRIME", VALUE_TEXT),
				 KEYWORD("seed", "N", VALUE_TEXT),
				 KEYWORD("object", "FILE", VALUE_FILE)),
	  .help = "Sizes and seed apply to the first attach; later ones reuse the pinned maps.\n"
		  "Where xdp_split is attached already nothing changes: 'splitctl upgrade IFACE'\n"
		  "replaces it with this build (or FILE's) in place.\n" },
	{ "detach", cmd_detach, .usage = FORMS("detach IFACE"),
	  .arguments = ARGUMENTS(POSITIONAL("IFACE", VALUE_IFACE)),
	  .help = "The maps stay pinned: attaching again keeps every flow and setting.\n" },
	{ "upgrade", cmd_upgrade,
	  .usage = FORMS("upgrade IFACE [ object FILE ]"),
	  .arguments = ARGUMENTS(POSITIONAL("IFACE", VALUE_IFACE),
				 KEYWORD("object", "FILE", VALUE_FILE)),
	  .help = "Replaces the attached xdp_split with this build (or FILE's) in one atomic\n"
		  "swap, in the same mode. The new program takes over the pinned maps, so every\n"
		  "flow keeps its backend. A build whose maps differ from the pinned ones is\n"
		  "refused before anything is touched.\n" },
	{ "status", cmd_status, .usage = FORMS("status") },
	{ "vip", .commands = vip_commands },
	{ "backend", .commands = backend_commands },
	{ "weights", cmd_weights,
	  .usage = FORMS(
		  "weights VIP blue PERCENT green PERCENT canary PERCENT [ --force ]"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 KEYWORD("blue", "PERCENT", VALUE_TEXT),
				 KEYWORD("green", "PERCENT", VALUE_TEXT),
				 KEYWORD("canary", "PERCENT", VALUE_TEXT),
				 FLAG("--force")),
	  .help = "PERCENT has at most two decimals; the three must add up to 100.\n"
		  "Refused while a rollout owns the VIP; --force pauses it first.\n" },
	{ "switch", cmd_switch,
	  .usage = FORMS("switch VIP { blue | green } [ --flush ] [ --force ]"),
	  .arguments =
		  ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
			    POSITIONAL_CHOICE("COLOR", WORDS("blue", "green")),
			    FLAG("--flush"), FLAG("--force")),
	  .help = "Moves the whole non-canary share to the color in one write.\n"
		  "Established flows of the other color stay until they end;\n"
		  "with --flush they are re-chosen on their next packet.\n"
		  "Refused while a rollout owns the VIP; --force pauses it first.\n" },
	{ "override", .commands = override_commands },
	{ "stats", cmd_stats,
	  .usage = FORMS("stats [ VIP ] [ --watch SECONDS [ --count N ] ]"),
	  .arguments = ARGUMENTS(OPTIONAL("VIP", VALUE_VIP),
				 KEYWORD("--watch", "SECONDS", VALUE_TEXT),
				 KEYWORD("--count", "N", VALUE_TEXT)) },
	{ "explain", cmd_explain, .usage = FORMS("explain VIP CLIENT [ PORT ]"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_VIP),
				 POSITIONAL("CLIENT", VALUE_TEXT),
				 OPTIONAL("PORT", VALUE_TEXT)),
	  .help = "Shows the existing flow of CLIENT:PORT, if any, and where a new\n"
		  "connection from it would go now: pool, why, Maglev slot, backend.\n" },
	{ "history", cmd_history, .usage = FORMS("history [ --last N ]"),
	  .arguments = ARGUMENTS(KEYWORD("--last", "N", VALUE_TEXT)) },
	{ "apply", cmd_apply, .usage = FORMS("apply -f FILE [ --dry-run ]"),
	  .arguments = ARGUMENTS(KEYWORD("-f", "FILE", VALUE_FILE),
				 FLAG("--dry-run")),
	  .help = "Shows what changes, old -> new, to make the running state what FILE says,\n"
		  "then makes the maps' changes (not with --dry-run). VIPs missing from FILE\n"
		  "are removed. Exit status of --dry-run: 0 nothing would change, 3 changes\n"
		  "pending, 1 failure, 2 usage error.\n" },
	{ "check", cmd_check,
	  .usage = FORMS("check -f FILE [ -f FILE ... ] [ --document ]"),
	  .arguments = ARGUMENTS(KEYWORD("-f", "FILE", VALUE_FILE),
				 FLAG("--document")),
	  .help = "Validates configuration files offline (no maps, no splitd, no root):\n"
		  "a host's file (splitd -c, apply -f), a fleet host's file, or with\n"
		  "--document a fleet's document (fleet apply -f). Exit status: 0 all\n"
		  "valid, 1 one is not (its errors as FILE:LINE:COLUMN: ...), 2 usage error.\n" },
	{ "rollout", .commands = rollout_commands,
	  .help = "Abort and undo drain the canary: its connections stay, new ones go to\n"
		  "the live color; --flush re-chooses them on their next packet.\n"
		  "Talks to splitd over RUN_DIR/splitd.sock (--run-dir).\n" },
	{ "fleet", cmd_fleet, .arguments = fleet_options,
	  .commands = fleet_commands,
	  .help = "Without --etcd, the fleet section of --config (default " XS_DEFAULT_CONFIG_FILE
		  ") says where etcd is.\n" },
	{ NULL },
};

const struct command splitctl_root = {
	"splitctl",
	.usage = FORMS("[ OPTIONS ] OBJECT { COMMAND | help }", "help",
		       "{ -V | --version }"),
	.arguments = global_options,
	.commands = objects,
	.help = "VIP := ADDRESS:PORT/{ tcp | udp }  (IPv6: [ADDRESS]:PORT/PROTO; port 0: every port)\n"
		"Commands and keywords may be abbreviated to any unambiguous prefix.\n"
		"Exit status: 0 success, 1 failure, 2 usage error, 3 changes pending\n"
		"(apply --dry-run).\n",
};

void print_error(const char *format, va_list args)
{
	char message[1024];

	vsnprintf(message, sizeof(message), format, args);
	if (out_is_json()) {
		printf("{\"error\":\"");
		json_escape_to(stdout, message);
		printf("\"}\n");
	} else {
		fprintf(stderr, "Error: %s\n", message);
	}
}

int runtime_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	print_error(format, args);
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

int ctl_open(struct ctl *ctl)
{
	if (ctl->dp_open)
		return EXIT_OK;
	int err = xs_dataplane_open(&ctl->dp, ctl->pin_dir);

	if (err == -ENOENT)
		return runtime_error(
			"xdpsplit is not loaded with pin directory '%s'; run 'splitctl attach IFACE' first",
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
		return runtime_error(
			"nothing was changed: the audit log under '%s' cannot be trusted or written (see above)",
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
				       runtime_error(
					       "Couldn't lock '%s'; try again",
					       ctl->pin_dir);
	}
	return ctl_open(ctl);
}

int ctl_audit(struct ctl *ctl, const char *before, const char *after)
{
	if (xs_audit_record(ctl->state_dir, &ctl->audit_fd, ctl->command_line,
			    before, after))
		return runtime_error(
			"the change was made but not recorded in the audit log under '%s'",
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
		return usage_error(
			object,
			"'%s' is not a VIP; write ADDRESS:PORT/tcp, ADDRESS:PORT/udp or [IPV6]:PORT/PROTO",
			text);
	rc = ctl_open(ctl);
	if (rc)
		return rc;
	if (xs_vip_lookup(&ctl->dp, &key, entry))
		return runtime_error("no VIP %s; see 'splitctl vip list'",
				     text);
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

/* getopt_long's options made from global_options: the table is their
 * one list. An option without a short form gets a value past any char. */
static void make_options(struct option *longs, char *shorts)
{
	size_t n = 0, used = 0;

	shorts[used++] = '+'; /* options end at the object: its own follow it */
	shorts[used++] = ':'; /* a missing value is ours to report */
	for (const struct argument *a = global_options; a->keyword; a++, n++) {
		int val = a->alias ? a->alias[1] : 256 + (int)n;

		longs[n] = (struct option){ a->keyword + 2,
					    a->value ? required_argument :
						       no_argument,
					    NULL, val };
		if (a->alias) {
			shorts[used++] = a->alias[1];
			if (a->value)
				shorts[used++] = ':';
		}
	}
	longs[n] = (struct option){ 0 };
	shorts[used] = '\0';
}

static const struct argument *option_of(int val)
{
	size_t n = 0;

	for (const struct argument *a = global_options; a->keyword; a++, n++)
		if ((a->alias && a->alias[1] == val) ||
		    (!a->alias && 256 + (int)n == val))
			return a;
	return NULL;
}

static int print_version(void)
{
	out_object_begin(NULL);
	if (out_is_json())
		out_string("version", XS_VERSION);
	else
		printf("splitctl %s\n", XS_VERSION);
	out_object_end();
	if (out_is_json())
		out_finish();
	return EXIT_OK;
}

static void close_ctl(struct ctl *ctl)
{
	if (ctl->dp_open)
		xs_dataplane_close(&ctl->dp);
	xs_unlock(ctl->lock_fd);
	if (ctl->audit_fd >= 0)
		close(ctl->audit_fd);
}

int main(int argc, char **argv)
{
	struct option longs[sizeof(global_options) / sizeof(global_options[0])];
	char shorts[2 * sizeof(global_options) / sizeof(global_options[0]) + 3];
	struct ctl ctl = { .lock_fd = -1, .audit_fd = -1 };
	enum xs_output_mode mode = XS_OUTPUT_TEXT;
	int verbosity = XS_LOG_WARN, opt, rc;
	bool help = false, version = false;

	ctl.pin_dir = getenv(XS_PIN_DIR_ENV) ?: XS_DEFAULT_PIN_DIR;
	ctl.state_dir = getenv(XS_STATE_DIR_ENV) ?: XS_DEFAULT_STATE_DIR;
	ctl.run_dir = getenv(XS_RUN_DIR_ENV) ?: XS_DEFAULT_RUN_DIR;
	make_options(longs, shorts);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct argument *option = option_of(opt);
		const char *word = option ? option->keyword : "";

		if (opt == '?' || opt == ':') {
			out_init(stdout, mode);
			return usage_error(NULL,
					   opt == ':' ? "'%s' needs a value" :
							"unknown option '%s'",
					   argv[optind - 1]);
		}
		if (is_keyword(word, "--json")) {
			if (mode == XS_OUTPUT_TEXT)
				mode = XS_OUTPUT_JSON;
		} else if (is_keyword(word, "--pretty")) {
			mode = XS_OUTPUT_PRETTY_JSON;
			ctl.pretty = true;
		} else if (is_keyword(word, "--verbose")) {
			if (verbosity < XS_LOG_DEBUG)
				verbosity++;
		} else if (is_keyword(word, "--pin-dir")) {
			ctl.pin_dir = optarg;
		} else if (is_keyword(word, "--state-dir")) {
			ctl.state_dir = optarg;
		} else if (is_keyword(word, "--run-dir")) {
			ctl.run_dir = optarg;
		} else if (is_keyword(word, "--help")) {
			help = true;
		} else if (is_keyword(word, "--version")) {
			version = true;
		}
	}
	xs_log_set_level(verbosity);
	out_init(stdout, mode);
	if (version)
		return print_version();
	if (help) {
		print_usage(stdout, &splitctl_root);
		printf("%s", splitctl_root.help);
		return EXIT_OK;
	}
	/* the hidden views of the tables, for the tests and the completion */
	if (argc - optind >= 2 && !strcmp(argv[optind], "help")) {
		if (!strcmp(argv[optind + 1], "--table"))
			return print_table(&ctl);
		if (!strcmp(argv[optind + 1], "--complete"))
			return print_completions(argc - optind - 2,
						 argv + optind + 2);
	}
	remember_command_line(&ctl, argc - optind, argv + optind);
	rc = run_command(&ctl, &splitctl_root, argc - optind, argv + optind);
	close_ctl(&ctl);
	return rc;
}
