// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The control socket's request line on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "user/splitd/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[4097];
	struct control_request request;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (!control_parse_request(line, &request) &&
	    (!request.verb[0] || strlen(request.vip) >= sizeof(request.vip)))
		abort();
	return 0;
}
