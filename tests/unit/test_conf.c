/*
 * Unit tests of hivejobd.conf(5): every key, the defaults, the built-in
 * kinds, quoting, retry schedules, secret files, libexec precedence, and
 * the exact "file:line: message" of each kind of mistake.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conf.h"

#ifndef HIVEJOB_LIBEXECDIR
#define HIVEJOB_LIBEXECDIR	"/usr/local/libexec/hivejob"
#endif

static char	dir[64];
static char	path[128];
static char	err[1024];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hivejob-conf.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hivejobd.conf", dir);
	unsetenv("HIVEJOB_LIBEXEC");
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

TestSuite(conf, .init = setup, .fini = teardown);

static void
file_write(const char *name, const char *text, size_t len)
{
	char	 p[256];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(p, "w"));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static struct conf *
load(const char *text)
{
	struct conf *c;

	file_write("hivejobd.conf", text, strlen(text));
	c = conf_load(path, err, sizeof(err));
	cr_assert_not_null(c, "conf_load failed: %s", err);
	return c;
}

/* The load fails with exactly "PATH:LINE: msg". */
static void
load_err(const char *text, int line, const char *msg)
{
	char want[1024];

	file_write("hivejobd.conf", text, strlen(text));
	cr_assert_null(conf_load(path, err, sizeof(err)), "accepted:\n%s", text);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	cr_assert_str_eq(err, want);
}

static const char *
setting(const struct kind_conf *k, const char *key, int *secret)
{
	int i;

	for (i = 0; i < k->nsettings; i++)
		if (strcmp(k->settings[i].key, key) == 0) {
			if (secret)
				*secret = k->settings[i].secret;
			return k->settings[i].value;
		}
	return NULL;
}

Test(conf, every_key)
{
	struct conf		*c;
	struct kind_conf	*k;
	int			 secret;

	file_write("key", "sk-123\n", 7);
	c = load(
	    "# hivejobd.conf\n"
	    "[database]\n"
	    "conninfo = host=/run/postgresql dbname=hub\n"
	    "schema = jobs\n"
	    "\n"
	    "[supervisor]\n"
	    "id = worker-1\n"
	    "queues = default, mail bulk\n"
	    "max_children = 16\n"
	    "poll_interval = 250ms\n"
	    "user = hivejob\n"
	    "job_uid_base = 3000000\n"
	    "libexec = /opt/hivejob/libexec\n"
	    "isolation = same-uid\n"
	    "workdir = /var/lib/hivejob\n"
	    "kill_grace = 10s\n"
	    "max_args = 2M\n"
	    "lease = 30s\n"
	    "drain_timeout = 2m\n"
	    "max_interruptions = 0\n"
	    "keep_completed = 1h\n"
	    "keep_cancelled = 2d\n"
	    "keep_discarded = 30d\n"
	    "\n"
	    "[queue.mail]\n"
	    "max_children = 2\n"
	    "\n"
	    "[kind.thumbnail]\n"
	    "exec = thumbnailer --size 128\n"
	    "timeout = 2m\n"
	    "memory = 512M\n"
	    "cpu = 90s\n"
	    "files = 32\n"
	    "processes = 8\n"
	    "fsize = 16M\n"
	    "output = 1M\n"
	    "max_children = 3\n"
	    "retry = schedule 0 5s 5m\n"
	    "retry_cap = 2h\n"
	    "load = jobs.thumbnail_load\n"
	    "apply = thumbnail_apply\n"
	    "width = 128\n"
	    "api_key_file = key\n");

	cr_assert_str_eq(c->path, path);
	cr_assert_str_eq(c->conninfo, "host=/run/postgresql dbname=hub");
	cr_assert_str_eq(c->schema, "jobs");
	cr_assert_str_eq(c->id, "worker-1");
	cr_assert_eq(c->max_children, 16);
	cr_assert_eq(c->poll_interval_ms, 250);
	cr_assert_str_eq(c->user, "hivejob");
	cr_assert_eq(c->job_uid_base, 3000000);
	cr_assert_str_eq(c->libexec, "/opt/hivejob/libexec");
	cr_assert_eq(c->isolation, ISOLATION_SAME_UID);
	cr_assert_str_eq(c->workdir, "/var/lib/hivejob");
	cr_assert_eq(c->kill_grace_ms, 10000);
	cr_assert_eq(c->max_args, 2 * 1024 * 1024);
	cr_assert_eq(c->lease_ms, 30000);
	cr_assert_eq(c->drain_timeout_ms, 120000);
	cr_assert_eq(c->max_interruptions, 0);
	cr_assert_eq(c->keep_completed_ms, 3600000);
	cr_assert_eq(c->keep_cancelled_ms, 2 * 86400000LL);
	cr_assert_eq(c->keep_discarded_ms, 30 * 86400000LL);
	cr_assert_eq(c->nperiodics, 0);

	cr_assert_eq(c->nqueues, 3);
	cr_assert_str_eq(c->queues[0].name, "default");
	cr_assert_str_eq(c->queues[1].name, "mail");
	cr_assert_str_eq(c->queues[2].name, "bulk");
	cr_assert_eq(c->queues[0].max_children, 0);
	cr_assert_eq(conf_queue(c, "mail")->max_children, 2);

	cr_assert_eq(c->nkinds, 5);
	k = conf_kind(c, "thumbnail");
	cr_assert_not_null(k);
	cr_assert_eq(k, &c->kinds[4]);
	cr_assert_eq(k->builtin, 0);
	cr_assert_eq(k->argc, 3);
	cr_assert_str_eq(k->argv[0], "/opt/hivejob/libexec/thumbnailer");
	cr_assert_str_eq(k->argv[1], "--size");
	cr_assert_str_eq(k->argv[2], "128");
	cr_assert_null(k->argv[3]);
	cr_assert_eq(k->timeout_ms, 120000);
	cr_assert_eq(k->memory, 512ULL * 1024 * 1024);
	cr_assert_eq(k->cpu_ms, 90000);
	cr_assert_eq(k->files, 32);
	cr_assert_eq(k->processes, 8);
	cr_assert_eq(k->fsize, 16 * 1024 * 1024);
	cr_assert_eq(k->output, 1024 * 1024);
	cr_assert_eq(k->max_children, 3);
	cr_assert_eq(k->retry, RETRY_SCHEDULE);
	cr_assert_eq(k->nschedule, 3);
	cr_assert_eq(k->schedule_ms[0], 0);
	cr_assert_eq(k->schedule_ms[1], 5000);
	cr_assert_eq(k->schedule_ms[2], 300000);
	cr_assert_eq(k->retry_cap_ms, 7200000);
	cr_assert_str_eq(k->load, "jobs.thumbnail_load");
	cr_assert_str_eq(k->apply, "thumbnail_apply");
	cr_assert_eq(k->nsettings, 2);
	cr_assert_str_eq(k->settings[0].key, "width");
	cr_assert_str_eq(k->settings[0].value, "128");
	cr_assert_eq(k->settings[0].secret, 0);
	cr_assert_str_eq(setting(k, "api_key", &secret), "sk-123");
	cr_assert_eq(secret, 1);
	cr_assert_null(setting(k, "api_key_file", NULL));
	conf_free(c);
}

Test(conf, defaults)
{
	struct conf		*c;
	struct kind_conf	*k;
	char			 host[256];
	const char		*names[] = { "noop", "sentiment_analysis",
	    "feedback_embedding", "webhook_dispatch" };
	const char		*progs[] = { "hivejob-noop", "hivejob-sentiment",
	    "hivejob-embed", "hivejob-webhook" };
	char			 want[256];
	int			 i;

	c = load("");
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	cr_assert_str_eq(c->id, host);
	cr_assert_str_eq(c->conninfo, "");
	cr_assert_str_eq(c->schema, "");
	cr_assert_eq(c->max_children, 4);
	cr_assert_eq(c->poll_interval_ms, 1000);
	cr_assert_null(c->user);
	cr_assert_eq(c->job_uid_base, 2100000);
	cr_assert_str_eq(c->libexec, HIVEJOB_LIBEXECDIR);
	cr_assert_eq(c->isolation, ISOLATION_UID);
	cr_assert_str_eq(c->workdir, "/run/hivejob");
	cr_assert_eq(c->kill_grace_ms, 5000);
	cr_assert_eq(c->max_args, 1024 * 1024);
	cr_assert_eq(c->lease_ms, 10000);
	cr_assert_eq(c->drain_timeout_ms, 30000);
	cr_assert_eq(c->max_interruptions, 3);
	cr_assert_eq(c->keep_completed_ms, 86400000);
	cr_assert_eq(c->keep_cancelled_ms, 86400000);
	cr_assert_eq(c->keep_discarded_ms, 7 * 86400000LL);
	cr_assert_eq(c->nperiodics, 0);
	cr_assert_null(c->periodics);
	cr_assert_eq(c->nqueues, 1);
	cr_assert_str_eq(c->queues[0].name, "default");
	cr_assert_eq(c->queues[0].max_children, 0);

	cr_assert_eq(c->nkinds, 4);
	for (i = 0; i < 4; i++) {
		k = &c->kinds[i];
		snprintf(want, sizeof(want), "%s/%s", HIVEJOB_LIBEXECDIR,
		    progs[i]);
		cr_assert_str_eq(k->name, names[i]);
		cr_assert_eq(k->builtin, 1);
		cr_assert_eq(k->argc, 1);
		cr_assert_str_eq(k->argv[0], want);
		cr_assert_null(k->argv[1]);
		cr_assert_eq(k->timeout_ms, 60000);
		cr_assert_eq(k->memory, 0);
		cr_assert_eq(k->cpu_ms, 0);
		cr_assert_eq(k->files, 256);
		cr_assert_eq(k->processes, 64);
		cr_assert_eq(k->fsize, 1024ULL * 1024 * 1024);
		cr_assert_eq(k->output, 64 * 1024);
		cr_assert_eq(k->max_children, 0);
		cr_assert_eq(k->retry_cap_ms, 3600000);
		cr_assert_eq(k->nsettings, 0);
		if (strcmp(k->name, "webhook_dispatch") == 0) {
			/* Standard Webhooks' schedule, and the kind's SQL. */
			cr_assert_eq(k->retry, RETRY_SCHEDULE);
			cr_assert_eq(k->nschedule, 8);
			cr_assert_eq(k->schedule_ms[0], 0);
			cr_assert_eq(k->schedule_ms[1], 5000);
			cr_assert_eq(k->schedule_ms[7], 36000000);
			cr_assert_str_eq(k->load, "hivejob_webhook_load");
			cr_assert_str_eq(k->apply, "hivejob_webhook_apply");
			cr_assert_str_eq(k->apply_order, "webhook_id");
			continue;
		}
		cr_assert_eq(k->retry, RETRY_EXPONENTIAL);
		cr_assert_null(k->schedule_ms);
		cr_assert_eq(k->nschedule, 0);
		if (strcmp(k->name, "noop") == 0) {
			cr_assert_null(k->load);
			cr_assert_null(k->apply);
		} else {
			cr_assert_str_eq(k->load, "hivejob_feedback_load");
			cr_assert_str_eq(k->apply_order, "feedback_record_id");
		}
	}
	cr_assert_null(conf_kind(c, "nosuch"));
	cr_assert_null(conf_queue(c, "nosuch"));
	conf_free(c);
	conf_free(NULL);
}

Test(conf, comments_blanks_and_crlf)
{
	struct conf *c;

	c = load("# a comment\r\n"
	    "; another\r\n"
	    "   \t\r\n"
	    "  [ supervisor ]  \r\n"
	    "   max_children\t=\t7   \r\n"
	    "\t# indented comment\n"
	    "id=a=b\n"
	    "[database]\n"
	    "conninfo =\n");
	cr_assert_eq(c->max_children, 7);
	cr_assert_str_eq(c->id, "a=b");
	cr_assert_str_eq(c->conninfo, "");
	conf_free(c);
}

Test(conf, builtin_override)
{
	struct conf		*c;
	struct kind_conf	*k;

	c = load("[kind.noop]\n"
	    "timeout = 5s\n"
	    "[kind.webhook_dispatch]\n"
	    "exec = /usr/bin/env WEBHOOK=1 my-webhook\n"
	    "[kind.custom]\n"
	    "exec = custom-worker\n"
	    "[kind.another]\n"
	    "exec = ./relative\n");
	cr_assert_eq(c->nkinds, 6);
	k = conf_kind(c, "noop");
	cr_assert_eq(k, &c->kinds[0]);
	cr_assert_eq(k->builtin, 1);
	cr_assert_eq(k->timeout_ms, 5000);
	cr_assert_eq(k->argc, 1);
	cr_assert_str_eq(k->argv[0], HIVEJOB_LIBEXECDIR "/hivejob-noop");
	cr_assert_eq(k->files, 256);

	k = conf_kind(c, "webhook_dispatch");
	cr_assert_eq(k, &c->kinds[3]);
	cr_assert_eq(k->builtin, 1);
	cr_assert_eq(k->argc, 3);
	cr_assert_str_eq(k->argv[0], "/usr/bin/env");
	cr_assert_str_eq(k->argv[2], "my-webhook");

	cr_assert_str_eq(c->kinds[4].name, "custom");
	cr_assert_eq(c->kinds[4].builtin, 0);
	cr_assert_str_eq(c->kinds[4].argv[0],
	    HIVEJOB_LIBEXECDIR "/custom-worker");
	cr_assert_str_eq(c->kinds[5].name, "another");
	cr_assert_str_eq(c->kinds[5].argv[0], "./relative");
	conf_free(c);
}

Test(conf, quoted_values)
{
	struct conf		*c;
	struct kind_conf	*k;

	c = load("[kind.feedback_embedding]\n"
	    "doc_prefix = \"search_document: \"\n"
	    "query_prefix=\"  both  \"   \n"
	    "escapes = \"say \\\"hi\\\" \\\\o/\"\n"
	    "empty = \"\"\n"
	    "inner = a \"quoted\" word\n"
	    "hash = \"# not a comment\"\n");
	k = conf_kind(c, "feedback_embedding");
	cr_assert_str_eq(setting(k, "doc_prefix", NULL), "search_document: ");
	cr_assert_str_eq(setting(k, "query_prefix", NULL), "  both  ");
	cr_assert_str_eq(setting(k, "escapes", NULL), "say \"hi\" \\o/");
	cr_assert_str_eq(setting(k, "empty", NULL), "");
	cr_assert_str_eq(setting(k, "inner", NULL), "a \"quoted\" word");
	cr_assert_str_eq(setting(k, "hash", NULL), "# not a comment");
	cr_assert_str_eq(k->settings[0].key, "doc_prefix");
	cr_assert_str_eq(k->settings[5].key, "hash");
	conf_free(c);

	c = load("[database]\nconninfo = \" dbname=x \"\n");
	cr_assert_str_eq(c->conninfo, " dbname=x ");
	conf_free(c);
}

Test(conf, quoted_value_errors)
{
	load_err("[kind.noop]\nx = \"open\n", 2, "unterminated quoted value");
	load_err("[kind.noop]\nx = \"a\\\"\n", 2, "unterminated quoted value");
	load_err("[kind.noop]\nx = \"a\\\n", 2, "unterminated quoted value");
	load_err("[kind.noop]\n\nx = \"a\" b\n", 3,
	    "text after the closing quote");
	load_err("[kind.noop]\nx = \"a\\nb\"\n", 2,
	    "unknown escape '\\n' in quoted value (only \\\" and \\\\)");
}

Test(conf, retry_schedules)
{
	struct conf		*c;
	struct kind_conf	*k;

	c = load("[kind.a]\n"
	    "exec = a\n"
	    "retry = schedule 0s 5s 5m 30m 2h\n"
	    "[kind.b]\n"
	    "exec = b\n"
	    "retry = \tschedule\t0   1d \n"
	    "[kind.c]\n"
	    "exec = c\n"
	    "retry = exponential\n"
	    "retry_cap = 0s\n");
	k = conf_kind(c, "a");
	cr_assert_eq(k->retry, RETRY_SCHEDULE);
	cr_assert_eq(k->nschedule, 5);
	cr_assert_eq(k->schedule_ms[0], 0);
	cr_assert_eq(k->schedule_ms[1], 5000);
	cr_assert_eq(k->schedule_ms[2], 300000);
	cr_assert_eq(k->schedule_ms[3], 1800000);
	cr_assert_eq(k->schedule_ms[4], 7200000);
	k = conf_kind(c, "b");
	cr_assert_eq(k->nschedule, 2);
	cr_assert_eq(k->schedule_ms[0], 0);
	cr_assert_eq(k->schedule_ms[1], 86400000);
	k = conf_kind(c, "c");
	cr_assert_eq(k->retry, RETRY_EXPONENTIAL);
	cr_assert_eq(k->nschedule, 0);
	cr_assert_eq(k->retry_cap_ms, 0);
	conf_free(c);

	load_err("[kind.noop]\nretry = schedule 5s 10\n", 2,
	    "invalid duration '10' in retry schedule "
	    "(use 500ms, 30s, 5m, 2h, 5d)");
	load_err("[kind.noop]\nretry = schedule\n", 2,
	    "retry schedule needs at least one duration");
	load_err("[kind.noop]\nretry = linear\n", 2,
	    "invalid retry 'linear' (use exponential, or schedule and "
	    "durations)");
	load_err("[kind.noop]\nretry =\n", 2,
	    "invalid retry '' (use exponential, or schedule and durations)");
}

Test(conf, secret_files)
{
	struct conf		*c;
	struct kind_conf	*k;
	int			 secret;
	char			 text[512];

	file_write("a", "one\n", 4);
	file_write("b", "two\n\n", 5);
	file_write("c", "three", 5);
	file_write("d", "four\r\n", 6);
	file_write("e", "", 0);
	snprintf(text, sizeof(text),
	    "[kind.webhook_dispatch]\n"
	    "a_file = %s/a\n"
	    "b_file = b\n"
	    "c_file = \"c\"\n"
	    "d_file = d\n"
	    "e_file = %s/e\n"
	    "plain = x\n", dir, dir);
	c = load(text);
	k = conf_kind(c, "webhook_dispatch");
	cr_assert_eq(k->nsettings, 6);
	cr_assert_str_eq(k->settings[0].key, "a");
	cr_assert_str_eq(k->settings[0].value, "one");
	cr_assert_eq(k->settings[0].secret, 1);
	cr_assert_str_eq(setting(k, "b", &secret), "two\n");
	cr_assert_eq(secret, 1);
	cr_assert_str_eq(setting(k, "c", NULL), "three");
	cr_assert_str_eq(setting(k, "d", NULL), "four");
	cr_assert_str_eq(setting(k, "e", NULL), "");
	cr_assert_str_eq(setting(k, "plain", &secret), "x");
	cr_assert_eq(secret, 0);
	cr_assert_str_eq(k->settings[5].key, "plain");
	conf_free(c);
}

Test(conf, secret_file_errors)
{
	char	 text[256], want[512], *big;
	size_t	 n = 64 * 1024 + 1;

	snprintf(text, sizeof(text), "[kind.noop]\n\napi_key_file = %s/x\n",
	    dir);
	snprintf(want, sizeof(want), "api_key_file: cannot read '%s/x': "
	    "No such file or directory", dir);
	load_err(text, 3, want);

	snprintf(want, sizeof(want), "api_key_file: cannot read "
	    "'%s/missing': No such file or directory", dir);
	load_err("[kind.noop]\napi_key_file = missing\n", 2, want);

	snprintf(text, sizeof(text), "%s/sub", dir);
	cr_assert_eq(mkdir(text, 0700), 0);
	snprintf(want, sizeof(want), "k_file: cannot read '%s/sub': "
	    "Is a directory", dir);
	load_err("[kind.noop]\nk_file = sub\n", 2, want);

	big = malloc(n);
	memset(big, 's', n);
	file_write("big", big, n);
	snprintf(want, sizeof(want), "k_file: '%s/big' is larger than 64K",
	    dir);
	load_err("[kind.noop]\nk_file = big\n", 2, want);
	file_write("big", big, n - 1);
	free(big);
	conf_free(load("[kind.noop]\nk_file = big\n"));

	file_write("nul", "hunter2\0tail", 12);
	snprintf(want, sizeof(want), "k_file: '%s/nul' contains a NUL byte",
	    dir);
	load_err("[kind.noop]\nk_file = nul\n", 2, want);
	cr_assert_null(strstr(err, "hunter2"));

	file_write("s", "secret\n", 7);
	load_err("[kind.noop]\nk_file = s\nk = again\n", 3,
	    "duplicate setting 'k' in [kind.noop]");
	load_err("[kind.noop]\nk_file =\n", 2, "k_file names no file");
}

Test(conf, libexec_precedence)
{
	struct conf *c;

	c = load("[kind.x]\nexec = w --flag\n[supervisor]\n"
	    "libexec = /from/file/\n");
	cr_assert_str_eq(c->libexec, "/from/file/");
	cr_assert_str_eq(conf_kind(c, "x")->argv[0], "/from/file/w");
	cr_assert_str_eq(conf_kind(c, "noop")->argv[0],
	    "/from/file/hivejob-noop");
	conf_free(c);

	setenv("HIVEJOB_LIBEXEC", "/from/env", 1);
	c = load("[supervisor]\nlibexec = /from/file\n"
	    "[kind.x]\nexec = /abs/w\n");
	cr_assert_str_eq(c->libexec, "/from/env");
	cr_assert_str_eq(conf_kind(c, "noop")->argv[0],
	    "/from/env/hivejob-noop");
	cr_assert_str_eq(conf_kind(c, "x")->argv[0], "/abs/w");
	conf_free(c);

	c = load("");
	cr_assert_str_eq(c->libexec, "/from/env");
	conf_free(c);

	setenv("HIVEJOB_LIBEXEC", "", 1);
	c = load("");
	cr_assert_str_eq(c->libexec, HIVEJOB_LIBEXECDIR);
	conf_free(c);

	load_err("[supervisor]\nlibexec = lib\n", 2,
	    "libexec must be an absolute path");
}

Test(conf, queues)
{
	struct conf *c;

	c = load("[queue.late]\nmax_children = 1\n"
	    "[supervisor]\nqueues = a,b  c,\t, d\n"
	    "[queue.c]\nmax_children = 4096\n"
	    "[queue.zz]\n");
	cr_assert_eq(c->nqueues, 6);
	cr_assert_str_eq(c->queues[0].name, "a");
	cr_assert_str_eq(c->queues[1].name, "b");
	cr_assert_str_eq(c->queues[2].name, "c");
	cr_assert_str_eq(c->queues[3].name, "d");
	cr_assert_str_eq(c->queues[4].name, "late");
	cr_assert_str_eq(c->queues[5].name, "zz");
	cr_assert_eq(c->queues[2].max_children, 4096);
	cr_assert_eq(c->queues[4].max_children, 1);
	cr_assert_eq(c->queues[5].max_children, 0);
	conf_free(c);

	c = load("[queue.mail]\n");
	cr_assert_eq(c->nqueues, 2);
	cr_assert_str_eq(c->queues[0].name, "default");
	cr_assert_str_eq(c->queues[1].name, "mail");
	conf_free(c);

	load_err("[supervisor]\nqueues = a b a\n", 2,
	    "queue 'a' is listed twice");
	load_err("[supervisor]\nqueues = , ,\n", 2, "queues names no queue");
	load_err("[queue.x]\nmax_children = 4097\n", 2,
	    "max_children must be from 0 to 4096");
	load_err("[queue.x]\nweight = 2\n", 2, "unknown key 'weight' in [queue.x]");
}

Test(conf, uid_range)
{
	struct conf *c;

	c = load("[supervisor]\njob_uid_base = 2147479550\n"
	    "max_children = 4096\n");
	cr_assert_eq(c->job_uid_base, 2147479550);
	conf_free(c);

	load_err("[supervisor]\njob_uid_base = 2147479551\n"
	    "max_children = 4096\n", 3,
	    "job_uid_base 2147479551 plus max_children 4096 is more than "
	    "2147483646");
	load_err("[supervisor]\nmax_children = 4096\n\n"
	    "job_uid_base = 2147479551\n", 4,
	    "job_uid_base 2147479551 plus max_children 4096 is more than "
	    "2147483646");
	load_err("[supervisor]\njob_uid_base = 2147483645\n", 2,
	    "job_uid_base 2147483645 plus max_children 4 is more than "
	    "2147483646");
	load_err("[supervisor]\njob_uid_base = 999\n", 2,
	    "job_uid_base must be from 1000 to 2147483645");
	load_err("[supervisor]\njob_uid_base = 4294967296\n", 2,
	    "job_uid_base must be from 1000 to 2147483645");
	load_err("[supervisor]\njob_uid_base = -1\n", 2,
	    "invalid number '-1' for job_uid_base");
}

Test(conf, sql_function_names)
{
	struct conf	*c;
	const char	*bad[] = { "", "a.b.c", ".a", "a.", "a b", "a;drop",
	    "a()", "a\"b", "a-b", "é", NULL };
	char		 text[128], want[256];
	int		 i;

	c = load("[kind.noop]\nload = Jobs_2.load_x\napply = _a9\n");
	cr_assert_str_eq(conf_kind(c, "noop")->load, "Jobs_2.load_x");
	cr_assert_str_eq(conf_kind(c, "noop")->apply, "_a9");
	conf_free(c);
	for (i = 0; bad[i]; i++) {
		snprintf(text, sizeof(text), "[kind.noop]\napply = %s\n",
		    bad[i]);
		snprintf(want, sizeof(want), "invalid function name '%s' for "
		    "apply (letters, digits and _, as name or schema.name)",
		    bad[i]);
		load_err(text, 2, want);
	}
}

Test(conf, value_errors)
{
	static const struct {
		const char	*text;
		int		 line;
		const char	*msg;
	} t[] = {
		{ "[kind.noop]\ntimeout = abc\n", 2,
		  "invalid duration 'abc' for timeout "
		  "(use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[kind.noop]\ntimeout = 30\n", 2,
		  "invalid duration '30' for timeout "
		  "(use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[kind.noop]\ntimeout = 0s\n", 2,
		  "timeout must be more than 0s" },
		{ "[kind.noop]\nmemory = 1T\n", 2,
		  "invalid size '1T' for memory (use 4096, 64K, 256M, 1G)" },
		{ "[kind.noop]\noutput = 1023\n", 2,
		  "output must be from 1K to 64M" },
		{ "[kind.noop]\noutput = 65M\n", 2,
		  "output must be from 1K to 64M" },
		{ "[kind.noop]\nfiles = 0\n", 2,
		  "files must be from 1 to 1048576" },
		{ "[kind.noop]\nfiles = 12x\n", 2,
		  "invalid number '12x' for files" },
		{ "[kind.noop]\nprocesses = +5\n", 2,
		  "invalid number '+5' for processes" },
		{ "[kind.noop]\nmax_children = -1\n", 2,
		  "invalid number '-1' for max_children" },
		{ "[kind.noop]\ncpu = 1y\n", 2,
		  "invalid duration '1y' for cpu (use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[supervisor]\nmax_children = 0\n", 2,
		  "max_children must be from 1 to 4096" },
		{ "[supervisor]\nmax_children = 4097\n", 2,
		  "max_children must be from 1 to 4096" },
		{ "[supervisor]\npoll_interval = 9ms\n", 2,
		  "poll_interval must be at least 10ms" },
		{ "[supervisor]\nisolation = none\n", 2,
		  "invalid isolation 'none' (use uid or same-uid)" },
		{ "[supervisor]\nid =\n", 2, "id must be 1 to 127 bytes long" },
		{ "[supervisor]\nid = a\x01\n", 2,
		  "id contains a control character" },
		{ "[supervisor]\nworkdir = run\n", 2,
		  "workdir must be an absolute path" },
		{ "[supervisor]\nmax_args = 0\n", 2, "max_args must be at least 1" },
		{ "[supervisor]\nkill_grace = soon\n", 2,
		  "invalid duration 'soon' for kill_grace "
		  "(use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[supervisor]\nlease = 1999ms\n", 2,
		  "lease must be from 2s to 10m" },
		{ "[supervisor]\nlease = 601s\n", 2,
		  "lease must be from 2s to 10m" },
		{ "[supervisor]\nlease = 10\n", 2,
		  "invalid duration '10' for lease (use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[supervisor]\ndrain_timeout = -1s\n", 2,
		  "invalid duration '-1s' for drain_timeout "
		  "(use 500ms, 30s, 5m, 2h, 5d)" },
		{ "[supervisor]\nmax_interruptions = 1001\n", 2,
		  "max_interruptions must be from 0 to 1000" },
		{ "[supervisor]\nmax_interruptions = -1\n", 2,
		  "invalid number '-1' for max_interruptions" },
		{ "[supervisor]\nkeep_completed = 59s\n", 2,
		  "keep_completed must be at least 1m" },
		{ "[supervisor]\nkeep_cancelled = 0s\n", 2,
		  "keep_cancelled must be at least 1m" },
		{ "[supervisor]\n\nkeep_discarded = 59999ms\n", 3,
		  "keep_discarded must be at least 1m" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		load_err(t[i].text, t[i].line, t[i].msg);
}

Test(conf, supervisor_bounds)
{
	struct conf *c;

	c = load("[supervisor]\nlease = 2s\ndrain_timeout = 0s\n"
	    "max_interruptions = 1000\nkeep_completed = 1m\n"
	    "keep_cancelled = 60000ms\nkeep_discarded = 365d\n");
	cr_assert_eq(c->lease_ms, 2000);
	cr_assert_eq(c->drain_timeout_ms, 0);
	cr_assert_eq(c->max_interruptions, 1000);
	cr_assert_eq(c->keep_completed_ms, 60000);
	cr_assert_eq(c->keep_cancelled_ms, 60000);
	cr_assert_eq(c->keep_discarded_ms, 365 * 86400000LL);
	conf_free(c);
	c = load("[supervisor]\nlease = 10m\n");
	cr_assert_eq(c->lease_ms, 600000);
	conf_free(c);
}

static const struct periodic_conf *
periodic(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nperiodics; i++)
		if (strcmp(c->periodics[i].name, name) == 0)
			return &c->periodics[i];
	return NULL;
}

Test(conf, periodic)
{
	struct conf			*c;
	const struct periodic_conf	*p;
	struct cron			 cron;
	char				 e[64];

	c = load("[supervisor]\nqueues = default\n"
	    "[periodic.nightly_report]\n"
	    "kind = report\n"
	    "args = {\"z\": [3, {\"b\": 1, \"a\": \"x/y\"}], \"a\": null, "
	    "\"M\": 1.50, \"\u00e9\": \"caf\u00e9\", \"b\": {}}\n"
	    "schedule = 30 2 * * mon-fri\n"
	    "queue = reports\n"
	    "timezone = Europe/Berlin\n"
	    "catch_up = none\n"
	    "priority = 4\n"
	    "max_attempts = 32767\n"
	    "\n"
	    "[periodic.tick]\n"
	    "schedule = \"  @hourly \"\n"
	    "kind = noop\n"
	    "[kind.report]\n"
	    "exec = reporter\n");
	cr_assert_eq(c->nperiodics, 2);
	p = &c->periodics[0];
	cr_assert_str_eq(p->name, "nightly_report");
	cr_assert_str_eq(p->kind, "report");
	cr_assert_str_eq(p->args, "{\"M\":1.50,\"a\":null,\"b\":{},"
	    "\"z\":[3,{\"b\":1,\"a\":\"x/y\"}],\"\xc3\xa9\":\"caf\xc3\xa9\"}");
	cr_assert_str_eq(p->queue, "reports");
	cr_assert_str_eq(p->schedule, "30 2 * * mon-fri");
	cr_assert_eq(cron_parse("30 2 * * 1-5", &cron, e, sizeof(e)), 0);
	cr_assert_eq(memcmp(&p->cron, &cron, sizeof(cron)), 0);
	cr_assert_str_eq(p->timezone, "Europe/Berlin");
	cr_assert_eq(p->catch_up, CATCH_UP_NONE);
	cr_assert_eq(p->priority, 4);
	cr_assert_eq(p->max_attempts, 32767);

	/* The defaults. */
	p = periodic(c, "tick");
	cr_assert_eq(p, &c->periodics[1]);
	cr_assert_str_eq(p->kind, "noop");
	cr_assert_str_eq(p->args, "{}");
	cr_assert_str_eq(p->queue, "default");
	cr_assert_str_eq(p->schedule, "  @hourly ");
	cr_assert_eq(cron_parse("0 * * * *", &cron, e, sizeof(e)), 0);
	cr_assert_eq(memcmp(&p->cron, &cron, sizeof(cron)), 0);
	cr_assert_str_eq(p->timezone, "UTC");
	cr_assert_eq(p->catch_up, CATCH_UP_LAST);
	cr_assert_eq(p->priority, 1);
	cr_assert_eq(p->max_attempts, 25);

	/* A periodic's queue is not worked for being named. */
	cr_assert_eq(c->nqueues, 1);
	cr_assert_null(conf_queue(c, "reports"));
	conf_free(c);

	/* Spellings of args that mean the same come out the same. */
	c = load("[periodic.a]\nkind = k\nschedule = @daily\n"
	    "args = { \"b\" : true ,\"a\":[ 1 , 2 ] }\n"
	    "catch_up = last\n"
	    "[periodic.b]\nkind = k\nschedule = @daily\n"
	    "args = {\"a\":[1,2],\"b\":true}\n"
	    "[periodic.c]\nkind = k\nschedule = @daily\n"
	    "args = \"{\\\"k\\\": \\\"two words\\\"}\"\n"
	    "[periodic.d]\nkind = k\nschedule = @daily\nargs = {}\n"
	    "timezone = UTC\n"
	    "[periodic.e]\nkind = k\nschedule = @daily\n"
	    "args = {\"b\":1,\"a\":2,\"b\":3,\"aa\":4,\"A\":5,\"_\":6}\n"
	    "timezone = America/Argentina/Buenos_Aires\n");
	cr_assert_str_eq(periodic(c, "a")->args, "{\"a\":[1,2],\"b\":true}");
	cr_assert_str_eq(periodic(c, "b")->args, "{\"a\":[1,2],\"b\":true}");
	cr_assert_eq(periodic(c, "a")->catch_up, CATCH_UP_LAST);
	cr_assert_str_eq(periodic(c, "c")->args, "{\"k\":\"two words\"}");
	cr_assert_str_eq(periodic(c, "d")->args, "{}");
	cr_assert_str_eq(periodic(c, "e")->args,
	    "{\"A\":5,\"_\":6,\"a\":2,\"aa\":4,\"b\":3}");
	cr_assert_str_eq(periodic(c, "e")->timezone,
	    "America/Argentina/Buenos_Aires");
	cr_assert_null(periodic(c, "f"));
	conf_free(c);
}

Test(conf, periodic_errors)
{
	static const struct {
		const char	*text;
		int		 line;
		const char	*msg;
	} t[] = {
		{ "[periodic.a]\nkind = x\n", 1,
		  "[periodic.a] needs kind and schedule" },
		{ "[database]\n\n[periodic.a]\nschedule = @daily\n"
		  "[supervisor]\n", 3, "[periodic.a] needs kind and schedule" },
		{ "[periodic.a]\n", 1, "[periodic.a] needs kind and schedule" },
		{ "[periodic.a]\nkind = x\nschedule = @daily\n"
		  "[periodic.b]\nkind = x\nschedule = @daily\n\n"
		  "[periodic.a]\n", 8,
		  "duplicate section [periodic.a] (first on line 1)" },
		{ "[periodic]\n", 1,
		  "section [periodic] needs a name: [periodic.NAME]" },
		{ "[periodic.a b]\n", 1, "invalid periodic name 'a b' (1 to 127 "
		  "bytes, no blanks or control characters)" },
		{ "[periodic.]\n", 1, "invalid periodic name '' (1 to 127 "
		  "bytes, no blanks or control characters)" },
		{ "[periodic.a]\nkind = x\nexec = y\n", 3,
		  "unknown key 'exec' in [periodic.a]" },
		{ "[periodic.a]\nkind = x\nkind = y\n", 3,
		  "duplicate key 'kind' in [periodic.a] (first on line 2)" },
		{ "[periodic.a]\nkind = a b\n", 2, "invalid kind name 'a b' (1 "
		  "to 127 bytes, no blanks or control characters)" },
		{ "[periodic.a]\nkind =\n", 2, "invalid kind name '' (1 "
		  "to 127 bytes, no blanks or control characters)" },
		{ "[periodic.a]\nqueue = a,b\n", 2, "invalid queue name 'a,b' "
		  "(1 to 127 bytes, no blanks, commas or control characters)" },
		{ "[periodic.a]\nargs = [1]\n", 2, "args must be a JSON object" },
		{ "[periodic.a]\nargs = 12\n", 2, "args must be a JSON object" },
		{ "[periodic.a]\nargs = \"\\\"x\\\"\"\n", 2,
		  "args must be a JSON object" },
		{ "[periodic.a]\nargs = null\n", 2, "args must be a JSON object" },
		{ "[periodic.a]\nargs =\n", 2,
		  "args is not valid JSON: unexpected end of data" },
		{ "[periodic.a]\nargs = {\"a\": 1\n", 2,
		  "args is not valid JSON: unexpected end of data" },
		{ "[periodic.a]\nargs = {\"a\": 1} x\n", 2,
		  "args is not valid JSON: unexpected character" },
		{ "[periodic.a]\nargs = {\"a\": 1,}\n", 2,
		  "args is not valid JSON: unexpected character" },
		{ "[periodic.a]\nargs = {a: 1}\n", 2,
		  "args is not valid JSON: quoted object property name "
		  "expected" },
		{ "[periodic.a]\nargs = {\"a\": \"\xff\"}\n", 2,
		  "args is not valid JSON: invalid utf-8 string" },
		{ "[periodic.a]\nschedule = 61 * * * *\n", 2,
		  "invalid schedule '61 * * * *': minute 61 out of range 0-59" },
		{ "[periodic.a]\nschedule = @daily 2\n", 2,
		  "invalid schedule '@daily 2': unknown macro '@daily 2' (use "
		  "@yearly, @monthly, @weekly, @daily, @hourly or @every DURATION)" },
		{ "[periodic.a]\nschedule = 0 0 * *\n", 2,
		  "invalid schedule '0 0 * *': expected 5 fields (minute hour "
		  "day-of-month month day-of-week), found 4" },
		{ "[periodic.a]\ntimezone = Mars/Olympus_Mons\n", 2,
		  "unknown timezone 'Mars/Olympus_Mons' (not in "
		  "/usr/share/zoneinfo)" },
		{ "[periodic.a]\ntimezone = America\n", 2,
		  "unknown timezone 'America' (not in /usr/share/zoneinfo)" },
		{ "[periodic.a]\ntimezone = zone.tab\n", 2,
		  "unknown timezone 'zone.tab' (not in /usr/share/zoneinfo)" },
		{ "[periodic.a]\ntimezone = utc\n", 2,
		  "unknown timezone 'utc' (not in /usr/share/zoneinfo)" },
		{ "[periodic.a]\ntimezone = ../../../etc/passwd\n", 2,
		  "invalid timezone '../../../etc/passwd' (use an IANA name such "
		  "as Europe/Berlin, or UTC)" },
		{ "[periodic.a]\ntimezone = Europe/../UTC\n", 2,
		  "invalid timezone 'Europe/../UTC' (use an IANA name such "
		  "as Europe/Berlin, or UTC)" },
		{ "[periodic.a]\ntimezone = /usr/share/zoneinfo/UTC\n", 2,
		  "invalid timezone '/usr/share/zoneinfo/UTC' (use an IANA name "
		  "such as Europe/Berlin, or UTC)" },
		{ "[periodic.a]\ntimezone =\n", 2,
		  "invalid timezone '' (use an IANA name such as Europe/Berlin, "
		  "or UTC)" },
		{ "[periodic.a]\ntimezone = \"Europe/Berlin \"\n", 2,
		  "invalid timezone 'Europe/Berlin ' (use an IANA name such as "
		  "Europe/Berlin, or UTC)" },
		{ "[periodic.a]\ncatch_up = all\n", 2,
		  "invalid catch_up 'all' (use none or last)" },
		{ "[periodic.a]\npriority = 0\n", 2,
		  "priority must be from 1 to 4" },
		{ "[periodic.a]\npriority = 5\n", 2,
		  "priority must be from 1 to 4" },
		{ "[periodic.a]\nmax_attempts = 0\n", 2,
		  "max_attempts must be from 1 to 32767" },
		{ "[periodic.a]\nmax_attempts = 32768\n", 2,
		  "max_attempts must be from 1 to 32767" },
		{ "[periodic.a]\nmax_attempts = many\n", 2,
		  "invalid number 'many' for max_attempts" },
		{ "[periodic.feb30]\nkind = x\n\nschedule = 0 0 30 2 *\n"
		  "[supervisor]\n", 4, "schedule '0 0 30 2 *' never comes due "
		  "(no run in the next 5 years)" },
		{ "[periodic.a]\nschedule = 0 0 31 4,6,9,11 *\nkind = x\n", 2,
		  "schedule '0 0 31 4,6,9,11 *' never comes due (no run in the "
		  "next 5 years)" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		load_err(t[i].text, t[i].line, t[i].msg);
}

Test(conf, structure_errors)
{
	static const struct {
		const char	*text;
		int		 line;
		const char	*msg;
	} t[] = {
		{ "[supervisor]\n\n\n\n\n\n\n\n\n\n\n[kind.noop]\ntimout = 5s\n"
		  "[supervisor]\n", 14,
		  "duplicate section [supervisor] (first on line 1)" },
		{ "[database]\n[frob]\n", 2, "unknown section [frob]" },
		{ "[kind]\n", 1, "section [kind] needs a name: [kind.NAME]" },
		{ "[queue]\n", 1, "section [queue] needs a name: [queue.NAME]" },
		{ "[supervisor]\nmax_children 4\n", 2,
		  "line is not 'key = value' or [section]" },
		{ "[supervisor]\n= 4\n", 2,
		  "line is not 'key = value' or [section]" },
		{ "[supervisor\n", 1,
		  "line is not 'key = value' or [section]" },
		{ "[kind.noop] # x\n", 1,
		  "line is not 'key = value' or [section]" },
		{ "max_children = 4\n", 1,
		  "key 'max_children' before any [section]" },
		{ "[supervisor]\nmax-children = 4\n", 2,
		  "invalid key 'max-children' (letters, digits and _)" },
		{ "[supervisor]\ntimout = 5s\n", 2,
		  "unknown key 'timout' in [supervisor]" },
		{ "[database]\nhost = x\n", 2,
		  "unknown key 'host' in [database]" },
		{ "[supervisor]\nmax_children = 4\n# c\nmax_children = 5\n", 4,
		  "duplicate key 'max_children' in [supervisor] "
		  "(first on line 2)" },
		{ "[kind.noop]\nmodel = a\nmodel = b\n", 3,
		  "duplicate key 'model' in [kind.noop] (first on line 2)" },
		{ "[kind.noop]\n[kind.noop]\n", 2,
		  "duplicate section [kind.noop] (first on line 1)" },
		{ "[queue.a]\n[queue.a]\n", 2,
		  "duplicate section [queue.a] (first on line 1)" },
		{ "[supervisor]\n\n[kind.new]\ntimeout = 5s\n[database]\n", 3,
		  "[kind.new] has no exec" },
		{ "[kind.new]\ntimeout = 5s\n", 1, "[kind.new] has no exec" },
		{ "[database]\n[kind.noop]\nexec =\n", 2,
		  "[kind.noop] has no exec" },
		{ "[kind.new]\nexec = \" \t \"\n", 1, "[kind.new] has no exec" },
		{ "[kind.a b]\n", 1, "invalid kind name 'a b' (1 to 127 bytes, "
		  "no blanks or control characters)" },
		{ "[kind.]\n", 1, "invalid kind name '' (1 to 127 bytes, "
		  "no blanks or control characters)" },
		{ "[queue.a,b]\n", 1, "invalid queue name 'a,b' (1 to 127 "
		  "bytes, no blanks, commas or control characters)" },
		{ "[supervisor]\nqueues = ok bad\x1b[31m\n", 2,
		  "invalid queue name 'bad?[31m' (1 to 127 bytes, no blanks, "
		  "commas or control characters)" },
	};
	char	name[160], text[200], want[256];
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		load_err(t[i].text, t[i].line, t[i].msg);

	memset(name, 'k', 127);
	name[127] = '\0';
	snprintf(text, sizeof(text), "[kind.%s]\nexec = x\n", name);
	conf_free(load(text));
	snprintf(text, sizeof(text), "[kind.%sk]\nexec = x\n", name);
	snprintf(want, sizeof(want), "invalid kind name '%sk' (1 to 127 "
	    "bytes, no blanks or control characters)", name);
	load_err(text, 1, want);

	file_write("hivejobd.conf", "[supervisor]\nid = a\0b\n", 22);
	cr_assert_null(conf_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: line holds a NUL byte", path);
	cr_assert_str_eq(err, want);
}

Test(conf, unreadable_file)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/none.conf", dir);
	cr_assert_null(conf_load(want, err, sizeof(err)));
	strcat(want, ": cannot open: No such file or directory");
	cr_assert_str_eq(err, want);

	cr_assert_null(conf_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", dir);
	cr_assert_str_eq(err, want);

	/* A short buffer is cut, never overrun; no buffer is fine too. */
	cr_assert_null(conf_load(dir, err, 5));
	cr_assert_eq(strlen(err), 4);
	cr_assert_null(conf_load(dir, NULL, 0));
}

Test(conf, metrics)
{
	struct conf *c;

	c = load("[database]\n");
	cr_assert_str_eq(c->metrics_textfile, "");
	cr_assert_eq(c->metrics_interval_ms, 15000);
	conf_free(c);
	c = load("[metrics]\ntextfile = /var/lib/node/hivejob.prom\ninterval = 1s\n");
	cr_assert_str_eq(c->metrics_textfile, "/var/lib/node/hivejob.prom");
	cr_assert_eq(c->metrics_interval_ms, 1000);
	conf_free(c);
	c = load("[metrics]\ntextfile =\n");
	cr_assert_str_eq(c->metrics_textfile, "");
	conf_free(c);
	load_err("[metrics]\ntextfile = hivejob.prom\n", 2,
	    "textfile must be an absolute path or empty");
	load_err("[metrics]\ntextfile = /var/lib/node/\n", 2,
	    "textfile must name a file, not a directory");
	load_err("[metrics]\ninterval = 999ms\n", 2, "interval must be at least 1s");
	load_err("[metrics]\nport = 9100\n", 2, "unknown key 'port' in [metrics]");
}
