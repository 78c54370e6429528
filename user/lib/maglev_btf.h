/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BTF userspace gives the Maglev tables it creates (the inner maps of
 * the maglev array of maps), so that `bpftool map dump` prints their
 * entries by field instead of as raw bytes.
 */
#ifndef XDPSPLIT_MAGLEV_BTF_H
#define XDPSPLIT_MAGLEV_BTF_H

#include <linux/types.h>

struct xs_maglev_btf {
	int fd; /* the BTF object; -1: tables are created without BTF */
	__u32 key_type_id;
	__u32 value_type_id;
};

/* The BTF of the program that created the pinned map (its object's BTF,
 * which every map it pinned shares), and in it the key and value types
 * of the inner map template (struct maglev_table, bpf/maps.bpf.h): its key
 * and the entry (struct xs_maglev_entry), or the template's value in
 * objects from before the entry had a name (dumped as a number). Needs
 * CAP_SYS_ADMIN (the kernel hands out BTF by id to it alone), so splitd
 * opens it before dropping privileges; the fd is enough afterwards. On
 * any failure (an old kernel, no privilege, an object without the
 * template) out->fd is -1 and tables are made without BTF, as before:
 * the data plane does not need it. Returns 0 or a negative errno, for a
 * debug message only. */
int xs_maglev_btf_open(int pinned_map_fd, struct xs_maglev_btf *out);
void xs_maglev_btf_close(struct xs_maglev_btf *btf);

/* The names, in the program's BTF, of the inner map template's struct and
 * of the entry (maps/contract.h) */
#define XS_MAGLEV_TEMPLATE "maglev_table"
#define XS_MAGLEV_ENTRY "xs_maglev_entry"

#endif /* XDPSPLIT_MAGLEV_BTF_H */
