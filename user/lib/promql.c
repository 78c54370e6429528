// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "promql.h"

#define MAX_RESPONSE (1 << 20)

struct buffer {
	char *data;
	size_t length;
};

static size_t collect(char *chunk, size_t size, size_t count, void *user)
{
	struct buffer *b = user;
	size_t n = size * count;
	char *grown;

	if (b->length + n > MAX_RESPONSE)
		return 0; /* refuse an absurd answer */
	grown = realloc(b->data, b->length + n + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->length, chunk, n);
	b->length += n;
	b->data[b->length] = '\0';
	return n;
}

/* {"status":"success","data":{"resultType":"vector"|"scalar","result":...}} */
static int first_value(const char *body, double *value, char *error,
		       size_t error_size)
{
	struct json_object *root = json_tokener_parse(body), *status, *data,
			   *type, *result, *sample = NULL, *pair, *text;
	int err = -EINVAL;

	if (!root || !json_object_object_get_ex(root, "status", &status) ||
	    strcmp(json_object_get_string(status), "success") ||
	    !json_object_object_get_ex(root, "data", &data) ||
	    !json_object_object_get_ex(data, "resultType", &type) ||
	    !json_object_object_get_ex(data, "result", &result)) {
		snprintf(error, error_size,
			 "not a successful Prometheus answer");
		goto out;
	}
	if (!strcmp(json_object_get_string(type), "vector")) {
		if (json_object_array_length(result) == 0) {
			snprintf(error, error_size,
				 "the query returned no sample");
			err = -ENODATA;
			goto out;
		}
		sample = json_object_array_get_idx(result, 0);
		if (!json_object_object_get_ex(sample, "value", &pair))
			pair = NULL;
	} else if (!strcmp(json_object_get_string(type), "scalar")) {
		pair = result;
	} else {
		snprintf(error, error_size,
			 "result type %s is not a vector or scalar",
			 json_object_get_string(type));
		goto out;
	}
	if (!pair || json_object_array_length(pair) != 2 ||
	    !(text = json_object_array_get_idx(pair, 1))) {
		snprintf(error, error_size, "a sample without a value");
		goto out;
	}
	*value = strtod(json_object_get_string(text), NULL);
	err = 0;
out:
	json_object_put(root);
	return err;
}

int xs_promql_call_start(struct xs_promql_call *call, const char *url,
			 const char *query)
{
	struct buffer *body;
	char *escaped;
	CURL *curl;

	memset(call, 0, sizeof(*call));
	curl = curl_easy_init();
	body = calloc(1, sizeof(*body));
	if (!curl || !body)
		goto fail;
	escaped = curl_easy_escape(curl, query, 0);
	if (!escaped || asprintf(&call->url, "%s/api/v1/query?query=%s", url,
				 escaped) < 0) {
		call->url = NULL;
		curl_free(escaped);
		goto fail;
	}
	curl_free(escaped);
	curl_easy_setopt(curl, CURLOPT_URL, call->url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)XS_PROMQL_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	call->curl = curl;
	call->body = body;
	return 0;
fail:
	if (curl)
		curl_easy_cleanup(curl);
	free(body);
	return -ENOMEM;
}

int xs_promql_call_end(struct xs_promql_call *call, int result, double *value,
		       char *error, size_t error_size)
{
	struct buffer *body = call->body;
	const char *url = call->url ? call->url : "";
	long status = 0;
	int err;

	if (!call->curl)
		return -EINVAL;
	curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
	if (result != CURLE_OK) {
		snprintf(error, error_size, "%s: %s", url,
			 curl_easy_strerror((CURLcode)result));
		err = -EIO;
	} else if (status != 200) {
		snprintf(error, error_size, "%s answered HTTP %ld", url,
			 status);
		err = -EIO;
	} else {
		err = first_value(body->data ? body->data : "", value, error,
				  error_size);
	}
	xs_promql_call_free(call);
	return err;
}

void xs_promql_call_free(struct xs_promql_call *call)
{
	struct buffer *body = call->body;

	if (call->curl)
		curl_easy_cleanup(call->curl);
	if (body)
		free(body->data);
	free(body);
	free(call->url);
	memset(call, 0, sizeof(*call));
}
