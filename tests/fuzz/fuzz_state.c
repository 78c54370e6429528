// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* splitd's state file reader on arbitrary bytes: a damaged file is an
 * error naming the line, never a crash or a half-read set of rollouts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "user/lib/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[] = "/tmp/xdpsplit-fuzz-state-XXXXXX";
	static int made;
	static struct xs_rollout_record records[64];
	char path[128], error[256];
	size_t count;
	FILE *f;

	if (!made && !mkdtemp(dir))
		abort();
	made = 1;
	snprintf(path, sizeof(path), "%s/%s", dir, XS_STATE_FILE_NAME);
	f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (xs_state_load(dir, records, 64, &count, error, sizeof(error)) &&
	    count)
		abort();
	unlink(path);
	return 0;
}
