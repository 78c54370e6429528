// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static enum xs_log_level current_level = XS_LOG_WARN;

/* stderr is journald's stream: systemd says so in JOURNAL_STREAM
 * ("DEVICE:INODE" of the stream it gave us). Compared with stderr itself,
 * so a child whose stderr was redirected elsewhere prints plain lines. */
static bool to_journal;
static pthread_once_t journal_checked = PTHREAD_ONCE_INIT;
/* the last line written ended: the next write starts a line (and gets
 * its level prefix); under stderr's lock */
static bool at_line_start = true;

static void check_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat st;
	char end;

	to_journal = false;
	if (!stream ||
	    sscanf(stream, "%llu:%llu%c", &device, &inode, &end) != 2)
		return;
	if (fstat(STDERR_FILENO, &st))
		return;
	to_journal = (unsigned long long)st.st_dev == device &&
		     (unsigned long long)st.st_ino == inode;
}

bool xs_log_to_journal(void)
{
	pthread_once(&journal_checked, check_journal);
	return to_journal;
}

/* syslog(3)'s priority of each of our levels: what journald files the
 * line under (the "<N>" prefix of sd-daemon(3)) */
static int syslog_priority(enum xs_log_level level)
{
	switch (level) {
	case XS_LOG_ERROR:
		return LOG_ERR;
	case XS_LOG_WARN:
		return LOG_WARNING;
	case XS_LOG_INFO:
		return LOG_INFO;
	case XS_LOG_DEBUG:
		break;
	}
	return LOG_DEBUG;
}

/* Writes text to stderr; to the journal, every line it starts gets the
 * level's prefix (a message written in pieces gets it once). */
static void write_text(enum xs_log_level level, const char *text)
{
	if (!xs_log_to_journal()) {
		fputs(text, stderr);
		return;
	}
	flockfile(stderr);
	while (*text) {
		const char *newline = strchr(text, '\n');
		size_t length = newline ? (size_t)(newline - text) + 1 :
					  strlen(text);

		if (at_line_start)
			fprintf(stderr, "<%d>", syslog_priority(level));
		fwrite(text, 1, length, stderr);
		at_line_start = newline != NULL;
		text += length;
	}
	funlockfile(stderr);
}

static void write_formatted(enum xs_log_level level, const char *format,
			    va_list args)
{
	char small[1024], *text = small;
	va_list again;
	int length;

	va_copy(again, args);
	length = vsnprintf(small, sizeof(small), format, args);
	if (length >= (int)sizeof(small)) {
		text = malloc((size_t)length + 1);
		if (text)
			vsnprintf(text, (size_t)length + 1, format, again);
		else
			text = small; /* cut short rather than lost */
	}
	va_end(again);
	if (length >= 0)
		write_text(level, text);
	if (text != small)
		free(text);
}

/* libbpf and libxdp print through this. Their warnings are noise to an
 * operator (libxdp falling back from its dispatcher, for one), and we
 * report every failure ourselves: shown only at debug level. */
static int libbpf_print(enum libbpf_print_level level, const char *format,
			va_list args)
{
	(void)level;
	if (current_level < XS_LOG_DEBUG)
		return 0;
	write_formatted(XS_LOG_DEBUG, format, args);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *format,
			va_list args)
{
	return libbpf_print((enum libbpf_print_level)level, format, args);
}

void xs_log_set_level(enum xs_log_level level)
{
	/* stderr looked at again: a caller that moved it (a test's pipe)
	 * gets what the new one is */
	pthread_once(&journal_checked, check_journal);
	check_journal();
	current_level = level;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

void xs_log(enum xs_log_level level, const char *format, ...)
{
	va_list args;

	if (level > current_level)
		return;
	va_start(args, format);
	write_formatted(level, format, args);
	va_end(args);
}
