// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "maps/names.h"
#include "user/lib/log.h"
#include "user/lib/pins.h"
#include "common.h"

int bench_setup(struct test_env *env, const struct xs_load_options *options)
{
	char error[512];
	cpu_set_t one;

	/* one CPU for every run: per-CPU maps and caches stay put */
	CPU_ZERO(&one);
	CPU_SET(1, &one);
	sched_setaffinity(0, sizeof(one), &one);
	xs_log_set_level(XS_LOG_WARN);
	if (xs_bpffs_ensure(XS_DEFAULT_PIN_DIR, error, sizeof(error)))
		fprintf(stderr, "%s\n", error);
	if (env_make_network() || env_setup_with(env, options)) {
		fprintf(stderr,
			"Couldn't set up the benchmark (are we root?)\n");
		return -1;
	}
	return 0;
}

double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int bench_by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *values)
{
	double sorted[BENCH_ROUNDS];

	memcpy(sorted, values, sizeof(sorted));
	qsort(sorted, BENCH_ROUNDS, sizeof(sorted[0]), bench_by_double);
	return sorted[BENCH_ROUNDS / 2];
}

void bench_range(const double *values, double *low, double *high)
{
	*low = *high = values[0];
	for (int i = 1; i < BENCH_ROUNDS; i++) {
		*low = values[i] < *low ? values[i] : *low;
		*high = values[i] > *high ? values[i] : *high;
	}
}

void bench_target(const char *goal, bool met, const char *figure, ...)
{
	va_list args;

	printf("target: %s: ", goal);
	va_start(args, figure);
	vprintf(figure, args);
	va_end(args);
	printf(" (%s)\n", met ? "met" : "not met");
}
