// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * After start-up splitd keeps two capabilities, in every thread it starts
 * afterwards:
 *   CAP_BPF        map updates, and new Maglev tables (inner maps) when a
 *                  probe changes a backend's state;
 *   CAP_NET_ADMIN  dropping a dead backend's neighbour entry.
 * Attaching the program, loading the entry-counting iterator (CAP_BPF,
 * CAP_PERFMON, CAP_SYS_ADMIN, CAP_NET_ADMIN) and binding the metrics port
 * (CAP_NET_BIND_SERVICE below 1024) are done by then. Everything else leaves
 * the permitted set and (CAP_SETPCAP permitting) the bounding set, and
 * no_new_privs is set, so neither the HTTP thread nor anything it might be
 * tricked into running can regain a capability.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "user/lib/log.h"
#include "splitd.h"

static const int kept[] = { CAP_BPF, CAP_NET_ADMIN };

static int is_kept(int capability)
{
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (kept[i] == capability)
			return 1;
	return 0;
}

/* CAP_SETPCAP is in the effective set */
static bool has_setpcap(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &header, data))
		return false;
	return data[CAP_SETPCAP / 32].effective & (1U << (CAP_SETPCAP % 32));
}

int drop_privileges(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	/* the bounding set first: dropping from it needs CAP_SETPCAP. A
	 * service manager may have narrowed it already and taken
	 * CAP_SETPCAP with the rest (systemd's CapabilityBoundingSet=): what
	 * it left stays, and no_new_privs below keeps execve from raising
	 * the permitted set to it */
	for (int capability = 0; capability <= CAP_LAST_CAP; capability++) {
		if (is_kept(capability) ||
		    prctl(PR_CAPBSET_READ, capability, 0, 0, 0) != 1)
			continue;
		if (!prctl(PR_CAPBSET_DROP, capability, 0, 0, 0))
			continue;
		if (errno == EPERM && !has_setpcap()) {
			pr_debug(
				"The bounding set stays as the service manager left it (no CAP_SETPCAP)\n");
			break;
		}
		pr_warn("Couldn't drop capability %d: %s\n", capability,
			strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		data[kept[i] / 32].permitted |= 1U << (kept[i] % 32);
		data[kept[i] / 32].effective |= 1U << (kept[i] % 32);
	}
	if (syscall(SYS_capset, &header, data) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		pr_warn("Couldn't give up privileges: %s\n", strerror(errno));
		return -1;
	}
	pr_info("splitd keeps CAP_BPF and CAP_NET_ADMIN; all other capabilities are gone\n");
	return 0;
}
