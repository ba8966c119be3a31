/*
 * hivejobctl retry, cancel and delete: River's JobRetry, JobCancel and
 * JobDelete, for jobs named by id or chosen by filters (the bulk form).
 *
 * Each works in one transaction: lock the rows in id order (the order the
 * supervisors' finishes use, so neither waits on the other in a cycle),
 * then one statement decides and acts per job and returns, per job, what
 * became of it. A job that cannot be acted on (running, unknown, a unique
 * key in the way) is reported, and the others are still done; the exit
 * status is then 65.
 *
 * The bulk form counts first, without locks, and asks before it acts: the
 * question must not hold row locks that a supervisor's finish would wait on.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "db.h"
#include "log.h"
#include "util.h"

enum op { OP_RETRY, OP_CANCEL, OP_DELETE };

struct opdef {
	const char	*name;
	const char	*done;		/* "retried" */
	const char	*bulk_where;	/* which rows the bulk form may pick */
	const char	*act;		/* $1: the ids, bigint[] */
};

#define OP_REQ \
	"WITH req AS (SELECT DISTINCT unnest($1::bigint[]) AS id)," \
	" cur AS (SELECT r.id, j.state, j.kind, j.queue, j.scheduled_at, j.attempt," \
	"  j.max_attempts, j.unique_key, j.unique_states" \
	"  FROM req r LEFT JOIN river_job j ON j.id = r.id),"

#define OP_OUT \
	" SELECT coalesce(json_agg(json_build_object('id', cur.id, 'kind', cur.kind," \
	"  'queue', cur.queue, 'previous_state', cur.state, 'state', o.state," \
	"  'result', CASE WHEN cur.state IS NULL THEN 'not_found' ELSE o.result END," \
	"  'reason', o.reason, 'duplicate_of', o.dup, 'max_attempts', o.max_attempts)" \
	"  ORDER BY cur.id), '[]')"

static const struct opdef ops[] = {
	[OP_RETRY] = { "retry", "retried",
	    "state <> 'running' AND NOT (state = 'available' AND scheduled_at <= now())",
	    /*
	     * River's JobRetry, and one thing more: cancel_attempted_at goes,
	     * or the supervisor that claims the job would cancel it at once.
	     * A job that would enter the unique index (River's default states
	     * leave it when discarded or cancelled) while another row holds
	     * its key there is refused, naming that row; among jobs entering
	     * it together, the lowest id takes the key.
	     */
	    OP_REQ
	    " cls AS (SELECT cur.*,"
	    "  CASE WHEN cur.state = 'running' THEN 'running'"
	    "   WHEN cur.state = 'available' AND cur.scheduled_at <= now()"
	    "   THEN 'already_available' END AS why,"
	    "  CASE WHEN cur.unique_key IS NULL OR cur.unique_states IS NULL"
	    "   OR NOT river_job_state_in_bitmask(cur.unique_states, 'available')"
	    "   OR river_job_state_in_bitmask(cur.unique_states, cur.state) THEN NULL"
	    "  ELSE (SELECT o.id FROM river_job o"
	    "   WHERE o.unique_key = cur.unique_key AND o.id <> cur.id"
	    "   AND o.unique_states IS NOT NULL"
	    "   AND (river_job_state_in_bitmask(o.unique_states, o.state)"
	    "    OR (o.id < cur.id AND o.id IN (SELECT id FROM req)"
	    "     AND o.state <> 'running'"
	    "     AND river_job_state_in_bitmask(o.unique_states, 'available')))"
	    "   ORDER BY o.id LIMIT 1) END AS dup"
	    "  FROM cur WHERE cur.state IS NOT NULL),"
	    " upd AS (UPDATE river_job j SET state = 'available', finalized_at = NULL,"
	    "  scheduled_at = now(),"
	    "  max_attempts = CASE WHEN j.attempt >= j.max_attempts"
	    "   THEN j.max_attempts + 1 ELSE j.max_attempts END,"
	    "  metadata = j.metadata - 'cancel_attempted_at'"
	    "  FROM cls WHERE j.id = cls.id AND cls.why IS NULL AND cls.dup IS NULL"
	    "  RETURNING j.id, j.state, j.max_attempts),"
	    " o AS (SELECT cls.id, coalesce(upd.state, cls.state) AS state,"
	    "  CASE WHEN upd.id IS NOT NULL THEN 'retried'"
	    "   WHEN cls.why = 'already_available' THEN 'skipped' ELSE 'refused' END AS result,"
	    "  CASE WHEN upd.id IS NULL THEN coalesce(cls.why, 'unique_key') END AS reason,"
	    "  CASE WHEN upd.id IS NULL AND cls.why IS NULL THEN cls.dup END AS dup,"
	    "  coalesce(upd.max_attempts, cls.max_attempts) AS max_attempts"
	    "  FROM cls LEFT JOIN upd ON upd.id = cls.id)"
	    OP_OUT " FROM cur LEFT JOIN o ON o.id = cur.id" },
	[OP_CANCEL] = { "cancel", "cancelled",
	    "state NOT IN ('cancelled', 'completed', 'discarded')",
	    /*
	     * River's JobCancel: the flag on every job not finished; a job not
	     * running is cancelled here and now, a running one by the
	     * supervisor that holds it (the notification follows).
	     */
	    OP_REQ
	    " upd AS (UPDATE river_job j SET"
	    "  metadata = jsonb_set(j.metadata, '{cancel_attempted_at}', to_jsonb(now())),"
	    "  state = CASE WHEN j.state = 'running' THEN j.state ELSE 'cancelled' END,"
	    "  finalized_at = CASE WHEN j.state = 'running' THEN NULL ELSE now() END,"
	    "  errors = CASE WHEN j.state = 'running' THEN j.errors"
	    "   ELSE array_append(coalesce(j.errors, '{}'), jsonb_build_object("
	    "   'at', now(), 'attempt', j.attempt, 'error', 'cancelled by hivejobctl',"
	    "   'trace', '')) END"
	    "  FROM cur WHERE j.id = cur.id"
	    "  AND cur.state NOT IN ('cancelled', 'completed', 'discarded')"
	    "  RETURNING j.id, j.state),"
	    " o AS (SELECT cur.id, coalesce(upd.state, cur.state) AS state,"
	    "  CASE WHEN upd.id IS NULL THEN 'skipped' WHEN upd.state = 'running'"
	    "   THEN 'cancel_requested' ELSE 'cancelled' END AS result,"
	    "  CASE WHEN upd.id IS NULL THEN 'finalized' END AS reason,"
	    "  NULL::bigint AS dup, cur.max_attempts"
	    "  FROM cur LEFT JOIN upd ON upd.id = cur.id WHERE cur.state IS NOT NULL)"
	    OP_OUT " FROM cur LEFT JOIN o ON o.id = cur.id" },
	[OP_DELETE] = { "delete", "deleted",
	    "state <> 'running'",
	    OP_REQ
	    " del AS (DELETE FROM river_job j USING cur WHERE j.id = cur.id"
	    "  AND cur.state <> 'running' RETURNING j.id),"
	    " o AS (SELECT cur.id, CASE WHEN del.id IS NULL THEN cur.state END AS state,"
	    "  CASE WHEN del.id IS NOT NULL THEN 'deleted' ELSE 'refused' END AS result,"
	    "  CASE WHEN del.id IS NULL THEN 'running' END AS reason,"
	    "  NULL::bigint AS dup, CASE WHEN del.id IS NULL THEN cur.max_attempts END"
	    "  AS max_attempts"
	    "  FROM cur LEFT JOIN del ON del.id = cur.id WHERE cur.state IS NOT NULL)"
	    OP_OUT " FROM cur LEFT JOIN o ON o.id = cur.id" },
};

#define FILTER_WHERE \
	" ($1::river_job_state IS NULL OR state = $1::river_job_state)" \
	" AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR queue = $3)"

static int	jobs_op(struct ctl *, enum op, int, char **);
static int	confirm(const char *, const char *, const char *);
static int	report(const struct opdef *, const char *, int);
static void	rollback(struct ctl *);

static void
rollback(struct ctl *c)
{
	PQclear(PQexec(c->conn, "ROLLBACK"));
}

/* 1 when the operator answers y or yes at the terminal. */
static int
confirm(const char *verb, const char *count, const char *detail)
{
	char line[64];

	fprintf(stderr, "%s %s job%s (%s)? [y/N] ", verb, count,
	    strcmp(count, "1") == 0 ? "" : "s", detail);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fputc('\n', stderr);
		return 0;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/*
 * Print what became of each job (JSON as it came, or a table), with a line
 * on stderr for each job not acted on. EX_DATAERR when any was refused or
 * unknown.
 */
static int
report(const struct opdef *d, const char *json_text, int json)
{
	static const struct tcol cols[] = {
		{ "ID", "id", TF_TEXT, 0 },
		{ "KIND", "kind", TF_TEXT, 40 },
		{ "QUEUE", "queue", TF_TEXT, 30 },
		{ "WAS", "previous_state", TF_TEXT, 0 },
		{ "NOW", "state", TF_TEXT, 0 },
		{ "RESULT", "result", TF_TEXT, 0 },
		{ "REASON", "reason", TF_TEXT, 0 },
	};
	json_object	*arr, *o, *v;
	const char	*res, *why;
	long long	 id;
	size_t		 i, n;
	int		 rc = EX_OK;

	if ((arr = ctl_json_parse(json_text)) == NULL)
		return EX_SOFTWARE;
	if (json)
		printf("%s\n", json_text);
	else
		table_json(stdout, arr, cols, (int)nitems(cols));
	fflush(stdout);
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		id = json_object_get_int64(json_object_object_get(o, "id"));
		res = json_object_get_string(json_object_object_get(o, "result"));
		why = (v = json_object_object_get(o, "reason")) ?
		    json_object_get_string(v) : "";
		if (res == NULL)
			continue;
		if (strcmp(res, "not_found") == 0) {
			log_warnx("no job with id %lld", id);
			rc = EX_DATAERR;
		} else if (strcmp(res, "refused") == 0 &&
		    strcmp(why, "unique_key") == 0) {
			log_warnx("job %lld: retrying it would duplicate job %lld's "
			    "unique key", id, (long long)json_object_get_int64(
			    json_object_object_get(o, "duplicate_of")));
			rc = EX_DATAERR;
		} else if (strcmp(res, "refused") == 0) {
			log_warnx("job %lld is running: not %s (%s)", id, d->done,
			    strcmp(d->name, "retry") == 0 ?
			    "cancel it, or wait until it ends" : "cancel it first");
			rc = EX_DATAERR;
		} else if (strcmp(res, "skipped") == 0 &&
		    strcmp(why, "finalized") == 0) {
			log_notice("job %lld is already %s: left alone", id,
			    json_object_get_string(json_object_object_get(o, "state")));
		} else if (strcmp(res, "skipped") == 0) {
			log_notice("job %lld is already available and due: left as it is",
			    id);
		}
	}
	json_object_put(arr);
	return rc;
}

static int
jobs_op(struct ctl *c, enum op op, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ "queue", required_argument, NULL, 'q' },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const struct opdef *d = &ops[op];
	const char	*state = NULL, *kind = NULL, *queue = NULL, *p[3];
	char		*out = NULL, *sql, chan[64];
	struct buf	 ids;
	PGresult	*res;
	int		 ch, json = 0, yes = 0, rc, i, bulk;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!ctl_state_valid(optarg))
				return ctl_usage(d->name, "--state '%s' is not a job state "
				    "(available, cancelled, completed, discarded, pending, "
				    "retryable, running, scheduled)", optarg);
			state = optarg;
			break;
		case 'k':
			kind = optarg;
			break;
		case 'q':
			queue = optarg;
			break;
		case 'y':
			yes = 1;
			break;
		case 'j':
			json = 1;
			break;
		case ':':
			return ctl_usage(d->name, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return ctl_usage(d->name, "unknown option '%s'", argv[optind - 1]);
		}
	}
	bulk = state || kind || queue;
	if (bulk && optind < argc)
		return ctl_usage(d->name, "give job IDs or filters (--state, --kind, "
		    "--queue), not both: '%s'", argv[optind]);
	if (!bulk && optind == argc)
		return ctl_usage(d->name, "expected job IDs, or --state, --kind or "
		    "--queue to choose jobs in bulk");
	for (i = optind; i < argc; i++)
		if (!ctl_id_valid(argv[i]))
			return ctl_usage(d->name, "job ID must be a positive integer, "
			    "got '%s'", argv[i]);
	if (bulk && state && op != OP_CANCEL && strcmp(state, "running") == 0)
		return ctl_usage(d->name, "--state running: running jobs are not %s; "
		    "cancel them first", d->done);
	if (bulk && state && op == OP_CANCEL && (strcmp(state, "cancelled") == 0 ||
	    strcmp(state, "completed") == 0 || strcmp(state, "discarded") == 0))
		return ctl_usage(d->name, "--state %s: those jobs are finished, there is "
		    "nothing to cancel", state);
	if (bulk && !yes && !isatty(STDIN_FILENO))
		return ctl_usage(d->name, "stdin is not a terminal, so nobody can answer "
		    "the question: pass --yes to %s jobs in bulk", d->name);

	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;
	p[0] = state;
	p[1] = kind;
	p[2] = queue;
	buf_init(&ids);
	if (bulk) {
		sql = xasprintf("SELECT coalesce(sum(n), 0), coalesce(string_agg(n || ' ' || state,"
		    " ', ' ORDER BY state), '')"
		    " FROM (SELECT state, count(*) AS n FROM river_job WHERE %s AND %s"
		    " GROUP BY state) s", FILTER_WHERE, d->bulk_where);
		res = PQexecParams(c->conn, sql, 3, NULL, p, NULL, NULL, 0);
		free(sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = ctl_db_fail(c, res, d->name);
			PQclear(res);
			return rc;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
			log_notice("no job matches: nothing to %s", d->name);
			PQclear(res);
			if (json)
				printf("[]\n");
			return EX_OK;
		}
		if (!yes && !confirm(d->name, PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 1))) {
			log_notice("not confirmed: nothing was changed");
			PQclear(res);
			return 1;
		}
		PQclear(res);
	} else {
		buf_addc(&ids, '{');
		for (i = optind; i < argc; i++)
			buf_printf(&ids, "%s%s", i > optind ? "," : "", argv[i]);
		buf_addc(&ids, '}');
	}

	/* A row a supervisor is finishing is locked only briefly. */
	if (db_exec(c->conn, "BEGIN; SET LOCAL lock_timeout = '10s'") == -1) {
		buf_free(&ids);
		return EX_UNAVAILABLE;
	}
	if (bulk) {
		sql = xasprintf("SELECT coalesce(array_agg(id ORDER BY id), '{}')"
		    " FROM (SELECT id FROM river_job WHERE %s AND %s"
		    " ORDER BY id FOR UPDATE) s", FILTER_WHERE, d->bulk_where);
		res = PQexecParams(c->conn, sql, 3, NULL, p, NULL, NULL, 0);
		free(sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			buf_adds(&ids, PQgetvalue(res, 0, 0));
	} else {
		p[0] = buf_str(&ids);
		res = PQexecParams(c->conn, "SELECT id FROM river_job"
		    " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
		    1, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ctl_db_fail(c, res, d->name);
		goto fail;
	}
	PQclear(res);
	res = NULL;

	p[0] = buf_str(&ids);
	if ((rc = ctl_json_query(c, d->name, d->act, 1, p, &out)) != EX_OK)
		goto fail;
	if (op == OP_CANCEL) {
		/* Sent at commit, like River's; the holder kills the job. */
		ctl_channel(c->schema, "river_control", chan, sizeof(chan));
		p[1] = chan;
		res = PQexecParams(c->conn, "SELECT pg_notify($2, json_build_object("
		    "'action', 'cancel', 'job_id', id, 'queue', queue)::text)"
		    " FROM river_job WHERE id = ANY($1::bigint[]) AND state = 'running'"
		    " ORDER BY id", 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = ctl_db_fail(c, res, d->name);
			goto fail;
		}
		PQclear(res);
		res = NULL;
	}
	res = PQexec(c->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = ctl_db_fail(c, res, d->name);
		goto fail;
	}
	PQclear(res);
	buf_free(&ids);
	rc = report(d, out, json);
	free(out);
	return rc;
fail:
	PQclear(res);
	rollback(c);
	buf_free(&ids);
	free(out);
	return rc;
}

int
cmd_retry(struct ctl *c, int argc, char **argv)
{
	return jobs_op(c, OP_RETRY, argc, argv);
}

int
cmd_cancel(struct ctl *c, int argc, char **argv)
{
	return jobs_op(c, OP_CANCEL, argc, argv);
}

int
cmd_delete(struct ctl *c, int argc, char **argv)
{
	return jobs_op(c, OP_DELETE, argc, argv);
}
