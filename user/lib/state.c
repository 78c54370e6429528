// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include "atomic_file.h"
#include "clock.h"
#include "fault.h"
#include "safe_open.h"
#include "parse.h"
#include "state.h"

/* Version 2 names the VIP's generation and writes times on the boot
 * clock; version 1 (wall-clock times, no generation) is still read. */
#define HEADER "xdpsplit-state 2\n"
#define HEADER_V1 "xdpsplit-state 1\n"

static void list(FILE *out, const char *name, const __u32 *values)
{
	fprintf(out, " %s=", name);
	for (int i = 0; i < XS_MAX_RULES; i++)
		fprintf(out, "%s%u", i ? "," : "", values[i]);
}

int xs_state_save(const char *dir, const struct xs_rollout_record *records,
		  size_t count, char *error, size_t error_size)
{
	struct xs_atomic_file file;
	char boot[XS_BOOT_ID_SIZE];
	FILE *out;
	int err;

	/* the temporary file is created anew (atomic_file.h); the directory
	 * it is created in must be one nobody else can write */
	err = xs_trusted_dir(dir, false, 0, error, error_size);
	if (err)
		return err;
	err = xs_atomic_file_begin(&file, dir, XS_STATE_FILE_NAME, 0640);

	if (err) {
		snprintf(error, error_size, "Couldn't create '%s/%s.tmp': %s",
			 dir, XS_STATE_FILE_NAME, strerror(-err));
		return err;
	}
	out = file.out;
	xs_boot_id(boot);
	fprintf(out, "%sclock boot=%s now=%llu\n", HEADER, boot,
		(unsigned long long)xs_clock_ms());
	xs_fault_point("state-partial", out);
	for (size_t i = 0; i < count; i++) {
		const struct xs_rollout *r = &records[i].rollout;
		char reason[sizeof(r->reason)], vip[80];

		/* one line per rollout: no newline may hide in the reason */
		snprintf(reason, sizeof(reason), "%s", r->reason);
		for (char *c = reason; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		xs_format_vip(&records[i].key, vip, sizeof(vip));
		fprintf(out,
			"rollout %s generation=%u %s phase=%d step=%u started=%llu paused=%llu from=%u to=%u canary=%u switched=%d promote=%d pending=%d",
			vip, records[i].generation, records[i].policy, r->phase,
			r->step, (unsigned long long)r->step_started_ms,
			(unsigned long long)r->paused_at_ms, r->from_color,
			r->to_color, r->canary_bp, r->switched, r->promote,
			records[i].route_pending);
		list(out, "consecutive", r->consecutive);
		list(out, "total", r->total_failures);
		fprintf(out, " reason=%s\n", reason);
	}
	err = xs_atomic_file_commit(&file, dir, "state-before-rename");
	if (err)
		snprintf(error, error_size, "Couldn't write '%s/%s': %s", dir,
			 XS_STATE_FILE_NAME, strerror(-err));
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

/* The fields after the VIP (and, in version 2, its generation). */
static int parse_fields(const char *line, struct xs_rollout_record *record)
{
	struct xs_rollout *r = &record->rollout;
	char consecutive[128], total[128];
	unsigned long long started, paused;
	unsigned int phase, step, from, to, canary;
	int switched, promote, pending, used = 0;

	if (sscanf(line,
		   "%63s phase=%u step=%u started=%llu paused=%llu from=%u to=%u canary=%u switched=%d promote=%d pending=%d consecutive=%127s total=%127s%n",
		   record->policy, &phase, &step, &started, &paused, &from, &to,
		   &canary, &switched, &promote, &pending, consecutive, total,
		   &used) != 13 ||
	    line[used])
		return -1;
	if (phase > XS_PHASE_ABORTED || step > XS_MAX_STEPS ||
	    from >= XS_POOL_CANARY || to >= XS_POOL_CANARY || from == to ||
	    canary > XS_WEIGHT_TOTAL ||
	    parse_list(consecutive, r->consecutive) ||
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
	return 0;
}

static int parse_record(char *line, int version,
			struct xs_rollout_record *record)
{
	char *reason = strstr(line, " reason="), vip[96];
	int used = 0;

	memset(record, 0, sizeof(*record));
	if (!reason)
		return -1;
	*reason = '\0';
	if (version == 1 ? sscanf(line, "rollout %95s %n", vip, &used) != 1 :
			   sscanf(line, "rollout %95s generation=%u %n", vip,
				  &record->generation, &used) != 2)
		return -1;
	/* compared parsed: 10.0.0.1:0080/tcp is 10.0.0.1:80/tcp */
	if (!used || xs_parse_vip(vip, &record->key) ||
	    (version == 2 && !record->generation) ||
	    parse_fields(line + used, record))
		return -1;
	xs_format_vip(&record->key, record->vip, sizeof(record->vip));
	snprintf(record->rollout.reason, sizeof(record->rollout.reason), "%s",
		 reason + 8);
	record->rollout.reason[strcspn(record->rollout.reason, "\n")] = '\0';
	return 0;
}

/* A recorded time of the writer's clock, on ours: the same within one
 * boot; after a reboot, as long before now as it was before the write. */
static __u64 on_our_clock(__u64 recorded, __u64 written, __u64 now)
{
	__u64 before = written > recorded ? written - recorded : 0;

	return now > before ? now - before : 0;
}

static void convert_times(struct xs_rollout_record *records, size_t count,
			  bool same_boot, __u64 written)
{
	__u64 now = xs_clock_ms();

	if (same_boot)
		return;
	for (size_t i = 0; i < count; i++) {
		struct xs_rollout *r = &records[i].rollout;

		r->step_started_ms =
			on_our_clock(r->step_started_ms, written, now);
		if (r->paused_at_ms)
			r->paused_at_ms =
				on_our_clock(r->paused_at_ms, written, now);
	}
}

static __u64 wall_clock_ms(void)
{
	struct timeval t;

	gettimeofday(&t, NULL);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_usec / 1000;
}

/* Version 2's clock line: whether its times are this boot's, and when the
 * file was written. */
static int parse_clock(const char *line, bool *same_boot, __u64 *written)
{
	char boot[XS_BOOT_ID_SIZE], ours[XS_BOOT_ID_SIZE];
	unsigned long long now;
	int used = 0;

	if (sscanf(line, "clock boot=%36s now=%llu%n", boot, &now, &used) !=
		    2 ||
	    line[used] != '\n')
		return -1;
	xs_boot_id(ours);
	*same_boot = strcmp(ours, "unknown") && !strcmp(boot, ours);
	*written = now;
	return 0;
}

bool xs_state_same_boot(const char *dir)
{
	char path[PATH_MAX], line[128];
	bool same_boot = false;
	__u64 written;
	FILE *in;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, XS_STATE_FILE_NAME);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return false;
	}
	if (fgets(line, sizeof(line), in) && !strcmp(line, HEADER) &&
	    fgets(line, sizeof(line), in) &&
	    parse_clock(line, &same_boot, &written))
		same_boot = false;
	fclose(in);
	return same_boot;
}

int xs_state_load(const char *dir, struct xs_rollout_record *records,
		  size_t max, size_t *count, char *error, size_t error_size)
{
	char path[PATH_MAX], line[1024], why[400];
	size_t number = 1;
	bool same_boot = false;
	__u64 written = 0;
	int fd, version;
	FILE *in;

	*count = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, XS_STATE_FILE_NAME);
	/* the state decides what the data plane gets: never through a link,
	 * never from a file another user wrote or could write */
	fd = xs_open_trusted(path, O_RDONLY, 0, why, sizeof(why));
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(error, error_size,
			 "%s; the state file is refused, nothing was applied",
			 why);
		return fd;
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return -errno;
	}
	if (!fgets(line, sizeof(line), in) ||
	    (strcmp(line, HEADER) && strcmp(line, HEADER_V1))) {
		snprintf(error, error_size, "%s:1: not an xdpsplit state file",
			 path);
		fclose(in);
		return -EINVAL;
	}
	version = strcmp(line, HEADER) ? 1 : 2;
	if (version == 1) {
		/* wall-clock times: as long ago as the wall clock says */
		written = wall_clock_ms();
	} else if (number++, !fgets(line, sizeof(line), in) ||
				     parse_clock(line, &same_boot, &written)) {
		snprintf(error, error_size, "%s:2: no clock line", path);
		fclose(in);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), in)) {
		number++;
		if (*count == max ||
		    parse_record(line, version, &records[*count])) {
			snprintf(error, error_size, "%s:%zu: damaged record",
				 path, number);
			fclose(in);
			*count = 0;
			return -EINVAL;
		}
		(*count)++;
	}
	fclose(in);
	convert_times(records, *count, same_boot, written);
	return 0;
}
