// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * etcd v3 over its JSON gateway (grpc-gateway): each RPC is a POST of the
 * request message as JSON to /v3/<service>/<method>; int64 fields travel
 * as strings, bytes as base64, fields at their default value (0, false,
 * PUT) are left out. Errors come back as {"error", "message", "code"}
 * with the gRPC code; streaming RPCs (watch, lease keepalive) answer one
 * {"result": ...} or {"error": {...}} object per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "base64.h"
#include "etcd.h"

struct xs_etcd {
	char *endpoints[XS_ETCD_MAX_ENDPOINTS];
	size_t count;
	size_t current; /* where the next request goes first */
	int timeout_ms;
	CURL *curl; /* kept, so connections are reused */
};

/* gRPC status codes the gateway passes on */
enum {
	GRPC_CANCELLED = 1,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe: once, before any handle */
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void append(char *text, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *text, size_t size, const char *format, ...)
{
	size_t used = strnlen(text, size);
	va_list args;

	if (used + 1 >= size)
		return;
	va_start(args, format);
	vsnprintf(text + used, size - used, format, args);
	va_end(args);
}

static void set_error(char *error, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t size, const char *format, ...)
{
	va_list args;

	if (!error || !size)
		return;
	va_start(args, format);
	vsnprintf(error, size, format, args);
	va_end(args);
}

struct xs_etcd *xs_etcd_open(const char *const *endpoints, size_t count,
			     int timeout_ms, char *error, size_t size)
{
	struct xs_etcd *etcd;

	if (!endpoints || !count || count > XS_ETCD_MAX_ENDPOINTS ||
	    timeout_ms <= 0) {
		set_error(
			error, size,
			"etcd: need 1 to %d endpoints and a timeout > 0 (got %zu, %d ms)",
			XS_ETCD_MAX_ENDPOINTS, count, timeout_ms);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		if (!endpoints[i] ||
		    strnlen(endpoints[i], XS_ETCD_MAX_URL) >= XS_ETCD_MAX_URL ||
		    (strncmp(endpoints[i], "http://", 7) &&
		     strncmp(endpoints[i], "https://", 8))) {
			set_error(
				error, size,
				"etcd: endpoint '%.*s' is not an http:// or https:// URL of under %d characters",
				64, endpoints[i] ? endpoints[i] : "(null)",
				XS_ETCD_MAX_URL);
			return NULL;
		}
	}
	pthread_once(&curl_once, curl_init_once);
	etcd = calloc(1, sizeof(*etcd));
	if (!etcd)
		goto nomem;
	etcd->timeout_ms = timeout_ms;
	for (size_t i = 0; i < count; i++) {
		size_t length = strlen(endpoints[i]);

		/* "http://host:2379/" and "http://host:2379" alike */
		while (length > 8 && endpoints[i][length - 1] == '/')
			length--;
		etcd->endpoints[i] = strndup(endpoints[i], length);
		if (!etcd->endpoints[i])
			goto nomem;
		etcd->count++;
	}
	etcd->curl = curl_easy_init();
	if (!etcd->curl)
		goto nomem;
	return etcd;
nomem:
	xs_etcd_close(etcd);
	set_error(error, size, "etcd: out of memory");
	return NULL;
}

void xs_etcd_close(struct xs_etcd *etcd)
{
	if (!etcd)
		return;
	if (etcd->curl)
		curl_easy_cleanup(etcd->curl);
	for (size_t i = 0; i < etcd->count; i++)
		free(etcd->endpoints[i]);
	free(etcd);
}

const char *xs_etcd_endpoint(const struct xs_etcd *etcd)
{
	return etcd->endpoints[etcd->current];
}

/* ---- JSON in ---- */

/* An int64 field (a string of digits, or a number); absent: 0. */
static int get_int64(struct json_object *object, const char *name,
		     int64_t *value)
{
	struct json_object *field;
	const char *text;
	char *end;

	*value = 0;
	if (!json_object_object_get_ex(object, name, &field) || !field)
		return 0;
	switch (json_object_get_type(field)) {
	case json_type_int:
		*value = json_object_get_int64(field);
		return 0;
	case json_type_string:
		text = json_object_get_string(field);
		errno = 0;
		*value = strtoll(text, &end, 10);
		if (errno || end == text || *end)
			return -EPROTO;
		return 0;
	default:
		return -EPROTO;
	}
}

static int get_bool(struct json_object *object, const char *name, bool *value)
{
	struct json_object *field;

	*value = false;
	if (!json_object_object_get_ex(object, name, &field) || !field)
		return 0;
	if (json_object_get_type(field) != json_type_boolean)
		return -EPROTO;
	*value = json_object_get_boolean(field);
	return 0;
}

/* A bytes field, decoded; absent: empty. Always allocates on success. */
static int get_bytes(struct json_object *object, const char *name, char **data,
		     size_t *length)
{
	struct json_object *field;

	*data = NULL;
	*length = 0;
	if (!json_object_object_get_ex(object, name, &field) || !field) {
		*data = calloc(1, 1);
		return *data ? 0 : -ENOMEM;
	}
	if (json_object_get_type(field) != json_type_string)
		return -EPROTO;
	*data = xs_base64_decode(json_object_get_string(field),
				 json_object_get_string_len(field), length);
	if (!*data)
		return errno == ENOMEM ? -ENOMEM : -EPROTO;
	return 0;
}

/* An object field, or NULL when absent; -EPROTO when not an object. */
static int get_object(struct json_object *object, const char *name,
		      struct json_object **field)
{
	*field = NULL;
	if (!json_object_object_get_ex(object, name, field) || !*field) {
		*field = NULL;
		return 0;
	}
	return json_object_get_type(*field) == json_type_object ? 0 : -EPROTO;
}

static void kv_free(struct xs_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int parse_kv(struct json_object *object, struct xs_etcd_kv *kv)
{
	int err;

	memset(kv, 0, sizeof(*kv));
	if (json_object_get_type(object) != json_type_object)
		return -EPROTO;
	err = get_bytes(object, "key", &kv->key, &kv->key_length);
	if (!err)
		err = get_bytes(object, "value", &kv->value, &kv->value_length);
	if (!err)
		err = get_int64(object, "create_revision",
				&kv->create_revision);
	if (!err)
		err = get_int64(object, "mod_revision", &kv->mod_revision);
	if (!err)
		err = get_int64(object, "version", &kv->version);
	if (!err)
		err = get_int64(object, "lease", &kv->lease);
	if (err)
		kv_free(kv);
	return err;
}

/* header.revision of a response; absent: 0 */
static int get_revision(struct json_object *response, int64_t *revision)
{
	struct json_object *header;
	int err = get_object(response, "header", &header);

	*revision = 0;
	if (err)
		return err;
	return header ? get_int64(header, "revision", revision) : 0;
}

void xs_etcd_range_free(struct xs_etcd_range *range)
{
	if (!range)
		return;
	for (size_t i = 0; i < range->kv_count; i++)
		kv_free(&range->kvs[i]);
	free(range->kvs);
	memset(range, 0, sizeof(*range));
}

/* A RangeResponse */
static int parse_range(struct json_object *response,
		       struct xs_etcd_range *range)
{
	struct json_object *kvs;
	size_t n;
	int err;

	memset(range, 0, sizeof(*range));
	if ((err = get_revision(response, &range->revision)) ||
	    (err = get_int64(response, "count", &range->count)) ||
	    (err = get_bool(response, "more", &range->more)))
		return err;
	if (!json_object_object_get_ex(response, "kvs", &kvs) || !kvs)
		return 0;
	if (json_object_get_type(kvs) != json_type_array)
		return -EPROTO;
	n = json_object_array_length(kvs);
	if (!n)
		return 0;
	range->kvs = calloc(n, sizeof(*range->kvs));
	if (!range->kvs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		err = parse_kv(json_object_array_get_idx(kvs, i),
			       &range->kvs[i]);
		if (err) {
			xs_etcd_range_free(range);
			return err;
		}
		range->kv_count++;
	}
	return 0;
}

/* ---- errors ---- */

static int grpc_errno(int code, const char *message)
{
	if (message && strstr(message, "no leader"))
		return -EAGAIN;
	switch (code) {
	case GRPC_CANCELLED:
		return -ECANCELED;
	case GRPC_INVALID_ARGUMENT:
	case GRPC_FAILED_PRECONDITION:
		return -EINVAL;
	case GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case GRPC_NOT_FOUND:
		return -ENOENT;
	case GRPC_PERMISSION_DENIED:
	case GRPC_UNAUTHENTICATED:
		return -EACCES;
	case GRPC_RESOURCE_EXHAUSTED:
		return -ENOSPC;
	case GRPC_OUT_OF_RANGE:
		return -ERANGE;
	case GRPC_UNAVAILABLE:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/*
 * The gateway's error object, if this is one: {"error": "text", "code": N}
 * of a unary call or {"error": {"grpc_code": N, "message": "text"}} of a
 * stream. 0 when it is not an error; *message points into object.
 */
static int gateway_error(struct json_object *object, const char **message)
{
	struct json_object *field, *code = NULL, *text = NULL;

	*message = NULL;
	if (json_object_get_type(object) != json_type_object ||
	    !json_object_object_get_ex(object, "error", &field) || !field)
		return 0;
	if (json_object_get_type(field) == json_type_object) {
		json_object_object_get_ex(field, "grpc_code", &code);
		json_object_object_get_ex(field, "message", &text);
	} else if (json_object_get_type(field) == json_type_string) {
		/* a LeaseGrantResponse has an "error" string of its own:
		 * empty, and no "code" */
		json_object_object_get_ex(object, "code", &code);
		text = field;
		if (!code && !json_object_get_string_len(field))
			return 0;
	} else {
		*message = "an error that is neither text nor an object";
		return -EPROTO;
	}
	*message = text && json_object_get_type(text) == json_type_string ?
			   json_object_get_string(text) :
			   "(no message)";
	return grpc_errno(code ? json_object_get_int(code) : 0, *message);
}

/* ---- HTTP ---- */

struct buffer {
	char *data;
	size_t length;
	size_t capacity;
	bool overflow;
	bool nomem;
};

static size_t collect(char *chunk, size_t size, size_t count, void *user)
{
	struct buffer *b = user;
	size_t n = size * count;

	if (b->length + n > XS_ETCD_MAX_RESPONSE) {
		b->overflow = true;
		return 0;
	}
	if (b->length + n + 1 > b->capacity) {
		/* doubling: a large answer costs linear time, not quadratic */
		size_t capacity = b->capacity ? b->capacity : 4096;
		char *grown;

		while (capacity < b->length + n + 1)
			capacity *= 2;
		grown = realloc(b->data, capacity);
		if (!grown) {
			b->nomem = true;
			return 0;
		}
		b->data = grown;
		b->capacity = capacity;
	}
	memcpy(b->data + b->length, chunk, n);
	b->length += n;
	b->data[b->length] = '\0';
	return n;
}

/* What a transfer's failure means, and whether the request can have
 * reached etcd (sent: a write must not be repeated elsewhere). */
static int curl_errno(CURLcode code, const struct buffer *body)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		if (body && body->overflow)
			return -EMSGSIZE;
		if (body && body->nomem)
			return -ENOMEM;
		return -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
		return -EPROTO;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static const char *curl_reason(CURLcode code, const struct buffer *body,
			       const char *detail)
{
	if (code == CURLE_WRITE_ERROR && body && body->overflow)
		return "the answer exceeds " /* XS_ETCD_MAX_RESPONSE */ "16 MiB";
	if (detail && *detail)
		return detail;
	return curl_easy_strerror(code);
}

/* Parses a whole body holding one JSON object (and maybe whitespace). */
static int parse_body(const char *data, size_t length,
		      struct json_object **root, const char **why)
{
	struct json_tokener *tokener = json_tokener_new();
	size_t end;

	*root = NULL;
	if (!tokener)
		return -ENOMEM;
	if (length > INT32_MAX) {
		json_tokener_free(tokener);
		*why = "an answer too long to parse";
		return -EMSGSIZE;
	}
	*root = json_tokener_parse_ex(tokener, data, (int)length);
	if (!*root || json_object_get_type(*root) != json_type_object) {
		*why = !*root && json_tokener_get_error(tokener) ==
					       json_tokener_continue ?
			       "a truncated JSON answer" :
			       "an answer that is not a JSON object";
		json_object_put(*root);
		*root = NULL;
		json_tokener_free(tokener);
		return -EPROTO;
	}
	end = json_tokener_get_parse_end(tokener);
	json_tokener_free(tokener);
	for (; end < length; end++) {
		if (!strchr(" \t\r\n", data[end])) {
			*why = "more than one JSON object in an answer";
			json_object_put(*root);
			*root = NULL;
			return -EPROTO;
		}
	}
	return 0;
}

static bool error_worse(int err, int than)
{
	/* what says the most about the cluster wins: no quorum, then a
	 * timeout, then a bad answer, then a refused connection */
	static const int order[] = { -ECONNREFUSED, -ECONNRESET, -EPROTO,
				     -EMSGSIZE,	    -ETIMEDOUT,	 -EAGAIN };
	int rank_err = 2, rank_than = 2; /* others: like -EPROTO */

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
		if (order[i] == err)
			rank_err = i;
		if (order[i] == than)
			rank_than = i;
	}
	return !than || rank_err > rank_than;
}

enum request_kind {
	REQUEST_READ,	    /* repeatable anywhere */
	REQUEST_LOCAL_READ, /* the same, and needs no leader (serializable) */
	REQUEST_WRITE,	    /* repeated elsewhere only if surely not applied */
};

/* Content-Type, and the gRPC metadata "hasleader": a member without a
 * leader answers "no leader" at once instead of waiting out its own request
 * timeout. NULL when out of memory. */
static struct curl_slist *request_headers(enum request_kind kind)
{
	struct curl_slist *headers, *more;

	headers = curl_slist_append(NULL, "Content-Type: application/json");
	more = headers && kind != REQUEST_LOCAL_READ ?
		       curl_slist_append(headers,
					 "Grpc-Metadata-hasleader: true") :
		       headers;
	if (!more)
		curl_slist_free_all(headers);
	return more;
}

/* One POST to one endpoint: what came back, and whether another endpoint
 * may be asked. */
struct attempt {
	CURLcode code;
	struct json_object *root; /* the answer, when err is 0 */
	const char *why;
	char detail[CURL_ERROR_SIZE];
	int err;
	bool retry;
};

/* The handle set up for a POST of text to url, the answer collected in
 * reply (up to 16 MiB); detail gets curl's own words for a failure. */
static void set_post_options(struct xs_etcd *etcd, const char *url,
			     struct curl_slist *headers, const char *text,
			     struct buffer *reply, char *detail)
{
	curl_easy_reset(etcd->curl);
	detail[0] = '\0';
	curl_easy_setopt(etcd->curl, CURLOPT_URL, url);
	curl_easy_setopt(etcd->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(etcd->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(etcd->curl, CURLOPT_TIMEOUT_MS,
			 (long)etcd->timeout_ms);
	curl_easy_setopt(etcd->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)etcd->timeout_ms);
	curl_easy_setopt(etcd->curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)XS_ETCD_MAX_RESPONSE);
	curl_easy_setopt(etcd->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(etcd->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(etcd->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(etcd->curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(etcd->curl, CURLOPT_ERRORBUFFER, detail);
}

static void post_once(struct xs_etcd *etcd, const char *url,
		      struct curl_slist *headers, const char *text,
		      enum request_kind kind, struct attempt *a)
{
	struct buffer reply = { 0 };
	long status = 0, sent = 0;

	set_post_options(etcd, url, headers, text, &reply, a->detail);
	a->code = curl_easy_perform(etcd->curl);
	curl_easy_getinfo(etcd->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(etcd->curl, CURLINFO_REQUEST_SIZE, &sent);
	if (a->code == CURLE_FILESIZE_EXCEEDED) {
		reply.overflow = true;
		a->code = CURLE_WRITE_ERROR;
	}
	if (a->code != CURLE_OK) {
		a->err = curl_errno(a->code, &reply);
		a->why = curl_reason(a->code, &reply, a->detail);
		/* a write that never left can go elsewhere */
		a->retry = kind != REQUEST_WRITE || a->err == -ECONNREFUSED ||
			   (!sent && a->err == -ETIMEDOUT);
		if (a->err == -EMSGSIZE || a->err == -ENOMEM)
			a->retry = false;
		free(reply.data);
		return;
	}
	a->err = parse_body(reply.data ? reply.data : "", reply.length,
			    &a->root, &a->why);
	free(reply.data);
	if (!a->err) {
		a->err = gateway_error(a->root, &a->why);
		if (!a->err && status != 200) {
			a->err = -EPROTO;
			a->why = "an HTTP error without an etcd error";
		}
	}
	if (a->err == -EPROTO && status != 200) {
		char why[CURL_ERROR_SIZE];

		snprintf(why, sizeof(why), "HTTP %ld and %s", status, a->why);
		memcpy(a->detail, why, sizeof(why));
		a->why = a->detail;
	}
	/* no leader: the request was not proposed; a garbled answer from a
	 * broken member, for a read */
	a->retry = (a->err == -EAGAIN &&
		    (kind != REQUEST_WRITE ||
		     (a->why && strstr(a->why, "no leader")))) ||
		   (kind != REQUEST_WRITE && a->err == -EPROTO);
}

/*
 * POSTs body to path on each endpoint in turn, from the current one,
 * until one answers; *answer is the parsed answer (the caller puts it).
 */
static int request(struct xs_etcd *etcd, const char *path,
		   struct json_object *body, enum request_kind kind,
		   struct json_object **answer, char *error, size_t size)
{
	const char *text = json_object_to_json_string_ext(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char attempts[1024] = "", url[512];
	struct curl_slist *headers;
	int result = 0;

	*answer = NULL;
	headers = text ? request_headers(kind) : NULL;
	if (!headers) {
		set_error(error, size, "etcd %s: out of memory", path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < etcd->count; i++) {
		size_t index = (etcd->current + i) % etcd->count;
		const char *endpoint = etcd->endpoints[index];
		struct attempt a = { 0 };

		snprintf(url, sizeof(url), "%s%s", endpoint, path);
		post_once(etcd, url, headers, text, kind, &a);
		append(attempts, sizeof(attempts), "%s%s: %s",
		       attempts[0] ? "; " : "", endpoint, a.why ? a.why : "");
		if (!a.err) {
			etcd->current = index;
			*answer = a.root;
			result = 0;
			break;
		}
		json_object_put(a.root);
		if (error_worse(a.err, result))
			result = a.err;
		if (!a.retry) {
			/* it answered (or may have applied a write): it is
			 * the one to ask next */
			if (a.code == CURLE_OK)
				etcd->current = index;
			result = a.err;
			break;
		}
	}
	curl_slist_free_all(headers);
	if (result)
		set_error(error, size, "etcd %s: %s", path, attempts);
	return result;
}

/* ---- JSON out ---- */

static int add_bytes(struct json_object *object, const char *name,
		     const void *data, size_t length)
{
	char *text = xs_base64_encode(data, length);
	struct json_object *value;

	if (!text)
		return -ENOMEM;
	value = json_object_new_string(text);
	free(text);
	if (!value || json_object_object_add(object, name, value)) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

static int add_int64(struct json_object *object, const char *name,
		     int64_t number)
{
	char text[24];
	struct json_object *value;

	snprintf(text, sizeof(text), "%" PRId64, number);
	value = json_object_new_string(text);
	if (!value || json_object_object_add(object, name, value)) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

static int add_bool(struct json_object *object, const char *name, bool flag)
{
	struct json_object *value = json_object_new_boolean(flag);

	if (!value || json_object_object_add(object, name, value)) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

static int add_string(struct json_object *object, const char *name,
		      const char *text)
{
	struct json_object *value = json_object_new_string(text);

	if (!value || json_object_object_add(object, name, value)) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

/* key, and range_end: the one given (a txn op's), or for a prefix the key
 * with its last byte below 0xff incremented and what follows dropped (all
 * 0xff, or the key "\0": every key from key on, range_end "\0") */
static int add_key_range(struct json_object *object, const char *key,
			 size_t key_length, unsigned int flags,
			 const char *range_end)
{
	unsigned char *end;
	size_t n = key_length;
	int err;

	if ((err = add_bytes(object, "key", key, key_length)))
		return err;
	if (range_end)
		return add_bytes(object, "range_end", range_end,
				 strlen(range_end));
	if (!(flags & XS_ETCD_PREFIX))
		return 0;
	end = malloc(key_length);
	if (!end)
		return -ENOMEM;
	memcpy(end, key, key_length);
	while (n > 0 && end[n - 1] == 0xff)
		n--;
	if (n == 0 || (key_length == 1 && key[0] == '\0')) {
		end[0] = '\0';
		n = 1;
	} else {
		end[n - 1]++;
	}
	err = add_bytes(object, "range_end", end, n);
	free(end);
	return err;
}

static size_t key_size(const char *key, size_t key_length)
{
	return key_length ? key_length : strlen(key);
}

static int check_key(const char *key, size_t *key_length, char *error,
		     size_t size)
{
	if (!key || !(*key_length = key_size(key, *key_length))) {
		set_error(error, size, "etcd: an empty key");
		return -EINVAL;
	}
	return 0;
}

/* ---- kv ---- */

static struct json_object *range_request(const char *key, size_t key_length,
					 unsigned int flags, int64_t limit,
					 const char *range_end)
{
	struct json_object *body = json_object_new_object();

	if (!body || add_key_range(body, key, key_length, flags, range_end) ||
	    (limit > 0 && add_int64(body, "limit", limit)) ||
	    ((flags & XS_ETCD_SERIALIZABLE) &&
	     add_bool(body, "serializable", true))) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

static int nomem(char *error, size_t size)
{
	set_error(error, size, "etcd: out of memory");
	return -ENOMEM;
}

static int protocol_error(int err, const struct xs_etcd *etcd, const char *what,
			  char *error, size_t size)
{
	if (err == -ENOMEM)
		return nomem(error, size);
	set_error(error, size, "etcd %s on %s: a malformed answer", what,
		  xs_etcd_endpoint(etcd));
	return err;
}

int xs_etcd_get(struct xs_etcd *etcd, const char *key, size_t key_length,
		unsigned int flags, int64_t limit, struct xs_etcd_range *range,
		char *error, size_t size)
{
	struct json_object *body, *answer;
	int err;

	memset(range, 0, sizeof(*range));
	if ((err = check_key(key, &key_length, error, size)))
		return err;
	body = range_request(key, key_length, flags, limit, NULL);
	if (!body)
		return nomem(error, size);
	err = request(etcd, "/v3/kv/range", body,
		      flags & XS_ETCD_SERIALIZABLE ? REQUEST_LOCAL_READ :
						     REQUEST_READ,
		      &answer, error, size);
	json_object_put(body);
	if (err)
		return err;
	err = parse_range(answer, range);
	json_object_put(answer);
	return err ? protocol_error(err, etcd, "range", error, size) : 0;
}

static struct json_object *put_request(const char *key, size_t key_length,
				       const void *value, size_t length,
				       int64_t lease)
{
	struct json_object *body = json_object_new_object();

	if (!body || add_bytes(body, "key", key, key_length) ||
	    add_bytes(body, "value", value ? value : "", length) ||
	    (lease && add_int64(body, "lease", lease))) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int xs_etcd_put(struct xs_etcd *etcd, const char *key, size_t key_length,
		const void *value, size_t length, int64_t lease,
		int64_t *revision, char *error, size_t size)
{
	struct json_object *body, *answer;
	int64_t written;
	int err;

	if ((err = check_key(key, &key_length, error, size)))
		return err;
	body = put_request(key, key_length, value, length, lease);
	if (!body)
		return nomem(error, size);
	err = request(etcd, "/v3/kv/put", body, REQUEST_WRITE, &answer, error,
		      size);
	json_object_put(body);
	if (err)
		return err;
	err = get_revision(answer, &written);
	json_object_put(answer);
	if (err)
		return protocol_error(err, etcd, "put", error, size);
	if (revision)
		*revision = written;
	return 0;
}

static struct json_object *delete_request(const char *key, size_t key_length,
					  unsigned int flags,
					  const char *range_end)
{
	struct json_object *body = json_object_new_object();

	if (!body || add_key_range(body, key, key_length, flags, range_end)) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int xs_etcd_delete(struct xs_etcd *etcd, const char *key, size_t key_length,
		   unsigned int flags, int64_t *deleted, int64_t *revision,
		   char *error, size_t size)
{
	struct json_object *body, *answer;
	int64_t gone, after;
	int err;

	if ((err = check_key(key, &key_length, error, size)))
		return err;
	body = delete_request(key, key_length, flags, NULL);
	if (!body)
		return nomem(error, size);
	err = request(etcd, "/v3/kv/deleterange", body, REQUEST_WRITE, &answer,
		      error, size);
	json_object_put(body);
	if (err)
		return err;
	err = get_revision(answer, &after);
	if (!err)
		err = get_int64(answer, "deleted", &gone);
	json_object_put(answer);
	if (err)
		return protocol_error(err, etcd, "deleterange", error, size);
	if (deleted)
		*deleted = gone;
	if (revision)
		*revision = after;
	return 0;
}

/* ---- txn ---- */

static const char *const target_names[] = {
	[XS_ETCD_VERSION] = "VERSION", [XS_ETCD_CREATE] = "CREATE",
	[XS_ETCD_MOD] = "MOD",	       [XS_ETCD_VALUE] = "VALUE",
	[XS_ETCD_LEASE] = "LEASE",
};
static const char *const target_fields[] = {
	[XS_ETCD_VERSION] = "version",	[XS_ETCD_CREATE] = "create_revision",
	[XS_ETCD_MOD] = "mod_revision", [XS_ETCD_VALUE] = "value",
	[XS_ETCD_LEASE] = "lease",
};
static const char *const result_names[] = {
	[XS_ETCD_EQUAL] = "EQUAL",
	[XS_ETCD_NOT_EQUAL] = "NOT_EQUAL",
	[XS_ETCD_GREATER] = "GREATER",
	[XS_ETCD_LESS] = "LESS",
};

static struct json_object *compare_json(const struct xs_etcd_compare *c)
{
	struct json_object *object = json_object_new_object();
	size_t key_length = key_size(c->key, c->key_length);
	int err;

	if (!object)
		return NULL;
	err = add_bytes(object, "key", c->key, key_length) ||
	      add_string(object, "target", target_names[c->target]) ||
	      add_string(object, "result", result_names[c->result]);
	if (!err && c->target == XS_ETCD_VALUE)
		err = add_bytes(object, "value", c->value ? c->value : "",
				c->value_length);
	else if (!err)
		err = add_int64(object, target_fields[c->target], c->number);
	if (err) {
		json_object_put(object);
		return NULL;
	}
	return object;
}

static struct json_object *op_json(const struct xs_etcd_op *op)
{
	struct json_object *object = json_object_new_object(), *inner = NULL;
	size_t key_length = key_size(op->key, op->key_length);
	const char *name;

	if (!object)
		return NULL;
	switch (op->type) {
	case XS_ETCD_OP_RANGE:
		name = "request_range";
		inner = range_request(op->key, key_length, op->flags, op->limit,
				      op->range_end);
		break;
	case XS_ETCD_OP_PUT:
		name = "request_put";
		inner = put_request(op->key, key_length, op->value,
				    op->value_length, op->lease);
		break;
	default:
		name = "request_delete_range";
		inner = delete_request(op->key, key_length, op->flags,
				       op->range_end);
		break;
	}
	if (!inner || json_object_object_add(object, name, inner)) {
		json_object_put(inner);
		json_object_put(object);
		return NULL;
	}
	return object;
}

void xs_etcd_txn_result_free(struct xs_etcd_txn_result *result)
{
	if (!result)
		return;
	for (size_t i = 0; i < result->response_count; i++)
		xs_etcd_range_free(&result->responses[i].range);
	free(result->responses);
	memset(result, 0, sizeof(*result));
}

static int parse_txn(struct json_object *answer,
		     struct xs_etcd_txn_result *result)
{
	struct json_object *responses, *inner;
	size_t n;
	int err;

	if ((err = get_revision(answer, &result->revision)) ||
	    (err = get_bool(answer, "succeeded", &result->succeeded)))
		return err;
	if (!json_object_object_get_ex(answer, "responses", &responses) ||
	    !responses)
		return 0;
	if (json_object_get_type(responses) != json_type_array)
		return -EPROTO;
	n = json_object_array_length(responses);
	if (!n)
		return 0;
	result->responses = calloc(n, sizeof(*result->responses));
	if (!result->responses)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *item =
			json_object_array_get_idx(responses, i);
		struct xs_etcd_op_response *r = &result->responses[i];

		if (json_object_get_type(item) != json_type_object)
			return -EPROTO;
		if ((err = get_object(item, "response_range", &inner)))
			return err;
		if (inner) {
			r->type = XS_ETCD_OP_RANGE;
			if ((err = parse_range(inner, &r->range)))
				return err;
			result->response_count++;
			continue;
		}
		if ((err = get_object(item, "response_put", &inner)))
			return err;
		if (inner) {
			r->type = XS_ETCD_OP_PUT;
			if ((err = get_revision(inner, &r->range.revision)))
				return err;
			result->response_count++;
			continue;
		}
		if ((err = get_object(item, "response_delete_range", &inner)))
			return err;
		if (!inner)
			return -EPROTO; /* nested txns are not asked for */
		r->type = XS_ETCD_OP_DELETE;
		if ((err = get_revision(inner, &r->range.revision)) ||
		    (err = get_int64(inner, "deleted", &r->deleted)))
			return err;
		result->response_count++;
	}
	return 0;
}

static int add_array(struct json_object *body, const char *name, size_t count,
		     const void *items, size_t item_size,
		     struct json_object *(*to_json)(const void *))
{
	struct json_object *array;

	if (!count)
		return 0;
	array = json_object_new_array();
	if (!array || json_object_object_add(body, name, array)) {
		json_object_put(array);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		struct json_object *item =
			to_json((const char *)items + i * item_size);

		if (!item || json_object_array_add(array, item)) {
			json_object_put(item);
			return -ENOMEM;
		}
	}
	return 0;
}

static struct json_object *compare_item(const void *item)
{
	return compare_json(item);
}

static struct json_object *op_item(const void *item)
{
	return op_json(item);
}

static int check_txn(const struct xs_etcd_compare *compares,
		     size_t compare_count, const struct xs_etcd_op *ops,
		     size_t op_count, char *error, size_t size)
{
	for (size_t i = 0; i < compare_count; i++) {
		if (!compares[i].key ||
		    !key_size(compares[i].key, compares[i].key_length) ||
		    (unsigned int)compares[i].target > XS_ETCD_LEASE ||
		    (unsigned int)compares[i].result > XS_ETCD_LESS) {
			set_error(
				error, size,
				"etcd txn: compare %zu has no key or an unknown target or result",
				i);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < op_count; i++) {
		if (!ops[i].key || !key_size(ops[i].key, ops[i].key_length) ||
		    (unsigned int)ops[i].type > XS_ETCD_OP_DELETE ||
		    (ops[i].range_end &&
		     (ops[i].type == XS_ETCD_OP_PUT || !*ops[i].range_end ||
		      (ops[i].flags & XS_ETCD_PREFIX)))) {
			set_error(
				error, size,
				"etcd txn: op %zu has no key, an unknown type or a bad range end",
				i);
			return -EINVAL;
		}
	}
	return 0;
}

int xs_etcd_txn(struct xs_etcd *etcd, const struct xs_etcd_compare *compares,
		size_t compare_count, const struct xs_etcd_op *success,
		size_t success_count, const struct xs_etcd_op *failure,
		size_t failure_count, struct xs_etcd_txn_result *result,
		char *error, size_t size)
{
	struct json_object *body, *answer;
	int err;

	memset(result, 0, sizeof(*result));
	if ((err = check_txn(compares, compare_count, success, success_count,
			     error, size)) ||
	    (err = check_txn(NULL, 0, failure, failure_count, error, size)))
		return err;
	body = json_object_new_object();
	if (!body ||
	    add_array(body, "compare", compare_count, compares,
		      sizeof(*compares), compare_item) ||
	    add_array(body, "success", success_count, success, sizeof(*success),
		      op_item) ||
	    add_array(body, "failure", failure_count, failure, sizeof(*failure),
		      op_item)) {
		json_object_put(body);
		return nomem(error, size);
	}
	err = request(etcd, "/v3/kv/txn", body, REQUEST_WRITE, &answer, error,
		      size);
	json_object_put(body);
	if (err)
		return err;
	err = parse_txn(answer, result);
	json_object_put(answer);
	if (err) {
		xs_etcd_txn_result_free(result);
		return protocol_error(err, etcd, "txn", error, size);
	}
	return 0;
}

/* ---- leases, compaction ---- */

int xs_etcd_lease_grant(struct xs_etcd *etcd, int64_t ttl_s, int64_t *id,
			int64_t *granted_ttl_s, char *error, size_t size)
{
	struct json_object *body = json_object_new_object(), *answer;
	int64_t lease, ttl;
	int err;

	if (ttl_s <= 0) {
		json_object_put(body);
		set_error(error, size,
			  "etcd lease grant: a TTL of %" PRId64 " s", ttl_s);
		return -EINVAL;
	}
	if (!body || add_int64(body, "TTL", ttl_s)) {
		json_object_put(body);
		return nomem(error, size);
	}
	err = request(etcd, "/v3/lease/grant", body, REQUEST_WRITE, &answer,
		      error, size);
	json_object_put(body);
	if (err)
		return err;
	err = get_int64(answer, "ID", &lease);
	if (!err)
		err = get_int64(answer, "TTL", &ttl);
	json_object_put(answer);
	if (!err && lease == 0)
		err = -EPROTO;
	if (err)
		return protocol_error(err, etcd, "lease grant", error, size);
	if (id)
		*id = lease;
	if (granted_ttl_s)
		*granted_ttl_s = ttl;
	return 0;
}

int xs_etcd_lease_keepalive(struct xs_etcd *etcd, int64_t id,
			    int64_t *ttl_left_s, char *error, size_t size)
{
	struct json_object *body = json_object_new_object(), *answer, *inner;
	int64_t ttl;
	int err;

	if (!body || add_int64(body, "ID", id)) {
		json_object_put(body);
		return nomem(error, size);
	}
	/* a stream of one: the gateway sends our one request, closes its
	 * side and answers {"result": LeaseKeepAliveResponse} */
	err = request(etcd, "/v3/lease/keepalive", body, REQUEST_READ, &answer,
		      error, size);
	json_object_put(body);
	if (err)
		return err;
	err = get_object(answer, "result", &inner);
	if (!err && !inner)
		err = -EPROTO;
	if (!err)
		err = get_int64(inner, "TTL", &ttl);
	json_object_put(answer);
	if (err)
		return protocol_error(err, etcd, "lease keepalive", error,
				      size);
	/* etcd answers an unknown or expired lease with a TTL of 0 */
	if (ttl <= 0) {
		set_error(error, size,
			  "etcd lease keepalive on %s: lease %" PRId64
			  " has expired or does not exist",
			  xs_etcd_endpoint(etcd), id);
		return -ENOENT;
	}
	if (ttl_left_s)
		*ttl_left_s = ttl;
	return 0;
}

int xs_etcd_lease_revoke(struct xs_etcd *etcd, int64_t id, char *error,
			 size_t size)
{
	struct json_object *body = json_object_new_object(), *answer;
	int err;

	if (!body || add_int64(body, "ID", id)) {
		json_object_put(body);
		return nomem(error, size);
	}
	/* etcd 3.4 serves /v3/lease/revoke and the older /v3/kv/lease/revoke */
	err = request(etcd, "/v3/lease/revoke", body, REQUEST_WRITE, &answer,
		      error, size);
	json_object_put(body);
	json_object_put(answer);
	return err;
}

int xs_etcd_compact(struct xs_etcd *etcd, int64_t revision, bool physical,
		    char *error, size_t size)
{
	struct json_object *body = json_object_new_object(), *answer;
	int err;

	if (!body || add_int64(body, "revision", revision) ||
	    (physical && add_bool(body, "physical", true))) {
		json_object_put(body);
		return nomem(error, size);
	}
	err = request(etcd, "/v3/kv/compaction", body, REQUEST_WRITE, &answer,
		      error, size);
	json_object_put(body);
	json_object_put(answer);
	return err;
}

/* ---- watch ---- */

#define WATCH_POLL_MS 100

struct watch {
	struct json_tokener *tokener;
	size_t pending; /* bytes of the object being parsed */
	xs_etcd_watch_fn fn;
	void *ctx;
	struct xs_etcd_watch_status *status;
	bool created;
	bool done; /* result is final: stop the transfer */
	int result;
	char why[512];
};

static void watch_end(struct watch *w, int result, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void watch_end(struct watch *w, int result, const char *format, ...)
{
	va_list args;

	w->done = true;
	w->result = result;
	va_start(args, format);
	vsnprintf(w->why, sizeof(w->why), format, args);
	va_end(args);
}

static int deliver_events(struct watch *w, struct json_object *events)
{
	size_t n = json_object_array_length(events);

	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(events, i),
				   *type = NULL, *kv_object;
		struct xs_etcd_event event = { 0 };
		struct xs_etcd_kv kv;
		int err;

		if (json_object_get_type(item) != json_type_object ||
		    get_object(item, "kv", &kv_object) || !kv_object) {
			watch_end(w, -EPROTO, "an event without a key-value");
			return -1;
		}
		json_object_object_get_ex(item, "type", &type);
		if (!type || !strcmp(json_object_get_string(type), "PUT")) {
			event.type = XS_ETCD_EVENT_PUT;
		} else if (!strcmp(json_object_get_string(type), "DELETE")) {
			event.type = XS_ETCD_EVENT_DELETE;
		} else {
			watch_end(w, -EPROTO, "an event of unknown type '%s'",
				  json_object_get_string(type));
			return -1;
		}
		err = parse_kv(kv_object, &kv);
		if (err) {
			watch_end(w, err, "a malformed event");
			return -1;
		}
		event.kv = &kv;
		event.revision = kv.mod_revision;
		err = w->fn(w->ctx, &event);
		kv_free(&kv);
		if (err) {
			watch_end(w, err, "the event handler returned %d", err);
			return -1;
		}
	}
	/* the whole response is in: a txn's events are never seen apart */
	if (n) {
		int err = w->fn(w->ctx, NULL);

		if (err) {
			watch_end(w, err, "the event handler returned %d", err);
			return -1;
		}
	}
	return 0;
}

/* etcd's cancel of the watch, said with its reason: -EAGAIN where another
 * member may create it. */
static void watch_canceled(struct watch *w, struct json_object *result)
{
	struct json_object *reason = NULL;
	const char *text;

	json_object_object_get_ex(result, "cancel_reason", &reason);
	text = reason ? json_object_get_string(reason) : "";
	watch_end(w, grpc_errno(0, text) == -EAGAIN ? -EAGAIN : -ECANCELED,
		  "etcd canceled the watch: %s",
		  text && *text ? text : "(no reason)");
}

/* Delivers a message's events; the revision of the last in *highest. -1
 * when the watch ended. */
static int watch_events(struct watch *w, struct json_object *events,
			int64_t *highest)
{
	size_t n;

	if (json_object_get_type(events) != json_type_array) {
		watch_end(w, -EPROTO, "events that are not an array");
		return -1;
	}
	if (deliver_events(w, events))
		return -1;
	n = json_object_array_length(events);
	if (n) {
		struct json_object *last = json_object_array_get_idx(events,
								     n - 1),
				   *kv;

		if (!get_object(last, "kv", &kv) && kv)
			get_int64(kv, "mod_revision", highest);
	}
	return 0;
}

/* One message of the stream: {"result": WatchResponse} or an error. */
static void watch_message(struct watch *w, struct json_object *message)
{
	struct json_object *result, *events;
	const char *why;
	int64_t revision, compacted, highest = 0;
	bool created, canceled;
	int err = gateway_error(message, &why);

	if (err) {
		watch_end(w, err, "%s", why);
		return;
	}
	if (get_object(message, "result", &result) || !result ||
	    get_revision(result, &revision) ||
	    get_bool(result, "created", &created) ||
	    get_bool(result, "canceled", &canceled) ||
	    get_int64(result, "compact_revision", &compacted)) {
		watch_end(w, -EPROTO, "a message that is not a watch response");
		return;
	}
	if (created) {
		w->created = true;
		w->status->created_revision = revision;
	}
	if (compacted > 0) {
		w->status->compact_revision = compacted;
		watch_end(w, -ERANGE,
			  "revision %" PRId64 " and older have been compacted",
			  compacted - 1);
		return;
	}
	if (canceled) {
		watch_canceled(w, result);
		return;
	}
	if (json_object_object_get_ex(result, "events", &events) && events) {
		if (watch_events(w, events, &highest))
			return;
	} else if (!created && revision > 0) {
		/* a progress notification: everything up to revision is out */
		highest = revision;
	}
	if (highest > w->status->last_revision)
		w->status->last_revision = highest;
}

static size_t watch_data(char *chunk, size_t size, size_t count, void *user)
{
	struct watch *w = user;
	size_t n = size * count, offset = 0;

	while (offset < n && !w->done) {
		size_t piece = n - offset;
		struct json_object *message;
		enum json_tokener_error state;

		if (piece > INT32_MAX)
			piece = INT32_MAX;
		message = json_tokener_parse_ex(w->tokener, chunk + offset,
						(int)piece);
		state = json_tokener_get_error(w->tokener);
		if (state == json_tokener_continue) {
			w->pending += piece;
			offset += piece;
			if (w->pending > XS_ETCD_MAX_RESPONSE)
				watch_end(w, -EMSGSIZE,
					  "a watch message over 16 MiB");
			continue;
		}
		if (state != json_tokener_success || !message) {
			watch_end(w, -EPROTO, "not JSON: %s",
				  json_tokener_error_desc(state));
			break;
		}
		offset += json_tokener_get_parse_end(w->tokener);
		json_tokener_reset(w->tokener);
		w->pending = 0;
		watch_message(w, message);
		json_object_put(message);
	}
	return w->done ? 0 : n;
}

static double seconds_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The stream's headers, or NULL. gRPC metadata "hasleader": etcd ends the
 * stream when the member loses its leader, instead of leaving it silent. */
static struct curl_slist *watch_headers(void)
{
	struct curl_slist *headers =
		curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *more =
		headers ? curl_slist_append(headers,
					    "Grpc-Metadata-hasleader: true") :
			  NULL;

	if (!more)
		curl_slist_free_all(headers);
	return more;
}

/* The handle set up for a POST of text to the endpoint's watch, its
 * messages to watch_data; detail gets curl's own words for a failure. */
static void set_watch_options(CURL *curl, const struct xs_etcd *etcd,
			      const char *endpoint, const char *text,
			      struct curl_slist *headers, struct watch *w,
			      char *detail)
{
	char url[512];

	snprintf(url, sizeof(url), "%s/v3/watch", endpoint);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)etcd->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
}

/* Runs the stream until it ends, the watch ends or *stop is set; *retry if
 * etcd did not create the watch in time. */
static void watch_stream(const struct xs_etcd *etcd, CURLM *multi,
			 struct watch *w, const volatile int *stop, bool *retry)
{
	double started = seconds_now();
	int running = 1;

	while (running && !w->done) {
		if (*stop) {
			watch_end(w, 0, "stopped");
			break;
		}
		if (!w->created &&
		    seconds_now() - started > etcd->timeout_ms / 1000.0) {
			watch_end(w, -ETIMEDOUT,
				  "no watch created within %d ms",
				  etcd->timeout_ms);
			*retry = true;
			break;
		}
		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			watch_end(w, -EIO, "curl_multi_perform failed");
			break;
		}
		if (running && !w->done)
			curl_multi_poll(multi, NULL, 0, WATCH_POLL_MS, NULL);
	}
}

/* Why a stream ended without an answer of ours; *retry where another
 * endpoint may do (it failed before etcd created the watch). */
static void watch_stream_ended(CURL *curl, CURLM *multi, struct watch *w,
			       const char *detail, bool *retry)
{
	CURLcode code = CURLE_OK;
	long status = 0;
	CURLMsg *info;
	int left;

	while ((info = curl_multi_info_read(multi, &left)))
		if (info->msg == CURLMSG_DONE)
			code = info->data.result;
	if (w->done) {
		if (w->result == -EAGAIN && !w->created)
			*retry = true;
		return;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (code != CURLE_OK) {
		watch_end(w, curl_errno(code, NULL), "%s",
			  curl_reason(code, NULL, detail));
		*retry = !w->created;
	} else if (w->pending) {
		watch_end(w, -EPROTO, "a truncated JSON message");
	} else if (status != 200) {
		watch_end(w, -EPROTO, "HTTP %ld", status);
	} else {
		watch_end(w, -ECONNRESET, "the stream ended");
		*retry = !w->created;
	}
}

/* One stream on one endpoint. Returns the watch's result; *retry when it
 * failed before etcd created the watch, so another endpoint may do. */
static int watch_once(struct xs_etcd *etcd, const char *endpoint,
		      const char *text, struct watch *w,
		      const volatile int *stop, bool *retry)
{
	char detail[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = watch_headers();
	CURL *curl = curl_easy_init();
	CURLM *multi = curl_multi_init();

	*retry = false;
	if (!curl || !multi || !headers) {
		watch_end(w, -ENOMEM, "out of memory");
	} else {
		set_watch_options(curl, etcd, endpoint, text, headers, w,
				  detail);
		curl_multi_add_handle(multi, curl);
		watch_stream(etcd, multi, w, stop, retry);
		watch_stream_ended(curl, multi, w, detail, retry);
		curl_multi_remove_handle(multi, curl);
	}
	if (curl)
		curl_easy_cleanup(curl);
	if (multi)
		curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	return w->result;
}

/* {"create_request": {the key or range, start_revision, progress_notify}},
 * or NULL when out of memory. */
static struct json_object *watch_create_body(const char *key, size_t key_length,
					     unsigned int flags,
					     int64_t start_revision)
{
	struct json_object *body = json_object_new_object();
	struct json_object *create = json_object_new_object();

	if (!body || !create ||
	    json_object_object_add(body, "create_request", create)) {
		json_object_put(create);
		json_object_put(body);
		return NULL;
	}
	if (add_key_range(create, key, key_length, flags & XS_ETCD_PREFIX,
			  NULL) ||
	    (start_revision > 0 &&
	     add_int64(create, "start_revision", start_revision)) ||
	    add_bool(create, "progress_notify", true)) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int xs_etcd_watch(struct xs_etcd *etcd, const char *key, size_t key_length,
		  unsigned int flags, int64_t start_revision,
		  xs_etcd_watch_fn fn, void *ctx, const volatile int *stop,
		  struct xs_etcd_watch_status *status, char *error, size_t size)
{
	struct json_object *body;
	struct xs_etcd_watch_status local;
	char attempts[1024] = "";
	const char *text;
	int err, result = 0;

	if (!status)
		status = &local;
	memset(status, 0, sizeof(*status));
	if ((err = check_key(key, &key_length, error, size)))
		return err;
	if (!fn || !stop) {
		set_error(error, size, "etcd watch: no callback or stop flag");
		return -EINVAL;
	}
	body = watch_create_body(key, key_length, flags, start_revision);
	if (!body)
		return nomem(error, size);
	text = json_object_to_json_string_ext(
		body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		json_object_put(body);
		return nomem(error, size);
	}
	for (size_t attempt = 0; attempt < etcd->count; attempt++) {
		size_t index = (etcd->current + attempt) % etcd->count;
		struct watch w = { .fn = fn, .ctx = ctx, .status = status };
		bool retry;

		w.tokener = json_tokener_new();
		if (!w.tokener) {
			json_object_put(body);
			return nomem(error, size);
		}
		result = watch_once(etcd, etcd->endpoints[index], text, &w,
				    stop, &retry);
		json_tokener_free(w.tokener);
		append(attempts, sizeof(attempts), "%s%s: %s",
		       attempts[0] ? "; " : "", etcd->endpoints[index], w.why);
		if (w.created)
			etcd->current = index;
		if (!retry || *stop)
			break;
	}
	json_object_put(body);
	if (result)
		set_error(error, size, "etcd /v3/watch: %s", attempts);
	return result;
}
