// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The announcer (user/lib/fleet/announce.h): prefixes parse and normalize;
 * in a network namespace of its own (a forked child), the set is exact and
 * idempotent in both families, a device that is not ours is refused, and
 * closing removes the device and every route through it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "maps/contract.h"
#include "user/lib/fleet/announce.h"
#include "tests.h"

static int prefixes_parse(const void *arg)
{
	struct xs_announce_prefix prefix;
	char text[64];

	(void)arg;
	CHECK_OK(xs_announce_parse("10.77.100.1", &prefix));
	CHECK(prefix.family == XS_FAMILY_IPV4 && prefix.length == 32, "%u/%u",
	      prefix.family, prefix.length);
	CHECK_OK(xs_announce_parse("10.77.100.77/24", &prefix));
	CHECK(!strcmp(xs_announce_format(&prefix, text, sizeof(text)),
		      "10.77.100.0/24"),
	      "%s: host bits cleared", text);
	CHECK_OK(xs_announce_parse("fd77:100::1", &prefix));
	CHECK(!strcmp(xs_announce_format(&prefix, text, sizeof(text)),
		      "fd77:100::1/128"),
	      "%s", text);
	CHECK_OK(xs_announce_parse("fd77:100::ffff/65", &prefix));
	CHECK(!strcmp(xs_announce_format(&prefix, text, sizeof(text)),
		      "fd77:100::/65"),
	      "%s", text);
	CHECK(xs_announce_parse("10.77.100.1/33", &prefix) == -EINVAL,
	      "/33 taken");
	CHECK(xs_announce_parse("10.77.100.1/", &prefix) == -EINVAL,
	      "empty length taken");
	CHECK(xs_announce_parse("fd77::/129", &prefix) == -EINVAL,
	      "/129 taken");
	CHECK(xs_announce_parse("vip", &prefix) == -EINVAL, "a name taken");
	CHECK(xs_announce_parse("", &prefix) == -EINVAL, "nothing taken");
	return 0;
}

static int listed(const char *expected)
{
	struct xs_announce_prefix prefixes[16];
	char text[64], all[512] = "";
	size_t count, i;
	int err;

	err = xs_announce_list("fn-announce", 80, prefixes, 16, &count);
	if (err)
		return err;
	for (i = 0; i < count; i++) {
		if (i)
			strcat(all, " ");
		strcat(all,
		       xs_announce_format(&prefixes[i], text, sizeof(text)));
	}
	if (strcmp(all, expected)) {
		fprintf(stderr, "    listed '%s', expected '%s'\n", all,
			expected);
		return -1;
	}
	return 0;
}

/* runs in the child, in its own network namespace */
static int announce_in_namespace(void)
{
	const char *wanted_text[] = { "10.77.100.2", "fd77:100::1",
				      "10.77.100.1",
				      "10.77.100.1" /* twice: one route */ };
	struct xs_announce_prefix wanted[4], others[2], ten[16];
	struct xs_announcer announcer, second;
	char error[256];
	size_t count;
	int i;

	for (i = 0; i < 4; i++)
		CHECK_OK(xs_announce_parse(wanted_text[i], &wanted[i]));
	CHECK(xs_announce_list("fn-announce", 80, ten, 16, &count) == -ENODEV,
	      "a listing without the device");
	CHECK(xs_announce_open(&announcer, "fn-announce", 80, error,
			       sizeof(error)) == 0,
	      "%s", error);
	CHECK_OK(listed(""));
	CHECK(xs_announce_set(&announcer, wanted, 4) == 0, "%s",
	      announcer.error);
	CHECK_OK(listed("10.77.100.1/32 10.77.100.2/32 fd77:100::1/128"));
	CHECK(xs_announce_set(&announcer, wanted, 4) == 0, "again: %s",
	      announcer.error);
	CHECK_OK(listed("10.77.100.1/32 10.77.100.2/32 fd77:100::1/128"));
	CHECK_OK(xs_announce_parse("fd77:100::2", &others[0]));
	CHECK_OK(xs_announce_parse("10.77.100.2", &others[1]));
	CHECK(xs_announce_set(&announcer, others, 2) == 0, "%s",
	      announcer.error);
	CHECK_OK(listed("10.77.100.2/32 fd77:100::2/128"));
	/* the same name again: not ours */
	CHECK(xs_announce_open(&second, "fn-announce", 80, error,
			       sizeof(error)) == -EEXIST,
	      "a second device of the same name");
	CHECK(strstr(error, "already exists and is not ours"), "%s", error);
	CHECK(xs_announce_open(&second, "lo", 80, error, sizeof(error)) ==
		      -EEXIST,
	      "an operator's device taken");
	CHECK(xs_announce_open(&second, "x", 254, error, sizeof(error)) ==
		      -EINVAL,
	      "the main table taken");
	CHECK_OK(xs_announce_withdraw(&announcer));
	CHECK_OK(listed(""));
	/* deleted under us: refused, and a new announcer takes the name */
	CHECK(system("ip link del fn-announce") == 0, "ip link del");
	CHECK(xs_announce_set(&announcer, wanted, 4) == -ENODEV,
	      "a set on a deleted device");
	CHECK(strstr(announcer.error, "was deleted"), "%s", announcer.error);
	xs_announce_close(&announcer);
	CHECK(xs_announce_open(&announcer, "fn-announce", 80, error,
			       sizeof(error)) == 0,
	      "%s", error);
	CHECK_OK(xs_announce_set(&announcer, wanted, 4));
	xs_announce_close(&announcer);
	CHECK(!if_nametoindex("fn-announce"),
	      "the device outlived its descriptor");
	CHECK(xs_announce_list("fn-announce", 80, ten, 16, &count) == -ENODEV,
	      "listed");
	xs_announce_close(&announcer); /* twice is harmless */
	return 0;
}

static int announces_in_a_namespace(const void *arg)
{
	int status;
	pid_t child;

	(void)arg;
	child = fork();
	CHECK(child >= 0, "fork: %s", strerror(errno));
	if (child == 0) {
		if (unshare(CLONE_NEWNET)) {
			fprintf(stderr, "    unshare: %s\n", strerror(errno));
			_exit(2);
		}
		_exit(announce_in_namespace() ? 1 : 0);
	}
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child failed (%d)", status);
	return 0;
}

const struct test_case *announce_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "announce: prefixes parse, host bits are cleared",
		  prefixes_parse, NULL },
		{ "announce: the set is exact and idempotent, the device dies with its descriptor",
		  announces_in_a_namespace, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
