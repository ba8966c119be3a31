/*
 * hivejobctl list and show: read river_job. JSON output is built by
 * Postgres itself (json_build_object), so its field names and value formats
 * are stable and documented in hivejobctl(8), whatever the table shows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "db.h"
#include "log.h"
#include "util.h"

static void	show_errors(const char *);

int
cmd_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ "queue", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const hdr[] = {
		"ID", "STATE", "ATTEMPT", "QUEUE", "KIND", "PRIO", "SCHEDULED_AT",
		"LAST_ERROR"
	};
	const char	*state = NULL, *kind = NULL, *queue = NULL, *p[4];
	char		 lim[16], *end;
	long		 limit = 50;
	int		 ch, json = 0, rc, r;
	PGresult	*res;
	struct table	*t;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!ctl_state_valid(optarg))
				return ctl_usage("list", "--state '%s' is not a job state "
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
		case 'l':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || limit < 1 || limit > 100000)
				return ctl_usage("list", "--limit must be 1 to 100000, got '%s'",
				    optarg);
			break;
		case 'j':
			json = 1;
			break;
		case ':':
			return ctl_usage("list", "option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ctl_usage("list", "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;

	snprintf(lim, sizeof(lim), "%ld", limit);
	p[0] = state;
	p[1] = kind;
	p[2] = queue;
	p[3] = lim;
	if (json)
		res = PQexecParams(c->conn,
		    "SELECT coalesce(json_agg(j ORDER BY j.id DESC), '[]') FROM ("
		    " SELECT id, state, attempt, max_attempts, kind, queue, priority, tags,"
		    "  created_at, scheduled_at, attempted_at, finalized_at, attempted_by,"
		    "  errors[array_upper(errors, 1)]->>'error' AS last_error"
		    " FROM river_job"
		    " WHERE ($1::river_job_state IS NULL OR state = $1::river_job_state)"
		    " AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR queue = $3)"
		    " ORDER BY id DESC LIMIT $4::int) j",
		    4, NULL, p, NULL, NULL, 0);
	else
		res = PQexecParams(c->conn,
		    "SELECT id, state, attempt || '/' || max_attempts, queue, kind, priority,"
		    " to_char(scheduled_at, 'YYYY-MM-DD HH24:MI:SS'),"
		    " left(errors[array_upper(errors, 1)]->>'error', 72)"
		    " FROM river_job"
		    " WHERE ($1::river_job_state IS NULL OR state = $1::river_job_state)"
		    " AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR queue = $3)"
		    " ORDER BY id DESC LIMIT $4::int",
		    4, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ctl_db_fail(c, res, "list");
		PQclear(res);
		return rc;
	}
	if (json) {
		printf("%s\n", PQgetvalue(res, 0, 0));
		PQclear(res);
		return EX_OK;
	}
	t = table_new((int)nitems(hdr), hdr);
	for (r = 0; r < PQntuples(res); r++) {
		const char *row[nitems(hdr)];
		size_t i;
		for (i = 0; i < nitems(hdr); i++)
			row[i] = PQgetvalue(res, r, (int)i);
		table_add(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	PQclear(res);
	return EX_OK;
}

/*
 * errors is a Postgres array of jsonb, decoded by the query into records
 * separated by RS (0x1e) of fields separated by US (0x1f): attempt, at,
 * error, trace. The trace (a worker's output) is shown indented, line by
 * line, each line cleaned for the terminal.
 */
static void
show_errors(const char *lines)
{
	char	*copy = xstrdup(lines), *line, *save = NULL;
	char	*f[4], *clean;
	int	 i;

	printf("errors:\n");
	for (line = strtok_r(copy, "\x1e", &save); line;
	    line = strtok_r(NULL, "\x1e", &save)) {
		f[0] = line;
		for (i = 1; i < 4; i++) {
			f[i] = f[i - 1] ? strchr(f[i - 1], '\x1f') : NULL;
			if (f[i])
				*f[i]++ = '\0';
		}
		clean = xmalloc(strlen(lines) + 1);
		text_clean(f[2] ? f[2] : "", clean, strlen(lines) + 1);
		printf("  attempt %s at %s: %s\n", f[0], f[1] ? f[1] : "?", clean);
		if (f[3] && *f[3]) {
			char *tl, *tsave = NULL;
			printf("    output:\n");
			for (tl = strtok_r(f[3], "\n", &tsave); tl;
			    tl = strtok_r(NULL, "\n", &tsave)) {
				text_clean(tl, clean, strlen(lines) + 1);
				printf("      %s\n", clean);
			}
		}
		free(clean);
	}
	free(copy);
}

int
cmd_show(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*p[1];
	char		*end, *clean, label[32];
	int		 ch, json = 0, rc, i, nf;
	long long	 id;
	PGresult	*res;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		default:
			return ctl_usage("show", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage("show", "expected one job ID");
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno || *end || end == argv[optind] || id < 1)
		return ctl_usage("show", "job ID must be a positive integer, got '%s'",
		    argv[optind]);
	if ((rc = ctl_connect(c, 1)) != EX_OK)
		return rc;

	p[0] = argv[optind];
	if (json)
		res = PQexecParams(c->conn,
		    "SELECT row_to_json(j) FROM river_job j WHERE id = $1::bigint",
		    1, NULL, p, NULL, NULL, 0);
	else
		res = PQexecParams(c->conn,
		    "SELECT id, state, attempt, max_attempts, attempted_at, created_at,"
		    " finalized_at, scheduled_at, priority, jsonb_pretty(args) AS args,"
		    " attempted_by, kind, jsonb_pretty(metadata) AS metadata, queue, tags,"
		    " encode(unique_key, 'hex') AS unique_key, unique_states,"
		    " (SELECT string_agg(concat_ws(E'\\x1f', e->>'attempt', e->>'at',"
		    "   e->>'error', e->>'trace'), E'\\x1e' ORDER BY n)"
		    "  FROM unnest(errors) WITH ORDINALITY AS u(e, n)) AS errors"
		    " FROM river_job WHERE id = $1::bigint",
		    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ctl_db_fail(c, res, "show");
		PQclear(res);
		return rc;
	}
	if (PQntuples(res) == 0) {
		log_warnx("no job with id %lld in schema \"%s\"", id, c->schema);
		PQclear(res);
		return EX_DATAERR;
	}
	if (json) {
		printf("%s\n", PQgetvalue(res, 0, 0));
		PQclear(res);
		return EX_OK;
	}
	nf = PQnfields(res);
	for (i = 0; i < nf; i++) {
		const char *name = PQfname(res, i), *v = PQgetvalue(res, 0, i);

		if (strcmp(name, "errors") == 0) {
			if (PQgetisnull(res, 0, i))
				printf("errors:\n");
			else
				show_errors(v);
			continue;
		}
		if (strcmp(name, "args") == 0 || strcmp(name, "metadata") == 0) {
			/* Indented under the name; JSON escapes keep control bytes out. */
			printf("%s:\n  ", name);
			for (; *v; v++) {
				putchar(*v);
				if (*v == '\n')
					fputs("  ", stdout);
			}
			putchar('\n');
			continue;
		}
		snprintf(label, sizeof(label), "%s:", name);
		clean = xmalloc(strlen(v) + 1);
		text_clean(v, clean, strlen(v) + 1);
		printf("%-14s %s\n", label, clean);
		free(clean);
	}
	PQclear(res);
	return EX_OK;
}
