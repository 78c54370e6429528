/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The fixture table's frames and VIPs, for the packet fuzzer's seeds. */
#ifndef XDPSPLIT_TESTS_FIXTURES_H
#define XDPSPLIT_TESTS_FIXTURES_H

#include <stddef.h>
#include <linux/types.h>
#include "testlib/env.h"

/* The VIPs and backends every fixture row runs against. */
void fixture_setup(struct test_env *env);

/* Builds row `index`'s input frame; 0 past the last row. */
size_t fixture_frame(size_t index, __u8 *frame);

#endif
