/*
 * migrate: bring a schema to River's main line 7 plus hivejob's own line.
 *
 * River's objects are created only in a schema that has none: a database
 * River already migrated to 7 or later is left exactly as it is, and one at
 * an older version is refused, because upgrading River is River's migrator's
 * job, not ours. Everything runs in one transaction under an advisory lock,
 * so two operators migrating at once serialise and the loser sees no work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "migrate.h"
#include "util.h"

static int	migrate_run(PGconn *, const struct migration *, FILE *);
static int	migrate_river_check(const struct migrate_state *, const char *);

int
migrate_latest(const char *line)
{
	int i, v = 0;

	for (i = 0; i < nmigrations; i++)
		if (strcmp(migrations[i].line, line) == 0 &&
		    migrations[i].version > v)
			v = migrations[i].version;
	return v;
}

int
migrate_read_state(PGconn *conn, const char *schema, struct migrate_state *st)
{
	const char	*p[1] = { schema };
	PGresult	*res;
	char		*q, *id;

	memset(st, 0, sizeof(*st));
	res = db_query(conn,
	    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),"
	    " to_regclass(format('%I.river_job', $1)) IS NOT NULL,"
	    " to_regclass(format('%I.river_migration', $1)) IS NOT NULL,"
	    " EXISTS (SELECT 1 FROM pg_attribute"
	    "   WHERE attrelid = to_regclass(format('%I.river_migration', $1))"
	    "   AND attname = 'line' AND NOT attisdropped)", 1, p);
	if (res == NULL)
		return MIGRATE_DB;
	st->schema_exists = *PQgetvalue(res, 0, 0) == 't';
	st->river_job_exists = *PQgetvalue(res, 0, 1) == 't';
	st->migration_table = *PQgetvalue(res, 0, 2) == 't';
	st->migration_has_line = *PQgetvalue(res, 0, 3) == 't';
	PQclear(res);
	if (!st->migration_table)
		return MIGRATE_OK;

	id = db_ident(conn, schema);
	if (st->migration_has_line)
		q = xasprintf("SELECT coalesce(max(version) FILTER (WHERE line = 'main'), 0),"
		    " coalesce(max(version) FILTER (WHERE line = 'hivejob'), 0)"
		    " FROM %s.river_migration", id);
	else	/* River before migration 5 kept one unnamed line */
		q = xasprintf("SELECT coalesce(max(version), 0), 0"
		    " FROM %s.river_migration", id);
	free(id);
	res = db_query(conn, q, 0, NULL);
	free(q);
	if (res == NULL)
		return MIGRATE_DB;
	st->main_version = atoi(PQgetvalue(res, 0, 0));
	st->hivejob_version = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	return MIGRATE_OK;
}

/* May River's objects be created, kept, or must we stop? */
static int
migrate_river_check(const struct migrate_state *st, const char *schema)
{
	if (st->main_version >= RIVER_MAIN_VERSION)
		return MIGRATE_OK;
	if (st->main_version > 0) {
		log_warnx("schema \"%s\": River's migration line main is at version %d; "
		    "hivejob needs %d or later and does not upgrade River itself. "
		    "Run River's own migrator first (river migrate-up --line main "
		    "--database-url ...), then run hivejobctl migrate again",
		    schema, st->main_version, RIVER_MAIN_VERSION);
		return MIGRATE_REFUSED;
	}
	if (st->river_job_exists) {
		log_warnx("schema \"%s\": river_job exists but river_migration records "
		    "no version of River's main line, so its shape is unknown; bring "
		    "it to version %d with River's migrator (river migrate-up) first",
		    schema, RIVER_MAIN_VERSION);
		return MIGRATE_REFUSED;
	}
	return MIGRATE_OK;
}

static int
migrate_run(PGconn *conn, const struct migration *m, FILE *report)
{
	const char	*p[2];
	char		 ver[16];
	PGresult	*res;
	int		 v, first = m->version;

	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("migration %s/%d (%s) failed: %s", m->line, m->version,
		    m->name, db_error(conn, res));
		PQclear(res);
		return MIGRATE_DB;
	}
	PQclear(res);
	/* River's single file stands for its versions 1..7. */
	if (strcmp(m->line, "main") == 0)
		first = 1;
	for (v = first; v <= m->version; v++) {
		snprintf(ver, sizeof(ver), "%d", v);
		p[0] = m->line;
		p[1] = ver;
		res = db_query(conn, "INSERT INTO river_migration (line, version)"
		    " VALUES ($1, $2)", 2, p);
		if (res == NULL)
			return MIGRATE_DB;
		PQclear(res);
	}
	if (report)
		fprintf(report, "applied %s/%d %s\n", m->line, m->version, m->name);
	return MIGRATE_OK;
}

int
migrate_apply(PGconn *conn, const char *schema, FILE *report)
{
	struct migrate_state	 st;
	const char		*p[1] = { schema };
	PGresult		*res;
	char			*id, *q;
	int			 i, rc, latest, applied = 0;

	if (db_exec(conn, "BEGIN") == -1)
		return MIGRATE_DB;
	/* Wait for a concurrent migrator rather than fail on its locks. */
	res = db_query(conn, "SELECT pg_advisory_xact_lock(hashtext('hivejob migrate ' || $1))",
	    1, p);
	if (res == NULL)
		goto fail;
	PQclear(res);
	if ((rc = migrate_read_state(conn, schema, &st)) != MIGRATE_OK)
		goto fail_rc;
	if ((rc = migrate_river_check(&st, schema)) != MIGRATE_OK)
		goto fail_rc;
	latest = migrate_latest("hivejob");
	if (st.hivejob_version > latest) {
		log_warnx("schema \"%s\": hivejob's migration line is at version %d, "
		    "newer than this hivejobctl knows (%d); use the hivejobctl of "
		    "the release that migrated it", schema, st.hivejob_version, latest);
		rc = MIGRATE_REFUSED;
		goto fail_rc;
	}

	id = db_ident(conn, schema);
	q = xasprintf("CREATE SCHEMA IF NOT EXISTS %s; SET LOCAL search_path TO %s;"
	    " SET LOCAL lock_timeout = '30s'", id, id);
	free(id);
	rc = db_exec(conn, q);
	free(q);
	if (rc == -1)
		goto fail;

	for (i = 0; i < nmigrations; i++) {
		const struct migration *m = &migrations[i];

		if (strcmp(m->line, "main") == 0) {
			if (st.main_version >= RIVER_MAIN_VERSION)
				continue;
		} else if (m->version <= st.hivejob_version)
			continue;
		if ((rc = migrate_run(conn, m, report)) != MIGRATE_OK)
			goto fail_rc;
		applied++;
	}
	if (db_exec(conn, "COMMIT") == -1)
		return MIGRATE_DB;
	if (report && applied == 0)
		fprintf(report, "schema \"%s\" is up to date (main %d, hivejob %d)\n",
		    schema, st.main_version, st.hivejob_version);
	return MIGRATE_OK;
fail:
	rc = MIGRATE_DB;
fail_rc:
	PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

/* A line's applied and latest versions, and what an operator should know. */
const char *
migrate_line_state(const struct migrate_state *st, const char *line,
    int *applied, int *latest)
{
	if (strcmp(line, "main") == 0) {
		*applied = st->main_version;
		*latest = RIVER_MAIN_VERSION;
		if (st->main_version >= RIVER_MAIN_VERSION)
			return "up to date";
		if (st->main_version > 0)
			return "behind: run River's migrator (river migrate-up)";
		if (st->river_job_exists)
			return "unknown: river_job without river_migration rows";
		return "pending: hivejobctl migrate";
	}
	*applied = st->hivejob_version;
	*latest = migrate_latest("hivejob");
	if (*applied == *latest)
		return "up to date";
	if (*applied > *latest)
		return "ahead of this hivejobctl";
	return "pending: hivejobctl migrate";
}

int
migrate_print_status(PGconn *conn, const char *schema, FILE *out)
{
	static const char *const lines[] = { "main", "hivejob" };
	struct migrate_state	st;
	const char		*state;
	int			rc, applied, latest;
	size_t			i;

	if ((rc = migrate_read_state(conn, schema, &st)) != MIGRATE_OK)
		return rc;
	fprintf(out, "schema   %s%s\n", schema,
	    st.schema_exists ? "" : " (does not exist)");
	fprintf(out, "%-8s %-8s %-8s %s\n", "LINE", "APPLIED", "LATEST", "STATE");
	for (i = 0; i < nitems(lines); i++) {
		state = migrate_line_state(&st, lines[i], &applied, &latest);
		fprintf(out, "%-8s %-8d %-8d %s\n", lines[i], applied, latest, state);
	}
	return MIGRATE_OK;
}
