/* hivejobd end to end: the simplest paths, through a real daemon. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

static struct th_daemon d;

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

static void
teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
}

TestSuite(runner_basic, .init = setup, .fini = teardown, .timeout = 120);

Test(runner_basic, noop_completes_and_exit_status_retries)
{
	th_daemon_start(&d, "[kind.fail]\nexec = %s/exit3.sh\n", th_prefix());
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "fail", "{}", "--max-attempts", "1", NULL), 0);
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE id = 1"),
	    "%s", th_daemon_log(&d));
	cr_assert(th_wait_sql("discarded", 20, "SELECT state FROM river_job WHERE id = 2"),
	    "%s", th_daemon_log(&d));
	cr_assert_str_eq(th_sql("SELECT errors[1]->>'error' FROM river_job WHERE id = 2"),
	    "exit status 3: could not reach the thing");
	cr_assert_str_eq(th_sql("SELECT metadata->'hivejob'->>'class' FROM river_job WHERE id = 2"),
	    "exit");
	cr_assert_str_eq(th_sql("SELECT attempted_by[1] FROM river_job WHERE id = 1"),
	    th_sql("SELECT 'test-' || %ld", (long)getpid()));
	cr_assert_eq(th_daemon_stop(&d), 0);
}

/* What the TypeScript core does: no NOTIFY. The poll finds it. */
Test(runner_basic, raw_insert_without_notify)
{
	th_daemon_start(&d, "%s", "");
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('noop', '{}')");
	cr_assert(th_wait_sql("completed", 10, "SELECT state FROM river_job"),
	    "%s", th_daemon_log(&d));
}

/* A cancel that arrives while the job is claimed but still in its load. */
Test(runner_basic, cancel_before_the_job_starts)
{
	th_sql_ok("CREATE FUNCTION slow_load(j jsonb) RETURNS jsonb LANGUAGE sql"
	    " AS $$ SELECT pg_sleep(2); SELECT '{\"ok\": true}'::jsonb $$");
	th_daemon_start(&d, "[kind.slowload]\nexec = /bin/false\nload = slow_load\n");
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('slowload', '{}')");
	cr_assert(th_wait_sql("running", 10, "SELECT state FROM river_job"));
	th_sql_ok("UPDATE river_job SET metadata = metadata ||"
	    " jsonb_build_object('cancel_attempted_at', now())");
	th_sql_ok("SELECT pg_notify('public.river_control',"
	    " '{\"action\": \"cancel\", \"job_id\": 1, \"queue\": \"default\"}')");
	cr_assert(th_wait_sql("cancelled", 20, "SELECT state FROM river_job"),
	    "%s", th_daemon_log(&d));
	/* /bin/false never ran: its failure would be the error otherwise. */
	cr_assert_str_eq(th_sql("SELECT errors[1]->>'error' FROM river_job"),
	    "job cancelled by request before it started");
}

Test(runner_basic, password_in_a_readable_config_is_refused)
{
	char		 path[] = "/tmp/hivejob-conf.XXXXXX", *err;
	const char	*argv[] = { th_bin("hivejobd"), "-n", "-c", path, NULL };
	int		 fd = mkstemp(path);

	cr_assert(fd >= 0);
	dprintf(fd, "[database]\nconninfo = dbname=x password=hunter2hunter2\n");
	close(fd);
	chmod(path, 0644);
	cr_assert_eq(th_run(NULL, &err, argv), 78);
	cr_assert(strstr(err, "readable by others"), "%s", err);
	cr_assert_null(strstr(err, "hunter2"), "the password was printed: %s", err);
	chmod(path, 0600);
	cr_assert_eq(th_run(NULL, &err, argv), 0, "%s", err);
	unlink(path);
}
