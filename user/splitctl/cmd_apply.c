// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply -f FILE [--dry-run]: make the running VIPs and backends what the
 * configuration file says, showing the diff of everything the file holds
 * first (apply_diff.h): old -> new, one line per change. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/applied_settings.h"
#include "user/lib/apply_diff.h"
#include "user/lib/state.h"
#include "splitctl.h"

/* --dry-run's exit status when something would change (0: nothing would;
 * 1 and 2 are failures and usage errors), as terraform plan
 * -detailed-exitcode's 2, which is taken by usage errors here */
#define EXIT_CHANGES_PENDING 3

/* What the file says of a VIP that it does not get, and why. */
struct kept {
	char text[300];
};

/*
 * The weights of a VIP under rollout are its rollout's: the file's are
 * left out of the plan (and said so), whatever they are. Elsewhere the
 * file's weights win, as given.
 */
static int yield_to_rollouts(struct ctl *ctl, struct xs_config_file *config,
			     struct kept *kept, size_t *kept_count)
{
	*kept_count = 0;
	for (__u32 v = 0; v < config->vip_count; v++) {
		struct xs_config_vip *vip = &config->vips[v];
		struct xs_rollout_record owner;
		struct xs_vip_entry running;
		int found;

		if (!vip->has_weights ||
		    xs_vip_lookup(&ctl->dp, &vip->key, &running))
			continue;
		found = rollout_owning(ctl, &running, &owner);
		if (found < 0)
			return EXIT_RUNTIME;
		if (!found)
			continue;
		vip->has_weights = false;
		if (!memcmp(&running.route, &vip->weights,
			    sizeof(vip->weights)))
			continue;
		snprintf(
			kept[*kept_count].text, sizeof(kept[0].text),
			"= weights %s: kept; the rollout under way (policy %s, step %u, %s) owns them, not the file",
			vip->text, owner.policy,
			xs_rollout_step_number(NULL, owner.rollout.step),
			xs_phase_name(owner.rollout.phase));
		(*kept_count)++;
	}
	return EXIT_OK;
}

static void print_kept(const struct kept *kept, size_t count)
{
	out_array_begin("kept");
	for (size_t i = 0; i < count; i++) {
		if (out_is_json())
			out_string(NULL, kept[i].text);
		else
			printf("%s\n", kept[i].text);
	}
	out_array_end();
}

static void print_line(const struct xs_diff_line *l)
{
	char sign[2] = { l->sign, '\0' };

	out_object_begin(NULL);
	if (out_is_json()) {
		out_string("change", sign);
		out_string("what", l->what);
		if (l->field) {
			out_string("field", l->field);
			out_string("old", l->old_value);
			out_string("new", l->new_value);
		}
		out_string("held_by", xs_held_by_name(l->held_by));
	}
	out_string(out_is_json() ? "text" : NULL, l->text);
	out_object_end();
}

static size_t count_held(const struct xs_diff *diff, enum xs_held_by held_by)
{
	size_t n = 0;

	for (size_t i = 0; i < diff->count; i++)
		n += diff->lines[i].held_by == held_by;
	return n;
}

/* The diff: a line per change in text, a list of objects in JSON; then
 * what came of it. */
static void print_diff(const char *file, const struct xs_diff *diff,
		       const struct kept *kept, size_t kept_count,
		       const char *not_compared, int applied)
{
	size_t settings = count_held(diff, XS_HELD_BY_SPLITD);

	/* text: the lines alone, unindented */
	if (out_is_json())
		out_object_begin(NULL);
	print_kept(kept, kept_count);
	out_array_begin("changes");
	for (size_t i = 0; i < diff->count; i++)
		print_line(&diff->lines[i]);
	out_array_end();
	if (out_is_json()) {
		out_bool("settings_compared", !not_compared);
		if (not_compared)
			out_string("settings_not_compared", not_compared);
		out_bool("applied", applied);
		out_object_end();
	}
	out_finish();
	if (out_is_json())
		return;
	if (not_compared)
		printf("splitd's settings (policies, probes, rollout names, daemon, interfaces) not compared: %s\n",
		       not_compared);
	if (!diff->count)
		printf("no changes: the running state matches %s\n", file);
	else if (!applied)
		printf("dry run: %zu change%s (%zu of splitd's settings), nothing applied\n",
		       diff->count, diff->count == 1 ? "" : "s", settings);
	else
		printf("applied %zu change%s to the maps\n",
		       diff->count - settings,
		       diff->count - settings == 1 ? "" : "s");
	if (applied && settings)
		printf("%zu of splitd's settings take effect when splitd reads its configuration (SIGHUP, systemctl reload splitd)\n",
		       settings);
}

static char *describe_diff(const char *file, const struct xs_diff *diff)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_string("file", file);
	out_array_begin("changes");
	for (size_t i = 0; i < diff->count; i++)
		if (diff->lines[i].held_by == XS_HELD_BY_MAPS)
			out_string(NULL, diff->lines[i].text);
	out_array_end();
	out_object_end();
	return out_capture_end();
}

/* What the maps hold now against what the plan said they would: a
 * difference is a writer meanwhile (a rollout stepping its weights), not
 * a failure of the apply, which made its changes. */
static void verify(struct ctl *ctl, const struct xs_tree *maps_after)
{
	struct xs_tree now;
	struct xs_diff off = { 0 };
	char error[256];

	if (xs_maps_tree(&ctl->dp, NULL, &now, error, sizeof(error))) {
		fprintf(stderr,
			"Warning: the maps could not be read back to check them: %s\n",
			error);
		return;
	}
	if (xs_apply_diff(maps_after, &now, NULL, NULL, &off))
		fprintf(stderr, "Warning: out of memory checking the maps\n");
	else if (off.count)
		fprintf(stderr,
			"Warning: the maps differ from what apply said (%zu line%s, changed meanwhile?): %s\n",
			off.count, off.count == 1 ? "" : "s",
			off.lines[0].text);
	xs_diff_free(&off);
	xs_tree_free(&now);
}

struct apply_run {
	struct xs_config_file file;
	struct xs_plan plan;
	struct xs_tree maps_now, maps_after, record;
	bool record_found;
	/* why splitd's settings are not compared; empty when they are */
	char not_compared[768];
	struct xs_diff diff;
	struct kept kept[XS_CONFIG_MAX_VIPS];
	size_t kept_count;
};

/* Plans and diffs; EXIT_OK or the error printed. */
static int prepare(struct ctl *ctl, struct apply_run *r)
{
	char error[512];
	int rc = yield_to_rollouts(ctl, &r->file, r->kept, &r->kept_count);

	if (rc)
		return rc;
	if (xs_apply_plan(&ctl->dp, &r->file, &r->plan, error, sizeof(error)))
		return runtime_error("%s; nothing was changed", error);
	if (xs_maps_tree(&ctl->dp, NULL, &r->maps_now, error, sizeof(error)) ||
	    xs_maps_tree(&ctl->dp, &r->plan, &r->maps_after, error,
			 sizeof(error)))
		return runtime_error("%s; nothing was changed", error);
	error[0] = '\0';
	/* a record that cannot be read (damaged, or not trusted) only
	 * leaves splitd's settings out of the diff: the maps' part stands */
	if (xs_applied_settings_load(ctl->state_dir, &r->record,
				     &r->record_found, error, sizeof(error))) {
		snprintf(r->not_compared, sizeof(r->not_compared),
			 "record unreadable (%s)",
			 error[0] ? error :
				    "Couldn't read splitd's applied settings");
		fprintf(stderr,
			"Warning: %s: splitd's settings are not compared\n",
			r->not_compared);
	} else if (!r->record_found) {
		snprintf(r->not_compared, sizeof(r->not_compared),
			 "no record of splitd applying a configuration in %s",
			 ctl->state_dir);
	}
	if (xs_apply_diff(&r->maps_now, &r->maps_after,
			  r->record_found ? &r->record : NULL, &r->file,
			  &r->diff))
		return runtime_error("out of memory");
	return EXIT_OK;
}

static int run(struct ctl *ctl, const char *file, bool dry_run,
	       struct apply_run *r)
{
	char error[512], *after;
	int rc;

	if (xs_config_load(file, &r->file, error, sizeof(error)))
		return runtime_error("%s", error);
	if (r->file.fleet.enabled)
		return runtime_error(
			"%s is a fleet host's file: its VIPs and rollouts are the fleet's ('splitctl fleet apply -f DOCUMENT'); 'splitctl check -f %s' validates it",
			file, file);
	rc = dry_run ? ctl_open(ctl) : ctl_begin_change(ctl);
	if (!rc)
		rc = prepare(ctl, r);
	if (rc)
		return rc;
	if (dry_run || !r->plan.count) {
		print_diff(file, &r->diff, r->kept, r->kept_count,
			   r->not_compared[0] ? r->not_compared : NULL,
			   !dry_run);
		return dry_run && r->diff.count ? EXIT_CHANGES_PENDING :
						  EXIT_OK;
	}
	if (xs_apply_execute(&ctl->dp, &r->plan, error, sizeof(error))) {
		print_diff(file, &r->diff, r->kept, r->kept_count,
			   r->not_compared[0] ? r->not_compared : NULL, 0);
		return runtime_error(
			"%s; the changes listed before it were made", error);
	}
	print_diff(file, &r->diff, r->kept, r->kept_count,
		   r->not_compared[0] ? r->not_compared : NULL, 1);
	after = describe_diff(file, &r->diff);
	rc = ctl_audit(ctl, NULL, after);
	free(after);
	verify(ctl, &r->maps_after);
	return rc;
}

int cmd_apply(struct ctl *ctl, int argc, char **argv)
{
	struct apply_run *r;
	const char *file = NULL;
	bool dry_run = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (is_keyword(argv[i], "-f") && i + 1 >= argc) {
			return usage_error("apply", "-f needs FILE");
		} else if (is_keyword(argv[i], "-f") && !file) {
			file = argv[++i];
		} else if (is_keyword(argv[i], "--dry-run")) {
			dry_run = true;
		} else {
			return usage_error("apply", "unexpected '%s'", argv[i]);
		}
	}
	if (!file)
		return usage_error("apply", "missing -f FILE");
	r = calloc(1, sizeof(*r));
	if (!r)
		return runtime_error("out of memory");
	rc = run(ctl, file, dry_run, r);
	xs_plan_free(&r->plan);
	xs_tree_free(&r->record);
	xs_tree_free(&r->maps_now);
	xs_tree_free(&r->maps_after);
	xs_diff_free(&r->diff);
	free(r);
	return rc;
}
