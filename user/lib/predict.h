/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane will do with a new flow right now, computed from the
 * pinned maps with the same decision code the XDP program runs.
 */
#ifndef XDPSPLIT_PREDICT_H
#define XDPSPLIT_PREDICT_H

#include "dataplane.h"

struct xs_prediction {
	struct xs_route route;
	__u32 split_point;  /* where the split hash fell in [0, 10000) */
	__u32 slot;         /* Maglev slot */
	__u32 backend_id;   /* 0: no usable backend, the packet is dropped */
	__u8 chosen_pool;   /* by override or weights */
	__u8 pool;          /* after a fallback to the live pool */
	__u8 by_override;
	__u8 fell_back;
};

/* 0, or -EINVAL if the VIP's route is invalid (the program passes). */
int xs_predict(const struct xs_dataplane *dp, const struct xs_vip *vip,
	       const struct xs_flow_key *key, struct xs_prediction *out);

#endif /* XDPSPLIT_PREDICT_H */
