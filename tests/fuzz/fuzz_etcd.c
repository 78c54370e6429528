// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What an etcd server (or anything at its address) can send the client, on
 * arbitrary bytes: a unary answer read as a range, a txn, a lease answer or
 * an error, and a watch stream fed in pieces of sizes the input chooses.
 * Never a crash or a leak; a range that parses has every key and value
 * NUL-terminated at its length; base64 of any bytes decodes back to them.
 * The client's own file is included, so its parsers are reached without
 * any network.
 */
#include "user/lib/fleet/etcd.c"

static int count_event(void *ctx, const struct xs_etcd_event *event)
{
	size_t *events = ctx;

	if (!event) /* the end of a response */
		return 0;
	if (event->kv->key[event->kv->key_length] ||
	    event->kv->value[event->kv->value_length])
		abort();
	return ++*events > 1000 ? -E2BIG : 0;
}

static void check_range(const struct xs_etcd_range *range)
{
	for (size_t i = 0; i < range->kv_count; i++)
		if (range->kvs[i].key[range->kvs[i].key_length] ||
		    range->kvs[i].value[range->kvs[i].value_length])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root;
	const char *why;
	int64_t number;

	if (size < 2)
		return 0;
	uint8_t mode = data[0], piece = data[1] ? data[1] : 1;

	data += 2;
	size -= 2;
	if (mode % 4 == 3) {
		/* the watch stream, in pieces of `piece` bytes */
		struct xs_etcd_watch_status status = { 0 };
		size_t events = 0;
		struct watch w = { .fn = count_event,
				   .ctx = &events,
				   .status = &status };

		w.tokener = json_tokener_new();
		if (!w.tokener)
			abort();
		for (size_t offset = 0; offset < size && !w.done;) {
			size_t n = size - offset < piece ? size - offset :
							   piece;
			char chunk[256];

			memcpy(chunk, data + offset, n);
			if (watch_data(chunk, 1, n, &w) != (w.done ? 0 : n))
				abort();
			offset += n;
		}
		json_tokener_free(w.tokener);
		if (status.compact_revision && w.result != -ERANGE)
			abort(); /* a compaction is always reported as one */
		return 0;
	}
	if (parse_body((const char *)data, size, &root, &why))
		goto base64;
	if (gateway_error(root, &why)) {
		if (!why)
			abort();
		json_object_put(root);
		goto base64;
	}
	if (mode % 4 == 0) {
		struct xs_etcd_range range;

		if (!parse_range(root, &range))
			check_range(&range);
		xs_etcd_range_free(&range);
	} else if (mode % 4 == 1) {
		struct xs_etcd_txn_result result = { 0 };

		if (!parse_txn(root, &result))
			for (size_t i = 0; i < result.response_count; i++)
				check_range(&result.responses[i].range);
		xs_etcd_txn_result_free(&result);
	} else {
		struct json_object *inner;

		get_int64(root, "ID", &number);
		get_int64(root, "TTL", &number);
		if (!get_object(root, "result", &inner) && inner)
			get_int64(inner, "TTL", &number);
	}
	json_object_put(root);
base64 : {
	char *text = xs_base64_encode(data, size);
	size_t length;
	char *back = text ? xs_base64_decode(text, strlen(text), &length) :
			    NULL;

	if (!back || length != size || memcmp(back, data, size))
		abort();
	free(text);
	free(back);
	/* and the input as base64 text: refused or decoded, no more */
	back = xs_base64_decode((const char *)data, size, &length);
	if (back && length > size)
		abort();
	free(back);
}
	return 0;
}
