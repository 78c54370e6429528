/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A checked walk over a YAML document loaded by libyaml: typed getters that
 * record the first error with the file, line, column and field path
 * ("vips[0].backends[2].weight"), so a schema (config.c and its sections)
 * says only what each field is. Knows nothing of xdpsplit's fields.
 */
#ifndef XDPSPLIT_YAML_WALKER_H
#define XDPSPLIT_YAML_WALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include <linux/types.h>

struct yaml_walker {
	yaml_document_t *doc;
	const char *name; /* the file, for messages */
	char *error;
	size_t error_size;
};

/* "PARENT.NAME" into path; paths only go into messages, so a truncated one
 * is still a useful pointer */
#define WALK_FIELD(path, parent, name)                                         \
	snprintf(path, sizeof(path), "%s.%s", parent, name)

/* Records the error with the node's position; returns -EINVAL. */
int walk_fail(struct yaml_walker *w, const yaml_node_t *node, const char *path,
	      const char *format, ...) __attribute__((format(printf, 4, 5)));

/* A scalar's text, or NULL for anything else (or no node). */
const char *walk_scalar(const yaml_node_t *node);
yaml_node_t *walk_node(struct yaml_walker *w, int index);
/* A mapping's value for key, or NULL. */
yaml_node_t *walk_get(struct yaml_walker *w, yaml_node_t *map, const char *key);
/* Every key of map must be in allowed (NULL-ended), once: a typo must not
 * be silently ignored. */
int walk_keys(struct yaml_walker *w, yaml_node_t *map, const char *path,
	      const char *const *allowed);

int walk_string(struct yaml_walker *w, yaml_node_t *node, const char *path,
		char *out, size_t size);
/* map's key, which must be there ("missing 'KEY'"), as walk_string */
int walk_required_string(struct yaml_walker *w, yaml_node_t *map,
			 const char *path, const char *key, char *out,
			 size_t size);
int walk_u32(struct yaml_walker *w, yaml_node_t *node, const char *path,
	     __u32 min, __u32 max, __u32 *out);
int walk_double(struct yaml_walker *w, yaml_node_t *node, const char *path,
		double *out);
int walk_bool(struct yaml_walker *w, yaml_node_t *node, const char *path,
	      bool *out);
/* "500ms", "10s", "2m": from min_ms to 24 hours */
int walk_duration(struct yaml_walker *w, yaml_node_t *node, const char *path,
		  __u32 min_ms, __u32 *out_ms);
/* "12.5" (percent) into basis points */
int walk_percent(struct yaml_walker *w, yaml_node_t *node, const char *path,
		 __u16 *basis_points);
/* blue, green or canary */
int walk_pool(struct yaml_walker *w, yaml_node_t *node, const char *path,
	      __u8 *pool);

/* Walks a YAML list, at most max elements, naming each "path[i]" for
 * messages; parse_one gets the element, its path and its index, and
 * *count grows with each element it accepts. */
typedef int (*walk_element_fn)(struct yaml_walker *w, yaml_node_t *node,
			       const char *path, __u32 index, void *context);
int walk_list(struct yaml_walker *w, yaml_node_t *list, const char *path,
	      const char *what, __u32 max, __u32 *count,
	      walk_element_fn parse_one, void *context);

/* Loads text (refusing a document too deep or too large before libyaml's
 * loader builds it) and calls parse_root on its root. Returns parse_root's
 * result, or -EINVAL with the message in error. */
typedef int (*walk_root_fn)(struct yaml_walker *w, yaml_node_t *root,
			    void *context);
int walk_document(const char *text, size_t length, const char *name,
		  walk_root_fn parse_root, void *context, char *error,
		  size_t error_size);

#endif /* XDPSPLIT_YAML_WALKER_H */
