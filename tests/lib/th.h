/*
 * th: the integration-test harness. Every test gets a fresh database in the
 * throwaway cluster that tests/run started (PG* in the environment), and runs
 * the real programs from build/bin as child processes.
 */
#ifndef HIVEJOB_TH_H
#define HIVEJOB_TH_H

#include <libpq-fe.h>
#include <json-c/json.h>

void	 th_db_fresh(void);
const char *th_db_name(void);
PGconn	*th_conn(void);
char	*th_sql(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 th_sql_ok(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*th_sql_err(const char *, ...) __attribute__((format(printf, 1, 2)));
int	 th_run(char **, char **, const char *const *);
int	 th_ctl(char **, char **, ...) __attribute__((sentinel));
const char *th_bin(const char *);

/*
 * A hivejobd under test. th_daemon_start writes a config (the database
 * from the environment, a fresh uid range and work directory, `user =
 * nobody` when root, else isolation = same-uid) followed by extra, and
 * starts build/bin/hivejobd -v with its log in dir/log. Worker programs
 * are found in th_prefix(): a world-readable copy of build/libexec and
 * the test workers, made by tests/run.
 */
struct th_daemon {
	pid_t	 pid;
	char	 dir[256];
	char	 conf[300];
	char	 log[300];
	unsigned uid_base;
	char	 id[64];
	int	 restarts;
};

void	 th_daemon_start(struct th_daemon *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Several daemons in one test: daemon n (0..3) is "test-<pid>-<n>" with
 * uids from th_daemon_start's base + 16 n. spawn does not wait for it to
 * come up (a start that must fail). th_daemon_kill: SIGKILL and reap, a
 * crash; th_daemon_restart: the same config (id, uids) again, the previous
 * log kept as log.N; th_daemon_wait: the exit status within seconds, or -1.
 */
void	 th_daemon_start_n(struct th_daemon *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 th_daemon_spawn_n(struct th_daemon *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 th_daemon_kill(struct th_daemon *);
void	 th_daemon_restart(struct th_daemon *);
int	 th_daemon_wait(struct th_daemon *, int);
int	 th_daemon_stop(struct th_daemon *);
char	*th_daemon_log(const struct th_daemon *);
int	 th_daemon_log_wait(const struct th_daemon *, const char *, int);
const char *th_prefix(void);
int	 th_root(void);
int	 th_wait_sql(const char *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

struct th_server {
	pid_t	pid;
	int	port;
	int	out;		/* its stdout; -1 when none */
};

void	 th_server_start(struct th_server *, const char *const *, const char *);
void	 th_server_stop(struct th_server *);
void	 th_server_control(const struct th_server *, const char *);
json_object *th_jsonl(const char *);

/* Shorthands for tests: a query's first value ("NULL" for SQL NULL), the
 * same as a number (NULL fails the test), formatted text, a monotonic
 * clock, and the job counts by state ("available:3 completed:5"). */
char	*q(const char *, ...) __attribute__((format(printf, 1, 2)));
long	 qlong(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*fmt(const char *, ...) __attribute__((format(printf, 1, 2)));
long	 mono_ms(void);
char	*states(void);

#endif
