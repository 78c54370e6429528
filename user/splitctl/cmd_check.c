// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* check -f FILE: a placeholder on the cli branch; the apply helper's
 * offline validation replaces this file at the merge. */
#include "splitctl.h"

int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argc;
	(void)argv;
	return runtime_error("'splitctl check' is not built yet");
}
