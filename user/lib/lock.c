// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "lock.h"
#include "log.h"

int xs_lock_pin_dir(const char *pin_dir, int timeout_ms)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
	    waited = 0;

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || waited >= timeout_ms) {
			int err = -errno;

			pr_warn("Couldn't lock '%s': %s\n", pin_dir,
				errno == EWOULDBLOCK ?
					"another splitctl or splitd holds it" :
					strerror(errno));
			close(fd);
			return err;
		}
		usleep(20 * 1000);
		waited += 20;
	}
	return fd;
}

int xs_try_lock_pin_dir(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void xs_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
