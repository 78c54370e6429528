/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one version of splitd, splitctl and what they report. */
#ifndef XDPSPLIT_VERSION_H
#define XDPSPLIT_VERSION_H

#define XS_VERSION "0.13.0"

#endif
