// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "maps/contract.h"
#include "layout.h"

/* maps/contract.h cannot include the headers that define these */
_Static_assert((int)XS_PROTOCOL_TCP == (int)IPPROTO_TCP,
	       "enum xs_protocol is IANA's");
_Static_assert((int)XS_PROTOCOL_UDP == (int)IPPROTO_UDP,
	       "enum xs_protocol is IANA's");

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

/* Whether a pinned value type and the new build's are the same layout:
 * same size, and for a struct or union the same members at the same
 * offsets with the same sizes and names. A member called reserved* may
 * become a named one (old entries hold zero there, as a new field must
 * accept); any other rename or move is another layout, even of equal size.
 * Members that are structs, or arrays of them (a flow bucket's slots), are
 * compared the same way, to a bounded depth.
 * 0 and a description in why if they differ. */
#define MAX_LAYOUT_DEPTH 8

/* The struct or union a member is made of (through arrays), or 0. */
static __u32 composite_of(const struct btf *btf, __u32 id)
{
	const struct btf_type *t;

	for (int i = 0; i < MAX_LAYOUT_DEPTH; i++) {
		id = btf__resolve_type(btf, id);
		t = btf__type_by_id(btf, id);
		if (!t)
			return 0;
		if (btf_is_composite(t))
			return id;
		if (!btf_is_array(t))
			return 0;
		id = btf_array(t)->type;
	}
	return 0;
}

static int same_type_layout(const struct btf *pinned, __u32 pinned_id,
			    const struct btf *wanted, __u32 wanted_id,
			    char *why, size_t why_size, int depth)
{
	const struct btf_type *p, *w;

	pinned_id = btf__resolve_type(pinned, pinned_id);
	wanted_id = btf__resolve_type(wanted, wanted_id);
	p = btf__type_by_id(pinned, pinned_id);
	w = btf__type_by_id(wanted, wanted_id);
	if (!p || !w)
		return 1; /* cannot tell; the sizes were compared already */
	if (btf__resolve_size(pinned, pinned_id) !=
		    btf__resolve_size(wanted, wanted_id) ||
	    btf_is_composite(p) != btf_is_composite(w)) {
		snprintf(why, why_size, "pinned %s, new %s",
			 btf__name_by_offset(pinned, p->name_off),
			 btf__name_by_offset(wanted, w->name_off));
		return 0;
	}
	if (!btf_is_composite(p))
		return 1;
	if (btf_vlen(p) != btf_vlen(w)) {
		snprintf(why, why_size, "%s has %u members pinned, %u new",
			 btf__name_by_offset(wanted, w->name_off), btf_vlen(p),
			 btf_vlen(w));
		return 0;
	}
	for (__u16 i = 0; i < btf_vlen(p); i++) {
		const struct btf_member *pm = btf_members(p) + i;
		const struct btf_member *wm = btf_members(w) + i;
		const char *pname = btf__name_by_offset(pinned, pm->name_off);
		const char *wname = btf__name_by_offset(wanted, wm->name_off);

		__u32 pinned_inner = composite_of(pinned, pm->type);
		__u32 wanted_inner = composite_of(wanted, wm->type);

		if (btf_member_bit_offset(p, i) ==
			    btf_member_bit_offset(w, i) &&
		    btf_member_bitfield_size(p, i) ==
			    btf_member_bitfield_size(w, i) &&
		    btf__resolve_size(pinned, pm->type) ==
			    btf__resolve_size(wanted, wm->type) &&
		    (!strcmp(pname, wname) || !strncmp(pname, "reserved", 8)) &&
		    !pinned_inner == !wanted_inner) {
			if (!pinned_inner || depth >= MAX_LAYOUT_DEPTH ||
			    same_type_layout(pinned, pinned_inner, wanted,
					     wanted_inner, why, why_size,
					     depth + 1))
				continue;
			return 0;
		}
		snprintf(
			why, why_size,
			"%s member %u: pinned '%s' at bit %u (%lld bytes), new '%s' at bit %u (%lld bytes)",
			btf__name_by_offset(wanted, w->name_off), i, pname,
			btf_member_bit_offset(p, i),
			(long long)btf__resolve_size(pinned, pm->type), wname,
			btf_member_bit_offset(w, i),
			(long long)btf__resolve_size(wanted, wm->type));
		return 0;
	}
	return 1;
}

/* The value types of the pinned map and of the new object's map agree
 * (or one side has no BTF for it, as an array of maps has not). */
static int same_value_type(const struct bpf_map_info *info,
			   const struct bpf_map *map, const struct btf *new_btf,
			   char *why, size_t why_size)
{
	struct btf *pinned_btf;
	int same;

	*why = 0;
	if (!info->btf_id || !info->btf_value_type_id || !new_btf ||
	    !bpf_map__btf_value_type_id(map))
		return 1;
	pinned_btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!pinned_btf)
		return 1; /* cannot tell; the sizes were compared already */
	same = same_type_layout(pinned_btf, info->btf_value_type_id, new_btf,
				bpf_map__btf_value_type_id(map), why, why_size,
				0);
	btf__free(pinned_btf);
	return same;
}

/* 1 if the pinned map (its info) is what the new object declares, else 0
 * with each difference added to why. */
static int compare_map(const struct bpf_map_info *info,
		       const struct bpf_map *map, const struct btf *new_btf,
		       char *why, size_t why_size)
{
	const char *name = bpf_map__name(map);
	char type_why[256];
	int same = 1;

#define COMPARE(field, getter, what)                                           \
	do {                                                                   \
		if (info->field != getter(map)) {                              \
			add_difference(why, why_size,                          \
				       "'%s' " what ": pinned %u, new %u",     \
				       name, info->field, getter(map));        \
			same = 0;                                              \
		}                                                              \
	} while (0)
	COMPARE(type, (__u32)bpf_map__type, "type");
	COMPARE(key_size, bpf_map__key_size, "key size");
	COMPARE(value_size, bpf_map__value_size, "value size");
	COMPARE(max_entries, bpf_map__max_entries, "max_entries");
	COMPARE(map_flags, bpf_map__map_flags, "flags");
#undef COMPARE
	if (same &&
	    !same_value_type(info, map, new_btf, type_why, sizeof(type_why))) {
		add_difference(why, why_size, "'%s' value type: %s", name,
			       type_why);
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
	bpf_object__for_each_map(map, obj)
	{
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
			add_difference(why, why_size,
				       "'%s': couldn't open the pin %s: %s",
				       bpf_map__name(map), path,
				       strerror(errno));
			break;
		}
		if (bpf_obj_get_info_by_fd(fd, &info, &length)) {
			err = -errno;
			close(fd);
			add_difference(why, why_size,
				       "'%s': %s is not a map: %s",
				       bpf_map__name(map), path,
				       strerror(errno));
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
				add_difference(
					why, why_size,
					"'%s': couldn't reuse the pinned map: %s",
					bpf_map__name(maps[i]), strerror(-err));
		}
		close(fds[i]); /* reuse_fd holds its own duplicate */
	}
	return err;
}
