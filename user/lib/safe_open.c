// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "safe_open.h"

static const char *kind_of(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

int xs_trusted_stat(const struct stat *st, const char *path, bool directory,
		    char *error, size_t error_size)
{
	bool group_ok = st->st_gid == 0 || st->st_gid == getegid();
	bool sticky_root = directory && (st->st_mode & S_ISVTX) &&
			   st->st_uid == 0;

	if (directory ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		snprintf(error, error_size,
			 "'%s' is %s, not %s; remove it or give another path",
			 path, kind_of(st->st_mode),
			 directory ? "a directory" : "a regular file");
		return directory ? -ENOTDIR : -EINVAL;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(
			error, error_size,
			"'%s' is owned by uid %u, not by root%s: another user could have planted it; check it, then chown root '%s' or remove it",
			path, (unsigned int)st->st_uid,
			geteuid() ? " or us" : "", path);
		return -EPERM;
	}
	if (!sticky_root && ((st->st_mode & S_IWOTH) ||
			     ((st->st_mode & S_IWGRP) && !group_ok))) {
		snprintf(
			error, error_size,
			"'%s' is writable by other users (mode %04o): anyone could change it; chmod go-w '%s'",
			path, (unsigned int)(st->st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* Every directory from dir up to /, after resolving links: once they are
 * all ours, nobody else can rename or replace what lies below them. */
static int trusted_ancestors(const char *dir, char *error, size_t error_size)
{
	char resolved[PATH_MAX];
	struct stat st;
	int err;

	if (!realpath(dir, resolved)) {
		err = -errno;
		snprintf(error, error_size, "'%s': %s", dir, strerror(errno));
		return err;
	}
	for (;;) {
		char *slash;

		if (stat(resolved, &st)) {
			err = -errno;
			snprintf(error, error_size, "'%s': %s", resolved,
				 strerror(errno));
			return err;
		}
		err = xs_trusted_stat(&st, resolved, true, error, error_size);
		if (err)
			return err;
		if (!strcmp(resolved, "/"))
			return 0;
		slash = strrchr(resolved, '/');
		if (slash == resolved)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

static int parent_of(const char *path, char *parent, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(parent, size, ".");
		return 0;
	}
	if (slash == path) {
		snprintf(parent, size, "/");
		return 0;
	}
	if ((size_t)(slash - path) >= size)
		return -ENAMETOOLONG;
	memcpy(parent, path, slash - path);
	parent[slash - path] = '\0';
	return 0;
}

int xs_open_trusted(const char *path, int flags, mode_t mode, char *error,
		    size_t error_size)
{
	char parent[PATH_MAX];
	struct stat st;
	int fd, err;

	if (parent_of(path, parent, sizeof(parent))) {
		snprintf(error, error_size, "'%s': path too long", path);
		return -ENAMETOOLONG;
	}
	err = trusted_ancestors(parent, error, error_size);
	if (err)
		return err;
	fd = open(path,
		  (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		  mode);
	if (fd < 0) {
		err = -errno;
		if (errno == ELOOP)
			snprintf(
				error, error_size,
				"'%s' is a symbolic link: refused, a link could point anywhere; replace it with the file itself",
				path);
		else if (errno == ENXIO)
			snprintf(
				error, error_size,
				"'%s' is a FIFO or socket, not a regular file; remove it",
				path);
		else
			snprintf(error, error_size, "'%s': %s", path,
				 strerror(errno));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		snprintf(error, error_size, "'%s': %s", path, strerror(errno));
		close(fd);
		return err;
	}
	err = xs_trusted_stat(&st, path, false, error, error_size);
	if (!err && (flags & O_TRUNC) && ftruncate(fd, 0)) {
		err = -errno;
		snprintf(error, error_size, "Couldn't truncate '%s': %s", path,
			 strerror(errno));
	}
	/* a regular file never blocks; later reads and writes are ordinary */
	if (!err && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		err = -errno;
		snprintf(error, error_size, "'%s': %s", path, strerror(errno));
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int xs_trusted_dir(const char *path, bool create, mode_t mode, char *error,
		   size_t error_size)
{
	char parent[PATH_MAX];
	struct stat st;
	int err;

	if (parent_of(path, parent, sizeof(parent))) {
		snprintf(error, error_size, "'%s': path too long", path);
		return -ENAMETOOLONG;
	}
	err = trusted_ancestors(parent, error, error_size);
	if (err)
		return err;
	if (create && mkdir(path, mode) && errno != EEXIST) {
		err = -errno;
		snprintf(error, error_size,
			 "Couldn't create directory '%s': %s", path,
			 strerror(errno));
		return err;
	}
	if (lstat(path, &st)) {
		err = -errno;
		snprintf(error, error_size, "'%s': %s", path, strerror(errno));
		return err;
	}
	return xs_trusted_stat(&st, path, true, error, error_size);
}

int xs_read_trusted(const char *path, size_t max, char **text, size_t *length,
		    char *error, size_t error_size)
{
	struct stat st;
	size_t used = 0;
	char *buffer;
	int fd = xs_open_trusted(path, O_RDONLY, 0, error, error_size), err = 0;

	*text = NULL;
	*length = 0;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || (size_t)st.st_size > max) {
		snprintf(error, error_size, "'%s' is larger than %zu bytes",
			 path, max);
		close(fd);
		return -EFBIG;
	}
	buffer = malloc(max + 1);
	if (!buffer) {
		close(fd);
		return -ENOMEM;
	}
	/* the size may have changed since fstat: read at most max + 1 */
	while (used <= max) {
		ssize_t got = read(fd, buffer + used, max + 1 - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			snprintf(error, error_size, "Couldn't read '%s': %s",
				 path, strerror(errno));
			break;
		}
		if (!got)
			break;
		used += (size_t)got;
	}
	close(fd);
	if (!err && used > max) {
		snprintf(error, error_size, "'%s' is larger than %zu bytes",
			 path, max);
		err = -EFBIG;
	}
	if (err) {
		free(buffer);
		return err;
	}
	buffer[used] = '\0';
	*text = buffer;
	*length = used;
	return 0;
}

int xs_open_record(const char *path, const char *header, const char *what,
		   FILE **in, char *error, size_t error_size)
{
	char line[128];
	int fd = xs_open_trusted(path, O_RDONLY, 0, error, error_size);

	*in = NULL;
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	*in = fdopen(fd, "r");
	if (!*in) {
		close(fd);
		return -errno;
	}
	if (!fgets(line, sizeof(line), *in) || strcmp(line, header)) {
		snprintf(error, error_size, "%s:1: not an xdpsplit %s", path,
			 what);
		fclose(*in);
		*in = NULL;
		return -EINVAL;
	}
	return 0;
}
