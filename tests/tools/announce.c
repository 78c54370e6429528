// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpsplit-announce: drives the announcer (user/lib/fleet/announce.h) the
 * way splitd's fleet mode will, for the fleet tests and by hand:
 *
 *   xdpsplit-announce [-d DEVICE] [-t TABLE] [PREFIX...]
 *
 * opens the device, announces the prefixes, prints "announced N" and then
 * reads commands on stdin, one a line, answering each with one line:
 *   set PREFIX...   the announced set becomes exactly these
 *   withdraw        announces nothing (the device stays)
 *   list            the announced prefixes, space-separated
 * End of input closes the device (its routes go with it) and exits. Killed,
 * the kernel does the same.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/fleet/announce.h"

#define MAX_PREFIXES 256

static int parse_list(char **words, int count,
		      struct xs_announce_prefix *prefixes)
{
	int i;

	if (count > MAX_PREFIXES) {
		fprintf(stderr, "Error: at most %d prefixes\n", MAX_PREFIXES);
		return -1;
	}
	for (i = 0; i < count; i++)
		if (xs_announce_parse(words[i], &prefixes[i])) {
			fprintf(stderr,
				"Error: '%s' is not an address or prefix\n",
				words[i]);
			return -1;
		}
	return count;
}

static void print_list(struct xs_announcer *announcer)
{
	struct xs_announce_prefix prefixes[MAX_PREFIXES];
	char text[INET6_ADDRSTRLEN + 8];
	size_t count, i;
	int err;

	err = xs_announce_list(announcer->device, announcer->table, prefixes,
			       MAX_PREFIXES, &count);
	if (err) {
		printf("error %s\n", strerror(-err));
		return;
	}
	for (i = 0; i < count; i++)
		printf("%s%s", i ? " " : "",
		       xs_announce_format(&prefixes[i], text, sizeof(text)));
	printf("\n");
}

int main(int argc, char **argv)
{
	struct xs_announce_prefix prefixes[MAX_PREFIXES];
	const char *device = XS_ANNOUNCE_DEVICE;
	struct xs_announcer announcer;
	unsigned long table = XS_ANNOUNCE_TABLE;
	char error[256], line[8192];
	int option, count, err;

	while ((option = getopt(argc, argv, "d:t:h")) != -1) {
		switch (option) {
		case 'd':
			device = optarg;
			break;
		case 't':
			table = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-d DEVICE] [-t TABLE] [PREFIX...]\n",
				argv[0]);
			return 2;
		}
	}
	count = parse_list(argv + optind, argc - optind, prefixes);
	if (count < 0)
		return 2;
	err = xs_announce_open(&announcer, device, (__u32)table, error,
			       sizeof(error));
	if (err) {
		fprintf(stderr, "Error: %s\n", error);
		return 1;
	}
	if (xs_announce_set(&announcer, prefixes, (size_t)count)) {
		fprintf(stderr, "Error: %s\n", announcer.error);
		xs_announce_close(&announcer);
		return 1;
	}
	printf("announced %d\n", count);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *words[MAX_PREFIXES + 2], *save = NULL, *word;
		int n = 0;

		for (word = strtok_r(line, " \t\n", &save);
		     word && n < MAX_PREFIXES + 2;
		     word = strtok_r(NULL, " \t\n", &save))
			words[n++] = word;
		if (!n)
			continue;
		if (!strcmp(words[0], "set")) {
			count = parse_list(words + 1, n - 1, prefixes);
			if (count < 0)
				printf("error bad prefix\n");
			else if (xs_announce_set(&announcer, prefixes,
						 (size_t)count))
				printf("error %s\n", announcer.error);
			else
				printf("announced %d\n", count);
		} else if (!strcmp(words[0], "withdraw")) {
			if (xs_announce_withdraw(&announcer))
				printf("error %s\n", announcer.error);
			else
				printf("announced 0\n");
		} else if (!strcmp(words[0], "list")) {
			print_list(&announcer);
		} else {
			printf("error unknown command '%s'\n", words[0]);
		}
		fflush(stdout);
	}
	xs_announce_close(&announcer);
	return 0;
}
