// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An etcd lease kept alive from a thread's own round: renewed every third
 * of its TTL, asked for anew when etcd says it expired. Without an answer
 * the lease is not given up: without quorum no lease expires, and the
 * same one may be renewed when etcd is back.
 */
#include <errno.h>
#include "user/lib/fleet/etcd.h"
#include "fleet.h"

enum fleet_lease_state fleet_lease_keep(struct xs_etcd *etcd,
					struct fleet_lease *lease, __u64 ttl_ms,
					__u64 now_ms)
{
	bool had = lease->id != 0;
	char error[512];
	int err;

	if (had && now_ms - lease->renewed_ms < ttl_ms / 3)
		return FLEET_LEASE_HELD;
	if (had) {
		err = xs_etcd_lease_keepalive(etcd, lease->id, NULL, error,
					      sizeof(error));
		if (!err) {
			lease->renewed_ms = now_ms;
			return FLEET_LEASE_HELD;
		}
		if (err != -ENOENT)
			return now_ms - lease->renewed_ms < ttl_ms ?
				       FLEET_LEASE_UNSURE :
				       FLEET_LEASE_STALE;
		lease->id = 0; /* expired: its keys are gone */
	}
	if (xs_etcd_lease_grant(etcd, (int64_t)(ttl_ms / 1000), &lease->id,
				NULL, error, sizeof(error))) {
		lease->id = 0;
		return FLEET_LEASE_NONE;
	}
	lease->renewed_ms = now_ms;
	return FLEET_LEASE_NEW;
}
