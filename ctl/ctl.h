/* hivejobctl: shared state of one invocation and the command entry points. */
#ifndef HIVEJOB_CTL_H
#define HIVEJOB_CTL_H

#include <stdio.h>

#include <json-c/json.h>
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
	const char	*help;		/* one or two lines for --help */
};

int	ctl_connect(struct ctl *, int);
int	ctl_db_fail(struct ctl *, const PGresult *, const char *);
void	ctl_channel(const char *, const char *, char *, size_t);
int	ctl_usage(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Checks of arguments, made before connecting. */
int	ctl_name_chars(const char *);
int	ctl_state_valid(const char *);
int	ctl_id_valid(const char *);
int	ctl_uuid_valid(const char *);
int	ctl_long_arg(const char *, long, long, long *);

/*
 * Run a statement whose one row and column is a JSON document built by
 * Postgres; *out is the text (the caller frees it). Returns a sysexits code.
 */
int	ctl_json_query(struct ctl *, const char *, const char *, int,
	    const char *const *, char **);
/* Print it as is (--json), or parse it for a table; NULL after a warning. */
json_object *ctl_json_parse(const char *);

int	cmd_migrate(struct ctl *, int, char **);
int	cmd_enqueue(struct ctl *, int, char **);
int	cmd_list(struct ctl *, int, char **);
int	cmd_show(struct ctl *, int, char **);
int	cmd_retry(struct ctl *, int, char **);
int	cmd_cancel(struct ctl *, int, char **);
int	cmd_delete(struct ctl *, int, char **);
int	cmd_pause(struct ctl *, int, char **);
int	cmd_resume(struct ctl *, int, char **);
int	cmd_queues(struct ctl *, int, char **);
int	cmd_stats(struct ctl *, int, char **);
int	cmd_supervisors(struct ctl *, int, char **);
int	cmd_ps(struct ctl *, int, char **);
int	cmd_stuck(struct ctl *, int, char **);
int	cmd_top(struct ctl *, int, char **);
int	cmd_webhooks(struct ctl *, int, char **);
int	cmd_deliveries(struct ctl *, int, char **);

/* table: aligned columns for people; cells are cleaned for the terminal. */
struct table;
struct table	*table_new(int, const char *const *);
void		 table_add(struct table *, const char *const *);
void		 table_print(struct table *, FILE *);
void		 table_free(struct table *);
void		 text_clean(const char *, char *, size_t);

/*
 * A table from an array of JSON objects: one column per key, each cell
 * formatted for people. A missing key or JSON null prints as "-".
 */
enum tcol_fmt {
	TF_TEXT,	/* as it is (numbers and arrays as JSON text) */
	TF_TIME,	/* RFC 3339 -> "YYYY-MM-DD HH:MM:SS" */
	TF_AGE,		/* seconds -> "3m12s" */
	TF_IN,		/* seconds from now -> "in 3m12s" or "3m12s ago" */
	TF_MS,		/* milliseconds -> "850ms", "1.2s", "3m12s" */
	TF_KB,		/* kibibytes -> "512K", "12.3M" */
	TF_BOOL		/* true/false -> "yes"/"no" */
};
struct tcol {
	const char	*head;
	const char	*key;
	enum tcol_fmt	 fmt;
	int		 width;	/* at most this many characters; 0: no limit */
};
void	table_json(FILE *, json_object *, const struct tcol *, int);
void	fmt_seconds(double, char *, size_t);
int	ctl_print(const char *, int, const struct tcol *, int);

#endif
