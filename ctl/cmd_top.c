/*
 * hivejobctl top: a live view of the queues, the last minute's throughput
 * and the jobs running now, redrawn every --interval.
 *
 * On a terminal it draws on the alternate screen with the cursor hidden,
 * and puts both back when it ends, on ^C (SIGINT) and SIGTERM too: the
 * handlers only set a flag, the loop sees it and restores the terminal.
 * When stdout is no terminal it prints one frame and exits, and --json
 * prints one snapshot as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

static volatile sig_atomic_t top_stop;

static void	top_signal(int);
static int	top_frame(struct ctl *, const char *, int);

static void
top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static const char top_sql[] =
    "SELECT json_build_object("
    " 'at', now(),"
    " 'queues', (WITH j AS (SELECT queue,"
    "   count(*) FILTER (WHERE state = 'available') AS available,"
    "   count(*) FILTER (WHERE state = 'running') AS running,"
    "   extract(epoch FROM now() - min(scheduled_at) FILTER ("
    "    WHERE state = 'available' AND scheduled_at <= now()))::float8"
    "    AS oldest_available_s"
    "   FROM river_job WHERE state IN ('available', 'running') GROUP BY queue),"
    "  n AS (SELECT name FROM river_queue UNION SELECT queue FROM j)"
    "  SELECT coalesce(json_agg(json_build_object('name', n.name,"
    "   'paused', q.paused_at IS NOT NULL,"
    "   'available', coalesce(j.available, 0), 'running', coalesce(j.running, 0),"
    "   'oldest_available_s', j.oldest_available_s) ORDER BY n.name), '[]')"
    "  FROM n LEFT JOIN river_queue q ON q.name = n.name"
    "  LEFT JOIN j ON j.queue = n.name),"
    " 'throughput', (SELECT coalesce(json_agg(t ORDER BY t.kind), '[]') FROM ("
    "  SELECT kind, count(*) AS finalized,"
    "  count(*) FILTER (WHERE state = 'completed') AS completed,"
    "  count(*) FILTER (WHERE state = 'discarded') AS discarded,"
    "  count(*) FILTER (WHERE state = 'cancelled') AS cancelled"
    "  FROM river_job WHERE state IN ('completed', 'discarded', 'cancelled')"
    "  AND finalized_at > now() - interval '1 minute' GROUP BY kind) t),"
    " 'running_total', (SELECT count(*) FROM river_job WHERE state = 'running'),"
    " 'running', (SELECT coalesce(json_agg(r ORDER BY r.id), '[]') FROM ("
    "  SELECT j.id, j.kind, j.queue, j.attempt,"
    "  coalesce(k.supervisor, j.attempted_by[array_upper(j.attempted_by, 1)])"
    "   AS supervisor, k.pid,"
    "  extract(epoch FROM now() - coalesce(to_timestamp(k.started_at),"
    "   j.attempted_at))::float8 AS age_s"
    "  FROM river_job j LEFT JOIN LATERAL ("
    "   SELECT s.id AS supervisor, c.pid, c.started_at"
    "   FROM hivejob_supervisor s CROSS JOIN LATERAL jsonb_to_recordset("
    "    CASE WHEN jsonb_typeof(s.children) = 'array' THEN s.children"
    "    ELSE '[]' END) AS c(job_id bigint, pid integer, started_at float8)"
    "   WHERE s.lease_expires_at > now() AND c.job_id = j.id LIMIT 1) k ON true"
    "  WHERE j.state = 'running' ORDER BY j.id LIMIT 50) r))";

/* The running jobs listed are the 50 oldest ids; the total is always shown. */

/*
 * One frame: the snapshot, drawn for people (from the top of the screen
 * when tty). Returns a sysexits code.
 */
static int
top_frame(struct ctl *c, const char *interval, int tty)
{
	static const struct tcol qcols[] = {
		{ "QUEUE", "name", TF_TEXT, 40 },
		{ "PAUSED", "paused", TF_BOOL, 0 },
		{ "AVAILABLE", "available", TF_TEXT, 0 },
		{ "RUNNING", "running", TF_TEXT, 0 },
		{ "OLDEST_WAIT", "oldest_available_s", TF_AGE, 0 },
	};
	static const struct tcol tcols[] = {
		{ "KIND", "kind", TF_TEXT, 40 },
		{ "FINALIZED", "finalized", TF_TEXT, 0 },
		{ "COMPLETED", "completed", TF_TEXT, 0 },
		{ "DISCARDED", "discarded", TF_TEXT, 0 },
		{ "CANCELLED", "cancelled", TF_TEXT, 0 },
	};
	static const struct tcol rcols[] = {
		{ "JOB", "id", TF_TEXT, 0 },
		{ "KIND", "kind", TF_TEXT, 30 },
		{ "QUEUE", "queue", TF_TEXT, 20 },
		{ "ATTEMPT", "attempt", TF_TEXT, 0 },
		{ "SUPERVISOR", "supervisor", TF_TEXT, 30 },
		{ "PID", "pid", TF_TEXT, 0 },
		{ "AGE", "age_s", TF_AGE, 0 },
	};
	json_object	*o, *v, *qs = NULL, *tp = NULL, *run = NULL;
	char		*out, at[64], sch[128];
	long long	 total = 0;
	size_t		 shown;
	int		 rc;

	if ((rc = ctl_json_query(c, "top", top_sql, 0, NULL, &out)) != EX_OK)
		return rc;
	if ((o = ctl_json_parse(out)) == NULL) {
		free(out);
		return EX_SOFTWARE;
	}
	free(out);
	snprintf(at, sizeof(at), "-");
	if (json_object_object_get_ex(o, "at", &v))
		text_clean(json_object_get_string(v), at, sizeof(at));
	if (strlen(at) >= 19) {		/* "YYYY-MM-DDTHH:MM:SS..." */
		at[10] = ' ';
		at[19] = '\0';
	}
	(void)json_object_object_get_ex(o, "queues", &qs);
	(void)json_object_object_get_ex(o, "throughput", &tp);
	(void)json_object_object_get_ex(o, "running", &run);
	if (json_object_object_get_ex(o, "running_total", &v))
		total = json_object_get_int64(v);
	shown = run ? json_object_array_length(run) : 0;
	text_clean(c->schema, sch, sizeof(sch));

	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("hivejob top: schema %s, %s UTC", sch, at);
	if (tty)
		printf(", every %s (^C to quit)", interval);
	printf("\n\nqueues:\n");
	table_json(stdout, qs, qcols, (int)nitems(qcols));
	printf("\nfinalized in the last minute, per kind:\n");
	table_json(stdout, tp, tcols, (int)nitems(tcols));
	printf("\nrunning: %lld\n", total);
	table_json(stdout, run, rcols, (int)nitems(rcols));
	if ((long long)shown < total)
		printf("... and %lld more\n", total - (long long)shown);
	fflush(stdout);
	json_object_put(o);
	return EX_OK;
}

int
cmd_top(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa, old_int, old_term;
	struct timespec	 ts;
	const char	*interval = "1s";
	int64_t		 interval_ms = 1000;
	char		*out;
	int		 ch, json = 0, rc, tty;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (parse_duration_ms(optarg, &interval_ms) == -1 ||
			    interval_ms < 100 || interval_ms > 3600 * 1000)
				return ctl_usage("top", "--interval '%s': a duration "
				    "from 100ms to 1h, such as 1s or 5s", optarg);
			interval = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage("top", "unknown or incomplete option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("top", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;

	if (json) {
		if ((rc = ctl_json_query(c, "top", top_sql, 0, NULL, &out)) != EX_OK)
			return rc;
		printf("%s\n", out);
		free(out);
		return EX_OK;
	}
	tty = isatty(STDOUT_FILENO);
	if (!tty)
		return top_frame(c, interval, 0);

	/* No SA_RESTART: a signal ends the sleep at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	fputs("\033[?1049h\033[?25l", stdout);	/* alternate screen, no cursor */
	fflush(stdout);

	rc = EX_OK;
	while (!top_stop) {
		if ((rc = top_frame(c, interval, 1)) != EX_OK)
			break;
		ts.tv_sec = (time_t)(interval_ms / 1000);
		ts.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
		while (!top_stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}

	fputs("\033[?25h\033[?1049l", stdout);	/* cursor back, main screen */
	fflush(stdout);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
