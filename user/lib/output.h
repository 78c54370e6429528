/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One set of print calls for text and JSON, as in bpftool: a command says
 * what it shows once, and -j / -p pick the form. In text, an object is one
 * line of "key value" pairs, nested objects are indented lines below it.
 */
#ifndef XDPSPLIT_OUTPUT_H
#define XDPSPLIT_OUTPUT_H

#include <stdio.h>

enum xs_output_mode {
	XS_OUTPUT_TEXT,
	XS_OUTPUT_JSON,
	XS_OUTPUT_PRETTY_JSON,
};

void out_init(FILE *stream, enum xs_output_mode mode);
int out_is_json(void);
/* key may be NULL inside arrays and for the outermost value */
void out_object_begin(const char *key);
void out_object_end(void);
void out_array_begin(const char *key);
void out_array_end(void);
void out_string(const char *key, const char *value);
void out_u64(const char *key, unsigned long long value);
void out_double(const char *key, double value, int decimals);
void out_bool(const char *key, int value);
/* JSON null; "none" in text */
void out_null(const char *key);
/* percent from basis points: "12.50" in text, 12.5 in JSON */
void out_basis_points(const char *key, unsigned int basis_points);
/* Ends the document (a newline; JSON closes nothing implicitly). */
void out_finish(void);
/* Renders what the calls between begin and end print as compact JSON into
 * a malloc'd string (for the audit log), whatever the current mode. */
void out_capture_begin(void);
char *out_capture_end(void);
/* A string's JSON form without its quotes, whole (never cut): quotes,
 * backslashes and control bytes escaped, invalid UTF-8 as U+FFFD. */
void json_escape_to(FILE *out, const char *in);
/* The same in a malloc'd string (NULL when out of memory); the audit log
 * and hand-built JSON use it. */
char *json_escape_dup(const char *in);

#endif /* XDPSPLIT_OUTPUT_H */
