/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The generator's packet template, shared with the driver (bench/live.c). */
#ifndef XDPSPLIT_BENCH_GENERATOR_H
#define XDPSPLIT_BENCH_GENERATOR_H

#include <linux/types.h>

#define TEMPLATE_BYTES 128

struct template {
	__u8 bytes[TEMPLATE_BYTES];
	__u32 flows; /* cycle through this many flows; 0: a new one each run */
	__u32 ipv6;  /* where the client's address and port are */
	/* IPv4 only: scatter the client's address (low 16 bits) and port by a
	 * hash of the packet number, and fix the IP and TCP/UDP checksums so a
	 * receiver takes the packet as a real one (a flood from forged sources) */
	__u32 random_sources;
};

#endif
