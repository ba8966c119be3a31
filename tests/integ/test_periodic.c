/*
 * Periodic jobs and retention, both the leader's work: a schedule's runs
 * across a restart of the leader and a change of leader (each run enqueued
 * once, none missing), catch_up for runs missed while no supervisor was
 * up, and the cleaner's retention of finalized rows.
 *
 * Periodic jobs go to a queue no daemon here works, so their rows stay
 * where they were put. A run is identified by metadata.periodic_run_at;
 * with `@every N` the runs are the multiples of N seconds since the epoch,
 * so "no gap, no double" is: consecutive multiples, each exactly once.
 * Timings are printed on stderr ("periodic: ...").
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon	 ds[2];

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (ds[i].pid > 0)
			th_daemon_kill(&ds[i]);
}

TestSuite(periodic, .init = setup, .fini = teardown, .timeout = 180);

/* ----- helpers ----- */

static char *
file_read(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s = NULL;
	size_t	 n = 0;

	if (f == NULL)
		return strdup("");
	if (getdelim(&s, &n, '\0', f) == -1) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

static int
count_in(const char *s, const char *text)
{
	const char	*p;
	int		 n = 0;

	for (p = s; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	return n;
}

/* Every log of every daemon, rotated ones too, for a failure message. */
static char *
logs(void)
{
	char	*all = strdup(""), *l, *t, *path;
	int	 i, k;

	for (i = 0; i < 2; i++) {
		if (ds[i].log[0] == '\0')
			continue;
		for (k = 1; k <= ds[i].restarts; k++) {
			path = fmt("%s.%d", ds[i].log, k);
			l = file_read(path);
			t = fmt("%s\n--- %s (%s) ---\n%s", all, ds[i].id, path, l);
			free(all);
			free(l);
			free(path);
			all = t;
		}
		l = th_daemon_log(&ds[i]);
		t = fmt("%s\n--- %s (%s) ---\n%s", all, ds[i].id, ds[i].log, l);
		free(all);
		free(l);
		all = t;
	}
	return all;
}

/* Occurrences of text in all of d's logs, rotated ones too. */
static int
log_count_all(const struct th_daemon *d, const char *text)
{
	char	*l, *path;
	int	 k, n = 0;

	for (k = 1; k <= d->restarts; k++) {
		path = fmt("%s.%d", d->log, k);
		l = file_read(path);
		n += count_in(l, text);
		free(l);
		free(path);
	}
	l = th_daemon_log(d);
	n += count_in(l, text);
	free(l);
	return n;
}

/* The database's clock, unix seconds (fractional). */
static double
db_now(void)
{
	char	*v = q("SELECT extract(epoch FROM clock_timestamp())");
	double	 t = atof(v);

	free(v);
	return t;
}

/*
 * The schedule every test uses: a kind nobody here runs, on a queue
 * nobody here works, with arguments whose keys are out of order (the key
 * uses their sorted form).
 */
#define PERIODIC(sched, extra) \
	"[periodic.x]\nkind = tick\nargs = {\"b\": 2, \"a\": 1}\nschedule = " sched "\n" \
	"queue = pq\npriority = 2\nmax_attempts = 3\n" extra

/* A run's time, unix seconds, from the job row. */
#define RUN_AT	"extract(epoch FROM (metadata->>'periodic_run_at')::timestamptz)::bigint"
#define RUNS	"(SELECT id, created_at, " RUN_AT " AS t FROM river_job" \
		" WHERE metadata->>'periodic' = 'x') r"

static char *
runs_list(void)
{
	return q("SELECT string_agg(t || '@' || to_char(created_at, 'HH24:MI:SS.MS'), ' '"
	    " ORDER BY t, id) FROM " RUNS);
}

/*
 * The runs are consecutive multiples of period, each once, at least min
 * of them; every row is what the section says, with River's unique key,
 * and none was enqueued before its run came due. Returns how many.
 */
static long
assert_runs(int period, long min)
{
	long n = qlong("SELECT count(*) FROM " RUNS);

	cr_assert_geq(n, min, "%ld run(s): %s\n%s", n, runs_list(), logs());
	cr_assert_str_eq(q("SELECT concat_ws('|', count(DISTINCT t), (max(t) - min(t)) / %d + 1,"
	    " bool_and(t %% %d = 0)) FROM " RUNS, period, period), fmt("%ld|%ld|t", n, n),
	    "runs not consecutive multiples of %d, each once: %s\n%s", period, runs_list(),
	    logs());
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE metadata->>'periodic' = 'x'"
	    " AND kind = 'tick' AND queue = 'pq' AND priority = 2 AND max_attempts = 3"
	    " AND state = 'available' AND args = '{\"a\": 1, \"b\": 2}'"
	    " AND unique_states IS NOT NULL"
	    " AND unique_key = sha256(convert_to('&kind=tick&args={\"a\":1,\"b\":2}&period='"
	    "  || to_char((metadata->>'periodic_run_at')::timestamptz AT TIME ZONE 'UTC',"
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '&queue=pq', 'UTF8'))"), fmt("%ld", n),
	    "%s", q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM (SELECT * FROM"
	    " river_job WHERE metadata->>'periodic' = 'x' LIMIT 3) j"));
	/* Never before it came due: created_at is the enqueueing transaction's. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE metadata->>'periodic' = 'x'"
	    " AND created_at < (metadata->>'periodic_run_at')::timestamptz"), "0",
	    "runs enqueued before they came due: %s", q("SELECT string_agg(id || ': run at '"
	    " || (metadata->>'periodic_run_at') || ', enqueued at ' || created_at, E'\\n')"
	    " FROM river_job WHERE metadata->>'periodic' = 'x'"
	    " AND created_at < (metadata->>'periodic_run_at')::timestamptz"));
	return n;
}

/* The latest enqueueing delay of the runs in (from, to], seconds. */
static double
max_late(double from, double to)
{
	char	*v = q("SELECT coalesce(max(extract(epoch FROM created_at) - t), 0) FROM " RUNS
	    " WHERE t > %.3f AND t <= %.3f", from, to);
	double	 l = atof(v);

	free(v);
	return l;
}

/* ----- 1. A restart of the leader ----- */

Test(periodic, leader_restarted_runs_in_the_gap_enqueued_once)
{
	struct th_daemon	*d = &ds[0];
	double			 t_start, t_stop, t_restart;
	long			 n, n_before, last_before, t0, t_caught;
	char			*log;

	t_start = db_now();
	th_daemon_start(d, PERIODIC("@every 2s", ""));
	cr_assert(th_wait_sql("t", 30, "SELECT count(*) >= 3 FROM " RUNS), "%s\n%s",
	    runs_list(), logs());
	/* A new schedule starts from now: no run before the daemon started. */
	cr_assert_str_eq(q("SELECT min(t) > %.3f FROM " RUNS, t_start), "t", "%s", runs_list());

	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());
	t_stop = db_now();
	n_before = qlong("SELECT count(*) FROM " RUNS);
	last_before = qlong("SELECT max(t) FROM " RUNS);
	/* Down long enough for several runs to come due, well within the grace. */
	cr_assert(th_wait_sql("t", 30, "SELECT next_run_at < now() - interval '5 seconds'"
	    " FROM hivejob_periodic WHERE name = 'x'"));
	t_restart = db_now();
	cr_assert_eq(qlong("SELECT count(*) FROM " RUNS), n_before, "enqueued while stopped");

	t0 = mono_ms();
	th_daemon_restart(d);
	/* Caught up: every run due at the restart enqueued. */
	cr_assert(th_wait_sql("t", 30, "SELECT max(t) >= %.0f - 2 FROM " RUNS, t_restart),
	    "%s\n%s", runs_list(), logs());
	t_caught = mono_ms() - t0;
	/* And it goes on. */
	cr_assert(th_wait_sql("t", 30, "SELECT max(t) >= %.0f + 4 FROM " RUNS, t_restart),
	    "%s\n%s", runs_list(), logs());
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());

	n = assert_runs(2, n_before + 5);
	/* The gap: runs after the last one before the stop, due before the restart. */
	cr_assert_geq(qlong("SELECT count(*) FROM " RUNS " WHERE t > %ld AND t <= %.3f",
	    last_before, t_restart), 3, "%s", runs_list());
	fprintf(stderr, "periodic: leader stopped %.1f s (@every 2s): %ld run(s) due in the gap,"
	    " caught up %ld ms after the restart, latest %.1f s late; %ld runs in all\n",
	    t_restart - t_stop, qlong("SELECT count(*) FROM " RUNS " WHERE t > %ld AND t <= %.3f",
	    last_before, t_restart), t_caught, max_late(last_before, t_restart + 10), n);
	/* Late by less than the grace: on time, not missed. */
	log = logs();
	cr_assert_null(strstr(log, "runs missed"), "%s", log);
	free(log);
	/* The durable row says where the schedule is. */
	cr_assert_str_eq(q("SELECT concat_ws('|', extract(epoch FROM next_run_at)::bigint"
	    " = (SELECT max(t) + 2 FROM " RUNS "), extract(epoch FROM last_run_at)::bigint"
	    " = (SELECT max(t) FROM " RUNS "), last_job_id = (SELECT max(id) FROM " RUNS "))"
	    " FROM hivejob_periodic WHERE name = 'x'"), "t|t|t");
}

/*
 * The same with a run every second: the runs missed in the gap are caught
 * up within seconds, not carried as a lag that never closes (and that,
 * once past the grace, would turn into a skip).
 */
Test(periodic, leader_restarted_every_second_backlog_caught_up)
{
	struct th_daemon	*d = &ds[0];
	double			 t_restart;
	long			 gap, t0, t_caught;

	th_daemon_start(d, PERIODIC("@every 1s", ""));
	cr_assert(th_wait_sql("t", 30, "SELECT count(*) >= 3 FROM " RUNS), "%s\n%s",
	    runs_list(), logs());
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());
	cr_assert(th_wait_sql("t", 30, "SELECT next_run_at < now() - interval '8 seconds'"
	    " FROM hivejob_periodic WHERE name = 'x'"));
	t_restart = db_now();
	gap = qlong("SELECT floor(%.3f)::bigint - max(t) FROM " RUNS, t_restart);

	t0 = mono_ms();
	th_daemon_restart(d);
	cr_assert(th_wait_sql("t", 20, "SELECT max(t) >= extract(epoch FROM now()) - 2"
	    " FROM " RUNS), "the backlog of %ld run(s) was not caught up: lag %s s\n%s\n%s",
	    gap, q("SELECT round(extract(epoch FROM now()) - max(t)) FROM " RUNS), runs_list(),
	    logs());
	t_caught = mono_ms() - t0;
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());
	fprintf(stderr, "periodic: @every 1s, %ld run(s) due while stopped: caught up %ld ms"
	    " after the restart\n", gap, t_caught);
	assert_runs(1, gap + 3);
}

/* ----- 2. A change of leader ----- */

#define CONF2	"lease = 3s\n" PERIODIC("@every 2s", "")

Test(periodic, leader_killed_then_stopped_runs_once_without_gaps)
{
	struct th_daemon	*a, *b;
	char			*leader;
	double			 t_kill, t_term;
	long			 n, t0, t_takeover, t_handover, enq_a, enq_b;

	th_daemon_start_n(&ds[0], 0, "%s", CONF2);
	cr_assert(th_wait_sql(ds[0].id, 20, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	th_daemon_start_n(&ds[1], 1, "%s", CONF2);
	leader = q("SELECT leader_id FROM hivejob_leader");
	a = strcmp(leader, ds[0].id) == 0 ? &ds[0] : &ds[1];
	b = a == &ds[0] ? &ds[1] : &ds[0];
	cr_assert(th_wait_sql("t", 30, "SELECT count(*) >= 3 FROM " RUNS), "%s\n%s",
	    runs_list(), logs());

	/* The leader dies: the other takes over once its leadership lapses. */
	t_kill = db_now();
	t0 = mono_ms();
	cr_assert_eq(th_daemon_kill(a), SIGKILL);
	cr_assert(th_wait_sql(b->id, 30, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	t_takeover = mono_ms() - t0;
	/* Runs due meanwhile are enqueued late but enqueued, and it goes on. */
	cr_assert(th_wait_sql("t", 30, "SELECT max(t) >= %.0f + 6 FROM " RUNS, t_kill),
	    "%s\n%s", runs_list(), logs());
	fprintf(stderr, "periodic: kill -9 of the leader (lease 3s): taken over after %ld ms,"
	    " runs due meanwhile enqueued up to %.1f s late\n", t_takeover,
	    max_late(t_kill - 2, t_kill + 6));
	cr_assert(th_daemon_log_wait(b, "leading the hivejob supervisors", 1), "%s", logs());

	/* The first comes back (a follower now); the leader stops: handed over at once. */
	th_daemon_restart(a);
	cr_assert_str_eq(q("SELECT leader_id FROM hivejob_leader"), b->id);
	t_term = db_now();
	t0 = mono_ms();
	cr_assert_eq(th_daemon_stop(b), 0, "%s", logs());
	cr_assert(th_wait_sql(a->id, 30, "SELECT leader_id FROM hivejob_leader"), "%s", logs());
	t_handover = mono_ms() - t0;
	cr_assert(th_wait_sql("t", 30, "SELECT max(t) >= %.0f + 6 FROM " RUNS, t_term),
	    "%s\n%s", runs_list(), logs());
	fprintf(stderr, "periodic: SIGTERM of the leader: handed over %ld ms after the signal,"
	    " runs due meanwhile enqueued up to %.1f s late\n", t_handover,
	    max_late(t_term - 2, t_term + 6));
	cr_assert_eq(th_daemon_stop(a), 0, "%s", logs());

	n = assert_runs(2, 8);
	/* Each run enqueued by one leader, once: the logs add up to the rows. */
	enq_a = log_count_all(a, "periodic x: run at ");
	enq_b = log_count_all(b, "periodic x: run at ");
	fprintf(stderr, "periodic: %ld runs, enqueued %ld by %s and %ld by %s\n", n, enq_a,
	    a->id, enq_b, b->id);
	cr_assert_eq(enq_a + enq_b, n, "%s", logs());
	cr_assert_gt(enq_a, 0);
	cr_assert_gt(enq_b, 0);
	cr_assert_null(strstr(logs(), "runs missed"), "%s", logs());
}

/* ----- 3. catch_up ----- */

/*
 * Every move of the durable row, with the transaction's time: the first
 * one is the catch-up decision.
 */
static void
moves_schema(void)
{
	th_sql_ok("CREATE TABLE moves (seq serial, old_next timestamptz, new_next timestamptz,"
	    " last_run_at timestamptz, last_job_id bigint, at timestamptz)");
	th_sql_ok("CREATE FUNCTION t_move() RETURNS trigger LANGUAGE plpgsql AS $$"
	    " BEGIN"
	    "  INSERT INTO moves (old_next, new_next, last_run_at, last_job_id, at)"
	    "   VALUES (OLD.next_run_at, NEW.next_run_at, NEW.last_run_at, NEW.last_job_id, now());"
	    "  RETURN NULL;"
	    " END $$");
	th_sql_ok("CREATE TRIGGER t_move AFTER UPDATE ON hivejob_periodic FOR EACH ROW"
	    " EXECUTE FUNCTION t_move()");
}

/*
 * The schedule's next run 10 minutes ago, as if no supervisor had run
 * since: a row as hivejob writes it (a run of the schedule), or one moved
 * back by hand, to no run of the schedule and with a fraction of a second.
 * Returns its time, unix seconds, rounded down.
 */
static long
stale_schedule(int by_hand)
{
	long s = qlong("SELECT floor(extract(epoch FROM now()) / 2)::bigint * 2 - 600");

	th_sql_ok("INSERT INTO hivejob_periodic (name, next_run_at, last_run_at)"
	    " VALUES ('x', to_timestamp(%ld), to_timestamp(%ld))", s, s - 2);
	if (by_hand) {
		th_sql_ok("UPDATE hivejob_periodic SET next_run_at = now() - interval '10 minutes'"
		    " WHERE name = 'x'");
		th_sql_ok("TRUNCATE moves");
		s = qlong("SELECT floor(extract(epoch FROM next_run_at))::bigint"
		    " FROM hivejob_periodic");
	}
	return s;
}

#define MOVE1(col)	"(SELECT " col " FROM moves ORDER BY seq LIMIT 1)"
#define EPOCH(e)	"extract(epoch FROM " e ")"

Test(periodic, catch_up_last_enqueues_the_latest_missed_run_once)
{
	struct th_daemon	*d = &ds[0];
	long			 s, n, r1;
	char			*log;

	moves_schema();
	s = stale_schedule(1);
	th_daemon_start(d, PERIODIC("@every 2s", "catch_up = last\n"));
	cr_assert(th_wait_sql("t", 30, "SELECT count(*) >= 3 FROM " RUNS), "%s\n%s",
	    runs_list(), logs());
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());

	/* The first move: from the stale run straight to the latest missed one. */
	cr_assert_str_eq(q("SELECT floor(" EPOCH(MOVE1("old_next")) ")::bigint"), fmt("%ld", s));
	r1 = qlong("SELECT " EPOCH(MOVE1("last_run_at")) "::bigint");
	cr_assert_str_eq(q("SELECT concat_ws('|', " EPOCH(MOVE1("new_next")) "::bigint - %ld,"
	    " " EPOCH(MOVE1("at")) " >= %ld, " EPOCH(MOVE1("at")) " < %ld + 2)", r1, r1, r1),
	    "2|t|t", "the caught-up run %ld is not the latest due at the catch-up: %s", r1,
	    q("SELECT string_agg(row_to_json(m)::text, E'\\n') FROM moves m"));
	/* Enqueued once, in that transaction: not the 300 missed before it. */
	cr_assert_str_eq(q("SELECT string_agg(id::text, ',') FROM " RUNS " WHERE t <= %ld", r1),
	    q("SELECT " MOVE1("last_job_id") "::text"), "%s", runs_list());
	cr_assert_str_eq(q("SELECT count(*) FROM " RUNS " WHERE t < %ld", r1), "0");
	/* And the schedule went on from there: every run once, one per move. */
	n = assert_runs(2, 3);
	cr_assert_str_eq(q("SELECT min(t) FROM " RUNS), fmt("%ld", r1));
	cr_assert_str_eq(q("SELECT count(DISTINCT last_job_id) FROM moves"), fmt("%ld", n));
	cr_assert_str_eq(q("SELECT count(*) FROM moves"), fmt("%ld", n));
	log = th_daemon_log(d);
	cr_assert(strstr(log, "periodic x: runs missed since "), "%s", log);
	cr_assert(strstr(log, "catch_up = last: running the latest once"), "%s", log);
	free(log);
	fprintf(stderr, "periodic: catch_up = last, 10 min missed: run %ld s before the"
	    " catch-up enqueued, then %ld more\n", qlong("SELECT round(" EPOCH(MOVE1("at"))
	    ")::bigint - %ld", r1), n - 1);
}

Test(periodic, catch_up_none_enqueues_no_past_run)
{
	struct th_daemon	*d = &ds[0];
	long			 s, first;
	char			*log;

	moves_schema();
	s = stale_schedule(0);
	th_daemon_start(d, PERIODIC("@every 2s", "catch_up = none\n"));
	cr_assert(th_wait_sql("t", 30, "SELECT count(*) >= 2 FROM " RUNS), "%s\n%s",
	    runs_list(), logs());
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());

	/* The first move skips to the future and enqueues nothing. */
	cr_assert_str_eq(q("SELECT " EPOCH(MOVE1("old_next")) "::bigint"), fmt("%ld", s));
	cr_assert_str_eq(q("SELECT concat_ws('|', " EPOCH(MOVE1("new_next")) " > "
	    EPOCH(MOVE1("at")) ", " EPOCH(MOVE1("last_run_at")) "::bigint = %ld, "
	    MOVE1("last_job_id") " IS NULL)", s - 2), "t|t|t", "%s",
	    q("SELECT string_agg(row_to_json(m)::text, E'\\n') FROM moves m"));
	first = qlong("SELECT " EPOCH(MOVE1("new_next")) "::bigint");
	/* No past run: the first one is that future one. */
	cr_assert_str_eq(q("SELECT count(*) FROM " RUNS " WHERE t < %ld", first), "0", "%s",
	    runs_list());
	cr_assert_str_eq(q("SELECT min(t) FROM " RUNS), fmt("%ld", first));
	assert_runs(2, 2);
	log = th_daemon_log(d);
	cr_assert(strstr(log, "catch_up = none: skipped"), "%s", log);
	free(log);
}

/* ----- 4. Retention ----- */

/*
 * A finalized row, finalized ago (an interval), tagged so it can be found.
 */
static void
finalized(const char *tag, const char *state, const char *ago)
{
	th_sql_ok("INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at,"
	    " created_at, scheduled_at, finalized_at, attempted_by)"
	    " VALUES ('old', jsonb_build_object('tag', '%s'), 'pq', '%s', 1,"
	    " now() - interval '%s' - interval '1 minute', now() - interval '%s' - interval '2 minutes',"
	    " now() - interval '%s' - interval '2 minutes', now() - interval '%s', '{someone}')",
	    tag, state, ago, ago, ago, ago);
}

/* Rows that retention must leave whatever the settings: not finalized. */
static void
unfinalized(void)
{
	/* Running under a River client: not ours to rescue, never to delete. */
	th_sql_ok("INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at,"
	    " created_at, scheduled_at, attempted_by) VALUES ('old', '{\"tag\": \"running\"}',"
	    " 'pq', 'running', 1, now() - interval '10 days', now() - interval '10 days',"
	    " now() - interval '10 days', '{river-client}')");
	th_sql_ok("INSERT INTO river_job (kind, args, queue, state, created_at, scheduled_at)"
	    " VALUES ('old', '{\"tag\": \"available\"}', 'pq', 'available',"
	    " now() - interval '10 days', now() - interval '10 days')");
	th_sql_ok("INSERT INTO river_job (kind, args, queue, state, created_at, scheduled_at)"
	    " VALUES ('old', '{\"tag\": \"scheduled\"}', 'pq', 'scheduled',"
	    " now() - interval '10 days', now() + interval '10 days')");
}

#define TAGS	"SELECT string_agg(args->>'tag', ' ' ORDER BY args->>'tag') FROM river_job"

Test(periodic, retention_defaults_first_clean_at_leadership_in_batches)
{
	struct th_daemon	*d = &ds[0];
	long			 t0, t_clean;

	finalized("completed-2d", "completed", "2 days");
	finalized("completed-1h", "completed", "1 hour");
	finalized("completed-23h", "completed", "23 hours");
	finalized("cancelled-25h", "cancelled", "25 hours");
	finalized("cancelled-23h", "cancelled", "23 hours");
	finalized("discarded-3d", "discarded", "3 days");
	finalized("discarded-6d", "discarded", "6 days");
	finalized("discarded-8d", "discarded", "8 days");
	unfinalized();
	/* More than one batch (1000) past retention: all gone in the first clean. */
	th_sql_ok("INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at,"
	    " created_at, scheduled_at, finalized_at) SELECT 'old', '{\"tag\": \"bulk\"}', 'pq',"
	    " 'completed', 1, now() - interval '3 days', now() - interval '3 days',"
	    " now() - interval '3 days', now() - interval '2 days' - g * interval '1 second'"
	    " FROM generate_series(1, 2500) g");
	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), "2511");

	t0 = mono_ms();
	th_daemon_start(d, "%s", "");
	cr_assert(th_wait_sql("8", 20, "SELECT count(*) FROM river_job"), "%s\n%s", q(TAGS),
	    logs());
	t_clean = mono_ms() - t0;
	cr_assert(th_daemon_log_wait(d, "leading the hivejob supervisors", 1), "%s", logs());
	/* The first clean at leadership, not 30 s later; and 3 batches at once. */
	cr_assert_lt(t_clean, 10000, "retention took %ld ms", t_clean);
	fprintf(stderr, "periodic: retention (defaults) had removed 2503 rows %ld ms after the"
	    " daemon was started (its start-up included)\n", t_clean);
	cr_assert_str_eq(q(TAGS), "available cancelled-23h completed-1h completed-23h"
	    " discarded-3d discarded-6d running scheduled");
	cr_assert_str_eq(q("SELECT state FROM river_job WHERE args->>'tag' = 'running'"),
	    "running");
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());
}

Test(periodic, retention_one_minute_and_its_floor)
{
	struct th_daemon	*d = &ds[0];
	const char		*keys[] = { "keep_completed", "keep_cancelled", "keep_discarded" };
	char			 path[] = "/tmp/hivejob-conf.XXXXXX", *err;
	const char		*argv[] = { th_bin("hivejobd"), "-n", "-c", path, NULL };
	int			 fd, i;

	/* Below the floor of 1m: refused, each of the three. */
	for (i = 0; i < 3; i++) {
		cr_assert((fd = mkstemp(path)) >= 0);
		dprintf(fd, "[database]\n[supervisor]\n%s = 59s\n", keys[i]);
		close(fd);
		cr_assert_eq(th_run(NULL, &err, argv), 78, "%s = 59s: %s", keys[i], err);
		cr_assert(strstr(err, fmt("%s must be at least 1m", keys[i])), "%s", err);
		unlink(path);
		strcpy(path, "/tmp/hivejob-conf.XXXXXX");
		cr_assert((fd = mkstemp(path)) >= 0);
		dprintf(fd, "[database]\n[supervisor]\n%s = 1m\n", keys[i]);
		close(fd);
		cr_assert_eq(th_run(NULL, &err, argv), 0, "%s = 1m: %s", keys[i], err);
		unlink(path);
		strcpy(path, "/tmp/hivejob-conf.XXXXXX");
	}

	finalized("completed-2m", "completed", "2 minutes");
	finalized("completed-30s", "completed", "30 seconds");
	finalized("cancelled-2m", "cancelled", "2 minutes");
	finalized("cancelled-30s", "cancelled", "30 seconds");
	finalized("discarded-2m", "discarded", "2 minutes");
	finalized("discarded-30s", "discarded", "30 seconds");
	finalized("discarded-1h", "discarded", "1 hour");
	unfinalized();
	th_daemon_start(d, "keep_completed = 1m\n");
	cr_assert(th_wait_sql("0", 20, "SELECT count(*) FROM river_job WHERE args->>'tag'"
	    " = 'completed-2m'"), "%s\n%s", q(TAGS), logs());
	/* Only completed rows have the short retention. */
	cr_assert_str_eq(q(TAGS), "available cancelled-2m cancelled-30s completed-30s"
	    " discarded-1h discarded-2m discarded-30s running scheduled");
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());

	/* All three at 1m: every finalized row older than that goes, nothing else. */
	th_daemon_start(d, "keep_completed = 1m\nkeep_cancelled = 1m\nkeep_discarded = 1m\n");
	cr_assert(th_wait_sql("0", 20, "SELECT count(*) FROM river_job WHERE args->>'tag'"
	    " IN ('cancelled-2m', 'discarded-2m', 'discarded-1h')"), "%s\n%s", q(TAGS), logs());
	cr_assert_str_eq(q(TAGS), "available cancelled-30s completed-30s discarded-30s"
	    " running scheduled");
	cr_assert_eq(th_daemon_stop(d), 0, "%s", logs());
}
