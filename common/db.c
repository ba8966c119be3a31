/*
 * db: the blocking side of libpq, for the command-line tool and the migrator.
 * hivejobd never uses these: its connections are non-blocking and driven by
 * its event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "util.h"

static void	notice_ignore(void *, const char *);

/* Notices (CREATE ... IF NOT EXISTS chatter) are not the user's business. */
static void
notice_ignore(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * Connect with conninfo (NULL or "" means libpq's environment: PGHOST,
 * PGSERVICE, PGPASSFILE, ...). Returns NULL after logging why.
 */
PGconn *
db_connect(const char *conninfo, const char *appname)
{
	const char	*keys[] = { "dbname", "fallback_application_name", NULL };
	const char	*vals[] = { conninfo ? conninfo : "", appname, NULL };
	PGconn		*conn;
	char		*msg, *nl;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		log_warnx("cannot connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		msg = xstrdup(PQerrorMessage(conn));
		while ((nl = strchr(msg, '\n')) != NULL) {
			*nl = ' ';
			if (nl[1] == '\0')
				*nl = '\0';
		}
		log_warnx("cannot connect to the database: %s", msg);
		free(msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_ignore, NULL);
	return conn;
}

/* The schema to work in: the one asked for, or the connection's current one. */
char *
db_schema_resolve(PGconn *conn, const char *want)
{
	PGresult	*res;
	char		*s;

	if (want != NULL && *want != '\0')
		return xstrdup(want);
	res = PQexec(conn, "SELECT current_schema()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("cannot read current_schema(): %s", db_error(conn, res));
		PQclear(res);
		return NULL;
	}
	if (PQgetisnull(res, 0, 0)) {
		log_warnx("the connection has no current schema (search_path names "
		    "no existing schema); pass --schema");
		PQclear(res);
		return NULL;
	}
	s = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return s;
}

/* A quoted identifier, to splice into SQL text. */
char *
db_ident(PGconn *conn, const char *name)
{
	char *q, *s;

	if ((q = PQescapeIdentifier(conn, name, strlen(name))) == NULL)
		fatalx("PQescapeIdentifier: %s", PQerrorMessage(conn));
	s = xstrdup(q);
	PQfreemem(q);
	return s;
}

/* Run a statement that returns no rows. */
int
db_exec(PGconn *conn, const char *sql)
{
	PGresult	*res;
	int		 rc = 0;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s", db_error(conn, res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/*
 * A parameterised statement with text parameters. Returns the result when
 * it succeeded, or NULL after logging the server's message.
 */
PGresult *
db_query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	PGresult *res;

	res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	log_warnx("%s", db_error(conn, res));
	PQclear(res);
	return NULL;
}

/* The primary message of a failed result, on one line. */
const char *
db_error(PGconn *conn, const PGresult *res)
{
	static char	 msg[1024];
	const char	*m = NULL;
	char		*nl;

	if (res != NULL)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (m == NULL)
		m = PQerrorMessage(conn);
	snprintf(msg, sizeof(msg), "%s", m);
	while ((nl = strchr(msg, '\n')) != NULL)
		*nl = nl[1] ? ' ' : '\0';
	return msg;
}

int
db_sqlstate_is(const PGresult *res, const char *state)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL && strcmp(s, state) == 0;
}
