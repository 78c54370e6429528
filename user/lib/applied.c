// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "maps/decision.h"
#include "applied.h"
#include "atomic_file.h"
#include "safe_open.h"
#include "parse.h"

#define HEADER "xdpsplit-applied 1\n"

int xs_applied_save(const char *dir, const struct xs_applied_vip *vips,
		    size_t count)
{
	struct xs_atomic_file file;
	int err = xs_atomic_file_begin(&file, dir, XS_APPLIED_FILE_NAME, 0640);

	if (err)
		return err;
	fputs(HEADER, file.out);
	for (size_t i = 0; i < count; i++) {
		const struct xs_route *w = &vips[i].weights;
		char vip[80];

		xs_format_vip(&vips[i].key, vip, sizeof(vip));
		if (vips[i].has_weights)
			fprintf(file.out, "vip %s weights %u %u %u live %u\n",
				vip, w->weight[XS_POOL_BLUE],
				w->weight[XS_POOL_GREEN],
				w->weight[XS_POOL_CANARY], w->live_pool);
		else
			fprintf(file.out, "vip %s none\n", vip);
	}
	return xs_atomic_file_commit(&file, dir, NULL);
}

static int parse_line(const char *line, struct xs_applied_vip *vip)
{
	unsigned int blue, green, canary, live;
	char text[96];
	int used = 0;

	memset(vip, 0, sizeof(*vip));
	if (sscanf(line, "vip %95s none%n", text, &used) == 1 && used &&
	    line[used] == '\n')
		return xs_parse_vip(text, &vip->key);
	used = 0;
	if (sscanf(line, "vip %95s weights %u %u %u live %u%n", text, &blue,
		   &green, &canary, &live, &used) != 5 ||
	    line[used] != '\n' || blue > XS_WEIGHT_TOTAL ||
	    green > XS_WEIGHT_TOTAL || canary > XS_WEIGHT_TOTAL ||
	    live > XS_POOL_GREEN || xs_parse_vip(text, &vip->key))
		return -1;
	vip->has_weights = true;
	vip->weights.weight[XS_POOL_BLUE] = (__u16)blue;
	vip->weights.weight[XS_POOL_GREEN] = (__u16)green;
	vip->weights.weight[XS_POOL_CANARY] = (__u16)canary;
	vip->weights.live_pool = (__u8)live;
	return xs_route_is_valid(&vip->weights) ? 0 : -1;
}

int xs_applied_load(const char *dir, struct xs_applied_vip *vips, size_t max,
		    size_t *count, bool *found, char *error, size_t error_size)
{
	char path[PATH_MAX], line[256];
	size_t number = 1;
	FILE *in;
	int err;

	*count = 0;
	*found = false;
	snprintf(path, sizeof(path), "%s/%s", dir, XS_APPLIED_FILE_NAME);
	/* what it says becomes the maps' weights: only a file no other user
	 * wrote or could write (safe_open.h) */
	err = xs_open_record(path, HEADER, "applied-configuration file", &in,
			     error, error_size);
	if (err || !in)
		return err;
	while (fgets(line, sizeof(line), in)) {
		number++;
		if (*count == max || parse_line(line, &vips[*count])) {
			snprintf(error, error_size, "%s:%zu: damaged line",
				 path, number);
			fclose(in);
			*count = 0;
			return -EINVAL;
		}
		(*count)++;
	}
	fclose(in);
	*found = true;
	return 0;
}

const struct xs_applied_vip *xs_applied_find(const struct xs_applied_vip *vips,
					     size_t count,
					     const struct xs_vip_key *key)
{
	for (size_t i = 0; i < count; i++)
		if (!memcmp(&vips[i].key, key, sizeof(*key)))
			return &vips[i];
	return NULL;
}
