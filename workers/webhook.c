/*
 * hivejob-webhook: deliver one event to one endpoint, signed the Standard
 * Webhooks way (protocols.md). The endpoint, its secrets and its health
 * come as input from hivejob_webhook_load; what happened goes back as the
 * result's output for hivejob_webhook_apply, which writes the endpoint's
 * health and a delivery row in the job's own transaction.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "http.h"
#include "netcheck.h"
#include "text.h"
#include "util.h"
#include "whsig.h"
#include "worker.h"

static void	bad_args(const char *) __attribute__((noreturn));
static const char *str_arg(const struct wjob *, const char *, int);

static void
bad_args(const char *why)
{
	worker_result("cancel", why, "bad_args", -1, NULL);
}

/* A required string member of args, non-empty. */
static const char *
str_arg(const struct wjob *w, const char *key, int required)
{
	json_object	*v;
	char		 msg[160];

	if (!json_object_object_get_ex(w->args, key, &v) || v == NULL) {
		if (!required)
			return NULL;
		snprintf(msg, sizeof(msg), "args.%s is missing", key);
		bad_args(msg);
	}
	if (!json_object_is_type(v, json_type_string) || *json_object_get_string(v) == '\0') {
		snprintf(msg, sizeof(msg), "args.%s must be a non-empty string", key);
		bad_args(msg);
	}
	return json_object_get_string(v);
}

int
main(void)
{
	struct wjob		 w;
	struct net_cidrs	 allow;
	struct http_req		 req;
	struct http_resp	 resp;
	unsigned char		 key[WHSIG_SECRET_MAX], key2[WHSIG_SECRET_MAX];
	size_t			 klen, k2len = 0;
	char			 err[256], ts[32], sig1[128], sig2[128], sigs[300];
	char			 h_id[300], h_ts[64], h_sig[340], h_ua[200], msg[1024];
	const char		*headers[5];
	const char		*event_id, *event_type, *occurred, *url, *secret, *prev;
	json_object		*payload, *body, *out;
	const char		*body_s;
	char			*excerpt;
	int64_t			 http_timeout, give_up;
	double			 first_fail, last_ok, ra = -1;
	const char		*outcome, *class, *disable = NULL;
	time_t			 now;
	long			 st;

	worker_read(&w);

	/* Settings: an operator's mistake is a configuration error (exit 78). */
	if (net_parse_cidrs(worker_setting(&w, "allow_cidrs", ""), &allow, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "setting allow_cidrs: %s\n", err);
		return 78;
	}
	http_timeout = worker_setting_ms(&w, "http_timeout", 15000);
	give_up = worker_setting_ms(&w, "give_up_after", 5LL * 86400000);
	if (w.deadline && http_timeout / 1000 + 1 > w.deadline - time(NULL)) {
		fprintf(stderr, "setting http_timeout (%lld ms) must be shorter than the "
		    "kind's timeout\n", (long long)http_timeout);
		return 78;
	}

	/* Args, as the TypeScript core enqueues them. */
	event_id = str_arg(&w, "event_id", 1);
	if (strchr(event_id, '.') != NULL || strlen(event_id) > 255)
		bad_args("args.event_id must have no '.' and at most 255 characters "
		    "(it is the webhook-id header)");
	event_type = str_arg(&w, "event_type", 1);
	occurred = str_arg(&w, "occurred_at", 0);
	if (!json_object_object_get_ex(w.args, "payload", &payload) || payload == NULL)
		bad_args("args.payload is missing");
	if (!json_object_is_type(payload, json_type_object))
		bad_args("args.payload must be a JSON object");

	/* Input, from hivejob_webhook_load. */
	url = worker_input_str(&w, "url");
	secret = worker_input_str(&w, "secret");
	prev = worker_input_str(&w, "previous_secret");
	if (url == NULL || secret == NULL) {
		fprintf(stderr, "no endpoint in the job's input: is load = "
		    "hivejob_webhook_load set for this kind?\n");
		return 78;
	}
	if (whsig_secret(secret, key, &klen) == -1)
		bad_args("the endpoint's secret is not a whsec_ secret (base64 of at "
		    "least 16 bytes)");
	if (prev && whsig_secret(prev, key2, &k2len) == -1)
		k2len = 0;	/* a broken old secret is dropped, not fatal */
	if (occurred == NULL)
		occurred = worker_input_str(&w, "job_created_at");

	/* The body is serialised once, and exactly those bytes are signed. */
	body = json_object_new_object();
	json_object_object_add(body, "type", json_object_new_string(event_type));
	json_object_object_add(body, "timestamp", occurred ?
	    json_object_new_string(occurred) : NULL);
	json_object_object_add(body, "data", json_object_get(payload));
	body_s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	now = time(NULL);
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	whsig_sign(key, klen, event_id, ts, body_s, sig1, sizeof(sig1));
	if (k2len) {
		whsig_sign(key2, k2len, event_id, ts, body_s, sig2, sizeof(sig2));
		snprintf(sigs, sizeof(sigs), "%s %s", sig1, sig2);
	} else
		snprintf(sigs, sizeof(sigs), "%s", sig1);

	snprintf(h_id, sizeof(h_id), "webhook-id: %s", event_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %s", ts);
	snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sigs);
	snprintf(h_ua, sizeof(h_ua), "%s", worker_setting(&w, "user_agent",
	    "hivejob-webhook/0.5"));
	headers[0] = "Content-Type: application/json";
	headers[1] = h_id;
	headers[2] = h_ts;
	headers[3] = h_sig;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.nheaders = 4;
	req.body = body_s;
	req.body_len = strlen(body_s);
	req.connect_timeout_ms = http_timeout < 10000 ? http_timeout : 10000;
	req.total_timeout_ms = http_timeout;
	req.max_response = worker_setting_size(&w, "max_response", 4096);
	req.allow = &allow;
	req.https_only = worker_setting_bool(&w, "https_only", 1);
	req.user_agent = h_ua;

	if (http_request(&req, &resp) == HTTP_EINPUT) {
		snprintf(msg, sizeof(msg), "the endpoint's URL is refused: %s", resp.error);
		bad_args(msg);
	}

	st = resp.status;
	excerpt = text_sanitize(resp.body, resp.body_len, req.max_response ?
	    req.max_response : 4096);
	if (st >= 200 && st < 300) {
		outcome = "complete";
		class = "";
		msg[0] = '\0';
	} else {
		outcome = "retry";
		if (st == 0) {
			class = resp.class;
			snprintf(msg, sizeof(msg), "%s", resp.error);
		} else if (st >= 300 && st < 400) {
			class = "bad_response";
			snprintf(msg, sizeof(msg), "HTTP %ld: %s", st, resp.error);
		} else {
			class = st == 429 ? "http_429" : st >= 500 ? "http_5xx" : "http_4xx";
			snprintf(msg, sizeof(msg), "HTTP %ld from the endpoint", st);
		}
		if (st == 429 || st == 502 || st == 503 || st == 504)
			ra = resp.retry_after_s;
		if (st == 410) {
			outcome = "cancel";
			disable = "the endpoint answered 410 Gone";
			snprintf(msg, sizeof(msg), "HTTP 410 Gone: the endpoint is disabled");
		}
		/* Failing without a single success for longer than give_up_after. */
		first_fail = json_object_get_double(w.input ?
		    json_object_object_get(w.input, "first_failure_at") : NULL);
		last_ok = json_object_get_double(w.input ?
		    json_object_object_get(w.input, "last_success_at") : NULL);
		if (disable == NULL && first_fail > 0 && last_ok < first_fail &&
		    (double)now - first_fail > give_up / 1000.0) {
			outcome = "cancel";
			disable = "failing without a success for longer than give_up_after";
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
			    "; the endpoint has failed for longer than give_up_after and "
			    "is now disabled");
		}
	}

	out = json_object_new_object();
	json_object_object_add(out, "status", json_object_new_int((int)st));
	json_object_object_add(out, "duration_ms", json_object_new_int64(resp.elapsed_ms));
	json_object_object_add(out, "excerpt", json_object_new_string(excerpt));
	if (*msg)
		json_object_object_add(out, "error", json_object_new_string(msg));
	if (*class)
		json_object_object_add(out, "class", json_object_new_string(class));
	if (disable)
		json_object_object_add(out, "disable", json_object_new_string(disable));
	worker_result(outcome, msg, class, ra, out);
}
