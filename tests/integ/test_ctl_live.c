/*
 * hivejobctl against a live hivejobd: cancel of a running job, and top
 * (one frame when stdout is no terminal, and --json).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

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

TestSuite(ctl_live, .init = setup, .fini = teardown, .timeout = 120);

/* A sleepy job (30 s), enqueued and started by the daemon; its id. */
static long
sleepy_running(void)
{
	char *out, *err;
	long id;

	th_daemon_start(&d, "[kind.sleepy]\nexec = /bin/sleep 30\n");
	cr_assert_eq(th_ctl(&out, &err, "enqueue", "sleepy", "{}", NULL), 0, "%s", err);
	id = qlong("SELECT max(id) FROM river_job");
	cr_assert(th_wait_sql("running", 20, "SELECT state FROM river_job WHERE id = %ld",
	    id), "%s", th_daemon_log(&d));
	/* its process runs (not merely claimed): hivejobd -v logs the start */
	cr_assert(th_daemon_log_wait(&d, fmt("job=%ld kind=sleepy attempt=1 started pid=",
	    id), 20), "%s", th_daemon_log(&d));
	return id;
}

Test(ctl_live, cancel_of_a_running_job)
{
	char	*out, *err;
	long	 id, t0;

	id = sleepy_running();
	t0 = mono_ms();
	cr_assert_eq(th_ctl(&out, &err, "cancel", fmt("%ld", id), NULL), 0, "%s%s",
	    out, err);
	cr_assert(th_wait_sql("cancelled", 10, "SELECT state FROM river_job WHERE id = %ld",
	    id), "%s", th_daemon_log(&d));
	cr_assert_lt(mono_ms() - t0, 10000);
	cr_assert(th_daemon_log_wait(&d, fmt("job=%ld kind=sleepy cancelled by request",
	    id), 5), "%s", th_daemon_log(&d));
	cr_assert_str_eq(q("SELECT errors[1]->>'error' FROM river_job WHERE id = %ld", id),
	    "job cancelled by request while running");
	cr_assert_eq(th_daemon_stop(&d), 0);
}

Test(ctl_live, top_prints_one_frame_when_not_a_tty)
{
	char	*out, *err;
	long	 id;

	id = sleepy_running();
	/* th_run's stdout is a pipe: one frame, no terminal control, exit 0 */
	cr_assert_eq(th_ctl(&out, &err, "top", "--interval", "200ms", NULL), 0, "%s", err);
	cr_assert_not_null(strstr(out, "queues:"), "%s", out);
	cr_assert_not_null(strstr(out, "running: 1\n"), "%s", out);
	cr_assert_not_null(strstr(out, "sleepy"), "%s", out);
	cr_assert_not_null(strstr(out, fmt("\n%ld ", id)), "%s", out);
	cr_assert_not_null(strstr(out, fmt("test-%ld", (long)getpid())), "no supervisor "
	    "in:\n%s", out);
	cr_assert_null(strchr(out, '\033'), "terminal control sequences in:\n%s", out);
	cr_assert_eq(th_ctl(NULL, &err, "top", "--interval", "2", NULL), 64, "%s", err);
	cr_assert_eq(th_ctl(NULL, &err, "top", "extra", NULL), 64, "%s", err);
}

Test(ctl_live, top_json_parses)
{
	json_object	*o, *v, *run, *j;
	char		*out, *err;
	long		 id;

	id = sleepy_running();
	cr_assert_eq(th_ctl(&out, &err, "top", "--json", NULL), 0, "%s", err);
	cr_assert_not_null(o = json_tokener_parse(out), "not JSON: %s", out);
	cr_assert(json_object_object_get_ex(o, "queues", &v) &&
	    json_object_is_type(v, json_type_array), "%s", out);
	cr_assert(json_object_object_get_ex(o, "throughput", &v) &&
	    json_object_is_type(v, json_type_array), "%s", out);
	cr_assert(json_object_object_get_ex(o, "running_total", &v) &&
	    json_object_get_int64(v) == 1, "%s", out);
	cr_assert(json_object_object_get_ex(o, "running", &run) &&
	    json_object_array_length(run) == 1, "%s", out);
	j = json_object_array_get_idx(run, 0);
	cr_assert(json_object_object_get_ex(j, "id", &v) && json_object_get_int64(v) == id,
	    "%s", out);
	cr_assert(json_object_object_get_ex(j, "kind", &v) &&
	    strcmp(json_object_get_string(v), "sleepy") == 0, "%s", out);
	cr_assert(json_object_object_get_ex(j, "supervisor", &v) &&
	    strcmp(json_object_get_string(v), fmt("test-%ld", (long)getpid())) == 0,
	    "%s", out);
	cr_assert(json_object_object_get_ex(j, "age_s", &v) &&
	    json_object_get_double(v) >= 0, "%s", out);
	cr_assert(json_object_object_get_ex(o, "queues", &v) &&
	    json_object_array_length(v) >= 1, "%s", out);
	json_object_put(o);
}
