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

/* The text a formatter made: it parses, and formatting what it parsed to
 * gives the same text (one canonical form). Frees both. */
static void formats_alike(char *first, char *second)
{
	if (!first || !second || strcmp(first, second))
		abort();
	free(first);
	free(second);
}

/* Whether the parser accepted the value; a refused one must leave a
 * reason and its output zeroed. */
static bool accepted(int err, const char *why, size_t why_size, const void *out,
		     size_t out_size)
{
	check_why(err, why, why_size);
	if (err && !all_zero(out, out_size))
		abort();
	return !err;
}

/* The documents whose parser fills one struct that its formatter writes
 * back: each goes through round_trip(), and differs from the others only
 * in the calls below and in what its parser promises. */
enum document_kind { ROUTE, HOST, REQUEST, HISTORY };

union document {
	struct xs_fleet_route route;
	struct xs_fleet_host host;
	struct xs_fleet_request request;
	struct xs_fleet_history history;
};

static size_t document_size(enum document_kind kind)
{
	switch (kind) {
	case ROUTE:
		return sizeof(struct xs_fleet_route);
	case HOST:
		return sizeof(struct xs_fleet_host);
	case REQUEST:
		return sizeof(struct xs_fleet_request);
	case HISTORY:
		return sizeof(struct xs_fleet_history);
	}
	abort();
}

static int parse(enum document_kind kind, const char *text, size_t length,
		 union document *d, char *why, size_t why_size)
{
	switch (kind) {
	case ROUTE:
		return xs_fleet_route_parse(text, length, &d->route, why,
					    why_size);
	case HOST:
		return xs_fleet_host_parse(text, length, &d->host, why,
					   why_size);
	case REQUEST:
		return xs_fleet_request_parse(text, length, &d->request, why,
					      why_size);
	case HISTORY:
		return xs_fleet_history_parse(text, length, &d->history, why,
					      why_size);
	}
	abort();
}

static char *format(enum document_kind kind, const union document *d)
{
	switch (kind) {
	case ROUTE:
		return xs_fleet_route_format(&d->route);
	case HOST:
		return xs_fleet_host_format(&d->host);
	case REQUEST:
		return xs_fleet_request_format(&d->request);
	case HISTORY:
		return xs_fleet_history_format(&d->history);
	}
	abort();
}

/* what each parser promises of a value it accepted */
static void check_accepted(enum document_kind kind, const union document *d)
{
	switch (kind) {
	case ROUTE:
		check_string(d->route.by, sizeof(d->route.by));
		if (!xs_route_is_valid(&d->route.route))
			abort();
		break;
	case HOST:
		check_string(d->host.host, sizeof(d->host.host));
		check_string(d->host.why, sizeof(d->host.why));
		check_string(d->host.version, sizeof(d->host.version));
		break;
	case REQUEST:
		if (d->request.action >= XS_FLEET_ACTION_COUNT ||
		    !d->request.seq)
			abort();
		check_string(d->request.policy, sizeof(d->request.policy));
		check_string(d->request.by, sizeof(d->request.by));
		break;
	case HISTORY:
		check_string(d->history.what, sizeof(d->history.what));
		check_string(d->history.leader, sizeof(d->history.leader));
		if (!xs_route_is_valid(&d->history.route) ||
		    d->history.phase > XS_PHASE_ABORTED)
			abort();
		break;
	}
}

/* The bytes as a document of this kind: refused with a reason, or
 * accepted, formatted, parsed back to the same struct and formatted
 * again to the same text. */
static void round_trip(enum document_kind kind, const uint8_t *data,
		       size_t size)
{
	union document d, again;
	char why[200] = "", *text;
	size_t struct_size = document_size(kind);
	int err = parse(kind, (const char *)data, size, &d, why, sizeof(why));

	if (!accepted(err, why, sizeof(why), &d, struct_size))
		return;
	check_accepted(kind, &d);
	text = format(kind, &d);
	if (!text ||
	    parse(kind, text, strlen(text), &again, why, sizeof(why)) ||
	    memcmp(&d, &again, struct_size))
		abort();
	formats_alike(text, format(kind, &again));
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
	char why[200] = "", *text;
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
	formats_alike(text, xs_fleet_counters_format(again, count2));
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
	char why[200] = "", *text;
	int err = xs_fleet_rollout_parse((const char *)data, size, &r, NOW_MS,
					 why, sizeof(why));

	if (!accepted(err, why, sizeof(why), &r, sizeof(r)))
		return;
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
	formats_alike(text, xs_fleet_rollout_format(&again, NOW_MS));
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
	round_trip(ROUTE, data, size);
	round_trip(HOST, data, size);
	drain(data, size);
	counters(data, size);
	rollout(data, size);
	round_trip(REQUEST, data, size);
	answer(data, size);
	round_trip(HISTORY, data, size);
	keys(data, size);
	return 0;
}
