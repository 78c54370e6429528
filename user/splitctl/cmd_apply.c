// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply -f FILE [--dry-run]: make the running VIPs and backends what the
 * configuration file says, showing the diff first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/apply.h"
#include "user/lib/state.h"
#include "splitctl.h"

static void print_plan_text(const struct xs_plan *plan, int applied);

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

		if (!vip->has_weights || xs_vip_lookup(&ctl->dp, &vip->key, &running))
			continue;
		found = rollout_owning(ctl, &running, &owner);
		if (found < 0)
			return EXIT_RUNTIME;
		if (!found)
			continue;
		vip->has_weights = false;
		if (!memcmp(&running.route, &vip->weights, sizeof(vip->weights)))
			continue;
		snprintf(kept[*kept_count].text, sizeof(kept[0].text),
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
	if (out_is_json())
		return;
	for (size_t i = 0; i < count; i++)
		printf("%s\n", kept[i].text);
}

/* The diff: a line per change in text, a list of them in JSON. */
static void print_plan(const struct xs_plan *plan, int applied)
{
	if (!out_is_json()) {
		print_plan_text(plan, applied);
		return;
	}
	out_object_begin(NULL);
	out_array_begin("changes");
	for (size_t i = 0; i < plan->count; i++)
		out_string(NULL, plan->changes[i].text);
	out_array_end();
	out_bool("applied", applied);
	out_object_end();
	out_finish();
}

static void print_plan_text(const struct xs_plan *plan, int applied)
{
	for (size_t i = 0; i < plan->count; i++)
		printf("%s\n", plan->changes[i].text);
	printf(applied ? "applied %zu change%s\n" :
			 "dry run: %zu change%s, nothing applied\n",
	       plan->count, plan->count == 1 ? "" : "s");
}

static char *describe_plan(const char *file, const struct xs_plan *plan)
{
	out_capture_begin();
	out_object_begin(NULL);
	out_string("file", file);
	out_array_begin("changes");
	for (size_t i = 0; i < plan->count; i++)
		out_string(NULL, plan->changes[i].text);
	out_array_end();
	out_object_end();
	return out_capture_end();
}

int cmd_apply(struct ctl *ctl, int argc, char **argv)
{
	static struct kept kept[XS_CONFIG_MAX_VIPS];
	struct xs_config_file *config;
	size_t kept_count = 0;
	const char *file = NULL;
	struct xs_plan plan;
	char error[512], *after;
	int dry_run = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help")) {
			printf("Usage: splitctl apply -f FILE [ --dry-run ]\n"
			       "Shows the changes that make the running VIPs and backends match FILE,\n"
			       "then makes them (not with --dry-run). VIPs missing from FILE are removed.\n");
			return EXIT_OK;
		} else if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) &&
			   i + 1 < argc && !file) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n")) {
			dry_run = 1;
		} else {
			return usage_error("apply", "unexpected '%s'", argv[i]);
		}
	}
	if (!file)
		return usage_error("apply", "missing -f FILE");
	config = calloc(1, sizeof(*config));
	if (!config)
		return runtime_error("out of memory");
	if (xs_config_load(file, config, error, sizeof(error))) {
		free(config);
		return runtime_error("%s", error);
	}
	rc = dry_run ? ctl_open(ctl) : ctl_begin_change(ctl);
	if (!rc)
		rc = yield_to_rollouts(ctl, config, kept, &kept_count);
	if (!rc && xs_apply_plan(&ctl->dp, config, &plan, error, sizeof(error)))
		rc = runtime_error("%s; nothing was changed", error);
	free(config);
	if (rc)
		return rc;
	print_kept(kept, kept_count);
	if (!plan.count) {
		xs_plan_free(&plan);
		if (out_is_json())
			print_plan(&plan, 0);
		return ctl_unchanged("the running state matches %s", file);
	}
	if (dry_run) {
		print_plan(&plan, 0);
		xs_plan_free(&plan);
		return EXIT_OK;
	}
	if (xs_apply_execute(&ctl->dp, &plan, error, sizeof(error))) {
		print_plan(&plan, 0);
		xs_plan_free(&plan);
		return runtime_error("%s; the changes listed before it were made", error);
	}
	print_plan(&plan, 1);
	after = describe_plan(file, &plan);
	xs_plan_free(&plan);
	rc = ctl_audit(ctl, NULL, after);
	free(after);
	return rc;
}
