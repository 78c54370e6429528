// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fault.h"
#include "safe_open.h"
#include "state.h"

#define HEADER "xdpsplit-state 1\n"

static void list(FILE *out, const char *name, const __u32 *values)
{
	fprintf(out, " %s=", name);
	for (int i = 0; i < XS_MAX_RULES; i++)
		fprintf(out, "%s%u", i ? "," : "", values[i]);
}

int xs_state_save(const char *dir, const struct xs_rollout_record *records,
		  size_t count, char *error, size_t error_size)
{
	char path[PATH_MAX], temporary[PATH_MAX];
	FILE *out;
	int fd, err = 0;

	if (strlen(dir) + sizeof(XS_STATE_FILE_NAME) + 8 > sizeof(path)) {
		snprintf(error, error_size, "'%s': path too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, XS_STATE_FILE_NAME);
	snprintf(temporary, sizeof(temporary), "%s/%s.tmp", dir,
		 XS_STATE_FILE_NAME);
	/* never blocks on a planted FIFO, never writes through a link, never
	 * writes into a file or directory another user could change */
	fd = xs_open_trusted(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0640,
			     error, error_size);
	if (fd < 0)
		return fd;
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		snprintf(error, error_size, "'%s': %s", temporary,
			 strerror(errno));
		close(fd);
		return err;
	}
	fputs(HEADER, out);
	xs_fault_point("state-partial", out);
	for (size_t i = 0; i < count; i++) {
		const struct xs_rollout *r = &records[i].rollout;
		char reason[sizeof(r->reason)];

		/* one line per rollout: no newline may hide in the reason */
		snprintf(reason, sizeof(reason), "%s", r->reason);
		for (char *c = reason; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		fprintf(out,
			"rollout %s %s phase=%d step=%u started=%llu paused=%llu from=%u to=%u canary=%u switched=%d promote=%d pending=%d",
			records[i].vip, records[i].policy, r->phase, r->step,
			(unsigned long long)r->step_started_ms,
			(unsigned long long)r->paused_at_ms, r->from_color,
			r->to_color, r->canary_bp, r->switched, r->promote,
			records[i].route_pending);
		list(out, "consecutive", r->consecutive);
		list(out, "total", r->total_failures);
		fprintf(out, " reason=%s\n", reason);
	}
	if (fflush(out) || fsync(fd))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (!err)
		xs_fault_point("state-before-rename", NULL);
	if (!err && rename(temporary, path))
		err = -errno;
	if (!err) {
		/* the rename itself must reach the disk */
		int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir_fd >= 0) {
			fsync(dir_fd);
			close(dir_fd);
		}
	} else {
		snprintf(error, error_size, "'%s': %s", temporary,
			 strerror(-err));
		unlink(temporary);
	}
	return err;
}

static int parse_list(const char *text, __u32 *values)
{
	for (int i = 0; i < XS_MAX_RULES; i++) {
		unsigned long long value;
		char *end;

		if (*text < '0' || *text > '9')
			return -1;
		errno = 0;
		value = strtoull(text, &end, 10);
		if (errno || value > UINT32_MAX ||
		    (*end != ',' && i + 1 < XS_MAX_RULES))
			return -1;
		values[i] = (__u32)value;
		text = end + 1;
	}
	return 0;
}

static int parse_record(char *line, struct xs_rollout_record *record)
{
	struct xs_rollout *r = &record->rollout;
	char consecutive[128], total[128];
	unsigned long long started, paused;
	unsigned int phase, step, from, to, canary;
	int switched, promote, pending, used = 0;
	char *reason = strstr(line, " reason=");

	memset(record, 0, sizeof(*record));
	if (!reason)
		return -1;
	*reason = '\0';
	if (sscanf(line,
		   "rollout %79s %63s phase=%u step=%u started=%llu paused=%llu from=%u to=%u canary=%u switched=%d promote=%d pending=%d consecutive=%127s total=%127s%n",
		   record->vip, record->policy, &phase, &step, &started, &paused,
		   &from, &to, &canary, &switched, &promote, &pending,
		   consecutive, total, &used) != 14 || line[used])
		return -1;
	if (phase > XS_PHASE_ABORTED || step > XS_MAX_STEPS ||
	    from >= XS_POOL_CANARY || to >= XS_POOL_CANARY || from == to ||
	    canary > XS_WEIGHT_TOTAL || parse_list(consecutive, r->consecutive) ||
	    parse_list(total, r->total_failures))
		return -1;
	r->phase = phase;
	r->step = step;
	r->step_started_ms = started;
	r->paused_at_ms = paused;
	r->from_color = from;
	r->to_color = to;
	r->canary_bp = canary;
	r->switched = switched;
	r->promote = promote;
	record->route_pending = pending;
	snprintf(r->reason, sizeof(r->reason), "%s", reason + 8);
	r->reason[strcspn(r->reason, "\n")] = '\0';
	return 0;
}

int xs_state_load(const char *dir, struct xs_rollout_record *records,
		  size_t max, size_t *count, char *error, size_t error_size)
{
	char path[PATH_MAX], line[1024], why[400];
	size_t number = 1;
	FILE *in;
	int fd;

	*count = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, XS_STATE_FILE_NAME);
	/* the state decides what the data plane gets: never through a link,
	 * never from a file another user wrote or could write */
	fd = xs_open_trusted(path, O_RDONLY, 0, why, sizeof(why));
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(error, error_size, "%s; the state file is refused, nothing was applied",
			 why);
		return fd;
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return -errno;
	}
	if (!fgets(line, sizeof(line), in) || strcmp(line, HEADER)) {
		snprintf(error, error_size, "%s:1: not an xdpsplit state file", path);
		fclose(in);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), in)) {
		number++;
		if (*count == max || parse_record(line, &records[*count])) {
			snprintf(error, error_size, "%s:%zu: damaged record", path,
				 number);
			fclose(in);
			*count = 0;
			return -EINVAL;
		}
		(*count)++;
	}
	fclose(in);
	return 0;
}
