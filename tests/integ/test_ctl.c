/* hivejobctl enqueue, list and show against a real database. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "th.h"

static void
migrated(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

TestSuite(ctl, .init = migrated, .timeout = 60);

static json_object *
parse(const char *s)
{
	json_object *o = json_tokener_parse(s);

	cr_assert_not_null(o, "not JSON: %s", s);
	return o;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return json_object_get_string(v);
}

Test(ctl, enqueue_list_show_round_trip)
{
	char		*out, *err, id[32];
	json_object	*arr, *j, *tags;

	cr_assert_eq(th_ctl(&out, &err, "enqueue", "feedback_embedding",
	    "{\"feedback_record_id\": \"0b6f\", \"n\": [1, 2]}", "--queue", "enrich",
	    "--priority", "3", "--max-attempts", "7", "--tag", "demo", "--tag", "a-b",
	    NULL), 0, "%s", err);
	snprintf(id, sizeof(id), "%s", out);
	id[strcspn(id, "\n")] = '\0';
	cr_assert_str_eq(th_sql("SELECT max(id)::text FROM river_job"), id);
	cr_assert_str_eq(th_sql("SELECT format('%%s|%%s|%%s|%%s|%%s|%%s|%%s', state, kind,"
	    " queue, priority, max_attempts, tags, args) FROM river_job WHERE id = %s", id),
	    "available|feedback_embedding|enrich|3|7|{demo,a-b}|"
	    "{\"n\": [1, 2], \"feedback_record_id\": \"0b6f\"}");

	/* the table for people */
	cr_assert_eq(th_ctl(&out, &err, "list", NULL), 0, "%s", err);
	cr_assert(strncmp(out, "ID  STATE", 9) == 0, "%s", out);
	cr_assert(strstr(out, "available  0/7      enrich  feedback_embedding  3"), "%s", out);

	/* JSON, parsed back */
	cr_assert_eq(th_ctl(&out, &err, "list", "--json", NULL), 0, "%s", err);
	arr = parse(out);
	cr_assert_eq(json_object_array_length(arr), 1);
	j = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(j, "id"), id);
	cr_assert_str_eq(jstr(j, "state"), "available");
	cr_assert_str_eq(jstr(j, "kind"), "feedback_embedding");
	cr_assert_str_eq(jstr(j, "queue"), "enrich");
	cr_assert_str_eq(jstr(j, "priority"), "3");
	cr_assert_str_eq(jstr(j, "max_attempts"), "7");
	cr_assert(json_object_object_get_ex(j, "tags", &tags));
	cr_assert_eq(json_object_array_length(tags), 2);

	cr_assert_eq(th_ctl(&out, &err, "show", id, "--json", NULL), 0, "%s", err);
	j = parse(out);
	cr_assert_str_eq(jstr(j, "state"), "available");
	cr_assert_str_eq(jstr(j, "attempt"), "0");
	cr_assert(json_object_object_get_ex(j, "args", &tags));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(tags,
	    "feedback_record_id")), "0b6f");

	cr_assert_eq(th_ctl(&out, &err, "show", id, NULL), 0, "%s", err);
	cr_assert(strstr(out, "kind:          feedback_embedding\n"), "%s", out);
	cr_assert(strstr(out, "\"feedback_record_id\": \"0b6f\""), "%s", out);
}

Test(ctl, list_filters_and_limit)
{
	char *out, *err;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(th_ctl(NULL, NULL, "enqueue", i % 2 ? "a" : "b", "{}",
		    "--queue", i < 2 ? "q1" : "q2", NULL), 0);
	cr_assert_eq(th_ctl(&out, &err, "list", "--kind", "b", "--json", NULL), 0, "%s", err);
	cr_assert_eq(json_object_array_length(parse(out)), 3);
	cr_assert_eq(th_ctl(&out, &err, "list", "--queue", "q1", "--json", NULL), 0, "%s", err);
	cr_assert_eq(json_object_array_length(parse(out)), 2);
	cr_assert_eq(th_ctl(&out, &err, "list", "--limit", "4", "--json", NULL), 0, "%s", err);
	cr_assert_eq(json_object_array_length(parse(out)), 4);
	cr_assert_eq(th_ctl(&out, &err, "list", "--state", "completed", "--json", NULL), 0);
	cr_assert_str_eq(out, "[]\n");
	cr_assert_eq(th_ctl(&out, &err, "list", "--state", "nope", NULL), 64);
	cr_assert(strstr(err, "--state 'nope' is not a job state"), "%s", err);
}

Test(ctl, enqueue_at_schedules)
{
	char *err;

	cr_assert_eq(th_ctl(NULL, &err, "enqueue", "k", "{}", "--at", "+1h", NULL), 0, "%s", err);
	cr_assert_eq(th_ctl(NULL, &err, "enqueue", "k", "{}", "--at",
	    "2001-02-03T04:05:06Z", NULL), 0, "%s", err);
	cr_assert_str_eq(th_sql("SELECT string_agg(state || ' ' ||"
	    " (scheduled_at > now() + interval '59 minutes')::text, ',' ORDER BY id)"
	    " FROM river_job"), "scheduled true,available false");
	cr_assert_str_eq(th_sql("SELECT scheduled_at = '2001-02-03T04:05:06Z'"
	    " FROM river_job WHERE id = 2"), "t");
}

/* The notification River's client sends, in the enqueuing transaction. */
Test(ctl, enqueue_notifies)
{
	PGnotify *n;
	int i;

	th_sql_ok("LISTEN \"public.river_insert\"");
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "k", "{}", "--queue", "mail", NULL), 0);
	/* Committed before hivejobctl exited, but delivery is asynchronous. */
	for (i = 0, n = NULL; n == NULL && i < 100; i++) {
		struct pollfd pfd = { .fd = PQsocket(th_conn()), .events = POLLIN };

		(void)poll(&pfd, 1, 100);
		cr_assert_eq(PQconsumeInput(th_conn()), 1);
		n = PQnotifies(th_conn());
	}
	cr_assert_not_null(n, "no notification within 10 s");
	cr_assert_str_eq(n->relname, "public.river_insert");
	cr_assert_str_eq(n->extra, "{\"queue\" : \"mail\"}");
}

static void
refused(int want, const char *msg, const char *const *args)
{
	const char	*argv[16];
	char		*out, *err;
	int		 n = 0, rc;

	argv[n++] = th_bin("hivejobctl");
	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	rc = th_run(&out, &err, argv);
	cr_assert_eq(rc, want, "exit %d, want %d; stderr: %s", rc, want, err);
	cr_assert(strstr(err, msg), "stderr lacks '%s': %s", msg, err);
	cr_assert_str_eq(out, "");
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_job"), "0");
}

Test(ctl, bad_input_writes_nothing)
{
	char kind200[201];

	memset(kind200, 'k', 200);
	kind200[200] = '\0';
	refused(65, "ARGS_JSON is not valid JSON",
	    (const char *[]){ "enqueue", "k", "{\"a\": ", NULL });
	refused(65, "ARGS_JSON is not valid JSON",
	    (const char *[]){ "enqueue", "k", "{} {}", NULL });
	refused(65, "ARGS_JSON must be a JSON object, not array",
	    (const char *[]){ "enqueue", "k", "[1, 2]", NULL });
	refused(65, "ARGS_JSON must be a JSON object, not string",
	    (const char *[]){ "enqueue", "k", "\"x\"", NULL });
	refused(64, "--priority must be 1, 2, 3 or 4, got '5'",
	    (const char *[]){ "enqueue", "k", "{}", "--priority", "5", NULL });
	refused(64, "--max-attempts must be 1 to 32767",
	    (const char *[]){ "enqueue", "k", "{}", "--max-attempts", "0", NULL });
	refused(65, "KIND must be 1 to 127 characters of UTF-8, got an empty string",
	    (const char *[]){ "enqueue", "", "{}", NULL });
	refused(65, "KIND must be 1 to 127 characters of UTF-8, got a longer one",
	    (const char *[]){ "enqueue", kind200, "{}", NULL });
	refused(64, "unknown option '--bogus'",
	    (const char *[]){ "enqueue", "k", "{}", "--bogus", NULL });
	refused(64, "option '--queue' needs a value",
	    (const char *[]){ "enqueue", "k", "{}", "--queue", NULL });
	refused(64, "--tag 'no spaces'",
	    (const char *[]){ "enqueue", "k", "{}", "--tag", "no spaces", NULL });
	refused(64, "--at 'tomorrow-ish'",
	    (const char *[]){ "enqueue", "k", "{}", "--at", "tomorrow-ish", NULL });
	refused(64, "--at '+5 minutes'",
	    (const char *[]){ "enqueue", "k", "{}", "--at", "+5 minutes", NULL });
	refused(64, "expected KIND and ARGS_JSON",
	    (const char *[]){ "enqueue", "k", NULL });
	refused(64, "unknown command 'frobnicate'",
	    (const char *[]){ "frobnicate", NULL });
	refused(64, "job ID must be a positive integer",
	    (const char *[]){ "show", "abc", NULL });
	refused(65, "no job with id 12345",
	    (const char *[]){ "show", "12345", NULL });
	refused(69, "cannot connect to the database",
	    (const char *[]){ "-d", "host=/nonexistent", "enqueue", "k", "{}", NULL });
	refused(69, "cannot connect to the database",
	    (const char *[]){ "-d", "host=/nonexistent", "list", NULL });
}

Test(ctl, unmigrated_schema_says_so)
{
	char *err;

	cr_assert_eq(th_ctl(NULL, &err, "--schema", "nothing_here", "list", NULL), 69);
	cr_assert(strstr(err, "run: hivejobctl migrate"), "%s", err);
}
