// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* stats: per pool and per backend traffic and handshake health, global
 * verdicts and reasons; with --watch, rates over each interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/measure.h"
#include "user/lib/parse.h"
#include "screen.h"
#include "splitctl.h"

struct snapshot {
	struct xs_vip_entry *vips;
	size_t vip_count;
	struct xs_pool_stats *pools; /* vip_count * XS_POOL_COUNT */
	struct xs_backend_entry *backends;
	struct xs_backend_stats *backend_stats;
	size_t backend_count;
	__u64 global[XS_COUNTER_COUNT];
};

static void snapshot_free(struct snapshot *s)
{
	free(s->vips);
	free(s->pools);
	free(s->backends);
	free(s->backend_stats);
	memset(s, 0, sizeof(*s));
}

/* 0, or -errno (the snapshot is then partly taken: free it). */
static int snapshot_take(struct ctl *ctl, const struct xs_vip_entry *only,
			 struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	if (only) {
		s->vips = malloc(sizeof(*s->vips));
		if (s->vips) {
			*s->vips = *only;
			s->vip_count = 1;
		}
	} else {
		s->vips = xs_vip_all(&ctl->dp, &s->vip_count);
	}
	s->backends = xs_backend_all(&ctl->dp, only ? only->vip.vip_id : ~0U,
				     &s->backend_count);
	s->pools = calloc(s->vip_count * XS_POOL_COUNT + 1, sizeof(*s->pools));
	s->backend_stats =
		calloc(s->backend_count + 1, sizeof(*s->backend_stats));
	if (!s->vips || !s->backends || !s->pools || !s->backend_stats)
		return -ENOMEM;
	for (size_t v = 0; v < s->vip_count; v++)
		for (__u8 p = 0; p < XS_POOL_COUNT; p++)
			xs_pool_stats_read(&ctl->dp, s->vips[v].vip.vip_id, p,
					   &s->pools[v * XS_POOL_COUNT + p]);
	for (size_t b = 0; b < s->backend_count; b++)
		xs_backend_stats_read(&ctl->dp, s->backends[b].id,
				      &s->backend_stats[b]);
	return xs_global_counters(&ctl->dp, s->global);
}

static double latency_quantile_us(const __u64 *buckets, double q)
{
	return xs_latency_quantile_ns(buckets, q) / 1000.0;
}

/* No rate when the counter went back (a reset: the program reattached):
 * now - then would wrap around to some 1.8e19. */
static void print_rate(const char *key, __u64 now, __u64 then, double seconds)
{
	if (seconds > 0 && now >= then)
		out_double(key, (double)(now - then) / seconds, 1);
}

static void print_pool(const char *name, const struct xs_pool_stats *now,
		       const struct xs_pool_stats *then, double seconds)
{
	double ratio = now->new_flows ? (double)now->handshakes_completed /
						now->new_flows :
					0;

	out_object_begin(NULL);
	out_string("pool", name);
	out_u64("packets", now->packets);
	out_u64("bytes", now->bytes);
	out_u64("new_flows", now->new_flows);
	if (then) {
		print_rate("packets_per_second", now->packets, then->packets,
			   seconds);
		print_rate("bytes_per_second", now->bytes, then->bytes,
			   seconds);
		print_rate("new_flows_per_second", now->new_flows,
			   then->new_flows, seconds);
	}
	out_u64("handshakes", now->handshakes_completed);
	out_double("handshake_ratio", ratio, 3);
	out_u64("syn_retransmits", now->syn_retransmits);
	out_u64("client_resets", now->client_resets);
	out_u64("fallbacks", now->fallbacks);
	out_double("latency_p50_us",
		   latency_quantile_us(now->handshake_latency, 0.5), 1);
	out_double("latency_p90_us",
		   latency_quantile_us(now->handshake_latency, 0.9), 1);
	out_double("latency_p99_us",
		   latency_quantile_us(now->handshake_latency, 0.99), 1);
	out_object_end();
}

/* The backends of now's VIP v; a rate where then has the backend at the
 * same place (the rate of one that came or went would mean nothing). */
static void print_backends(const struct snapshot *now,
			   const struct snapshot *then, size_t v,
			   double seconds)
{
	out_array_begin("backends");
	for (size_t b = 0; b < now->backend_count; b++) {
		const struct xs_backend *backend = &now->backends[b].backend;
		const struct xs_backend_stats *s = &now->backend_stats[b];
		char address[64];

		if (backend->vip_id != now->vips[v].vip.vip_id)
			continue;
		xs_format_address(backend->family, backend->address, address,
				  sizeof(address));
		out_object_begin(NULL);
		out_string("backend", address);
		out_string("pool", xs_pool_name(backend->pool));
		out_string("state", xs_state_name(backend->state));
		out_u64("packets", s->packets);
		out_u64("bytes", s->bytes);
		out_u64("new_flows", s->new_flows);
		if (then && b < then->backend_count &&
		    then->backends[b].id == now->backends[b].id)
			print_rate("packets_per_second", s->packets,
				   then->backend_stats[b].packets, seconds);
		out_object_end();
	}
	out_array_end();
}

static void print_snapshot(const struct snapshot *now,
			   const struct snapshot *then, double seconds)
{
	out_object_begin(NULL);
	out_array_begin("vips");
	for (size_t v = 0; v < now->vip_count; v++) {
		char text[80];

		xs_format_vip(&now->vips[v].key, text, sizeof(text));
		out_object_begin(NULL);
		out_string("vip", text);
		out_array_begin("pools");
		for (__u8 p = 0; p < XS_POOL_COUNT; p++) {
			size_t i = v * XS_POOL_COUNT + p;
			const struct xs_pool_stats *before =
				then && v < then->vip_count ? &then->pools[i] :
							      NULL;

			print_pool(xs_pool_name(p), &now->pools[i], before,
				   seconds);
		}
		out_array_end();
		print_backends(now, then, v, seconds);
		out_object_end();
	}
	out_array_end();
	out_object_begin("global");
	for (int c = 0; c < XS_COUNTER_COUNT; c++)
		if (now->global[c] || out_is_json())
			out_u64(xs_counter_names[c], now->global[c]);
	out_object_end();
	out_object_end();
	out_finish();
}

/* One interval's snapshot: in text, one frame of the screen (redrawn in
 * place on a terminal); in JSON, one document a line, as without --watch. */
static void show_snapshot(struct screen *screen, const struct snapshot *now,
			  const struct snapshot *then, double seconds)
{
	char *frame = NULL;
	size_t size = 0;
	FILE *out;

	if (out_is_json()) {
		print_snapshot(now, then, seconds);
		fflush(stdout);
		return;
	}
	out = open_memstream(&frame, &size);
	if (!out)
		return;
	out_init(out, XS_OUTPUT_TEXT);
	print_snapshot(now, then, seconds);
	out_init(stdout, XS_OUTPUT_TEXT);
	/* the text starts with the line break of an object with no key */
	if (!fclose(out))
		screen_draw(screen, frame + strspn(frame, "\n"));
	free(frame);
}

/* [ VIP ] [ --watch SECONDS [ --count N ] ]: *only is vip when a VIP is
 * given (it must exist), else NULL; watch 0: once. */
static int parse_stats_arguments(struct ctl *ctl, int argc, char **argv,
				 struct xs_vip_entry *vip,
				 const struct xs_vip_entry **only,
				 double *watch, __u32 *count)
{
	int rc;

	for (int i = 0; i < argc; i++) {
		if (is_keyword(argv[i], "--watch")) {
			if (i + 1 >= argc ||
			    screen_parse_interval(argv[++i], watch))
				return usage_error(
					"stats",
					"--watch takes " SCREEN_INTERVAL_TEXT);
		} else if (is_keyword(argv[i], "--count")) {
			if (i + 1 >= argc ||
			    xs_parse_u32(argv[++i], 1, 1000000, count))
				return usage_error(
					"stats",
					"--count takes a positive number");
		} else if (!*only) {
			rc = need_vip(ctl, "stats", argv[i], vip);
			if (rc)
				return rc;
			*only = vip;
		} else {
			return usage_error("stats", "unexpected '%s'", argv[i]);
		}
	}
	if (*count && !*watch)
		return usage_error("stats", "--count goes with --watch");
	return EXIT_OK;
}

static double seconds_between(const struct timespec *start,
			      const struct timespec *end)
{
	return (end->tv_sec - start->tv_sec) +
	       (end->tv_nsec - start->tv_nsec) / 1e9;
}

/* --watch: a snapshot every interval, with its rates over the interval
 * since then (the first snapshot, taken). Ends like rollout status
 * --watch: 0 after count rounds (if not 0), 1 when the counters cannot
 * be read, 130 when interrupted. */
static int watch_stats(struct ctl *ctl, const struct xs_vip_entry *only,
		       struct snapshot *then, double watch, __u32 count)
{
	struct snapshot now;
	struct screen screen;
	int rc = EXIT_INTERRUPTED, err = 0;

	screen_open(&screen, out_is_json());
	for (__u32 round = 0; !screen_stopped(); round++) {
		struct timespec start, end;

		if (count && round == count) {
			rc = EXIT_OK;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &start);
		screen_wait(&screen, watch);
		clock_gettime(CLOCK_MONOTONIC, &end);
		if (screen_stopped())
			break;
		err = snapshot_take(ctl, only, &now);
		if (err) {
			snapshot_free(&now);
			rc = EXIT_RUNTIME;
			break;
		}
		show_snapshot(&screen, &now, then,
			      seconds_between(&start, &end));
		snapshot_free(then);
		*then = now;
	}
	screen_close(&screen);
	snapshot_free(then);
	/* said below the last frame, once the terminal is back */
	if (rc == EXIT_RUNTIME)
		return runtime_error("Couldn't read the counters: %s",
				     strerror(-err));
	return rc;
}

int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	struct xs_vip_entry vip;
	const struct xs_vip_entry *only = NULL;
	struct snapshot then;
	double watch = 0;
	__u32 count = 0;
	int rc;

	rc = parse_stats_arguments(ctl, argc, argv, &vip, &only, &watch,
				   &count);
	if (!rc)
		rc = ctl_open(ctl);
	if (rc)
		return rc;
	if (snapshot_take(ctl, only, &then)) {
		snapshot_free(&then);
		return runtime_error("Couldn't read the counters");
	}
	if (!watch) {
		print_snapshot(&then, NULL, 0);
		snapshot_free(&then);
		return EXIT_OK;
	}
	return watch_stats(ctl, only, &then, watch, count);
}
