// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The configuration's 'fleet:' section, and the fleet's document (the
 * VIPs and rollouts in etcd) beside a host's own file: defaults, every
 * field, refusals naming the field, and the merge of the two. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/config.h"
#include "tests.h"

static struct xs_config_file config, document, merged;

static int parse_text(const char *text, struct xs_config_file *out, char *error,
		      size_t size)
{
	return xs_config_parse(text, strlen(text), "host.yaml", out, error,
			       size);
}

static int fleet_defaults(const void *arg)
{
	char error[512] = "", host[64] = "";
	const struct xs_config_fleet *f = &config.fleet;

	(void)arg;
	CHECK(!gethostname(host, sizeof(host) - 1), "gethostname");
	if (!host[0] ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") != strlen(host))
		SKIP("this machine's name '%s' is not one fleet.host takes",
		     host);
	CHECK(parse_text("fleet:\n  etcd: [http://127.0.0.1:2379]\n", &config,
			 error, sizeof(error)) == 0,
	      "%s", error);
	CHECK(f->enabled && f->endpoint_count == 1 &&
		      !strcmp(f->endpoints[0], "http://127.0.0.1:2379"),
	      "endpoints");
	CHECK(!strcmp(f->prefix, "/xdpsplit/") && f->lease_ms == 3000 &&
		      !strcmp(f->device, "xsplit-vips") && f->table == 80,
	      "prefix %s lease %u device %s table %u", f->prefix, f->lease_ms,
	      f->device, f->table);
	CHECK(!strcmp(f->host, host), "host '%s', gethostname '%s'", f->host,
	      host);
	/* no fleet section: not in a fleet */
	CHECK(parse_text("daemon: {interval: 1s}\n", &config, error,
			 sizeof(error)) == 0 &&
		      !config.fleet.enabled,
	      "%s", error);
	return 0;
}

static int fleet_every_field(const void *arg)
{
	static const char *text = "fleet:\n"
				  "  host: lb-7.dc_2\n"
				  "  etcd:\n"
				  "    - http://10.0.0.1:2379\n"
				  "    - https://etcd-2.example:2379\n"
				  "    - \"http://[fd00::1]:2379\"\n"
				  "  prefix: /fleets/prod/\n"
				  "  lease: 10s\n"
				  "  announce: {device: vips0, table: 252}\n";
	char error[512] = "";
	const struct xs_config_fleet *f = &config.fleet;

	(void)arg;
	CHECK(parse_text(text, &config, error, sizeof(error)) == 0, "%s",
	      error);
	CHECK(!strcmp(f->host, "lb-7.dc_2") && f->endpoint_count == 3 &&
		      !strcmp(f->endpoints[1], "https://etcd-2.example:2379") &&
		      !strcmp(f->endpoints[2], "http://[fd00::1]:2379"),
	      "host %s", f->host);
	CHECK(!strcmp(f->prefix, "/fleets/prod/") && f->lease_ms == 10000 &&
		      !strcmp(f->device, "vips0") && f->table == 252,
	      "prefix %s lease %u device %s table %u", f->prefix, f->lease_ms,
	      f->device, f->table);
	/* eight endpoints are the most */
	CHECK(parse_text(
		      "fleet:\n  etcd: [http://a:1, http://b:1, http://c:1, http://d:1,"
		      " http://e:1, http://f:1, http://g:1, http://h:1]\n",
		      &config, error, sizeof(error)) == 0 &&
		      f->endpoint_count == 8,
	      "%s", error);
	return 0;
}

struct bad_fleet {
	const char *text;
	const char *expect;
};

#define ETCD "  etcd: [http://127.0.0.1:2379]\n"

static const struct bad_fleet bad_fleets[] = {
	{ "fleet:\n  host: lb-1\n",
	  "host.yaml:2:3: fleet.etcd: is missing: a list of etcd client URLs" },
	{ "fleet:\n  etcd: []\n", "fleet.etcd: must be a list" },
	{ "fleet:\n  etcd: http://127.0.0.1:2379\n",
	  "fleet.etcd: must be a list" },
	{ "fleet:\n  etcd: [ftp://127.0.0.1:2379]\n",
	  "2:10: fleet.etcd: 'ftp://127.0.0.1:2379' is not an http:// or https:// URL" },
	{ "fleet:\n  etcd: [127.0.0.1:2379]\n",
	  "is not an http:// or https:// URL" },
	{ "fleet:\n  etcd: [\"http://etcd 1:2379\"]\n",
	  "fleet.etcd: a URL holds no space or control character" },
	{ "fleet:\n  etcd: [\"http://etcd\\t1:2379\"]\n",
	  "a URL holds no space" },
	{ "fleet:\n  etcd: [\"http://\"]\n",
	  "fleet.etcd: 'http://' names no host" },
	{ "fleet:\n  etcd: [\"https://:2379\"]\n",
	  "'https://:2379' names no host" },
	{ "fleet:\n  etcd: [[http://a:1]]\n",
	  "fleet.etcd: must be a plain value" },
	{ "fleet:\n  etcd: [http://a:1, http://b:1, http://c:1, http://d:1, http://e:1,"
	  " http://f:1, http://g:1, http://h:1, http://i:1]\n",
	  "fleet.etcd: more than 8 endpoints" },
	{ "fleet:\n  host: lb/1\n" ETCD,
	  "2:9: fleet.host: 'lb/1' is not a host name of letters, digits" },
	{ "fleet:\n  host: \"lb 1\"\n" ETCD,
	  "fleet.host: 'lb 1' is not a host name" },
	{ "fleet:\n  host: \"\"\n" ETCD, "fleet.host: '' is not a host name" },
	{ "fleet:\n  host: "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" ETCD,
	  "fleet.host: longer than 63 characters" },
	{ "fleet:\n" ETCD "  prefix: xdpsplit/\n",
	  "3:11: fleet.prefix: must start and end with '/'" },
	{ "fleet:\n" ETCD "  prefix: /xdpsplit\n",
	  "fleet.prefix: must start and end with '/'" },
	{ "fleet:\n" ETCD "  prefix: /\n",
	  "fleet.prefix: must start and end with '/'" },
	{ "fleet:\n" ETCD "  prefix: \"/x dp/\"\n",
	  "fleet.prefix: holds no space" },
	{ "fleet:\n" ETCD "  lease: 2500ms\n",
	  "3:10: fleet.lease: must be whole seconds" },
	{ "fleet:\n" ETCD "  lease: 1s\n",
	  "fleet.lease: must be from 2000ms to 24 hours" },
	{ "fleet:\n" ETCD "  lease: 1999ms\n",
	  "fleet.lease: must be from 2000ms" },
	{ "fleet:\n" ETCD "  lease: 3\n", "fleet.lease: must be a duration" },
	{ "fleet:\n" ETCD "  announce: {table: 0}\n",
	  "fleet.announce.table: must be a whole number from 1 to 252" },
	{ "fleet:\n" ETCD "  announce: {table: 253}\n",
	  "fleet.announce.table: must be a whole number from 1 to 252" },
	{ "fleet:\n" ETCD "  announce: {table: 300}\n",
	  "fleet.announce.table: must be a whole number from 1 to 252" },
	{ "fleet:\n" ETCD "  announce: {device: xsplit-vips-long}\n",
	  "fleet.announce.device: longer than 15 characters" },
	{ "fleet:\n" ETCD "  announce: {device: \"vips/0\"}\n",
	  "fleet.announce.device: 'vips/0' is not an interface name" },
	{ "fleet:\n" ETCD "  announce: {dev: vips0}\n",
	  "fleet.announce: unknown field 'dev'" },
	{ "fleet:\n" ETCD "  leader: true\n",
	  "3:3: fleet: unknown field 'leader'" },
	{ "fleet:\n" ETCD "  etcd: [http://b:1]\n",
	  "fleet: field 'etcd' given twice" },
	{ "fleet: on\n", "fleet: must be a mapping" },
	{ "fleet:\n" ETCD "vips:\n  - vip: 10.0.0.1:80/tcp\n",
	  "fleet: in a fleet the VIPs and rollouts are the fleet's, in etcd: put them there with 'splitctl fleet apply -f FILE'" },
	{ "rollouts:\n  - name: r\n    steps: [switch]\nfleet:\n" ETCD,
	  "'splitctl fleet apply -f FILE'" },
};

static int bad_fleets_name_the_field(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(bad_fleets) / sizeof(bad_fleets[0]);
	     i++) {
		char error[512] = "";
		int err = parse_text(bad_fleets[i].text, &config, error,
				     sizeof(error));

		CHECK(err != 0, "accepted:\n%s", bad_fleets[i].text);
		CHECK(strstr(error, bad_fleets[i].expect),
		      "fleet %zu: message '%s' lacks '%s'", i, error,
		      bad_fleets[i].expect);
		CHECK(!config.fleet.enabled && config.vip_count == 0,
		      "a refused file left content behind");
	}
	return 0;
}

#define DOCUMENT                                                               \
	"vips:\n"                                                              \
	"  - vip: 10.77.100.1:80/tcp\n"                                        \
	"    rollout: r\n"                                                     \
	"    backends:\n"                                                      \
	"      - {address: 10.77.0.11, pool: blue}\n"                          \
	"  - vip: \"[fd77::1]:443/tcp\"\n"                                     \
	"rollouts:\n"                                                          \
	"  - name: r\n"                                                        \
	"    steps: [{weights: {canary: 5}}, switch]\n"

static int document_is_vips_and_rollouts(const void *arg)
{
	static const struct {
		const char *text, *expect;
	} refused[] = {
		{ "interfaces:\n  - {name: eth0}\n" DOCUMENT,
		  "fleet.yaml:1:1: (top level): unknown field 'interfaces'" },
		{ DOCUMENT "daemon: {interval: 1s}\n",
		  "(top level): unknown field 'daemon'" },
		{ DOCUMENT "fleet:\n" ETCD,
		  "(top level): unknown field 'fleet'" },
		{ "vips:\n  - vip: 10.0.0.1:80\n",
		  "fleet.yaml:2:10: vips[0].vip:" },
	};
	char error[512] = "";

	(void)arg;
	CHECK(xs_config_parse_document(DOCUMENT, strlen(DOCUMENT), "fleet.yaml",
				       &document, error, sizeof(error)) == 0,
	      "%s", error);
	CHECK(document.vip_count == 2 && document.policy_count == 1 &&
		      !strcmp(document.vips[0].rollout, "r") &&
		      document.vips[0].backend_count == 1 &&
		      !document.fleet.enabled,
	      "vips %u policies %u", document.vip_count, document.policy_count);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		error[0] = '\0';
		CHECK(xs_config_parse_document(refused[i].text,
					       strlen(refused[i].text),
					       "fleet.yaml", &document, error,
					       sizeof(error)) == -EINVAL,
		      "accepted:\n%s", refused[i].text);
		CHECK(strstr(error, refused[i].expect), "'%s' lacks '%s'",
		      error, refused[i].expect);
		CHECK(document.vip_count == 0 && document.policy_count == 0,
		      "a refused document left content behind");
	}
	return 0;
}

static int merge_keeps_the_host_and_takes_the_document(const void *arg)
{
	static const char *local =
		"interfaces:\n  - {name: eth1, mode: generic}\n"
		"daemon: {interval: 250ms, metrics: 127.0.0.1:9999}\n"
		"fleet:\n  host: lb-1\n" ETCD "  table: 90\n";
	static const char *local_ok =
		"interfaces:\n  - {name: eth1, mode: generic}\n"
		"daemon: {interval: 250ms, metrics: 127.0.0.1:9999}\n"
		"fleet:\n  host: lb-1\n" ETCD "  announce: {table: 90}\n";
	char error[512] = "";

	(void)arg;
	/* table belongs under announce */
	CHECK(parse_text(local, &config, error, sizeof(error)) == -EINVAL &&
		      strstr(error, "fleet: unknown field 'table'"),
	      "%s", error);
	CHECK(parse_text(local_ok, &config, error, sizeof(error)) == 0, "%s",
	      error);
	CHECK(xs_config_parse_document(DOCUMENT, strlen(DOCUMENT), "fleet.yaml",
				       &document, error, sizeof(error)) == 0,
	      "%s", error);
	xs_config_merge_document(&config, &document, &merged);
	CHECK(merged.interface_count == 1 &&
		      !strcmp(merged.interfaces[0].name, "eth1") &&
		      merged.interfaces[0].generic,
	      "interfaces");
	CHECK(merged.interval_ms == 250 &&
		      !strcmp(merged.metrics, "127.0.0.1:9999"),
	      "daemon %u %s", merged.interval_ms, merged.metrics);
	CHECK(merged.fleet.enabled && !strcmp(merged.fleet.host, "lb-1") &&
		      merged.fleet.table == 90,
	      "fleet");
	CHECK(merged.vip_count == 2 && merged.policy_count == 1 &&
		      !memcmp(merged.vips, document.vips,
			      sizeof(merged.vips)) &&
		      !memcmp(merged.policies, document.policies,
			      sizeof(merged.policies)),
	      "vips %u policies %u", merged.vip_count, merged.policy_count);
	/* in place, and a new document replaces the old one's VIPs whole */
	CHECK(xs_config_parse_document("vips:\n  - vip: 10.9.9.9:53/udp\n", 31,
				       "fleet.yaml", &document, error,
				       sizeof(error)) == 0,
	      "%s", error);
	xs_config_merge_document(&merged, &document, &merged);
	CHECK(merged.vip_count == 1 && merged.policy_count == 0 &&
		      merged.interface_count == 1 && merged.fleet.enabled,
	      "in place: vips %u policies %u", merged.vip_count,
	      merged.policy_count);
	return 0;
}

/* examples/fleet.yaml and examples/fleet-host.yaml, as an operator takes
 * them: the document as 'splitctl fleet apply' parses it, the host's file
 * as splitd loads it, and the two merged as a host runs them. */
static int the_examples_parse(const void *arg)
{
	char error[512] = "", *text = NULL;
	size_t length = 0;
	FILE *file;

	(void)arg;
	CHECK(xs_config_load("examples/fleet-host.yaml", &config, error,
			     sizeof(error)) == 0,
	      "%s", error);
	CHECK(config.fleet.enabled && !strcmp(config.fleet.host, "lb1") &&
		      config.fleet.endpoint_count == 3 &&
		      config.fleet.lease_ms == 3000 &&
		      !strcmp(config.fleet.prefix, "/xdpsplit/") &&
		      !strcmp(config.fleet.device, "xsplit-vips") &&
		      config.fleet.table == 80 && config.interface_count == 1 &&
		      config.vip_count == 0,
	      "fleet-host.yaml: host %s, %u endpoints", config.fleet.host,
	      config.fleet.endpoint_count);
	file = fopen("examples/fleet.yaml", "r");
	CHECK(file, "examples/fleet.yaml: %s", strerror(errno));
	text = malloc(1 << 20);
	CHECK(text, "out of memory");
	length = fread(text, 1, (1 << 20) - 1, file);
	fclose(file);
	text[length] = '\0';
	if (xs_config_parse_document(text, length, "examples/fleet.yaml",
				     &document, error, sizeof(error))) {
		free(text);
		CHECK(false, "%s", error);
	}
	free(text);
	/* the demo's (make demo-fleet): a ramp judged by two rules, one of
	 * them PromQL, and a release through a gate */
	CHECK(document.vip_count == 1 && document.policy_count == 2 &&
		      !strcmp(document.vips[0].rollout, "canary-ramp") &&
		      xs_config_policy(&document, "canary-ramp") &&
		      xs_config_policy(&document, "canary-ramp")->rule_count ==
			      2 &&
		      xs_config_policy(&document, "canary-then-green"),
	      "fleet.yaml: %u VIPs, %u policies", document.vip_count,
	      document.policy_count);
	xs_config_merge_document(&config, &document, &merged);
	CHECK(merged.fleet.enabled && merged.vip_count == 1 &&
		      merged.interface_count == 1,
	      "merged");
	return 0;
}

const struct test_case *fleet_config_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "config: fleet: a section with only etcd takes the defaults",
		  fleet_defaults, NULL },
		{ "config: fleet: every field set", fleet_every_field, NULL },
		{ "config: fleet: bad sections are refused naming the field",
		  bad_fleets_name_the_field, NULL },
		{ "config: fleet: a document is VIPs and rollouts only",
		  document_is_vips_and_rollouts, NULL },
		{ "config: fleet: the merge keeps the host's sections, takes the document's",
		  merge_keeps_the_host_and_takes_the_document, NULL },
		{ "config: fleet: the examples parse", the_examples_parse,
		  NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
