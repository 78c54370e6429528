/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the audit log back: each line checked as a whole JSON object, so a
 * damaged line (a disk error, a hand edit) is reported and skipped, never
 * printed as if it were an entry. */
#ifndef XDPSPLIT_AUDIT_READ_H
#define XDPSPLIT_AUDIT_READ_H

#include <stddef.h>
#include <json-c/json.h>

struct xs_audit_entry {
	char time[64];
	char user[128];
	char command[2048];
	json_object *object; /* the whole line; put by xs_audit_entry_free */
};

/* Parses one line (without its newline); 0, or -EINVAL if it is not an
 * audit entry: not one JSON object, or no string time, user and command. */
int xs_audit_parse(const char *line, size_t length,
		   struct xs_audit_entry *entry);
void xs_audit_entry_free(struct xs_audit_entry *entry);

#endif
