// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow sharing's control-plane cost for `make bench`: a full default-size
 * flow table (1,048,576 flows of 2,097,152 ways, 144 MiB) filled by import
 * at a 5% canary, the canary stepped to 25%, the export walk of the whole
 * table (what a host pays after each change of decision inputs), and the
 * import of the exported flows into a second host's table. Also the cost
 * of mapping the table when a data plane is opened (every splitctl run).
 * Prints markdown rows of the control-plane table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "user/lib/fleet/flow_share.h"
#include "user/lib/predict.h"
#include "testlib/traffic.h"
#include "common.h"

#define BACKENDS_PER_POOL 10

static __u32 make_service(struct test_env *env, struct xs_vip *vip)
{
	struct xs_vip_key key;
	char address[32];
	__u32 id = env_add_vip(env, 4, "10.100.0.1", 80, IPPROTO_TCP,
			       XS_MODE_L2DSR, XS_SPLIT_FLOW, &key);

	for (int pool = 0; pool < XS_POOL_COUNT; pool++)
		for (int i = 0; i < BACKENDS_PER_POOL; i++) {
			snprintf(address, sizeof(address), "10.0.%d.%d",
				 pool + 1, i + 1);
			env_add_backend(env, id, pool, 4, address, 1);
		}
	if (xs_vip_read(&env->dp, &key, vip))
		exit(1);
	return id;
}

struct collected {
	struct xs_flow_share_record *records;
	__u32 count, capacity;
};

static int collect(const struct xs_flow_share_record *record, void *ctx)
{
	struct collected *c = ctx;

	if (c->count == c->capacity)
		return -ENOSPC;
	c->records[c->count++] = *record;
	return 0;
}

int main(void)
{
	struct xs_load_options defaults = { 0 };
	struct xs_flow_import_stats filled = { 0 }, shared = { 0 };
	struct xs_flow_export_stats exported;
	struct xs_flow_share_record *records;
	struct test_env a, b;
	struct xs_predict_cache *cache;
	struct collected out = { 0 };
	struct flow_source s;
	struct xs_dataplane dp;
	struct xs_vip vip_a, vip_b;
	__u32 flows;
	double start, fill_s, export_s, import_s, open_s[5], map_s[5],
		unmap_s[5];

	if (bench_setup(&a, &defaults))
		return 1;
	if (env_setup_with(&b, &defaults)) {
		env_teardown(&a);
		return 1;
	}
	make_service(&a, &vip_a);
	make_service(&b, &vip_b);
	env_set_weights(&a, vip_a.vip_id, 9500, 0, 500, XS_POOL_BLUE);
	env_set_weights(&b, vip_b.vip_id, 7500, 0, 2500, XS_POOL_BLUE);
	flows = a.dp.config.max_flows;
	records = calloc(flows, sizeof(*records));
	out.records = calloc(flows, sizeof(*out.records));
	out.capacity = flows;
	cache = xs_predict_cache_new(&a.dp);
	if (!records || !out.records || !cache)
		return 1;

	/* max_flows established connections, each on the backend a 5%
	 * canary gives it, as the program would have stored them */
	flow_source_init(&s, 4, 61);
	for (__u32 i = 0; i < flows; i++, flow_source_next(&s)) {
		struct xs_flow_share_record *r = &records[i];
		struct xs_prediction prediction;
		struct xs_flow_key key = { .client_port = htons(s.port),
					   .vip_port = htons(80),
					   .protocol = IPPROTO_TCP,
					   .family = XS_FAMILY_IPV4 };
		struct xs_backend backend;

		parse_address(4, s.client, key.client);
		parse_address(4, "10.100.0.1", key.vip);
		if (xs_predict_cached(cache, &vip_a, &key, &prediction) ||
		    xs_backend_read(&a.dp, prediction.backend_id, &backend))
			return 1;
		memcpy(r->client, key.client, sizeof(r->client));
		memcpy(r->vip, key.vip, sizeof(r->vip));
		r->client_port = key.client_port;
		r->vip_port = key.vip_port;
		r->protocol = IPPROTO_TCP;
		r->family = XS_FAMILY_IPV4;
		memcpy(r->backend, backend.address, sizeof(r->backend));
		r->backend_family = backend.family;
		r->pool = prediction.pool;
		r->state = XS_FLOW_ESTABLISHED;
	}
	xs_predict_cache_free(cache);
	start = bench_now();
	xs_flow_import(&a.dp, records, flows, &filled);
	fill_s = bench_now() - start;

	/* the canary step, then the walk a host makes after it */
	env_set_weights(&a, vip_a.vip_id, 7500, 0, 2500, XS_POOL_BLUE);
	start = bench_now();
	if (xs_flow_export_changed(&a.dp, collect, &out, &exported))
		return 1;
	export_s = bench_now() - start;

	start = bench_now();
	xs_flow_import(&b.dp, out.records, out.count, &shared);
	import_s = bench_now() - start;

	for (int i = 0; i < 5; i++) {
		start = bench_now();
		if (xs_dataplane_open(&dp, a.pin_dir))
			return 1;
		open_s[i] = bench_now() - start;
		xs_dataplane_close(&dp);
	}
	qsort(open_s, 5, sizeof(open_s[0]), bench_by_double);
	/* and the flow table's mapping, on first use (the kernel maps every
	 * page of the table at mmap time) */
	for (int i = 0; i < 5; i++) {
		void *area;

		start = bench_now();
		area = mmap(NULL, a.dp.flows_length, PROT_READ | PROT_WRITE,
			    MAP_SHARED, a.dp.map_fd[XS_MAP_ID_FLOWS], 0);
		if (area == MAP_FAILED)
			return 1;
		map_s[i] = bench_now() - start;
		start = bench_now();
		munmap(area, a.dp.flows_length);
		unmap_s[i] = bench_now() - start;
	}
	qsort(map_s, 5, sizeof(map_s[0]), bench_by_double);
	qsort(unmap_s, 5, sizeof(unmap_s[0]), bench_by_double);

	printf("| flow sharing: export walk after a canary step 5%% → 25%%, default table (%u ways, %llu flows stored) | %.0f ms for the table, %.0f ns per stored flow; %llu flows exported (changed), %llu unchanged | `build/xdpsplit-flowshare` |\n",
	       xs_flow_buckets(flows) * XS_FLOW_WAYS,
	       (unsigned long long)exported.flows, export_s * 1e3,
	       export_s * 1e9 / (exported.flows ? exported.flows : 1),
	       (unsigned long long)exported.exported,
	       (unsigned long long)exported.unchanged);
	printf("| flow sharing: import of those %u records into another host's empty default table | %.0f ms, %.0f ns per record (%llu stored, %llu not stored) | `build/xdpsplit-flowshare` |\n",
	       out.count, import_s * 1e3,
	       import_s * 1e9 / (out.count ? out.count : 1),
	       (unsigned long long)shared.imported,
	       (unsigned long long)shared.not_stored);
	printf("| flow sharing: import of %u records filling a default table from empty (the bench's setup) | %.0f ms, %.0f ns per record (%llu stored, %llu not stored: bucket full of live flows) | `build/xdpsplit-flowshare` |\n",
	       flows, fill_s * 1e3, fill_s * 1e9 / flows,
	       (unsigned long long)filled.imported,
	       (unsigned long long)filled.not_stored);
	printf("| opening the data plane (pins verified, routes and epochs mapped), default sizes | %.2f ms median [%.2f–%.2f] (5 opens); mapping the 144 MiB flow table on first use %.2f ms [%.2f–%.2f]; unmapping it at close %.2f ms [%.2f–%.2f] | `build/xdpsplit-flowshare` |\n",
	       open_s[2] * 1e3, open_s[0] * 1e3, open_s[4] * 1e3,
	       map_s[2] * 1e3, map_s[0] * 1e3, map_s[4] * 1e3, unmap_s[2] * 1e3,
	       unmap_s[0] * 1e3, unmap_s[4] * 1e3);
	free(records);
	free(out.records);
	env_teardown(&b);
	env_teardown(&a);
	return 0;
}
