/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration's schema as data: one table of fields per struct of
 * config.h (and rollout.h's policy structs), naming every member once,
 * with how it is shown or why it is not. xs_config_tree() walks it; a
 * test walks the structs' BTF and fails on a member the table lacks, so a
 * new configuration field cannot be silently left out of the diff.
 */
#ifndef XDPSPLIT_CONFIG_FIELDS_H
#define XDPSPLIT_CONFIG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "config_tree.h"

struct xs_section;

struct xs_field {
	const char *member;    /* the C member, as BTF names it */
	const char *key;       /* as the diff shows it; NULL: not shown */
	const char *not_shown; /* with key NULL: why (identity, count, flag) */
	size_t offset;
	/* a leaf: its value as text; gets the member and its struct */
	void (*format)(const void *member, const void *parent, char *out,
		       size_t size);
	ssize_t given; /* a leaf given only if this bool is true; -1 */
	/* a list of elements (count: the __u32 counting them) or one
	 * sub-section */
	const struct xs_section *section;
	bool list;
	size_t count;
	enum xs_held_by held_by;
};

struct xs_section {
	const char *type; /* the C struct, as BTF names it */
	size_t size;
	/* list elements: the words after the key ("10.0.0.1:80/tcp") */
	void (*identity)(const void *element, __u32 index, char *out,
			 size_t size);
	/* a sub-section: whether the file has it (a probe, the fleet) */
	bool (*present)(const void *section);
	const struct xs_field *fields; /* ends with member NULL */
};

/* struct xs_config_file's section, the root of every other. */
extern const struct xs_section xs_config_schema;

#endif /* XDPSPLIT_CONFIG_FIELDS_H */
