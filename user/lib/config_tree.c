// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_fields.h"

/* a rule's PromQL query and URL are the longest values */
#define VALUE_SIZE (2 * XS_QUERY_SIZE + 64)
#define PATH_SIZE 512
#define IDENTITY_SIZE 256

const char *xs_held_by_name(enum xs_held_by held_by)
{
	return held_by == XS_HELD_BY_MAPS ? "maps" : "splitd";
}

int xs_tree_add(struct xs_tree *tree, const char *parent, const char *key,
		const char *path, const char *value, enum xs_held_by held_by)
{
	struct xs_tree_entry *e;

	if (tree->count == tree->capacity) {
		size_t capacity = tree->capacity ? tree->capacity * 2 : 256;
		struct xs_tree_entry *grown =
			realloc(tree->entries, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		tree->entries = grown;
		tree->capacity = capacity;
	}
	e = &tree->entries[tree->count];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	e->parent = strdup(parent);
	e->key = key ? strdup(key) : NULL;
	e->value = value ? strdup(value) : NULL;
	e->held_by = held_by;
	tree->count++;
	if (!e->path || !e->parent || (key && !e->key) || (value && !e->value))
		return -ENOMEM;
	return 0;
}

void xs_tree_free(struct xs_tree *tree)
{
	for (size_t i = 0; i < tree->count; i++) {
		free(tree->entries[i].path);
		free(tree->entries[i].parent);
		free(tree->entries[i].key);
		free(tree->entries[i].value);
	}
	free(tree->entries);
	memset(tree, 0, sizeof(*tree));
}

static void join(char *out, size_t size, const char *parent, const char *word)
{
	snprintf(out, size, "%s%s%s", parent, *parent ? " " : "", word);
}

static int walk(struct xs_tree *tree, const struct xs_section *section,
		const void *base, const char *path, enum xs_held_by held_by);

static int walk_element(struct xs_tree *tree, const struct xs_section *section,
			const void *element, const char *parent,
			const char *path, enum xs_held_by held_by)
{
	int err = xs_tree_add(tree, parent, NULL, path, NULL, held_by);

	return err ? err : walk(tree, section, element, path, held_by);
}

static int walk_list(struct xs_tree *tree, const struct xs_field *f,
		     const void *base, const char *path,
		     enum xs_held_by held_by)
{
	const char *elements = (const char *)base + f->offset;
	__u32 count = *(const __u32 *)((const char *)base + f->count);
	char(*identities)[IDENTITY_SIZE] = calloc(count + 1, IDENTITY_SIZE);
	int err = identities ? 0 : -ENOMEM;

	for (__u32 i = 0; i < count && !err; i++) {
		const void *element = elements + i * f->section->size;
		char *identity = identities[i], word[IDENTITY_SIZE + 64];
		char child[PATH_SIZE];
		bool twice = false;

		f->section->identity(element, i, identity, IDENTITY_SIZE);
		for (__u32 j = 0; j < i; j++)
			twice |= !strcmp(identities[j], identity);
		snprintf(word, sizeof(word), "%s %s", f->key, identity);
		join(child, sizeof(child), path, word);
		/* two elements of one name (rules may share one): told
		 * apart by their place */
		if (twice) {
			snprintf(word, sizeof(word), "%s %s#%u", f->key,
				 identity, i + 1);
			join(child, sizeof(child), path, word);
		}
		err = walk_element(tree, f->section, element, path, child,
				   held_by);
	}
	free(identities);
	return err;
}

/* A section's leaves first, then what is in it: an element's entries
 * follow it, its own fields before its children's. */
static int walk(struct xs_tree *tree, const struct xs_section *section,
		const void *base, const char *path, enum xs_held_by held_by)
{
	const struct xs_field *f;
	int err = 0;

	for (f = section->fields; f->member && !err; f++) {
		enum xs_held_by held = f->held_by ? f->held_by : held_by;
		char value[VALUE_SIZE], leaf[PATH_SIZE];

		if (!f->key || !f->format)
			continue;
		if (f->given >= 0 &&
		    !*(const bool *)((const char *)base + f->given))
			snprintf(value, sizeof(value), "none");
		else
			f->format((const char *)base + f->offset, base, value,
				  sizeof(value));
		join(leaf, sizeof(leaf), path, f->key);
		err = xs_tree_add(tree, path, f->key, leaf, value, held);
	}
	for (f = section->fields; f->member && !err; f++) {
		enum xs_held_by held = f->held_by ? f->held_by : held_by;
		const void *member = (const char *)base + f->offset;
		char child[PATH_SIZE];

		if (!f->key || !f->section)
			continue;
		if (f->list) {
			err = walk_list(tree, f, base, path, held);
			continue;
		}
		if (f->section->present && !f->section->present(member))
			continue;
		join(child, sizeof(child), path, f->key);
		err = walk_element(tree, f->section, member, path, child, held);
	}
	return err;
}

int xs_config_tree(const struct xs_config_file *config, struct xs_tree *tree)
{
	int err;

	memset(tree, 0, sizeof(*tree));
	err = walk(tree, &xs_config_schema, config, "", XS_HELD_BY_SPLITD);
	if (err)
		xs_tree_free(tree);
	return err;
}

/* A sorted view of a tree's paths, for lookups: the strings do not move
 * when the tree grows. */
struct indexed_path {
	const char *path;
	size_t at; /* its entry */
};

struct path_index {
	struct indexed_path *paths;
	size_t count;
};

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct indexed_path *)a)->path,
		      ((const struct indexed_path *)b)->path);
}

static int index_paths(const struct xs_tree *tree, struct path_index *index)
{
	index->count = tree->count;
	index->paths = malloc((tree->count + 1) * sizeof(*index->paths));
	if (!index->paths)
		return -ENOMEM;
	for (size_t i = 0; i < tree->count; i++)
		index->paths[i] =
			(struct indexed_path){ tree->entries[i].path, i };
	qsort(index->paths, index->count, sizeof(*index->paths), by_path);
	return 0;
}

static const struct indexed_path *lookup(const struct path_index *index,
					 const char *path)
{
	struct indexed_path key = { path, 0 };

	return bsearch(&key, index->paths, index->count, sizeof(*index->paths),
		       by_path);
}

static bool indexed(const struct path_index *index, const char *path)
{
	return lookup(index, path) != NULL;
}

static const struct xs_tree_entry *entry_of(const struct xs_tree *tree,
					    const struct path_index *index,
					    const char *path)
{
	const struct indexed_path *found = lookup(index, path);

	return found ? &tree->entries[found->at] : NULL;
}

int xs_tree_merge(struct xs_tree *to, const struct xs_tree *from,
		  enum xs_held_by held_by)
{
	struct path_index before, taken = { NULL, 0 };
	int err = index_paths(to, &before);

	taken.paths = calloc(from->count + 1, sizeof(*taken.paths));
	for (size_t i = 0; !err && taken.paths && i < from->count; i++) {
		const struct xs_tree_entry *e = &from->entries[i];

		/* parents come before their children: one taken from
		 * from is in taken, sorted as it grows */
		if (e->held_by != held_by ||
		    (*e->parent && !indexed(&before, e->parent) &&
		     !indexed(&taken, e->parent)))
			continue;
		err = xs_tree_add(to, e->parent, e->key, e->path, e->value,
				  e->held_by);
		if (!err && !e->value) {
			size_t at = taken.count++;

			while (at &&
			       strcmp(taken.paths[at - 1].path, e->path) > 0) {
				taken.paths[at] = taken.paths[at - 1];
				at--;
			}
			taken.paths[at] = (struct indexed_path){ e->path, i };
		}
	}
	if (!taken.paths)
		err = -ENOMEM;
	free(before.paths);
	free(taken.paths);
	return err;
}

static int add_line(struct xs_diff *diff, char sign, const char *what,
		    const char *field, const char *old_value,
		    const char *new_value, const char *text,
		    enum xs_held_by held_by)
{
	struct xs_diff_line *l;

	if (diff->count == diff->capacity) {
		size_t capacity = diff->capacity ? diff->capacity * 2 : 32;
		struct xs_diff_line *grown =
			realloc(diff->lines, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		diff->lines = grown;
		diff->capacity = capacity;
	}
	l = &diff->lines[diff->count++];
	memset(l, 0, sizeof(*l));
	l->sign = sign;
	l->held_by = held_by;
	l->what = strdup(what);
	l->field = field ? strdup(field) : NULL;
	l->old_value = old_value ? strdup(old_value) : NULL;
	l->new_value = new_value ? strdup(new_value) : NULL;
	l->text = strdup(text);
	if (!l->what || !l->text || (field && !l->field) ||
	    (old_value && !l->old_value) || (new_value && !l->new_value))
		return -ENOMEM;
	return 0;
}

void xs_diff_free(struct xs_diff *diff)
{
	for (size_t i = 0; i < diff->count; i++) {
		free(diff->lines[i].what);
		free(diff->lines[i].field);
		free(diff->lines[i].old_value);
		free(diff->lines[i].new_value);
		free(diff->lines[i].text);
	}
	free(diff->lines);
	memset(diff, 0, sizeof(*diff));
}

/* "+ vip V mode l2dsr split flow": the element and its given fields
 * (the entries right after it: walk() puts them there). */
static int added_line(struct xs_diff *diff, const struct xs_tree *tree,
		      size_t at)
{
	const struct xs_tree_entry *e = &tree->entries[at];
	char *text = NULL;
	size_t length = 0;
	FILE *out = open_memstream(&text, &length);
	int err;

	if (!out)
		return -ENOMEM;
	fprintf(out, "+ %s", e->path);
	for (size_t i = at + 1; i < tree->count && tree->entries[i].value &&
				!strcmp(tree->entries[i].parent, e->path);
	     i++)
		if (strcmp(tree->entries[i].value, "none"))
			fprintf(out, " %s %s", tree->entries[i].key,
				tree->entries[i].value);
	if (fclose(out))
		return -ENOMEM;
	err = add_line(diff, '+', e->path, NULL, NULL, NULL, text, e->held_by);
	free(text);
	return err;
}

static int changed_line(struct xs_diff *diff, const struct xs_tree_entry *e,
			const char *old_value, const char *new_value)
{
	char text[2 * VALUE_SIZE + PATH_SIZE];

	snprintf(text, sizeof(text), "~ %s %s -> %s", e->path, old_value,
		 new_value);
	return add_line(diff, '~', e->parent, e->key, old_value, new_value,
			text, e->held_by);
}

/* Removals first (the order apply carries them out in), then what is
 * added or changed, each in its tree's order. */
static int diff_indexed(const struct xs_tree *old_tree,
			const struct path_index *old_index,
			const struct xs_tree *new_tree,
			const struct path_index *new_index,
			struct xs_diff *diff)
{
	int err = 0;

	for (size_t i = 0; i < old_tree->count && !err; i++) {
		const struct xs_tree_entry *e = &old_tree->entries[i];
		char text[PATH_SIZE + 4];

		/* an element gone takes what is in it along */
		if (indexed(new_index, e->path) ||
		    (*e->parent && !indexed(new_index, e->parent)))
			continue;
		if (!e->value) {
			snprintf(text, sizeof(text), "- %s", e->path);
			err = add_line(diff, '-', e->path, NULL, NULL, NULL,
				       text, e->held_by);
		} else if (strcmp(e->value, "none")) {
			err = changed_line(diff, e, e->value, "none");
		}
	}
	for (size_t i = 0; i < new_tree->count && !err; i++) {
		const struct xs_tree_entry *e = &new_tree->entries[i];
		const struct xs_tree_entry *was;

		if (!e->value) {
			/* its own line, also in an element added */
			if (!indexed(old_index, e->path))
				err = added_line(diff, new_tree, i);
			continue;
		}
		if (*e->parent && !indexed(old_index, e->parent))
			continue; /* on its element's "+" line */
		was = entry_of(old_tree, old_index, e->path);
		if (strcmp(was && was->value ? was->value : "none", e->value))
			err = changed_line(diff, e,
					   was && was->value ? was->value :
							       "none",
					   e->value);
	}
	return err;
}

int xs_tree_diff(const struct xs_tree *old_tree, const struct xs_tree *new_tree,
		 struct xs_diff *diff)
{
	struct path_index old_index = { NULL, 0 }, new_index = { NULL, 0 };
	int err;

	memset(diff, 0, sizeof(*diff));
	err = index_paths(old_tree, &old_index);
	if (!err)
		err = index_paths(new_tree, &new_index);
	if (!err)
		err = diff_indexed(old_tree, &old_index, new_tree, &new_index,
				   diff);
	free(old_index.paths);
	free(new_index.paths);
	if (err)
		xs_diff_free(diff);
	return err;
}
