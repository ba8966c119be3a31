/*
 * th: the integration-test harness. Every test gets a fresh database in the
 * throwaway cluster that tests/run started (PG* in the environment), and runs
 * the real programs from build/bin as child processes.
 */
#ifndef HIVEJOB_TH_H
#define HIVEJOB_TH_H

#include <libpq-fe.h>

void	 th_db_fresh(void);
const char *th_db_name(void);
PGconn	*th_conn(void);
char	*th_sql(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 th_sql_ok(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*th_sql_err(const char *, ...) __attribute__((format(printf, 1, 2)));
int	 th_run(char **, char **, const char *const *);
int	 th_ctl(char **, char **, ...) __attribute__((sentinel));
const char *th_bin(const char *);

#endif
