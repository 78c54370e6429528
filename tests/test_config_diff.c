// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The diff of configurations (config_tree.h): its field table names every
 * member of the configuration's structs as the compiler laid them out
 * (their BTF), every field it shows changes its line when its bytes
 * change, edits of the example give exactly their line, and splitd's
 * record of its applied settings reads back as it was written.
 */
#include <bpf/btf.h>
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/applied_settings.h"
#include "user/lib/config_fields.h"
#include "tests.h"

static struct xs_config_file config, copy;

/* Every kind of field with a value: an http probe, a shared VIP, a MAC, a
 * PromQL rule with a tab and a newline in its query, generic mode. */
static const char rich_config[] =
	"interfaces:\n"
	"  - {name: eth0, mode: generic}\n"
	"daemon: {interval: 500ms, metrics: 127.0.0.1:9999}\n"
	"vips:\n"
	"  - vip: 10.0.0.1:80/tcp\n"
	"    mode: ipip\n"
	"    split: client\n"
	"    weights: {blue: 90, green: 0, canary: 10}\n"
	"    probe: {type: http, port: 8080, path: /healthz, status: 204,\n"
	"            interval: 2s, timeout: 1s, rise: 3, fall: 4}\n"
	"    rollout: ramp\n"
	"    backends:\n"
	"      - {address: 10.1.0.1, pool: blue, weight: 7, mac: 02:00:00:00:00:01}\n"
	"      - {address: 10.1.0.2, pool: canary}\n"
	"  - vip: \"[fd00::1]:80/tcp\"\n"
	"    share: 10.0.0.1:80/tcp\n"
	"    backends:\n"
	"      - {address: \"fd00::1:1\", pool: green}\n"
	"rollouts:\n"
	"  - name: ramp\n"
	"    interval: 2s\n"
	"    on_failure: pause\n"
	"    flush_canary: false\n"
	"    steps:\n"
	"      - weights: {canary: 12.5}\n"
	"      - pause: 1m\n"
	"      - gate\n"
	"      - switch\n"
	"      - bake: 30s\n"
	"    analysis:\n"
	"      - {name: hs, metric: handshake_ratio, pool: green, relative: true,\n"
	"         min: 0.5, max: 2.5, min_samples: 7, failures: 2, failure_limit: 9}\n"
	"      - {name: errors, prometheus: \"http://127.0.0.1:9090\",\n"
	"         query: \"sum(rate(x[1m]))\\t/\\n2\", max: 0.1}\n"
	"    webhooks:\n"
	"      - {name: chat, url: 'https://h.example/x', events: [started, rolled-back],\n"
	"         timeout: 3s, retries: 5, headers: {X-A: b}, token_file: /etc/t}\n"
	"      - {name: ok, type: gate, url: 'http://h/', interval: 7s, timeout: 1s}\n";

static const char fleet_host[] =
	"interfaces: [{name: eth1}]\n"
	"fleet:\n"
	"  host: lb7\n"
	"  etcd: [http://10.0.0.9:2379, http://10.0.0.10:2379]\n"
	"  prefix: /fleet/\n"
	"  lease: 4s\n"
	"  announce: {device: xs-vips, table: 90}\n";

static int parse(const char *text, struct xs_config_file *out)
{
	char error[512] = "";

	CHECK(xs_config_parse(text, strlen(text), "test.yaml", out, error,
			      sizeof(error)) == 0,
	      "%s", error);
	return 0;
}

static struct btf *config_btf(void)
{
	const char *build = getenv("XDPSPLIT_BUILD");
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/btf/config_types.bpf.o",
		 build ? build : "build");
	return btf__parse_elf(path, NULL);
}

static const struct btf_member *
member_named(const struct btf *btf, const struct btf_type *t, const char *name)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return m;
	return NULL;
}

/* Structs shown (or hidden) whole, as one value: a VIP's key (its
 * identity, or the VIP it shares), its weights. Any other struct a
 * member holds (or an array of) has fields the diff must walk. */
static bool holds_fields(const struct btf *btf, __u32 type)
{
	static const char *const values[] = { "xs_vip_key", "xs_route" };
	const struct btf_type *t =
		btf__type_by_id(btf, btf__resolve_type(btf, type));

	while (btf_is_array(t))
		t = btf__type_by_id(btf,
				    btf__resolve_type(btf, btf_array(t)->type));
	if (!btf_is_struct(t) && !btf_is_union(t))
		return false;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (!strcmp(btf__name_by_offset(btf, t->name_off), values[i]))
			return false;
	return true;
}

static int check_section(const struct btf *btf, const struct xs_section *s)
{
	int id = btf__find_by_name_kind(btf, s->type, BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_member *m;

	CHECK(t, "struct %s is not in the BTF", s->type);
	CHECK(t->size == s->size, "struct %s: %u bytes in BTF, %zu here",
	      s->type, t->size, s->size);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		const struct xs_field *f = s->fields;

		while (f->member && strcmp(f->member, name))
			f++;
		CHECK(f->member,
		      "%s.%s is not in config_fields.c: the diff would skip it (show it, or hide it and say why)",
		      s->type, name);
		CHECK(btf_member_bit_offset(t, i) == f->offset * 8,
		      "%s.%s: the table's offset is not the struct's", s->type,
		      name);
		CHECK(f->section || !holds_fields(btf, m->type),
		      "%s.%s holds fields of its own: it needs its section, it cannot be hidden or shown whole",
		      s->type, name);
	}
	for (const struct xs_field *f = s->fields; f->member; f++) {
		CHECK(member_named(btf, t, f->member), "%s.%s: no such member",
		      s->type, f->member);
		CHECK(f->key ? (f->format != NULL) != (f->section != NULL) :
			       f->not_shown != NULL,
		      "%s.%s: a field is shown (a formatter or a section) or hidden with a reason",
		      s->type, f->member);
		if (f->section && check_section(btf, f->section))
			return -1;
	}
	return 0;
}

static int table_names_every_member(const void *arg)
{
	struct btf *btf = config_btf();
	int err;

	(void)arg;
	CHECK(btf,
	      "no BTF of the configuration's structs: make builds tests/btf/config_types.bpf.o");
	err = check_section(btf, &xs_config_schema);
	btf__free(btf);
	return err;
}

/* Mutation: each shown leaf the configuration has, one byte changed. */
struct mutation {
	const struct btf *btf;
	const struct xs_config_file *original;
	struct xs_tree before;
	const struct xs_field *reached[256];
	size_t reached_count;
};

static const struct btf_type *resolved(const struct btf *btf, __u32 type,
				       __u32 *id)
{
	*id = btf__resolve_type(btf, type);
	return btf__type_by_id(btf, *id);
}

static int mutate_leaf(struct mutation *m, const struct xs_field *f, size_t at,
		       const struct btf_type *type)
{
	struct xs_tree after;
	struct xs_diff diff;
	int ok;

	/* a number's low byte, a double's exponent, a string's first
	 * character, a struct's first byte */
	if (btf_is_float(type))
		at += type->size - 1;
	memcpy(&copy, m->original, sizeof(copy));
	((unsigned char *)&copy)[at] ^= 0x01;
	CHECK_OK(xs_config_tree(&copy, &after));
	CHECK_OK(xs_tree_diff(&m->before, &after, &diff));
	ok = diff.count >= 1 && (diff.lines[0].sign != '~' ||
				 !strcmp(diff.lines[0].field, f->key));
	if (!ok)
		fprintf(stderr, "    %s: %zu lines, first: %s\n", f->member,
			diff.count, diff.count ? diff.lines[0].text : "-");
	xs_diff_free(&diff);
	xs_tree_free(&after);
	CHECK(ok, "a change of %s ('%s') is not in the diff", f->member,
	      f->key);
	if (m->reached_count < sizeof(m->reached) / sizeof(m->reached[0]))
		m->reached[m->reached_count++] = f;
	return 0;
}

static int visit(struct mutation *m, const struct xs_section *s, size_t base,
		 __u32 type_id)
{
	const struct btf_type *t = btf__type_by_id(m->btf, type_id);
	const char *bytes = (const char *)m->original;

	for (const struct xs_field *f = s->fields; f->member; f++) {
		const struct btf_member *member =
			member_named(m->btf, t, f->member);
		size_t at = base + f->offset;
		const struct btf_type *mt;
		__u32 id;

		CHECK(member, "%s.%s", s->type, f->member);
		mt = resolved(m->btf, member->type, &id);
		if (!f->key)
			continue;
		if (f->format) {
			if (f->given >= 0 && !bytes[base + (size_t)f->given])
				continue;
			if (mutate_leaf(m, f, at, mt))
				return -1;
		} else if (f->list) {
			__u32 count = *(const __u32 *)(bytes + base + f->count);
			__u32 element;

			resolved(m->btf, btf_array(mt)->type, &element);
			for (__u32 i = 0; i < count; i++)
				if (visit(m, f->section,
					  at + i * f->section->size, element))
					return -1;
		} else if (!f->section->present ||
			   f->section->present(bytes + at)) {
			if (visit(m, f->section, at, id))
				return -1;
		}
	}
	return 0;
}

static bool reached(const struct mutation *m, const struct xs_field *f)
{
	for (size_t i = 0; i < m->reached_count; i++)
		if (m->reached[i] == f)
			return true;
	return false;
}

/* Every shown leaf of the table was in one of the test's files. */
static int all_reached(const struct mutation *m, const struct xs_section *s)
{
	for (const struct xs_field *f = s->fields; f->member; f++) {
		if (f->key && f->format)
			CHECK(reached(m, f),
			      "%s.%s is in no test configuration: add it to rich_config",
			      s->type, f->member);
		if (f->section && all_reached(m, f->section))
			return -1;
	}
	return 0;
}

static int every_shown_field_changes_its_line(const void *arg)
{
	static struct xs_config_file files[2];
	struct mutation m = { .btf = config_btf() };
	int root, err = 0;

	(void)arg;
	CHECK(m.btf, "no BTF of the configuration's structs");
	root = btf__find_by_name_kind(m.btf, "xs_config_file", BTF_KIND_STRUCT);
	if (parse(rich_config, &files[0]) || parse(fleet_host, &files[1]))
		err = -1;
	for (int i = 0; !err && i < 2; i++) {
		m.original = &files[i];
		CHECK_OK(xs_config_tree(&files[i], &m.before));
		err = visit(&m, &xs_config_schema, 0, (__u32)root);
		xs_tree_free(&m.before);
	}
	if (!err)
		err = all_reached(&m, &xs_config_schema);
	btf__free((struct btf *)m.btf);
	return err;
}

struct edit {
	const char *from, *to;
	const char *line; /* the one line of the diff */
};

static const struct edit edits[] = {
	{ "{address: 10.77.0.32, pool: canary, weight: 1}",
	  "{address: 10.77.0.32, pool: canary, weight: 200}",
	  "~ vip 10.77.100.1:80/tcp backend 10.77.0.32 weight 1 -> 200" },
	{ "{address: 10.77.0.12, pool: blue}",
	  "{address: 10.77.0.12, pool: green}",
	  "~ vip 10.77.100.1:80/tcp backend 10.77.0.12 pool blue -> green" },
	{ "      - {address: 10.77.0.22, pool: green}\n", "",
	  "- vip 10.77.100.1:80/tcp backend 10.77.0.22" },
	{ "      - {address: 10.77.0.22, pool: green}\n",
	  "      - {address: 10.77.0.22, pool: green}\n      - {address: 10.77.0.23, pool: green, mac: 02:00:00:00:00:23}\n",
	  "+ vip 10.77.100.1:80/tcp backend 10.77.0.23 pool green weight 1 mac 02:00:00:00:00:23" },
	{ "weights: {blue: 100, green: 0, canary: 0}",
	  "weights: {blue: 95, green: 0, canary: 5}",
	  "~ vip 10.77.100.1:80/tcp weights blue 100 green 0 canary 0 live blue -> blue 95 green 0 canary 5 live blue" },
	{ "timeout: 500ms", "timeout: 250ms",
	  "~ vip 10.77.100.1:80/tcp probe timeout 500ms -> 250ms" },
	{ "on_failure: rollback", "on_failure: pause",
	  "~ policy canary-then-green on_failure rollback -> pause" },
	{ "      - pause: 5s\n      - gate", "      - pause: 7s\n      - gate",
	  "~ policy canary-then-green step 6 is pause 5s -> pause 7s" },
	{ "        max: 5\n", "        max: 4.5\n",
	  "~ policy canary-then-green rule canary-latency max 5 -> 4.5" },
	{ "interval: 1s              # counters", "interval: 2s # counters",
	  "~ daemon interval 1s -> 2s" },
	{ "mode: native", "mode: generic",
	  "~ interface eth0 mode native -> generic" },
	{ "    split: flow ", "    split: client ",
	  "~ vip 10.77.100.1:80/tcp split flow -> client" },
};

static char *read_text(const char *path)
{
	FILE *in = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;

	if (!in)
		return NULL;
	if (getdelim(&text, &size, '\0', in) < 0) {
		free(text);
		text = NULL;
	}
	fclose(in);
	return text;
}

static char *edited(const char *text, const struct edit *e)
{
	const char *at = strstr(text, e->from);
	char *out;

	if (!at)
		return NULL;
	out = malloc(strlen(text) + strlen(e->to) + 1);
	if (out)
		sprintf(out, "%.*s%s%s", (int)(at - text), text, e->to,
			at + strlen(e->from));
	return out;
}

static int example_edits_give_their_line(const void *arg)
{
	static struct xs_config_file before, after;
	char *text, *changed, error[512];
	struct xs_tree old_tree, new_tree;
	struct xs_diff diff;

	(void)arg;
	text = read_text("examples/xdpsplit.yaml");
	CHECK(text, "examples/xdpsplit.yaml");
	CHECK_OK(parse(text, &before));
	CHECK_OK(xs_config_tree(&before, &old_tree));
	CHECK_OK(xs_tree_diff(&old_tree, &old_tree, &diff));
	CHECK(diff.count == 0, "a file against itself: %s", diff.lines[0].text);
	xs_diff_free(&diff);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		changed = edited(text, &edits[i]);
		CHECK(changed, "the example lacks '%s'", edits[i].from);
		CHECK(xs_config_parse(changed, strlen(changed), "edited.yaml",
				      &after, error, sizeof(error)) == 0,
		      "%s", error);
		free(changed);
		CHECK_OK(xs_config_tree(&after, &new_tree));
		CHECK_OK(xs_tree_diff(&old_tree, &new_tree, &diff));
		CHECK(diff.count == 1 &&
			      !strcmp(diff.lines[0].text, edits[i].line),
		      "edit %zu: %zu lines, first '%s', expected '%s'", i,
		      diff.count, diff.count ? diff.lines[0].text : "",
		      edits[i].line);
		xs_diff_free(&diff);
		xs_tree_free(&new_tree);
	}
	xs_tree_free(&old_tree);
	free(text);
	return 0;
}

/* A new policy gives its own line and its steps', nothing for a part it
 * lacks: no "+ policy P webhooks" when it has none. */
static int new_policy_gives_only_its_lines(const void *arg)
{
	static const char *const wanted[] = {
		"+ policy quick on_failure rollback flush_canary true interval 1s",
		"+ policy quick step 1 is switch",
	};
	static const struct edit added = {
		"rollouts:\n",
		"rollouts:\n  - name: quick\n    steps:\n      - switch\n", NULL
	};
	static struct xs_config_file before, after;
	struct xs_tree old_tree, new_tree;
	char *text, *changed;
	struct xs_diff diff;

	(void)arg;
	text = read_text("examples/xdpsplit.yaml");
	CHECK(text, "examples/xdpsplit.yaml");
	changed = edited(text, &added);
	CHECK(changed, "the example has no 'rollouts:'");
	CHECK_OK(parse(text, &before));
	CHECK_OK(parse(changed, &after));
	free(changed);
	free(text);
	CHECK_OK(xs_config_tree(&before, &old_tree));
	CHECK_OK(xs_config_tree(&after, &new_tree));
	CHECK_OK(xs_tree_diff(&old_tree, &new_tree, &diff));
	for (size_t i = 0; i < diff.count; i++)
		CHECK(i < 2 && !strcmp(diff.lines[i].text, wanted[i]),
		      "line %zu of %zu: '%s'", i + 1, diff.count,
		      diff.lines[i].text);
	CHECK(diff.count == 2, "%zu lines", diff.count);
	xs_diff_free(&diff);
	xs_tree_free(&old_tree);
	xs_tree_free(&new_tree);
	return 0;
}

static int record_in(const char *dir)
{
	char error[512] = "", path[600];
	FILE *damaged;
	struct xs_tree record, wanted = { 0 }, all;
	struct xs_diff diff;
	bool found = true;
	int err;

	CHECK_OK(xs_applied_settings_load(dir, &record, &found, error,
					  sizeof(error)));
	CHECK(!found && record.count == 0, "a record where there is none");
	CHECK_OK(parse(rich_config, &config));
	CHECK_OK(xs_applied_settings_save(dir, &config));
	err = xs_applied_settings_load(dir, &record, &found, error,
				       sizeof(error));
	CHECK(err == 0 && found, "%s", error);
	CHECK_OK(xs_config_tree(&config, &all));
	/* all of splitd's, also those of the VIPs (a probe, a rollout) */
	for (size_t i = 0; i < all.count; i++)
		if (all.entries[i].held_by == XS_HELD_BY_SPLITD)
			CHECK_OK(xs_tree_add(
				&wanted, all.entries[i].parent,
				all.entries[i].key, all.entries[i].path,
				all.entries[i].value, XS_HELD_BY_SPLITD));
	CHECK_OK(xs_tree_diff(&wanted, &record, &diff));
	CHECK(diff.count == 0 && record.count == wanted.count &&
		      record.count > 50,
	      "%zu entries read back, %zu written; first difference: %s",
	      record.count, wanted.count,
	      diff.count ? diff.lines[0].text : "-");
	{
		bool found = false;

		/* the query with its tab and newline, wherever it is listed */
		for (size_t i = 0; i < record.count; i++)
			found |= record.entries[i].value &&
				 strstr(record.entries[i].value, "\t/\n2");
		CHECK(found, "the query did not come back whole");
	}
	xs_diff_free(&diff);
	xs_tree_free(&record);
	xs_tree_free(&wanted);
	xs_tree_free(&all);
	snprintf(path, sizeof(path), "%s/%s", dir, XS_APPLIED_SETTINGS_NAME);
	damaged = fopen(path, "w");
	CHECK(damaged, "%s", path);
	fputs("xdpsplit-applied-settings 1\nv\tdaemon interval\t\tinterval\t1s\nx\n",
	      damaged);
	fclose(damaged);
	error[0] = '\0';
	err = xs_applied_settings_load(dir, &record, &found, error,
				       sizeof(error));
	CHECK(err == -EINVAL &&
		      strstr(error, "settings.applied:3: damaged line") &&
		      record.count == 0,
	      "a damaged record: %d '%s'", err, error);
	return 0;
}

static int record_reads_back(const void *arg)
{
	char dir[] = "/tmp/xdpsplit-test-settings-XXXXXX", path[600];
	int err;

	(void)arg;
	CHECK(mkdtemp(dir), "mkdtemp");
	err = record_in(dir);
	/* whatever failed: the directory goes */
	snprintf(path, sizeof(path), "%s/%s", dir, XS_APPLIED_SETTINGS_NAME);
	unlink(path);
	rmdir(dir);
	return err;
}

/* The largest configuration: 64 VIPs of 64 backends and 16 policies of
 * 32 steps and 8 rules, against itself with every backend's weight
 * changed. */
static int full_configuration_diffs_fast(const void *arg)
{
	static struct xs_config_file big, bigger;
	struct xs_tree old_tree, new_tree;
	struct timespec start, end;
	struct xs_diff diff;
	double ms;

	(void)arg;
	CHECK_OK(parse(rich_config, &big));
	big.vip_count = XS_CONFIG_MAX_VIPS;
	for (__u32 v = 0; v < XS_CONFIG_MAX_VIPS; v++) {
		struct xs_config_vip *vip = &big.vips[v];

		*vip = big.vips[0];
		vip->key.address[0] = htonl(0x0a000000 + v);
		vip->backend_count = XS_CONFIG_MAX_BACKENDS;
		for (__u32 b = 0; b < XS_CONFIG_MAX_BACKENDS; b++) {
			vip->backends[b] = big.vips[0].backends[0];
			vip->backends[b].address[0] = htonl(0x0a010000 + b);
			snprintf(vip->backends[b].text,
				 sizeof(vip->backends[b].text), "10.1.0.%u", b);
		}
	}
	big.policy_count = XS_CONFIG_MAX_POLICIES;
	for (__u32 p = 0; p < XS_CONFIG_MAX_POLICIES; p++) {
		big.policies[p] = big.policies[0];
		snprintf(big.policies[p].name, sizeof(big.policies[p].name),
			 "p%u", p);
		big.policies[p].step_count = XS_MAX_STEPS;
		big.policies[p].rule_count = XS_MAX_RULES;
	}
	bigger = big;
	for (__u32 v = 0; v < XS_CONFIG_MAX_VIPS; v++)
		for (__u32 b = 0; b < XS_CONFIG_MAX_BACKENDS; b++)
			bigger.vips[v].backends[b].weight++;
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_OK(xs_config_tree(&big, &old_tree));
	CHECK_OK(xs_config_tree(&bigger, &new_tree));
	CHECK_OK(xs_tree_diff(&old_tree, &new_tree, &diff));
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1e3 +
	     (end.tv_nsec - start.tv_nsec) / 1e6;
	printf("    %zu + %zu entries, %zu lines in %.1f ms\n", old_tree.count,
	       new_tree.count, diff.count, ms);
	CHECK(diff.count == XS_CONFIG_MAX_VIPS * XS_CONFIG_MAX_BACKENDS,
	      "%zu lines", diff.count);
	CHECK(ms < 2000, "%.0f ms", ms);
	xs_diff_free(&diff);
	xs_tree_free(&old_tree);
	xs_tree_free(&new_tree);
	return 0;
}

const struct test_case *config_diff_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "config diff: the field table names every member of the configuration's structs (BTF)",
		  table_names_every_member, NULL },
		{ "config diff: every field shown changes its line when its bytes change",
		  every_shown_field_changes_its_line, NULL },
		{ "config diff: edits of the example give exactly their line",
		  example_edits_give_their_line, NULL },
		{ "config diff: a new policy gives its lines, none for a part it lacks",
		  new_policy_gives_only_its_lines, NULL },
		{ "config diff: splitd's record of its applied settings reads back",
		  record_reads_back, NULL },
		{ "config diff: the largest configuration diffs in milliseconds",
		  full_configuration_diffs_fast, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
