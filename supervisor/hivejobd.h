/*
 * hivejobd: the supervisor. One thread, one poll() loop: two database
 * connections (work and LISTEN), a signalfd, three pipes per child, timers.
 * Memory is per running child and per claimed batch, never per job ever
 * worked, because fork() cost grows with our size.
 */
#ifndef HIVEJOB_HIVEJOBD_H
#define HIVEJOB_HIVEJOBD_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <libpq-fe.h>

#include "conf.h"
#include "util.h"

#define HIVEJOB_VERSION	"0.3.0"

/* A claimed job before it runs (and, for apply, while it runs). */
struct job {
	struct job	*next;
	int64_t		 id;
	int		 attempt;
	int		 max_attempts;
	int		 priority;
	char		*kind;
	char		*queue;
	char		*args;		/* JSON text; NULL when over max_args */
	int64_t		 args_len;
	char		*metadata;
	char		*scheduled_at;	/* unix seconds, as text */
	double		 claimed_at;	/* unix seconds, our clock */
	char		*input;		/* load's result, JSON text, or NULL */
	int		 cancelled;	/* a cancel came during its load */
};

struct child {
	pid_t		 pid;		/* 0: the slot is free */
	int		 slot;
	int		 dirty;		/* a job ran here since the last sweep */
	pid_t		 sweeper;	/* the slot's sweep, until reaped */
	int64_t		 freed_ms;
	struct job	*job;
	int		 out_fd, result_fd, status_fd;
	char		*ring;		/* the tail of stdout+stderr */
	size_t		 ring_cap, ring_total;
	struct buf	 result;
	int		 result_trunc;
	struct buf	 status;
	int64_t		 start_ms, deadline_ms, kill_ms;
	time_t		 start_wall;
	int		 sig_sent, timed_out, cancelled, interrupted;
	/* What the finish needs from the kind, copied: a reload may come. */
	int64_t		 timeout_ms;
	uint64_t	 rl_as, rl_cpu_s, rl_fsize, rl_nproc;
	char		*retry_json;
	char		*apply;
	char		*apply_order;
	char		*sql_settings;	/* for apply: settings without secrets */
	char		**secrets;
	int		 nsecrets;
};

/* An outcome waiting to be written, as an element of hivejob_finish(). */
struct finish {
	struct finish	*next;
	int64_t		 job_id;
	char		*json;
};

enum pg_state {
	PG_DOWN,	/* waiting for reconnect_ms */
	PG_CONNECTING,
	PG_IDLE,
	PG_BUSY
};

enum pg_task {
	TASK_NONE,
	TASK_SETUP,	/* schema and migration version */
	TASK_RECOVER,	/* our own rows that we do not hold */
	TASK_FINISH,
	TASK_LOAD,
	TASK_CLAIM,
	TASK_SCHEDULE,
	TASK_QUEUES,
	TASK_LISTEN,
	TASK_LEASE,	/* acquire our lease after a connect */
	TASK_RENEW,
	TASK_CANCELS,	/* cancels requested while we were away */
	TASK_LEADER,
	TASK_RESCUE,
	TASK_CLEAN,
	TASK_PERIODIC_READ,
	TASK_PERIODIC_RUN,
	TASK_RESIGN,	/* at the end of a stop */
	TASK_DEPTH	/* queue depth for the metrics */
};

struct pgconn {
	const char	*name;
	PGconn		*conn;
	enum pg_state	 state;
	enum pg_task	 task;
	int64_t		 deadline_ms;	/* connect or statement */
	int64_t		 reconnect_ms;
	int64_t		 backoff_ms;
	int		 ready;		/* setup done since the last connect */
	int		 setup_done_once;
	int		 want_write;
	int		 checked;	/* migration version checked */
};

struct sup {
	struct conf	*conf;
	const char	*conf_path;
	char		*schema;	/* resolved */
	char		*chan_insert, *chan_control, *chan_leader;
	int		 sigfd;
	struct pgconn	 db, listen;
	struct child	*children;	/* conf->max_children slots */
	int		 nrunning;
	struct job	*ready;		/* claimed, loaded, waiting for a slot */
	struct job	*loading;	/* claimed, waiting for load */
	int		 nready, nloading;
	struct finish	*finishes, *inflight;
	int		 nfinishes;
	int		 claim_wanted;
	int		 claim_queue_next;
	int64_t		 next_poll_ms, next_schedule_ms, next_queues_ms;
	int64_t		 next_sweep_ms;
	int		 stopping;	/* 1 draining, 2 now */
	int64_t		 drain_deadline_ms;
	uint64_t	 jobs_done;
	char		 host[256];
	/* lease.c */
	int		 leased;	/* we hold a lease that has not lapsed */
	int		 acquired;	/* ... confirmed on this connection */
	int64_t		 lease_valid_ms;	/* our lease lasts until (our clock) */
	int64_t		 renew_sent_ms;
	int64_t		 next_renew_ms;
	int		 peek_pid;	/* the holder of our id found at setup */
	char		*peek_host;
	int		 leader;
	int64_t		 leader_since_ms;
	int64_t		 next_leader_ms, next_rescue_ms, next_clean_ms;
	int64_t		 next_periodic_ms;
	int		 cancels_checked;
	int		 resigned;
};

extern struct sup sup;

int64_t	 now_ms(void);

/* main.c */
void	 conf_reload(void);

/* notify.c */
void	 notify_init(void);
void	 notify_tick(int64_t);
int64_t	 notify_next_timer(void);
void	 notify_stopping(void);

/* priv.c */
int	 priv_setup(const struct conf *);

/* pgconn.c */
void	 pg_start(struct pgconn *);
void	 pg_poll_connect(struct pgconn *);
void	 pg_lost(struct pgconn *, const char *);
int	 pg_send(struct pgconn *, enum pg_task, const char *, int, const char *const *);
int	 pg_fd(const struct pgconn *);
int	 pg_wants_write(const struct pgconn *);
void	 pg_array_open(struct buf *);
void	 pg_array_add(struct buf *, const char *);
const char *pg_array_close(struct buf *);

/* jobs.c */
void	 jobs_on_connect(void);
void	 jobs_next_task(void);
void	 jobs_result(enum pg_task, PGresult *);
void	 jobs_task_failed(enum pg_task);
void	 jobs_notify(const char *, const char *);
void	 job_free(struct job *);
void	 jobs_release_pending(void);
void	 finish_add(int64_t, char *);

/* loop.c */
void	 loop_run(void);

/* lease.c */
int	 lease_next_task(int);
void	 lease_result(enum pg_task, PGresult *);
void	 lease_setup_row(PGresult *);
void	 lease_check(int64_t);
void	 lease_renew_maybe(int64_t);
int64_t	 lease_next_timer(void);
void	 lease_notify(const char *);
void	 lease_reload(void);
char	*children_snapshot(void);

/* child.c */
void	 child_start(struct job *);
void	 child_io(struct child *, int);
void	 child_reap_all(void);
void	 child_deadlines(int64_t);
int64_t	 child_next_deadline(void);
void	 child_cancel(int64_t);
void	 child_kill_all(int);
int	 child_free_slots(void);
int	 child_running_kind(const char *);
int	 child_running_queue(const char *);
void	 child_sweep_idle(int64_t);
void	 child_sweep_all(void);
int	 job_finish_early(struct job *, const char *, const char *, const char *);

/* metrics.c */
void	 metrics_reload(void);
const char *metrics_outcome(const char *, int, int);
void	 metrics_job_start(const char *, double);
void	 metrics_job_end(const char *, const char *, const char *, int64_t);
char	*metrics_text(void);
int	 metrics_write(void);
void	 metrics_tick(int64_t);
int64_t	 metrics_next_timer(void);
int	 metrics_depth_due(int64_t);
void	 metrics_depth_result(PGresult *);

/* jobdoc.c */
void	 json_str(struct buf *, const char *);
char	*jobdoc_build(const struct job *, const char *, int64_t);
char	*jobdoc_settings(const struct kind_conf *, int);
char	*retry_json(const struct kind_conf *);

#endif
