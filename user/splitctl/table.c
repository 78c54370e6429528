// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * splitctl help --table: every table as JSON, for the test that holds
 * the man page and the completion to them. The words the tables share
 * with the data plane (pools, backend states) are checked against its
 * names first, so a drift there fails this command, and the test.
 */
#include <string.h>
#include "user/lib/parse.h"
#include "maps/contract.h"
#include "splitctl.h"

static const char *const kind_names[VALUE_KIND_COUNT] = {
	[VALUE_NONE] = "none",	   [VALUE_TEXT] = "text",
	[VALUE_CHOICE] = "choice", [VALUE_VIP] = "vip",
	[VALUE_IFACE] = "iface",   [VALUE_FILE] = "file",
	[VALUE_DIR] = "dir",
};

const char *value_kind_name(enum value_kind kind)
{
	return kind < VALUE_KIND_COUNT ? kind_names[kind] : "text";
}

static int words_agree(void)
{
	for (__u8 p = 0; p < XS_POOL_COUNT; p++)
		if (!pool_words[p] || strcmp(pool_words[p], xs_pool_name(p)))
			return runtime_error(
				"the table's pools differ from the data plane's at %u",
				p);
	if (pool_words[XS_POOL_COUNT])
		return runtime_error(
			"the table has more pools than the data plane");
	for (__u8 s = 0; state_words[s]; s++)
		if (strcmp(state_words[s], xs_state_name(XS_BACKEND_UP + s)))
			return runtime_error(
				"the table's backend states differ from the data plane's at '%s'",
				state_words[s]);
	return EXIT_OK;
}

static void print_words(const char *key, const char *const *words)
{
	out_array_begin(key);
	for (; words && *words; words++)
		out_string(NULL, *words);
	out_array_end();
}

static void print_arguments(const struct argument *arguments)
{
	out_array_begin("arguments");
	for (const struct argument *a = arguments;
	     a && (a->keyword || a->value); a++) {
		out_object_begin(NULL);
		if (a->keyword)
			out_string("keyword", a->keyword);
		else
			out_null("keyword");
		if (a->alias)
			out_string("alias", a->alias);
		if (a->value)
			out_string("value", a->value);
		else
			out_null("value");
		out_string("kind", value_kind_name(a->kind));
		print_words("choices", a->choices);
		out_bool("optional", a->optional || a->keyword);
		out_object_end();
	}
	out_array_end();
}

/* One object per command, its path from the top ("fleet rollout start"). */
static void print_entry(const char *prefix, const struct command *entry)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? " " : "",
		 entry->name);
	out_object_begin(NULL);
	out_string("path", path);
	print_words("usage", entry->usage);
	print_arguments(entry->arguments);
	out_array_begin("commands");
	for (const struct command *c = entry->commands; c && c->name; c++)
		out_string(NULL, c->name);
	out_array_end();
	out_object_end();
	for (const struct command *c = entry->commands; c && c->name; c++)
		print_entry(path, c);
}

int print_table(struct ctl *ctl)
{
	int rc = words_agree();

	if (rc)
		return rc;
	out_init(stdout, ctl->pretty ? XS_OUTPUT_PRETTY_JSON : XS_OUTPUT_JSON);
	out_object_begin(NULL);
	out_string("program", splitctl_root.name);
	out_array_begin("commands");
	for (const struct command *c = splitctl_root.commands; c->name; c++)
		print_entry("", c);
	out_array_end();
	print_words("usage", splitctl_root.usage);
	print_arguments(splitctl_root.arguments);
	out_object_end();
	out_finish();
	return EXIT_OK;
}
