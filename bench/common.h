/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every benchmark program needs: a loaded splitter in a network
 * namespace of its own, a clock, and small statistics. */
#ifndef XDPSPLIT_BENCH_COMMON_H
#define XDPSPLIT_BENCH_COMMON_H

#include <stdbool.h>
#include "testlib/env.h"

#define BENCH_ROUNDS 3

/* Pins to CPU 1, mounts bpffs if needed, makes the namespace and loads
 * the splitter with the given sizes. Non-zero if that fails (not root?). */
int bench_setup(struct test_env *env, const struct xs_load_options *options);
/* CLOCK_MONOTONIC in seconds */
double bench_now(void);
/* qsort comparator for doubles */
int bench_by_double(const void *a, const void *b);
/* median, lowest and highest of BENCH_ROUNDS values */
double bench_median(const double *values);
void bench_range(const double *values, double *low, double *high);
/* A `target: ` line, which scripts/bench.sh gathers into the Targets
 * section: the goal, this run's figure (printf-style) and met or not. */
void bench_target(const char *goal, bool met, const char *figure, ...)
	__attribute__((format(printf, 3, 4)));

#endif
