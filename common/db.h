/* db: blocking libpq helpers for hivejobctl and the migrator. */
#ifndef HIVEJOB_DB_H
#define HIVEJOB_DB_H

#include <libpq-fe.h>

PGconn	*db_connect(const char *, const char *);
char	*db_schema_resolve(PGconn *, const char *);
char	*db_ident(PGconn *, const char *);
int	 db_exec(PGconn *, const char *);
PGresult *db_query(PGconn *, const char *, int, const char *const *);
const char *db_error(PGconn *, const PGresult *);
int	 db_sqlstate_is(const PGresult *, const char *);

#endif
