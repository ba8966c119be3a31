/*
 * hivejobd survives: a supervisor killed with SIGKILL and restarted, one
 * killed and never restarted (its rows rescued by the leader), three
 * draining one queue with one leader, SIGTERM drains and their interruption
 * cap, SIGHUP reloads, and the lease row itself.
 *
 * Exactly-once is counted where it cannot be faked: a kind's apply function
 * inserts the job's id into a table keyed on it (a second effect would fail
 * the finish, visibly) and bumps a counter. Timings of recovery and rescue
 * are printed on stderr ("survive: ...").
 *
 * Workers: tests/workers/nap.c (sleeps args.ms) and tests/workers/datawork.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

#define NDAEMONS	4

static struct th_daemon	 ds[NDAEMONS];

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

/* Whatever a failed test left running goes: a crash is fine here. */
static void
teardown(void)
{
	int i;

	for (i = 0; i < NDAEMONS; i++)
		if (ds[i].pid > 0)
			th_daemon_kill(&ds[i]);
}

TestSuite(survive, .init = setup, .fini = teardown, .timeout = 300);

/* ----- helpers ----- */

/* Every daemon's log, for a failure message. */
static char *
logs(void)
{
	char	*all = strdup(""), *l, *t;
	int	 i;

	for (i = 0; i < NDAEMONS; i++) {
		if (ds[i].log[0] == '\0')
			continue;
		l = th_daemon_log(&ds[i]);
		t = fmt("%s\n--- %s (%s) ---\n%s", all, ds[i].id, ds[i].log, l);
		free(all);
		free(l);
		all = t;
	}
	return all;
}

/* Occurrences of text in d's current log. */
static int
log_count(const struct th_daemon *d, const char *text)
{
	char	*s = th_daemon_log(d), *p;
	int	 n = 0;

	for (p = s; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(s);
	return n;
}

/*
 * Effects of apply: one row per job (a second one fails the key), a counter,
 * and every transition out of running with the class it left with, so that
 * what a rescue or a recovery wrote is seen even after the rerun overwrote
 * metadata.hivejob.
 */
static void
effects_schema(int with_counter)
{
	th_sql_ok("CREATE TABLE effects (job_id bigint PRIMARY KEY, attempt int NOT NULL)");
	th_sql_ok("CREATE TABLE counter (n int NOT NULL)");
	th_sql_ok("INSERT INTO counter VALUES (0)");
	th_sql_ok("CREATE FUNCTION t_count(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE sql AS $$"
	    " INSERT INTO effects VALUES ((job->>'id')::bigint, (job->>'attempt')::int);"
	    " %s"
	    " SELECT '{}'::jsonb $$", with_counter ? "UPDATE counter SET n = n + 1;" : "");
	th_sql_ok("CREATE TABLE transitions (job_id bigint, attempt int, state text,"
	    " class text, rescued_from text, error text, at timestamptz)");
	th_sql_ok("CREATE FUNCTION t_trans() RETURNS trigger LANGUAGE plpgsql AS $$"
	    " BEGIN"
	    "  INSERT INTO transitions VALUES (NEW.id, OLD.attempt, NEW.state,"
	    "   NEW.metadata->'hivejob'->>'class', NEW.metadata->'hivejob'->>'rescued_from',"
	    "   NEW.errors[array_upper(NEW.errors, 1)]->>'error', clock_timestamp());"
	    "  RETURN NULL;"
	    " END $$");
	th_sql_ok("CREATE TRIGGER t_trans AFTER UPDATE ON river_job FOR EACH ROW"
	    " WHEN (OLD.state = 'running' AND NEW.state <> 'running')"
	    " EXECUTE FUNCTION t_trans()");
}

/* hivejobd's backends in this test's database. */
#define BACKENDS "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()" \
	" AND application_name = 'hivejobd'"

/* Rewrite a file, replacing the first occurrence of from with to. */
static void
file_replace(const char *path, const char *from, const char *to)
{
	FILE	*f;
	char	*s = NULL, *p;
	size_t	 n = 0;

	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert(getdelim(&s, &n, '\0', f) != -1);
	fclose(f);
	cr_assert_not_null(p = strstr(s, from), "%s has no '%s'", path, from);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	fclose(f);
	free(s);
}

/* ----- 1. SIGKILL and restart under the same id ----- */

Test(survive, kill9_and_restart_every_job_once)
{
	struct th_daemon	*d = &ds[0];
	long			 nlost, t0, t_rec, t_all;
	char			*log;

	effects_schema(1);
	th_daemon_start(d, "max_children = 16\n"
	    "[kind.nap]\nexec = %s/nap\napply = t_count\ntimeout = 30s\n", th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'nap',"
	    " jsonb_build_object('ms', 50 + (g * 37) %% 151) FROM generate_series(1, 2000) g");
	cr_assert(th_wait_sql("t", 120, "SELECT count(*) >= 300 FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), logs());
	cr_assert_str_eq(q(BACKENDS), "2");

	/* A crash, in the middle of it all. */
	cr_assert_eq(th_daemon_kill(d), SIGKILL);
	/*
	 * The dead daemon's backends finish what they had (a finish may still
	 * commit): once they are gone, the rows left running are the lost ones.
	 */
	cr_assert(th_wait_sql("0", 10, BACKENDS), "backends of the killed hivejobd remain");
	th_sql_ok("CREATE TABLE lost AS SELECT id, attempt FROM river_job WHERE state = 'running'");
	nlost = qlong("SELECT count(*) FROM lost");
	fprintf(stderr, "survive: kill -9 with %ld row(s) running; %s\n", nlost, states());
	cr_assert(nlost > 0, "nothing was running when killed: %s", states());
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"
	    " AND attempted_by[array_upper(attempted_by, 1)] = '%s'", d->id), fmt("%ld", nlost));
	cr_assert(qlong("SELECT count(*) FROM river_job WHERE state = 'available'") > 0,
	    "the queue drained before the kill: %s", states());

	/* Restarted under the same id: its predecessor's rows come back at once. */
	th_sql_ok("CREATE TABLE restarted AS SELECT clock_timestamp() AS at");
	t0 = mono_ms();
	th_daemon_restart(d);
	cr_assert(th_wait_sql("0", 60, "SELECT count(*) FROM river_job j JOIN lost l"
	    " USING (id) WHERE j.state = 'running' AND j.attempt = l.attempt"),
	    "rows of the dead process still running: %s\n%s", states(), logs());
	t_rec = mono_ms() - t0;
	fprintf(stderr, "survive: restart to recovered (no row running under the dead pid):"
	    " %ld ms for %ld row(s)\n", t_rec, nlost);
	cr_assert_lt(t_rec, 10000, "recovery took %ld ms", t_rec);
	/* The same, to the millisecond, by the database's clock. */
	fprintf(stderr, "survive: restart to the last lost row recovered, database clock:"
	    " %s ms\n", q("SELECT round(extract(epoch FROM max(t.at) - r.at) * 1000)"
	    " FROM transitions t JOIN lost l ON l.id = t.job_id AND l.attempt = t.attempt,"
	    " restarted r GROUP BY r.at"));

	cr_assert(th_wait_sql("2000", 180, "SELECT count(*) FROM river_job WHERE state = 'completed'"),
	    "%s\n%s", states(), logs());
	t_all = mono_ms() - t0;
	fprintf(stderr, "survive: restart to all 2000 completed: %ld ms\n", t_all);
	cr_assert_eq(th_daemon_stop(d), 0);

	/* Each job's effect exactly once, from the attempt that completed it. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), "2000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed'"), "2000",
	    "%s", states());
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), "2000");
	cr_assert_str_eq(q("SELECT n FROM counter"), "2000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), "2000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "0");

	/* The lost ones: retried once, class lost, the error says why. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN lost l USING (id)"
	    " WHERE j.attempt = l.attempt + 1 AND array_length(j.errors, 1) = 1"
	    " AND j.errors[1]->>'error' = 'the supervisor that ran this attempt stopped;"
	    " it was restarted'"), fmt("%ld", nlost), "%s",
	    q("SELECT string_agg(j.id || ':' || j.attempt || ':' || coalesce(j.errors::text, ''),"
	    " ' ') FROM river_job j JOIN lost l USING (id)"));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions t JOIN lost l"
	    " ON l.id = t.job_id AND l.attempt = t.attempt WHERE t.class = 'lost'"),
	    fmt("%ld", nlost), "%s", q("SELECT string_agg(row_to_json(t)::text, E'\\n')"
	    " FROM transitions t JOIN lost l ON l.id = t.job_id"));
	/* The others ran once, without an error. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE attempt = 1 AND errors IS NULL"
	    " AND NOT id IN (SELECT id FROM lost)"), fmt("%ld", 2000 - nlost));
	log = th_daemon_log(d);
	cr_assert(strstr(log, fmt("recovered %ld job(s) left running under supervisor id \"%s\""
	    " (a predecessor's: retried, class lost)", nlost, d->id)), "%s", log);
	free(log);
}

/* ----- 2. SIGKILL, never restarted: the leader rescues ----- */

static void
rescue(int kill_leader)
{
	const char	*conf = "lease = 3s\nmax_children = 8\n"
			    "[kind.nap]\nexec = %s/nap\napply = t_count\ntimeout = 30s\n";
	struct th_daemon *victim, *survivor;
	char		*leader;
	long		 nlost, t0, t_rescue;
	int		 n = 600;

	effects_schema(1);
	th_daemon_start_n(&ds[0], 0, conf, th_prefix());
	th_daemon_start_n(&ds[1], 1, conf, th_prefix());
	cr_assert(th_wait_sql("1", 20, "SELECT count(*) FROM hivejob_leader"), "%s", logs());
	leader = q("SELECT leader_id FROM hivejob_leader");
	cr_assert(strcmp(leader, ds[0].id) == 0 || strcmp(leader, ds[1].id) == 0,
	    "leader %s", leader);
	victim = (strcmp(leader, ds[0].id) == 0) == kill_leader ? &ds[0] : &ds[1];
	survivor = victim == &ds[0] ? &ds[1] : &ds[0];

	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'nap',"
	    " jsonb_build_object('ms', 100 + (g * 37) %% 201) FROM generate_series(1, %d) g", n);
	/* Both at work, the victim with rows running. */
	cr_assert(th_wait_sql("t", 60, "SELECT count(*) FILTER (WHERE state = 'completed') >= 50"
	    " AND count(*) FILTER (WHERE state = 'running'"
	    "  AND attempted_by[array_upper(attempted_by, 1)] = '%s') >= 4 FROM river_job",
	    victim->id), "%s\n%s", states(), logs());
	cr_assert_str_eq(q(BACKENDS), "4");

	t0 = mono_ms();
	cr_assert_eq(th_daemon_kill(victim), SIGKILL);
	cr_assert(th_wait_sql("2", 10, BACKENDS), "backends of the killed hivejobd remain");
	th_sql_ok("CREATE TABLE lost AS SELECT id, attempt FROM river_job WHERE state = 'running'"
	    " AND attempted_by[array_upper(attempted_by, 1)] = '%s'", victim->id);
	nlost = qlong("SELECT count(*) FROM lost");
	fprintf(stderr, "survive: kill -9 of the %s %s with %ld row(s) running; %s\n",
	    kill_leader ? "leader" : "follower", victim->id, nlost, states());
	cr_assert(nlost > 0, "%s", states());

	cr_assert(th_wait_sql("0", 60, "SELECT count(*) FROM river_job j JOIN lost l"
	    " USING (id) WHERE j.state = 'running' AND j.attempt = l.attempt"),
	    "the dead supervisor's rows were not rescued: %s\n%s", states(), logs());
	t_rescue = mono_ms() - t0;
	fprintf(stderr, "survive: kill -9 of the %s to its %ld row(s) rescued: %ld ms"
	    " (lease 3s)\n", kill_leader ? "leader" : "follower", nlost, t_rescue);
	cr_assert_lt(t_rescue, 30000, "rescue took %ld ms", t_rescue);

	cr_assert(th_wait_sql(fmt("%d", n), 120, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), logs());

	/* The survivor leads (it did, or it took over) and did the rescue. */
	cr_assert_str_eq(q("SELECT leader_id FROM hivejob_leader"), survivor->id);
	th_sql_ok("CREATE TABLE elected AS SELECT elected_at AS at FROM hivejob_leader");
	cr_assert(th_daemon_log_wait(survivor, "rescued ", 1), "%s", logs());
	if (kill_leader)
		cr_assert(th_daemon_log_wait(survivor, "leading the hivejob supervisors", 1));
	cr_assert_eq(th_daemon_stop(survivor), 0);

	/* Every job once. */
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT n FROM counter"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "0");

	/*
	 * Each rescued row: class lost, from the victim, never before the
	 * victim's lease lapsed; then run again, by the survivor.
	 */
	cr_assert_str_eq(q("SELECT count(*) FROM transitions t JOIN lost l"
	    " ON l.id = t.job_id AND l.attempt = t.attempt"
	    " WHERE t.class = 'lost' AND t.rescued_from = '%s'"
	    " AND t.error LIKE 'rescued: supervisor \"%s\" (host %%) stopped renewing its lease%%'"
	    " AND t.at > (SELECT lease_expires_at FROM hivejob_supervisor WHERE id = '%s')",
	    victim->id, victim->id, victim->id), fmt("%ld", nlost), "%s",
	    q("SELECT string_agg(row_to_json(t)::text, E'\\n') FROM transitions t"
	    " JOIN lost l ON l.id = t.job_id"));
	/* A new leader rescues only after leading for a whole lease. */
	if (kill_leader)
		cr_assert_str_eq(q("SELECT bool_and(t.at >= (SELECT at FROM elected)"
		    " + interval '3 seconds') FROM transitions t JOIN lost l"
		    " ON l.id = t.job_id AND l.attempt = t.attempt"), "t", "%s",
		    q("SELECT string_agg(t.at::text, ' ') || ' elected ' || (SELECT at"
		    " FROM elected) FROM transitions t JOIN lost l ON l.id = t.job_id"));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN lost l USING (id)"
	    " WHERE j.state = 'completed' AND j.attempt = l.attempt + 1"
	    " AND j.attempted_by[array_upper(j.attempted_by, 1)] = '%s'"
	    " AND j.errors[1]->>'error' LIKE 'rescued: %%'", survivor->id), fmt("%ld", nlost));
}

Test(survive, kill9_leader_never_restarted_rows_rescued)
{
	rescue(1);
}

Test(survive, kill9_follower_never_restarted_rows_rescued)
{
	rescue(0);
}

/* ----- 3. Three supervisors, one queue, one leader ----- */

#define CONF3	"max_children = 6\n[kind.noop]\napply = t_count\n"

Test(survive, three_supervisors_drain_ten_thousand_once_one_leader)
{
	char		*leader, *elected, *l;
	long		 polls = 0, t0;
	int		 i, done = 0;
	PGresult	*r;

	effects_schema(0);
	for (i = 0; i < 3; i++)
		th_daemon_start_n(&ds[i], i, "%s", CONF3);
	cr_assert(th_wait_sql("1", 20, "SELECT count(*) FROM hivejob_leader"), "%s", logs());
	leader = q("SELECT leader_id FROM hivejob_leader");
	elected = q("SELECT elected_at FROM hivejob_leader");

	t0 = mono_ms();
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'noop', jsonb_build_object('i', g)"
	    " FROM generate_series(1, 10000) g");
	/* While they drain: one leader row, the same one, all along. */
	while (!done) {
		cr_assert_lt(mono_ms() - t0, 200000, "not drained in 200 s: %s\n%s",
		    states(), logs());
		r = PQexec(th_conn(), "SELECT (SELECT count(*) FROM river_job"
		    "  WHERE state = 'completed'),"
		    " (SELECT count(*) FROM hivejob_leader),"
		    " (SELECT string_agg(leader_id || '@' || elected_at, ',') FROM hivejob_leader)");
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(th_conn()));
		l = fmt("%s@%s", leader, elected);
		cr_assert_str_eq(PQgetvalue(r, 0, 1), "1", "leader rows: %s", PQgetvalue(r, 0, 2));
		cr_assert_str_eq(PQgetvalue(r, 0, 2), l, "the leader changed");
		free(l);
		done = strcmp(PQgetvalue(r, 0, 0), "10000") == 0;
		PQclear(r);
		polls++;
		if (!done)
			usleep(100000);
	}
	fprintf(stderr, "survive: three supervisors drained 10000 jobs in %ld ms, one leader"
	    " (%s) over %ld polls\n", mono_ms() - t0, leader, polls);
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_supervisor WHERE leader"), "1");
	cr_assert_str_eq(q("SELECT id FROM hivejob_supervisor WHERE leader"), leader);
	for (i = 0; i < 3; i++)
		cr_assert_eq(th_daemon_stop(&ds[i]), 0, "%s", logs());

	/* Each claimed once, by one supervisor, and its effect once. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), "10000");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed'"
	    " AND attempt = 1 AND cardinality(attempted_by) = 1 AND errors IS NULL"), "10000",
	    "%s", q("SELECT string_agg(id || ':' || state || ':' || attempt || ':' ||"
	    " attempted_by::text, ' ') FROM (SELECT * FROM river_job WHERE attempt <> 1"
	    " OR cardinality(attempted_by) <> 1 LIMIT 20) j"));
	cr_assert_str_eq(q("SELECT count(*) FROM effects WHERE attempt = 1"), "10000");
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state <> 'completed'"), "0");
	fprintf(stderr, "survive: jobs per supervisor: %s\n",
	    q("SELECT string_agg(s || '=' || n, ' ' ORDER BY s) FROM (SELECT attempted_by[1] s,"
	    " count(*) n FROM river_job GROUP BY 1) x"));
	/* All three worked the queue. */
	for (i = 0; i < 3; i++)
		cr_assert_gt(qlong("SELECT count(*) FROM river_job WHERE attempted_by[1] = '%s'",
		    ds[i].id), 0, "%s did nothing", ds[i].id);
}

/* ----- 4. SIGTERM: drain, interruptions, the second signal ----- */

Test(survive, sigterm_drain_timeout_gives_the_attempt_back)
{
	struct th_daemon	*d = &ds[0];
	long			 t0, el;
	int			 rc;

	th_daemon_start(d, "drain_timeout = 1s\nmax_children = 4\n"
	    "[kind.long]\nexec = %s/datawork\ntimeout = 2m\n", th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'long', '{\"sleep\": 30}'"
	    " FROM generate_series(1, 3)");
	cr_assert(th_wait_sql("3", 20, "SELECT count(*) FROM river_job WHERE state = 'running'"),
	    "%s\n%s", states(), logs());
	usleep(300000);	/* started, and a little way in */

	t0 = mono_ms();
	kill(d->pid, SIGTERM);
	rc = th_daemon_wait(d, 20);
	el = mono_ms() - t0;
	fprintf(stderr, "survive: SIGTERM with drain_timeout 1s: exited %d after %ld ms\n", rc, el);
	cr_assert_eq(rc, 0, "%s", logs());
	cr_assert_geq(el, 900, "exited before the drain timeout");
	cr_assert_lt(el, 10000);
	cr_assert(th_daemon_log_wait(d, "drain timeout: killing 3 job(s)", 1), "%s", logs());

	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "0");
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', state, attempt,"
	    " metadata->>'interruptions', errors IS NULL, finalized_at IS NULL), ',')"
	    " FROM river_job"), "available|0|1|t|t,available|0|1|t|t,available|0|1|t|t",
	    "%s", q("SELECT json_agg(j) FROM river_job j"));
	/* Its lease went with it, and so did its leadership. */
	cr_assert_str_eq(q("SELECT lease_expires_at <= now() FROM hivejob_supervisor"
	    " WHERE id = '%s'", d->id), "t");
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_leader"), "0");
}

Test(survive, sigterm_interruption_cap_counts_the_attempt)
{
	struct th_daemon	*d = &ds[0];
	long			 id_cap, id_last, id_fresh;

	th_daemon_start(d, "drain_timeout = 1s\nmax_interruptions = 1\nmax_children = 4\n"
	    "[kind.long]\nexec = %s/datawork\ntimeout = 2m\n", th_prefix());
	id_cap = qlong("INSERT INTO river_job (kind, args, metadata) VALUES ('long',"
	    " '{\"sleep\": 30}', '{\"interruptions\": 1}') RETURNING id");
	id_last = qlong("INSERT INTO river_job (kind, args, metadata, max_attempts) VALUES"
	    " ('long', '{\"sleep\": 30}', '{\"interruptions\": 1}', 1) RETURNING id");
	id_fresh = qlong("INSERT INTO river_job (kind, args) VALUES ('long', '{\"sleep\": 30}')"
	    " RETURNING id");
	cr_assert(th_wait_sql("3", 20, "SELECT count(*) FROM river_job WHERE state = 'running'"),
	    "%s\n%s", states(), logs());
	usleep(300000);
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());

	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "0");
	/* Interrupted before, at the cap: this one counts, and is retried. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->>'interruptions',"
	    " metadata->'hivejob'->>'class', errors[1]->>'error', array_length(errors, 1))"
	    " FROM river_job WHERE id = %ld", id_cap),
	    "available|1|1|interrupted|interrupted by shutdown too many times|1",
	    "%s", q("SELECT row_to_json(j) FROM river_job j WHERE id = %ld", id_cap));
	/* The same with no attempt left: discarded. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error', finalized_at IS NOT NULL) FROM river_job WHERE id = %ld",
	    id_last), "discarded|1|interrupted|interrupted by shutdown too many times|t");
	/* Below the cap: given back, counted. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, metadata->>'interruptions',"
	    " errors IS NULL) FROM river_job WHERE id = %ld", id_fresh), "available|0|1|t");
}

Test(survive, sigterm_drains_then_second_sigterm_ends_it_at_once)
{
	struct th_daemon	*d = &ds[0];
	long			 t0, el, id_short, id_late;
	int			 rc;

	th_daemon_start(d, "drain_timeout = 60s\nmax_children = 4\n"
	    "[kind.long]\nexec = %s/datawork\ntimeout = 2m\n", th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'long', '{\"sleep\": 30}'"
	    " FROM generate_series(1, 2)");
	id_short = qlong("INSERT INTO river_job (kind, args) VALUES ('long', '{\"sleep\": 2}')"
	    " RETURNING id");
	cr_assert(th_wait_sql("3", 20, "SELECT count(*) FROM river_job WHERE state = 'running'"),
	    "%s\n%s", states(), logs());
	usleep(300000);

	kill(d->pid, SIGTERM);
	cr_assert(th_daemon_log_wait(d, "stopping: no new claims, 3 job(s) running", 10),
	    "%s", logs());
	/* Enqueued during the drain, with a notification: never claimed. */
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	id_late = qlong("SELECT max(id) FROM river_job");
	/* A job that ends within the drain ends as it would have. */
	cr_assert(th_wait_sql("completed", 10, "SELECT state FROM river_job WHERE id = %ld",
	    id_short), "%s\n%s", states(), logs());
	usleep(500000);
	cr_assert_eq(th_daemon_wait(d, 0), -1, "exited before its jobs did: %s", logs());
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "2");
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt) FROM river_job WHERE id = %ld",
	    id_late), "available|0");

	t0 = mono_ms();
	kill(d->pid, SIGTERM);
	rc = th_daemon_wait(d, 20);
	el = mono_ms() - t0;
	fprintf(stderr, "survive: second SIGTERM to exit: %ld ms (drain_timeout 60s)\n", el);
	cr_assert_eq(rc, 0, "%s", logs());
	cr_assert_lt(el, 5000, "the second SIGTERM took %ld ms", el);
	cr_assert(th_daemon_log_wait(d, "second stop signal: killing 2 job(s) now", 1),
	    "%s", logs());
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', state, attempt,"
	    " metadata->>'interruptions'), ',' ORDER BY id) FROM river_job"
	    " WHERE id NOT IN (%ld, %ld)", id_short, id_late),
	    "available|0|1,available|0|1");
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, errors IS NULL) FROM river_job"
	    " WHERE id = %ld", id_short), "completed|1|t");
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt) FROM river_job WHERE id = %ld",
	    id_late), "available|0");
}

/* ----- 5. SIGHUP ----- */

Test(survive, sighup_new_limits_apply_to_new_jobs_broken_file_refused)
{
	struct th_daemon	*d = &ds[0];
	long			 id_old, id_new, id_noop, id_kept, id_fresh;
	char			*s, *p;
	FILE			*f;
	int			 line = 1;

	th_daemon_start(d, "max_children = 4\n"
	    "[kind.slow]\nexec = %s/datawork\ntimeout = 30s\n", th_prefix());
	id_old = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('slow',"
	    " '{\"sleep\": 4}', 1) RETURNING id");
	cr_assert(th_wait_sql("running", 20, "SELECT state FROM river_job WHERE id = %ld", id_old),
	    "%s", logs());

	/* A shorter timeout, and a kind that was not there. */
	file_replace(d->conf, "timeout = 30s", fmt("timeout = 1s\n"
	    "[kind.fresh]\nexec = %s/nap\n", th_prefix()));
	kill(d->pid, SIGHUP);
	cr_assert(th_daemon_log_wait(d, "configuration reloaded", 10), "%s", logs());
	id_new = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('slow',"
	    " '{\"sleep\": 4}', 1) RETURNING id");
	id_fresh = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('fresh',"
	    " '{\"ms\": 10}', 1) RETURNING id");
	cr_assert(th_wait_sql("0", 30, "SELECT count(*) FROM river_job WHERE state IN"
	    " ('available', 'running')"), "%s\n%s", states(), logs());

	/* Started before the reload: it kept its 30 s and ran its 4. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, errors IS NULL,"
	    " (metadata->'hivejob'->>'wall_ms')::int >= 3900) FROM river_job WHERE id = %ld",
	    id_old), "completed|1|t|t", "%s", q("SELECT row_to_json(j) FROM river_job j"
	    " WHERE id = %ld", id_old));
	cr_assert_str_eq(q("SELECT concat_ws('|', state, attempt, errors IS NULL) FROM river_job"
	    " WHERE id = %ld", id_fresh), "completed|1|t");
	/* Started after: 1 s. */
	cr_assert_str_eq(q("SELECT concat_ws('|', state, metadata->'hivejob'->>'class',"
	    " errors[1]->>'error' LIKE 'timeout after 1s %%') FROM river_job WHERE id = %ld",
	    id_new), "discarded|timeout|t", "%s", q("SELECT row_to_json(j) FROM river_job j"
	    " WHERE id = %ld", id_new));

	/* A broken file: refused with its file:line, the running config kept. */
	cr_assert_not_null(f = fopen(d->conf, "r"));
	cr_assert(getdelim(&s, &(size_t){0}, '\0', f) != -1);
	fclose(f);
	for (p = s; *p; p++)
		line += *p == '\n';
	if (p > s && p[-1] != '\n')
		line++;
	cr_assert_not_null(f = fopen(d->conf, "a"));
	fprintf(f, "%s[kind.broken\nexec = /bin/true\n", p > s && p[-1] != '\n' ? "\n" : "");
	fclose(f);
	free(s);
	kill(d->pid, SIGHUP);
	cr_assert(th_daemon_log_wait(d, "reload refused", 10), "%s", logs());
	cr_assert(th_daemon_log_wait(d, fmt("reload refused, keeping the running configuration:"
	    " %s:%d: ", d->conf, line), 1), "want %s:%d in\n%s", d->conf, line, logs());
	cr_assert_eq(log_count(d, "configuration reloaded"), 1);

	id_noop = qlong("INSERT INTO river_job (kind, args) VALUES ('noop', '{}') RETURNING id");
	id_kept = qlong("INSERT INTO river_job (kind, args, max_attempts) VALUES ('slow',"
	    " '{\"sleep\": 3}', 1) RETURNING id");
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE id = %ld",
	    id_noop), "%s\n%s", states(), logs());
	/* The running configuration is the reloaded one: still 1 s. */
	cr_assert(th_wait_sql("discarded", 20, "SELECT state FROM river_job WHERE id = %ld",
	    id_kept), "%s\n%s", states(), logs());
	cr_assert_str_eq(q("SELECT errors[1]->>'error' LIKE 'timeout after 1s %%' FROM river_job"
	    " WHERE id = %ld", id_kept), "t");
	cr_assert_eq(th_daemon_stop(d), 0);
}

/*
 * A reload that drops kinds while their jobs are claimed: one inside its
 * load, one of another kind waiting for the work connection to load it.
 * The daemon lives on, and those jobs end as they would for any kind it
 * does not know, to be retried.
 */
Test(survive, sighup_dropping_kinds_during_their_load)
{
	struct th_daemon	*d = &ds[0];
	const char		*unknown = "available|1|unknown_kind|job kind is not"
				    " registered in the client's Workers bundle: ";

	th_sql_ok("CREATE FUNCTION slow_load(j jsonb) RETURNS jsonb LANGUAGE sql"
	    " AS $$ SELECT pg_sleep(2); SELECT '{\"ok\": true}'::jsonb $$");
	th_daemon_start(d, "max_children = 4\n"
	    "[kind.gone]\nexec = %s/nap\nload = slow_load\n"
	    "[kind.gone2]\nexec = %s/nap\nload = slow_load\n", th_prefix(), th_prefix());
	/* One claim takes both; one load call per kind, one at a time. */
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('gone', '{}'), ('gone2', '{}')");
	cr_assert(th_wait_sql("2", 10, "SELECT count(*) FROM river_job WHERE state = 'running'"),
	    "%s", logs());
	file_replace(d->conf, "[kind.gone]", "[kind.other]");
	file_replace(d->conf, "[kind.gone2]", "[kind.other2]");
	kill(d->pid, SIGHUP);
	cr_assert(th_daemon_log_wait(d, "configuration reloaded", 10), "%s", logs());
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'running'"), "2",
	    "a load ended before the reload: the test proves nothing\n%s", logs());

	cr_assert(th_wait_sql("0", 20, "SELECT count(*) FROM river_job WHERE state = 'running'"),
	    "%s\n%s", states(), logs());
	cr_assert_eq(th_daemon_wait(d, 0), -1, "hivejobd died:\n%s", logs());
	cr_assert_str_eq(q("SELECT string_agg(concat_ws('|', state, attempt,"
	    " metadata->'hivejob'->>'class', errors[1]->>'error'), ',' ORDER BY id)"
	    " FROM river_job"), fmt("%sgone,%sgone2", unknown, unknown), "%s", logs());
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('noop', '{}')");
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE kind = 'noop'"),
	    "%s", logs());
	cr_assert_eq(th_daemon_stop(d), 0);
}

/* ----- 6. The lease ----- */

Test(survive, lease_row_renewed_exclusive_and_released)
{
	struct th_daemon	*a = &ds[1], *same = &ds[2], *overlap = &ds[0];
	char			 host[256], *exp1, *log;
	int			 rc;

	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	th_daemon_start_n(a, 1, "max_children = 4\n[kind.nap]\nexec = %s/nap\n", th_prefix());
	cr_assert(th_wait_sql("1", 10, "SELECT count(*) FROM hivejob_supervisor WHERE id = '%s'",
	    a->id));
	cr_assert_str_eq(q("SELECT concat_ws('|', pid, host, uid_base, uid_count,"
	    " lease_expires_at > now(), lease_expires_at <= now() + interval '10 seconds')"
	    " FROM hivejob_supervisor WHERE id = '%s'", a->id),
	    fmt("%d|%s|%u|4|t|t", (int)a->pid, host, a->uid_base));

	/* Renewed: the expiry moves forward (every third of the 10 s lease). */
	exp1 = q("SELECT lease_expires_at FROM hivejob_supervisor WHERE id = '%s'", a->id);
	cr_assert(th_wait_sql("t", 10, "SELECT lease_expires_at > '%s' AND lease_expires_at > now()"
	    " FROM hivejob_supervisor WHERE id = '%s'", exp1, a->id), "%s", logs());

	/* A job of the holder's runs while others try to start. */
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('nap', '{\"ms\": 3000}')");
	cr_assert(th_wait_sql("running|1", 10, "SELECT state || '|' || attempt FROM river_job"),
	    "%s", logs());

	/* The same id while it lives: refused, naming the holder. */
	th_daemon_spawn_n(same, 1, "max_children = 4\n");
	rc = th_daemon_wait(same, 20);
	log = th_daemon_log(same);
	cr_assert_eq(rc, 78, "%s", log);
	cr_assert(strstr(log, fmt("supervisor id \"%s\" is held by a live supervisor on host %s,"
	    " pid %d", a->id, host, (int)a->pid)), "%s", log);
	free(log);

	/* Another id, but uids overlapping a live one's on this host: refused. */
	th_daemon_spawn_n(overlap, 0, "max_children = 20\n");
	rc = th_daemon_wait(overlap, 20);
	log = th_daemon_log(overlap);
	cr_assert_eq(rc, 78, "%s", log);
	cr_assert(strstr(log, fmt("job uids %u-%u overlap those of live supervisor \"%s\"",
	    overlap->uid_base, overlap->uid_base + 19, a->id)), "%s", log);
	free(log);
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_supervisor"), "1");

	/* The holder was not disturbed: its lease, its leadership, its job. */
	cr_assert_str_eq(q("SELECT pid FROM hivejob_supervisor WHERE id = '%s'", a->id),
	    fmt("%d", (int)a->pid));
	cr_assert(th_wait_sql(a->id, 10, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	/* Killed, it would have an error and a second attempt. */
	cr_assert(th_wait_sql("completed|1|t", 20, "SELECT concat_ws('|', state, attempt,"
	    " errors IS NULL) FROM river_job"), "%s", logs());

	/* A clean stop lets the lease and the leadership go. */
	cr_assert_eq(th_daemon_stop(a), 0);
	cr_assert_str_eq(q("SELECT lease_expires_at <= now() FROM hivejob_supervisor"
	    " WHERE id = '%s'", a->id), "t");
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_leader WHERE leader_id = '%s'", a->id),
	    "0");
}

/* The leader stops cleanly: it resigns, and another leads at once, not a lease later. */
Test(survive, clean_stop_of_the_leader_hands_over_at_once)
{
	long	t0, el;

	th_daemon_start_n(&ds[0], 0, "%s", "");
	cr_assert(th_wait_sql(ds[0].id, 10, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	th_daemon_start_n(&ds[1], 1, "%s", "");
	cr_assert(th_wait_sql("1", 10, "SELECT count(*) FROM hivejob_supervisor WHERE id = '%s'"
	    " AND lease_expires_at > now()", ds[1].id), "%s", logs());
	cr_assert_str_eq(q("SELECT leader_id FROM hivejob_leader"), ds[0].id);

	t0 = mono_ms();
	cr_assert_eq(th_daemon_stop(&ds[0]), 0, "%s", logs());
	cr_assert(th_wait_sql(ds[1].id, 20, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	el = mono_ms() - t0;
	fprintf(stderr, "survive: leader stopped to new leader: %ld ms (lease 10s)\n", el);
	cr_assert_lt(el, 5000, "leadership moved only after %ld ms", el);
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_leader"), "1");
	cr_assert_eq(th_daemon_stop(&ds[1]), 0, "%s", logs());
	cr_assert_str_eq(q("SELECT count(*) FROM hivejob_leader"), "0");
}
