/*
 * runner: everything between fork and the worker, and the reading of what
 * the worker left behind. The supervisor decides which job runs where; the
 * runner makes the process (child_spawn) and turns its end into an outcome
 * (outcome_decide), both without touching the database.
 */
#ifndef HIVEJOB_RUNNER_H
#define HIVEJOB_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct spawn_req {
	char *const	*argv;		/* argv[0] is an absolute path */
	char *const	*envp;
	uid_t		 uid;		/* slot uid; with same_uid, ignored */
	int		 same_uid;	/* development: no uid switch, no sweep */
	const char	*workdir;	/* the slot's directory: emptied, made */
	const char	*jobdoc;	/* stdin */
	size_t		 jobdoc_len;
	unsigned	 alarm_s;	/* the soft timeout */
	uint64_t	 rl_as, rl_cpu_s, rl_nofile, rl_nproc, rl_fsize;
};

struct spawn_res {
	pid_t	pid;		/* also the process group */
	int	out_fd;		/* stdout+stderr, read end, non-blocking */
	int	result_fd;	/* fd 3 of the child, read end, non-blocking */
	int	status_fd;	/* setup failure report; EOF = exec happened */
};

int	child_spawn(const struct spawn_req *, struct spawn_res *);
int	slot_sweep(uid_t, const char *, int);

/* What the supervisor knows when a child has ended. */
struct child_end {
	int		 wstatus;	/* from wait4 */
	struct rusage	 ru;
	int64_t		 wall_ms;
	int		 timed_out;	/* our deadline passed */
	int		 sig_sent;	/* the last signal we sent at the deadline */
	int		 cancelled;	/* cancelled by request while running */
	int64_t		 timeout_ms;
	uint64_t	 rl_as;		/* limits, to name the one probably hit */
	uint64_t	 rl_cpu_s, rl_fsize, rl_nproc;
	const char	*setup_error;	/* from the status pipe, or NULL */
	const char	*output;	/* the tail of stdout+stderr */
	size_t		 output_len;
	const char	*result;	/* fd 3's document, or NULL */
	size_t		 result_len;
	int		 result_truncated;
};

enum outcome_kind {
	OUTCOME_COMPLETE,
	OUTCOME_RETRY,
	OUTCOME_CANCEL,
	OUTCOME_SNOOZE
};

struct outcome {
	enum outcome_kind	 kind;
	const char		*class;		/* fixed vocabulary, or "" */
	char			*error;		/* raw; cleaned by the caller */
	double			 snooze_s;
	double			 retry_after_s;	/* < 0: none */
	char			*result;	/* the "output" member, JSON, or NULL */
};

void	outcome_decide(const struct child_end *, struct outcome *);
void	outcome_free(struct outcome *);
const char *outcome_class(const char *);
const char *signal_name(int);

#endif
