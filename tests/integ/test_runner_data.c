/*
 * hivejobd end to end, the data path: a kind's load and apply functions,
 * finishes that must not land on somebody else's attempt, remote cancel,
 * a thousand jobs each done exactly once, and what a job can reach of the
 * supervisor's and another job's secrets.
 *
 * Workers: tests/workers/datawork.c (args-driven; leaves a marker file per
 * run so a test can tell whether it ran) and tests/workers/snoop.c.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

#define DB_PASSWORD	"S3cretDbPw-7Qz9kLm"
#define TOKEN		"tok-Hx81Vq2Zr5WpN"
#define CANARY		"canary-Jf73Ka0pB"

static struct th_daemon	 d;
static char		 markers[64];	/* a world-writable directory */
static char		 secrets[64];	/* root-only: the holder's token file */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	/* Jobs run under slot uids: they must be able to leave markers here. */
	snprintf(markers, sizeof(markers), "/tmp/hivejob-marker.XXXXXX");
	cr_assert_not_null(mkdtemp(markers));
	cr_assert_eq(chmod(markers, 01777), 0);
	secrets[0] = '\0';
}

static void
teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
	if (markers[0])
		(void)nftw(markers, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (secrets[0])
		(void)nftw(secrets, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(runner_data, .init = setup, .fini = teardown, .timeout = 240);

/* How many times datawork ran job id (lines in its marker file). */
static int
runs(long id)
{
	char	 path[128], line[128];
	FILE	*f;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/%ld", markers, id);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Wait until datawork has started job id. */
static int
started(long id, int seconds)
{
	int i;

	for (i = 0; i < seconds * 20; i++) {
		if (runs(id) > 0)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Let a datawork job waiting with "wait_go" go on. */
static void
go(long id)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/%ld.go", markers, id);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT, 0644)) != -1);
	close(fd);
}

static long
enqueue(const char *kind, const char *args, int max_attempts)
{
	return qlong("INSERT INTO river_job (kind, args, max_attempts)"
	    " VALUES ('%s', '%s', %d) RETURNING id", kind, args, max_attempts);
}

/* All of these jobs have left available and running, within seconds. */
static void
wait_final(const char *where, int seconds)
{
	cr_assert(th_wait_sql("0", seconds, "SELECT count(*) FROM river_job WHERE (%s)"
	    " AND state IN ('available', 'running')", where),
	    "jobs still waiting or running: %s\n%s",
	    q("SELECT string_agg(id || ':' || state, ' ') FROM river_job WHERE %s", where),
	    th_daemon_log(&d));
}

/* ----- load ----- */

Test(runner_data, load_decides_before_the_worker_runs)
{
	long	id_null, id_complete, id_cancel, id_object, id_uuid, id_raise, id_noload;

	th_sql_ok("CREATE TABLE outputs (job_id bigint PRIMARY KEY, output jsonb,"
	    " input jsonb, state text)");
	th_sql_ok("CREATE FUNCTION t_load(job jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$"
	    " BEGIN"
	    "  CASE job->'args'->>'mode'"
	    "  WHEN 'null' THEN RETURN NULL;"
	    "  WHEN 'complete' THEN RETURN '{\"complete\": \"already sent\"}';"
	    "  WHEN 'cancel' THEN RETURN '{\"cancel\": \"customer deleted\"}';"
	    "  WHEN 'object' THEN RETURN jsonb_build_object('customer',"
	    "   job->'args'->'cust', 'name', 'Ada Lovelace');"
	    "  WHEN 'uuid' THEN RETURN jsonb_build_object('ref', (job->'args'->>'ref')::uuid);"
	    "  WHEN 'raise' THEN RAISE EXCEPTION 'lookup service down';"
	    "  END CASE;"
	    " END $$");
	th_sql_ok("CREATE FUNCTION t_store(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE sql AS $$"
	    " INSERT INTO outputs VALUES ((job->>'id')::bigint, outcome->'result',"
	    "  job->'input', outcome->>'state');"
	    " SELECT '{}'::jsonb $$");
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.ld]\nexec = %s/datawork\nload = t_load\napply = t_store\n"
	    "retry = schedule 1h\nmarker_dir = %s\n"
	    "[kind.noload]\nexec = %s/datawork\nmarker_dir = %s\n",
	    th_prefix(), markers, th_prefix(), markers);

	/* One statement: claimed together, so normally loaded in one batch. */
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES"
	    " ('ld', '{\"mode\": \"null\", \"need_input\": true}'),"
	    " ('ld', '{\"mode\": \"complete\", \"need_input\": true}'),"
	    " ('ld', '{\"mode\": \"cancel\", \"need_input\": true}'),"
	    " ('ld', '{\"mode\": \"object\", \"cust\": 42, \"need_input\": true}'),"
	    " ('ld', '{\"mode\": \"uuid\", \"ref\": \"not-a-uuid\", \"need_input\": true}'),"
	    " ('ld', '{\"mode\": \"raise\", \"need_input\": true}')");
	/* Without a load the worker gets no input: the check is real. */
	id_noload = enqueue("noload", "{\"need_input\": true}", 1);
	wait_final("true", 30);

	id_null = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'null'");
	id_complete = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'complete'");
	id_cancel = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'cancel'");
	id_object = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'object'");
	id_uuid = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'uuid'");
	id_raise = qlong("SELECT id FROM river_job WHERE args->>'mode' = 'raise'");

#define ROW(id) q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class'," \
	    " errors[1]->>'error', array_length(errors, 1), finalized_at IS NOT NULL)" \
	    " FROM river_job WHERE id = %ld", (id))

	/* NULL: the record is gone; cancelled, never run. */
	cr_assert_str_eq(ROW(id_null), "cancelled|1|load|load found nothing for this "
	    "job: the record it refers to is gone|1|t");
	cr_assert_eq(runs(id_null), 0);

	/* {"complete": ...}: done without running, no error recorded. */
	cr_assert_str_eq(ROW(id_complete), "completed|1||t");
	cr_assert_eq(runs(id_complete), 0);

	/* {"cancel": ...}: cancelled with the load's reason. */
	cr_assert_str_eq(ROW(id_cancel), "cancelled|1|load|cancelled by load: "
	    "customer deleted|1|t");
	cr_assert_eq(runs(id_cancel), 0);

	/* An object: the worker ran once, with it as input, and echoed it back. */
	cr_assert_str_eq(ROW(id_object), "completed|1||t", "%s",
	    q("SELECT errors FROM river_job WHERE id = %ld", id_object));
	cr_assert_eq(runs(id_object), 1);
	cr_assert_str_eq(q("SELECT output = '{\"customer\": 42, \"name\": \"Ada Lovelace\"}'"
	    " AND input = output AND state = 'completed' FROM outputs WHERE job_id = %ld",
	    id_object), "t", "%s", q("SELECT row_to_json(o) FROM outputs o"));

	/* A class 22 error in load: the args are bad; cancelled, bad_args. */
	cr_assert_str_eq(ROW(id_uuid), "cancelled|1|bad_args|args rejected by load: "
	    "invalid input syntax for type uuid: \"not-a-uuid\" (SQLSTATE 22P02)|1|t");
	cr_assert_eq(runs(id_uuid), 0);

	/* Any other error: retried later (schedule 1h), class load. */
	cr_assert_str_eq(ROW(id_raise), "retryable|1|load|load failed: lookup "
	    "service down (SQLSTATE P0001)|1|f");
	cr_assert_str_eq(q("SELECT scheduled_at > now() + interval '30 minutes'"
	    " FROM river_job WHERE id = %ld", id_raise), "t");
	cr_assert_eq(runs(id_raise), 0);

	/* Only the object job reached apply: early finishes have no apply. */
	cr_assert_str_eq(q("SELECT string_agg(job_id::text, ',') FROM outputs"),
	    fmt("%ld", id_object));

	cr_assert_str_eq(ROW(id_noload), "discarded|1|exit|exit status 3: datawork: "
	    "input missing|1|t");
	cr_assert_eq(runs(id_noload), 1);
#undef ROW
}

/* ----- apply ----- */

static void
apply_schema(void)
{
	th_sql_ok("CREATE TABLE effects (job_id bigint PRIMARY KEY, n int, outcome jsonb)");
	th_sql_ok("CREATE FUNCTION t_apply(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE plpgsql AS $$"
	    " BEGIN"
	    "  INSERT INTO effects VALUES ((job->>'id')::bigint,"
	    "   (job->'args'->>'n')::int, outcome);"
	    "  IF job->'args' ? 'dup' THEN"
	    "   INSERT INTO effects VALUES ((job->>'id')::bigint, 0, outcome);"
	    "  END IF;"
	    "  IF job->'args' ? 'div' THEN"
	    "   PERFORM 1 / (job->'args'->>'div')::int;"
	    "  END IF;"
	    "  IF job->'args' ? 'raise' THEN"
	    "   RAISE EXCEPTION 'downstream busy' USING ERRCODE = 'P0001';"
	    "  END IF;"
	    "  IF job->'args' ? 'cancel' THEN"
	    "   RETURN jsonb_build_object('cancel', job->'args'->>'cancel');"
	    "  END IF;"
	    "  RETURN '{}';"
	    " END $$");
}

Test(runner_data, apply_commits_with_the_finish_and_fails_alone)
{
	long id_div, id_dup, id_raise, id_cancel;

	apply_schema();
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.ap]\nexec = %s/datawork\napply = t_apply\nretry = schedule 1h\n",
	    th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'ap', jsonb_build_object('n', g)"
	    " FROM generate_series(1, 5) g");
	id_div = enqueue("ap", "{\"n\": 6, \"div\": 0}", 25);
	id_dup = enqueue("ap", "{\"n\": 9, \"dup\": true}", 25);
	id_raise = enqueue("ap", "{\"n\": 7, \"raise\": true}", 25);
	id_cancel = enqueue("ap", "{\"n\": 8, \"cancel\": \"no longer wanted\"}", 25);
	wait_final("true", 30);

	/* The five good ones: completed, each effect written by its own finish. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE (args->>'n')::int <= 5"
	    " AND state = 'completed' AND errors IS NULL"), "5", "%s",
	    q("SELECT string_agg(id || ':' || state, ' ') FROM river_job"));
	cr_assert_str_eq(q("SELECT string_agg(n::text, ',' ORDER BY n) FROM effects"
	    " WHERE n <= 5"), "1,2,3,4,5");
	cr_assert_str_eq(q("SELECT bool_and(e.outcome->>'state' = 'completed'"
	    " AND e.outcome->>'outcome' = 'complete') FROM effects e WHERE n <= 5"), "t");
	/*
	 * Atomic with the finish: the effect's row and the job's new row
	 * version were written by the same (sub)transaction.
	 */
	cr_assert_str_eq(q("SELECT count(*) FROM effects e JOIN river_job j ON j.id = e.job_id"
	    " WHERE e.n <= 5 AND e.xmin = j.xmin"), "5");

	/* Division by zero (22012): cancelled, class apply, its effect undone. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error', array_length(errors, 1)) FROM river_job WHERE id = %ld", id_div),
	    "cancelled|1|apply|apply t_apply failed: division by zero (SQLSTATE 22012)|1");
	cr_assert_str_eq(q("SELECT count(*) FROM effects WHERE job_id = %ld", id_div), "0");

	/* A unique violation (23505): cancelled too, both its inserts undone. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error' LIKE 'apply t_apply failed: duplicate key value violates unique"
	    " constraint %%(SQLSTATE 23505)', array_length(errors, 1)) FROM river_job WHERE id = %ld",
	    id_dup), "cancelled|1|apply|t|1", "%s",
	    q("SELECT errors[1] FROM river_job WHERE id = %ld", id_dup));
	cr_assert_str_eq(q("SELECT count(*) FROM effects WHERE job_id = %ld", id_dup), "0");

	/* P0001: retried later, class apply, its effect undone. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error', array_length(errors, 1)) FROM river_job WHERE id = %ld",
	    id_raise),
	    "retryable|1|apply|apply t_apply failed: downstream busy (SQLSTATE P0001)|1");
	cr_assert_str_eq(q("SELECT count(*) FROM effects WHERE job_id = %ld", id_raise), "0");

	/* {"cancel": "..."}: cancelled with apply's reason. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, errors[1]->>'error',"
	    " array_length(errors, 1), finalized_at IS NOT NULL) FROM river_job WHERE id = %ld",
	    id_cancel), "cancelled|1|no longer wanted|1|t");
}

/* The same, without a daemon: one hivejob_finish batch, one bad apply. */
Test(runner_data, apply_error_in_a_batch_undoes_only_its_job)
{
	apply_schema();
	th_sql_ok("INSERT INTO river_job (kind, args, state, attempt, attempted_at, attempted_by)"
	    " VALUES ('direct', '{\"n\": 1}', 'running', 1, now(), '{sup-a}'),"
	    "  ('direct', '{\"n\": 2, \"div\": 0}', 'running', 1, now(), '{sup-a}'),"
	    "  ('direct', '{\"n\": 3}', 'running', 1, now(), '{sup-a}')");
	cr_assert_str_eq(q("SELECT string_agg(job_id || ':' || job_state, ',' ORDER BY job_id)"
	    " FROM hivejob_finish('sup-a', (SELECT jsonb_agg(jsonb_build_object("
	    "  'id', id, 'attempt', attempt, 'outcome', 'complete', 'apply', 't_apply',"
	    "  'job', jsonb_build_object('id', id, 'args', args), 'result', NULL,"
	    "  'meta', '{\"class\": \"\"}'::jsonb, 'retry', '{\"policy\": \"exponential\"}'::jsonb))"
	    "  FROM river_job))"), "1:completed,2:cancelled,3:completed");
	cr_assert_str_eq(q("SELECT string_agg(job_id::text, ',' ORDER BY job_id) FROM effects"),
	    "1,3");
	cr_assert_str_eq(q("SELECT concat_ws('|', state, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error') FROM river_job WHERE id = 2"),
	    "cancelled|apply|apply t_apply failed: division by zero (SQLSTATE 22012)");
	cr_assert_str_eq(q("SELECT string_agg(state::text, ',' ORDER BY id) FROM river_job"),
	    "completed,cancelled,completed");
}

/* ----- finishes guarded by state, attempt and supervisor ----- */

Test(runner_data, late_finish_of_a_superseded_attempt_changes_nothing)
{
	long id;

	th_daemon_start(&d, "[kind.slow]\nexec = %s/datawork\ntimeout = 30s\n"
	    "marker_dir = %s\n", th_prefix(), markers);
	id = enqueue("slow", "{\"wait_go\": true}", 25);
	cr_assert(started(id, 20), "%s", th_daemon_log(&d));
	cr_assert_str_eq(q("SELECT state FROM river_job WHERE id = %ld", id), "running");

	/* A rescuer gave the job to another supervisor, which started attempt 2. */
	th_sql_ok("UPDATE river_job SET attempt = attempt + 1,"
	    " attempted_by = attempted_by || 'other-sup'::text WHERE id = %ld", id);
	go(id);

	cr_assert(th_daemon_log_wait(&d, fmt("job=%ld: finish not applied", id), 20),
	    "%s", th_daemon_log(&d));
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, attempted_by::text,"
	    " errors IS NULL, finalized_at IS NULL, metadata::text) FROM river_job WHERE id = %ld",
	    id), fmt("running|2|{test-%ld,other-sup}|t|t|{}", (long)getpid()));
	cr_assert_eq(th_daemon_stop(&d), 0);
	/* Stopping does not touch it either: it is not ours. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, errors IS NULL)"
	    " FROM river_job WHERE id = %ld", id), "running|2|t");
	cr_assert_eq(runs(id), 1);
}

Test(runner_data, finish_with_wrong_supervisor_or_attempt_is_refused)
{
	const char *unchanged = "running|1|t|t|{}";

	apply_schema();
	th_sql_ok("INSERT INTO river_job (kind, args, state, attempt, attempted_at, attempted_by)"
	    " VALUES ('direct', '{\"n\": 1}', 'running', 1, now(), '{sup-a}'),"
	    "  ('direct', '{\"n\": 2}', 'running', 1, now(), '{sup-a,sup-b}')");
#define ROW(id) q("SELECT concat_ws('|', state, attempt, errors IS NULL," \
	    " finalized_at IS NULL, metadata::text) FROM river_job WHERE id = %d", (id))
#define FINISH(sup, json) q("SELECT coalesce(job_state::text, 'NULL') FROM " \
	    "hivejob_finish('%s', '%s')", (sup), (json))

	/* Another supervisor's id. */
	cr_assert_str_eq(FINISH("x", "[{\"id\": 1, \"attempt\": 1, \"outcome\": \"complete\"}]"),
	    "NULL");
	cr_assert_str_eq(ROW(1), unchanged);
	/* Ours, but an older attempt: not a completion, not an error. */
	cr_assert_str_eq(FINISH("sup-a", "[{\"id\": 1, \"attempt\": 2, \"outcome\": \"complete\"}]"),
	    "NULL");
	cr_assert_str_eq(FINISH("sup-a", "[{\"id\": 1, \"attempt\": 0, \"outcome\": \"retry\","
	    " \"error\": \"late\"}]"), "NULL");
	cr_assert_str_eq(ROW(1), unchanged);
	/* Ours once, but somebody else attempted it since. */
	cr_assert_str_eq(FINISH("sup-a", "[{\"id\": 2, \"attempt\": 1, \"outcome\": \"retry\","
	    " \"error\": \"late\"}]"), "NULL");
	cr_assert_str_eq(ROW(2), unchanged);
	/* A refused finish runs no apply. */
	cr_assert_str_eq(FINISH("x", "[{\"id\": 1, \"attempt\": 1, \"outcome\": \"complete\","
	    " \"apply\": \"t_apply\", \"job\": {\"id\": 1, \"args\": {\"n\": 1}}}]"), "NULL");
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), "0");
	cr_assert_str_eq(ROW(1), unchanged);

	/* The right one lands, once. */
	cr_assert_str_eq(FINISH("sup-a", "[{\"id\": 1, \"attempt\": 1, \"outcome\": \"complete\"}]"),
	    "completed");
	cr_assert_str_eq(FINISH("sup-a", "[{\"id\": 1, \"attempt\": 1, \"outcome\": \"retry\","
	    " \"error\": \"again\"}]"), "NULL");
	cr_assert_str_eq(q("SELECT concat_ws('|', state, errors IS NULL) FROM river_job"
	    " WHERE id = 1"), "completed|t");
	cr_assert_str_eq(FINISH("sup-b", "[{\"id\": 2, \"attempt\": 1, \"outcome\": \"complete\"}]"),
	    "completed");
#undef ROW
#undef FINISH
}

/* ----- remote cancel ----- */

Test(runner_data, remote_cancel_stops_a_running_job)
{
	long id_sleep, id_fail;

	th_daemon_start(&d, "[kind.sleeper]\nexec = %s/datawork\ntimeout = 2m\n"
	    "marker_dir = %s\n", th_prefix(), markers);
	id_sleep = enqueue("sleeper", "{\"sleep\": 60}", 25);
	id_fail = enqueue("sleeper", "{\"wait_go\": true, \"exit\": 1}", 25);
	cr_assert(started(id_sleep, 20) && started(id_fail, 20), "%s", th_daemon_log(&d));

	/* What River's JobCancel does for a running job, in one transaction. */
	th_sql_ok("UPDATE river_job SET metadata = metadata || jsonb_build_object("
	    "'cancel_attempted_at', now()) WHERE id = %ld;"
	    " SELECT pg_notify('public.river_control', json_build_object('action', 'cancel',"
	    " 'job_id', %ld, 'queue', 'default')::text)", id_sleep, id_sleep);
	/* SIGTERM at once, SIGKILL after kill_grace (1s): far before its 60 s. */
	cr_assert(th_wait_sql("cancelled", 10, "SELECT state FROM river_job WHERE id = %ld",
	    id_sleep), "%s", th_daemon_log(&d));
	cr_assert_str_eq(q("SELECT concat_ws('|', attempt, errors[1]->>'error',"
	    " array_length(errors, 1), metadata->'hivejob'->>'signal',"
	    " finalized_at IS NOT NULL) FROM river_job WHERE id = %ld", id_sleep),
	    "1|job cancelled by request while running|1|15|t");
	cr_assert(th_daemon_log_wait(&d, fmt("job=%ld kind=sleeper cancelled by request",
	    id_sleep), 5));

	/* The notification was missed: the flag alone turns a failure into a cancel. */
	th_sql_ok("UPDATE river_job SET metadata = metadata || jsonb_build_object("
	    "'cancel_attempted_at', now()) WHERE id = %ld", id_fail);
	go(id_fail);
	wait_final(fmt("id = %ld", id_fail), 20);
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error', array_length(errors, 1)) FROM river_job WHERE id = %ld",
	    id_fail), fmt("cancelled|1|exit|exit status 1: datawork: job %ld done|1",
	    id_fail));
	cr_assert_eq(runs(id_fail), 1);
	cr_assert_eq(runs(id_sleep), 1);
}

/* ----- many jobs, each done exactly once ----- */

Test(runner_data, thousand_jobs_over_sixteen_children_each_done_once)
{
	char	*log, *p;
	int	 n = 0;

	th_sql_ok("CREATE TABLE done (job_id bigint PRIMARY KEY, attempt int NOT NULL)");
	th_sql_ok("CREATE TABLE counter (n int NOT NULL)");
	th_sql_ok("INSERT INTO counter VALUES (0)");
	/* A second effect for a job would break the key: visible either way. */
	th_sql_ok("CREATE FUNCTION t_count(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE sql AS $$"
	    " INSERT INTO done VALUES ((job->>'id')::bigint, (job->>'attempt')::int);"
	    " UPDATE counter SET n = n + 1;"
	    " SELECT '{}'::jsonb $$");
	th_daemon_start(&d, "max_children = 16\n[kind.noop]\napply = t_count\n");
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'noop', jsonb_build_object('i', g)"
	    " FROM generate_series(1, 1000) g");
	cr_assert(th_wait_sql("1000", 120, "SELECT count(*) FROM river_job WHERE state = 'completed'"),
	    "%s", q("SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n"
	    " FROM river_job GROUP BY state) s"));
	cr_assert_eq(th_daemon_stop(&d), 0);

	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), "1000");
	cr_assert_str_eq(q("SELECT count(*) FROM done"), "1000");
	cr_assert_str_eq(q("SELECT n FROM counter"), "1000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN done USING (attempt)"
	    " WHERE done.job_id = j.id"), "1000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE attempt = 1 AND errors IS NULL"
	    " AND finalized_at IS NOT NULL AND array_length(attempted_by, 1) = 1"
	    " AND metadata->'hivejob'->>'class' = ''"), "1000");
	/* And each ran once: one end per job in the log. */
	log = th_daemon_log(&d);
	for (p = log; (p = strstr(p, " kind=noop attempt=1 outcome=complete")) != NULL; p++)
		n++;
	cr_assert_eq(n, 1000, "%d job ends logged", n);
	cr_assert_null(strstr(log, "attempt=2"));
	free(log);
}

/* ----- isolation ----- */

/*
 * th_daemon_start, but with a password in [database] conninfo and in the
 * daemon's environment (trust authentication ignores it; no job may ever
 * see it), and a configuration file only root can read, as in production.
 */
static void
daemon_start_pw(struct th_daemon *dd, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*f;
	char	*extra;
	int	 fd;

	memset(dd, 0, sizeof(*dd));
	snprintf(dd->dir, sizeof(dd->dir), "/tmp/hivejob-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dd->dir));
	chmod(dd->dir, 0755);
	snprintf(dd->conf, sizeof(dd->conf), "%s/hivejobd.conf", dd->dir);
	snprintf(dd->log, sizeof(dd->log), "%s/log", dd->dir);
	dd->uid_base = 2100000 + (unsigned)(getpid() % 20000) * 64;

	va_start(ap, fmt);
	cr_assert(vasprintf(&extra, fmt, ap) >= 0);
	va_end(ap);
	cr_assert((fd = open(dd->conf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fprintf(f, "[database]\nconninfo = password=%s\n\n[supervisor]\nid = test-%ld\n"
	    "job_uid_base = %u\nworkdir = %s/work\npoll_interval = 200ms\n"
	    "kill_grace = 1s\nuser = nobody\n%s\n", DB_PASSWORD, (long)getpid(),
	    dd->uid_base, dd->dir, extra);
	fclose(f);
	free(extra);
	cr_assert_eq(chown(dd->dir, 65534, 65534), 0);

	dd->pid = fork();
	cr_assert(dd->pid >= 0);
	if (dd->pid == 0) {
		fd = open(dd->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		dup2(fd, 1);
		setenv("HIVEJOB_LIBEXEC", th_prefix(), 1);
		setenv("PGPASSWORD", DB_PASSWORD, 1);
		execl(th_bin("hivejobd"), "hivejobd", "-v", "-c", dd->conf, (char *)NULL);
		_exit(127);
	}
	cr_assert(th_daemon_log_wait(dd, "database connection listen established", 20),
	    "hivejobd did not come up:\n%s", th_daemon_log(dd));
}

/* The pid of the worker running job id under one of the daemon's slot uids. */
static pid_t
job_pid(const struct th_daemon *dd, long id, int nslots)
{
	char		 path[64], want[64], buf[65536], line[256];
	DIR		*dir;
	struct dirent	*de;
	FILE		*f;
	pid_t		 found = 0;
	unsigned	 uid;
	ssize_t		 n;
	int		 fd, wl;

	wl = snprintf(want, sizeof(want), "HIVEJOB_JOB_ID=%ld", id) + 1;
	cr_assert_not_null(dir = opendir("/proc"));
	while (found == 0 && (de = readdir(dir)) != NULL) {
		pid_t p = (pid_t)atoi(de->d_name);
		if (p <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		uid = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %u", &uid) == 1)
				break;
		fclose(f);
		if (uid < dd->uid_base || uid >= dd->uid_base + (unsigned)nslots)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)p);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0 && memmem(buf, (size_t)n, want, (size_t)wl) != NULL)
			found = p;
	}
	closedir(dir);
	return found;
}

static int
have_cap_sys_ptrace(void)
{
	char			 line[256];
	unsigned long long	 eff = 0;
	FILE			*f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 19) & 1;	/* CAP_SYS_PTRACE */
}

Test(runner_data, isolation_a_job_reaches_no_secret)
{
	char		 token_path[128], docpath[160], *out, *report, *log, *conf_path;
	const char	*argv[3];
	long		 id_holder, id_snoop;
	pid_t		 hpid;
	FILE		*f;
	int		 fd, rc;

	if (!th_root())
		cr_skip_test("needs root: without it jobs share the supervisor's uid");

	/* The holder's secret: a root-only file the supervisor reads as root. */
	snprintf(secrets, sizeof(secrets), "/tmp/hivejob-secret.XXXXXX");
	cr_assert_not_null(mkdtemp(secrets));
	snprintf(token_path, sizeof(token_path), "%s/token", secrets);
	cr_assert((fd = open(token_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	cr_assert_eq(write(fd, TOKEN "\n", strlen(TOKEN) + 1), (ssize_t)strlen(TOKEN) + 1);
	close(fd);

	th_sql_ok("CREATE TABLE snoop_report (job_id bigint PRIMARY KEY, output jsonb)");
	th_sql_ok("CREATE FUNCTION t_snoop(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE sql AS $$"
	    " INSERT INTO snoop_report VALUES ((job->>'id')::bigint, outcome->'result');"
	    " SELECT '{}'::jsonb $$");
	daemon_start_pw(&d, "max_children = 4\n"
	    "[kind.holder]\nexec = %s/datawork\ntimeout = 60s\nmarker_dir = %s\n"
	    "token_file = %s\n"
	    "[kind.snoop]\nexec = %s/snoop\ntimeout = 60s\napply = t_snoop\n",
	    th_prefix(), markers, token_path, th_prefix());
	conf_path = d.conf;

	/* Another job, holding its secret in memory until told to go. */
	id_holder = enqueue("holder", "{\"wait_go\": true}", 1);
	cr_assert(started(id_holder, 20), "%s", th_daemon_log(&d));
	cr_assert((hpid = job_pid(&d, id_holder, 4)) > 0, "holder's process not found");

	/* The secrets travel reversed; the canary plain and reversed. */
	id_snoop = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('snoop',"
	    " jsonb_build_object('n1', reverse('%s'), 'n2', reverse('%s'),"
	    "  'nc', reverse('%s'), 'canary', '%s', 'sup', %d, 'holder', %d,"
	    "  'files', '%s:%s:%s', 'attack', true, 'all', true), 1) RETURNING id",
	    DB_PASSWORD, TOKEN, CANARY, CANARY, (int)d.pid, (int)hpid,
	    conf_path, token_path, d.log);
	wait_final(fmt("id = %ld", id_snoop), 60);
	report = q("SELECT output->>'report' FROM snoop_report WHERE job_id = %ld", id_snoop);
	cr_assert_str_eq(q("SELECT state FROM river_job WHERE id = %ld", id_snoop), "completed",
	    "snoop found something:\n%s\n%s", q("SELECT errors[1]->>'trace' FROM river_job"
	    " WHERE id = %ld", id_snoop), th_daemon_log(&d));
	/* What it saw: the canary in its own memory, and every door shut. */
	cr_assert(strstr(report, "FOUND nc in self mem"), "%s", report);
	cr_assert(strstr(report, "kill(supervisor, 0): EPERM"), "%s", report);
	cr_assert(strstr(report, "kill(holder, 9): EPERM"), "%s", report);
	cr_assert(strstr(report, "ptrace attach to supervisor: EPERM"), "%s", report);
	cr_assert(strstr(report, "ptrace attach to holder: EPERM"), "%s", report);
	cr_assert(strstr(report, "supervisor mem: Permission denied") ||
	    strstr(report, "supervisor maps: Permission denied"), "%s", report);
	cr_assert(strstr(report, "holder mem: Permission denied") ||
	    strstr(report, "holder maps: Permission denied"), "%s", report);
	cr_assert(strstr(report, fmt("open %s: Permission denied", conf_path)),
	    "%s", report);
	cr_assert(strstr(report, fmt("open %s: Permission denied", token_path)),
	    "%s", report);
	cr_assert_null(strstr(report, "PROBLEM"), "%s", report);

	/*
	 * The same search as root finds the secrets where they are: the
	 * search would have seen them had the job been able to look.
	 */
	snprintf(docpath, sizeof(docpath), "%s/snoop-doc", secrets);
	cr_assert_not_null(f = fopen(docpath, "w"));
	fprintf(f, "%s\n", q("SELECT json_build_object('args', args - 'all' - 'attack')"
	    " FROM river_job WHERE id = %ld", id_snoop));
	fclose(f);
	argv[0] = fmt("%s/snoop", th_prefix());
	argv[1] = docpath;
	argv[2] = NULL;
	rc = th_run(&out, NULL, argv);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, fmt("PROBLEM FOUND n1 in %s", conf_path)), "%s", out);
	cr_assert(strstr(out, fmt("PROBLEM FOUND n2 in %s", token_path)), "%s", out);
	if (have_cap_sys_ptrace()) {
		cr_assert(strstr(out, "PROBLEM FOUND n1 in supervisor environ"), "%s", out);
		cr_assert(strstr(out, "PROBLEM FOUND n1 in supervisor mem"), "%s", out);
		cr_assert(strstr(out, "PROBLEM FOUND n2 in holder mem"), "%s", out);
	}

	/* The holder lived through it and completes. */
	go(id_holder);
	wait_final(fmt("id = %ld", id_holder), 20);
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt) FROM river_job WHERE id = %ld",
	    id_holder), "completed|1", "%s", q("SELECT errors FROM river_job WHERE id = %ld",
	    id_holder));
	cr_assert_eq(runs(id_holder), 1);

	cr_assert_eq(th_daemon_stop(&d), 0);
	log = th_daemon_log(&d);
	cr_assert_null(strstr(log, DB_PASSWORD), "the log shows the database password");
	cr_assert_null(strstr(log, TOKEN), "the log shows the holder's token");
	free(log);
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE concat(errors::text,"
	    " metadata::text) LIKE '%%%s%%' OR concat(errors::text, metadata::text) LIKE '%%%s%%'",
	    DB_PASSWORD, TOKEN), "0");
}
