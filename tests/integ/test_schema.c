/*
 * The migrated schema is River's (river-contract.md, main line 7). The
 * expected catalog below is written out by hand from the contract, never
 * derived from sql/, so a change to the migration that drifts from River
 * fails here.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "th.h"

static void
migrated(void)
{
	char *out = NULL, *err = NULL;

	th_db_fresh();
	cr_assert_eq(th_ctl(&out, &err, "migrate", NULL), 0, "migrate: %s", err);
	free(out);
	free(err);
}

TestSuite(schema, .init = migrated, .timeout = 60);

static char *
columns(const char *table)
{
	return th_sql("SELECT string_agg(format('%%s|%%s|%%s|%%s', a.attname,"
	    " format_type(a.atttypid, a.atttypmod),"
	    " CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,"
	    " coalesce(pg_get_expr(d.adbin, d.adrelid), '')), E'\\n' ORDER BY a.attnum)"
	    " FROM pg_attribute a LEFT JOIN pg_attrdef d"
	    "  ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
	    " WHERE a.attrelid = '%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped",
	    table);
}

static char *
constraints(const char *table)
{
	return th_sql("SELECT string_agg(conname || '|' || contype::text || '|' ||"
	    " pg_get_constraintdef(oid), E'\\n' ORDER BY conname)"
	    " FROM pg_constraint WHERE conrelid = '%s'::regclass", table);
}

static char *
indexes(const char *table)
{
	return th_sql("SELECT string_agg(indexdef, E'\\n' ORDER BY indexname)"
	    " FROM pg_indexes WHERE schemaname = 'public' AND tablename = '%s'", table);
}

Test(schema, enum_in_river_sort_order)
{
	cr_assert_str_eq(th_sql("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)"
	    " FROM pg_enum WHERE enumtypid = 'river_job_state'::regtype"),
	    "available,cancelled,completed,discarded,pending,retryable,running,scheduled");
}

Test(schema, river_job_columns_in_order)
{
	cr_assert_str_eq(columns("river_job"),
	    "id|bigint|not null|nextval('river_job_id_seq'::regclass)\n"
	    "state|river_job_state|not null|'available'::river_job_state\n"
	    "attempt|smallint|not null|0\n"
	    "max_attempts|smallint|not null|25\n"
	    "attempted_at|timestamp with time zone|null|\n"
	    "created_at|timestamp with time zone|not null|now()\n"
	    "finalized_at|timestamp with time zone|null|\n"
	    "scheduled_at|timestamp with time zone|not null|now()\n"
	    "priority|smallint|not null|1\n"
	    "args|jsonb|not null|\n"
	    "attempted_by|text[]|null|\n"
	    "errors|jsonb[]|null|\n"
	    "kind|text|not null|\n"
	    "metadata|jsonb|not null|'{}'::jsonb\n"
	    "queue|text|not null|'default'::text\n"
	    "tags|character varying(255)[]|not null|'{}'::character varying[]\n"
	    "unique_key|bytea|null|\n"
	    "unique_states|bit(8)|null|");
}

Test(schema, river_job_constraints)
{
	cr_assert_str_eq(constraints("river_job"),
	    "finalized_or_finalized_at_null|c|CHECK ((((finalized_at IS NULL) AND "
	    "(state <> ALL (ARRAY['cancelled'::river_job_state, 'completed'::river_job_state, "
	    "'discarded'::river_job_state]))) OR ((finalized_at IS NOT NULL) AND "
	    "(state = ANY (ARRAY['cancelled'::river_job_state, 'completed'::river_job_state, "
	    "'discarded'::river_job_state])))))\n"
	    "kind_length|c|CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128)))\n"
	    "max_attempts_is_positive|c|CHECK ((max_attempts > 0))\n"
	    "priority_in_range|c|CHECK (((priority >= 1) AND (priority <= 4)))\n"
	    "queue_length|c|CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))\n"
	    "river_job_pkey|p|PRIMARY KEY (id)");
}

Test(schema, river_job_constraints_enforced)
{
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args, priority)"
	    " VALUES ('k', '{}', 5)"), "23514");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args) VALUES ('', '{}')"),
	    "23514");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args, queue)"
	    " VALUES ('k', '{}', repeat('q', 128))"), "23514");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args, max_attempts)"
	    " VALUES ('k', '{}', 0)"), "23514");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args, state)"
	    " VALUES ('k', '{}', 'completed')"), "23514");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind) VALUES ('k')"), "23502");
}

Test(schema, river_job_indexes)
{
	cr_assert_str_eq(indexes("river_job"),
	    "CREATE INDEX river_job_args_index ON public.river_job USING gin (args)\n"
	    "CREATE INDEX river_job_kind ON public.river_job USING btree (kind)\n"
	    "CREATE INDEX river_job_metadata_index ON public.river_job USING gin (metadata)\n"
	    "CREATE UNIQUE INDEX river_job_pkey ON public.river_job USING btree (id)\n"
	    "CREATE INDEX river_job_prioritized_fetching_index ON public.river_job USING btree "
	    "(state, queue, priority, scheduled_at, id)\n"
	    "CREATE INDEX river_job_state_and_finalized_at_index ON public.river_job USING btree "
	    "(state, finalized_at) WHERE (finalized_at IS NOT NULL)\n"
	    "CREATE UNIQUE INDEX river_job_unique_idx ON public.river_job USING btree (unique_key) "
	    "WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND "
	    "river_job_state_in_bitmask(unique_states, state))");
}

Test(schema, state_bitmask_function)
{
	cr_assert_str_eq(th_sql("SELECT pg_get_function_identity_arguments(p.oid) || '|' ||"
	    " pg_get_function_result(p.oid) || '|' || p.provolatile::text || '|' || l.lanname"
	    " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
	    " WHERE p.proname = 'river_job_state_in_bitmask'"),
	    "bitmask bit, state river_job_state|boolean|i|sql");
	/* Go's integers: available = 0x01 ... scheduled = 0x80. */
	cr_assert_str_eq(th_sql("SELECT string_agg(s::text, ',' ORDER BY s)"
	    " FROM unnest(enum_range(NULL::river_job_state)) s"
	    " WHERE river_job_state_in_bitmask(x'F5'::bit(8), s)"),
	    "available,completed,pending,retryable,running,scheduled");
	cr_assert_str_eq(th_sql("SELECT river_job_state_in_bitmask(x'01'::bit(8), 'available')::text"
	    " || river_job_state_in_bitmask(x'80'::bit(8), 'scheduled')::text"
	    " || river_job_state_in_bitmask(x'7F'::bit(8), 'scheduled')::text"),
	    "truetruefalse");
}

Test(schema, unique_index_follows_states)
{
	th_sql_ok("INSERT INTO river_job (kind, args, unique_key, unique_states)"
	    " VALUES ('k', '{}', '\\x01', x'F5'::bit(8))");
	cr_assert_str_eq(th_sql_err("INSERT INTO river_job (kind, args, unique_key, unique_states)"
	    " VALUES ('k', '{}', '\\x01', x'F5'::bit(8))"), "23505");
	/* A cancelled row no longer holds the key under River's default set. */
	th_sql_ok("UPDATE river_job SET state = 'cancelled', finalized_at = now()");
	th_sql_ok("INSERT INTO river_job (kind, args, unique_key, unique_states)"
	    " VALUES ('k', '{}', '\\x01', x'F5'::bit(8))");
}

Test(schema, other_river_tables)
{
	cr_assert_str_eq(columns("river_leader"),
	    "elected_at|timestamp with time zone|not null|\n"
	    "expires_at|timestamp with time zone|not null|\n"
	    "leader_id|text|not null|\n"
	    "name|text|not null|'default'::text");
	cr_assert_str_eq(constraints("river_leader"),
	    "leader_id_length|c|CHECK (((char_length(leader_id) > 0) AND "
	    "(char_length(leader_id) < 128)))\n"
	    "name_length|c|CHECK ((name = 'default'::text))\n"
	    "river_leader_pkey|p|PRIMARY KEY (name)");
	cr_assert_str_eq(th_sql("SELECT relpersistence::text FROM pg_class"
	    " WHERE oid = 'river_leader'::regclass"), "u");

	cr_assert_str_eq(columns("river_queue"),
	    "name|text|not null|\n"
	    "created_at|timestamp with time zone|not null|now()\n"
	    "metadata|jsonb|not null|'{}'::jsonb\n"
	    "paused_at|timestamp with time zone|null|\n"
	    "updated_at|timestamp with time zone|not null|now()");
	cr_assert_str_eq(constraints("river_queue"), "river_queue_pkey|p|PRIMARY KEY (name)");

	cr_assert_str_eq(columns("river_migration"),
	    "line|text|not null|\n"
	    "version|bigint|not null|\n"
	    "created_at|timestamp with time zone|not null|now()");
	cr_assert_str_eq(constraints("river_migration"),
	    "line_length|c|CHECK (((char_length(line) > 0) AND (char_length(line) < 128)))\n"
	    "river_migration_pkey|p|PRIMARY KEY (line, version)\n"
	    "version_gte_1|c|CHECK ((version >= 1))");

	cr_assert_str_eq(columns("river_notification"),
	    "id|bigint|not null|nextval('river_notification_id_seq'::regclass)\n"
	    "created_at|timestamp with time zone|not null|now()\n"
	    "payload|text|not null|\n"
	    "topic|text|not null|");
	cr_assert_str_eq(indexes("river_notification"),
	    "CREATE INDEX river_notification_created_at_idx ON public.river_notification "
	    "USING btree (created_at)\n"
	    "CREATE UNIQUE INDEX river_notification_pkey ON public.river_notification "
	    "USING btree (id)\n"
	    "CREATE INDEX river_notification_topic_id_idx ON public.river_notification "
	    "USING btree (topic, id)");
}

Test(schema, no_triggers)
{
	cr_assert_str_eq(th_sql("SELECT count(*) FROM pg_trigger"
	    " WHERE tgrelid = 'river_job'::regclass"), "0");
}

Test(schema, migration_rows)
{
	cr_assert_str_eq(th_sql("SELECT string_agg(line || '/' || version, ','"
	    " ORDER BY version) FROM river_migration WHERE line = 'main'"),
	    "main/1,main/2,main/3,main/4,main/5,main/6,main/7");
	/* hivejob's own line: every version, from 1, each once */
	cr_assert_str_eq(th_sql("SELECT count(*) = max(version) AND min(version) = 1"
	    " FROM river_migration WHERE line = 'hivejob'"), "t");
}

/* What the TypeScript service does: kind and args, nothing else. */
Test(schema, typescript_raw_insert)
{
	cr_assert_str_eq(th_sql("INSERT INTO river_job (kind, args)"
	    " VALUES ('webhook_dispatch', '{\"webhook_id\": \"x\"}')"
	    " RETURNING format('%%s|%%s|%%s|%%s|%%s|%%s|%%s', state, attempt, max_attempts,"
	    " priority, queue, tags, scheduled_at <= now())"),
	    "available|0|25|1|default|{}|t");
}
