/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small test runner: each test returns 0 or -1 (CHECK says why it
 * failed), or TEST_SKIPPED (SKIP says why it could not run here). */
#ifndef XDPSPLIT_TESTS_HARNESS_H
#define XDPSPLIT_TESTS_HARNESS_H

#include <stdio.h>

struct test_case {
	const char *name;
	int (*run)(const void *arg);
	const void *arg; /* a fixture row, for table-driven tests */
};

/* A test that cannot run on this machine (a tool absent): counted apart,
 * neither passed nor failed. */
#define TEST_SKIPPED 77
extern char test_skip_reason[256];
#define SKIP(...)                                                              \
	do {                                                                   \
		snprintf(test_skip_reason, sizeof(test_skip_reason),           \
			 __VA_ARGS__);                                         \
		return TEST_SKIPPED;                                           \
	} while (0)

#define CHECK(condition, ...)                                                  \
	do {                                                                   \
		if (!(condition)) {                                            \
			fprintf(stderr, "    %s:%d: %s: ", __FILE__, __LINE__, \
				#condition);                                   \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			return -1;                                             \
		}                                                              \
	} while (0)

#define CHECK_OK(expression)                                                   \
	do {                                                                   \
		int check_ok_err_ = (expression);                              \
		CHECK(check_ok_err_ == 0, "returned %d", check_ok_err_);       \
	} while (0)

#endif /* XDPSPLIT_TESTS_HARNESS_H */
