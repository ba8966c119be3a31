/*
 * conf: hivejobd's configuration (hivejobd.conf(5)), an INI file.
 *
 *   [database]    conninfo, schema
 *   [supervisor]  id, queues, max_children, poll_interval, user,
 *                 job_uid_base, libexec, isolation, workdir, kill_grace,
 *                 max_args, lease, drain_timeout, max_interruptions,
 *                 keep_completed, keep_cancelled, keep_discarded
 *   [queue.NAME]  max_children
 *   [metrics]     textfile, interval
 *   [periodic.NAME] kind, args, schedule, queue, timezone, catch_up,
 *                 priority, max_attempts
 *   [kind.NAME]   exec, timeout, memory, cpu, files, processes, fsize,
 *                 output, max_children, retry, retry_cap, load, apply,
 *                 apply_order;
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
#include <time.h>

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
	char		 *apply_order;	/* args key: finishes apply in its order */
	struct setting	 *settings;
	int		  nsettings;
	int		  builtin;	/* defined by default, not by the file */
};

/* A parsed cron schedule: one bit per allowed value of each field. */
struct cron {
	uint64_t	minutes;	/* bits 0..59 */
	uint32_t	hours;		/* bits 0..23 */
	uint32_t	mdays;		/* bits 1..31 */
	uint16_t	months;		/* bits 1..12 */
	uint8_t		wdays;		/* bits 0..6, Sunday = 0 (7 accepted as 0) */
	int		mday_star;	/* Vixie cron: with both dom and dow */
	int		wday_star;	/* restricted, either one matches */
	int64_t		every_s;	/* "@every D": the other fields unused */
};

enum catch_up {
	CATCH_UP_NONE,		/* runs missed while no supervisor was up: skipped */
	CATCH_UP_LAST		/* ... the latest of them runs once */
};

struct periodic_conf {
	char		*name;		/* [periodic.NAME] */
	char		*kind;		/* required */
	char		*args;		/* JSON object text, top-level keys sorted,
					   compact: River's unique-key form;
					   default "{}" */
	char		*queue;		/* default "default" */
	char		*schedule;	/* the text, for messages */
	struct cron	 cron;
	char		*timezone;	/* IANA name, default "UTC" */
	enum catch_up	 catch_up;	/* default CATCH_UP_LAST */
	int		 priority;	/* 1..4, default 1 */
	int		 max_attempts;	/* default 25 */
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
	/* [supervisor], for leases, shutdown and the leader's maintenance */
	int64_t			 lease_ms;	/* lease length; renewed every third; 10s */
	int64_t			 drain_timeout_ms;	/* SIGTERM to kill; 30s */
	int			 max_interruptions;	/* then one counts; 3 */
	int64_t			 keep_completed_ms;	/* retention: 24h */
	int64_t			 keep_cancelled_ms;	/* 24h */
	int64_t			 keep_discarded_ms;	/* 7d */
	struct periodic_conf	*periodics;	/* [periodic.NAME] in file order */
	int			 nperiodics;
	/* [metrics] */
	char			*metrics_textfile;	/* "" = off (default) */
	int64_t			 metrics_interval_ms;	/* default 15s, min 1s */
};

struct conf	*conf_load(const char *, char *, size_t);
void		 conf_free(struct conf *);
struct kind_conf *conf_kind(const struct conf *, const char *);

/*
 * cron.c: "m h dom mon dow", @hourly, @daily, @weekly, @monthly, @yearly,
 * or @every DURATION (whole seconds, aligned to the epoch).
 */
int	cron_parse(const char *, struct cron *, char *, size_t);
/* The first run strictly after t, in time zone tz; -1 if none within 5 years. */
int	cron_next(const struct cron *, const char *, time_t, time_t *);
struct queue_conf *conf_queue(const struct conf *, const char *);

#endif
