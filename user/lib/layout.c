// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "layout.h"

/* "'NAME' WHAT: pinned A, new B" appended to why, "; " between */
static void add_difference(char *why, size_t why_size, const char *format, ...)
{
	size_t used = strlen(why);
	va_list args;

	if (used + 3 >= why_size)
		return;
	if (used) {
		strcpy(why + used, "; ");
		used += 2;
	}
	va_start(args, format);
	vsnprintf(why + used, why_size - used, format, args);
	va_end(args);
}

/* A value type as a comparable string: its name and size, and for a
 * struct or union each member's name and bit offset. Two builds whose value
 * struct has the same size but fields moved or renamed differ here. */
static void describe_type(const struct btf *btf, __u32 id, char *out,
			  size_t out_size)
{
	const struct btf_type *t;
	size_t used;
	__s64 size;

	*out = 0;
	if (!btf || !id)
		return;
	id = btf__resolve_type(btf, id);
	t = btf__type_by_id(btf, id);
	size = btf__resolve_size(btf, id);
	if (!t)
		return;
	snprintf(out, out_size, "%s %s (%lld bytes)",
		 btf_is_struct(t) ? "struct" : btf_is_union(t) ? "union" : "type",
		 btf__name_by_offset(btf, t->name_off), (long long)size);
	if (!btf_is_composite(t))
		return;
	for (__u16 i = 0; i < btf_vlen(t); i++) {
		const struct btf_member *m = btf_members(t) + i;

		used = strlen(out);
		if (used + 1 >= out_size)
			return;
		snprintf(out + used, out_size - used, "%s%s@%u",
			 i ? "," : " {", btf__name_by_offset(btf, m->name_off),
			 btf_member_bit_offset(t, i));
	}
	used = strlen(out);
	if (used + 1 < out_size)
		snprintf(out + used, out_size - used, "}");
}

/* The value types of the pinned map and of the new object's map agree
 * (or one side has no BTF for it, as an array of maps has not). */
static int same_value_type(const struct bpf_map_info *info,
			   const struct bpf_map *map, const struct btf *new_btf,
			   char *pinned, char *wanted, size_t size)
{
	struct btf *pinned_btf;

	*pinned = *wanted = 0;
	if (!info->btf_id || !info->btf_value_type_id || !new_btf ||
	    !bpf_map__btf_value_type_id(map))
		return 1;
	pinned_btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!pinned_btf)
		return 1; /* cannot tell; the sizes were compared already */
	describe_type(pinned_btf, info->btf_value_type_id, pinned, size);
	describe_type(new_btf, bpf_map__btf_value_type_id(map), wanted, size);
	btf__free(pinned_btf);
	return !strcmp(pinned, wanted);
}

/* 1 if the pinned map (its info) is what the new object declares, else 0
 * with each difference added to why. */
static int compare_map(const struct bpf_map_info *info,
		       const struct bpf_map *map, const struct btf *new_btf,
		       char *why, size_t why_size)
{
	const char *name = bpf_map__name(map);
	char pinned[512], wanted[512];
	int same = 1;

#define COMPARE(field, getter, what)                                          \
	do {                                                                  \
		if (info->field != getter(map)) {                             \
			add_difference(why, why_size,                         \
				       "'%s' " what ": pinned %u, new %u",    \
				       name, info->field, getter(map));       \
			same = 0;                                             \
		}                                                             \
	} while (0)
	COMPARE(type, (__u32)bpf_map__type, "type");
	COMPARE(key_size, bpf_map__key_size, "key size");
	COMPARE(value_size, bpf_map__value_size, "value size");
	COMPARE(max_entries, bpf_map__max_entries, "max_entries");
	COMPARE(map_flags, bpf_map__map_flags, "flags");
#undef COMPARE
	if (same && !same_value_type(info, map, new_btf, pinned, wanted,
				     sizeof(pinned))) {
		add_difference(why, why_size,
			       "'%s' value type: pinned %s, new %s", name,
			       pinned, wanted);
		same = 0;
	}
	return same;
}

int xs_layout_reuse_pinned(struct bpf_object *obj, char *why, size_t why_size)
{
	const struct btf *new_btf = bpf_object__btf(obj);
	struct bpf_map *map;
	int fds[64], count = 0, differ = 0, err = 0;
	struct bpf_map *maps[64];

	*why = 0;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = { 0 };
		__u32 length = sizeof(info);
		const char *path = bpf_map__pin_path(map);
		int fd;

		if (!path)
			continue; /* not pinned: .rodata and the like */
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* a map this build adds */
			err = -errno;
			add_difference(why, why_size, "'%s': couldn't open the pin %s: %s",
				       bpf_map__name(map), path, strerror(errno));
			break;
		}
		if (bpf_obj_get_info_by_fd(fd, &info, &length)) {
			err = -errno;
			close(fd);
			add_difference(why, why_size, "'%s': %s is not a map: %s",
				       bpf_map__name(map), path, strerror(errno));
			break;
		}
		if (!compare_map(&info, map, new_btf, why, why_size))
			differ = 1;
		if (count == (int)(sizeof(fds) / sizeof(fds[0]))) {
			close(fd);
			err = -E2BIG;
			break;
		}
		maps[count] = map;
		fds[count++] = fd;
	}
	if (!err && differ)
		err = -EINVAL;
	for (int i = 0; i < count; i++) {
		/* the checked fd itself, and no second lookup of the pin by
		 * libbpf: clearing the pin path keeps the pin as it is */
		if (!err) {
			err = bpf_map__reuse_fd(maps[i], fds[i]);
			if (!err)
				err = bpf_map__set_pin_path(maps[i], NULL);
			if (err)
				add_difference(why, why_size, "'%s': couldn't reuse the pinned map: %s",
					       bpf_map__name(maps[i]), strerror(-err));
		}
		close(fds[i]); /* reuse_fd holds its own duplicate */
	}
	return err;
}
