/*
 * sql/roles.sql: the least-privilege group roles. Each test applies it to a
 * fresh database, gives a login user one role, and checks that user can do
 * its work and is refused (42501) the rest.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon d;

static int
apply_roles(char **err)
{
	/* th_run does not search PATH. */
	const char *argv[] = { "/bin/sh", "-c",
	    "exec psql -X -q -v schema=public -f sql/roles.sql", NULL };

	return th_run(NULL, err, argv);
}

static void
setup(void)
{
	char *err;

	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	cr_assert_eq(apply_roles(&err), 0, "roles.sql: %s", err);
}

static void
teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
}

TestSuite(roles, .init = setup, .fini = teardown, .timeout = 120);

/* A login user in role, unique to this test process. */
static char *
login(const char *prefix, const char *role)
{
	char *u = fmt("%s_%ld", prefix, (long)getpid());

	th_sql_ok("CREATE ROLE %s LOGIN IN ROLE %s", u, role);
	return u;
}

static PGconn *
conn_as(const char *user)
{
	PGconn *c = PQconnectdb(fmt("dbname=%s user=%s", th_db_name(), user));

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

/* The SQLSTATE of a statement run as user, or "ok". */
static char *
state_as(const char *user, const char *sql)
{
	PGconn		*c = conn_as(user);
	PGresult	*r = PQexec(c, sql);
	ExecStatusType	 st = PQresultStatus(r);
	char		*s;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		s = strdup("ok");
	else
		s = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?
		    PQresultErrorField(r, PG_DIAG_SQLSTATE) : "?");
	PQclear(r);
	PQfinish(c);
	return s;
}

#define DENIED(user, sql) \
	cr_assert_str_eq(state_as(user, sql), "42501", "%s: %s", user, sql)
#define ALLOWED(user, sql) \
	cr_assert_str_eq(state_as(user, sql), "ok", "%s: %s", user, sql)

Test(roles, applying_twice_is_a_no_op)
{
	const char	*acls = "SELECT md5(string_agg(relname || coalesce(relacl::text, '')"
	    " || coalesce((SELECT string_agg(attname || attacl::text, ',' ORDER BY attnum)"
	    "  FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL), ''),"
	    " ',' ORDER BY relname)) FROM pg_class c"
	    " WHERE relnamespace = 'public'::regnamespace";
	char		*err, *before;

	before = th_sql("%s", acls);
	cr_assert_eq(apply_roles(&err), 0, "%s", err);
	cr_assert_eq(apply_roles(&err), 0, "%s", err);
	cr_assert_str_eq(th_sql("%s", acls), before);
	cr_assert_str_eq(th_sql("SELECT string_agg(rolname || ':' || rolcanlogin,"
	    " ' ' ORDER BY rolname) FROM pg_roles WHERE rolname IN"
	    " ('hivejob_supervisor', 'hivejob_enqueue', 'hivejob_readonly')"),
	    "hivejob_enqueue:false hivejob_readonly:false hivejob_supervisor:false");
}

Test(roles, the_schema_variable_is_required)
{
	char		*err;
	const char	*argv[] = { "/bin/sh", "-c",
	    "exec psql -X -q -f sql/roles.sql", NULL };

	cr_assert_neq(th_run(NULL, &err, argv), 0, "%s", err);
	cr_assert(strstr(err, "set the schema"), "%s", err);
}

Test(roles, supervisor_runs_jobs_and_no_ddl)
{
	char		*sup = login("hj_sup", "hivejob_supervisor");
	const char	*was = getenv("PGUSER");
	char		*saved = was ? strdup(was) : NULL;

	setenv("PGUSER", sup, 1);
	th_daemon_start(&d, "[kind.fail]\nexec = %s/exit3.sh\n"
	    "[kind.webhook_dispatch]\nallow_cidrs = 127.0.0.1/32\n"
	    "https_only = false\nhttp_timeout = 2s\n"
	    "[periodic.x]\nkind = noop\nargs = {}\nschedule = @every 1s\n",
	    th_prefix());
	if (saved)
		setenv("PGUSER", saved, 1);
	else
		unsetenv("PGUSER");

	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "fail", "{}",
	    "--max-attempts", "2", NULL), 0);
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE id = 1"),
	    "%s", th_daemon_log(&d));
	/* Retried once (hivejob_finish's retry path), then discarded. */
	cr_assert(th_wait_sql("discarded", 30, "SELECT state FROM river_job WHERE id = 2"),
	    "%s", th_daemon_log(&d));
	cr_assert_str_eq(th_sql("SELECT attempt FROM river_job WHERE id = 2"), "2");
	cr_assert_str_eq(th_sql("SELECT errors[1]->>'error' FROM river_job WHERE id = 2"),
	    "exit status 3: could not reach the thing");
	/* It leads: the lease, leader and queue rows are its own. */
	cr_assert(th_wait_sql(fmt("test-%ld", (long)getpid()), 20,
	    "SELECT leader_id FROM hivejob_leader"), "%s", th_daemon_log(&d));
	cr_assert_str_eq(th_sql("SELECT count(*) FROM hivejob_supervisor"), "1");
	cr_assert_str_eq(th_sql("SELECT count(DISTINCT usename) || ' ' || min(usename)"
	    " FROM pg_stat_activity WHERE datname = current_database()"
	    " AND application_name LIKE 'hivejobd%%'"), fmt("1 %s", sup));
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_queue WHERE name = 'default'"), "1");
	/* Periodic runs: hivejob_periodic_run as the leader. */
	cr_assert(th_wait_sql("t", 20, "SELECT count(*) >= 2 FROM river_job"
	    " WHERE metadata->>'periodic' = 'x' AND state = 'completed'"),
	    "%s", th_daemon_log(&d));
	/* A webhook delivery that fails: the kind's load and apply write
	 * webhooks and webhook_deliveries with the supervisor's rights. */
	char *wh = th_sql("INSERT INTO webhooks (url, secret) VALUES"
	    " ('http://127.0.0.1:1/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') RETURNING id");
	long id = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES"
	    " ('webhook_dispatch', jsonb_build_object('webhook_id', '%s'::uuid,"
	    " 'event_id', 'e1', 'event_type', 't', 'payload', '{}'::jsonb), 1)"
	    " RETURNING id", wh);
	cr_assert(th_wait_sql("discarded", 30, "SELECT state FROM river_job WHERE id = %ld",
	    id), "%s", th_daemon_log(&d));
	cr_assert_str_eq(th_sql("SELECT count(*) FROM webhook_deliveries"), "1",
	    "%s", th_daemon_log(&d));
	cr_assert_str_eq(th_sql("SELECT consecutive_failures FROM webhooks"), "1");

	DENIED(sup, "CREATE TABLE public.sneaky (x int)");
	DENIED(sup, "DROP TABLE river_job");
	DENIED(sup, "ALTER TABLE river_job ADD COLUMN x int");
	DENIED(sup, "TRUNCATE river_job");
	DENIED(sup, "SELECT * FROM river_leader");
	DENIED(sup, "SELECT * FROM river_client");
	DENIED(sup, "INSERT INTO river_migration (line, version) VALUES ('x', 1)");
	DENIED(sup, "DELETE FROM webhooks");
	ALLOWED(sup, "SELECT count(*) FROM river_job");
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", th_daemon_log(&d));
}

/* The statement in README.md, "Enqueueing a webhook delivery from TypeScript". */
#define README_TS \
	"WITH job AS (" \
	"    INSERT INTO river_job (kind, args, max_attempts)" \
	"    VALUES ('webhook_dispatch'," \
	"            jsonb_build_object('webhook_id', $1::uuid," \
	"                               'event_id', $2::text," \
	"                               'event_type', $3::text," \
	"                               'payload', $4::jsonb," \
	"                               'occurred_at', $5::timestamptz)," \
	"            25)" \
	"    RETURNING id, queue" \
	")" \
	"SELECT id, pg_notify(current_schema() || '.river_insert'," \
	"                     jsonb_build_object('queue', queue)::text)" \
	"  FROM job"

Test(roles, enqueue_inserts_and_nothing_else)
{
	char		*enq = login("hj_enq", "hivejob_enqueue"), *out, *err;
	const char	*p[5] = { "7f1c2a52-57f4-4b4c-9c1e-4d6f0d7b7a01", "evt_1",
	    "feedback.created", "{\"x\": 1}", NULL };
	PGconn		*c = conn_as(enq);
	PGresult	*r = PQexecParams(c, README_TS, 5, NULL, p, NULL, NULL, 0);

	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	PQfinish(c);
	cr_assert_str_eq(th_sql("SELECT kind || ' ' || (args->>'event_id')"
	    " FROM river_job WHERE id = 1"), "webhook_dispatch evt_1");

	const char *ci = fmt("user=%s", enq);
	cr_assert_eq(th_ctl(&out, &err, "-d", ci, "enqueue", "noop", "{\"a\": 1}",
	    NULL), 0, "%s", err);
	cr_assert_eq(th_ctl(&out, &err, "-d", ci, "enqueue", "noop", "{\"a\": 2}",
	    "--unique-by", "args", NULL), 0, "%s", err);
	cr_assert_eq(th_ctl(&out, &err, "-d", ci, "enqueue", "noop", "{\"a\": 2}",
	    "--unique-by", "args", NULL), 0, "%s", err);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_job"), "3");

	DENIED(enq, "UPDATE river_job SET priority = 2");
	DENIED(enq, "DELETE FROM river_job");
	DENIED(enq, "SELECT args FROM river_job");
	DENIED(enq, "SELECT * FROM webhooks");
	DENIED(enq, "SELECT id FROM webhooks");
	DENIED(enq, "INSERT INTO river_queue (name) VALUES ('q')");
	DENIED(enq, "CREATE TABLE public.sneaky (x int)");
}

Test(roles, readonly_inspects_and_writes_nothing)
{
	char	*ro = login("hj_ro", "hivejob_readonly"), *out, *err;
	const char *ci = fmt("user=%s", ro);
	char	*wh;

	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	wh = th_sql("INSERT INTO webhooks (url, secret) VALUES"
	    " ('https://user:pw@example.com/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') RETURNING id");
	th_sql_ok("INSERT INTO webhook_deliveries (webhook_id, job_id, event_id,"
	    " attempt, status, class, duration_ms) VALUES ('%s', 1, 'e1', 1, 200,"
	    " 'ok', 12)", wh);

	const char *cmds[][4] = {
		{ "list", "--json", NULL },
		{ "show", "1", "--json", NULL },
		{ "stats", "--json", NULL },
		{ "queues", "--json", NULL },
		{ "supervisors", "--json", NULL },
		{ "ps", "--json", NULL },
		{ "stuck", "--json", NULL },
		{ "webhooks", "--json", NULL },
		{ "webhooks", NULL },
		{ "deliveries", wh, "--json", NULL },
		{ "migrate", "--status", NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_assert_eq(th_ctl(&out, &err, "-d", ci, cmds[i][0], cmds[i][1],
		    cmds[i][1] ? cmds[i][2] : NULL, NULL), 0,
		    "%s %s: %s", cmds[i][0], cmds[i][1] ? cmds[i][1] : "", err);
		if (strcmp(cmds[i][0], "webhooks") == 0)
			cr_assert_null(strstr(out, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "%s", out);
	}

	DENIED(ro, "INSERT INTO river_job (kind, args) VALUES ('noop', '{}')");
	DENIED(ro, "UPDATE river_job SET priority = 2");
	DENIED(ro, "DELETE FROM river_job");
	DENIED(ro, "UPDATE webhooks SET enabled = false");
	DENIED(ro, "UPDATE river_queue SET paused_at = now()");
	DENIED(ro, "SELECT secret FROM webhooks");
	DENIED(ro, "SELECT previous_secret FROM webhooks");
	DENIED(ro, "SELECT * FROM webhooks");
	DENIED(ro, "CREATE TABLE public.sneaky (x int)");
	cr_assert_neq(th_ctl(NULL, NULL, "-d", ci, "pause", "default", NULL), 0);
	ALLOWED(ro, "SELECT id, url FROM webhooks");
	ALLOWED(ro, "SELECT count(*) FROM river_leader, river_client,"
	    " river_client_queue, river_notification, hivejob_periodic,"
	    " feedback_records, embeddings");
}
