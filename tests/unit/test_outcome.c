/* outcome_decide: the worker contract's precedence, without processes. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "runner.h"

#define EXITED(n)	((n) << 8)
#define KILLED(s)	(s)

static struct outcome
decide(int wstatus, const char *out, const char *result)
{
	struct child_end	e;
	struct outcome		o;

	memset(&e, 0, sizeof(e));
	e.wstatus = wstatus;
	e.timeout_ms = 30000;
	e.output = out;
	e.output_len = out ? strlen(out) : 0;
	e.result = result;
	e.result_len = result ? strlen(result) : 0;
	outcome_decide(&e, &o);
	return o;
}

Test(outcome, exit_zero_completes_nonzero_retries_with_last_line)
{
	struct outcome o = decide(EXITED(0), "hello\n", NULL);

	cr_assert_eq(o.kind, OUTCOME_COMPLETE);
	o = decide(EXITED(3), "first\nthe reason\n\n  \n", NULL);
	cr_assert_eq(o.kind, OUTCOME_RETRY);
	cr_assert_str_eq(o.error, "exit status 3: the reason");
	cr_assert_str_eq(o.class, "exit");
	o = decide(EXITED(1), "", NULL);
	cr_assert_str_eq(o.error, "exit status 1");
}

Test(outcome, result_document_beats_exit_status)
{
	struct outcome o = decide(EXITED(1), "", "{\"outcome\": \"complete\"}");

	cr_assert_eq(o.kind, OUTCOME_COMPLETE);
	o = decide(EXITED(0), "", "{\"outcome\": \"retry\", \"error\": \"later\","
	    " \"class\": \"http_429\", \"retry_after_seconds\": 60}");
	cr_assert_eq(o.kind, OUTCOME_RETRY);
	cr_assert_str_eq(o.error, "later");
	cr_assert_str_eq(o.class, "http_429");
	cr_assert_float_eq(o.retry_after_s, 60.0, 1e-9);
	o = decide(EXITED(0), "", "{\"outcome\": \"cancel\", \"error\": \"no\"}");
	cr_assert_eq(o.kind, OUTCOME_CANCEL);
	cr_assert_str_eq(o.error, "JobCancelError: no");
	o = decide(EXITED(0), "", "{\"outcome\": \"snooze\", \"snooze_seconds\": 30,"
	    " \"output\": {\"a\": [1]}}");
	cr_assert_eq(o.kind, OUTCOME_SNOOZE);
	cr_assert_float_eq(o.snooze_s, 30.0, 1e-9);
	cr_assert_str_eq(o.result, "{\"a\":[1]}");
}

Test(outcome, unknown_class_is_other_and_bad_documents_fall_through)
{
	struct outcome o = decide(EXITED(0), "", "{\"outcome\": \"retry\", \"class\": \"weird\"}");

	cr_assert_str_eq(o.class, "other");
	o = decide(EXITED(0), "", "{not json");
	cr_assert_eq(o.kind, OUTCOME_COMPLETE);
	o = decide(EXITED(2), "oops\n", "[1, 2]");
	cr_assert_eq(o.kind, OUTCOME_RETRY);
	cr_assert_str_eq(o.error, "exit status 2: oops");
	o = decide(EXITED(0), "", "{\"outcome\": \"explode\"}");
	cr_assert_eq(o.kind, OUTCOME_COMPLETE);
}

Test(outcome, signal_and_timeout_beat_everything)
{
	struct child_end	e;
	struct outcome		o = decide(KILLED(SIGSEGV), "", "{\"outcome\": \"complete\"}");

	cr_assert_eq(o.kind, OUTCOME_RETRY);
	cr_assert_str_eq(o.error, "killed by signal 11 (SIGSEGV)");
	cr_assert_str_eq(o.class, "signal");
	o = decide(KILLED(SIGALRM), "", "{\"outcome\": \"complete\"}");
	cr_assert_str_eq(o.error, "timeout after 30s (SIGALRM)");
	cr_assert_str_eq(o.class, "timeout");

	memset(&e, 0, sizeof(e));
	e.wstatus = KILLED(SIGKILL);
	e.timed_out = 1;
	e.sig_sent = SIGKILL;
	e.timeout_ms = 5000;
	outcome_decide(&e, &o);
	cr_assert_str_eq(o.error, "timeout after 5s (SIGKILL)");
}

Test(outcome, limits_are_named)
{
	struct child_end	e;
	struct outcome		o;

	memset(&e, 0, sizeof(e));
	e.wstatus = KILLED(SIGXCPU);
	outcome_decide(&e, &o);
	cr_assert_str_eq(o.class, "limit");
	cr_assert(strstr(o.error, "cpu limit"), "%s", o.error);

	memset(&e, 0, sizeof(e));
	e.wstatus = EXITED(1);
	e.rl_as = 64 << 20;
	e.ru.ru_maxrss = 60 << 10;	/* kB: near the limit */
	e.output = "Cannot allocate memory\n";
	e.output_len = strlen(e.output);
	outcome_decide(&e, &o);
	cr_assert_str_eq(o.class, "limit");
	cr_assert_str_eq(o.error, "exit status 1: Cannot allocate memory; probably hit "
	    "the memory limit");
}

Test(outcome, setup_failure_is_exec)
{
	struct child_end	e;
	struct outcome		o;

	memset(&e, 0, sizeof(e));
	e.wstatus = EXITED(127);
	e.setup_error = "exec failed: No such file or directory";
	outcome_decide(&e, &o);
	cr_assert_str_eq(o.class, "exec");
	cr_assert_str_eq(o.error, "exec failed: No such file or directory");
}
