// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdp_split.skel.h"
#include "testlib/env.h"
#include "user/lib/flow_table.h"

static int run(const char *command)
{
	int rc = system(command);

	if (rc)
		fprintf(stderr, "    command failed (%d): %s\n", rc, command);
	return rc ? -1 : 0;
}

int env_make_network(void)
{
	char command[256];

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	/* ipip needs the kernel's FIB to forward from lb0, as on a real LB */
	if (run("ip link set lo up") ||
	    run("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1") ||
	    run("ip link add lb0 address " TEST_LB_MAC
		" type veth peer name lb0peer") ||
	    run("ip link set lb0 up") || run("ip link set lb0peer up") ||
	    run("ip addr add 10.0.0.1/24 dev lb0") ||
	    run("ip -6 addr add fd00::1/64 dev lb0 nodad"))
		return -1;
	for (int i = 2; i <= 9; i++) {
		snprintf(
			command, sizeof(command),
			"ip neigh replace 10.0.0.%d lladdr " TEST_NEIGHBOUR_MAC_PREFIX
			"%02x dev lb0 nud permanent && "
			"ip -6 neigh replace fd00::%d lladdr " TEST_NEIGHBOUR_MAC_PREFIX
			"%02x dev lb0 nud permanent",
			i, i, i, i);
		if (run(command))
			return -1;
	}
	return 0;
}

int env_setup_with(struct test_env *env, const struct xs_load_options *o)
{
	static int instance;
	struct xs_load_options options = *o;
	int err;

	memset(env, 0, sizeof(*env));
	/* a directory of this run's own (scripts/clean-pins.sh knows the
	 * name): nothing at the bpffs root */
	snprintf(env->pin_dir, sizeof(env->pin_dir),
		 "/sys/fs/bpf/xdpsplit-test-%d-%d", getpid(), instance++);
	options.pin_dir = env->pin_dir;
	xs_unpin(env->pin_dir);
	err = xs_load(&options, &env->loaded);
	if (!err) {
		err = xs_dataplane_open(&env->dp, env->pin_dir);
		if (err)
			fprintf(stderr, "    %s\n", env->dp.error);
	}
	if (err) {
		xs_unpin(env->pin_dir);
		return err;
	}
	env->prog_fd = bpf_program__fd(env->loaded.skel->progs.xdp_split);
	env->ifindex = if_nametoindex("lb0");
	env->next_vip_id = 0;
	env->next_backend_id = 1;
	return 0;
}

int env_setup(struct test_env *env)
{
	struct xs_load_options options = {
		.max_vips = 16,
		.max_backends = 256,
		.max_flows = 1 << 18,
		.max_overrides = 1024,
		.maglev_size = 4099,
	};
	return env_setup_with(env, &options);
}

void env_teardown(struct test_env *env)
{
	xs_dataplane_close(&env->dp);
	xs_unload(&env->loaded);
	xs_unpin(env->pin_dir);
}

__u32 env_add_vip(struct test_env *env, int family, const char *address,
		  __u16 port, __u8 protocol, __u8 mode, __u8 split_key,
		  struct xs_vip_key *key_out)
{
	struct xs_vip_key key = {
		.port = htons(port),
		.protocol = protocol,
		.family = family == 4 ? XS_FAMILY_IPV4 : XS_FAMILY_IPV6,
	};
	struct xs_vip vip = {
		.vip_id = env->next_vip_id++,
		.forward_mode = mode,
		.split_key = split_key,
	};
	struct xs_route route = {
		.weight = { XS_WEIGHT_TOTAL, 0, 0 },
		.live_pool = XS_POOL_BLUE,
	};

	parse_address(family, address, key.address);
	vip.route_id = vip.vip_id; /* a VIP of its own service */
	if (xs_route_write(&env->dp, vip.vip_id, &route) ||
	    xs_vip_write(&env->dp, &key, &vip))
		abort();
	if (key_out)
		*key_out = key;
	return vip.vip_id;
}

void env_backend_mac(__u32 backend_id, __u8 *mac)
{
	__u8 base[6] = { 0x02, 0, 0, 0, 0x02, 0 };

	memcpy(mac, base, 6);
	mac[3] = backend_id >> 8;
	mac[5] = backend_id;
}

__u32 env_backend_of_frame(const __u8 *frame)
{
	if (frame[0] != 0x02 || frame[1] || frame[2] || frame[4] != 0x02)
		return 0;
	return ((__u32)frame[3] << 8) | frame[5];
}

__u32 env_add_backend(struct test_env *env, __u32 vip_id, __u8 pool, int family,
		      const char *address, __u16 weight)
{
	struct xs_backend backend = {
		.family = family == 4 ? XS_FAMILY_IPV4 : XS_FAMILY_IPV6,
		.state = XS_BACKEND_UP,
		.vip_id = vip_id,
		.weight = weight,
		.pool = pool,
	};
	__u32 id = env->next_backend_id++;

	parse_address(family, address, backend.address);
	env_backend_mac(id, backend.mac);
	if (xs_backend_write(&env->dp, id, &backend) ||
	    xs_pool_rebuild(&env->dp, vip_id, pool, 0))
		abort();
	return id;
}

int env_set_weights(struct test_env *env, __u32 vip_id, __u16 blue, __u16 green,
		    __u16 canary, __u8 live_pool)
{
	struct xs_route route = {
		.weight = { blue, green, canary },
		.live_pool = live_pool,
	};
	return xs_route_write(&env->dp, vip_id, &route);
}

/* The table empty and the counters of its entries zero again, so the
 * entry counts (flow_usage.c) start from nothing as well. */
int env_clear_flows(struct test_env *env)
{
	static const __u32 counters[] = { XS_FLOW_PENDING_INSERTED,
					  XS_FLOW_PENDING_EVICTED,
					  XS_FLOW_CONFIRMED,
					  XS_FLOW_CONFIRMED_EVICTED,
					  XS_FLOW_CLOSED_REPLACED,
					  XS_FLOW_IMPORTED,
					  XS_FLOW_IMPORTED_PENDING,
					  XS_FLOW_IMPORT_PENDING_EVICTED,
					  XS_FLOW_IMPORT_CONFIRMED_EVICTED,
					  XS_FLOW_IMPORT_CLOSED_REPLACED };
	int cpus = libbpf_num_possible_cpus();
	__u64 zeros[cpus > 0 ? cpus : 1];
	int err = xs_flow_table_clear(&env->dp);

	memset(zeros, 0, sizeof(zeros));
	for (size_t i = 0; !err && i < sizeof(counters) / sizeof(counters[0]);
	     i++)
		if (bpf_map_update_elem(env->dp.map_fd[XS_MAP_ID_GLOBAL_STATS],
					&counters[i], zeros, BPF_ANY))
			err = -errno;
	return err;
}

int env_run(struct test_env *env, const __u8 *frame, __u32 length,
	    struct run_result *result)
{
	struct xdp_md context = {
		.data_end = length,
		.ingress_ifindex = env->ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = length, .data_out = result->frame,
		    .data_size_out = sizeof(result->frame), .ctx_in = &context,
		    .ctx_size_in = sizeof(context), .repeat = 1);
	int err = bpf_prog_test_run_opts(env->prog_fd, &opts);

	if (err)
		return -errno;
	result->action = opts.retval;
	result->length = opts.data_size_out;
	return 0;
}

int env_run_spec(struct test_env *env, struct packet_spec *spec,
		 struct run_result *result)
{
	__u8 frame[FRAME_CAPACITY];
	size_t length;

	parse_mac(TEST_LB_MAC, spec->destination_mac);
	parse_mac(TEST_CLIENT_MAC, spec->source_mac);
	length = build_packet(spec, frame);
	return env_run(env, frame, length, result);
}

__u64 env_counter(struct test_env *env, int counter)
{
	__u64 values[XS_COUNTER_COUNT];

	if (xs_global_counters(&env->dp, values))
		return ~0ULL;
	return values[counter];
}
