/*
 * hivejobctl pause, resume, queues and stats.
 *
 * Pausing is River's: river_queue.paused_at, which every runner checks
 * before it claims, and a control notification so that runners listening
 * act at once. The queue's row is created if it has none, so a queue can
 * be paused before any runner has announced it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define QUEUE_JSON(q) \
	"json_build_object('name', " q ".name, 'paused', " q ".paused_at IS NOT NULL," \
	" 'paused_at', " q ".paused_at, 'created_at', " q ".created_at," \
	" 'updated_at', " q ".updated_at)"

static int	pause_resume(struct ctl *, int, int, char **);

static int
pause_resume(struct ctl *c, int pause, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tcol cols[] = {
		{ "QUEUE", "name", TF_TEXT, 0 },
		{ "PAUSED", "paused", TF_BOOL, 0 },
		{ "PAUSED_AT", "paused_at", TF_TIME, 0 },
	};
	const char	*name = pause ? "pause" : "resume", *queue, *p[3];
	char		 chan[64], *out = NULL;
	PGresult	*res;
	int		 ch, json = 0, rc, all, n;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage(name, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage(name, "expected one QUEUE, or all");
	queue = argv[optind];
	all = strcmp(queue, "all") == 0;
	n = ctl_name_chars(queue);
	if (n < 1 || n > 127)
		return ctl_usage(name, "QUEUE must be 1 to 127 characters of UTF-8, "
		    "got '%s'", queue);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;

	ctl_channel(c->schema, "river_control", chan, sizeof(chan));
	p[0] = all ? "*" : queue;
	p[1] = name;
	p[2] = chan;
	if (db_exec(c->conn, "BEGIN") == -1)
		return EX_UNAVAILABLE;
	if (all)
		rc = ctl_json_query(c, name, pause ?
		    "WITH u AS (UPDATE river_queue SET paused_at = coalesce(paused_at, now()),"
		    "  updated_at = now() RETURNING *)"
		    " SELECT coalesce(json_agg(" QUEUE_JSON("u") " ORDER BY u.name), '[]') FROM u" :
		    "WITH u AS (UPDATE river_queue SET paused_at = NULL, updated_at = now()"
		    "  RETURNING *)"
		    " SELECT coalesce(json_agg(" QUEUE_JSON("u") " ORDER BY u.name), '[]') FROM u",
		    0, NULL, &out);
	else
		rc = ctl_json_query(c, name, pause ?
		    "WITH u AS (INSERT INTO river_queue (name, paused_at) VALUES ($1, now())"
		    "  ON CONFLICT (name) DO UPDATE SET"
		    "  paused_at = coalesce(river_queue.paused_at, now()), updated_at = now()"
		    "  RETURNING *)"
		    " SELECT json_agg(" QUEUE_JSON("u") ") FROM u" :
		    "WITH u AS (INSERT INTO river_queue (name) VALUES ($1)"
		    "  ON CONFLICT (name) DO UPDATE SET paused_at = NULL, updated_at = now()"
		    "  RETURNING *)"
		    " SELECT json_agg(" QUEUE_JSON("u") ") FROM u",
		    1, p, &out);
	if (rc == EX_OK) {
		res = PQexecParams(c->conn, "SELECT pg_notify($3, json_build_object("
		    "'action', $2::text, 'queue', $1::text)::text)", 3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = ctl_db_fail(c, res, name);
		PQclear(res);
	}
	if (rc == EX_OK) {
		res = PQexec(c->conn, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = ctl_db_fail(c, res, name);
		PQclear(res);
	} else
		PQclear(PQexec(c->conn, "ROLLBACK"));
	if (rc != EX_OK) {
		free(out);
		return rc;
	}
	if (all && strcmp(out, "[]") == 0)
		log_notice("river_queue has no rows: no queue to %s (runners were told "
		    "anyway)", name);
	rc = ctl_print(out, json, cols, (int)nitems(cols));
	free(out);
	return rc;
}

int
cmd_pause(struct ctl *c, int argc, char **argv)
{
	return pause_resume(c, 1, argc, argv);
}

int
cmd_resume(struct ctl *c, int argc, char **argv)
{
	return pause_resume(c, 0, argc, argv);
}

/*
 * Queues with a river_queue row, and queues that have jobs waiting or
 * running without one (no runner announced them: "registered" is false).
 */
int
cmd_queues(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tcol cols[] = {
		{ "QUEUE", "name", TF_TEXT, 40 },
		{ "PAUSED", "paused", TF_BOOL, 0 },
		{ "AVAILABLE", "available", TF_TEXT, 0 },
		{ "RUNNING", "running", TF_TEXT, 0 },
		{ "OLDEST_WAIT", "oldest_available_s", TF_AGE, 0 },
		{ "REGISTERED", "registered", TF_BOOL, 0 },
		{ "UPDATED_AT", "updated_at", TF_TIME, 0 },
	};
	char	*out;
	int	 ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage("queues", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("queues", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	rc = ctl_json_query(c, "queues",
	    "WITH j AS (SELECT queue,"
	    "  count(*) FILTER (WHERE state = 'available') AS available,"
	    "  count(*) FILTER (WHERE state = 'running') AS running,"
	    "  extract(epoch FROM now() - min(scheduled_at) FILTER ("
	    "   WHERE state = 'available' AND scheduled_at <= now()))::float8"
	    "   AS oldest_available_s"
	    "  FROM river_job WHERE state IN ('available', 'running') GROUP BY queue),"
	    " n AS (SELECT name FROM river_queue UNION SELECT queue FROM j)"
	    " SELECT coalesce(json_agg(json_build_object('name', n.name,"
	    "  'registered', q.name IS NOT NULL, 'paused', q.paused_at IS NOT NULL,"
	    "  'paused_at', q.paused_at, 'created_at', q.created_at,"
	    "  'updated_at', q.updated_at, 'available', coalesce(j.available, 0),"
	    "  'running', coalesce(j.running, 0),"
	    "  'oldest_available_s', j.oldest_available_s) ORDER BY n.name), '[]')"
	    " FROM n LEFT JOIN river_queue q ON q.name = n.name"
	    " LEFT JOIN j ON j.queue = n.name",
	    0, NULL, &out);
	if (rc != EX_OK)
		return rc;
	rc = ctl_print(out, json, cols, (int)nitems(cols));
	free(out);
	return rc;
}

/*
 * Counts per queue and state (every row), and over the window: per kind
 * the jobs completed and failed for good, the error entries written, and
 * the run time of the completed ones; the failure classes of the latest
 * attempts.
 */
int
cmd_stats(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "window", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct tcol qcols[] = {
		{ "QUEUE", "queue", TF_TEXT, 40 },
		{ "AVAILABLE", "available", TF_TEXT, 0 },
		{ "RUNNING", "running", TF_TEXT, 0 },
		{ "SCHEDULED", "scheduled", TF_TEXT, 0 },
		{ "RETRYABLE", "retryable", TF_TEXT, 0 },
		{ "PENDING", "pending", TF_TEXT, 0 },
		{ "COMPLETED", "completed", TF_TEXT, 0 },
		{ "DISCARDED", "discarded", TF_TEXT, 0 },
		{ "CANCELLED", "cancelled", TF_TEXT, 0 },
		{ "OLDEST_WAIT", "oldest_available_s", TF_AGE, 0 },
	};
	static const struct tcol kcols[] = {
		{ "KIND", "kind", TF_TEXT, 40 },
		{ "COMPLETED", "completed", TF_TEXT, 0 },
		{ "FAILED", "failed", TF_TEXT, 0 },
		{ "CANCELLED", "cancelled", TF_TEXT, 0 },
		{ "ERRORS", "errors", TF_TEXT, 0 },
		{ "P50", "p50_ms", TF_MS, 0 },
		{ "P95", "p95_ms", TF_MS, 0 },
		{ "P99", "p99_ms", TF_MS, 0 },
	};
	static const struct tcol ccols[] = {
		{ "CLASS", "class", TF_TEXT, 40 },
		{ "JOBS", "count", TF_TEXT, 0 },
	};
	const char	*p[1];
	char		 win[32], wtext[32], *out;
	json_object	*o, *v;
	int64_t		 window_ms = 3600000;
	int		 ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			if (parse_duration_ms(optarg, &window_ms) == -1 || window_ms < 1000)
				return ctl_usage("stats", "--window '%s': a duration of at "
				    "least 1s, such as 15m, 1h or 7d", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case ':':
			return ctl_usage("stats", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("stats", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("stats", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	snprintf(win, sizeof(win), "%.3f", window_ms / 1000.0);
	p[0] = win;
	rc = ctl_json_query(c, "stats",
	    "WITH w AS (SELECT now() - $1::float8 * interval '1 second' AS since),"
	    " q AS (SELECT queue,"
	    "  count(*) FILTER (WHERE state = 'available') AS available,"
	    "  count(*) FILTER (WHERE state = 'running') AS running,"
	    "  count(*) FILTER (WHERE state = 'scheduled') AS scheduled,"
	    "  count(*) FILTER (WHERE state = 'retryable') AS retryable,"
	    "  count(*) FILTER (WHERE state = 'pending') AS pending,"
	    "  count(*) FILTER (WHERE state = 'completed') AS completed,"
	    "  count(*) FILTER (WHERE state = 'discarded') AS discarded,"
	    "  count(*) FILTER (WHERE state = 'cancelled') AS cancelled,"
	    "  extract(epoch FROM now() - min(scheduled_at) FILTER ("
	    "   WHERE state = 'available' AND scheduled_at <= now()))::float8"
	    "   AS oldest_available_s"
	    "  FROM river_job GROUP BY queue),"
	    " f AS (SELECT kind, state,"
	    "  CASE WHEN jsonb_typeof(metadata->'hivejob'->'wall_ms') = 'number'"
	    "   THEN (metadata->'hivejob'->>'wall_ms')::float8"
	    "   ELSE extract(epoch FROM finalized_at - attempted_at)::float8 * 1000"
	    "   END AS run_ms"
	    "  FROM river_job, w WHERE finalized_at >= w.since),"
	    " fk AS (SELECT kind,"
	    "  count(*) FILTER (WHERE state = 'completed') AS completed,"
	    "  count(*) FILTER (WHERE state = 'discarded') AS failed,"
	    "  count(*) FILTER (WHERE state = 'cancelled') AS cancelled,"
	    "  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY run_ms)"
	    "   FILTER (WHERE state = 'completed') AS pct"
	    "  FROM f GROUP BY kind),"
	    " e AS (SELECT j.kind, count(*) AS errors"
	    "  FROM river_job j CROSS JOIN w CROSS JOIN LATERAL unnest(j.errors) AS x(e)"
	    "  WHERE j.attempted_at >= w.since"
	    "  AND x.e->>'at' ~ '^\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d'"
	    "  AND (x.e->>'at')::timestamptz >= w.since GROUP BY j.kind),"
	    " k AS (SELECT coalesce(fk.kind, e.kind) AS kind,"
	    "  coalesce(fk.completed, 0) AS completed, coalesce(fk.failed, 0) AS failed,"
	    "  coalesce(fk.cancelled, 0) AS cancelled, coalesce(e.errors, 0) AS errors,"
	    "  round(fk.pct[1]::numeric, 1) AS p50_ms,"
	    "  round(fk.pct[2]::numeric, 1) AS p95_ms,"
	    "  round(fk.pct[3]::numeric, 1) AS p99_ms"
	    "  FROM fk FULL JOIN e ON e.kind = fk.kind),"
	    " cl AS (SELECT metadata->'hivejob'->>'class' AS class, count(*) AS count"
	    "  FROM river_job, w WHERE attempted_at >= w.since AND state <> 'running'"
	    "  AND coalesce(metadata->'hivejob'->>'class', '') <> ''"
	    "  GROUP BY 1)"
	    " SELECT json_build_object('window_s', $1::float8,"
	    "  'queues', (SELECT coalesce(json_agg(q ORDER BY q.queue), '[]') FROM q),"
	    "  'kinds', (SELECT coalesce(json_agg(k ORDER BY k.kind), '[]') FROM k),"
	    "  'classes', (SELECT coalesce(json_agg(cl ORDER BY cl.count DESC, cl.class),"
	    "   '[]') FROM cl))",
	    1, p, &out);
	if (rc != EX_OK)
		return rc;
	if (json) {
		printf("%s\n", out);
		free(out);
		return EX_OK;
	}
	if ((o = ctl_json_parse(out)) == NULL) {
		free(out);
		return EX_SOFTWARE;
	}
	format_duration_ms(window_ms, wtext, sizeof(wtext));
	printf("jobs per queue and state:\n");
	table_json(stdout, json_object_object_get_ex(o, "queues", &v) ? v : NULL,
	    qcols, (int)nitems(qcols));
	printf("\nper kind, finished in the last %s (run time of completed jobs):\n", wtext);
	table_json(stdout, json_object_object_get_ex(o, "kinds", &v) ? v : NULL,
	    kcols, (int)nitems(kcols));
	printf("\nfailure classes of attempts begun in the last %s:\n", wtext);
	table_json(stdout, json_object_object_get_ex(o, "classes", &v) ? v : NULL,
	    ccols, (int)nitems(ccols));
	json_object_put(o);
	free(out);
	return EX_OK;
}
