// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The shared-flow chunk parser (what peers send through etcd) on arbitrary
 * bytes: a chunk is accepted whole or refused whole and counted; an
 * accepted one is exactly header plus count records, and writing its
 * records again gives back the very bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/fleet/flow_share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xs_flow_share_record *records;
	struct xs_flow_import_stats stats = { 0 };
	__u32 count;
	int err =
		xs_flow_share_chunk_parse(data, size, &records, &count, &stats);

	if (err) {
		if (records || count || stats.chunks_refused != 1)
			abort();
		return 0;
	}
	if (stats.chunks_refused || size != xs_flow_share_chunk_size(count) ||
	    (count && records != (const void *)(data + 16)))
		abort();
	{
		void *again = malloc(size);
		long length;

		if (!again)
			abort();
		length = xs_flow_share_chunk_write(records, count, again, size);
		if (length != (long)size || memcmp(again, data, size))
			abort();
		free(again);
	}
	return 0;
}
