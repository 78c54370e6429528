// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Webhooks: the 'webhooks:' list of a policy parses with its defaults;
 * every mistake is refused with its line and field; each rollout
 * transition makes the events it should, in order; the JSON body holds
 * what a receiver needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "user/lib/config.h"
#include "user/lib/webhook.h"
#include "tests.h"

static struct xs_config_file config;

#define POLICY                                                                 \
	"rollouts:\n  - name: r\n    steps: [{weights: {canary: 5}}, gate, {pause: 1s}]\n"

static const char good[] = POLICY
	"    webhooks:\n"
	"      - name: chat\n"
	"        url: https://hooks.example.com/xdpsplit\n"
	"        events: [started, rolled-back, succeeded]\n"
	"        timeout: 500ms\n"
	"        retries: 2\n"
	"        headers: {X-Team: lb}\n"
	"        token_file: /etc/xdpsplit/chat.token\n"
	"      - name: approve\n"
	"        type: gate\n"
	"        url: http://10.0.0.5:8080/approve\n"
	"        interval: 2s\n"
	"      - {name: all, url: 'http://[fd00::1]:81/'}\n";

static int webhooks_parse(const void *arg)
{
	char error[512] = "";
	const struct xs_webhooks *w;

	(void)arg;
	CHECK(xs_config_parse(good, strlen(good), "test.yaml", &config, error,
			      sizeof(error)) == 0,
	      "%s", error);
	w = &config.policies[0].webhooks;
	CHECK(w->count == 3, "count %u", w->count);
	CHECK(w->hooks[0].kind == XS_WEBHOOK_NOTIFY &&
		      w->hooks[0].events == ((1u << XS_WEBHOOK_STARTED) |
					     (1u << XS_WEBHOOK_ROLLED_BACK) |
					     (1u << XS_WEBHOOK_SUCCEEDED)),
	      "events %x", w->hooks[0].events);
	CHECK(w->hooks[0].timeout_ms == 500 && w->hooks[0].retries == 2,
	      "timing");
	CHECK(w->hooks[0].header_count == 1 &&
		      !strcmp(w->hooks[0].headers[0].name, "X-Team") &&
		      !strcmp(w->hooks[0].headers[0].value, "lb"),
	      "headers");
	CHECK(!strcmp(w->hooks[0].token_file, "/etc/xdpsplit/chat.token"),
	      "token_file");
	CHECK(w->hooks[1].kind == XS_WEBHOOK_GATEKEEPER &&
		      w->hooks[1].interval_ms == 2000 &&
		      w->hooks[1].events == 0 &&
		      w->hooks[1].timeout_ms == XS_WEBHOOK_DEFAULT_TIMEOUT_MS,
	      "gate");
	CHECK(w->hooks[2].events == XS_WEBHOOK_ALL_EVENTS &&
		      w->hooks[2].retries == XS_WEBHOOK_DEFAULT_RETRIES,
	      "defaults");
	return 0;
}

/* several policies share one list through a YAML anchor */
static int anchor_shares_webhooks(const void *arg)
{
	static const char text[] =
		"rollouts:\n"
		"  - name: a\n    steps: [switch]\n    webhooks: &hooks\n"
		"      - {name: chat, url: 'http://h/'}\n"
		"  - name: b\n    steps: [switch]\n    webhooks: *hooks\n";
	char error[512] = "";

	(void)arg;
	CHECK(xs_config_parse(text, strlen(text), "t.yaml", &config, error,
			      sizeof(error)) == 0,
	      "%s", error);
	CHECK(config.policies[1].webhooks.count == 1 &&
		      !strcmp(config.policies[1].webhooks.hooks[0].url,
			      "http://h/"),
	      "the second policy's webhooks");
	return 0;
}

/* the example an operator starts from */
static int example_parses(const void *arg)
{
	char error[512] = "";
	const struct xs_policy *p;

	(void)arg;
	CHECK(xs_config_load("examples/webhooks.yaml", &config, error,
			     sizeof(error)) == 0,
	      "%s", error);
	p = xs_config_policy(&config, "canary-approved");
	CHECK(p && p->webhooks.count == 2 &&
		      p->webhooks.hooks[0].events == XS_WEBHOOK_ALL_EVENTS &&
		      p->webhooks.hooks[1].kind == XS_WEBHOOK_GATEKEEPER &&
		      p->webhooks.hooks[1].interval_ms == 10000,
	      "webhooks");
	return 0;
}

/* splitd(8) lists every event of the table */
static int man_page_lists_every_event(const void *arg)
{
	static char page[1 << 17];
	FILE *file = fopen("doc/splitd.8", "r");
	size_t length;

	(void)arg;
	CHECK(file, "doc/splitd.8");
	length = fread(page, 1, sizeof(page) - 1, file);
	fclose(file);
	page[length] = '\0';
	for (int e = 0; e < XS_WEBHOOK_EVENT_COUNT; e++) {
		char entry[64];

		snprintf(entry, sizeof(entry), "\n.TP\n.B %s\n",
			 xs_webhook_event_name(e));
		CHECK(strstr(page, entry), "splitd(8) lacks the event %s",
		      xs_webhook_event_name(e));
	}
	return 0;
}

/* every event name of the table is accepted; the message lists them all */
static int event_names_from_one_table(const void *arg)
{
	char text[2048], error[512] = "", list[200];

	(void)arg;
	xs_webhook_event_list(list, sizeof(list));
	for (int e = 0; e < XS_WEBHOOK_EVENT_COUNT; e++) {
		snprintf(
			text, sizeof(text),
			POLICY
			"    webhooks: [{name: a, url: 'http://h/', events: [%s]}]\n",
			xs_webhook_event_name(e));
		CHECK(xs_config_parse(text, strlen(text), "t.yaml", &config,
				      error, sizeof(error)) == 0,
		      "%s: %s", xs_webhook_event_name(e), error);
		CHECK(config.policies[0].webhooks.hooks[0].events == 1u << e,
		      "%s", xs_webhook_event_name(e));
		CHECK(strstr(list, xs_webhook_event_name(e)), "list %s", list);
	}
	snprintf(
		text, sizeof(text),
		POLICY
		"    webhooks: [{name: a, url: 'http://h/', events: [finished]}]\n");
	CHECK(xs_config_parse(text, strlen(text), "t.yaml", &config, error,
			      sizeof(error)) != 0,
	      "accepted 'finished'");
	CHECK(strstr(error, list), "message '%s' lacks the list '%s'", error,
	      list);
	return 0;
}

static const struct {
	const char *webhooks;
	const char *expect;
} bad[] = {
	{ "    webhooks: [{name: a, url: 'ftp://h/'}]\n",
	  "t.yaml:4:31: rollouts[0].webhooks[0].url: 'ftp://h/' is not an http:// or https:// URL" },
	{ "    webhooks: [{name: a, url: 'http://:80/'}]\n",
	  "rollouts[0].webhooks[0].url: 'http://:80/' names no host" },
	{ "    webhooks: [{name: a, url: 'http://h/a b'}]\n",
	  "webhooks[0].url: a URL holds no space" },
	{ "    webhooks:\n      - name: a\n        url: http://h/\n        events: [started, done]\n",
	  "t.yaml:7:27: rollouts[0].webhooks[0].events: unknown event 'done'" },
	{ "    webhooks: [{name: a, url: 'http://h/', events: [step, step]}]\n",
	  "events: event 'step' given twice" },
	{ "    webhooks: [{name: a, url: 'http://h/', events: []}]\n",
	  "webhooks[0].events: must be a list of events" },
	{ "    webhooks: [{name: a, url: 'http://h/', timeout: 50ms}]\n",
	  "webhooks[0].timeout: must be from 100ms" },
	{ "    webhooks: [{name: a, url: 'http://h/', timeout: 61s}]\n",
	  "webhooks[0].timeout: must be from 100ms to 60s" },
	{ "    webhooks: [{name: a, url: 'http://h/', retries: 11}]\n",
	  "webhooks[0].retries: must be a whole number from 0 to 10" },
	{ "    webhooks: [{name: a, url: 'http://h/', interval: 5s}]\n",
	  "'interval' is a gate webhook's" },
	{ "    webhooks: [{name: a, type: gate, url: 'http://h/', retries: 1}]\n",
	  "a gate webhook has no 'retries'" },
	{ "    webhooks: [{name: a, type: gate, url: 'http://h/', interval: 1s, timeout: 2s}]\n",
	  "timeout must not be longer than interval" },
	{ "    webhooks: [{name: a, type: approve, url: 'http://h/'}]\n",
	  "webhooks[0].type: must be notify or gate" },
	{ "    webhooks: [{name: a, url: 'http://h/'}, {name: a, url: 'http://g/'}]\n",
	  "webhooks[1].name: two webhooks are named 'a'" },
	{ "    webhooks: [{name: 'a b', url: 'http://h/'}]\n",
	  "webhooks[0].name: 'a b': letters, digits" },
	{ "    webhooks: [{name: a}]\n", "webhooks[0]: missing 'url'" },
	{ "    webhooks: [{url: 'http://h/'}]\n",
	  "webhooks[0]: missing 'name'" },
	{ "    webhooks: [{name: a, url: 'http://h/', colour: red}]\n",
	  "webhooks[0]: unknown field 'colour'" },
	{ "    webhooks: [{name: a, url: 'http://h/', headers: {Authorization: 'Bearer x'}}]\n",
	  "no Authorization header here: put the token in a file" },
	{ "    webhooks: [{name: a, url: 'http://h/', headers: {'X A': b}}]\n",
	  "'X A' is not an HTTP header name" },
	{ "    webhooks: [{name: a, url: 'http://h/', headers: {X-A: \"b\\r\\nX-B: c\"}}]\n",
	  "a header value holds no control character" },
	{ "    webhooks: [{name: a, url: 'http://h/', token_file: token}]\n",
	  "webhooks[0].token_file: must be an absolute path" },
	{ "    webhooks: [{name: a, url: 'http://h/'}, {name: b, url: 'http://h/'}, {name: c, url: 'http://h/'}, {name: d, url: 'http://h/'}, {name: e, url: 'http://h/'}]\n",
	  "webhooks[4]: more than 4 webhooks" },
	{ "    webhooks: {name: a}\n",
	  "rollouts[0].webhooks: must be a list of webhooks" },
};

static int bad_webhooks_name_line_and_field(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[2048], error[512] = "";

		snprintf(text, sizeof(text), "%s%s", POLICY, bad[i].webhooks);
		CHECK(xs_config_parse(text, strlen(text), "t.yaml", &config,
				      error, sizeof(error)) != 0,
		      "accepted:\n%s", text);
		CHECK(strstr(error, bad[i].expect),
		      "%zu: message '%s' lacks '%s'", i, error, bad[i].expect);
		CHECK(config.policy_count == 0,
		      "a refused config left content");
	}
	/* a gate webhook needs a gate to open */
	{
		const char *text =
			"rollouts:\n  - name: r\n    steps: [switch]\n"
			"    webhooks: [{name: a, type: gate, url: 'http://h/'}]\n";
		char error[512] = "";

		CHECK(xs_config_parse(text, strlen(text), "t.yaml", &config,
				      error, sizeof(error)) != 0,
		      "accepted a gate without gate");
		CHECK(strstr(error,
			     "t.yaml:4:32: rollouts[0].webhooks[0].type: the policy has no gate step"),
		      "%s", error);
	}
	return 0;
}

/* events of each transition, through the real state machine */
static int transitions_make_their_events(const void *arg)
{
	struct xs_policy p = { .step_count = 4, .interval_ms = 1000 };
	struct xs_route route = { .weight = { 10000, 0, 0 },
				  .live_pool = XS_POOL_BLUE };
	struct xs_rollout before = { 0 }, r = { 0 };
	struct xs_measurement m[XS_MAX_RULES] = { 0 };
	enum xs_webhook_event e[XS_WEBHOOK_EVENT_COUNT];
	struct xs_actions a;
	size_t n;

	(void)arg;
	p.steps[0] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 500 };
	p.steps[1] = (struct xs_step){ .kind = XS_STEP_GATE };
	p.steps[2] =
		(struct xs_step){ .kind = XS_STEP_PAUSE, .duration_ms = 1000 };
	p.steps[3] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 2500 };
	CHECK_OK(xs_rollout_start(&p, &r, &route, 0, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 3 && e[0] == XS_WEBHOOK_STARTED && e[1] == XS_WEBHOOK_STEP &&
		      e[2] == XS_WEBHOOK_GATE,
	      "start: %zu events", n);
	before = r;
	CHECK_OK(xs_rollout_pause(&r, 10, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 1 && e[0] == XS_WEBHOOK_PAUSED, "pause: %zu", n);
	before = r;
	CHECK_OK(xs_rollout_resume(&r, 20, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 2 && e[0] == XS_WEBHOOK_RESUMED && e[1] == XS_WEBHOOK_GATE,
	      "resume at a gate: %zu", n);
	before = r;
	xs_rollout_tick(&p, &r, 30, m, &a); /* nothing happens */
	CHECK(xs_webhook_events(&p, &before, &r, e) == 0, "a quiet tick");
	CHECK_OK(xs_rollout_promote(&p, &r, 40, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 1 && e[0] == XS_WEBHOOK_STEP && r.step == 2, "promote: %zu",
	      n);
	before = r;
	xs_rollout_tick(&p, &r, 2000, m, &a); /* pause over, last step, done */
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 1 && e[0] == XS_WEBHOOK_SUCCEEDED, "succeeded: %zu", n);
	before = r;
	CHECK_OK(xs_rollout_undo(&r, false, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 1 && e[0] == XS_WEBHOOK_ROLLED_BACK, "undo: %zu", n);
	memset(&before, 0, sizeof(before));
	memset(&r, 0, sizeof(r));
	CHECK_OK(xs_rollout_start(&p, &r, &route, 0, &a));
	before = r;
	CHECK_OK(xs_rollout_abort(&r, "aborted by an operator", false, &a));
	n = xs_webhook_events(&p, &before, &r, e);
	CHECK(n == 1 && e[0] == XS_WEBHOOK_ABORTED, "abort: %zu", n);
	return 0;
}

/* a rollback by a rule: the body names the rule and its values */
static int rollback_body_has_the_rule(const void *arg)
{
	struct xs_policy p = { .name = "canary",
			       .step_count = 2,
			       .rule_count = 1,
			       .interval_ms = 1000 };
	struct xs_route route = { .weight = { 10000, 0, 0 },
				  .live_pool = XS_POOL_BLUE };
	struct xs_measurement m[XS_MAX_RULES] = {
		{ .valid = true, .value = 0.5, .samples = 40 }
	};
	struct xs_webhook_context c = { .event = "rolled-back",
					.id = "abc",
					.time = "2026-01-01T00:00:00.000Z",
					.host = "lb1",
					.vip = "10.0.0.1:80/tcp",
					.policy = &p,
					.webhook = "chat" };
	struct xs_rollout r = { 0 };
	struct xs_actions a;
	json_object *o, *v;
	char *body;

	(void)arg;
	p.steps[0] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 500 };
	p.steps[1] =
		(struct xs_step){ .kind = XS_STEP_PAUSE, .duration_ms = 60000 };
	p.rules[0] = (struct xs_rule){ .name = "handshakes",
				       .metric = XS_METRIC_HANDSHAKE_RATIO,
				       .pool = XS_POOL_CANARY,
				       .has_min = true,
				       .min = 0.9,
				       .failures = 1 };
	CHECK_OK(xs_rollout_start(&p, &r, &route, 0, &a));
	xs_rollout_tick(&p, &r, 1000, m, &a);
	CHECK(r.phase == XS_PHASE_ROLLED_BACK, "phase %d", r.phase);
	c.rollout = &r;
	body = xs_webhook_body(&c);
	CHECK(body, "no body");
	o = json_tokener_parse(body);
	CHECK(o, "not JSON: %s", body);
	CHECK(json_object_object_get_ex(o, "failed_rule", &v) &&
		      !strcmp(json_object_get_string(
				      json_object_object_get(v, "rule")),
			      "handshakes") &&
		      json_object_get_double(
			      json_object_object_get(v, "value")) == 0.5 &&
		      json_object_get_double(
			      json_object_object_get(v, "min")) == 0.9,
	      "failed_rule in %s", body);
	CHECK(strstr(json_object_get_string(json_object_object_get(o, "reason")),
		     "handshakes: "),
	      "reason in %s", body);
	CHECK(json_object_get_int(json_object_object_get(o, "step")) == 2 &&
		      json_object_get_int(json_object_object_get(o, "steps")) ==
			      2 &&
		      json_object_get_double(json_object_object_get(
			      json_object_object_get(o, "weights"),
			      "canary")) == 0,
	      "step and weights in %s", body);
	CHECK(!strcmp(json_object_get_string(json_object_object_get(o, "id")),
		      "abc"),
	      "id");
	json_object_put(o);
	free(body);
	return 0;
}

const struct test_case *webhook_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "webhooks: a policy's webhooks parse with defaults",
		  webhooks_parse, NULL },
		{ "webhooks: examples/webhooks.yaml parses", example_parses,
		  NULL },
		{ "webhooks: policies share a list through a YAML anchor",
		  anchor_shares_webhooks, NULL },
		{ "webhooks: splitd(8) lists every event",
		  man_page_lists_every_event, NULL },
		{ "webhooks: event names come from one table",
		  event_names_from_one_table, NULL },
		{ "webhooks: bad webhooks are refused with line and field",
		  bad_webhooks_name_line_and_field, NULL },
		{ "webhooks: each transition makes its events in order",
		  transitions_make_their_events, NULL },
		{ "webhooks: a rollback's body names the rule and its values",
		  rollback_body_has_the_rule, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
