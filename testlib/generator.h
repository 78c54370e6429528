/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The generator's packet template, shared with the driver (bench/live.c). */
#ifndef XDPSPLIT_BENCH_GENERATOR_H
#define XDPSPLIT_BENCH_GENERATOR_H

#include <linux/types.h>

#define TEMPLATE_BYTES 128
/* CPUs whose generator runs keep a packet counter each */
#define GENERATOR_MAX_CPUS 64

struct template
{
	__u8 bytes[TEMPLATE_BYTES];
	__u32 flows; /* cycle through this many flows; 0: a new one each run */
	__u32 ipv6;  /* where the client's address and port are */
	/* IPv4 only: scatter the client's address (low 16 bits) and port by a
	 * hash of the packet number, and fix the IP and TCP/UDP checksums so a
	 * receiver takes the packet as a real one (a flood from forged sources) */
	__u32 random_sources;
	/* a connection's two packets: the template's SYN, then the ACK of the
	 * same tuple (the handshake's third packet), a new tuple each */
	__u32 connections;
	/* generators running at once, one per CPU 0 .. stride - 1: CPU c
	 * sends flows c, c + stride, ... so no two send the same new flow;
	 * 0 or 1: one generator, flows 0, 1, 2, ... */
	__u32 stride;
};

/* packets sent by one CPU: a cache line each, so two generators running
 * at once neither race on one counter nor bounce its line */
struct sequence {
	__u64 sent;
	__u8 padding[56];
};

#endif
