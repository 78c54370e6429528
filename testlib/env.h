/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A loaded splitter for one test: its own pin directory, small map sizes,
 * VIPs and backends set up through the library as the CLI will, and a way
 * to run a frame through the program with BPF_PROG_TEST_RUN.
 *
 * The runner works in a network namespace of its own holding a veth pair:
 * "lb0" (10.0.0.1, fd00::1) is the LB's interface and the ingress of every
 * test packet; backends 10.0.0.2-9 / fd00::2-9 are its permanent neighbours,
 * so bpf_fib_lookup answers for ipip.
 */
#ifndef XDPSPLIT_TESTS_ENV_H
#define XDPSPLIT_TESTS_ENV_H

#include <linux/types.h>
#include "user/lib/dataplane.h"
#include "user/lib/loader.h"
#include "testlib/packet.h"

#define TEST_LB_MAC "02:00:00:00:00:01"
#define TEST_CLIENT_MAC "02:00:00:00:00:fe"
#define TEST_NEIGHBOUR_MAC_PREFIX "02:00:00:00:01:" /* + last octet */

struct test_env {
	char pin_dir[128];
	struct xs_loaded loaded;
	struct xs_dataplane dp;
	int prog_fd;
	int ifindex;
	__u32 next_vip_id;
	__u32 next_backend_id;
};

struct run_result {
	int action;
	__u8 frame[FRAME_CAPACITY];
	__u32 length;
};

/* Makes the namespace and veth pair; once per runner. */
int env_make_network(void);

int env_setup(struct test_env *env);
int env_setup_with(struct test_env *env, const struct xs_load_options *o);
void env_teardown(struct test_env *env);

/* Adds a VIP with a valid route (100% blue, blue live); returns vip_id. */
__u32 env_add_vip(struct test_env *env, int family, const char *address,
		  __u16 port, __u8 protocol, __u8 mode, __u8 split_key,
		  struct xs_vip_key *key_out);
/* Adds an UP backend and rebuilds its pool's table; returns its id. Its MAC
 * is 02:00:00:00:02:<id> for l2dsr; ipip backends are the lb0 neighbours. */
__u32 env_add_backend(struct test_env *env, __u32 vip_id, __u8 pool, int family,
		      const char *address, __u16 weight);
int env_set_weights(struct test_env *env, __u32 vip_id, __u16 blue, __u16 green,
		    __u16 canary, __u8 live_pool);
void env_backend_mac(__u32 backend_id, __u8 *mac);
/* The backend id whose MAC is the frame's destination, or 0. */
__u32 env_backend_of_frame(const __u8 *frame);
/* Removes every flow: the next packet of any flow is a new decision. */
int env_clear_flows(struct test_env *env);

int env_run(struct test_env *env, const __u8 *frame, __u32 length,
	    struct run_result *result);
/* Builds the frame from spec (MACs filled in) and runs it. */
int env_run_spec(struct test_env *env, struct packet_spec *spec,
		 struct run_result *result);
__u64 env_counter(struct test_env *env, int counter);

#endif /* XDPSPLIT_TESTS_ENV_H */
