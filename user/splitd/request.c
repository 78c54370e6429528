// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "request.h"

int control_parse_request(const char *line, struct control_request *request)
{
	static const char *const verbs[] = { "start",  "status",  "pause",
					     "resume", "promote", "abort",
					     "undo",   NULL };
	char extra[2];
	bool known = false;
	int words;

	memset(request, 0, sizeof(*request));
	words = sscanf(line, "rollout %15s %95s %63s %1s", request->verb,
		       request->vip, request->policy, extra);
	for (const char *const *v = verbs; words >= 1 && *v; v++)
		known |= !strcmp(request->verb, *v);
	if (words < 1 || words > 3 || !known ||
	    (words == 1 && strcmp(request->verb, "status")))
		return -1;
	if (words == 3 && strcmp(request->verb, "start")) {
		/* abort and undo may ask for the canary's flows to be
		 * re-chosen now instead of drained */
		if (strcmp(request->policy, "flush") ||
		    (strcmp(request->verb, "abort") &&
		     strcmp(request->verb, "undo")))
			return -1;
		request->policy[0] = '\0';
		request->flush = true;
	}
	return 0;
}
