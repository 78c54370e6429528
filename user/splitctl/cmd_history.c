// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* history: the audit log, oldest first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/audit.h"
#include "user/lib/audit_read.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/safe_open.h"
#include "splitctl.h"

/* The log is checked as every local file is (safe_open.h): a planted FIFO
 * or link is refused at once instead of blocking or being followed. */
static FILE *open_log(const char *path, char *error, size_t error_size)
{
	int fd = xs_open_trusted(path, O_RDONLY, 0, error, error_size);
	FILE *log;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	log = fdopen(fd, "r");
	if (!log)
		close(fd);
	return log;
}

int cmd_history(struct ctl *ctl, int argc, char **argv)
{
	char path[PATH_MAX], error[512], *line = NULL;
	size_t capacity = 0;
	long total = 0, skip, damaged = 0, printed = 0;
	ssize_t length;
	__u32 last = 0;
	FILE *log;

	for (int i = 0; i < argc; i++) {
		if (!is_keyword(argv[i], "--last") || i + 1 >= argc ||
		    xs_parse_u32(argv[++i], 1, 1000000, &last))
			return usage_error(
				"history",
				"--last takes a number from 1 to 1000000");
	}
	snprintf(path, sizeof(path), "%s/%s", ctl->state_dir,
		 XS_AUDIT_LOG_NAME);
	log = open_log(path, error, sizeof(error));
	if (!log) {
		if (errno != ENOENT)
			return runtime_error("Couldn't read the audit log: %s",
					     error);
		out_array_begin(NULL);
		out_array_end();
		out_finish();
		return EXIT_OK;
	}
	while (getline(&line, &capacity, log) > 0)
		total++;
	skip = last && total > last ? total - last : 0;
	rewind(log);
	if (out_is_json())
		printf("[");
	for (long n = 1; (length = getline(&line, &capacity, log)) > 0; n++) {
		struct xs_audit_entry entry;

		if (n <= skip)
			continue;
		if (line[length - 1] == '\n')
			line[--length] = '\0';
		if (xs_audit_parse(line, (size_t)length, &entry)) {
			/* say so, and go on: the other entries are still good */
			pr_warn("%s:%ld: damaged line skipped\n", path, n);
			damaged++;
			continue;
		}
		if (out_is_json())
			printf("%s%s", printed++ ? "," : "",
			       json_object_to_json_string_ext(
				       entry.object, JSON_C_TO_STRING_PLAIN));
		else
			printf("%s  %-8s  %s\n", entry.time, entry.user,
			       entry.command);
		xs_audit_entry_free(&entry);
	}
	if (out_is_json())
		printf("]\n");
	free(line);
	fclose(log);
	return damaged ? EXIT_RUNTIME : EXIT_OK;
}
