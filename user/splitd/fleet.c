// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The fleet's three threads started and stopped (fleet.h says what each
 * does). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "user/lib/log.h"
#include "fleet.h"
#include "splitd.h"

bool fleet_enabled(const struct daemon *d)
{
	return d->fleet != NULL;
}

int fleet_start(struct daemon *d)
{
	struct fleet *f;

	if (!d->config->fleet.enabled)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t attributes;

	/* the agent's waits are on the monotonic clock: a wall-clock step
	 * must neither hold nor spin it */
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&f->changed, &attributes);
	pthread_condattr_destroy(&attributes);
	pthread_mutex_init(&f->routes_lock, NULL);
	d->fleet = f;
	if (fleet_agent_open(d))
		goto fail;
	if (pthread_create(&f->watch_thread, NULL, fleet_watch_loop, d))
		goto fail;
	f->watch_running = true;
	if (pthread_create(&f->agent_thread, NULL, fleet_agent_loop, d))
		goto fail;
	f->agent_running = true;
	if (pthread_create(&f->leader_thread, NULL, fleet_leader_loop, d))
		goto fail;
	f->leader_running = true;
	pr_info("fleet: host %s, etcd %s%s, keys under %s\n",
		d->config->fleet.host, d->config->fleet.endpoints[0],
		d->config->fleet.endpoint_count > 1 ? " (and more)" : "",
		d->config->fleet.prefix);
	return 0;
fail:
	fleet_stop(d);
	return -1;
}

void fleet_stop(struct daemon *d)
{
	struct fleet *f = d->fleet;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	/* the agent withdraws and ends the lease; the watch returns
	 * within its poll of stop */
	if (f->leader_running)
		pthread_join(f->leader_thread, NULL);
	if (f->agent_running)
		pthread_join(f->agent_thread, NULL);
	if (f->watch_running)
		pthread_join(f->watch_thread, NULL);
	fleet_agent_close();
	fleet_flows_free(f);
	free(f->desired.document);
	d->fleet = NULL;
	free(f);
}

void fleet_report(struct daemon *d, struct xs_fleet_host *report,
		  bool *reachable, bool *leading)
{
	memset(report, 0, sizeof(*report));
	*reachable = *leading = false;
	if (!d->fleet)
		return;
	pthread_mutex_lock(&d->fleet->lock);
	*report = d->fleet->report;
	*reachable = d->fleet->desired.reachable;
	pthread_mutex_unlock(&d->fleet->lock);
	*leading = __atomic_load_n(&d->fleet->leading, __ATOMIC_ACQUIRE);
}
