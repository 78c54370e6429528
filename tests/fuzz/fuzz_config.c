// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The YAML configuration loader on arbitrary bytes: never crashes, and a
 * refused file leaves an empty configuration. */
#include <stdint.h>
#include <stdlib.h>
#include "user/lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xs_config_file config;
	char error[512];

	if (xs_config_parse((const char *)data, size, "fuzz.yaml", &config,
			    error, sizeof(error)) &&
	    (config.vip_count || config.policy_count))
		abort();
	return 0;
}
