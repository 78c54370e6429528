/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A new build's maps against the maps pinned by the running one. An upgrade
 * in place keeps the flow tables only if every pinned map is exactly what the
 * new program expects: same type, key and value sizes, max_entries, flags and
 * value type. This is checked before anything is loaded or detached, so a
 * build with another layout is refused with the running program untouched.
 */
#ifndef XDPSPLIT_LAYOUT_H
#define XDPSPLIT_LAYOUT_H

#include <stddef.h>
#include <bpf/libbpf.h>

/* Compares every map of obj that libbpf would pin under its pin root with
 * the pin of that name. All equal: each pinned map's fd is handed to the
 * object (bpf_map__reuse_fd; the very fd that was checked, not a second open
 * of the pin), and 0. A map not pinned yet is left for libbpf to create and
 * pin. Any difference: -EINVAL, nothing reused, and why says which maps
 * differ and how ("'flows' value size: pinned 16, new 24"). */
int xs_layout_reuse_pinned(struct bpf_object *obj, char *why, size_t why_size);

#endif
