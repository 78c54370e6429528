// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The audit log across a rotation: a writer that opened the log before
 * logrotate renamed it away writes its line to the new file, and a file
 * planted in the rename's place is refused, not written. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user/lib/audit.h"
#include "tests.h"

struct log_dir {
	char dir[64], log[128], rotated[160];
};

static int make_log_dir(struct log_dir *l)
{
	snprintf(l->dir, sizeof(l->dir), "/tmp/xdpsplit-audit-test-XXXXXX");
	if (!mkdtemp(l->dir))
		return -1;
	snprintf(l->log, sizeof(l->log), "%s/%s", l->dir, XS_AUDIT_LOG_NAME);
	snprintf(l->rotated, sizeof(l->rotated), "%s.1", l->log);
	return 0;
}

static void remove_log_dir(const struct log_dir *l)
{
	unlink(l->log);
	unlink(l->rotated);
	rmdir(l->dir);
}

/* Whether the file holds a line with this command, and how many lines. */
static int lines_with(const char *path, const char *command, int *lines)
{
	char needle[128], text[4096] = "";
	FILE *file = fopen(path, "r");
	size_t length;

	*lines = 0;
	if (!file)
		return 0;
	length = fread(text, 1, sizeof(text) - 1, file);
	fclose(file);
	text[length] = '\0';
	for (char *p = text; (p = strchr(p, '\n')); p++)
		(*lines)++;
	snprintf(needle, sizeof(needle), "\"command\":\"%s\"", command);
	return strstr(text, needle) != NULL;
}

/* Runs a test's body on an audit log opened in a fresh directory, then
 * closes the log and removes the directory. The body says what went wrong
 * and returns -1, or returns 0. */
static int with_open_log(int (*body)(const struct log_dir *l, int *fd))
{
	struct log_dir l;
	int fd, err = -1;

	CHECK(!make_log_dir(&l), "mkdtemp");
	fd = xs_audit_open(l.dir);
	if (fd >= 0)
		err = body(&l, &fd);
	if (fd >= 0)
		close(fd);
	remove_log_dir(&l);
	CHECK(err == 0, "see above");
	return 0;
}

static int write_across_rotation(const struct log_dir *l, int *fd)
{
	int lines;

	if (xs_audit_record(l->dir, fd, "before", NULL, NULL) ||
	    rename(l->log, l->rotated) ||
	    xs_audit_record(l->dir, fd, "after", NULL, NULL))
		return -1;
	if (!lines_with(l->log, "after", &lines) || lines != 1) {
		fprintf(stderr,
			"    the line after the rotation is not alone in the new file (%d lines)\n",
			lines);
		return -1;
	}
	if (!lines_with(l->rotated, "before", &lines) || lines != 1) {
		fprintf(stderr, "    the rotated file holds %d lines\n", lines);
		return -1;
	}
	return 0;
}

static int write_over_planted_link(const struct log_dir *l, int *fd)
{
	int lines, refused;

	/* rotated, and a link to somewhere else planted in its place */
	if (rename(l->log, l->rotated) || symlink("/etc/passwd", l->log))
		return -1;
	/* (the refusal's warning, printed, is expected) */
	refused = xs_audit_record(l->dir, fd, "planted", NULL, NULL);
	if (!refused) {
		fprintf(stderr,
			"    a symbolic link in the log's place was not refused\n");
		return -1;
	}
	if (lines_with(l->rotated, "planted", &lines) || lines) {
		fprintf(stderr,
			"    the refused line went to the rotated file\n");
		return -1;
	}
	return 0;
}

static int line_follows_rotation(const void *arg)
{
	(void)arg;
	return with_open_log(write_across_rotation);
}

static int planted_file_is_refused(const void *arg)
{
	(void)arg;
	return with_open_log(write_over_planted_link);
}

const struct test_case *audit_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "audit: a line after a rotation goes to the new file",
		  line_follows_rotation, NULL },
		{ "audit: a link planted in the rotated log's place is refused",
		  planted_file_is_refused, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
