// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "yaml_walker.h"

/* The deepest real configuration nests 6 levels (rollouts, a policy, its
 * steps, a step, its weights); libyaml's scanner and loader are quadratic
 * in the depth, so a deeper file is refused while it is read. */
#define MAX_DEPTH 32
/* nodes of a document: far above a configuration at its limits (64 VIPs of
 * 64 backends, 16 policies), far below what makes the loader slow */
#define MAX_NODES 200000

/* field paths only go into messages: a truncated one is still useful */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

int walk_fail(struct yaml_walker *w, const yaml_node_t *node, const char *path,
	      const char *format, ...)
{
	char message[384];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	snprintf(w->error, w->error_size, "%s:%zu:%zu: %s: %s", w->name,
		 node ? node->start_mark.line + 1 : 0,
		 node ? node->start_mark.column + 1 : 0, path, message);
	return -EINVAL;
}

const char *walk_scalar(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ?
		       (const char *)node->data.scalar.value :
		       NULL;
}

yaml_node_t *walk_node(struct yaml_walker *w, int index)
{
	return yaml_document_get_node(w->doc, index);
}

yaml_node_t *walk_get(struct yaml_walker *w, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const char *k = walk_scalar(walk_node(w, pair->key));

		if (k && !strcmp(k, key))
			return walk_node(w, pair->value);
	}
	return NULL;
}

int walk_keys(struct yaml_walker *w, yaml_node_t *map, const char *path,
	      const char *const *allowed)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return walk_fail(w, map, path,
				 "must be a mapping (key: value)");
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = walk_node(w, pair->key);
		const char *k = walk_scalar(key);
		bool ok = false;

		for (const char *const *a = allowed; k && *a; a++)
			ok |= !strcmp(k, *a);
		if (!ok)
			return walk_fail(w, key, path, "unknown field '%s'",
					 k ? k : "?");
		for (yaml_node_pair_t *other = map->data.mapping.pairs.start;
		     other < pair; other++)
			if (!strcmp(walk_scalar(walk_node(w, other->key)) ?: "",
				    k))
				return walk_fail(w, key, path,
						 "field '%s' given twice", k);
	}
	return 0;
}

int walk_string(struct yaml_walker *w, yaml_node_t *node, const char *path,
		char *out, size_t size)
{
	const char *value = walk_scalar(node);

	if (!value)
		return walk_fail(w, node, path, "must be a plain value");
	if (strlen(value) >= size)
		return walk_fail(w, node, path, "longer than %zu characters",
				 size - 1);
	strcpy(out, value);
	return 0;
}

int walk_required_string(struct yaml_walker *w, yaml_node_t *map,
			 const char *path, const char *key, char *out,
			 size_t size)
{
	char field[256];

	if (!walk_get(w, map, key))
		return walk_fail(w, map, path, "missing '%s'", key);
	WALK_FIELD(field, path, key);
	return walk_string(w, walk_get(w, map, key), field, out, size);
}

int walk_u32(struct yaml_walker *w, yaml_node_t *node, const char *path,
	     __u32 min, __u32 max, __u32 *out)
{
	const char *value = walk_scalar(node);

	if (!value || xs_parse_u32(value, min, max, out))
		return walk_fail(w, node, path,
				 "must be a whole number from %u to %u", min,
				 max);
	return 0;
}

int walk_double(struct yaml_walker *w, yaml_node_t *node, const char *path,
		double *out)
{
	const char *value = walk_scalar(node);
	char *end;

	if (!value || !*value)
		return walk_fail(w, node, path, "must be a number");
	*out = strtod(value, &end);
	if (*end || !isfinite(*out))
		return walk_fail(w, node, path,
				 "must be a finite number, not '%s'", value);
	return 0;
}

int walk_bool(struct yaml_walker *w, yaml_node_t *node, const char *path,
	      bool *out)
{
	const char *value = walk_scalar(node);

	if (value && !strcmp(value, "true"))
		*out = true;
	else if (value && !strcmp(value, "false"))
		*out = false;
	else
		return walk_fail(w, node, path, "must be true or false");
	return 0;
}

int walk_duration(struct yaml_walker *w, yaml_node_t *node, const char *path,
		  __u32 min_ms, __u32 *out_ms)
{
	const char *value = walk_scalar(node);
	unsigned long long number, scale;
	char *unit;

	if (!value || *value < '0' || *value > '9')
		return walk_fail(w, node, path,
				 "must be a duration like 500ms, 10s or 2m");
	errno = 0;
	number = strtoull(value, &unit, 10);
	if (errno == ERANGE)
		return walk_fail(w, node, path, "must be from %ums to 24 hours",
				 min_ms);
	if (!strcmp(unit, "ms"))
		scale = 1;
	else if (!strcmp(unit, "s"))
		scale = 1000;
	else if (!strcmp(unit, "m"))
		scale = 60000;
	else
		return walk_fail(w, node, path,
				 "must be a duration like 500ms, 10s or 2m");
	/* compared before multiplying: a huge number must not wrap around */
	if (number > 24ULL * 3600 * 1000 / scale || number * scale < min_ms ||
	    number * scale > 24ULL * 3600 * 1000)
		return walk_fail(w, node, path, "must be from %ums to 24 hours",
				 min_ms);
	*out_ms = (__u32)(number * scale);
	return 0;
}

int walk_percent(struct yaml_walker *w, yaml_node_t *node, const char *path,
		 __u16 *bp)
{
	const char *value = walk_scalar(node);

	if (!value || xs_parse_percent(value, bp))
		return walk_fail(
			w, node, path,
			"must be a percentage from 0 to 100 with at most two decimals");
	return 0;
}

int walk_pool(struct yaml_walker *w, yaml_node_t *node, const char *path,
	      __u8 *pool)
{
	const char *value = walk_scalar(node);

	if (!value || xs_parse_pool(value, pool))
		return walk_fail(w, node, path,
				 "must be blue, green or canary");
	return 0;
}

int walk_list(struct yaml_walker *w, yaml_node_t *list, const char *path,
	      const char *what, __u32 max, __u32 *count,
	      walk_element_fn parse_one, void *context)
{
	if (list->type != YAML_SEQUENCE_NODE)
		return walk_fail(w, list, path, "must be a list of %s", what);
	for (yaml_node_item_t *item = list->data.sequence.items.start;
	     item < list->data.sequence.items.top; item++) {
		char element[192];
		int err;

		snprintf(element, sizeof(element), "%s[%u]", path, *count);
		if (*count == max)
			return walk_fail(w, walk_node(w, *item), element,
					 "more than %u %s", max, what);
		err = parse_one(w, walk_node(w, *item), element, *count,
				context);
		if (err)
			return err;
		(*count)++;
	}
	return 0;
}

/* A first pass over the events, refusing a document nested deeper than
 * MAX_DEPTH or with more than MAX_NODES nodes as soon as it
 * gets there: libyaml's loader would build the whole tree first. */
static int check_shape(const char *text, size_t length, const char *name,
		       char *error, size_t error_size)
{
	yaml_parser_t parser;
	yaml_event_t event;
	size_t depth = 0, nodes = 0;
	int err = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     length);
	for (bool done = false; !done && !err;) {
		if (!yaml_parser_parse(&parser, &event)) {
			snprintf(error, error_size,
				 "%s:%zu:%zu: not valid YAML: %s", name,
				 parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem :
						  "parse error");
			err = -EINVAL;
			break;
		}
		switch (event.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_DEPTH) {
				snprintf(
					error, error_size,
					"%s:%zu:%zu: nested more than %d levels deep: not an xdpsplit configuration",
					name, event.start_mark.line + 1,
					event.start_mark.column + 1, MAX_DEPTH);
				err = -EINVAL;
			}
			/* fall through */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (!err && ++nodes > MAX_NODES) {
				snprintf(
					error, error_size,
					"%s:%zu:%zu: more than %d values: not an xdpsplit configuration",
					name, event.start_mark.line + 1,
					event.start_mark.column + 1, MAX_NODES);
				err = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return err;
}

int walk_document(const char *text, size_t length, const char *name,
		  walk_root_fn parse_root, void *context, char *error,
		  size_t error_size)
{
	struct yaml_walker w = { .name = name,
				 .error = error,
				 .error_size = error_size };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int err;

	err = check_shape(text, length, name, error, error_size);
	if (err)
		return err;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     length);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(error, error_size, "%s:%zu:%zu: not valid YAML: %s",
			 name, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	err = root ? parse_root(&w, root, context) :
		     walk_fail(&w, NULL, "(top level)", "the file is empty");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return err;
}
