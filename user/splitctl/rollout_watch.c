// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rollout status VIP --watch [SECONDS]: the rollout as it goes, from
 * splitd's status reply (state, steps, weights, rules) and the data
 * plane's counters (connections per second per pool, over each interval),
 * drawn by screen.c. It ends like kubectl rollout status: when the
 * rollout does, 0 if it succeeded, 1 if it was rolled back or aborted;
 * 130 if interrupted before.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "user/lib/parse.h"
#include "screen.h"
#include "splitctl.h"
#include "watch.h"

#define HISTORY_SHOWN 4

/* Each pool's new flows per second over the last interval. */
struct rates {
	bool known;
	double per_second[XS_POOL_COUNT];
	__u64 new_flows[XS_POOL_COUNT];
	struct timespec when;
	bool have_last;
	char error[600]; /* why there are none */
};

static const char *text(struct json_object *o, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(o, key, &value) || !value)
		return "";
	return json_object_get_string(value);
}

static bool has(struct json_object *o, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(o, key, &value) && value;
}

static double number(struct json_object *o, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(o, key, &value) || !value)
		return 0;
	return json_object_get_double(value);
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(o, key, &value) ? value : NULL;
}

/* The service's new flows from the maps; the rate against the last read. */
static void measure_rates(struct ctl *ctl, const struct xs_vip_key *key,
			  struct rates *r)
{
	struct xs_pool_stats sum[XS_POOL_COUNT];
	struct xs_vip_entry vip;
	struct timespec now;
	bool reset = false;
	double seconds;

	r->known = false;
	if (!ctl->dp_open) {
		if (xs_dataplane_open(&ctl->dp, ctl->pin_dir)) {
			snprintf(r->error, sizeof(r->error), "%s",
				 ctl->dp.error);
			return;
		}
		ctl->dp_open = true;
	}
	if (xs_vip_lookup(&ctl->dp, key, &vip) ||
	    xs_service_pool_stats(&ctl->dp, vip.vip.route_id, sum)) {
		snprintf(r->error, sizeof(r->error),
			 "the VIP is not in the data plane");
		r->have_last = false;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	seconds = (now.tv_sec - r->when.tv_sec) +
		  (now.tv_nsec - r->when.tv_nsec) / 1e9;
	/* fewer than before: the counters were reset (a reattach), no
	 * rate over this interval */
	for (__u8 p = 0; p < XS_POOL_COUNT; p++)
		if (r->have_last && sum[p].new_flows < r->new_flows[p])
			reset = true;
	r->known = r->have_last && seconds > 0 && !reset;
	for (__u8 p = 0; p < XS_POOL_COUNT; p++) {
		if (r->known)
			r->per_second[p] =
				(double)(sum[p].new_flows - r->new_flows[p]) /
				seconds;
		r->new_flows[p] = sum[p].new_flows;
	}
	snprintf(r->error, sizeof(r->error), "%s",
		 reset ? "counters reset: measuring again" : "measuring");
	r->have_last = true;
	r->when = now;
}

/* A rule's value or bound as a reader takes it: ratios in percent,
 * latencies in milliseconds, relative values as a factor. */
static void format_value(struct json_object *rule, double value, char *out,
			 size_t size)
{
	const char *metric = text(rule, "metric");
	bool relative = json_object_get_boolean(member(rule, "relative"));

	if (relative)
		snprintf(out, size, "x%.2f", value);
	else if (strstr(metric, "_ratio"))
		snprintf(out, size, "%.1f%%", value * 100);
	else if (!strncmp(metric, "latency_", 8))
		snprintf(out, size, "%.2fms", value * 1000);
	else
		snprintf(out, size, "%g", value);
}

/* The value against the bound it is judged by: "0.4% <= 5%", "85.0% < 90%",
 * "90% <= 99.5% <= 110%"; with no value yet, the bound alone. */
static void print_comparison(FILE *out, struct json_object *rule)
{
	double value = number(rule, "value");
	bool low = has(rule, "min"), high = has(rule, "max");
	char shown[32] = "no value yet", min[32], max[32];

	if (has(rule, "value"))
		format_value(rule, value, shown, sizeof(shown));
	format_value(rule, number(rule, "min"), min, sizeof(min));
	format_value(rule, number(rule, "max"), max, sizeof(max));
	if (!low && !high) /* a rule the configuration would not take */
		fprintf(out, "%s (no bound)", shown);
	else if (!has(rule, "value"))
		fprintf(out, "%s (bound%s%s%s%s)", shown, low ? " >= " : "",
			low ? min : "", high ? " <= " : "", high ? max : "");
	else if (low && value < number(rule, "min"))
		fprintf(out, "%s < %s", shown, min);
	else if (high && value > number(rule, "max"))
		fprintf(out, "%s > %s", shown, max);
	else if (low && high)
		fprintf(out, "%s <= %s <= %s", min, shown, max);
	else
		fprintf(out, "%s %s %s", shown,
			low ? ">=" : "<=", low ? min : max);
}

/* "canary-handshakes  handshake_ratio canary 99.5% >= 90%  ok  (...)" */
static void print_rule(FILE *out, struct json_object *rule)
{
	const char *verdict = text(rule, "verdict");

	fprintf(out, "  %-20s %s %s%s  ", text(rule, "rule"),
		text(rule, "metric"), text(rule, "pool"),
		json_object_get_boolean(member(rule, "relative")) ? "/live" :
								    "");
	print_comparison(out, rule);
	if (!strcmp(verdict, "ok"))
		fprintf(out, "  ok");
	else if (!strcmp(verdict, "breached"))
		fprintf(out, "  FAILING %s/%s",
			text(rule, "consecutive_failures"),
			text(rule, "failures_allowed"));
	else
		fprintf(out, "  no verdict");
	fprintf(out, "  (samples %s, %s needed; failures %s)\n",
		text(rule, "samples"), text(rule, "min_samples"),
		text(rule, "failures"));
}

static void describe_step(struct json_object *step, size_t index, char *out,
			  size_t size)
{
	const char *kind = text(step, "kind");

	if (has(step, "canary"))
		snprintf(out, size, "%zu canary %g%%", index,
			 number(step, "canary"));
	else if (has(step, "seconds"))
		snprintf(out, size, "%zu %s %gs", index, kind,
			 number(step, "seconds"));
	else
		snprintf(out, size, "%zu %s", index, kind);
}

/* "label: a > b > c", wrapped to the width under the label. */
static void print_steps(FILE *out, struct json_object *timeline, size_t from,
			size_t to, const char *label, unsigned int columns)
{
	unsigned int used;

	if (from >= to)
		return;
	used = (unsigned int)fprintf(out, "         %-5s ", label);
	for (size_t i = from; i < to; i++) {
		char step[64];
		unsigned int length;

		describe_step(json_object_array_get_idx(timeline, i), i + 1,
			      step, sizeof(step));
		length = (unsigned int)strlen(step) + (i > from ? 3 : 0);
		if (i > from && used + length >= columns) {
			used = (unsigned int)fprintf(out,
						     " >\n               ") -
			       3;
			length -= 3;
		} else if (i > from) {
			fputs(" > ", out);
		}
		fputs(step, out);
		used += length;
	}
	fputc('\n', out);
}

/* 0 succeeded, 1 rolled back or aborted, -1 still going. */
static int outcome(struct json_object *r)
{
	const char *phase = text(r, "phase");

	if (!strcmp(phase, "succeeded"))
		return EXIT_OK;
	if (!strcmp(phase, "rolled-back") || !strcmp(phase, "aborted"))
		return EXIT_RUNTIME;
	return -1;
}

static void print_progress(FILE *out, struct json_object *r,
			   unsigned int columns)
{
	struct json_object *timeline = member(r, "timeline"),
			   *route = member(r, "route");
	size_t total = timeline ? json_object_array_length(timeline) : 0;
	double steps_done = number(r, "steps_done");
	/* splitd's word, not trusted: outside 0..total (negative, huge,
	 * NaN) it is shown as none done rather than cast */
	size_t done = steps_done >= 0 && steps_done <= (double)total ?
			      (size_t)steps_done :
			      0;
	unsigned int width = columns > 60 ? 40 : 20;
	unsigned int filled = total ? (unsigned int)(done * width / total) : 0;

	fprintf(out, "progress [");
	for (unsigned int i = 0; i < width; i++)
		fputc(i < filled ? '#' : '-', out);
	fprintf(out, "] %zu/%zu steps done  canary %s%%\n", done, total,
		text(route, "canary"));
	fprintf(out, "steps\n");
	print_steps(out, timeline, 0, done, "done", columns);
	if (done < total && outcome(r) < 0)
		print_steps(out, timeline, done, done + 1, "now", columns);
	else if (done < total && outcome(r) > 0) /* rolled back or aborted */
		print_steps(out, timeline, done, done + 1, "ended", columns);
	print_steps(out, timeline, done + 1 < total ? done + 1 : total, total,
		    "next", columns);
}

/* The line that says what happens next, and who makes it happen. */
static void print_next(FILE *out, struct json_object *r)
{
	const char *phase = text(r, "phase"), *waiting = text(r, "waiting_for");

	if (!strcmp(waiting, "promote"))
		fprintf(out,
			"state    %s: waiting at gate (step %s/%s)\n"
			"  >>> to open the gate: splitctl rollout promote %s\n",
			phase, text(r, "step"), text(r, "steps"),
			text(r, "vip"));
	else if (!strcmp(waiting, "resume"))
		fprintf(out,
			"state    %s at step %s/%s%s%s%s: %s\n"
			"  >>> to go on: splitctl rollout resume %s\n",
			phase, text(r, "step"), text(r, "steps"),
			has(r, "step_left_seconds") ? " with " : "",
			text(r, "step_left_seconds"),
			has(r, "step_left_seconds") ? "s of it left" : "",
			text(r, "reason"), text(r, "vip"));
	else if (!strcmp(phase, "running"))
		fprintf(out, "state    %s: step %s/%s %s, next step in %ss\n",
			phase, text(r, "step"), text(r, "steps"),
			text(r, "step_kind"),
			has(r, "step_left_seconds") ?
				text(r, "step_left_seconds") :
				text(r, "next_analysis_in_seconds"));
	else
		fprintf(out, "state    %s: %s\n", phase, text(r, "reason"));
}

static void print_weights(FILE *out, struct json_object *r,
			  const struct rates *rates)
{
	struct json_object *route = member(r, "route");

	fprintf(out,
		"weights  blue %7s%%   green %7s%%   canary %7s%%   live %s\n",
		text(route, "blue"), text(route, "green"),
		text(route, "canary"), text(route, "live"));
	if (rates->known)
		fprintf(out,
			"conn/s   blue %8.1f   green %8.1f   canary %8.1f\n",
			rates->per_second[XS_POOL_BLUE],
			rates->per_second[XS_POOL_GREEN],
			rates->per_second[XS_POOL_CANARY]);
	else
		fprintf(out, "conn/s   (%s)\n", rates->error);
}

static void print_frame(FILE *out, struct json_object *r,
			const struct rates *rates, double seconds,
			unsigned int columns)
{
	struct json_object *list;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%H:%M:%SZ", &tm);
	fprintf(out, "rollout  %s  policy %s  every %gs  %s\n", text(r, "vip"),
		text(r, "policy"), seconds, now);
	print_next(out, r);
	print_progress(out, r, columns);
	print_weights(out, r, rates);
	list = member(r, "analysis");
	fprintf(out, "rules%s\n",
		list && json_object_array_length(list) ? "" : "    (none)");
	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		print_rule(out, json_object_array_get_idx(list, i));
	list = member(r, "history");
	fprintf(out, "history\n");
	for (size_t n = list ? json_object_array_length(list) : 0,
		    i = n > HISTORY_SHOWN ? n - HISTORY_SHOWN : 0;
	     i < n; i++)
		fprintf(out, "  %s\n",
			json_object_get_string(
				json_object_array_get_idx(list, i)));
}

/* What a plain reader is shown again for: not the clock, the countdown or
 * the rates, but the state, the step, the weights, a verdict. */
static void signature(struct json_object *r, char *out, size_t size)
{
	struct json_object *route = member(r, "route"),
			   *rules = member(r, "analysis");
	int used = snprintf(out, size, "%s|%s|%s|%s|%s|%s|%s|%s|%s",
			    text(r, "phase"), text(r, "step"),
			    text(r, "waiting_for"), text(route, "blue"),
			    text(route, "green"), text(route, "canary"),
			    text(route, "live"), text(r, "reason"),
			    text(r, "vip"));

	for (size_t i = 0; rules && i < json_object_array_length(rules) &&
			   used > 0 && (size_t)used < size;
	     i++)
		used += snprintf(out + used, size - (size_t)used, "|%s",
				 text(json_object_array_get_idx(rules, i),
				      "verdict"));
}

/* The rollout's status object (new reference), or NULL with why. */
static struct json_object *fetch_status(struct ctl *ctl, const char *vip_text,
					char *why, size_t size)
{
	char request[256], *reply;
	struct json_object *parsed, *rollout;
	int err;

	snprintf(request, sizeof(request), "rollout status %s\n", vip_text);
	err = splitd_request(ctl, request, &reply);
	if (err) {
		snprintf(
			why, size,
			"Couldn't reach splitd at %s/splitd.sock: %s; is it running?",
			ctl->run_dir, strerror(-err));
		return NULL;
	}
	parsed = json_tokener_parse(reply);
	free(reply);
	if (!parsed || !json_object_get_boolean(member(parsed, "ok"))) {
		snprintf(why, size, "%s",
			 parsed ? text(parsed, "error") :
				  "splitd sent an answer that is not JSON");
		json_object_put(parsed);
		return NULL;
	}
	rollout = json_object_array_get_idx(member(parsed, "rollouts"), 0);
	if (!rollout) {
		snprintf(why, size, "splitd sent no rollout for %s", vip_text);
		json_object_put(parsed);
		return NULL;
	}
	json_object_get(rollout);
	json_object_put(parsed);
	return rollout;
}

/* One line of JSON: the status, the rates and the time it was taken. */
static void print_json_line(struct json_object *r, const struct rates *rates)
{
	struct json_object *per_second = json_object_new_object();

	for (__u8 p = 0; p < XS_POOL_COUNT; p++)
		json_object_object_add(
			per_second, xs_pool_name(p),
			rates->known ?
				json_object_new_double(rates->per_second[p]) :
				NULL);
	json_object_object_add(r, "connections_per_second", per_second);
	json_object_object_add(r, "time",
			       json_object_new_int64((int64_t)time(NULL)));
	printf("%s\n",
	       json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
}

/* Renders and shows one frame; returns the rollout's outcome so far. */
static int show(struct ctl *ctl, struct screen *s, struct json_object *r,
		struct rates *rates, const struct xs_vip_key *key,
		double seconds, char *last, size_t last_size)
{
	char seen[1024];
	char *frame = NULL;
	size_t size = 0;
	FILE *out;

	measure_rates(ctl, key, rates);
	if (out_is_json()) {
		print_json_line(r, rates);
		return outcome(r);
	}
	signature(r, seen, sizeof(seen));
	if (!s->terminal && s->frames && !strcmp(seen, last))
		return outcome(r);
	snprintf(last, last_size, "%s", seen);
	out = open_memstream(&frame, &size);
	if (!out)
		return outcome(r);
	print_frame(out, r, rates, seconds, s->columns);
	if (!fclose(out))
		screen_draw(s, frame);
	free(frame);
	return outcome(r);
}

/* splitd not answering (restarting, say): said once, and tried again. */
static void show_failure(struct screen *s, const char *why, char *last,
			 size_t last_size)
{
	char frame[640];

	if (!strcmp(why, last))
		return;
	snprintf(last, last_size, "%s", why);
	if (out_is_json()) {
		printf("{\"error\":\"");
		json_escape_to(stdout, why);
		printf("\"}\n");
		fflush(stdout);
		return;
	}
	snprintf(frame, sizeof(frame), "%s\ntrying again every interval", why);
	screen_draw(s, frame);
}

int rollout_watch(struct ctl *ctl, const char *vip_text, double seconds)
{
	char why[512], last[1024] = "";
	struct rates rates = { 0 };
	struct xs_vip_key key;
	struct json_object *r;
	struct screen s;
	int rc = -1;

	if (xs_parse_vip(vip_text, &key))
		return usage_error("rollout", "'%s' is not a VIP", vip_text);
	r = fetch_status(ctl, vip_text, why, sizeof(why));
	if (!r) /* nothing to watch: said at once, as without --watch */
		return runtime_error("%s", why);
	screen_open(&s, out_is_json());
	while (rc < 0 && !screen_stopped()) {
		if (r) {
			rc = show(ctl, &s, r, &rates, &key, seconds, last,
				  sizeof(last));
			json_object_put(r);
		} else {
			show_failure(&s, why, last, sizeof(last));
		}
		if (rc < 0)
			screen_wait(&s, seconds);
		r = rc < 0 && !screen_stopped() ?
			    fetch_status(ctl, vip_text, why, sizeof(why)) :
			    NULL;
	}
	screen_close(&s);
	return rc < 0 ? EXIT_INTERRUPTED : rc;
}
