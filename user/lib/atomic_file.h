/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A file replaced whole: written to NAME.tmp, synced, renamed over NAME,
 * and the directory synced, so after a crash at any moment NAME holds the
 * old contents or the new, never a mix. Whatever is at NAME.tmp (a
 * leftover, or a FIFO or link someone planted) is removed first and the
 * temporary file is created anew (O_EXCL, no links followed), so no one
 * can make the writer block or write elsewhere.
 */
#ifndef XDPSPLIT_ATOMIC_FILE_H
#define XDPSPLIT_ATOMIC_FILE_H

#include <limits.h>
#include <stdio.h>

struct xs_atomic_file {
	FILE *out;
	char path[PATH_MAX];
	char temporary[PATH_MAX];
};

/* 0 and file->out ready for writing, or -errno. */
int xs_atomic_file_begin(struct xs_atomic_file *file, const char *dir,
			 const char *name, mode_t mode);
/* Syncs and renames into place (fault point `fault_before_rename`, may be
 * NULL); on any error the old file stays and -errno is returned. */
int xs_atomic_file_commit(struct xs_atomic_file *file, const char *dir,
			  const char *fault_before_rename);

#endif
