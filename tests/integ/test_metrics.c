/*
 * [metrics]: the textfile for node_exporter, through a real daemon, and
 * checked by promtool (Debian's prometheus package, unpacked by make under
 * build/promtool).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "th.h"

#define SECRET	"s3cret-metrics-token-9f2a"

static struct th_daemon d;
static char dir[64];

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

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 120);

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	cr_assert_not_null(s);
	n = (long)fread(s, 1, (size_t)n, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Only hivejob.prom may ever end in .prom: the temp name must not. */
static void
dir_check(void)
{
	DIR		*dp = opendir(dir);
	struct dirent	*e;
	size_t		 n;

	cr_assert_not_null(dp);
	while ((e = readdir(dp)) != NULL) {
		n = strlen(e->d_name);
		if (n >= 5 && strcmp(e->d_name + n - 5, ".prom") == 0)
			cr_assert_str_eq(e->d_name, "hivejob.prom",
			    "a temp file ends in .prom: %s", e->d_name);
	}
	closedir(dp);
}

static int
has_all(const char *text, const char *const *want)
{
	for (; *want; want++)
		if (strstr(text, *want) == NULL)
			return 0;
	return 1;
}

Test(metrics, textfile_counts_and_promtool)
{
	char		 secret[128], *text = NULL, *err, *out, *cmd, *path, *w;
	const char	*promtool = getenv("HIVEJOB_PROMTOOL");
	long		 t0;
	int		 fd, ok = 0;
	DIR		*dp;
	struct dirent	*e;
	const char	*want[16];
	int		 nw = 0;

	snprintf(dir, sizeof(dir), "/tmp/hivejob-metrics.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	if (th_root())
		cr_assert_eq(chown(dir, 65534, 65534), 0);
	snprintf(secret, sizeof(secret), "%s/token", dir);
	fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	dprintf(fd, "%s\n", SECRET);
	close(fd);
	/* SIGHUP reads it again, as the daemon's user. */
	if (th_root())
		cr_assert_eq(chown(secret, 65534, 65534), 0);
	path = fmt("%s/hivejob.prom", dir);

	th_daemon_start(&d, "[metrics]\ntextfile = %s\ninterval = 1s\n"
	    "[kind.fail]\nexec = /bin/false\ntoken_file = %s\n", path, secret);
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", NULL), 0);
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "fail", "{}",
	    "--max-attempts", "1", NULL), 0);
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "mystery", "{}",
	    "--max-attempts", "1", NULL), 0);
	/* Waiting work, for the queue depth gauge. */
	cr_assert_eq(th_ctl(NULL, NULL, "enqueue", "noop", "{}", "--at", "+1h", NULL), 0);
	cr_assert(th_wait_sql("completed", 20, "SELECT state FROM river_job WHERE id = 1"),
	    "%s", th_daemon_log(&d));
	cr_assert(th_wait_sql("discarded", 20, "SELECT state FROM river_job WHERE id = 2"),
	    "%s", th_daemon_log(&d));
	cr_assert(th_wait_sql("discarded", 20, "SELECT state FROM river_job WHERE id = 3"),
	    "%s", th_daemon_log(&d));

	want[nw++] = "hivejob_jobs_total{kind=\"noop\",outcome=\"completed\"} 1\n";
	want[nw++] = "hivejob_jobs_total{kind=\"fail\",outcome=\"discarded\"} 1\n";
	want[nw++] = "hivejob_jobs_total{kind=\"other\",outcome=\"discarded\"} 1\n";
	want[nw++] = "hivejob_job_failures_total{kind=\"fail\",class=\"exit\"} 1\n";
	want[nw++] = "hivejob_job_failures_total{kind=\"other\",class=\"unknown_kind\"} 1\n";
	want[nw++] = "hivejob_job_duration_seconds_count{kind=\"noop\"} 1\n";
	want[nw++] = "hivejob_job_duration_seconds_bucket{kind=\"noop\",le=\"+Inf\"} 1\n";
	want[nw++] = "hivejob_job_queue_wait_seconds_count{kind=\"noop\"} 1\n";
	want[nw++] = "hivejob_job_queue_wait_seconds_count{kind=\"fail\"} 1\n";
	want[nw++] = "# TYPE hivejob_job_duration_seconds histogram\n";
	want[nw++] = "\nhivejob_children_max ";
	want[nw++] = "hivejob_queue_depth{queue=\"default\",state=\"scheduled\"} 1\n";
	want[nw++] = "hivejob_queue_depth{queue=\"default\",state=\"available\"} 0\n";
	want[nw++] = "\nhivejob_leader ";
	w = fmt("hivejob_supervisor_info{id=\"%s\",version=\"", d.id);
	want[nw++] = w;
	want[nw] = NULL;

	t0 = mono_ms();
	while (mono_ms() - t0 < 20000) {
		dir_check();
		free(text);
		text = slurp(path);
		if (text && has_all(text, want)) {
			ok = 1;
			break;
		}
		usleep(100 * 1000);
	}
	cr_assert(ok, "the metrics never showed the counts:\n%s\n%s",
	    text ? text : "(no file)", th_daemon_log(&d));
	cr_assert_null(strstr(text, "kind=\"mystery\""), "%s", text);
	cr_assert_null(strstr(text, SECRET), "a secret in the metrics:\n%s", text);
	cr_assert_null(strstr(th_daemon_log(&d), SECRET), "a secret in the log");
	cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	/* Not a single timestamp yet for kinds that never completed. */
	cr_assert(strstr(text, "hivejob_last_success_timestamp_seconds{kind=\"fail\"} 0.000\n"),
	    "%s", text);
	cr_assert_null(strstr(text, "hivejob_last_success_timestamp_seconds{kind=\"noop\"} 0.000\n"),
	    "%s", text);

	/* A reload keeps the counts of the kinds that remain. */
	unlink(path);
	kill(d.pid, SIGHUP);
	cr_assert(th_daemon_log_wait(&d, "configuration reloaded", 10), "%s",
	    th_daemon_log(&d));
	t0 = mono_ms();
	ok = 0;
	while (mono_ms() - t0 < 10000) {
		dir_check();
		free(text);
		text = slurp(path);
		if (text && has_all(text, want)) {
			ok = 1;
			break;
		}
		usleep(100 * 1000);
	}
	cr_assert(ok, "the counts were lost in a reload:\n%s\n%s",
	    text ? text : "(no file)", th_daemon_log(&d));

	/* promtool: exit 0, nothing to complain about. */
	if (promtool == NULL)
		promtool = "build/promtool/usr/bin/promtool";
	cr_assert_eq(access(promtool, X_OK), 0, "%s is missing: make build/tests/integ_test_metrics",
	    promtool);
	cmd = fmt("'%s' check metrics < '%s'", promtool, path);
	{
		const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
		int rc = th_run(&out, &err, argv);
		cr_assert_eq(rc, 0, "promtool check metrics: %d\n%s%s\n%s", rc, out, err, text);
	}

	/* A stop writes the last state; no temp file is left behind. */
	cr_assert_eq(th_daemon_stop(&d), 0);
	d.pid = 0;
	dir_check();
	dp = opendir(dir);
	cr_assert_not_null(dp);
	while ((e = readdir(dp)) != NULL)
		cr_assert_null(strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
	closedir(dp);
	free(text);
	text = slurp(path);
	cr_assert(text && strstr(text, "\nhivejob_children_running 0\n"), "%s", text ? text : "");
	free(text);
	unlink(secret);
	unlink(path);
	rmdir(dir);
}

Test(metrics, bad_config_is_refused)
{
	char		 path[] = "/tmp/hivejob-conf.XXXXXX", *err;
	const char	*argv[] = { th_bin("hivejobd"), "-n", "-c", path, NULL };
	int		 fd = mkstemp(path);

	cr_assert(fd >= 0);
	dprintf(fd, "[metrics]\ntextfile = relative.prom\n");
	close(fd);
	chmod(path, 0600);
	cr_assert_eq(th_run(NULL, &err, argv), 78);
	cr_assert(strstr(err, "textfile must be an absolute path"), "%s", err);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "[metrics]\ntextfile = /tmp/x.prom\ninterval = 500ms\n");
	close(fd);
	cr_assert_eq(th_run(NULL, &err, argv), 78);
	cr_assert(strstr(err, "interval must be at least 1s"), "%s", err);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "[metrics]\ntextfile =\ninterval = 1m\n");
	close(fd);
	cr_assert_eq(th_run(NULL, &err, argv), 0, "%s", err);
	unlink(path);
}
