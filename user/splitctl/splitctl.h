/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* splitctl's shared state and helpers; one cmd_*.c file per object. */
#ifndef XDPSPLIT_SPLITCTL_H
#define XDPSPLIT_SPLITCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include "user/lib/dataplane.h"
#include "user/lib/output.h"
#include "user/lib/service.h"

/* Exit codes: a script can tell its own mistakes from the system's. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130 /* a live view stopped: 128 + SIGINT */

struct ctl {
	const char *pin_dir;
	const char *state_dir;
	const char *run_dir;
	bool pretty;
	struct xs_dataplane dp;
	bool dp_open;
	int lock_fd;
	int audit_fd; /* opened (and checked) before the change it records */
	char command_line[1024]; /* what the audit log records */
};

struct fleet_conn;

/* What an argument or a keyword's value is: what completion offers. */
enum value_kind {
	VALUE_NONE,   /* a bare keyword ("native", "--dry-run") */
	VALUE_TEXT,   /* a number, a name: nothing to offer */
	VALUE_CHOICE, /* one of choices */
	VALUE_VIP,    /* a VIP of the running data plane */
	VALUE_IFACE,  /* a network interface */
	VALUE_FILE,
	VALUE_DIR,
	VALUE_KIND_COUNT,
};

/*
 * One word a command takes, written once: help, usage errors, the
 * keywords handlers accept (is_keyword, value_is), `help --table` and
 * completion all read it. A positional argument has no keyword, only the
 * name of its value in the usage (VIP, ADDRESS); a keyword ("weight",
 * "--watch", "native") may take a value (W, SECONDS).
 */
struct argument {
	const char *keyword; /* NULL: positional */
	const char *value;   /* its value's name in the usage; NULL: none */
	enum value_kind kind;
	const char *const *choices; /* VALUE_CHOICE: the words it may be */
	bool optional;		    /* a positional that may be left out */
	const char *alias;	    /* another spelling ("-j" of "--json") */
	const char *help;	    /* a line of explanation, where one helps */
};

/*
 * One entry of an object's table (bpftool's cmds[], with what xdp-tools'
 * option tables add): a command is written here once. An object (vip,
 * fleet rollout, the top level) has commands; a command has run (or
 * run_fleet under fleet), its usage and its arguments.
 */
struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	int (*run_fleet)(struct fleet_conn *conn, int argc, char **argv);
	const char *const *usage; /* one line per form, from its name on */
	const struct argument *arguments; /* ends with { 0 } */
	const struct command *commands;	  /* an object's own table */
	const char *help; /* lines that 'help' adds to the usage */
};

#define FORMS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ARGUMENTS(...) ((const struct argument[]){ __VA_ARGS__, { 0 } })
#define POSITIONAL(name, what)                                                 \
	{                                                                      \
		.value = (name), .kind = (what)                                \
	}
#define OPTIONAL(name, what)                                                   \
	{                                                                      \
		.value = (name), .kind = (what), .optional = true              \
	}
#define POSITIONAL_CHOICE(name, words)                                         \
	{                                                                      \
		.value = (name), .kind = VALUE_CHOICE, .choices = (words)      \
	}
#define FLAG(word)                                                             \
	{                                                                      \
		.keyword = (word)                                              \
	}
#define KEYWORD(word, name, what)                                              \
	{                                                                      \
		.keyword = (word), .value = (name), .kind = (what)             \
	}
#define KEYWORD_CHOICE(word, name, words)                                      \
	{                                                                      \
		.keyword = (word), .value = (name), .kind = VALUE_CHOICE,      \
		.choices = (words)                                             \
	}

/* grammar.c: the words the data plane names (checked against
 * xs_pool_name and xs_state_name by 'help --table') */
extern const char *const pool_words[];
extern const char *const state_words[];

/* The tables (one per object). */
extern const struct command splitctl_root;
extern const struct command vip_commands[];
extern const struct command backend_commands[];
extern const struct command override_commands[];
extern const struct command rollout_commands[];
extern const struct command fleet_commands[];
extern const struct command fleet_rollout_commands[];
extern const struct argument fleet_options[];

/* Runs entry with argv (the words after its name): a command's handler,
 * or an object's command chosen from argv[0]; 'help' anywhere in the
 * path prints the usage from the tables. */
int run_command(struct ctl *ctl, const struct command *entry, int argc,
		char **argv);
/* For an object: skips its options (keywords of its table), finds its
 * command in argv by unambiguous prefix and makes it the one under way.
 * EXIT_OK with *found and *at (argv[*at] is the command's name), or
 * *found NULL and the exit code (after help: EXIT_OK; else the usage
 * error printed). */
int enter_command(const struct command *object, int argc, char **argv,
		  const struct command **found, int *at);
/* The keyword of command's table that word names (exactly, by alias or
 * by unambiguous prefix), or NULL. */
const struct argument *find_argument(const struct command *command,
				     const char *word);
/* The command under way (the innermost entered). */
const struct command *current_command(void);
/* Prints the usage of entry (under the path under way) to stream. */
void print_usage(FILE *stream, const struct command *entry);
/* Is word the keyword (an unambiguous prefix of it, or its alias) among
 * the keywords of the command under way and its objects? keyword must
 * be in that table: a name missing from it is a bug, and aborts. */
bool is_keyword(const char *word, const char *keyword);
/* Is value the choice of keyword's choices (the same check)? */
bool value_is(const char *keyword, const char *value, const char *choice);
/* "up, draining or down": keyword's choices, for an error message */
const char *choices_text(const char *keyword);

/* 'help --table': the tables as JSON; 'help --complete WORDS': what may
 * follow WORDS (the last one being typed), one per line */
int print_table(struct ctl *ctl);
const char *value_kind_name(enum value_kind kind);
int print_completions(int argc, char **argv);

/* Prints the error and the usage of the command under way (object: the
 * name for the hint when none is; most callers' command is). */
int usage_error(const char *object, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/* "Error: ..." on stderr, or {"error":"..."} in JSON */
void print_error(const char *format, va_list args);
int runtime_error(const char *format, ...)
	__attribute__((format(printf, 1, 2)));

/* Opens the pinned maps for reading. */
int ctl_open(struct ctl *ctl);
/* Locks the pin directory and opens the maps for a change. */
int ctl_begin_change(struct ctl *ctl);
/* Appends the change to the audit log (before/after as JSON). */
int ctl_open_audit(struct ctl *ctl);
int ctl_audit(struct ctl *ctl, const char *before, const char *after);
/* Prints "unchanged: ..." for an idempotent repeat. */
int ctl_unchanged(const char *format, ...)
	__attribute__((format(printf, 1, 2)));
void ctl_done(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* A VIP argument that must exist: usage error if malformed, runtime
 * error naming it if absent. Returns EXIT_OK or an exit code. */
int need_vip(struct ctl *ctl, const char *object, const char *text,
	     struct xs_vip_entry *entry);

/* owner.c: 1 and the record if a rollout under way owns the VIP's route,
 * 0 if none, -EIO (error printed) if the state cannot be read. */
struct xs_rollout_record;
int rollout_owning(struct ctl *ctl, const struct xs_vip_entry *vip,
		   struct xs_rollout_record *owner);
/* EXIT_OK if the operator may write the VIP's route now: no rollout owns
 * it, or force and splitd paused it (*paused). Else the error, printed. */
int may_write_route(struct ctl *ctl, const char *object,
		    const struct xs_vip_entry *vip, bool force, bool *paused);
/* cmd_rollout.c: one request to splitd's control socket, its whole reply
 * (malloc'd, any size) */
int splitd_request(struct ctl *ctl, const char *request, char **reply);

/* cmd_route.c: "blue B green G canary C" (argv[0..5]) into route, or the
 * usage error printed; and the live pool after route, from live: it
 * follows the share when one color is emptied in favour of the other */
int parse_weights(const char *object, char **argv, struct xs_route *route);
__u8 live_pool_after(const struct xs_route *route, __u8 live);

/* JSON snapshots for the audit log. */
char *describe_vip(const struct xs_vip_entry *entry);
char *describe_backend(const struct xs_backend_entry *entry);
/* Prints a VIP (and its route) with the current output calls. */
void print_vip(const struct xs_vip_entry *entry);
void print_backend(const struct xs_backend_entry *entry);

int cmd_attach(struct ctl *ctl, int argc, char **argv);
int cmd_detach(struct ctl *ctl, int argc, char **argv);
int cmd_upgrade(struct ctl *ctl, int argc, char **argv);
int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_weights(struct ctl *ctl, int argc, char **argv);
int cmd_switch(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_explain(struct ctl *ctl, int argc, char **argv);
int cmd_history(struct ctl *ctl, int argc, char **argv);
int cmd_apply(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
/* every rollout command: the verb is the command's name */
int cmd_rollout(struct ctl *ctl, int argc, char **argv);
int cmd_fleet(struct ctl *ctl, int argc, char **argv);

#endif
