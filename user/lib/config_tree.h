/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A configuration as a generic tree, and the diff of two such trees.
 *
 * config_fields.c describes every member of struct xs_config_file and the
 * structs below it once (a field table per section); xs_config_tree()
 * walks that table and flattens a configuration into entries: elements
 * ("vip 10.0.0.1:80/tcp", "vip 10.0.0.1:80/tcp backend 10.1.0.2",
 * "policy canary") and leaves ("... backend 10.1.0.2 weight" = "100").
 * The diff compares two trees entry by entry, so a field the table knows
 * is compared wherever it is, and a member the table does not know fails
 * a test (tests/test_config_diff.c checks the table against the structs'
 * BTF).
 */
#ifndef XDPSPLIT_CONFIG_TREE_H
#define XDPSPLIT_CONFIG_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"

/* Who holds the running value of a field, i.e. the old side of the diff:
 * the maps (VIPs, backends, weights), or the record of the configuration
 * splitd applied last (policies, probes, daemon, interfaces, fleet). */
enum xs_held_by {
	XS_HELD_INHERIT, /* as the section it is in (the top: splitd) */
	XS_HELD_BY_MAPS,
	XS_HELD_BY_SPLITD,
};

const char *xs_held_by_name(enum xs_held_by held_by);

struct xs_tree_entry {
	char *path;   /* element: its path; leaf: parent and key */
	char *parent; /* the element it is in ("" at the top) */
	char *key;    /* leaf: its key; element: NULL */
	char *value;  /* leaf: its value ("none" if not given); element: NULL */
	enum xs_held_by held_by;
};

struct xs_tree {
	struct xs_tree_entry *entries;
	size_t count, capacity;
};

/* Flattens config; -ENOMEM. */
int xs_config_tree(const struct xs_config_file *config, struct xs_tree *tree);
/* Appends the entries of from held by held_by whose element is in to
 * (or at the top), in order; -ENOMEM. */
int xs_tree_merge(struct xs_tree *to, const struct xs_tree *from,
		  enum xs_held_by held_by);
int xs_tree_add(struct xs_tree *tree, const char *parent, const char *key,
		const char *path, const char *value, enum xs_held_by held_by);
void xs_tree_free(struct xs_tree *tree);

enum xs_diff_sign {
	XS_DIFF_REMOVED = '-',
	XS_DIFF_ADDED = '+',
	XS_DIFF_CHANGED = '~',
};

struct xs_diff_line {
	char sign;
	char *what;  /* the element ("vip 10.0.0.1:80/tcp backend 10.1.0.2") */
	char *field; /* ~: the field; + and -: NULL (the element itself) */
	char *old_value, *new_value; /* ~ */
	char *text;		     /* the whole line as shown */
	enum xs_held_by held_by;
};

struct xs_diff {
	struct xs_diff_line *lines;
	size_t count, capacity;
};

/* One line per change from old to new: an element added ("+ PATH" with
 * its fields), removed ("- PATH", what is in it goes with it) or a field
 * changed ("~ PATH FIELD OLD -> NEW"). A leaf missing on one side counts
 * as "none". -ENOMEM. */
int xs_tree_diff(const struct xs_tree *old_tree, const struct xs_tree *new_tree,
		 struct xs_diff *diff);
void xs_diff_free(struct xs_diff *diff);

#endif /* XDPSPLIT_CONFIG_TREE_H */
