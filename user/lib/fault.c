// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fault.h"

void xs_fault_point(const char *name, FILE *pending)
{
	static const char *armed;
	static int looked;

	if (!looked) {
		armed = getenv("XDPSPLIT_FAULT_PAUSE");
		looked = 1;
	}
	if (!armed || strcmp(armed, name))
		return;
	if (pending)
		fflush(pending);
	fprintf(stderr, "fault point %s: stopped until killed\n", name);
	fflush(stderr);
	for (;;)
		pause();
}
