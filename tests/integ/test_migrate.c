/* hivejobctl migrate: idempotence, River's own migrations, schemas. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "migrate.h"
#include "th.h"

TestSuite(migrate, .init = th_db_fresh, .timeout = 60);

/* A schema fingerprint: every object hivejob or River could have made. */
static char *
fingerprint(void)
{
	return th_sql("SELECT md5(string_agg(x, ',' ORDER BY x)) FROM ("
	    " SELECT c.relname || ':' || c.relkind::text || ':' ||"
	    "  (SELECT string_agg(attname || format_type(atttypid, atttypmod), ' ' ORDER BY attnum)"
	    "   FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0) AS x"
	    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname = 'public') s");
}

Test(migrate, twice_is_a_noop)
{
	char *out, *err, *fp;

	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "%s", err);
	cr_assert(strstr(out, "applied main/7"), "%s", out);
	cr_assert(strstr(out, "applied hivejob/1"), "%s", out);
	th_sql_ok("INSERT INTO river_job (kind, args) VALUES ('k', '{}')");
	fp = fingerprint();

	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "%s", err);
	cr_assert(strstr(out, "up to date"), "%s", out);
	cr_assert_str_eq(fingerprint(), fp);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_migration"),
	    th_sql("SELECT 7 + %d", migrate_latest("hivejob")));
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_job"), "1");
}

Test(migrate, status_shows_lines)
{
	char *out, *err;

	cr_assert_eq(th_ctl(&out, &err, "migrate", "--status", NULL), 0, "%s", err);
	cr_assert(strstr(out, "main     0        7        pending"), "%s", out);
	cr_assert(strstr(out, "hivejob  0"), "%s", out);
	/* --status changes nothing */
	cr_assert_str_eq(th_sql("SELECT to_regclass('river_job') IS NULL"), "t");
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	cr_assert_eq(th_ctl(&out, &err, "migrate", "--status", NULL), 0, "%s", err);
	cr_assert(strstr(out, "main     7        7        up to date"), "%s", out);
	cr_assert(strstr(out, th_sql("SELECT format('hivejob  %%-8s %%-8s up to date', %d, %d)",
	    migrate_latest("hivejob"), migrate_latest("hivejob"))), "%s", out);
}

/*
 * A schema River's own migrator brought to 7. Its river_job here carries an
 * extra column so we can see that hivejob left the table alone.
 */
static void
river_migrated_to(int version)
{
	int v;

	th_sql_ok("CREATE TABLE river_migration (line text NOT NULL, version bigint NOT NULL,"
	    " created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (line, version))");
	for (v = 1; v <= version; v++)
		th_sql_ok("INSERT INTO river_migration (line, version) VALUES ('main', %d)", v);
	th_sql_ok("CREATE TYPE river_job_state AS ENUM ('available', 'cancelled',"
	    " 'completed', 'discarded', 'pending', 'retryable', 'running', 'scheduled')");
	th_sql_ok("CREATE TABLE river_job (id bigserial PRIMARY KEY, kind text NOT NULL,"
	    " args jsonb NOT NULL, river_marker int DEFAULT 42)");
}

Test(migrate, river_at_7_left_alone)
{
	char *out, *err;

	river_migrated_to(7);
	th_sql_ok("INSERT INTO river_migration (line, version) VALUES ('main', 8)");
	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "%s", err);
	cr_assert_null(strstr(out, "applied main"), "%s", out);
	cr_assert(strstr(out, "applied hivejob/1"), "%s", out);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM information_schema.columns"
	    " WHERE table_name = 'river_job' AND column_name = 'river_marker'"), "1");
	cr_assert_str_eq(th_sql("SELECT to_regclass('river_leader') IS NULL"), "t");
	cr_assert_str_eq(th_sql("SELECT string_agg(line || '/' || version, ','"
	    " ORDER BY line DESC, version) FROM river_migration WHERE line = 'main'"),
	    "main/1,main/2,main/3,main/4,main/5,main/6,main/7,main/8");
	cr_assert_str_eq(th_sql("SELECT max(version) FROM river_migration WHERE line = 'hivejob'"),
	    th_sql("SELECT %d", migrate_latest("hivejob")));
}

Test(migrate, river_at_6_refused)
{
	char *out, *err;

	river_migrated_to(6);
	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 65);
	cr_assert(strstr(err, "main is at version 6"), "%s", err);
	cr_assert(strstr(err, "River's own migrator"), "%s", err);
	cr_assert(strstr(err, "river migrate-up"), "%s", err);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_migration"), "6");
	cr_assert_str_eq(th_sql("SELECT to_regclass('hivejob_supervisor') IS NULL"), "t");
}

/* Before River's migration 5, river_migration had no line column. */
Test(migrate, river_before_lines_refused)
{
	char *err;

	th_sql_ok("CREATE TABLE river_migration (id bigserial PRIMARY KEY,"
	    " created_at timestamptz NOT NULL DEFAULT now(), version bigint NOT NULL)");
	th_sql_ok("INSERT INTO river_migration (version) VALUES (1), (2), (3), (4)");
	cr_assert_eq(th_ctl(NULL, &err, "migrate", NULL), 65);
	cr_assert(strstr(err, "version 4"), "%s", err);
	cr_assert_str_eq(th_sql("SELECT to_regclass('hivejob_supervisor') IS NULL"), "t");
}

Test(migrate, river_job_without_versions_refused)
{
	char *err;

	th_sql_ok("CREATE TABLE river_job (id bigserial PRIMARY KEY)");
	cr_assert_eq(th_ctl(NULL, &err, "migrate", NULL), 65);
	cr_assert(strstr(err, "river_job exists"), "%s", err);
	cr_assert_str_eq(th_sql("SELECT to_regclass('river_migration') IS NULL"), "t");
}

Test(migrate, hivejob_line_ahead_refused)
{
	char *err;

	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	th_sql_ok("INSERT INTO river_migration (line, version) VALUES ('hivejob', 99)");
	cr_assert_eq(th_ctl(NULL, &err, "migrate", NULL), 65);
	cr_assert(strstr(err, "version 99, newer"), "%s", err);
}

Test(migrate, own_schema)
{
	char *out, *err;

	cr_assert_eq(th_ctl(&out, &err, "--schema", "hive jobs", "migrate", NULL), 0, "%s", err);
	cr_assert_str_eq(th_sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n"
	    " ON n.oid = c.relnamespace WHERE n.nspname = 'hive jobs'"
	    " AND c.relname IN ('river_job', 'river_queue', 'river_leader', 'river_migration',"
	    " 'river_notification', 'hivejob_supervisor')"), "6");
	cr_assert_str_eq(th_sql("SELECT to_regclass('public.river_job') IS NULL"), "t");
	/* The default schema is still untouched and migrates on its own. */
	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "%s", err);
	cr_assert(strstr(out, "applied main/7"), "%s", out);
	/* HIVEJOB_SCHEMA is the same as --schema. */
	setenv("HIVEJOB_SCHEMA", "hive jobs", 1);
	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "%s", err);
	cr_assert(strstr(out, "\"hive jobs\" is up to date"), "%s", out);
}

Test(migrate, concurrent_migrators_serialise)
{
	pid_t	pids[4];
	int	i, st;

	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		cr_assert(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(th_ctl(NULL, NULL, "migrate", NULL));
	}
	for (i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "migrator %d: status %d", i, st);
	}
	cr_assert_str_eq(th_sql("SELECT count(*) FROM river_migration"),
	    th_sql("SELECT 7 + %d", migrate_latest("hivejob")));
}

Test(migrate, unreachable_database)
{
	char *err;

	cr_assert_eq(th_ctl(NULL, &err, "-d", "host=/nonexistent port=1", "migrate", NULL), 69);
	cr_assert(strstr(err, "cannot connect"), "%s", err);
}

Test(migrate, status_json)
{
	char *out, *err;

	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
	cr_assert_eq(th_ctl(&out, &err, "migrate", "--status", "--json", NULL), 0, "%s", err);
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s %%s %%s', j->>'schema',"
	    " j->'lines'->0->>'line', j->'lines'->0->>'applied', j->'lines'->1->>'current')"
	    " FROM (SELECT '%s'::jsonb j) s", out), "public main 7 true");
	cr_assert_eq(th_ctl(NULL, &err, "migrate", "--json", NULL), 64);
	cr_assert(strstr(err, "--json goes with --status"), "%s", err);
}
