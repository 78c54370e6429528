/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Leveled logging to stderr; libbpf's own messages only when verbose.
 * When stderr is journald's stream (systemd's JOURNAL_STREAM), each line
 * starts with its syslog priority, "<3>" to "<7>", so the journal files it
 * at that level. */
#ifndef XDPSPLIT_LOG_H
#define XDPSPLIT_LOG_H

#include <stdbool.h>

enum xs_log_level {
	XS_LOG_ERROR = -1, /* always shown */
	XS_LOG_WARN = 0,
	XS_LOG_INFO = 1,
	XS_LOG_DEBUG = 2,
};

void xs_log_set_level(enum xs_log_level level);
void xs_log(enum xs_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/* stderr is the journal's stream: lines carry their priority */
bool xs_log_to_journal(void);

#define pr_err(...) xs_log(XS_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) xs_log(XS_LOG_WARN, __VA_ARGS__)
#define pr_info(...) xs_log(XS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xs_log(XS_LOG_DEBUG, __VA_ARGS__)

#endif /* XDPSPLIT_LOG_H */
