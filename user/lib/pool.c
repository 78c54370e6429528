// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Keeping a pool's Maglev table in step with its backends' states. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane.h"
#include "maglev.h"
#include "log.h"

int xs_pool_table(const struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		  __u32 leaving, __u32 *table, size_t *count)
{
	struct xs_maglev_backend *members;
	int err = 0;

	*count = 0;
	members = calloc(dp->config.max_backends, sizeof(*members));
	if (!members)
		return -ENOMEM;
	for (__u32 id = 1; id < dp->config.max_backends; id++) {
		struct xs_backend backend;

		if (id == leaving || xs_backend_read(dp, id, &backend))
			continue;
		if (backend.vip_id != vip_id || backend.pool != pool ||
		    backend.state != XS_BACKEND_UP || !backend.weight)
			continue;
		members[*count].id = id;
		memcpy(members[*count].address, backend.address,
		       sizeof(backend.address));
		members[*count].weight = backend.weight;
		(*count)++;
	}
	if (*count)
		err = xs_maglev_build(members, *count, dp->config.maglev_size,
				      table);
	free(members);
	return err;
}

int xs_pool_rebuild(struct xs_dataplane *dp, __u32 vip_id, __u8 pool,
		    __u32 leaving)
{
	__u32 *table = malloc(dp->config.maglev_size * sizeof(*table));
	size_t count;
	int err;

	if (!table)
		return -ENOMEM;
	err = xs_pool_table(dp, vip_id, pool, leaving, table, &count);
	if (err) {
		pr_warn("Couldn't build the Maglev table of VIP %u pool %u: %s\n",
			vip_id, pool, strerror(-err));
		free(table);
		return err;
	}
	err = xs_maglev_install(dp, vip_id, pool, count ? table : NULL);
	free(table);
	return err;
}

int xs_backend_set_state(struct xs_dataplane *dp, __u32 backend_id, __u8 state)
{
	struct xs_backend backend;
	int err;

	if (state < XS_BACKEND_UP || state > XS_BACKEND_DOWN)
		return -EINVAL;
	err = xs_backend_read(dp, backend_id, &backend);
	if (err)
		return err;
	if (state == XS_BACKEND_UP) {
		backend.state = state;
		err = xs_backend_write(dp, backend_id, &backend);
		return err ? err :
			     xs_pool_rebuild(dp, backend.vip_id, backend.pool,
					     0);
	}
	err = xs_pool_rebuild(dp, backend.vip_id, backend.pool, backend_id);
	if (err)
		return err;
	backend.state = state;
	return xs_backend_write(dp, backend_id, &backend);
}
