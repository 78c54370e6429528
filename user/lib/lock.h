/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* An exclusive flock on the pin directory around every change, as
 * xdp-tools does, so two operators' commands never interleave. */
#ifndef XDPSPLIT_LOCK_H
#define XDPSPLIT_LOCK_H

/* Returns a descriptor holding the lock, or a negative errno after
 * waiting up to timeout_ms for another holder. */
int xs_lock_pin_dir(const char *pin_dir, int timeout_ms);
/* The lock if it is free now, else -EWOULDBLOCK at once and quietly: for
 * a loop that must not wait, and retries later. */
int xs_try_lock_pin_dir(const char *pin_dir);
void xs_unlock(int fd);

#endif
