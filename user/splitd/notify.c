// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * systemd's notify protocol (sd_notify(3), Type=notify): READY=1 once
 * splitd serves (maps open, control socket listening, metrics up),
 * RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 when it
 * stops, and a STATUS= line that says what it serves and how the last
 * reload went (`systemctl status splitd`). Without NOTIFY_SOCKET (not
 * started by systemd) sd_notify does nothing, and nor does this file.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "user/lib/rollout.h"
#include "splitd.h"

/* what STATUS= said last, so the loop sends only changes; and how the
 * last reload ended, kept in every later status until the next reload */
static pthread_mutex_t notify_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_status[512];
static char reload_outcome[400];

/* "serving 3 VIPs, 1 rollout running" and what else is worth a look */
static void describe(struct daemon *d, char *status, size_t size)
{
	size_t running = 0, paused = 0, length;
	__u32 vips;

	pthread_mutex_lock(&d->lock);
	vips = d->config->vip_count;
	for (size_t i = 0; i < d->rollout_count; i++) {
		enum xs_phase phase = d->rollouts[i].record.rollout.phase;

		running += phase == XS_PHASE_RUNNING;
		paused += phase == XS_PHASE_PAUSED;
	}
	pthread_mutex_unlock(&d->lock);
	length = (size_t)snprintf(status, size,
				  "serving %u VIP%s, %zu rollout%s running",
				  vips, vips == 1 ? "" : "s", running,
				  running == 1 ? "" : "s");
	if (paused && length < size)
		length += (size_t)snprintf(status + length, size - length,
					   ", %zu paused", paused);
	if (reload_outcome[0] && length < size)
		snprintf(status + length, size - length, "; %s",
			 reload_outcome);
}

/* Under notify_lock: one message, its STATUS= remembered */
static void notify_send(const char *state, const char *status)
{
	snprintf(last_status, sizeof(last_status), "%s", status);
	sd_notifyf(0, "%sSTATUS=%s", state, status);
}

void notify_ready(struct daemon *d)
{
	char status[512];

	pthread_mutex_lock(&notify_lock);
	describe(d, status, sizeof(status));
	notify_send("READY=1\n", status);
	pthread_mutex_unlock(&notify_lock);
}

void notify_status(struct daemon *d)
{
	char status[512];

	pthread_mutex_lock(&notify_lock);
	describe(d, status, sizeof(status));
	if (strcmp(status, last_status))
		notify_send("", status);
	pthread_mutex_unlock(&notify_lock);
}

void notify_reloading(struct daemon *d)
{
	char state[96], status[512];
	struct timespec now;

	/* systemd 253 and later match the reload by this time; 252 ignores it */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
		 (unsigned long long)now.tv_sec * 1000000ULL +
			 (unsigned long long)now.tv_nsec / 1000);
	snprintf(status, sizeof(status), "reloading %s", d->config_path);
	pthread_mutex_lock(&notify_lock);
	notify_send(state, status);
	pthread_mutex_unlock(&notify_lock);
}

void notify_reloaded(struct daemon *d, const char *failure)
{
	char status[512];

	pthread_mutex_lock(&notify_lock);
	if (failure)
		snprintf(reload_outcome, sizeof(reload_outcome),
			 "last reload failed, nothing changed: %s", failure);
	else
		reload_outcome[0] = '\0';
	describe(d, status, sizeof(status));
	notify_send("READY=1\n", status);
	pthread_mutex_unlock(&notify_lock);
}

void notify_stopping(void)
{
	pthread_mutex_lock(&notify_lock);
	notify_send("STOPPING=1\n",
		    "stopping; the data plane keeps forwarding");
	pthread_mutex_unlock(&notify_lock);
}
