// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON values of the fleet's etcd keys (user/lib/fleet/documents.h,
 * rollout_doc.h), which any writer with etcd access can put there, on
 * arbitrary bytes, through every parser. A refused value leaves its
 * output zeroed with a reason; an accepted one holds terminated strings
 * and what its parser promises (a valid route), and formats to a text
 * that parses back to the same struct and formats again to the same text.
 * The same bytes as a service name and as a key go through keys.h.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "maps/decision.h"
#include "user/lib/fleet/documents.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/fleet/rollout_doc.h"

#define MAX_SERVICES 64
/* the reader's clock: later than any elapsed time a record may hold */
#define NOW_MS (1ULL << 40)

static bool all_zero(const void *memory, size_t size)
{
	const unsigned char *byte = memory;

	for (size_t i = 0; i < size; i++)
		if (byte[i])
			return false;
	return true;
}

static void check_why(int err, const char *why, size_t size)
{
	if (err && (err != -EINVAL || !why[0]))
		abort();
	if (strnlen(why, size) == size)
		abort();
}

static void check_string(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

/* the text a formatter made: it parses, and formatting what it parsed to
 * gives the same text (one canonical form) */
static void same_text(const char *first, const char *second)
{
	if (!first || !second || strcmp(first, second))
		abort();
}

static void route(const uint8_t *data, size_t size)
{
	struct xs_fleet_route r, again;
	char why[200] = "", *text, *text2;
	int err = xs_fleet_route_parse((const char *)data, size, &r, why,
				       sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (!all_zero(&r, sizeof(r)))
			abort();
		return;
	}
	check_string(r.by, sizeof(r.by));
	if (!xs_route_is_valid(&r.route))
		abort();
	text = xs_fleet_route_format(&r);
	if (!text ||
	    xs_fleet_route_parse(text, strlen(text), &again, why,
				 sizeof(why)) ||
	    memcmp(&r, &again, sizeof(r)))
		abort();
	text2 = xs_fleet_route_format(&again);
	same_text(text, text2);
	free(text);
	free(text2);
}

static void host(const uint8_t *data, size_t size)
{
	struct xs_fleet_host h, again;
	char why[200] = "", *text, *text2;
	int err = xs_fleet_host_parse((const char *)data, size, &h, why,
				      sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (!all_zero(&h, sizeof(h)))
			abort();
		return;
	}
	check_string(h.host, sizeof(h.host));
	check_string(h.why, sizeof(h.why));
	check_string(h.version, sizeof(h.version));
	text = xs_fleet_host_format(&h);
	if (!text ||
	    xs_fleet_host_parse(text, strlen(text), &again, why, sizeof(why)) ||
	    memcmp(&h, &again, sizeof(h)))
		abort();
	text2 = xs_fleet_host_format(&again);
	same_text(text, text2);
	free(text);
	free(text2);
}

static void drain(const uint8_t *data, size_t size)
{
	char why[200] = "", *text;
	bool wanted = true, again = false;
	int err = xs_fleet_drain_parse((const char *)data, size, &wanted, why,
				       sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (wanted)
			abort();
		return;
	}
	text = xs_fleet_drain_format(wanted, "fuzz");
	if (!text ||
	    xs_fleet_drain_parse(text, strlen(text), &again, why,
				 sizeof(why)) ||
	    again != wanted)
		abort();
	free(text);
}

static void counters(const uint8_t *data, size_t size)
{
	static struct xs_fleet_service_counters s[MAX_SERVICES],
		again[MAX_SERVICES];
	char why[200] = "", *text, *text2;
	size_t count = 99, count2 = 99;
	int err = xs_fleet_counters_parse((const char *)data, size, s,
					  MAX_SERVICES, &count, why,
					  sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (count)
			abort();
		return;
	}
	if (count > MAX_SERVICES)
		abort();
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; j < i; j++)
			if (!memcmp(&s[i].service, &s[j].service,
				    sizeof(s[i].service)))
				abort(); /* one service twice */
	text = xs_fleet_counters_format(s, count);
	if (!text ||
	    xs_fleet_counters_parse(text, strlen(text), again, MAX_SERVICES,
				    &count2, why, sizeof(why)) ||
	    count2 != count || memcmp(s, again, count * sizeof(s[0])))
		abort();
	text2 = xs_fleet_counters_format(again, count2);
	same_text(text, text2);
	free(text);
	free(text2);
}

/* equal, a NaN equal to a NaN (json-c writes every NaN as NaN) */
static bool same_measurements(const struct xs_rollout *a,
			      const struct xs_rollout *b)
{
	for (int i = 0; i < XS_MAX_RULES; i++) {
		double x = a->last[i].value, y = b->last[i].value;

		if (a->last[i].valid != b->last[i].valid ||
		    a->last[i].samples != b->last[i].samples ||
		    (isnan(x) ? !isnan(y) : memcmp(&x, &y, sizeof(x))))
			return false;
	}
	return true;
}

static void rollout(const uint8_t *data, size_t size)
{
	struct xs_fleet_rollout r, again;
	char why[200] = "", *text, *text2;
	int err = xs_fleet_rollout_parse((const char *)data, size, &r, NOW_MS,
					 why, sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (!all_zero(&r, sizeof(r)))
			abort();
		return;
	}
	check_string(r.policy, sizeof(r.policy));
	check_string(r.leader, sizeof(r.leader));
	check_string(r.rollout.reason, sizeof(r.rollout.reason));
	if (r.rollout.phase > XS_PHASE_ABORTED ||
	    r.rollout.step > XS_MAX_STEPS ||
	    r.rollout.from_color == r.rollout.to_color ||
	    r.rollout.to_color > XS_POOL_GREEN ||
	    r.rollout.canary_bp > XS_WEIGHT_TOTAL ||
	    r.rollout.failed_rule >= XS_MAX_RULES || !r.id)
		abort();
	/* a pause is written only while paused: outside one it reads as now */
	if (r.rollout.phase != XS_PHASE_PAUSED)
		r.rollout.paused_at_ms = NOW_MS;
	/* written and read on the same clock: the same instants */
	text = xs_fleet_rollout_format(&r, NOW_MS);
	if (!text || xs_fleet_rollout_parse(text, strlen(text), &again, NOW_MS,
					    why, sizeof(why)))
		abort();
	if (!same_measurements(&r.rollout, &again.rollout))
		abort();
	memcpy(again.rollout.last, r.rollout.last, sizeof(r.rollout.last));
	if (memcmp(&r, &again, sizeof(r)))
		abort();
	text2 = xs_fleet_rollout_format(&again, NOW_MS);
	same_text(text, text2);
	free(text);
	free(text2);
}

static void request(const uint8_t *data, size_t size)
{
	struct xs_fleet_request q, again;
	char why[200] = "", *text, *text2;
	int err = xs_fleet_request_parse((const char *)data, size, &q, why,
					 sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (!all_zero(&q, sizeof(q)))
			abort();
		return;
	}
	if (q.action >= XS_FLEET_ACTION_COUNT || !q.seq)
		abort();
	check_string(q.policy, sizeof(q.policy));
	check_string(q.by, sizeof(q.by));
	text = xs_fleet_request_format(&q);
	if (!text ||
	    xs_fleet_request_parse(text, strlen(text), &again, why,
				   sizeof(why)) ||
	    memcmp(&q, &again, sizeof(q)))
		abort();
	text2 = xs_fleet_request_format(&again);
	same_text(text, text2);
	free(text);
	free(text2);
}

static void answer(const uint8_t *data, size_t size)
{
	char why[200] = "", message[128] = "x", message2[128], *text;
	__u64 seq = 7, seq2;
	bool ok = true, ok2;
	int err = xs_fleet_answer_parse((const char *)data, size, &seq, &ok,
					message, sizeof(message), why,
					sizeof(why));

	check_why(err, why, sizeof(why));
	check_string(message, sizeof(message));
	if (err) {
		if (seq || ok || message[0])
			abort();
		return;
	}
	if (!seq)
		abort();
	text = xs_fleet_answer_format(seq, ok, message);
	if (!text ||
	    xs_fleet_answer_parse(text, strlen(text), &seq2, &ok2, message2,
				  sizeof(message2), why, sizeof(why)) ||
	    seq2 != seq || ok2 != ok || strcmp(message, message2))
		abort();
	free(text);
}

static void history(const uint8_t *data, size_t size)
{
	struct xs_fleet_history h, again;
	char why[200] = "", *text, *text2;
	int err = xs_fleet_history_parse((const char *)data, size, &h, why,
					 sizeof(why));

	check_why(err, why, sizeof(why));
	if (err) {
		if (!all_zero(&h, sizeof(h)))
			abort();
		return;
	}
	check_string(h.what, sizeof(h.what));
	check_string(h.leader, sizeof(h.leader));
	if (!xs_route_is_valid(&h.route) || h.phase > XS_PHASE_ABORTED)
		abort();
	text = xs_fleet_history_format(&h);
	if (!text ||
	    xs_fleet_history_parse(text, strlen(text), &again, why,
				   sizeof(why)) ||
	    memcmp(&h, &again, sizeof(h)))
		abort();
	text2 = xs_fleet_history_format(&again);
	same_text(text, text2);
	free(text);
	free(text2);
}

/* The bytes as a service name (its canonical name parses to the same
 * service) and as a key under /xdpsplit/hosts/. */
static void keys(const uint8_t *data, size_t size)
{
	char text[160], name[96], key[XS_FLEET_KEY_SIZE];
	struct xs_vip_key service, again;
	const char *rest;

	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!xs_fleet_service_parse(text, &service)) {
		xs_fleet_service_name(&service, name, sizeof(name));
		if (strchr(name, '/') || xs_fleet_service_parse(name, &again) ||
		    memcmp(&service, &again, sizeof(service)))
			abort();
	}
	rest = xs_fleet_key_rest(text, "/xdpsplit/", "hosts/");
	if (rest) {
		if (!*rest || strchr(rest, '/') ||
		    strncmp(text, "/xdpsplit/hosts/", 16) || rest != text + 16)
			abort();
		/* a key made from what it split off splits the same */
		if (xs_fleet_key(key, sizeof(key), "/xdpsplit/", "hosts",
				 rest) ||
		    strcmp(key, text))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	route(data, size);
	host(data, size);
	drain(data, size);
	counters(data, size);
	rollout(data, size);
	request(data, size);
	answer(data, size);
	history(data, size);
	keys(data, size);
	return 0;
}
