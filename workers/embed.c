/*
 * hivejob-embed: one 768-dimension vector for one feedback record.
 *
 * provider = hashing (the default) works offline: feature hashing of words
 * and word pairs into 768 signed buckets, L2-normalised. It is lexical, not
 * semantic: texts that share words come out close, synonyms do not. It is
 * there so that the demo and the tests need no model server.
 *
 * provider = openai speaks POST {base_url}/v1/embeddings, which OpenAI,
 * Ollama, vLLM, llama.cpp and TEI all understand, and accepts float and
 * base64 replies. The text arrives as input from hivejob_feedback_load;
 * the vector leaves as output for hivejob_embedding_apply.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "http.h"
#include "netcheck.h"
#include "util.h"
#include "worker.h"

#define DIM	768

static void	hashing(const char *, double *);
static int	openai(const struct wjob *, const char *, double *, int);
static uint64_t	fnv1a(const char *, size_t, uint64_t);
static void	add_feature(double *, const char *, size_t, const char *, size_t,
		    double);
static void	fail(const char *, const char *, const char *, double)
		    __attribute__((noreturn));

static void
fail(const char *outcome, const char *error, const char *class, double ra)
{
	worker_result(outcome, error, class, ra, NULL);
}

static uint64_t
fnv1a(const char *s, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* One feature: a word, or a pair (b non-empty), into its signed bucket. */
static void
add_feature(double *v, const char *a, size_t an, const char *b, size_t bn, double w)
{
	uint64_t h = fnv1a(b ? "2:" : "1:", 2, 14695981039346656037ULL);

	h = fnv1a(a, an, h);
	if (b) {
		h = fnv1a(" ", 1, h);
		h = fnv1a(b, bn, h);
	}
	v[h % DIM] += (h >> 63) ? -w : w;
}

/*
 * Words are runs of letters and digits, lowercased; bytes of multibyte
 * UTF-8 count as letters, so any script yields words.
 */
static void
hashing(const char *text, double *v)
{
	char		*t = xstrdup(text), *p, *prev = NULL;
	size_t		 plen = 0, n;
	double		 norm = 0;
	int		 i;

	for (p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (p = t; *p;) {
		while (*p && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80))
			p++;
		if (!*p)
			break;
		for (n = 0; p[n] && (isalnum((unsigned char)p[n]) ||
		    ((unsigned char)p[n] & 0x80)); n++)
			;
		add_feature(v, p, n, NULL, 0, 1.0);
		if (prev)
			add_feature(v, prev, plen, p, n, 0.5);
		prev = p;
		plen = n;
		p += n;
	}
	for (i = 0; i < DIM; i++)
		norm += v[i] * v[i];
	norm = sqrt(norm);
	for (i = 0; norm > 0 && i < DIM; i++)
		v[i] /= norm;
	free(t);
}

/* A base64 reply: little-endian float32s. */
static int
decode_base64(const char *s, double *v)
{
	size_t		 n = strlen(s), pad = 0;
	unsigned char	*raw = xmalloc(n);
	int		 k, i;

	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	k = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n);
	if (k < 0 || (size_t)k - pad != DIM * 4) {
		free(raw);
		return -1;
	}
	for (i = 0; i < DIM; i++) {
		uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
		    (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
		float f;
		memcpy(&f, &u, sizeof(f));
		v[i] = f;
	}
	free(raw);
	return 0;
}

/* Errors end the worker with the right outcome and class; 0 on success. */
static int
openai(const struct wjob *w, const char *text, double *v, int dim)
{
	struct net_cidrs	 allow;
	struct http_req		 req;
	struct http_resp	 resp;
	json_object		*body, *reply, *data, *item, *emb, *e;
	char			 url[2048], auth[1100], err[600], *input;
	const char		*base, *key, *model, *headers[2], *fmt, *code;
	size_t			 i, n;
	long			 st;
	double			 ra;

	base = worker_setting(w, "base_url", "https://api.openai.com");
	key = worker_setting(w, "api_key", NULL);
	model = worker_setting(w, "model", NULL);
	fmt = worker_setting(w, "encoding_format", "float");
	if (model == NULL) {
		fprintf(stderr, "setting model is required with provider = openai\n");
		exit(78);
	}
	if (net_parse_cidrs(worker_setting(w, "allow_cidrs", ""), &allow, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "setting allow_cidrs: %s\n", err);
		exit(78);
	}
	snprintf(url, sizeof(url), "%s%s/v1/embeddings", base,
	    base[strlen(base) - 1] == '/' ? "." : "");
	input = xasprintf("%s%s", worker_setting(w, "doc_prefix", ""), text);
	body = json_object_new_object();
	json_object_object_add(body, "model", json_object_new_string(model));
	json_object_object_add(body, "input", json_object_new_string(input));
	json_object_object_add(body, "encoding_format", json_object_new_string(fmt));
	if (worker_setting_bool(w, "send_dimensions", 0))
		json_object_object_add(body, "dimensions", json_object_new_int(dim));
	free(input);

	n = 0;
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
	req.user_agent = "hivejob-embed/0.6";
	if (http_request(&req, &resp) == HTTP_EINPUT) {
		fprintf(stderr, "setting base_url: %s\n", resp.error);
		exit(78);
	}
	explicit_bzero(auth, sizeof(auth));
	st = resp.status;
	ra = resp.retry_after_ms >= 0 ? resp.retry_after_ms / 1000.0 :
	    resp.retry_after_s >= 0 ? (double)resp.retry_after_s : -1;
	if (st == 0)
		fail("retry", resp.error, resp.class, -1);
	if (st != 200) {
		reply = json_tokener_parse(resp.body);
		code = NULL;
		if (reply && json_object_object_get_ex(reply, "error", &e) &&
		    json_object_object_get_ex(e, "code", &e))
			code = json_object_get_string(e);
		snprintf(err, sizeof(err), "embedding server: HTTP %ld%s%s", st,
		    code ? ": " : "", code ? code : "");
		if (code && strcmp(code, "insufficient_quota") == 0)
			fail("cancel", err, "quota", -1);
		if (resp.should_retry == 1 || st == 408 || st == 409 || st == 429 ||
		    st >= 500)
			fail("retry", err, st == 429 ? "http_429" : st >= 500 ?
			    "http_5xx" : "http_4xx", ra);
		/* 400, 401, 403, 404: asking again will not change the answer. */
		fail("cancel", err, "http_4xx", -1);
	}
	if ((reply = json_tokener_parse(resp.body)) == NULL ||
	    !json_object_object_get_ex(reply, "data", &data) ||
	    !json_object_is_type(data, json_type_array))
		fail("retry", "embedding server: the reply is not an embeddings list",
		    "bad_response", -1);
	if (json_object_array_length(data) != 1) {
		snprintf(err, sizeof(err), "embedding server: %zu vectors for 1 input",
		    json_object_array_length(data));
		fail("retry", err, "bad_response", -1);
	}
	item = json_object_array_get_idx(data, 0);
	if (!json_object_object_get_ex(item, "embedding", &emb))
		fail("retry", "embedding server: no embedding in the reply", "bad_response", -1);
	if (json_object_is_type(emb, json_type_string)) {
		if (decode_base64(json_object_get_string(emb), v) == -1)
			fail("cancel", "embedding server: the base64 vector is not 768 "
			    "float32 values: a dimension mismatch", "bad_response", -1);
	} else if (json_object_is_type(emb, json_type_array)) {
		if (json_object_array_length(emb) != (size_t)dim) {
			snprintf(err, sizeof(err), "embedding server: %zu dimensions, "
			    "%d expected: a dimension mismatch (check model and "
			    "dimensions)", json_object_array_length(emb), dim);
			fail("cancel", err, "bad_response", -1);
		}
		for (i = 0; i < (size_t)dim; i++)
			v[i] = json_object_get_double(json_object_array_get_idx(emb, i));
	} else
		fail("retry", "embedding server: the embedding is neither a list nor "
		    "base64", "bad_response", -1);
	for (i = 0; i < (size_t)dim; i++)
		if (!isfinite(v[i]))
			fail("retry", "embedding server: the vector has a value that is not "
			    "finite", "bad_response", -1);
	return 0;
}

int
main(void)
{
	struct wjob	 w;
	double		 v[DIM];
	const char	*text, *provider, *model;
	json_object	*out, *arr;
	char		 num[32];
	int		 i, dim;

	worker_read(&w);
	memset(v, 0, sizeof(v));
	dim = (int)worker_setting_size(&w, "dimensions", DIM);
	if (dim != DIM) {
		fprintf(stderr, "setting dimensions: only %d is stored\n", DIM);
		return 78;
	}
	if ((text = worker_input_str(&w, "text")) == NULL) {
		fprintf(stderr, "no text in the job's input: is load = "
		    "hivejob_feedback_load set for this kind?\n");
		return 78;
	}
	provider = worker_setting(&w, "provider", "hashing");
	if (strcmp(provider, "hashing") == 0) {
		hashing(text, v);
		model = "hivejob-hashing-768";
	} else if (strcmp(provider, "openai") == 0) {
		openai(&w, text, v, dim);
		model = worker_setting(&w, "model", "");
	} else {
		fprintf(stderr, "setting provider: '%s' is not hashing or openai\n", provider);
		return 78;
	}

	/* %.9g round-trips a float32 exactly. */
	arr = json_object_new_array_ext(DIM);
	for (i = 0; i < DIM; i++) {
		snprintf(num, sizeof(num), "%.9g", (float)v[i]);
		json_object_array_add(arr, json_object_new_double_s((float)v[i], num));
	}
	out = json_object_new_object();
	json_object_object_add(out, "embedding", arr);
	json_object_object_add(out, "model", json_object_new_string(model));
	json_object_object_add(out, "dimensions", json_object_new_int(DIM));
	worker_result("complete", NULL, NULL, -1, out);
}
