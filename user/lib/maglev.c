// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maps/decision.h"
#include "maglev.h"

/* Fixed seeds: a backend's permutation is a function of its address only. */
#define MAGLEV_OFFSET_SEED 0x6d61676cU
#define MAGLEV_SKIP_SEED 0x736b6970U

int xs_is_prime(__u32 n)
{
	if (n < 2)
		return 0;
	for (__u32 d = 2; (__u64)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

static int by_address(const void *a, const void *b)
{
	const struct xs_maglev_backend *x = a, *y = b;
	return memcmp(x->address, y->address, sizeof(x->address));
}

struct permutation {
	__u32 offset;
	__u32 skip;
	__u32 next;   /* how many of its preferences it has tried */
	__u64 credit; /* weight earned but not yet spent on slots */
};

int xs_maglev_build(const struct xs_maglev_backend *backends, size_t count,
		    __u32 size, __u32 *table)
{
	struct xs_maglev_backend *sorted;
	struct permutation *perm;
	__u32 max_weight = 0, filled = 0;
	size_t i;

	if (!count || !xs_is_prime(size))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (!backends[i].weight)
			return -EINVAL;
		if (backends[i].weight > max_weight)
			max_weight = backends[i].weight;
	}
	sorted = malloc(count * sizeof(*sorted));
	perm = calloc(count, sizeof(*perm));
	if (!sorted || !perm) {
		free(sorted);
		free(perm);
		return -ENOMEM;
	}
	memcpy(sorted, backends, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), by_address);
	for (i = 0; i < count; i++) {
		const __u32 *words = sorted[i].address;

		perm[i].offset = xs_hash_words(words, XS_ADDRESS_WORDS,
					       MAGLEV_OFFSET_SEED) %
				 size;
		perm[i].skip = xs_hash_words(words, XS_ADDRESS_WORDS,
					     MAGLEV_SKIP_SEED) %
				       (size - 1) +
			       1;
	}
	for (__u32 slot = 0; slot < size; slot++)
		table[slot] = 0;

	/* Each round every backend earns its weight; each max_weight earned
	 * buys one slot, its next preferred free one. Shares end up
	 * proportional to weights while keeping Maglev's minimal disruption. */
	while (filled < size) {
		for (i = 0; i < count && filled < size; i++) {
			perm[i].credit += sorted[i].weight;
			while (perm[i].credit >= max_weight && filled < size) {
				__u32 slot;

				do {
					slot = (__u32)((perm[i].offset +
							(__u64)perm[i].next *
								perm[i].skip) %
						       size);
					perm[i].next++;
				} while (table[slot]);
				table[slot] = sorted[i].id;
				perm[i].credit -= max_weight;
				filled++;
			}
		}
	}
	free(sorted);
	free(perm);
	return 0;
}
