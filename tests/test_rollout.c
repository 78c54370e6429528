// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rollout state machine with a clock the test controls. */
#include <errno.h>
#include <string.h>
#include "user/lib/rollout.h"
#include "tests.h"

#define SECOND 1000ULL

/* weights 1% -> pause 10 s -> 5% -> gate -> switch -> bake 30 s */
static void policy(struct xs_policy *p, enum xs_on_failure on_failure)
{
	memset(p, 0, sizeof(*p));
	p->steps[0] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 100 };
	p->steps[1] = (struct xs_step){ .kind = XS_STEP_PAUSE,
					.duration_ms = 10 * SECOND };
	p->steps[2] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 500 };
	p->steps[3] = (struct xs_step){ .kind = XS_STEP_GATE };
	p->steps[4] =
		(struct xs_step){ .kind = XS_STEP_WEIGHTS, .canary_bp = 0 };
	p->steps[5] = (struct xs_step){ .kind = XS_STEP_SWITCH };
	p->steps[6] = (struct xs_step){ .kind = XS_STEP_BAKE,
					.duration_ms = 30 * SECOND };
	p->step_count = 7;
	p->rules[0] = (struct xs_rule){ .name = "handshakes",
					.metric = XS_METRIC_HANDSHAKE_RATIO,
					.pool = XS_POOL_CANARY,
					.has_min = true,
					.min = 0.95,
					.min_samples = 20,
					.failures = 2,
					.failure_limit = 3 };
	p->rule_count = 1;
	p->on_failure = on_failure;
	p->flush_canary_on_rollback = true;
	p->interval_ms = SECOND;
}

static const struct xs_route all_blue = { .weight = { 10000, 0, 0 },
					  .live_pool = XS_POOL_BLUE };
static const struct xs_measurement healthy = { .valid = true,
					       .value = 0.99,
					       .samples = 100 };
static const struct xs_measurement failing = { .valid = true,
					       .value = 0.50,
					       .samples = 100 };
static const struct xs_measurement too_few = { .valid = false,
					       .value = 0.0,
					       .samples = 3 };

static int route_is(const struct xs_actions *a, __u16 blue, __u16 green,
		    __u16 canary, __u8 live)
{
	return a->write_route && a->route.weight[0] == blue &&
	       a->route.weight[1] == green && a->route.weight[2] == canary &&
	       a->route.live_pool == live;
}

static int steps_pauses_gate_switch_bake(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	CHECK(route_is(&a, 9900, 0, 100, XS_POOL_BLUE) && r.step == 1,
	      "start: canary 1%% and waiting in the pause");
	CHECK(xs_rollout_start(&p, &r, &all_blue, 0, &a) == -EBUSY,
	      "second start");
	xs_rollout_tick(&p, &r, 9 * SECOND, &healthy, &a);
	CHECK(!a.write_route && r.step == 1, "the pause ended early");
	xs_rollout_tick(&p, &r, 10 * SECOND, &healthy, &a);
	CHECK(route_is(&a, 9500, 0, 500, XS_POOL_BLUE) && r.step == 3,
	      "after the pause: 5%% and at the gate (step %u)", r.step);
	xs_rollout_tick(&p, &r, 100 * SECOND, &healthy, &a);
	CHECK(!a.write_route && r.step == 3, "the gate opened by itself");
	CHECK_OK(xs_rollout_promote(&p, &r, 101 * SECOND, &a));
	CHECK(route_is(&a, 0, 10000, 0, XS_POOL_GREEN) && r.step == 6,
	      "promote: canary off and switched to green");
	xs_rollout_tick(&p, &r, 130 * SECOND, &healthy, &a);
	CHECK(r.phase == XS_PHASE_RUNNING, "the bake ended early");
	xs_rollout_tick(&p, &r, 131 * SECOND, &healthy, &a);
	CHECK(r.phase == XS_PHASE_SUCCEEDED && !a.write_route,
	      "after the bake");
	CHECK_OK(xs_rollout_undo(&r, false, &a));
	CHECK(route_is(&a, 10000, 0, 0, XS_POOL_BLUE) &&
		      r.phase == XS_PHASE_ROLLED_BACK &&
		      !a.flush[XS_POOL_CANARY],
	      "undo brings blue back, the canary drains");
	CHECK_OK(xs_rollout_undo(&r, false, &a));
	CHECK(!a.write_route && !a.changed, "a second undo changed something");
	return 0;
}

static int pause_stops_the_clock(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	CHECK_OK(xs_rollout_pause(&r, 4 * SECOND, &a));
	CHECK_OK(xs_rollout_pause(&r, 5 * SECOND, &a)); /* again: harmless */
	xs_rollout_tick(&p, &r, 60 * SECOND, &healthy, &a);
	CHECK(r.step == 1 && r.phase == XS_PHASE_PAUSED, "moved while paused");
	CHECK_OK(xs_rollout_resume(&r, 60 * SECOND, &a));
	xs_rollout_tick(&p, &r, 65 * SECOND, &healthy, &a);
	CHECK(r.step == 1, "6 s of pause ran as 10 s");
	xs_rollout_tick(&p, &r, 66 * SECOND, &healthy, &a);
	CHECK(r.step == 3, "the pause did not end after 10 running seconds");
	CHECK(xs_rollout_promote(&p, &r, 66 * SECOND, &a) == 0 && r.step == 6,
	      "promote at the gate");
	CHECK(xs_rollout_promote(&p, &r, 67 * SECOND, &a) == -EINVAL,
	      "promote in a bake is not a gate");
	return 0;
}

static int consecutive_failures_roll_back(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	xs_rollout_tick(&p, &r, 1 * SECOND, &failing, &a);
	CHECK(r.phase == XS_PHASE_RUNNING && !a.write_route,
	      "one failing interval of two needed rolled back");
	xs_rollout_tick(&p, &r, 2 * SECOND, &failing, &a);
	CHECK(r.phase == XS_PHASE_ROLLED_BACK &&
		      route_is(&a, 10000, 0, 0, XS_POOL_BLUE) &&
		      a.flush[XS_POOL_CANARY],
	      "rollback in the interval of the breach");
	CHECK(strstr(r.reason, "handshakes") != NULL, "reason: %s", r.reason);
	CHECK_OK(xs_rollout_abort(&r, "again", false, &a));
	CHECK(!a.write_route && r.phase == XS_PHASE_ROLLED_BACK,
	      "replaying a rollback changed something");
	return 0;
}

static int failure_limit_and_min_samples(const void *arg)
{
	const struct xs_measurement *pattern[] = {
		&failing, &healthy, &too_few, &failing, &healthy, &failing
	};
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	for (int i = 0; i < 100; i++) {
		xs_rollout_tick(&p, &r, SECOND / 10, &too_few, &a);
		CHECK(r.phase == XS_PHASE_RUNNING,
		      "a verdict on too few samples");
	}
	for (int i = 0; i < 6; i++) {
		xs_rollout_tick(&p, &r, SECOND / 10, pattern[i], &a);
		CHECK((r.phase == XS_PHASE_ROLLED_BACK) == (i == 5),
		      "interval %d: phase %s (limit is 3 failures in all)", i,
		      xs_phase_name(r.phase));
	}
	return 0;
}

static int failure_can_pause_instead(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_PAUSE);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	xs_rollout_tick(&p, &r, SECOND, &failing, &a);
	xs_rollout_tick(&p, &r, 2 * SECOND, &failing, &a);
	CHECK(r.phase == XS_PHASE_PAUSED && !a.write_route,
	      "pause policy: phase %s", xs_phase_name(r.phase));
	CHECK_OK(xs_rollout_resume(&r, 3 * SECOND, &a));
	CHECK(r.phase == XS_PHASE_RUNNING && r.consecutive[0] == 0,
	      "resume starts the failures afresh");
	return 0;
}

static int rollback_after_switch_restores_old_color(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	xs_rollout_tick(&p, &r, 10 * SECOND, &healthy, &a);
	xs_rollout_promote(&p, &r, 11 * SECOND, &a);
	CHECK(r.switched, "not switched");
	xs_rollout_tick(&p, &r, 12 * SECOND, &failing, &a);
	xs_rollout_tick(&p, &r, 13 * SECOND, &failing, &a);
	CHECK(route_is(&a, 10000, 0, 0, XS_POOL_BLUE) &&
		      r.phase == XS_PHASE_ROLLED_BACK,
	      "blue not restored");
	CHECK(xs_rollout_pause(&r, 14 * SECOND, &a) == -EINVAL,
	      "pause after the end");
	return 0;
}

/* One number for a step everywhere: the index plus one while under way,
 * the last step once past it, as status, metrics and the audit log show. */
static int step_numbers(const void *arg)
{
	struct xs_policy p;
	struct xs_rollout r = { 0 };
	struct xs_actions a;

	(void)arg;
	policy(&p, XS_ON_FAILURE_ROLLBACK);
	CHECK_OK(xs_rollout_start(&p, &r, &all_blue, 0, &a));
	CHECK(xs_rollout_step_number(&p, r.step) == 2, "in the pause: step %u",
	      xs_rollout_step_number(&p, r.step));
	CHECK_OK(xs_rollout_promote(&p, &r, 10 * SECOND, &a));
	xs_rollout_tick(&p, &r, 11 * SECOND, &healthy, &a);
	CHECK_OK(xs_rollout_promote(&p, &r, 12 * SECOND, &a));
	xs_rollout_tick(&p, &r, 100 * SECOND, &healthy, &a);
	CHECK(r.phase == XS_PHASE_SUCCEEDED && r.step == p.step_count,
	      "finished past the last step (%s, index %u)",
	      xs_phase_name(r.phase), r.step);
	CHECK(xs_rollout_step_number(&p, r.step) == p.step_count,
	      "finished: step %u of %u", xs_rollout_step_number(&p, r.step),
	      p.step_count);
	CHECK(xs_rollout_step_number(NULL, 4) == 5,
	      "no policy: the index plus one");
	return 0;
}

const struct test_case *rollout_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "rollout: steps, pause, gate, switch, bake, undo",
		  steps_pauses_gate_switch_bake, NULL },
		{ "rollout: a pause stops the step clock",
		  pause_stops_the_clock, NULL },
		{ "rollout: consecutive failures roll back at once",
		  consecutive_failures_roll_back, NULL },
		{ "rollout: failure limit counts; too few samples never fail",
		  failure_limit_and_min_samples, NULL },
		{ "rollout: on_failure pause pauses instead",
		  failure_can_pause_instead, NULL },
		{ "rollout: rollback after a switch restores the old color",
		  rollback_after_switch_restores_old_color, NULL },
		{ "rollout: step numbers are 1-based and end on the last step",
		  step_numbers, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
