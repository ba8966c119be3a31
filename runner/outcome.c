/*
 * outcome: turn how a child ended into what happens to its row. The
 * precedence is the worker contract's (hivejob-worker(7)): a death by
 * signal or timeout wins over everything; else a valid result document
 * wins over the exit status; else exit 0 completes and anything else is a
 * retryable error. This file only decides; it writes nothing.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "runner.h"
#include "text.h"
#include "util.h"

static const char *const classes[] = {
	/* the supervisor's */
	"exit", "signal", "timeout", "limit", "exec", "unknown_kind", "bad_args",
	"load", "apply", "lost", "interrupted",
	/* the workers' */
	"http_4xx", "http_429", "http_5xx", "network", "tls", "blocked",
	"bad_response", "bad_input", "quota", "gone",
};

static int	result_parse(const struct child_end *, struct outcome *);
static const char *limit_hint(const struct child_end *, int);
static char	*last_line(const struct child_end *);

/* A worker's class, mapped onto the fixed vocabulary. */
const char *
outcome_class(const char *c)
{
	size_t i;

	if (c == NULL || *c == '\0')
		return "";
	for (i = 0; i < nitems(classes); i++)
		if (strcmp(c, classes[i]) == 0)
			return classes[i];
	return "other";
}

const char *
signal_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" }, { SIGSYS, "SIGSYS" },
	};
	size_t i;

	for (i = 0; i < nitems(names); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "SIG?";
}

/*
 * The limit a death or failure most likely ran into, or NULL. Only the
 * kernel knows for sure; these are the cases where its signal or the
 * job's own peak memory say it plainly.
 */
static const char *
limit_hint(const struct child_end *e, int sig)
{
	uint64_t rss = (uint64_t)e->ru.ru_maxrss * 1024;

	if (sig == SIGXCPU || (sig == SIGKILL && e->rl_cpu_s &&
	    (uint64_t)(e->ru.ru_utime.tv_sec + e->ru.ru_stime.tv_sec) >= e->rl_cpu_s))
		return "the cpu limit";
	if (sig == SIGXFSZ)
		return "the file size limit";
	if (e->rl_as && rss >= e->rl_as / 10 * 8)
		return "the memory limit";
	return NULL;
}

static char *
last_line(const struct child_end *e)
{
	const char	*s = e->output ? e->output : "";
	char		*copy, *line;
	size_t		 i, n = 0;

	/*
	 * The line becomes part of a C string: a NUL in it would cut the
	 * error short. Leave NULs out first, as the cleaning would anyway.
	 */
	copy = xmalloc(e->output_len + 1);
	for (i = 0; i < e->output_len; i++)
		if (s[i] != '\0')
			copy[n++] = s[i];
	line = text_last_line(copy, n);
	free(copy);
	return line;
}

/*
 * A result document on fd 3. Returns 1 when it is valid and decides the
 * outcome, 0 when there is none or it is unusable (then the exit status
 * decides).
 */
static int
result_parse(const struct child_end *e, struct outcome *o)
{
	json_object	*doc, *v;
	const char	*s;
	int		 ok = 0;

	if (e->result == NULL || e->result_len == 0 || e->result_truncated)
		return 0;
	doc = json_tokener_parse(e->result);
	if (doc == NULL || !json_object_is_type(doc, json_type_object))
		goto out;

	s = json_object_object_get_ex(doc, "outcome", &v) ?
	    json_object_get_string(v) : "complete";
	if (s == NULL)
		goto out;
	if (strcmp(s, "complete") == 0)
		o->kind = OUTCOME_COMPLETE;
	else if (strcmp(s, "retry") == 0)
		o->kind = OUTCOME_RETRY;
	else if (strcmp(s, "cancel") == 0)
		o->kind = OUTCOME_CANCEL;
	else if (strcmp(s, "snooze") == 0)
		o->kind = OUTCOME_SNOOZE;
	else
		goto out;

	if (json_object_object_get_ex(doc, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		o->error = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(doc, "class", &v))
		o->class = outcome_class(json_object_get_string(v));
	if (json_object_object_get_ex(doc, "snooze_seconds", &v)) {
		double d = json_object_get_double(v);
		o->snooze_s = isfinite(d) && d > 0 ? d : 0;
	}
	if (json_object_object_get_ex(doc, "retry_after_seconds", &v)) {
		double d = json_object_get_double(v);
		if (isfinite(d) && d >= 0)
			o->retry_after_s = d;
	}
	if (json_object_object_get_ex(doc, "output", &v) && v != NULL)
		o->result = xstrdup(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN));
	ok = 1;
out:
	json_object_put(doc);
	return ok;
}

void
outcome_decide(const struct child_end *e, struct outcome *o)
{
	char		 tbuf[32], *line;
	const char	*hint;
	int		 sig;

	memset(o, 0, sizeof(*o));
	o->retry_after_s = -1;
	o->class = "";
	o->kind = OUTCOME_RETRY;

	sig = WIFSIGNALED(e->wstatus) ? WTERMSIG(e->wstatus) : 0;
	if (e->timed_out || sig == SIGALRM) {
		format_duration_ms(e->timeout_ms, tbuf, sizeof(tbuf));
		o->class = "timeout";
		o->error = xasprintf("timeout after %s (%s)", tbuf,
		    signal_name(e->timed_out && e->sig_sent ? e->sig_sent :
		    sig ? sig : SIGALRM));
		return;
	}
	if (e->cancelled) {
		o->kind = OUTCOME_CANCEL;
		o->error = xstrdup("job cancelled by request while running");
		return;
	}
	if (sig) {
		hint = limit_hint(e, sig);
		o->class = hint ? "limit" : "signal";
		o->error = xasprintf("killed by signal %d (%s)%s%s", sig,
		    signal_name(sig), hint ? ": probably hit " : "", hint ? hint : "");
		return;
	}
	if (e->setup_error) {
		o->class = "exec";
		o->error = xstrdup(e->setup_error);
		return;
	}
	if (result_parse(e, o)) {
		if (o->error == NULL)
			o->error = xstrdup(o->kind == OUTCOME_COMPLETE ? "" :
			    "the worker gave no error text");
		if (o->kind == OUTCOME_CANCEL) {
			/* River's readers know a worker-side cancel by this prefix. */
			char *p = xasprintf("JobCancelError: %s", o->error);
			free(o->error);
			o->error = p;
		}
		return;
	}
	if (WEXITSTATUS(e->wstatus) == 0) {
		o->kind = OUTCOME_COMPLETE;
		o->error = xstrdup("");
		return;
	}
	line = last_line(e);
	hint = limit_hint(e, 0);
	o->class = hint ? "limit" : "exit";
	o->error = xasprintf("exit status %d%s%s%s%s", WEXITSTATUS(e->wstatus),
	    *line ? ": " : "", line, hint ? "; probably hit " : "", hint ? hint : "");
	free(line);
}

void
outcome_free(struct outcome *o)
{
	free(o->error);
	free(o->result);
	memset(o, 0, sizeof(*o));
}
