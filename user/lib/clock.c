// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

__u64 xs_clock_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

void xs_boot_id(char out[XS_BOOT_ID_SIZE])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, XS_BOOT_ID_SIZE - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n != XS_BOOT_ID_SIZE - 1) {
		snprintf(out, XS_BOOT_ID_SIZE, "unknown");
		return;
	}
	out[XS_BOOT_ID_SIZE - 1] = '\0';
}
