/*
 * hivejobd end to end: every way a job can end, and what its row says
 * afterwards. The workers are tests/workers/misbehave (one program, its
 * behaviour chosen by the job's args) and a few system programs.
 *
 * Nothing here sleeps for correctness: every test waits on its row with
 * th_wait_sql, with bounds generous enough for a loaded machine.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon d;
static char shared[64];		/* a directory jobs of any uid may write */

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

static void
teardown(void)
{
	DIR		*dir;
	struct dirent	*e;
	char		 path[512];

	if (d.pid > 0)
		th_daemon_stop(&d);
	if (*shared && (dir = opendir(shared)) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			if (*e->d_name == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", shared, e->d_name);
			unlink(path);
		}
		closedir(dir);
		rmdir(shared);
	}
}

TestSuite(runner_outcomes, .init = setup, .fini = teardown, .timeout = 180);

/* ---- helpers ---- */

static const char *
shared_dir(void)
{
	snprintf(shared, sizeof(shared), "/tmp/hivejob-share.XXXXXX");
	cr_assert_not_null(mkdtemp(shared));
	cr_assert_eq(chmod(shared, 01777), 0);
	return shared;
}

/*
 * The kinds most tests use: misbehave with a retry far away, so that a
 * failed row stays retryable and is not run again while we look at it.
 */
static void
start(const char *extra_fmt, ...)
{
	va_list	 ap;
	char	*extra;

	va_start(ap, extra_fmt);
	cr_assert(vasprintf(&extra, extra_fmt, ap) >= 0);
	va_end(ap);
	th_daemon_start(&d, "%s\n[kind.mis]\nexec = %s/misbehave\nretry = schedule 10m\n",
	    extra, th_prefix());
	free(extra);
}

static long long
enqueue(const char *kind, const char *args, int max_attempts)
{
	char		*v;
	long long	 id;

	v = th_sql("INSERT INTO river_job (kind, args, max_attempts) VALUES ('%s',"
	    " ('%s')::jsonb, %d) RETURNING id", kind, args, max_attempts);
	cr_assert_not_null(v);
	id = atoll(v);
	free(v);
	return id;
}

/* The row and the daemon's log, for a failure message. */
static char *
describe(long long id)
{
	char *row, *log, *s;

	row = th_sql("SELECT row_to_json(j)::text FROM river_job j WHERE id = %lld", id);
	log = th_daemon_log(&d);
	cr_assert(asprintf(&s, "job %lld: %s\n--- hivejobd log:\n%s", id,
	    row ? row : "(no row)", log) >= 0);
	free(row);
	free(log);
	return s;
}

static void
wait_state(long long id, const char *state, int seconds)
{
	if (!th_wait_sql(state, seconds, "SELECT state FROM river_job WHERE id = %lld", id))
		cr_assert_fail("not %s within %d s: %s", state, seconds, describe(id));
}

/* A value of the job's row, by SQL expression over j. */
static char *
col(long long id, const char *expr)
{
	char *v = th_sql("SELECT (%s)::text FROM river_job j WHERE id = %lld", expr, id);

	return v ? v : strdup("(null)");
}

static void
expect(long long id, const char *expr, const char *want)
{
	char *v = col(id, expr);

	if (strcmp(v, want) != 0)
		cr_assert_fail("%s: got '%s', want '%s'; %s", expr, v, want, describe(id));
	free(v);
}

static void
expect_true(long long id, const char *expr)
{
	expect(id, expr, "true");
}

static const char *
err1(void)
{
	return "j.errors[1]->>'error'";
}

static const char *
cls(void)
{
	return "j.metadata->'hivejob'->>'class'";
}

/* A noop enqueued now completes: the supervisor is still working. */
static void
noop_completes(void)
{
	long long id = enqueue("noop", "{}", 25);

	wait_state(id, "completed", 30);
	cr_assert_eq(waitpid(d.pid, NULL, WNOHANG), 0, "hivejobd exited");
}

static pid_t
pid_from_file(const char *path, int seconds)
{
	FILE	*f;
	int	 pid = 0, i;

	for (i = 0; i < seconds * 20; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
			if (pid > 0)
				return pid;
		}
		usleep(50000);
	}
	cr_assert_fail("no pid in %s after %d s", path, seconds);
	return 0;
}

/* 1 when pid is a live process (a zombie is dead, only not yet reaped). */
static int
alive(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	size_t	n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

/* How many live processes run under the uids [lo, hi]. */
static int
procs_of_uids(unsigned lo, unsigned hi)
{
	DIR		*dir;
	struct dirent	*e;
	struct stat	 st;
	char		 path[300];
	int		 n = 0;

	cr_assert_not_null(dir = opendir("/proc"));
	while ((e = readdir(dir)) != NULL) {
		if (*e->d_name < '1' || *e->d_name > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) == 0 && st.st_uid >= lo && st.st_uid <= hi &&
		    alive(atoi(e->d_name)))
			n++;
	}
	closedir(dir);
	return n;
}

/* ---- 1. precedence ---- */

Test(runner_outcomes, result_complete_beats_exit_status)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"complete_exit1\"}", 25);
	wait_state(id, "completed", 20);
	expect(id, "j.errors IS NULL", "true");
	expect(id, "j.metadata->'hivejob'->>'exit'", "1");
	expect_true(id, "j.finalized_at IS NOT NULL");
}

Test(runner_outcomes, result_retry_beats_exit_zero)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"retry_exit0\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "upstream returned 503");
	expect(id, cls(), "http_5xx");
	expect(id, "j.metadata->'hivejob'->>'exit'", "0");
	expect(id, "j.attempt", "1");
	expect(id, "j.errors[1]->>'attempt'", "1");
	expect(id, "array_length(j.errors, 1)", "1");
	/* The kind's schedule, 10m, not the exit status's completion. */
	expect_true(id, "j.scheduled_at BETWEEN now() + interval '9 minutes'"
	    " AND now() + interval '11 minutes'");
	expect_true(id, "j.finalized_at IS NULL");
}

Test(runner_outcomes, result_cancel)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"cancel\"}", 25);
	wait_state(id, "cancelled", 20);
	expect(id, err1(), "JobCancelError: the customer is gone");
	expect(id, cls(), "gone");
	expect_true(id, "j.finalized_at IS NOT NULL");
}

Test(runner_outcomes, result_snooze_gives_the_attempt_back)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"snooze\"}", 25);
	wait_state(id, "scheduled", 20);
	expect(id, "j.attempt", "0");
	expect(id, "j.metadata->>'snoozes'", "1");
	expect(id, "j.errors IS NULL", "true");
	expect_true(id, "j.scheduled_at BETWEEN now() + interval '20 seconds'"
	    " AND now() + interval '31 seconds'");
	expect_true(id, "j.finalized_at IS NULL");
}

Test(runner_outcomes, signal_beats_result)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"result_then_sigkill\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "killed by signal 9 (SIGKILL)");
	expect(id, cls(), "signal");
	expect(id, "j.metadata->'hivejob'->>'signal'", "9");
}

Test(runner_outcomes, unknown_class_is_other)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"weird_class\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "something odd");
	expect(id, cls(), "other");
}

Test(runner_outcomes, invalid_result_falls_through_to_exit_status)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"invalid_result\"}", 25);
	wait_state(id, "completed", 20);
	expect(id, "j.errors IS NULL", "true");
}

Test(runner_outcomes, retry_after_is_clamped_to_the_policy)
{
	long long id;

	/* The default policy: exponential, capped at 1h. */
	start("[kind.exp]\nexec = %s/misbehave\n", th_prefix());
	id = enqueue("exp", "{\"mode\": \"retry_after\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "rate limited");
	expect(id, cls(), "http_429");
	/* Asked for 99999 s; the cap is an hour (no jitter on a clamp). */
	expect_true(id, "j.scheduled_at <= now() + interval '1 hour 10 seconds'");
	expect_true(id, "j.scheduled_at >= now() + interval '59 minutes'");
}

/* ---- 2. exec ---- */

Test(runner_outcomes, bin_true_and_bin_false)
{
	long long t, f;

	start("[kind.true]\nexec = /bin/true\n"
	    "[kind.false]\nexec = /bin/false\nretry = schedule 10m\n");
	t = enqueue("true", "{}", 25);
	f = enqueue("false", "{}", 25);
	wait_state(t, "completed", 20);
	wait_state(f, "retryable", 20);
	expect(f, err1(), "exit status 1");
	expect(f, cls(), "exit");
	expect(f, "j.errors[1]->>'trace'", "");
}

Test(runner_outcomes, worker_that_never_reads_stdin_completes)
{
	long long id;

	start("[kind.noread]\nexec = %s/misbehave noread\n", th_prefix());
	/* A job document larger than a pipe's buffer, were it a pipe. */
	id = enqueue("noread", "{\"pad\": \"' || repeat('x', 200000) || '\"}", 25);
	wait_state(id, "completed", 20);
}

Test(runner_outcomes, missing_exec)
{
	long long id;

	start("[kind.missing]\nexec = /nonexistent/hivejob-worker\nretry = schedule 10m\n");
	id = enqueue("missing", "{}", 25);
	wait_state(id, "retryable", 20);
	expect(id, cls(), "exec");
	expect_true(id, "j.errors[1]->>'error' LIKE '%No such file or directory%'");
	expect(id, err1(), "exec failed: No such file or directory");
}

/* ---- 3. deaths ---- */

Test(runner_outcomes, sigkill_self)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"sigkill_self\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "killed by signal 9 (SIGKILL)");
	expect(id, cls(), "signal");
	expect(id, "j.errors[1]->>'trace'", "about to die\n");
}

Test(runner_outcomes, sigkill_from_outside)
{
	long long	 id;
	char		 args[256], file[128];
	pid_t		 pid;

	snprintf(file, sizeof(file), "%s/victim.pid", shared_dir());
	start("");
	snprintf(args, sizeof(args), "{\"mode\": \"wait_kill\", \"file\": \"%s\"}", file);
	id = enqueue("mis", args, 25);
	pid = pid_from_file(file, 20);
	expect(id, "j.state", "running");
	cr_assert_eq(kill(pid, SIGKILL), 0, "kill %d: %s", (int)pid, strerror(errno));
	wait_state(id, "retryable", 20);
	expect(id, err1(), "killed by signal 9 (SIGKILL)");
	expect(id, cls(), "signal");
	noop_completes();
}

Test(runner_outcomes, sigsegv)
{
	long long id;

	start("");
	id = enqueue("mis", "{\"mode\": \"segv\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "killed by signal 11 (SIGSEGV)");
	expect(id, cls(), "signal");
	expect(id, "j.metadata->'hivejob'->>'signal'", "11");
}

/* ---- 4. timeouts ---- */

Test(runner_outcomes, timeout_by_its_own_alarm)
{
	long long id;

	start("[kind.slow]\nexec = %s/misbehave\ntimeout = 1s\nretry = schedule 10m\n",
	    th_prefix());
	id = enqueue("slow", "{\"mode\": \"sleep\"}", 25);
	wait_state(id, "retryable", 20);
	expect(id, err1(), "timeout after 1s (SIGALRM)");
	expect(id, cls(), "timeout");
	/* It did not sleep its 30 s. */
	expect_true(id, "(j.metadata->'hivejob'->>'wall_ms')::int < 20000");
}

/*
 * A worker deaf to SIGALRM and SIGTERM runs until the deadline (timeout +
 * 1 s) and the grace (1 s in the test config), then dies of SIGKILL. While
 * it hangs the others work, and no transaction holds its row.
 */
Test(runner_outcomes, hung_worker_killed_after_grace_holds_no_lock)
{
	long long	 id, noop[3];
	const char	*strict;
	char		*v, *t0;
	int		 i, rowlocks;
	PGresult	*r;

	start("[kind.hang]\nexec = %s/misbehave\ntimeout = 8s\nretry = schedule 10m\n",
	    th_prefix());
	r = PQexec(th_conn(), "CREATE EXTENSION IF NOT EXISTS pgrowlocks");
	rowlocks = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);

	id = enqueue("hang", "{\"mode\": \"hang\"}", 25);
	wait_state(id, "running", 20);
	t0 = th_sql("SELECT clock_timestamp()");
	for (i = 0; i < 3; i++)
		noop[i] = enqueue("noop", "{}", 25);
	for (i = 0; i < 3; i++)
		wait_state(noop[i], "completed", 20);

	/*
	 * Any lock on river_job held by a transaction that began before we saw
	 * the hung job running. The supervisor's work connection is serial, so
	 * whatever it had in flight then ended before the noops' finishes: a
	 * transaction that old and still holding a lock is held for the job.
	 */
	strict = "SELECT count(*) FROM pg_locks l"
	    " JOIN pg_class c ON c.oid = l.relation"
	    " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
	    " WHERE c.relname = 'river_job'"
	    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
	    " AND l.pid IS DISTINCT FROM pg_backend_pid()"
	    " AND (a.xact_start IS NULL OR a.xact_start <= '%s'::timestamptz)";
	for (i = 0; i < 5; i++) {
		v = th_sql(strict, t0);
		cr_assert_str_eq(v, "0", "a lock on river_job held since the hung job's "
		    "claim: %s", describe(id));
		free(v);
		usleep(100000);
	}
	/* A lock held for the whole hang would never let this reach 0. */
	cr_assert(th_wait_sql("0", 10, "SELECT count(*) FROM pg_locks l"
	    " JOIN pg_class c ON c.oid = l.relation"
	    " WHERE c.relname = 'river_job'"
	    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
	    " AND l.pid IS DISTINCT FROM pg_backend_pid()"),
	    "locks on river_job never all released: %s", describe(id));
	cr_assert(th_wait_sql("0", 10, "SELECT count(*) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
	    " AND state LIKE 'idle in transaction%%'"),
	    "a connection sits idle in a transaction: %s", describe(id));
	if (rowlocks) {
		/* The row itself, as the heap sees it. */
		v = th_sql("SELECT count(*) FROM pgrowlocks('river_job') r"
		    " WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = ANY(r.pids)"
		    "  AND a.xact_start <= '%s'::timestamptz)"
		    " OR r.locked_row = (SELECT ctid FROM river_job WHERE id = %lld)", t0, id);
		cr_assert_str_eq(v, "0", "the hung job's row is locked: %s", describe(id));
		free(v);
	}
	/* All of the above happened while it hung. */
	expect(id, "j.state", "running");
	free(t0);

	wait_state(id, "retryable", 40);
	expect(id, err1(), "timeout after 8s (SIGKILL)");
	expect(id, cls(), "timeout");
	expect(id, "j.metadata->'hivejob'->>'signal'", "9");
	expect(id, "j.errors[1]->>'trace'", "hanging\n");
	/* The deadline is timeout + 1 s, then 1 s of grace. */
	expect_true(id, "(j.metadata->'hivejob'->>'wall_ms')::int >= 9500");
	expect_true(id, "(j.metadata->'hivejob'->>'wall_ms')::int < 30000");
}

/* ---- 5. limits ---- */

Test(runner_outcomes, memory_limit)
{
	long long id;

	start("[kind.mem]\nexec = %s/misbehave\nmemory = 64M\nretry = schedule 10m\n",
	    th_prefix());
	id = enqueue("mem", "{\"mode\": \"membomb\"}", 25);
	wait_state(id, "retryable", 30);
	expect(id, cls(), "limit");
	expect_true(id, "j.errors[1]->>'error' LIKE '%memory limit%'");
	expect_true(id, "j.errors[1]->>'error' LIKE 'exit status 1: out of memory after %'");
	/* It got near the limit, and not past it. */
	expect_true(id, "(j.metadata->'hivejob'->>'max_rss_kb')::int <= 65536");
	noop_completes();
}

Test(runner_outcomes, fork_bomb_stopped_by_process_limit)
{
	long long	 id;
	char		*n;
	int		 i;

	if (!th_root())
		cr_skip_test("the process limit is per slot uid: needs uid isolation (root)");
	start("[kind.bomb]\nexec = %s/misbehave\nprocesses = 16\nretry = schedule 10m\n",
	    th_prefix());
	id = enqueue("bomb", "{\"mode\": \"forkbomb\"}", 25);
	wait_state(id, "retryable", 30);
	expect(id, cls(), "exit");
	expect_true(id, "j.errors[1]->>'error' LIKE 'exit status 1: fork failed after %"
	    " children: Resource temporarily unavailable'");
	n = col(id, "substring(j.errors[1]->>'error' from 'after ([0-9]+) children')");
	cr_assert(atoi(n) >= 1 && atoi(n) <= 15, "forked %s children with processes = 16", n);
	free(n);
	/* Its children went with it. */
	for (i = 0; i < 200 && procs_of_uids(d.uid_base, d.uid_base + 63) > 0; i++)
		usleep(50000);
	cr_assert_eq(procs_of_uids(d.uid_base, d.uid_base + 63), 0,
	    "processes of the job uids are left");
	noop_completes();
}

Test(runner_outcomes, cpu_limit)
{
	long long id;

	start("[kind.cpu]\nexec = %s/misbehave\ncpu = 1s\nretry = schedule 10m\n",
	    th_prefix());
	id = enqueue("cpu", "{\"mode\": \"cpuspin\"}", 25);
	wait_state(id, "retryable", 30);
	expect(id, cls(), "limit");
	expect_true(id, "j.errors[1]->>'error' LIKE '%cpu limit%'");
	expect(id, err1(), "killed by signal 24 (SIGXCPU): probably hit the cpu limit");
}

/*
 * A job that leaves a grandchild in a session of its own still completes,
 * and the grandchild is dead before the next job runs in its slot.
 */
Test(runner_outcomes, escaped_grandchild_gone_before_slot_reuse)
{
	long long	 a, b;
	char		 args[256], file[128];
	pid_t		 gc;
	int		 i;

	if (!th_root())
		cr_skip_test("sweeping a slot needs uid isolation (root)");
	snprintf(file, sizeof(file), "%s/grandchild.pid", shared_dir());
	start("max_children = 1\n");
	snprintf(args, sizeof(args), "{\"mode\": \"orphan\", \"file\": \"%s\"}", file);
	a = enqueue("mis", args, 25);
	wait_state(a, "completed", 20);
	gc = pid_from_file(file, 5);

	/* The next job in the one slot looks for it as it starts. */
	snprintf(args, sizeof(args), "{\"mode\": \"probe\", \"file\": \"%s\"}", file);
	b = enqueue("mis", args, 25);
	wait_state(b, "completed", 20);

	/* Dead, and reaped by the supervisor, its subreaper. */
	for (i = 0; i < 100 && kill(gc, 0) == 0; i++)
		usleep(50000);
	cr_assert(kill(gc, 0) == -1 && errno == ESRCH, "grandchild %d still exists",
	    (int)gc);
}

/* ---- 6. output ---- */

Test(runner_outcomes, output_flood_is_bounded)
{
	long long	 id;
	char		*v;

	start("");
	id = enqueue("mis", "{\"mode\": \"spam\"}", 25);
	wait_state(id, "retryable", 60);
	expect(id, err1(), "exit status 1: the last words");
	expect(id, cls(), "exit");
	v = col(id, "octet_length(j.errors[1]->>'trace')");
	cr_assert(atoi(v) > 4096 && atoi(v) <= 8192 + 16, "trace of %s bytes", v);
	free(v);
	expect_true(id, "j.errors[1]->>'trace' LIKE '...%xxxx\nthe last words\n'");
	expect_true(id, "(j.metadata->'hivejob'->>'output_bytes')::bigint"
	    " = 100 * 1024 * 1024 + 15");
	noop_completes();
}

Test(runner_outcomes, hostile_output_is_cleaned)
{
	long long	 id;
	char		*v;

	start("");
	id = enqueue("mis", "{\"mode\": \"hostile\"}", 25);
	wait_state(id, "retryable", 20);
	v = col(id, err1());
	cr_assert_str_eq(v, "exit status 1: red title nulbyte bad\xef\xbf\xbd\xef\xbf\xbd"
	    "utf8 \xef\xbf\xbd( end", "%s", describe(id));
	free(v);
	v = col(id, "j.errors[1]->>'trace'");
	cr_assert_str_eq(v, "clear screen\nC1 CSI\nred title nulbyte bad"
	    "\xef\xbf\xbd\xef\xbf\xbdutf8 \xef\xbf\xbd( end\n", "%s", describe(id));
	free(v);
	/* The same, as SQL sees the stored text. */
	expect(id, "position(E'\\x1b' IN j.errors[1]->>'error') +"
	    " position(E'\\x07' IN j.errors[1]->>'error') +"
	    " position(E'\\r' IN j.errors[1]->>'error') +"
	    " position(chr(155) IN j.errors[1]->>'error')", "0");
	expect(id, "position(E'\\x1b' IN j.errors[1]->>'trace') +"
	    " position(E'\\x07' IN j.errors[1]->>'trace') +"
	    " position(E'\\r' IN j.errors[1]->>'trace') +"
	    " position(chr(155) IN j.errors[1]->>'trace')", "0");
	expect(id, "j.errors[1]->>'error' ~ '[\\x01-\\x08\\x0b-\\x1f\\x7f]'", "false");
}

/* ---- 8. max_attempts ---- */

Test(runner_outcomes, discarded_after_max_attempts)
{
	long long id;

	start("[kind.flaky]\nexec = %s/misbehave\nretry = schedule 0 1s\n", th_prefix());
	id = enqueue("flaky", "{\"mode\": \"fail\"}", 2);
	wait_state(id, "discarded", 40);
	expect(id, "j.attempt", "2");
	expect(id, "array_length(j.errors, 1)", "2");
	expect(id, "j.errors[1]->>'attempt' || ',' || (j.errors[2]->>'attempt')", "1,2");
	expect(id, err1(), "exit status 1: failing on purpose");
	expect(id, "j.errors[2]->>'error'", "exit status 1: failing on purpose");
	expect(id, "array_length(j.attempted_by, 1)", "2");
	expect_true(id, "j.finalized_at IS NOT NULL");
}

/* ---- 9. bad input ---- */

Test(runner_outcomes, args_not_an_object)
{
	long long id;

	start("");
	id = enqueue("mis", "[1,2]", 25);
	wait_state(id, "cancelled", 20);
	expect(id, cls(), "bad_args");
	expect(id, err1(), "args must be a JSON object, not an array");
	expect(id, "j.attempt", "1");
}

Test(runner_outcomes, args_over_max_args)
{
	long long	 id;
	char		*len;

	start("max_args = 1K\n");
	id = enqueue("mis", "{\"pad\": \"' || repeat('x', 10000) || '\"}", 25);
	wait_state(id, "cancelled", 20);
	expect(id, cls(), "bad_args");
	len = col(id, "octet_length(j.args::text)");
	expect(id, err1(), th_sql("SELECT 'args are %s bytes, over the max_args limit"
	    " of 1024'", len));
	free(len);
	/* Smaller args still run. */
	id = enqueue("mis", "{\"mode\": \"invalid_result\"}", 25);
	wait_state(id, "completed", 20);
}

Test(runner_outcomes, unknown_kind)
{
	long long id;

	start("");
	id = enqueue("no_such_kind", "{}", 25);
	/* Attempt 1 retries within 1 s (available), attempt 2 after 16 s. */
	wait_state(id, "retryable", 30);
	expect(id, err1(), "job kind is not registered in the client's Workers bundle:"
	    " no_such_kind");
	expect(id, cls(), "unknown_kind");
	expect(id, "j.errors[array_length(j.errors, 1)]->>'error'",
	    "job kind is not registered in the client's Workers bundle: no_such_kind");
	expect_true(id, "j.finalized_at IS NULL");
}
