/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The audit log: one JSON object per line, appended with a single write()
 * to a file opened O_APPEND, so concurrent writers never interleave and a
 * crash never leaves half a line. Who, when, what, before and after.
 *
 * Rotation (dist/xdpsplit.logrotate) renames the file away; writers find
 * the new one by its path, creating it as they would the first (so the
 * rule needs no create, no copytruncate and no signal).
 */
#ifndef XDPSPLIT_AUDIT_H
#define XDPSPLIT_AUDIT_H

#define XS_DEFAULT_STATE_DIR "/var/lib/xdpsplit"
#define XS_STATE_DIR_ENV "XDPSPLIT_STATE_DIR"
#define XS_AUDIT_LOG_NAME "audit.log"

/* Opens the log for appending, creating the state directory and the file;
 * both checked as safe_open.h says (a planted FIFO, link or foreign file is
 * refused at once, with a message). An fd, or negative errno. */
int xs_audit_open(const char *state_dir);
/* One line on an fd from xs_audit_open. */
int xs_audit_write(int fd, const char *command, const char *before,
		   const char *after);
/* One line through an fd kept open since before the change it records
 * (*fd < 0: open, write, close). If the log was rotated since (its path
 * names another file, or none), the fd is replaced by the log's new file
 * first, so the line lands in the file logrotate left in place. */
int xs_audit_record(const char *state_dir, int *fd, const char *command,
		    const char *before, const char *after);
/* Open, write, close: always the file the path names now, so a writer
 * that opens per line follows a rotation without help. before and after are JSON values (NULL writes null). */
int xs_audit_append(const char *state_dir, const char *command,
		    const char *before, const char *after);

#endif
