// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One writer at a time for a VIP's route: the rollout under way on it
 * (running or paused, as splitd's state file records it, whether or not
 * splitd runs right now), else the operator. A manual weights or switch on
 * a VIP under rollout is refused, naming the rollout; with --force splitd
 * pauses the rollout first, and only then is the route written.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/config.h" /* splitd keeps a record per VIP */
#include "user/lib/state.h"
#include "splitctl.h"

int rollout_owning(struct ctl *ctl, const struct xs_vip_entry *vip,
		   struct xs_rollout_record *owner)
{
	static struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];
	struct xs_vip_entry service;
	char error[512] = "";
	size_t count;
	int err = xs_state_load(ctl->state_dir, records, XS_CONFIG_MAX_VIPS,
				&count, error, sizeof(error));

	/* a service's rollout is kept under its first VIP */
	if (!err && xs_service_primary(&ctl->dp, vip, &service))
		err = -ENOENT;
	vip = &service;

	if (err) {
		runtime_error(
			"Couldn't tell whether a rollout owns the route of the VIP: %s; nothing was changed",
			error[0] ? error : strerror(-err));
		return -EIO;
	}
	for (size_t i = 0; i < count; i++) {
		const struct xs_rollout_record *r = &records[i];

		if ((r->rollout.phase == XS_PHASE_RUNNING ||
		     r->rollout.phase == XS_PHASE_PAUSED) &&
		    !memcmp(&r->key, &vip->key, sizeof(r->key)) &&
		    (!r->generation || r->generation == vip->vip.generation)) {
			*owner = *r;
			return 1;
		}
	}
	return 0;
}

int may_write_route(struct ctl *ctl, const char *object,
		    const struct xs_vip_entry *vip, bool force, bool *paused)
{
	struct xs_rollout_record owner;
	char request[256], *reply;
	struct json_object *parsed, *ok;
	int found = rollout_owning(ctl, vip, &owner), err;
	bool done;

	*paused = false;
	if (found < 0)
		return EXIT_RUNTIME;
	if (!found)
		return EXIT_OK;
	if (!force)
		return runtime_error(
			"%s: VIP %s is under a rollout (policy %s, step %u, %s), which owns its route; 'splitctl rollout pause %s' or 'abort' it first, or give --force to pause it and write",
			object, owner.vip, owner.policy,
			xs_rollout_step_number(NULL, owner.rollout.step),
			xs_phase_name(owner.rollout.phase), owner.vip);
	if (owner.rollout.phase == XS_PHASE_PAUSED)
		return EXIT_OK;
	snprintf(request, sizeof(request), "rollout pause %s\n", owner.vip);
	err = splitd_request(ctl, request, &reply);
	if (err)
		return runtime_error(
			"--force: couldn't pause the rollout of %s: splitd at %s/splitd.sock: %s; nothing was changed",
			owner.vip, ctl->run_dir, strerror(-err));
	parsed = json_tokener_parse(reply);
	free(reply);
	done = parsed && json_object_object_get_ex(parsed, "ok", &ok) &&
	       json_object_get_boolean(ok);
	json_object_put(parsed);
	if (!done)
		return runtime_error(
			"--force: splitd did not pause the rollout of %s; nothing was changed",
			owner.vip);
	*paused = true;
	return EXIT_OK;
}
