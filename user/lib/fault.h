/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crash-test points. With XDPSPLIT_FAULT_PAUSE=NAME in its environment, a
 * process that reaches the point NAME says so on standard error and stops
 * there until it is killed, so a test can kill it in the middle of a state
 * write or between recording a decision and writing it to the map. Without
 * the variable a point costs one getenv at the first call.
 */
#ifndef XDPSPLIT_LIB_FAULT_H
#define XDPSPLIT_LIB_FAULT_H

#include <stdio.h>

/* Stops at the point NAME if it is armed, after flushing `pending` (if not
 * NULL) so that what was written so far is in the file. */
void xs_fault_point(const char *name, FILE *pending);

#endif
