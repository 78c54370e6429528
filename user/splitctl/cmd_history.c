// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* history: the audit log, oldest first. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/audit.h"
#include "user/lib/parse.h"
#include "splitctl.h"

/* The string value of "key" in one of our own audit lines. */
static void field(const char *line, const char *key, char *out, size_t size)
{
	char pattern[64];
	const char *start, *p;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	start = strstr(line, pattern);
	out[0] = '\0';
	if (!start)
		return;
	p = start + strlen(pattern);
	if (*p != '"') { /* a number or an object: up to the next comma */
		while (*p && *p != ',' && *p != '}' && n + 1 < size)
			out[n++] = *p++;
		out[n] = '\0';
		return;
	}
	for (p++; *p && *p != '"' && n + 1 < size; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
}

int cmd_history(struct ctl *ctl, int argc, char **argv)
{
	char path[PATH_MAX], line[16384];
	__u32 last = 0;
	long total = 0, skip;
	FILE *log;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help")) {
			printf("Usage: splitctl history [ --last N ]\n");
			return EXIT_OK;
		}
		if ((strcmp(argv[i], "--last") && strcmp(argv[i], "last")) ||
		    i + 1 >= argc || xs_parse_u32(argv[++i], 1, 1000000, &last))
			return usage_error("history", "usage: history [ --last N ]");
	}
	snprintf(path, sizeof(path), "%s/%s", ctl->state_dir, XS_AUDIT_LOG_NAME);
	log = fopen(path, "re");
	if (!log) {
		out_array_begin(NULL);
		out_array_end();
		out_finish();
		return EXIT_OK;
	}
	while (fgets(line, sizeof(line), log))
		total++;
	skip = last && total > last ? total - last : 0;
	rewind(log);
	if (out_is_json())
		printf("[");
	for (long n = 0; fgets(line, sizeof(line), log); n++) {
		char when[64], user[128], command[1024];

		if (n < skip)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (out_is_json()) {
			/* each line is a JSON object already */
			printf("%s%s", n > skip ? "," : "", line);
			continue;
		}
		field(line, "time", when, sizeof(when));
		field(line, "user", user, sizeof(user));
		field(line, "command", command, sizeof(command));
		printf("%s  %-8s  %s\n", when, user, command);
	}
	if (out_is_json())
		printf("]\n");
	fclose(log);
	return EXIT_OK;
}
