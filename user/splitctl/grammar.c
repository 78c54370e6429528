// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The grammar's one source: the command tables (splitctl.h). Choosing a
 * command by unambiguous prefix, 'help' at any level, usage errors and
 * the keywords a handler accepts all read the tables, so no usage text
 * or keyword list exists twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/output.h"
#include "splitctl.h"

#define MAX_DEPTH 4 /* splitctl fleet rollout start */
#define LINE_MAX_BYTES 512

const char *const pool_words[] = { "blue", "green", "canary", NULL };
const char *const state_words[] = { "up", "draining", "down", NULL };

/* The commands under way, the root first. */
static const struct command *path[MAX_DEPTH];
static int depth;

static void push(const struct command *command)
{
	if (depth < MAX_DEPTH)
		path[depth++] = command;
}

/* The root is under way from the first look at a keyword (main's
 * options) on. */
static void begin(void)
{
	if (!depth)
		push(&splitctl_root);
}

const struct command *current_command(void)
{
	return depth ? path[depth - 1] : &splitctl_root;
}

/* "splitctl fleet": the names under way above entry (all of them if
 * entry is not under way). */
static void parent_path(const struct command *entry, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < depth && path[i] != entry && used < size; i++)
		used += snprintf(out + used, size - used, "%s%s", i ? " " : "",
				 path[i]->name);
	if (!depth || path[0] != &splitctl_root)
		snprintf(out, size, "%s", splitctl_root.name);
}

/* A prefix names something past its leading dashes: '-' and '--' are
 * words of their own (stdin, the end of options), never an abbreviation
 * of every dash keyword at once. */
static bool is_prefix(const char *word, const char *name)
{
	return word[strspn(word, "-")] && !strncmp(word, name, strlen(word));
}

/* The argument whose keyword is word (exactly, by its alias, or by an
 * unambiguous prefix); NULL and *ambiguous when it is not one. */
static const struct argument *keyword_in(const struct argument *arguments,
					 const char *word, bool *ambiguous)
{
	const struct argument *found = NULL;
	int matches = 0;

	*ambiguous = false;
	for (const struct argument *a = arguments;
	     a && (a->keyword || a->value); a++) {
		if (!a->keyword)
			continue;
		if (!strcmp(word, a->keyword) ||
		    (a->alias && !strcmp(word, a->alias)))
			return a;
		if (is_prefix(word, a->keyword)) {
			found = a;
			matches++;
		}
	}
	*ambiguous = matches > 1;
	return matches == 1 ? found : NULL;
}

const struct argument *find_argument(const struct command *command,
				     const char *word)
{
	bool ambiguous;

	return command ? keyword_in(command->arguments, word, &ambiguous) :
			 NULL;
}

static void print_form(FILE *stream, int *lines, const char *prefix,
		       const char *form)
{
	fprintf(stream, "%s%s %s\n", (*lines)++ ? "       " : "Usage: ", prefix,
		form);
}

/* "fleet [ --etcd URLS ] ... { status | apply | ... | help } ...": an
 * object's form, made from its table. */
static void object_form(const struct command *object, char *out, size_t size)
{
	size_t used = snprintf(out, size, "%s", object->name);

	for (const struct argument *a = object->arguments;
	     a && a->keyword && used < size; a++)
		/* "[ --etcd URLS ]", "[ { --config | -c } FILE ]" */
		used += snprintf(out + used, size - used, " [ %s%s%s%s%s%s%s ]",
				 a->alias ? "{ " : "", a->keyword,
				 a->alias ? " | " : "",
				 a->alias ? a->alias : "", a->alias ? " }" : "",
				 a->value ? " " : "", a->value ? a->value : "");
	for (const struct command *c = object->commands; c->name && used < size;
	     c++)
		used += snprintf(out + used, size - used, "%s %s",
				 c == object->commands ? " {" : " |", c->name);
	if (used < size)
		snprintf(out + used, size - used, " | help } ...");
}

/* Every form of entry under prefix; an object's commands in full when
 * expand, else its one form. */
static void print_forms(FILE *stream, int *lines, const char *prefix,
			const struct command *entry, bool expand)
{
	char line[LINE_MAX_BYTES], below[LINE_MAX_BYTES];

	if (!entry->commands) {
		for (const char *const *form = entry->usage; form && *form;
		     form++)
			print_form(stream, lines, prefix, *form);
		return;
	}
	if (!expand) {
		object_form(entry, line, sizeof(line));
		print_form(stream, lines, prefix, line);
		return;
	}
	snprintf(below, sizeof(below), "%s %s", prefix, entry->name);
	if (entry->arguments && entry->arguments->keyword) {
		/* the object's options before its command */
		object_form(entry, line, sizeof(line));
		print_form(stream, lines, prefix, line);
	}
	for (const struct command *c = entry->commands; c->name; c++)
		print_forms(stream, lines, below, c, true);
}

static void print_options(FILE *stream, const struct command *entry)
{
	const char *lead = "OPTIONS := ";

	if (entry != &splitctl_root)
		return;
	for (const struct argument *a = entry->arguments; a && a->keyword;
	     a++) {
		if (a->value)
			continue;
		fprintf(stream, "%s{ %s%s%s }", lead, a->alias ? a->alias : "",
			a->alias ? " | " : "", a->keyword);
		lead = " ";
	}
	fprintf(stream, "\n");
	for (const struct argument *a = entry->arguments; a && a->keyword; a++)
		if (a->value)
			fprintf(stream, "           %s %s%s%s\n", a->keyword,
				a->value, a->help ? " " : "",
				a->help ? a->help : "");
}

void print_usage(FILE *stream, const struct command *entry)
{
	char prefix[LINE_MAX_BYTES];
	int lines = 0;

	parent_path(entry, prefix, sizeof(prefix));
	if (entry == &splitctl_root) {
		for (const char *const *form = entry->usage; form && *form;
		     form++)
			print_form(stream, &lines, entry->name, *form);
		for (const struct command *c = entry->commands; c->name; c++)
			print_forms(stream, &lines, entry->name, c, false);
		print_options(stream, entry);
	} else {
		print_forms(stream, &lines, prefix, entry, true);
	}
}

static int print_help(const struct command *entry)
{
	print_usage(stdout, entry);
	if (entry->help)
		printf("%s", entry->help);
	return EXIT_OK;
}

/* The command word names among the object's: exactly or by an
 * unambiguous prefix; NULL and *matches (0 unknown, more ambiguous). */
static const struct command *command_in(const struct command *object,
					const char *word, int *matches)
{
	const struct command *match = NULL;

	*matches = 0;
	for (const struct command *c = object->commands; c->name; c++) {
		if (!strcmp(word, c->name)) {
			*matches = 1;
			return c;
		}
		if (is_prefix(word, c->name)) {
			match = c;
			++*matches;
		}
	}
	return *matches == 1 ? match : NULL;
}

/* help [ COMMAND ... ]: the help of the command the words name, below
 * object; a word that names none is a usage error. */
static int help_on(const struct command *object, int argc, char **argv)
{
	const struct command *entry = object;

	for (int i = 0; i < argc; i++) {
		const struct command *below;
		int matches = 0;

		if (!entry->commands)
			return usage_error(NULL, "'%s' has no command '%s'",
					   entry->name, argv[i]);
		below = command_in(entry, argv[i], &matches);
		if (!below)
			return usage_error(
				NULL,
				matches ? "'%s' is ambiguous" :
					  "no command '%s' to help with",
				argv[i]);
		push(below);
		entry = below;
	}
	return print_help(entry);
}

int enter_command(const struct command *object, int argc, char **argv,
		  const struct command **found, int *at)
{
	const struct command *match = NULL;
	int i = 0, matches = 0;

	*found = NULL;
	/* the object's own options come first (fleet --etcd URLS) */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-")) {
		const struct argument *option = find_argument(object, argv[i]);

		if (!option)
			return usage_error(NULL, "unknown option '%s'",
					   argv[i]);
		if (option->value && i + 1 >= argc)
			return usage_error(NULL, "%s needs %s", option->keyword,
					   option->value);
		i += option->value ? 2 : 1;
	}
	if (i >= argc && i) /* options, and no command after them */
		return usage_error(NULL, "missing %s command after its options",
				   object->name);
	if (i >= argc) {
		print_usage(stderr, object);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		return help_on(object, argc - i - 1, argv + i + 1);
	match = command_in(object, argv[i], &matches);
	if (!match)
		return usage_error(NULL,
				   matches ? "'%s' is ambiguous" :
					     "unknown command '%s'",
				   argv[i]);
	push(match);
	/* a command's help; an object's is its own enter_command's */
	if (!match->commands && i + 1 < argc && !strcmp(argv[i + 1], "help"))
		return print_help(match);
	*found = match;
	*at = i;
	return EXIT_OK;
}

int run_command(struct ctl *ctl, const struct command *entry, int argc,
		char **argv)
{
	const struct command *found;
	int at, rc;

	begin();
	if (path[depth - 1] != entry)
		push(entry);
	if (entry->run)
		return entry->run(ctl, argc, argv);
	rc = enter_command(entry, argc, argv, &found, &at);
	if (!found)
		return rc;
	return run_command(ctl, found, argc - at - 1, argv + at + 1);
}

int usage_error(const char *object, const char *format, ...)
{
	const struct command *command = current_command();
	char where[LINE_MAX_BYTES];
	va_list args;

	va_start(args, format);
	print_error(format, args);
	va_end(args);
	if (out_is_json())
		return EXIT_USAGE;
	if (depth > 1 && !command->commands) {
		print_usage(stderr, command);
	} else {
		parent_path(NULL, where, sizeof(where));
		if (depth <= 1 && object)
			snprintf(where, sizeof(where), "%s %s",
				 splitctl_root.name, object);
		fprintf(stderr, "Try '%s help'.\n", where);
	}
	return EXIT_USAGE;
}

/* The argument named keyword of the command under way or of an object
 * above it; a handler naming one its table lacks is a bug. */
static const struct argument *named(const char *keyword)
{
	begin();
	for (int i = depth - 1; i >= 0; i--)
		for (const struct argument *a = path[i]->arguments;
		     a && (a->keyword || a->value); a++)
			if (!strcmp(a->keyword ? a->keyword : a->value,
				    keyword))
				return a;
	fprintf(stderr,
		"splitctl: bug: '%s' is not a keyword of '%s' in its table\n",
		keyword, current_command()->name);
	abort();
}

bool is_keyword(const char *word, const char *keyword)
{
	const struct argument *wanted = named(keyword);

	if (!word || !*word)
		return false;
	for (int i = depth - 1; i >= 0; i--) {
		bool ambiguous;
		const struct argument *a =
			keyword_in(path[i]->arguments, word, &ambiguous);

		if (a || ambiguous)
			return a == wanted;
	}
	return false;
}

bool value_is(const char *keyword, const char *value, const char *choice)
{
	const struct argument *a = named(keyword);

	for (const char *const *c = a->choices; c && *c; c++)
		if (!strcmp(*c, choice))
			return value && !strcmp(value, choice);
	fprintf(stderr,
		"splitctl: bug: '%s' is not a choice of '%s' in its table\n",
		choice, keyword);
	abort();
}

const char *choices_text(const char *keyword)
{
	static char text[LINE_MAX_BYTES];
	const char *const *choices = named(keyword)->choices;
	size_t used = 0;

	text[0] = '\0';
	for (int i = 0; choices && choices[i] && used < sizeof(text); i++)
		used += snprintf(text + used, sizeof(text) - used, "%s%s",
				 !i		? "" :
				 choices[i + 1] ? ", " :
						  " or ",
				 choices[i]);
	return text;
}
