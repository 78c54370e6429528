// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The YAML configuration: the example parses; every kind of mistake is
 * refused with its line and field, and leaves an empty config. */
#include <string.h>
#include "user/lib/config.h"
#include "tests.h"

static struct xs_config_file config;

static int example_parses(const void *arg)
{
	char error[512] = "";
	const struct xs_policy *p;

	(void)arg;
	CHECK(xs_config_load("examples/xdpsplit.yaml", &config, error,
			     sizeof(error)) == 0,
	      "%s", error);
	CHECK(config.vip_count == 1 && config.vips[0].backend_count == 6,
	      "vips %u", config.vip_count);
	CHECK(config.vips[0].probe.type == XS_PROBE_TCP &&
		      config.vips[0].probe.timeout_ms == 500,
	      "probe");
	p = xs_config_policy(&config, "canary-then-green");
	CHECK(p && p->step_count == 10 && p->rule_count == 2, "policy");
	CHECK(p->steps[0].kind == XS_STEP_WEIGHTS &&
		      p->steps[0].canary_bp == 100 &&
		      p->steps[6].kind == XS_STEP_GATE &&
		      p->steps[8].kind == XS_STEP_SWITCH &&
		      p->steps[9].duration_ms == 10000,
	      "steps");
	CHECK(p->rules[1].relative && p->rules[1].has_max &&
		      p->rules[1].max == 5,
	      "rules");
	return 0;
}

struct bad_config {
	const char *text;
	const char *expect; /* in the message: position and field */
};

static const struct bad_config bad_configs[] = {
	{ "vips: [", "test.yaml:2:1: not valid YAML" },
	{ "vipz: []", "1:1: (top level): unknown field 'vipz'" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    colour: blue\n",
	  "3:5: vips[0]: unknown field 'colour'" },
	{ "vips:\n  - vip: 10.0.0.1:80\n", "2:10: vips[0].vip:" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    weights: {blue: 50, green: 0, canary: 40}\n",
	  "3:14: vips[0].weights: add up to 90.00%" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    weights: {blue: 100.001}\n",
	  "vips[0].weights.blue: must be a percentage" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    backends:\n      - {address: fd00::1, pool: blue}\n",
	  "4:19: vips[0].backends[0].address: fd00::1 is not of the VIP's IP version" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    backends:\n      - {address: 10.0.1.1, pool: purple}\n",
	  "vips[0].backends[0].pool: must be blue, green or canary" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    backends:\n      - {address: 10.0.1.1, pool: blue, weight: 0}\n",
	  "vips[0].backends[0].weight: must be a whole number from 1 to 65535" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    backends:\n      - {address: 10.0.1.1, pool: blue}\n      - {address: 10.0.1.1, pool: green}\n",
	  "5:9: vips[0].backends[1]: backend 10.0.1.1 is listed twice" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    rollout: nope\n",
	  "vips: VIP 10.0.0.1:80/tcp names rollout 'nope'" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n  - vip: 10.0.0.1:80/tcp\n",
	  "VIP 10.0.0.1:80/tcp is listed twice" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    probe: {type: icmp, port: 80}\n",
	  "vips[0].probe.type: must be tcp or http" },
	{ "vips:\n  - vip: 10.0.0.1:80/tcp\n    probe: {type: tcp, port: 80, interval: 1s, timeout: 2s}\n",
	  "vips[0].probe: timeout must be shorter than interval" },
	{ "rollouts:\n  - name: r\n    steps: [{pause: 10 seconds}]\n",
	  "rollouts[0].steps[0].pause: must be a duration" },
	{ "rollouts:\n  - name: r\n    steps: [{pause: 1s, gate: x}]\n",
	  "rollouts[0].steps[0]: a step is one of" },
	{ "rollouts:\n  - name: r\n    steps: []\n",
	  "rollouts[0].steps: must be a list of steps" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n    analysis:\n      - {name: a, metric: cpu, min: 1}\n",
	  "rollouts[0].analysis[0].metric: must be handshake_ratio" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n    analysis:\n      - {name: a, metric: handshake_ratio}\n",
	  "rollouts[0].analysis[0]: needs 'min', 'max' or both" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n    analysis:\n      - {name: a, prometheus: 127.0.0.1:9090, query: up, max: 1}\n",
	  "rollouts[0].analysis[0].prometheus: must be an http:// or https:// URL" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n  - name: r\n    steps: [switch]\n",
	  "two policies are named 'r'" },
	{ "rollouts:\n  - name: \"r 1\"\n    steps: [switch]\n",
	  "rollouts[0].name: 'r 1': letters, digits" },
	{ "rollouts:\n  - name: r\n    on_failure: panic\n    steps: [switch]\n",
	  "rollouts[0].on_failure: must be rollback or pause" },
	{ "interfaces:\n  - {name: eth0, mode: turbo}\n",
	  "interfaces[0]: mode must be native or generic" },
	{ "daemon: {interval: 10ms}\n", "daemon.interval: must be from 50ms" },
	{ "", "the file is empty" },
	/* 2^61 + 1 seconds wrap around to 1000 ms in 64 bits */
	{ "daemon: {interval: 2305843009213693953s}\n",
	  "daemon.interval: must be from 50ms to 24 hours" },
	{ "daemon: {interval: 99999999999999999999999ms}\n",
	  "daemon.interval: must be from 50ms to 24 hours" },
	{ "rollouts:\n  - name: r\n    steps: [{bake: 307445734561825861m}]\n",
	  "rollouts[0].steps[0].bake: must be from 0ms to 24 hours" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n    analysis:\n      - {name: a, metric: handshake_ratio, max: 1e999}\n",
	  "rollouts[0].analysis[0].max: must be a finite number" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\n    analysis:\n      - {name: a, metric: handshake_ratio, min: 1, min_samples: 4294967296}\n",
	  "rollouts[0].analysis[0].min_samples: must be a whole number" },
	{ "vips: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "test.yaml:1:38: nested more than 32 levels deep" },
};

static int bad_configs_name_line_and_field(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]);
	     i++) {
		char error[512] = "";
		int err = xs_config_parse(bad_configs[i].text,
					  strlen(bad_configs[i].text),
					  "test.yaml", &config, error,
					  sizeof(error));

		CHECK(err != 0, "accepted:\n%s", bad_configs[i].text);
		CHECK(strstr(error, bad_configs[i].expect),
		      "config %zu: message '%s' lacks '%s'", i, error,
		      bad_configs[i].expect);
		CHECK(config.vip_count == 0 && config.policy_count == 0,
		      "a refused config left content behind");
	}
	return 0;
}

const struct test_case *config_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "config: the example parses into VIPs, probes and a policy",
		  example_parses, NULL },
		{ "config: 32 bad files are refused with line and field",
		  bad_configs_name_line_and_field, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
