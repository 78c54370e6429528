// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"

#define MAX_DEPTH 16

static FILE *stream;
static enum xs_output_mode mode;
static int depth;
static int count[MAX_DEPTH]; /* items written at each level */
static int line_open;	     /* text: a line has content */

void out_init(FILE *s, enum xs_output_mode m)
{
	stream = s;
	mode = m;
	depth = 0;
	memset(count, 0, sizeof(count));
	line_open = 0;
}

int out_is_json(void)
{
	return mode != XS_OUTPUT_TEXT;
}

/* Length of the well-formed UTF-8 sequence at in (1 to 4), or 0 if the
 * bytes there are not one (overlong, a surrogate, past U+10FFFF, cut). */
static size_t utf8_sequence(const unsigned char *in)
{
	size_t length;
	unsigned int code;

	if (in[0] < 0x80)
		return 1;
	if (in[0] >= 0xc2 && in[0] <= 0xdf) {
		length = 2;
		code = in[0] & 0x1f;
	} else if (in[0] >= 0xe0 && in[0] <= 0xef) {
		length = 3;
		code = in[0] & 0x0f;
	} else if (in[0] >= 0xf0 && in[0] <= 0xf4) {
		length = 4;
		code = in[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < length; i++) {
		if ((in[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		code = code << 6 | (in[i] & 0x3f);
	}
	if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
	    (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
		return 0;
	return length;
}

/*
 * Calls put for each piece of in's JSON form: quotes, backslashes and
 * control bytes escaped, bytes that are not UTF-8 replaced by U+FFFD, so
 * whatever a name holds, the document stays valid JSON.
 */
static void json_escape_each(const char *text,
			     void (*put)(const char *piece, size_t length,
					 void *user),
			     void *user)
{
	const unsigned char *in = (const unsigned char *)text;
	char escape[8];

	while (*in) {
		size_t length = utf8_sequence(in);

		if (*in == '"' || *in == '\\') {
			escape[0] = '\\';
			escape[1] = (char)*in;
			put(escape, 2, user);
		} else if (*in < 0x20 || *in == 0x7f) {
			snprintf(escape, sizeof(escape), "\\u%04x", *in);
			put(escape, 6, user);
		} else if (!length) {
			put("\\ufffd", 6, user);
			length = 1;
		} else {
			put((const char *)in, length, user);
		}
		in += length ? length : 1;
	}
}

static void put_stream(const char *piece, size_t length, void *user)
{
	fwrite(piece, 1, length, user);
}

void json_escape_to(FILE *out, const char *in)
{
	json_escape_each(in, put_stream, out);
}

char *json_escape_dup(const char *in)
{
	char *escaped = NULL;
	size_t length = 0;
	FILE *out = open_memstream(&escaped, &length);

	if (!out)
		return NULL;
	json_escape_to(out, in);
	if (fclose(out)) {
		free(escaped);
		return NULL;
	}
	return escaped;
}

static void json_newline(void)
{
	if (mode != XS_OUTPUT_PRETTY_JSON)
		return;
	fputc('\n', stream);
	for (int i = 0; i < depth; i++)
		fputs("    ", stream);
}

/* Separator and key before a JSON value. */
static void json_key(const char *key)
{
	if (depth > 0 && count[depth]++)
		fputc(',', stream);
	if (depth > 0)
		json_newline();
	if (key) {
		fputc('"', stream);
		json_escape_to(stream, key);
		fputs(mode == XS_OUTPUT_PRETTY_JSON ? "\": " : "\":", stream);
	}
}

static void text_newline(void)
{
	if (line_open)
		fputc('\n', stream);
	line_open = 0;
}

/* Text: a nested object starts an indented line; scalars join the line. */
static void text_key(const char *key)
{
	if (!line_open) {
		for (int i = 1; i < depth; i++)
			fputs("  ", stream);
	} else {
		fputs("  ", stream);
	}
	line_open = 1;
	if (key)
		fprintf(stream, "%s ", key);
}

void out_object_begin(const char *key)
{
	if (out_is_json()) {
		json_key(key);
		fputc('{', stream);
	} else {
		text_newline();
		if (key && depth > 0) {
			text_key(NULL);
			fprintf(stream, "%s:", key);
		}
	}
	if (depth < MAX_DEPTH - 1)
		count[++depth] = 0;
}

void out_object_end(void)
{
	int had_items = count[depth];

	if (depth > 0)
		depth--;
	if (out_is_json()) {
		if (had_items)
			json_newline();
		fputc('}', stream);
	} else {
		text_newline();
	}
}

void out_array_begin(const char *key)
{
	if (out_is_json()) {
		json_key(key);
		fputc('[', stream);
	}
	if (depth < MAX_DEPTH - 1)
		count[++depth] = 0;
	/* text: an array is just its elements, one line each */
	if (!out_is_json())
		depth--;
}

void out_array_end(void)
{
	if (out_is_json()) {
		int had_items = count[depth];

		if (depth > 0)
			depth--;
		if (had_items)
			json_newline();
		fputc(']', stream);
	}
}

void out_string(const char *key, const char *value)
{
	if (out_is_json()) {
		json_key(key);
		fputc('"', stream);
		json_escape_to(stream, value);
		fputc('"', stream);
	} else {
		text_key(key);
		fputs(value, stream);
	}
}

void out_u64(const char *key, unsigned long long value)
{
	if (out_is_json())
		json_key(key);
	else
		text_key(key);
	fprintf(stream, "%llu", value);
}

void out_double(const char *key, double value, int decimals)
{
	if (out_is_json())
		json_key(key);
	else
		text_key(key);
	fprintf(stream, "%.*f", decimals, value);
}

void out_bool(const char *key, int value)
{
	if (out_is_json())
		json_key(key);
	else
		text_key(key);
	fputs(value ? "true" : "false", stream);
}

void out_null(const char *key)
{
	if (out_is_json())
		json_key(key);
	else
		text_key(key);
	fputs(out_is_json() ? "null" : "none", stream);
}

void out_basis_points(const char *key, unsigned int basis_points)
{
	if (out_is_json()) {
		json_key(key);
		fprintf(stream, "%u.%02u", basis_points / 100,
			basis_points % 100);
	} else {
		text_key(key);
		fprintf(stream, "%u.%02u%%", basis_points / 100,
			basis_points % 100);
	}
}

static struct {
	FILE *stream;
	enum xs_output_mode mode;
	int depth, count[MAX_DEPTH], line_open;
	char *buffer;
	size_t length;
} saved;

void out_capture_begin(void)
{
	saved.stream = stream;
	saved.mode = mode;
	saved.depth = depth;
	memcpy(saved.count, count, sizeof(count));
	saved.line_open = line_open;
	saved.buffer = NULL;
	out_init(open_memstream(&saved.buffer, &saved.length), XS_OUTPUT_JSON);
}

char *out_capture_end(void)
{
	fclose(stream);
	stream = saved.stream;
	mode = saved.mode;
	depth = saved.depth;
	memcpy(count, saved.count, sizeof(count));
	line_open = saved.line_open;
	return saved.buffer;
}

void out_finish(void)
{
	if (out_is_json())
		fputc('\n', stream);
	else
		text_newline();
	fflush(stream);
}
