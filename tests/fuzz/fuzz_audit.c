// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The audit-log line reader (splitctl history) on arbitrary bytes: an entry
 * is a whole JSON object with string time, user and command, or it is
 * refused; never a crash, never a field left unterminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/audit_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_audit_entry entry;
	char *line = malloc(size + 1);

	if (!line)
		abort();
	memcpy(line, data, size);
	line[size] = '\0';
	if (!xs_audit_parse(line, size, &entry)) {
		if (!json_object_is_type(entry.object, json_type_object) ||
		    strnlen(entry.time, sizeof(entry.time)) ==
			    sizeof(entry.time) ||
		    strnlen(entry.user, sizeof(entry.user)) ==
			    sizeof(entry.user) ||
		    strnlen(entry.command, sizeof(entry.command)) ==
			    sizeof(entry.command))
			abort();
		xs_audit_entry_free(&entry);
	} else if (entry.object) {
		abort(); /* refused, yet something left to free */
	}
	free(line);
	return 0;
}
