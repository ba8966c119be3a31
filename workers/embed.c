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

#include "openai.h"
#include "util.h"
#include "worker.h"

#define DIM	768

static void	hashing(const char *, double *);
static int	openai(const struct wjob *, const char *, double *, int);
static int	decode_base64(const char *, double *);
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

/* Errors end the worker (openai_call) with the right outcome and class. */
static int
openai(const struct wjob *w, const char *text, double *v, int dim)
{
	json_object	*body, *reply, *data, *item, *emb, *idx;
	const char	*model = worker_setting(w, "model", NULL);
	char		 err[200], *input;
	size_t		 i;

	if (model == NULL) {
		fprintf(stderr, "setting model is required with provider = openai\n");
		exit(78);
	}
	input = xasprintf("%s%s", worker_setting(w, "doc_prefix", ""), text);
	body = json_object_new_object();
	json_object_object_add(body, "model", json_object_new_string(model));
	json_object_object_add(body, "input", json_object_new_string(input));
	json_object_object_add(body, "encoding_format", json_object_new_string(
	    worker_setting(w, "encoding_format", "float")));
	if (worker_setting_bool(w, "send_dimensions", 0))
		json_object_object_add(body, "dimensions", json_object_new_int(dim));
	free(input);
	reply = openai_call(w, "/v1/embeddings", body, "hivejob-embed/0.6");

	if (!json_object_object_get_ex(reply, "data", &data) ||
	    !json_object_is_type(data, json_type_array))
		fail("retry", "embedding server: the reply is not an embeddings list",
		    "bad_response", -1);
	if (json_object_array_length(data) != 1) {
		snprintf(err, sizeof(err), "embedding server: %zu vectors for 1 input",
		    json_object_array_length(data));
		fail("retry", err, "bad_response", -1);
	}
	item = json_object_array_get_idx(data, 0);
	/* The vectors are matched to the inputs by index: ours is 0. */
	if (json_object_object_get_ex(item, "index", &idx) &&
	    (!json_object_is_type(idx, json_type_int) || json_object_get_int64(idx) != 0))
		fail("retry", "embedding server: the vector's index is not 0, the only "
		    "input's", "bad_response", -1);
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
		for (i = 0; i < (size_t)dim; i++) {
			json_object *x = json_object_array_get_idx(emb, i);

			/* json-c would read null, true or "0.5" as a number. */
			if (!json_object_is_type(x, json_type_double) &&
			    !json_object_is_type(x, json_type_int))
				fail("retry", "embedding server: the vector has a value "
				    "that is not a number", "bad_response", -1);
			v[i] = json_object_get_double(x);
		}
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
