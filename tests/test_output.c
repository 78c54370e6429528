// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON escaping: whatever bytes a name holds (an interface name may hold
 * quotes, control bytes and any byte >= 0x80), the result is valid JSON
 * and whole. */
#include <stdlib.h>
#include <string.h>
#include "user/lib/output.h"
#include "tests.h"

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "plain", "plain" },
	{ "q\"b\\s", "q\\\"b\\\\s" },
	{ "\x01\x1f\x7f\n", "\\u0001\\u001f\\u007f\\u000a" },
	{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "\xff\xfe", "\\ufffd\\ufffd" },	     /* never UTF-8 */
	{ "\xc0\xaf", "\\ufffd\\ufffd" },	     /* overlong '/' */
	{ "\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd" }, /* overlong, 3 bytes */
	{ "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" }, /* a surrogate */
	{ "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" }, /* > U+10FFFF */
	{ "a\xc3", "a\\ufffd" },	    /* cut at the end */
	{ "\xe2\x82x", "\\ufffd\\ufffdx" }, /* cut in the middle */
};

static int escapes_are_json(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		char *out = json_escape_dup(escapes[i].in);

		CHECK(out && !strcmp(out, escapes[i].out),
		      "case %zu: '%s', not '%s'", i, out ? out : "(null)",
		      escapes[i].out);
		free(out);
	}
	return 0;
}

static int long_strings_are_whole(const void *arg)
{
	size_t length = 100000;
	char *in = malloc(length + 1), *out;

	(void)arg;
	CHECK(in, "out of memory");
	memset(in, '"', length);
	in[length] = '\0';
	out = json_escape_dup(in);
	CHECK(out && strlen(out) == 2 * length, "%zu bytes of %zu",
	      out ? strlen(out) : 0, 2 * length);
	free(in);
	free(out);
	return 0;
}

const struct test_case *output_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "output: JSON escapes quotes, control bytes and invalid UTF-8",
		  escapes_are_json, NULL },
		{ "output: a long string is escaped whole",
		  long_strings_are_whole, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
