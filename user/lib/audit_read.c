// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "audit_read.h"

static int string_field(json_object *object, const char *key, char *out,
			size_t size)
{
	json_object *value;

	if (!json_object_object_get_ex(object, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return -EINVAL;
	snprintf(out, size, "%s", json_object_get_string(value));
	return 0;
}

int xs_audit_parse(const char *line, size_t length,
		   struct xs_audit_entry *entry)
{
	struct json_tokener *tokener = json_tokener_new();
	json_object *object = NULL;

	memset(entry, 0, sizeof(*entry));
	if (!tokener)
		return -ENOMEM;
	if (length <= (size_t)INT32_MAX)
		object = json_tokener_parse_ex(tokener, line, (int)length);
	/* exactly one complete object, and nothing after it */
	if (object &&
	    (json_tokener_get_error(tokener) != json_tokener_success ||
	     json_tokener_get_parse_end(tokener) != length ||
	     !json_object_is_type(object, json_type_object) ||
	     string_field(object, "time", entry->time, sizeof(entry->time)) ||
	     string_field(object, "user", entry->user, sizeof(entry->user)) ||
	     string_field(object, "command", entry->command,
			  sizeof(entry->command)))) {
		json_object_put(object);
		object = NULL;
	}
	json_tokener_free(tokener);
	entry->object = object;
	return object ? 0 : -EINVAL;
}

void xs_audit_entry_free(struct xs_audit_entry *entry)
{
	json_object_put(entry->object);
	entry->object = NULL;
}
