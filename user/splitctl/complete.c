// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * splitctl help --complete WORD...: what may come after the words (the
 * last one is the word being typed, maybe empty), one candidate a line,
 * walked through the same tables as the commands themselves, so the
 * completion cannot drift from them. The shell keeps the candidates that
 * start with the typed word; @vip, @iface, @file and @dir ask it for the
 * running VIPs, the interfaces, files and directories. "@vip DIR" names
 * the pin directory the line gives, as splitctl itself reads --pin-dir
 * (by its prefixes too: --pin /x, --pin=/x).
 */
#include <stdio.h>
#include <string.h>
#include "splitctl.h"

static void offer_value(const struct argument *a, const char *pin_dir)
{
	static const char *const asks[VALUE_KIND_COUNT] = {
		[VALUE_VIP] = "@vip",
		[VALUE_IFACE] = "@iface",
		[VALUE_FILE] = "@file",
		[VALUE_DIR] = "@dir",
	};

	for (const char *const *c = a->choices; c && *c; c++)
		printf("%s\n", *c);
	if (a->kind == VALUE_VIP && pin_dir)
		printf("%s %s\n", asks[a->kind], pin_dir);
	else if (a->kind < VALUE_KIND_COUNT && asks[a->kind])
		printf("%s\n", asks[a->kind]);
}

/* The keywords not given yet (used: a bit per argument). */
static void offer_keywords(const struct argument *arguments,
			   unsigned long long used)
{
	int i = 0;

	for (const struct argument *a = arguments;
	     a && (a->keyword || a->value); a++, i++)
		if (a->keyword && !(used >> i & 1))
			printf("%s\n%s%s", a->keyword, a->alias ? a->alias : "",
			       a->alias ? "\n" : "");
}

static const struct argument *nth_positional(const struct command *entry, int n)
{
	for (const struct argument *a = entry->arguments;
	     a && (a->keyword || a->value); a++)
		if (!a->keyword && !n--)
			return a;
	return NULL;
}

/* The command word names among the object's: exactly, or an unambiguous
 * prefix; NULL otherwise (nothing is printed: completion stays quiet). */
static const struct command *command_named(const struct command *object,
					   const char *word)
{
	const struct command *found = NULL;
	int matches = 0;

	for (const struct command *c = object->commands; c->name; c++) {
		if (!strcmp(word, c->name))
			return c;
		if (*word && !strncmp(word, c->name, strlen(word))) {
			found = c;
			matches++;
		}
	}
	return matches == 1 ? found : NULL;
}

int print_completions(int argc, char **argv)
{
	const struct command *entry = &splitctl_root;
	const struct argument *pending = NULL, *next;
	const char *typed = argc ? argv[argc - 1] : "";
	const char *pin_dir = NULL;
	bool pending_pin_dir = false;
	unsigned long long used = 0;
	int positional = 0;

	for (int i = 0; i < argc - 1; i++) {
		const char *word = argv[i], *value = NULL;
		const char *equals = word[0] == '-' ? strchr(word, '=') : NULL;
		const struct argument *a;
		char name[64];

		if (pending) {
			if (pending_pin_dir)
				pin_dir = word;
			pending = NULL;
			continue;
		}
		/* --pin-dir=DIR carries its value */
		if (equals && (size_t)(equals - word) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s",
				 (int)(equals - word), word);
			value = equals + 1;
		}
		a = find_argument(entry, value ? name : word);
		if (a) {
			bool is_pin_dir =
				entry == &splitctl_root &&
				is_keyword(value ? name : word, "--pin-dir");

			used |= 1ULL << (a - entry->arguments);
			if (a->value && !value) {
				pending = a;
				pending_pin_dir = is_pin_dir;
			} else if (is_pin_dir) {
				pin_dir = value;
			}
			continue;
		}
		if (equals)
			continue;
		if (!entry->commands) {
			positional++;
			continue;
		}
		if (word[0] == '-')
			continue; /* an option we do not know: no guess */
		entry = command_named(entry, word);
		if (!entry)
			return EXIT_OK; /* 'help', or no command of ours */
		used = 0;
		positional = 0;
	}
	if (pending) {
		offer_value(pending, pin_dir);
		return EXIT_OK;
	}
	if (entry->commands) {
		if (typed[0] == '-') {
			offer_keywords(entry->arguments, used);
		} else {
			for (const struct command *c = entry->commands; c->name;
			     c++)
				printf("%s\n", c->name);
			printf("help\n");
		}
		return EXIT_OK;
	}
	next = nth_positional(entry, positional);
	if (next && typed[0] != '-')
		offer_value(next, pin_dir);
	if (!next || next->optional || typed[0] == '-')
		offer_keywords(entry->arguments, used);
	return EXIT_OK;
}
