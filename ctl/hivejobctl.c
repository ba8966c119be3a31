/*
 * hivejobctl: the operator's command for hivejob's schema and jobs.
 * Commands are a table; each parses its own options and returns a sysexits
 * code, so a script can tell bad usage (64) from bad data (65) from an
 * unreachable database (69).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const struct ctl_cmd cmds[] = {
	{ "migrate", cmd_migrate, "migrate [--status [--json]]",
	    "Create River's tables where missing and apply hivejob's migrations;\n"
	    "--status prints the versions and changes nothing." },
	{ "enqueue", cmd_enqueue, "enqueue KIND ARGS_JSON [--queue Q] [--priority 1-4]"
	    " [--max-attempts N]\n          [--at TIME|+DURATION] [--tag T]..."
	    " [--unique-by args,queue,period=D] [--json]",
	    "Insert a job as River's client would; --unique-by gives it River's\n"
	    "unique key (kind always included): a duplicate prints the existing id." },
	{ "list", cmd_list, "list [--state S] [--kind K] [--queue Q] [--limit N] [--json]",
	    "The newest jobs, filtered." },
	{ "show", cmd_show, "show ID [--json]",
	    "Every column of one job, and its errors." },
	{ "retry", cmd_retry, "retry ID... | retry [--state S] [--kind K] [--queue Q]"
	    " [--yes] [--json]",
	    "Make jobs available to run now (River's JobRetry); running jobs are\n"
	    "refused. The bulk form needs a filter, and --yes when stdin is no terminal." },
	{ "cancel", cmd_cancel, "cancel ID... | cancel [--state S] [--kind K] [--queue Q]"
	    " [--yes] [--json]",
	    "Cancel jobs (River's JobCancel): waiting jobs at once, running ones\n"
	    "through their supervisor; finished jobs are left alone." },
	{ "delete", cmd_delete, "delete ID... | delete [--state S] [--kind K] [--queue Q]"
	    " [--yes] [--json]",
	    "Delete jobs that are not running." },
	{ "pause", cmd_pause, "pause QUEUE|all [--json]",
	    "Stop claiming from a queue (river_queue.paused_at), or from all of them." },
	{ "resume", cmd_resume, "resume QUEUE|all [--json]",
	    "Claim from a paused queue again." },
	{ "queues", cmd_queues, "queues [--json]",
	    "Queues: paused or not, jobs available and running, the oldest wait." },
	{ "stats", cmd_stats, "stats [--window DURATION] [--json]",
	    "Counts per queue and state, and per kind over the window (default 1h):\n"
	    "completed, failed, run-time percentiles; failure classes." },
	{ "supervisors", cmd_supervisors, "supervisors [--since DURATION] [--json]",
	    "Supervisor leases: live ones and those expired within --since (1h)." },
	{ "ps", cmd_ps, "ps [--json]",
	    "Jobs running now, from the supervisors' lease snapshots." },
	{ "top", cmd_top, "top [--interval DURATION] [--json]",
	    "A live view, redrawn every --interval (1s): queues, jobs finalized in\n"
	    "the last minute per kind, running jobs. One frame when stdout is no terminal." },
	{ "stuck", cmd_stuck, "stuck [--json]",
	    "Running jobs whose supervisor's lease lapsed, and running jobs\n"
	    "claimed by another runner." },
	{ "webhooks", cmd_webhooks, "webhooks [--json] | webhooks enable ID [--json]",
	    "Webhook endpoints and their health; enable turns one on again." },
	{ "deliveries", cmd_deliveries, "deliveries WEBHOOK_ID [--limit N] [--json]",
	    "An endpoint's recent deliveries, newest first (20 unless --limit)." },
};

static void	usage(FILE *);
static void	cmd_help(FILE *, const struct ctl_cmd *);
static int	wants_help(int, char **);

/* The command's description, indented under its usage. */
static void
cmd_help(FILE *f, const struct ctl_cmd *cmd)
{
	const char *p, *nl;

	for (p = cmd->help; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		fprintf(f, "      %.*s\n", (int)(nl - p), p);
	}
}

/* --help anywhere among the command's arguments (before a "--"). */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hivejobctl [-d CONNINFO] [--schema SCHEMA] COMMAND [ARG]...\n"
	    "\ncommands:\n");
	for (i = 0; i < nitems(cmds); i++) {
		fprintf(f, "  %s\n", cmds[i].usage);
		cmd_help(f, &cmds[i]);
	}
	fprintf(f, "\nEvery command takes --help. The database comes from -d or libpq's\n"
	    "environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSFILE, PGSERVICE).\n"
	    "See hivejobctl(8).\n");
}

/* Report a usage error for command cmd and return EX_USAGE. */
int
ctl_usage(const char *cmd, const char *fmt, ...)
{
	va_list	ap;
	size_t	i;

	fprintf(stderr, "hivejobctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (i = 0; i < nitems(cmds); i++)
		if (cmd && strcmp(cmds[i].name, cmd) == 0)
			fprintf(stderr, "usage: hivejobctl %s\n", cmds[i].usage);
	return EX_USAGE;
}

/*
 * River's channel names are "<schema>.<topic>", cut like any identifier at
 * 63 bytes, and never inside a UTF-8 sequence.
 */
void
ctl_channel(const char *schema, const char *topic, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s.%s", schema, topic);
	n = strlen(out);
	if (n > 63) {
		n = 63;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
		out[n] = '\0';
	}
}

/* Characters in s, or -1 when s is not valid UTF-8. */
int
ctl_name_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 n = 0, k;

	while (*p) {
		if (*p < 0x80)
			k = 0;
		else if ((*p & 0xe0) == 0xc0)
			k = 1;
		else if ((*p & 0xf0) == 0xe0)
			k = 2;
		else if ((*p & 0xf8) == 0xf0)
			k = 3;
		else
			return -1;
		for (p++; k > 0; k--, p++)
			if ((*p & 0xc0) != 0x80)
				return -1;
		n++;
	}
	return n;
}

static const char *const job_states[] = {
	"available", "cancelled", "completed", "discarded",
	"pending", "retryable", "running", "scheduled",
};

int
ctl_state_valid(const char *s)
{
	size_t i;

	for (i = 0; i < nitems(job_states); i++)
		if (strcmp(s, job_states[i]) == 0)
			return 1;
	return 0;
}

/* A job id: a positive bigint, digits only. */
int
ctl_id_valid(const char *s)
{
	char		*end;
	long long	 v;

	if (!isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= 1;
}

/* A uuid in its usual spelling: 8-4-4-4-12 hexadecimal digits. */
int
ctl_uuid_valid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int
ctl_long_arg(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
ctl_json_query(struct ctl *c, const char *what, const char *sql, int n,
    const char *const *p, char **out)
{
	PGresult	*res;
	int		 rc;

	*out = NULL;
	res = PQexecParams(c->conn, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) < 1) {
		rc = PQresultStatus(res) == PGRES_TUPLES_OK ? EX_SOFTWARE :
		    ctl_db_fail(c, res, what);
		if (rc == EX_SOFTWARE && PQresultStatus(res) == PGRES_TUPLES_OK)
			log_warnx("%s: the query returned %d rows", what, PQntuples(res));
		PQclear(res);
		return rc;
	}
	*out = xstrdup(PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return EX_OK;
}

json_object *
ctl_json_parse(const char *s)
{
	json_object *o;

	if ((o = json_tokener_parse(s)) == NULL)
		log_warnx("the database returned JSON json-c cannot read");
	return o;
}

/* --json prints the text as it came; otherwise a table of the array. */
int
ctl_print(const char *text, int json, const struct tcol *cols, int n)
{
	json_object *arr;

	if (json) {
		printf("%s\n", text);
		return EX_OK;
	}
	if ((arr = ctl_json_parse(text)) == NULL)
		return EX_SOFTWARE;
	table_json(stdout, arr, cols, n);
	json_object_put(arr);
	return EX_OK;
}

int
ctl_connect(struct ctl *c, int set_path)
{
	char *q;
	int rc;

	if ((c->conn = db_connect(c->conninfo, "hivejobctl")) == NULL)
		return EX_UNAVAILABLE;
	if ((c->schema = db_schema_resolve(c->conn, c->schema_opt)) == NULL)
		return EX_UNAVAILABLE;
	c->schema_id = db_ident(c->conn, c->schema);
	if (!set_path)
		return EX_OK;
	q = xasprintf("SET search_path TO %s; SET TimeZone TO 'UTC'", c->schema_id);
	rc = db_exec(c->conn, q);
	free(q);
	return rc == 0 ? EX_OK : EX_UNAVAILABLE;
}

/*
 * Map a failed statement to an exit code, with a hint where the cause is
 * a schema that was never migrated.
 */
int
ctl_db_fail(struct ctl *c, const PGresult *res, const char *what)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	log_warnx("%s: %s", what, db_error(c->conn, res));
	if (PQstatus(c->conn) != CONNECTION_OK || st == NULL)
		return EX_UNAVAILABLE;
	if (strcmp(st, "42P01") == 0 || strcmp(st, "42704") == 0) {
		log_warnx("schema \"%s\" lacks hivejob's tables; run: hivejobctl migrate",
		    c->schema);
		return EX_UNAVAILABLE;
	}
	if (strcmp(st, "55P03") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "40001") == 0) {
		log_warnx("another transaction holds the rows; nothing was changed, "
		    "try again");
		return EX_TEMPFAIL;
	}
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0)
		return EX_DATAERR;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57", 2) == 0 ||
	    strncmp(st, "53", 2) == 0)
		return EX_UNAVAILABLE;
	return EX_SOFTWARE;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dbname", required_argument, NULL, 'd' },
		{ "schema", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl	 c;
	size_t		 i;
	int		 ch, rc;

	log_init("hivejobctl", LOG_STYLE_CLI, 0);
	memset(&c, 0, sizeof(c));
	c.schema_opt = getenv("HIVEJOB_SCHEMA");

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+d:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c.conninfo = optarg;
			break;
		case 's':
			c.schema_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			if (optopt)
				fprintf(stderr, "hivejobctl: unknown or incomplete option '-%c'\n", optopt);
			else
				fprintf(stderr, "hivejobctl: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	for (i = 0; i < nitems(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (wants_help(argc, argv)) {
			printf("usage: hivejobctl %s\n\n", cmds[i].usage);
			cmd_help(stdout, &cmds[i]);
			printf("\nSee hivejobctl(8).\n");
			return EX_OK;
		}
		optind = 0;	/* reset getopt for the command's own options */
		rc = cmds[i].fn(&c, argc, argv);
		if (c.conn)
			PQfinish(c.conn);
		free(c.schema);
		free(c.schema_id);
		return rc;
	}
	fprintf(stderr, "hivejobctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return EX_USAGE;
}
