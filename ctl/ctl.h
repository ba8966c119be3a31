/* hivejobctl: shared state of one invocation and the command entry points. */
#ifndef HIVEJOB_CTL_H
#define HIVEJOB_CTL_H

#include <libpq-fe.h>

struct ctl {
	const char	*conninfo;	/* -d; NULL: libpq's environment */
	const char	*schema_opt;	/* --schema; NULL: current_schema() */
	PGconn		*conn;
	char		*schema;	/* resolved name */
	char		*schema_id;	/* quoted, to splice into SQL */
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*usage;
};

int	ctl_connect(struct ctl *, int);
int	ctl_db_fail(struct ctl *, const PGresult *, const char *);
void	ctl_channel(const char *, const char *, char *, size_t);
int	ctl_usage(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

int	cmd_migrate(struct ctl *, int, char **);
int	cmd_enqueue(struct ctl *, int, char **);
int	cmd_list(struct ctl *, int, char **);
int	cmd_show(struct ctl *, int, char **);

/* table: aligned columns for people; cells are cleaned for the terminal. */
struct table;
struct table	*table_new(int, const char *const *);
void		 table_add(struct table *, const char *const *);
void		 table_print(struct table *, FILE *);
void		 table_free(struct table *);
void		 text_clean(const char *, char *, size_t);

#endif
