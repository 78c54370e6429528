// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading, pinning, reloading, attaching through libxdp, and decap. */
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "xdp_split.skel.h"
#include "xdp_decap.skel.h"
#include "maps/names.h"
#include "user/lib/maglev.h"
#include "testlib/env.h"
#include "tests.h"

static int defaults_fit_a_real_host(const void *arg)
{
	struct xs_load_options defaults = { 0 };
	struct xdp_split *skel;
	struct test_env env;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup_with(&env, &defaults));
	skel = env.loaded.skel;
	if ((__u64)bpf_map__max_entries(skel->maps.flows) * XS_FLOW_WAYS <
		    (1U << 20) * XS_FLOW_WAYS_PER_FLOW ||
	    bpf_map__max_entries(skel->maps.vips) < 256 ||
	    bpf_map__max_entries(skel->maps.backends) < 4096 ||
	    env.dp.config.maglev_size < 16381 ||
	    !xs_is_prime(env.dp.config.maglev_size)) {
		fprintf(stderr,
			"    flow buckets %u vips %u backends %u maglev %u\n",
			bpf_map__max_entries(skel->maps.flows),
			bpf_map__max_entries(skel->maps.vips),
			bpf_map__max_entries(skel->maps.backends),
			env.dp.config.maglev_size);
		failed = 1;
	}
	/* the kernel takes only tables of the template's size */
	env_add_backend(&env,
			env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
				    XS_MODE_L2DSR, XS_SPLIT_FLOW, NULL),
			XS_POOL_BLUE, 4, "10.0.1.1", 1);
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* A second load over the same pins keeps every flow and setting, and the
 * sizes of the first load win over what the second one asks for. */
static int reload_keeps_pinned_state(const void *arg)
{
	struct packet_spec syn = { .family = 4,
				   .client = "192.0.2.7",
				   .vip = "10.100.0.1",
				   .client_port = 1234,
				   .vip_port = 80,
				   .protocol = IPPROTO_TCP,
				   .tcp_flags = 0x02 };
	struct xs_load_options bigger = { .max_vips = 64, .maglev_size = 7 };
	struct test_env env;
	struct run_result result;
	struct xs_vip_key key;
	struct xs_vip vip;
	struct xs_loaded again;
	__u32 vip_id, backend;
	int failed = 0;

	(void)arg;
	CHECK_OK(env_setup(&env));
	vip_id = env_add_vip(&env, 4, "10.100.0.1", 80, IPPROTO_TCP,
			     XS_MODE_L2DSR, XS_SPLIT_FLOW, &key);
	backend = env_add_backend(&env, vip_id, XS_POOL_BLUE, 4, "10.0.1.1", 1);
	if (env_run_spec(&env, &syn, &result) || result.action != XDP_TX)
		failed = 1;

	/* the first instance's handles go; its pins stay */
	xs_dataplane_close(&env.dp);
	xs_unload(&env.loaded);
	bigger.pin_dir = env.pin_dir;
	if (!failed && xs_load(&bigger, &again))
		failed = 1;
	env.loaded = again;
	if (!failed && xs_dataplane_open(&env.dp, env.pin_dir))
		failed = 1;
	if (!failed) {
		env.prog_fd = bpf_program__fd(again.skel->progs.xdp_split);
		syn.tcp_flags = 0x10;
		if (env.dp.config.max_vips != 16 ||
		    env.dp.config.maglev_size != 4099 ||
		    xs_vip_read(&env.dp, &key, &vip) || vip.vip_id != vip_id ||
		    env_counter(&env, XS_FORWARD_L2DSR) != 1 ||
		    env_run_spec(&env, &syn, &result) ||
		    env_backend_of_frame(result.frame) != backend ||
		    env_counter(&env, XS_FLOW_RECHOSEN_BACKEND_DOWN) != 0) {
			fprintf(stderr, "    state lost across reload\n");
			failed = 1;
		}
	}
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* Other builds over the pins of a running one (what splitctl upgrade does
 * before it swaps anything): the same layout loads and uses the pinned
 * maps; another layout is refused with XS_ERR_LAYOUT and nothing pinned
 * changes. The builds are the Makefile's upgrade test objects. */
static int other_builds_over_the_pins(const void *arg)
{
	static const struct {
		const char *build;
		int expected;
	} builds[] = {
		{ "rebuild", 0 },	       /* another program, same maps */
		{ "claimed", 0 },	       /* a reserved field named */
		{ "layout", XS_ERR_LAYOUT },   /* global_stats grew */
		{ "swapped", XS_ERR_LAYOUT },  /* flow entry members swapped */
		{ "unmapped", XS_ERR_LAYOUT }, /* flow table not mmapable */
	};
	const char *build_dir = getenv("XDPSPLIT_BUILD");
	struct xs_load_options options = { 0 };
	struct bpf_map_info pinned = { 0 }, used = { 0 };
	__u32 length = sizeof(pinned);
	struct test_env env;
	char path[PATH_MAX];
	int failed = 0, fd;

	(void)arg;
	CHECK_OK(env_setup(&env));
	snprintf(path, sizeof(path), "%s/%s", env.pin_dir, XS_MAP_FLOWS);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &pinned, &length))
		failed = 1;
	if (fd >= 0)
		close(fd);
	options.pin_dir = env.pin_dir;
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]) && fd >= 0;
	     i++) {
		struct xs_loaded other;
		char object[PATH_MAX];
		int err;

		snprintf(object, sizeof(object),
			 "%s/upgrade/xdp_split_%s.bpf.o",
			 build_dir ? build_dir : "build", builds[i].build);
		options.object_path = object;
		err = xs_load(&options, &other);
		if (err != builds[i].expected) {
			fprintf(stderr, "    %s: %d, expected %d\n",
				builds[i].build, err, builds[i].expected);
			failed = 1;
		}
		if (err)
			continue;
		length = sizeof(used);
		fd = bpf_map__fd(bpf_object__find_map_by_name(other.file_obj,
							      XS_MAP_FLOWS));
		if (bpf_obj_get_info_by_fd(fd, &used, &length) ||
		    used.id != pinned.id) {
			fprintf(stderr, "    %s: flow table id %u, pinned %u\n",
				builds[i].build, used.id, pinned.id);
			failed = 1;
		}
		xs_unload(&other);
	}
	/* the refused builds changed no pin */
	snprintf(path, sizeof(path), "%s/%s", env.pin_dir, XS_MAP_FLOWS);
	fd = bpf_obj_get(path);
	length = sizeof(used);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &used, &length) ||
	    used.id != pinned.id) {
		fprintf(stderr, "    the pinned flow table changed\n");
		failed = 1;
	}
	if (fd >= 0)
		close(fd);
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* Pins of the release before flow sharing (a flow table that is not
 * mmapable) under this build: refused as another layout, with a message
 * that names the flow table and what to do, and the pins left as they
 * are. The other build is the Makefile's "unmapped" test object. */
static int pins_of_the_unmapped_release(const void *arg)
{
	const char *build_dir = getenv("XDPSPLIT_BUILD");
	struct xs_load_options options = { .max_flows = 4096 };
	struct bpf_map_info before = { 0 }, after = { 0 };
	__u32 length = sizeof(before);
	struct xs_loaded old, new;
	struct xs_dataplane dp;
	char object[PATH_MAX], pin_dir[128], path[PATH_MAX];
	int err, fd, failed = 0;

	(void)arg;
	snprintf(pin_dir, sizeof(pin_dir),
		 "/sys/fs/bpf/xdpsplit-test-%d-unmapped", getpid());
	snprintf(object, sizeof(object), "%s/upgrade/xdp_split_unmapped.bpf.o",
		 build_dir ? build_dir : "build");
	xs_unpin(pin_dir);
	options.pin_dir = pin_dir;
	options.object_path = object;
	CHECK_OK(xs_load(&options, &old));
	snprintf(path, sizeof(path), "%s/%s", pin_dir, XS_MAP_FLOWS);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &before, &length) ||
	    (before.map_flags & BPF_F_MMAPABLE))
		failed = 1;
	if (fd >= 0)
		close(fd);
	/* this build over them: refused before anything is loaded */
	options.object_path = NULL;
	err = xs_load(&options, &new);
	if (err != XS_ERR_LAYOUT) {
		fprintf(stderr,
			"    this build over the unmapped pins: %d, expected %d\n",
			err, XS_ERR_LAYOUT);
		failed = 1;
	}
	if (!err)
		xs_unload(&new);
	/* the library refuses them too, naming the table and the way on */
	err = xs_dataplane_open(&dp, pin_dir);
	printf("     %s\n", dp.error);
	if (err != XS_ERR_LAYOUT || !strstr(dp.error, "'flows'") ||
	    !strstr(dp.error, "not mmapable") || !strstr(dp.error, "detach")) {
		fprintf(stderr, "    xs_dataplane_open: %d '%s'\n", err,
			dp.error);
		failed = 1;
	}
	if (!err)
		xs_dataplane_close(&dp);
	fd = bpf_obj_get(path);
	length = sizeof(after);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &after, &length) ||
	    after.id != before.id) {
		fprintf(stderr, "    the pinned flow table changed\n");
		failed = 1;
	}
	if (fd >= 0)
		close(fd);
	xs_unload(&old);
	xs_unpin(pin_dir);
	return failed ? -1 : 0;
}

static int report_program(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 length = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &length))
		return -1;
	printf("     %s: %u instructions verified, %u translated\n", info.name,
	       info.verified_insns, info.xlated_prog_len / 8);
	return 0;
}

/* Native XDP on a veth through libxdp: the dispatcher is refused on this
 * kernel, so libxdp's fallback attaches the program alone. */
static int attach_native_to_veth(const void *arg)
{
	struct test_env env;
	struct xs_load_options options = { .max_flows = 4096 };
	struct xs_loaded loaded;
	struct xdp_multiprog *mp;
	struct xdp_program *main_prog;
	int ifindex, failed = 0;

	(void)arg;
	if (system("ip link add att0 type veth peer name att1 && ip link set att0 up && ip link set att1 up"))
		return -1;
	ifindex = if_nametoindex("att0");
	snprintf(env.pin_dir, sizeof(env.pin_dir),
		 "/sys/fs/bpf/xdpsplit-test-%d-attach", getpid());
	options.pin_dir = env.pin_dir;
	if (xs_load_and_attach(&options, ifindex, XDP_MODE_NATIVE, &loaded)) {
		failed = 1;
		goto out;
	}
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	main_prog = mp && !libxdp_get_error(mp) ? xdp_multiprog__main_prog(mp) :
						  NULL;
	if (!main_prog || xdp_multiprog__attach_mode(mp) != XDP_MODE_NATIVE ||
	    strcmp(xdp_program__name(main_prog), "xdp_split")) {
		fprintf(stderr, "    not attached natively as xdp_split\n");
		failed = 1;
	}
	if (main_prog)
		report_program(xdp_program__fd(main_prog));
	if (mp && !libxdp_get_error(mp))
		xdp_multiprog__close(mp);
	if (xs_detach(&loaded, ifindex, XDP_MODE_NATIVE))
		failed = 1;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (mp && !libxdp_get_error(mp)) {
		fprintf(stderr, "    still attached after detach\n");
		xdp_multiprog__close(mp);
		failed = 1;
	}
	xs_unload(&loaded);
out:
	xs_unpin(env.pin_dir);
	system("ip link del att0");
	return failed ? -1 : 0;
}

/* What the splitter encapsulates, the decap program restores: the frame
 * the backend's kernel sees is the client's packet to the VIP. */
static int decap_restores_the_inner_packet(const void *arg)
{
	static struct run_result encapsulated, decapsulated;
	struct packet_spec specs[] = {
		{ .family = 4,
		  .client = "192.0.2.10",
		  .vip = "10.100.0.2",
		  .client_port = 999,
		  .vip_port = 80,
		  .protocol = IPPROTO_TCP,
		  .tcp_flags = 0x02,
		  .payload_length = 33 },
		{ .family = 6,
		  .client = "2001:db8::10",
		  .vip = "fd00:100::2",
		  .client_port = 999,
		  .vip_port = 80,
		  .protocol = IPPROTO_TCP,
		  .tcp_flags = 0x02,
		  .vlan_count = 1 },
	};
	struct xdp_decap *decap = xdp_decap__open_and_load();
	struct test_env env;
	int failed = 0;

	(void)arg;
	CHECK(decap != NULL, "couldn't load xdp_decap");
	if (env_setup(&env)) {
		xdp_decap__destroy(decap);
		return -1;
	}
	env_add_backend(&env,
			env_add_vip(&env, 4, "10.100.0.2", 80, IPPROTO_TCP,
				    XS_MODE_IPIP, XS_SPLIT_FLOW, NULL),
			XS_POOL_BLUE, 4, "10.0.0.2", 1);
	env_add_backend(&env,
			env_add_vip(&env, 6, "fd00:100::2", 80, IPPROTO_TCP,
				    XS_MODE_IPIP, XS_SPLIT_FLOW, NULL),
			XS_POOL_BLUE, 6, "fd00::3", 1);
	for (size_t i = 0; i < 2 && !failed; i++) {
		__u8 original[FRAME_CAPACITY];
		size_t length, l3;

		parse_mac(TEST_LB_MAC, specs[i].destination_mac);
		parse_mac(TEST_CLIENT_MAC, specs[i].source_mac);
		length = build_packet(&specs[i], original);
		l3 = l3_offset(original);
		if (env_run(&env, original, length, &encapsulated) ||
		    encapsulated.action != XDP_TX) {
			failed = 1;
			break;
		}
		env.prog_fd = bpf_program__fd(decap->progs.xdp_decap);
		if (env_run(&env, encapsulated.frame, encapsulated.length,
			    &decapsulated) ||
		    decapsulated.action != XDP_PASS ||
		    decapsulated.length != length ||
		    memcmp(decapsulated.frame, encapsulated.frame, l3) ||
		    memcmp(decapsulated.frame + l3, original + l3,
			   length - l3)) {
			fprintf(stderr, "    family %d: decap output differs\n",
				specs[i].family);
			failed = 1;
		}
		env.prog_fd = bpf_program__fd(env.loaded.skel->progs.xdp_split);
	}
	report_program(bpf_program__fd(decap->progs.xdp_decap));
	xdp_decap__destroy(decap);
	env_teardown(&env);
	return failed ? -1 : 0;
}

/* 1 if a load with any of these pin directories succeeded (each said). */
static int loads_with_any(const char *const *dirs, size_t count)
{
	int loaded_one = 0;

	for (size_t i = 0; i < count; i++) {
		struct xs_load_options options = { .pin_dir = dirs[i],
						   .max_flows = 4096 };
		struct xs_loaded loaded;

		if (!xs_load(&options, &loaded)) {
			fprintf(stderr, "    loaded with pin directory '%s'\n",
				dirs[i] ?: "(none)");
			xs_unload(&loaded);
			loaded_one = 1;
		}
	}
	return loaded_one;
}

/* 1 if any of our maps is pinned right in root (each said). */
static int pinned_in(const char *root)
{
	char path[PATH_MAX];
	struct stat st;
	int pinned = 0;

	for (int m = 0; m < XS_MAP_ID_COUNT; m++) {
		snprintf(path, sizeof(path), "%s/%s", root, xs_map_names[m]);
		if (!lstat(path, &st)) {
			fprintf(stderr, "    %s is pinned at the bpffs root\n",
				path);
			pinned = 1;
		}
	}
	return pinned;
}

/* A load must pin under a directory of its own: never at the bpffs root,
 * where any program pinning by name would pick our maps up (and a later
 * load would reuse theirs), nor with no directory at all. */
static int never_pins_at_the_root(const void *arg)
{
	const char *shared[] = { "/sys/fs/bpf", "/sys/fs/bpf/", "", NULL };
	char path[PATH_MAX];
	int failed;

	(void)arg;
	failed = loads_with_any(shared, sizeof(shared) / sizeof(shared[0]));
	failed |= pinned_in("/sys/fs/bpf");
	if (failed) /* ours, from this test: nothing else pins by these names */
		for (int m = 0; m < XS_MAP_ID_COUNT; m++) {
			snprintf(path, sizeof(path), "/sys/fs/bpf/%s",
				 xs_map_names[m]);
			unlink(path);
		}
	return failed ? -1 : 0;
}

/* The root of a bpffs mounted 0700, as systemd mounts /sys/fs/bpf: its
 * mode says nothing shared, but it is (a bpffs of the test's own, so the
 * machine's root is never touched). */
static int never_pins_at_a_private_root(const void *arg)
{
	char root[] = "/tmp/xdpsplit-test-bpffs-XXXXXX", slash[PATH_MAX];
	const char *roots[] = { root, slash };
	int failed;

	(void)arg;
	if (!mkdtemp(root))
		return -1;
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		fprintf(stderr, "    couldn't mount bpffs at %s: %m\n", root);
		rmdir(root);
		return -1;
	}
	snprintf(slash, sizeof(slash), "%s/", root);
	failed = loads_with_any(roots, sizeof(roots) / sizeof(roots[0]));
	failed |= pinned_in(root);
	umount2(root, MNT_DETACH); /* its pins go with it */
	rmdir(root);
	return failed ? -1 : 0;
}

const struct test_case *load_tests(size_t *count)
{
	static const struct test_case cases[] = {
		{ "load: default sizes fit a real LB host",
		  defaults_fit_a_real_host, NULL },
		{ "load: a reload keeps pinned flows and settings",
		  reload_keeps_pinned_state, NULL },
		{ "load: never pins at the bpffs root or without a directory",
		  never_pins_at_the_root, NULL },
		{ "load: never pins at the root of a bpffs mounted 0700 (as systemd mounts it)",
		  never_pins_at_a_private_root, NULL },
		{ "load: pins of the release before the mmapable flow table are refused as another layout",
		  pins_of_the_unmapped_release, NULL },
		{ "load: other builds over the pins: same layout reuses them, another is refused",
		  other_builds_over_the_pins, NULL },
		{ "attach: native XDP on a veth through libxdp",
		  attach_native_to_veth, NULL },
		{ "decap: restores the packet the splitter tunnelled",
		  decap_restores_the_inner_packet, NULL },
	};
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}
