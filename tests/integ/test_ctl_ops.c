/*
 * hivejobctl's operations against a real database: retry, cancel, delete,
 * pause and resume, the read-only views (queues, stats, supervisors, ps,
 * stuck, webhooks, deliveries) and enqueue --unique-by. No daemon: rows
 * and leases are set up by SQL, and the commands run with --json.
 */
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "th.h"

#define WH	"6f1c2b9e-1111-4c1e-9a55-0123456789ab"

/*
 * Fresh, migrated database; stdin is /dev/null, so the bulk forms cannot
 * ask and must be given --yes.
 */
static void
migrated(void)
{
	int fd;

	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	cr_assert((fd = open("/dev/null", O_RDONLY)) >= 0);
	cr_assert(dup2(fd, 0) == 0);
	close(fd);
}

TestSuite(ops, .init = migrated, .timeout = 60);

static json_object *
parse(const char *s)
{
	json_object *o = json_tokener_parse(s);

	cr_assert_not_null(o, "not JSON: %s", s);
	return o;
}

static json_object *
jget(json_object *o, const char *key)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no key %s in %s", key,
	    json_object_to_json_string(o));
	return v;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? json_object_get_string(v) : NULL;
}

static long long
jint(json_object *o, const char *key)
{
	return json_object_get_int64(jget(o, key));
}

/* The element of an array whose key "id" (or idkey) is id. */
static json_object *
by_id(json_object *arr, const char *idkey, long long id)
{
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		if (jint(o, idkey) == id)
			return o;
	}
	cr_assert_fail("no element with %s %lld in %s", idkey, id,
	    json_object_to_json_string(arr));
	return NULL;
}

/*
 * A job in state st, consistent with River's constraints: finalized_at
 * exactly for the final states; attempted, by test-sup, unless it never ran.
 */
static void
job(long id, const char *st, const char *kind, const char *queue)
{
	th_sql_ok("INSERT INTO river_job (id, state, kind, queue, args, attempt,"
	    " max_attempts, attempted_at, finalized_at, attempted_by, scheduled_at)"
	    " SELECT %ld, s, '%s', '%s', '{}',"
	    "  CASE WHEN fresh THEN 0 ELSE 1 END, 3,"
	    "  CASE WHEN fresh THEN NULL ELSE now() - interval '1 minute' END,"
	    "  CASE WHEN s IN ('cancelled', 'completed', 'discarded') THEN now() END,"
	    "  CASE WHEN fresh THEN NULL ELSE '{test-sup}'::text[] END,"
	    "  now() - interval '2 minutes'"
	    " FROM (SELECT '%s'::river_job_state AS s,"
	    "  '%s' IN ('available', 'scheduled', 'pending') AS fresh) x",
	    id, kind, queue, st, st);
}

/* Everything the commands could change, as one digest. */
static char *
snapshot(void)
{
	return th_sql("SELECT md5(coalesce((SELECT string_agg(row_to_json(j)::text, ','"
	    " ORDER BY id) FROM river_job j), '') || coalesce((SELECT string_agg("
	    " row_to_json(q)::text, ',' ORDER BY name) FROM river_queue q), '')"
	    " || coalesce((SELECT string_agg(row_to_json(w)::text, ',') FROM webhooks w), ''))");
}

/* The next notification on the test's connection, within 10 s. */
static PGnotify *
notify_wait(void)
{
	PGnotify	*n = NULL;
	int		 i;

	for (i = 0; n == NULL && i < 100; i++) {
		struct pollfd pfd = { .fd = PQsocket(th_conn()), .events = POLLIN };

		(void)poll(&pfd, 1, 100);
		cr_assert_eq(PQconsumeInput(th_conn()), 1);
		n = PQnotifies(th_conn());
	}
	cr_assert_not_null(n, "no notification within 10 s");
	return n;
}

/* River's JobRetry: available now, unfinalized, one more attempt if spent. */
Test(ops, retry_makes_jobs_available)
{
	json_object	*arr, *o;
	char		*out, *err;

	job(1, "discarded", "a", "q");
	th_sql_ok("UPDATE river_job SET attempt = 3, errors = ARRAY['{\"at\": "
	    "\"2026-01-01T00:00:00Z\", \"attempt\": 3, \"error\": \"boom\", "
	    "\"trace\": \"\"}'::jsonb] WHERE id = 1");
	job(2, "completed", "a", "q");
	job(3, "cancelled", "a", "q");
	th_sql_ok("UPDATE river_job SET metadata = '{\"cancel_attempted_at\": "
	    "\"2026-01-01T00:00:00Z\", \"keep\": 1}' WHERE id = 3");
	job(4, "retryable", "a", "q");
	th_sql_ok("UPDATE river_job SET scheduled_at = now() + interval '1 hour' WHERE id = 4");
	job(5, "scheduled", "a", "q");
	th_sql_ok("UPDATE river_job SET scheduled_at = now() + interval '1 day' WHERE id = 5");
	job(6, "available", "a", "q");

	cr_assert_eq(th_ctl(&out, &err, "retry", "1", "2", "3", "4", "5", "6", "--json",
	    NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 6);
	o = by_id(arr, "id", 1);
	cr_assert_str_eq(jstr(o, "result"), "retried");
	cr_assert_str_eq(jstr(o, "previous_state"), "discarded");
	cr_assert_str_eq(jstr(o, "state"), "available");
	cr_assert_eq(jint(o, "max_attempts"), 4);
	cr_assert_str_eq(jstr(by_id(arr, "id", 5), "result"), "retried");
	/* already available and due: River leaves it alone */
	o = by_id(arr, "id", 6);
	cr_assert_str_eq(jstr(o, "result"), "skipped");
	cr_assert_str_eq(jstr(o, "reason"), "already_available");
	cr_assert(strstr(err, "job 6 is already available"), "%s", err);

	cr_assert_str_eq(th_sql("SELECT string_agg(format('%%s %%s %%s %%s', id, state,"
	    " max_attempts, finalized_at IS NULL AND scheduled_at <= now()"
	    " AND scheduled_at > now() - interval '30 seconds'), ',' ORDER BY id)"
	    " FROM river_job WHERE id <= 5"),
	    "1 available 4 t,2 available 3 t,3 available 3 t,4 available 3 t,"
	    "5 available 3 t");
	/* the errors stay; a cancel request must not kill the retried job */
	cr_assert_str_eq(th_sql("SELECT array_length(errors, 1) FROM river_job WHERE id = 1"),
	    "1");
	cr_assert_str_eq(th_sql("SELECT metadata::text FROM river_job WHERE id = 3"),
	    "{\"keep\": 1}");
}

Test(ops, retry_refuses_running_and_does_the_rest)
{
	json_object	*arr, *o;
	char		*out, *err;

	job(1, "running", "a", "q");
	job(2, "discarded", "a", "q");
	cr_assert_eq(th_ctl(&out, &err, "retry", "1", "2", "77", "--json", NULL), 65,
	    "%s", err);
	cr_assert(strstr(err, "job 1 is running: not retried"), "%s", err);
	cr_assert(strstr(err, "no job with id 77"), "%s", err);
	arr = parse(out);
	o = by_id(arr, "id", 1);
	cr_assert_str_eq(jstr(o, "result"), "refused");
	cr_assert_str_eq(jstr(o, "reason"), "running");
	cr_assert_str_eq(jstr(by_id(arr, "id", 77), "result"), "not_found");
	cr_assert_str_eq(th_sql("SELECT string_agg(state || ' ' || attempt, ','"
	    " ORDER BY id) FROM river_job"), "running 1,available 1");

	/* the table for people says the same */
	cr_assert_eq(th_ctl(&out, &err, "retry", "1", NULL), 65);
	cr_assert(strncmp(out, "ID  KIND  QUEUE  WAS      NOW      RESULT   REASON\n", 50) == 0,
	    "%s", out);
	cr_assert(strstr(out, "1   a     q      running  running  refused  running"), "%s", out);
}

Test(ops, retry_names_the_unique_key_holder)
{
	json_object	*arr, *o;
	char		*out, *err, *before;

	job(1, "discarded", "u", "q");
	job(2, "available", "u", "q");
	th_sql_ok("UPDATE river_job SET unique_key = '\\x01', unique_states = x'F5'"
	    " WHERE id IN (1, 2)");
	before = snapshot();
	cr_assert_eq(th_ctl(&out, &err, "retry", "1", NULL), 65);
	cr_assert(strstr(err, "job 1: retrying it would duplicate job 2's unique key"),
	    "%s", err);
	cr_assert_str_eq(snapshot(), before);

	/* two retried together: the lower id keeps the key */
	job(3, "discarded", "u", "q");
	job(4, "cancelled", "u", "q");
	th_sql_ok("UPDATE river_job SET unique_key = '\\x02', unique_states = x'F5'"
	    " WHERE id IN (3, 4)");
	cr_assert_eq(th_ctl(&out, &err, "retry", "4", "3", "--json", NULL), 65, "%s", err);
	arr = parse(out);
	cr_assert_str_eq(jstr(by_id(arr, "id", 3), "result"), "retried");
	o = by_id(arr, "id", 4);
	cr_assert_str_eq(jstr(o, "result"), "refused");
	cr_assert_str_eq(jstr(o, "reason"), "unique_key");
	cr_assert_eq(jint(o, "duplicate_of"), 3);
	cr_assert(strstr(err, "job 4: retrying it would duplicate job 3's unique key"),
	    "%s", err);
	cr_assert_str_eq(th_sql("SELECT string_agg(state::text, ',' ORDER BY id)"
	    " FROM river_job WHERE id IN (3, 4)"), "available,cancelled");

	/* a job that holds its key already keeps it, whatever the ids */
	job(5, "discarded", "u", "q");
	job(6, "scheduled", "u", "q");
	th_sql_ok("UPDATE river_job SET unique_key = '\\x03', unique_states = x'F5'"
	    " WHERE id IN (5, 6)");
	cr_assert_eq(th_ctl(&out, &err, "retry", "5", "6", "--json", NULL), 65, "%s", err);
	arr = parse(out);
	cr_assert_str_eq(jstr(by_id(arr, "id", 6), "result"), "retried");
	cr_assert_eq(jint(by_id(arr, "id", 5), "duplicate_of"), 6);
}

Test(ops, bulk_needs_yes_without_a_terminal)
{
	json_object	*arr;
	char		*out, *err, *before;

	job(1, "discarded", "a", "q1");
	job(2, "discarded", "b", "q1");
	job(3, "discarded", "a", "q2");
	job(4, "completed", "a", "q1");
	job(5, "running", "a", "q1");
	job(6, "available", "a", "q1");
	before = snapshot();
	cr_assert_eq(th_ctl(&out, &err, "retry", "--state", "discarded", NULL), 64);
	cr_assert(strstr(err, "pass --yes"), "%s", err);
	cr_assert_str_eq(out, "");
	cr_assert_eq(th_ctl(NULL, &err, "cancel", "--kind", "a", NULL), 64);
	cr_assert(strstr(err, "pass --yes"), "%s", err);
	cr_assert_eq(th_ctl(NULL, &err, "delete", "--queue", "q1", "--json", NULL), 64);
	cr_assert(strstr(err, "pass --yes"), "%s", err);
	cr_assert_str_eq(snapshot(), before);

	cr_assert_eq(th_ctl(&out, &err, "retry", "--state", "discarded", "--kind", "a",
	    "--yes", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 2);
	cr_assert_str_eq(th_sql("SELECT string_agg(id || ' ' || state, ',' ORDER BY id)"
	    " FROM river_job WHERE id <= 4"),
	    "1 available,2 discarded,3 available,4 completed");

	/* bulk delete skips running jobs; nothing left to match says so */
	cr_assert_eq(th_ctl(&out, &err, "delete", "--queue", "q1", "--yes", "--json",
	    NULL), 0, "%s", err);
	cr_assert_eq(json_object_array_length(parse(out)), 4);
	cr_assert_str_eq(th_sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM river_job"),
	    "3,5");
	cr_assert_eq(th_ctl(&out, &err, "delete", "--queue", "q1", "--yes", "--json",
	    NULL), 0, "%s", err);
	cr_assert_str_eq(out, "[]\n");
	cr_assert(strstr(err, "no job matches"), "%s", err);
}

/* Standard input a terminal with answer typed ahead, for the next command. */
static void
stdin_tty(const char *answer)
{
	int	 m, sl;

	cr_assert((m = posix_openpt(O_RDWR | O_NOCTTY)) >= 0);
	cr_assert(grantpt(m) == 0 && unlockpt(m) == 0);
	cr_assert((sl = open(ptsname(m), O_RDWR | O_NOCTTY)) >= 0);
	cr_assert(write(m, answer, strlen(answer)) == (ssize_t)strlen(answer));
	cr_assert(dup2(sl, 0) == 0);
	close(sl);
	/* m stays open: the terminal lives as long as the test */
}

Test(ops, bulk_asks_on_a_terminal)
{
	char *out, *err, *before;

	job(1, "discarded", "a", "q");
	job(2, "discarded", "a", "q");
	job(3, "cancelled", "a", "q");
	before = snapshot();
	stdin_tty("n\n");
	cr_assert_eq(th_ctl(&out, &err, "retry", "--kind", "a", NULL), 1, "%s", err);
	cr_assert(strstr(err, "retry 3 jobs (1 cancelled, 2 discarded)? [y/N] "), "%s", err);
	cr_assert(strstr(err, "nothing was changed"), "%s", err);
	cr_assert_str_eq(out, "");
	cr_assert_str_eq(snapshot(), before);

	stdin_tty("y\n");
	cr_assert_eq(th_ctl(&out, &err, "retry", "--state", "discarded", NULL), 0, "%s", err);
	cr_assert(strstr(err, "retry 2 jobs (2 discarded)? [y/N] "), "%s", err);
	cr_assert_str_eq(th_sql("SELECT string_agg(state::text, ',' ORDER BY id)"
	    " FROM river_job"), "available,available,cancelled");
}

/*
 * River's JobCancel: waiting jobs cancelled at once with an error entry,
 * the running one flagged and its supervisor notified, finished ones left.
 */
Test(ops, cancel_running_notifies_and_waiting_cancels)
{
	json_object	*arr, *o;
	PGnotify	*n;
	char		*out, *err;

	job(1, "available", "a", "q");
	job(2, "scheduled", "a", "q");
	job(3, "running", "a", "mail");
	job(4, "completed", "a", "q");
	th_sql_ok("LISTEN \"public.river_control\"");
	cr_assert_eq(th_ctl(&out, &err, "cancel", "1", "2", "3", "4", "--json", NULL), 0,
	    "%s", err);
	arr = parse(out);
	cr_assert_str_eq(jstr(by_id(arr, "id", 1), "result"), "cancelled");
	cr_assert_str_eq(jstr(by_id(arr, "id", 2), "result"), "cancelled");
	o = by_id(arr, "id", 3);
	cr_assert_str_eq(jstr(o, "result"), "cancel_requested");
	cr_assert_str_eq(jstr(o, "state"), "running");
	o = by_id(arr, "id", 4);
	cr_assert_str_eq(jstr(o, "result"), "skipped");
	cr_assert_str_eq(jstr(o, "reason"), "finalized");
	cr_assert(strstr(err, "job 4 is already completed: left alone"), "%s", err);

	n = notify_wait();
	cr_assert_str_eq(n->relname, "public.river_control");
	o = parse(n->extra);
	cr_assert_str_eq(jstr(o, "action"), "cancel");
	cr_assert_eq(jint(o, "job_id"), 3);
	cr_assert_str_eq(jstr(o, "queue"), "mail");

	cr_assert_str_eq(th_sql("SELECT string_agg(format('%%s %%s %%s %%s', id, state,"
	    " finalized_at IS NOT NULL, metadata ? 'cancel_attempted_at'), ',' ORDER BY id)"
	    " FROM river_job"),
	    "1 cancelled t t,2 cancelled t t,3 running f t,4 completed t f");
	cr_assert_str_eq(th_sql("SELECT format('%%s|%%s|%%s|%%s', e->>'error', e->>'attempt',"
	    " e->>'trace', (e->>'at')::timestamptz > now() - interval '1 minute')"
	    " FROM (SELECT errors[array_upper(errors, 1)] AS e FROM river_job WHERE id = 1) x"),
	    "cancelled by hivejobctl|0||t");
	cr_assert_null(th_sql("SELECT errors FROM river_job WHERE id = 3"));
}

Test(ops, cancel_bulk)
{
	json_object	*arr;
	char		*out, *err;

	job(1, "available", "a", "q");
	job(2, "running", "a", "q");
	job(3, "discarded", "a", "q");
	job(4, "available", "a", "other");
	cr_assert_eq(th_ctl(NULL, &err, "cancel", "--state", "discarded", "--yes", NULL), 64);
	cr_assert(strstr(err, "nothing to cancel"), "%s", err);
	cr_assert_eq(th_ctl(&out, &err, "cancel", "--queue", "q", "--yes", "--json", NULL),
	    0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 2);
	cr_assert_str_eq(jstr(by_id(arr, "id", 2), "result"), "cancel_requested");
	cr_assert_str_eq(th_sql("SELECT string_agg(id || ' ' || state, ',' ORDER BY id)"
	    " FROM river_job"), "1 cancelled,2 running,3 discarded,4 available");
}

Test(ops, delete_refuses_running)
{
	json_object	*arr;
	char		*out, *err;

	job(1, "running", "a", "q");
	job(2, "completed", "a", "q");
	job(3, "available", "a", "q");
	cr_assert_eq(th_ctl(&out, &err, "delete", "1", "2", "3", "--json", NULL), 65);
	cr_assert(strstr(err, "job 1 is running: not deleted"), "%s", err);
	arr = parse(out);
	cr_assert_str_eq(jstr(by_id(arr, "id", 1), "result"), "refused");
	cr_assert_str_eq(jstr(by_id(arr, "id", 2), "result"), "deleted");
	cr_assert_str_eq(th_sql("SELECT string_agg(id::text, ',') FROM river_job"), "1");
	cr_assert_eq(th_ctl(NULL, &err, "delete", "--state", "running", "--yes", NULL), 64);
	cr_assert(strstr(err, "--state running"), "%s", err);
	cr_assert_eq(th_ctl(NULL, &err, "delete", "1", "--state", "completed", NULL), 64);
	cr_assert(strstr(err, "not both"), "%s", err);
}

Test(ops, pause_and_resume)
{
	json_object	*arr, *o;
	PGnotify	*n;
	char		*out, *err;

	th_sql_ok("INSERT INTO river_queue (name) VALUES ('a'), ('b')");
	th_sql_ok("LISTEN \"public.river_control\"");

	cr_assert_eq(th_ctl(&out, &err, "pause", "mail", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "name"), "mail");
	cr_assert(json_object_get_boolean(jget(o, "paused")));
	n = notify_wait();
	o = parse(n->extra);
	cr_assert_str_eq(jstr(o, "action"), "pause");
	cr_assert_str_eq(jstr(o, "queue"), "mail");
	cr_assert_str_eq(th_sql("SELECT string_agg(name || ' ' || (paused_at IS NOT NULL),"
	    " ',' ORDER BY name) FROM river_queue"), "a false,b false,mail true");

	cr_assert_eq(th_ctl(&out, &err, "pause", "all", "--json", NULL), 0, "%s", err);
	cr_assert_eq(json_object_array_length(parse(out)), 3);
	o = parse(notify_wait()->extra);
	cr_assert_str_eq(jstr(o, "action"), "pause");
	cr_assert_str_eq(jstr(o, "queue"), "*");
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_queue WHERE paused_at IS NULL"),
	    "0");

	cr_assert_eq(th_ctl(&out, &err, "resume", "b", NULL), 0, "%s", err);
	cr_assert(strstr(out, "b      no"), "%s", out);
	o = parse(notify_wait()->extra);
	cr_assert_str_eq(jstr(o, "action"), "resume");
	cr_assert_str_eq(jstr(o, "queue"), "b");
	cr_assert_eq(th_ctl(NULL, &err, "resume", "all", NULL), 0, "%s", err);
	cr_assert_str_eq(jstr(parse(notify_wait()->extra), "queue"), "*");
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_queue WHERE paused_at IS NOT NULL"),
	    "0");
}

Test(ops, queues_counts_and_latency)
{
	json_object	*arr, *o;
	char		*out, *err;

	th_sql_ok("INSERT INTO river_queue (name, paused_at) VALUES ('mail', now()),"
	    " ('idle', NULL)");
	job(1, "available", "a", "mail");
	job(2, "available", "a", "mail");
	job(3, "running", "a", "mail");
	job(4, "completed", "a", "mail");
	job(5, "available", "a", "orphan");
	th_sql_ok("UPDATE river_job SET scheduled_at = now() - interval '10 minutes'"
	    " WHERE id = 2");
	cr_assert_eq(th_ctl(&out, &err, "queues", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 3);
	o = json_object_array_get_idx(arr, 1);
	cr_assert_str_eq(jstr(o, "name"), "mail");
	cr_assert(json_object_get_boolean(jget(o, "paused")));
	cr_assert(json_object_get_boolean(jget(o, "registered")));
	cr_assert_eq(jint(o, "available"), 2);
	cr_assert_eq(jint(o, "running"), 1);
	cr_assert(json_object_get_double(jget(o, "oldest_available_s")) >= 600);
	cr_assert(json_object_get_double(jget(o, "oldest_available_s")) < 660);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "name"), "idle");
	cr_assert_eq(jint(o, "available"), 0);
	cr_assert(json_object_is_type(jget(o, "oldest_available_s"), json_type_null));
	o = json_object_array_get_idx(arr, 2);
	cr_assert_str_eq(jstr(o, "name"), "orphan");
	cr_assert(!json_object_get_boolean(jget(o, "registered")));

	cr_assert_eq(th_ctl(&out, &err, "queues", NULL), 0, "%s", err);
	cr_assert(strstr(out, "mail    yes     2          1        10m0"), "%s", out);
}

Test(ops, stats_counts_percentiles_and_classes)
{
	json_object	*o, *k, *cl;
	char		*out, *err;

	/* 100 completed in the window, wall_ms 1..100 */
	th_sql_ok("INSERT INTO river_job (state, kind, queue, args, attempt, attempted_at,"
	    " finalized_at, metadata)"
	    " SELECT 'completed', 'k', 'q', '{}', 1, now() - interval '1 minute', now(),"
	    "  jsonb_build_object('hivejob', jsonb_build_object('class', '', 'wall_ms', g))"
	    " FROM generate_series(1, 100) g");
	/* an old one outside the window, and no wall_ms: finalized - attempted */
	th_sql_ok("INSERT INTO river_job (state, kind, queue, args, attempt, attempted_at,"
	    " finalized_at) VALUES ('completed', 'old', 'q', '{}', 1,"
	    " now() - interval '3 hours', now() - interval '2 hours')");
	/* failures: two discarded with a timeout, one retryable with exit */
	th_sql_ok("INSERT INTO river_job (state, kind, queue, args, attempt, max_attempts,"
	    " attempted_at, finalized_at, scheduled_at, metadata, errors)"
	    " SELECT s::river_job_state, 'k', 'q', '{}', 1, m, now() - interval '1 minute',"
	    "  CASE WHEN s = 'discarded' THEN now() END, now() + interval '1 hour',"
	    "  jsonb_build_object('hivejob', jsonb_build_object('class', c)),"
	    "  ARRAY[jsonb_build_object('at', now() - interval '1 minute', 'attempt', 1,"
	    "   'error', 'x', 'trace', '')]"
	    " FROM (VALUES ('discarded', 1, 'timeout'), ('discarded', 1, 'timeout'),"
	    "  ('retryable', 5, 'exit')) v(s, m, c)");
	job(900, "available", "other", "q2");

	cr_assert_eq(th_ctl(&out, &err, "stats", "--window", "1h", "--json", NULL), 0,
	    "%s", err);
	o = parse(out);
	cr_assert_eq(jint(o, "window_s"), 3600);
	k = json_object_array_get_idx(jget(o, "queues"), 0);
	cr_assert_str_eq(jstr(k, "queue"), "q");
	cr_assert_eq(jint(k, "completed"), 101);
	cr_assert_eq(jint(k, "discarded"), 2);
	cr_assert_eq(jint(k, "retryable"), 1);
	cr_assert_eq(jint(k, "available"), 0);
	k = json_object_array_get_idx(jget(o, "queues"), 1);
	cr_assert_str_eq(jstr(k, "queue"), "q2");
	cr_assert_eq(jint(k, "available"), 1);
	cr_assert(json_object_get_double(jget(k, "oldest_available_s")) >= 120);

	cr_assert_eq(json_object_array_length(jget(o, "kinds")), 1);
	k = json_object_array_get_idx(jget(o, "kinds"), 0);
	cr_assert_str_eq(jstr(k, "kind"), "k");
	cr_assert_eq(jint(k, "completed"), 100);
	cr_assert_eq(jint(k, "failed"), 2);
	cr_assert_eq(jint(k, "errors"), 3);
	/* interpolated: 50.5, 95.05, 99.01, to a tenth of a millisecond */
	cr_assert_float_eq(json_object_get_double(jget(k, "p50_ms")), 50.5, 1e-9);
	cr_assert_float_eq(json_object_get_double(jget(k, "p95_ms")), 95.1, 1e-9);
	cr_assert_float_eq(json_object_get_double(jget(k, "p99_ms")), 99.0, 1e-9);

	cl = jget(o, "classes");
	cr_assert_eq(json_object_array_length(cl), 2);
	k = json_object_array_get_idx(cl, 0);
	cr_assert_str_eq(jstr(k, "class"), "timeout");
	cr_assert_eq(jint(k, "count"), 2);
	cr_assert_str_eq(jstr(json_object_array_get_idx(cl, 1), "class"), "exit");

	/* a wider window takes the old job in: no wall_ms, so 1 h of run time */
	cr_assert_eq(th_ctl(&out, &err, "stats", "--window", "3h", "--json", NULL), 0);
	k = json_object_array_get_idx(jget(parse(out), "kinds"), 1);
	cr_assert_str_eq(jstr(k, "kind"), "old");
	cr_assert_eq(jint(k, "completed"), 1);
	cr_assert_eq(jint(k, "p50_ms"), 3600000);
	cr_assert_eq(jint(k, "errors"), 0);

	cr_assert_eq(th_ctl(&out, &err, "stats", NULL), 0, "%s", err);
	cr_assert(strstr(out, "jobs per queue and state:\n"), "%s", out);
	cr_assert(strstr(out, "k     100        2       0          3       50.5ms  95.1ms  99.0ms\n"),
	    "%s", out);
	cr_assert(strstr(out, "timeout  2\n"), "%s", out);
}

/* Leases, the leader, children snapshots, and the rows nobody works. */
Test(ops, supervisors_ps_and_stuck)
{
	json_object	*arr, *o;
	char		*out, *err;

	th_sql_ok("INSERT INTO hivejob_supervisor (id, host, pid, version, uid_base,"
	    " uid_count, heartbeat_at, lease_expires_at, children) VALUES"
	    " ('dead', 'h1', 100, '0.9', 10000, 8, now() - interval '2 minutes',"
	    "  now() - interval '1 minute', '[]'),"
	    " ('ancient', 'h1', 101, '0.8', 10000, 8, now() - interval '3 days',"
	    "  now() - interval '3 days', '[]'),"
	    " ('live', 'h2', 200, '1.0', 10000, 8, now() - interval '2 seconds',"
	    "  now() + interval '28 seconds', jsonb_build_array(jsonb_build_object("
	    "  'job_id', 7, 'kind', 'emb', 'pid', 4242, 'slot', 3,"
	    "  'started_at', extract(epoch FROM now())::bigint - 75,"
	    "  'deadline', extract(epoch FROM now())::bigint + 45, 'peak_rss_kb', 20480)))");
	th_sql_ok("INSERT INTO hivejob_leader (leader_id, expires_at)"
	    " VALUES ('live', now() + interval '15 seconds')");
	job(7, "running", "emb", "enrich");
	th_sql_ok("UPDATE river_job SET attempted_by = '{dead,live}' WHERE id = 7");
	job(8, "running", "a", "q");
	th_sql_ok("UPDATE river_job SET attempted_by = '{live,dead}' WHERE id = 8");
	job(9, "running", "go", "goq");
	th_sql_ok("UPDATE river_job SET attempted_by = '{river-go-1}' WHERE id = 9");
	job(10, "running", "raw", "q");
	th_sql_ok("UPDATE river_job SET attempted_by = NULL WHERE id = 10");

	cr_assert_eq(th_ctl(&out, &err, "supervisors", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 2, "%s", out);	/* not ancient */
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "id"), "live");
	cr_assert(json_object_get_boolean(jget(o, "leader")));
	cr_assert(json_object_get_boolean(jget(o, "live")));
	cr_assert_eq(jint(o, "children"), 1);
	cr_assert_eq(jint(o, "running_jobs"), 1);
	cr_assert(json_object_get_double(jget(o, "expires_in_s")) > 20);
	o = json_object_array_get_idx(arr, 1);
	cr_assert_str_eq(jstr(o, "id"), "dead");
	cr_assert(!json_object_get_boolean(jget(o, "leader")));
	cr_assert(!json_object_get_boolean(jget(o, "live")));
	cr_assert(json_object_get_double(jget(o, "expires_in_s")) < -50);
	cr_assert_eq(th_ctl(&out, &err, "supervisors", "--since", "7d", "--json", NULL), 0);
	cr_assert_eq(json_object_array_length(parse(out)), 3);

	cr_assert_eq(th_ctl(&out, &err, "ps", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "supervisor"), "live");
	cr_assert_eq(jint(o, "job_id"), 7);
	cr_assert_str_eq(jstr(o, "kind"), "emb");
	cr_assert_str_eq(jstr(o, "queue"), "enrich");
	cr_assert_eq(jint(o, "pid"), 4242);
	cr_assert_eq(jint(o, "slot"), 3);
	cr_assert_eq(jint(o, "peak_rss_kb"), 20480);
	cr_assert(json_object_get_double(jget(o, "age_s")) >= 74);
	cr_assert(json_object_get_double(jget(o, "deadline_in_s")) <= 46);
	cr_assert_eq(th_ctl(&out, &err, "ps", NULL), 0, "%s", err);
	cr_assert(strstr(out, "live        7    emb   enrich  4242  3     1m1"), "%s", out);
	cr_assert(strstr(out, "20.0M"), "%s", out);

	cr_assert_eq(th_ctl(&out, &err, "stuck", "--json", NULL), 0, "%s", err);
	o = parse(out);
	arr = jget(o, "lease_lapsed");
	cr_assert_eq(json_object_array_length(arr), 1);
	cr_assert_eq(jint(json_object_array_get_idx(arr, 0), "id"), 8);
	cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 0), "supervisor"), "dead");
	arr = jget(o, "other_runner");
	cr_assert_eq(json_object_array_length(arr), 2);
	cr_assert_str_eq(jstr(by_id(arr, "id", 9), "claimed_by"), "river-go-1");
	cr_assert(json_object_is_type(jget(by_id(arr, "id", 10), "claimed_by"),
	    json_type_null));
	cr_assert_eq(th_ctl(&out, &err, "stuck", NULL), 0, "%s", err);
	cr_assert(strstr(out, "claimed by another runner"), "%s", out);
}

Test(ops, webhooks_enable_and_deliveries)
{
	json_object	*arr, *o;
	char		*out, *err;

	th_sql_ok("INSERT INTO webhooks (id, url, secret, enabled, last_status,"
	    " first_failure_at, consecutive_failures, disabled_at, disabled_reason)"
	    " VALUES ('" WH "', 'https://user:pw@example.com/hook', 'whsec_s3cret', false,"
	    " 503, now() - interval '2 hours', 17, now(), 'failing for 2h')");
	th_sql_ok("INSERT INTO webhook_deliveries (webhook_id, job_id, event_id, attempt,"
	    " status, error, class, duration_ms, created_at) SELECT '" WH "', 40, 'evt_' || g,"
	    " g, 503, 'HTTP 503', 'http_5xx', 120, now() - g * interval '1 minute'"
	    " FROM generate_series(1, 30) g");

	cr_assert_eq(th_ctl(&out, &err, "webhooks", "--json", NULL), 0, "%s", err);
	cr_assert_null(strstr(out, "s3cret"), "%s", out);
	cr_assert_null(strstr(out, "pw@"), "%s", out);
	arr = parse(out);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "id"), WH);
	cr_assert_str_eq(jstr(o, "url"), "https://***@example.com/hook");
	cr_assert(!json_object_get_boolean(jget(o, "enabled")));
	cr_assert_eq(jint(o, "last_status"), 503);
	cr_assert_eq(jint(o, "consecutive_failures"), 17);
	cr_assert_str_eq(jstr(o, "disabled_reason"), "failing for 2h");
	cr_assert(json_object_get_double(jget(o, "failing_for_s")) >= 7200);

	cr_assert_eq(th_ctl(&out, &err, "deliveries", WH, "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 20);
	cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 0), "event_id"), "evt_1");
	cr_assert_eq(th_ctl(&out, &err, "deliveries", WH, "--limit", "3", NULL), 0, "%s", err);
	cr_assert(strncmp(out, "TIME", 4) == 0, "%s", out);
	cr_assert(strstr(out, "  40   1        503     http_5xx  120ms     evt_1  HTTP 503\n"),
	    "%s", out);

	cr_assert_eq(th_ctl(&out, &err, "webhooks", "enable", WH, "--json", NULL), 0,
	    "%s", err);
	o = parse(out);
	cr_assert(json_object_get_boolean(jget(o, "enabled")));
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s %%s %%s %%s', enabled, disabled_at,"
	    " disabled_reason, first_failure_at, consecutive_failures) FROM webhooks"),
	    "t    0");

	cr_assert_eq(th_ctl(NULL, &err, "webhooks", "enable",
	    "00000000-0000-0000-0000-000000000000", NULL), 65);
	cr_assert(strstr(err, "no webhook with id"), "%s", err);
	cr_assert_eq(th_ctl(NULL, &err, "deliveries",
	    "00000000-0000-0000-0000-000000000000", NULL), 65);
	cr_assert(strstr(err, "no webhook with id"), "%s", err);
}

/* River's unique key, computed here independently in SQL. */
Test(ops, enqueue_unique_by)
{
	json_object	*o;
	char		*out, *err, id[32];

	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{\"b\": 1, \"a\": {\"z\": 1, \"y\": 2.50}}",
	    "--queue", "mail", "--unique-by", "args,queue,period=1h", "--json", NULL), 0,
	    "%s", err);
	o = parse(out);
	cr_assert(!json_object_get_boolean(jget(o, "duplicate")));
	snprintf(id, sizeof(id), "%lld", jint(o, "id"));
	cr_assert_str_eq(th_sql("SELECT unique_key = sha256(convert_to('&kind=k&args="
	    "{\"a\":{\"z\":1,\"y\":2.50},\"b\":1}&period=' || to_char(date_trunc('hour',"
	    " scheduled_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " || '&queue=mail', 'UTF8')) AND unique_states = x'F5'"
	    " FROM river_job WHERE id = %s", id), "t");

	/* the same args spelled otherwise: the first job's id, nothing inserted */
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{\"a\":{\"z\":1,\"y\":2.50},\"b\":1}",
	    "--queue", "mail", "--unique-by", "args,queue,period=1h", NULL), 0, "%s", err);
	cr_assert_eq(strtoll(out, NULL, 10), strtoll(id, NULL, 10), "%s", out);
	cr_assert(strstr(err, "duplicate"), "%s", err);
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{\"b\":1,\"a\":{\"z\":1,\"y\":2.50}}",
	    "--queue", "mail", "--unique-by", "args,queue,period=1h", "--json", NULL), 0);
	o = parse(out);
	cr_assert(json_object_get_boolean(jget(o, "duplicate")));
	cr_assert_str_eq(jstr(o, "id"), id);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_job"), "1");

	/* another queue is another key when the queue is part of it */
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{}", "--queue", "other",
	    "--unique-by", "queue", "--json", NULL), 0, "%s", err);
	cr_assert(!json_object_get_boolean(jget(parse(out), "duplicate")));
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{\"x\": 1}", "--queue", "other",
	    "--unique-by", "queue", "--json", NULL), 0, "%s", err);
	cr_assert(json_object_get_boolean(jget(parse(out), "duplicate")));

	/* a discarded holder no longer counts (River's default states, 0xF5) */
	th_sql_ok("UPDATE river_job SET state = 'discarded', finalized_at = now()");
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "k", "{\"b\":1,\"a\":{\"z\":1,\"y\":2.50}}",
	    "--queue", "mail", "--unique-by", "args,queue,period=1h", "--json", NULL), 0);
	cr_assert(!json_object_get_boolean(jget(parse(out), "duplicate")));
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_job"), "3");

	/*
	 * Go's time.Truncate counts from January 1 of year 1: a week starts on
	 * Monday 2025-12-29 there, not on Thursday 2026-01-01 as from 1970.
	 */
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "w", "{}", "--at", "2026-01-01T10:17:00Z",
	    "--unique-by", "period=7d", "--json", NULL), 0, "%s", err);
	cr_assert_str_eq(th_sql("SELECT unique_key = sha256(convert_to("
	    "'&kind=w&period=2025-12-29T00:00:00Z', 'UTF8')) FROM river_job"
	    " WHERE id = %lld", jint(parse(out), "id")), "t");
}

Test(ops, bad_usage_changes_nothing)
{
	static const char *const cases[][8] = {
		{ "retry", NULL },
		{ "retry", "abc", NULL },
		{ "retry", "0", NULL },
		{ "retry", "--state", "bogus", "--yes", NULL },
		{ "retry", "--state", "running", "--yes", NULL },
		{ "cancel", "1", "--kind", "a", NULL },
		{ "delete", "--bogus", NULL },
		{ "pause", NULL },
		{ "pause", "", NULL },
		{ "resume", "a", "b", NULL },
		{ "stats", "--window", "0s", NULL },
		{ "stats", "--window", NULL },
		{ "supervisors", "--since", "soon", NULL },
		{ "ps", "extra", NULL },
		{ "stuck", "--bogus", NULL },
		{ "queues", "x", NULL },
		{ "webhooks", "disable", WH, NULL },
		{ "webhooks", "enable", "not-a-uuid", NULL },
		{ "deliveries", NULL },
		{ "deliveries", WH, "--limit", "0", NULL },
		{ "enqueue", "k", "{}", "--unique-by", "colour", NULL },
		{ "enqueue", "k", "{}", "--unique-by", "period=5", NULL },
		{ "enqueue", "k", "{}", "--unique-by", "", NULL },
	};
	char	*before, *out, *err;
	size_t	 i;
	int	 rc;

	job(1, "discarded", "a", "q");
	job(2, "running", "a", "q");
	before = snapshot();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12];
		int n = 0, k;

		argv[n++] = th_bin("hivejobctl");
		for (k = 0; cases[i][k]; k++)
			argv[n++] = cases[i][k];
		argv[n] = NULL;
		rc = th_run(&out, &err, argv);
		cr_assert_eq(rc, 64, "%s %s: exit %d, stderr %s", cases[i][0],
		    cases[i][1] ? cases[i][1] : "", rc, err);
		cr_assert(strstr(err, "usage: hivejobctl"), "%s: %s", cases[i][0], err);
		cr_assert_str_eq(out, "");
	}
	cr_assert_str_eq(snapshot(), before);

	cr_assert_eq(th_ctl(&out, &err, "retry", "--help", NULL), 0);
	cr_assert(strncmp(out, "usage: hivejobctl retry ID...", 29) == 0, "%s", out);
	cr_assert_eq(th_ctl(&out, &err, "-d", "host=/nonexistent", "queues", NULL), 69);
}
