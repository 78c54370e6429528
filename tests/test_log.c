// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Log lines on journald's stream start with their syslog priority, once
 * per line however the line was written; anywhere else they are plain.
 * Each case logs in a child whose stderr is a pipe the test reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "user/lib/log.h"
#include "tests.h"

enum stream { NO_STREAM, THIS_STREAM, OTHER_STREAM };

#define LONG_LINE 3000

static void log_everything(void)
{
	char long_line[LONG_LINE + 1];

	memset(long_line, 'x', LONG_LINE);
	long_line[LONG_LINE] = '\0';
	pr_err("Error: e\n");
	pr_warn("w\n");
	pr_info("a\nb\n");
	pr_info("pie");
	pr_info("ces\n");
	pr_debug("hidden at info level\n");
	pr_info("%s\n", long_line);
}

/* What log_everything() printed, with JOURNAL_STREAM as said; malloc'd */
static char *logged(enum stream stream)
{
	static char output[2 * LONG_LINE];
	size_t length = 0;
	int pipe_fds[2], status;
	ssize_t n;
	pid_t child;

	if (pipe(pipe_fds))
		return NULL;
	child = fork();
	if (child == 0) {
		struct stat st;
		char value[64];

		dup2(pipe_fds[1], STDERR_FILENO);
		close(pipe_fds[0]);
		fstat(STDERR_FILENO, &st);
		snprintf(value, sizeof(value), "%llu:%llu",
			 (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino +
				 (stream == OTHER_STREAM));
		if (stream == NO_STREAM)
			unsetenv("JOURNAL_STREAM");
		else
			setenv("JOURNAL_STREAM", value, 1);
		xs_log_set_level(XS_LOG_INFO);
		log_everything();
		fflush(stderr);
		_exit(0);
	}
	close(pipe_fds[1]);
	while (length < sizeof(output) - 1 &&
	       (n = read(pipe_fds[0], output + length,
			 sizeof(output) - 1 - length)) > 0)
		length += (size_t)n;
	close(pipe_fds[0]);
	waitpid(child, &status, 0);
	output[length] = '\0';
	return strdup(output);
}

static char *expected(const char *priorities[6])
{
	static char text[2 * LONG_LINE];
	char long_line[LONG_LINE + 1];

	memset(long_line, 'x', LONG_LINE);
	long_line[LONG_LINE] = '\0';
	snprintf(text, sizeof(text),
		 "%sError: e\n%sw\n%sa\n%sb\n%spieces\n%s%s\n", priorities[0],
		 priorities[1], priorities[2], priorities[3], priorities[4],
		 priorities[5], long_line);
	return text;
}

static int journal_lines_carry_priorities(const void *arg)
{
	const char *prefixes[] = { "<3>", "<4>", "<6>", "<6>", "<6>", "<6>" };
	char *out = logged(THIS_STREAM);

	(void)arg;
	CHECK(out && !strcmp(out, expected(prefixes)), "printed:\n%.300s",
	      out ? out : "(nothing)");
	free(out);
	return 0;
}

static int other_streams_get_plain_lines(const void *arg)
{
	const char *none[] = { "", "", "", "", "", "" };

	(void)arg;
	for (enum stream stream = NO_STREAM; stream <= OTHER_STREAM; stream++) {
		char *out;

		if (stream == THIS_STREAM)
			continue;
		out = logged(stream);
		CHECK(out && !strcmp(out, expected(none)),
		      "stream case %d printed:\n%.300s", stream,
		      out ? out : "(nothing)");
		free(out);
	}
	return 0;
}

const struct test_case *log_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "log: on journald's stream each line starts with its priority, once however it was written",
		  journal_lines_carry_priorities, NULL },
		{ "log: without JOURNAL_STREAM, or naming another stream, lines are plain",
		  other_streams_get_plain_lines, NULL },
	};

	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
