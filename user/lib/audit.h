/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The audit log: one JSON object per line, appended with a single write()
 * to a file opened O_APPEND, so concurrent writers never interleave and a
 * crash never leaves half a line. Who, when, what, before and after.
 */
#ifndef XDPSPLIT_AUDIT_H
#define XDPSPLIT_AUDIT_H

#define XS_DEFAULT_STATE_DIR "/var/lib/xdpsplit"
#define XS_STATE_DIR_ENV "XDPSPLIT_STATE_DIR"
#define XS_AUDIT_LOG_NAME "audit.log"

/* before and after are JSON values (NULL writes null). */
int xs_audit_append(const char *state_dir, const char *command,
		    const char *before, const char *after);

#endif
