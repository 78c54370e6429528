/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Making the running VIPs and backends what a configuration file says: a
 * plan (the diff, shown to the operator and usable as --dry-run), then its
 * execution. Everything that can fail before a write (MAC resolution,
 * capacity) is checked while planning, so a plan that cannot be carried out
 * changes nothing. Backend states belong to operators and probes, not to
 * the file; weights are written only where the file gives them.
 */
#ifndef XDPSPLIT_APPLY_H
#define XDPSPLIT_APPLY_H

#include "config.h"
#include "dataplane.h"

enum xs_change_kind {
	XS_CHANGE_DELETE_VIP,
	XS_CHANGE_ADD_VIP,
	XS_CHANGE_DELETE_BACKEND,
	XS_CHANGE_ADD_BACKEND,
	XS_CHANGE_UPDATE_BACKEND, /* weight or MAC */
	XS_CHANGE_SET_WEIGHTS,
};

struct xs_change {
	enum xs_change_kind kind;
	struct xs_vip_key key;
	__u8 mode, split_key; /* add VIP */
	bool has_share;	      /* add VIP: into share's service */
	struct xs_vip_key share;
	__u32 backend_id;	   /* delete/update */
	struct xs_backend backend; /* add/update: the wanted entry; delete:
				    * the entry removed */
	struct xs_route route;
	char text[256]; /* "+ backend 10.0.0.1:80/tcp blue 10.1.0.1" */
};

struct xs_plan {
	struct xs_change *changes;
	size_t count, capacity;
};

/* Computes the changes; -errno with a message in error if the file cannot
 * be carried out (a MAC does not resolve, no room for VIPs or backends). */
int xs_apply_plan(struct xs_dataplane *dp, const struct xs_config_file *config,
		  struct xs_plan *plan, char *error, size_t error_size);

/* Whether a running VIP the file does not list may be deleted. */
typedef bool (*xs_apply_may_delete)(const struct xs_vip_key *key,
				    void *context);
/* The same, deleting an unlisted VIP only where may_delete says so (NULL:
 * every one, as apply -f does). */
int xs_apply_plan_scoped(struct xs_dataplane *dp,
			 const struct xs_config_file *config,
			 xs_apply_may_delete may_delete, void *context,
			 struct xs_plan *plan, char *error, size_t error_size);
/* Carries the plan out in an order that keeps the data plane consistent:
 * deletions first, then VIPs, backends, weights. */
int xs_apply_execute(struct xs_dataplane *dp, const struct xs_plan *plan,
		     char *error, size_t error_size);
void xs_plan_free(struct xs_plan *plan);

/* The plan's changes in the order xs_apply_execute carries them out;
 * stops at the first visit that returns non-zero and returns it. */
typedef int (*xs_change_visitor)(const struct xs_change *change, void *context);
int xs_plan_each(const struct xs_plan *plan, xs_change_visitor visit,
		 void *context);

#endif
