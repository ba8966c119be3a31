/*
 * webhook_dispatch end to end: hivejobd runs hivejob-webhook against a
 * receiver in Node (tests/receiver/receiver.js) that verifies every request
 * with the npm package standardwebhooks, an implementation that is not ours.
 * Each case checks the job (state, class, error), what the receiver saw and
 * verified, the endpoint's health columns and the delivery log.
 *
 * The receiver's npm dependencies are installed under build/receiver by
 * make from the committed lockfile; node and npm by scripts/deps. Only
 * loopback addresses are used: 127.0.0.1 is allowed by the kind's
 * allow_cidrs, the rest of 127/8 and ::1 stay blocked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "th.h"

#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"	/* protocols.md's */
#define SECRET2	"whsec_Xyavsz8OeKATMCyuZJ8c6PvJM+vAnrVT1OWhxhfkCx0="
#define SECRET3	"whsec_DjzVHCXgGrNH1q/E1SHXZhXyGhs4Z0g8kh5HMgxBp4g="

static struct th_daemon	 d;
static struct th_server	 rcv = { 0, 0, -1 };	/* the receiver */
static char		 rcv_dir[64];
static char		 rcv_log[128];
static int		 trap_fd[2] = { -1, -1 };	/* listeners that must stay silent */

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

static void
rm_rf(const char *dir)
{
	char *cmd;

	if (dir[0] == '\0')
		return;
	cmd = fmt("rm -rf '%s'", dir);
	(void)system(cmd);
	free(cmd);
}

/* The receiver lives next to build/bin: build/receiver/receiver.js. */
static const char *
receiver_dir(void)
{
	static char	 path[4096];
	const char	*bin = getenv("HIVEJOB_BIN");

	snprintf(path, sizeof(path), "%s/../receiver", bin ? bin : "build/bin");
	return path;
}

static const char *
receiver_js(void)
{
	static char	 path[4200];

	snprintf(path, sizeof(path), "%s/receiver.js", receiver_dir());
	return path;
}

/*
 * Start the receiver: mode is its default answer; secrets must all verify
 * every request, probes are verified and recorded only. NULL-terminated.
 */
static void
rcv_start(const char *mode, const char *const *secrets, const char *const *probes)
{
	const char	*argv[32];
	char		*errpath;
	int		 n = 0, i;

	argv[n++] = "node";
	argv[n++] = receiver_js();
	argv[n++] = "--log";
	argv[n++] = rcv_log;
	argv[n++] = "--mode";
	argv[n++] = mode;
	for (i = 0; secrets && secrets[i]; i++) {
		argv[n++] = "--secret";
		argv[n++] = secrets[i];
	}
	for (i = 0; probes && probes[i]; i++) {
		argv[n++] = "--probe";
		argv[n++] = probes[i];
	}
	argv[n] = NULL;

	errpath = fmt("%s/receiver.err", rcv_dir);
	th_server_start(&rcv, argv, errpath);
	free(errpath);
}

static void
rcv_stop(void)
{
	th_server_stop(&rcv);
}

/* POST a JSON object to the receiver's control endpoint. */
static void
rcv_control(const char *json)
{
	th_server_control(&rcv, json);
}

/* Every request the receiver recorded, oldest first (a new array). */
static json_object *
rcv_reqs(void)
{
	return th_jsonl(rcv_log);
}

static int
rcv_count(void)
{
	json_object	*a = rcv_reqs();
	int		 n = (int)json_object_array_length(a);

	json_object_put(a);
	return n;
}

/* The requests whose webhook-id is event_id (a new array). */
static json_object *
rcv_event(const char *event_id)
{
	json_object	*a = rcv_reqs(), *out = json_object_new_array(), *r, *h, *v;
	size_t		 i;

	for (i = 0; i < json_object_array_length(a); i++) {
		r = json_object_array_get_idx(a, i);
		if (json_object_object_get_ex(r, "headers", &h) &&
		    json_object_object_get_ex(h, "webhook-id", &v) &&
		    strcmp(json_object_get_string(v), event_id) == 0)
			json_object_array_add(out, json_object_get(r));
	}
	json_object_put(a);
	return out;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
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

/* The receiver's list of per-secret results, as text: "[ 0, 1 ]". */
static const char *
jlist(json_object *r, const char *key)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(r, key, &v), "no %s", key);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/*
 * A request as Standard Webhooks wants it: POST, JSON, webhook-id the
 * event's id, a webhook-timestamp of this attempt (within 5 s of when it
 * arrived), nsigs v1 signatures, and every configured secret verified by
 * standardwebhooks. Returns the timestamp.
 */
static long
check_signed(json_object *r, const char *event_id, int nsigs)
{
	json_object	*v;
	const char	*ts = jhdr(r, "webhook-timestamp");
	long		 t, recv_s;

	cr_assert_str_eq(jstr(r, "method"), "POST");
	cr_assert_str_eq(jhdr(r, "content-type"), "application/json");
	cr_assert_str_eq(jhdr(r, "webhook-id"), event_id);
	cr_assert(json_object_object_get_ex(r, "verified", &v));
	cr_assert(json_object_get_boolean(v), "standardwebhooks did not verify: %s",
	    json_object_to_json_string(r));
	cr_assert(json_object_object_get_ex(r, "signatures", &v));
	cr_assert_eq(json_object_get_int(v), nsigs, "signatures: %s",
	    jhdr(r, "webhook-signature"));
	cr_assert_not_null(ts);
	t = atol(ts);
	cr_assert(json_object_object_get_ex(r, "received_ms", &v));
	recv_s = (long)(json_object_get_int64(v) / 1000);
	cr_assert(t <= recv_s + 1 && t >= recv_s - 5, "webhook-timestamp %ld is not "
	    "this attempt's (received at %ld)", t, recv_s);
	cr_assert(strncmp(jhdr(r, "user-agent"), "hivejob-webhook/", 16) == 0);
	return t;
}

/* Every request the receiver got was verified by standardwebhooks; n of them. */
static void
rcv_all_verified(int n)
{
	json_object	*a = rcv_reqs(), *v;
	size_t		 i;

	cr_assert_eq(json_object_array_length(a), (size_t)n, "requests: %s",
	    json_object_to_json_string(a));
	for (i = 0; i < json_object_array_length(a); i++) {
		cr_assert(json_object_object_get_ex(json_object_array_get_idx(a, i),
		    "verified", &v) && json_object_get_boolean(v), "not verified: %s",
		    json_object_to_json_string(json_object_array_get_idx(a, i)));
	}
	json_object_put(a);
}

/* The body is exactly {"type", "timestamp", "data"} from the job's row. */
static void
check_body(json_object *r, long job, const char *ts_expr)
{
	const char	*body = jstr(r, "body");
	char		*l = lit(body);

	cr_assert(strncmp(body, "{\"type\":\"", 9) == 0, "body: %s", body);
	cr_assert_str_eq(q("SELECT %s::jsonb = jsonb_build_object('type', args->'event_type',"
	    " 'timestamp', %s, 'data', args->'payload') FROM river_job WHERE id = %ld",
	    l, ts_expr, job), "t", "body %s, job %s", body,
	    q("SELECT args FROM river_job WHERE id = %ld", job));
	free(l);
}

/* The daemon with the test settings; retry is a schedule's durations. */
static void
daemon_up(const char *retry)
{
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.webhook_dispatch]\n"
	    "allow_cidrs = 127.0.0.1/32\n"
	    "https_only = false\n"
	    "http_timeout = 2s\n"
	    "give_up_after = 5d\n"
	    "max_response = 1K\n"
	    "retry = schedule %s\n", retry);
}

/* A webhook endpoint at the receiver's path; its id. */
static char *
hook(const char *path, const char *secret)
{
	return q("INSERT INTO webhooks (url, secret) VALUES ('http://127.0.0.1:%d%s', '%s')"
	    " RETURNING id", rcv.port, path, secret);
}

static char *
hook_url(const char *url)
{
	char *l = lit(url), *id;

	id = q("INSERT INTO webhooks (url, secret) VALUES (%s, '%s') RETURNING id", l, SECRET);
	free(l);
	return id;
}

/* The TypeScript core's job: a plain INSERT. occurred may be NULL. */
static long
enqueue(const char *wid, const char *event_id, const char *payload,
    const char *occurred, int max_attempts)
{
	char	*p = lit(payload), *o = occurred ? fmt(", 'occurred_at', '%s'", occurred) :
	    strdup("");
	long	 id;

	id = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('webhook_dispatch',"
	    " jsonb_build_object('webhook_id', '%s', 'event_id', '%s', 'event_type',"
	    " 'feedback.created', 'payload', %s::jsonb%s), %d) RETURNING id",
	    wid, event_id, p, o, max_attempts);
	free(p);
	free(o);
	return id;
}

static long
enqueue_raw(const char *args, int max_attempts)
{
	char	*a = lit(args);
	long	 id;

	id = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES"
	    " ('webhook_dispatch', %s::jsonb, %d) RETURNING id", a, max_attempts);
	free(a);
	return id;
}

/* A job of wid that waits an hour: one of the endpoint's pending deliveries. */
static long
pending(const char *wid, const char *event_id, const char *state)
{
	return qlong("INSERT INTO river_job (kind, args, max_attempts, state, scheduled_at)"
	    " VALUES ('webhook_dispatch', jsonb_build_object('webhook_id', '%s', 'event_id',"
	    " '%s', 'event_type', 'feedback.created', 'payload', '{}'::jsonb), 25, '%s',"
	    " now() + interval '1 hour') RETURNING id", wid, event_id, state);
}

static char *
job_row(long id)
{
	return q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[array_length(errors, 1)]->>'error') FROM river_job WHERE id = %ld", id);
}

/* The job has left available and running, with n errors at least. */
static void
wait_settled(long id, int nerrors, int seconds)
{
	cr_assert(th_wait_sql("t", seconds, "SELECT state NOT IN ('available', 'running')"
	    " OR (state = 'available' AND coalesce(array_length(errors, 1), 0) >= %d"
	    " AND scheduled_at > now()) FROM river_job WHERE id = %ld", nerrors, id),
	    "job %ld: %s\n%s", id, job_row(id), th_daemon_log(&d));
}

static void
wait_state(long id, const char *state, int seconds)
{
	cr_assert(th_wait_sql(state, seconds, "SELECT state FROM river_job WHERE id = %ld", id),
	    "job %ld is not %s: %s\n%s", id, state, job_row(id), th_daemon_log(&d));
}

/* The endpoint's health, one line. */
static char *
health(const char *wid)
{
	return q("SELECT concat_ws('|', enabled::text, coalesce(last_status::text, '-'),"
	    " coalesce(last_error, '-'), consecutive_failures,"
	    " CASE WHEN last_attempt_at IS NULL THEN '-' ELSE 'attempt' END,"
	    " CASE WHEN last_success_at IS NULL THEN '-' ELSE 'success' END,"
	    " CASE WHEN first_failure_at IS NULL THEN '-' ELSE 'failing' END,"
	    " CASE WHEN disabled_at IS NULL THEN '-' ELSE 'disabled' END,"
	    " coalesce(disabled_reason, '-')) FROM webhooks WHERE id = '%s'", wid);
}

#define UNTOUCHED	"true|-|-|0|-|-|-|-|-"

/* The endpoint's delivery log: "attempt:status:class:error" per row. */
static char *
deliveries(const char *wid)
{
	return q("SELECT coalesce(string_agg(concat_ws(':', attempt, status,"
	    " coalesce(class, '-'), coalesce(error, '-')), ' / ' ORDER BY id), '')"
	    " FROM webhook_deliveries WHERE webhook_id = '%s'", wid);
}

static int
contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ----- fixture ----- */

static void
setup(void)
{
	char		*out = NULL, *err = NULL;
	const char	*argv[] = { "/bin/sh", "-c", "command -v node && command -v npm", NULL };
	char		*mod;

	cr_assert_eq(th_run(&out, &err, argv), 0, "node and npm are needed for the "
	    "webhook receiver: run scripts/deps test as root");
	mod = fmt("%s/node_modules/standardwebhooks/package.json", receiver_dir());
	cr_assert_eq(access(mod, R_OK), 0, "%s is missing: make build/tests/"
	    "integ_test_webhook installs the receiver's dependencies", mod);
	free(mod);
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	snprintf(rcv_dir, sizeof(rcv_dir), "/tmp/hivejob-rcv.XXXXXX");
	cr_assert_not_null(mkdtemp(rcv_dir));
	snprintf(rcv_log, sizeof(rcv_log), "%s/requests.jsonl", rcv_dir);
}

static void
teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
	rcv_stop();
	if (trap_fd[0] != -1)
		close(trap_fd[0]);
	if (trap_fd[1] != -1)
		close(trap_fd[1]);
	rm_rf(rcv_dir);
}

TestSuite(webhook, .init = setup, .fini = teardown, .timeout = 90);

static const char *const one_secret[] = { SECRET, NULL };

/* ----- success ----- */

Test(webhook, delivers_a_signed_body_and_records_success)
{
	const char	*payload = "{\"feedback_id\": 42, \"text\": \"Très bien / \\\"quoted\\\" \\u2603\","
	    " \"score\": 4.25, \"big\": 9007199254740993, \"tags\": [\"a\", {\"b\": null}],"
	    " \"ok\": true}";
	char		*wid;
	long		 j1, j2;
	json_object	*r;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/hooks/in", SECRET);
	j1 = enqueue(wid, "evt_with_time", payload, "2024-05-01T12:34:56.789Z", 25);
	j2 = enqueue(wid, "evt_without_time", "{}", NULL, 25);
	wait_state(j1, "completed", 30);
	wait_state(j2, "completed", 30);
	cr_assert_str_eq(q("SELECT concat_ws('|', attempt, errors IS NULL, finalized_at IS NOT NULL)"
	    " FROM river_job WHERE id IN (%ld, %ld) GROUP BY 1", j1, j2), "1|t|t");

	rcv_all_verified(2);
	r = rcv_event("evt_with_time");
	cr_assert_eq(json_object_array_length(r), 1);
	check_signed(json_object_array_get_idx(r, 0), "evt_with_time", 1);
	check_body(json_object_array_get_idx(r, 0), j1, "args->'occurred_at'");
	cr_assert_str_eq(jstr(json_object_array_get_idx(r, 0), "path"), "/hooks/in");
	/* The timestamp is the args' text as given, not reformatted. */
	cr_assert(contains(jstr(json_object_array_get_idx(r, 0), "body"),
	    "\"timestamp\":\"2024-05-01T12:34:56.789Z\""));
	json_object_put(r);

	/* Without occurred_at: the job's created_at. */
	r = rcv_event("evt_without_time");
	cr_assert_eq(json_object_array_length(r), 1);
	check_signed(json_object_array_get_idx(r, 0), "evt_without_time", 1);
	check_body(json_object_array_get_idx(r, 0), j2, "to_jsonb(created_at)");
	cr_assert(contains(jstr(json_object_array_get_idx(r, 0), "body"), "\"data\":{}"));
	json_object_put(r);

	cr_assert_str_eq(health(wid), "true|200|-|0|attempt|success|-|-|-");
	cr_assert_str_eq(q("SELECT last_success_at = last_attempt_at FROM webhooks"
	    " WHERE id = '%s'", wid), "t");
	cr_assert_str_eq(deliveries(wid), "1:200:-:- / 1:200:-:-");
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', job_id, event_id,"
	    " response_excerpt, duration_ms >= 0), ' ' ORDER BY job_id)"
	    " FROM webhook_deliveries WHERE webhook_id = '%s'", wid),
	    fmt("%ld|evt_with_time|{\"ok\":true}|t %ld|evt_without_time|{\"ok\":true}|t", j1, j2));
}

/* ----- failures that retry ----- */

Test(webhook, a_500_retries_and_a_later_success_resets_the_failure_clock)
{
	char		*wid;
	long		 j, t1, t2;
	json_object	*r;

	/* 4 s between attempts: time to look at the failure before the retry. */
	rcv_start("500", one_secret, NULL);
	daemon_up("0 4s 4s");
	wid = hook("/", SECRET);
	j = enqueue(wid, "evt_retry", "{\"n\": 1}", NULL, 25);
	wait_settled(j, 1, 30);
	cr_assert_str_eq(job_row(j), "available|1|http_5xx|HTTP 500 from the endpoint");
	cr_assert_str_eq(q("SELECT scheduled_at > now() + interval '1 second' FROM river_job"
	    " WHERE id = %ld", j), "t");
	cr_assert_str_eq(health(wid), "true|500|HTTP 500 from the endpoint|1|attempt|-|failing|-|-");
	cr_assert_str_eq(deliveries(wid), "1:500:http_5xx:HTTP 500 from the endpoint");
	cr_assert_str_eq(q("SELECT response_excerpt FROM webhook_deliveries WHERE webhook_id = '%s'",
	    wid), "{\"ok\":false,\"status\":500}");
	rcv_all_verified(1);

	/* The endpoint recovers: the retry completes and the clock resets. */
	rcv_control("{\"mode\": \"200\"}");
	wait_state(j, "completed", 30);
	/* The error of attempt 1 stays; the class is the last attempt's (none). */
	cr_assert_str_eq(job_row(j), "completed|2||HTTP 500 from the endpoint");
	cr_assert_str_eq(health(wid), "true|200|-|0|attempt|success|-|-|-");
	cr_assert_str_eq(deliveries(wid), "1:500:http_5xx:HTTP 500 from the endpoint"
	    " / 2:200:-:-");

	r = rcv_event("evt_retry");
	cr_assert_eq(json_object_array_length(r), 2);
	t1 = check_signed(json_object_array_get_idx(r, 0), "evt_retry", 1);
	t2 = check_signed(json_object_array_get_idx(r, 1), "evt_retry", 1);
	cr_assert_str_eq(jstr(json_object_array_get_idx(r, 0), "mode"), "500");
	cr_assert_str_eq(jstr(json_object_array_get_idx(r, 1), "mode"), "200");
	/* Same webhook-id, a new timestamp and so a new signature. */
	cr_assert(t2 > t1, "webhook-timestamp not renewed: %ld then %ld", t1, t2);
	cr_assert_str_neq(jhdr(json_object_array_get_idx(r, 0), "webhook-signature"),
	    jhdr(json_object_array_get_idx(r, 1), "webhook-signature"));
	/* The same bytes each time. */
	cr_assert_str_eq(jstr(json_object_array_get_idx(r, 0), "body"),
	    jstr(json_object_array_get_idx(r, 1), "body"));
	check_body(json_object_array_get_idx(r, 1), j, "to_jsonb(created_at)");
	json_object_put(r);
	rcv_all_verified(2);
}

Test(webhook, retry_after_is_honoured_within_the_schedule)
{
	char	*w429, *w503hi, *w503lo;
	long	 j429, j503hi, j503lo;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 5s 5m");
	w429 = hook("/429", SECRET);			/* Retry-After: 7 */
	w503hi = hook("/503?ra=3600", SECRET);		/* past the schedule's 5m */
	w503lo = hook("/503?ra=1", SECRET);		/* under its 5s */
	j429 = enqueue(w429, "evt_429", "{}", NULL, 25);
	j503hi = enqueue(w503hi, "evt_503_hi", "{}", NULL, 25);
	j503lo = enqueue(w503lo, "evt_503_lo", "{}", NULL, 25);
	wait_settled(j429, 1, 30);
	wait_settled(j503hi, 1, 30);
	wait_settled(j503lo, 1, 30);

	/*
	 * The retry is due exactly retry_after after the finish (the endpoint's
	 * last_attempt_at is written by the same transaction), clamped to
	 * [5s, 5m], the schedule's range.
	 */
	cr_assert_str_eq(job_row(j429), "retryable|1|http_429|HTTP 429 from the endpoint");
	cr_assert_str_eq(q("SELECT extract(epoch FROM j.scheduled_at - w.last_attempt_at)::numeric(10,3)"
	    " FROM river_job j, webhooks w WHERE j.id = %ld AND w.id = '%s'", j429, w429), "7.000");
	cr_assert_str_eq(job_row(j503hi), "retryable|1|http_5xx|HTTP 503 from the endpoint");
	cr_assert_str_eq(q("SELECT extract(epoch FROM j.scheduled_at - w.last_attempt_at)::numeric(10,3)"
	    " FROM river_job j, webhooks w WHERE j.id = %ld AND w.id = '%s'", j503hi, w503hi),
	    "300.000");
	cr_assert_str_eq(job_row(j503lo), "available|1|http_5xx|HTTP 503 from the endpoint");
	cr_assert_str_eq(q("SELECT extract(epoch FROM j.scheduled_at - w.last_attempt_at)::numeric(10,3)"
	    " FROM river_job j, webhooks w WHERE j.id = %ld AND w.id = '%s'", j503lo, w503lo),
	    "5.000");

	cr_assert_str_eq(health(w429), "true|429|HTTP 429 from the endpoint|1|attempt|-|failing|-|-");
	cr_assert_str_eq(deliveries(w429), "1:429:http_429:HTTP 429 from the endpoint");
	cr_assert_str_eq(deliveries(w503hi), "1:503:http_5xx:HTTP 503 from the endpoint");
	rcv_all_verified(3);
	check_signed(json_object_array_get_idx(rcv_event("evt_429"), 0), "evt_429", 1);
}

/* ----- failures without a response ----- */

Test(webhook, a_redirect_is_not_followed)
{
	char		*wid, *loc;
	long		 j;
	json_object	*a;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/302", SECRET);
	j = enqueue(wid, "evt_302", "{}", NULL, 1);
	wait_state(j, "discarded", 30);
	loc = fmt("http://127.0.0.1:%d/200?redirected=1", rcv.port);
	cr_assert_str_eq(job_row(j), fmt("discarded|1|bad_response|HTTP 302: redirect not "
	    "followed (302 to %s)", loc));
	usleep(500000);
	a = rcv_reqs();
	cr_assert_eq(json_object_array_length(a), 1, "the redirect was followed: %s",
	    json_object_to_json_string(a));
	cr_assert_str_eq(jstr(json_object_array_get_idx(a, 0), "path"), "/302");
	check_signed(json_object_array_get_idx(a, 0), "evt_302", 1);
	cr_assert_str_eq(health(wid), fmt("true|302|HTTP 302: redirect not followed (302 to %s)"
	    "|1|attempt|-|failing|-|-", loc));
	cr_assert_str_eq(deliveries(wid), fmt("1:302:bad_response:HTTP 302: redirect not "
	    "followed (302 to %s)", loc));
}

Test(webhook, a_hanging_endpoint_times_out)
{
	char	*wid;
	long	 j;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/hang", SECRET);
	j = enqueue(wid, "evt_hang", "{}", NULL, 1);
	wait_state(j, "discarded", 30);
	cr_assert_str_eq(job_row(j), "discarded|1|network|timeout after 2000 ms");
	cr_assert_str_eq(health(wid), "true|0|timeout after 2000 ms|1|attempt|-|failing|-|-");
	cr_assert_str_eq(deliveries(wid), "1:0:network:timeout after 2000 ms");
	cr_assert_str_eq(q("SELECT duration_ms BETWEEN 1900 AND 10000 FROM webhook_deliveries"
	    " WHERE webhook_id = '%s'", wid), "t");
	rcv_all_verified(1);
	check_signed(json_object_array_get_idx(rcv_reqs(), 0), "evt_hang", 1);
}

Test(webhook, an_endless_body_is_cut_at_max_response)
{
	char	*w200, *w500;
	long	 j200, j500;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	w200 = hook("/endless", SECRET);
	w500 = hook("/endless-500", SECRET);
	j200 = enqueue(w200, "evt_endless", "{}", NULL, 1);
	j500 = enqueue(w500, "evt_endless_500", "{}", NULL, 1);
	wait_state(j200, "completed", 30);
	wait_state(j500, "discarded", 30);

	/* The status decides; the body is kept up to max_response (1K). */
	cr_assert_str_eq(job_row(j500), "discarded|1|http_5xx|HTTP 500 from the endpoint");
	cr_assert_str_eq(health(w200), "true|200|-|0|attempt|success|-|-|-");
	cr_assert_str_eq(health(w500), "true|500|HTTP 500 from the endpoint|1|attempt|-|failing|-|-");
	cr_assert_str_eq(deliveries(w200), "1:200:-:-");
	cr_assert_str_eq(deliveries(w500), "1:500:http_5xx:HTTP 500 from the endpoint");
	cr_assert_str_eq(q("SELECT bool_and(octet_length(response_excerpt) BETWEEN 512 AND 1024"
	    " AND response_excerpt LIKE 'xxxx%%') FROM webhook_deliveries"), "t", "%s",
	    q("SELECT string_agg(octet_length(response_excerpt)::text, ',') FROM webhook_deliveries"));
	/* Cut in seconds, not after the receiver's 256 MB. */
	cr_assert_str_eq(q("SELECT bool_and(duration_ms < 5000) FROM webhook_deliveries"), "t");
	rcv_all_verified(2);
}

Test(webhook, a_reset_connection_is_a_network_failure)
{
	char	*wreset, *wclose, *e;
	long	 jreset, jclose;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wreset = hook("/reset", SECRET);	/* RST */
	wclose = hook("/close", SECRET);	/* req.socket.destroy(): no reply */
	jreset = enqueue(wreset, "evt_reset", "{}", NULL, 1);
	jclose = enqueue(wclose, "evt_close", "{}", NULL, 1);
	wait_state(jreset, "discarded", 30);
	wait_state(jclose, "discarded", 30);

	e = q("SELECT last_error FROM webhooks WHERE id = '%s'", wreset);
	cr_assert(contains(e, "reset"), "%s", e);
	cr_assert_str_eq(job_row(jreset), fmt("discarded|1|network|%s", e));
	cr_assert_str_eq(health(wreset), fmt("true|0|%s|1|attempt|-|failing|-|-", e));
	cr_assert_str_eq(deliveries(wreset), fmt("1:0:network:%s", e));
	e = q("SELECT last_error FROM webhooks WHERE id = '%s'", wclose);
	cr_assert(contains(e, "Empty reply"), "%s", e);
	cr_assert_str_eq(job_row(jclose), fmt("discarded|1|network|%s", e));
	cr_assert_str_eq(health(wclose), fmt("true|0|%s|1|attempt|-|failing|-|-", e));
	cr_assert_str_eq(deliveries(wclose), fmt("1:0:network:%s", e));
	rcv_all_verified(2);
}

/* ----- endpoints that end the job ----- */

Test(webhook, a_410_disables_the_endpoint_and_cancels_its_deliveries)
{
	char		*wid, *other, *reason, *before;
	long		 j, p1, p2, p3, p4, po, later;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/410", SECRET);
	other = hook("/200", SECRET);
	p1 = pending(wid, "evt_p1", "scheduled");
	p2 = pending(wid, "evt_p2", "retryable");
	p3 = pending(wid, "evt_p3", "available");	/* due in an hour */
	p4 = pending(wid, "evt_p4", "pending");
	po = pending(other, "evt_other", "scheduled");
	j = enqueue(wid, "evt_gone", "{}", NULL, 25);
	wait_state(j, "cancelled", 30);

	cr_assert_str_eq(job_row(j), "cancelled|1|http_4xx|JobCancelError: HTTP 410 Gone: the endpoint is disabled");
	reason = "the endpoint answered 410 Gone";
	cr_assert_str_eq(health(wid), fmt("false|410|HTTP 410 Gone: the endpoint is disabled|1|"
	    "attempt|-|failing|disabled|%s", reason));
	cr_assert_str_eq(deliveries(wid), "1:410:http_4xx:HTTP 410 Gone: the endpoint is disabled");
	rcv_all_verified(1);
	check_signed(json_object_array_get_idx(rcv_reqs(), 0), "evt_gone", 1);

	/* Its other deliveries: cancelled, saying why; another endpoint's: not. */
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', state, finalized_at IS NOT NULL,"
	    " errors[1]->>'error'), ' / ' ORDER BY id) FROM river_job WHERE id IN (%ld, %ld, %ld, %ld)",
	    p1, p2, p3, p4), fmt("cancelled|t|webhook %s was disabled: %s"
	    " / cancelled|t|webhook %s was disabled: %s / cancelled|t|webhook %s was disabled: %s"
	    " / cancelled|t|webhook %s was disabled: %s", wid, reason, wid, reason, wid, reason,
	    wid, reason));
	cr_assert_str_eq(q("SELECT concat_ws('|', state, errors IS NULL) FROM river_job"
	    " WHERE id = %ld", po), "scheduled|t");
	cr_assert_str_eq(health(other), UNTOUCHED);

	/* A later job for it: cancelled by load, no request, nothing recorded. */
	before = q("SELECT last_attempt_at FROM webhooks WHERE id = '%s'", wid);
	later = enqueue(wid, "evt_later", "{}", NULL, 25);
	wait_state(later, "cancelled", 30);
	cr_assert_str_eq(job_row(later), fmt("cancelled|1|load|cancelled by load: webhook %s is "
	    "disabled: %s", wid, reason));
	rcv_all_verified(1);
	cr_assert_str_eq(q("SELECT last_attempt_at FROM webhooks WHERE id = '%s'", wid), before);
	cr_assert_str_eq(deliveries(wid), "1:410:http_4xx:HTTP 410 Gone: the endpoint is disabled");
}

Test(webhook, failing_longer_than_give_up_after_disables_the_endpoint)
{
	char	*dead, *dead2, *young, *reason;
	long	 j, jd2, jy, p1, p2, py;

	rcv_start("500", one_secret, NULL);
	daemon_up("0 1s 1s");
	/* Failing for 6 days, never a success; give_up_after is 5d. */
	dead = hook("/500", SECRET);
	th_sql_ok("UPDATE webhooks SET first_failure_at = now() - interval '6 days',"
	    " last_status = 500, last_error = 'old', consecutive_failures = 40 WHERE id = '%s'", dead);
	/* Its last success came before the failures began: the same. */
	dead2 = hook("/500", SECRET);
	th_sql_ok("UPDATE webhooks SET first_failure_at = now() - interval '6 days',"
	    " last_success_at = now() - interval '7 days', consecutive_failures = 3"
	    " WHERE id = '%s'", dead2);
	/* Failing for 4 days: not yet. */
	young = hook("/500", SECRET);
	th_sql_ok("UPDATE webhooks SET first_failure_at = now() - interval '4 days',"
	    " consecutive_failures = 7 WHERE id = '%s'", young);
	p1 = pending(dead, "evt_dead_p1", "scheduled");
	p2 = pending(dead, "evt_dead_p2", "retryable");
	py = pending(young, "evt_young_p", "scheduled");

	j = enqueue(dead, "evt_dead", "{}", NULL, 25);
	jd2 = enqueue(dead2, "evt_dead2", "{}", NULL, 25);
	jy = enqueue(young, "evt_young", "{}", NULL, 1);
	wait_state(j, "cancelled", 30);
	wait_state(jd2, "cancelled", 30);
	wait_state(jy, "discarded", 30);

	reason = "failing without a success for longer than give_up_after";
	cr_assert_str_eq(job_row(j), "cancelled|1|http_5xx|JobCancelError: HTTP 500 from the endpoint; the "
	    "endpoint has failed for longer than give_up_after and is now disabled");
	cr_assert_str_eq(health(dead), fmt("false|500|HTTP 500 from the endpoint; the endpoint has "
	    "failed for longer than give_up_after and is now disabled|41|attempt|-|failing|"
	    "disabled|%s", reason));
	/* The clock still starts at the first failure. */
	cr_assert_str_eq(q("SELECT first_failure_at < now() - interval '5 days' FROM webhooks"
	    " WHERE id = '%s'", dead), "t");
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', state, errors[1]->>'error'), ' / '"
	    " ORDER BY id) FROM river_job WHERE id IN (%ld, %ld)", p1, p2),
	    fmt("cancelled|webhook %s was disabled: %s / cancelled|webhook %s was disabled: %s",
	    dead, reason, dead, reason));
	cr_assert_str_eq(deliveries(dead), "1:500:http_5xx:HTTP 500 from the endpoint; the "
	    "endpoint has failed for longer than give_up_after and is now disabled");

	cr_assert_str_eq(q("SELECT concat_ws('|', enabled::text, disabled_reason, consecutive_failures)"
	    " FROM webhooks WHERE id = '%s'", dead2), fmt("false|%s|4", reason));

	/* Four days: an ordinary failure, the endpoint stays enabled. */
	cr_assert_str_eq(job_row(jy), "discarded|1|http_5xx|HTTP 500 from the endpoint");
	cr_assert_str_eq(health(young), "true|500|HTTP 500 from the endpoint|8|attempt|-|failing|-|-");
	cr_assert_str_eq(q("SELECT state FROM river_job WHERE id = %ld", py), "scheduled");

	rcv_all_verified(3);
}

/* ----- secrets ----- */

Test(webhook, rotation_signs_with_both_secrets_until_the_old_one_expires)
{
	const char *const both[] = { SECRET2, SECRET3, NULL };
	char		*wid;
	long		 j1, j2, j3;
	json_object	*r;

	rcv_start("200", both, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/", SECRET2);
	th_sql_ok("UPDATE webhooks SET previous_secret = '%s', previous_secret_expires_at ="
	    " now() + interval '1 hour' WHERE id = '%s'", SECRET3, wid);
	j1 = enqueue(wid, "evt_rot_1", "{\"k\": 1}", NULL, 25);
	wait_state(j1, "completed", 30);
	r = json_object_array_get_idx(rcv_event("evt_rot_1"), 0);
	cr_assert_not_null(r);
	/* Two v1 signatures; each secret alone verifies the request. */
	check_signed(r, "evt_rot_1", 2);
	cr_assert_str_eq(jlist(r, "verified_by"), "[0,1]");

	/* Expired: one signature, the new secret's; the old one fails. */
	th_sql_ok("UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 minute'"
	    " WHERE id = '%s'", wid);
	rcv_control("{\"secrets\": [\"" SECRET2 "\"], \"probes\": [\"" SECRET3 "\"]}");
	j2 = enqueue(wid, "evt_rot_2", "{\"k\": 2}", NULL, 25);
	wait_state(j2, "completed", 30);
	r = json_object_array_get_idx(rcv_event("evt_rot_2"), 0);
	cr_assert_not_null(r);
	check_signed(r, "evt_rot_2", 1);
	cr_assert_str_eq(jlist(r, "verified_by"), "[0]");
	cr_assert_str_eq(jlist(r, "probe_ok"), "[false]");

	/* Without an expiry the previous secret is not used at all. */
	th_sql_ok("UPDATE webhooks SET previous_secret_expires_at = NULL WHERE id = '%s'", wid);
	j3 = enqueue(wid, "evt_rot_3", "{\"k\": 3}", NULL, 25);
	wait_state(j3, "completed", 30);
	r = json_object_array_get_idx(rcv_event("evt_rot_3"), 0);
	cr_assert_not_null(r);
	check_signed(r, "evt_rot_3", 1);
	cr_assert_str_eq(jlist(r, "probe_ok"), "[false]");

	cr_assert_str_eq(health(wid), "true|200|-|0|attempt|success|-|-|-");
	cr_assert_str_eq(deliveries(wid), "1:200:-:- / 1:200:-:- / 1:200:-:-");
	rcv_all_verified(3);
}

/* ----- the address policy ----- */

/* A listener on addr (127.0.0.2 or ::1) that no request may reach. */
static int
trap(int family, const char *addr, int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 || listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
trap_port(int fd)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);

	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	return ntohs(sa.sin_port);
}

/* Connections waiting to be accepted: 0 unless something got through. */
static int
trap_accepts(int fd)
{
	int c, n = 0;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		close(c);
		n++;
	}
	return n;
}

Test(webhook, addresses_outside_the_allowlist_are_never_connected_to)
{
	const char	*spellings[] = {
		"http://127.0.0.2:%d/",
		"http://2130706434:%d/",		/* decimal */
		"http://0x7f000002:%d/",		/* hexadecimal */
		"http://0177.0.0.2:%d/",		/* octal */
		"http://127.2:%d/",			/* short form */
		"http://[::ffff:127.0.0.2]:%d/",	/* IPv4-mapped IPv6 */
		"http://[::ffff:7f00:2]:%d/",
		"http://[::1]:%d/",			/* IPv6 loopback */
	};
	enum { N = sizeof(spellings) / sizeof(spellings[0]) };
	char	*wids[N], *url, *e, *ok;
	long	 jobs[N], jok;
	int	 port, i, v6;

	rcv_start("200", one_secret, NULL);
	cr_assert((trap_fd[0] = trap(AF_INET, "127.0.0.2", 0)) != -1,
	    "bind 127.0.0.2: %s", strerror(errno));
	port = trap_port(trap_fd[0]);
	/* ::1 on the same port, where the machine has IPv6. */
	trap_fd[1] = trap(AF_INET6, "::1", port);
	v6 = trap_fd[1] != -1;
	daemon_up("0 1s 1s");

	for (i = 0; i < N; i++) {
		if (!v6 && contains(spellings[i], "[::1]")) {
			wids[i] = NULL;
			continue;
		}
		url = fmt(spellings[i], port);
		wids[i] = hook_url(url);
		jobs[i] = enqueue(wids[i], fmt("evt_blocked_%d", i), "{}", NULL, 1);
		free(url);
	}
	/* The allowed address, as a control: the policy lets 127.0.0.1 through. */
	ok = hook("/", SECRET);
	jok = enqueue(ok, "evt_allowed", "{}", NULL, 1);
	wait_state(jok, "completed", 30);

	for (i = 0; i < N; i++) {
		if (wids[i] == NULL)
			continue;
		wait_state(jobs[i], "discarded", 30);
		e = q("SELECT errors[1]->>'error' FROM river_job WHERE id = %ld", jobs[i]);
		cr_assert(contains(e, "refused by the address policy"), "%s: %s",
		    spellings[i], e);
		cr_assert(contains(e, i == N - 1 ? "::1" : "127.0.0.2"), "%s: %s", spellings[i], e);
		cr_assert_str_eq(job_row(jobs[i]), fmt("discarded|1|blocked|%s", e),
		    "%s", spellings[i]);
		cr_assert_str_eq(health(wids[i]), fmt("true|0|%s|1|attempt|-|failing|-|-", e),
		    "%s", spellings[i]);
		cr_assert_str_eq(deliveries(wids[i]), fmt("1:0:blocked:%s", e), "%s", spellings[i]);
	}
	cr_assert_eq(trap_accepts(trap_fd[0]), 0, "a connection reached 127.0.0.2");
	if (v6)
		cr_assert_eq(trap_accepts(trap_fd[1]), 0, "a connection reached ::1");
	/* Only the allowed one reached the receiver. */
	rcv_all_verified(1);
	check_signed(json_object_array_get_idx(rcv_reqs(), 0), "evt_allowed", 1);
}

/* ----- jobs that are wrong ----- */

Test(webhook, malformed_args_are_cancelled_without_a_request)
{
	static const struct {
		const char *args;	/* %s: the endpoint's id */
		const char *error;
	} cases[] = {
		{ "{\"webhook_id\": \"%s\", \"event_type\": \"t\", \"payload\": {}}",
		  "args.event_id is missing" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"\", \"event_type\": \"t\", \"payload\": {}}",
		  "args.event_id must be a non-empty string" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": 7, \"event_type\": \"t\", \"payload\": {}}",
		  "args.event_id must be a non-empty string" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"evt.1\", \"event_type\": \"t\", \"payload\": {}}",
		  "args.event_id must have no '.' and at most 255 characters (it is the "
		  "webhook-id header)" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"e1\", \"payload\": {}}",
		  "args.event_type is missing" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"e2\", \"event_type\": \"t\"}",
		  "args.payload is missing" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"e3\", \"event_type\": \"t\", \"payload\": [1]}",
		  "args.payload must be a JSON object" },
		{ "{\"webhook_id\": \"%s\", \"event_id\": \"e4\", \"event_type\": \"t\", \"payload\": \"x\"}",
		  "args.payload must be a JSON object" },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	char	*wid, *badsecret, *args, *longid;
	long	 jobs[N], jlong, jnouuid, jnoid, jnumid, jsecret;
	int	 i;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/", SECRET);
	badsecret = hook("/", "not-a-whsec-secret");

	for (i = 0; i < N; i++) {
		args = fmt(cases[i].args, wid);
		jobs[i] = enqueue_raw(args, 25);
		free(args);
	}
	longid = calloc(1, 257);
	memset(longid, 'a', 256);
	jlong = enqueue(wid, longid, "{}", NULL, 25);
	/* Rejected by load, before the worker. */
	jnouuid = enqueue_raw("{\"webhook_id\": \"not-a-uuid\", \"event_id\": \"e5\","
	    " \"event_type\": \"t\", \"payload\": {}}", 25);
	jnoid = enqueue_raw("{\"event_id\": \"e6\", \"event_type\": \"t\", \"payload\": {}}", 25);
	jnumid = enqueue_raw("{\"webhook_id\": 12, \"event_id\": \"e7\", \"event_type\": \"t\","
	    " \"payload\": {}}", 25);
	/* The endpoint's secret is not a whsec_ secret. */
	jsecret = enqueue(badsecret, "evt_badsecret", "{}", NULL, 25);

	for (i = 0; i < N; i++) {
		wait_state(jobs[i], "cancelled", 30);
		cr_assert_str_eq(job_row(jobs[i]), fmt("cancelled|1|bad_args|JobCancelError: %s", cases[i].error),
		    "%s", cases[i].args);
	}
	wait_state(jlong, "cancelled", 30);
	cr_assert_str_eq(job_row(jlong), "cancelled|1|bad_args|JobCancelError: args.event_id must have no '.' and "
	    "at most 255 characters (it is the webhook-id header)");
	wait_state(jnouuid, "cancelled", 30);
	cr_assert(contains(job_row(jnouuid), "cancelled|1|bad_args|args rejected by load: "
	    "args.webhook_id must be a uuid"), "%s", job_row(jnouuid));
	wait_state(jnoid, "cancelled", 30);
	cr_assert_str_eq(job_row(jnoid), "cancelled|1|bad_args|args rejected by load: "
	    "args.webhook_id must be a string (a uuid) (SQLSTATE 22023)");
	wait_state(jnumid, "cancelled", 30);
	cr_assert_str_eq(job_row(jnumid), "cancelled|1|bad_args|args rejected by load: "
	    "args.webhook_id must be a string (a uuid) (SQLSTATE 22023)");
	wait_state(jsecret, "cancelled", 30);
	cr_assert_str_eq(job_row(jsecret), "cancelled|1|bad_args|JobCancelError: the endpoint's secret is not a "
	    "whsec_ secret (base64 of at least 16 bytes)");

	/* Nothing was sent, and no endpoint's health moved. */
	cr_assert_eq(rcv_count(), 0);
	cr_assert_str_eq(health(wid), UNTOUCHED);
	cr_assert_str_eq(health(badsecret), UNTOUCHED);
	cr_assert_str_eq(q("SELECT count(*) FROM webhook_deliveries"), "0");
}

Test(webhook, missing_and_disabled_endpoints_are_cancelled_by_load)
{
	char	*off, *gone, *missing;
	long	 jmissing, joff, jgone;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	missing = q("SELECT gen_random_uuid()");
	off = hook("/", SECRET);
	th_sql_ok("UPDATE webhooks SET enabled = false WHERE id = '%s'", off);
	gone = hook("/", SECRET);
	th_sql_ok("UPDATE webhooks SET disabled_at = now(), disabled_reason = 'turned off by"
	    " the customer' WHERE id = '%s'", gone);
	jmissing = enqueue(missing, "evt_missing", "{}", NULL, 25);
	joff = enqueue(off, "evt_off", "{}", NULL, 25);
	jgone = enqueue(gone, "evt_gone", "{}", NULL, 25);
	wait_state(jmissing, "cancelled", 30);
	wait_state(joff, "cancelled", 30);
	wait_state(jgone, "cancelled", 30);

	cr_assert_str_eq(job_row(jmissing), fmt("cancelled|1|load|cancelled by load: webhook %s "
	    "does not exist", missing));
	cr_assert_str_eq(job_row(joff), fmt("cancelled|1|load|cancelled by load: webhook %s "
	    "is disabled", off));
	cr_assert_str_eq(job_row(jgone), fmt("cancelled|1|load|cancelled by load: webhook %s "
	    "is disabled: turned off by the customer", gone));
	cr_assert_eq(rcv_count(), 0);
	cr_assert_str_eq(health(off), "false|-|-|0|-|-|-|-|-");
	cr_assert_str_eq(health(gone), "true|-|-|0|-|-|-|disabled|turned off by the customer");
	cr_assert_str_eq(q("SELECT count(*) FROM webhook_deliveries"), "0");
}

/* ----- the README's enqueue statement ----- */

/* The first ```sql block under the README's heading, verbatim. */
static char *
readme_statement(void)
{
	FILE	*f = fopen("README.md", "r");
	char	*line = NULL, *stmt = NULL;
	size_t	 cap = 0, len = 0;
	int	 in_section = 0, in_block = 0;

	cr_assert_not_null(f, "README.md: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "#", 1) == 0 && !in_block)
			in_section = contains(line, "Enqueueing a webhook delivery from TypeScript");
		else if (in_section && !in_block && strncmp(line, "```sql", 6) == 0)
			in_block = 1;
		else if (in_block && strncmp(line, "```", 3) == 0)
			break;
		else if (in_block) {
			stmt = realloc(stmt, len + strlen(line) + 1);
			memcpy(stmt + len, line, strlen(line) + 1);
			len += strlen(line);
		}
	}
	free(line);
	fclose(f);
	cr_assert_not_null(stmt, "README.md has no ```sql block under \"Enqueueing a "
	    "webhook delivery from TypeScript\"");
	return stmt;
}

Test(webhook, the_readme_enqueue_statement_delivers)
{
	const char	*params[5];
	char		*stmt, *wid, *chan, *l;
	PGconn		*listen;
	PGresult	*r;
	PGnotify	*n = NULL;
	long		 id, id2;
	json_object	*a, *o, *v;
	int		 i;

	rcv_start("200", one_secret, NULL);
	daemon_up("0 1s 1s");
	wid = hook("/", SECRET);
	stmt = readme_statement();

	/* Someone listening the way hivejobd and River do. */
	listen = PQconnectdb("");
	cr_assert(PQstatus(listen) == CONNECTION_OK, "%s", PQerrorMessage(listen));
	chan = q("SELECT quote_ident(current_schema() || '.river_insert')");
	r = PQexec(listen, fmt("LISTEN %s", chan));
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(listen));
	PQclear(r);

	params[0] = wid;
	params[1] = "evt_readme_1";
	params[2] = "feedback.created";
	params[3] = "{\"feedback_id\": 42, \"sentiment\": \"positive\"}";
	params[4] = "2024-05-01T12:34:56.789Z";
	r = PQexecParams(th_conn(), stmt, 5, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "the README's statement failed: %s\n%s",
	    PQresultErrorMessage(r), stmt);
	cr_assert_eq(PQntuples(r), 1);
	id = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	/* occurred_at may be NULL: then the job's creation time. */
	params[1] = "evt_readme_2";
	params[4] = NULL;
	r = PQexecParams(th_conn(), stmt, 5, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	id2 = atol(PQgetvalue(r, 0, 0));
	PQclear(r);

	/* The wake-up went out with the insert: {"queue": "default"}. */
	for (i = 0; i < 100 && n == NULL; i++) {
		PQconsumeInput(listen);
		if ((n = PQnotifies(listen)) == NULL)
			usleep(50000);
	}
	cr_assert_not_null(n, "no notification on %s", chan);
	o = json_tokener_parse(n->extra);
	cr_assert(o && json_object_object_get_ex(o, "queue", &v) &&
	    strcmp(json_object_get_string(v), "default") == 0, "payload %s", n->extra);
	PQfreemem(n);
	PQfinish(listen);

	wait_state(id, "completed", 30);
	wait_state(id2, "completed", 30);
	cr_assert_str_eq(q("SELECT concat_ws('|', kind, queue, max_attempts, args->>'event_type',"
	    " (args->>'occurred_at')::timestamptz = '2024-05-01T12:34:56.789Z')"
	    " FROM river_job WHERE id = %ld", id),
	    "webhook_dispatch|default|25|feedback.created|t");
	a = rcv_event("evt_readme_1");
	cr_assert_eq(json_object_array_length(a), 1);
	check_signed(json_object_array_get_idx(a, 0), "evt_readme_1", 1);
	check_body(json_object_array_get_idx(a, 0), id, "args->'occurred_at'");
	l = lit(params[3]);
	cr_assert_str_eq(q("SELECT %s::jsonb->'data' = %s::jsonb", lit(jstr(json_object_array_get_idx(a,
	    0), "body")), l), "t");
	a = rcv_event("evt_readme_2");
	cr_assert_eq(json_object_array_length(a), 1);
	check_signed(json_object_array_get_idx(a, 0), "evt_readme_2", 1);
	check_body(json_object_array_get_idx(a, 0), id2, "to_jsonb(created_at)");
	cr_assert_str_eq(health(wid), "true|200|-|0|attempt|success|-|-|-");
	cr_assert_str_eq(deliveries(wid), "1:200:-:- / 1:200:-:-");
	rcv_all_verified(2);
}
