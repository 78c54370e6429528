// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "applied_settings.h"
#include "atomic_file.h"
#include "safe_open.h"

#define HEADER "xdpsplit-applied-settings 1\n"
#define FIELDS 5 /* kind, path, parent, key, value */

/* a value is whatever the file said (a query may hold tabs, newlines) */
static void put_escaped(FILE *out, const char *text)
{
	for (const char *c = text; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", out);
		else if (*c == '\t')
			fputs("\\t", out);
		else if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
}

int xs_applied_settings_save(const char *dir,
			     const struct xs_config_file *config)
{
	struct xs_atomic_file file;
	struct xs_tree tree;
	int err = xs_config_tree(config, &tree);

	if (err)
		return err;
	err = xs_atomic_file_begin(&file, dir, XS_APPLIED_SETTINGS_NAME, 0640);
	if (err) {
		xs_tree_free(&tree);
		return err;
	}
	fputs(HEADER, file.out);
	for (size_t i = 0; i < tree.count; i++) {
		const struct xs_tree_entry *e = &tree.entries[i];
		const char *fields[FIELDS - 1] = { e->path, e->parent,
						   e->key ?: "",
						   e->value ?: "" };

		if (e->held_by != XS_HELD_BY_SPLITD)
			continue;
		fputc(e->value ? 'v' : 'e', file.out);
		for (int f = 0; f < FIELDS - 1; f++) {
			fputc('\t', file.out);
			put_escaped(file.out, fields[f]);
		}
		fputc('\n', file.out);
	}
	xs_tree_free(&tree);
	return xs_atomic_file_commit(&file, dir, NULL);
}

/* Splits line (its newline removed) at tabs and unescapes in place. */
static int split_line(char *line, char **fields)
{
	int count = 0;
	char *out = line;

	fields[count++] = out;
	for (char *in = line; *in; in++) {
		if (*in == '\t') {
			*out++ = '\0';
			if (count == FIELDS)
				return -1;
			fields[count++] = out;
		} else if (*in == '\\') {
			in++;
			if (*in == '\\')
				*out++ = '\\';
			else if (*in == 't')
				*out++ = '\t';
			else if (*in == 'n')
				*out++ = '\n';
			else
				return -1;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return count == FIELDS ? 0 : -1;
}

static int read_entries(FILE *in, const char *path, struct xs_tree *tree,
			char *error, size_t error_size)
{
	char *line = NULL, *fields[FIELDS];
	size_t size = 0, number = 1;
	ssize_t length;
	int err = 0;

	while (!err && (length = getline(&line, &size, in)) > 0) {
		bool whole = line[length - 1] == '\n';

		number++;
		line[length - 1] = '\0';
		if (!whole || split_line(line, fields) ||
		    strlen(fields[0]) != 1 ||
		    (fields[0][0] != 'e' && fields[0][0] != 'v')) {
			snprintf(error, error_size, "%s:%zu: damaged line",
				 path, number);
			err = -EINVAL;
			break;
		}
		err = xs_tree_add(tree, fields[2],
				  fields[0][0] == 'v' ? fields[3] : NULL,
				  fields[1],
				  fields[0][0] == 'v' ? fields[4] : NULL,
				  XS_HELD_BY_SPLITD);
	}
	free(line);
	return err;
}

int xs_applied_settings_load(const char *dir, struct xs_tree *tree, bool *found,
			     char *error, size_t error_size)
{
	char path[PATH_MAX];
	FILE *in;
	int err;

	memset(tree, 0, sizeof(*tree));
	*found = false;
	snprintf(path, sizeof(path), "%s/%s", dir, XS_APPLIED_SETTINGS_NAME);
	/* only a record no other user wrote or could write (safe_open.h) */
	err = xs_open_record(path, HEADER, "applied-settings record", &in,
			     error, error_size);
	if (err || !in)
		return err;
	err = read_entries(in, path, tree, error, error_size);
	fclose(in);
	if (err)
		xs_tree_free(tree);
	else
		*found = true;
	return err;
}
