// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "audit.h"
#include "log.h"
#include "output.h"
#include "safe_open.h"

int xs_audit_open(const char *state_dir)
{
	char path[PATH_MAX], why[400];
	int fd;

	if (xs_trusted_dir(state_dir, true, 0750, why, sizeof(why))) {
		pr_warn("Couldn't use the state directory: %s\n", why);
		return -EPERM;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, XS_AUDIT_LOG_NAME);
	/* no link, no FIFO (it would block us while we hold the lock), no
	 * file another user could rewrite */
	fd = xs_open_trusted(path, O_WRONLY | O_APPEND | O_CREAT, 0640, why,
			     sizeof(why));
	if (fd < 0)
		pr_warn("Couldn't open the audit log: %s\n", why);
	return fd;
}

int xs_audit_write(int fd, const char *command, const char *before,
		   const char *after)
{
	char when[64], *escaped_command, *user;
	struct passwd *pw = getpwuid(getuid());
	struct timeval now;
	struct tm tm;
	char *line = NULL;
	int length, err = 0;

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* whole, however long: a cut escape would end the line's JSON */
	escaped_command = json_escape_dup(command);
	user = json_escape_dup(pw ? pw->pw_name : "?");
	length =
		!escaped_command || !user ?
			-1 :
			asprintf(
				&line,
				"{\"time\":\"%s.%03ldZ\",\"uid\":%u,\"user\":\"%s\",\"command\":\"%s\",\"before\":%s,\"after\":%s}\n",
				when, (long)(now.tv_usec / 1000), getuid(),
				user, escaped_command, before ? before : "null",
				after ? after : "null");
	free(escaped_command);
	free(user);
	if (length < 0)
		return -ENOMEM;
	if (write(fd, line, length) != length || fsync(fd)) {
		err = -EIO;
		pr_warn("Couldn't append to the audit log\n");
	}
	free(line);
	return err;
}

/* Whether fd is still the file the log's path names: logrotate renames
 * the log away (and compresses it on the next rotation), so a line
 * written to the old file after that would be lost. */
static bool still_the_log(const char *state_dir, int fd)
{
	char path[PATH_MAX];
	struct stat named, held;

	snprintf(path, sizeof(path), "%s/%s", state_dir, XS_AUDIT_LOG_NAME);
	if (fstat(fd, &held) || lstat(path, &named))
		return false;
	return named.st_dev == held.st_dev && named.st_ino == held.st_ino;
}

int xs_audit_record(const char *state_dir, int *fd, const char *command,
		    const char *before, const char *after)
{
	int reopened;

	if (*fd < 0)
		return xs_audit_append(state_dir, command, before, after);
	if (!still_the_log(state_dir, *fd)) {
		/* rotated since we opened it: the new file, checked as the
		 * first was (a file planted in the rename's place is refused) */
		reopened = xs_audit_open(state_dir);
		if (reopened < 0)
			return reopened;
		close(*fd);
		*fd = reopened;
	}
	return xs_audit_write(*fd, command, before, after);
}

int xs_audit_append(const char *state_dir, const char *command,
		    const char *before, const char *after)
{
	int fd = xs_audit_open(state_dir), err;

	if (fd < 0)
		return fd;
	err = xs_audit_write(fd, command, before, after);
	close(fd);
	return err;
}
