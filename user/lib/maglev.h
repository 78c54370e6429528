/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted Maglev (Eisenbud et al., NSDI 2016). The table depends only on the
 * backends' addresses and weights, not on their ids' order, so every LB host
 * with the same configuration builds the same table.
 */
#ifndef XDPSPLIT_MAGLEV_H
#define XDPSPLIT_MAGLEV_H

#include <stddef.h>
#include <linux/types.h>
#include "maps/contract.h"

struct xs_maglev_backend {
	__u32 id;
	__be32 address[XS_ADDRESS_WORDS];
	__u32 weight; /* > 0 */
};

/* Fills table[size] with backend ids; size must be prime. Returns 0, or
 * -EINVAL for no backends, a zero weight or a non-prime size. */
int xs_maglev_build(const struct xs_maglev_backend *backends, size_t count,
		    __u32 size, __u32 *table);

int xs_is_prime(__u32 n);

#endif /* XDPSPLIT_MAGLEV_H */
