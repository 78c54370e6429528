/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* splitctl's way to a fleet's etcd: --etcd and --prefix, or the fleet
 * section of splitd's configuration (--config, default the system one). */
#ifndef XDPSPLIT_SPLITCTL_FLEET_CONN_H
#define XDPSPLIT_SPLITCTL_FLEET_CONN_H

#include "user/lib/config.h"
#include "user/lib/fleet/etcd.h"

#define FLEET_TIMEOUT_MS 3000

struct fleet_conn {
	struct xs_etcd *etcd;
	char prefix[128];
	char host[64]; /* this host's name, if a configuration gave it */
};

/* Takes the options from the front of argv (*argc, *argv move past them)
 * and opens the handle: EXIT_OK, or the error printed and its exit code. */
int fleet_connect(struct fleet_conn *conn, int *argc, char ***argv);
void fleet_disconnect(struct fleet_conn *conn);
/* prefix + part (+ '/' more) into out (XS_FLEET_KEY_SIZE) */
void fleet_key(const struct fleet_conn *conn, char *out, const char *part,
	       const char *more);

#endif
