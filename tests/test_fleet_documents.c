// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON values of the fleet's etcd keys (user/lib/fleet/documents.h,
 * rollout_doc.h) and the keys themselves (keys.h): what one side formats
 * the other parses back to the same struct; every malformed or hostile
 * value is refused with -EINVAL and a reason, and leaves the output
 * zeroed (nothing half-read for a caller to take).
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/parse.h"
#include "user/lib/fleet/documents.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/fleet/rollout_doc.h"
#include "tests.h"

static bool all_zero(const void *memory, size_t size)
{
	const unsigned char *byte = memory;

	for (size_t i = 0; i < size; i++)
		if (byte[i])
			return false;
	return true;
}

static struct xs_vip_key vip(const char *text)
{
	struct xs_vip_key key;

	if (xs_parse_vip(text, &key))
		abort(); /* a typo in this file */
	return key;
}

/* Route, host report, drain */

static int route_round_trip(const void *arg)
{
	struct xs_fleet_route in = { 0 }, out;
	char why[200] = "", *text;

	(void)arg;
	in.route.weight[XS_POOL_BLUE] = 9000;
	in.route.weight[XS_POOL_CANARY] = 1000;
	in.route.live_pool = XS_POOL_GREEN;
	in.flush[XS_POOL_BLUE] = 0;
	in.flush[XS_POOL_GREEN] = 3;
	in.flush[XS_POOL_CANARY] = UINT32_MAX;
	snprintf(in.by, sizeof(in.by), "rollout 7");
	text = xs_fleet_route_format(&in);
	CHECK(text, "format");
	CHECK_OK(xs_fleet_route_parse(text, strlen(text), &out, why,
				      sizeof(why)));
	free(text);
	CHECK(!memcmp(in.route.weight, out.route.weight,
		      sizeof(in.route.weight)) &&
		      out.route.live_pool == XS_POOL_GREEN,
	      "weights or live pool");
	CHECK(!memcmp(in.flush, out.flush, sizeof(in.flush)),
	      "flush counts %u %u %u", out.flush[0], out.flush[1],
	      out.flush[2]);
	CHECK(!strcmp(out.by, "rollout 7"), "by '%s'", out.by);

	/* flush is optional (a writer that never flushed), by too */
	static const char *plain =
		"{\"weights\":{\"blue\":0,\"green\":10000,\"canary\":0},\"live\":\"green\"}";
	CHECK_OK(xs_fleet_route_parse(plain, strlen(plain), &out, why,
				      sizeof(why)));
	CHECK(all_zero(out.flush, sizeof(out.flush)) && !out.by[0] &&
		      out.route.weight[XS_POOL_GREEN] == 10000,
	      "without flush");
	return 0;
}

static int host_round_trip(const void *arg)
{
	struct xs_fleet_host in = { .announce = XS_ANNOUNCE_ANNOUNCED,
				    .applied = INT64_MAX,
				    .draining = true,
				    .vips = UINT32_MAX },
			     out;
	char why[200] = "", *text;

	(void)arg;
	snprintf(in.host, sizeof(in.host), "lb-1.dc2");
	snprintf(in.why, sizeof(in.why), "draining \"by ops\" \\ now");
	snprintf(in.version, sizeof(in.version), "0.9.1-14-gabc");
	for (int state = XS_ANNOUNCE_WITHDRAWN; state <= XS_ANNOUNCE_ANNOUNCED;
	     state++) {
		in.announce = state;
		text = xs_fleet_host_format(&in);
		CHECK(text, "format");
		CHECK_OK(xs_fleet_host_parse(text, strlen(text), &out, why,
					     sizeof(why)));
		free(text);
		CHECK(!memcmp(&in, &out, sizeof(in)),
		      "host %s announce %d why '%s'", out.host, out.announce,
		      out.why);
	}
	return 0;
}

static int drain_round_trip(const void *arg)
{
	char why[200] = "";

	(void)arg;
	for (int wanted = 0; wanted <= 1; wanted++) {
		char *text = xs_fleet_drain_format(wanted, "splitctl (root)");
		bool drain = !wanted;

		CHECK(text, "format");
		CHECK_OK(xs_fleet_drain_parse(text, strlen(text), &drain, why,
					      sizeof(why)));
		free(text);
		CHECK(drain == wanted, "drain %d read back as %d", wanted,
		      drain);
	}
	/* the key absent is serve; a value without "drain" is refused (a
	 * typo of one is not a wish to serve) */
	bool drain = true;

	CHECK(xs_fleet_drain_parse("{\"drian\":true}", 14, &drain, why,
				   sizeof(why)) == -EINVAL &&
		      strstr(why, "'drain' is missing") && !drain,
	      "a typo: '%s'", why);
	return 0;
}

/* Per-host counters */

static int counters_round_trip(const void *arg)
{
	static const char *const names[] = { "10.77.100.1:80/tcp",
					     "[fd00::1]:443/tcp",
					     "[2001:db8::ff:1]:53/udp" };
	struct xs_fleet_service_counters in[3], out[4];
	char why[200] = "", *text;
	size_t count = 99;

	(void)arg;
	memset(in, 0, sizeof(in));
	for (int s = 0; s < 3; s++) {
		in[s].service = vip(names[s]);
		for (int p = 0; p < XS_POOL_COUNT; p++) {
			struct xs_pool_stats *st = &in[s].pools[p];
			__u64 base = (__u64)(s * 10 + p) << 20;

			st->packets = base + 1;
			st->bytes =
				INT64_MAX; /* the largest a counter is written as */
			st->new_flows = base + 3;
			st->syn_retransmits = base + 4;
			st->handshakes_completed = base + 5;
			st->client_resets = base + 6;
			st->fallbacks = base + 7;
			for (int b = 0; b < XS_LATENCY_BUCKETS; b++)
				st->handshake_latency[b] = base + 100 + b;
		}
	}
	text = xs_fleet_counters_format(in, 3);
	CHECK(text, "format");
	CHECK(strstr(text, "\"[fd00::1]:443_tcp\"") &&
		      strstr(text, "\"[2001:db8::ff:1]:53_udp\""),
	      "IPv6 names in %.200s", text);
	CHECK_OK(xs_fleet_counters_parse(text, strlen(text), out, 4, &count,
					 why, sizeof(why)));
	CHECK(count == 3, "count %zu", count);
	/* json-c keeps an object's keys in the order they were added */
	CHECK(!memcmp(in, out, sizeof(in)), "counters differ");
	/* one service more than the caller has room for: refused whole */
	CHECK(xs_fleet_counters_parse(text, strlen(text), out, 2, &count, why,
				      sizeof(why)) == -EINVAL &&
		      count == 0 && strstr(why, "more than 2 services"),
	      "max: %zu '%s'", count, why);
	free(text);
	/* none at all is a host with no VIPs */
	text = xs_fleet_counters_format(in, 0);
	CHECK_OK(xs_fleet_counters_parse(text, strlen(text), out, 4, &count,
					 why, sizeof(why)));
	free(text);
	CHECK(count == 0, "count %zu", count);
	return 0;
}

/* Rollout record, request, answer, history */

static struct xs_fleet_rollout sample_rollout(enum xs_phase phase)
{
	struct xs_fleet_rollout r = { .id = 12, .request = 14, .history = 9 };

	r.service = vip("[fd77:100::1]:80/tcp");
	snprintf(r.policy, sizeof(r.policy), "canary-then-green");
	snprintf(r.leader, sizeof(r.leader), "lb-2");
	r.rollout.phase = phase;
	r.rollout.step = 6;
	r.rollout.step_started_ms = 7000;
	r.rollout.paused_at_ms = 9000;
	r.rollout.from_color = XS_POOL_BLUE;
	r.rollout.to_color = XS_POOL_GREEN;
	r.rollout.canary_bp = 2500;
	r.rollout.switched = true;
	r.rollout.promote = true;
	r.rollout.failed_rule = 1;
	for (int i = 0; i < XS_MAX_RULES; i++) {
		r.rollout.consecutive[i] = i;
		r.rollout.total_failures[i] = i == 3 ? UINT32_MAX : 10u + i;
		r.rollout.last[i].valid = i % 2;
		r.rollout.last[i].value = i == 2 ? 0.1 + 0.2 : 1.0 / (i + 3);
		r.rollout.last[i].samples = i == 5 ? INT64_MAX : 100 * i;
	}
	snprintf(r.rollout.reason, sizeof(r.rollout.reason),
		 "canary-handshakes: 0.85 < 0.9 (\"min\")");
	return r;
}

static int rollout_round_trip(const void *arg)
{
	struct xs_fleet_rollout in = sample_rollout(XS_PHASE_PAUSED), out,
				expected;
	char why[200] = "", *text;

	(void)arg;
	/* written at 10000 by one leader, read at 50000 by another: the step
	 * started 3 s before the write, so 3 s before the read */
	text = xs_fleet_rollout_format(&in, 10000);
	CHECK(text, "format");
	CHECK_OK(xs_fleet_rollout_parse(text, strlen(text), &out, 50000, why,
					sizeof(why)));
	free(text);
	CHECK(out.rollout.step_started_ms == 47000, "step_started %llu",
	      (unsigned long long)out.rollout.step_started_ms);
	CHECK(out.rollout.paused_at_ms == 49000, "paused_at %llu",
	      (unsigned long long)out.rollout.paused_at_ms);
	expected = in;
	expected.rollout.step_started_ms = 47000;
	expected.rollout.paused_at_ms = 49000;
	CHECK(!memcmp(&expected, &out, sizeof(out)), "the record differs");

	/* not paused: no pause is written, paused_at reads as the reader's now */
	in = sample_rollout(XS_PHASE_RUNNING);
	text = xs_fleet_rollout_format(&in, 10000);
	CHECK_OK(xs_fleet_rollout_parse(text, strlen(text), &out, 50000, why,
					sizeof(why)));
	free(text);
	CHECK(out.rollout.step_started_ms == 47000 &&
		      out.rollout.paused_at_ms == 50000 &&
		      out.rollout.phase == XS_PHASE_RUNNING,
	      "running: started %llu paused %llu",
	      (unsigned long long)out.rollout.step_started_ms,
	      (unsigned long long)out.rollout.paused_at_ms);

	/* a reader whose clock is younger than the step: started at 0 */
	text = xs_fleet_rollout_format(&in, 10000);
	CHECK_OK(xs_fleet_rollout_parse(text, strlen(text), &out, 1000, why,
					sizeof(why)));
	free(text);
	CHECK(out.rollout.step_started_ms == 0, "young reader %llu",
	      (unsigned long long)out.rollout.step_started_ms);

	/* a gate waiting ten days still reads back (as a week old) */
	in = sample_rollout(XS_PHASE_PAUSED);
	in.rollout.step_started_ms = 1000;
	in.rollout.paused_at_ms = 1000;
	text = xs_fleet_rollout_format(&in, 1000 + 10 * 86400000ULL);
	CHECK_OK(xs_fleet_rollout_parse(text, strlen(text), &out,
					8 * 86400000ULL, why, sizeof(why)));
	free(text);
	CHECK(out.rollout.step_started_ms == 86400000ULL &&
		      out.rollout.paused_at_ms == 86400000ULL,
	      "ten days: %llu",
	      (unsigned long long)out.rollout.step_started_ms);
	return 0;
}

static int request_round_trip(const void *arg)
{
	char why[200] = "";

	(void)arg;
	for (int a = 0; a < XS_FLEET_ACTION_COUNT; a++) {
		struct xs_fleet_request in = { .seq = a == 0 ? INT64_MAX :
							       a + 1,
					       .action = a,
					       .flush = a % 2 },
					out;
		enum xs_fleet_action parsed;
		char *text;

		snprintf(in.policy, sizeof(in.policy), a ? "" : "fast");
		snprintf(in.by, sizeof(in.by), "splitctl (uid 0)");
		text = xs_fleet_request_format(&in);
		CHECK(text, "format");
		CHECK_OK(xs_fleet_request_parse(text, strlen(text), &out, why,
						sizeof(why)));
		free(text);
		CHECK(!memcmp(&in, &out, sizeof(in)), "%s differs",
		      xs_fleet_action_name(a));
		CHECK(!xs_fleet_action_parse(xs_fleet_action_name(a),
					     &parsed) &&
			      parsed == (enum xs_fleet_action)a,
		      "action name");
	}
	return 0;
}

static int answer_round_trip(const void *arg)
{
	char why[200] = "", message[64];

	(void)arg;
	for (int ok = 0; ok <= 1; ok++) {
		char *text =
			xs_fleet_answer_format(ok ? 1 : INT64_MAX, ok,
					       ok ? "" : "no rollout of \"x\"");
		bool read_ok = !ok;
		__u64 seq;

		CHECK(text, "format");
		CHECK_OK(xs_fleet_answer_parse(
			text, strlen(text), &seq, &read_ok, message,
			sizeof(message), why, sizeof(why)));
		free(text);
		CHECK(read_ok == ok && seq == (ok ? 1 : (__u64)INT64_MAX) &&
			      !strcmp(message, ok ? "" : "no rollout of \"x\""),
		      "ok %d seq %llu message '%s'", read_ok,
		      (unsigned long long)seq, message);
	}
	return 0;
}

static int history_round_trip(const void *arg)
{
	struct xs_fleet_history in = { .seq = UINT32_MAX,
				       .step = XS_MAX_STEPS,
				       .phase = XS_PHASE_ROLLED_BACK },
				out;
	char why[200] = "", *text;

	(void)arg;
	in.route.weight[XS_POOL_GREEN] = 7500;
	in.route.weight[XS_POOL_CANARY] = 2500;
	in.route.live_pool = XS_POOL_GREEN;
	memset(in.what, 'w', sizeof(in.what) - 1);
	snprintf(in.leader, sizeof(in.leader), "lb-3");
	text = xs_fleet_history_format(&in);
	CHECK(text, "format");
	CHECK_OK(xs_fleet_history_parse(text, strlen(text), &out, why,
					sizeof(why)));
	free(text);
	CHECK(!memcmp(&in, &out, sizeof(in)), "seq %u step %u phase %d",
	      out.seq, out.step, out.phase);
	return 0;
}

/* Keys */

static int service_names_round_trip(const void *arg)
{
	static const struct {
		const char *vip, *name;
	} good[] = {
		{ "10.77.100.1:80/tcp", "10.77.100.1:80_tcp" },
		{ "10.0.0.1:0/udp", "10.0.0.1:0_udp" },
		{ "[fd00::1]:443/tcp", "[fd00::1]:443_tcp" },
		{ "[2001:db8::1:0:0:1]:0/udp", "[2001:db8::1:0:0:1]:0_udp" },
	};
	static const char *const bad[] = {
		"",
		"_",
		"10.0.0.1:80/tcp",
		"10.0.0.1:80",
		"10.0.0.1:80_sctp",
		"10.0.0.1_tcp",
		"10.0.0.1:65536_tcp",
		"fd00::1:80_tcp",
		"[10.0.0.1]:80_tcp",
		"300.0.0.1:80_tcp",
		"10.0.0.1:80_tcp_",
		"[fd00::1]:80/x_tcp",
		"10.0.0.1:-1_tcp",
		"[fd00:1111:2222:3333:4444:5555:6666:7777]:65535_tcp"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};

	(void)arg;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct xs_vip_key key = vip(good[i].vip), back;
		char name[96];

		xs_fleet_service_name(&key, name, sizeof(name));
		CHECK(!strcmp(name, good[i].name), "%s named '%s'", good[i].vip,
		      name);
		CHECK_OK(xs_fleet_service_parse(name, &back));
		CHECK(!memcmp(&key, &back, sizeof(key)), "%s back differs",
		      name);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xs_vip_key back;

		CHECK(xs_fleet_service_parse(bad[i], &back) == -EINVAL,
		      "'%s' parsed", bad[i]);
	}
	return 0;
}

static int keys_join_and_split(const void *arg)
{
	char key[XS_FLEET_KEY_SIZE], small[20];
	const char *rest;

	(void)arg;
	CHECK_OK(xs_fleet_key(key, sizeof(key), "/xdpsplit/", "hosts", "lb-1"));
	CHECK(!strcmp(key, "/xdpsplit/hosts/lb-1"), "'%s'", key);
	CHECK_OK(xs_fleet_key(key, sizeof(key), "/xdpsplit/", "leader", NULL));
	CHECK(!strcmp(key, "/xdpsplit/leader"), "'%s'", key);
	CHECK(xs_fleet_key(small, sizeof(small), "/xdpsplit/", "counters",
			   "lb-1") == -ENAMETOOLONG,
	      "a key longer than its room");
	/* exactly its room, with the NUL */
	CHECK_OK(xs_fleet_key(small, sizeof(small), "/xdpsplit/", "hosts",
			      "abc"));

	rest = xs_fleet_key_rest("/xdpsplit/hosts/lb-1", "/xdpsplit/",
				 "hosts/");
	CHECK(rest && !strcmp(rest, "lb-1"), "rest '%s'",
	      rest ? rest : "(null)");
	rest = xs_fleet_key_rest("/xdpsplit/routes/10.0.0.1:80_tcp",
				 "/xdpsplit/", "routes/");
	CHECK(rest && !strcmp(rest, "10.0.0.1:80_tcp"), "route rest");
	static const char *const not_ours[] = {
		"/xdpsplit/hosts/lb-1/x", /* a further '/' */
		"/xdpsplit/hosts/",	  /* nothing after */
		"/xdpsplit/hosts",
		"/xdpsplit/hostslb-1",
		"/other/hosts/lb-1",
		"/xdpsplit/drain/lb-1",
		"",
	};
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		CHECK(!xs_fleet_key_rest(not_ours[i], "/xdpsplit/", "hosts/"),
		      "'%s' taken", not_ours[i]);
	return 0;
}

/* Refusals */

enum kind {
	ROUTE,
	HOST,
	DRAIN,
	COUNTERS,
	ROLLOUT,
	REQUEST,
	ANSWER,
	HISTORY,
	KINDS
};
static const char *const kind_names[KINDS] = { "route",	   "host",    "drain",
					       "counters", "rollout", "request",
					       "answer",   "history" };

#define X16 "xxxxxxxxxxxxxxxx"
#define X64 X16 X16 X16 X16
#define Z10 "0,0,0,0,0,0,0,0,0,0"
#define POOL "[" Z10 "," Z10 "," Z10 ",0,0,0,0,0,0,0,0,0]" /* 39 numbers */

/* A well-formed value of each kind, the base of the mutations below. */
static char *valid_text(enum kind kind)
{
	struct xs_fleet_route route = { .route = {
						.weight = { 9000, 0, 1000 } } };
	struct xs_fleet_host host = { .host = "lb-1", .applied = 5, .vips = 1 };
	struct xs_fleet_service_counters counters = {
		.service = vip("10.0.0.1:80/tcp")
	};
	struct xs_fleet_rollout rollout = sample_rollout(XS_PHASE_PAUSED);
	struct xs_fleet_request request = { .seq = 3,
					    .action = XS_FLEET_ABORT };
	struct xs_fleet_history history = { .seq = 1,
					    .step = 2,
					    .phase = XS_PHASE_RUNNING,
					    .route = { .weight = { 9000, 0,
								   1000 } } };

	switch (kind) {
	case ROUTE:
		return xs_fleet_route_format(&route);
	case HOST:
		return xs_fleet_host_format(&host);
	case DRAIN:
		return xs_fleet_drain_format(true, "ops");
	case COUNTERS:
		return xs_fleet_counters_format(&counters, 1);
	case ROLLOUT:
		return xs_fleet_rollout_format(&rollout, 10000);
	case REQUEST:
		return xs_fleet_request_format(&request);
	case ANSWER:
		return xs_fleet_answer_format(4, true, "done");
	case HISTORY:
		return xs_fleet_history_format(&history);
	default:
		return NULL;
	}
}

static struct xs_fleet_route out_route;
static struct xs_fleet_host out_host;
static struct xs_fleet_service_counters out_counters[4];
static struct xs_fleet_rollout out_rollout;
static struct xs_fleet_request out_request;
static struct xs_fleet_history out_history;

/* Parses text as kind; on a refusal, says in zeroed whether the output
 * was left zeroed (it was filled with garbage before). */
static int parse_as(enum kind kind, const char *text, size_t length, char *why,
		    size_t size, bool *zeroed)
{
	size_t count = 77;
	bool drain = true, ok = true;
	__u64 seq = 77;
	char message[64] = "garbage";
	int err;

	memset(&out_route, 0xa5, sizeof(out_route));
	memset(&out_host, 0xa5, sizeof(out_host));
	memset(&out_rollout, 0xa5, sizeof(out_rollout));
	memset(&out_request, 0xa5, sizeof(out_request));
	memset(&out_history, 0xa5, sizeof(out_history));
	switch (kind) {
	case ROUTE:
		err = xs_fleet_route_parse(text, length, &out_route, why, size);
		*zeroed = all_zero(&out_route, sizeof(out_route));
		break;
	case HOST:
		err = xs_fleet_host_parse(text, length, &out_host, why, size);
		*zeroed = all_zero(&out_host, sizeof(out_host));
		break;
	case DRAIN:
		err = xs_fleet_drain_parse(text, length, &drain, why, size);
		*zeroed = !drain;
		break;
	case COUNTERS:
		err = xs_fleet_counters_parse(text, length, out_counters, 4,
					      &count, why, size);
		*zeroed = count == 0;
		break;
	case ROLLOUT:
		err = xs_fleet_rollout_parse(text, length, &out_rollout, 50000,
					     why, size);
		*zeroed = all_zero(&out_rollout, sizeof(out_rollout));
		break;
	case REQUEST:
		err = xs_fleet_request_parse(text, length, &out_request, why,
					     size);
		*zeroed = all_zero(&out_request, sizeof(out_request));
		break;
	case ANSWER:
		err = xs_fleet_answer_parse(text, length, &seq, &ok, message,
					    sizeof(message), why, size);
		*zeroed = seq == 0 && !ok && !message[0];
		break;
	default:
		err = xs_fleet_history_parse(text, length, &out_history, why,
					     size);
		*zeroed = all_zero(&out_history, sizeof(out_history));
		break;
	}
	return err;
}

static int check_refused(enum kind kind, const char *what, const char *text,
			 size_t length, const char *expect)
{
	char why[300] = "";
	bool zeroed = false;
	int err = parse_as(kind, text, length, why, sizeof(why), &zeroed);

	CHECK(err == -EINVAL, "%s: %s accepted (%d): %.300s", kind_names[kind],
	      what, err, text);
	CHECK(why[0], "%s: %s refused without a reason", kind_names[kind],
	      what);
	CHECK(!expect || strstr(why, expect), "%s: %s: reason '%s' lacks '%s'",
	      kind_names[kind], what, why, expect);
	CHECK(zeroed, "%s: %s refused, yet the output is half-filled",
	      kind_names[kind], what);
	return 0;
}

static int valid_values_parse(const void *arg)
{
	(void)arg;
	for (int kind = 0; kind < KINDS; kind++) {
		char *text = valid_text(kind), why[300] = "";
		bool zeroed;

		CHECK(text, "format %s", kind_names[kind]);
		CHECK(!parse_as(kind, text, strlen(text), why, sizeof(why),
				&zeroed),
		      "the base %s is refused: %s", kind_names[kind], why);
		free(text);
	}
	return 0;
}

/* The whole text is not one JSON object. */
static const char *const not_objects[] = {
	"",
	" ",
	"not json",
	"{",
	"}",
	"[]",
	"[{}]",
	"\"text\"",
	"42",
	"null",
	"true",
	"{\"a\":1}{}",
	"{\"a\":1}x",
	"{\"a\":1,}",
	"{'a':1}",
	"{\"a\":01}",
	"{\"a\":1}/* comment */",
	"{a:1}",
	"{\"a\":0x10}",
	"{\"a\":[1,2}",
};

static int garbage_refused_by(enum kind kind, const char *valid)
{
	static const char *const tails[] = { "x", "{}", ",", "]", "\"" };
	size_t length = strlen(valid);
	char *text, deep[200] = "{\"a\":";
	int rc = 0;

	for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]);
	     i++)
		if (check_refused(kind, not_objects[i], not_objects[i],
				  strlen(not_objects[i]), NULL))
			return -1;
	/* a valid value and then garbage, a second object */
	for (size_t i = 0; !rc && i < sizeof(tails) / sizeof(tails[0]); i++) {
		if (asprintf(&text, "%s%s", valid, tails[i]) < 0)
			abort();
		rc = check_refused(kind, "trailing garbage", text, strlen(text),
				   "not a JSON object");
		free(text);
	}
	/* a NUL byte, and more after it */
	text = malloc(length + 4);
	if (!text)
		abort();
	memcpy(text, valid, length);
	memcpy(text + length, "\0{}", 4);
	rc = rc	   ?:
		     check_refused(kind, "a NUL and more", text, length + 3,
				   NULL);
	free(text);
	/* a 300 KB value: refused before json-c sees it */
	text = malloc(300 << 10);
	if (!text)
		abort();
	memset(text, ' ', 300 << 10);
	memcpy(text, valid, length);
	rc = rc	   ?:
		     check_refused(kind, "300 KB", text, 300 << 10,
				   "longer than");
	free(text);
	/* nested deeper than json-c's 32 */
	for (int d = 0; d < 40; d++)
		strcat(deep, "[");
	for (int d = 0; d < 40; d++)
		strcat(deep, "]");
	strcat(deep, "}");
	return rc    ?:
		       check_refused(kind, "nested 41 deep", deep, strlen(deep),
				     NULL);
}

static int not_an_object_is_refused(const void *arg)
{
	(void)arg;
	for (int kind = 0; kind < KINDS; kind++) {
		char *valid = valid_text(kind);
		int rc = valid ? garbage_refused_by(kind, valid) : -1;

		free(valid);
		if (rc)
			return -1;
	}
	return 0;
}

struct mutation {
	enum kind kind;
	const char *path;   /* dotted: "weights.blue", "last.0.value" */
	const char *value;  /* JSON text; NULL: the field is removed */
	const char *expect; /* in the reason */
};

static const struct mutation mutations[] = {
	{ ROUTE, "weights", NULL, "'weights' must be an object" },
	{ ROUTE, "weights", "[9000,0,1000]", "'weights' must be an object" },
	{ ROUTE, "weights.blue", NULL, "'blue' must be a whole number" },
	{ ROUTE, "weights.blue", "\"9000\"", "'blue' must be a whole number" },
	{ ROUTE, "weights.blue", "9000.0", "'blue' must be a whole number" },
	{ ROUTE, "weights.blue", "-1", "'blue' must be from 0 to 10000" },
	{ ROUTE, "weights.blue", "10001", "'blue' must be from 0 to 10000" },
	{ ROUTE, "weights.blue", "18446744073709551616",
	  "'blue' must be from" },
	{ ROUTE, "weights.blue", "8999", "must sum to 100%" },
	{ ROUTE, "weights.green", "1", "must sum to 100%" },
	{ ROUTE, "live", "\"canary\"", "live pool be blue or green" },
	{ ROUTE, "live", "\"purple\"", "'live' must be blue or green" },
	{ ROUTE, "live", "0", "'live' must be a string" },
	{ ROUTE, "live", NULL, "'live' is missing" },
	{ ROUTE, "flush", "[0,0,2]", "'blue' must be a whole number" },
	{ ROUTE, "flush.canary", NULL, "'canary' must be a whole number" },
	{ ROUTE, "flush.canary", "-1",
	  "'canary' must be from 0 to 4294967295" },
	{ ROUTE, "flush.canary", "4294967296", "'canary' must be from 0" },
	{ ROUTE, "by", "\"" X64 "\"", "'by' must be a string of at most 63" },
	{ ROUTE, "by", "7", "'by' must be a string" },
	{ ROUTE, "by", "\"a\\u0000b\"", "'by' holds a NUL" },

	{ HOST, "host", NULL, "'host' is missing" },
	{ HOST, "host", "[\"lb-1\"]", "'host' must be a string" },
	{ HOST, "host", "\"" X64 "\"", "at most 63" },
	{ HOST, "host", "\"lb-1\\u0000lb-2\"", "'host' holds a NUL" },
	{ HOST, "announce", NULL, "'announce' is missing" },
	{ HOST, "announce", "\"maybe\"",
	  "'announce' must be announced or withdrawn" },
	{ HOST, "announce", "\"" X16 X16 "\"", "'announce' must be a string" },
	{ HOST, "why", "\"" X64 X64 X16 X16 "\"",
	  "'why' must be a string of at most 159" },
	{ HOST, "applied", NULL, "'applied' must be a whole number" },
	{ HOST, "applied", "-1", "'applied' must be from 0" },
	{ HOST, "applied", "\"5\"", "'applied' must be a whole number" },
	{ HOST, "applied", "9223372036854775808", "'applied' must be from 0" },
	{ HOST, "applied", "1e3", "'applied' must be a whole number" },
	{ HOST, "draining", "\"yes\"", "'draining' must be true or false" },
	{ HOST, "draining", "1", "'draining' must be true or false" },
	{ HOST, "vips", "4294967296", "'vips' must be from 0 to 4294967295" },
	{ HOST, "vips", NULL, "'vips' must be a whole number" },
	{ HOST, "version", "\"" X16 X16 "\"",
	  "'version' must be a string of at most 31" },

	{ DRAIN, "drain", "\"true\"", "'drain' must be true or false" },
	{ DRAIN, "drain", "1", "'drain' must be true or false" },
	{ DRAIN, "drain", "null", "'drain' must be true or false" },

	{ COUNTERS, "services", NULL, "'services' must be an object" },
	{ COUNTERS, "services", "[]", "'services' must be an object" },
	{ COUNTERS, "services.10.0.0.1:80_tcp", "[]",
	  "is not a service's counters" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.green", NULL,
	  "lacks pool green" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.blue", "{}",
	  "must be an array of 39" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.blue",
	  "[" Z10 "," Z10 "," Z10 ",0,0,0,0,0,0,0,0]",
	  "must be an array of 39" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.blue",
	  "[" Z10 "," Z10 "," Z10 ",0,0,0,0,0,0,0,0,0,0]",
	  "must be an array of 39" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.blue.0", "-1",
	  "a counter must be a whole number from 0" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.canary.38", "1.5",
	  "a counter must be" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.canary.38", "\"1\"",
	  "a counter must be" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.canary.38", "null",
	  "a counter must be" },
	{ COUNTERS, "services.10.0.0.1:80_tcp.green.7", "9223372036854775808",
	  "a counter must be" },

	{ ROLLOUT, "service", NULL, "'service' is missing" },
	{ ROLLOUT, "service", "\"[fd77:100::1]:80/tcp\"",
	  "'service' names no service" },
	{ ROLLOUT, "service", "\"nonsense\"", "'service' names no service" },
	{ ROLLOUT, "id", "0", "'id' must be from 1" },
	{ ROLLOUT, "id", "18446744073709551615", "'id' must be from 1" },
	{ ROLLOUT, "policy", NULL, "'policy' is missing" },
	{ ROLLOUT, "policy", "\"" X64 "\"",
	  "'policy' must be a string of at most 63" },
	{ ROLLOUT, "phase", "\"finished\"",
	  "'phase' is not a rollout's phase" },
	{ ROLLOUT, "phase", "\"invalid\"", "'phase' is not a rollout's phase" },
	{ ROLLOUT, "phase", "2", "'phase' must be a string" },
	{ ROLLOUT, "step", "33", "'step' must be from 0 to 32" },
	{ ROLLOUT, "step_elapsed_ms", "-1",
	  "'step_elapsed_ms' must be from 0" },
	{ ROLLOUT, "step_elapsed_ms", "604800001",
	  "'step_elapsed_ms' must be from 0 to 604800000" },
	{ ROLLOUT, "paused_for_ms", NULL,
	  "'paused_for_ms' must be a whole number" },
	{ ROLLOUT, "from", "2", "'from' must be from 0 to 1" },
	{ ROLLOUT, "to", "0", "'from' and 'to' must be different colors" },
	{ ROLLOUT, "canary_bp", "10001",
	  "'canary_bp' must be from 0 to 10000" },
	{ ROLLOUT, "switched", "\"no\"", "'switched' must be true or false" },
	{ ROLLOUT, "consecutive", "[0,1,2,3,4,5,6]",
	  "'consecutive' must be an array of 8" },
	{ ROLLOUT, "consecutive", "{}", "'consecutive' must be an array of 8" },
	{ ROLLOUT, "consecutive.3", "-1",
	  "'consecutive' holds a number out of range" },
	{ ROLLOUT, "total.7", "4294967296",
	  "'total' holds a number out of range" },
	{ ROLLOUT, "total.7", "1.0", "'total' holds a number out of range" },
	{ ROLLOUT, "last", "[]", "'last' must be an array of 8" },
	{ ROLLOUT, "last.0", "0", "'last' holds a malformed measurement" },
	{ ROLLOUT, "last.1.value", "\"0.9\"",
	  "'last' holds a malformed measurement" },
	{ ROLLOUT, "last.1.value", NULL,
	  "'last' holds a malformed measurement" },
	{ ROLLOUT, "last.2.samples", "-5",
	  "'last' holds a malformed measurement" },
	{ ROLLOUT, "last.2.valid", "0",
	  "'last' holds a malformed measurement" },
	{ ROLLOUT, "reason", "\"" X64 X64 X64 X64 "\"",
	  "'reason' must be a string of at most 255" },
	{ ROLLOUT, "failed_rule", "8", "'failed_rule' must be from 0 to 7" },
	{ ROLLOUT, "request", "-1", "'request' must be from 0" },
	{ ROLLOUT, "history", "4294967296",
	  "'history' must be from 0 to 4294967295" },
	{ ROLLOUT, "leader", "\"" X64 "\"",
	  "'leader' must be a string of at most 63" },

	{ REQUEST, "seq", NULL, "'seq' must be a whole number" },
	{ REQUEST, "seq", "0", "'seq' must be from 1" },
	{ REQUEST, "seq", "9223372036854775808", "'seq' must be from 1" },
	{ REQUEST, "action", NULL, "'action' is missing" },
	{ REQUEST, "action", "\"restart\"",
	  "'action' is not a rollout command" },
	{ REQUEST, "action", "\"invalid\"",
	  "'action' is not a rollout command" },
	{ REQUEST, "action", "\"ABORT\"", "'action' is not a rollout command" },
	{ REQUEST, "policy", "\"" X64 "\"",
	  "'policy' must be a string of at most 63" },
	{ REQUEST, "flush", "\"true\"", "'flush' must be true or false" },
	{ REQUEST, "by", "{}", "'by' must be a string" },

	{ ANSWER, "seq", "0", "'seq' must be from 1" },
	{ ANSWER, "seq", "-3", "'seq' must be from 1" },
	{ ANSWER, "seq", "18446744073709551616", "'seq' must be from 1" },
	{ ANSWER, "ok", "\"yes\"", "'ok' must be true or false" },
	{ ANSWER, "message", "\"" X64 "\"",
	  "'message' must be a string of at most 63" },
	{ ANSWER, "message", "false", "'message' must be a string" },

	{ HISTORY, "seq", "-1", "'seq' must be from 0 to 4294967295" },
	{ HISTORY, "step", "33", "'step' must be from 0 to 32" },
	{ HISTORY, "phase", "\"done\"", "'phase' is not a rollout's phase" },
	{ HISTORY, "phase", NULL, "'phase' is missing" },
	{ HISTORY, "route", NULL, "'route' must be an object" },
	{ HISTORY, "route", "[]", "'route' must be an object" },
	{ HISTORY, "route.blue", "10001", "'blue' must be from 0 to 10000" },
	{ HISTORY, "route.blue", "8000",
	  "the route's weights must sum to 100%" },
	{ HISTORY, "route.live", "\"canary\"",
	  "its live pool be blue or green" },
	{ HISTORY, "route.live", NULL, "'live' is missing" },
	{ HISTORY, "what", "\"" X64 X64 X64 X64 X64 "\"",
	  "'what' must be a string of at most 299" },
	{ HISTORY, "leader", "\"" X64 "\"",
	  "'leader' must be a string of at most 63" },
};

/* The object at path's parent, and the last part of path. */
static json_object *parent_of(json_object *root, const char *path, char *last,
			      size_t size)
{
	char copy[128], *part, *next;
	json_object *at = root;

	snprintf(copy, sizeof(copy), "%s", path);
	part = copy;
	/* service names hold dots: a counters path's second part is one */
	if (!strncmp(path, "services.", 9)) {
		char *end = strchr(copy + 9, '_');

		json_object_object_get_ex(at, "services", &at);
		part = copy + 9;
		next = end ? strchr(end, '.') : NULL;
		if (!next) {
			snprintf(last, size, "%s", part);
			return at;
		}
		*next = '\0';
		json_object_object_get_ex(at, part, &at);
		part = next + 1;
	}
	while ((next = strchr(part, '.'))) {
		*next = '\0';
		if (json_object_is_type(at, json_type_array))
			at = json_object_array_get_idx(at, atoi(part));
		else if (!json_object_object_get_ex(at, part, &at))
			return NULL;
		part = next + 1;
	}
	snprintf(last, size, "%s", part);
	return at;
}

static char *mutated(const struct mutation *m)
{
	char *valid = valid_text(m->kind), last[128];
	json_object *root = json_tokener_parse(valid), *parent, *value = NULL;

	free(valid);
	if (!root || !(parent = parent_of(root, m->path, last, sizeof(last))))
		return NULL;
	if (m->value && !(value = json_tokener_parse(m->value)) &&
	    strcmp(m->value, "null"))
		return NULL;
	if (json_object_is_type(parent, json_type_array))
		json_object_array_put_idx(parent, atoi(last), value);
	else if (m->value)
		json_object_object_add(parent, last, value);
	else
		json_object_object_del(parent, last);
	valid = strdup(
		json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return valid;
}

static int hostile_fields_are_refused(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *m = &mutations[i];
		char *text = mutated(m), what[160];
		int rc;

		CHECK(text, "row %zu (%s %s) does not apply", i,
		      kind_names[m->kind], m->path);
		snprintf(what, sizeof(what), "row %zu: %s = %s", i, m->path,
			 m->value ? m->value : "(removed)");
		rc = check_refused(m->kind, what, text, strlen(text),
				   m->expect);
		free(text);
		if (rc)
			return -1;
	}
	return 0;
}

/* Counters: names that do not parse, two spellings of one service */
static int hostile_counters_are_refused(const void *arg)
{
	static const struct {
		const char *name, *expect;
	} names[] = {
		{ "10.0.0.1:80/tcp", "is not a service's counters" },
		{ "10.0.0.1:80", "is not a service's counters" },
		{ "", "is not a service's counters" },
		{ "lb-1", "is not a service's counters" },
		{ "[fd00::1]:80_sctp", "is not a service's counters" },
		{ "10.0.0.1:70000_tcp", "is not a service's counters" },
	};
	char text[4096];

	(void)arg;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"services\":{\"10.0.0.2:80_tcp\":{\"blue\":" POOL
			 ",\"green\":" POOL ",\"canary\":" POOL
			 "},\"%s\":{\"blue\":" POOL ",\"green\":" POOL
			 ",\"canary\":" POOL "}}}",
			 names[i].name);
		if (check_refused(COUNTERS, names[i].name, text, strlen(text),
				  names[i].expect))
			return -1;
	}
	static const char *const twice[][2] = {
		{ "10.0.0.1:80_tcp", "10.0.0.1:080_tcp" },
		{ "[fd00::a]:80_tcp", "[FD00:0::A]:80_tcp" },
	};
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"services\":{\"%s\":{\"blue\":" POOL
			 ",\"green\":" POOL ",\"canary\":" POOL
			 "},\"%s\":{\"blue\":" POOL ",\"green\":" POOL
			 ",\"canary\":" POOL "}}}",
			 twice[i][0], twice[i][1]);
		if (check_refused(COUNTERS, twice[i][1], text, strlen(text),
				  "is listed twice"))
			return -1;
	}
	return 0;
}

const struct test_case *fleet_document_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "fleet documents: a route with flush counts reads back",
		  route_round_trip, NULL },
		{ "fleet documents: a host report reads back", host_round_trip,
		  NULL },
		{ "fleet documents: a drain reads back; one without 'drain' is refused",
		  drain_round_trip, NULL },
		{ "fleet documents: counters of IPv4 and IPv6 services read back",
		  counters_round_trip, NULL },
		{ "fleet documents: a rollout record's times come back on the reader's clock",
		  rollout_round_trip, NULL },
		{ "fleet documents: a request of every action reads back",
		  request_round_trip, NULL },
		{ "fleet documents: an answer reads back", answer_round_trip,
		  NULL },
		{ "fleet documents: a history line reads back",
		  history_round_trip, NULL },
		{ "fleet documents: service names round trip (IPv4, IPv6, port 0)",
		  service_names_round_trip, NULL },
		{ "fleet documents: keys join, and split only on their own part",
		  keys_join_and_split, NULL },
		{ "fleet documents: the base value of each kind parses",
		  valid_values_parse, NULL },
		{ "fleet documents: what is not one JSON object is refused by every parser",
		  not_an_object_is_refused, NULL },
		{ "fleet documents: hostile fields are refused with a reason, output zeroed",
		  hostile_fields_are_refused, NULL },
		{ "fleet documents: counters of unparsable or repeated services are refused",
		  hostile_counters_are_refused, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
