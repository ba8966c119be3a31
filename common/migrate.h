/* migrate: River's main line and hivejob's own line in river_migration. */
#ifndef HIVEJOB_MIGRATE_H
#define HIVEJOB_MIGRATE_H

#include <stdio.h>
#include <libpq-fe.h>

struct migration {
	const char	*line;		/* "main" (River) or "hivejob" */
	int		 version;
	const char	*name;
	const char	*sql;
};

extern const struct migration migrations[];
extern const int nmigrations;

#define RIVER_MAIN_VERSION	7

enum migrate_rc {
	MIGRATE_OK = 0,
	MIGRATE_DB = -1,	/* the database failed us: unreachable, an error */
	MIGRATE_REFUSED = -2	/* the schema is in a state we must not touch */
};

struct migrate_state {
	int	schema_exists;
	int	river_job_exists;
	int	migration_table;	/* river_migration exists */
	int	migration_has_line;	/* ... with River's line column (v5+) */
	int	main_version;		/* 0: none recorded */
	int	hivejob_version;
};

int	migrate_latest(const char *);
int	migrate_read_state(PGconn *, const char *, struct migrate_state *);
int	migrate_apply(PGconn *, const char *, FILE *);
int	migrate_print_status(PGconn *, const char *, FILE *);
const char *migrate_line_state(const struct migrate_state *, const char *, int *,
	    int *);

#endif
