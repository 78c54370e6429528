// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "output.h"

#define MAX_DEPTH 16

static FILE *stream;
static enum xs_output_mode mode;
static int depth;
static int count[MAX_DEPTH];  /* items written at each level */
static int line_open;         /* text: a line has content */

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

void json_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 7 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c < 0x20) {
			o += snprintf(out + o, size - o, "\\u%04x", c);
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
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
	char escaped[256];

	if (depth > 0 && count[depth]++)
		fputc(',', stream);
	if (depth > 0)
		json_newline();
	if (key) {
		json_escape(key, escaped, sizeof(escaped));
		fprintf(stream, mode == XS_OUTPUT_PRETTY_JSON ? "\"%s\": " :
								"\"%s\":",
			escaped);
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
	char escaped[1024];

	if (out_is_json()) {
		json_key(key);
		json_escape(value, escaped, sizeof(escaped));
		fprintf(stream, "\"%s\"", escaped);
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
