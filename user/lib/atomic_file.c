// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "atomic_file.h"
#include "fault.h"

int xs_atomic_file_begin(struct xs_atomic_file *file, const char *dir,
			 const char *name, mode_t mode)
{
	int fd;

	memset(file, 0, sizeof(*file));
	if (strlen(dir) + strlen(name) + 6 > sizeof(file->path))
		return -ENAMETOOLONG;
	snprintf(file->path, sizeof(file->path), "%s/%s", dir, name);
	snprintf(file->temporary, sizeof(file->temporary), "%s/%s.tmp", dir,
		 name);
	if (unlink(file->temporary) && errno != ENOENT)
		return -errno;
	fd = open(file->temporary,
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	file->out = fdopen(fd, "w");
	if (!file->out) {
		int err = -errno;

		close(fd);
		unlink(file->temporary);
		return err;
	}
	return 0;
}

int xs_atomic_file_commit(struct xs_atomic_file *file, const char *dir,
			  const char *fault_before_rename)
{
	int err = 0;

	/* ferror: a write that failed in an earlier implicit flush (a full
	 * disk) must not let a short file be renamed into place */
	if (fflush(file->out) || ferror(file->out) || fsync(fileno(file->out)))
		err = errno ? -errno : -EIO;
	if (fclose(file->out) && !err)
		err = -errno;
	file->out = NULL;
	if (!err && fault_before_rename)
		xs_fault_point(fault_before_rename, NULL);
	if (!err && rename(file->temporary, file->path))
		err = -errno;
	if (err) {
		unlink(file->temporary);
		return err;
	}
	/* the rename itself must reach the disk */
	{
		int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir_fd >= 0) {
			fsync(dir_fd);
			close(dir_fd);
		}
	}
	return 0;
}
