/* hivejobd end to end: the simplest paths, through a real daemon. */
#include <stdlib.h>
#include <string.h>

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
	th_daemon_start(&d, "");
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('noop', '{}')");
	cr_assert(th_wait_sql("completed", 10, "SELECT state FROM river_job"),
	    "%s", th_daemon_log(&d));
}
