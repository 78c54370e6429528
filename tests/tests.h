/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef XDPSPLIT_TESTS_TESTS_H
#define XDPSPLIT_TESTS_TESTS_H

#include <stddef.h>
#include "harness.h"

/* Each test file exports its cases; all_tests() concatenates them. */
const struct test_case *fixture_tests(size_t *count);
const struct test_case *split_tests(size_t *count);
const struct test_case *flow_tests(size_t *count);
const struct test_case *handshake_tests(size_t *count);
const struct test_case *flood_tests(size_t *count);
const struct test_case *maglev_tests(size_t *count);
const struct test_case *atomic_tests(size_t *count);
const struct test_case *forward_tests(size_t *count);
const struct test_case *icmp_tests(size_t *count);
const struct test_case *rollout_tests(size_t *count);
const struct test_case *config_tests(size_t *count);
const struct test_case *config_diff_tests(size_t *count);
const struct test_case *webhook_tests(size_t *count);
const struct test_case *output_tests(size_t *count);
const struct test_case *log_tests(size_t *count);
const struct test_case *audit_tests(size_t *count);
const struct test_case *announce_tests(size_t *count);
const struct test_case *load_tests(size_t *count);
const struct test_case *etcd_tests(size_t *count);
const struct test_case *flow_share_tests(size_t *count);
const struct test_case *fleet_document_tests(size_t *count);
const struct test_case *fleet_config_tests(size_t *count);

const struct test_case *all_tests(size_t *count);

#endif
