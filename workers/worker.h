/*
 * worker: the worker side of hivejob-worker(7), shared by the built-in
 * workers: read the job document, read settings, write the result.
 */
#ifndef HIVEJOB_WORKER_H
#define HIVEJOB_WORKER_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

struct wjob {
	json_object	*doc;
	json_object	*args;		/* never NULL: {} when absent */
	json_object	*settings;	/* never NULL */
	json_object	*input;		/* NULL when load gave none */
	int64_t		 id;
	int		 attempt;
	int		 max_attempts;
	time_t		 deadline;	/* 0 when unknown */
};

void		 worker_read(struct wjob *);
const char	*worker_setting(const struct wjob *, const char *, const char *);
int64_t		 worker_setting_ms(const struct wjob *, const char *, int64_t);
uint64_t	 worker_setting_size(const struct wjob *, const char *, uint64_t);
int		 worker_setting_bool(const struct wjob *, const char *, int);
const char	*worker_input_str(const struct wjob *, const char *);
void		 worker_result(const char *, const char *, const char *, double,
		    json_object *) __attribute__((noreturn));

#endif
