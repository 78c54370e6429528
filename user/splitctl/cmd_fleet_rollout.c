// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fleet rollout: an operator's wish for a service's fleet rollout is a
 * numbered request (P requests/SERVICE); the leader takes it and answers
 * (P answers/SERVICE). This waits a bounded time for the answer and says
 * it; a request no leader has taken yet stays, and is taken when one does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/fleet/documents.h"
#include "user/lib/fleet/keys.h"
#include "user/lib/fleet/rollout_doc.h"
#include "user/lib/parse.h"
#include "fleet_conn.h"
#include "splitctl.h"

#define ANSWER_WAIT_MS 10000

/* The service whose route the VIP splits by, from the fleet's document:
 * its own, or the VIP it shares. */
static int service_of(struct fleet_conn *conn, const char *text,
		      struct xs_vip_key *service,
		      struct xs_config_file *document)
{
	char key[XS_FLEET_KEY_SIZE], error[600];
	struct xs_etcd_range range;
	int err;

	if (xs_parse_vip(text, service))
		return usage_error("fleet", "'%s' is not a VIP", text);
	fleet_key(conn, key, "config", NULL);
	err = xs_etcd_get(conn->etcd, key, 0, 0, 0, &range, error,
			  sizeof(error));
	if (err) {
		xs_etcd_range_free(&range);
		return runtime_error("Couldn't read the fleet's document: %s",
				     error);
	}
	if (!range.kv_count ||
	    xs_config_parse_document(
		    range.kvs[0].value, range.kvs[0].value_length,
		    "the fleet's document", document, error, sizeof(error))) {
		xs_etcd_range_free(&range);
		return runtime_error(
			"the fleet has no usable document; put one with 'splitctl fleet apply -f FILE'");
	}
	xs_etcd_range_free(&range);
	for (__u32 v = 0; v < document->vip_count; v++)
		if (!memcmp(&document->vips[v].key, service,
			    sizeof(*service))) {
			if (document->vips[v].has_share)
				*service = document->vips[v].share;
			return EXIT_OK;
		}
	return runtime_error("%s is not in the fleet's document", text);
}

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

/* Waits for the leader's answer to seq: EXIT_OK if it took it. */
static int wait_answer(struct fleet_conn *conn, const char *name, __u64 seq,
		       const char *vip)
{
	char key[XS_FLEET_KEY_SIZE], error[600], message[600];
	__u64 deadline = monotonic_ms() + ANSWER_WAIT_MS;

	fleet_key(conn, key, "answers", name);
	while (monotonic_ms() < deadline) {
		struct xs_etcd_range range;
		__u64 done;
		bool ok;

		if (!xs_etcd_get(conn->etcd, key, 0, 0, 0, &range, error,
				 sizeof(error)) &&
		    range.kv_count &&
		    !xs_fleet_answer_parse(range.kvs[0].value,
					   range.kvs[0].value_length, &done,
					   &ok, message, sizeof(message), error,
					   sizeof(error)) &&
		    done >= seq) {
			xs_etcd_range_free(&range);
			if (done > seq)
				return runtime_error(
					"a later request for %s was taken first; see 'splitctl fleet rollout status %s'",
					vip, vip);
			if (!ok)
				return runtime_error("%s", message);
			ctl_done("%s: %s", vip, message);
			return EXIT_OK;
		}
		xs_etcd_range_free(&range);
		usleep(100 * 1000);
	}
	return runtime_error(
		"request %llu for %s is recorded, but no leader has taken it in %d s: is any splitd of the fleet running? (splitctl fleet status); it is taken when one leads",
		(unsigned long long)seq, vip, ANSWER_WAIT_MS / 1000);
}

/* The words after VIP: --flush for abort and undo, POLICY for start. */
static int parse_request_arguments(enum xs_fleet_action action, int argc,
				   char **argv, struct xs_fleet_request *q)
{
	if (argc < 1)
		return usage_error("fleet", "missing VIP");
	for (int i = 1; i < argc; i++) {
		if ((action == XS_FLEET_ABORT || action == XS_FLEET_UNDO) &&
		    is_keyword(argv[i], "--flush"))
			q->flush = true;
		else if (action == XS_FLEET_START && !q->policy[0] &&
			 strlen(argv[i]) < sizeof(q->policy))
			strcpy(q->policy, argv[i]);
		else
			return usage_error("fleet", "unexpected '%s'", argv[i]);
	}
	return EXIT_OK;
}

/* The number of the service's next request (at key), and the key's mod
 * revision as read (*seen, left 0 if there is no request yet). */
static int next_request_number(struct fleet_conn *conn, const char *key,
			       const char *vip, __u64 *seq, int64_t *seen)
{
	struct xs_fleet_request previous;
	struct xs_etcd_range range;
	char error[600];
	int err;

	err = xs_etcd_get(conn->etcd, key, 0, 0, 0, &range, error,
			  sizeof(error));
	if (err) {
		xs_etcd_range_free(&range);
		return runtime_error("Couldn't read the requests of %s: %s",
				     vip, error);
	}
	*seq = 1;
	if (range.kv_count) {
		*seen = range.kvs[0].mod_revision;
		if (!xs_fleet_request_parse(range.kvs[0].value,
					    range.kvs[0].value_length,
					    &previous, error, sizeof(error)))
			*seq = previous.seq + 1;
		else
			/* above any seq a writer could have used */
			*seq = (__u64)*seen;
	}
	xs_etcd_range_free(&range);
	return EXIT_OK;
}

/* Puts the request over the one read (seen): numbered once, two operators
 * at once each get their own number. */
static int record_request(struct fleet_conn *conn, const char *key,
			  const struct xs_fleet_request *q, int64_t seen,
			  const char *vip)
{
	struct xs_etcd_txn_result result;
	char error[600], *text;
	int err;

	text = xs_fleet_request_format(q);
	if (!text)
		return runtime_error("out of memory");
	err = xs_etcd_txn(conn->etcd,
			  &(struct xs_etcd_compare){ .key = key,
						     .target = XS_ETCD_MOD,
						     .result = XS_ETCD_EQUAL,
						     .number = seen },
			  1,
			  &(struct xs_etcd_op){ .type = XS_ETCD_OP_PUT,
						.key = key,
						.value = text,
						.value_length = strlen(text) },
			  1, NULL, 0, &result, error, sizeof(error));
	free(text);
	if (!err && !result.succeeded) {
		err = -EAGAIN;
		snprintf(error, sizeof(error),
			 "another request for it came first; try again");
	}
	xs_etcd_txn_result_free(&result);
	if (err)
		return runtime_error("Couldn't record the request for %s: %s",
				     vip, error);
	return EXIT_OK;
}

static int request(struct fleet_conn *conn, enum xs_fleet_action action,
		   int argc, char **argv)
{
	static struct xs_config_file document;
	struct xs_fleet_request q = { .action = action };
	char key[XS_FLEET_KEY_SIZE], name[96];
	struct xs_vip_key service;
	int64_t seen = 0;
	int rc;

	rc = parse_request_arguments(action, argc, argv, &q);
	if (!rc)
		rc = service_of(conn, argv[0], &service, &document);
	if (rc)
		return rc;
	xs_fleet_service_name(&service, name, sizeof(name));
	fleet_key(conn, key, "requests", name);
	rc = next_request_number(conn, key, argv[0], &q.seq, &seen);
	if (rc)
		return rc;
	snprintf(q.by, sizeof(q.by), "splitctl (uid %u)", (unsigned)getuid());
	rc = record_request(conn, key, &q, seen, argv[0]);
	if (rc)
		return rc;
	return wait_answer(conn, name, q.seq, argv[0]);
}

static void print_history(struct fleet_conn *conn, const char *name, __u64 id,
			  const struct xs_policy *policy)
{
	char key[XS_FLEET_KEY_SIZE], more[160], error[600];
	struct xs_etcd_range range;

	snprintf(more, sizeof(more), "%s/%llu/", name, (unsigned long long)id);
	fleet_key(conn, key, "history", more);
	if (xs_etcd_get(conn->etcd, key, 0, XS_ETCD_PREFIX, 0, &range, error,
			sizeof(error))) {
		xs_etcd_range_free(&range);
		return;
	}
	out_array_begin("history");
	for (size_t i = 0; i < range.kv_count; i++) {
		struct xs_fleet_history h;

		if (xs_fleet_history_parse(range.kvs[i].value,
					   range.kvs[i].value_length, &h, error,
					   sizeof(error)))
			continue;
		if (out_is_json()) {
			out_object_begin(NULL);
			out_u64("seq", h.seq);
			out_u64("step", xs_rollout_step_number(policy, h.step));
			out_string("phase", xs_phase_name(h.phase));
			out_basis_points("canary",
					 h.route.weight[XS_POOL_CANARY]);
			out_string("live", xs_pool_name(h.route.live_pool));
			out_string("what", h.what);
			out_string("leader", h.leader);
			out_object_end();
		} else {
			printf("  %3u. canary %u.%02u%%, live %-5s %s (by %s)\n",
			       h.seq, h.route.weight[XS_POOL_CANARY] / 100,
			       h.route.weight[XS_POOL_CANARY] % 100,
			       xs_pool_name(h.route.live_pool), h.what,
			       h.leader);
		}
	}
	out_array_end();
	xs_etcd_range_free(&range);
}

/* Each rule's last value against its bound, as the leader measured it
 * (summed over the fleet's hosts). */
static void print_rules(const struct xs_policy *policy,
			const struct xs_rollout *r)
{
	out_array_begin("rules");
	for (__u32 i = 0; policy && i < policy->rule_count; i++) {
		const struct xs_rule *rule = &policy->rules[i];
		const struct xs_measurement *m = &r->last[i];

		if (out_is_json()) {
			out_object_begin(NULL);
			out_string("name", rule->name);
			out_string("metric", xs_metric_name(rule->metric));
			out_bool("valid", m->valid);
			out_double("value", m->value, 4);
			out_u64("samples", m->samples);
			out_u64("consecutive", r->consecutive[i]);
			out_u64("failures", r->total_failures[i]);
			out_object_end();
		} else if (m->valid) {
			printf("  rule %s: %s %.4g over %llu samples (failing %u in a row, %u in all)\n",
			       rule->name, xs_metric_name(rule->metric),
			       m->value, (unsigned long long)m->samples,
			       r->consecutive[i], r->total_failures[i]);
		} else {
			printf("  rule %s: %s, no verdict (%llu samples)\n",
			       rule->name, xs_metric_name(rule->metric),
			       (unsigned long long)m->samples);
		}
	}
	out_array_end();
}

/* The service's rollout record (name: the service's), which must be
 * there. */
static int read_rollout(struct fleet_conn *conn, const char *name,
			const char *vip, struct xs_fleet_rollout *record)
{
	char key[XS_FLEET_KEY_SIZE], error[600];
	struct xs_etcd_range range;

	fleet_key(conn, key, "rollouts", name);
	if (xs_etcd_get(conn->etcd, key, 0, 0, 0, &range, error,
			sizeof(error))) {
		xs_etcd_range_free(&range);
		return runtime_error("Couldn't read the rollout of %s: %s", vip,
				     error);
	}
	if (!range.kv_count ||
	    xs_fleet_rollout_parse(range.kvs[0].value,
				   range.kvs[0].value_length, record, 0, error,
				   sizeof(error))) {
		xs_etcd_range_free(&range);
		return runtime_error(
			"no rollout of %s in the fleet; start one with 'splitctl fleet rollout start %s'",
			vip, vip);
	}
	xs_etcd_range_free(&range);
	return EXIT_OK;
}

/* Where the rollout is, and why: in text its line (and the gate it waits
 * at, if one), in JSON the object's first fields. */
static void print_rollout(const char *vip,
			  const struct xs_fleet_rollout *record,
			  const struct xs_policy *policy)
{
	const struct xs_rollout *r = &record->rollout;
	__u32 step = xs_rollout_step_number(policy, r->step);

	if (out_is_json()) {
		out_string("vip", vip);
		out_u64("id", record->id);
		out_string("policy", record->policy);
		out_string("phase", xs_phase_name(r->phase));
		out_u64("step", step);
		out_u64("steps", policy ? policy->step_count : 0);
		out_basis_points("canary", r->canary_bp);
		out_string("reason", r->reason);
		out_string("leader", record->leader);
		return;
	}
	printf("%s: rollout %llu (policy %s), %s, step %u/%u, canary %u.%02u%%, recorded by %s%s%s\n",
	       vip, (unsigned long long)record->id, record->policy,
	       xs_phase_name(r->phase), step, policy ? policy->step_count : 0,
	       r->canary_bp / 100, r->canary_bp % 100, record->leader,
	       r->reason[0] ? ": " : "", r->reason);
	if (policy && r->step < policy->step_count &&
	    policy->steps[r->step].kind == XS_STEP_GATE &&
	    r->phase == XS_PHASE_RUNNING)
		printf("  waiting at a gate: 'splitctl fleet rollout promote %s' opens it\n",
		       vip);
}

static int status(struct fleet_conn *conn, int argc, char **argv)
{
	static struct xs_config_file document;
	struct xs_fleet_rollout record;
	const struct xs_policy *policy;
	struct xs_vip_key service;
	char name[96];
	int rc;

	if (argc != 1)
		return usage_error("fleet",
				   argc ? "unexpected '%s'" : "missing VIP%s",
				   argc ? argv[1] : "");
	rc = service_of(conn, argv[0], &service, &document);
	if (rc)
		return rc;
	xs_fleet_service_name(&service, name, sizeof(name));
	rc = read_rollout(conn, name, argv[0], &record);
	if (rc)
		return rc;
	policy = xs_config_policy(&document, record.policy);
	if (out_is_json())
		out_object_begin(NULL);
	print_rollout(argv[0], &record, policy);
	print_rules(policy, &record.rollout);
	if (!out_is_json())
		printf("history:\n");
	print_history(conn, name, record.id, policy);
	if (out_is_json()) {
		out_object_end();
		out_finish();
	}
	return EXIT_OK;
}

/* start, pause, resume, promote, abort, undo: the action named as the
 * command under way */
static int action(struct fleet_conn *conn, int argc, char **argv)
{
	const char *name = current_command()->name;

	for (int a = 0; a < XS_FLEET_ACTION_COUNT; a++)
		if (!strcmp(name, xs_fleet_action_name(a)))
			return request(conn, a, argc, argv);
	return runtime_error("no fleet action '%s'", name);
}

const struct command fleet_rollout_commands[] = {
	{ "start", .run_fleet = action, .usage = FORMS("start VIP [ POLICY ]"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT),
				 OPTIONAL("POLICY", VALUE_TEXT)) },
	{ "status", .run_fleet = status, .usage = FORMS("status VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT)) },
	{ "pause", .run_fleet = action, .usage = FORMS("pause VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT)) },
	{ "resume", .run_fleet = action, .usage = FORMS("resume VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT)) },
	{ "promote", .run_fleet = action, .usage = FORMS("promote VIP"),
	  .arguments = ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT)) },
	{ "abort", .run_fleet = action, .usage = FORMS("abort VIP [ --flush ]"),
	  .arguments =
		  ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT), FLAG("--flush")) },
	{ "undo", .run_fleet = action, .usage = FORMS("undo VIP [ --flush ]"),
	  .arguments =
		  ARGUMENTS(POSITIONAL("VIP", VALUE_TEXT), FLAG("--flush")) },
	{ NULL },
};
