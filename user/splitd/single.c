// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One splitd per pin dir, state dir and run dir. Two daemons on one pin
 * dir drive the same routes; on one state dir they overwrite each other's
 * rollout state; on one run dir the second unlinks the first's socket. So
 * before splitd touches anything it takes an exclusive flock for each, and
 * a second one exits naming the pid that holds it.
 *
 * The state and run dirs hold a splitd.lock file. The pin dir cannot:
 * bpffs has no regular files, and a flock on the directory itself is the
 * lock splitctl and splitd take for each change (held for its length
 * only). Its lock is a file of a root-owned directory, XS_LOCK_DIR, named
 * after the pin dir's device and inode, so that every path that leads to
 * the same pin dir (symlinks, bind mounts, "dir/" and "dir") takes the same
 * lock. The files stay when splitd stops: unlinking a lock file others may
 * be opening would let two of them hold "the" lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "user/lib/log.h"
#include "user/lib/pins.h"
#include "splitd.h"

#define XS_LOCK_DIR "/run/lock/xdpsplit"

/* The pid holding a flock on fd's file, from /proc/locks; 0 if unknown. */
static int holder(int fd)
{
	struct stat st;
	char line[256];
	FILE *locks;
	int pid = 0;

	if (fstat(fd, &st) || !(locks = fopen("/proc/locks", "re")))
		return 0;
	while (!pid && fgets(line, sizeof(line), locks)) {
		unsigned int major_number, minor_number;
		unsigned long inode;
		char type[16];
		int who;

		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", type, &who,
			   &major_number, &minor_number, &inode) == 5 &&
		    !strcmp(type, "FLOCK") && inode == st.st_ino &&
		    major_number == major(st.st_dev) &&
		    minor_number == minor(st.st_dev))
			pid = who;
	}
	fclose(locks);
	return pid;
}

/* Holds path locked for the life of the process: 0, or -1 with a message.
 * The descriptor that holds the lock is read-only: one open for writing
 * would keep the state dir's file system from being remounted read-only. */
static int lock_file(const char *path, const char *what, const char *dir)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600),
	    pid_fd;
	char pid[24];

	if (fd < 0) {
		pr_err("Error: couldn't open the lock %s of %s %s: %s\n", path,
		       what, dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int other = errno == EWOULDBLOCK ? holder(fd) : 0;

		if (errno != EWOULDBLOCK)
			pr_err("Error: couldn't lock %s: %s\n", path,
			       strerror(errno));
		else if (other)
			pr_err("Error: another splitd (pid %d) runs on %s %s (it holds %s); stop it first\n",
			       other, what, dir, path);
		else
			pr_err("Error: another splitd runs on %s %s (it holds %s); stop it first\n",
			       what, dir, path);
		close(fd);
		return -1;
	}
	/* for the operator who looks; the lock is the flock, not this */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	pid_fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (pid_fd < 0 || write(pid_fd, pid, strlen(pid)) < 0)
		pr_debug("Couldn't write the pid into %s\n", path);
	if (pid_fd >= 0)
		close(pid_fd);
	return 0; /* fd stays open: the lock is held until splitd exits */
}

static int make_dir(const char *dir, mode_t mode, const char *what)
{
	if (mkdir(dir, mode) && errno != EEXIST) {
		pr_err("Error: couldn't create the %s %s: %s\n", what, dir,
		       strerror(errno));
		return -1;
	}
	return 0;
}

/* XS_LOCK_DIR, which must be ours alone: a directory another user could
 * write to would let them hold our locks, or plant links in place of
 * them. */
static int lock_dir(void)
{
	struct stat st;

	if (make_dir("/run/lock", 0755, "lock directory") ||
	    make_dir(XS_LOCK_DIR, 0755, "lock directory"))
		return -1;
	if (lstat(XS_LOCK_DIR, &st) || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		pr_err("Error: %s is not a directory that only uid %u can write to; remove it\n",
		       XS_LOCK_DIR, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

int single_instance_lock(const struct daemon *d)
{
	char path[4096], error[512];
	struct stat pins, state, run;

	/* the same modes as the code that would create them later */
	if (make_dir(d->state_dir, 0750, "state directory"))
		return -1;
	snprintf(path, sizeof(path), "%s/splitd.lock", d->state_dir);
	if (lock_file(path, "state dir", d->state_dir))
		return -1;
	/* bpffs mounted if absent, the directory made ours and checked: the
	 * lock below is keyed by it */
	if (xs_pin_dir_prepare(d->pin_dir, true, error, sizeof(error))) {
		pr_err("Error: %s\n", error);
		return -1;
	}
	if (lock_dir())
		return -1;
	if (stat(d->pin_dir, &pins)) {
		pr_err("Error: couldn't look at the pin directory %s: %s\n",
		       d->pin_dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/pin-dir-%u-%u-%lu.lock", XS_LOCK_DIR,
		 major(pins.st_dev), minor(pins.st_dev),
		 (unsigned long)pins.st_ino);
	if (lock_file(path, "pin dir", d->pin_dir))
		return -1;
	if (make_dir(d->run_dir, 0755, "run directory"))
		return -1;
	/* one directory for both (a test's, a bench's): its lock is held
	 * already, and a second flock of ours on it would refuse us */
	if (!stat(d->state_dir, &state) && !stat(d->run_dir, &run) &&
	    state.st_dev == run.st_dev && state.st_ino == run.st_ino)
		return 0;
	snprintf(path, sizeof(path), "%s/splitd.lock", d->run_dir);
	return lock_file(path, "run dir", d->run_dir);
}
