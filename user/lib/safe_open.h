/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Local files are hostile until checked. Everything xdpsplit reads or
 * writes on the local disk (configuration, rollout state, audit log) is
 * opened through here, so one rule decides what is trusted:
 *
 * - the file is opened O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC: a symbolic link
 *   is refused, and a FIFO or device can never block the caller (a FIFO
 *   opened for writing with no reader fails at once; one with a reader, or
 *   opened for reading, is refused by the checks below);
 * - it must be a regular file, owned by root or by the caller's effective
 *   uid, and not writable by other users (nor by its group, unless that
 *   group is root's or the caller's);
 * - so must every directory from the file up to /, except that a directory
 *   writable by others is accepted when it is sticky and owned by root
 *   (/tmp): there nobody else can rename or remove what we own. Once every
 *   ancestor is trusted, no other user can swap anything between our check
 *   and our use;
 * - O_TRUNC is applied (ftruncate) only after the checks: a refused file is
 *   left as it was.
 *
 * On refusal the functions return a negative errno and write to error a
 * sentence naming the path, why it is refused and what to do.
 */
#ifndef XDPSPLIT_SAFE_OPEN_H
#define XDPSPLIT_SAFE_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* flags: O_RDONLY, O_WRONLY, O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND.
 * A missing file (without O_CREAT) is -ENOENT. */
int xs_open_trusted(const char *path, int flags, mode_t mode, char *error,
		    size_t error_size);

/* A directory we keep files in: created with mode if missing (create), then
 * checked as above, with its ancestors. */
int xs_trusted_dir(const char *path, bool create, mode_t mode, char *error,
		   size_t error_size);

/* The ownership and mode rule alone, for an object already stat'ed (a pin,
 * a pin directory). directory: S_ISDIR expected, else S_ISREG. */
int xs_trusted_stat(const struct stat *st, const char *path, bool directory,
		    char *error, size_t error_size);

/* Reads a whole trusted regular file of at most max bytes into a NUL
 * terminated buffer (free it); -EFBIG if larger. */
int xs_read_trusted(const char *path, size_t max, char **text, size_t *length,
		    char *error, size_t error_size);

/* A record file of ours (state dir): opened trusted for reading, its first
 * line checked against header ("xdpsplit-applied 1\n"). 0 with *in (read
 * the rest, fclose it), 0 with *in NULL when there is none, or a negative
 * errno with the message ("PATH:1: not an xdpsplit WHAT"). */
int xs_open_record(const char *path, const char *header, const char *what,
		   FILE **in, char *error, size_t error_size);

#endif /* XDPSPLIT_SAFE_OPEN_H */
