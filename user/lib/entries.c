// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_entries.skel.h"
#include "entries.h"

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

int xs_map_entries(const int *fds, size_t count, __u64 *entries)
{
	struct map_entries *skel;
	struct bpf_link *link;
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
	skel = map_entries__open_and_load();
	if (!skel)
		return -errno ?: -EINVAL;
	link = bpf_program__attach_iter(skel->progs.map_entries, NULL);
	err = link ? 0 : -errno;
	if (link) {
		iter_fd = bpf_iter_create(bpf_link__fd(link));
		err = iter_fd < 0 ? -errno : read_counts(iter_fd, ids, count,
							 entries);
		if (iter_fd >= 0)
			close(iter_fd);
		bpf_link__destroy(link);
	}
	map_entries__destroy(skel);
	return err;
}
