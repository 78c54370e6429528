// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * SIGHUP: the configuration file read again, validated whole, and made
 * the maps' by the same rule as at start (configure.c), audited. A file
 * that does not load, or a plan that cannot be carried out, changes
 * nothing and splitd keeps running with what it had. A rollout under way
 * goes on with the policy it started with.
 *
 * The reload runs in a thread of its own: resolving a new backend's MAC
 * or waiting for the pin directory's lock takes seconds, and the loop that
 * decides and rolls back must not wait for it. The new configuration
 * replaces the old under the daemon's lock; readers of the configuration
 * (rollouts, probes, control requests) hold that lock while they read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "user/lib/audit.h"
#include "user/lib/lock.h"
#include "user/lib/log.h"
#include "fleet.h"
#include "splitd.h"

#define RELOAD_LOCK_WAIT_MS 5000
#define RELOAD_LOCK_POLL_MS 20
#define RELOAD_STOP_WAIT_MS 200

static pthread_t thread;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_wanted = PTHREAD_COND_INITIALIZER;
static bool wanted, running, stopping;
static bool finished; /* the thread has returned: joining it is at once */

/* In the log (a refusal or failure as a warning) and the audit log */
static void say(struct daemon *d, enum xs_log_level level, const char *format,
		const char *detail)
{
	char command[700];

	snprintf(command, sizeof(command), format, d->config_path, detail);
	xs_log(level, "%s\n", command);
	xs_audit_append(d->state_dir, command, NULL, NULL);
}

/* What a reload cannot change in a running splitd: said, not applied. */
static void warn_fixed(struct daemon *d, const struct xs_config_file *next)
{
	bool same = d->config->interface_count == next->interface_count;

	for (__u32 i = 0; same && i < next->interface_count; i++)
		same = !memcmp(&d->config->interfaces[i], &next->interfaces[i],
			       sizeof(next->interfaces[i]));
	if (!same)
		pr_warn("Reload: the interfaces changed in %s; they take effect when splitd starts again\n",
			d->config_path);
	if (memcmp(&d->config->fleet, &next->fleet, sizeof(next->fleet)))
		pr_warn("Reload: the fleet section changed in %s; it takes effect when splitd starts again\n",
			d->config_path);
	if (strcmp(d->config->metrics, next->metrics))
		pr_warn("Reload: daemon.metrics changed in %s; it takes effect when splitd starts again\n",
			d->config_path);
}

/* Under d->lock: the new configuration in. Rollouts under way keep the
 * policy they run (their own copy); the next ones take the file's. */
static struct xs_config_file *swap_in(struct daemon *d,
				      struct xs_config_file *next)
{
	struct xs_config_file *old = d->config;

	d->config = next;
	return old;
}

/* One reload at a time: SIGHUP's and the fleet document's. */
static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;

/* next made the maps' and the configuration in force; 0, or -errno with
 * why in error (nothing applied). Takes next. */
static int apply(struct daemon *d, struct xs_config_file *next, char *error,
		 size_t size)
{
	static struct xs_rollout_record records[XS_CONFIG_MAX_VIPS];
	size_t count = 0;
	int lock, err;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->rollout_count; i++)
		records[count++] = d->rollouts[i].record;
	pthread_mutex_unlock(&d->lock);
	/* as splitctl apply does: one writer of the VIPs and backends; the
	 * wait gives way to a stop */
	for (int waited = 0;
	     (lock = xs_try_lock_pin_dir(d->pin_dir)) == -EWOULDBLOCK &&
	     !splitd_stop && waited < RELOAD_LOCK_WAIT_MS;
	     waited += RELOAD_LOCK_POLL_MS)
		usleep(RELOAD_LOCK_POLL_MS * 1000);
	if (lock < 0) {
		snprintf(
			error, size, "%s",
			splitd_stop ?
				"splitd is stopping" :
			lock == -EWOULDBLOCK ?
				"the pin directory stayed locked by another splitctl" :
				strerror(-lock));
		free(next);
		return lock;
	}
	err = configure(d, next, records, count, "reload", error, size);
	xs_unlock(lock);
	if (err) {
		free(next);
		return err;
	}
	pthread_mutex_lock(&d->lock);
	next = swap_in(d, next);
	pthread_mutex_unlock(&d->lock);
	free(next);
	probes_wake();
	queries_wake();
	return 0;
}

/* Reads and applies the file; NULL if it is in force, else why nothing
 * changed (in error, also said in the log and the audit log). */
static const char *reload(struct daemon *d, char *error, size_t size)
{
	struct xs_config_file *next = calloc(1, sizeof(*next));
	bool failed;

	if (!next) {
		snprintf(error, size, "out of memory");
		return error;
	}
	if (xs_config_load(d->config_path, next, error, size)) {
		say(d, XS_LOG_WARN,
		    "splitd: reload of %s refused, nothing changed: %s", error);
		free(next);
		return error;
	}
	pthread_mutex_lock(&d->lock);
	warn_fixed(d, next);
	/* a fleet's VIPs and policies stay the document's */
	if (d->config->fleet.enabled && next->fleet.enabled) {
		xs_config_merge_document(next, d->config, next);
		next->fleet = d->config->fleet; /* warned above */
	}
	pthread_mutex_unlock(&d->lock);
	if (d->config->fleet.enabled != next->fleet.enabled) {
		snprintf(error, size,
			 "joining or leaving a fleet takes a restart");
		say(d, XS_LOG_WARN,
		    "splitd: reload of %s refused, nothing changed: %s", error);
		free(next);
		return error;
	}
	pthread_mutex_lock(&apply_lock);
	failed = apply(d, next, error, size) != 0;
	if (failed)
		say(d, XS_LOG_WARN, "splitd: reload of %s failed: %s", error);
	else
		say(d, XS_LOG_INFO, "splitd: reloaded %s%s", "");
	pthread_mutex_unlock(&apply_lock);
	return failed ? error : NULL;
}

/* SIGHUP's reload, framed for systemd: RELOADING=1, then READY=1 with
 * the outcome in STATUS= */
static void reload_and_notify(struct daemon *d)
{
	char error[512] = "";

	notify_reloading(d);
	notify_reloaded(d, reload(d, error, sizeof(error)));
}

int reload_document(struct daemon *d, const struct xs_config_file *document,
		    char *error, size_t size)
{
	struct xs_config_file *next = calloc(1, sizeof(*next));
	int err;

	if (!next) {
		snprintf(error, size, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&apply_lock);
	pthread_mutex_lock(&d->lock);
	xs_config_merge_document(d->config, document, next);
	pthread_mutex_unlock(&d->lock);
	err = apply(d, next, error, size);
	pthread_mutex_unlock(&apply_lock);
	if (!err)
		xs_audit_append(d->state_dir,
				"splitd: applied the fleet document", NULL,
				NULL);
	return err;
}

static void *reload_loop(void *arg)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&reload_lock);
	while (!stopping) {
		if (!wanted) {
			pthread_cond_wait(&reload_wanted, &reload_lock);
			continue;
		}
		wanted = false; /* signals during a reload make one more */
		pthread_mutex_unlock(&reload_lock);
		reload_and_notify(d);
		pthread_mutex_lock(&reload_lock);
	}
	finished = true;
	pthread_mutex_unlock(&reload_lock);
	return NULL;
}

int reload_start(struct daemon *d)
{
	if (pthread_create(&thread, NULL, reload_loop, d))
		return -1;
	running = true;
	return 0;
}

void reload_request(void)
{
	pthread_mutex_lock(&reload_lock);
	wanted = true;
	pthread_cond_signal(&reload_wanted);
	pthread_mutex_unlock(&reload_lock);
}

bool reload_stop(void)
{
	bool done = false;

	if (!running)
		return true;
	pthread_mutex_lock(&reload_lock);
	stopping = true;
	pthread_cond_signal(&reload_wanted);
	pthread_mutex_unlock(&reload_lock);
	/* a reload's writes take milliseconds, so one not done within the
	 * wait is still planning; counted in sleeps, not against the wall
	 * clock, which may step meanwhile */
	for (int waited = 0; waited <= RELOAD_STOP_WAIT_MS; waited += 10) {
		pthread_mutex_lock(&reload_lock);
		done = finished;
		pthread_mutex_unlock(&reload_lock);
		if (done)
			break;
		usleep(10 * 1000);
	}
	if (!done)
		return false;
	pthread_join(thread, NULL);
	running = false;
	return true;
}
