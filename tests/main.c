// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Runs every test, or those whose name contains argv[1]. Ends with the line
 * "N passed, N failed" (", N skipped" when a test could not run here) so
 * a run that executed nothing is visible.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#include "maps/names.h"
#include "user/lib/log.h"
#include "user/lib/pins.h"
#include "user/lib/dataplane.h"
#include "testlib/env.h"
#include "harness.h"
#include "tests.h"

char test_skip_reason[256];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Which of our map names exist at the bpffs root: a load that pinned
 * outside its own directory would leave them there. */
static unsigned int pins_at_root(void)
{
	unsigned int found = 0;
	char path[PATH_MAX];
	struct stat st;

	for (int i = 0; i < XS_MAP_ID_COUNT; i++) {
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", xs_map_names[i]);
		if (!lstat(path, &st))
			found |= 1U << i;
	}
	return found;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : "";
	int passed = 0, failed = 0, skipped = 0;
	size_t count;
	const struct test_case *tests = all_tests(&count);

	xs_log_set_level(getenv("XDPSPLIT_TEST_VERBOSE") ? XS_LOG_DEBUG :
							   XS_LOG_WARN);
	/* a fresh machine may have no bpffs mounted yet; never stack a second
	 * one over an existing mount, that would hide its pins */
	char error[512];
	if (xs_bpffs_ensure(XS_DEFAULT_PIN_DIR, error, sizeof(error)))
		fprintf(stderr, "%s\n", error);
	/* libxdp keeps its own state under bpffs: give it ours, so a run
	 * leaves nothing behind in the host's /sys/fs/bpf/xdp */
	char libxdp_dir[128], command[160];
	snprintf(libxdp_dir, sizeof(libxdp_dir),
		 "/sys/fs/bpf/xdpsplit-test-%d-libxdp", getpid());
	mkdir(libxdp_dir, 0700);
	setenv("LIBXDP_BPFFS", libxdp_dir, 1);

	unsigned int root_pins = pins_at_root();

	if (env_make_network()) {
		fprintf(stderr,
			"Couldn't make the test network namespace (are we root?)\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (size_t i = 0; i < count; i++) {
		double start;
		int rc;

		if (!strstr(tests[i].name, filter))
			continue;
		start = now();
		test_skip_reason[0] = '\0';
		rc = tests[i].run(tests[i].arg);
		if (rc == TEST_SKIPPED) {
			printf("skip %s: %s\n", tests[i].name,
			       test_skip_reason);
			fflush(stdout);
			skipped++;
			continue;
		}
		printf("%s %s (%.2fs)\n", rc ? "FAIL" : "ok  ", tests[i].name,
		       now() - start);
		fflush(stdout);
		if (rc)
			failed++;
		else
			passed++;
	}
	if (pins_at_root() & ~root_pins) {
		printf("FAIL nothing pinned at the bpffs root: /sys/fs/bpf has map names of ours it did not have before\n");
		failed++;
	}
	snprintf(command, sizeof(command), "rm -rf %s", libxdp_dir);
	if (system(command))
		fprintf(stderr, "warning: couldn't remove %s\n", libxdp_dir);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed,
		       skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed || (!passed && !skipped) ? 1 : 0;
}
