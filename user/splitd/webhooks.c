// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Webhook delivery, off the loop that decides: the rollouts enqueue a
 * POST and go on; a thread of its own sends them on one curl multi
 * handle, every webhook at once and each webhook's in order, one at a
 * time, each attempt bounded by its webhook's timeout, failures tried
 * again after 0.5 s, 1 s, 2 s ... (at most 30 s) up to its retries.
 * The queue is bounded: when it is full the oldest waiting delivery is
 * dropped (counted and logged), never the loop blocked. A receiver that
 * hangs, refuses or answers slowly delays only its own deliveries.
 *
 * Gate webhooks are asked by the same thread while a rollout waits at a
 * gate step, every interval; the tick reads the latest answer. Only a 2xx
 * answer to an ask made during this wait at this gate opens it: an
 * error, a timeout or no answer yet keeps the rollout waiting.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "user/lib/log.h"
#include "user/lib/webhook.h"
#include "webhooks.h"
#include "splitd.h"

/* messages: a truncated one is still useful */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define QUEUE_SIZE 256 /* deliveries waiting, retrying or in flight */
#define MAX_IN_FLIGHT 32
#define MAX_GATES 64 /* gate webhooks asked at once */
#define MAX_NAMES 64 /* webhooks the metrics keep apart */
#define FIRST_BACKOFF_MS 500
#define MAX_BACKOFF_MS 30000
#define IDLE_POLL_MS 1000
#define STOP_GRACE_MS 1000 /* at exit, for what is queued */
#define MAX_ANSWER_BYTES 4096

/* what one attempt came to, for the metrics */
enum attempt_result {
	ATTEMPT_OK,
	ATTEMPT_HTTP_ERROR,
	ATTEMPT_TIMEOUT,
	ATTEMPT_UNREACHABLE,
	ATTEMPT_RESULTS
};
static const char *const attempt_names[ATTEMPT_RESULTS] = {
	"ok",
	"http_error",
	"timeout",
	"unreachable",
};
enum delivery_result { DELIVERED, FAILED, DROPPED, DELIVERY_RESULTS };
static const char *const delivery_names[DELIVERY_RESULTS] = {
	"delivered",
	"failed",
	"dropped",
};

struct counters {
	char name[XS_WEBHOOK_NAME_SIZE];
	__u64 attempts[ATTEMPT_RESULTS];
	__u64 deliveries[DELIVERY_RESULTS];
	__u64 gate_asks[ATTEMPT_RESULTS];
};

struct call {
	CURL *curl;
	struct curl_slist *headers;
	size_t answer_bytes;
};

struct delivery {
	bool used;
	struct xs_webhook hook;
	char vip[80], event[24], id[40];
	char *body;
	__u32 attempts; /* made so far */
	__u64 due_ms;
	__u64 order; /* enqueued: the oldest is dropped first */
	struct call call;
};

struct gate {
	bool used;
	struct xs_webhook hook;
	char vip[80];
	__u32 step;
	__u64 arrived_ms; /* the step's start: this wait at this gate */
	__u64 wanted_ms;  /* the tick asked for it last */
	__u64 keep_ms;	  /* how long it lives unwanted */
	__u64 next_ask_ms;
	char *body;
	struct call call;
	/* the latest answer */
	__u64 answers; /* 0: none yet */
	bool open;
	char answer[96]; /* "HTTP 503", "timeout" ... */
	char told[96];	 /* the answer the tick was last told of */
};

static struct delivery queue[QUEUE_SIZE];
static struct gate gates[MAX_GATES];
static struct counters counters[MAX_NAMES];
static __u64 enqueued, dropped_since_warning, drop_warned_ms;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static bool running;
static CURLM *waking; /* the thread's multi handle, under lock */
static char host_name[64];

static __u64 monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

static void wake(void)
{
	if (waking)
		curl_multi_wakeup(waking);
}

/* Under lock. Webhooks past MAX_NAMES share the last slot's counters. */
static struct counters *counters_of(const char *name)
{
	for (int i = 0; i < MAX_NAMES; i++) {
		if (!counters[i].name[0])
			snprintf(counters[i].name, sizeof(counters[i].name),
				 "%s", name);
		if (!strcmp(counters[i].name, name))
			return &counters[i];
	}
	return &counters[MAX_NAMES - 1];
}

static void random_id(char *out, size_t size)
{
	unsigned char bytes[16];
	size_t n = 0;

	if (getrandom(bytes, sizeof(bytes), GRND_NONBLOCK) != sizeof(bytes)) {
		__u64 t = monotonic_ms() ^ ((__u64)getpid() << 40);

		memcpy(bytes, &t, sizeof(t));
		memcpy(bytes + 8, &enqueued, sizeof(enqueued));
	}
	for (size_t i = 0; i < sizeof(bytes) && n + 2 < size; i++)
		n += snprintf(out + n, size - n, "%02x", bytes[i]);
}

static void wall_time(char *out, size_t size)
{
	struct timespec now;
	struct tm tm;
	char seconds[32];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", seconds, now.tv_nsec / 1000000);
}

/* The first line of the token file; false (with why) if unreadable. */
static bool read_token(const char *path, char *token, size_t size, char *why,
		       size_t why_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0) {
		snprintf(why, why_size, "token_file %s: %s", path,
			 strerror(errno));
		return false;
	}
	n = read(fd, token, size - 1);
	close(fd);
	if (n <= 0) {
		snprintf(why, why_size, "token_file %s is empty", path);
		return false;
	}
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	for (char *c = token; *c; c++)
		if ((unsigned char)*c < ' ') {
			snprintf(why, why_size,
				 "token_file %s holds a control character",
				 path);
			return false;
		}
	return token[0] != '\0';
}

static size_t discard(char *data, size_t size, size_t count, void *context)
{
	struct call *call = context;

	(void)data;
	call->answer_bytes += size * count;
	/* an answer is a status; a receiver that streams is cut off */
	return call->answer_bytes > MAX_ANSWER_BYTES ? 0 : size * count;
}

static void call_free(struct call *call)
{
	if (call->curl)
		curl_easy_cleanup(call->curl);
	curl_slist_free_all(call->headers);
	memset(call, 0, sizeof(*call));
}

static struct curl_slist *add_header(struct curl_slist *list,
				     const char *format, const char *a,
				     const char *b)
{
	char line[XS_WEBHOOK_HEADER_NAME_SIZE + XS_WEBHOOK_HEADER_VALUE_SIZE +
		  4096];
	struct curl_slist *more;

	snprintf(line, sizeof(line), format, a, b);
	more = curl_slist_append(list, line);
	if (!more) {
		curl_slist_free_all(list);
		return NULL;
	}
	return more;
}

/* A POST of body to hook, added to multi; -1 (with why) if not. */
static int call_start(CURLM *multi, struct call *call,
		      const struct xs_webhook *hook, const char *event,
		      const char *id, const char *body, void *owner, char *why,
		      size_t why_size)
{
	struct curl_slist *h = NULL;
	char token[4096];

	memset(call, 0, sizeof(*call));
	if (hook->token_file[0] &&
	    !read_token(hook->token_file, token, sizeof(token), why, why_size))
		return -1;
	call->curl = curl_easy_init();
	h = add_header(NULL, "Content-Type: application/json%s%s", "", "");
	h = h ? add_header(h, "X-Xdpsplit-Event: %s%s", event, "") : NULL;
	h = h && id ? add_header(h, "X-Xdpsplit-Delivery: %s%s", id, "") : h;
	for (__u32 i = 0; h && i < hook->header_count; i++)
		h = add_header(h, "%s: %s", hook->headers[i].name,
			       hook->headers[i].value);
	if (h && hook->token_file[0])
		h = add_header(h, "Authorization: Bearer %s%s", token, "");
	explicit_bzero(token, sizeof(token));
	call->headers = h;
	if (!call->curl || !h) {
		snprintf(why, why_size, "out of memory");
		call_free(call);
		return -1;
	}
	curl_easy_setopt(call->curl, CURLOPT_URL, hook->url);
	curl_easy_setopt(call->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(call->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(call->curl, CURLOPT_TIMEOUT_MS,
			 (long)hook->timeout_ms);
	curl_easy_setopt(call->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)hook->timeout_ms);
	curl_easy_setopt(call->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(call->curl, CURLOPT_USERAGENT, "splitd");
	/* copied: the body may be freed while the call is in flight */
	curl_easy_setopt(call->curl, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(call->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(call->curl, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(call->curl, CURLOPT_PRIVATE, owner);
	if (curl_multi_add_handle(multi, call->curl) != CURLM_OK) {
		snprintf(why, why_size, "curl refused the transfer");
		call_free(call);
		return -1;
	}
	return 0;
}

/* What a finished call came to; what says it in words. */
static enum attempt_result call_end(CURLM *multi, struct call *call,
				    CURLcode result, char *what, size_t size)
{
	long status = 0;
	enum attempt_result r;

	curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(multi, call->curl);
	if (result == CURLE_OPERATION_TIMEDOUT) {
		snprintf(what, size, "timed out");
		r = ATTEMPT_TIMEOUT;
	} else if (result != CURLE_OK) {
		snprintf(what, size, "%s", curl_easy_strerror(result));
		r = ATTEMPT_UNREACHABLE;
	} else {
		snprintf(what, size, "HTTP %ld", status);
		r = status >= 200 && status < 300 ? ATTEMPT_OK :
						    ATTEMPT_HTTP_ERROR;
	}
	call_free(call);
	return r;
}

/* --- the loop's side: never waits --------------------------------- */

/* Under lock: a free slot, else the oldest waiting delivery's (dropped). */
static struct delivery *slot(void)
{
	struct delivery *oldest = NULL;

	for (int i = 0; i < QUEUE_SIZE; i++) {
		if (!queue[i].used)
			return &queue[i];
		if (!queue[i].call.curl &&
		    (!oldest || queue[i].order < oldest->order))
			oldest = &queue[i];
	}
	if (!oldest)
		return NULL;
	counters_of(oldest->hook.name)->deliveries[DROPPED]++;
	/* loud, but at most every 10 s, with the count since */
	dropped_since_warning++;
	if (!drop_warned_ms || monotonic_ms() >= drop_warned_ms + 10000) {
		pr_warn("webhook %s: the queue of %d deliveries is full; dropping the oldest (%s of %s; %llu dropped since the last warning)\n",
			oldest->hook.name, QUEUE_SIZE, oldest->event,
			oldest->vip, (unsigned long long)dropped_since_warning);
		dropped_since_warning = 0;
		drop_warned_ms = monotonic_ms();
	}
	free(oldest->body);
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

static void enqueue(const struct xs_webhook *hook, const char *vip,
		    const char *event, const char *id, char *body)
{
	struct delivery *q;

	pthread_mutex_lock(&lock);
	q = slot();
	if (!q) { /* every slot in flight: this one goes */
		counters_of(hook->name)->deliveries[DROPPED]++;
		pthread_mutex_unlock(&lock);
		free(body);
		return;
	}
	q->used = true;
	q->hook = *hook;
	snprintf(q->vip, sizeof(q->vip), "%s", vip);
	snprintf(q->event, sizeof(q->event), "%s", event);
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->body = body;
	q->due_ms = monotonic_ms();
	q->order = ++enqueued;
	wake();
	pthread_mutex_unlock(&lock);
}

void webhooks_post(const char *vip, const struct xs_policy *policy,
		   const struct xs_rollout *before,
		   const struct xs_rollout *after)
{
	enum xs_webhook_event events[XS_WEBHOOK_EVENT_COUNT];
	size_t count;

	if (!policy || !policy->webhooks.count)
		return;
	/* a rollout ended at start (its VIP gone) posts before the thread
	 * starts: queued, and named after this machine */
	if (!host_name[0] && gethostname(host_name, sizeof(host_name) - 1))
		snprintf(host_name, sizeof(host_name), "splitd");
	count = xs_webhook_events(policy, before, after, events);
	for (size_t e = 0; e < count; e++) {
		struct xs_webhook_context c = {
			.event = xs_webhook_event_name(events[e]),
			.host = host_name,
			.vip = vip,
			.policy = policy,
			.rollout = after,
		};
		char id[40], when[40];

		random_id(id, sizeof(id));
		wall_time(when, sizeof(when));
		c.id = id;
		c.time = when;
		for (__u32 i = 0; i < policy->webhooks.count; i++) {
			const struct xs_webhook *hook =
				&policy->webhooks.hooks[i];
			char *body;

			if (hook->kind != XS_WEBHOOK_NOTIFY ||
			    !(hook->events & (1u << events[e])))
				continue;
			c.webhook = hook->name;
			body = xs_webhook_body(&c);
			if (body)
				enqueue(hook, vip, c.event, id, body);
		}
	}
}

/* Under lock: this wait's entry for the hook, taken if new. */
static struct gate *gate_of(const struct xs_webhook *hook, const char *vip,
			    const struct xs_rollout *r, bool take)
{
	struct gate *free_slot = NULL;

	for (int i = 0; i < MAX_GATES; i++) {
		struct gate *g = &gates[i];

		if (!g->used) {
			free_slot = free_slot ?: g;
			continue;
		}
		if (!strcmp(g->vip, vip) && !strcmp(g->hook.name, hook->name) &&
		    g->step == r->step && g->arrived_ms == r->step_started_ms)
			return g;
	}
	if (!take || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->hook = *hook;
	snprintf(free_slot->vip, sizeof(free_slot->vip), "%s", vip);
	free_slot->step = r->step;
	free_slot->arrived_ms = r->step_started_ms;
	return free_slot;
}

/*
 * Under lock: one gate webhook's part of the verdict, from its latest
 * answer (asked by the thread); its question, with this tick's values, is
 * the one the thread asks next. out->what gathers the tick's changes.
 */
static void judge_gate(const struct xs_webhook *hook, const char *vip,
		       const struct xs_policy *policy,
		       const struct xs_rollout *r, const char *when, __u64 now,
		       struct webhooks_gate_answer *out)
{
	struct xs_webhook_context c = {
		.event = "gate-check",
		.time = when,
		.host = host_name,
		.vip = vip,
		.policy = policy,
		.rollout = r,
		.webhook = hook->name,
	};
	struct gate *g = gate_of(hook, vip, r, true);
	char *body;

	if (!g) {
		out->open = false;
		snprintf(out->what, sizeof(out->what),
			 "gate webhook %s not asked: more than %d gates wait",
			 hook->name, MAX_GATES);
		return;
	}
	g->wanted_ms = now;
	g->keep_ms = 2 * (__u64)policy->interval_ms + 2000;
	body = xs_webhook_body(&c);
	if (body) {
		free(g->body);
		g->body = body;
	}
	out->open &= g->answers && g->open;
	/* a change is news; the same 503 every interval is not */
	if (g->answers && strcmp(g->told, g->answer)) {
		size_t used = out->changed ? strlen(out->what) : 0;

		snprintf(g->told, sizeof(g->told), "%s", g->answer);
		/* every change of this tick, in one line */
		snprintf(out->what + used, sizeof(out->what) - used,
			 "%sgate webhook %s answered %s",
			 out->changed ? ", " : "", hook->name, g->answer);
		out->changed = true;
	} else if (!out->changed && !(g->answers && g->open)) {
		snprintf(out->what, sizeof(out->what),
			 "waiting for gate webhook %s (%s)", hook->name,
			 g->answers ? g->answer : "no answer yet");
	}
}

bool webhooks_gate(const char *vip, const struct xs_policy *policy,
		   const struct xs_rollout *r, struct webhooks_gate_answer *out)
{
	__u64 now = monotonic_ms();
	bool any = false;
	char when[40];

	memset(out, 0, sizeof(*out));
	if (!xs_webhook_at_gate(policy, r))
		return false;
	wall_time(when, sizeof(when));
	out->open = true;
	pthread_mutex_lock(&lock);
	for (__u32 i = 0; i < policy->webhooks.count; i++) {
		const struct xs_webhook *hook = &policy->webhooks.hooks[i];

		if (hook->kind != XS_WEBHOOK_GATEKEEPER)
			continue;
		any = true;
		judge_gate(hook, vip, policy, r, when, now, out);
	}
	/* the verdict is the gate's, all of its webhooks together */
	if (any && out->changed)
		snprintf(out->what + strlen(out->what),
			 sizeof(out->what) - strlen(out->what), ": %s",
			 out->open ? "proceeding" : "waiting");
	else if (any && out->open)
		snprintf(out->what, sizeof(out->what),
			 "gate webhooks answered 2xx");
	wake();
	pthread_mutex_unlock(&lock);
	return any;
}

/* --- the thread --------------------------------------------------- */

static __u64 backoff_ms(__u32 attempts)
{
	__u64 delay = FIRST_BACKOFF_MS;

	for (__u32 i = 1; i < attempts && delay < MAX_BACKOFF_MS; i++)
		delay *= 2;
	return delay < MAX_BACKOFF_MS ? delay : MAX_BACKOFF_MS;
}

static void finish_delivery(struct delivery *q, enum attempt_result result,
			    const char *what, __u64 now)
{
	struct counters *c = counters_of(q->hook.name);

	c->attempts[result]++;
	q->attempts++;
	if (result == ATTEMPT_OK) {
		c->deliveries[DELIVERED]++;
		pr_debug("webhook %s: %s of %s delivered (%s)\n", q->hook.name,
			 q->event, q->vip, what);
	} else if (q->attempts > q->hook.retries) {
		c->deliveries[FAILED]++;
		pr_warn("webhook %s: %s of %s not delivered after %u attempts: %s\n",
			q->hook.name, q->event, q->vip, q->attempts, what);
	} else {
		q->due_ms = now + backoff_ms(q->attempts);
		pr_info("webhook %s: %s of %s: %s; trying again in %llu ms\n",
			q->hook.name, q->event, q->vip, what,
			(unsigned long long)(q->due_ms - now));
		return;
	}
	free(q->body);
	memset(q, 0, sizeof(*q));
}

static void finish_gate(struct gate *g, enum attempt_result result,
			const char *what, __u64 now)
{
	counters_of(g->hook.name)->gate_asks[result]++;
	g->open = result == ATTEMPT_OK;
	snprintf(g->answer, sizeof(g->answer), "%s", what);
	g->answers++;
	g->next_ask_ms = now + g->hook.interval_ms;
}

/* Under lock: a webhook gets its events in order, one at a time; a
 * receiver that hangs holds up only its own later ones. */
static bool earlier_pending(const struct delivery *q)
{
	for (int i = 0; i < QUEUE_SIZE; i++) {
		const struct delivery *other = &queue[i];

		if (other->used && other->order < q->order &&
		    !strcmp(other->hook.name, q->hook.name) &&
		    !strcmp(other->hook.url, q->hook.url))
			return true;
	}
	return false;
}

/* Under lock: starts what is due; the soonest next due time. */
static __u64 start_due(CURLM *multi, __u64 now)
{
	__u64 next = now + IDLE_POLL_MS;
	int in_flight = 0;
	char why[256];

	for (int i = 0; i < QUEUE_SIZE; i++)
		in_flight += queue[i].call.curl != NULL;
	for (int i = 0; i < QUEUE_SIZE && in_flight < MAX_IN_FLIGHT; i++) {
		struct delivery *q = &queue[i];

		if (!q->used || q->call.curl)
			continue;
		if (q->due_ms > now) {
			next = q->due_ms < next ? q->due_ms : next;
			continue;
		}
		if (earlier_pending(q))
			continue; /* started when the earlier one ends */
		if (call_start(multi, &q->call, &q->hook, q->event, q->id,
			       q->body, q, why, sizeof(why)))
			finish_delivery(q, ATTEMPT_UNREACHABLE, why, now);
		else
			in_flight++;
	}
	for (int i = 0; i < MAX_GATES; i++) {
		struct gate *g = &gates[i];

		if (!g->used || g->call.curl)
			continue;
		if (now > g->wanted_ms + g->keep_ms) { /* its wait is over */
			free(g->body);
			memset(g, 0, sizeof(*g));
			continue;
		}
		if (g->next_ask_ms > now) {
			next = g->next_ask_ms < next ? g->next_ask_ms : next;
			continue;
		}
		if (!g->body)
			continue;
		if (call_start(multi, &g->call, &g->hook, "gate-check", NULL,
			       g->body, g, why, sizeof(why)))
			finish_gate(g, ATTEMPT_UNREACHABLE, why, now);
	}
	return next;
}

/* How many calls ended: what waited behind them may start now. */
static int finish_done(CURLM *multi)
{
	CURLMsg *message;
	int left, ended = 0;

	while ((message = curl_multi_info_read(multi, &left))) {
		void *owner = NULL;
		char what[128];
		__u64 now = monotonic_ms();

		if (message->msg != CURLMSG_DONE)
			continue;
		ended++;
		curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE,
				  (char **)&owner);
		pthread_mutex_lock(&lock);
		if (owner >= (void *)queue &&
		    owner < (void *)(queue + QUEUE_SIZE)) {
			struct delivery *q = owner;

			finish_delivery(q,
					call_end(multi, &q->call,
						 message->data.result, what,
						 sizeof(what)),
					what, now);
		} else {
			struct gate *g = owner;

			finish_gate(g,
				    call_end(multi, &g->call,
					     message->data.result, what,
					     sizeof(what)),
				    what, now);
		}
		pthread_mutex_unlock(&lock);
	}
	return ended;
}

static bool queue_empty(void)
{
	for (int i = 0; i < QUEUE_SIZE; i++)
		if (queue[i].used)
			return false;
	return true;
}

static void *webhook_loop(void *arg)
{
	CURLM *multi = arg;
	__u64 stop_by = 0;

	for (;;) {
		__u64 now = monotonic_ms(), next;
		int active;

		pthread_mutex_lock(&lock);
		if (splitd_stop && !stop_by)
			stop_by = now + STOP_GRACE_MS;
		if (stop_by && (now >= stop_by || queue_empty())) {
			pthread_mutex_unlock(&lock);
			break;
		}
		next = start_due(multi, now);
		pthread_mutex_unlock(&lock);
		curl_multi_perform(multi, &active);
		if (finish_done(multi))
			continue; /* a webhook's next event, at once */
		now = monotonic_ms();
		curl_multi_poll(multi, NULL, 0,
				next > now ?
					(int)(next - now < 1000 ? next - now :
								  1000) :
					0,
				NULL);
	}
	pthread_mutex_lock(&lock);
	waking = NULL;
	for (int i = 0; i < QUEUE_SIZE; i++)
		if (queue[i].used) {
			if (queue[i].call.curl) {
				curl_multi_remove_handle(multi,
							 queue[i].call.curl);
				call_free(&queue[i].call);
			}
			counters_of(queue[i].hook.name)->deliveries[DROPPED]++;
			pr_warn("webhook %s: %s of %s not delivered: splitd stops\n",
				queue[i].hook.name, queue[i].event,
				queue[i].vip);
			free(queue[i].body);
			memset(&queue[i], 0, sizeof(queue[i]));
		}
	for (int i = 0; i < MAX_GATES; i++) {
		if (gates[i].call.curl) {
			curl_multi_remove_handle(multi, gates[i].call.curl);
			call_free(&gates[i].call);
		}
		free(gates[i].body);
		memset(&gates[i], 0, sizeof(gates[i]));
	}
	pthread_mutex_unlock(&lock);
	curl_multi_cleanup(multi);
	return NULL;
}

int webhooks_start(const char *host)
{
	CURLM *multi = curl_multi_init();

	if (!multi) {
		pr_warn("Couldn't start the webhooks: no curl multi handle\n");
		return -1;
	}
	if (host && *host)
		snprintf(host_name, sizeof(host_name), "%s", host);
	else if (gethostname(host_name, sizeof(host_name) - 1))
		snprintf(host_name, sizeof(host_name), "splitd");
	pthread_mutex_lock(&lock);
	waking = multi;
	pthread_mutex_unlock(&lock);
	if (pthread_create(&thread, NULL, webhook_loop, multi)) {
		pthread_mutex_lock(&lock);
		waking = NULL;
		pthread_mutex_unlock(&lock);
		curl_multi_cleanup(multi);
		return -1;
	}
	running = true;
	return 0;
}

void webhooks_stop(void)
{
	pthread_mutex_lock(&lock);
	wake();
	pthread_mutex_unlock(&lock);
	if (running)
		pthread_join(thread, NULL);
	running = false;
}

char *webhooks_metrics(void)
{
	char *text = NULL;
	size_t length = 0;
	FILE *out = open_memstream(&text, &length);
	int waiting = 0;

	if (!out)
		return NULL;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < QUEUE_SIZE; i++)
		waiting += queue[i].used;
	fprintf(out,
		"# HELP xdpsplit_webhook_deliveries_total Webhook POSTs of rollout events, by how they ended (delivered: a 2xx answer; failed: every attempt failed; dropped: the queue was full or splitd stopped).\n"
		"# TYPE xdpsplit_webhook_deliveries_total counter\n");
	/* names are plain (config_webhooks.c): no label escaping */
	for (int i = 0; i < MAX_NAMES && counters[i].name[0]; i++)
		for (int k = 0; k < DELIVERY_RESULTS; k++)
			fprintf(out,
				"xdpsplit_webhook_deliveries_total{webhook=\"%s\",result=\"%s\"} %llu\n",
				counters[i].name, delivery_names[k],
				(unsigned long long)counters[i].deliveries[k]);
	fprintf(out,
		"# HELP xdpsplit_webhook_attempts_total Webhook HTTP attempts (first tries and retries), by result.\n"
		"# TYPE xdpsplit_webhook_attempts_total counter\n");
	for (int i = 0; i < MAX_NAMES && counters[i].name[0]; i++)
		for (int k = 0; k < ATTEMPT_RESULTS; k++)
			fprintf(out,
				"xdpsplit_webhook_attempts_total{webhook=\"%s\",result=\"%s\"} %llu\n",
				counters[i].name, attempt_names[k],
				(unsigned long long)counters[i].attempts[k]);
	fprintf(out,
		"# HELP xdpsplit_webhook_gate_asks_total Asks of gate webhooks, by result (ok: 2xx, the gate may open).\n"
		"# TYPE xdpsplit_webhook_gate_asks_total counter\n");
	for (int i = 0; i < MAX_NAMES && counters[i].name[0]; i++)
		for (int k = 0; k < ATTEMPT_RESULTS; k++)
			fprintf(out,
				"xdpsplit_webhook_gate_asks_total{webhook=\"%s\",result=\"%s\"} %llu\n",
				counters[i].name, attempt_names[k],
				(unsigned long long)counters[i].gate_asks[k]);
	fprintf(out,
		"# HELP xdpsplit_webhook_queue_length Webhook deliveries waiting, retrying or in flight.\n"
		"# TYPE xdpsplit_webhook_queue_length gauge\n"
		"xdpsplit_webhook_queue_length %d\n",
		waiting);
	pthread_mutex_unlock(&lock);
	fclose(out);
	return text;
}
