/*
 * conf: hivejobd's configuration (hivejobd.conf(5)), an INI file.
 *
 *   [database]    conninfo, schema
 *   [supervisor]  id, queues, max_children, poll_interval, user,
 *                 job_uid_base, libexec, isolation, workdir, kill_grace,
 *                 max_args
 *   [queue.NAME]  max_children
 *   [kind.NAME]   exec, timeout, memory, cpu, files, processes, fsize,
 *                 output, max_children, retry, retry_cap, load, apply;
 *                 any other key is the worker's own setting; KEY_file is
 *                 read here and passed as KEY, a secret.
 *
 * Parsing never exits: conf_load returns NULL and fills err with
 * "file:line: what" so that both -n and SIGHUP can report and carry on.
 */
#ifndef HIVEJOB_CONF_H
#define HIVEJOB_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONF_DEFAULT_PATH	"/etc/hivejob/hivejobd.conf"

enum retry_policy {
	RETRY_EXPONENTIAL,	/* attempt^4 seconds, capped at retry_cap */
	RETRY_SCHEDULE		/* fixed steps: schedule[attempt], last repeats */
};

enum isolation {
	ISOLATION_UID,		/* one raw uid per child slot (default) */
	ISOLATION_SAME_UID	/* development only: children share our uid */
};

struct setting {
	char	*key;
	char	*value;
	int	 secret;	/* came from KEY_file: never logged */
};

struct kind_conf {
	char		 *name;
	char		**argv;		/* exec split on blanks; argv[0] resolved
					   against libexec when relative */
	int		  argc;
	int64_t		  timeout_ms;	/* default 60s */
	uint64_t	  memory;	/* RLIMIT_AS bytes; 0 = unlimited */
	int64_t		  cpu_ms;	/* RLIMIT_CPU; 0 = unlimited */
	uint64_t	  files;	/* RLIMIT_NOFILE; default 256 */
	uint64_t	  processes;	/* RLIMIT_NPROC per slot uid; default 64 */
	uint64_t	  fsize;	/* RLIMIT_FSIZE bytes; default 1G */
	uint64_t	  output;	/* cap on captured output and result; 64K */
	int		  max_children;	/* 0 = no per-kind limit */
	enum retry_policy retry;
	int64_t		  retry_cap_ms;	/* exponential cap; default 1h */
	int64_t		 *schedule_ms;	/* RETRY_SCHEDULE steps */
	int		  nschedule;
	char		 *load;		/* SQL function names, or NULL */
	char		 *apply;
	struct setting	 *settings;
	int		  nsettings;
	int		  builtin;	/* defined by default, not by the file */
};

struct queue_conf {
	char	*name;
	int	 max_children;	/* 0 = only the overall limit */
};

struct conf {
	char			*path;
	/* [database] */
	char			*conninfo;	/* "" = libpq's environment */
	char			*schema;	/* "" = current_schema() */
	/* [supervisor] */
	char			*id;		/* default: the host name */
	int			 max_children;	/* default 4 */
	int64_t			 poll_interval_ms; /* default 1s */
	char			*user;		/* to switch to when started as root */
	uid_t			 job_uid_base;	/* default 2100000 */
	char			*libexec;	/* $HIVEJOB_LIBEXEC overrides */
	enum isolation		 isolation;
	char			*workdir;	/* per-slot job directories;
						   default /run/hivejob */
	int64_t			 kill_grace_ms;	/* SIGTERM to SIGKILL; 5s */
	uint64_t		 max_args;	/* larger args fail bad_args; 1M */
	struct queue_conf	*queues;	/* "queues" in order, then extra
						   [queue.NAME] sections */
	int			 nqueues;
	struct kind_conf	*kinds;		/* built-ins first, then the file's */
	int			 nkinds;
};

struct conf	*conf_load(const char *, char *, size_t);
void		 conf_free(struct conf *);
struct kind_conf *conf_kind(const struct conf *, const char *);
struct queue_conf *conf_queue(const struct conf *, const char *);

#endif
