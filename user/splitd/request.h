/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The control socket's request line, parsed without side effects (so it
 * can be fuzzed alone). */
#ifndef XDPSPLIT_SPLITD_REQUEST_H
#define XDPSPLIT_SPLITD_REQUEST_H

#include "user/lib/rollout.h"

struct control_request {
	char verb[16];
	char vip[96];
	char policy[XS_NAME_SIZE];
	bool flush; /* abort or undo: re-choose the canary's flows now */
};

/* "rollout VERB [VIP [POLICY | flush]]": 0, or -1 for anything else
 * (unknown verb, missing or extra words, status being the only verb without
 * a VIP, start the only one with a policy, abort and undo the only ones
 * with flush). */
int control_parse_request(const char *line, struct control_request *request);

#endif
