/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* splitd's shared state: one file per concern (main loop, rollouts,
 * control socket, metrics endpoint). */
#ifndef XDPSPLIT_SPLITD_H
#define XDPSPLIT_SPLITD_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include "maps/names.h"
#include "user/lib/config.h"
#include "user/lib/dataplane.h"
#include "user/lib/service.h"
#include "user/lib/state.h"

#define XS_CONTROL_SOCKET_NAME "splitd.sock"
#define XS_CONTROL_MAX_MESSAGE 4096
#define XS_HISTORY_SIZE 16
/* control clients served at once; the listening socket, the netlink
 * socket and the signal pipe besides */
#define XS_CONTROL_CLIENTS 64

struct daemon_rollout {
	struct xs_rollout_record record;
	const struct xs_policy *policy; /* &own_policy, or NULL if none */
	/* the policy as it was when the rollout started (or was resumed at
	 * start): a reload that edits it changes the next rollout only */
	struct xs_policy own_policy;
	__u32 vip_id; /* of record.key, while its generation is record's */
	struct xs_pool_stats last[XS_POOL_COUNT];
	bool have_last;
	__u64 next_tick_ms;
	bool step_deferred;	       /* a step's end could not be recorded */
	__u64 rollbacks[XS_MAX_RULES]; /* automatic, by the rule that failed */
	char history[XS_HISTORY_SIZE][256]; /* the latest decisions */
	__u64 promql_seen[XS_MAX_RULES];    /* the answer each rule used last */
	__u32 history_next;
};

struct daemon {
	const char *config_path;
	const char *pin_dir;
	const char *state_dir;
	const char *run_dir;
	gid_t control_group; /* besides root, who may use the socket */
	bool has_control_group;
	struct xs_config_file *config;
	struct xs_dataplane dp;
	pthread_mutex_t lock; /* rollouts, against the metrics thread */
	struct daemon_rollout rollouts[XS_CONFIG_MAX_VIPS];
	size_t rollout_count;
	/* VIPs this start created from the configuration (a new data plane):
	 * their recorded rollouts are theirs */
	struct xs_vip_key created[XS_CONFIG_MAX_VIPS];
	size_t created_count;
	/* the state file is this boot's: a VIP missing at start was deleted,
	 * not lost in a reboot */
	bool same_boot;
	int control_fd;
	int metrics_fd; /* bound before privileges are dropped */
	void *metrics;	/* struct MHD_Daemon */
	__u64 state_write_failures;
	__u64 last_unrecorded_warning_ms; /* 0: the last state write worked */
	__u64 unrecorded_since_warning;
	char state_error[512]; /* why the last state write failed */
	struct fleet *fleet;   /* NULL outside a fleet (fleet.h) */
};

extern volatile sig_atomic_t splitd_stop;
extern volatile sig_atomic_t splitd_reload; /* SIGHUP arrived */

/* The rollouts' clock (xs_clock_ms): never steps with the wall clock. */
__u64 now_ms(void);

/* configure.c: the maps as the configuration says, a restart changing no
 * weights (the rule is in configure.c and splitd(8)) */
int configure(struct daemon *d, const struct xs_config_file *config,
	      const struct xs_rollout_record *records, size_t record_count,
	      const char *why, char *error, size_t error_size);

/* reload.c: SIGHUP's reload, in a thread of its own */
int reload_start(struct daemon *d);
void reload_request(void);
/* Waits up to 200 ms for a reload under way; false if it is still
 * planning (it writes nothing once splitd_stop is set). */
bool reload_stop(void);

/* rollouts.c */
int rollouts_restore(struct daemon *d);
/* Records every rollout as it stands (at exit: elapsed times are kept). */
void rollouts_save(struct daemon *d);
void rollouts_tick(struct daemon *d, __u64 now);
__u64 rollouts_next_deadline(struct daemon *d, __u64 now);
/* Runs an operator command; its JSON reply (malloc'd, any size; NULL when
 * out of memory). */
struct control_request;
char *rollouts_command(struct daemon *d, const struct control_request *request,
		       uid_t uid);

/* control.c */
/* open (bound, owned: privileged), then listen once ready */
int control_open(struct daemon *d);
int control_listen(struct daemon *d);
/* The listening socket and every client, for the main loop's poll */
size_t control_poll_fds(struct daemon *d, struct pollfd *fds, size_t size);
/* ms until the soonest client deadline, -1 if no client is connected */
int control_poll_timeout_ms(void);
/* Reads, answers, writes and times out what poll said is ready; never
 * blocks */
void control_serve(struct daemon *d, const struct pollfd *fds, size_t count);
void control_close(struct daemon *d);

/* probes.c: a thread of its own, stopped by splitd_stop */
int probes_start(struct daemon *d);
/* The configuration changed: its probes are read now, not at the next
 * full read */
void probes_wake(void);
void probes_stop(void);

/* pin_watch.c: the probe thread's sleep, cut short when a writer of the
 * pin directory lets go of its lock or splitd stops */
/* 0; errno if the directory cannot be watched (splitd runs on without);
 * -errno if the thread could not be woken either */
int pin_watch_open(const char *pin_dir);
bool pin_watch_active(void);
/* Sleeps up to timeout_ms (or until pin_watch_wake); true if a writer was
 * done with the pin directory meanwhile */
bool pin_watch_wait(int timeout_ms);
void pin_watch_wake(void);
void pin_watch_close(void);

/* queries.c: PromQL in a thread of its own, stopped by splitd_stop */
int queries_start(struct daemon *d);
/* The rollouts changed: what they ask for is looked at now (idle, the
 * thread looks only every second) */
void queries_wake(void);
void queries_stop(void);
/* A rollout outside d->rollouts (the fleet leader's) wants its policy's
 * PromQL rules asked now; each call keeps them wanted a while longer. */
void queries_want(const struct xs_policy *policy, const char *vip);
/* The rule's latest answer if newer than *seen (then *seen moves on);
 * otherwise no verdict. Never waits on the network. */
struct xs_measurement queries_latest(const struct xs_rule *rule, __u64 *seen);

/* neighbours.c: MAC changes of l2dsr backends follow the kernel's table */
int neighbours_open(struct daemon *d);
int neighbours_fd(void);
void neighbours_read(struct daemon *d);
/* changes that found the pin directory locked: tried again, never waited
 * for; the timeout is how soon (ms), -1 if none waits */
void neighbours_retry(struct daemon *d);
int neighbours_timeout_ms(void);
void neighbours_close(void);

/* metrics.c: bind (privileged), then start the HTTP thread */
int metrics_bind(struct daemon *d);
int metrics_start(struct daemon *d);
void metrics_stop(struct daemon *d);

/* single.c: exclusive locks on the state, pin and run dirs, held until
 * exit; -1 (with the error printed) if another splitd holds one */
int single_instance_lock(const struct daemon *d);

/* privileges.c */
int drop_privileges(void);

/* notify.c: systemd's notify protocol (nothing without NOTIFY_SOCKET) */
void notify_ready(struct daemon *d);
/* STATUS= again if what it says changed (VIPs, rollouts) */
void notify_status(struct daemon *d);
void notify_reloading(struct daemon *d);
/* READY=1 after a reload; failure is why it changed nothing, or NULL */
void notify_reloaded(struct daemon *d, const char *failure);
void notify_stopping(void);

#endif
