// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "json_fields.h"

/* The text as one JSON object, or NULL with why. */
json_object *xs_json_parse_object(const char *text, size_t length, char *why,
				  size_t size)
{
	json_tokener *tokener;
	json_object *object;

	if (length > XS_JSON_MAX_TEXT) {
		snprintf(why, size, "longer than %d bytes", XS_JSON_MAX_TEXT);
		return NULL;
	}
	tokener = json_tokener_new();
	if (!tokener) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	/* strict: no comments, trailing commas or leading zeros; what our
	 * writers produce is plain JSON, anything else is not theirs */
	json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
	object = json_tokener_parse_ex(tokener, text, (int)length);
	if (!object ||
	    json_tokener_get_error(tokener) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tokener) != length ||
	    !json_object_is_type(object, json_type_object)) {
		snprintf(why, size, "not a JSON object");
		json_object_put(object);
		object = NULL;
	}
	json_tokener_free(tokener);
	return object;
}

char *xs_json_format(json_object *object)
{
	char *text = object ? strdup(json_object_to_json_string_ext(
				      object, JSON_C_TO_STRING_PLAIN)) :
			      NULL;

	json_object_put(object);
	return text;
}

bool xs_json_whole(json_object *number, int64_t *out)
{
	if (!json_object_is_type(number, json_type_int))
		return false;
	*out = json_object_get_int64(number);
	/* json-c saturates: 2^63 and beyond read as INT64_MAX, and only
	 * json_object_get_uint64 tells them apart from INT64_MAX itself */
	return *out != INT64_MAX ||
	       json_object_get_uint64(number) == (uint64_t)INT64_MAX;
}

int xs_json_get_int(json_object *object, const char *name, int64_t min,
		    int64_t max, int64_t *out, char *why, size_t size)
{
	json_object *field;

	if (!json_object_object_get_ex(object, name, &field) ||
	    !json_object_is_type(field, json_type_int)) {
		snprintf(why, size, "'%s' must be a whole number", name);
		return -EINVAL;
	}
	if (!xs_json_whole(field, out) || *out < min || *out > max) {
		snprintf(why, size, "'%s' must be from %lld to %lld", name,
			 (long long)min, (long long)max);
		return -EINVAL;
	}
	return 0;
}

/* A string field into out (absent: "" if optional). */
int xs_json_get_string(json_object *object, const char *name, bool optional,
		       char *out, size_t out_size, char *why, size_t size)
{
	json_object *field;
	const char *value;

	if (!json_object_object_get_ex(object, name, &field)) {
		out[0] = '\0';
		if (optional)
			return 0;
		snprintf(why, size, "'%s' is missing", name);
		return -EINVAL;
	}
	value = json_object_get_string(field);
	if (!json_object_is_type(field, json_type_string) ||
	    strlen(value) >= out_size) {
		snprintf(why, size,
			 "'%s' must be a string of at most %zu characters",
			 name, out_size - 1);
		return -EINVAL;
	}
	/* "a\u0000b" would be read as "a": not what its writer said */
	if (strlen(value) != (size_t)json_object_get_string_len(field)) {
		snprintf(why, size, "'%s' holds a NUL character", name);
		return -EINVAL;
	}
	strcpy(out, value);
	return 0;
}

int xs_json_get_bool(json_object *object, const char *name, bool *out,
		     char *why, size_t size)
{
	json_object *field;

	if (!json_object_object_get_ex(object, name, &field)) {
		*out = false;
		return 0;
	}
	if (!json_object_is_type(field, json_type_boolean)) {
		snprintf(why, size, "'%s' must be true or false", name);
		return -EINVAL;
	}
	*out = json_object_get_boolean(field);
	return 0;
}
