// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_entries.skel.h"
#include "entries.h"

struct xs_entry_counter {
	struct map_entries *skel;
	struct bpf_link *link;
};

struct xs_entry_counter *xs_entry_counter_open(void)
{
	struct xs_entry_counter *counter = calloc(1, sizeof(*counter));
	int err;

	if (!counter)
		return NULL;
	counter->skel = map_entries__open_and_load();
	if (counter->skel)
		counter->link = bpf_program__attach_iter(
			counter->skel->progs.map_entries, NULL);
	if (!counter->link) {
		err = errno ?: EINVAL;
		xs_entry_counter_close(counter);
		errno = err;
		return NULL;
	}
	return counter;
}

void xs_entry_counter_close(struct xs_entry_counter *counter)
{
	if (!counter)
		return;
	bpf_link__destroy(counter->link);
	map_entries__destroy(counter->skel);
	free(counter);
}

static int map_id(int fd, __u32 *id)
{
	struct bpf_map_info info;
	__u32 length = sizeof(info);

	memset(&info, 0, length);
	if (bpf_obj_get_info_by_fd(fd, &info, &length))
		return -errno;
	*id = info.id;
	return 0;
}

/* Reads (map id, entries) records until the iterator ends. */
static int read_counts(int iter_fd, const __u32 *ids, size_t count,
		       __u64 *entries)
{
	__u64 record[2];
	ssize_t n;

	while ((n = read(iter_fd, record, sizeof(record))) == sizeof(record))
		for (size_t i = 0; i < count; i++)
			if (record[0] == ids[i])
				entries[i] = record[1];
	return n < 0 ? -errno : 0;
}

int xs_map_entries(struct xs_entry_counter *counter, const int *fds,
		   size_t count, __u64 *entries)
{
	struct xs_entry_counter *own = NULL;
	__u32 ids[16];
	int iter_fd, err;

	if (count > sizeof(ids) / sizeof(ids[0]))
		return -E2BIG;
	for (size_t i = 0; i < count; i++) {
		entries[i] = 0;
		err = map_id(fds[i], &ids[i]);
		if (err)
			return err;
	}
	if (!counter) {
		counter = own = xs_entry_counter_open();
		if (!counter)
			return -errno;
	}
	iter_fd = bpf_iter_create(bpf_link__fd(counter->link));
	err = iter_fd < 0 ? -errno : read_counts(iter_fd, ids, count, entries);
	if (iter_fd >= 0)
		close(iter_fd);
	xs_entry_counter_close(own);
	return err;
}
