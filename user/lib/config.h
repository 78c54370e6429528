/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The declarative configuration: one YAML file with the interfaces, VIPs,
 * their backends, health probes and rollout policies (see
 * examples/xdpsplit.yaml). Parsed with libyaml and validated whole; an error
 * names the file, line, column and field, and nothing is applied.
 */
#ifndef XDPSPLIT_CONFIG_H
#define XDPSPLIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "maps/contract.h"
#include "rollout.h"

#define XS_DEFAULT_CONFIG_FILE "/etc/xdpsplit/xdpsplit.yaml"
#define XS_CONFIG_MAX_INTERFACES 8
#define XS_CONFIG_MAX_VIPS 64
#define XS_CONFIG_MAX_BACKENDS 64
#define XS_CONFIG_MAX_POLICIES 16

enum xs_probe_type {
	XS_PROBE_NONE,
	XS_PROBE_TCP,  /* connect */
	XS_PROBE_HTTP, /* GET path, expect a status */
};

struct xs_probe {
	enum xs_probe_type type;
	__u16 port;
	char path[128];
	__u32 expect_status;
	__u32 interval_ms;
	__u32 timeout_ms;
	__u32 rise; /* successes that bring a DOWN backend UP */
	__u32 fall; /* failures that take an UP backend DOWN */
};

struct xs_config_backend {
	char text[64];
	__be32 address[XS_ADDRESS_WORDS];
	__u8 pool;
	__u32 weight;
	bool has_mac;
	__u8 mac[6];
};

struct xs_config_vip {
	char text[80];
	struct xs_vip_key key;
	__u8 mode;
	__u8 split_key;
	bool has_weights;
	struct xs_route weights;
	struct xs_config_backend backends[XS_CONFIG_MAX_BACKENDS];
	__u32 backend_count;
	struct xs_probe probe;
	char rollout[XS_NAME_SIZE]; /* the policy 'rollout start' uses */
	/* one service: this VIP splits by share's route entry (share is
	 * listed before it, with the weights and rollout of both) */
	bool has_share;
	struct xs_vip_key share;
	char share_text[80];
};

struct xs_config_interface {
	char name[32];
	bool generic; /* generic (skb) mode instead of native */
};

#define XS_FLEET_MAX_ENDPOINTS 8
#define XS_FLEET_DEFAULT_PREFIX "/xdpsplit/"
#define XS_FLEET_DEFAULT_DEVICE "xsplit-vips"
#define XS_FLEET_DEFAULT_TABLE 80
#define XS_FLEET_DEFAULT_LEASE_MS 3000

/* This host's place in a fleet (the file's 'fleet:' section). In a fleet
 * the VIPs and rollouts are the fleet's, in etcd; the local file holds
 * only what is this host's own: interfaces, daemon, fleet. */
struct xs_config_fleet {
	bool enabled;
	char host[64]; /* this host's name in the fleet */
	char endpoints[XS_FLEET_MAX_ENDPOINTS][128]; /* etcd client URLs */
	__u32 endpoint_count;
	char prefix[128]; /* every key of the fleet starts with it */
	__u32 lease_ms;	  /* a host or leader silent this long is gone */
	char device[16];  /* the announcer's TUN device */
	__u32 table;	  /* the kernel table the BGP daemon exports */
};

struct xs_config_file {
	struct xs_config_interface interfaces[XS_CONFIG_MAX_INTERFACES];
	__u32 interface_count;
	__u32 interval_ms; /* counter collection and analysis */
	char metrics[64];  /* ADDRESS:PORT of the Prometheus endpoint */
	struct xs_config_vip vips[XS_CONFIG_MAX_VIPS];
	__u32 vip_count;
	struct xs_policy policies[XS_CONFIG_MAX_POLICIES];
	__u32 policy_count;
	struct xs_config_fleet fleet;
};

/* Parses and validates; on failure returns -EINVAL with the message
 * ("FILE:LINE:COLUMN: FIELD: what is wrong") in error. */
int xs_config_load(const char *path, struct xs_config_file *config, char *error,
		   size_t error_size);
int xs_config_parse(const char *text, size_t length, const char *name,
		    struct xs_config_file *config, char *error,
		    size_t error_size);

/* A fleet's document (what 'splitctl fleet apply' puts in etcd): only
 * 'vips' and 'rollouts'. Errors as xs_config_parse's. */
int xs_config_parse_document(const char *text, size_t length, const char *name,
			     struct xs_config_file *document, char *error,
			     size_t error_size);
/* The configuration a fleet host runs: the local file's interfaces,
 * daemon and fleet sections with the document's VIPs and policies. */
void xs_config_merge_document(const struct xs_config_file *local,
			      const struct xs_config_file *document,
			      struct xs_config_file *out);

const struct xs_policy *xs_config_policy(const struct xs_config_file *config,
					 const char *name);

#endif /* XDPSPLIT_CONFIG_H */
