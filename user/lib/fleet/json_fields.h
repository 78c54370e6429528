/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Strict reading of the fleet's JSON values: one object, each field of
 * the type and range asked for, or an error saying which and why. */
#ifndef XDPSPLIT_FLEET_JSON_FIELDS_H
#define XDPSPLIT_FLEET_JSON_FIELDS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the largest value parsed: a document of many services' counters */
#define XS_JSON_MAX_TEXT (256 << 10)

/* The text, whole, as one JSON object; NULL with why. */
json_object *xs_json_parse_object(const char *text, size_t length, char *why,
				  size_t size);
/* The object as compact text (malloc'd; NULL when out of memory); takes
 * the object. */
char *xs_json_format(json_object *object);
/* A JSON whole number exactly as written (not one json-c saturated at
 * INT64_MAX), or false. */
bool xs_json_whole(json_object *number, int64_t *out);
int xs_json_get_int(json_object *object, const char *name, int64_t min,
		    int64_t max, int64_t *out, char *why, size_t size);
/* absent: "" if optional, else an error */
int xs_json_get_string(json_object *object, const char *name, bool optional,
		       char *out, size_t out_size, char *why, size_t size);
/* absent: false */
int xs_json_get_bool(json_object *object, const char *name, bool *out,
		     char *why, size_t size);

#endif
