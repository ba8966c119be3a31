/*
 * The server-side half of the runner, called directly: hivejob_finish's
 * River table of outcomes, its guard, the retry policy and the scheduler.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "th.h"

static void
setup(void)
{
	th_db_fresh();
	cr_assert_eq(th_ctl(NULL, NULL, "migrate", NULL), 0);
}

TestSuite(finish_sql, .init = setup, .timeout = 60);

/* A row as a claim by supervisor "s1" leaves it. */
static void
running(int id, int attempt, int max_attempts, const char *metadata)
{
	th_sql_ok("INSERT INTO river_job (id, kind, args, state, attempt, max_attempts,"
	    " attempted_at, attempted_by, metadata) VALUES (%d, 'k', '{}', 'running', %d, %d,"
	    " now() - interval '1 second', '{s0,s1}', '%s')", id, attempt, max_attempts,
	    metadata);
}

static char *
finish(const char *outcome_json)
{
	return th_sql("SELECT coalesce(job_state::text, 'NULL') FROM hivejob_finish('s1', '[%s]')",
	    outcome_json);
}

Test(finish_sql, complete)
{
	running(1, 1, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"complete\","
	    "\"meta\":{\"class\":\"\",\"wall_ms\":5}}"), "completed");
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s %%s', finalized_at IS NOT NULL,"
	    " errors IS NULL, metadata->'hivejob'->>'wall_ms') FROM river_job"), "t t 5");
}

Test(finish_sql, error_retries_with_river_shaped_error)
{
	running(1, 3, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":3,\"outcome\":\"retry\",\"error\":\"boom\","
	    "\"trace\":\"t\",\"retry\":{\"policy\":\"exponential\",\"cap\":3600}}"), "retryable");
	/* 3^4 = 81 s, +-10 % */
	cr_assert_str_eq(th_sql("SELECT extract(epoch FROM scheduled_at - now())"
	    " BETWEEN 72 AND 90 FROM river_job"), "t");
	cr_assert_str_eq(th_sql("SELECT (SELECT string_agg(k, ',' ORDER BY k)"
	    " FROM jsonb_object_keys(errors[1]) k) || ' ' || (errors[1]->>'attempt') || ' ' ||"
	    " (errors[1]->>'error') || ' ' || ((errors[1]->>'at')::timestamptz = attempted_at)"
	    " FROM river_job"), "at,attempt,error,trace 3 boom true");
	cr_assert_str_eq(th_sql("SELECT finalized_at IS NULL FROM river_job"), "t");
}

Test(finish_sql, quick_retry_is_available)
{
	running(1, 1, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"retry\",\"error\":\"x\","
	    "\"retry\":{\"policy\":\"exponential\",\"cap\":3600}}"), "available");
	cr_assert_str_eq(th_sql("SELECT scheduled_at > now() FROM river_job"), "t");
}

Test(finish_sql, last_attempt_discards)
{
	running(1, 2, 2, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":2,\"outcome\":\"retry\",\"error\":\"x\"}"),
	    "discarded");
	cr_assert_str_eq(th_sql("SELECT finalized_at IS NOT NULL FROM river_job"), "t");
}

Test(finish_sql, schedule_policy_and_clamped_retry_after)
{
	running(1, 2, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":2,\"outcome\":\"retry\",\"error\":\"x\","
	    "\"retry\":{\"policy\":\"schedule\",\"steps\":[0,5,300,1800]}}"), "retryable");
	cr_assert_str_eq(th_sql("SELECT extract(epoch FROM scheduled_at - now())"
	    " BETWEEN 265 AND 335 FROM river_job"), "t");
	th_sql_ok("DELETE FROM river_job");
	running(1, 1, 25, "{}");
	/* a hostile retry_after of a year is held to the largest step */
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"retry\",\"error\":\"x\","
	    "\"retry_after\":31536000,\"retry\":{\"policy\":\"schedule\",\"steps\":[0,5,300,1800]}}"),
	    "retryable");
	cr_assert_str_eq(th_sql("SELECT extract(epoch FROM scheduled_at - now())"
	    " BETWEEN 1790 AND 1800 FROM river_job"), "t");
	cr_assert_str_eq(th_sql("SELECT round(hivejob_retry_delay(1,"
	    " '{\"policy\":\"exponential\",\"cap\":3600}', 0.01)::numeric, 2)"), "1.00");
	cr_assert_str_eq(th_sql("SELECT hivejob_retry_delay(9,"
	    " '{\"policy\":\"exponential\",\"cap\":3600}', NULL) BETWEEN 3240 AND 3600"), "t");
}

Test(finish_sql, cancel_request_turns_errors_into_cancel)
{
	running(1, 1, 25, "{\"cancel_attempted_at\": \"2026-01-01T00:00:00Z\"}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"retry\",\"error\":\"x\"}"),
	    "cancelled");
	running(2, 1, 25, "{\"cancel_attempted_at\": \"2026-01-01T00:00:00Z\"}");
	cr_assert_str_eq(finish("{\"id\":2,\"attempt\":1,\"outcome\":\"snooze\",\"snooze\":1}"),
	    "cancelled");
	running(3, 1, 25, "{\"cancel_attempted_at\": \"2026-01-01T00:00:00Z\"}");
	cr_assert_str_eq(finish("{\"id\":3,\"attempt\":1,\"outcome\":\"complete\"}"), "completed");
}

Test(finish_sql, worker_cancel)
{
	running(1, 1, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"cancel\","
	    "\"error\":\"JobCancelError: no\"}"), "cancelled");
	cr_assert_str_eq(th_sql("SELECT errors[1]->>'error' FROM river_job"), "JobCancelError: no");
}

Test(finish_sql, snooze_gives_the_attempt_back_until_the_cap)
{
	running(1, 4, 25, "{\"snoozes\": 2}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":4,\"outcome\":\"snooze\",\"snooze\":60}"),
	    "scheduled");
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s %%s', attempt, metadata->>'snoozes',"
	    " errors IS NULL) FROM river_job"), "3 3 t");
	running(2, 4, 25, "{\"snoozes\": 100}");
	cr_assert_str_eq(finish("{\"id\":2,\"attempt\":4,\"outcome\":\"snooze\",\"snooze\":1}"),
	    "available");
	cr_assert_str_eq(th_sql("SELECT attempt FROM river_job WHERE id = 2"), "4");
	running(3, 25, 25, "{\"snoozes\": 100}");
	cr_assert_str_eq(finish("{\"id\":3,\"attempt\":25,\"outcome\":\"snooze\",\"snooze\":1}"),
	    "discarded");
	cr_assert_str_eq(th_sql("SELECT errors[1]->>'error' FROM river_job WHERE id = 3"),
	    "snoozed more than 100 times");
}

Test(finish_sql, release_and_interrupt_give_the_attempt_back)
{
	running(1, 2, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":2,\"outcome\":\"release\"}"), "available");
	cr_assert_str_eq(th_sql("SELECT attempt FROM river_job"), "1");
	running(2, 1, 25, "{\"interruptions\": 2}");
	cr_assert_str_eq(finish("{\"id\":2,\"attempt\":1,\"outcome\":\"interrupt\"}"), "available");
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s', attempt, metadata->>'interruptions')"
	    " FROM river_job WHERE id = 2"), "0 3");
	running(3, 1, 25, "{\"interruptions\": 3}");
	cr_assert_str_eq(finish("{\"id\":3,\"attempt\":1,\"outcome\":\"interrupt\","
	    "\"error\":\"stopped\"}"), "available");
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s', attempt, errors[1]->>'error')"
	    " FROM river_job WHERE id = 3"), "1 interrupted by shutdown too many times");
}

/* The guard: state, attempt and our id last in attempted_by. */
Test(finish_sql, guard_ignores_what_is_not_ours)
{
	running(1, 2, 25, "{}");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":1,\"outcome\":\"complete\"}"), "NULL");
	cr_assert_str_eq(th_sql("SELECT coalesce(job_state::text, 'NULL') FROM"
	    " hivejob_finish('s0', '[{\"id\":1,\"attempt\":2,\"outcome\":\"complete\"}]')"), "NULL");
	th_sql_ok("UPDATE river_job SET state = 'available'");
	cr_assert_str_eq(finish("{\"id\":1,\"attempt\":2,\"outcome\":\"complete\"}"), "NULL");
	cr_assert_str_eq(th_sql("SELECT format('%%s %%s', state, attempt) FROM river_job"),
	    "available 2");
	cr_assert_str_eq(finish("{\"id\":99,\"attempt\":1,\"outcome\":\"complete\"}"), "NULL");
}

Test(finish_sql, batch_in_id_order)
{
	running(3, 1, 25, "{}");
	running(1, 1, 25, "{}");
	running(2, 1, 25, "{}");
	cr_assert_str_eq(th_sql("SELECT string_agg(job_id || ':' || job_state, ',')"
	    " FROM hivejob_finish('s1', '[{\"id\":3,\"attempt\":1,\"outcome\":\"complete\"},"
	    "{\"id\":1,\"attempt\":1,\"outcome\":\"complete\"},"
	    "{\"id\":2,\"attempt\":1,\"outcome\":\"cancel\",\"error\":\"c\"}]')"),
	    "1:completed,2:cancelled,3:completed");
}

Test(finish_sql, scheduler_moves_due_rows_and_honours_unique_keys)
{
	th_sql_ok("INSERT INTO river_job (kind, args, state, scheduled_at) VALUES"
	    " ('k', '{}', 'retryable', now() - interval '1 second'),"
	    " ('k', '{}', 'scheduled', now() + interval '2 seconds'),"
	    " ('k', '{}', 'scheduled', now() + interval '1 hour')");
	cr_assert_str_eq(th_sql("SELECT hivejob_schedule(1000)"), "2");
	cr_assert_str_eq(th_sql("SELECT string_agg(state::text, ',' ORDER BY id) FROM river_job"),
	    "available,available,scheduled");
	th_sql_ok("DELETE FROM river_job");
	/* Key states without retryable: 0xD1 is available, pending, running, scheduled. */
	th_sql_ok("INSERT INTO river_job (kind, args, state, unique_key, unique_states) VALUES"
	    " ('k', '{}', 'available', '\\xaa', x'D1'::bit(8))");
	th_sql_ok("INSERT INTO river_job (kind, args, state, scheduled_at, unique_key,"
	    " unique_states) VALUES ('k', '{}', 'retryable', now() - interval '1 second',"
	    " '\\xaa', x'D1'::bit(8))");
	cr_assert_str_eq(th_sql("SELECT hivejob_schedule(1000)"), "1");
	cr_assert_str_eq(th_sql("SELECT string_agg(state || ':' ||"
	    " coalesce(metadata->>'unique_key_conflict', '-'), ',' ORDER BY id) FROM river_job"),
	    "available:-,discarded:scheduler_discarded");
}
