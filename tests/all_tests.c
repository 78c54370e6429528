// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "tests.h"

const struct test_case *all_tests(size_t *count)
{
	const struct test_case *(*groups[])(size_t *) = {
		load_tests,	  fixture_tests,     split_tests,
		forward_tests,	  icmp_tests,	     flow_tests,
		flow_share_tests, handshake_tests,   flood_tests,
		maglev_tests,	  atomic_tests,	     rollout_tests,
		config_tests,	  config_diff_tests, fleet_config_tests,
		output_tests,	  log_tests,	     audit_tests,
		etcd_tests,	  announce_tests,    fleet_document_tests,
		webhook_tests,
	};
	static struct test_case *all;
	size_t total = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t n;
		const struct test_case *cases = groups[g](&n);

		all = realloc(all, (total + n) * sizeof(*all));
		if (!all)
			abort();
		memcpy(all + total, cases, n * sizeof(*all));
		total += n;
	}
	*count = total;
	return all;
}
