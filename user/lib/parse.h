/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Parsing what operators type: VIPs (ADDR:PORT/PROTO, [V6]:PORT/PROTO),
 * addresses, prefixes, MACs, percentages with two decimals, pool names.
 * Each returns 0 or -EINVAL and never accepts trailing garbage.
 */
#ifndef XDPSPLIT_PARSE_H
#define XDPSPLIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "maps/contract.h"

int xs_parse_address(const char *text, __u8 *family, __be32 *address);
int xs_parse_prefix(const char *text, __u8 *family, __be32 *address,
		    __u32 *prefix_length);
int xs_parse_vip(const char *text, struct xs_vip_key *key);
int xs_parse_mac(const char *text, __u8 *mac);
/* "12.5" -> 1250 basis points; 0..100 with at most two decimals */
int xs_parse_percent(const char *text, __u16 *basis_points);
int xs_parse_pool(const char *text, __u8 *pool);
int xs_parse_u32(const char *text, __u32 min, __u32 max, __u32 *value);
/* A name the configuration gives (a policy, a webhook, a host) and that
 * goes into keys, labels, logs and the control socket's line protocol:
 * letters, digits, '.', '_' and '-', nothing to quote or escape. */
#define XS_PLAIN_NAME_CHARACTERS "letters, digits, '.', '_' and '-'"
bool xs_is_plain_name(const char *name);

const char *xs_pool_name(__u8 pool);
const char *xs_state_name(__u8 state);
const char *xs_mode_name(__u8 mode);
const char *xs_split_name(__u8 split_key);
const char *xs_protocol_name(__u8 protocol);

/* Formatting back: "10.0.0.1", "fd00::1", "10.0.0.1:80/tcp", "[fd00::1]:80/tcp" */
void xs_format_address(__u8 family, const __be32 *address, char *out,
		       size_t size);
void xs_format_vip(const struct xs_vip_key *key, char *out, size_t size);
void xs_format_mac(const __u8 *mac, char *out, size_t size);

#endif /* XDPSPLIT_PARSE_H */
