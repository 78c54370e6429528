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

/* A rollout of policy() and the actions of its last call. */
struct run {
	struct xs_policy p;
	struct xs_rollout r;
	struct xs_actions a;
};

/* policy() with this on_failure, started at 0 on an all-blue route */
static int start(struct run *t, enum xs_on_failure on_failure)
{
	memset(t, 0, sizeof(*t));
	policy(&t->p, on_failure);
	return xs_rollout_start(&t->p, &t->r, &all_blue, 0, &t->a);
}

static void tick(struct run *t, __u64 now_ms, const struct xs_measurement *m)
{
	xs_rollout_tick(&t->p, &t->r, now_ms, m, &t->a);
}

static int promote(struct run *t, __u64 now_ms)
{
	return xs_rollout_promote(&t->p, &t->r, now_ms, &t->a);
}

static int steps_pauses_gate_switch_bake(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	CHECK(route_is(&t.a, 9900, 0, 100, XS_POOL_BLUE) && t.r.step == 1,
	      "start: canary 1%% and waiting in the pause");
	CHECK(xs_rollout_start(&t.p, &t.r, &all_blue, 0, &t.a) == -EBUSY,
	      "second start");
	tick(&t, 9 * SECOND, &healthy);
	CHECK(!t.a.write_route && t.r.step == 1, "the pause ended early");
	tick(&t, 10 * SECOND, &healthy);
	CHECK(route_is(&t.a, 9500, 0, 500, XS_POOL_BLUE) && t.r.step == 3,
	      "after the pause: 5%% and at the gate (step %u)", t.r.step);
	tick(&t, 100 * SECOND, &healthy);
	CHECK(!t.a.write_route && t.r.step == 3, "the gate opened by itself");
	CHECK_OK(promote(&t, 101 * SECOND));
	CHECK(route_is(&t.a, 0, 10000, 0, XS_POOL_GREEN) && t.r.step == 6,
	      "promote: canary off and switched to green");
	tick(&t, 130 * SECOND, &healthy);
	CHECK(t.r.phase == XS_PHASE_RUNNING, "the bake ended early");
	tick(&t, 131 * SECOND, &healthy);
	CHECK(t.r.phase == XS_PHASE_SUCCEEDED && !t.a.write_route,
	      "after the bake");
	CHECK_OK(xs_rollout_undo(&t.r, false, &t.a));
	CHECK(route_is(&t.a, 10000, 0, 0, XS_POOL_BLUE) &&
		      t.r.phase == XS_PHASE_ROLLED_BACK &&
		      !t.a.flush[XS_POOL_CANARY],
	      "undo brings blue back, the canary drains");
	CHECK_OK(xs_rollout_undo(&t.r, false, &t.a));
	CHECK(!t.a.write_route && !t.a.changed,
	      "a second undo changed something");
	return 0;
}

static int pause_stops_the_clock(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	CHECK_OK(xs_rollout_pause(&t.r, 4 * SECOND, &t.a));
	/* again: harmless */
	CHECK_OK(xs_rollout_pause(&t.r, 5 * SECOND, &t.a));
	tick(&t, 60 * SECOND, &healthy);
	CHECK(t.r.step == 1 && t.r.phase == XS_PHASE_PAUSED,
	      "moved while paused");
	CHECK_OK(xs_rollout_resume(&t.r, 60 * SECOND, &t.a));
	tick(&t, 65 * SECOND, &healthy);
	CHECK(t.r.step == 1, "6 s of pause ran as 10 s");
	tick(&t, 66 * SECOND, &healthy);
	CHECK(t.r.step == 3, "the pause did not end after 10 running seconds");
	CHECK(promote(&t, 66 * SECOND) == 0 && t.r.step == 6,
	      "promote at the gate");
	CHECK(promote(&t, 67 * SECOND) == -EINVAL,
	      "promote in a bake is not a gate");
	return 0;
}

static int consecutive_failures_roll_back(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	tick(&t, 1 * SECOND, &failing);
	CHECK(t.r.phase == XS_PHASE_RUNNING && !t.a.write_route,
	      "one failing interval of two needed rolled back");
	tick(&t, 2 * SECOND, &failing);
	CHECK(t.r.phase == XS_PHASE_ROLLED_BACK &&
		      route_is(&t.a, 10000, 0, 0, XS_POOL_BLUE) &&
		      t.a.flush[XS_POOL_CANARY],
	      "rollback in the interval of the breach");
	CHECK(strstr(t.r.reason, "handshakes") != NULL, "reason: %s",
	      t.r.reason);
	CHECK_OK(xs_rollout_abort(&t.r, "again", false, &t.a));
	CHECK(!t.a.write_route && t.r.phase == XS_PHASE_ROLLED_BACK,
	      "replaying a rollback changed something");
	return 0;
}

static int failure_limit_and_min_samples(const void *arg)
{
	const struct xs_measurement *pattern[] = {
		&failing, &healthy, &too_few, &failing, &healthy, &failing
	};
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	for (int i = 0; i < 100; i++) {
		tick(&t, SECOND / 10, &too_few);
		CHECK(t.r.phase == XS_PHASE_RUNNING,
		      "a verdict on too few samples");
	}
	for (int i = 0; i < 6; i++) {
		tick(&t, SECOND / 10, pattern[i]);
		CHECK((t.r.phase == XS_PHASE_ROLLED_BACK) == (i == 5),
		      "interval %d: phase %s (limit is 3 failures in all)", i,
		      xs_phase_name(t.r.phase));
	}
	return 0;
}

static int failure_can_pause_instead(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_PAUSE));
	tick(&t, SECOND, &failing);
	tick(&t, 2 * SECOND, &failing);
	CHECK(t.r.phase == XS_PHASE_PAUSED && !t.a.write_route,
	      "pause policy: phase %s", xs_phase_name(t.r.phase));
	CHECK_OK(xs_rollout_resume(&t.r, 3 * SECOND, &t.a));
	CHECK(t.r.phase == XS_PHASE_RUNNING && t.r.consecutive[0] == 0,
	      "resume starts the failures afresh");
	return 0;
}

static int rollback_after_switch_restores_old_color(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	tick(&t, 10 * SECOND, &healthy);
	promote(&t, 11 * SECOND);
	CHECK(t.r.switched, "not switched");
	tick(&t, 12 * SECOND, &failing);
	tick(&t, 13 * SECOND, &failing);
	CHECK(route_is(&t.a, 10000, 0, 0, XS_POOL_BLUE) &&
		      t.r.phase == XS_PHASE_ROLLED_BACK,
	      "blue not restored");
	CHECK(xs_rollout_pause(&t.r, 14 * SECOND, &t.a) == -EINVAL,
	      "pause after the end");
	return 0;
}

/* One number for a step everywhere: the index plus one while under way,
 * the last step once past it, as status, metrics and the audit log show. */
static int step_numbers(const void *arg)
{
	struct run t;

	(void)arg;
	CHECK_OK(start(&t, XS_ON_FAILURE_ROLLBACK));
	CHECK(xs_rollout_step_number(&t.p, t.r.step) == 2,
	      "in the pause: step %u", xs_rollout_step_number(&t.p, t.r.step));
	CHECK_OK(promote(&t, 10 * SECOND));
	tick(&t, 11 * SECOND, &healthy);
	CHECK_OK(promote(&t, 12 * SECOND));
	tick(&t, 100 * SECOND, &healthy);
	CHECK(t.r.phase == XS_PHASE_SUCCEEDED && t.r.step == t.p.step_count,
	      "finished past the last step (%s, index %u)",
	      xs_phase_name(t.r.phase), t.r.step);
	CHECK(xs_rollout_step_number(&t.p, t.r.step) == t.p.step_count,
	      "finished: step %u of %u", xs_rollout_step_number(&t.p, t.r.step),
	      t.p.step_count);
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
