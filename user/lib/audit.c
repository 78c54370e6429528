// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
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

int xs_audit_append(const char *state_dir, const char *command,
		    const char *before, const char *after)
{
	char path[PATH_MAX], when[64], *escaped_command, *user;
	struct passwd *pw = getpwuid(getuid());
	struct timeval now;
	struct tm tm;
	char *line = NULL;
	int fd, length, err = 0;

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* whole, however long: a cut escape would end the line's JSON */
	escaped_command = json_escape_dup(command);
	user = json_escape_dup(pw ? pw->pw_name : "?");
	length = !escaped_command || !user ? -1 : asprintf(&line,
			  "{\"time\":\"%s.%03ldZ\",\"uid\":%u,\"user\":\"%s\",\"command\":\"%s\",\"before\":%s,\"after\":%s}\n",
			  when, (long)(now.tv_usec / 1000), getuid(), user,
			  escaped_command, before ? before : "null",
			  after ? after : "null");
	free(escaped_command);
	free(user);
	if (length < 0)
		return -ENOMEM;

	if (mkdir(state_dir, 0750) && errno != EEXIST) {
		err = -errno;
		pr_warn("Couldn't create state directory '%s': %s\n", state_dir,
			strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, XS_AUDIT_LOG_NAME);
	/* O_NOFOLLOW: a symlink planted here must not redirect our writes */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0640);
	if (fd < 0) {
		err = -errno;
		pr_warn("Couldn't open audit log '%s': %s\n", path,
			strerror(errno));
		goto out;
	}
	if (write(fd, line, length) != length || fsync(fd)) {
		err = -EIO;
		pr_warn("Couldn't append to audit log '%s'\n", path);
	}
	close(fd);
out:
	free(line);
	return err;
}
