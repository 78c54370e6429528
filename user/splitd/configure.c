// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Making the maps what the configuration says, at start and on reload,
 * without a restart ever changing traffic. The VIPs, backends and probes
 * are the file's. A VIP's weights are, in this order:
 *
 *   1. its running (or paused) rollout's, which owns the route;
 *   2. the file's, where they changed since splitd last applied the file
 *      (STATE_DIR/config.applied): an edit takes effect;
 *   3. otherwise what the map holds now: a restart keeps a finished
 *      rollout's outcome or an operator's `splitctl weights`.
 *
 * A VIP the data plane lacks (the first start, or after a reboot) is
 * created with its rollout's weights if it had one (running, paused, or
 * finished with the file unchanged since), else with the file's. A VIP
 * the file no longer lists is deleted only if the file listed it before;
 * one an operator added by hand is left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/applied.h"
#include "user/lib/applied_settings.h"
#include "user/lib/apply.h"
#include "user/lib/audit.h"
#include "user/lib/log.h"
#include "user/lib/parse.h"
#include "user/lib/service.h"
#include "splitd.h"

static bool under_way(const struct xs_rollout_record *r)
{
	return r->rollout.phase == XS_PHASE_RUNNING ||
	       r->rollout.phase == XS_PHASE_PAUSED;
}

static const struct xs_rollout_record *
record_of(const struct xs_rollout_record *records, size_t count,
	  const struct xs_vip_key *key)
{
	for (size_t i = 0; i < count; i++)
		if (!memcmp(&records[i].key, key, sizeof(*key)))
			return &records[i];
	return NULL;
}

static bool same_weights(const struct xs_applied_vip *last,
			 const struct xs_config_vip *vip)
{
	return last->has_weights == vip->has_weights &&
	       (!vip->has_weights ||
		!memcmp(&last->weights, &vip->weights, sizeof(vip->weights)));
}

/* Decides each VIP's weights by the rule above, in wanted (a copy of the
 * file's configuration). */
static void choose_weights(struct daemon *d, struct xs_config_file *wanted,
			   const struct xs_rollout_record *records,
			   size_t record_count,
			   const struct xs_applied_vip *applied,
			   size_t applied_count)
{
	/* in a fleet the route keys in etcd are the only weights
	 * (fleet_agent.c writes them): a new VIP starts with what they say
	 * (the document put it there), an existing one is not touched */
	for (__u32 v = 0; wanted->fleet.enabled && v < wanted->vip_count; v++) {
		struct xs_vip running;

		if (!xs_vip_read(&d->dp, &wanted->vips[v].key, &running))
			wanted->vips[v].has_weights = false;
	}
	for (__u32 v = 0; !wanted->fleet.enabled && v < wanted->vip_count;
	     v++) {
		struct xs_config_vip *vip = &wanted->vips[v];
		const struct xs_rollout_record *r =
			record_of(records, record_count, &vip->key);
		const struct xs_applied_vip *last =
			xs_applied_find(applied, applied_count, &vip->key);
		struct xs_vip running;
		bool exists = !xs_vip_read(&d->dp, &vip->key, &running);
		/* no record of an earlier apply: nothing says the file
		 * changed, so what runs stays */
		bool edited = last && !same_weights(last, vip);

		if (vip->has_share) {
			continue; /* its route is its service's first VIP's */
		} else if (r && under_way(r) && (exists || !d->same_boot)) {
			/* its own route, or, after a reboot, the route of the
			 * VIP it is resumed on */
			vip->has_weights = !exists;
			vip->weights = xs_rollout_route(&r->rollout);
		} else if (r && under_way(r)) {
			continue; /* deleted in this boot: it ends, the file's */
		} else if (edited) {
			continue; /* the file's, as given */
		} else if (exists) {
			vip->has_weights = false;
		} else if (r) {
			vip->has_weights = true;
			vip->weights = xs_rollout_route(&r->rollout);
		}
	}
}

/* Under d->lock: weight changes on a VIP whose rollout is under way now
 * are left to the rollout (one may have started since the plan was made). */
static void leave_owned_weights(struct daemon *d, struct xs_plan *plan)
{
	size_t kept = 0;

	for (size_t i = 0; i < plan->count; i++) {
		const struct xs_change *c = &plan->changes[i];
		bool owned = false;

		for (size_t r = 0;
		     c->kind == XS_CHANGE_SET_WEIGHTS && r < d->rollout_count;
		     r++)
			owned |= under_way(&d->rollouts[r].record) &&
				 !memcmp(&d->rollouts[r].record.key, &c->key,
					 sizeof(c->key));
		if (owned) {
			pr_info("= weights: kept, the rollout under way owns them (the file's were: %s)\n",
				c->text);
			continue;
		}
		plan->changes[kept++] = *c;
	}
	plan->count = kept;
}

struct listed_before {
	const struct xs_applied_vip *applied;
	size_t count;
};

/* A VIP the file no longer lists goes if the file listed it when splitd
 * last applied it; one added by hand (never in the file) stays. */
static bool listed_before(const struct xs_vip_key *key, void *context)
{
	const struct listed_before *before = context;
	char text[80];

	if (xs_applied_find(before->applied, before->count, key))
		return true;
	xs_format_vip(key, text, sizeof(text));
	pr_warn("VIP %s is not in the configuration and never was: left as it is (splitctl apply -f removes it)\n",
		text);
	return false;
}

static int save_applied(struct daemon *d, const struct xs_config_file *config)
{
	struct xs_applied_vip applied[XS_CONFIG_MAX_VIPS];

	for (__u32 v = 0; v < config->vip_count; v++) {
		applied[v].key = config->vips[v].key;
		applied[v].has_weights = config->vips[v].has_weights;
		applied[v].weights = config->vips[v].weights;
	}
	return xs_applied_save(d->state_dir, applied, config->vip_count);
}

/* VIPs the plan creates that the data plane did not have at all (not
 * re-created for a new mode): a recorded rollout of theirs is theirs. */
static void note_created(struct daemon *d, const struct xs_plan *plan)
{
	d->created_count = 0;
	for (size_t i = 0; i < plan->count; i++) {
		bool recreated = false;

		if (plan->changes[i].kind != XS_CHANGE_ADD_VIP)
			continue;
		for (size_t j = 0; j < plan->count; j++)
			recreated |= plan->changes[j].kind ==
					     XS_CHANGE_DELETE_VIP &&
				     !memcmp(&plan->changes[j].key,
					     &plan->changes[i].key,
					     sizeof(plan->changes[i].key));
		if (!recreated && d->created_count < XS_CONFIG_MAX_VIPS)
			d->created[d->created_count++] = plan->changes[i].key;
	}
}

/* What splitd last applied (STATE_DIR/config.applied), if it has. */
static int load_applied(struct daemon *d, struct xs_applied_vip *applied,
			size_t *count, char *error, size_t error_size)
{
	bool found;
	int err;

	err = xs_applied_load(d->state_dir, applied, XS_CONFIG_MAX_VIPS, count,
			      &found, error, error_size);
	if (err && !error[0])
		snprintf(error, error_size, "%s/%s: %s", d->state_dir,
			 XS_APPLIED_FILE_NAME, strerror(-err));
	return err;
}

/* The changes that make the maps the file's, with each VIP's weights
 * chosen by the rule above; made without d->lock (MACs are resolved). */
static int plan_changes(struct daemon *d, const struct xs_config_file *config,
			const struct xs_rollout_record *records,
			size_t record_count,
			const struct xs_applied_vip *applied,
			size_t applied_count, struct xs_plan *plan, char *error,
			size_t error_size)
{
	struct xs_config_file *wanted;
	int err;

	wanted = malloc(sizeof(*wanted));
	if (!wanted)
		return -ENOMEM;
	*wanted = *config;
	choose_weights(d, wanted, records, record_count, applied,
		       applied_count);
	err = xs_apply_plan_scoped(&d->dp, wanted, listed_before,
				   &(struct listed_before){ applied,
							    applied_count },
				   plan, error, error_size);
	free(wanted);
	return err;
}

/*
 * The rollouts as they are now, not as they were when the plan was made:
 * one started meanwhile owns its route, and none starts or writes while
 * the plan is carried out (milliseconds, map writes only).
 */
static int carry_out(struct daemon *d, struct xs_plan *plan, char *error,
		     size_t error_size)
{
	int err = 0;

	pthread_mutex_lock(&d->lock);
	leave_owned_weights(d, plan);
	for (size_t i = 0; i < plan->count; i++)
		pr_info("%s\n", plan->changes[i].text);
	if (plan->count)
		err = xs_apply_execute(&d->dp, plan, error, error_size);
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* The apply in the audit log, if it changed anything (or tried to). */
static void audit_applied(struct daemon *d, const struct xs_plan *plan,
			  const char *why, int err, const char *error)
{
	char command[700];

	if (!plan->count)
		return;
	if (err)
		snprintf(
			command, sizeof(command),
			"splitd: apply configuration (%s): %s; the changes before it were made",
			why, error);
	else
		snprintf(command, sizeof(command),
			 "splitd: apply configuration (%s, %zu changes)", why,
			 plan->count);
	xs_audit_append(d->state_dir, command, NULL, NULL);
}

/* The maps are the file's now, whatever happens to the records. */
static void record_applied(struct daemon *d,
			   const struct xs_config_file *config)
{
	if (save_applied(d, config))
		pr_warn("Couldn't record the applied configuration in %s: a restart will take the file's weights as an edit\n",
			d->state_dir);
	/* what apply --dry-run compares a file's policies, probes and
	 * daemon settings with */
	if (xs_applied_settings_save(d->state_dir, config))
		pr_warn("Couldn't record the applied settings in %s/%s: 'splitctl apply --dry-run' compares a file's with the previous record\n",
			d->state_dir, XS_APPLIED_SETTINGS_NAME);
}

int configure(struct daemon *d, const struct xs_config_file *config,
	      const struct xs_rollout_record *records, size_t record_count,
	      const char *why, char *error, size_t error_size)
{
	struct xs_applied_vip applied[XS_CONFIG_MAX_VIPS];
	size_t applied_count = 0;
	struct xs_plan plan;
	int err;

	err = load_applied(d, applied, &applied_count, error, error_size);
	if (err)
		return err;
	err = plan_changes(d, config, records, record_count, applied,
			   applied_count, &plan, error, error_size);
	if (err)
		return err;
	if (splitd_stop) {
		/* planning can take seconds (MACs resolved): a stop that came
		 * meanwhile is not held up by the writes */
		xs_plan_free(&plan);
		snprintf(error, error_size, "splitd is stopping");
		return -ECANCELED;
	}
	note_created(d, &plan);
	err = carry_out(d, &plan, error, error_size);
	audit_applied(d, &plan, why, err, error);
	xs_plan_free(&plan);
	if (err)
		return err;
	record_applied(d, config);
	return 0;
}
