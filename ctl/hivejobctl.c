/*
 * hivejobctl: the operator's command for hivejob's schema and jobs.
 * Commands are a table; each parses its own options and returns a sysexits
 * code, so a script can tell bad usage (64) from bad data (65) from an
 * unreachable database (69).
 */
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
	{ "migrate", cmd_migrate, "migrate [--status]" },
	{ "enqueue", cmd_enqueue, "enqueue KIND ARGS_JSON [--queue Q] [--priority 1-4]"
	    " [--max-attempts N] [--at TIME|+DURATION] [--tag T]..." },
	{ "list", cmd_list, "list [--state S] [--kind K] [--queue Q] [--limit N] [--json]" },
	{ "show", cmd_show, "show ID [--json]" },
};

static void	usage(FILE *);

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hivejobctl [-d CONNINFO] [--schema SCHEMA] COMMAND [ARG]...\n"
	    "\ncommands:\n");
	for (i = 0; i < nitems(cmds); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nThe database comes from -d or libpq's environment (PGHOST, PGPORT,\n"
	    "PGDATABASE, PGUSER, PGPASSFILE, PGSERVICE). See hivejobctl(8).\n");
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
