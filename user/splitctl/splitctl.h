/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* splitctl's shared state and helpers; one cmd_*.c file per object. */
#ifndef XDPSPLIT_SPLITCTL_H
#define XDPSPLIT_SPLITCTL_H

#include <stdbool.h>
#include "user/lib/dataplane.h"
#include "user/lib/output.h"
#include "user/lib/service.h"

/* Exit codes: a script can tell its own mistakes from the system's. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

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

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage; /* one line per form, without "splitctl" */
};

/* Finds argv's command by unambiguous prefix; prints the error itself. */
const struct command *find_command(const struct command *commands,
				   const char *object, const char *word);
int run_subcommand(struct ctl *ctl, const struct command *commands,
		   const char *object, int argc, char **argv);
void print_usage(const struct command *commands, const char *object);
/* Is word an unambiguous prefix of keyword? ("wei" of "weight") */
bool is_keyword(const char *word, const char *keyword);

int usage_error(const char *object, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
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
int cmd_vip(struct ctl *ctl, int argc, char **argv);
int cmd_backend(struct ctl *ctl, int argc, char **argv);
int cmd_weights(struct ctl *ctl, int argc, char **argv);
int cmd_switch(struct ctl *ctl, int argc, char **argv);
int cmd_override(struct ctl *ctl, int argc, char **argv);
int cmd_stats(struct ctl *ctl, int argc, char **argv);
int cmd_explain(struct ctl *ctl, int argc, char **argv);
int cmd_history(struct ctl *ctl, int argc, char **argv);
int cmd_apply(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
int cmd_rollout(struct ctl *ctl, int argc, char **argv);
int cmd_fleet(struct ctl *ctl, int argc, char **argv);

#endif
