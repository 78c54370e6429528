// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "maps/contract.h"
#include "maglev_btf.h"

/* The type a map definition's member points to: __type(key, T) declares
 * `T *key` in the definition's struct. 0 if there is no such member. */
static __u32 declared_type(const struct btf *btf, const struct btf_type *def,
			   const char *member)
{
	const struct btf_member *m = btf_members(def);

	for (__u16 i = 0; i < btf_vlen(def); i++, m++) {
		const struct btf_type *t = btf__type_by_id(btf, m->type);

		if (strcmp(btf__name_by_offset(btf, m->name_off), member))
			continue;
		return t && btf_is_ptr(t) ? t->type : 0;
	}
	return 0;
}

/* The template's key, and as the value the entry (the template spells it
 * as an array of one, see bpf/maps.bpf.h), else the template's own value
 * type (a plain __u32 in the releases before the entry had a name). They
 * must be what the tables are written as, a 32-bit slot number and one
 * backend id: an object whose types say otherwise is not one to borrow
 * them from. */
static int template_types(const struct btf *btf, struct xs_maglev_btf *out)
{
	__s32 id = btf__find_by_name_kind(btf, XS_MAGLEV_TEMPLATE,
					  BTF_KIND_STRUCT);
	__s32 entry =
		btf__find_by_name_kind(btf, XS_MAGLEV_ENTRY, BTF_KIND_STRUCT);
	const struct btf_type *def;

	if (id < 0)
		return -ENOENT;
	def = btf__type_by_id(btf, id);
	out->key_type_id = declared_type(btf, def, "key");
	out->value_type_id = entry > 0 ? (__u32)entry :
					 declared_type(btf, def, "value");
	if (!out->key_type_id || !out->value_type_id ||
	    btf__resolve_size(btf, out->key_type_id) != sizeof(__u32) ||
	    btf__resolve_size(btf, out->value_type_id) !=
		    sizeof(struct xs_maglev_entry))
		return -EINVAL;
	return 0;
}

int xs_maglev_btf_open(int pinned_map_fd, struct xs_maglev_btf *out)
{
	struct bpf_map_info info = { 0 };
	__u32 length = sizeof(info);
	struct btf *btf;
	int err;

	out->fd = -1;
	out->key_type_id = out->value_type_id = 0;
	if (bpf_obj_get_info_by_fd(pinned_map_fd, &info, &length))
		return -errno;
	if (!info.btf_id)
		return -ENOENT;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		return -errno;
	err = template_types(btf, out);
	btf__free(btf);
	if (err)
		return err;
	/* the object the types were read from: an id names one BTF object
	 * for as long as it lives, and the pinned map keeps it alive */
	out->fd = bpf_btf_get_fd_by_id(info.btf_id);
	return out->fd < 0 ? -errno : 0;
}

void xs_maglev_btf_close(struct xs_maglev_btf *btf)
{
	if (btf->fd >= 0)
		close(btf->fd);
	btf->fd = -1;
}
