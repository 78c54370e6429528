// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * check -f FILE ... [--document]: validates files offline, as a CI
 * pipeline does before anything is applied: the parser and checks of
 * apply and splitd (or, with --document, of 'fleet apply'), and nothing
 * else: no maps, no splitd, no root needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/config.h"
#include "user/lib/safe_open.h"
#include "splitctl.h"

/* what 'fleet apply' takes (cmd_fleet.c): under etcd's request limit */
#define MAX_DOCUMENT_BYTES (1 << 20)

static int parse_file(const char *file, bool document,
		      struct xs_config_file *config, char *error,
		      size_t error_size)
{
	char why[400], *text;
	size_t length;
	int err;

	if (!document)
		return xs_config_load(file, config, error, error_size);
	err = xs_read_trusted(file, MAX_DOCUMENT_BYTES, &text, &length, why,
			      sizeof(why));
	if (err) {
		snprintf(error, error_size,
			 "%s: Couldn't read the document: %s", file, why);
		return err;
	}
	err = xs_config_parse_document(text, length, file, config, error,
				       error_size);
	free(text);
	return err;
}

static const char *kind_of(const struct xs_config_file *c, bool document)
{
	if (document)
		return "fleet document";
	if (c->fleet.enabled)
		return "fleet host";
	return "configuration";
}

static void count_of(const char *what, unsigned int n, const char *plural)
{
	printf(", %u %s%s", n, what, n == 1 ? "" : plural);
}

static void print_summary(const char *file, const struct xs_config_file *c,
			  bool document)
{
	__u32 backends = 0;

	for (__u32 v = 0; v < c->vip_count; v++)
		backends += c->vips[v].backend_count;
	if (!out_is_json()) {
		printf("%s: valid: %s", file, kind_of(c, document));
		if (c->fleet.enabled)
			printf(" %s, %u etcd endpoint%s", c->fleet.host,
			       c->fleet.endpoint_count,
			       c->fleet.endpoint_count == 1 ? "" : "s");
		if (!document)
			count_of("interface", c->interface_count, "s");
		if (!c->fleet.enabled) {
			count_of("VIP", c->vip_count, "s");
			count_of("backend", backends, "s");
			printf(", %u polic%s", c->policy_count,
			       c->policy_count == 1 ? "y" : "ies");
		}
		printf("\n");
		return;
	}
	out_object_begin(NULL);
	out_string("file", file);
	out_bool("valid", 1);
	out_string("kind", kind_of(c, document));
	if (c->fleet.enabled) {
		out_string("host", c->fleet.host);
		out_u64("etcd_endpoints", c->fleet.endpoint_count);
	}
	if (!document)
		out_u64("interfaces", c->interface_count);
	out_u64("vips", c->vip_count);
	out_u64("backends", backends);
	out_u64("policies", c->policy_count);
	out_object_end();
}

static void print_invalid(const char *file, const char *error)
{
	if (!out_is_json()) {
		/* the parser's message, FILE:LINE:COLUMN: FIELD: what */
		fprintf(stderr, "%s\n", error);
		return;
	}
	out_object_begin(NULL);
	out_string("file", file);
	out_bool("valid", 0);
	out_string("error", error);
	out_object_end();
}

int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	static struct xs_config_file config;
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	bool document = false;
	size_t count = 0;
	int rc = EXIT_OK;

	(void)ctl;
	if (!files)
		return runtime_error("out of memory");
	for (int i = 0; i < argc; i++) {
		if (is_keyword(argv[i], "-f") && i + 1 >= argc) {
			free(files);
			return usage_error("check", "-f needs FILE");
		} else if (is_keyword(argv[i], "-f")) {
			files[count++] = argv[++i];
		} else if (is_keyword(argv[i], "--document")) {
			document = true;
		} else {
			free(files);
			return usage_error("check", "unexpected '%s'", argv[i]);
		}
	}
	if (!count) {
		free(files);
		return usage_error("check", "missing -f FILE");
	}
	out_object_begin(NULL);
	out_array_begin("files");
	for (size_t i = 0; i < count; i++) {
		char error[512];

		if (parse_file(files[i], document, &config, error,
			       sizeof(error))) {
			print_invalid(files[i], error);
			rc = EXIT_RUNTIME;
		} else {
			print_summary(files[i], &config, document);
		}
	}
	out_array_end();
	out_object_end();
	out_finish();
	free(files);
	return rc;
}
