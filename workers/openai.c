/*
 * openai: the request and its failure modes, shared by the embedding and
 * sentiment workers. 408, 409, 429 and 5xx are retried, honouring
 * retry-after-ms, then retry-after, and x-should-retry overrides; a 4xx that
 * will not change (401, 403, 404, a 429 of insufficient_quota) cancels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "netcheck.h"
#include "openai.h"
#include "util.h"

json_object *
openai_call(const struct wjob *w, const char *path, json_object *body,
    const char *agent)
{
	struct net_cidrs	 allow;
	struct http_req		 req;
	struct http_resp	 resp;
	json_object		*reply, *e;
	char			 url[2048], auth[1100], err[600];
	const char		*base, *key, *headers[2], *code = NULL;
	size_t			 n = 0;
	long			 st;
	double			 ra;

	base = worker_setting(w, "base_url", "https://api.openai.com");
	key = worker_setting(w, "api_key", NULL);
	if (net_parse_cidrs(worker_setting(w, "allow_cidrs", ""), &allow, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "setting allow_cidrs: %s\n", err);
		exit(78);
	}
	snprintf(url, sizeof(url), "%.*s%s", (int)(strlen(base) -
	    (base[strlen(base) - 1] == '/')), base, path);
	headers[n++] = "Content-Type: application/json";
	if (key) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		headers[n++] = auth;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.nheaders = n;
	req.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	req.body_len = strlen(req.body);
	req.total_timeout_ms = worker_setting_ms(w, "http_timeout", 30000);
	req.connect_timeout_ms = req.total_timeout_ms < 10000 ? req.total_timeout_ms : 10000;
	req.max_response = 4 * 1024 * 1024;
	req.allow = &allow;
	req.user_agent = agent;
	if (http_request(&req, &resp) == HTTP_EINPUT) {
		fprintf(stderr, "setting base_url: %s\n", resp.error);
		exit(78);
	}
	explicit_bzero(auth, sizeof(auth));
	st = resp.status;
	ra = resp.retry_after_ms >= 0 ? resp.retry_after_ms / 1000.0 :
	    resp.retry_after_s >= 0 ? (double)resp.retry_after_s : -1;
	if (st == 0)
		worker_result("retry", resp.error, resp.class, -1, NULL);
	reply = json_tokener_parse(resp.body);
	if (st == 200 && reply != NULL && json_object_is_type(reply, json_type_object))
		return reply;
	if (st == 200)
		worker_result("retry", "model server: the reply is not a JSON object",
		    "bad_response", -1, NULL);
	if (reply && json_object_object_get_ex(reply, "error", &e) &&
	    json_object_is_type(e, json_type_object) &&
	    json_object_object_get_ex(e, "code", &e))
		code = json_object_get_string(e);
	snprintf(err, sizeof(err), "model server: HTTP %ld%s%s", st,
	    code ? ": " : "", code ? code : "");
	if (code && strcmp(code, "insufficient_quota") == 0)
		worker_result("cancel", err, "quota", -1, NULL);
	if (resp.should_retry == 1 || (resp.should_retry != 0 && (st == 408 ||
	    st == 409 || st == 429 || st >= 500)))
		worker_result("retry", err, st == 429 ? "http_429" : st >= 500 ?
		    "http_5xx" : "http_4xx", ra, NULL);
	/* 400, 401, 403, 404: asking again will not change the answer. */
	worker_result("cancel", err, st == 429 ? "http_429" : st >= 500 ? "http_5xx" :
	    "http_4xx", -1, NULL);
}
