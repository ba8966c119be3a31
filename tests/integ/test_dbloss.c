/*
 * hivejobd loses its database: Postgres restarted under it (an immediate,
 * crash-like restart), stopped for less than the lease, and gone for
 * longer than the lease; and one supervisor alone cut off (its role may no
 * longer log in) for longer and for less than its lease while the leader
 * stays connected. These tests stop and restart Postgres, so each one runs
 * its own private cluster (scripts/pgtmp start), never the shared one; the
 * daemons and this test's connection are pointed at it through PGHOST.
 *
 * The private cluster runs with synchronous_commit = on, as a production
 * database would: with pgtmp's synchronous_commit = off an immediate stop
 * may undo commits already acknowledged (a claim the daemon acted on, a
 * finish it forgot), and a job would then really run twice.
 *
 * Exactly-once is counted where it cannot be faked: a kind's apply function
 * inserts the job's id into a table keyed on it (a second effect would fail
 * the finish, visibly) and bumps a counter; a trigger records every
 * transition out of running with the class it left with. Timings are
 * printed on stderr ("dbloss: ...").
 *
 * Workers: tests/workers/nap.c (sleeps args.ms) and tests/workers/datawork.c
 * (with a marker_dir setting it leaves a line per run).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon	 d, d2;
static char		 pgdir[512];	/* PGTMP_DIR of the private cluster */
static char		 pgbin[512];	/* PGTMP_BINDIR */
static char		 markers[64];	/* a world-writable directory */

/* ----- helpers ----- */

/* Occurrences of text in d's current log. */
static int
log_count(const char *text)
{
	char	*s = th_daemon_log(&d), *p;
	int	 n = 0;

	for (p = s; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(s);
	return n;
}

/* Wait up to seconds for text to appear at least n times in d's log. */
static int
log_wait_n(const char *text, int n, int seconds)
{
	int i;

	for (i = 0; i < seconds * 20; i++) {
		if (log_count(text) >= n)
			return 1;
		usleep(50000);
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

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

/*
 * Marker files made beforehand, writable by all: a job run again may get
 * another slot, and so another uid, than the run that made the file.
 */
static void
markers_prepare(long n)
{
	char	path[128];
	long	id;
	int	fd;

	for (id = 1; id <= n; id++) {
		snprintf(path, sizeof(path), "%s/%ld", markers, id);
		cr_assert((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666)) != -1);
		cr_assert_eq(fchmod(fd, 0666), 0);
		close(fd);
	}
}

/* ----- the private cluster ----- */

/*
 * pg_ctl ACTION on the private cluster, as its owner (postgres when we are
 * root, as scripts/pgtmp's as_owner does), waiting for it to complete. The
 * server's output goes to the cluster's log, never to our pipes.
 */
static void
pg_ctl(const char *action)
{
	const char	*argv[24];
	char		*out, *err, *ctl = fmt("%s/pg_ctl", pgbin);
	char		*data = fmt("%s/data", pgdir), *log = fmt("%s/postgres.log", pgdir);
	int		 n = 0, rc;

	if (th_root()) {
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = "--reuid=postgres";
		argv[n++] = "--regid=postgres";
		argv[n++] = "--init-groups";
		argv[n++] = "--";
	}
	argv[n++] = ctl;
	argv[n++] = "-D";
	argv[n++] = data;
	argv[n++] = "-l";
	argv[n++] = log;
	argv[n++] = "-w";
	argv[n++] = "-t";
	argv[n++] = "60";
	if (strcmp(action, "start") != 0) {
		argv[n++] = "-m";
		argv[n++] = "immediate";
	}
	argv[n++] = action;
	argv[n] = NULL;
	rc = th_run(&out, &err, argv);
	cr_assert_eq(rc, 0, "pg_ctl %s: exit %d\n%s%s", action, rc, out, err);
	free(out);
	free(err);
	free(ctl);
	free(data);
	free(log);
}

/* Our own connection again, once the server takes connections. */
static void
reconnect(void)
{
	int i;

	for (i = 0; i < 200; i++) {
		PQreset(th_conn());
		if (PQstatus(th_conn()) == CONNECTION_OK)
			return;
		usleep(100000);
	}
	cr_assert_fail("cannot reconnect to the private cluster: %s",
	    PQerrorMessage(th_conn()));
}

/*
 * Remove the cluster once this test process is gone, however it goes (a
 * Criterion timeout kills it without running .fini): scripts/pgtmp's own
 * watchdog, for a cluster made with `pgtmp start`.
 */
static void
watchdog(void)
{
	char	*script = fmt("while kill -0 %ld 2>/dev/null && [ -d '%s' ]; do sleep 1; done;"
		    " exec scripts/pgtmp stop '%s'", (long)getpid(), pgdir, pgdir);
	pid_t	 pid = fork();
	int	 fd;

	cr_assert(pid >= 0);
	if (pid == 0) {
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/bin/bash", "bash", "-c", script, (char *)NULL);
		_exit(127);
	}
	free(script);
}

static void
cluster_start(void)
{
	const char	*argv[] = { "scripts/pgtmp", "start", NULL };
	char		*out, *err, *line, *save = NULL, name[64], val[512];
	int		 rc;

	rc = th_run(&out, &err, argv);
	cr_assert_eq(rc, 0, "scripts/pgtmp start: exit %d\n%s", rc, err);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "export %63[A-Z_]='%511[^']'", name, val) != 2)
			continue;
		setenv(name, val, 1);
		if (strcmp(name, "PGTMP_DIR") == 0)
			snprintf(pgdir, sizeof(pgdir), "%s", val);
		else if (strcmp(name, "PGTMP_BINDIR") == 0)
			snprintf(pgbin, sizeof(pgbin), "%s", val);
	}
	cr_assert(pgdir[0] && pgbin[0], "no PGTMP_DIR/PGTMP_BINDIR in:\n%s", out);
	cr_assert(strstr(getenv("PGHOST"), pgdir) == getenv("PGHOST"),
	    "PGHOST %s is not the private cluster's", getenv("PGHOST"));
	free(out);
	free(err);
	watchdog();
}

static void
setup(void)
{
	pgdir[0] = pgbin[0] = markers[0] = '\0';
	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	cluster_start();
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	/* What was acknowledged must survive an immediate stop (see the top). */
	th_sql_ok("ALTER SYSTEM SET synchronous_commit = on");
	th_sql_ok("SELECT pg_reload_conf()");
	snprintf(markers, sizeof(markers), "/tmp/hivejob-marker.XXXXXX");
	cr_assert_not_null(mkdtemp(markers));
	cr_assert_eq(chmod(markers, 01777), 0);
}

static void
teardown(void)
{
	const char *argv[] = { "scripts/pgtmp", "stop", pgdir, NULL };

	/* A failed test may leave it waiting for a database: no drain. */
	if (d.pid > 0)
		th_daemon_kill(&d);
	if (d2.pid > 0)
		th_daemon_kill(&d2);
	if (pgdir[0])
		th_run(NULL, NULL, argv);
	if (markers[0])
		(void)nftw(markers, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(dbloss, .init = setup, .fini = teardown, .timeout = 240);

/*
 * Effects of apply, one row per job (a second one fails the key) and a
 * counter; every transition out of running with the class it left with.
 */
static void
effects_schema(void)
{
	th_sql_ok("CREATE TABLE effects (job_id bigint PRIMARY KEY, attempt int NOT NULL)");
	th_sql_ok("CREATE TABLE counter (n int NOT NULL)");
	th_sql_ok("INSERT INTO counter VALUES (0)");
	/* apply sees every outcome (an interrupted one too): count completions. */
	th_sql_ok("CREATE FUNCTION t_count(job jsonb, outcome jsonb) RETURNS jsonb"
	    " LANGUAGE sql AS $$"
	    " INSERT INTO effects SELECT (job->>'id')::bigint, (job->>'attempt')::int"
	    "  WHERE outcome->>'state' = 'completed';"
	    " UPDATE counter SET n = n + 1 WHERE outcome->>'state' = 'completed';"
	    " SELECT '{}'::jsonb $$");
	th_sql_ok("CREATE TABLE transitions (job_id bigint, attempt int, state text,"
	    " class text, rescued_from text, error text, interruptions text, at timestamptz)");
	th_sql_ok("CREATE FUNCTION t_trans() RETURNS trigger LANGUAGE plpgsql AS $$"
	    " BEGIN"
	    "  INSERT INTO transitions VALUES (NEW.id, OLD.attempt, NEW.state,"
	    "   NEW.metadata->'hivejob'->>'class', NEW.metadata->'hivejob'->>'rescued_from',"
	    "   NEW.errors[array_upper(NEW.errors, 1)]->>'error', NEW.metadata->>'interruptions',"
	    "   clock_timestamp());"
	    "  RETURN NULL;"
	    " END $$");
	th_sql_ok("CREATE TRIGGER t_trans AFTER UPDATE ON river_job FOR EACH ROW"
	    " WHEN (OLD.state = 'running' AND NEW.state <> 'running')"
	    " EXECUTE FUNCTION t_trans()");
}

/* The "reconnecting in N ms" figures of the log, for the record. */
static char *
backoffs(void)
{
	char	*s = th_daemon_log(&d), *p, *e, *all = strdup(""), *t;

	for (p = s; (p = strstr(p, "; reconnecting in ")) != NULL; p = e) {
		p += strlen("; reconnecting in ");
		e = p + strcspn(p, "\n");
		t = fmt("%s%s%.*s", all, *all ? ", " : "", (int)(e - p), p);
		free(all);
		all = t;
	}
	free(s);
	return all;
}

/* ----- 1. Postgres restarted (immediate) mid-run, within the lease ----- */

Test(dbloss, immediate_restart_mid_run_every_job_once_none_rescued)
{
	const int	 n = 300;
	long		 t0, t_pg, t_rec, t_all, nrun, ndone;
	char		*log;

	effects_schema();
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.nap]\nexec = %s/nap\napply = t_count\ntimeout = 30s\n", th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'nap', '{\"ms\": 300}'"
	    " FROM generate_series(1, %d)", n);
	/* Well into it, with children running. */
	cr_assert(th_wait_sql("t", 60, "SELECT count(*) FILTER (WHERE state = 'completed') >= 60"
	    " AND count(*) FILTER (WHERE state = 'running') >= 4 FROM river_job"),
	    "%s\n%s", states(), th_daemon_log(&d));
	nrun = qlong("SELECT count(*) FROM river_job WHERE state = 'running'");
	ndone = qlong("SELECT count(*) FROM river_job WHERE state = 'completed'");
	cr_assert_eq(log_count("database connection work lost"), 0, "%s", th_daemon_log(&d));

	t0 = mono_ms();
	pg_ctl("restart");
	t_pg = mono_ms() - t0;
	reconnect();
	/* The daemon noticed, and came back on both connections. */
	cr_assert(log_wait_n("database connection work established", 2, 60),
	    "no reconnect of the work connection:\n%s", th_daemon_log(&d));
	cr_assert(log_wait_n("database connection listen established", 2, 60),
	    "no reconnect of the listen connection:\n%s", th_daemon_log(&d));
	t_rec = mono_ms() - t0;

	cr_assert(th_wait_sql(fmt("%d", n), 120, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), th_daemon_log(&d));
	t_all = mono_ms() - t0;
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", th_daemon_log(&d));
	fprintf(stderr, "dbloss: immediate restart with %ld running, %ld of %d done: pg_ctl"
	    " restart %ld ms, daemon reconnected after %ld ms, all done after %ld ms;"
	    " backoffs: %s; releases of lost claim replies: %ld, finishes resent and"
	    " refused: %d\n", nrun, ndone, n, t_pg, t_rec, t_all, backoffs(),
	    qlong("SELECT count(*) FROM transitions WHERE state = 'available'"),
	    log_count("finish not applied"));

	log = th_daemon_log(&d);
	cr_assert(strstr(log, "database connection work lost: "), "%s", log);
	cr_assert(strstr(log, "database connection listen lost: "), "%s", log);
	cr_assert(strstr(log, "; reconnecting in "), "%s", log);
	/* No lease lapse, no rescue: the restart was shorter than the lease. */
	cr_assert_null(strstr(log, "lease renewal failed"), "%s", log);
	cr_assert_null(strstr(log, "rescued"), "%s", log);
	cr_assert_null(strstr(log, "class=lost"), "%s", log);
	free(log);

	/* Every job done, its effect once, from the attempt that completed it. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed'"),
	    fmt("%d", n), "%s", states());
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT n FROM counter"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), fmt("%d", n));
	/*
	 * Nobody lost or rescued: one attempt each (a claim whose reply was
	 * lost gives its attempt back), no error, nothing of class lost.
	 */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE attempt = 1 AND errors IS NULL"
	    " AND metadata->'hivejob'->>'class' = '' AND NOT metadata ? 'interruptions'"),
	    fmt("%d", n), "%s", q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM"
	    " (SELECT * FROM river_job WHERE attempt <> 1 OR errors IS NOT NULL"
	    " OR metadata->'hivejob'->>'class' <> '' LIMIT 10) j"));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE errors::text LIKE '%%lost%%'"
	    " OR errors::text LIKE '%%rescued%%' OR metadata::text LIKE '%%lost%%'"
	    " OR metadata::text LIKE '%%rescued%%'"), "0");
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE class = 'lost'"
	    " OR rescued_from IS NOT NULL OR error LIKE 'rescued%%'"), "0", "%s",
	    q("SELECT string_agg(row_to_json(t)::text, E'\\n') FROM transitions t"
	    " WHERE state <> 'completed'"));
	/* Only completions and given-back claims left running. */
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state NOT IN"
	    " ('completed', 'available')"), "0");
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state = 'completed'"),
	    fmt("%d", n));
}

/* ----- 2. Postgres down for less than the lease: outcomes kept ----- */

/*
 * The job ids whose end the daemon logged as complete after it lost the
 * work connection, as a SQL array literal, and how many.
 */
static char *
ends_after_loss(int *count)
{
	char	*s = th_daemon_log(&d), *p, *line, *ids = strdup("{"), *t;
	long	 id;
	int	 n = 0;

	p = strstr(s, "database connection work lost");
	for (line = p; line && (line = strchr(line, '\n')) != NULL; ) {
		line++;
		if (sscanf(line, "<6>job=%ld ", &id) == 1 &&
		    strstr(line, " outcome=complete ") != NULL &&
		    strstr(line, " outcome=complete ") < line + strcspn(line, "\n")) {
			t = fmt("%s%s%ld", ids, n++ ? "," : "", id);
			free(ids);
			ids = t;
		}
	}
	free(s);
	t = fmt("%s}", ids);
	free(ids);
	*count = n;
	return t;
}

Test(dbloss, down_within_the_lease_outcomes_kept_and_written_after)
{
	const int	 n = 200;
	long		 t0, t_down, t_all;
	char		*ids, *log;
	int		 nheld = 0, i;

	effects_schema();
	th_daemon_start(&d, "max_children = 8\n"
	    "[kind.nap]\nexec = %s/nap\napply = t_count\ntimeout = 30s\n", th_prefix());
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'nap', '{\"ms\": 300}'"
	    " FROM generate_series(1, %d)", n);
	cr_assert(th_wait_sql("t", 60, "SELECT count(*) FILTER (WHERE state = 'completed') >= 40"
	    " AND count(*) FILTER (WHERE state = 'running') >= 6 FROM river_job"),
	    "%s\n%s", states(), th_daemon_log(&d));

	t0 = mono_ms();
	pg_ctl("stop");
	/* The running children end while the database is away: kept. */
	cr_assert(th_daemon_log_wait(&d, "database connection work lost", 10),
	    "%s", th_daemon_log(&d));
	for (i = 0; i < 200; i++) {
		free(ends_after_loss(&nheld));
		if (nheld >= 6)
			break;
		usleep(50000);
	}
	ids = ends_after_loss(&nheld);
	cr_assert_geq(nheld, 6, "jobs ended during the outage: %s\n%s", ids, th_daemon_log(&d));
	t_down = mono_ms() - t0;
	cr_assert_lt(t_down, 8000, "outage of %ld ms: not within the 10 s lease", t_down);
	pg_ctl("start");
	reconnect();

	cr_assert(th_wait_sql(fmt("%d", n), 120, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), th_daemon_log(&d));
	t_all = mono_ms() - t0;
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", th_daemon_log(&d));
	fprintf(stderr, "dbloss: postgres down %ld ms (lease 10s): %d outcome(s) held in memory"
	    " and written after; all %d done %ld ms after the stop; backoffs: %s\n",
	    t_down, nheld, n, t_all, backoffs());

	/* What ended during the outage was written after it, once. */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE id = ANY('%s'::bigint[])"
	    " AND state = 'completed' AND attempt = 1"
	    " AND finalized_at >= pg_postmaster_start_time()", ids), fmt("%d", nheld),
	    "%s", q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM river_job j"
	    " WHERE id = ANY('%s'::bigint[])", ids));
	cr_assert_str_eq(q("SELECT count(*) FROM effects WHERE job_id = ANY('%s'::bigint[])"
	    " AND attempt = 1", ids), fmt("%d", nheld));

	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT n FROM counter"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE attempt = 1 AND errors IS NULL"
	    " AND NOT metadata ? 'interruptions'"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state NOT IN"
	    " ('completed', 'available') OR class = 'lost' OR rescued_from IS NOT NULL"),
	    "0", "%s", q("SELECT string_agg(row_to_json(t)::text, E'\\n') FROM transitions t"
	    " WHERE state <> 'completed'"));
	log = th_daemon_log(&d);
	cr_assert_null(strstr(log, "lease renewal failed"), "%s", log);
	cr_assert_null(strstr(log, "rescued"), "%s", log);
	free(log);
}

/* ----- 3. Postgres gone for longer than the lease ----- */

Test(dbloss, down_longer_than_the_lease_jobs_killed_and_run_once_more)
{
	const int	 n = 4;
	long		 t0, t_kill, t_start, t_back, t_all, id, lapse;
	char		*log;
	int		 i;

	effects_schema();
	th_daemon_start(&d, "lease = 3s\nmax_children = 4\n"
	    "[kind.long]\nexec = %s/datawork\napply = t_count\ntimeout = 2m\n"
	    "marker_dir = %s\n", th_prefix(), markers);
	markers_prepare(n);
	th_sql_ok("INSERT INTO river_job (kind, args) SELECT 'long', '{\"sleep\": 20}'"
	    " FROM generate_series(1, %d)", n);
	cr_assert(th_wait_sql(fmt("%d", n), 30, "SELECT count(*) FROM river_job"
	    " WHERE state = 'running'"), "%s\n%s", states(), th_daemon_log(&d));
	/* Each one really started (its marker line is there). */
	for (id = 1; id <= n; id++) {
		for (i = 0; i < 200 && runs(id) == 0; i++)
			usleep(50000);
		cr_assert_eq(runs(id), 1, "job %ld did not start", id);
	}
	/* And the lease has been renewed since (every second). */
	cr_assert(th_wait_sql("t", 10, "SELECT heartbeat_at > started_at + interval '500 ms'"
	    " FROM hivejob_supervisor WHERE id = '%s'", d.id), "%s", th_daemon_log(&d));

	t0 = mono_ms();
	pg_ctl("stop");
	/* The lease cannot be renewed: the children die before it lapses. */
	cr_assert(th_daemon_log_wait(&d, "lease renewal failed", 20),
	    "no lease-lapse kill:\n%s", th_daemon_log(&d));
	t_kill = mono_ms() - t0;
	cr_assert(th_daemon_log_wait(&d, fmt("killing %d job(s), which will run again", n), 1),
	    "%s", th_daemon_log(&d));
	cr_assert_lt(t_kill, 3000, "killed %ld ms after the database went, lease 3s", t_kill);
	/* By its own clock, before its lease ran out: renewed at most 3 s ago. */
	log = th_daemon_log(&d);
	cr_assert_eq(sscanf(strstr(log, "lease renewal failed for "),
	    "lease renewal failed for %ld ms", &lapse), 1);
	cr_assert(lapse >= 1000 && lapse < 3000, "lease renewal failed for %ld ms, lease 3s:\n%s",
	    lapse, log);
	free(log);
	/* Their ends are kept while the database is away. */
	cr_assert(log_wait_n("outcome=interrupt", n, 10), "%s", th_daemon_log(&d));
	for (id = 1; id <= n; id++)
		cr_assert_eq(runs(id), 1);

	t_start = mono_ms();
	pg_ctl("start");
	reconnect();
	cr_assert(log_wait_n("database connection work established", 2, 60),
	    "no reconnect:\n%s", th_daemon_log(&d));
	t_back = mono_ms() - t_start;
	/* Run again, each once more, and completed. */
	cr_assert(th_wait_sql(fmt("%d", n), 90, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), th_daemon_log(&d));
	t_all = mono_ms() - t_start;
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", th_daemon_log(&d));
	fprintf(stderr, "dbloss: postgres stopped with %d jobs running, lease 3s: killed after"
	    " %ld ms (%ld ms after the last renewal); started again after %ld ms;"
	    " reconnected %ld ms later; all done %ld ms after the start; backoffs: %s\n",
	    n, t_kill, lapse, t_start - t0, t_back, t_all, backoffs());

	for (id = 1; id <= n; id++)
		cr_assert_eq(runs(id), 2, "job %ld ran %d times", id, runs(id));
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT n FROM counter"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), fmt("%d", n));
	/*
	 * One interruption each: given back (interruptions 1, attempt 1, no
	 * error) or rescued by a leader (attempt 2, one error of class lost).
	 */
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed' AND ("
	    " (metadata->>'interruptions' = '1' AND attempt = 1 AND errors IS NULL)"
	    " OR (NOT metadata ? 'interruptions' AND attempt = 2 AND array_length(errors, 1) = 1"
	    "  AND errors[1]->>'error' LIKE 'rescued: %%'))"), fmt("%d", n), "%s",
	    q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM river_job j"));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions"), fmt("%d", 2 * n), "%s",
	    q("SELECT string_agg(row_to_json(t)::text, E'\\n') FROM transitions t"));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state <> 'completed'"
	    " AND ((state = 'available' AND interruptions = '1') OR class = 'lost')"),
	    fmt("%d", n));
	fprintf(stderr, "dbloss: after the lapse: %s\n", q("SELECT string_agg(DISTINCT"
	    " concat_ws('/', state, class, interruptions), ' ') FROM transitions"
	    " WHERE state <> 'completed'"));
	log = th_daemon_log(&d);
	cr_assert(strstr(log, "database connection work lost: "), "%s", log);
	free(log);
}

/* ----- 4. One supervisor cut off longer than the lease, the leader rescues ----- */

/* Occurrences of text in dd's current log. */
static int
log_count_of(const struct th_daemon *dd, const char *text)
{
	char	*s = th_daemon_log(dd), *p;
	int	 n = 0;

	for (p = s; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(s);
	return n;
}

/* Wait up to seconds for text to appear at least n times in dd's log. */
static int
log_wait_n_of(const struct th_daemon *dd, const char *text, int n, int seconds)
{
	int i;

	for (i = 0; i < seconds * 20; i++) {
		if (log_count_of(dd, text) >= n)
			return 1;
		usleep(50000);
	}
	return 0;
}

static char *
both_logs(void)
{
	return fmt("--- %s ---\n%s\n--- %s ---\n%s", d.id, th_daemon_log(&d), d2.id,
	    th_daemon_log(&d2));
}

/*
 * Only the follower loses the database (its role may no longer log in and
 * its backends are terminated), so the leader, still connected, rescues its
 * rows once its lease lapses: the follower must have killed its children
 * first, and its outcomes held from before must not land when it returns.
 */
Test(dbloss, follower_cut_off_longer_than_the_lease_killed_before_the_rescue)
{
	const int	 n = 4;
	const char	*kind = "[kind.long]\nexec = %s/datawork\napply = t_count\n"
			    "timeout = 2m\nmarker_dir = %s\n";
	char		*conf;
	long		 t0, t_kill, t_rescue, id;
	int		 i;

	effects_schema();
	th_sql_ok("CREATE ROLE hjb LOGIN SUPERUSER");
	/* The leader works only default; the follower, as hjb, only bq. */
	conf = fmt("lease = 3s\nmax_children = 4\nqueues = default\n%s", kind);
	th_daemon_start_n(&d, 0, conf, th_prefix(), markers);
	cr_assert(th_wait_sql(d.id, 20, "SELECT leader_id FROM hivejob_leader"), "%s",
	    both_logs());
	setenv("PGUSER", "hjb", 1);
	conf = fmt("lease = 3s\nmax_children = 4\nqueues = bq\n%s", kind);
	th_daemon_start_n(&d2, 1, conf, th_prefix(), markers);
	setenv("PGUSER", "postgres", 1);
	cr_assert_str_eq(q("SELECT count(*) FROM pg_stat_activity WHERE usename = 'hjb'"), "2");

	markers_prepare(n);
	th_sql_ok("INSERT INTO river_job (kind, args, queue) SELECT 'long', '{\"sleep\": 20}',"
	    " 'bq' FROM generate_series(1, %d)", n);
	cr_assert(th_wait_sql(fmt("%d", n), 30, "SELECT count(*) FROM river_job"
	    " WHERE state = 'running' AND attempted_by[1] = '%s'", d2.id), "%s\n%s", states(),
	    both_logs());
	for (id = 1; id <= n; id++) {
		for (i = 0; i < 200 && runs(id) == 0; i++)
			usleep(50000);
		cr_assert_eq(runs(id), 1, "job %ld did not start", id);
	}
	cr_assert(th_wait_sql("t", 10, "SELECT heartbeat_at > started_at + interval '500 ms'"
	    " FROM hivejob_supervisor WHERE id = '%s'", d2.id), "%s", both_logs());

	/* Cut the follower off. */
	th_sql_ok("ALTER ROLE hjb NOLOGIN");
	t0 = mono_ms();
	th_sql_ok("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'hjb'");
	cr_assert(th_daemon_log_wait(&d2, fmt("killing %d job(s), which will run again", n), 10),
	    "no lease-lapse kill:\n%s", both_logs());
	t_kill = mono_ms() - t0;
	/* Killed while its lease still held: nothing rescued yet. */
	cr_assert_str_eq(q("SELECT count(*) FROM transitions"), "0", "%s",
	    q("SELECT string_agg(row_to_json(t)::text, E'\\n') FROM transitions t"));
	cr_assert_str_eq(q("SELECT lease_expires_at > now() FROM hivejob_supervisor"
	    " WHERE id = '%s'", d2.id), "t", "the lease lapsed before the kill was seen");

	/* The leader rescues them once the lease has lapsed. */
	cr_assert(th_wait_sql(fmt("%d", n), 30, "SELECT count(*) FROM transitions"
	    " WHERE class = 'lost' AND rescued_from = '%s'", d2.id), "%s\n%s", states(),
	    both_logs());
	t_rescue = mono_ms() - t0;
	cr_assert(th_daemon_log_wait(&d, "rescued ", 1), "%s", both_logs());

	/* Back: its held outcomes are refused, and it runs the jobs again. */
	th_sql_ok("ALTER ROLE hjb LOGIN");
	cr_assert(th_wait_sql(fmt("%d", n), 90, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), both_logs());
	fprintf(stderr, "dbloss: follower cut off with %d jobs running, lease 3s: killed after"
	    " %ld ms, rescued by the leader after %ld ms; held finishes refused on return: %d\n",
	    n, t_kill, t_rescue, log_count_of(&d2, "finish not applied"));
	cr_assert_eq(th_daemon_stop(&d2), 0, "%s", both_logs());
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", both_logs());

	cr_assert_eq(log_count_of(&d2, "finish not applied"), n, "%s", both_logs());
	for (id = 1; id <= n; id++)
		cr_assert_eq(runs(id), 2, "job %ld ran %d times\n%s\n%s", id, runs(id),
		    q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM river_job j"),
		    both_logs());
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT n FROM counter"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job j JOIN effects e"
	    " ON e.job_id = j.id AND e.attempt = j.attempt"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed'"
	    " AND attempt = 2 AND array_length(errors, 1) = 1 AND NOT metadata ? 'interruptions'"
	    " AND errors[1]->>'error' LIKE 'rescued: supervisor \"%s\" %%'"
	    " AND attempted_by = ARRAY['%s', '%s']", d2.id, d2.id, d2.id), fmt("%d", n), "%s",
	    q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM river_job j"));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions"), fmt("%d", 2 * n));
}

/* ----- 5. One supervisor cut off for less than its lease: not robbed ----- */

/*
 * The same cut, shorter than the follower's lease (20 s): the leader
 * (lease 3 s, so its rescuer is at work after 3 s), connected all along,
 * must not rescue the rows of a supervisor that is only reconnecting, and
 * the follower's jobs run on and finish once. A ghost supervisor's row,
 * lapsed long ago, shows the rescuer at work during the cut.
 */
Test(dbloss, follower_cut_off_within_the_lease_not_rescued)
{
	const int	 n = 4;
	const char	*kind = "[kind.long]\nexec = %s/datawork\napply = t_count\n"
			    "timeout = 2m\nmarker_dir = %s\n";
	char		*conf, *log;
	long		 t0, t_out, id;
	int		 i;

	effects_schema();
	th_sql_ok("CREATE ROLE hjb LOGIN SUPERUSER");
	conf = fmt("lease = 3s\nmax_children = 4\nqueues = default\n%s", kind);
	th_daemon_start_n(&d, 0, conf, th_prefix(), markers);
	cr_assert(th_wait_sql(d.id, 20, "SELECT leader_id FROM hivejob_leader"), "%s",
	    both_logs());
	setenv("PGUSER", "hjb", 1);
	conf = fmt("lease = 20s\nmax_children = 4\nqueues = bq\n%s", kind);
	th_daemon_start_n(&d2, 1, conf, th_prefix(), markers);
	setenv("PGUSER", "postgres", 1);

	markers_prepare(n);
	th_sql_ok("INSERT INTO river_job (kind, args, queue) SELECT 'long', '{\"sleep\": 12}',"
	    " 'bq' FROM generate_series(1, %d)", n);
	cr_assert(th_wait_sql(fmt("%d", n), 30, "SELECT count(*) FROM river_job"
	    " WHERE state = 'running' AND attempted_by[1] = '%s'", d2.id), "%s\n%s", states(),
	    both_logs());
	for (id = 1; id <= n; id++) {
		for (i = 0; i < 200 && runs(id) == 0; i++)
			usleep(50000);
		cr_assert_eq(runs(id), 1, "job %ld did not start", id);
	}

	/* The leader's rescuer is at work (it has led for a whole lease). */
	cr_assert(th_wait_sql("t", 20, "SELECT elected_at < now() - interval '3500 ms'"
	    " FROM hivejob_leader WHERE leader_id = '%s'", d.id), "%s", both_logs());

	th_sql_ok("ALTER ROLE hjb NOLOGIN");
	t0 = mono_ms();
	th_sql_ok("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'hjb'");
	th_sql_ok("INSERT INTO hivejob_supervisor (id, host, pid, version, uid_base, uid_count,"
	    " started_at, heartbeat_at, lease_expires_at, leader, children) VALUES ('ghost',"
	    " 'elsewhere', 1, '0.3.0', 1000, 1, now() - interval '1 hour',"
	    " now() - interval '2 minutes', now() - interval '1 minute', false, '[]')");
	th_sql_ok("INSERT INTO river_job (id, kind, args, queue, state, attempt, attempted_at,"
	    " attempted_by) VALUES (1000, 'long', '{}', 'ghostq', 'running', 1,"
	    " now() - interval '2 minutes', '{ghost}')");
	/* Several failed reconnects (seconds of outage), the ghost rescued meanwhile. */
	cr_assert(log_wait_n_of(&d2, "database connection work lost", 4, 20), "%s", both_logs());
	cr_assert(th_wait_sql("1", 20, "SELECT count(*) FROM transitions WHERE job_id = 1000"
	    " AND class = 'lost' AND rescued_from = 'ghost'"), "%s", both_logs());
	cr_assert_eq(log_count_of(&d2, "database connection work established"), 1,
	    "back before the ghost's rescue: %s", both_logs());
	th_sql_ok("ALTER ROLE hjb LOGIN");
	t_out = mono_ms() - t0;
	cr_assert(log_wait_n_of(&d2, "database connection work established", 2, 20),
	    "%s", both_logs());
	fprintf(stderr, "dbloss: follower cut off for %ld ms (lease 20s), back %ld ms after the"
	    " cut, its %d jobs running on\n", t_out, mono_ms() - t0, n);

	cr_assert(th_wait_sql(fmt("%d", n), 60, "SELECT count(*) FROM river_job"
	    " WHERE state = 'completed'"), "%s\n%s", states(), both_logs());
	cr_assert_eq(th_daemon_stop(&d2), 0, "%s", both_logs());
	cr_assert_eq(th_daemon_stop(&d), 0, "%s", both_logs());

	for (id = 1; id <= n; id++)
		cr_assert_eq(runs(id), 1, "job %ld ran %d times", id, runs(id));
	cr_assert_str_eq(q("SELECT count(*) FROM effects"), fmt("%d", n));
	cr_assert_str_eq(q("SELECT count(*) FROM river_job WHERE state = 'completed'"
	    " AND attempt = 1 AND errors IS NULL AND NOT metadata ? 'interruptions'"
	    " AND attempted_by = ARRAY['%s']", d2.id), fmt("%d", n), "%s",
	    q("SELECT string_agg(row_to_json(j)::text, E'\\n') FROM river_job j"));
	cr_assert_str_eq(q("SELECT count(*) FROM transitions WHERE state <> 'completed'"
	    " AND job_id <> 1000"), "0");
	cr_assert_eq(log_count_of(&d, "rescued "), 1, "%s", both_logs());
	cr_assert(th_daemon_log_wait(&d, "rescued 1 job(s)", 1), "%s", both_logs());
	log = both_logs();
	cr_assert_null(strstr(log, "lease renewal failed"), "%s", log);
	cr_assert_null(strstr(log, "finish not applied"), "%s", log);
	free(log);
}
