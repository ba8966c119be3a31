/*
 * feedback_embedding and sentiment_analysis end to end: hivejobd runs
 * hivejob-embed and hivejob-sentiment against an OpenAI-compatible server
 * in Node (tests/fakeai/fakeai.js, no npm dependencies) that records every
 * request and answers as the case needs, and with the offline providers
 * (hashing, VADER). Each case checks the job (state, attempt, class,
 * error), the embeddings row or the record's metadata, and what the server
 * saw. The API key comes from api_key_file: it must reach the server in
 * the Authorization header and appear nowhere else.
 *
 * The server picks a reply from a directive in the text itself,
 * "{{fakeai:MODE ...}}", so one daemon and one server serve several cases
 * at once. Only 127.0.0.1 is used, allowed by the kinds' allow_cidrs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "th.h"

#define KEY		"sk-hivejob-test-7Qm2Vx9Lr4Tz8Kp3Wn6Yb1Hd5Jf0Gc"
#define KEY_TAIL	"Wn6Yb1Hd5Jf0Gc"
#define PREFIX		"search_document: "
#define EMODEL		"nomic-embed-text"
#define CMODEL		"gpt-4o-mini"
#define HMODEL		"hivejob-hashing-768"
#define VMODEL		"vader-3.3.2+hivejob"

/* sha256sum of the UTF-8 bytes, computed outside hivejob. */
#define BOOK		"The book was good."
#define BOOK_SHA	"ee2f3c23da82da856469984493cdeb8224805d9e5036579db3cc289e603632aa"
#define UTF8		"Très bien ☃ — naïve café"
#define UTF8_SHA	"602a39d74d711b3e4c36c2290e20e0232621480db51d92073745e0751d537b95"

static struct th_daemon	 d;
static struct th_server	 ai = { 0, 0, -1 };
static char		 tdir[64];
static char		 ai_log[128];
static char		 keyfile[128];
static const char	*http_timeout = "2s";	/* the kinds' */

/* ----- helpers ----- */

/* s as an SQL literal. */
static char *
lit(const char *s)
{
	char *e = PQescapeLiteral(th_conn(), s, strlen(s)), *r;

	cr_assert_not_null(e);
	r = strdup(e);
	PQfreemem(e);
	return r;
}

static int
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

/* The end of the daemon's log, for failure messages. */
static char *
log_tail(void)
{
	char	*s = th_daemon_log(&d);
	size_t	 n = strlen(s);

	return n > 6000 ? s + n - 6000 : s;
}

/* ----- the fake model server ----- */

static const char *
fakeai_js(void)
{
	static char	 path[4200];
	const char	*bin = getenv("HIVEJOB_BIN");

	snprintf(path, sizeof(path), "%s/../fakeai/fakeai.js", bin ? bin : "build/bin");
	return path;
}

static void
ai_start(void)
{
	const char	*argv[] = { "node", fakeai_js(), "--log", ai_log, NULL };
	char		*errpath;

	errpath = fmt("%s/fakeai.err", tdir);
	th_server_start(&ai, argv, errpath);
	free(errpath);
}

static void
ai_stop(void)
{
	th_server_stop(&ai);
}

/* POST a JSON object to the server's control endpoint. */
static void
ai_control(const char *json)
{
	th_server_control(&ai, json);
}

/* Every request the server recorded, oldest first (a new array). */
static json_object *
ai_reqs(void)
{
	return th_jsonl(ai_log);
}

static int
ai_count(void)
{
	json_object	*a = ai_reqs();
	int		 n = (int)json_object_array_length(a);

	json_object_put(a);
	return n;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static const char *
jhdr(json_object *r, const char *name)
{
	json_object *h;

	cr_assert(json_object_object_get_ex(r, "headers", &h));
	return jstr(h, name);
}

/* A recorded request's body, parsed (a new object). */
static json_object *
jbody(json_object *r)
{
	json_object *b = json_tokener_parse(jstr(r, "body"));

	cr_assert_not_null(b, "body is not JSON: %s", jstr(r, "body"));
	return b;
}

/* The text a request carried: the embeddings input or the chat's user turn. */
static char *
req_text(json_object *r)
{
	json_object	*b = jbody(r), *m, *u;
	char		*s = NULL;
	size_t		 i;

	if (json_object_object_get_ex(b, "input", &m) &&
	    json_object_is_type(m, json_type_string))
		s = strdup(json_object_get_string(m));
	else if (json_object_object_get_ex(b, "messages", &m) &&
	    json_object_is_type(m, json_type_array))
		for (i = 0; i < json_object_array_length(m); i++) {
			u = json_object_array_get_idx(m, i);
			if (jstr(u, "role") && strcmp(jstr(u, "role"), "user") == 0) {
				free(s);
				s = strdup(jstr(u, "content"));
			}
		}
	json_object_put(b);
	return s;
}

/* The requests whose text is exactly text (a new array). */
static json_object *
ai_for(const char *text)
{
	json_object	*a = ai_reqs(), *out = json_object_new_array(), *r;
	char		*t;
	size_t		 i;

	for (i = 0; i < json_object_array_length(a); i++) {
		r = json_object_array_get_idx(a, i);
		t = req_text(r);
		if (t && strcmp(t, text) == 0)
			json_object_array_add(out, json_object_get(r));
		free(t);
	}
	json_object_put(a);
	return out;
}

/* The one request an embedding of text made (prefix added); a new ref. */
static json_object *
ai_one(const char *input)
{
	json_object	*a = ai_for(input), *r;

	cr_assert_eq(json_object_array_length(a), 1, "requests for '%s': %s", input,
	    json_object_to_json_string(ai_reqs()));
	r = json_object_get(json_object_array_get_idx(a, 0));
	json_object_put(a);
	return r;
}

static void
wait_request(const char *input, int seconds)
{
	int		 i;
	json_object	*a;

	for (i = 0; i < seconds * 20; i++) {
		a = ai_for(input);
		if (json_object_array_length(a) > 0) {
			json_object_put(a);
			return;
		}
		json_object_put(a);
		usleep(50000);
	}
	cr_assert_fail("no request for '%s' within %d s:\n%s", input, seconds, log_tail());
}

/* Every request carried the key, as a bearer token, and was JSON. */
static void
ai_all_authorized(int n)
{
	json_object	*a = ai_reqs(), *r;
	size_t		 i;

	cr_assert_eq(json_object_array_length(a), (size_t)n, "requests: %s",
	    json_object_to_json_string(a));
	for (i = 0; i < json_object_array_length(a); i++) {
		r = json_object_array_get_idx(a, i);
		cr_assert_str_eq(jstr(r, "method"), "POST");
		cr_assert_str_eq(jhdr(r, "authorization"), "Bearer " KEY);
		cr_assert_str_eq(jhdr(r, "content-type"), "application/json");
	}
	json_object_put(a);
}

/* ----- the database side ----- */

static char *
record(const char *text)
{
	char *l = lit(text), *id;

	id = q("INSERT INTO feedback_records (text, metadata) VALUES (%s,"
	    " '{\"source\": \"email\"}') RETURNING id", l);
	free(l);
	return id;
}

static long
enqueue(const char *kind, const char *rid)
{
	return qlong("INSERT INTO river_job (kind, args) VALUES ('%s',"
	    " jsonb_build_object('feedback_record_id', '%s')) RETURNING id", kind, rid);
}

static long
embed_job(const char *rid)
{
	return enqueue("feedback_embedding", rid);
}

static long
sentiment_job(const char *rid)
{
	return enqueue("sentiment_analysis", rid);
}

/* "state|attempt|class|last error", '-' for none. */
static char *
job_row(long id)
{
	return q("SELECT concat_ws('|', state, attempt,"
	    " coalesce(nullif(metadata->'hivejob'->>'class', ''), '-'),"
	    " coalesce(errors[array_length(errors, 1)]->>'error', '-'))"
	    " FROM river_job WHERE id = %ld", id);
}

static void
wait_state(long id, const char *state, int seconds)
{
	cr_assert(th_wait_sql(state, seconds, "SELECT state FROM river_job WHERE id = %ld", id),
	    "job %ld is not %s: %s\n%s", id, state, job_row(id), log_tail());
}

/* The job has failed its first attempt and waits for its retry. */
static void
wait_retry(long id, int seconds)
{
	cr_assert(th_wait_sql("t", seconds, "SELECT state NOT IN ('available', 'running')"
	    " OR (coalesce(array_length(errors, 1), 0) >= 1 AND scheduled_at > now())"
	    " FROM river_job WHERE id = %ld", id),
	    "job %ld: %s\n%s", id, job_row(id), log_tail());
}

/* The embeddings row of a record: "model|dimensions|cardinality|sha". */
static char *
emb_row(const char *rid)
{
	return q("SELECT coalesce((SELECT concat_ws('|', model, dimensions,"
	    " cardinality(embedding), content_sha256) FROM embeddings"
	    " WHERE feedback_record_id = '%s'), 'none')", rid);
}

/* The stored vector equals the one the server sent (float32 for float32). */
static void
emb_is(const char *rid, json_object *req)
{
	json_object	*v;
	char		*l;

	cr_assert(json_object_object_get_ex(req, "vector", &v) &&
	    json_object_is_type(v, json_type_array), "no vector in %s",
	    json_object_to_json_string(req));
	cr_assert_eq(json_object_array_length(v), 768);
	l = lit(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	cr_assert_str_eq(q("SELECT e.embedding = ARRAY(SELECT x::real FROM"
	    " jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY t(x, i) ORDER BY i)"
	    " FROM embeddings e WHERE feedback_record_id = '%s'", l, rid), "t",
	    "stored %s\nsent %s", q("SELECT embedding FROM embeddings WHERE"
	    " feedback_record_id = '%s'", rid), jstr(req, "vector"));
	free(l);
}

static char *
meta(const char *rid)
{
	return q("SELECT metadata FROM feedback_records WHERE id = '%s'", rid);
}

/*
 * The API key is in no row of any table (river_job's errors, metadata and
 * args among them, the embeddings, the records) and not in the daemon's
 * log; nor is its tail, which a cut could leave.
 */
static void
key_nowhere(void)
{
	const char	*needles[] = { KEY, KEY_TAIL };
	char		*log = th_daemon_log(&d), *l;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		l = lit(fmt("%%%s%%", needles[i]));
		cr_assert_str_eq(q("SELECT count(*) FROM river_job j WHERE to_jsonb(j)::text LIKE %s",
		    l), "0", "the key is in river_job: %s", q("SELECT string_agg(to_jsonb(j)::text,"
		    " E'\\n') FROM river_job j WHERE to_jsonb(j)::text LIKE %s", l));
		cr_assert_str_eq(q("SELECT count(*) FROM embeddings e WHERE to_jsonb(e)::text LIKE %s",
		    l), "0");
		cr_assert_str_eq(q("SELECT count(*) FROM feedback_records r"
		    " WHERE to_jsonb(r)::text LIKE %s", l), "0");
		cr_assert_str_eq(q("SELECT coalesce(string_agg(t.table_name, ','), '-')"
		    " FROM information_schema.tables t WHERE t.table_schema = current_schema()"
		    " AND t.table_type = 'BASE TABLE' AND query_to_xml(format('SELECT * FROM %%I.%%I',"
		    " t.table_schema, t.table_name), true, false, '')::text LIKE %s", l), "-",
		    "the key is in these tables");
		cr_assert(!contains(log, needles[i]), "the key is in the daemon's log:\n%s", log);
		free(l);
	}
	free(log);
}

/* ----- daemons ----- */

/*
 * Both kinds speak to the fake server. Retries: at once, then 10 s, then
 * 1 m: a retry_after is clamped to [10 s, 1 m], and a first failure
 * waits in retryable long enough to be looked at.
 */
static void
ai_daemon(const char *emodel, const char *eextra, const char *cextra)
{
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.feedback_embedding]\n"
	    "provider = openai\n"
	    "base_url = http://127.0.0.1:%d\n"
	    "model = %s\n"
	    "doc_prefix = \"" PREFIX "\"\n"
	    "api_key_file = %s\n"
	    "allow_cidrs = 127.0.0.1/32\n"
	    "http_timeout = %s\n"
	    "retry = schedule 0 10s 1m\n"
	    "%s\n"
	    "[kind.sentiment_analysis]\n"
	    "provider = openai\n"
	    "base_url = http://127.0.0.1:%d/\n"
	    "model = " CMODEL "\n"
	    "api_key_file = %s\n"
	    "allow_cidrs = 127.0.0.1/32\n"
	    "http_timeout = %s\n"
	    "retry = schedule 0 10s 1m\n"
	    "%s\n", ai.port, emodel, keyfile, http_timeout, eextra, ai.port, keyfile,
	    http_timeout, cextra);
}

/* ----- fixtures ----- */

static void
setup_db(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

static void
setup_ai(void)
{
	char		*out = NULL, *err = NULL;
	const char	*argv[] = { "/bin/sh", "-c", "command -v node", NULL };
	FILE		*f;

	cr_assert_eq(th_run(&out, &err, argv), 0, "node is needed for the fake model "
	    "server: run scripts/deps test as root");
	cr_assert_eq(access(fakeai_js(), R_OK), 0, "%s is missing: make build/tests/"
	    "integ_test_feedback copies it", fakeai_js());
	setup_db();
	snprintf(tdir, sizeof(tdir), "/tmp/hivejob-fai.XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(ai_log, sizeof(ai_log), "%s/requests.jsonl", tdir);
	snprintf(keyfile, sizeof(keyfile), "%s/api.key", tdir);
	cr_assert_not_null(f = fopen(keyfile, "w"));
	fputs(KEY "\n", f);
	fclose(f);
	chmod(keyfile, 0600);
	ai_start();
}

static void
teardown(void)
{
	char *cmd;

	if (d.pid > 0)
		th_daemon_stop(&d);
	ai_stop();
	if (tdir[0]) {
		cmd = fmt("rm -rf '%s'", tdir);
		(void)system(cmd);
		free(cmd);
	}
}

TestSuite(openai, .init = setup_ai, .fini = teardown, .timeout = 90);
TestSuite(offline, .init = setup_db, .fini = teardown, .timeout = 90);
TestSuite(bulk, .init = setup_db, .fini = teardown, .timeout = 150);

/* ----- embeddings over the API ----- */

Test(openai, a_float_reply_is_stored_with_model_and_text_hash)
{
	char		*r1, *r2;
	long		 j1, j2;
	json_object	*req, *b, *v;

	ai_daemon(EMODEL, "", "");
	r1 = record(BOOK);
	r2 = record(UTF8);
	j1 = embed_job(r1);
	j2 = embed_job(r2);
	wait_state(j1, "completed", 30);
	wait_state(j2, "completed", 30);
	cr_assert_str_eq(job_row(j1), "completed|1|-|-");
	cr_assert_str_eq(job_row(j2), "completed|1|-|-");

	cr_assert_str_eq(emb_row(r1), EMODEL "|768|768|" BOOK_SHA);
	cr_assert_str_eq(emb_row(r2), EMODEL "|768|768|" UTF8_SHA);
	req = ai_one(PREFIX BOOK);
	emb_is(r1, req);
	cr_assert_str_eq(jstr(req, "route"), "/v1/embeddings");
	cr_assert_str_eq(jstr(req, "path"), "/v1/embeddings");
	cr_assert(strncmp(jhdr(req, "user-agent"), "hivejob-embed/", 14) == 0);
	b = jbody(req);
	cr_assert_str_eq(jstr(b, "model"), EMODEL);
	cr_assert_str_eq(jstr(b, "encoding_format"), "float");
	cr_assert(!json_object_object_get_ex(b, "dimensions", &v),
	    "dimensions sent without send_dimensions: %s", jstr(req, "body"));
	json_object_put(b);
	emb_is(r2, ai_one(PREFIX UTF8));
	/* Two records, two vectors. */
	cr_assert_str_eq(q("SELECT a.embedding <> b.embedding FROM embeddings a, embeddings b"
	    " WHERE a.feedback_record_id = '%s' AND b.feedback_record_id = '%s'", r1, r2), "t");
	/* The record itself is not touched by an embedding. */
	cr_assert_str_eq(meta(r1), "{\"source\": \"email\"}");

	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, a_base64_reply_gives_the_same_values_as_a_float_one)
{
	char		*rb, *rf;
	long		 jb, jf;
	json_object	*req, *b, *v;

	ai_daemon("text-embedding-3-small", "encoding_format = base64\nsend_dimensions = true", "");
	rb = record(BOOK);
	/* Asked for base64, the server answers with a float list all the same. */
	rf = record("{{fakeai:float}}" BOOK);
	jb = embed_job(rb);
	jf = embed_job(rf);
	wait_state(jb, "completed", 30);
	wait_state(jf, "completed", 30);
	cr_assert_str_eq(job_row(jb), "completed|1|-|-");
	cr_assert_str_eq(job_row(jf), "completed|1|-|-");
	cr_assert_str_eq(emb_row(rb), "text-embedding-3-small|768|768|" BOOK_SHA);

	req = ai_one(PREFIX BOOK);
	cr_assert_str_eq(jstr(req, "mode"), "ok");
	b = jbody(req);
	cr_assert_str_eq(jstr(b, "encoding_format"), "base64");
	cr_assert(json_object_object_get_ex(b, "dimensions", &v) &&
	    json_object_get_int(v) == 768, "body: %s", jstr(req, "body"));
	cr_assert_str_eq(jstr(b, "model"), "text-embedding-3-small");
	json_object_put(b);
	emb_is(rb, req);
	emb_is(rf, ai_one(PREFIX "{{fakeai:float}}" BOOK));
	cr_assert_str_eq(q("SELECT a.embedding = b.embedding FROM embeddings a, embeddings b"
	    " WHERE a.feedback_record_id = '%s' AND b.feedback_record_id = '%s'", rb, rf), "t");
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, a_wrong_dimension_cancels)
{
	char	*rf, *rb;
	long	 jf, jb;

	ai_daemon(EMODEL, "", "");
	rf = record("{{fakeai:dim767}} short vector");
	rb = record("{{fakeai:dim767-b64}} short base64 vector");
	jf = embed_job(rf);
	jb = embed_job(rb);
	wait_state(jf, "cancelled", 30);
	wait_state(jb, "cancelled", 30);
	cr_assert_str_eq(job_row(jf), "cancelled|1|bad_response|JobCancelError: embedding "
	    "server: 767 dimensions, 768 expected: a dimension mismatch (check model and "
	    "dimensions)");
	cr_assert_str_eq(job_row(jb), "cancelled|1|bad_response|JobCancelError: embedding "
	    "server: the base64 vector is not 768 float32 values: a dimension mismatch");
	cr_assert_str_eq(emb_row(rf), "none");
	cr_assert_str_eq(emb_row(rb), "none");
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, values_that_are_not_finite_numbers_retry)
{
	static const struct { const char *mode, *error; } cases[] = {
		{ "nan", "embedding server: the vector has a value that is not finite" },
		{ "overflow", "embedding server: the vector has a value that is not finite" },
		{ "nan-b64", "embedding server: the vector has a value that is not finite" },
		{ "null", "embedding server: the vector has a value that is not a number" },
		{ "notjson", "model server: the reply is not a JSON object" },
	};
	char	*rid[5];
	long	 job[5];
	size_t	 i;

	ai_daemon(EMODEL, "", "");
	for (i = 0; i < 5; i++) {
		rid[i] = record(fmt("{{fakeai:%s}} record %zu", cases[i].mode, i));
		job[i] = embed_job(rid[i]);
	}
	for (i = 0; i < 5; i++) {
		wait_retry(job[i], 30);
		cr_assert_str_eq(job_row(job[i]), fmt("retryable|1|bad_response|%s",
		    cases[i].error), "%s", cases[i].mode);
		cr_assert_str_eq(emb_row(rid[i]), "none", "%s", cases[i].mode);
	}
	ai_all_authorized(5);
	key_nowhere();
}

Test(openai, the_vector_count_and_index_must_match_the_input)
{
	char	*r2, *ri;
	long	 j2, ji;

	ai_daemon(EMODEL, "", "");
	/* Two vectors (index 1, then 0) for one input; one vector of index 1. */
	r2 = record("{{fakeai:two}} one input");
	ri = record("{{fakeai:index1}} one input");
	j2 = embed_job(r2);
	ji = embed_job(ri);
	wait_retry(j2, 30);
	wait_retry(ji, 30);
	cr_assert_str_eq(job_row(j2), "retryable|1|bad_response|embedding server: 2 vectors "
	    "for 1 input");
	cr_assert_str_eq(job_row(ji), "retryable|1|bad_response|embedding server: the vector's "
	    "index is not 0, the only input's");
	cr_assert_str_eq(emb_row(r2), "none");
	cr_assert_str_eq(emb_row(ri), "none");
	ai_all_authorized(2);
	key_nowhere();
}

/* ----- HTTP failures ----- */

Test(openai, a_401_cancels_and_an_echoed_key_is_redacted)
{
	char	*r1, *re;
	long	 j1, je;

	ai_daemon(EMODEL, "", "");
	r1 = record("{{fakeai:401}} bad key");
	re = record("{{fakeai:401-echo}} bad key, echoed");
	j1 = embed_job(r1);
	je = embed_job(re);
	wait_state(j1, "cancelled", 30);
	wait_state(je, "cancelled", 30);
	cr_assert_str_eq(job_row(j1), "cancelled|1|http_4xx|JobCancelError: model server: "
	    "HTTP 401: invalid_api_key");
	/* The server put the bearer token in its error code. */
	cr_assert_str_eq(job_row(je), "cancelled|1|http_4xx|JobCancelError: model server: "
	    "HTTP 401: invalid_api_key Bearer [REDACTED]");
	cr_assert(contains(q("SELECT errors[1]->>'trace' FROM river_job WHERE id = %ld", je),
	    "[REDACTED]"));
	cr_assert_str_eq(emb_row(r1), "none");
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, a_429_retries_after_retry_after_clamped_to_the_policy)
{
	static const struct { const char *mode; double delay; } cases[] = {
		{ "429 ra=30", 30 },		/* Retry-After */
		{ "429 ms=20000", 20 },		/* retry-after-ms */
		{ "429 ms=2500 ra=40", 10 },	/* ms first; 2.5 s is under the 10 s floor */
		{ "429 ra=3600", 60 },		/* over the 1 m ceiling */
	};
	char		*rid[4], *text[4], *v;
	long		 job[4];
	size_t		 i;
	json_object	*req, *rms;

	ai_daemon(EMODEL, "", "");
	for (i = 0; i < 4; i++) {
		text[i] = fmt("{{fakeai:%s}} rate limited %zu", cases[i].mode, i);
		rid[i] = record(text[i]);
		job[i] = embed_job(rid[i]);
	}
	for (i = 0; i < 4; i++) {
		wait_retry(job[i], 30);
		cr_assert_str_eq(job_row(job[i]), "retryable|1|http_429|model server: HTTP 429: "
		    "rate_limit_exceeded", "%s", cases[i].mode);
		/*
		 * Due retry_after after the finish: after the server answered,
		 * within a few seconds of it (the worker's exit and the finish).
		 */
		req = ai_one(fmt(PREFIX "%s", text[i]));
		cr_assert(json_object_object_get_ex(req, "received_ms", &rms));
		v = q("SELECT extract(epoch FROM scheduled_at) - %.3f FROM river_job WHERE id = %ld",
		    json_object_get_int64(rms) / 1000.0, job[i]);
		cr_assert(atof(v) >= cases[i].delay - 0.2 && atof(v) <= cases[i].delay + 4,
		    "%s: due %s s after the request, %.0f s wanted", cases[i].mode, v,
		    cases[i].delay);
		cr_assert_str_eq(emb_row(rid[i]), "none");
	}
	ai_all_authorized(4);
	key_nowhere();
}

Test(openai, insufficient_quota_cancels)
{
	char	*rid;
	long	 j;

	ai_daemon(EMODEL, "", "");
	rid = record("{{fakeai:quota}} no money left");
	j = embed_job(rid);
	wait_state(j, "cancelled", 30);
	cr_assert_str_eq(job_row(j), "cancelled|1|quota|JobCancelError: model server: HTTP 429: "
	    "insufficient_quota");
	cr_assert_str_eq(emb_row(rid), "none");
	ai_all_authorized(1);
	key_nowhere();
}

Test(openai, a_500_retries_and_the_retry_stores_the_vector)
{
	char	*rid;
	long	 j;

	ai_daemon(EMODEL, "", "");
	/* The first request gets a 500, the next ones the default answer. */
	ai_control("{\"queue\": [\"500\"]}");
	rid = record(BOOK);
	j = embed_job(rid);
	wait_retry(j, 30);
	cr_assert_str_eq(job_row(j), "retryable|1|http_5xx|model server: HTTP 500");
	cr_assert_str_eq(q("SELECT extract(epoch FROM scheduled_at - now()) > 3 FROM river_job"
	    " WHERE id = %ld", j), "t");
	cr_assert_str_eq(emb_row(rid), "none");

	wait_state(j, "completed", 40);
	/* The first attempt's error stays; the class is the last attempt's. */
	cr_assert_str_eq(job_row(j), "completed|2|-|model server: HTTP 500");
	cr_assert_str_eq(emb_row(rid), EMODEL "|768|768|" BOOK_SHA);
	{
		json_object *a = ai_for(PREFIX BOOK);

		cr_assert_eq(json_object_array_length(a), 2);
		cr_assert_str_eq(jstr(json_object_array_get_idx(a, 0), "mode"), "500");
		cr_assert_str_eq(jstr(json_object_array_get_idx(a, 1), "mode"), "ok");
		emb_is(rid, json_object_array_get_idx(a, 1));
	}
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, x_should_retry_overrides_the_status)
{
	char	*r4, *r5;
	long	 j4, j5;

	ai_daemon(EMODEL, "", "");
	r4 = record("{{fakeai:400 xsr=true}} retry me");
	r5 = record("{{fakeai:500 xsr=false}} do not retry me");
	j4 = embed_job(r4);
	j5 = embed_job(r5);
	wait_retry(j4, 30);
	wait_state(j5, "cancelled", 30);
	cr_assert_str_eq(job_row(j4), "retryable|1|http_4xx|model server: HTTP 400: bad_request");
	cr_assert_str_eq(job_row(j5), "cancelled|1|http_5xx|JobCancelError: model server: "
	    "HTTP 500");
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, a_hanging_server_times_out)
{
	char		*rid;
	long		 j;
	json_object	*req;

	ai_daemon(EMODEL, "", "");
	rid = record("{{fakeai:hang}} nobody answers");
	j = embed_job(rid);
	wait_retry(j, 30);
	cr_assert_str_eq(job_row(j), "retryable|1|network|timeout after 2000 ms");
	cr_assert_str_eq(q("SELECT (metadata->'hivejob'->>'wall_ms')::int BETWEEN 1900 AND 10000"
	    " FROM river_job WHERE id = %ld", j), "t", "%s",
	    q("SELECT metadata FROM river_job WHERE id = %ld", j));
	req = ai_one(PREFIX "{{fakeai:hang}} nobody answers");
	cr_assert_str_eq(jstr(req, "mode"), "hang");
	cr_assert_str_eq(emb_row(rid), "none");
	ai_all_authorized(1);
	key_nowhere();
}

/* ----- the record and its embedding ----- */

Test(openai, unchanged_text_is_not_embedded_again)
{
	char	*rid, *before, *line;
	long	 j1, j2, j3;

	ai_daemon(EMODEL, "", "");
	rid = record(BOOK);
	j1 = embed_job(rid);
	wait_state(j1, "completed", 30);
	cr_assert_eq(ai_count(), 1);
	before = q("SELECT updated_at FROM embeddings WHERE feedback_record_id = '%s'", rid);

	/* The same text: load completes the job, no request is made. */
	j2 = embed_job(rid);
	wait_state(j2, "completed", 30);
	cr_assert_str_eq(job_row(j2), "completed|1|-|-");
	line = fmt("job=%ld kind=feedback_embedding attempt=1 outcome=complete: completed by "
	    "load: the stored embedding is current", j2);
	cr_assert(th_daemon_log_wait(&d, line, 5), "no '%s' in\n%s", line, log_tail());
	usleep(300000);
	cr_assert_eq(ai_count(), 1, "the unchanged text was sent again: %s",
	    json_object_to_json_string(ai_reqs()));
	cr_assert_str_eq(q("SELECT updated_at FROM embeddings WHERE feedback_record_id = '%s'",
	    rid), before);
	cr_assert_str_eq(emb_row(rid), EMODEL "|768|768|" BOOK_SHA);

	/* A new text is embedded again, over the old row. */
	th_sql_ok("UPDATE feedback_records SET text = '%s', updated_at = now() WHERE id = '%s'",
	    UTF8, rid);
	j3 = embed_job(rid);
	wait_state(j3, "completed", 30);
	cr_assert_str_eq(job_row(j3), "completed|1|-|-");
	cr_assert_eq(ai_count(), 2);
	cr_assert_str_eq(emb_row(rid), EMODEL "|768|768|" UTF8_SHA);
	emb_is(rid, ai_one(PREFIX UTF8));
	cr_assert_str_eq(q("SELECT count(*) FROM embeddings"), "1");
	cr_assert_str_eq(q("SELECT updated_at > '%s' FROM embeddings WHERE feedback_record_id"
	    " = '%s'", before, rid), "t");
	ai_all_authorized(2);
	key_nowhere();
}

Test(openai, a_record_deleted_before_its_job_runs_cancels_it)
{
	char	*gone, *empty, *blank, *ws, *sgone;
	long	 jg, je, jb, jw, jbad, js;

	gone = record(BOOK);
	empty = record("");
	blank = record("     ");
	ws = record("  \n\t  \r\n ");
	sgone = record(BOOK);
	jg = embed_job(gone);
	js = sentiment_job(sgone);
	th_sql_ok("DELETE FROM feedback_records WHERE id IN ('%s', '%s')", gone, sgone);
	je = embed_job(empty);
	jb = embed_job(blank);
	jw = sentiment_job(ws);
	jbad = qlong("INSERT INTO river_job (kind, args) VALUES ('feedback_embedding',"
	    " '{\"feedback_record_id\": \"not-a-uuid\"}') RETURNING id");
	ai_daemon(EMODEL, "", "");

	wait_state(jg, "cancelled", 30);
	wait_state(js, "cancelled", 30);
	wait_state(je, "cancelled", 30);
	wait_state(jb, "cancelled", 30);
	wait_state(jw, "cancelled", 30);
	wait_state(jbad, "cancelled", 30);
	cr_assert_str_eq(job_row(jg), fmt("cancelled|1|load|cancelled by load: feedback record "
	    "%s does not exist", gone));
	cr_assert_str_eq(job_row(js), fmt("cancelled|1|load|cancelled by load: feedback record "
	    "%s does not exist", sgone));
	cr_assert_str_eq(job_row(je), fmt("cancelled|1|load|cancelled by load: feedback record "
	    "%s has no text", empty));
	cr_assert_str_eq(job_row(jb), fmt("cancelled|1|load|cancelled by load: feedback record "
	    "%s has no text", blank));
	cr_assert_str_eq(job_row(jw), fmt("cancelled|1|load|cancelled by load: feedback record "
	    "%s has no text", ws));
	cr_assert(contains(job_row(jbad), "cancelled|1|bad_args|args rejected by load: "
	    "args.feedback_record_id must be a uuid"), "%s", job_row(jbad));
	cr_assert_str_eq(q("SELECT count(*) FROM embeddings"), "0");
	cr_assert_str_eq(meta(ws), "{\"source\": \"email\"}");
	usleep(300000);
	cr_assert_eq(ai_count(), 0, "requests: %s", json_object_to_json_string(ai_reqs()));
	key_nowhere();
}

Test(openai, a_record_edited_or_deleted_while_its_job_runs_keeps_no_stale_result)
{
	const char	*t_new = "{{fakeai:delay ms=3000}} first text",
			*t_old = "second text, embedded before",
			*t_mid = "{{fakeai:delay ms=3000}} second text, edited",
			*t_del = "{{fakeai:delay ms=3000}} third text, deleted",
			*t_chat = "{{fakeai:delay ms=3000}} fourth text, edited under sentiment";
	char		*rn, *ro, *rd, *rc, *emb_before, *upd_before;
	long		 jn, jo, jo2, jd, jc;

	/* The server holds each reply 3 s, within the kinds' timeout. */
	http_timeout = "10s";
	ai_daemon(EMODEL, "", "");
	/* ro has an embedding of its old text. */
	ro = record(t_old);
	jo = embed_job(ro);
	wait_state(jo, "completed", 30);
	emb_before = q("SELECT embedding FROM embeddings WHERE feedback_record_id = '%s'", ro);
	upd_before = q("SELECT updated_at FROM embeddings WHERE feedback_record_id = '%s'", ro);
	th_sql_ok("UPDATE feedback_records SET text = '%s' WHERE id = '%s'", t_mid, ro);

	rn = record(t_new);
	rd = record(t_del);
	rc = record(t_chat);
	jn = embed_job(rn);
	jo2 = embed_job(ro);
	jd = embed_job(rd);
	jc = sentiment_job(rc);
	/* Change the records while the server holds the replies. */
	wait_request(fmt(PREFIX "%s", t_new), 20);
	wait_request(fmt(PREFIX "%s", t_mid), 20);
	wait_request(fmt(PREFIX "%s", t_del), 20);
	wait_request(t_chat, 20);
	th_sql_ok("UPDATE feedback_records SET text = 'first text, newer' WHERE id = '%s'", rn);
	th_sql_ok("UPDATE feedback_records SET text = 'second text, newest' WHERE id = '%s'", ro);
	th_sql_ok("DELETE FROM feedback_records WHERE id = '%s'", rd);
	th_sql_ok("UPDATE feedback_records SET text = 'fourth text, newer' WHERE id = '%s'", rc);
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE id IN (%ld, %ld, %ld, %ld)"
	    " AND state = 'running'", jn, jo2, jd, jc), "4",
	    "the jobs ended before the records changed: the test proves nothing: %s",
	    q("SELECT string_agg(concat_ws('|', id, state, attempt), ' / ') FROM river_job"));

	wait_state(jn, "cancelled", 30);
	wait_state(jo2, "cancelled", 30);
	wait_state(jd, "cancelled", 30);
	wait_state(jc, "cancelled", 30);
	cr_assert_str_eq(job_row(jn), fmt("cancelled|1|-|feedback record %s was edited while "
	    "the job ran; the result for the old text was not stored", rn));
	cr_assert_str_eq(job_row(jo2), fmt("cancelled|1|-|feedback record %s was edited while "
	    "the job ran; the result for the old text was not stored", ro));
	cr_assert_str_eq(job_row(jd), fmt("cancelled|1|-|feedback record %s was deleted while "
	    "the job ran", rd));
	cr_assert_str_eq(job_row(jc), fmt("cancelled|1|-|feedback record %s was edited while "
	    "the job ran; the result for the old text was not stored", rc));
	/* No row for the new record, the old row as it was. */
	cr_assert_str_eq(emb_row(rn), "none");
	cr_assert_str_eq(emb_row(rd), "none");
	cr_assert_str_eq(q("SELECT embedding FROM embeddings WHERE feedback_record_id = '%s'", ro),
	    emb_before);
	cr_assert_str_eq(q("SELECT updated_at FROM embeddings WHERE feedback_record_id = '%s'", ro),
	    upd_before);
	cr_assert_str_eq(q("SELECT content_sha256 FROM embeddings WHERE feedback_record_id = '%s'",
	    ro), q("SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex')", lit(t_old)));
	cr_assert_str_eq(meta(rc), "{\"source\": \"email\"}");
	ai_all_authorized(5);
	key_nowhere();
}

/* ----- sentiment over the API ----- */

Test(openai, a_valid_chat_answer_is_stored_in_the_metadata)
{
	const char	*tp = "I love how fast the delivery was.",
			*tn = "{{fakeai:ok sentiment=negative confidence=0.8}} It broke.",
			*tz = "{{fakeai:ok sentiment=neutral confidence=0.65}} It is a box.";
	char		*rp, *rn, *rz;
	long		 jp, jn, jz;
	json_object	*req, *b, *v, *m, *rf, *js, *schema;

	ai_daemon(EMODEL, "", "");
	rp = record(tp);
	rn = record(tn);
	rz = record(tz);
	jp = sentiment_job(rp);
	jn = sentiment_job(rn);
	jz = sentiment_job(rz);
	wait_state(jp, "completed", 30);
	wait_state(jn, "completed", 30);
	wait_state(jz, "completed", 30);
	cr_assert_str_eq(job_row(jp), "completed|1|-|-");

	cr_assert_str_eq(q("SELECT concat_ws('|', metadata->>'source', metadata->>'sentiment',"
	    " metadata->>'sentiment_confidence', metadata->>'sentiment_score',"
	    " metadata->>'sentiment_model', (metadata->>'sentiment_analyzed_at')::timestamptz"
	    " BETWEEN now() - interval '1 minute' AND now()) FROM feedback_records WHERE id = '%s'",
	    rp), "email|positive|0.87|0.87|" CMODEL "|t", "%s", meta(rp));
	cr_assert_str_eq(q("SELECT concat_ws('|', metadata->>'sentiment',"
	    " metadata->>'sentiment_confidence', metadata->>'sentiment_score',"
	    " metadata->>'sentiment_model') FROM feedback_records WHERE id = '%s'", rn),
	    "negative|0.8|-0.8|" CMODEL, "%s", meta(rn));
	cr_assert_str_eq(q("SELECT concat_ws('|', metadata->>'sentiment',"
	    " metadata->>'sentiment_confidence', metadata->>'sentiment_score')"
	    " FROM feedback_records WHERE id = '%s'", rz), "neutral|0.65|0", "%s", meta(rz));
	cr_assert_str_eq(q("SELECT jsonb_typeof(metadata->'sentiment_confidence') || '|' ||"
	    " jsonb_typeof(metadata->'sentiment_score') FROM feedback_records WHERE id = '%s'",
	    rn), "number|number");

	/* The request: the text alone in the user turn, a JSON schema, temperature 0. */
	req = ai_one(tp);
	cr_assert_str_eq(jstr(req, "route"), "/v1/chat/completions");
	cr_assert_str_eq(jstr(req, "path"), "/v1/chat/completions", "base_url's '/' doubled");
	cr_assert(strncmp(jhdr(req, "user-agent"), "hivejob-sentiment/", 18) == 0);
	b = jbody(req);
	cr_assert_str_eq(jstr(b, "model"), CMODEL);
	cr_assert(json_object_object_get_ex(b, "temperature", &v) &&
	    json_object_get_double(v) == 0);
	cr_assert(json_object_object_get_ex(b, "messages", &m));
	cr_assert_eq(json_object_array_length(m), 2);
	cr_assert_str_eq(jstr(json_object_array_get_idx(m, 0), "role"), "system");
	cr_assert_str_eq(jstr(json_object_array_get_idx(m, 1), "role"), "user");
	cr_assert_str_eq(jstr(json_object_array_get_idx(m, 1), "content"), tp);
	cr_assert(json_object_object_get_ex(b, "response_format", &rf));
	cr_assert_str_eq(jstr(rf, "type"), "json_schema");
	cr_assert(json_object_object_get_ex(rf, "json_schema", &js));
	cr_assert(json_object_object_get_ex(js, "strict", &v) && json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(js, "schema", &schema));
	cr_assert(contains(json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN),
	    "\"enum\":[\"positive\",\"neutral\",\"negative\"]"), "%s",
	    json_object_to_json_string(schema));
	cr_assert(contains(json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN),
	    "\"required\":[\"sentiment\",\"confidence\"]"));
	json_object_put(b);
	ai_all_authorized(3);
	key_nowhere();
}

Test(openai, an_invalid_chat_answer_retries_and_leaves_the_metadata_alone)
{
	static const struct { const char *mode, *error; } cases[] = {
		{ "chat-enum", "model server: sentiment is not positive, neutral or negative" },
		{ "chat-conf", "model server: confidence is not a number from 0 to 1" },
		{ "chat-length", "model server: the answer was cut off (finish_reason length)" },
		{ "chat-nonjson", "model server: the answer is not a JSON object" },
		{ "500", "model server: HTTP 500" },
	};
	char	*rid[5];
	long	 job[5];
	size_t	 i;

	ai_daemon(EMODEL, "", "");
	for (i = 0; i < 5; i++) {
		rid[i] = record(fmt("{{fakeai:%s}} text %zu", cases[i].mode, i));
		job[i] = sentiment_job(rid[i]);
	}
	for (i = 0; i < 5; i++) {
		wait_retry(job[i], 30);
		cr_assert_str_eq(job_row(job[i]), fmt("retryable|1|%s|%s",
		    strcmp(cases[i].mode, "500") == 0 ? "http_5xx" : "bad_response",
		    cases[i].error), "%s", cases[i].mode);
		cr_assert_str_eq(meta(rid[i]), "{\"source\": \"email\"}", "%s", cases[i].mode);
		cr_assert_str_eq(q("SELECT updated_at = created_at FROM feedback_records"
		    " WHERE id = '%s'", rid[i]), "t");
	}
	ai_all_authorized(5);
	key_nowhere();
}

/* ----- the offline providers ----- */

Test(offline, hashing_is_deterministic_and_unit_length)
{
	char	*a, *b, *c, *u, *emb;
	long	 ja, jb, jc, ju, ja2;

	th_daemon_start(&d, "max_children = 8\n");
	a = record(BOOK);
	b = record(BOOK);
	c = record("The book was bad.");
	u = record(UTF8);
	ja = embed_job(a);
	jb = embed_job(b);
	jc = embed_job(c);
	ju = embed_job(u);
	wait_state(ja, "completed", 30);
	wait_state(jb, "completed", 30);
	wait_state(jc, "completed", 30);
	wait_state(ju, "completed", 30);
	cr_assert_str_eq(job_row(ja), "completed|1|-|-");
	cr_assert_str_eq(emb_row(a), HMODEL "|768|768|" BOOK_SHA);
	cr_assert_str_eq(emb_row(b), HMODEL "|768|768|" BOOK_SHA);
	cr_assert_str_eq(emb_row(u), HMODEL "|768|768|" UTF8_SHA);

	/* Same text, same vector; another text, another vector. */
	cr_assert_str_eq(q("SELECT x.embedding = y.embedding FROM embeddings x, embeddings y"
	    " WHERE x.feedback_record_id = '%s' AND y.feedback_record_id = '%s'", a, b), "t");
	cr_assert_str_eq(q("SELECT x.embedding <> y.embedding FROM embeddings x, embeddings y"
	    " WHERE x.feedback_record_id = '%s' AND y.feedback_record_id = '%s'", a, c), "t");
	/* Unit length, every one; and not all in one bucket. */
	cr_assert_str_eq(q("SELECT bool_and(abs(s - 1) < 1e-5 AND nz > 3) FROM (SELECT"
	    " (SELECT sum(x::float8 * x::float8) FROM unnest(embedding) x) s,"
	    " (SELECT count(*) FROM unnest(embedding) x WHERE x <> 0) nz FROM embeddings) t"),
	    "t", "%s", q("SELECT string_agg((SELECT sum(x::float8 * x::float8) FROM"
	    " unnest(embedding) x)::text, ',') FROM embeddings"));
	cr_assert_str_eq(q("SELECT count(*) FROM embeddings"), "4");

	/* The same record again: nothing changes; its text edited: a new vector. */
	emb = q("SELECT embedding FROM embeddings WHERE feedback_record_id = '%s'", a);
	ja2 = embed_job(a);
	wait_state(ja2, "completed", 30);
	cr_assert_str_eq(q("SELECT embedding FROM embeddings WHERE feedback_record_id = '%s'", a),
	    emb);
	cr_assert(th_daemon_log_wait(&d, fmt("job=%ld kind=feedback_embedding attempt=1 "
	    "outcome=complete: completed by load: the stored embedding is current", ja2), 5));
}

Test(offline, the_lexicon_labels_feedback)
{
	static const struct { const char *text, *label, *score; } cases[] = {
		/* protocols.md's VADER gold values */
		{ "The book was good.", "positive", "0.4404" },
		{ "VADER is not smart, handsome, nor funny.", "negative", "-0.7424" },
		{ "Still waiting after three weeks, no refund", "negative", NULL },
		{ "The package arrived on Tuesday.", "neutral", NULL },
	};
	char	*rid[4], *m;
	long	 job[4];
	size_t	 i;

	th_daemon_start(&d, "max_children = 8\n");
	for (i = 0; i < 4; i++) {
		rid[i] = record(cases[i].text);
		job[i] = sentiment_job(rid[i]);
	}
	for (i = 0; i < 4; i++) {
		wait_state(job[i], "completed", 30);
		cr_assert_str_eq(job_row(job[i]), "completed|1|-|-");
		m = meta(rid[i]);
		cr_assert_str_eq(q("SELECT concat_ws('|', metadata->>'source', metadata->>'sentiment',"
		    " metadata->>'sentiment_model', (metadata->>'sentiment_analyzed_at')::timestamptz"
		    " BETWEEN now() - interval '1 minute' AND now()) FROM feedback_records"
		    " WHERE id = '%s'", rid[i]), fmt("email|%s|" VMODEL "|t", cases[i].label),
		    "%s: %s", cases[i].text, m);
		cr_assert_str_eq(q("SELECT (metadata->>'sentiment_confidence')::float8 BETWEEN 0 AND 1"
		    " AND (metadata->>'sentiment_score')::float8 BETWEEN -1 AND 1"
		    " AND jsonb_typeof(metadata->'sentiment_score') = 'number'"
		    " FROM feedback_records WHERE id = '%s'", rid[i]), "t", "%s", m);
		/* The label follows the score: VADER's thresholds. */
		cr_assert_str_eq(q("SELECT CASE WHEN s >= 0.05 THEN 'positive' WHEN s <= -0.05"
		    " THEN 'negative' ELSE 'neutral' END FROM (SELECT (metadata->>'sentiment_score')"
		    "::float8 s FROM feedback_records WHERE id = '%s') t", rid[i]), cases[i].label,
		    "%s", m);
		if (cases[i].score)
			cr_assert_str_eq(q("SELECT metadata->>'sentiment_score' FROM feedback_records"
			    " WHERE id = '%s'", rid[i]), cases[i].score, "%s", m);
	}
	/* A neutral text at 0 is as certain as neutral gets. */
	cr_assert_str_eq(q("SELECT concat_ws('|', metadata->>'sentiment_score',"
	    " metadata->>'sentiment_confidence') FROM feedback_records WHERE id = '%s'", rid[3]),
	    "0|1");
}

/* ----- a thousand records ----- */

Test(bulk, a_thousand_records_are_embedded_and_labelled)
{
	int ok;

	th_daemon_start(&d, "max_children = 8\n");
	th_sql_ok("INSERT INTO feedback_records (text) SELECT format('Order %%s: the delivery"
	    " was %%s and the support was %%s.', i, (ARRAY['fast', 'slow', 'late', 'great',"
	    " 'terrible'])[1 + i %% 5], (ARRAY['helpful', 'rude', 'fine', 'awful'])[1 + i %% 4])"
	    " FROM generate_series(1, 1000) i");
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT k, jsonb_build_object("
	    "'feedback_record_id', r.id) FROM feedback_records r,"
	    " unnest(ARRAY['feedback_embedding', 'sentiment_analysis']) k");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), "2000");

	ok = th_wait_sql("2000", 120, "SELECT count(*) FROM river_job WHERE state = 'completed'");
	cr_assert(ok, "not all jobs completed within 120 s: %s\n%s",
	    q("SELECT string_agg(concat(kind, ' ', state, ' ', n), ', ') FROM (SELECT kind,"
	    " state, count(*) n FROM river_job GROUP BY 1, 2) t"), log_tail());
	cr_assert_str_eq(q("SELECT count(*) FILTER (WHERE attempt <> 1 OR errors IS NOT NULL)"
	    " FROM river_job"), "0");
	cr_assert_str_eq(q("SELECT count(*) FROM embeddings"), "1000");
	cr_assert_str_eq(q("SELECT count(*) FROM embeddings e JOIN feedback_records r"
	    " ON r.id = e.feedback_record_id WHERE e.model = '" HMODEL "' AND e.dimensions = 768"
	    " AND cardinality(e.embedding) = 768"
	    " AND e.content_sha256 = encode(sha256(convert_to(r.text, 'UTF8')), 'hex')"), "1000");
	cr_assert_str_eq(q("SELECT count(*) FROM feedback_records WHERE metadata->>'sentiment'"
	    " IN ('positive', 'neutral', 'negative') AND metadata ? 'sentiment_confidence'"
	    " AND metadata ? 'sentiment_score' AND metadata->>'sentiment_model' = '" VMODEL "'"
	    " AND metadata ? 'sentiment_analyzed_at'"), "1000");
	/* The texts differ in tone: both labels occur. */
	cr_assert_str_eq(q("SELECT count(DISTINCT metadata->>'sentiment') >= 2 FROM"
	    " feedback_records"), "t");
}
